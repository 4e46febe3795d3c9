//! A first-in, first-out queue (Knossos's `fifo-queue`).

use super::unknown_f;
use crate::edn::Edn;
use crate::events::{RawOp, ReadOp};
use crate::Model;
use im::Vector;

/// An operation on a queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueOp {
    /// Add an element at the back.
    Enqueue(Edn),
    /// Take the element at the front; the output is `Some(element)`.
    Dequeue,
}

/// A FIFO queue, starting with `init` (front first), with `enqueue` and `dequeue`. As in
/// Knossos, a dequeue must return the front element, and `nil` if the queue is empty: a
/// dequeue that returned `nil` observed an empty queue. A dequeue that never returned
/// takes the front element if there is one, and otherwise changes nothing.
///
/// States are persistent vectors (`im`), so a step shares its predecessor's elements.
#[derive(Clone, Debug, Default)]
pub struct FifoQueue {
    /// The elements before any operation, front first.
    pub init: Vec<Edn>,
}

impl Model for FifoQueue {
    type State = Vector<Edn>;
    type Input = QueueOp;
    /// A dequeue's element (`nil` if it found the queue empty); `None` for an enqueue.
    type Output = Option<Edn>;

    fn init(&self) -> Self::State {
        self.init.iter().cloned().collect()
    }

    fn describe_operation(&self, op: &QueueOp, output: Option<&Option<Edn>>) -> String {
        match (op, output) {
            (QueueOp::Enqueue(x), _) => format!("enqueue {x}"),
            (QueueOp::Dequeue, Some(Some(x))) => format!("dequeue -> {x}"),
            (QueueOp::Dequeue, _) => "dequeue -> ?".into(),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        Edn::Seq(state.iter().cloned().collect()).to_string()
    }

    fn step(
        &self,
        state: &Self::State,
        op: &QueueOp,
        output: Option<&Option<Edn>>,
    ) -> Option<Self::State> {
        let mut next = state.clone();
        match (op, output) {
            (QueueOp::Enqueue(x), _) => next.push_back(x.clone()),
            (QueueOp::Dequeue, Some(Some(seen))) => {
                if next.pop_front().unwrap_or(Edn::Nil) != *seen {
                    return None;
                }
            }
            (QueueOp::Dequeue, _) => {
                next.pop_front();
            }
        }
        Some(next)
    }
}

/// Reads `enqueue` with an element and `dequeue` with the element it took.
impl ReadOp for FifoQueue {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(QueueOp, Option<Option<Edn>>), String> {
        match op.f {
            "enqueue" => Ok((
                QueueOp::Enqueue(op.value.clone()),
                op.returned.then_some(None),
            )),
            "dequeue" => Ok((
                QueueOp::Dequeue,
                op.returned.then(|| Some(op.value.clone())),
            )),
            f => Err(unknown_f("fifo-queue", f, "enqueue and dequeue")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequeues_come_out_in_enqueue_order() {
        let m = FifoQueue::default();
        let s = m
            .step(&m.init(), &QueueOp::Enqueue(Edn::Int(1)), None)
            .unwrap();
        let s = m.step(&s, &QueueOp::Enqueue(Edn::Int(2)), None).unwrap();
        assert!(m
            .step(&s, &QueueOp::Dequeue, Some(&Some(Edn::Int(2))))
            .is_none());
        let s = m
            .step(&s, &QueueOp::Dequeue, Some(&Some(Edn::Int(1))))
            .unwrap();
        assert_eq!(s, Vector::unit(Edn::Int(2)));
        let empty = m.step(&Vector::new(), &QueueOp::Dequeue, None).unwrap();
        assert!(empty.is_empty());
        assert!(m
            .step(&empty, &QueueOp::Dequeue, Some(&Some(Edn::Int(1))))
            .is_none());
        // A dequeue of nil saw the queue empty.
        assert!(m
            .step(&empty, &QueueOp::Dequeue, Some(&Some(Edn::Nil)))
            .is_some());
        assert!(m
            .step(&s, &QueueOp::Dequeue, Some(&Some(Edn::Nil)))
            .is_none());
    }
}

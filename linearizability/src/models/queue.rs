//! A first-in, first-out queue (Knossos's `fifo-queue`).

use super::{observed, unknown_f};
use crate::edn::Edn;
use crate::events::{RawOp, ReadOp};
use crate::Model;
use std::collections::VecDeque;

/// An operation on a queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueOp {
    /// Add an element at the back.
    Enqueue(Edn),
    /// Take the element at the front; the output is `Some(element)`.
    Dequeue,
}

/// A FIFO queue, starting with `init` (front first), with `enqueue` and `dequeue`. A
/// dequeue must return the front element, so a dequeue that returned a value on an
/// empty queue is illegal. A dequeue whose value is unknown (`nil`, or it never returned)
/// takes the front element if there is one, and otherwise changes nothing.
#[derive(Clone, Debug, Default)]
pub struct FifoQueue {
    /// The elements before any operation, front first.
    pub init: Vec<Edn>,
}

impl Model for FifoQueue {
    type State = VecDeque<Edn>;
    type Input = QueueOp;
    /// A dequeue's element; `None` for an enqueue.
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
                if next.pop_front().as_ref() != Some(seen) {
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
                observed(op.value, op.returned).map(|v| Some(v.clone())),
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
        assert_eq!(s, VecDeque::from([Edn::Int(2)]));
        let empty = m.step(&VecDeque::new(), &QueueOp::Dequeue, None).unwrap();
        assert!(empty.is_empty());
        assert!(m
            .step(&empty, &QueueOp::Dequeue, Some(&Some(Edn::Int(1))))
            .is_none());
    }
}

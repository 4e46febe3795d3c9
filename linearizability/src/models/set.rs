//! A grow-only set (Knossos's `set`).

use super::unknown_f;
use crate::edn::Edn;
use crate::events::{RawOp, ReadOp};
use crate::{excerpt, Model};
use im::OrdSet;

/// An operation on a set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// Add an element.
    Add(Edn),
    /// Read every element; the output is `Some(elements)`.
    Read,
}

/// A set of values, starting at `init`, with `add` and `read`. A read must return exactly
/// the elements added so far. As in Knossos, a read that returned `nil` is not an unknown
/// value here: no set is `nil`, so it is illegal. (Only a read that never returned is
/// unknown.)
///
/// States are persistent sets (`im`), so a step shares its predecessor's elements: the
/// search keeps many states, and copying whole sets made memory grow with the square of
/// the history.
#[derive(Clone, Debug, Default)]
pub struct Set {
    /// The elements before any add.
    pub init: OrdSet<Edn>,
}

impl Model for Set {
    type State = OrdSet<Edn>;
    type Input = SetOp;
    /// A read's elements, or `None` if it returned `nil`; `None` for an add.
    type Output = Option<OrdSet<Edn>>;

    fn init(&self) -> Self::State {
        self.init.clone()
    }

    fn describe_operation(&self, op: &SetOp, output: Option<&Option<OrdSet<Edn>>>) -> String {
        match (op, output) {
            (SetOp::Add(x), _) => format!("add {x}"),
            (SetOp::Read, Some(Some(xs))) => {
                format!("read -> {}", Edn::Set(xs.iter().cloned().collect()))
            }
            (SetOp::Read, Some(None)) => "read -> nil".into(),
            (SetOp::Read, None) => "read -> ?".into(),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        Edn::Set(state.iter().cloned().collect()).to_string()
    }

    fn is_read_only(&self, op: &SetOp, _: Option<&Option<OrdSet<Edn>>>) -> bool {
        matches!(op, SetOp::Read)
    }

    fn step(
        &self,
        state: &Self::State,
        op: &SetOp,
        output: Option<&Option<OrdSet<Edn>>>,
    ) -> Option<Self::State> {
        match (op, output) {
            (SetOp::Add(x), _) => {
                let mut next = state.clone();
                next.insert(x.clone());
                Some(next)
            }
            (SetOp::Read, Some(Some(seen))) => (seen == state).then(|| state.clone()),
            (SetOp::Read, Some(None)) => None,
            (SetOp::Read, None) => Some(state.clone()),
        }
    }
}

/// Reads `add` with an element and `read` with a vector or set of elements.
impl ReadOp for Set {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(SetOp, Option<Option<OrdSet<Edn>>>), String> {
        match op.f {
            "add" => Ok((SetOp::Add(op.value.clone()), op.returned.then_some(None))),
            "read" => {
                let output = match op.value {
                    _ if !op.returned => None,
                    Edn::Nil => Some(None),
                    v => Some(Some(
                        v.items()
                            .ok_or_else(|| {
                                format!(
                                    "read of {}: expected a vector or set of elements",
                                    excerpt(v)
                                )
                            })?
                            .iter()
                            .cloned()
                            .collect(),
                    )),
                };
                Ok((SetOp::Read, output))
            }
            f => Err(unknown_f("set", f, "add and read")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_must_see_exactly_the_added_elements() {
        let m = Set::default();
        let s = m.step(&m.init(), &SetOp::Add(Edn::Int(1)), None).unwrap();
        let read = |xs: &[i64]| Some(xs.iter().map(|&x| Edn::Int(x)).collect());
        assert!(m.step(&s, &SetOp::Read, Some(&read(&[1]))).is_some());
        assert!(m.step(&s, &SetOp::Read, Some(&read(&[]))).is_none());
        assert!(m.step(&s, &SetOp::Read, Some(&read(&[1, 2]))).is_none());
        assert!(m.step(&s, &SetOp::Read, Some(&None)).is_none());
        assert!(m.step(&s, &SetOp::Read, None).is_some());
    }
}

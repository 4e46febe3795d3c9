//! Registers: read/write, and read/write/compare-and-set.

use super::{observed, unknown_f};
use crate::edn::Edn;
use crate::events::{RawOp, ReadOp};
use crate::{excerpt, Model};
use std::fmt::Debug;
use std::hash::Hash;

/// An operation on a register.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp<V> {
    /// Read the value. Its output is `Some(value)`.
    Read,
    /// Write a value. Its output is `None`.
    Write(V),
}

/// A read/write register holding a `V`, starting at `init`.
///
/// Outputs are `Option<V>`: the value a read returned, `None` for a write.
#[derive(Clone, Debug)]
pub struct Register<V> {
    /// The value before any write.
    pub init: V,
}

impl<V: Clone + Eq + Hash + Debug + Send + Sync> Model for Register<V> {
    type State = V;
    type Input = RegisterOp<V>;
    type Output = Option<V>;

    fn init(&self) -> V {
        self.init.clone()
    }

    fn describe_operation(&self, input: &RegisterOp<V>, output: Option<&Option<V>>) -> String {
        match (input, output) {
            (RegisterOp::Write(v), _) => format!("write {v:?}"),
            (RegisterOp::Read, Some(Some(v))) => format!("read -> {v:?}"),
            (RegisterOp::Read, _) => "read -> ?".to_string(),
        }
    }

    fn is_read_only(&self, input: &RegisterOp<V>, _: Option<&Option<V>>) -> bool {
        matches!(input, RegisterOp::Read)
    }

    fn describe_refusal(&self, _: &V, input: &RegisterOp<V>, output: Option<&Option<V>>) -> String {
        match (input, output) {
            (RegisterOp::Read, Some(Some(v))) => format!("this read returned {v:?}"),
            _ => format!(
                "{} is not possible in that state",
                self.describe_operation(input, output)
            ),
        }
    }

    fn step(&self, state: &V, input: &RegisterOp<V>, output: Option<&Option<V>>) -> Option<V> {
        match input {
            RegisterOp::Write(v) => Some(v.clone()),
            RegisterOp::Read => match output {
                None => Some(state.clone()),
                Some(Some(seen)) if seen == state => Some(state.clone()),
                Some(_) => None,
            },
        }
    }
}

/// An operation on a compare-and-set register.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CasOp<V> {
    /// Read the value; the output is [`CasOutput::Value`].
    Read,
    /// Write a value; the output is [`CasOutput::Done`].
    Write(V),
    /// Set the value to `to` if it is `from`; the output is [`CasOutput::Swapped`].
    Cas {
        /// The expected value.
        from: V,
        /// The new value.
        to: V,
    },
}

/// What a compare-and-set register operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CasOutput<V> {
    /// A read's value.
    Value(V),
    /// A write completed.
    Done,
    /// Whether a compare-and-set found its expected value and swapped.
    Swapped(bool),
}

/// A compare-and-set register holding a `V`, starting at `init`. A failed compare-and-set
/// is an observation that the value differed (Porcupine's etcd semantics); histories that
/// drop failed operations, as Jepsen's do, simply never contain `Swapped(false)`.
#[derive(Clone, Debug)]
pub struct CasRegister<V> {
    /// The value before any write.
    pub init: V,
}

impl<V: Clone + Eq + Hash + Debug + Send + Sync> Model for CasRegister<V> {
    type State = V;
    type Input = CasOp<V>;
    type Output = CasOutput<V>;

    fn init(&self) -> V {
        self.init.clone()
    }

    fn describe_operation(&self, input: &CasOp<V>, output: Option<&CasOutput<V>>) -> String {
        match (input, output) {
            (CasOp::Read, Some(CasOutput::Value(v))) => format!("read -> {v:?}"),
            (CasOp::Read, _) => "read -> ?".to_string(),
            (CasOp::Write(v), _) => format!("write {v:?}"),
            (CasOp::Cas { from, to }, Some(CasOutput::Swapped(false))) => {
                format!("cas {from:?}->{to:?} (failed)")
            }
            (CasOp::Cas { from, to }, Some(_)) => format!("cas {from:?}->{to:?}"),
            (CasOp::Cas { from, to }, None) => format!("cas {from:?}->{to:?} ?"),
        }
    }

    fn is_read_only(&self, input: &CasOp<V>, output: Option<&CasOutput<V>>) -> bool {
        matches!(
            (input, output),
            (CasOp::Read, _) | (CasOp::Cas { .. }, Some(CasOutput::Swapped(false)))
        )
    }

    fn describe_refusal(
        &self,
        state: &V,
        input: &CasOp<V>,
        output: Option<&CasOutput<V>>,
    ) -> String {
        match (input, output) {
            (CasOp::Read, Some(CasOutput::Value(v))) => format!("this read returned {v:?}"),
            (CasOp::Cas { from, .. }, Some(CasOutput::Swapped(true))) => {
                format!("this cas succeeded, so it found {from:?}")
            }
            (CasOp::Cas { from, .. }, Some(CasOutput::Swapped(false))) => {
                format!("this cas failed, so it did not find {from:?}; it was {state:?}")
            }
            _ => format!(
                "{} is not possible in that state",
                self.describe_operation(input, output)
            ),
        }
    }

    fn step(&self, state: &V, input: &CasOp<V>, output: Option<&CasOutput<V>>) -> Option<V> {
        match (input, output) {
            (CasOp::Read, None) => Some(state.clone()),
            (CasOp::Read, Some(CasOutput::Value(v))) => (v == state).then(|| state.clone()),
            (CasOp::Write(v), None | Some(CasOutput::Done)) => Some(v.clone()),
            (CasOp::Cas { from, to }, Some(CasOutput::Swapped(true))) => {
                (from == state).then(|| to.clone())
            }
            (CasOp::Cas { from, .. }, Some(CasOutput::Swapped(false))) => {
                (from != state).then(|| state.clone())
            }
            // Unknown outcome: it swapped if it could, and otherwise changed nothing.
            (CasOp::Cas { from, to }, None) => Some(if from == state {
                to.clone()
            } else {
                state.clone()
            }),
            // An output that does not belong to the input is never legal.
            _ => None,
        }
    }
}

/// Reads `read` and `write`.
impl ReadOp for Register<Edn> {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(RegisterOp<Edn>, Option<Option<Edn>>), String> {
        match op.f {
            "read" => Ok((
                RegisterOp::Read,
                observed(op.value, op.returned).map(|v| Some(v.clone())),
            )),
            "write" => Ok((
                RegisterOp::Write(op.value.clone()),
                op.returned.then_some(None),
            )),
            f => Err(unknown_f("register", f, "read and write")),
        }
    }
}

/// Reads `read`, `write` and `cas` with value `[from to]`.
impl ReadOp for CasRegister<Edn> {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(CasOp<Edn>, Option<CasOutput<Edn>>), String> {
        match op.f {
            "read" => Ok((
                CasOp::Read,
                observed(op.value, op.returned).map(|v| CasOutput::Value(v.clone())),
            )),
            "write" => Ok((
                CasOp::Write(op.value.clone()),
                op.returned.then_some(CasOutput::Done),
            )),
            "cas" => match op.value.items() {
                Some([from, to]) => Ok((
                    CasOp::Cas {
                        from: from.clone(),
                        to: to.clone(),
                    },
                    op.returned.then_some(CasOutput::Swapped(true)),
                )),
                _ => Err(format!("cas of {}: expected [from to]", excerpt(op.value))),
            },
            f => Err(unknown_f("cas-register", f, "read, write and cas")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_register_steps() {
        let m = CasRegister { init: 0 };
        let swap = CasOp::Cas { from: 0, to: 2 };
        assert_eq!(m.step(&0, &swap, Some(&CasOutput::Swapped(true))), Some(2));
        assert_eq!(m.step(&1, &swap, Some(&CasOutput::Swapped(true))), None);
        assert_eq!(m.step(&1, &swap, Some(&CasOutput::Swapped(false))), Some(1));
        assert_eq!(m.step(&0, &swap, Some(&CasOutput::Swapped(false))), None);
        assert_eq!(m.step(&0, &swap, None), Some(2));
        assert_eq!(
            m.step(&3, &CasOp::Read, Some(&CasOutput::Value(3))),
            Some(3)
        );
        assert_eq!(m.step(&3, &CasOp::Read, Some(&CasOutput::Done)), None);
    }
}

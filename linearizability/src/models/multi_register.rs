//! Registers named by key, read and written in transactions (Knossos's `multi-register`).

use super::unknown_f;
use crate::edn::Edn;
use crate::events::{RawOp, ReadOp};
use crate::{excerpt, Model};
use std::collections::BTreeMap;

/// One step of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxnOp {
    /// Read a key; `Some(value)` is what the read returned, `None` if that is unknown.
    Read(Edn, Option<Edn>),
    /// Write a value to a key.
    Write(Edn, Edn),
}

/// Registers named by key, starting at `init`; a key not in `init` holds `nil`. An
/// operation is a transaction, `txn` with value `[[:read :x 1] [:write :y 2]]`, applied
/// atomically in order. A read of `nil` is unknown (Knossos's convention), so it matches
/// anything.
///
/// The reads' observations are part of the input, so the output is `()`.
#[derive(Clone, Debug, Default)]
pub struct MultiRegister {
    /// The value of each key before any write.
    pub init: BTreeMap<Edn, Edn>,
}

impl Model for MultiRegister {
    type State = BTreeMap<Edn, Edn>;
    type Input = Vec<TxnOp>;
    type Output = ();

    fn init(&self) -> Self::State {
        self.init.clone()
    }

    fn describe_operation(&self, txn: &Vec<TxnOp>, _: Option<&()>) -> String {
        let steps: Vec<String> = txn
            .iter()
            .map(|op| match op {
                TxnOp::Read(k, Some(v)) => format!("read {k} -> {v}"),
                TxnOp::Read(k, None) => format!("read {k} -> ?"),
                TxnOp::Write(k, v) => format!("write {k} {v}"),
            })
            .collect();
        format!("txn [{}]", steps.join(", "))
    }

    fn describe_state(&self, state: &Self::State) -> String {
        Edn::Map(state.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).to_string()
    }

    fn is_read_only(&self, txn: &Vec<TxnOp>, _: Option<&()>) -> bool {
        txn.iter().all(|op| matches!(op, TxnOp::Read(..)))
    }

    fn step(&self, state: &Self::State, txn: &Vec<TxnOp>, _: Option<&()>) -> Option<Self::State> {
        let mut next = state.clone();
        for op in txn {
            match op {
                TxnOp::Read(key, Some(seen)) => {
                    if next.get(key).unwrap_or(&Edn::Nil) != seen {
                        return None;
                    }
                }
                TxnOp::Read(_, None) => {}
                TxnOp::Write(key, value) => {
                    next.insert(key.clone(), value.clone());
                }
            }
        }
        Some(next)
    }
}

/// Reads `txn` with a vector of `[:read key value]` and `[:write key value]`.
impl ReadOp for MultiRegister {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(Vec<TxnOp>, Option<()>), String> {
        if op.f != "txn" {
            return Err(unknown_f("multi-register", op.f, "txn"));
        }
        let expected = || {
            format!(
                "txn of {}: expected a vector of [:read key value] or [:write key value]",
                excerpt(op.value)
            )
        };
        let steps = op.value.items().ok_or_else(expected)?;
        let txn = steps
            .iter()
            .map(|step| match step.items() {
                Some([f, key, value]) => match f.name() {
                    Some("read") => Ok(TxnOp::Read(
                        key.clone(),
                        (op.returned && *value != Edn::Nil).then(|| value.clone()),
                    )),
                    Some("write") => Ok(TxnOp::Write(key.clone(), value.clone())),
                    _ => Err(expected()),
                },
                _ => Err(expected()),
            })
            .collect::<Result<_, _>>()?;
        Ok((txn, op.returned.then_some(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Edn {
        Edn::Keyword(s.into())
    }

    #[test]
    fn a_transaction_applies_in_order_and_reads_must_match() {
        let m = MultiRegister {
            init: [(kw("x"), Edn::Int(0))].into(),
        };
        let txn = vec![
            TxnOp::Read(kw("x"), Some(Edn::Int(0))),
            TxnOp::Write(kw("x"), Edn::Int(1)),
            TxnOp::Read(kw("x"), Some(Edn::Int(1))),
            TxnOp::Read(kw("y"), Some(Edn::Nil)),
        ];
        let s = m.step(&m.init(), &txn, None).unwrap();
        assert_eq!(s.get(&kw("x")), Some(&Edn::Int(1)));
        let stale = vec![TxnOp::Read(kw("x"), Some(Edn::Int(0)))];
        assert_eq!(m.step(&s, &stale, None), None);
        assert!(m
            .step(&s, &vec![TxnOp::Read(kw("x"), None)], None)
            .is_some());
    }
}

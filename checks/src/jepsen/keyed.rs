//! Jepsen's `independent` checker for compare-and-set registers: one
//! [`CasRegister`] per key, each starting at `""` (the value a key never written reads
//! as), the history split by key so that each key is checked on its own.
//!
//! It reads the histories the Jepsen layer records ([`super::history`]): `get` (a read),
//! `put` (a write) and `cas` with the value `[expected, new]`, each with a `key`. A `fail`
//! is dropped before the model sees it, as Knossos does, so a cas that found another value
//! never reaches it.

use linearizability::edn::Edn;
use linearizability::events::{RawOp, ReadOp};
use linearizability::models::{CasOp, CasOutput, CasRegister};
use linearizability::{excerpt, Model, Operation};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An operation on one key's register.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyedOp {
    /// The key.
    pub key: Arc<Edn>,
    /// What it does to the key's register.
    pub op: CasOp<Edn>,
}

/// Independent compare-and-set registers, one per key, each starting at `""`.
#[derive(Clone, Debug)]
pub struct KeyedCasRegister {
    register: CasRegister<Edn>,
}

impl Default for KeyedCasRegister {
    fn default() -> KeyedCasRegister {
        KeyedCasRegister {
            register: CasRegister {
                init: Edn::Str(String::new()),
            },
        }
    }
}

/// The value of every key written so far, sorted by key; a key not in it holds `""`.
/// After the split by key a state holds at most one key.
pub type KeyedState = Vec<(Arc<Edn>, Edn)>;

impl KeyedCasRegister {
    fn value<'a>(&'a self, state: &'a KeyedState, key: &Edn) -> &'a Edn {
        state
            .iter()
            .find(|(k, _)| **k == *key)
            .map_or(&self.register.init, |(_, v)| v)
    }
}

impl Model for KeyedCasRegister {
    type State = KeyedState;
    type Input = KeyedOp;
    type Output = CasOutput<Edn>;

    fn init(&self) -> KeyedState {
        Vec::new()
    }

    fn step(
        &self,
        state: &KeyedState,
        input: &KeyedOp,
        output: Option<&CasOutput<Edn>>,
    ) -> Option<KeyedState> {
        let current = self.value(state, &input.key);
        let next = self.register.step(current, &input.op, output)?;
        if next == *current {
            return Some(state.clone());
        }
        let mut state = state.clone();
        match state.binary_search_by(|(k, _)| (**k).cmp(&input.key)) {
            Ok(i) => state[i].1 = next,
            Err(i) => state.insert(i, (input.key.clone(), next)),
        }
        Some(state)
    }

    fn is_read_only(&self, input: &KeyedOp, output: Option<&CasOutput<Edn>>) -> bool {
        self.register.is_read_only(&input.op, output)
    }

    fn describe_operation(&self, input: &KeyedOp, output: Option<&CasOutput<Edn>>) -> String {
        format!(
            "{} {}",
            input.key,
            self.register.describe_operation(&input.op, output)
        )
    }

    fn describe_state(&self, state: &KeyedState) -> String {
        let entries: Vec<String> = state.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{{{}}}", entries.join(", "))
    }

    fn describe_refusal(
        &self,
        state: &KeyedState,
        input: &KeyedOp,
        output: Option<&CasOutput<Edn>>,
    ) -> String {
        let current = self.value(state, &input.key);
        format!(
            "{} (the key holds {current})",
            self.register.describe_refusal(current, &input.op, output)
        )
    }

    fn partition(&self, history: &[Operation<KeyedOp, CasOutput<Edn>>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&Arc<Edn>, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            by_key.entry(&op.input.key).or_default().push(i);
        }
        by_key.into_values().collect()
    }

    fn describe_partition(
        &self,
        history: &[Operation<KeyedOp, CasOutput<Edn>>],
        part: &[usize],
    ) -> String {
        part.first().map_or("no key".to_string(), |&i| {
            format!("key {}", history[i].input.key)
        })
    }
}

/// Reads `get`, `put` and `cas` (value `[expected, new]`), each with a `key`.
impl ReadOp for KeyedCasRegister {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(KeyedOp, Option<CasOutput<Edn>>), String> {
        let key = op
            .key
            .map(|k| Arc::new(k.clone()))
            .ok_or_else(|| format!("{} has no key", excerpt(op.f)))?;
        let (op, output) = match op.f {
            // A get that returned nil observed nothing (Knossos's convention).
            "get" => (
                CasOp::Read,
                (op.returned && *op.value != Edn::Nil).then(|| CasOutput::Value(op.value.clone())),
            ),
            "put" => (
                CasOp::Write(op.value.clone()),
                op.returned.then_some(CasOutput::Done),
            ),
            "cas" => match op.value.items() {
                Some([from, to]) => (
                    CasOp::Cas {
                        from: from.clone(),
                        to: to.clone(),
                    },
                    op.returned.then_some(CasOutput::Swapped(true)),
                ),
                _ => return Err(format!("cas of {}: expected [from to]", excerpt(op.value))),
            },
            f => {
                return Err(format!(
                    "no operation {}; the operations are get, put and cas",
                    excerpt(f)
                ))
            }
        };
        Ok((KeyedOp { key, op }, output))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linearizability::events::{history_from_events, read_jsonl_events};

    fn verdict(jsonl: &str) -> linearizability::CheckResult {
        let m = KeyedCasRegister::default();
        let events = read_jsonl_events("t", jsonl).unwrap();
        let ops = history_from_events(&m, "t", &events).unwrap();
        linearizability::check_operations(&m, &ops, &Default::default()).result
    }

    #[test]
    fn each_key_is_its_own_cas_register_starting_empty() {
        let ok = r#"{"process":0,"type":"invoke","f":"cas","key":"k1","value":["","a"]}
{"process":0,"type":"ok","f":"cas","key":"k1","value":["","a"]}
{"process":1,"type":"invoke","f":"get","key":"k2","value":null}
{"process":1,"type":"ok","f":"get","key":"k2","value":""}
{"process":1,"type":"invoke","f":"get","key":"k1","value":null}
{"process":1,"type":"ok","f":"get","key":"k1","value":"a"}
"#;
        assert_eq!(verdict(ok), linearizability::CheckResult::Ok);
        // A read of k1's old value after the cas completed is stale.
        let stale = ok.replace(r#""key":"k1","value":"a"}"#, r#""key":"k1","value":""}"#);
        assert_eq!(verdict(&stale), linearizability::CheckResult::Illegal);
        // A cas from a value the key never held cannot have succeeded.
        let bad_cas = ok.replace(r#"["","a"]"#, r#"["z","a"]"#);
        assert_eq!(verdict(&bad_cas), linearizability::CheckResult::Illegal);
    }
}

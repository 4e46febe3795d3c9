//! Porcupine's key-value semantics and its kv log format.
//!
//! Each key is an independent string register that starts empty: `get` returns the value,
//! `put` sets it, `append` concatenates to it. Histories are partitioned by key, so each
//! key is checked on its own (and in parallel).
//!
//! A log has one EDN map per line:
//! `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`. Times are line
//! positions in the log. `:fail` operations did not happen and are dropped; `:info` ones
//! stay open; a get that returned `nil` is unknown (the logs never have one).

use crate::edn::Edn;
use crate::events::{history_from_events, read_edn_events, RawOp, ReadOp};
use crate::{Model, Operation, ReadError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What an operation does to its key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvFn {
    /// Read the value.
    Get,
    /// Set the value.
    Put(String),
    /// Concatenate to the value.
    Append(String),
}

/// An operation on one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvOp {
    /// The key: a string in Porcupine's logs, any value in JSON Lines (`1` and `"1"` are
    /// different keys).
    /// Shared, because every state that holds the key holds it too.
    pub key: Arc<Edn>,
    /// What is done to it.
    pub f: KvFn,
}

/// What a key-value operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// A get's value (absent reads as empty).
    Value(String),
    /// A put or append completed.
    Done,
}

/// Independent string registers, one per key, each starting empty.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kv;

impl Model for Kv {
    /// The value of every key written so far, sorted by key. After partitioning a state
    /// holds one key, so a small shared slice is the cheapest map: a read copies nothing,
    /// and a write copies one pointer per key.
    type State = Arc<[(Arc<Edn>, Arc<str>)]>;
    type Input = KvOp;
    type Output = KvOutput;

    fn init(&self) -> Self::State {
        Arc::new([])
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let entries: Vec<String> = state.iter().map(|(k, v)| format!("{k} {v:?}")).collect();
        format!("{{{}}}", entries.join(", "))
    }

    fn describe_operation(&self, op: &KvOp, output: Option<&KvOutput>) -> String {
        match (&op.f, output) {
            (KvFn::Get, Some(KvOutput::Value(v))) => format!("get {} -> {v:?}", op.key),
            (KvFn::Get, _) => format!("get {} -> ?", op.key),
            (KvFn::Put(v), _) => format!("put {} {v:?}", op.key),
            (KvFn::Append(v), _) => format!("append {} {v:?}", op.key),
        }
    }

    fn is_read_only(&self, op: &KvOp, _: Option<&KvOutput>) -> bool {
        op.f == KvFn::Get
    }

    fn step(
        &self,
        state: &Self::State,
        op: &KvOp,
        output: Option<&KvOutput>,
    ) -> Option<Self::State> {
        let at = state.binary_search_by(|(k, _)| (**k).cmp(&op.key));
        let current = at.map_or("", |i| &*state[i].1);
        let set = |value: Arc<str>| {
            let mut next = state.to_vec();
            match at {
                Ok(i) => next[i].1 = value,
                Err(i) => next.insert(i, (op.key.clone(), value)),
            }
            Arc::from(next)
        };
        match (&op.f, output) {
            (KvFn::Get, None) => Some(state.clone()),
            (KvFn::Get, Some(KvOutput::Value(v))) => (v == current).then(|| state.clone()),
            (KvFn::Put(v), None | Some(KvOutput::Done)) => Some(set(Arc::from(v.as_str()))),
            (KvFn::Append(v), None | Some(KvOutput::Done)) => {
                Some(set(Arc::from(format!("{current}{v}"))))
            }
            _ => None,
        }
    }

    fn partition(&self, history: &[Operation<KvOp, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&Arc<Edn>, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            by_key.entry(&op.input.key).or_default().push(i);
        }
        by_key.into_values().collect()
    }
}

/// Reads `get`, `put` and `append`, each with a `key`; put and append carry a string.
impl ReadOp for Kv {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(KvOp, Option<KvOutput>), String> {
        let key = op
            .key
            .map(|k| Arc::new(k.clone()))
            .ok_or_else(|| format!("{} has no key", op.f))?;
        let string = || match op.value {
            Edn::Str(v) => Ok(v.clone()),
            other => Err(format!("{} of {other}: expected a string", op.f)),
        };
        let (f, output) = match op.f {
            "get" => (
                KvFn::Get,
                match op.value {
                    _ if !op.returned => None,
                    Edn::Nil => None,
                    Edn::Str(v) => Some(KvOutput::Value(v.clone())),
                    other => return Err(format!("get returned {other}: expected a string")),
                },
            ),
            "put" => (KvFn::Put(string()?), op.returned.then_some(KvOutput::Done)),
            "append" => (
                KvFn::Append(string()?),
                op.returned.then_some(KvOutput::Done),
            ),
            f => {
                return Err(format!(
                    "kv has no operation {f}; its operations are get, put and append"
                ))
            }
        };
        Ok((KvOp { key, f }, output))
    }
}

/// Reads a kv log: EDN, one map per line, with [`Kv`]'s operations. `file` names the input
/// in errors.
pub fn read_kv_log(file: &str, text: &str) -> Result<Vec<Operation<KvOp, KvOutput>>, ReadError> {
    history_from_events(&Kv, file, &read_edn_events(file, text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kv_log_reads_and_partitions_by_key() {
        let log = "{:process 0, :type :invoke, :f :append, :key \"a\", :value \"x\"}\n\
                   {:process 1, :type :invoke, :f :get, :key \"b\", :value nil}\n\
                   {:process 0, :type :ok, :f :append, :key \"a\", :value \"x\"}\n\
                   {:process 1, :type :ok, :f :get, :key \"b\", :value \"\"}\n";
        let ops = read_kv_log("kv.txt", log).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].output, Some(KvOutput::Value(String::new())));
        assert_eq!(Kv.partition(&ops), vec![vec![0], vec![1]]);
    }

    #[test]
    fn a_bad_line_names_the_file_and_line() {
        let e = read_kv_log(
            "kv.txt",
            "{:process 0, :type :invoke, :f :get, :key \"a\", :value nil}\n{:process 0 :type\n",
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("kv.txt", 2));
    }

    #[test]
    fn append_concatenates_and_get_must_match() {
        let s = Kv.init();
        let op = |f| KvOp {
            key: Arc::new(Edn::Str("k".into())),
            f,
        };
        let s = Kv
            .step(&s, &op(KvFn::Append("ab".into())), Some(&KvOutput::Done))
            .unwrap();
        let s = Kv.step(&s, &op(KvFn::Append("c".into())), None).unwrap();
        assert!(Kv
            .step(&s, &op(KvFn::Get), Some(&KvOutput::Value("abc".into())))
            .is_some());
        assert!(Kv
            .step(&s, &op(KvFn::Get), Some(&KvOutput::Value("ab".into())))
            .is_none());
    }
}

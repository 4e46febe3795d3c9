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
use crate::{excerpt, Model, Operation, ReadError};
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

/// The value of every key written so far. After partitioning a state holds one key, so
/// that case needs no allocation of its own: a read copies two pointers, a write
/// allocates only the new value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KvState(Entries);

/// One key is always `One`, so that equal maps are equal values.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Entries {
    One((Arc<Edn>, Arc<str>)),
    /// No keys, or two or more, sorted by key.
    Many(Arc<[(Arc<Edn>, Arc<str>)]>),
}

impl KvState {
    /// The map with no keys.
    pub fn new() -> KvState {
        KvState(Entries::Many(Arc::new([])))
    }

    /// The keys and their values, sorted by key.
    pub fn entries(&self) -> &[(Arc<Edn>, Arc<str>)] {
        match &self.0 {
            Entries::One(entry) => std::slice::from_ref(entry),
            Entries::Many(entries) => entries,
        }
    }

    /// The value of `key`, empty if it was never written.
    pub fn get(&self, key: &Edn) -> &str {
        let entries = self.entries();
        entries
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .map_or("", |i| &*entries[i].1)
    }

    /// This map with `key` set to `value`.
    pub fn with(&self, key: &Arc<Edn>, value: Arc<str>) -> KvState {
        if let Entries::One((k, _)) = &self.0 {
            if k == key {
                return KvState(Entries::One((k.clone(), value)));
            }
        }
        let mut entries = self.entries().to_vec();
        match entries.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => entries[i].1 = value,
            Err(i) => entries.insert(i, (key.clone(), value)),
        }
        match <[_; 1]>::try_from(entries) {
            Ok([entry]) => KvState(Entries::One(entry)),
            Err(entries) => KvState(Entries::Many(entries.into())),
        }
    }
}

impl Default for KvState {
    fn default() -> Self {
        KvState::new()
    }
}

impl std::fmt::Debug for KvState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries().iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl Model for Kv {
    type State = KvState;
    type Input = KvOp;
    type Output = KvOutput;

    fn init(&self) -> Self::State {
        KvState::new()
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let entries: Vec<String> = state
            .entries()
            .iter()
            .map(|(k, v)| format!("{k} {v:?}"))
            .collect();
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

    fn describe_refusal(&self, state: &KvState, op: &KvOp, output: Option<&KvOutput>) -> String {
        match (&op.f, output) {
            // With other keys in the state, say which value this get should have seen.
            (KvFn::Get, Some(KvOutput::Value(v))) if state.entries().len() > 1 => format!(
                "this get returned {v:?}, but {} holds {:?}",
                op.key,
                state.get(&op.key)
            ),
            (KvFn::Get, Some(KvOutput::Value(v))) => format!("this get returned {v:?}"),
            _ => format!(
                "{} is not possible in that state",
                self.describe_operation(op, output)
            ),
        }
    }

    fn step(
        &self,
        state: &Self::State,
        op: &KvOp,
        output: Option<&KvOutput>,
    ) -> Option<Self::State> {
        let current = state.get(&op.key);
        match (&op.f, output) {
            (KvFn::Get, None) => Some(state.clone()),
            (KvFn::Get, Some(KvOutput::Value(v))) => (v == current).then(|| state.clone()),
            (KvFn::Put(v), None | Some(KvOutput::Done)) => {
                Some(state.with(&op.key, Arc::from(v.as_str())))
            }
            (KvFn::Append(v), None | Some(KvOutput::Done)) => {
                let mut value = String::with_capacity(current.len() + v.len());
                value.push_str(current);
                value.push_str(v);
                Some(state.with(&op.key, Arc::from(value)))
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

    fn describe_partition(&self, history: &[Operation<KvOp, KvOutput>], part: &[usize]) -> String {
        part.first().map_or("no key".to_string(), |&i| {
            format!("key {}", history[i].input.key)
        })
    }
}

/// Reads `get`, `put` and `append`, each with a `key`; put and append carry a string.
impl ReadOp for Kv {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(KvOp, Option<KvOutput>), String> {
        let key = op
            .key
            .map(|k| Arc::new(k.clone()))
            .ok_or_else(|| format!("{} has no key", excerpt(op.f)))?;
        let string = || match op.value {
            Edn::Str(v) => Ok(v.clone()),
            other => Err(format!(
                "{} of {}: expected a string",
                excerpt(op.f),
                excerpt(other)
            )),
        };
        let (f, output) = match op.f {
            "get" => (
                KvFn::Get,
                match op.value {
                    _ if !op.returned => None,
                    Edn::Nil => None,
                    Edn::Str(v) => Some(KvOutput::Value(v.clone())),
                    other => {
                        return Err(format!(
                            "get returned {}: expected a string",
                            excerpt(other)
                        ))
                    }
                },
            ),
            "put" => (KvFn::Put(string()?), op.returned.then_some(KvOutput::Done)),
            "append" => (
                KvFn::Append(string()?),
                op.returned.then_some(KvOutput::Done),
            ),
            f => {
                return Err(format!(
                    "kv has no operation {}; its operations are get, put and append",
                    excerpt(f)
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

    #[test]
    fn equal_maps_are_equal_states_however_they_were_built() {
        let key = |k: &str| Arc::new(Edn::Str(k.into()));
        let (a, b) = (key("a"), key("b"));
        let one_way = KvState::new()
            .with(&a, Arc::from("1"))
            .with(&b, Arc::from("2"));
        let other_way = KvState::new()
            .with(&b, Arc::from("2"))
            .with(&a, Arc::from("0"))
            .with(&a, Arc::from("1"));
        assert_eq!(one_way, other_way);
        assert_eq!(one_way.get(&a), "1");
        assert_eq!(one_way.get(&Edn::Str("c".into())), "");
        let single = KvState::new().with(&a, Arc::from("x"));
        assert_eq!(
            single,
            KvState::new()
                .with(&a, Arc::from("y"))
                .with(&a, Arc::from("x"))
        );
        assert_ne!(single, one_way);
        assert_eq!(format!("{single:?}"), "{\"a\": \"x\"}");
    }
}

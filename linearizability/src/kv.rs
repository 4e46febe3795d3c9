//! Porcupine's key-value semantics and its kv log format.
//!
//! Each key is an independent string register that starts empty: `get` returns the value,
//! `put` sets it, `append` concatenates to it. Histories are partitioned by key, so each
//! key is checked on its own (and in parallel).
//!
//! A log has one EDN map per line:
//! `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`. Times are line
//! numbers. `:fail` operations did not happen and are dropped; `:info` ones stay open.

use crate::edn::{parse_all, Edn};
use crate::{HistoryBuilder, Model, Operation, ReadError};
use std::collections::BTreeMap;

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
    /// The key.
    pub key: String,
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
    /// The value of every key written so far. After partitioning, one key.
    type State = BTreeMap<String, String>;
    type Input = KvOp;
    type Output = KvOutput;

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &Self::State,
        op: &KvOp,
        output: Option<&KvOutput>,
    ) -> Option<Self::State> {
        let current = state.get(&op.key).map_or("", String::as_str);
        match (&op.f, output) {
            (KvFn::Get, None) => Some(state.clone()),
            (KvFn::Get, Some(KvOutput::Value(v))) => (v == current).then(|| state.clone()),
            (KvFn::Put(v), None | Some(KvOutput::Done)) => {
                let mut next = state.clone();
                next.insert(op.key.clone(), v.clone());
                Some(next)
            }
            (KvFn::Append(v), None | Some(KvOutput::Done)) => {
                let mut next = state.clone();
                next.insert(op.key.clone(), format!("{current}{v}"));
                Some(next)
            }
            _ => None,
        }
    }

    fn partition(&self, history: &[Operation<KvOp, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in history.iter().enumerate() {
            by_key.entry(op.input.key.as_str()).or_default().push(i);
        }
        by_key.into_values().collect()
    }
}

const EXPECTED: &str =
    "expected `{:process N, :type :invoke|:ok|:fail|:info, :f :get|:put|:append, :key \"K\", :value \"V\"|nil}`";

/// Reads a kv log. `file` names the input in errors.
pub fn read_kv_log(file: &str, text: &str) -> Result<Vec<Operation<KvOp, KvOutput>>, ReadError> {
    let mut history = HistoryBuilder::default();
    for (n, line) in text.lines().enumerate() {
        let error = |message: String| ReadError {
            file: file.to_string(),
            line: n + 1,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let values = parse_all(line).map_err(|(_, m)| error(format!("{m}; {EXPECTED}")))?;
        let [map @ Edn::Map(_)] = values.as_slice() else {
            return Err(error(EXPECTED.to_string()));
        };
        let field = |k: &str| {
            map.get(k)
                .ok_or_else(|| error(format!("no :{k}; {EXPECTED}")))
        };
        let Edn::Int(process) = field("process")? else {
            return Err(error(format!(":process is not an integer; {EXPECTED}")));
        };
        let process = *process as u64;
        let (Edn::Keyword(kind), Edn::Keyword(f), Edn::Str(key)) =
            (field("type")?, field("f")?, field("key")?)
        else {
            return Err(error(EXPECTED.to_string()));
        };
        let value = match field("value")? {
            Edn::Str(s) => Some(s.clone()),
            Edn::Nil => None,
            other => {
                return Err(error(format!(
                    ":value {other} is not a string or nil; {EXPECTED}"
                )))
            }
        };
        let time = n as u64;
        match kind.as_str() {
            "invoke" => {
                let f = match (f.as_str(), value) {
                    ("get", _) => KvFn::Get,
                    ("put", Some(v)) => KvFn::Put(v),
                    ("append", Some(v)) => KvFn::Append(v),
                    (other, _) => {
                        return Err(error(format!(
                            "cannot invoke :{other} with that value; {EXPECTED}"
                        )))
                    }
                };
                let input = KvOp {
                    key: key.clone(),
                    f,
                };
                history.invoke(process, input, time).map_err(error)?;
            }
            "ok" => {
                let output = match history.open_input(process).map_err(error)?.f {
                    KvFn::Get => KvOutput::Value(value.unwrap_or_default()),
                    _ => KvOutput::Done,
                };
                history.ok(process, time, Some(output)).map_err(error)?;
            }
            "fail" => history.fail(process).map_err(error)?,
            "info" => history.info(process).map_err(error)?,
            other => return Err(error(format!("unknown :type :{other}; {EXPECTED}"))),
        }
    }
    Ok(history.finish())
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
        let op = |f| KvOp { key: "k".into(), f };
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

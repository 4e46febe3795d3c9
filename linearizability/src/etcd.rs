//! Porcupine's etcd semantics and its Jepsen log format.
//!
//! The object is one key of etcd, used as a compare-and-set register that starts absent.
//! A read of `nil` means the key is absent; a `:fail` compare-and-set observed a mismatch
//! (Porcupine keeps it as an observation); an `:info` write or compare-and-set timed out
//! and may take effect at any time after its call, or never; a `:fail` read that timed
//! out returns with an unknown value.
//!
//! A log line reads `INFO  jepsen.util - <process> :<type> :<f> <value>`, fields separated
//! by tabs or runs of spaces. Times are positions in the event stream.

use crate::edn::Edn;
use crate::events::{RawOp, ReadOp};
use crate::history::Poll;
use crate::{excerpt, HistoryBuilder, Model, Operation, Progress, ReadError};

/// An operation on an etcd key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EtcdOp {
    /// Read the key.
    Read,
    /// Write a value.
    Write(i64),
    /// Set the key to `to` if it holds `from`.
    Cas {
        /// The expected value.
        from: i64,
        /// The new value.
        to: i64,
    },
}

/// What an etcd operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EtcdOutput {
    /// A read's value; `None` means the key was absent.
    Read(Option<i64>),
    /// A write completed.
    Written,
    /// Whether a compare-and-set swapped (`:ok`) or observed a mismatch (`:fail`).
    Cas(bool),
}

/// Porcupine's etcd model: a compare-and-set register that starts absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Etcd;

impl Model for Etcd {
    type State = Option<i64>;
    type Input = EtcdOp;
    type Output = EtcdOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    fn describe_operation(&self, input: &EtcdOp, output: Option<&EtcdOutput>) -> String {
        match (input, output) {
            (EtcdOp::Read, Some(EtcdOutput::Read(Some(v)))) => format!("read -> {v}"),
            (EtcdOp::Read, Some(EtcdOutput::Read(None))) => "read -> nil".into(),
            (EtcdOp::Read, _) => "read -> ?".into(),
            (EtcdOp::Write(v), _) => format!("write {v}"),
            (EtcdOp::Cas { from, to }, Some(EtcdOutput::Cas(false))) => {
                format!("cas {from}->{to} (failed)")
            }
            (EtcdOp::Cas { from, to }, Some(_)) => format!("cas {from}->{to}"),
            (EtcdOp::Cas { from, to }, None) => format!("cas {from}->{to} ?"),
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        state.map_or("nil".into(), |v| v.to_string())
    }

    fn describe_refusal(
        &self,
        state: &Option<i64>,
        input: &EtcdOp,
        output: Option<&EtcdOutput>,
    ) -> String {
        let value = |v: Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
        match (input, output) {
            (EtcdOp::Read, Some(EtcdOutput::Read(seen))) => {
                format!("this read returned {}", value(*seen))
            }
            (EtcdOp::Cas { from, .. }, Some(EtcdOutput::Cas(true))) => {
                format!("this cas succeeded, so it found {from}")
            }
            (EtcdOp::Cas { from, .. }, Some(EtcdOutput::Cas(false))) => {
                format!(
                    "this cas failed, so it did not find {from}; it was {}",
                    value(*state)
                )
            }
            _ => format!(
                "{} is not possible in that state",
                self.describe_operation(input, output)
            ),
        }
    }

    fn is_read_only(&self, input: &EtcdOp, output: Option<&EtcdOutput>) -> bool {
        matches!(
            (input, output),
            (EtcdOp::Read, _) | (EtcdOp::Cas { .. }, Some(EtcdOutput::Cas(false)))
        )
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &EtcdOp,
        output: Option<&EtcdOutput>,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (EtcdOp::Read, None) => Some(*state),
            (EtcdOp::Read, Some(EtcdOutput::Read(seen))) => (seen == state).then_some(*state),
            (EtcdOp::Write(v), None | Some(EtcdOutput::Written)) => Some(Some(*v)),
            (EtcdOp::Cas { from, to }, Some(EtcdOutput::Cas(true))) => {
                (*state == Some(*from)).then_some(Some(*to))
            }
            (EtcdOp::Cas { from, .. }, Some(EtcdOutput::Cas(false))) => {
                (*state != Some(*from)).then_some(*state)
            }
            (EtcdOp::Cas { from, to }, None) => Some(if *state == Some(*from) {
                Some(*to)
            } else {
                *state
            }),
            _ => None,
        }
    }
}

/// Reads `read`, `write` and `cas` from EDN or JSON Lines histories. A read of `nil`
/// observed the key absent, as in the logs. A `fail`ed compare-and-set is dropped (as
/// Jepsen's checker does), not kept as an observation of a mismatch as in the logs.
impl ReadOp for Etcd {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(EtcdOp, Option<EtcdOutput>), String> {
        let int = |v: &Edn| match v {
            Edn::Int(i) => Ok(*i),
            other => Err(format!(
                "{} of {}: expected an integer",
                excerpt(op.f),
                excerpt(other)
            )),
        };
        match op.f {
            "read" => {
                let output = match op.value {
                    _ if !op.returned => None,
                    Edn::Nil => Some(EtcdOutput::Read(None)),
                    v => Some(EtcdOutput::Read(Some(int(v)?))),
                };
                Ok((EtcdOp::Read, output))
            }
            "write" => Ok((
                EtcdOp::Write(int(op.value)?),
                op.returned.then_some(EtcdOutput::Written),
            )),
            "cas" => match op.value.items() {
                Some([from, to]) => Ok((
                    EtcdOp::Cas {
                        from: int(from)?,
                        to: int(to)?,
                    },
                    op.returned.then_some(EtcdOutput::Cas(true)),
                )),
                _ => Err(format!("cas of {}: expected [from to]", excerpt(op.value))),
            },
            f => Err(format!(
                "etcd has no operation {}; its operations are read, write and cas",
                excerpt(f)
            )),
        }
    }
}

const EXPECTED: &str = "expected `INFO  jepsen.util - <process> :<invoke|ok|fail|info> :<read|write|cas> <nil|N|[A B]|:timed-out>`";

/// Reads an etcd Jepsen log. `file` names the input in errors. Blank lines are skipped;
/// any other line that does not parse is an error naming its line.
pub fn read_etcd_log(
    file: &str,
    text: &str,
) -> Result<Vec<Operation<EtcdOp, EtcdOutput>>, ReadError> {
    read_etcd_log_with_progress(file, text, None)
}

/// [`read_etcd_log`], saying how far it got in `progress` and stopping when asked to there
/// (with a [`ReadError`] whose `stopped` is set), within about a thousand lines.
pub fn read_etcd_log_with_progress(
    file: &str,
    text: &str,
    progress: Option<&Progress>,
) -> Result<Vec<Operation<EtcdOp, EtcdOutput>>, ReadError> {
    let mut poll = Poll::new(progress, file);
    // One operation per two lines (an invocation and its completion).
    let mut history =
        HistoryBuilder::with_capacity(text.bytes().filter(|&b| b == b'\n').count() / 2 + 1);
    for (n, line) in text.lines().enumerate() {
        poll.at(n + 1)?;
        let error = |message: String| ReadError::new(file, n + 1, message);
        if line.trim().is_empty() {
            continue;
        }
        let rest = line
            .split_once("jepsen.util - ")
            .map(|(_, r)| r)
            .ok_or_else(|| error(EXPECTED.to_string()))?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let [process, kind, f, value @ ..] = fields.as_slice() else {
            return Err(error(EXPECTED.to_string()));
        };
        let process: u64 = process.parse().map_err(|_| {
            error(format!(
                "process `{}` is not a number; {EXPECTED}",
                excerpt(process)
            ))
        })?;
        let value = value.join(" ");
        let time = n as u64;
        match *kind {
            ":invoke" => {
                let input = match (*f, value.as_str()) {
                    (":read", _) => EtcdOp::Read,
                    (":write", v) => EtcdOp::Write(int(v).ok_or_else(|| {
                        error(format!("write of `{}`: expected an integer", excerpt(v)))
                    })?),
                    (":cas", v) => {
                        let (from, to) = pair(v).ok_or_else(|| {
                            error(format!("cas of `{}`: expected [A B]", excerpt(v)))
                        })?;
                        EtcdOp::Cas { from, to }
                    }
                    (other, _) => {
                        return Err(error(format!(
                            "unknown function `{}`; expected :read, :write or :cas",
                            excerpt(other)
                        )))
                    }
                };
                history.invoke(process, input, time).map_err(error)?;
            }
            ":ok" | ":fail" | ":info" => {
                let invoked = history.open_input(process).map_err(error)?;
                let invoked_f = match invoked {
                    EtcdOp::Read => ":read",
                    EtcdOp::Write(_) => ":write",
                    EtcdOp::Cas { .. } => ":cas",
                };
                if *f != invoked_f {
                    return Err(error(format!(
                        "process {process} completes {} but invoked {invoked_f}",
                        excerpt(f)
                    )));
                }
                let output = match (*kind, invoked) {
                    (":info", _) => {
                        // Indeterminate: stays open, no output.
                        history.info(process).map_err(error)?;
                        continue;
                    }
                    (":ok", EtcdOp::Read) => {
                        if value == "nil" {
                            Some(EtcdOutput::Read(None))
                        } else {
                            Some(EtcdOutput::Read(Some(int(&value).ok_or_else(|| {
                                error(format!(
                                    "read returned `{}`: expected nil or an integer",
                                    excerpt(&value)
                                ))
                            })?)))
                        }
                    }
                    (":fail", EtcdOp::Read) => None, // timed out: returned, value unknown
                    (":ok", EtcdOp::Write(_)) => Some(EtcdOutput::Written),
                    (":ok", EtcdOp::Cas { .. }) => Some(EtcdOutput::Cas(true)),
                    (":fail", EtcdOp::Cas { .. }) => Some(EtcdOutput::Cas(false)),
                    (":fail", EtcdOp::Write(_)) => {
                        // A failed write did not happen.
                        history.fail(process).map_err(error)?;
                        continue;
                    }
                    _ => unreachable!("kind is one of :ok, :fail, :info"),
                };
                history.ok(process, time, output).map_err(error)?;
            }
            other => {
                return Err(error(format!(
                    "unknown type `{}`; expected :invoke, :ok, :fail or :info",
                    excerpt(other)
                )))
            }
        }
    }
    Ok(history.finish())
}

fn int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

fn pair(s: &str) -> Option<(i64, i64)> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut parts = inner.split_whitespace();
    let a = int(parts.next()?)?;
    let b = int(parts.next()?)?;
    parts.next().is_none().then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_reads_into_operations_with_etcd_semantics() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 0\t:ok\t:read\tnil\n\
                   INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 2   :invoke   :write   3\n\
                   INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n";
        let ops = read_etcd_log("t.log", log).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].call, ops[0].ret), (0, Some(2)));
        assert_eq!(ops[0].output, Some(EtcdOutput::Read(None)));
        assert_eq!(ops[1].output, Some(EtcdOutput::Cas(false)));
        assert_eq!((ops[2].input.clone(), ops[2].ret), (EtcdOp::Write(3), None));
    }

    #[test]
    fn a_malformed_line_names_the_file_and_line() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tbanana\n";
        let e = read_etcd_log("h.log", log).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("h.log", 2));
        assert!(
            e.to_string().starts_with("h.log:2: read returned `banana`"),
            "{e}"
        );
        let e = read_etcd_log("h.log", "hello\n").unwrap_err();
        assert!(e.message.contains("expected `INFO  jepsen.util"), "{e}");
    }

    #[test]
    fn the_model_follows_porcupine_etcd_semantics() {
        let m = Etcd;
        assert_eq!(
            m.step(&None, &EtcdOp::Read, Some(&EtcdOutput::Read(None))),
            Some(None)
        );
        assert_eq!(
            m.step(&Some(1), &EtcdOp::Read, Some(&EtcdOutput::Read(None))),
            None
        );
        let cas = EtcdOp::Cas { from: 1, to: 2 };
        assert_eq!(
            m.step(&Some(1), &cas, Some(&EtcdOutput::Cas(true))),
            Some(Some(2))
        );
        assert_eq!(
            m.step(&None, &cas, Some(&EtcdOutput::Cas(false))),
            Some(None)
        );
        assert_eq!(m.step(&Some(1), &cas, Some(&EtcdOutput::Cas(false))), None);
    }
}

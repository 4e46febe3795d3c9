//! Jepsen-style histories in two formats, EDN and JSON Lines, read into one shape: a list
//! of [`Event`]s, each an invocation or a completion of an operation `f` with a `value`.
//! [`history_from_events`] then pairs them into [`Operation`]s for any model that can
//! read its operations from `f` and `value` ([`ReadOp`]).
//!
//! # Semantics (Knossos's)
//!
//! - Events are in real-time order; an event's time is its position in the history.
//! - An `ok` completion's value replaces the invocation's (a read is invoked with `nil`
//!   and completes with what it read).
//! - A `fail` completion means the operation did not happen: it is dropped.
//! - An `info` completion, or none at all, leaves the operation indeterminate: it may take
//!   effect at any time after its call, or never.
//! - Events of the process `nemesis` (Jepsen's fault injector) are ignored; any other
//!   process must be a non-negative integer.
//!
//! # EDN
//!
//! The whole file is one vector or list of maps, or one map per line:
//! `{:process 0, :type :invoke, :f :write, :value 3}`. Other keys (`:time`, `:index`,
//! `:error`) are allowed and ignored.
//!
//! # JSON Lines
//!
//! One JSON object per line, with the same fields; names are strings:
//! `{"process": 0, "type": "invoke", "f": "write", "value": 3}`. An optional `"key"`
//! names the object the operation acts on, for models that partition by key. JSON values
//! become [`Edn`] values: `null` is `nil`, arrays are vectors, objects are maps with
//! string keys, and numbers that are not integers keep their text.

use crate::edn::{for_each_op, Edn};
use crate::history::Poll;
use crate::{excerpt, History, HistoryBuilder, Model, Operation, Progress, ReadError};

/// Whether an event starts an operation or says how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The operation was called.
    Invoke,
    /// It returned, with a value.
    Ok,
    /// It did not happen.
    Fail,
    /// Its outcome is unknown.
    Info,
}

/// One event of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The process, or `None` for the nemesis.
    pub process: Option<u64>,
    /// Invocation or completion.
    pub kind: EventKind,
    /// The operation's function, such as `read`.
    pub f: String,
    /// The object it acts on, if the history names one.
    pub key: Option<Edn>,
    /// Its value (`nil` if absent).
    pub value: Edn,
    /// The 1-based line the event starts on.
    pub line: usize,
}

/// An operation as the history recorded it, for a model to interpret.
#[derive(Clone, Copy, Debug)]
pub struct RawOp<'a> {
    /// The function.
    pub f: &'a str,
    /// The object, if named.
    pub key: Option<&'a Edn>,
    /// The completion's value if it returned, else the invocation's.
    pub value: &'a Edn,
    /// Whether it returned `ok`. If not, its output is unknown.
    pub returned: bool,
}

/// A model whose operations can be read from Jepsen-style events.
pub trait ReadOp: Model {
    /// The input of `op`, and its output: `None` if the output is unknown (it did not
    /// return, or, by Knossos's convention, it is a read that returned `nil`). The error
    /// says what was expected.
    fn read_op(&self, op: &RawOp<'_>) -> Result<(Self::Input, Option<Self::Output>), String>;
}

const EDN_EXPECTED: &str = "expected a map like {:process 0, :type :invoke, :f :write, :value 3}";
const JSON_EXPECTED: &str =
    "expected an object like {\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 3}";

/// Reads an EDN history. `file` names the input in errors.
pub fn read_edn_events(file: &str, text: &str) -> Result<Vec<Event>, ReadError> {
    read_edn_events_with_progress(file, text, None)
}

/// [`read_edn_events`], saying how far it got in `progress` and stopping when asked to
/// there (with a [`ReadError`] whose `stopped` is set), within about a thousand events.
/// Each operation is converted as soon as it is parsed, so the parsed text is never held
/// whole.
pub fn read_edn_events_with_progress(
    file: &str,
    text: &str,
    progress: Option<&Progress>,
) -> Result<Vec<Event>, ReadError> {
    let mut poll = Poll::new(progress, file);
    let mut events = with_room(lines(text));
    for_each_op(
        text,
        |line, value| {
            poll.at(line)?;
            let event = event_from_map(&value, line)
                .map_err(|m| ReadError::new(file, line, format!("{m}; {EDN_EXPECTED}")))?;
            events.push(event);
            Ok(())
        },
        |(line, message)| ReadError::new(file, line, message),
    )?;
    Ok(events)
}

/// Reads a JSON Lines history. Blank lines are skipped. `file` names the input in errors.
pub fn read_jsonl_events(file: &str, text: &str) -> Result<Vec<Event>, ReadError> {
    read_jsonl_events_with_progress(file, text, None)
}

/// [`read_jsonl_events`], saying how far it got in `progress` and stopping when asked to
/// there (with a [`ReadError`] whose `stopped` is set), within about a thousand lines.
pub fn read_jsonl_events_with_progress(
    file: &str,
    text: &str,
    progress: Option<&Progress>,
) -> Result<Vec<Event>, ReadError> {
    let mut poll = Poll::new(progress, file);
    let mut events = with_room(lines(text));
    for (n, line) in text.lines().enumerate() {
        poll.at(n + 1)?;
        if line.trim().is_empty() {
            continue;
        }
        let error =
            |message: String| ReadError::new(file, n + 1, format!("{message}; {JSON_EXPECTED}"));
        let json: serde_json::Value =
            serde_json::from_str(line).map_err(|e| error(format!("not JSON ({e})")))?;
        // serde_json keeps the last of two equal keys; EDN refuses them, and so do we.
        serde_json::from_str::<NoDuplicateKeys>(line)
            .map_err(|e| error(format!("not JSON ({e})")))?;
        let value = from_json(&json).map_err(error)?;
        events.push(event_from_map(&value, n + 1).map_err(error)?);
    }
    Ok(events)
}

/// A JSON value as EDN. Numbers keep their written text (serde_json's
/// `arbitrary_precision`) and are read by the same rule as EDN's, [`crate::edn::number`].
fn from_json(v: &serde_json::Value) -> Result<Edn, String> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => Edn::Nil,
        Value::Bool(b) => Edn::Bool(*b),
        Value::Number(n) => {
            let text = n.to_string();
            crate::edn::number(&text)?.unwrap_or(Edn::Symbol(text))
        }
        Value::String(s) => Edn::Str(s.clone()),
        Value::Array(items) => Edn::Seq(items.iter().map(from_json).collect::<Result<_, _>>()?),
        Value::Object(entries) => Edn::map(
            entries
                .iter()
                .map(|(k, v)| Ok((Edn::Str(k.clone()), from_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// Deserializes any JSON value and fails on an object with the same key twice, which
/// `serde_json::Value` would silently resolve to the last.
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key {} appears twice",
                    excerpt(format_args!("{key:?}"))
                )));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}

/// Looks a field up by name, whether the map's keys are keywords (EDN) or strings (JSON).
/// An EDN map may name a field both ways (`:process 0 "process" 1`); that is an error,
/// as a key twice is, rather than a silent choice of one.
fn field<'a>(map: &'a Edn, name: &str) -> Result<Option<&'a Edn>, String> {
    let Edn::Map(entries) = map else {
        return Ok(None);
    };
    let mut named = entries
        .iter()
        .filter(|(k, _)| matches!(k, Edn::Keyword(s) | Edn::Str(s) if s == name));
    match (named.next(), named.next()) {
        (Some(_), Some(_)) => Err(format!(
            "the field {name} is given twice, as :{name} and as \"{name}\""
        )),
        (one, _) => Ok(one.map(|(_, v)| v)),
    }
}

fn event_from_map(map: &Edn, line: usize) -> Result<Event, String> {
    if !matches!(map, Edn::Map(_)) {
        return Err(format!("found {}", excerpt(map)));
    }
    let process = match field(map, "process")? {
        Some(Edn::Int(p)) if *p >= 0 => Some(*p as u64),
        Some(v) if v.name() == Some("nemesis") => None,
        Some(v) => {
            return Err(format!(
                "process {} is neither a non-negative integer nor nemesis",
                excerpt(v)
            ))
        }
        None => return Err("no process".into()),
    };
    let kind = match field(map, "type")?.and_then(Edn::name) {
        Some("invoke") => EventKind::Invoke,
        Some("ok") => EventKind::Ok,
        Some("fail") => EventKind::Fail,
        Some("info") => EventKind::Info,
        Some(other) => {
            return Err(format!(
                "type {} is not one of invoke, ok, fail or info",
                excerpt(other)
            ))
        }
        None => return Err("no type".into()),
    };
    let f = match field(map, "f")? {
        Some(f) => f.name().map_or_else(|| f.to_string(), str::to_string),
        // A nemesis may leave f out; nobody reads it.
        None if process.is_none() => String::new(),
        None => return Err("no f".into()),
    };
    Ok(Event {
        process,
        kind,
        f,
        key: field(map, "key")?.cloned(),
        value: field(map, "value")?.cloned().unwrap_or(Edn::Nil),
        line,
    })
}

/// Pairs invocations with completions, under the semantics in the module docs, and lets
/// `model` interpret each operation. Errors name `file` and the line of the event.
pub fn history_from_events<M: ReadOp>(
    model: &M,
    file: &str,
    events: &[Event],
) -> Result<History<M>, ReadError> {
    history_from_events_with_progress(model, file, events, None)
}

/// [`history_from_events`], stopping when asked to through `progress` (with a
/// [`ReadError`] whose `stopped` is set), within about a thousand events.
pub fn history_from_events_with_progress<M: ReadOp>(
    model: &M,
    file: &str,
    events: &[Event],
    progress: Option<&Progress>,
) -> Result<History<M>, ReadError> {
    let mut poll = Poll::new(progress, file);
    // Pairing keeps the events themselves: the invocation, and the completion once it
    // returned; the model reads the pair at the end.
    let mut builder: HistoryBuilder<&Event, &Event> =
        HistoryBuilder::with_capacity(events.len() / 2 + 1);
    let error = |line: usize, message: String| ReadError::new(file, line, message);
    let mut time = 0u64;
    for event in events {
        poll.at(event.line)?;
        let Some(process) = event.process else {
            continue;
        };
        time += 1;
        let result = match event.kind {
            EventKind::Invoke => builder.invoke(process, event, time),
            completion => match builder.open_input(process) {
                Ok(invoked) if invoked.f != event.f => Err(format!(
                    "process {process} completes {} but invoked {} on line {}",
                    excerpt(&event.f),
                    excerpt(&invoked.f),
                    invoked.line
                )),
                _ => match completion {
                    EventKind::Ok => builder.ok(process, time, Some(event)),
                    EventKind::Fail => builder.fail(process),
                    _ => builder.info(process),
                },
            },
        };
        result.map_err(|m| error(event.line, m))?;
    }
    let paired = builder.finish();
    let mut history = with_room(paired.len());
    for op in paired {
        history.push({
            poll.at(op.input.line)?;
            let (value, line) = match op.output {
                Some(completion) => (&completion.value, completion.line),
                None => (&op.input.value, op.input.line),
            };
            let raw = RawOp {
                f: &op.input.f,
                key: op.input.key.as_ref(),
                value,
                returned: op.output.is_some(),
            };
            let (input, output) = model.read_op(&raw).map_err(|m| {
                if line == op.input.line {
                    error(line, m)
                } else {
                    error(line, format!("{m} (invoked on line {})", op.input.line))
                }
            })?;
            Operation {
                process: op.process,
                input,
                call: op.call,
                ret: op.ret,
                output,
            }
        });
    }
    Ok(history)
}

/// How many lines `text` has: about how many events a history has, in every format.
fn lines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count() + 1
}

/// An empty vector with room for `n` elements, if the allocator has it.
///
/// The readers' vectors grow to hundreds of megabytes for a large history; grown by
/// doubling, each would hold its old and its new block at once, a jump of up to three
/// times its size between two looks at the memory budget. Allocated once, its memory is
/// taken as it is filled, and the budget sees it grow. Should `n` be too few, or the
/// allocator refuse, the vector grows as usual.
pub(crate) fn with_room<T>(n: usize) -> Vec<T> {
    let mut v = Vec::new();
    let _ = v.try_reserve_exact(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edn_and_jsonl_read_the_same_events() {
        let edn = "[{:process 0, :type :invoke, :f :cas, :value [1 2]}\n\
                   {:process :nemesis, :type :info, :f :start}\n\
                   {:process 0, :type :ok, :f :cas, :value [1 2], :time 5}]";
        let jsonl = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"cas\", \"value\": [1, 2]}\n\
                     {\"process\": \"nemesis\", \"type\": \"info\", \"f\": \"start\"}\n\
                     {\"process\": 0, \"type\": \"ok\", \"f\": \"cas\", \"value\": [1, 2]}\n";
        let a = read_edn_events("h.edn", edn).unwrap();
        let b = read_jsonl_events("h.jsonl", jsonl).unwrap();
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!((x.process, x.kind, &x.f), (y.process, y.kind, &y.f));
            assert_eq!(x.line, y.line);
        }
        assert_eq!(a[0].value, Edn::Seq(vec![Edn::Int(1), Edn::Int(2)]));
        assert_eq!(a[0].value, b[0].value);
        assert_eq!(a[1].process, None);
    }

    #[test]
    fn item7_a_reader_asked_to_stop_stops_with_the_budget() {
        use crate::models::Register;
        use crate::Budget;
        // Long enough that a reader that looked only once, at the start, would be caught
        // reading to the end.
        let line = "{:process 0, :type :invoke, :f :read, :value nil}\n\
                    {:process 0, :type :ok, :f :read, :value 0}\n";
        let edn = line.repeat(10_000);
        let jsonl = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}\n"
            .repeat(20_000);
        let etcd = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
            .repeat(10_000);
        let events = read_edn_events("h.edn", &edn).unwrap();
        for budget in [Budget::Time, Budget::Memory] {
            let progress = Progress::new();
            progress.stop(budget);
            let p = Some(&progress);
            let errors = [
                read_edn_events_with_progress("h.edn", &edn, p).unwrap_err(),
                read_jsonl_events_with_progress("h.jsonl", &jsonl, p).unwrap_err(),
                crate::etcd::read_etcd_log_with_progress("h.log", &etcd, p).unwrap_err(),
                history_from_events_with_progress(
                    &Register { init: Edn::Int(0) },
                    "h.edn",
                    &events,
                    p,
                )
                .unwrap_err(),
            ];
            for e in errors {
                assert_eq!(e.stopped, Some(budget), "{e}");
                assert_eq!(e.line, 1, "{e}");
                assert!(e.message.contains("reading stopped here"), "{e}");
            }
        }
        // A stop requested while reading is seen within about a thousand lines: here,
        // from another thread once the reader has said it passed line 5,000.
        let progress = Progress::new();
        let e = std::thread::scope(|s| {
            s.spawn(|| {
                while progress.snapshot().read < 5_000 {
                    std::thread::yield_now();
                }
                progress.stop(Budget::Time);
            });
            let long = line.repeat(1_000_000);
            read_edn_events_with_progress("h.edn", &long, Some(&progress)).unwrap_err()
        });
        assert_eq!(e.stopped, Some(Budget::Time));
        assert!(e.line < 2_000_000, "read to line {}", e.line);
        // Without a stop, the readers read all.
        let progress = Progress::new();
        assert_eq!(
            read_edn_events_with_progress("h.edn", &edn, Some(&progress))
                .unwrap()
                .len(),
            20_000
        );
        assert!(progress.snapshot().read > 19_000);
    }

    #[test]
    fn a_bad_event_names_its_file_line_and_what_was_expected() {
        let e = read_edn_events(
            "h.edn",
            "[{:process 0 :type :invoke :f :read}\n {:process 0 :type :done :f :read}]",
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("h.edn", 2));
        assert!(e.message.contains("type done is not one of"), "{e}");
        let e = read_jsonl_events("h.jsonl", "\n{\"process\": 0, \"type\": \"ok\"\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("not JSON"), "{e}");
        let e = read_jsonl_events("h.jsonl", "{\"type\": \"ok\", \"f\": \"read\"}").unwrap_err();
        assert!(e.message.starts_with("no process"), "{e}");
    }

    #[test]
    fn an_edn_map_naming_a_field_as_keyword_and_as_string_is_an_error() {
        // It was read as the string's (which sorts first): process 1 here.
        let e = read_edn_events(
            "h.edn",
            "{:process 0 :type :invoke :f :read}\n{:process 0 \"process\" 1 :type :ok :f :read}",
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("the field process is given twice"),
            "{e}"
        );
    }
}

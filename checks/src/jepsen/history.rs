//! The recorded history: every invocation and completion, in the order they happened, as
//! Jepsen records it, and its JSON Lines form (docs/linearizability.md's "jsonl: ours").
//!
//! Events are appended under one lock at the moment they happen: an invocation before the
//! request leaves the client, a completion after its answer arrived. So the order of the
//! list is a real-time order, which is all the checker reads (it takes an event's time
//! from its position); the recorded times are for people and for latencies.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A source of the run's time: simulated time under turmoil, wall time since the start in
/// a real run. Monotone within a run.
pub type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

/// Jepsen's event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The operation was called.
    Invoke,
    /// It completed, with this value.
    Ok,
    /// It certainly did not take effect (a definite error).
    Fail,
    /// It may or may not have taken effect, now or later (an indefinite error). The
    /// process that issued it never issues another operation.
    Info,
}

/// What an operation does; `get` and `put` are the `kv` model's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    /// Read a key.
    Get,
    /// Write a key.
    Put,
    /// Set a key to a new value if it holds the expected one; recorded with the value
    /// `[expected, new]`. A cas that found another value is a `fail`: it did not happen.
    Cas,
}

impl Func {
    /// The `f` of its events.
    pub fn name(self) -> &'static str {
        match self {
            Func::Get => "get",
            Func::Put => "put",
            Func::Cas => "cas",
        }
    }

    /// The function an event's `f` names: `get`, `cas`, anything else a put.
    fn of(f: &str) -> Func {
        match f {
            "get" => Func::Get,
            "cas" => Func::Cas,
            _ => Func::Put,
        }
    }
}

/// Who caused an event: a client process, or the nemesis (which the checker skips).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Process {
    /// A client process: one operation at a time, never reused after an `info`.
    Client(u64),
    /// The fault injector; its `f` names the fault.
    Nemesis,
}

impl Serialize for Process {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The process.
    pub process: Process,
    /// Invocation or completion.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// `get`, `put`, or for the nemesis the fault (`partition`, `crash`, ...).
    pub f: String,
    /// The key; absent for the nemesis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A put's value; a get's value once it returned `ok` (`""` for a key never written,
    /// since the model's registers start empty); else `null`.
    pub value: Option<String>,
    /// Microseconds since the run started (simulated time in a simulation).
    pub time: u64,
    /// For `fail` and `info`: the error, in the store's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A cas's expected value; its `value` is then the new one, and the JSON Lines form
    /// writes the pair as `"value": [expected, new]`, as the cas-register model reads it.
    #[serde(skip)]
    pub expected: Option<String>,
}

/// The history being recorded; shared by every client task and the nemesis.
pub struct Recorder {
    clock: Clock,
    events: Mutex<Vec<Event>>,
    /// Client operations completed so far (`ok`, `fail` or `info`), for a progress line.
    completed: AtomicU64,
}

impl Recorder {
    /// An empty history timed by `clock`.
    pub fn new(clock: Clock) -> Recorder {
        Recorder {
            clock,
            events: Mutex::new(Vec::new()),
            completed: AtomicU64::new(0),
        }
    }

    /// The run's time now.
    pub fn now(&self) -> Duration {
        (self.clock)()
    }

    /// Appends a client event, stamped now. Its position in the history is fixed by the
    /// lock, so callers record an invocation before sending and a completion after the
    /// answer.
    pub fn client(
        &self,
        process: u64,
        kind: Kind,
        f: Func,
        key: &str,
        value: Option<String>,
        error: Option<String>,
    ) {
        self.client_event(process, kind, f, key, None, value, error);
    }

    /// Appends a cas event, stamped now: `key` from `expected` to `new`.
    pub fn cas(
        &self,
        process: u64,
        kind: Kind,
        key: &str,
        expected: &str,
        new: &str,
        error: Option<String>,
    ) {
        let expected = Some(expected.to_string());
        let new = Some(new.to_string());
        self.client_event(process, kind, Func::Cas, key, expected, new, error);
    }

    #[allow(clippy::too_many_arguments)]
    fn client_event(
        &self,
        process: u64,
        kind: Kind,
        f: Func,
        key: &str,
        expected: Option<String>,
        value: Option<String>,
        error: Option<String>,
    ) {
        let f = f.name();
        if kind != Kind::Invoke {
            self.completed.fetch_add(1, Ordering::Relaxed);
        }
        self.push(Event {
            process: Process::Client(process),
            kind,
            f: f.to_string(),
            key: Some(key.to_string()),
            value,
            time: 0,
            error,
            expected,
        });
    }

    /// Appends a nemesis event (`info`, as Jepsen records faults), stamped now.
    pub fn nemesis(&self, fault: &str, detail: String) {
        self.push(Event {
            process: Process::Nemesis,
            kind: Kind::Info,
            f: fault.to_string(),
            key: None,
            value: Some(detail),
            time: 0,
            error: None,
            expected: None,
        });
    }

    fn push(&self, mut event: Event) {
        let mut events = self.events.lock().expect("no recorder user panics");
        // Stamped under the lock, so times never decrease along the history.
        event.time = self.now().as_micros() as u64;
        events.push(event);
    }

    /// Client operations completed so far: each `ok`, `fail` and `info`, final reads
    /// included. Cheap, unlike [`Recorder::events`]: for a progress line.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// The events so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("no recorder user panics").clone()
    }
}

/// The history as JSON Lines, one event per line, the format `check lin --model kv` reads.
pub fn to_jsonl(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        let line = match &e.expected {
            None => serde_json::to_string(e),
            Some(expected) => {
                let mut v = serde_json::to_value(e).expect("events serialize");
                v["value"] = serde_json::json!([expected, e.value]);
                serde_json::to_string(&v)
            }
        };
        out.push_str(&line.expect("events serialize"));
        out.push('\n');
    }
    out
}

/// A client operation with its outcome, paired from its two events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completed {
    /// The process that issued it.
    pub process: u64,
    /// Get or put.
    pub f: Func,
    /// The key.
    pub key: String,
    /// The put's value, a cas's new value, or the get's result if it returned `ok`.
    pub value: Option<String>,
    /// How it ended; `Info` also for an operation still open when the run stopped.
    pub outcome: Kind,
    /// When it was invoked, in microseconds.
    pub invoked: u64,
    /// When it completed; `None` if it never did, or ended `info`: its effect has no
    /// upper bound in time.
    pub completed: Option<u64>,
    /// Whether it is one of the final reads.
    pub final_read: bool,
}

/// Pairs invocations with completions. `final_from` is the first process of the final
/// reads.
pub fn pair(events: &[Event], final_from: u64) -> Vec<Completed> {
    let mut open: std::collections::HashMap<u64, usize> = Default::default();
    let mut ops: Vec<Completed> = Vec::new();
    for e in events {
        let Process::Client(p) = e.process else {
            continue;
        };
        let f = Func::of(&e.f);
        if e.kind == Kind::Invoke {
            open.insert(p, ops.len());
            ops.push(Completed {
                process: p,
                f,
                key: e.key.clone().unwrap_or_default(),
                value: e.value.clone(),
                outcome: Kind::Info,
                invoked: e.time,
                completed: None,
                final_read: p >= final_from,
            });
        } else if let Some(i) = open.remove(&p) {
            let op = &mut ops[i];
            op.outcome = e.kind;
            if e.kind != Kind::Info {
                op.completed = Some(e.time);
            }
            if e.kind == Kind::Ok && f == Func::Get {
                op.value = e.value.clone();
            }
        }
    }
    ops
}

/// What the final reads say about acknowledged puts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Durability {
    /// Puts acknowledged (`ok`) during the run.
    pub acknowledged_puts: usize,
    /// Keys a final read returned for.
    pub final_reads: usize,
    /// Keys whose final read lost the last acknowledged put: see [`durability`].
    pub lost: Vec<LostWrite>,
}

/// A key whose last acknowledged put is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LostWrite {
    /// The key.
    pub key: String,
    /// The value of the last acknowledged put.
    pub acknowledged: String,
    /// What the final read returned instead.
    pub read: String,
}

/// Checks each finally read key directly, without the search: the final value must be the
/// last acknowledged write's (the `ok` put or cas that completed last), or the value of a
/// write (`ok` or `info`) that was not over before that one began, so that it may have been
/// ordered after it. Anything else, an earlier value or `""`, is an acknowledged write
/// lost. The linearizability verdict covers this too; this says it in one line.
pub fn durability(ops: &[Completed]) -> Durability {
    let writes = |op: &Completed| matches!(op.f, Func::Put | Func::Cas);
    let acknowledged = |op: &&Completed| writes(op) && op.outcome == Kind::Ok;
    let mut lost = Vec::new();
    let mut final_reads = 0;
    let mut keys: Vec<&str> = ops
        .iter()
        .filter(|o| o.final_read && o.outcome == Kind::Ok)
        .map(|o| o.key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        // The last successful final read of the key: later ones could only see more.
        let Some(read) = ops
            .iter()
            .rev()
            .find(|o| o.final_read && o.outcome == Kind::Ok && o.key == key)
        else {
            continue;
        };
        final_reads += 1;
        let read_value = read.value.clone().unwrap_or_default();
        let Some(last) = ops
            .iter()
            .filter(acknowledged)
            .filter(|o| o.key == key)
            .max_by_key(|o| o.completed)
        else {
            continue;
        };
        let allowed = ops.iter().any(|o| {
            writes(o)
                && o.key == key
                && o.outcome != Kind::Fail
                && o.value.as_deref() == Some(read_value.as_str())
                && o.completed.is_none_or(|c| c >= last.invoked)
        });
        if !allowed {
            lost.push(LostWrite {
                key: key.to_string(),
                acknowledged: last.value.clone().unwrap_or_default(),
                read: read_value,
            });
        }
    }
    Durability {
        acknowledged_puts: ops
            .iter()
            .filter(acknowledged)
            .filter(|o| o.f == Func::Put)
            .count(),
        final_reads,
        lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(p: u64, key: &str, value: &str, outcome: Kind, at: (u64, Option<u64>)) -> Completed {
        Completed {
            process: p,
            f: Func::Put,
            key: key.into(),
            value: Some(value.into()),
            outcome,
            invoked: at.0,
            completed: at.1,
            final_read: false,
        }
    }

    fn final_get(key: &str, value: &str, at: u64) -> Completed {
        Completed {
            process: 100,
            f: Func::Get,
            key: key.into(),
            value: Some(value.into()),
            outcome: Kind::Ok,
            invoked: at,
            completed: Some(at + 1),
            final_read: true,
        }
    }

    #[test]
    fn a_final_read_of_an_earlier_value_is_a_lost_write() {
        let ops = vec![
            put(0, "k", "a", Kind::Ok, (0, Some(10))),
            put(1, "k", "b", Kind::Ok, (20, Some(30))),
            final_get("k", "a", 100),
        ];
        let d = durability(&ops);
        assert_eq!(d.acknowledged_puts, 2);
        assert_eq!(d.lost.len(), 1);
        assert_eq!(d.lost[0].acknowledged, "b");
    }

    #[test]
    fn concurrent_and_indefinite_puts_may_win() {
        let ops = vec![
            put(0, "k", "a", Kind::Ok, (0, Some(25))),
            put(1, "k", "b", Kind::Ok, (20, Some(30))),
            put(2, "k", "c", Kind::Info, (5, None)),
            put(3, "k", "d", Kind::Fail, (40, Some(41))),
            final_get("k", "a", 100),
            final_get("j", "", 100),
        ];
        assert!(durability(&ops).lost.is_empty());
        let mut with_c = ops.clone();
        with_c[4] = final_get("k", "c", 100);
        assert!(durability(&with_c).lost.is_empty());
        let mut with_d = ops;
        with_d[4] = final_get("k", "d", 100);
        assert_eq!(durability(&with_d).lost.len(), 1, "a failed put never wins");
    }

    #[test]
    fn an_acknowledged_cas_is_a_write_the_final_read_must_keep() {
        let mut swap = put(1, "k", "b", Kind::Ok, (20, Some(30)));
        swap.f = Func::Cas;
        let ops = vec![
            put(0, "k", "a", Kind::Ok, (0, Some(10))),
            swap,
            final_get("k", "a", 100),
        ];
        let d = durability(&ops);
        assert_eq!(d.lost.len(), 1, "the cas to b came last");
        assert_eq!(d.lost[0].acknowledged, "b");
        let mut kept = ops;
        kept[2] = final_get("k", "b", 100);
        assert!(durability(&kept).lost.is_empty());
    }

    #[test]
    fn a_cas_is_written_as_its_pair_and_paired_with_its_new_value() {
        let rec = Recorder::new(std::sync::Arc::new(|| Duration::ZERO));
        rec.cas(3, Kind::Invoke, "k1", "", "c0-1", None);
        rec.cas(3, Kind::Ok, "k1", "", "c0-1", None);
        let events = rec.events();
        let jsonl = to_jsonl(&events);
        let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(first["f"], "cas");
        assert_eq!(first["value"], serde_json::json!(["", "c0-1"]));
        let ops = pair(&events, 100);
        assert_eq!(ops[0].f, Func::Cas);
        assert_eq!(ops[0].value.as_deref(), Some("c0-1"));
        assert_eq!(ops[0].outcome, Kind::Ok);
    }
}

//! Trace recording: what the runtime did around each step of the core, as JSON Lines,
//! for `check raft --validate` to compare with the message-level model
//! (`models::raft::messages`).
//!
//! # Records
//!
//! Every line is one [`Record`]: the node's id, a sequence number (0 at each start,
//! then +1 per record, so a missing record shows as a gap) and one [`Event`]:
//! - [`Event::Start`]: the node (re)started, with its core configuration and the
//!   [`Durable`] state it recovered from its data directory. Each start begins an
//!   *incarnation*; a restarted node appends to the same file.
//! - [`Event::Ticks`]: `count` consecutive [`Input::Tick`]s that returned no effect and
//!   left the [`StateView`] as it was (they changed the clock only). Idle ticks are most
//!   ticks, so they are counted instead of written one by one.
//! - [`Event::Step`]: the core is about to be stepped on `input` from the state `before`.
//!   Written and flushed to the operating system *before* the runtime carries out any
//!   effect of the step, so a crash in the middle of a step (in an fsync, after a send)
//!   leaves at least this line: the validator knows which step was in flight.
//! - [`Event::Performed`]: the effects the runtime carried out for the preceding step,
//!   in the order it carried them out: a persist once its fsync returned, a send when it
//!   was handed to the peer's link, an apply, a restore or a client answer as it was
//!   done. Written and flushed when the step is over.
//!
//! # What "state before" holds
//!
//! [`StateView`] is the part of the node's state that the model's properties and the
//! reports speak of, read through the core's accessors: role, `currentTerm`, `votedFor`,
//! the leader known, `commitIndex`, `lastApplied`, the snapshot's and the log's last
//! index and term, a leader's `nextIndex` and `matchIndex`, and the election timeout in
//! force. It is a constant size, so recording does not grow with the log: the log's
//! contents are checked through the entries each step persists and sends, and the
//! validator carries the whole node forward by re-stepping the core itself.
//!
//! # Crashes and the file
//!
//! The trace is the observer's record, not part of the node's durable state: it is
//! written with plain file writes (under turmoil too, so a simulated power loss does not
//! cut it) and never fsynced. A process killed in the middle of a write leaves a torn
//! last line; a restarted node cuts it off before appending, and says how many bytes in
//! its start record ([`Event::Start::torn_tail_bytes`]). A torn line at the very end of
//! a file (the last incarnation's) is left for the validator, which ignores it and says
//! so.

use crate::raft::core::{Config, Durable, Effect, Index, Input, Node, Persist, Role, Term};
use crate::raft::NodeId;
use crate::sansio::Core;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The node that wrote it.
    pub node: NodeId,
    /// 0 at each [`Event::Start`], then one more per record.
    pub seq: u64,
    /// What happened.
    pub event: Event,
}

/// What one record says happened; see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The node started from its data directory.
    Start {
        /// The core's configuration (entropy included, so the validator draws the same
        /// election timeouts).
        config: Config,
        /// What the node recovered from disk.
        durable: Durable,
        /// Bytes of a torn last line that the previous incarnation left and this start
        /// cut off (0 if none).
        torn_tail_bytes: u64,
    },
    /// Idle ticks: each returned no effect and left the [`StateView`] unchanged.
    Ticks {
        /// How many, in a row.
        count: u64,
    },
    /// The core is stepped on `input` from `before`.
    Step {
        /// The input.
        input: Input,
        /// The state before the step.
        before: StateView,
    },
    /// What the runtime carried out for the step before, in order.
    Performed {
        /// The effects, in the order the runtime carried them out.
        actions: Vec<Effect>,
    },
}

/// The node's state as a trace records it: the variables the model's properties speak of
/// (see the module documentation for what is left out and why). Field names are the
/// paper's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    /// Follower, pre-candidate, candidate or leader.
    pub role: Role,
    /// `currentTerm`.
    pub current_term: Term,
    /// `votedFor`.
    pub voted_for: Option<NodeId>,
    /// The leader known in the current term.
    pub leader: Option<NodeId>,
    /// `commitIndex`.
    pub commit_index: Index,
    /// `lastApplied`: the last index handed to the state machine.
    pub last_applied: Index,
    /// The snapshot's last index and term, if the log was compacted.
    pub snapshot: Option<(Index, Term)>,
    /// The index of the last log entry.
    pub last_log_index: Index,
    /// The term of the last log entry.
    pub last_log_term: Term,
    /// A leader's `nextIndex` for every server (itself included); empty otherwise.
    pub next_index: Vec<Index>,
    /// A leader's `matchIndex` for every server (itself included); empty otherwise.
    pub match_index: Vec<Index>,
    /// The randomised election timeout in force, in ticks.
    pub election_timeout: u32,
}

/// One variable on which two views disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The variable, in the paper's words (`commitIndex`, `votedFor`, ...).
    pub variable: &'static str,
    /// Its value in the first view, as JSON.
    pub left: String,
    /// Its value in the second view, as JSON.
    pub right: String,
}

impl StateView {
    /// The view of `node` now.
    pub fn of(node: &Node) -> StateView {
        let servers = node.config().servers;
        let per_server = |f: &dyn Fn(NodeId) -> Option<Index>| -> Vec<Index> {
            (0..servers).map_while(f).collect()
        };
        StateView {
            role: node.role(),
            current_term: node.term(),
            voted_for: node.voted_for(),
            leader: node.leader(),
            commit_index: node.commit_index(),
            last_applied: node.applied_index(),
            snapshot: node.snapshot().map(|s| (s.last_index, s.last_term)),
            last_log_index: node.last_index(),
            last_log_term: node.last_term(),
            next_index: per_server(&|p| node.next_index(p)),
            match_index: per_server(&|p| node.match_index(p)),
            election_timeout: node.election_timeout(),
        }
    }

    /// The variables on which `self` and `other` differ, in declaration order, each with
    /// its two values (`self`'s on the left).
    pub fn differences(&self, other: &StateView) -> Vec<Difference> {
        let mut out = Vec::new();
        let mut check = |variable: &'static str, a: String, b: String| {
            if a != b {
                out.push(Difference {
                    variable,
                    left: a,
                    right: b,
                });
            }
        };
        check("role", json(&self.role), json(&other.role));
        check(
            "currentTerm",
            json(&self.current_term),
            json(&other.current_term),
        );
        check("votedFor", json(&self.voted_for), json(&other.voted_for));
        check("leader", json(&self.leader), json(&other.leader));
        check(
            "commitIndex",
            json(&self.commit_index),
            json(&other.commit_index),
        );
        check(
            "lastApplied",
            json(&self.last_applied),
            json(&other.last_applied),
        );
        check("snapshot", json(&self.snapshot), json(&other.snapshot));
        check(
            "lastLogIndex",
            json(&self.last_log_index),
            json(&other.last_log_index),
        );
        check(
            "lastLogTerm",
            json(&self.last_log_term),
            json(&other.last_log_term),
        );
        check("nextIndex", json(&self.next_index), json(&other.next_index));
        check(
            "matchIndex",
            json(&self.match_index),
            json(&other.match_index),
        );
        check(
            "electionTimeout",
            json(&self.election_timeout),
            json(&other.election_timeout),
        );
        out
    }
}

/// A value as compact JSON, as a [`Difference`] shows it.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("<{e}>"))
}

/// Writes one node's trace. Recording is the driver's choice ([`super::NodeConfig::trace`]);
/// every method is a no-op on the core's behaviour: the effects returned are the core's.
pub struct Recorder {
    out: BufWriter<File>,
    path: PathBuf,
    node: NodeId,
    seq: u64,
    /// Idle ticks not yet written.
    idle_ticks: u64,
    /// The performed record of the step in progress, its actions serialized so far.
    performed: Option<Vec<u8>>,
}

impl Recorder {
    /// Opens (or creates) the trace at `path` for a node starting with `config` from
    /// `durable`, cuts off a torn last line a crash left, and writes the start record.
    /// Errors name the file.
    pub fn start(path: &Path, config: &Config, durable: &Durable) -> io::Result<Recorder> {
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("trace {}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(named)?;
        let torn = torn_tail(&mut file).map_err(named)?;
        if torn > 0 {
            let len = file.metadata().map_err(named)?.len();
            file.set_len(len - torn).map_err(named)?;
        }
        file.seek(SeekFrom::End(0)).map_err(named)?;
        let mut recorder = Recorder {
            out: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            node: config.id,
            seq: 0,
            idle_ticks: 0,
            performed: None,
        };
        recorder.write(Event::Start {
            config: config.clone(),
            durable: durable.clone(),
            torn_tail_bytes: torn,
        })?;
        recorder.flush()?;
        Ok(recorder)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Steps `node` on `input` and records the step: an idle tick is counted; any other
    /// step is written, with the state before it, and flushed before this returns (so
    /// before the caller carries out any effect). After a recorded step the caller
    /// reports what it carries out ([`Recorder::performing`], [`Recorder::persisted`])
    /// and ends it with [`Recorder::end_step`].
    pub fn step(&mut self, node: &mut Node, input: Input) -> io::Result<Vec<Effect>> {
        debug_assert!(self.performed.is_none(), "the previous step was ended");
        let before = StateView::of(node);
        let effects = if input == Input::Tick {
            let effects = node.step(Input::Tick);
            if effects.is_empty() && StateView::of(node) == before {
                self.idle_ticks += 1;
                return Ok(effects);
            }
            self.write_step(Input::Tick, before)?;
            effects
        } else {
            let effects = node.step(input.clone());
            self.write_step(input, before)?;
            effects
        };
        self.flush()?;
        self.performed = Some(Vec::new());
        Ok(effects)
    }

    /// Records that the runtime is carrying out `effect` now: a send as it is handed to
    /// the link, an apply, restore or client answer as it is done. Persists are recorded
    /// by [`Recorder::persisted`] once durable, so this ignores them. Outside a recorded
    /// step (an idle tick has no effects) there is nothing to record.
    pub fn performing(&mut self, effect: &Effect) {
        if !matches!(effect, Effect::Persist(_)) {
            self.push(effect);
        }
    }

    /// Records that `batch` is durable: its fsync returned.
    pub fn persisted(&mut self, batch: &[Persist]) {
        for p in batch {
            self.push(&Effect::Persist(p.clone()));
        }
    }

    /// Writes what the step carried out, and flushes.
    pub fn end_step(&mut self) -> io::Result<()> {
        let Some(actions) = self.performed.take() else {
            return Ok(());
        };
        let mut line = Vec::with_capacity(actions.len() + 64);
        write!(
            line,
            "{{\"node\":{},\"seq\":{},\"event\":{{\"performed\":{{\"actions\":[",
            self.node, self.seq
        )?;
        line.extend_from_slice(&actions);
        line.extend_from_slice(b"]}}}\n");
        self.seq += 1;
        self.out.write_all(&line).map_err(|e| self.named(e))?;
        self.flush()
    }

    fn push(&mut self, effect: &Effect) {
        if let Some(actions) = &mut self.performed {
            if !actions.is_empty() {
                actions.push(b',');
            }
            // Serializing a derived type into memory cannot fail.
            serde_json::to_writer(&mut *actions, effect).expect("an effect serializes");
        }
    }

    fn write_step(&mut self, input: Input, before: StateView) -> io::Result<()> {
        if self.idle_ticks > 0 {
            let count = std::mem::take(&mut self.idle_ticks);
            self.write(Event::Ticks { count })?;
        }
        self.write(Event::Step { input, before })
    }

    fn write(&mut self, event: Event) -> io::Result<()> {
        let record = Record {
            node: self.node,
            seq: self.seq,
            event,
        };
        self.seq += 1;
        let mut line = serde_json::to_vec(&record).map_err(io::Error::other)?;
        line.push(b'\n');
        self.out.write_all(&line).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.named(e))
    }

    fn named(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("trace {}: {e}", self.path.display()))
    }
}

/// The length of the bytes after the last newline of `file` (a line a crash cut short),
/// 0 if the file is empty or ends with a newline.
fn torn_tail(file: &mut File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut scanned = 0u64;
    let mut chunk = vec![0u8; 8192];
    while scanned < len {
        let n = (chunk.len() as u64).min(len - scanned);
        file.seek(SeekFrom::Start(len - scanned - n))?;
        file.read_exact(&mut chunk[..n as usize])?;
        if let Some(at) = chunk[..n as usize].iter().rposition(|&b| b == b'\n') {
            return Ok(scanned + (n - 1 - at as u64));
        }
        scanned += n;
    }
    Ok(len)
}

/// A seeded cluster of `raft-node` runtimes under turmoil (simulated network, simulated
/// disks that lose what was not fsynced on a crash) that records a trace per node: what
/// the validator's tests and a demonstration validate.
pub mod simulated {
    use super::super::{client, run, NodeConfig, RuntimeBug};
    use crate::raft::NodeId;
    use crate::sim::net::{Storage, TurmoilNet};
    use std::cell::Cell;
    use std::io;
    use std::path::PathBuf;
    use std::rc::Rc;
    use std::time::Duration;

    /// Which nodes crash, once every proposal was applied; they restart at once.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Crash {
        /// No crash.
        None,
        /// One node.
        One(NodeId),
        /// Every node at once (power loss).
        All,
    }

    /// A run's setup.
    #[derive(Clone, Debug)]
    pub struct Recording {
        /// Where the traces go: `n0.jsonl`, `n1.jsonl`, ...
        pub dir: PathBuf,
        /// Servers (3 unless set).
        pub servers: u8,
        /// The seed of the network and of the election timeouts.
        pub seed: u64,
        /// Commands proposed before the crash (one more after it).
        pub proposals: usize,
        /// Who crashes.
        pub crash: Crash,
        /// The runtime bug every node runs with.
        pub runtime_bug: Option<RuntimeBug>,
    }

    impl Recording {
        /// Three servers, seed 1, six proposals, no crash, no bug.
        pub fn new(dir: impl Into<PathBuf>) -> Recording {
            Recording {
                dir: dir.into(),
                servers: 3,
                seed: 1,
                proposals: 6,
                crash: Crash::None,
                runtime_bug: None,
            }
        }
    }

    /// Runs the cluster until every proposal was applied (and, after a crash, the
    /// restarted cluster applied one more) and returns the trace files, in id order.
    /// Fails if the cluster does not get there in 120 simulated seconds.
    pub fn record(r: &Recording) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(&r.dir)?;
        let traces: Vec<PathBuf> = (0..r.servers)
            .map(|i| r.dir.join(format!("n{i}.jsonl")))
            .collect();
        let mut builder = turmoil::Builder::new();
        builder
            .simulation_duration(Duration::from_secs(120))
            .min_message_latency(Duration::from_millis(1))
            .max_message_latency(Duration::from_millis(3))
            .rng_seed(r.seed);
        builder.fs().sync_probability(0.0);
        let mut sim = builder.build();
        for id in 0..r.servers {
            let peers: Vec<String> = (0..r.servers).map(|i| format!("n{i}:7000")).collect();
            let mut c = NodeConfig::new(id, peers, format!("n{id}:8000"), "/data/raft");
            c.entropy = r.seed;
            c.snapshot_every = 4;
            c.quiet = true;
            c.runtime_bug = r.runtime_bug;
            c.trace = Some(traces[usize::from(id)].clone());
            sim.host(format!("n{id}"), move || {
                let c = c.clone();
                async move {
                    run(c, TurmoilNet, Storage::Simulated).await?;
                    Ok(())
                }
            });
        }
        let crash_now = Rc::new(Cell::new(false));
        let restarted = Rc::new(Cell::new(false));
        let (servers, proposals, crash) = (r.servers, r.proposals, r.crash);
        {
            let (crash_now, restarted) = (crash_now.clone(), restarted.clone());
            sim.client("client", async move {
                for i in 0..proposals {
                    propose(servers, &format!("cmd-{i}")).await?;
                }
                if crash != Crash::None {
                    crash_now.set(true);
                    while !restarted.get() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    propose(servers, "after-restart").await?;
                }
                Ok(())
            });
        }
        let mut crashed = false;
        loop {
            let done = sim.step().map_err(|e| io::Error::other(e.to_string()))?;
            if crash_now.get() && !crashed {
                let ids: Vec<NodeId> = match crash {
                    Crash::None => Vec::new(),
                    Crash::One(id) => vec![id],
                    Crash::All => (0..servers).collect(),
                };
                for &id in &ids {
                    sim.crash(format!("n{id}"));
                }
                for &id in &ids {
                    sim.bounce(format!("n{id}"));
                }
                crashed = true;
                restarted.set(true);
            }
            if done {
                return Ok(traces);
            }
        }
    }

    /// Proposes `command` until some node applies it, following not-leader hints.
    async fn propose(servers: u8, command: &str) -> Result<(), Box<dyn std::error::Error>> {
        let mut node = 0u8;
        for _ in 0..400 {
            let reply = client::request(
                &TurmoilNet,
                &format!("n{node}:8000"),
                &format!("propose {command}"),
                Duration::from_secs(2),
            )
            .await;
            match reply {
                Ok(r) if r.starts_with("ok ") => return Ok(()),
                Ok(r) if r.starts_with("not-leader ") => {
                    node = r
                        .split(' ')
                        .nth(1)
                        .and_then(|l| l.parse().ok())
                        .filter(|&l| l < servers)
                        .unwrap_or((node + 1) % servers);
                }
                _ => node = (node + 1) % servers,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{command} was never applied").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::core::{Message, Persist};

    fn read(path: &Path) -> Vec<Record> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn records_round_trip_and_idle_ticks_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n0.jsonl");
        let config = Config::new(0, 3);
        let mut node = Node::new(config.clone());
        let mut rec = Recorder::start(&path, &config, &Durable::default()).unwrap();
        // Ticks until the election timeout: all idle but the last.
        let mut idle = 0;
        loop {
            let effects = rec.step(&mut node, Input::Tick).unwrap();
            if !effects.is_empty() {
                for e in &effects {
                    rec.performing(e);
                }
                rec.end_step().unwrap();
                break;
            }
            idle += 1;
        }
        let message = Message::AppendEntriesResponse {
            term: 0,
            success: false,
            index: 0,
            round: 0,
        };
        let before = StateView::of(&node);
        let effects = rec
            .step(
                &mut node,
                Input::Receive {
                    from: 1,
                    message: message.clone(),
                },
            )
            .unwrap();
        let persist = Persist::HardState {
            term: 7,
            voted_for: Some(2),
        };
        rec.persisted(std::slice::from_ref(&persist));
        rec.end_step().unwrap();
        drop(rec);
        let records = read(&path);
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (0..records.len() as u64).collect::<Vec<_>>());
        assert!(matches!(
            records[0].event,
            Event::Start {
                torn_tail_bytes: 0,
                ..
            }
        ));
        assert_eq!(records[1].event, Event::Ticks { count: idle });
        assert!(matches!(
            records[2].event,
            Event::Step {
                input: Input::Tick,
                ..
            }
        ));
        assert!(matches!(&records[3].event, Event::Performed { actions } if !actions.is_empty()));
        assert_eq!(
            records[4].event,
            Event::Step {
                input: Input::Receive { from: 1, message },
                before
            }
        );
        assert!(effects.is_empty(), "a stale response changes nothing");
        assert_eq!(
            records[5].event,
            Event::Performed {
                actions: vec![Effect::Persist(persist)]
            }
        );
    }

    #[test]
    fn a_restart_cuts_a_torn_line_and_says_how_long_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n1.jsonl");
        let config = Config::new(1, 3);
        drop(Recorder::start(&path, &config, &Durable::default()).unwrap());
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"node\":1,\"seq\":1,\"ev").unwrap();
        drop(file);
        drop(Recorder::start(&path, &config, &Durable::default()).unwrap());
        let records = read(&path);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].seq, 0, "a start begins a new incarnation");
        assert!(matches!(
            records[1].event,
            Event::Start {
                torn_tail_bytes: 21,
                ..
            }
        ));
    }

    #[test]
    fn the_torn_tail_is_found_across_read_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let mut text = vec![b'x'; 9000];
        text.push(b'\n');
        text.extend(vec![b'y'; 10000]);
        std::fs::write(&path, &text).unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(torn_tail(&mut file).unwrap(), 10000);
        std::fs::write(&path, b"no newline at all").unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(torn_tail(&mut file).unwrap(), 17);
        std::fs::write(&path, b"").unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(torn_tail(&mut file).unwrap(), 0);
    }

    /// The round trip: a simulated 3-node cluster with a crash records one trace per
    /// node; every line parses back; each incarnation begins with a start record and
    /// numbers its records without gaps; a performed record follows every step.
    #[test]
    fn a_simulated_cluster_records_a_trace_per_node_that_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = simulated::Recording::new(dir.path());
        r.crash = simulated::Crash::One(1);
        let traces = simulated::record(&r).unwrap();
        assert_eq!(traces.len(), 3);
        let mut steps = 0;
        for path in &traces {
            let records = read(path);
            let mut expected = 0;
            let mut open_step = false;
            for rec in &records {
                if let Event::Start { .. } = rec.event {
                    expected = 0;
                    open_step = false;
                }
                assert_eq!(rec.seq, expected, "{}: {rec:?}", path.display());
                expected += 1;
                match rec.event {
                    Event::Step { .. } => {
                        assert!(!open_step);
                        open_step = true;
                        steps += 1;
                    }
                    Event::Performed { .. } => {
                        assert!(open_step);
                        open_step = false;
                    }
                    _ => assert!(!open_step),
                }
            }
            let starts = records
                .iter()
                .filter(|r| matches!(r.event, Event::Start { .. }))
                .count();
            let crashed = path.ends_with("n1.jsonl");
            assert_eq!(starts, if crashed { 2 } else { 1 }, "{}", path.display());
        }
        assert!(steps > 20, "{steps} steps");
    }

    /// `send-before-persist` is the runtime's alone: the core steps exactly as without it
    /// (same effects, persists first, same state after), while the driver carries the
    /// sends out first, which its trace shows.
    #[test]
    fn send_before_persist_changes_what_the_driver_does_and_not_the_core() {
        use super::super::driver::Driver;
        use super::super::{disk::DataDir, LogService, RuntimeBug};
        use crate::sansio::check_durability_order;
        use crate::sim::net::Storage;

        // A 3-node driver of n0 that wins a pre-vote and campaigns: its step persists the
        // new term and vote and sends RequestVote to both peers.
        let run = |bug: Option<RuntimeBug>| {
            let dir = tempfile::tempdir().unwrap();
            let (disk, durable, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
            let config = Config::new(0, 3);
            let trace = dir.path().join("trace.jsonl");
            let recorder = Recorder::start(&trace, &config, &durable).unwrap();
            let node = Node::restart(config, durable);
            let mut links = vec![None];
            let mut receivers = Vec::new();
            for _ in 1..3 {
                let (tx, rx) = tokio::sync::mpsc::channel(64);
                links.push(Some(tx));
                receivers.push(rx);
            }
            let log = super::super::Log::new(0, true);
            let mut d = Driver::new(node, disk, LogService::new(), 0, links, vec![None; 3], log);
            d.trace = Some(recorder);
            d.runtime_bug = bug;
            d.step(Input::Timeout, None).unwrap();
            let granted = Message::RequestVoteResponse {
                term: 1,
                granted: true,
                pre_vote: true,
            };
            let core_effects = d.node.clone().step(Input::Receive {
                from: 1,
                message: granted.clone(),
            });
            d.step(
                Input::Receive {
                    from: 1,
                    message: granted,
                },
                None,
            )
            .unwrap();
            drop(d.trace.take());
            let records = read(&trace);
            let Some(Event::Performed { actions }) = records.last().map(|r| r.event.clone()) else {
                panic!("{records:?}")
            };
            (d.node.clone(), core_effects, actions)
        };
        let (node_ok, core_ok, performed_ok) = run(None);
        let (node_bug, core_bug, performed_bug) = run(Some(RuntimeBug::SendBeforePersist));
        assert_eq!(node_ok, node_bug, "the core ends in the same state");
        assert_eq!(core_ok, core_bug, "the core asks for the same effects");
        assert!(check_durability_order(&core_bug).is_ok(), "{core_bug:?}");
        assert!(matches!(
            core_bug[0],
            Effect::Persist(Persist::HardState { term: 1, .. })
        ));
        assert_eq!(
            performed_ok, core_ok,
            "a correct driver does what the core says"
        );
        assert!(check_durability_order(&performed_ok).is_ok());
        assert!(
            check_durability_order(&performed_bug).is_err(),
            "the buggy driver sends first: {performed_bug:?}"
        );
        assert!(matches!(performed_bug[0], Effect::Send { .. }));
    }

    #[test]
    fn differences_name_the_variables_in_the_papers_words() {
        let node = Node::new(Config::new(0, 3));
        let a = StateView::of(&node);
        let mut b = a.clone();
        b.commit_index = 4;
        b.voted_for = Some(1);
        let d = a.differences(&b);
        let names: Vec<&str> = d.iter().map(|d| d.variable).collect();
        assert_eq!(names, ["votedFor", "commitIndex"]);
        assert_eq!((d[1].left.as_str(), d[1].right.as_str()), ("0", "4"));
        assert!(a.differences(&a).is_empty());
    }
}

//! Runs the state machines of [`crate::twopc::core`] as threads of one process: one thread
//! per node, each with its own directory and log, messages over the in-process [`Net`],
//! crash points from a [`FaultPlan`], and a supervisor that restarts crashed nodes.
//!
//! A node's thread feeds its core every input through [`Core::step`] (the same entry point
//! the model drives), executes the effects in order, and passes a crash point before and
//! after each log write and each send. Crashing a node ends its thread: its volatile state
//! and every log record it appended without an fsync are gone, and its log file stays. A
//! restart opens the log again (the wal cuts off a torn tail) and recovers the core from
//! the records. Participant failures are detected perfectly (the thread ended) and
//! reported to the coordinator as a [`CoordinatorInput::ParticipantFailed`].

use super::core::{
    BeginError, Bug, Coordinator, CoordinatorInput, CoordinatorStatus, Effect, Participant,
    ParticipantInput, ParticipantStatus, Timing,
};
use super::faults::FaultPlan;
use super::messages::{Decision, Msg, Op};
use super::net::{Deliver, Net, NetStats};
use super::records::{self, CoordinatorRecord, Opened, ParticipantRecord, Record};
use super::{NodeId, ParticipantId, TxId};
use crate::sansio::Core;
use crate::sim::faults::LinkFaults;
use crate::sim::wal::{TailDamage, Wal};
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How to run a cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Each node keeps its log in `data_dir/<node name>/twopc.wal`.
    pub data_dir: PathBuf,
    /// The initial balances of each participant's accounts; one entry per participant.
    /// A restarted participant starts from these and replays its log.
    pub banks: Vec<BTreeMap<String, i64>>,
    /// The protocol's timeouts.
    pub timing: Timing,
    /// How the network misbehaves.
    pub net: LinkFaults,
    /// Restart a crashed node after this long; `None` leaves it down until
    /// [`Cluster::restart`].
    pub restart_after: Option<Duration>,
    /// A known bug to build every node with, or `None`.
    pub bug: Option<Bug>,
    /// Stops the nodes from starting again, for a process that is about to remove
    /// `data_dir` and exit (see [`Halt`]). Default: never halted.
    pub halt: Halt,
}

/// A switch, shared by clones, that stops every cluster configured with it from starting
/// or restarting a node.
///
/// Guarantee: once [`Halt::halt`] has returned, no node of such a cluster opens or creates
/// anything under its data directory again, and a start that was under way has finished
/// opening its log. Nodes already running keep running, writing only to the log they have
/// open. This is what makes removing the data directory final: without it, the supervisor
/// restarting a crashed node would create the directory again.
#[derive(Clone, Debug, Default)]
pub struct Halt(Arc<RwLock<bool>>);

impl Halt {
    /// Halts (see [`Halt`]); waits for a node that is opening its log to finish.
    pub fn halt(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Whether [`Halt::halt`] has been called.
    pub fn is_halted(&self) -> bool {
        *self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClusterConfig {
    /// Participants with the `banks` accounts, logs under `data_dir`, default timing, a
    /// reliable network, crashed nodes restarted after 20 ms, no bug, never halted.
    pub fn new(data_dir: &Path, banks: Vec<BTreeMap<String, i64>>) -> ClusterConfig {
        ClusterConfig {
            data_dir: data_dir.to_path_buf(),
            banks,
            timing: Timing::default(),
            net: LinkFaults::default(),
            restart_after: Some(Duration::from_millis(20)),
            bug: None,
            halt: Halt::default(),
        }
    }

    /// The log file of `node`.
    pub fn log_path(&self, node: NodeId) -> PathBuf {
        self.data_dir.join(node.name()).join("twopc.wal")
    }
}

/// Why [`Client::begin_transaction`] has no outcome to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxError {
    /// The coordinator is down: nothing was started.
    CoordinatorDown,
    /// The coordinator crashed before the outcome was known to every participant. The
    /// transaction may commit or abort; after recovery it is one or the other everywhere.
    CoordinatorCrashed,
    /// The coordinator refused the transaction: nothing was started.
    Rejected(BeginError),
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::CoordinatorDown => f.write_str("the coordinator is down"),
            TxError::CoordinatorCrashed => {
                f.write_str("the coordinator crashed; the outcome is unknown")
            }
            TxError::Rejected(e) => write!(f, "rejected: {e}"),
        }
    }
}

impl std::error::Error for TxError {}

/// What a node found in its log the last time it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Intact records replayed.
    pub records: usize,
    /// Bytes of a torn or corrupt tail that were detected and discarded.
    pub torn_bytes: u64,
    /// Why the tail was discarded.
    pub damage: Option<TailDamage>,
}

/// Every node's state at one moment (a node that is down shows as `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The coordinator.
    pub coordinator: Option<CoordinatorStatus>,
    /// The participants, by index.
    pub participants: Vec<Option<ParticipantStatus>>,
}

impl Snapshot {
    /// Whether every node is up and nothing is left to do: no transaction active at the
    /// coordinator, none in doubt or waiting for locks at a participant.
    pub fn is_quiescent(&self) -> bool {
        self.coordinator
            .as_ref()
            .is_some_and(|c| c.active.is_empty())
            && self.participants.iter().all(|p| {
                p.as_ref()
                    .is_some_and(|p| p.in_doubt.is_empty() && p.waiting == 0)
            })
    }
}

enum Input {
    Msg {
        from: NodeId,
        msg: Msg,
    },
    Begin {
        tx: TxId,
        ops: BTreeMap<ParticipantId, Vec<Op>>,
        reply: Sender<Result<Decision, TxError>>,
    },
    ParticipantFailed(ParticipantId),
    Inspect(Sender<Status>),
    /// Crash now (as if at a crash point): the supervisor restarts the node.
    Crash,
    /// Stop now. Volatile state is lost exactly as in a crash; the supervisor leaves it.
    Stop,
}

enum Status {
    Coordinator(CoordinatorStatus),
    Participant(ParticipantStatus),
}

/// Why a node's thread ended.
enum Exit {
    Crashed,
    Stopped,
    Failed(io::Error),
}

impl From<io::Error> for Exit {
    fn from(e: io::Error) -> Self {
        Exit::Failed(e)
    }
}

#[derive(Default)]
struct Slot {
    inbox: Option<Sender<Input>>,
    thread: Option<JoinHandle<()>>,
    incarnation: u64,
    recoveries: Vec<Recovery>,
}

enum Event {
    Exited { node: NodeId, crashed: bool },
    Shutdown,
}

struct Shared {
    config: ClusterConfig,
    plan: Arc<FaultPlan>,
    epoch: Instant,
    /// Slot 0 is the coordinator, slot `p + 1` participant `p`.
    slots: Arc<Mutex<Vec<Slot>>>,
    net: Net,
    events: Mutex<Sender<Event>>,
    shutting_down: AtomicBool,
}

fn slot_of(node: NodeId) -> usize {
    match node {
        NodeId::Coordinator => 0,
        NodeId::Participant(p) => p + 1,
    }
}

fn send_to(slots: &Mutex<Vec<Slot>>, node: NodeId, input: Input) -> bool {
    let slots = slots.lock().expect("slots lock");
    match slots.get(slot_of(node)).and_then(|s| s.inbox.as_ref()) {
        Some(inbox) => inbox.send(input).is_ok(),
        None => false,
    }
}

impl Shared {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn nodes(&self) -> Vec<NodeId> {
        std::iter::once(NodeId::Coordinator)
            .chain((0..self.config.banks.len()).map(NodeId::Participant))
            .collect()
    }

    fn send(&self, node: NodeId, input: Input) -> bool {
        send_to(&self.slots, node, input)
    }

    fn notify(&self, event: Event) {
        let _ = self.events.lock().expect("events lock").send(event);
    }
}

/// A running cluster: a coordinator and its participants, each on its own thread.
///
/// Dropping the cluster (or [`shutdown`](Cluster::shutdown)) stops every node; their logs
/// stay in the data directory.
pub struct Cluster {
    shared: Arc<Shared>,
    supervisor: Option<JoinHandle<()>>,
}

/// A handle for beginning transactions; cheap to clone and usable from any thread.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Runs transaction `tx`, which applies `ops[p]` at each participant `p`: prepare,
    /// votes (with a timeout), decision (a Commit logged and fsynced first), and the
    /// decision resent until every participant acknowledged it. Blocks until then.
    ///
    /// `Ok(Commit)` means every participant has durably recorded and applied the
    /// transaction; `Ok(Abort)` that none applied it or ever will.
    pub fn begin_transaction(
        &self,
        tx: TxId,
        ops: BTreeMap<ParticipantId, Vec<Op>>,
    ) -> Result<Decision, TxError> {
        let (reply, outcome) = mpsc::channel();
        if !self
            .shared
            .send(NodeId::Coordinator, Input::Begin { tx, ops, reply })
        {
            return Err(TxError::CoordinatorDown);
        }
        // The coordinator drops `reply` when it crashes.
        outcome.recv().unwrap_or(Err(TxError::CoordinatorCrashed))
    }
}

impl Cluster {
    /// Starts every node, each recovering from whatever its log already holds.
    pub fn start(config: ClusterConfig, plan: Arc<FaultPlan>) -> io::Result<Cluster> {
        let slots: Arc<Mutex<Vec<Slot>>> = Arc::new(Mutex::new(
            (0..=config.banks.len()).map(|_| Slot::default()).collect(),
        ));
        let deliver: Deliver = {
            let slots = slots.clone();
            Arc::new(move |from, to, msg| {
                // A node that is down loses the message, as a real one would.
                send_to(&slots, to, Input::Msg { from, msg });
            })
        };
        let (events, supervisor_inbox) = mpsc::channel();
        let shared = Arc::new(Shared {
            net: Net::new(config.net, deliver),
            config,
            plan,
            epoch: Instant::now(),
            slots,
            events: Mutex::new(events),
            shutting_down: AtomicBool::new(false),
        });
        let supervisor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("twopc-supervisor".into())
                .spawn(move || supervise(&shared, supervisor_inbox))?
        };
        let cluster = Cluster {
            shared,
            supervisor: Some(supervisor),
        };
        for node in cluster.shared.nodes() {
            start_node(&cluster.shared, node)?;
        }
        Ok(cluster)
    }

    /// A client of this cluster.
    pub fn client(&self) -> Client {
        Client {
            shared: self.shared.clone(),
        }
    }

    /// [`Client::begin_transaction`] on a client of this cluster.
    pub fn begin_transaction(
        &self,
        tx: TxId,
        ops: BTreeMap<ParticipantId, Vec<Op>>,
    ) -> Result<Decision, TxError> {
        self.client().begin_transaction(tx, ops)
    }

    /// The configuration the cluster runs with.
    pub fn config(&self) -> &ClusterConfig {
        &self.shared.config
    }

    /// The nodes: the coordinator, then the participants.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.shared.nodes()
    }

    /// Whether `node`'s thread is running.
    pub fn is_up(&self, node: NodeId) -> bool {
        let slots = self.shared.slots.lock().expect("slots lock");
        slots[slot_of(node)].inbox.is_some()
    }

    /// Crashes `node` now, between two steps, and waits until its thread has ended. The
    /// supervisor restarts it if the configuration says so.
    pub fn crash(&self, node: NodeId) {
        self.end_node(node, Input::Crash);
    }

    /// Restarts `node` from its log; it must be down.
    pub fn restart(&self, node: NodeId) -> io::Result<()> {
        start_node(&self.shared, node)
    }

    /// Stops and restarts every node from its log: whatever was not durable is forgotten,
    /// as after a power failure of the whole cluster. Call it only while no node is down.
    ///
    /// The participants start first, so that the coordinator's recovery, which resends
    /// Commit for every transaction whose End record was not durable, finds every inbox
    /// open. The other way round, a resend could reach a participant not started yet, be
    /// lost, and go again only after the resend interval: whether it does would depend on
    /// thread timing, and so would the steps (and crash points) a run passes.
    pub fn restart_all(&self) -> io::Result<()> {
        for node in self.nodes() {
            self.end_node(node, Input::Stop);
        }
        let (coordinator, participants): (Vec<NodeId>, Vec<NodeId>) = self
            .nodes()
            .into_iter()
            .partition(|&n| n == NodeId::Coordinator);
        for node in participants.into_iter().chain(coordinator) {
            start_node(&self.shared, node)?;
        }
        Ok(())
    }

    /// Tells the coordinator that participant `p` failed: it aborts every transaction that
    /// is still collecting votes and has no yes vote from `p`. The supervisor calls this
    /// when a participant crashes; the participant's own restart recovers its in-doubt
    /// transactions.
    pub fn handle_participant_failure(&self, p: ParticipantId) {
        self.shared
            .send(NodeId::Coordinator, Input::ParticipantFailed(p));
    }

    /// Waits until `node` is up, for at most `timeout`.
    pub fn wait_up(&self, node: NodeId, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_up(node) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Waits until `node` is down, for at most `timeout`.
    pub fn wait_down(&self, node: NodeId, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.is_up(node) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Every node's state now.
    pub fn snapshot(&self) -> Snapshot {
        let ask = |node| {
            let (reply, answer) = mpsc::channel();
            if !self.shared.send(node, Input::Inspect(reply)) {
                return None;
            }
            answer.recv_timeout(Duration::from_secs(5)).ok()
        };
        let coordinator = match ask(NodeId::Coordinator) {
            Some(Status::Coordinator(c)) => Some(c),
            _ => None,
        };
        let participants = (0..self.shared.config.banks.len())
            .map(|p| match ask(NodeId::Participant(p)) {
                Some(Status::Participant(s)) => Some(s),
                _ => None,
            })
            .collect();
        Snapshot {
            coordinator,
            participants,
        }
    }

    /// Waits, for at most `timeout`, until the cluster is quiescent (see
    /// [`Snapshot::is_quiescent`]). Returns the last snapshot either way.
    pub fn wait_quiescent(&self, timeout: Duration) -> Result<Snapshot, Snapshot> {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.snapshot();
            if s.is_quiescent() {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// What `node` found in its log at each start, oldest first.
    pub fn recoveries(&self, node: NodeId) -> Vec<Recovery> {
        self.shared.slots.lock().expect("slots lock")[slot_of(node)]
            .recoveries
            .clone()
    }

    /// What the network did so far.
    pub fn net_stats(&self) -> NetStats {
        self.shared.net.stats()
    }

    /// Stops every node and the supervisor. Logs stay on disk.
    pub fn shutdown(mut self) {
        self.stop_everything();
    }

    fn stop_everything(&mut self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        self.shared.notify(Event::Shutdown);
        if let Some(s) = self.supervisor.take() {
            let _ = s.join();
        }
        for node in self.nodes() {
            self.end_node(node, Input::Stop);
        }
    }

    /// Sends `input` (Crash or Stop) to `node` and joins its thread.
    fn end_node(&self, node: NodeId, input: Input) {
        let thread = {
            let mut slots = self.shared.slots.lock().expect("slots lock");
            let slot = &mut slots[slot_of(node)];
            if let Some(inbox) = &slot.inbox {
                let _ = inbox.send(input);
            }
            slot.thread.take()
        };
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            self.stop_everything();
        }
    }
}

/// Restarts crashed nodes after the configured delay and reports participant failures to
/// the coordinator.
fn supervise(shared: &Arc<Shared>, events: Receiver<Event>) {
    while let Ok(event) = events.recv() {
        let Event::Exited { node, crashed } = event else {
            return;
        };
        if !crashed || shared.shutting_down.load(Ordering::SeqCst) {
            continue;
        }
        if let NodeId::Participant(p) = node {
            shared.send(NodeId::Coordinator, Input::ParticipantFailed(p));
        }
        let Some(delay) = shared.config.restart_after else {
            continue;
        };
        std::thread::sleep(delay);
        if shared.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        if let Err(e) = start_node(shared, node) {
            // Halted: the process is exiting, and refusing the restart is the point.
            if !shared.config.halt.is_halted() {
                eprintln!("twopc: cannot restart {node}: {e}");
            }
        }
    }
}

/// Opens `node`'s log and starts its thread. Waits for a previous thread of the node to
/// end first, so two incarnations never hold the log at once.
fn start_node(shared: &Arc<Shared>, node: NodeId) -> io::Result<()> {
    let old = {
        let mut slots = shared.slots.lock().expect("slots lock");
        let slot = &mut slots[slot_of(node)];
        if slot.inbox.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{node} is already running"),
            ));
        }
        slot.thread.take()
    };
    if let Some(t) = old {
        let _ = t.join();
    }
    let path = shared.config.log_path(node);
    // Held while the log is opened, which may create the node's directory and the data
    // directory above it: a halt waits for the open, and no open starts after a halt.
    let halt = shared
        .config
        .halt
        .0
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    if *halt {
        return Err(io::Error::other(format!("{node} not started: halted")));
    }
    let (inbox, input) = mpsc::channel();
    let run: Box<dyn FnOnce() -> Exit + Send> = match node {
        NodeId::Coordinator => {
            let opened = records::open::<CoordinatorRecord>(&path)?;
            record_recovery(shared, node, &opened);
            let shared = shared.clone();
            Box::new(move || run_coordinator(&shared, opened, input))
        }
        NodeId::Participant(p) => {
            let opened = records::open::<ParticipantRecord>(&path)?;
            record_recovery(shared, node, &opened);
            let shared = shared.clone();
            Box::new(move || run_participant(&shared, p, opened, input))
        }
    };
    drop(halt);
    let mut slots = shared.slots.lock().expect("slots lock");
    let slot = &mut slots[slot_of(node)];
    slot.incarnation += 1;
    let incarnation = slot.incarnation;
    slot.inbox = Some(inbox);
    let thread_shared = shared.clone();
    slot.thread = Some(
        std::thread::Builder::new()
            .name(format!("twopc-{node}"))
            .spawn(move || {
                let exit = run();
                let crashed = match exit {
                    Exit::Crashed => true,
                    Exit::Stopped => false,
                    Exit::Failed(e) => {
                        eprintln!("twopc: {node} failed: {e}");
                        true
                    }
                };
                {
                    let mut slots = thread_shared.slots.lock().expect("slots lock");
                    let slot = &mut slots[slot_of(node)];
                    if slot.incarnation == incarnation {
                        slot.inbox = None;
                    }
                }
                thread_shared.notify(Event::Exited { node, crashed });
            })?,
    );
    Ok(())
}

fn record_recovery<R>(shared: &Shared, node: NodeId, opened: &Opened<R>) {
    shared.slots.lock().expect("slots lock")[slot_of(node)]
        .recoveries
        .push(Recovery {
            records: opened.records.len(),
            torn_bytes: opened.torn_bytes,
            damage: opened.damage,
        });
}

/// Carries out a core's effects for `node`, passing the crash points around each.
struct Executor<'a> {
    shared: &'a Shared,
    node: NodeId,
    wal: Wal<std::fs::File>,
}

impl Executor<'_> {
    fn point(&self, name: &str) -> Result<(), Exit> {
        if self.shared.plan.crash_point(self.node, name) {
            Err(Exit::Crashed)
        } else {
            Ok(())
        }
    }

    /// Executes `effects` in order; returns the transactions they report finished.
    fn execute<R: Record>(
        &mut self,
        effects: Vec<Effect<R>>,
    ) -> Result<Vec<(TxId, Decision)>, Exit> {
        let mut finished = Vec::new();
        for effect in effects {
            match effect {
                Effect::Log { record, durable } => {
                    let what = if durable {
                        format!("log+fsync {record}")
                    } else {
                        format!("log {record}")
                    };
                    self.point(&format!("before {what}"))?;
                    self.wal.append(&record.encode())?;
                    if durable {
                        self.wal.sync()?;
                    }
                    self.point(&format!("after {what}"))?;
                }
                Effect::Send { to, msg } => {
                    let what = format!("send {msg} -> {to}");
                    self.point(&format!("before {what}"))?;
                    self.shared.net.send(self.node, to, msg);
                    self.point(&format!("after {what}"))?;
                }
                Effect::Finished { tx, decision } => finished.push((tx, decision)),
                // Answered where the Begin was stepped: the id may belong to another
                // client's transaction, whose waiter must not get this answer.
                Effect::Rejected { .. } => {}
            }
        }
        Ok(finished)
    }
}

/// How long a node waits for input when it has no deadline.
const IDLE: Duration = Duration::from_millis(50);

fn wait_for_input(
    input: &Receiver<Input>,
    deadline: Option<Duration>,
    now: Duration,
) -> Option<Input> {
    let timeout = deadline.map_or(IDLE, |d| d.saturating_sub(now).min(IDLE));
    // A timeout is a tick. A disconnected inbox cannot happen while the node runs (the
    // cluster holds the sender), and if it did the node would just tick until stopped.
    input.recv_timeout(timeout).ok()
}

/// Executes the coordinator's effects and answers the clients whose transactions finish.
struct Clients<'a> {
    exec: Executor<'a>,
    /// Clients waiting for an outcome; dropped (so they see a crash) when the thread ends.
    waiting: BTreeMap<TxId, Sender<Result<Decision, TxError>>>,
}

impl Clients<'_> {
    fn step(&mut self, effects: Vec<Effect<CoordinatorRecord>>) -> Result<(), Exit> {
        for (tx, decision) in self.exec.execute(effects)? {
            if let Some(reply) = self.waiting.remove(&tx) {
                let _ = reply.send(Ok(decision));
            }
        }
        Ok(())
    }
}

fn run_coordinator(
    shared: &Shared,
    opened: Opened<CoordinatorRecord>,
    input: Receiver<Input>,
) -> Exit {
    let config = &shared.config;
    let (mut core, effects) = Coordinator::recover(
        config.banks.len(),
        &opened.records,
        config.timing,
        config.bug,
        shared.now(),
    );
    let mut node = Clients {
        exec: Executor {
            shared,
            node: NodeId::Coordinator,
            wal: opened.wal,
        },
        waiting: BTreeMap::new(),
    };
    let result = (|| -> Result<(), Exit> {
        node.step(effects)?;
        loop {
            let now = shared.now();
            let effects = match wait_for_input(&input, core.next_deadline(), now) {
                None => Vec::new(),
                Some(Input::Msg { from, msg }) => match from {
                    NodeId::Participant(from) => {
                        core.step(CoordinatorInput::Message { from, msg, now })
                    }
                    NodeId::Coordinator => Vec::new(),
                },
                Some(Input::Begin { tx, ops, reply }) => {
                    let effects = core.step(CoordinatorInput::Begin { tx, ops, now });
                    let rejected = effects.iter().find_map(|e| match e {
                        Effect::Rejected { tx: t, error } if *t == tx => Some(error.clone()),
                        _ => None,
                    });
                    match rejected {
                        Some(e) => {
                            let _ = reply.send(Err(TxError::Rejected(e)));
                        }
                        // Registered before the effects run, so a crash in them drops it.
                        None => {
                            node.waiting.insert(tx, reply);
                        }
                    }
                    effects
                }
                Some(Input::ParticipantFailed(participant)) => {
                    core.step(CoordinatorInput::ParticipantFailed { participant, now })
                }
                Some(Input::Inspect(reply)) => {
                    let _ = reply.send(Status::Coordinator(core.status()));
                    Vec::new()
                }
                Some(Input::Crash) => return Err(Exit::Crashed),
                Some(Input::Stop) => return Err(Exit::Stopped),
            };
            node.step(effects)?;
            let now = shared.now();
            if core.next_deadline().is_some_and(|d| d <= now) {
                node.step(core.step(CoordinatorInput::Tick { now }))?;
            }
        }
    })();
    result.err().unwrap_or(Exit::Stopped)
}

fn run_participant(
    shared: &Shared,
    p: ParticipantId,
    opened: Opened<ParticipantRecord>,
    input: Receiver<Input>,
) -> Exit {
    let config = &shared.config;
    let (mut core, effects) = Participant::recover(
        config.banks[p].clone(),
        &opened.records,
        config.timing,
        config.bug,
        shared.now(),
    );
    let mut exec = Executor {
        shared,
        node: NodeId::Participant(p),
        wal: opened.wal,
    };
    let result = (|| -> Result<(), Exit> {
        exec.execute(effects)?;
        loop {
            let now = shared.now();
            let effects = match wait_for_input(&input, core.next_deadline(), now) {
                None => Vec::new(),
                Some(Input::Msg { msg, .. }) => core.step(ParticipantInput::Message { msg, now }),
                Some(Input::Inspect(reply)) => {
                    let _ = reply.send(Status::Participant(core.status()));
                    Vec::new()
                }
                // Only the coordinator takes these.
                Some(Input::Begin { .. } | Input::ParticipantFailed(_)) => Vec::new(),
                Some(Input::Crash) => return Err(Exit::Crashed),
                Some(Input::Stop) => return Err(Exit::Stopped),
            };
            exec.execute(effects)?;
            let now = shared.now();
            if core.next_deadline().is_some_and(|d| d <= now) {
                exec.execute(core.step(ParticipantInput::Tick { now }))?;
            }
        }
    })();
    result.err().unwrap_or(Exit::Stopped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twopc::bank;

    /// What the demo relies on to remove its directory for good on a signal: once halted,
    /// a cluster starts no node again, so nothing creates the directory again.
    #[test]
    fn a_halted_cluster_does_not_create_its_directory_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut config = ClusterConfig::new(&data, bank::three_banks());
        config.restart_after = None;
        let halt = config.halt.clone();
        let cluster = Cluster::start(config, Arc::new(FaultPlan::none())).unwrap();
        let bank_a = NodeId::Participant(0);
        cluster.crash(bank_a);
        assert!(cluster.wait_down(bank_a, Duration::from_secs(5)));
        halt.halt();
        assert!(halt.is_halted());
        std::fs::remove_dir_all(&data).unwrap();
        assert!(cluster.restart(bank_a).is_err());
        assert!(!data.exists());
        cluster.shutdown();
        assert!(!data.exists());
    }
}

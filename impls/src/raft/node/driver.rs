//! The driver: the one task that owns the core, the data directory and the state
//! machine, steps the core on each input and carries out its effects strictly in order.
//!
//! Persist effects are made durable before any later effect runs (consecutive persists of
//! a step share one fsync, see [`DataDir::persist`]); sends are queued on the peers'
//! links; applies go to the state machine, and their replies to the clients waiting for
//! them. File writes run inline on the driver's thread: the driver has nothing else to do
//! while a persist is in flight (no later effect may run before it), and the links and
//! connections are other tasks, which the runtime's other threads keep serving.

use super::disk::DataDir;
use super::machine::StateMachine;
use super::trace::Recorder;
use super::{Log, RuntimeBug};
use crate::raft::core::{Effect, Index, Input, Message, Node, Persist, ReadId, Role, Term};
use crate::raft::NodeId;
use crate::sansio::Core;
use std::collections::BTreeMap;
use std::io;
use tokio::sync::{mpsc, oneshot};

/// What the driver steps on besides its tick timer.
#[derive(Debug)]
pub(crate) enum Event {
    /// A peer's incoming link opened; `client_addr` is where it serves clients.
    Hello { from: NodeId, client_addr: String },
    /// A message from a peer.
    Receive { from: NodeId, message: Message },
    /// A client's proposal, answered once its fate is known.
    Propose {
        command: Vec<u8>,
        reply: oneshot::Sender<ProposeOutcome>,
    },
    /// A client's read, answered from the state machine once it is linearizable to do so
    /// ([`ProposeOutcome::Applied`] with the state machine's answer) or refused
    /// ([`ProposeOutcome::NotLeader`]).
    Read {
        query: Vec<u8>,
        reply: oneshot::Sender<ProposeOutcome>,
    },
    /// A client asks for the node's state.
    Status {
        reply: oneshot::Sender<StatusReport>,
    },
}

/// What became of a proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeOutcome {
    /// Committed and applied at `index`; `reply` is the state machine's answer.
    Applied {
        /// Where it was applied.
        index: Index,
        /// The state machine's reply.
        reply: Vec<u8>,
    },
    /// This node is not the leader; `leader` is the one it knows of, and `client_addr`
    /// where that leader serves clients, if it has told this node.
    NotLeader {
        /// The leader this node heard from in its term.
        leader: Option<NodeId>,
        /// That leader's client address.
        client_addr: Option<String>,
    },
    /// Another entry was committed at `index`: the proposal will never be applied.
    Lost {
        /// The index it had been appended at.
        index: Index,
    },
    /// The node cannot tell whether the proposal at `index` was applied (a snapshot from
    /// the leader replaced the entries around it).
    Unknown {
        /// The index it had been appended at.
        index: Index,
        /// Why.
        why: &'static str,
    },
}

/// The node's state as the `status` command reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// This server's id.
    pub id: NodeId,
    /// `follower`, `pre-candidate`, `candidate` or `leader`.
    pub role: &'static str,
    /// `currentTerm`.
    pub term: Term,
    /// The leader known in this term.
    pub leader: Option<NodeId>,
    /// `commitIndex`.
    pub commit: Index,
    /// The last index applied to the state machine.
    pub applied: Index,
    /// The last index of the latest snapshot (0 without one).
    pub snapshot: Index,
    /// The first index the log holds.
    pub first: Index,
    /// The last index of the log.
    pub last: Index,
    /// The write-ahead log's durable length.
    pub wal_bytes: u64,
    /// Fsyncs since the node started (of its files and its directory).
    pub fsyncs: u64,
    /// The state machine's summary.
    pub machine: String,
}

/// The role's name in status lines and logs.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Follower => "follower",
        Role::PreCandidate => "pre-candidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

/// The most events one batch takes from the queue, so that ticks are not starved.
pub(crate) const MAX_BATCH_EVENTS: usize = 1024;

/// Steps taken but not yet carried out: every persist of the batch in order, and each
/// step's other effects with the proposer waiting on it.
#[derive(Default)]
struct Batch {
    persists: Vec<Persist>,
    steps: Vec<(Vec<Effect>, Option<oneshot::Sender<ProposeOutcome>>)>,
}

impl Batch {
    fn push(&mut self, effects: Vec<Effect>, client: Option<oneshot::Sender<ProposeOutcome>>) {
        let mut rest = Vec::with_capacity(effects.len());
        for effect in effects {
            match effect {
                Effect::Persist(p) => self.persists.push(p),
                other => rest.push(other),
            }
        }
        self.steps.push((rest, client));
    }
}

struct Pending {
    term: Term,
    reply: oneshot::Sender<ProposeOutcome>,
}

/// A client's read: its query and where the answer goes.
struct PendingRead {
    query: Vec<u8>,
    reply: oneshot::Sender<ProposeOutcome>,
}

/// Reads between the client and the state machine: asked of the core, then confirmed at
/// an index and waiting for the machine to apply it.
#[derive(Default)]
struct Reads {
    next_id: ReadId,
    asked: BTreeMap<ReadId, PendingRead>,
    /// Keyed by (read index, id): served in index order as the machine catches up.
    confirmed: BTreeMap<(Index, ReadId), PendingRead>,
}

/// The driver's state.
pub(crate) struct Driver<M: StateMachine> {
    pub(crate) node: Node,
    pub(crate) disk: DataDir,
    pub(crate) machine: M,
    /// The last index applied to `machine`.
    pub(crate) applied: Index,
    /// Compact once this many entries were applied since the last snapshot (0: never).
    pub(crate) snapshot_every: u64,
    /// Frames for each peer's link; `None` at this node's own id.
    pub(crate) links: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    /// Where each server serves clients, as far as this node has been told.
    pub(crate) client_addrs: Vec<Option<String>>,
    pub(crate) log: Log,
    /// A runtime bug to run with.
    pub(crate) runtime_bug: Option<RuntimeBug>,
    pending: BTreeMap<Index, Pending>,
    reads: Reads,
    /// (role, term, leader) as last logged.
    seen: (Role, Term, Option<NodeId>),
    /// The snapshot was too large to take; said once.
    oversized_said: bool,
    /// Where each step is recorded, if anywhere (`NodeConfig::trace`).
    pub(crate) trace: Option<Recorder>,
}

impl<M: StateMachine> Driver<M> {
    /// A driver around a restarted node whose state machine is already restored from the
    /// node's snapshot (if any).
    pub(crate) fn new(
        node: Node,
        disk: DataDir,
        machine: M,
        snapshot_every: u64,
        links: Vec<Option<mpsc::Sender<Vec<u8>>>>,
        client_addrs: Vec<Option<String>>,
        log: Log,
    ) -> Driver<M> {
        let seen = (node.role(), node.term(), node.leader());
        let applied = node.snapshot().map_or(0, |s| s.last_index);
        Driver {
            node,
            disk,
            machine,
            applied,
            snapshot_every,
            links,
            client_addrs,
            log,
            runtime_bug: None,
            pending: BTreeMap::new(),
            reads: Reads::default(),
            seen,
            oversized_said: false,
            trace: None,
        }
    }

    /// Handles one event.
    pub(crate) fn handle(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Hello { from, client_addr } => {
                if let Some(slot) = self.client_addrs.get_mut(from as usize) {
                    *slot = Some(client_addr);
                }
                Ok(())
            }
            Event::Receive { from, message } => self.step(Input::Receive { from, message }, None),
            Event::Propose { command, reply } => self.step(Input::Propose { command }, Some(reply)),
            Event::Read { query, reply } => self.read(query, reply),
            Event::Status { reply } => {
                let _ = reply.send(self.status());
                Ok(())
            }
        }
    }

    /// Handles `first` and every event already queued behind it (at most
    /// [`MAX_BATCH_EVENTS`]) as one batch: the core steps on each in order, then every
    /// persist of the batch is made durable with one fsync, then the other effects run in
    /// order. A persist only moves earlier than it would one event at a time, so every
    /// send, apply and answer still follows the persists it depends on; what a crash can
    /// leave is a prefix of the batch's persists, as it could of a step's. Events that
    /// do not step the core (a hello, a status, a read served without the core) end the
    /// batch gathered so far first, so they see the state as one at a time would.
    ///
    /// A traced node (its recorder checks each step against its own effects) and
    /// [`RuntimeBug::SendBeforePersist`] (which reorders one step's effects) handle one
    /// event at a time, as before batching.
    pub(crate) fn handle_queued(
        &mut self,
        first: Event,
        queue: &mut mpsc::Receiver<Event>,
    ) -> io::Result<()> {
        if self.trace.is_some() || self.runtime_bug == Some(RuntimeBug::SendBeforePersist) {
            return self.handle(first);
        }
        let mut batch = Batch::default();
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(event) = next.take() {
            taken += 1;
            match event {
                Event::Receive { from, message } => {
                    batch.push(self.node.step(Input::Receive { from, message }), None);
                }
                Event::Propose { command, reply } => {
                    batch.push(self.node.step(Input::Propose { command }), Some(reply));
                }
                Event::Read { query, reply }
                    if self.runtime_bug != Some(RuntimeBug::ReadFromAnyNode) =>
                {
                    let id = self.reads.next_id;
                    self.reads.next_id += 1;
                    self.reads.asked.insert(id, PendingRead { query, reply });
                    batch.push(self.node.step(Input::Read { id }), None);
                }
                other => {
                    self.finish(std::mem::take(&mut batch))?;
                    self.handle(other)?;
                }
            }
            if taken < MAX_BATCH_EVENTS {
                next = queue.try_recv().ok();
            }
        }
        self.finish(batch)
    }

    /// Carries out a batch's effects: its persists with one fsync, then the rest in
    /// order, each step's with its proposer; then what every step ends with.
    fn finish(&mut self, batch: Batch) -> io::Result<()> {
        if batch.steps.is_empty() {
            return Ok(());
        }
        if !batch.persists.is_empty() {
            self.disk.persist(&batch.persists)?;
        }
        for (effects, client) in batch.steps {
            self.execute(effects, client)?;
        }
        self.serve_confirmed_reads();
        self.compact_if_due()?;
        self.say_changes();
        Ok(())
    }

    /// Steps the core on `input` and carries out its effects; `client` is the proposer
    /// waiting for a [`Effect::Proposed`] or [`Effect::NotLeader`] of this step.
    pub(crate) fn step(
        &mut self,
        input: Input,
        client: Option<oneshot::Sender<ProposeOutcome>>,
    ) -> io::Result<()> {
        if matches!(input, Input::Tick) {
            // Reads whose clients gave up need no answer.
            self.reads.asked.retain(|_, r| !r.reply.is_closed());
        }
        self.step_and_execute(input, client)?;
        self.serve_confirmed_reads();
        self.compact_if_due()?;
        self.say_changes();
        Ok(())
    }

    /// Asks the core for a read index; the answer comes as [`Effect::ReadReady`] or
    /// [`Effect::ReadRefused`]. With [`RuntimeBug::ReadFromAnyNode`] the node answers at
    /// once from whatever its machine holds.
    fn read(&mut self, query: Vec<u8>, reply: oneshot::Sender<ProposeOutcome>) -> io::Result<()> {
        if self.runtime_bug == Some(RuntimeBug::ReadFromAnyNode) {
            let answer = self.machine.read(&query);
            let _ = reply.send(ProposeOutcome::Applied {
                index: self.applied,
                reply: answer,
            });
            return Ok(());
        }
        let id = self.reads.next_id;
        self.reads.next_id += 1;
        self.reads.asked.insert(id, PendingRead { query, reply });
        self.step(Input::Read { id }, None)
    }

    /// Answers every confirmed read whose index the machine has applied.
    fn serve_confirmed_reads(&mut self) {
        while let Some(entry) = self.reads.confirmed.first_entry() {
            if entry.key().0 > self.applied {
                break;
            }
            let read = entry.remove();
            let _ = read.reply.send(ProposeOutcome::Applied {
                index: self.applied,
                reply: self.machine.read(&read.query),
            });
        }
    }

    /// The leader's client address, as far as this node knows.
    fn client_addr_of(&self, leader: Option<NodeId>) -> Option<String> {
        leader.and_then(|l| self.client_addrs.get(l as usize).cloned().flatten())
    }

    /// The status report.
    pub(crate) fn status(&self) -> StatusReport {
        StatusReport {
            id: self.node.id(),
            role: role_name(self.node.role()),
            term: self.node.term(),
            leader: self.node.leader(),
            commit: self.node.commit_index(),
            applied: self.applied,
            snapshot: self.node.snapshot().map_or(0, |s| s.last_index),
            first: self.node.first_index(),
            last: self.node.last_index(),
            wal_bytes: self.disk.wal_bytes(),
            fsyncs: self.disk.fsyncs(),
            machine: self.machine.summary(),
        }
    }

    fn execute(
        &mut self,
        effects: Vec<Effect>,
        mut client: Option<oneshot::Sender<ProposeOutcome>>,
    ) -> io::Result<()> {
        let mut effects = effects.into_iter().peekable();
        while let Some(effect) = effects.next() {
            if let Some(trace) = &mut self.trace {
                trace.performing(&effect);
            }
            match effect {
                Effect::Persist(first) => {
                    let mut batch: Vec<Persist> = vec![first];
                    while let Some(Effect::Persist(_)) = effects.peek() {
                        if let Some(Effect::Persist(p)) = effects.next() {
                            batch.push(p);
                        }
                    }
                    self.disk.persist(&batch)?;
                    if let Some(trace) = &mut self.trace {
                        trace.persisted(&batch);
                    }
                }
                Effect::Send { to, message } => self.send(to, &message),
                Effect::Apply { index, entry } => {
                    let reply = self.machine.apply(index, &entry.command);
                    self.applied = index;
                    if let Some(p) = self.pending.remove(&index) {
                        let outcome = if p.term == entry.term {
                            ProposeOutcome::Applied { index, reply }
                        } else {
                            ProposeOutcome::Lost { index }
                        };
                        let _ = p.reply.send(outcome);
                    }
                }
                Effect::Restore(snapshot) => {
                    self.machine.restore(&snapshot.data).map_err(|why| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "the snapshot at index {} does not restore: {why}",
                                snapshot.last_index
                            ),
                        )
                    })?;
                    self.applied = snapshot.last_index;
                    let covered: Vec<Index> = self
                        .pending
                        .range(..=snapshot.last_index)
                        .map(|(i, _)| *i)
                        .collect();
                    for index in covered {
                        if let Some(p) = self.pending.remove(&index) {
                            let _ = p.reply.send(ProposeOutcome::Unknown {
                                index,
                                why: "a snapshot replaced the log around it",
                            });
                        }
                    }
                }
                Effect::Proposed { index, term } => {
                    if let Some(reply) = client.take() {
                        // An entry this node appended earlier at the same index was
                        // overwritten, by this very append: it is lost.
                        if let Some(old) = self.pending.insert(index, Pending { term, reply }) {
                            let _ = old.reply.send(ProposeOutcome::Lost { index });
                        }
                    }
                }
                Effect::ReadReady { id, index } => {
                    if let Some(read) = self.reads.asked.remove(&id) {
                        self.reads.confirmed.insert((index, id), read);
                    }
                }
                Effect::ReadRefused { id, leader } => {
                    if let Some(read) = self.reads.asked.remove(&id) {
                        let client_addr = self.client_addr_of(leader);
                        let _ = read.reply.send(ProposeOutcome::NotLeader {
                            leader,
                            client_addr,
                        });
                    }
                }
                Effect::NotLeader { leader } => {
                    if let Some(reply) = client.take() {
                        let client_addr = self.client_addr_of(leader);
                        let _ = reply.send(ProposeOutcome::NotLeader {
                            leader,
                            client_addr,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn send(&self, to: NodeId, message: &Message) {
        if let Some(Some(link)) = self.links.get(to as usize) {
            let mut frame = Vec::new();
            super::codec::encode_peer(&mut frame, &super::codec::PeerFrame::Raft(message.clone()));
            // A full queue means the peer is not keeping up or is unreachable: Raft
            // retries what matters, so the message is dropped.
            let _ = link.try_send(frame);
        }
    }

    /// Hands the state machine's state to the core once `snapshot_every` entries were
    /// applied since the last snapshot, so that the log (in memory and on disk) holds
    /// only the entries since.
    fn compact_if_due(&mut self) -> io::Result<()> {
        if self.snapshot_every == 0 {
            return Ok(());
        }
        let base = self.node.snapshot().map_or(0, |s| s.last_index);
        if self.applied < base + self.snapshot_every {
            return Ok(());
        }
        let data = self.machine.snapshot();
        if data.len() > super::codec::MAX_SNAPSHOT_BYTES {
            if !self.oversized_said {
                self.log.say(format_args!(
                    "not compacting: the state is {} bytes, over the {}-byte snapshot limit",
                    data.len(),
                    super::codec::MAX_SNAPSHOT_BYTES
                ));
                self.oversized_said = true;
            }
            return Ok(());
        }
        let input = Input::Compact {
            index: self.applied,
            data,
        };
        self.step_and_execute(input, None)
    }

    /// Steps the core (through the trace recorder, if any) and carries out its effects.
    fn step_and_execute(
        &mut self,
        input: Input,
        client: Option<oneshot::Sender<ProposeOutcome>>,
    ) -> io::Result<()> {
        let mut effects = match &mut self.trace {
            Some(trace) => trace.step(&mut self.node, input)?,
            None => self.node.step(input),
        };
        if self.runtime_bug == Some(RuntimeBug::SendBeforePersist) {
            sends_first(&mut effects);
        }
        self.execute(effects, client)?;
        match &mut self.trace {
            Some(trace) => trace.end_step(),
            None => Ok(()),
        }
    }

    fn say_changes(&mut self) {
        let now = (self.node.role(), self.node.term(), self.node.leader());
        if now != self.seen {
            self.seen = now;
            self.log.say(format_args!(
                "{} in term {} (leader {})",
                role_name(now.0),
                now.1,
                now.2
                    .map_or_else(|| "unknown".to_string(), |l| format!("n{l}"))
            ));
        }
    }
}

/// `send-before-persist`: moves a step's sends ahead of everything else, so they leave
/// before its persists are durable (the rest keeps its order).
fn sends_first(effects: &mut [Effect]) {
    effects.sort_by_key(|e| !matches!(e, Effect::Send { .. }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::core::Config;
    use crate::raft::node::codec::{self, PeerFrame};
    use crate::raft::node::machine::LogService;
    use crate::sim::net::Storage;

    struct Setup {
        driver: Driver<LogService>,
        links: Vec<Option<mpsc::Receiver<Vec<u8>>>>,
        _dir: tempfile::TempDir,
    }

    fn driver(id: NodeId, servers: u8, snapshot_every: u64) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let (disk, durable, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
        let node = Node::restart(Config::new(id, servers), durable);
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for peer in 0..servers {
            if peer == id {
                senders.push(None);
                receivers.push(None);
            } else {
                let (tx, rx) = mpsc::channel(64);
                senders.push(Some(tx));
                receivers.push(Some(rx));
            }
        }
        let driver = Driver::new(
            node,
            disk,
            LogService::new(),
            snapshot_every,
            senders,
            vec![None; usize::from(servers)],
            Log::new(id, true),
        );
        Setup {
            driver,
            links: receivers,
            _dir: dir,
        }
    }

    fn propose(d: &mut Driver<LogService>, command: &str) -> ProposeOutcome {
        let (tx, mut rx) = oneshot::channel();
        d.handle(Event::Propose {
            command: command.as_bytes().to_vec(),
            reply: tx,
        })
        .unwrap();
        rx.try_recv().expect("a one-node cluster answers at once")
    }

    fn read(d: &mut Driver<LogService>) -> Option<ProposeOutcome> {
        let (tx, mut rx) = oneshot::channel();
        d.handle(Event::Read {
            query: b"summary".to_vec(),
            reply: tx,
        })
        .unwrap();
        rx.try_recv().ok()
    }

    #[test]
    fn reads_are_served_by_a_confirmed_leader_and_refused_elsewhere() {
        let mut s = driver(0, 1, 0);
        let d = &mut s.driver;
        assert!(matches!(
            read(d),
            Some(ProposeOutcome::NotLeader { leader: None, .. })
        ));
        d.step(Input::Timeout, None).unwrap();
        propose(d, "a");
        // A single node is its own majority: the round is confirmed at once.
        match read(d) {
            Some(ProposeOutcome::Applied { index, reply }) => {
                assert_eq!(index, d.applied);
                assert_eq!(String::from_utf8(reply).unwrap(), d.machine.summary());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_follower_refuses_reads_unless_built_to_read_from_any_node() {
        let mut s = driver(1, 3, 0);
        s.driver
            .handle(Event::Hello {
                from: 0,
                client_addr: "127.0.0.1:9000".into(),
            })
            .unwrap();
        s.driver
            .handle(Event::Receive {
                from: 0,
                message: Message::AppendEntries {
                    term: 1,
                    prev_log_index: 0,
                    prev_log_term: 0,
                    entries: Vec::new(),
                    leader_commit: 0,
                    round: 0,
                },
            })
            .unwrap();
        assert_eq!(
            read(&mut s.driver),
            Some(ProposeOutcome::NotLeader {
                leader: Some(0),
                client_addr: Some("127.0.0.1:9000".into())
            })
        );
        s.driver.runtime_bug = Some(RuntimeBug::ReadFromAnyNode);
        assert!(
            matches!(
                read(&mut s.driver),
                Some(ProposeOutcome::Applied { index: 0, .. })
            ),
            "the bug answers from the follower's own state"
        );
    }

    /// A leader of three whose heartbeat round is not answered keeps the read waiting,
    /// and serves it once a majority answered a round started after it.
    #[test]
    fn a_read_waits_for_a_majority_round() {
        let mut s = driver(0, 3, 0);
        let d = &mut s.driver;
        d.step(Input::Timeout, None).unwrap();
        // Pre-vote, then vote, from n1.
        for pre_vote in [true, false] {
            let term = d.node.term() + u64::from(pre_vote);
            d.handle(Event::Receive {
                from: 1,
                message: Message::RequestVoteResponse {
                    term,
                    granted: true,
                    pre_vote,
                },
            })
            .unwrap();
        }
        assert_eq!(d.node.role(), Role::Leader);
        let (tx, mut rx) = oneshot::channel();
        d.handle(Event::Read {
            query: b"q".to_vec(),
            reply: tx,
        })
        .unwrap();
        assert!(rx.try_recv().is_err(), "not confirmed yet");
        // The round the read started is the one its AppendEntries carry.
        let mut round = None;
        while let Ok(frame) = s.links[1].as_mut().unwrap().try_recv() {
            if let PeerFrame::Raft(Message::AppendEntries { round: r, .. }) =
                codec::decode_peer(&frame[4..]).unwrap()
            {
                round = Some(r);
            }
        }
        let last = d.node.last_index();
        d.handle(Event::Receive {
            from: 1,
            message: Message::AppendEntriesResponse {
                term: d.node.term(),
                success: true,
                index: last,
                round: round.expect("an AppendEntries went out"),
            },
        })
        .unwrap();
        assert!(
            matches!(rx.try_recv(), Ok(ProposeOutcome::Applied { index, .. }) if index == last),
            "served once a majority answered and the no-op is applied"
        );
    }

    #[test]
    fn queued_proposals_share_one_fsync_and_are_all_answered() {
        let mut s = driver(0, 1, 0);
        let d = &mut s.driver;
        d.step(Input::Timeout, None).unwrap();
        assert_eq!(d.node.role(), Role::Leader);
        let (tx, mut queue) = mpsc::channel(16);
        let mut answers = Vec::new();
        let mut first = None;
        for c in ["a", "b", "c", "d"] {
            let (reply, answer) = oneshot::channel();
            let event = Event::Propose {
                command: c.as_bytes().to_vec(),
                reply,
            };
            if first.is_none() {
                first = Some(event);
            } else {
                tx.try_send(event).unwrap();
            }
            answers.push(answer);
        }
        let before = d.disk.fsyncs();
        d.handle_queued(first.unwrap(), &mut queue).unwrap();
        assert_eq!(d.disk.fsyncs(), before + 1, "four proposals, one fsync");
        let entries = &d.disk.durable().entries;
        let commands: Vec<&[u8]> = entries.iter().map(|e| &e.command[..]).collect();
        assert_eq!(&commands[commands.len() - 4..], [b"a", b"b", b"c", b"d"]);
        for (i, mut answer) in answers.into_iter().enumerate() {
            match answer.try_recv() {
                Ok(ProposeOutcome::Applied { reply, .. }) => {
                    assert_eq!(reply, (i + 1).to_string().into_bytes());
                }
                other => panic!("proposal {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_status_in_a_batch_sees_the_proposals_queued_before_it() {
        let mut s = driver(0, 1, 0);
        let d = &mut s.driver;
        d.step(Input::Timeout, None).unwrap();
        let (tx, mut queue) = mpsc::channel(16);
        let (reply, _answer) = oneshot::channel();
        let (status, mut report) = oneshot::channel();
        tx.try_send(Event::Status { reply: status }).unwrap();
        let applied = d.applied;
        d.handle_queued(
            Event::Propose {
                command: b"x".to_vec(),
                reply,
            },
            &mut queue,
        )
        .unwrap();
        let report = report.try_recv().unwrap();
        assert_eq!(report.applied, applied + 1, "{report:?}");
        assert_eq!(report.fsyncs, d.disk.fsyncs());
    }

    #[test]
    fn a_single_node_applies_proposals_durably_and_compacts() {
        let mut s = driver(0, 1, 3);
        let d = &mut s.driver;
        d.step(Input::Timeout, None).unwrap();
        assert_eq!(d.node.role(), Role::Leader);
        let first = propose(d, "a");
        let ProposeOutcome::Applied { index, reply } = first else {
            panic!("{first:?}");
        };
        assert_eq!(reply, b"1");
        assert_eq!(d.disk.durable().term, d.node.term(), "the vote is durable");
        assert_eq!(
            d.disk.durable().entries.last().unwrap().command,
            b"a",
            "applied only once durable"
        );
        for (i, c) in ["b", "c", "d", "e"].iter().enumerate() {
            match propose(d, c) {
                ProposeOutcome::Applied { index: at, reply } => {
                    assert_eq!(at, index + 1 + i as u64);
                    assert_eq!(reply, (i + 2).to_string().into_bytes());
                }
                other => panic!("{other:?}"),
            }
        }
        let status = d.status();
        assert_eq!(status.applied, index + 4);
        assert!(status.snapshot >= 3, "compacted every 3: {status:?}");
        assert_eq!(status.first, status.snapshot + 1);
        let on_disk = d.disk.durable().snapshot.clone().unwrap();
        assert_eq!(on_disk.last_index, status.snapshot);
        let mut restored = LogService::new();
        restored.restore(&on_disk.data).unwrap();
        assert!(restored.count() >= 2);
    }

    #[test]
    fn a_follower_points_clients_at_the_leader_and_sends_what_the_core_says() {
        let mut s = driver(1, 3, 0);
        s.driver
            .handle(Event::Hello {
                from: 0,
                client_addr: "127.0.0.1:9000".into(),
            })
            .unwrap();
        // Nobody leads yet.
        assert_eq!(
            propose(&mut s.driver, "x"),
            ProposeOutcome::NotLeader {
                leader: None,
                client_addr: None
            }
        );
        // A heartbeat from n0 as leader of term 1.
        s.driver
            .handle(Event::Receive {
                from: 0,
                message: Message::AppendEntries {
                    term: 1,
                    prev_log_index: 0,
                    prev_log_term: 0,
                    entries: Vec::new(),
                    leader_commit: 0,
                    round: 0,
                },
            })
            .unwrap();
        assert_eq!(
            propose(&mut s.driver, "x"),
            ProposeOutcome::NotLeader {
                leader: Some(0),
                client_addr: Some("127.0.0.1:9000".into())
            }
        );
        assert_eq!(s.driver.disk.durable().term, 1, "the new term is durable");
        // The answer went to n0's link, as a frame.
        let frame = s.links[0].as_mut().unwrap().try_recv().expect("a reply");
        match codec::decode_peer(&frame[4..]).unwrap() {
            PeerFrame::Raft(Message::AppendEntriesResponse { term, success, .. }) => {
                assert_eq!((term, success), (1, true));
            }
            other => panic!("{other:?}"),
        }
        assert!(s.links[2].as_mut().unwrap().try_recv().is_err());
    }
}

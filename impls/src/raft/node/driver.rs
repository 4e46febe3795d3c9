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
        let effects = self.node.step(input);
        self.execute(effects, client)?;
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
            match effect {
                Effect::Persist(first) => {
                    let mut batch: Vec<Persist> = vec![first];
                    while let Some(Effect::Persist(_)) = effects.peek() {
                        if let Some(Effect::Persist(p)) = effects.next() {
                            batch.push(p);
                        }
                    }
                    self.disk.persist(&batch)?;
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
        let effects = self.node.step(Input::Compact {
            index: self.applied,
            data,
        });
        self.execute(effects, None)
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

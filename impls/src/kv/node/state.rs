//! A node's protocol state and the synchronous logic that drives the sans-IO core through
//! its [`Core::step`]: it turns the coordinator's effects into frames on peer links, runs
//! the local replica without the network (but through the log), and answers clients.
//!
//! Everything here runs under the node's one state lock and never awaits: the tasks that
//! own sockets decode frames, take the lock, call in here, and let go. Outgoing frames are
//! encoded straight into the links' queues, and records into the commit queue.

use super::commit::{CommitQueue, Done};
use super::outbox::Outbox;
use super::record;
use super::NodeConfig;
use crate::kv::core::{
    Bug, Consistency, Coordinator, CoordinatorEffect, CoordinatorInput, Msg, OpId, Outcome, Phase,
    Replica, ReplicaEffect, ReplicaInput, Request, Versioned,
};
use crate::kv::error::{ErrorCode, KvError};
use crate::kv::membership::Membership;
use crate::kv::ring::Ring;
use crate::kv::stats::Stats;
use crate::kv::wire::{self, PeerFrame, Response};
use crate::kv::NodeId;
use crate::sansio::Core;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// This node's connection to one peer: the queue its link task writes to the socket.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) peer: NodeId,
    pub(crate) addr: String,
    pub(crate) out: Outbox,
}

/// A client waiting for the outcome of a request this node coordinates.
#[derive(Debug)]
struct Waiter {
    client: Arc<Outbox>,
    id: u64,
    /// The request's place in its connection's in-flight limit, given back when it is
    /// answered.
    _slot: Option<OwnedSemaphorePermit>,
}

/// A node's state. See the module docs.
pub(crate) struct State {
    pub(crate) id: NodeId,
    rf: usize,
    vnodes: usize,
    request_timeout: Duration,
    handoff_delay: Duration,
    quiet: bool,
    pub(crate) coord: Coordinator<String, String>,
    pub(crate) replica: Replica<String, String>,
    pub(crate) membership: Membership,
    pub(crate) ring: Ring,
    /// Outgoing links to every other member (and to nothing else).
    pub(crate) links: BTreeMap<NodeId, Arc<Link>>,
    /// Links created under the lock, for the caller to start once it lets go.
    pub(crate) new_links: Vec<Arc<Link>>,
    waiting: HashMap<OpId, Waiter>,
    /// Request deadlines, in the order they were set (all requests have the same
    /// timeout, so this is also deadline order).
    deadlines: VecDeque<(Instant, OpId)>,
    /// When to cover the replicas of a write that have not acknowledged it with hints.
    handoffs: VecDeque<(Instant, OpId)>,
    /// Keys whose newest value is in a log record not yet durable, and that record's
    /// sequence number (entries at or below `durable_lsn` are stale and ignored).
    unsynced: HashMap<String, u64>,
    pub(crate) durable_lsn: u64,
    pub(crate) commit: Arc<CommitQueue>,
    pub(crate) stats: Stats,
    /// Messages from the coordinator not yet delivered; see [`State::effects`].
    outq: VecDeque<(NodeId, Msg<String, String>)>,
    draining: bool,
    /// Set while the node is being repaired after rejoining empty (see `repair`).
    pub(crate) repair: Option<super::repair::Repair>,
}

impl State {
    pub(crate) fn new(
        config: &NodeConfig,
        incarnation: u32,
        replica: Replica<String, String>,
        membership: Membership,
        commit: Arc<CommitQueue>,
    ) -> State {
        let ring = membership.ring(config.vnodes);
        State {
            id: config.id,
            rf: config.rf,
            vnodes: config.vnodes,
            request_timeout: config.request_timeout,
            handoff_delay: config.handoff_delay(),
            quiet: config.quiet,
            coord: Coordinator::new(config.id, incarnation, config.bug),
            replica,
            membership,
            ring,
            links: BTreeMap::new(),
            new_links: Vec::new(),
            waiting: HashMap::new(),
            deadlines: VecDeque::new(),
            handoffs: VecDeque::new(),
            unsynced: HashMap::new(),
            durable_lsn: 0,
            commit,
            stats: Stats {
                node: config.id,
                incarnation,
                ..Stats::default()
            },
            outq: VecDeque::new(),
            draining: false,
            repair: None,
        }
    }

    pub(crate) fn rf(&self) -> usize {
        self.rf
    }

    pub(crate) fn vnodes(&self) -> usize {
        self.vnodes
    }

    pub(crate) fn log(&self, message: std::fmt::Arguments<'_>) {
        if !self.quiet {
            eprintln!("kv-node n{}: {message}", self.id);
        }
    }

    /// Whether `node` can be sent to now: this node, or a peer whose link is connected.
    pub(crate) fn is_live(&self, node: NodeId) -> bool {
        node == self.id || self.links.get(&node).is_some_and(|l| l.out.is_up())
    }

    // ----- clients -------------------------------------------------------------------

    /// Starts a client's put or get. The response goes to `client` with `id`, now (if
    /// the request is refused or completes locally) or later; `slot` is held until then.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn begin(
        &mut self,
        client: &Arc<Outbox>,
        id: u64,
        slot: Option<OwnedSemaphorePermit>,
        key: String,
        request: Request<String>,
        consistency: Consistency,
        wall_clock_us: u64,
    ) {
        if self.is_repairing() && matches!(request, Request::Put(_)) {
            // Its incarnation may still rise (see `repair`): no versions until then.
            self.stats.unavailable += 1;
            let e = KvError::unavailable(format!(
                "node n{} rejoined with an empty store and is being repaired by its peers; \
                 it coordinates no puts until then (send them to another node)",
                self.id
            ));
            respond(client, id, &Response::Error(e));
            return;
        }
        if let Err(e) = self.check_available(&key, consistency) {
            self.stats.unavailable += 1;
            respond(client, id, &Response::Error(e));
            return;
        }
        let replicas = self.ring.replicas(key.as_bytes(), self.rf);
        let effects = self.coord.step(CoordinatorInput::Begin {
            key,
            request,
            replicas,
            rf: self.rf,
            consistency,
            clock: wall_clock_us,
        });
        let mut slot = slot;
        let mut rest = Vec::with_capacity(effects.len());
        for effect in effects {
            match effect {
                CoordinatorEffect::Refused(u) => {
                    self.stats.unavailable += 1;
                    let e = KvError::unavailable(format!(
                        "the key has {} replicas and {} needs {}",
                        u.replicas,
                        consistency.name(),
                        u.required
                    ));
                    respond(client, id, &Response::Error(e));
                }
                // The waiter is in place before the request's sends go out (below), so a
                // reply from this node's own replica finds it.
                CoordinatorEffect::Started { op } => {
                    self.waiting.insert(
                        op,
                        Waiter {
                            client: Arc::clone(client),
                            id,
                            _slot: slot.take(),
                        },
                    );
                    self.deadlines
                        .push_back((Instant::now() + self.request_timeout, op));
                }
                other => rest.push(other),
            }
        }
        self.effects(rest);
    }

    /// Refuses a request, definitely, when this node is not a member or fewer of the
    /// key's replicas are reachable than the level needs: better than sending it and
    /// timing out, and the client learns that nothing happened.
    fn check_available(&self, key: &str, consistency: Consistency) -> Result<(), KvError> {
        if !self.membership.contains(self.id) {
            return Err(KvError::unavailable(format!(
                "node n{} is not a member of the cluster (membership epoch {}); send requests to a member",
                self.id, self.membership.epoch
            )));
        }
        let replicas = self.ring.replicas(key.as_bytes(), self.rf);
        let required = consistency.required(self.rf);
        if replicas.len() < required {
            return Err(KvError::unavailable(format!(
                "the cluster has {} members, so the key has {} of its {} replicas, and {} needs {required}",
                self.membership.members.len(),
                replicas.len(),
                self.rf,
                consistency.name()
            )));
        }
        // A repairing node's own replica answers no reads.
        let live = replicas
            .iter()
            .filter(|&&r| self.is_live(r) && !(r == self.id && self.is_repairing()))
            .count();
        if live < required {
            let down: Vec<String> = replicas
                .iter()
                .filter(|&&r| !self.is_live(r))
                .map(|r| format!("n{r}"))
                .collect();
            return Err(KvError::unavailable(format!(
                "only {live} of the key's replicas are reachable ({} down) and {} needs {required}",
                down.join(", "),
                consistency.name()
            )));
        }
        Ok(())
    }

    /// Answers a finished request's client, if it is still waiting.
    fn finish(&mut self, op: OpId, outcome: Outcome<String>) {
        let Some(w) = self.waiting.remove(&op) else {
            return;
        };
        let response = match outcome {
            Outcome::Written { .. } => {
                self.stats.puts += 1;
                Response::Ok
            }
            Outcome::Read { value, repaired } => {
                self.stats.gets += 1;
                self.stats.repairs += u64::from(repaired);
                Response::Value(value.map(|v| v.value))
            }
        };
        respond(&w.client, w.id, &response);
    }

    // ----- the coordinator's effects ---------------------------------------------------

    /// Carries out a coordinator step's effects, in order: answers the client of a
    /// request that finished, and delivers messages, to peers through their links and to
    /// this node's own replica directly. A local delivery can make the coordinator step
    /// again (a local read reply may complete the query phase), which lands here
    /// re-entrantly; such messages join the queue that the outermost call drains, so
    /// messages go out in the order the coordinator produced them.
    ///
    /// [`CoordinatorEffect::Started`] and [`CoordinatorEffect::Refused`] answer a `Begin`,
    /// and [`CoordinatorEffect::Abandoned`] an `Abandon`: their callers handle them, and
    /// they are ignored here.
    pub(crate) fn effects(&mut self, effects: Vec<CoordinatorEffect<String, String>>) {
        let mut write_started = false;
        for effect in effects {
            match effect {
                CoordinatorEffect::Finished { op, outcome } => self.finish(op, outcome),
                CoordinatorEffect::Send { to, msg } => {
                    if let Msg::Write {
                        op, hint_for: None, ..
                    } = &msg
                    {
                        if !write_started {
                            // The write (or repair) phase starts now: replicas that have
                            // not acknowledged it by the hand-off delay get a hint on a
                            // fallback.
                            write_started = true;
                            self.handoffs
                                .push_back((Instant::now() + self.handoff_delay, *op));
                        }
                    }
                    self.outq.push_back((to, msg));
                }
                CoordinatorEffect::Started { .. }
                | CoordinatorEffect::Refused(_)
                | CoordinatorEffect::Abandoned { .. } => {}
            }
        }
        if self.draining {
            return;
        }
        self.draining = true;
        while let Some((to, msg)) = self.outq.pop_front() {
            if to == self.id {
                self.on_replica_msg(to, msg);
            } else {
                self.send_to_replica(to, msg);
            }
        }
        self.draining = false;
    }

    fn send_to_replica(&mut self, to: NodeId, msg: Msg<String, String>) {
        let frame = PeerFrame::Core(msg);
        let sent = self
            .links
            .get(&to)
            .is_some_and(|l| l.out.push(|b| wire::encode_peer(b, &frame)));
        if sent {
            return;
        }
        if let PeerFrame::Core(Msg::Write {
            op, hint_for: None, ..
        }) = frame
        {
            // The replica is known to be unreachable: hand off now rather than after the
            // hand-off delay.
            self.hand_off(op, to);
        }
    }

    /// Covers `replica`'s missing acknowledgement of request `op` with a hint on the
    /// first live fallback in the key's preference list.
    pub(crate) fn hand_off(&mut self, op: OpId, replica: NodeId) {
        let Some(c) = self.coord.get(op) else {
            return;
        };
        if c.phase() == Phase::Query
            || c.holders().contains(&replica)
            || c.hinted().contains(&replica)
        {
            return;
        }
        let Some(fallback) = self.fallback(c.key(), replica) else {
            return;
        };
        let effects = self.coord.step(CoordinatorInput::HandOff {
            op,
            replica,
            fallback,
        });
        if effects
            .iter()
            .any(|e| matches!(e, CoordinatorEffect::Send { .. }))
        {
            self.stats.handoffs += 1;
        }
        self.effects(effects);
    }

    /// The fallback for `replica` of `key`: the first live node after the replicas in the
    /// preference list, or, in a cluster with no such node, any other live replica.
    fn fallback(&self, key: &str, replica: NodeId) -> Option<NodeId> {
        let pref = self.ring.preference_list(key.as_bytes());
        let split = self.rf.min(pref.len());
        pref[split..]
            .iter()
            .chain(&pref[..split])
            .copied()
            .find(|&n| n != replica && self.is_live(n))
    }

    /// Hands off every replica of `op` that has not acknowledged its write yet.
    pub(crate) fn hand_off_laggards(&mut self, op: OpId) {
        let Some(c) = self.coord.get(op) else {
            return;
        };
        if c.phase() == Phase::Query {
            return;
        }
        let laggards: Vec<NodeId> = c
            .replicas()
            .iter()
            .copied()
            .filter(|r| !c.holders().contains(r) && !c.hinted().contains(r))
            .collect();
        for r in laggards {
            self.hand_off(op, r);
        }
    }

    /// Gives up on requests whose deadline passed (answering their clients with a
    /// timeout, definite unless a put's write may already be on a replica), and hands off
    /// laggards of writes whose hand-off delay passed.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(&(at, op)) = self.handoffs.front() {
            if at > now {
                break;
            }
            self.handoffs.pop_front();
            self.hand_off_laggards(op);
        }
        while let Some(&(at, op)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            // A get under AsyncReadRepair answered already but keeps repairing: abandon it
            // all the same, so the coordinator forgets it.
            let abandoned = self
                .coord
                .step(CoordinatorInput::Abandon { op })
                .into_iter()
                .find_map(|e| match e {
                    CoordinatorEffect::Abandoned { coordination, .. } => Some(coordination),
                    _ => None,
                });
            let Some(c) = abandoned else {
                continue;
            };
            let Some(w) = self.waiting.remove(&op) else {
                continue;
            };
            self.stats.timeouts += 1;
            let definite = !c.may_have_taken_effect();
            let what = match c.request() {
                Request::Put(_) => "put",
                Request::Get => "get",
            };
            let progress = match c.phase() {
                Phase::Query => format!(
                    "while reading the replicas' versions (fewer than {} answered)",
                    c.required()
                ),
                Phase::Write => format!(
                    "while writing: {} of the {} required replicas acknowledged",
                    c.holders().len(),
                    c.required()
                ),
                Phase::Repair => format!(
                    "while repairing stale replicas: {} of the {} required hold the value",
                    c.holders().len(),
                    c.required()
                ),
            };
            let effect = match (c.request(), definite) {
                (Request::Get, _) => "a get changes nothing",
                (Request::Put(_), true) => "nothing was written",
                (Request::Put(_), false) => "the value may be on some replicas",
            };
            let text = format!(
                "{what} of key {:?} timed out after {} ms {progress}; {effect}",
                c.key(),
                self.request_timeout.as_millis(),
            );
            respond(
                &w.client,
                w.id,
                &Response::Error(KvError::new(ErrorCode::Timeout, text, definite)),
            );
        }
    }

    // ----- the replica ---------------------------------------------------------------

    /// Sends a replica's reply to `to`: to this node's coordinator directly, or over the
    /// link to a peer (a reply that cannot be sent is lost, like any message; the
    /// coordinator times out or hands off).
    pub(crate) fn reply(&mut self, to: NodeId, frame: PeerFrame) {
        if to == self.id {
            if let PeerFrame::Core(msg) = frame {
                let effects = self.coord.step(CoordinatorInput::Receive { from: to, msg });
                self.effects(effects);
            }
            return;
        }
        if let Some(l) = self.links.get(&to) {
            l.out.push(|b| wire::encode_peer(b, &frame));
        }
    }

    /// Whether the newest value this node holds for `key` may not be durable yet.
    fn is_unsynced(&self, key: &str) -> bool {
        self.unsynced
            .get(key)
            .is_some_and(|&lsn| lsn > self.durable_lsn)
    }

    /// Sends `frame` to `to` once every record queued so far is durable (at once if
    /// nothing that concerns `key` is pending).
    fn reply_after_sync(&mut self, to: NodeId, key: &str, frame: PeerFrame) {
        if self.is_unsynced(key) {
            self.commit.barrier(Done { to, frame });
        } else {
            self.reply(to, frame);
        }
    }

    /// The replica's side of a coordinator's message from `from` (possibly this node).
    pub(crate) fn on_replica_msg(&mut self, from: NodeId, msg: Msg<String, String>) {
        let key = match &msg {
            Msg::Read { op, .. } if self.is_repairing() => {
                // It may have lost writes it acknowledged: its answer must not count (see
                // `repair`). Its own coordinator simply gets no answer.
                if from != self.id {
                    if let Some(l) = self.links.get(&from) {
                        let frame = PeerFrame::NotReady { op: *op };
                        l.out.push(|b| wire::encode_peer(b, &frame));
                    }
                }
                return;
            }
            Msg::Read { key, .. } => key.clone(),
            Msg::Write { key, hint_for, .. } => {
                if hint_for.is_some() && from != self.id {
                    self.stats.hints_stored += 1;
                }
                key.clone()
            }
            // Replies are for the coordinator.
            Msg::ReadReply { .. } | Msg::WriteAck { .. } => {
                let effects = self.coord.step(CoordinatorInput::Receive { from, msg });
                self.effects(effects);
                return;
            }
        };
        let effects = self.replica.step(ReplicaInput::Receive { from, msg });
        self.replica_effects(&key, effects, None);
    }

    /// Stores a value (or a hint) that no coordinator waits for: a hint handed over by its
    /// holder, or a copy or hint made because the ring changed. If it changed anything it
    /// is logged, and `ack` is sent once what it promises is durable.
    pub(crate) fn store(
        &mut self,
        key: String,
        value: Versioned<String>,
        hint_for: Option<NodeId>,
        ack: Option<Done>,
    ) {
        let effects = self.replica.step(ReplicaInput::Store {
            key: key.clone(),
            value,
            hint_for,
        });
        self.replica_effects(&key, effects, ack);
    }

    /// Carries out the effects of a replica step about `key`, in order, and then `then`, a
    /// reply the node adds to a step on a handed-over hint (whose acknowledgement is not a
    /// protocol message).
    ///
    /// A persist is appended to the log, and the reply right after it (the core puts a
    /// write's acknowledgement there) is released with the batch that makes the record
    /// durable. A reply that follows no persist of its step promises what earlier steps
    /// stored: it waits until `key`'s newest record is durable (see
    /// [`State::reply_after_sync`]), or, for a hint's acknowledgement, until everything
    /// queued is (hints are not tracked by key).
    pub(crate) fn replica_effects(
        &mut self,
        key: &str,
        effects: Vec<ReplicaEffect<String, String>>,
        then: Option<Done>,
    ) {
        let mut then = then;
        let mut persisted = false;
        let mut effects = effects.into_iter().peekable();
        while let Some(effect) = effects.next() {
            match effect {
                ReplicaEffect::Persist {
                    key,
                    value,
                    hint_for,
                } => {
                    let done = match effects.next_if(|e| matches!(e, ReplicaEffect::Send { .. })) {
                        Some(ReplicaEffect::Send { to, msg }) => Some(Done {
                            to,
                            frame: PeerFrame::Core(msg),
                        }),
                        _ if effects.peek().is_none() => then.take(),
                        _ => None,
                    };
                    let lsn = self
                        .commit
                        .append(|b| record::write(b, &key, &value, hint_for), done);
                    if hint_for.is_none() {
                        self.unsynced.insert(key, lsn);
                    }
                    persisted = true;
                }
                ReplicaEffect::HintDropped {
                    replica,
                    key,
                    version,
                } => {
                    // Not synced on its own: if it is lost, the hint is delivered again.
                    self.commit
                        .append(|b| record::hint_done(b, replica, &key, &version), None);
                }
                ReplicaEffect::Send { to, msg } => {
                    let frame = PeerFrame::Core(msg);
                    self.release(persisted, key, Done { to, frame });
                }
            }
        }
        if let Some(done) = then {
            self.release(persisted, key, done);
        }
    }

    /// Sends a replica's reply about `key` once what it promises is durable: behind every
    /// queued record if its step persisted something or it acknowledges a hint, else
    /// behind `key`'s newest record.
    fn release(&mut self, persisted: bool, key: &str, done: Done) {
        let hint_ack = matches!(
            done.frame,
            PeerFrame::Core(Msg::WriteAck {
                hint_for: Some(_),
                ..
            })
        );
        if persisted || hint_ack {
            // A hint already held may be in a batch still being written.
            self.commit.barrier(done);
        } else {
            self.reply_after_sync(done.to, key, done.frame);
        }
    }

    /// Records that the batch up to `lsn` is durable.
    pub(crate) fn durable(&mut self, lsn: u64, records: usize) {
        if records > 0 {
            self.stats.wal_syncs += 1;
            self.stats.wal_records += records as u64;
        }
        self.durable_lsn = self.durable_lsn.max(lsn);
        // Entries are needed only while their record is in flight; drop the stale ones
        // once they dominate, so the map stays about as large as one batch.
        if self.unsynced.len() > 4096 {
            let durable = self.durable_lsn;
            self.unsynced.retain(|_, lsn| *lsn > durable);
        }
    }

    // ----- peers -----------------------------------------------------------------------

    /// Handles one frame from peer `from` (after its hello).
    pub(crate) fn on_peer_frame(&mut self, from: NodeId, frame: PeerFrame) {
        match frame {
            PeerFrame::Core(msg) => self.on_replica_msg(from, msg),
            PeerFrame::HintWrite { key, value } => {
                let frame = PeerFrame::HintAck {
                    key: key.clone(),
                    version: value.version,
                };
                self.store(key, value, None, Some(Done { to: from, frame }));
            }
            PeerFrame::HintAck { key, version } => {
                let effects = self.replica.step(ReplicaInput::HintDelivered {
                    replica: from,
                    key: key.clone(),
                    version,
                });
                if !effects.is_empty() {
                    self.stats.hints_delivered += 1;
                }
                self.replica_effects(&key, effects, None);
            }
            PeerFrame::Membership(m) => {
                self.adopt(m);
            }
            PeerFrame::NotReady { .. } => self.stats.not_ready_replies += 1,
            PeerFrame::RepairRequest => self.on_repair_request(from),
            PeerFrame::RepairValue { key, value } => self.store(key, value, None, None),
            PeerFrame::RepairDone {
                complete,
                max_incarnation,
            } => self.on_repair_done(from, complete, max_incarnation),
            // Heartbeats are answered by the connection's task; a hello after the first
            // frame is ignored.
            PeerFrame::Ping | PeerFrame::Pong | PeerFrame::Hello { .. } => {}
        }
    }

    /// A snapshot of the counters, with the gauges filled in.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            epoch: self.membership.epoch,
            members: self.membership.members.len() as u64,
            peers_up: self.links.values().filter(|l| l.out.is_up()).count() as u64,
            hints_pending: self.replica.hint_count() as u64,
            keys: self.replica.values().count() as u64,
            ..self.stats.clone()
        }
    }

    /// The bug the coordinator was built with.
    pub(crate) fn bug(&self) -> Option<Bug> {
        self.coord.bug()
    }
}

/// Queues `response` to request `id` on a client connection (dropped if the client left).
pub(crate) fn respond(client: &Outbox, id: u64, response: &Response) {
    client.push(|b| wire::encode_response(b, id, response));
}

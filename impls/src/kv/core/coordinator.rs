//! The coordinator: drives each request through its phases (read versions, write,
//! repair) and decides when enough replicas have answered.

use super::{Bug, Consistency, Msg, OpId, Version, Versioned};
use crate::kv::NodeId;
use crate::sansio::{Core, Effect, EffectKind};
use std::collections::{BTreeMap, BTreeSet};

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Request<V> {
    /// Set the key's value.
    Put(V),
    /// Read the key's value.
    Get,
}

/// How a request finished.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome<V> {
    /// A put is durable on `required` replicas with this version.
    Written {
        /// The version the put was given.
        version: Version,
    },
    /// A get's answer: the newest value of the replicas read (`None`: the key was never
    /// written on any of them).
    Read {
        /// The value returned to the client.
        value: Option<Versioned<V>>,
        /// Whether some replica was sent the value because it was found stale or missing.
        repaired: bool,
    },
}

/// Where a request is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Reading `required` replicas: a put learns the highest version, a get the newest value.
    Query,
    /// A put is writing its value and waits for `required` acknowledgements.
    Write,
    /// A get is writing the newest value back to the replicas that did not show it.
    Repair,
}

/// One request at its coordinator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coordination<K, V> {
    key: K,
    request: Request<V>,
    replicas: Vec<NodeId>,
    required: usize,
    phase: Phase,
    /// Query phase: what each replica that answered holds.
    replies: BTreeMap<NodeId, Option<Versioned<V>>>,
    /// Write and repair phases: the value being written.
    value: Option<Versioned<V>>,
    /// Replicas known to hold `value` or a higher version.
    holders: BTreeSet<NodeId>,
    /// Replicas for which a fallback acknowledged a hint.
    hinted: BTreeSet<NodeId>,
    /// The outcome was already returned (a get under [`Bug::AsyncReadRepair`] keeps
    /// repairing after it answered).
    answered: bool,
}

impl<K: Clone, V: Clone> Coordination<K, V> {
    /// The key the request is for.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The request.
    pub fn request(&self) -> &Request<V> {
        &self.request
    }

    /// The key's replicas, in preference order.
    pub fn replicas(&self) -> &[NodeId] {
        &self.replicas
    }

    /// Answers needed in each phase.
    pub fn required(&self) -> usize {
        self.required
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The value being written or repaired, once the query phase is over.
    pub fn value(&self) -> Option<&Versioned<V>> {
        self.value.as_ref()
    }

    /// Replicas known to hold the value being written (or a higher version).
    pub fn holders(&self) -> &BTreeSet<NodeId> {
        &self.holders
    }

    /// Replicas covered by an acknowledged hint.
    pub fn hinted(&self) -> &BTreeSet<NodeId> {
        &self.hinted
    }

    /// Whether the outcome was returned already.
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// Whether a put may already be visible to others: once its first write is sent, a
    /// failed put is indefinite. A get never changes what others read (read repair only
    /// spreads a value that some replica already holds), so a failed get is definite.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self.request, Request::Put(_)) && self.phase == Phase::Write
    }

    fn write_to(
        &self,
        op: OpId,
        targets: impl Iterator<Item = NodeId>,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let value = self.value.clone().expect("writes carry a value");
        targets
            .map(|to| CoordinatorEffect::Send {
                to,
                msg: Msg::Write {
                    op,
                    key: self.key.clone(),
                    value: value.clone(),
                    hint_for: None,
                },
            })
            .collect()
    }

    /// Whether enough replicas hold the value for the write or repair to be complete.
    fn write_complete(&self, bug: Option<Bug>) -> bool {
        let mut count = self.holders.len();
        if bug == Some(Bug::SloppyQuorum) {
            // The bug: a hint stands in for the replica it was meant for.
            count += self.hinted.difference(&self.holders).count();
        }
        count >= self.required
    }
}

/// What a [`Coordinator`] steps on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorInput<K, V> {
    /// A client's request for `key`, whose replicas are `replicas` out of a replication
    /// factor `rf`. `clock` is the coordinator's wall-clock reading, used only by
    /// [`Bug::WallClockLww`] (a core reads no clock: the driver supplies it).
    Begin {
        /// The key.
        key: K,
        /// The request.
        request: Request<V>,
        /// The key's replicas in the current ring, in preference order.
        replicas: Vec<NodeId>,
        /// The replication factor.
        rf: usize,
        /// How many replicas must answer.
        consistency: Consistency,
        /// The wall clock, for [`Bug::WallClockLww`].
        clock: u64,
    },
    /// A replica's reply ([`Msg::ReadReply`] or [`Msg::WriteAck`]) from node `from`.
    /// Replies for requests no longer in flight, from nodes that are not the key's
    /// replicas, or for an earlier phase are ignored, as are requests.
    Receive {
        /// The replica (or fallback) that replied.
        from: NodeId,
        /// The reply.
        msg: Msg<K, V>,
    },
    /// Cover `replica`, which has not acknowledged the write of request `op`, with a hint
    /// sent to `fallback`. Does nothing unless the request is writing or repairing and the
    /// replica is one of the key's, not yet known to hold the value and not yet hinted.
    HandOff {
        /// The request.
        op: OpId,
        /// The replica that has not acknowledged.
        replica: NodeId,
        /// The node to hold the hint.
        fallback: NodeId,
    },
    /// Give up on request `op` (its client timed out); later replies are ignored.
    Abandon {
        /// The request.
        op: OpId,
    },
}

/// What a [`Coordinator`] asks its driver to do, in the order returned.
///
/// A coordinator keeps nothing durable of its own (its incarnation is the node's business),
/// so it never returns a [`EffectKind::Persist`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorEffect<K, V> {
    /// A [`CoordinatorInput::Begin`] started request `op`. It comes before the request's
    /// first send, so the driver can note who waits for `op` before any reply can arrive.
    Started {
        /// The request's id, unique among this coordinator's requests in flight.
        op: OpId,
    },
    /// A [`CoordinatorInput::Begin`] was refused: the key has fewer replicas than the
    /// consistency level needs. Definite: nothing was sent.
    Refused(Unavailable),
    /// Send `msg` to node `to`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: Msg<K, V>,
    },
    /// Request `op` finished: answer its client with `outcome`. Returned once per request.
    Finished {
        /// The request.
        op: OpId,
        /// How it finished.
        outcome: Outcome<V>,
    },
    /// Request `op` was abandoned; this is what it was when given up, which tells whether
    /// it may have taken effect ([`Coordination::may_have_taken_effect`]). Boxed: it is
    /// much larger than the other effects and rare.
    Abandoned {
        /// The request.
        op: OpId,
        /// Its state when abandoned.
        coordination: Box<Coordination<K, V>>,
    },
}

impl<K, V> Effect for CoordinatorEffect<K, V> {
    fn kind(&self) -> EffectKind {
        match self {
            CoordinatorEffect::Send { .. } => EffectKind::Send,
            CoordinatorEffect::Started { .. }
            | CoordinatorEffect::Refused(_)
            | CoordinatorEffect::Finished { .. }
            | CoordinatorEffect::Abandoned { .. } => EffectKind::Other,
        }
    }
}

/// Why a request could not start. Definite: nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// Replicas the key has in the current ring.
    pub replicas: usize,
    /// Replicas the consistency level needs.
    pub required: usize,
}

/// Every request one node coordinates, and what it needs to choose versions.
///
/// Guarantees: versions this coordinator chooses are unique (see [`Version`]), and a put
/// completes only when `required` replicas (never fallbacks, unless built with
/// [`Bug::SloppyQuorum`]) acknowledged its value durably; a get answers only when
/// `required` replicas are known to hold the value it returns (unless built with
/// [`Bug::AsyncReadRepair`]).
///
/// It is driven through [`Core::step`]; the methods here only read its state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coordinator<K, V> {
    node: NodeId,
    incarnation: u32,
    bug: Option<Bug>,
    /// The highest version counter this incarnation has chosen.
    last_counter: u64,
    next_op: OpId,
    ops: BTreeMap<OpId, Coordination<K, V>>,
}

impl<K: Clone, V: Clone> Coordinator<K, V> {
    /// A coordinator for `node` in its `incarnation`-th run, built with `bug` if any.
    pub fn new(node: NodeId, incarnation: u32, bug: Option<Bug>) -> Coordinator<K, V> {
        Coordinator {
            node,
            incarnation,
            bug,
            last_counter: 0,
            next_op: 1,
            ops: BTreeMap::new(),
        }
    }

    /// Moves this coordinator to a higher `incarnation`, for a node that settles its
    /// incarnation only after it started (one that lost its log learns from its peers the
    /// incarnations it used before).
    ///
    /// Versions stay unique only if no version was chosen with the old incarnation that
    /// could also be chosen with the new one; the caller guarantees it by starting no put
    /// before the call. Panics if `incarnation` is lower than the current one.
    pub fn set_incarnation(&mut self, incarnation: u32) {
        assert!(
            incarnation >= self.incarnation,
            "incarnations only grow ({} -> {incarnation})",
            self.incarnation
        );
        self.incarnation = incarnation;
    }

    /// The node this coordinator runs on.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The bug it was built with.
    pub fn bug(&self) -> Option<Bug> {
        self.bug
    }

    /// A request in flight.
    pub fn get(&self, op: OpId) -> Option<&Coordination<K, V>> {
        self.ops.get(&op)
    }

    /// Every request in flight, by id.
    pub fn ops(&self) -> impl Iterator<Item = (OpId, &Coordination<K, V>)> {
        self.ops.iter().map(|(op, c)| (*op, c))
    }

    fn begin(
        &mut self,
        key: K,
        request: Request<V>,
        replicas: Vec<NodeId>,
        rf: usize,
        consistency: Consistency,
        clock: u64,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let required = consistency.required(rf);
        if required == 0 || replicas.len() < required {
            return vec![CoordinatorEffect::Refused(Unavailable {
                replicas: replicas.len(),
                required,
            })];
        }
        let op = self.next_op;
        self.next_op += 1;
        let mut c = Coordination {
            key,
            request,
            replicas,
            required,
            phase: Phase::Query,
            replies: BTreeMap::new(),
            value: None,
            holders: BTreeSet::new(),
            hinted: BTreeSet::new(),
            answered: false,
        };
        let mut effects = vec![CoordinatorEffect::Started { op }];
        match (&c.request, self.bug) {
            (Request::Put(v), Some(Bug::WallClockLww)) => {
                // The bug: the version is a timestamp; nothing is read first.
                c.value = Some(Versioned {
                    version: Version {
                        counter: clock,
                        node: self.node,
                        incarnation: self.incarnation,
                    },
                    value: v.clone(),
                });
                c.phase = Phase::Write;
                effects.extend(c.write_to(op, c.replicas.clone().into_iter()));
            }
            _ => effects.extend(c.replicas.iter().map(|&to| CoordinatorEffect::Send {
                to,
                msg: Msg::Read {
                    op,
                    key: c.key.clone(),
                },
            })),
        }
        self.ops.insert(op, c);
        effects
    }

    fn receive(&mut self, from: NodeId, msg: Msg<K, V>) -> Vec<CoordinatorEffect<K, V>> {
        match msg {
            Msg::ReadReply { op, current } => self.on_read_reply(op, from, current),
            Msg::WriteAck { op, hint_for } => self.on_write_ack(op, from, hint_for),
            Msg::Read { .. } | Msg::Write { .. } => Vec::new(),
        }
    }

    fn on_read_reply(
        &mut self,
        op: OpId,
        from: NodeId,
        current: Option<Versioned<V>>,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Vec::new();
        };
        if c.phase != Phase::Query || !c.replicas.contains(&from) {
            return Vec::new();
        }
        c.replies.insert(from, current);
        if c.replies.len() < c.required {
            return Vec::new();
        }
        let newest = c
            .replies
            .values()
            .flatten()
            .max_by_key(|v| v.version)
            .cloned();
        match c.request.clone() {
            Request::Put(v) => {
                let seen = newest.map_or(0, |n| n.version.counter);
                self.last_counter = self.last_counter.max(seen) + 1;
                c.value = Some(Versioned {
                    version: Version {
                        counter: self.last_counter,
                        node: self.node,
                        incarnation: self.incarnation,
                    },
                    value: v,
                });
                c.phase = Phase::Write;
                c.replies.clear();
                c.write_to(op, c.replicas.clone().into_iter())
            }
            Request::Get => {
                let Some(newest) = newest else {
                    // No replica read has the key: there is nothing to repair.
                    self.ops.remove(&op);
                    return vec![CoordinatorEffect::Finished {
                        op,
                        outcome: Outcome::Read {
                            value: None,
                            repaired: false,
                        },
                    }];
                };
                c.holders = c
                    .replies
                    .iter()
                    .filter(|(_, v)| v.as_ref().is_some_and(|v| v.version >= newest.version))
                    .map(|(r, _)| *r)
                    .collect();
                c.replies.clear();
                c.value = Some(newest.clone());
                if c.holders.len() >= c.required {
                    self.ops.remove(&op);
                    return vec![CoordinatorEffect::Finished {
                        op,
                        outcome: Outcome::Read {
                            value: Some(newest),
                            repaired: false,
                        },
                    }];
                }
                // ABD's second phase: every replica not known to hold the value gets it,
                // including those that did not answer, and the get answers once
                // `required` replicas hold it, so no later get can read an older value.
                c.phase = Phase::Repair;
                let stale: Vec<NodeId> = c
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| !c.holders.contains(r))
                    .collect();
                let mut effects = Vec::new();
                if self.bug == Some(Bug::AsyncReadRepair) {
                    // The bug: answer now and let the repair finish in the background.
                    c.answered = true;
                    effects.push(CoordinatorEffect::Finished {
                        op,
                        outcome: Outcome::Read {
                            value: Some(newest),
                            repaired: true,
                        },
                    });
                }
                effects.extend(c.write_to(op, stale.into_iter()));
                effects
            }
        }
    }

    fn on_write_ack(
        &mut self,
        op: OpId,
        from: NodeId,
        hint_for: Option<NodeId>,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let bug = self.bug;
        let Some(c) = self.ops.get_mut(&op) else {
            return Vec::new();
        };
        if c.phase == Phase::Query {
            return Vec::new();
        }
        match hint_for {
            None if c.replicas.contains(&from) => {
                c.holders.insert(from);
            }
            // A fallback may itself be one of the key's replicas (in a cluster of RF nodes
            // there is no other): its hint is still not the intended replica's copy.
            Some(r) if c.replicas.contains(&r) => {
                c.hinted.insert(r);
            }
            _ => return Vec::new(),
        }
        if !c.write_complete(bug) {
            return Vec::new();
        }
        let c = self.ops.remove(&op).expect("the request is in flight");
        if c.answered {
            return Vec::new();
        }
        let value = c.value.expect("writes carry a value");
        let outcome = match c.phase {
            Phase::Write => Outcome::Written {
                version: value.version,
            },
            _ => Outcome::Read {
                value: Some(value),
                repaired: true,
            },
        };
        vec![CoordinatorEffect::Finished { op, outcome }]
    }

    fn hand_off(
        &mut self,
        op: OpId,
        replica: NodeId,
        fallback: NodeId,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Vec::new();
        };
        if c.phase == Phase::Query
            || !c.replicas.contains(&replica)
            || c.holders.contains(&replica)
            || c.hinted.contains(&replica)
            || fallback == replica
        {
            return Vec::new();
        }
        let msg = Msg::Write {
            op,
            key: c.key.clone(),
            value: c.value.clone().expect("writes carry a value"),
            hint_for: Some(replica),
        };
        vec![CoordinatorEffect::Send { to: fallback, msg }]
    }

    fn abandon(&mut self, op: OpId) -> Vec<CoordinatorEffect<K, V>> {
        match self.ops.remove(&op) {
            Some(c) => vec![CoordinatorEffect::Abandoned {
                op,
                coordination: Box::new(c),
            }],
            None => Vec::new(),
        }
    }
}

impl<K: Clone, V: Clone> Core for Coordinator<K, V> {
    type Input = CoordinatorInput<K, V>;
    type Effect = CoordinatorEffect<K, V>;

    /// Starts a request, takes a replica's reply, covers a replica with a hint, or gives a
    /// request up.
    ///
    /// Guarantee: the effects are only [`CoordinatorEffect::Send`]s and notices to the
    /// driver (no persists); a started request's [`CoordinatorEffect::Started`] precedes
    /// its sends; a request is [`CoordinatorEffect::Finished`] at most once, and only as
    /// the type's guarantees allow.
    fn step(&mut self, input: CoordinatorInput<K, V>) -> Vec<CoordinatorEffect<K, V>> {
        match input {
            CoordinatorInput::Begin {
                key,
                request,
                replicas,
                rf,
                consistency,
                clock,
            } => self.begin(key, request, replicas, rf, consistency, clock),
            CoordinatorInput::Receive { from, msg } => self.receive(from, msg),
            CoordinatorInput::HandOff {
                op,
                replica,
                fallback,
            } => self.hand_off(op, replica, fallback),
            CoordinatorInput::Abandon { op } => self.abandon(op),
        }
    }
}

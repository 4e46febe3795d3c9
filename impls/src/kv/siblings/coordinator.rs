//! The coordinator of the multi-value mode: forwards a put to its coordinating replica
//! and spreads the result, or reads and merges the siblings for a get.

use super::{Consistency, Context, Msg, OpId, Put, Siblings, Unavailable};
use crate::kv::NodeId;
use crate::sansio::{Core, Effect, EffectKind};
use crate::vclock::dvv::DvvSet;
use std::collections::{BTreeMap, BTreeSet};

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Request<V> {
    /// Store a value, superseding what its context covers.
    Put(Put<V>),
    /// Read the siblings and their context.
    Get,
}

/// How a request finished.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome<V> {
    /// A put is durable on `required` replicas.
    Written,
    /// A get's answer: the siblings (empty: no replica read holds the key) and the
    /// context a put that supersedes them must carry.
    Read {
        /// The siblings, in the set's order.
        siblings: Vec<V>,
        /// Their context.
        context: Context,
        /// Whether some replica that answered was sent the merged set.
        repaired: bool,
    },
}

/// Where a request is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// A put waits for its coordinating replica to make it an event.
    Coordinate,
    /// A put writes the coordinating replica's set to the other replicas.
    Write,
    /// A get reads `required` replicas.
    Query,
}

/// One request at its coordinator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coordination<K, V> {
    key: K,
    request: Request<V>,
    replicas: Vec<NodeId>,
    via: NodeId,
    required: usize,
    phase: Phase,
    replies: BTreeMap<NodeId, Option<Siblings<V>>>,
    set: Option<Siblings<V>>,
    holders: BTreeSet<NodeId>,
    hinted: BTreeSet<NodeId>,
}

impl<K, V> Coordination<K, V> {
    /// The key.
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

    /// A put's coordinating replica.
    pub fn via(&self) -> NodeId {
        self.via
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Replicas known to hold the put's set.
    pub fn holders(&self) -> &BTreeSet<NodeId> {
        &self.holders
    }

    /// Replicas covered by an acknowledged hint.
    pub fn hinted(&self) -> &BTreeSet<NodeId> {
        &self.hinted
    }

    /// Whether the request may have changed what others read: a put, once its
    /// coordinating replica may have received it. A get never does (read repair only
    /// spreads what a replica holds).
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(self.request, Request::Put(_))
    }
}

/// What a [`Coordinator`] steps on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorInput<K, V> {
    /// A client's request for `key`. A put goes through `via`, which must be one of
    /// `replicas` (the driver picks it: Riak's rule is the coordinating node itself when
    /// it is a replica, else any replica); a get ignores `via`.
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
        /// A put's coordinating replica.
        via: NodeId,
    },
    /// A replica's reply from node `from`; replies for requests no longer in flight, from
    /// nodes that are not the key's replicas or for another phase are ignored.
    Receive {
        /// The replica (or fallback) that replied.
        from: NodeId,
        /// The reply.
        msg: Msg<K, V>,
    },
    /// Cover `replica`, which has not acknowledged put `op`'s set, with a hint at
    /// `fallback`. Does nothing unless the put is writing and the replica is one of the
    /// key's, not yet a holder and not yet hinted.
    HandOff {
        /// The request.
        op: OpId,
        /// The replica that has not acknowledged.
        replica: NodeId,
        /// The node to hold the hint.
        fallback: NodeId,
    },
    /// Give up on request `op`; later replies are ignored.
    Abandon {
        /// The request.
        op: OpId,
    },
}

/// What a [`Coordinator`] asks its driver to do, in the order returned. A coordinator
/// keeps nothing durable: every event is named and persisted by a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorEffect<K, V> {
    /// Request `op` started; before its first send.
    Started {
        /// The request's id.
        op: OpId,
    },
    /// The request was refused: the key has fewer replicas than the level needs, or the
    /// put's `via` is not one of them. Definite: nothing was sent.
    Refused(Unavailable),
    /// Send `msg` to node `to`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: Msg<K, V>,
    },
    /// Request `op` finished; once per request.
    Finished {
        /// The request.
        op: OpId,
        /// How.
        outcome: Outcome<V>,
    },
    /// Request `op` was given up; whether it may have taken effect.
    Abandoned {
        /// The request.
        op: OpId,
        /// See [`Coordination::may_have_taken_effect`].
        indefinite: bool,
    },
}

impl<K, V> Effect for CoordinatorEffect<K, V> {
    fn kind(&self) -> EffectKind {
        match self {
            CoordinatorEffect::Send { .. } => EffectKind::Send,
            _ => EffectKind::Other,
        }
    }
}

/// Every request one node coordinates in the multi-value mode.
///
/// Guarantees: a put completes only when `required` replicas (never fallbacks) hold its
/// coordinating replica's set durably; a get answers the [`DvvSet::sync`] of `required`
/// replicas' sets, so with `required` a majority it holds every put that completed
/// before it began, or what superseded it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coordinator<K, V> {
    next_op: OpId,
    ops: BTreeMap<OpId, Coordination<K, V>>,
}

impl<K, V> Default for Coordinator<K, V> {
    fn default() -> Self {
        Coordinator {
            next_op: 1,
            ops: BTreeMap::new(),
        }
    }
}

impl<K: Clone, V: Clone + PartialEq> Coordinator<K, V> {
    /// A coordinator with nothing in flight.
    pub fn new() -> Coordinator<K, V> {
        Coordinator::default()
    }

    /// A coordinator whose first request is numbered `first_op`: a driver that restarts a
    /// coordinator while replies to the old one may still arrive gives each run its own
    /// range, so that no old reply matches a new request.
    pub fn starting_at(first_op: OpId) -> Coordinator<K, V> {
        Coordinator {
            next_op: first_op.max(1),
            ops: BTreeMap::new(),
        }
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
        via: NodeId,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let required = consistency.required(rf);
        let is_put = matches!(request, Request::Put(_));
        if required == 0 || replicas.len() < required || (is_put && !replicas.contains(&via)) {
            return vec![CoordinatorEffect::Refused(Unavailable {
                replicas: replicas.len(),
                required,
            })];
        }
        let op = self.next_op;
        self.next_op += 1;
        let mut effects = vec![CoordinatorEffect::Started { op }];
        let phase = match &request {
            Request::Put(put) => {
                effects.push(CoordinatorEffect::Send {
                    to: via,
                    msg: Msg::Coordinate {
                        op,
                        key: key.clone(),
                        put: put.clone(),
                    },
                });
                Phase::Coordinate
            }
            Request::Get => {
                effects.extend(replicas.iter().map(|&to| CoordinatorEffect::Send {
                    to,
                    msg: Msg::Read {
                        op,
                        key: key.clone(),
                    },
                }));
                Phase::Query
            }
        };
        self.ops.insert(
            op,
            Coordination {
                key,
                request,
                replicas,
                via,
                required,
                phase,
                replies: BTreeMap::new(),
                set: None,
                holders: BTreeSet::new(),
                hinted: BTreeSet::new(),
            },
        );
        effects
    }

    fn on_coordinated(
        &mut self,
        op: OpId,
        from: NodeId,
        set: Siblings<V>,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Vec::new();
        };
        if c.phase != Phase::Coordinate || from != c.via {
            return Vec::new();
        }
        c.phase = Phase::Write;
        c.holders.insert(from);
        let mut effects: Vec<CoordinatorEffect<K, V>> = c
            .replicas
            .iter()
            .filter(|&&r| r != from)
            .map(|&to| CoordinatorEffect::Send {
                to,
                msg: Msg::Write {
                    op,
                    key: c.key.clone(),
                    set: set.clone(),
                    hint_for: None,
                },
            })
            .collect();
        c.set = Some(set);
        effects.extend(self.finish_if_written(op));
        effects
    }

    fn finish_if_written(&mut self, op: OpId) -> Option<CoordinatorEffect<K, V>> {
        let c = self.ops.get(&op)?;
        if c.phase != Phase::Write || c.holders.len() < c.required {
            return None;
        }
        self.ops.remove(&op);
        Some(CoordinatorEffect::Finished {
            op,
            outcome: Outcome::Written,
        })
    }

    fn on_read_reply(
        &mut self,
        op: OpId,
        from: NodeId,
        set: Option<Siblings<V>>,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Vec::new();
        };
        if c.phase != Phase::Query || !c.replicas.contains(&from) {
            return Vec::new();
        }
        c.replies.insert(from, set);
        if c.replies.len() < c.required {
            return Vec::new();
        }
        let c = self.ops.remove(&op).expect("the request is in flight");
        let Some(merged) = DvvSet::sync_all(c.replies.values().flatten()) else {
            return vec![CoordinatorEffect::Finished {
                op,
                outcome: Outcome::Read {
                    siblings: Vec::new(),
                    context: Context::default(),
                    repaired: false,
                },
            }];
        };
        // Read repair, as Riak does it: the replicas that answered with less get the
        // merged set; the get does not wait for them, since a repair only spreads what
        // some replica already holds durably.
        let stale: Vec<NodeId> = c
            .replies
            .iter()
            .filter(|(_, s)| s.as_ref() != Some(&merged))
            .map(|(r, _)| *r)
            .collect();
        let mut effects = vec![CoordinatorEffect::Finished {
            op,
            outcome: Outcome::Read {
                siblings: super::values_of(&merged),
                context: Context::of(&merged),
                repaired: !stale.is_empty(),
            },
        }];
        effects.extend(stale.into_iter().map(|to| CoordinatorEffect::Send {
            to,
            msg: Msg::Write {
                op,
                key: c.key.clone(),
                set: merged.clone(),
                hint_for: None,
            },
        }));
        effects
    }

    fn on_write_ack(
        &mut self,
        op: OpId,
        from: NodeId,
        hint_for: Option<NodeId>,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Vec::new();
        };
        if c.phase != Phase::Write {
            return Vec::new();
        }
        match hint_for {
            None if c.replicas.contains(&from) => {
                c.holders.insert(from);
            }
            // A hint never counts towards `required`: the value is not on the replica a
            // later read asks.
            Some(r) if c.replicas.contains(&r) => {
                c.hinted.insert(r);
            }
            _ => return Vec::new(),
        }
        self.finish_if_written(op).into_iter().collect()
    }

    fn hand_off(
        &mut self,
        op: OpId,
        replica: NodeId,
        fallback: NodeId,
    ) -> Vec<CoordinatorEffect<K, V>> {
        let Some(c) = self.ops.get(&op) else {
            return Vec::new();
        };
        if c.phase != Phase::Write
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
            set: c.set.clone().expect("a writing put holds its set"),
            hint_for: Some(replica),
        };
        vec![CoordinatorEffect::Send { to: fallback, msg }]
    }

    fn abandon(&mut self, op: OpId) -> Vec<CoordinatorEffect<K, V>> {
        match self.ops.remove(&op) {
            Some(c) => vec![CoordinatorEffect::Abandoned {
                op,
                indefinite: c.may_have_taken_effect(),
            }],
            None => Vec::new(),
        }
    }
}

impl<K: Clone, V: Clone + PartialEq> Core for Coordinator<K, V> {
    type Input = CoordinatorInput<K, V>;
    type Effect = CoordinatorEffect<K, V>;

    /// Starts a request, takes a reply, covers a replica with a hint, or gives up.
    ///
    /// Guarantee: no persists; a request's [`CoordinatorEffect::Started`] precedes its
    /// sends; a get's [`CoordinatorEffect::Finished`] precedes its read repairs; each
    /// request finishes at most once.
    fn step(&mut self, input: CoordinatorInput<K, V>) -> Vec<CoordinatorEffect<K, V>> {
        match input {
            CoordinatorInput::Begin {
                key,
                request,
                replicas,
                rf,
                consistency,
                via,
            } => self.begin(key, request, replicas, rf, consistency, via),
            CoordinatorInput::Receive { from, msg } => match msg {
                Msg::Coordinated { op, set } => self.on_coordinated(op, from, set),
                Msg::ReadReply { op, set } => self.on_read_reply(op, from, set),
                Msg::WriteAck { op, hint_for } => self.on_write_ack(op, from, hint_for),
                Msg::Coordinate { .. } | Msg::Read { .. } | Msg::Write { .. } => Vec::new(),
            },
            CoordinatorInput::HandOff {
                op,
                replica,
                fallback,
            } => self.hand_off(op, replica, fallback),
            CoordinatorInput::Abandon { op } => self.abandon(op),
        }
    }
}

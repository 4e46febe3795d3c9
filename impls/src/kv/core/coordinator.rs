//! The coordinator: drives each request through its phases (read versions, write,
//! repair) and decides when enough replicas have answered.

use super::{Bug, Consistency, Msg, OpId, Version, Versioned};
use crate::kv::NodeId;
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
    ) -> Vec<(NodeId, Msg<K, V>)> {
        let value = self.value.clone().expect("writes carry a value");
        targets
            .map(|r| {
                let msg = Msg::Write {
                    op,
                    key: self.key.clone(),
                    value: value.clone(),
                    hint_for: None,
                };
                (r, msg)
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

/// What a step asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect<K, V> {
    /// Messages to send, in order.
    pub sends: Vec<(NodeId, Msg<K, V>)>,
    /// A request that finished: reply to its client.
    pub outcome: Option<(OpId, Outcome<V>)>,
}

impl<K, V> Effect<K, V> {
    fn none() -> Effect<K, V> {
        Effect {
            sends: Vec::new(),
            outcome: None,
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

    /// Starts a request for `key`, whose replicas are `replicas` out of a replication
    /// factor `rf`. `clock` is the coordinator's wall-clock reading, used only by
    /// [`Bug::WallClockLww`].
    pub fn begin(
        &mut self,
        key: K,
        request: Request<V>,
        replicas: Vec<NodeId>,
        rf: usize,
        consistency: Consistency,
        clock: u64,
    ) -> Result<(OpId, Effect<K, V>), Unavailable> {
        let required = consistency.required(rf);
        if required == 0 || replicas.len() < required {
            return Err(Unavailable {
                replicas: replicas.len(),
                required,
            });
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
        let sends = match (&c.request, self.bug) {
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
                c.write_to(op, c.replicas.clone().into_iter())
            }
            _ => c
                .replicas
                .iter()
                .map(|&r| {
                    let key = c.key.clone();
                    (r, Msg::Read { op, key })
                })
                .collect(),
        };
        self.ops.insert(op, c);
        Ok((
            op,
            Effect {
                sends,
                outcome: None,
            },
        ))
    }

    /// Handles a reply from `from`. Replies for requests no longer in flight, from nodes
    /// that are not the key's replicas, or for an earlier phase are ignored.
    pub fn step(&mut self, from: NodeId, msg: Msg<K, V>) -> Effect<K, V> {
        match msg {
            Msg::ReadReply { op, current } => self.on_read_reply(op, from, current),
            Msg::WriteAck { op, hint_for } => self.on_write_ack(op, from, hint_for),
            Msg::Read { .. } | Msg::Write { .. } => Effect::none(),
        }
    }

    fn on_read_reply(
        &mut self,
        op: OpId,
        from: NodeId,
        current: Option<Versioned<V>>,
    ) -> Effect<K, V> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Effect::none();
        };
        if c.phase != Phase::Query || !c.replicas.contains(&from) {
            return Effect::none();
        }
        c.replies.insert(from, current);
        if c.replies.len() < c.required {
            return Effect::none();
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
                let sends = c.write_to(op, c.replicas.clone().into_iter());
                Effect {
                    sends,
                    outcome: None,
                }
            }
            Request::Get => {
                let Some(newest) = newest else {
                    // No replica read has the key: there is nothing to repair.
                    self.ops.remove(&op);
                    return Effect {
                        sends: Vec::new(),
                        outcome: Some((
                            op,
                            Outcome::Read {
                                value: None,
                                repaired: false,
                            },
                        )),
                    };
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
                    let outcome = Outcome::Read {
                        value: Some(newest),
                        repaired: false,
                    };
                    return Effect {
                        sends: Vec::new(),
                        outcome: Some((op, outcome)),
                    };
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
                let sends = c.write_to(op, stale.into_iter());
                let mut outcome = None;
                if self.bug == Some(Bug::AsyncReadRepair) {
                    // The bug: answer now and let the repair finish in the background.
                    c.answered = true;
                    outcome = Some((
                        op,
                        Outcome::Read {
                            value: Some(newest),
                            repaired: true,
                        },
                    ));
                }
                Effect { sends, outcome }
            }
        }
    }

    fn on_write_ack(&mut self, op: OpId, from: NodeId, hint_for: Option<NodeId>) -> Effect<K, V> {
        let bug = self.bug;
        let Some(c) = self.ops.get_mut(&op) else {
            return Effect::none();
        };
        if c.phase == Phase::Query {
            return Effect::none();
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
            _ => return Effect::none(),
        }
        if !c.write_complete(bug) {
            return Effect::none();
        }
        let c = self.ops.remove(&op).expect("the request is in flight");
        if c.answered {
            return Effect::none();
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
        Effect {
            sends: Vec::new(),
            outcome: Some((op, outcome)),
        }
    }

    /// Covers `replica`, which has not acknowledged the write of request `op`, with a hint
    /// sent to `fallback`. Does nothing unless the request is writing or repairing and the
    /// replica is one of the key's, not yet known to hold the value and not yet hinted.
    pub fn hand_off(&mut self, op: OpId, replica: NodeId, fallback: NodeId) -> Effect<K, V> {
        let Some(c) = self.ops.get_mut(&op) else {
            return Effect::none();
        };
        if c.phase == Phase::Query
            || !c.replicas.contains(&replica)
            || c.holders.contains(&replica)
            || c.hinted.contains(&replica)
            || fallback == replica
        {
            return Effect::none();
        }
        let msg = Msg::Write {
            op,
            key: c.key.clone(),
            value: c.value.clone().expect("writes carry a value"),
            hint_for: Some(replica),
        };
        Effect {
            sends: vec![(fallback, msg)],
            outcome: None,
        }
    }

    /// Gives up on request `op` (its client timed out); later replies are ignored.
    /// Returns the request as it was, to tell whether it may have taken effect.
    pub fn abandon(&mut self, op: OpId) -> Option<Coordination<K, V>> {
        self.ops.remove(&op)
    }
}

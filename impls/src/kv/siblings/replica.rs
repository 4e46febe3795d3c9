//! A replica's store in the multi-value mode: a DVV set per key, and the hints this node
//! holds for replicas that were down.

use super::{Actor, Bug, Msg, Put, Siblings, Stamped, PRUNED_SIZE};
use crate::kv::NodeId;
use crate::sansio::{Core, Effect, EffectKind};
use crate::vclock::dvv::DvvSet;
use std::collections::BTreeMap;

/// What a [`Replica`] steps on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaInput<K, V> {
    /// A coordinator's [`Msg::Coordinate`], [`Msg::Read`] or [`Msg::Write`] from node
    /// `from`; the reply goes back to `from`. Replies give no effects.
    Receive {
        /// The coordinator's node.
        from: NodeId,
        /// The message.
        msg: Msg<K, V>,
    },
    /// Merge `set` into `key` (with `hint_for`, into the hint for that replica) with no
    /// reply: a hint handed over, or a record replayed from the log.
    Store {
        /// The key.
        key: K,
        /// The set.
        set: Siblings<V>,
        /// `Some(r)`: keep it as a hint for replica `r`.
        hint_for: Option<NodeId>,
    },
    /// Replica `replica` acknowledged `set` for `key`: the hint held for it is dropped if
    /// `set` covers it (a hint that grew meanwhile is kept).
    HintDelivered {
        /// The replica the hint was for.
        replica: NodeId,
        /// The key.
        key: K,
        /// What the replica acknowledged.
        set: Siblings<V>,
    },
}

/// What a [`Replica`] asks its driver to do, in the order returned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaEffect<K, V> {
    /// Log the key's new set (or with `hint_for`, the new hint) and make it durable before
    /// any later effect. The replica holds it already.
    Persist {
        /// The key.
        key: K,
        /// The whole set now held.
        set: Siblings<V>,
        /// `Some(r)`: a hint for replica `r`.
        hint_for: Option<NodeId>,
    },
    /// Log that the hint for `(replica, key)` was dropped; it need not be durable before
    /// anything: replaying a delivered hint only merges it again, which changes nothing.
    HintDropped {
        /// The replica the hint was for.
        replica: NodeId,
        /// The key.
        key: K,
    },
    /// Send `msg` to node `to`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The reply.
        msg: Msg<K, V>,
    },
}

impl<K, V> Effect for ReplicaEffect<K, V> {
    fn kind(&self) -> EffectKind {
        match self {
            ReplicaEffect::Persist { .. } => EffectKind::Persist,
            ReplicaEffect::HintDropped { .. } => EffectKind::Other,
            ReplicaEffect::Send { .. } => EffectKind::Send,
        }
    }
}

/// One node's data in the multi-value mode.
///
/// Guarantees: a key's set only grows in causal history; merging is [`DvvSet::sync`], so
/// replays, duplicates and reordering of writes converge to the same set (a
/// [`Msg::Coordinate`] is not idempotent: each delivery is a new event, so a driver must
/// deliver it at most once, as the simulation and the model do); a put this
/// replica coordinates gets a dot no other value has (its counter is above every event
/// of this replica the set knows, and the set is durable before it is announced); and a
/// step that changes the store returns a [`ReplicaEffect::Persist`] before the reply that
/// depends on it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Replica<K: Ord, V> {
    id: NodeId,
    bug: Option<Bug>,
    values: BTreeMap<K, Siblings<V>>,
    hints: BTreeMap<(NodeId, K), Siblings<V>>,
}

impl<K: Ord + Clone, V: Ord + Clone> Replica<K, V> {
    /// An empty store on node `id`, built with `bug` if any.
    pub fn new(id: NodeId, bug: Option<Bug>) -> Replica<K, V> {
        Replica {
            id,
            bug,
            values: BTreeMap::new(),
            hints: BTreeMap::new(),
        }
    }

    /// The node this replica runs on.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The set held for `key`.
    pub fn get(&self, key: &K) -> Option<&Siblings<V>> {
        self.values.get(key)
    }

    /// Every key and its set, in key order.
    pub fn values(&self) -> impl Iterator<Item = (&K, &Siblings<V>)> {
        self.values.iter()
    }

    /// The hints held for `replica`, in key order.
    pub fn hints_for(&self, replica: NodeId) -> Vec<(K, Siblings<V>)> {
        self.hints
            .iter()
            .filter(|((r, _), _)| *r == replica)
            .map(|((_, k), s)| (k.clone(), s.clone()))
            .collect()
    }

    /// Every replica this node holds hints for, ascending.
    pub fn hinted_replicas(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.hints.keys().map(|(r, _)| *r).collect();
        nodes.dedup();
        nodes
    }

    /// The number of hints held.
    pub fn hint_count(&self) -> usize {
        self.hints.len()
    }

    /// `a` and `b` merged: [`DvvSet::sync`], then under [`Bug::LwwWallClock`] only the
    /// sibling with the latest stamp kept.
    fn merge(&self, a: &Siblings<V>, b: &Siblings<V>) -> Siblings<V> {
        let merged = DvvSet::sync(a, b);
        self.resolve(merged)
    }

    fn resolve(&self, set: Siblings<V>) -> Siblings<V> {
        match self.bug {
            // The bug: of all the siblings, the latest stamp wins (the value breaks a
            // tie), and a put from a clock that is behind loses to an earlier one.
            Some(Bug::LwwWallClock) if set.size() > 1 => set.reconcile(|siblings| {
                siblings
                    .into_iter()
                    .max_by(|a: &Stamped<V>, b: &Stamped<V>| {
                        (a.at, &a.value).cmp(&(b.at, &b.value))
                    })
                    .expect("a set of more than one value")
            }),
            _ => set,
        }
    }

    /// Merges `set` into the key's set (or hint); returns the persist if it changed.
    fn store(
        &mut self,
        key: K,
        set: Siblings<V>,
        hint_for: Option<NodeId>,
    ) -> Option<ReplicaEffect<K, V>> {
        let held = match hint_for {
            None => self.values.get(&key),
            Some(r) => self.hints.get(&(r, key.clone())),
        };
        let merged = match held {
            Some(held) => {
                let merged = self.merge(held, &set);
                if &merged == held {
                    return None;
                }
                merged
            }
            None => self.resolve(set),
        };
        match hint_for {
            None => self.values.insert(key.clone(), merged.clone()),
            Some(r) => self.hints.insert((r, key.clone()), merged.clone()),
        };
        Some(ReplicaEffect::Persist {
            key,
            set: merged,
            hint_for,
        })
    }

    /// Makes `put` a new event of this replica (of its client, under
    /// [`Bug::ClientIdClock`]) in the key's set, and returns the new set.
    fn coordinate(&mut self, key: &K, put: Put<V>) -> Siblings<V> {
        let actor = match self.bug {
            // The bug: the client names the event.
            Some(Bug::ClientIdClock) => Actor::Client(put.client),
            _ => Actor::Replica(self.id),
        };
        let stamped = Stamped {
            value: put.value,
            at: put.at,
        };
        let client = if put.context.is_empty() {
            DvvSet::new(stamped)
        } else {
            DvvSet::new_with_context(&put.context.clock(), stamped)
        };
        let set = match self.values.get(key) {
            Some(held) => DvvSet::update(&client, held, actor),
            None => DvvSet::update_fresh(&client, actor),
        };
        let set = match self.bug {
            Some(Bug::PruneClock) => prune(&set),
            _ => set,
        };
        let set = self.resolve(set);
        self.values.insert(key.clone(), set.clone());
        set
    }

    fn hint_delivered(&mut self, replica: NodeId, key: K, set: &Siblings<V>) -> bool {
        let slot = (replica, key);
        let covered = self
            .hints
            .get(&slot)
            .is_some_and(|hint| &DvvSet::sync(set, hint) == set);
        if covered {
            self.hints.remove(&slot);
        }
        covered
    }
}

/// The [`Bug::PruneClock`] pruning: entries whose values are all superseded are dropped,
/// fewest events first, until at most [`PRUNED_SIZE`] entries are left (an entry with a
/// live value is never dropped, so no value is lost here; only history is).
fn prune<V: Clone + PartialEq>(set: &Siblings<V>) -> Siblings<V> {
    let mut entries = set.entries().to_vec();
    while entries.len() > PRUNED_SIZE {
        let Some(oldest) = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.values.is_empty())
            .min_by_key(|(_, e)| e.counter)
            .map(|(i, _)| i)
        else {
            break;
        };
        entries.remove(oldest);
    }
    DvvSet::from_parts(entries, set.anonymous().to_vec())
        .expect("a subset of a set's entries is a set")
}

impl<K: Ord + Clone, V: Ord + Clone> Core for Replica<K, V> {
    type Input = ReplicaInput<K, V>;
    type Effect = ReplicaEffect<K, V>;

    /// Coordinates a put, answers a read, merges a write or a hint, or drops a delivered
    /// hint.
    ///
    /// Guarantee: a coordinated put gives its [`ReplicaEffect::Persist`] before the
    /// [`Msg::Coordinated`] that announces it; a write that changes the store gives its
    /// persist before the [`Msg::WriteAck`]; one already covered gives the ack alone.
    fn step(&mut self, input: ReplicaInput<K, V>) -> Vec<ReplicaEffect<K, V>> {
        match input {
            ReplicaInput::Receive {
                from,
                msg: Msg::Coordinate { op, key, put },
            } => {
                let set = self.coordinate(&key, put);
                vec![
                    ReplicaEffect::Persist {
                        key,
                        set: set.clone(),
                        hint_for: None,
                    },
                    ReplicaEffect::Send {
                        to: from,
                        msg: Msg::Coordinated { op, set },
                    },
                ]
            }
            ReplicaInput::Receive {
                from,
                msg: Msg::Read { op, key },
            } => vec![ReplicaEffect::Send {
                to: from,
                msg: Msg::ReadReply {
                    op,
                    set: self.values.get(&key).cloned(),
                },
            }],
            ReplicaInput::Receive {
                from,
                msg:
                    Msg::Write {
                        op,
                        key,
                        set,
                        hint_for,
                    },
            } => {
                let ack = ReplicaEffect::Send {
                    to: from,
                    msg: Msg::WriteAck { op, hint_for },
                };
                match self.store(key, set, hint_for) {
                    Some(persist) => vec![persist, ack],
                    None => vec![ack],
                }
            }
            ReplicaInput::Receive {
                msg: Msg::Coordinated { .. } | Msg::ReadReply { .. } | Msg::WriteAck { .. },
                ..
            } => Vec::new(),
            ReplicaInput::Store { key, set, hint_for } => {
                self.store(key, set, hint_for).into_iter().collect()
            }
            ReplicaInput::HintDelivered { replica, key, set } => {
                if !self.hint_delivered(replica, key.clone(), &set) {
                    return Vec::new();
                }
                vec![ReplicaEffect::HintDropped { replica, key }]
            }
        }
    }
}

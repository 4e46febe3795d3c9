//! A replica's store: the highest-versioned value of each key, and the hints this node
//! holds for replicas that were down.

use super::{Msg, Version, Versioned};
use crate::kv::NodeId;
use crate::sansio::{Core, Effect, EffectKind};
use std::collections::BTreeMap;

/// What [`Replica::write`] did, which tells the step what to make durable before it
/// acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteResult {
    /// The value replaced an older one (or none), or was kept as a hint: it must be
    /// durable before the ack.
    Changed,
    /// The replica already held this version or a higher one: nothing changed, and the ack
    /// promises only what is already held.
    AlreadyNewer,
}

/// What a [`Replica`] steps on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaInput<K, V> {
    /// A coordinator's [`Msg::Read`] or [`Msg::Write`], from node `from`; the reply goes
    /// back to `from`. A reply ([`Msg::ReadReply`], [`Msg::WriteAck`]) is not for a
    /// replica and gives no effects.
    Receive {
        /// The coordinator's node.
        from: NodeId,
        /// The message.
        msg: Msg<K, V>,
    },
    /// Store `value` for `key` (with `hint_for`, as a hint for that replica) with no reply
    /// to a coordinator: a hint handed over by its holder, a hint redirected to a key's
    /// new replicas, or a record replayed from the log. The driver acknowledges it, if at
    /// all, after the step's effects.
    Store {
        /// The key.
        key: K,
        /// The value and its version.
        value: Versioned<V>,
        /// `Some(r)`: keep it as a hint for replica `r`.
        hint_for: Option<NodeId>,
    },
    /// Replica `replica` acknowledged `version` (or a higher one) of the hint held for it
    /// for `key`: the hint is dropped, unless a newer one arrived meanwhile.
    HintDelivered {
        /// The replica the hint was for.
        replica: NodeId,
        /// The key.
        key: K,
        /// The version the replica acknowledged.
        version: Version,
    },
}

/// What a [`Replica`] asks its driver to do, in the order returned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaEffect<K, V> {
    /// Log this write (a value, or with `hint_for` a hint) and make it durable before any
    /// later effect: a [`EffectKind::Persist`]. The replica holds it already.
    Persist {
        /// The key.
        key: K,
        /// The value and its version.
        value: Versioned<V>,
        /// `Some(r)`: a hint for replica `r`.
        hint_for: Option<NodeId>,
    },
    /// Log that the hint for `(replica, key)` up to `version` was dropped. It need not be
    /// durable before anything ([`EffectKind::Other`]): if it is lost, replaying the log
    /// only delivers the hint again, which is harmless.
    HintDropped {
        /// The replica the hint was for.
        replica: NodeId,
        /// The key.
        key: K,
        /// The version delivered.
        version: Version,
    },
    /// Send `msg` to node `to`: a [`EffectKind::Send`]. It promises only what the
    /// replica holds durably once the effects before it are carried out; a reply that
    /// follows no persist in its step promises what earlier steps persisted, so the driver
    /// must not let it overtake a persist of the same key still in progress.
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

/// One node's data: for each key, the value with the highest version it has been sent.
///
/// Guarantees: the version held for a key never decreases; storing a write is idempotent
/// and commutative, so replays, duplicates and reordering of writes (from the network or
/// from log recovery) all converge to the same store; and a step that changes the store
/// returns a [`ReplicaEffect::Persist`] of the change before the
/// acknowledgement that promises it (see [`Core::step`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Replica<K: Ord, V> {
    values: BTreeMap<K, Versioned<V>>,
    hints: BTreeMap<(NodeId, K), Versioned<V>>,
}

impl<K: Ord + Clone, V: Clone> Default for Replica<K, V> {
    fn default() -> Self {
        Replica::new()
    }
}

impl<K: Ord + Clone, V: Clone> Replica<K, V> {
    /// An empty store.
    pub fn new() -> Replica<K, V> {
        Replica {
            values: BTreeMap::new(),
            hints: BTreeMap::new(),
        }
    }

    /// The value held for `key`.
    pub fn get(&self, key: &K) -> Option<&Versioned<V>> {
        self.values.get(key)
    }

    /// Every key and its value, in key order.
    pub fn values(&self) -> impl Iterator<Item = (&K, &Versioned<V>)> {
        self.values.iter()
    }

    /// Stores `value` for `key` if its version is higher than the one held; with
    /// `hint_for`, keeps it as a hint for that replica instead (again only if higher than
    /// a hint already held for the same replica and key).
    fn write(&mut self, key: K, value: Versioned<V>, hint_for: Option<NodeId>) -> WriteResult {
        let slot = match hint_for {
            None => self.values.get_mut(&key),
            Some(r) => self.hints.get_mut(&(r, key.clone())),
        };
        match slot {
            Some(held) if held.version >= value.version => WriteResult::AlreadyNewer,
            Some(held) => {
                *held = value;
                WriteResult::Changed
            }
            None => {
                match hint_for {
                    None => self.values.insert(key, value),
                    Some(r) => self.hints.insert((r, key), value),
                };
                WriteResult::Changed
            }
        }
    }

    /// Stores a write and returns the persist it needs, if it changed anything. The
    /// record is a copy: the store keeps the value and the driver logs it.
    fn store(
        &mut self,
        key: K,
        value: Versioned<V>,
        hint_for: Option<NodeId>,
    ) -> Option<ReplicaEffect<K, V>> {
        let persist = ReplicaEffect::Persist {
            key: key.clone(),
            value: value.clone(),
            hint_for,
        };
        match self.write(key, value, hint_for) {
            WriteResult::Changed => Some(persist),
            WriteResult::AlreadyNewer => None,
        }
    }

    /// The hints held for `replica`, in key order.
    pub fn hints_for(&self, replica: NodeId) -> Vec<(K, Versioned<V>)> {
        self.hints
            .iter()
            .filter(|((r, _), _)| *r == replica)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The hints held for `replica`, in key order, without copying them.
    pub fn hints_of(&self, replica: NodeId) -> impl Iterator<Item = (&K, &Versioned<V>)> {
        self.hints
            .iter()
            .filter(move |((r, _), _)| *r == replica)
            .map(|((_, k), v)| (k, v))
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

    /// Drops the hint for `(replica, key)` once the replica acknowledged `version` (or a
    /// higher one); a newer hint that arrived meanwhile is kept. Returns whether it dropped
    /// one.
    fn hint_delivered(&mut self, replica: NodeId, key: K, version: Version) -> bool {
        let slot = (replica, key);
        if self.hints.get(&slot).is_some_and(|h| h.version <= version) {
            self.hints.remove(&slot);
            return true;
        }
        false
    }
}

impl<K: Ord + Clone, V: Clone> Core for Replica<K, V> {
    type Input = ReplicaInput<K, V>;
    type Effect = ReplicaEffect<K, V>;

    /// Answers a coordinator's read, stores a write or a hint, or drops a delivered hint.
    ///
    /// Guarantee: a write or hint that changes the store gives a
    /// [`ReplicaEffect::Persist`] before its [`Msg::WriteAck`]; one the replica already
    /// holds (this version or a higher one) gives the ack alone. A read gives its reply
    /// alone: the value it reports was persisted by the step that stored it.
    fn step(&mut self, input: ReplicaInput<K, V>) -> Vec<ReplicaEffect<K, V>> {
        match input {
            ReplicaInput::Receive {
                from,
                msg: Msg::Read { op, key },
            } => vec![ReplicaEffect::Send {
                to: from,
                msg: Msg::ReadReply {
                    op,
                    current: self.values.get(&key).cloned(),
                },
            }],
            ReplicaInput::Receive {
                from,
                msg:
                    Msg::Write {
                        op,
                        key,
                        value,
                        hint_for,
                    },
            } => {
                let ack = ReplicaEffect::Send {
                    to: from,
                    msg: Msg::WriteAck { op, hint_for },
                };
                match self.store(key, value, hint_for) {
                    Some(persist) => vec![persist, ack],
                    None => vec![ack],
                }
            }
            ReplicaInput::Receive {
                msg: Msg::ReadReply { .. } | Msg::WriteAck { .. },
                ..
            } => Vec::new(),
            ReplicaInput::Store {
                key,
                value,
                hint_for,
            } => self.store(key, value, hint_for).into_iter().collect(),
            ReplicaInput::HintDelivered {
                replica,
                key,
                version,
            } => {
                if !self.hint_delivered(replica, key.clone(), version) {
                    return Vec::new();
                }
                vec![ReplicaEffect::HintDropped {
                    replica,
                    key,
                    version,
                }]
            }
        }
    }
}

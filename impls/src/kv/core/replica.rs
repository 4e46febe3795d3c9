//! A replica's store: the highest-versioned value of each key, and the hints this node
//! holds for replicas that were down.

use super::{Msg, Versioned};
use crate::kv::NodeId;
use std::collections::BTreeMap;

/// What [`Replica::write`] did, which tells the driver what to make durable before it
/// acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteResult {
    /// The value replaced an older one (or none): it must be logged before the ack.
    Stored,
    /// The replica already held this version or a higher one: nothing changed, and the ack
    /// may go at once (the held version is already durable).
    AlreadyNewer,
    /// The value was kept as a hint for another replica: it must be logged before the ack.
    Hinted,
}

/// One node's data: for each key, the value with the highest version it has been sent.
///
/// Guarantees: the version held for a key never decreases, and [`Replica::write`] is
/// idempotent and commutative, so replays, duplicates and reordering of writes (from the
/// network or from log recovery) all converge to the same store.
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
    pub fn write(&mut self, key: K, value: Versioned<V>, hint_for: Option<NodeId>) -> WriteResult {
        let (slot, stored) = match hint_for {
            None => (self.values.get_mut(&key), WriteResult::Stored),
            Some(r) => (self.hints.get_mut(&(r, key.clone())), WriteResult::Hinted),
        };
        match slot {
            Some(held) if held.version >= value.version => WriteResult::AlreadyNewer,
            Some(held) => {
                *held = value;
                stored
            }
            None => {
                match hint_for {
                    None => self.values.insert(key, value),
                    Some(r) => self.hints.insert((r, key), value),
                };
                stored
            }
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
    /// higher one); a newer hint that arrived meanwhile is kept.
    pub fn hint_delivered(&mut self, replica: NodeId, key: &K, version: super::Version) {
        let slot = (replica, key.clone());
        if self.hints.get(&slot).is_some_and(|h| h.version <= version) {
            self.hints.remove(&slot);
        }
    }

    /// Answers a coordinator's [`Msg::Read`] or [`Msg::Write`]. Returns the reply and, for
    /// a write, what the write did; the reply to a write that is not
    /// [`WriteResult::AlreadyNewer`] may be sent only once the write is durable. Returns
    /// `None` for a message a replica does not handle (a reply).
    pub fn step(&mut self, msg: Msg<K, V>) -> Option<(Msg<K, V>, Option<WriteResult>)> {
        match msg {
            Msg::Read { op, key } => Some((
                Msg::ReadReply {
                    op,
                    current: self.values.get(&key).cloned(),
                },
                None,
            )),
            Msg::Write {
                op,
                key,
                value,
                hint_for,
            } => {
                let result = self.write(key, value, hint_for);
                Some((Msg::WriteAck { op, hint_for }, Some(result)))
            }
            Msg::ReadReply { .. } | Msg::WriteAck { .. } => None,
        }
    }
}

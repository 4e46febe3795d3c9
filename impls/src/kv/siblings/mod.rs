//! The store's multi-value mode (`--versioning dvv`), as in Riak 2.0 with `allow_mult`:
//! concurrent puts are kept as *siblings*, and replicas merge by dotted version vector
//! sets ([`crate::vclock::dvv::DvvSet`]), never by wall clock.
//!
//! It is a second mode of the same store: the same ring, replication factor and
//! consistency levels ([`Consistency`]), the same hinted handoff and read repair, and the
//! same sans-IO shape ([`crate::sansio::Core`]). What differs is what a replica holds for
//! a key (a DVV set instead of one versioned value) and how a put is coordinated.
//!
//! # The protocol
//!
//! - **get**: read `required` replicas, [`DvvSet::sync`] their sets, and answer every
//!   value of the result (the siblings) with its [`DvvSet::join`] as an opaque
//!   [`Context`]. Replicas that answered with less are sent the merged set (read repair),
//!   without waiting: a repair only spreads what some replica holds.
//! - **put**: the client sends the value with the context it read (or none, for a blind
//!   write). The coordinator forwards it to one of the key's replicas, the *coordinating
//!   replica* (Riak's coordinating vnode), which makes it a new event of its own
//!   ([`DvvSet::update`]): the new value gets the dot `(replica, n + 1)`, supersedes exactly
//!   the values the context covers, and stays a sibling of the rest. That replica makes
//!   the new set durable, then the coordinator writes it to the other replicas, which
//!   merge it with what they hold, and the put completes when `required` replicas
//!   (counting the coordinating one) hold it durably.
//!
//! Why the coordinating replica, and not the coordinator, names the event: a dot must be
//! unique, and only a replica that holds every event it named for the key (durably, in its
//! own store) can pick the next one without a read. A coordinator that read a quorum
//! could miss the event of its own earlier put that timed out; a client id, the
//! [`Bug::ClientIdClock`] variant, has the same flaw and more.
//!
//! A replica that does not acknowledge may be covered by a hint at a fallback, which is
//! handed over later and merged like any write; a hinted acknowledgement never counts
//! towards `required`.

mod coordinator;
mod replica;
pub mod sim;
#[cfg(test)]
mod tests;

pub use coordinator::{
    Coordination, Coordinator, CoordinatorEffect, CoordinatorInput, Outcome, Phase, Request,
};
pub use replica::{Replica, ReplicaEffect, ReplicaInput};

pub use super::core::{Consistency, OpId, Unavailable};
use super::NodeId;
use crate::sansio::{BugSwitch, BugSwitches};
use crate::vclock::clock::VectorClock;
use crate::vclock::dvv::DvvSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A client of the store, as the [`Bug::ClientIdClock`] variant names it.
pub type ClientId = u32;

/// Who names an event in a DVV set: the coordinating replica (the correct mode), or the
/// client under [`Bug::ClientIdClock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// A replica: its node.
    Replica(NodeId),
    /// A client.
    Client(ClientId),
}

/// A value with the wall-clock reading of the put that wrote it. Only the
/// [`Bug::LwwWallClock`] variant reads `at`; the correct mode keeps it as metadata (Riak's
/// last-modified time) and never compares it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamped<V> {
    /// The value.
    pub value: V,
    /// The coordinator's wall clock when the put began.
    pub at: u64,
}

/// What a replica holds for a key: the siblings and their causal history.
pub type Siblings<V> = DvvSet<Actor, Stamped<V>>;

/// The causal context a get returns and a put carries back: the join of the set read.
/// Opaque to clients; ordered by its entries only so that it can sit in ordered
/// containers.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Context(BTreeMap<Actor, u64>);

impl Context {
    /// The context of a set: what a client that read it has seen.
    pub fn of<V: Clone + PartialEq>(set: &Siblings<V>) -> Context {
        Context(set.join().counters().map(|(a, n)| (*a, n)).collect())
    }

    /// As a vector clock.
    pub fn clock(&self) -> VectorClock<Actor> {
        self.0.iter().map(|(a, n)| (*a, *n)).collect()
    }

    /// Each actor and how many of its events the context covers, in actor order.
    pub fn counters(&self) -> impl Iterator<Item = (Actor, u64)> + '_ {
        self.0.iter().map(|(a, n)| (*a, *n))
    }

    /// Whether the context covers no event (a blind write's).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A client's put: the value, the context of the get it read (empty for a blind write),
/// who asks, and when (by the coordinator's wall clock).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Put<V> {
    /// The value, which should be unique to the put for a history to name it.
    pub value: V,
    /// What the client read before: the values it supersedes.
    pub context: Context,
    /// The client, which only [`Bug::ClientIdClock`] uses as the event's actor.
    pub client: ClientId,
    /// The coordinator's wall clock, which only [`Bug::LwwWallClock`] compares.
    pub at: u64,
}

/// Known bugs of the multi-value mode: each loses an update or resurrects a superseded
/// value, and the model and the simulated Jepsen run must catch each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// Replicas resolve siblings by the put's wall-clock stamp (last writer wins), so one
    /// of two concurrent puts silently disappears; with a skewed clock, the later one.
    LwwWallClock,
    /// The event is named by the client instead of the coordinating replica (Riak's
    /// client-side vector clocks): two blind puts of one client through different
    /// replicas get the same dot, and merging keeps only one of them.
    ClientIdClock,
    /// The coordinating replica prunes the clock to one entry (Riak's `small_vclock`
    /// set too low), dropping history: a stale copy of a superseded value then looks
    /// concurrent and comes back as a sibling.
    PruneClock,
}

impl Bug {
    /// The bug's name and summary.
    pub const fn switch(self) -> BugSwitch {
        match self {
            Bug::LwwWallClock => BugSwitch {
                name: "lww-wall-clock",
                summary: "siblings resolved by skewed wall-clock stamps: one concurrent put is silently lost",
            },
            Bug::ClientIdClock => BugSwitch {
                name: "client-id-clock",
                summary: "events named by client, not replica: two puts share a dot and one is lost",
            },
            Bug::PruneClock => BugSwitch {
                name: "prune-clock",
                summary: "the clock is pruned to one entry: a superseded value comes back as a sibling",
            },
        }
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[Bug::LwwWallClock, Bug::ClientIdClock, Bug::PruneClock];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

/// How many clock entries [`Bug::PruneClock`] keeps.
pub const PRUNED_SIZE: usize = 1;

/// A message between a coordinator and a replica, for one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg<K, V> {
    /// Coordinator to the coordinating replica: make `put` a new event of yours.
    Coordinate {
        /// The request.
        op: OpId,
        /// The key.
        key: K,
        /// The client's put.
        put: Put<V>,
    },
    /// The coordinating replica to the coordinator: the set after the put, durable.
    Coordinated {
        /// The request.
        op: OpId,
        /// The replica's set for the key, the new value in it.
        set: Siblings<V>,
    },
    /// Coordinator to replica: what do you hold for `key`?
    Read {
        /// The request.
        op: OpId,
        /// The key.
        key: K,
    },
    /// Replica to coordinator: the answer to [`Msg::Read`].
    ReadReply {
        /// The request.
        op: OpId,
        /// The replica's set, if it holds the key.
        set: Option<Siblings<V>>,
    },
    /// Coordinator to replica (or to a fallback, with a hint): merge this set into yours.
    Write {
        /// The request (a read repair's acknowledgement is ignored).
        op: OpId,
        /// The key.
        key: K,
        /// The set to merge.
        set: Siblings<V>,
        /// `Some(r)`: the receiver is a fallback holding this for replica `r`.
        hint_for: Option<NodeId>,
    },
    /// Receiver to coordinator: the merge (or the hint) is durable.
    WriteAck {
        /// The request.
        op: OpId,
        /// Echoes [`Msg::Write::hint_for`].
        hint_for: Option<NodeId>,
    },
}

/// The values of a set, without their stamps, in the set's order (anonymous values,
/// then each actor's, newest first).
pub fn values_of<V: Clone + PartialEq>(set: &Siblings<V>) -> Vec<V> {
    set.values().into_iter().map(|s| s.value).collect()
}

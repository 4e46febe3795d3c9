//! The sans-IO protocol core of the key-value store: versions, the replica's store and
//! the coordinator's state machine for one request.
//!
//! Nothing here does I/O, reads a clock or draws randomness. The same code runs in two
//! drivers: `models::kv` wraps it in a stateright model that explores every interleaving
//! of a small cluster, and [`crate::kv::node`] runs it on real sockets or under turmoil.
//!
//! Both state machines have the workspace's one sans-IO shape, [`crate::sansio::Core`]:
//! the [`Coordinator`] steps on a [`CoordinatorInput`] (a client's request, a replica's
//! reply, a hand-off, giving up) and the [`Replica`] on a [`ReplicaInput`] (a
//! coordinator's message, a handed-over hint, a delivered hint); each returns its effects
//! in the order the driver must carry them out. A replica's write is a
//! [`ReplicaEffect::Persist`] placed before the acknowledgement that promises it, so the
//! rule that nothing is acknowledged before it is durable is stated by the effects
//! themselves and checked by [`crate::sansio::check_durability_order`].
//!
//! # The protocol
//!
//! Every key has `RF` replicas, the first `RF` distinct nodes of the ring after the key's
//! hash. A request is handled by a *coordinator*, which sends to all replicas in parallel
//! and waits for `required` answers, where `required` is 1, a majority or all of `RF`
//! for [`Consistency::One`], [`Consistency::Quorum`] and [`Consistency::All`].
//!
//! This is the ABD register (Attiya, Bar-Noy and Dolev, 1995) run per key:
//! - **put**: read the versions of `required` replicas, pick a version above all of them,
//!   write it to the replicas and wait for `required` acknowledgements;
//! - **get**: read `required` replicas, take the newest value, write it back to replicas
//!   that were not known to hold it (read repair) and wait until `required` replicas are
//!   known to hold it, and only then answer.
//!
//! With `Quorum`, any two sets of `required` replicas intersect, so a put's version is
//! above every put that finished before it began, and a get that answers has made its
//! value visible to every later get: the store is linearizable per key. With `One` it
//! is not, and `models::kv` shows how.
//!
//! Versions never come from wall clocks: a [`Version`] is a counter chosen above every
//! version seen, tie-broken by the writer's identity. Replicas keep the highest version
//! they have seen (last-writer-wins on versions, which is safe here because the put's
//! read phase orders versions by real time).
//!
//! A replica that does not answer may be covered by *hinted handoff*: the coordinator
//! writes to a fallback node with a hint naming the intended replica, and the fallback
//! hands the write over later. A hinted acknowledgement never counts towards `required`,
//! because the value is then not on the replica a later read will ask.

mod coordinator;
mod replica;

pub use coordinator::{
    Coordination, Coordinator, CoordinatorEffect, CoordinatorInput, Outcome, Phase, Request,
    Unavailable,
};
pub use replica::{Replica, ReplicaEffect, ReplicaInput};

use super::NodeId;
use crate::sansio::{BugSwitch, BugSwitches};
use serde::{Deserialize, Serialize};

/// Orders the writes of one key. Versions are compared as `(counter, node, incarnation)`.
///
/// A coordinator never issues the same version twice: within one incarnation its counters
/// strictly increase, and every restart of a node starts a new incarnation (recorded
/// durably by the node). So two different values never carry equal versions.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Version {
    /// Chosen above every counter the coordinator has seen for the key.
    pub counter: u64,
    /// The coordinator that chose the version.
    pub node: NodeId,
    /// How many times that node had restarted when it chose the version.
    pub incarnation: u32,
}

/// A value and the version that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Versioned<V> {
    /// Orders this write against the key's other writes.
    pub version: Version,
    /// The value written.
    pub value: V,
}

/// How many replicas must answer before a request completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Consistency {
    /// One replica: fast, and not linearizable.
    One,
    /// A majority of the replicas: any two majorities intersect.
    Quorum,
    /// Every replica: blocks while any replica is down.
    All,
}

impl Consistency {
    /// The number of replicas out of `rf` that must answer.
    pub fn required(self, rf: usize) -> usize {
        match self {
            Consistency::One => 1.min(rf),
            Consistency::Quorum => rf / 2 + 1,
            Consistency::All => rf,
        }
    }

    /// The level's name on the command line: `one`, `quorum` or `all`.
    pub fn name(self) -> &'static str {
        match self {
            Consistency::One => "one",
            Consistency::Quorum => "quorum",
            Consistency::All => "all",
        }
    }

    /// Parses a level's command-line name.
    pub fn from_name(name: &str) -> Option<Consistency> {
        [Consistency::One, Consistency::Quorum, Consistency::All]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// Known bugs the core can be built with. The model checks that each is caught, and the
/// real store can run with one switched on so that its histories are caught too.
///
/// Each bug's command-line name and one-sentence summary are written once, in
/// [`Bug::switch`]; the model adds only which of its properties the bug breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// A get answers as soon as it has read `required` replicas and repairs stale
    /// replicas afterwards (as Dynamo-style stores do), so a concurrent reader can see the
    /// new value and then the old one.
    AsyncReadRepair,
    /// A put takes its version from the coordinator's wall clock instead of reading the
    /// replicas first (last-writer-wins on timestamps). A clock that is behind makes a
    /// later write lose to an earlier one.
    WallClockLww,
    /// Hinted acknowledgements count towards `required` (a sloppy quorum), so a put can
    /// finish while its value is on fewer replicas than a quorum read asks.
    SloppyQuorum,
}

impl Bug {
    /// The bug's name and summary: the same as [`BugSwitches::switch`], and `const` so
    /// that a model can build its table of variants in a `const`.
    pub const fn switch(self) -> BugSwitch {
        match self {
            Bug::AsyncReadRepair => BugSwitch {
                name: "async-read-repair",
                summary:
                    "a get answers before its read repair is acknowledged: new-then-old inversion",
            },
            Bug::WallClockLww => BugSwitch {
                name: "wall-clock-lww",
                summary:
                    "versions are skewed wall-clock timestamps: a later put loses to an earlier one",
            },
            Bug::SloppyQuorum => BugSwitch {
                name: "sloppy-quorum",
                summary: "hinted acknowledgements count towards the write quorum",
            },
        }
    }

    /// The bug's name on the command line: the same as [`BugSwitches::name`], kept
    /// inherent so that callers need not import the trait.
    pub fn name(self) -> &'static str {
        self.switch().name
    }

    /// Looks a bug up by its command-line name: the same as [`BugSwitches::from_name`],
    /// kept inherent so that callers need not import the trait.
    pub fn from_name(name: &str) -> Option<Bug> {
        <Bug as BugSwitches>::from_name(name)
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[Bug::AsyncReadRepair, Bug::WallClockLww, Bug::SloppyQuorum];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

/// The `one` variant, which every `--bug` that names a kv variant accepts (the model's,
/// and `check kv --jepsen`'s): the correct core run at [`Consistency::One`].
///
/// It is not a [`Bug`]: the core has no switch for it, because reading and writing one
/// replica is a configuration every Dynamo-style store offers, not a mistake in its code.
/// Its name and summary are written here, next to the core's bugs, so that every command
/// line that accepts it takes them from one place.
pub const CONSISTENCY_ONE: BugSwitch = BugSwitch {
    name: "one",
    summary: "R = W = 1: a read can miss an acknowledged write",
};

/// Identifies a request at its coordinator; replies carry it back. Unique among the
/// coordinator's requests in flight.
pub type OpId = u64;

/// A message between a coordinator and a replica, for one key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg<K, V> {
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
        /// The replica's value, if it has one.
        current: Option<Versioned<V>>,
    },
    /// Coordinator to replica (or to a fallback, with a hint): store this unless you hold
    /// a higher version.
    Write {
        /// The request.
        op: OpId,
        /// The key.
        key: K,
        /// The value and its version.
        value: Versioned<V>,
        /// `Some(r)`: the receiver is a fallback holding this write for replica `r`.
        hint_for: Option<NodeId>,
    },
    /// Receiver to coordinator: the write (or the hint) is durable.
    WriteAck {
        /// The request.
        op: OpId,
        /// Echoes [`Msg::Write::hint_for`]: `Some` for a hint, which is not a replica's
        /// acknowledgement.
        hint_for: Option<NodeId>,
    },
}

#[cfg(test)]
mod tests;

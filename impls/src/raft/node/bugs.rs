//! Bugs of the runtime rather than of the core: each makes the node do, around a correct
//! core, what the core never asks for. The core's own tests and the message-level model
//! cannot see them (they run the core, not the runtime); Jepsen-style runs and trace
//! validation (`check raft --validate`) are what catch them.

use crate::sansio::{BugSwitch, BugSwitches};
use serde::{Deserialize, Serialize};

/// A known bug of the `raft-node` runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RuntimeBug {
    /// Persists are written but never fsynced, so a write acknowledged to a peer or a
    /// client is lost when power is lost (every copy can vanish at once).
    SkipFsync,
    /// A follower answers a read from its own state machine, without asking the leader
    /// for a read index: a partitioned or lagging node serves stale values.
    ReadFromAnyNode,
    /// A step's messages are sent before its persists are fsynced, so a crash can forget
    /// a vote or entries that a peer was already told about.
    SendBeforePersist,
}

impl BugSwitches for RuntimeBug {
    const ALL: &'static [RuntimeBug] = &[
        RuntimeBug::SkipFsync,
        RuntimeBug::ReadFromAnyNode,
        RuntimeBug::SendBeforePersist,
    ];

    fn switch(self) -> BugSwitch {
        let (name, summary) = match self {
            RuntimeBug::SkipFsync => (
                "skip-fsync",
                "persists are written but not fsynced before the node acknowledges them",
            ),
            RuntimeBug::ReadFromAnyNode => (
                "read-from-any-node",
                "any node serves reads from its own state, without a read index",
            ),
            RuntimeBug::SendBeforePersist => (
                "send-before-persist",
                "a step's messages go out before its persists are durable",
            ),
        };
        BugSwitch { name, summary }
    }
}

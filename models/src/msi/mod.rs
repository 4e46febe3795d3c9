//! MSI cache coherence (exercise 5).
//!
//! [`snooping`] is the textbook protocol on an atomic bus: a miss, an upgrade or an
//! eviction is one indivisible step, so the model has only the stable states I, S and M.
//! [`directory`] is the primer's directory protocol with non-atomic transactions: transient
//! states, a directory with sharers and an owner, and an unordered network.
//!
//! Both models check the same invariants:
//!
//! - **SWMR** (single writer, multiple readers): for every address, at any time, either one
//!   cache holds the line in M and no other cache holds it, or no cache holds it in M.
//! - **DataValue**: a load returns the value of the most recent store to its address
//!   (tracked with a ghost "last stored value" per address).
//! - **NoDeadlock**: every reachable state is quiescent or has an enabled action.
//!
//! The snooping model never deadlocks (a load is always enabled); it checks NoDeadlock so
//! that both models answer the same questions, and `unordered-forwards` breaks it in
//! the directory model.

pub mod directory;
pub mod snooping;

/// A cache line's stable coherence state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stable {
    /// Invalid: no copy.
    I,
    /// Shared: a read-only copy, equal to memory.
    S,
    /// Modified: the only copy, readable and writable, possibly newer than memory.
    M,
}

impl Stable {
    /// The state's one-letter name.
    pub fn name(self) -> &'static str {
        match self {
            Stable::I => "I",
            Stable::S => "S",
            Stable::M => "M",
        }
    }
}

/// Every variant, as `check list` shows them.
pub const VARIANTS: [crate::Variant; 5] = [
    Bug::NoInvalidate.variant(),
    Bug::NoWriteback.variant(),
    Bug::EarlyWrite.variant(),
    Bug::AckInvInIsD.variant(),
    Bug::UnorderedForwards.variant(),
];

/// A known bug an MSI model can be built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// A store does not invalidate the other caches' shared copies.
    NoInvalidate,
    /// A modified line is downgraded (M to S) or evicted (M to I) without writing its data
    /// back: the dirty value is lost.
    NoWriteback,
    /// Directory only: a store completes when the data arrives, before every Inv-Ack.
    EarlyWrite,
    /// Directory only, a race on a transient state: a cache in IS^D acknowledges an Inv
    /// at once instead of stalling it, and the data still in flight makes it a sharer.
    AckInvInIsD,
    /// Directory only: forwarded requests travel on an unordered network. A Put-Ack
    /// overtakes a Fwd-GetS, the old owner leaves MI^A for I and never serves the forward,
    /// and the directory waits in S^D for ever.
    UnorderedForwards,
}

impl Bug {
    /// Every bug, in the order `check list` shows them.
    pub const ALL: [Bug; 5] = [
        Bug::NoInvalidate,
        Bug::NoWriteback,
        Bug::EarlyWrite,
        Bug::AckInvInIsD,
        Bug::UnorderedForwards,
    ];

    /// Whether the bug exists only in the directory protocol (the atomic bus has no
    /// Inv-Acks and no transient states).
    pub fn directory_only(self) -> bool {
        !matches!(self, Bug::NoInvalidate | Bug::NoWriteback)
    }

    /// The variant as the harness lists it.
    pub const fn variant(self) -> crate::Variant {
        match self {
            Bug::NoInvalidate => crate::Variant {
                name: "no-invalidate",
                summary: "a store does not invalidate the other caches' shared copies",
                breaks: &["SWMR", "DataValue"],
            },
            Bug::NoWriteback => crate::Variant {
                name: "no-writeback",
                summary: "an M to S downgrade or an M to I eviction drops the dirty data",
                breaks: &["DataValue"],
            },
            Bug::EarlyWrite => crate::Variant {
                name: "early-write",
                summary: "(directory) a store completes when the data arrives, before all \
                          Inv-Acks",
                breaks: &["SWMR", "DataValue"],
            },
            Bug::AckInvInIsD => crate::Variant {
                name: "ack-inv-in-is-d",
                summary: "(directory) IS^D acknowledges an Inv instead of stalling it; the \
                          late data makes it a sharer the directory forgot",
                breaks: &["SWMR", "DataValue"],
            },
            Bug::UnorderedForwards => crate::Variant {
                name: "unordered-forwards",
                summary: "(directory) forwarded requests are not point-to-point ordered: a \
                          Put-Ack overtakes a Fwd-GetS, which is never served",
                breaks: &["NoDeadlock"],
            },
        }
    }

    /// The bug named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.variant().name == name)
    }
}

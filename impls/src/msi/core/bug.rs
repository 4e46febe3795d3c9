//! The protocol's known bugs, named once: the models, the simulator and the `check` binary
//! all look them up here.

use super::Bugs;
use crate::sansio::{BugSwitch, BugSwitches};

/// A known bug the MSI protocol can be built with, one value per `--bug NAME`.
///
/// This is the one place the bugs' names and summaries are written (see
/// [`BugSwitches`]); `models::msi` adds only which properties each breaks, and
/// [`Bugs::with`] turns one into the switches the controllers and networks read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// The bug's name and summary, as `check list` prints them.
    ///
    /// A `const fn` (the trait's [`BugSwitches::switch`] calls it) so that the models can
    /// build their variant tables as constants.
    pub const fn switch(self) -> BugSwitch {
        // The "(directory)" prefix is part of the summary `check list` prints: the atomic
        // bus of the snooping model has no Inv-Acks, transient states or forwards.
        let (name, summary) = match self {
            Bug::NoInvalidate => (
                "no-invalidate",
                "a store does not invalidate the other caches' shared copies",
            ),
            Bug::NoWriteback => (
                "no-writeback",
                "an M to S downgrade or an M to I eviction drops the dirty data",
            ),
            Bug::EarlyWrite => (
                "early-write",
                "(directory) a store completes when the data arrives, before all Inv-Acks",
            ),
            Bug::AckInvInIsD => (
                "ack-inv-in-is-d",
                "(directory) IS^D acknowledges an Inv instead of stalling it; the late data \
                 makes it a sharer the directory forgot",
            ),
            Bug::UnorderedForwards => (
                "unordered-forwards",
                "(directory) forwarded requests are not point-to-point ordered: a Put-Ack \
                 overtakes a Fwd-GetS, which is never served",
            ),
        };
        BugSwitch { name, summary }
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[
        Bug::NoInvalidate,
        Bug::NoWriteback,
        Bug::EarlyWrite,
        Bug::AckInvInIsD,
        Bug::UnorderedForwards,
    ];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

impl Bugs {
    /// No bug: the correct protocol.
    pub const NONE: Bugs = Bugs {
        no_invalidate: false,
        no_writeback: false,
        early_write: false,
        ack_inv_in_is_d: false,
        unordered_forwards: false,
    };

    /// The switches for `bug`: exactly its own flag on, every other off.
    pub const fn with(bug: Bug) -> Bugs {
        let mut bugs = Bugs::NONE;
        match bug {
            Bug::NoInvalidate => bugs.no_invalidate = true,
            Bug::NoWriteback => bugs.no_writeback = true,
            Bug::EarlyWrite => bugs.early_write = true,
            Bug::AckInvInIsD => bugs.ack_inv_in_is_d = true,
            Bug::UnorderedForwards => bugs.unordered_forwards = true,
        }
        bugs
    }
}

impl From<Bug> for Bugs {
    /// [`Bugs::with`].
    fn from(bug: Bug) -> Bugs {
        Bugs::with(bug)
    }
}

impl From<Option<Bug>> for Bugs {
    /// [`Bugs::with`] the bug, or [`Bugs::NONE`].
    fn from(bug: Option<Bug>) -> Bugs {
        bug.map_or(Bugs::NONE, Bugs::with)
    }
}

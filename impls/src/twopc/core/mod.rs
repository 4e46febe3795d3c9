//! The sans-IO protocol core: the coordinator's and the participant's state machines.
//!
//! A state machine takes an event (a client's request, a message, a tick of the clock, a
//! failure notice) with the current time, updates its volatile state, and returns the
//! [`Effect`]s the runtime must carry out **in order**. Nothing here touches a file, a
//! socket, a clock or a random number generator, so the unit tests drive every path
//! directly and the runtime ([`crate::twopc::runtime`]) only executes effects.
//!
//! The order of effects carries the protocol's durability rules: a `Log` effect with
//! `durable: true` comes before the `Send` it protects (the coordinator's Commit record
//! before any Commit message, a participant's prepare record before its yes vote, its
//! decision record before its acknowledgement). A runtime executes an effect only after
//! the ones before it have completed, and crashes between any two of them.
//!
//! The design is the one `models::twopc::design` checks: presumed abort, a participant
//! that may abort on its own only before it votes yes, recovery from the logs.

mod coordinator;
mod participant;

#[cfg(test)]
mod tests;

pub use coordinator::{BeginError, Coordinator, CoordinatorStatus};
pub use participant::{Participant, ParticipantStatus};

use super::messages::{Decision, Msg};
use super::{NodeId, TxId};
use std::time::Duration;

/// Something the runtime must do for a state machine, in the order returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<R> {
    /// Append `record` to the node's log. With `durable`, also fsync, and carry out no later
    /// effect until the fsync has returned.
    Log {
        /// The record.
        record: R,
        /// Whether the record must be on disk before the next effect.
        durable: bool,
    },
    /// Send `msg` to `to`. The network may lose, delay or reorder it.
    Send {
        /// The destination.
        to: NodeId,
        /// The message.
        msg: Msg,
    },
    /// The coordinator finished `tx`: every participant acknowledged `decision`. The
    /// runtime answers the client that began it, if it is still waiting.
    Finished {
        /// The transaction.
        tx: TxId,
        /// Its outcome.
        decision: Decision,
    },
}

/// The protocol's timeouts. Any positive values are safe; they only trade latency
/// against redundant messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// The coordinator resends Prepare to participants that have not voted, and the
    /// decision to participants that have not acknowledged, this often.
    pub resend: Duration,
    /// The coordinator aborts a transaction whose votes are not all in after this long.
    pub vote_timeout: Duration,
    /// A participant that cannot lock a transaction's keys (another prepared transaction
    /// holds them) waits this long for them before it votes no.
    pub lock_timeout: Duration,
    /// An in-doubt participant (prepared, no decision) asks the coordinator this often.
    pub query_interval: Duration,
}

impl Default for Timing {
    /// Timeouts for threads in one process: a few milliseconds.
    fn default() -> Self {
        Timing {
            resend: Duration::from_millis(15),
            vote_timeout: Duration::from_millis(60),
            lock_timeout: Duration::from_millis(30),
            query_interval: Duration::from_millis(15),
        }
    }
}

/// A known bug the state machines can be built with, so that the checks can show that the
/// crash tests catch it. Each mirrors a bug variant of `models::twopc::design`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// The coordinator sends Commit before its Commit record is durable; a crash in between
    /// recovers to Abort while some participant already committed.
    CommitBeforeLog,
    /// A prepared participant that hears nothing for one query interval aborts on its own,
    /// although it voted yes.
    AbortAfterPrepared,
    /// A participant votes yes without fsyncing its prepare record, so a crash after the
    /// vote forgets the promise.
    SkipPrepareFsync,
}

impl Bug {
    /// Every bug, in a fixed order.
    pub const ALL: [Bug; 3] = [
        Bug::CommitBeforeLog,
        Bug::AbortAfterPrepared,
        Bug::SkipPrepareFsync,
    ];

    /// The bug's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::CommitBeforeLog => "commit-before-log",
            Bug::AbortAfterPrepared => "abort-after-prepared",
            Bug::SkipPrepareFsync => "skip-prepare-fsync",
        }
    }

    /// Parses a bug's command-line name.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

//! The sans-IO protocol core: the coordinator's and the participant's state machines.
//!
//! Each is a [`crate::sansio::Core`]: it [`step`](crate::sansio::Core::step)s on an input
//! (a client's request, a message, a tick of the clock, a failure notice, each stamped with
//! the current time), updates its volatile state, and returns the [`Effect`]s the driver must
//! carry out **in order**. Nothing here touches a file, a socket, a clock or a random number
//! generator, so the same code runs in three places: the unit tests drive every path
//! directly, the runtime ([`crate::twopc::runtime`]) executes the effects on threads and
//! files, and `models::twopc::design` explores every interleaving of the inputs.
//!
//! The order of effects carries the protocol's durability rules: a `Log` effect with
//! `durable: true` comes before the `Send` it protects (the coordinator's Commit record
//! before any Commit message, a participant's prepare record before its yes vote, its
//! decision record before its acknowledgement). A driver executes an effect only after
//! the ones before it have completed, and may crash between any two of them;
//! [`crate::sansio::check_durability_order`] checks the rule on every step in the tests.
//!
//! The design is the one `models::twopc::design` checks: presumed abort, a participant
//! that may abort on its own only before it votes yes, recovery from the logs.

mod coordinator;
mod participant;

#[cfg(test)]
mod tests;

pub use coordinator::{
    BeginError, Coordinator, CoordinatorInput, CoordinatorStatus, CoordinatorTx,
};
pub use participant::{Participant, ParticipantInput, ParticipantStatus, ParticipantTx};

use super::messages::{Decision, Msg};
use super::{NodeId, TxId};
use crate::sansio::{BugSwitch, BugSwitches, EffectKind};
use std::time::Duration;

/// Something the runtime must do for a state machine, in the order returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<R> {
    /// Append `record` to the node's log. With `durable`, also fsync (which makes every
    /// record appended before it durable too), and carry out no later effect until the
    /// fsync has returned. Without, the record is lost if the node crashes before a later
    /// fsync.
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
    /// Coordinator only: it finished `tx`, every participant acknowledged `decision`. The
    /// runtime answers the client that began it, if it is still waiting.
    Finished {
        /// The transaction.
        tx: TxId,
        /// Its outcome.
        decision: Decision,
    },
    /// Coordinator only: it refused to begin `tx` and did nothing else. The runtime answers
    /// the client that asked.
    Rejected {
        /// The transaction the client asked for.
        tx: TxId,
        /// Why.
        error: BeginError,
    },
}

impl<R> crate::sansio::Effect for Effect<R> {
    /// A durable log write is a persist; a log write without an fsync is not (nothing may
    /// depend on it); a send is a send; finishing and refusing only answer a client.
    fn kind(&self) -> EffectKind {
        match self {
            Effect::Log { durable: true, .. } => EffectKind::Persist,
            Effect::Log { durable: false, .. } => EffectKind::Other,
            Effect::Send { .. } => EffectKind::Send,
            Effect::Finished { .. } | Effect::Rejected { .. } => EffectKind::Other,
        }
    }
}

/// The protocol's timeouts. Any values are safe, zero included (which `models::twopc`
/// uses: every timer is due as soon as it is set); they only trade latency against
/// redundant messages and needless aborts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

/// A known bug the state machines can be built with, so that the model and the crash tests
/// can show that they catch it. Each is a bug variant of `models::twopc::design` too.
///
/// This is the one place the bugs' names and summaries are written (see
/// [`BugSwitches`]): the model adds only which of its properties each breaks, and
/// `--bug NAME` looks them up here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// The coordinator commits on the first yes vote instead of waiting for all of them;
    /// a participant that voted no (or never heard Prepare) is then told Commit.
    CommitWithoutAllVotes,
    /// A prepared participant whose timer fires (where it would ask the coordinator)
    /// aborts on its own, although it voted yes.
    AbortAfterPrepared,
    /// The coordinator sends Commit before its Commit record is durable; a crash in between
    /// recovers to Abort while some participant may already have committed.
    DecideBeforeLogging,
    /// A participant votes yes without fsyncing its prepare record, so a crash after the
    /// vote forgets the promise: it later acknowledges Commit without applying it.
    NoPrepareRecord,
}

impl Bug {
    /// The bug's name and summary, as `check list` prints them.
    ///
    /// A `const fn` (the trait's [`BugSwitches::switch`] calls it) so that the model can
    /// build its variant table as a constant.
    pub const fn switch(self) -> BugSwitch {
        let (name, summary) = match self {
            Bug::CommitWithoutAllVotes => (
                "commit-without-all-votes",
                "the coordinator commits once some, not all, participants voted yes",
            ),
            Bug::AbortAfterPrepared => (
                "abort-after-prepared",
                "a participant that voted yes times out and aborts on its own",
            ),
            Bug::DecideBeforeLogging => (
                "decide-before-logging",
                "Commit is sent before its log record is durable; a crash in between \
                 recovers to Abort",
            ),
            Bug::NoPrepareRecord => (
                "no-prepare-record",
                "a participant votes yes before its prepare record is durable; a crash \
                 forgets the vote",
            ),
        };
        BugSwitch { name, summary }
    }

    /// Whether a core built with this bug may break the durability rule of
    /// [`crate::sansio`] (a persist after a send in one step): the one exception to the
    /// guarantee of [`Core::step`](crate::sansio::Core::step). Every other build keeps
    /// the rule on every step, which the tests check and the model asserts.
    pub const fn breaks_durability_order(self) -> bool {
        matches!(self, Bug::DecideBeforeLogging)
    }

    /// The bug named `name` on the command line: [`BugSwitches::from_name`], callable
    /// without the trait in scope.
    pub fn from_name(name: &str) -> Option<Bug> {
        <Bug as BugSwitches>::from_name(name)
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[
        Bug::CommitWithoutAllVotes,
        Bug::AbortAfterPrepared,
        Bug::DecideBeforeLogging,
        Bug::NoPrepareRecord,
    ];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

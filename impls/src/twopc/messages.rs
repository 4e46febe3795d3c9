//! What the coordinator and the participants say to each other, and the operations a
//! transaction asks a participant to apply.

use super::TxId;
use std::fmt;

/// One change a transaction makes at one participant: add `delta` (negative to debit) to
/// the balance of `account`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Op {
    /// The account, which must exist at the participant.
    pub account: String,
    /// The amount added to the account's balance; a debit is negative.
    pub delta: i64,
}

impl Op {
    /// `delta` added to `account`.
    pub fn new(account: impl Into<String>, delta: i64) -> Op {
        Op {
            account: account.into(),
            delta,
        }
    }
}

/// A transaction's outcome, the same at every participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    /// Every participant applies its operations.
    Commit,
    /// No participant applies anything.
    Abort,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Commit => "Commit",
            Decision::Abort => "Abort",
        })
    }
}

/// A protocol message. The coordinator sends `Prepare`, `Decision` and `Undecided`; a
/// participant sends `Vote`, `Ack` and `Query`. Every message may be lost, duplicated by a
/// resend, or reordered, and every handler tolerates that.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Msg {
    /// Lock these keys, check these operations can be applied, and vote.
    Prepare {
        /// The transaction.
        tx: TxId,
        /// The receiving participant's share of the transaction.
        ops: Vec<Op>,
    },
    /// The answer to `Prepare`. A yes vote is sent only once the participant's prepare
    /// record is durable.
    Vote {
        /// The transaction.
        tx: TxId,
        /// Whether the participant can commit it.
        yes: bool,
    },
    /// The transaction's outcome: sent after the decision, resent until acknowledged, and
    /// sent in answer to a `Query`. Commit is sent only once the coordinator's Commit record
    /// is durable.
    Decision {
        /// The transaction.
        tx: TxId,
        /// Its outcome.
        decision: Decision,
    },
    /// The participant has durably recorded (and applied) the decision.
    Ack {
        /// The transaction.
        tx: TxId,
    },
    /// An in-doubt participant asks for the outcome of a transaction it prepared.
    Query {
        /// The transaction.
        tx: TxId,
    },
    /// The answer to a `Query` while the coordinator is still collecting votes: keep
    /// waiting (and keep the locks).
    Undecided {
        /// The transaction.
        tx: TxId,
    },
}

impl Msg {
    /// The transaction the message is about.
    pub fn tx(&self) -> TxId {
        match self {
            Msg::Prepare { tx, .. }
            | Msg::Vote { tx, .. }
            | Msg::Decision { tx, .. }
            | Msg::Ack { tx }
            | Msg::Query { tx }
            | Msg::Undecided { tx } => *tx,
        }
    }

    /// The message's kind as crash-point names show it: `Prepare`, `VoteYes`, `VoteNo`,
    /// `Commit`, `Abort`, `Ack`, `Query` or `Undecided`.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Prepare { .. } => "Prepare",
            Msg::Vote { yes: true, .. } => "VoteYes",
            Msg::Vote { yes: false, .. } => "VoteNo",
            Msg::Decision {
                decision: Decision::Commit,
                ..
            } => "Commit",
            Msg::Decision {
                decision: Decision::Abort,
                ..
            } => "Abort",
            Msg::Ack { .. } => "Ack",
            Msg::Query { .. } => "Query",
            Msg::Undecided { .. } => "Undecided",
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tx{}", self.kind(), self.tx())
    }
}

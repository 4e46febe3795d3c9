//! The coordinator: runs each transaction's prepare phase, decides, logs a Commit before
//! announcing it, and resends the decision until every participant acknowledges.

use super::{Bug, Effect, Timing};
use crate::sansio::Core;
use crate::twopc::messages::{Decision, Msg, Op};
use crate::twopc::records::CoordinatorRecord;
use crate::twopc::{NodeId, ParticipantId, TxId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

type Effects = Vec<Effect<CoordinatorRecord>>;

/// What the coordinator steps on (see [`Core`]), each stamped with the current time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorInput {
    /// A client asks to run transaction `tx`, `ops[p]` at each participant `p`. Prepare
    /// goes to each, and an [`Effect::Finished`] reports the outcome once every participant
    /// has acknowledged it; or an [`Effect::Rejected`] says why not, and nothing was sent.
    Begin {
        /// The transaction.
        tx: TxId,
        /// Each participant's share of it.
        ops: BTreeMap<ParticipantId, Vec<Op>>,
        /// The time now.
        now: Duration,
    },
    /// `msg` arrived from participant `from`.
    Message {
        /// The sender.
        from: ParticipantId,
        /// The message.
        msg: Msg,
        /// The time now.
        now: Duration,
    },
    /// Time passed: transactions whose votes are overdue are aborted, and unanswered
    /// Prepares and decisions are resent. Only needed at [`Coordinator::next_deadline`].
    Tick {
        /// The time now.
        now: Duration,
    },
    /// `participant` failed (its process died). Every transaction still collecting votes
    /// that it has not voted yes on is aborted now rather than at its vote timeout: it made
    /// no promise, and after its restart it would not know the Prepare. Decided
    /// transactions are unaffected; their decision is resent to it until it acknowledges.
    ParticipantFailed {
        /// The participant that failed.
        participant: ParticipantId,
        /// The time now.
        now: Duration,
    },
}

/// Why [`Coordinator::begin`] refused a transaction. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BeginError {
    /// The id is in use or was used before (by this incarnation, or in the log). Reusing
    /// it could mix up the old transaction's messages with the new one's.
    DuplicateTx(TxId),
    /// The transaction has no operations at any participant.
    Empty,
    /// The transaction names a participant the coordinator does not have.
    UnknownParticipant(ParticipantId),
}

impl fmt::Display for BeginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BeginError::DuplicateTx(tx) => write!(f, "transaction id {tx} was already used"),
            BeginError::Empty => f.write_str("the transaction has no operations"),
            BeginError::UnknownParticipant(p) => write!(f, "there is no participant {p}"),
        }
    }
}

impl std::error::Error for BeginError {}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Phase {
    /// Prepare sent; collecting votes until `deadline`.
    Preparing {
        ops: BTreeMap<ParticipantId, Vec<Op>>,
        yes: BTreeSet<ParticipantId>,
        deadline: Duration,
    },
    /// Decided (and, for Commit, logged); collecting acknowledgements.
    Decided {
        decision: Decision,
        acked: BTreeSet<ParticipantId>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Active {
    participants: Vec<ParticipantId>,
    phase: Phase,
    resend_at: Duration,
}

/// Where the coordinator is with one transaction, from its volatile state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorTx {
    /// Not begun by this incarnation, and not in its log: a participant asking about it is
    /// told Abort (presumed abort).
    Unknown,
    /// Prepare sent; collecting votes. `yes` have voted yes.
    Preparing {
        /// The participants whose yes vote arrived.
        yes: BTreeSet<ParticipantId>,
    },
    /// Decided (a Commit logged); resending `decision` to those not in `acked`.
    Decided {
        /// The outcome.
        decision: Decision,
        /// The participants that acknowledged it.
        acked: BTreeSet<ParticipantId>,
    },
    /// Over: every participant acknowledged, or the log says it ended or aborted. Queries
    /// are answered `decision`.
    Finished(Decision),
}

/// What a coordinator knows, for tests and the demo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoordinatorStatus {
    /// Transactions begun or recovered and not yet acknowledged by every participant.
    pub active: BTreeSet<TxId>,
    /// Transactions whose Commit record is in the log.
    pub committed: BTreeSet<TxId>,
}

/// The coordinator's state machine.
///
/// Guarantees, given a runtime that carries out its effects in order:
/// - it sends Commit for a transaction only after every participant voted yes (unless
///   built with [`Bug::CommitWithoutAllVotes`]) and after the Commit record is durable
///   (unless built with [`Bug::DecideBeforeLogging`]);
/// - it never sends both Commit and Abort for one transaction, across restarts: a restarted
///   coordinator commits exactly the transactions with a Commit record and never resumes
///   a prepare phase;
/// - it resends the decision to every participant until each acknowledges it.
///
/// It is a [`Core`]: everything after [`recover`](Coordinator::recover) happens through
/// [`step`](Core::step). Equal coordinators behave the same (`Eq` and `Hash` cover all of
/// the state), which is what lets the model use it as part of its state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Coordinator {
    participants: usize,
    timing: Timing,
    bug: Option<Bug>,
    active: BTreeMap<TxId, Active>,
    /// Every transaction with a Commit record, for answering queries. Never shrinks: there
    /// is no log compaction.
    committed: BTreeSet<TxId>,
    /// Every id this coordinator has seen, in its log or since it started.
    used: BTreeSet<TxId>,
}

impl Coordinator {
    /// A coordinator of `participants` participants, recovered from its log's `records`
    /// at time `now`.
    ///
    /// Every Commit without an End is resent (the returned effects) until acknowledged;
    /// every other transaction is aborted by presumption and answered so when a participant
    /// asks. Transactions that were collecting votes when the last incarnation stopped are
    /// not resumed: they have no Commit record, so they are aborted.
    pub fn recover(
        participants: usize,
        records: &[CoordinatorRecord],
        timing: Timing,
        bug: Option<Bug>,
        now: Duration,
    ) -> (Coordinator, Effects) {
        let mut c = Coordinator {
            participants,
            timing,
            bug,
            active: BTreeMap::new(),
            committed: BTreeSet::new(),
            used: BTreeSet::new(),
        };
        let mut unended: BTreeMap<TxId, Vec<ParticipantId>> = BTreeMap::new();
        for record in records {
            match record {
                CoordinatorRecord::Commit { tx, participants } => {
                    c.used.insert(*tx);
                    c.committed.insert(*tx);
                    unended.insert(*tx, participants.clone());
                }
                CoordinatorRecord::Abort { tx } => {
                    c.used.insert(*tx);
                }
                CoordinatorRecord::End { tx } => {
                    c.used.insert(*tx);
                    unended.remove(tx);
                }
            }
        }
        let mut effects = Vec::new();
        for (tx, participants) in unended {
            for &p in &participants {
                effects.push(decision_to(p, tx, Decision::Commit));
            }
            c.active.insert(
                tx,
                Active {
                    participants,
                    phase: Phase::Decided {
                        decision: Decision::Commit,
                        acked: BTreeSet::new(),
                    },
                    resend_at: now + timing.resend,
                },
            );
        }
        (c, effects)
    }

    /// [`CoordinatorInput::Begin`].
    fn begin(
        &mut self,
        tx: TxId,
        ops: BTreeMap<ParticipantId, Vec<Op>>,
        now: Duration,
    ) -> Result<Effects, BeginError> {
        if self.used.contains(&tx) {
            return Err(BeginError::DuplicateTx(tx));
        }
        if ops.values().all(Vec::is_empty) {
            return Err(BeginError::Empty);
        }
        if let Some(&p) = ops.keys().find(|&&p| p >= self.participants) {
            return Err(BeginError::UnknownParticipant(p));
        }
        // A participant with no operations has nothing to vote on.
        let ops: BTreeMap<_, _> = ops.into_iter().filter(|(_, o)| !o.is_empty()).collect();
        self.used.insert(tx);
        let participants: Vec<_> = ops.keys().copied().collect();
        let effects = prepare_to(&participants, tx, &ops);
        self.active.insert(
            tx,
            Active {
                participants,
                phase: Phase::Preparing {
                    ops,
                    yes: BTreeSet::new(),
                    deadline: now + self.timing.vote_timeout,
                },
                resend_at: now + self.timing.resend,
            },
        );
        Ok(effects)
    }

    /// [`CoordinatorInput::Message`].
    fn on_message(&mut self, from: ParticipantId, msg: Msg, now: Duration) -> Effects {
        let mut effects = Vec::new();
        match msg {
            Msg::Vote { tx, yes } => {
                let Some(active) = self.active.get_mut(&tx) else {
                    // A late vote for a finished transaction: the voter may be in doubt,
                    // so answer it as a query.
                    if yes {
                        effects.push(decision_to(from, tx, self.finished_decision(tx)));
                    }
                    return effects;
                };
                match &mut active.phase {
                    Phase::Preparing { yes: voted, .. } => {
                        if !active.participants.contains(&from) {
                            return effects;
                        }
                        if !yes {
                            self.decide(tx, Decision::Abort, now, &mut effects);
                        } else {
                            voted.insert(from);
                            let all = voted.len() == active.participants.len();
                            // The bug: one yes vote is taken for all of them.
                            if all || self.bug == Some(Bug::CommitWithoutAllVotes) {
                                self.decide(tx, Decision::Commit, now, &mut effects);
                            }
                        }
                    }
                    // Decided already: the decision is being resent to it anyway.
                    Phase::Decided { .. } => {}
                }
            }
            Msg::Ack { tx } => {
                if let Some(active) = self.active.get_mut(&tx) {
                    if let Phase::Decided { decision, acked } = &mut active.phase {
                        if active.participants.contains(&from) {
                            acked.insert(from);
                        }
                        if acked.len() == active.participants.len() {
                            let decision = *decision;
                            self.active.remove(&tx);
                            if decision == Decision::Commit {
                                effects.push(Effect::Log {
                                    record: CoordinatorRecord::End { tx },
                                    durable: false,
                                });
                            }
                            effects.push(Effect::Finished { tx, decision });
                        }
                    }
                }
            }
            Msg::Query { tx } => {
                let answer = match self.active.get(&tx).map(|a| &a.phase) {
                    Some(Phase::Preparing { .. }) => Msg::Undecided { tx },
                    Some(Phase::Decided { decision, .. }) => Msg::Decision {
                        tx,
                        decision: *decision,
                    },
                    None => Msg::Decision {
                        tx,
                        decision: self.finished_decision(tx),
                    },
                };
                effects.push(Effect::Send {
                    to: NodeId::Participant(from),
                    msg: answer,
                });
            }
            // Only participants receive these.
            Msg::Prepare { .. } | Msg::Decision { .. } | Msg::Undecided { .. } => {}
        }
        effects
    }

    /// [`CoordinatorInput::Tick`].
    fn on_tick(&mut self, now: Duration) -> Effects {
        let mut effects = Vec::new();
        let overdue: Vec<TxId> = self
            .active
            .iter()
            .filter(
                |(_, a)| matches!(a.phase, Phase::Preparing { deadline, .. } if now >= deadline),
            )
            .map(|(tx, _)| *tx)
            .collect();
        for tx in overdue {
            self.decide(tx, Decision::Abort, now, &mut effects);
        }
        for (&tx, active) in &mut self.active {
            if now < active.resend_at {
                continue;
            }
            active.resend_at = now + self.timing.resend;
            match &active.phase {
                Phase::Preparing { ops, yes, .. } => {
                    let silent: Vec<_> = active
                        .participants
                        .iter()
                        .copied()
                        .filter(|p| !yes.contains(p))
                        .collect();
                    effects.extend(prepare_to(&silent, tx, ops));
                }
                Phase::Decided { decision, acked } => {
                    for &p in &active.participants {
                        if !acked.contains(&p) {
                            effects.push(decision_to(p, tx, *decision));
                        }
                    }
                }
            }
        }
        effects
    }

    /// [`CoordinatorInput::ParticipantFailed`].
    fn handle_participant_failure(&mut self, p: ParticipantId, now: Duration) -> Effects {
        let mut effects = Vec::new();
        let undecided: Vec<TxId> = self
            .active
            .iter()
            .filter(|(_, a)| match &a.phase {
                Phase::Preparing { yes, .. } => a.participants.contains(&p) && !yes.contains(&p),
                Phase::Decided { .. } => false,
            })
            .map(|(tx, _)| *tx)
            .collect();
        for tx in undecided {
            self.decide(tx, Decision::Abort, now, &mut effects);
        }
        effects
    }

    /// When a [`CoordinatorInput::Tick`] next has something to do, if ever.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.active
            .values()
            .map(|a| match a.phase {
                Phase::Preparing { deadline, .. } => a.resend_at.min(deadline),
                Phase::Decided { .. } => a.resend_at,
            })
            .min()
    }

    /// What the coordinator knows now.
    pub fn status(&self) -> CoordinatorStatus {
        CoordinatorStatus {
            active: self.active.keys().copied().collect(),
            committed: self.committed.clone(),
        }
    }

    /// Where the coordinator is with `tx`.
    pub fn progress(&self, tx: TxId) -> CoordinatorTx {
        match self.active.get(&tx).map(|a| &a.phase) {
            Some(Phase::Preparing { yes, .. }) => CoordinatorTx::Preparing { yes: yes.clone() },
            Some(Phase::Decided { decision, acked }) => CoordinatorTx::Decided {
                decision: *decision,
                acked: acked.clone(),
            },
            None if self.used.contains(&tx) => CoordinatorTx::Finished(self.finished_decision(tx)),
            None => CoordinatorTx::Unknown,
        }
    }

    /// The outcome of a transaction that is not active: Commit if its Commit record is in
    /// the log, otherwise Abort (presumed abort).
    fn finished_decision(&self, tx: TxId) -> Decision {
        if self.committed.contains(&tx) {
            Decision::Commit
        } else {
            Decision::Abort
        }
    }

    fn decide(&mut self, tx: TxId, decision: Decision, now: Duration, effects: &mut Effects) {
        let Some(active) = self.active.get_mut(&tx) else {
            return;
        };
        if !matches!(active.phase, Phase::Preparing { .. }) {
            return;
        }
        active.phase = Phase::Decided {
            decision,
            acked: BTreeSet::new(),
        };
        active.resend_at = now + self.timing.resend;
        let sends: Effects = active
            .participants
            .iter()
            .map(|&p| decision_to(p, tx, decision))
            .collect();
        match decision {
            Decision::Commit => {
                self.committed.insert(tx);
                let log = Effect::Log {
                    record: CoordinatorRecord::Commit {
                        tx,
                        participants: active.participants.clone(),
                    },
                    durable: true,
                };
                if self.bug == Some(Bug::DecideBeforeLogging) {
                    effects.extend(sends);
                    effects.push(log);
                } else {
                    // The rule the whole protocol rests on: once any participant may have
                    // seen Commit, every future incarnation of the coordinator must say
                    // Commit, so the record is durable first.
                    effects.push(log);
                    effects.extend(sends);
                }
            }
            Decision::Abort => {
                // Not fsynced: presumed abort makes a lost Abort record mean the same.
                effects.push(Effect::Log {
                    record: CoordinatorRecord::Abort { tx },
                    durable: false,
                });
                effects.extend(sends);
            }
        }
    }
}

impl Core for Coordinator {
    type Input = CoordinatorInput;
    type Effect = Effect<CoordinatorRecord>;

    fn step(&mut self, input: CoordinatorInput) -> Effects {
        match input {
            CoordinatorInput::Begin { tx, ops, now } => self
                .begin(tx, ops, now)
                .unwrap_or_else(|error| vec![Effect::Rejected { tx, error }]),
            CoordinatorInput::Message { from, msg, now } => self.on_message(from, msg, now),
            CoordinatorInput::Tick { now } => self.on_tick(now),
            CoordinatorInput::ParticipantFailed { participant, now } => {
                self.handle_participant_failure(participant, now)
            }
        }
    }
}

fn prepare_to(
    participants: &[ParticipantId],
    tx: TxId,
    ops: &BTreeMap<ParticipantId, Vec<Op>>,
) -> Vec<Effect<CoordinatorRecord>> {
    participants
        .iter()
        .map(|&p| Effect::Send {
            to: NodeId::Participant(p),
            msg: Msg::Prepare {
                tx,
                ops: ops.get(&p).cloned().unwrap_or_default(),
            },
        })
        .collect()
}

fn decision_to(p: ParticipantId, tx: TxId, decision: Decision) -> Effect<CoordinatorRecord> {
    Effect::Send {
        to: NodeId::Participant(p),
        msg: Msg::Decision { tx, decision },
    }
}

//! A participant: one bank. It votes on Prepare, holds the locks of every transaction it
//! prepared until it learns the outcome, and applies committed transactions to its
//! balances.

use super::{Bug, Effect, Timing};
use crate::sansio::Core;
use crate::twopc::messages::{Decision, Msg, Op};
use crate::twopc::records::ParticipantRecord;
use crate::twopc::{NodeId, TxId};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

type Effects = Vec<Effect<ParticipantRecord>>;

/// What a participant steps on (see [`Core`]), each stamped with the current time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParticipantInput {
    /// `msg` arrived from the coordinator.
    Message {
        /// The message.
        msg: Msg,
        /// The time now.
        now: Duration,
    },
    /// Time passed: Prepares that waited too long for locks get a no vote, and in-doubt
    /// transactions are asked about again. Only needed at [`Participant::next_deadline`].
    Tick {
        /// The time now.
        now: Duration,
    },
}

/// Where a participant is with one transaction, from its volatile state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantTx {
    /// It has no Prepare for it and no decision (it never heard of it, or forgot a no vote
    /// in a crash, which needs no record: presumed abort).
    Unknown,
    /// A Prepare waits for keys another prepared transaction holds.
    Waiting,
    /// It voted yes and does not know the outcome: in doubt, holding the locks.
    Prepared,
    /// It knows the outcome (and applied a Commit).
    Decided(Decision),
}

/// A transaction this participant voted yes on and whose outcome it does not know yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Prepared {
    ops: Vec<Op>,
    /// When to ask the coordinator for the outcome (again).
    query_at: Duration,
}

/// A Prepare that is waiting for keys locked by another prepared transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Waiting {
    ops: Vec<Op>,
    /// When to give up and vote no.
    deadline: Duration,
}

/// What a participant knows, for tests and the demo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParticipantStatus {
    /// The balance of every account, with every committed transaction applied.
    pub balances: BTreeMap<String, i64>,
    /// Transactions this participant committed (and applied).
    pub committed: BTreeSet<TxId>,
    /// Transactions this participant knows aborted.
    pub aborted: BTreeSet<TxId>,
    /// Transactions it voted yes on and whose outcome it has not learnt: it holds their
    /// locks.
    pub in_doubt: BTreeSet<TxId>,
    /// Prepares waiting for locks.
    pub waiting: usize,
    /// Keys locked, and by which transaction.
    pub locks: BTreeMap<String, TxId>,
    /// Transactions whose decision contradicted this participant's own records: a Commit
    /// for a transaction it never prepared or already aborted, or an Abort of one it
    /// committed. Zero unless a promise was broken.
    pub contradictions: u64,
}

/// The participant's state machine.
///
/// Guarantees, given a runtime that carries out its effects in order:
/// - it votes yes only after its prepare record is durable and the keys are locked, and
///   then keeps the locks, across restarts, until it learns the outcome;
/// - after voting yes it never decides alone (unless built with
///   [`Bug::AbortAfterPrepared`]); before voting it may abort alone (no funds, lock
///   timeout);
/// - it acknowledges a decision only after recording it durably, so an acknowledged
///   outcome survives any crash;
/// - in doubt, it asks the coordinator every query interval until answered.
///
/// It is a [`Core`]: everything after [`recover`](Participant::recover) happens through
/// [`step`](Core::step). Equal participants behave the same (`Eq` and `Hash` cover all of
/// the state), which is what lets the model use it as part of its state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Participant {
    timing: Timing,
    bug: Option<Bug>,
    balances: BTreeMap<String, i64>,
    locks: BTreeMap<String, TxId>,
    prepared: BTreeMap<TxId, Prepared>,
    waiting: BTreeMap<TxId, Waiting>,
    decided: BTreeMap<TxId, Decision>,
    /// Transactions a decision contradicted: a set, not a count of messages, so that a
    /// duplicated message does not make a new state (the model's network duplicates).
    contradicted: BTreeSet<TxId>,
}

impl Participant {
    /// A participant whose accounts started at `initial`, recovered from its log's
    /// `records` at time `now`.
    ///
    /// Committed transactions are applied to the balances. Prepared transactions without a
    /// decision are in doubt: their locks are taken again and the coordinator is asked
    /// (the returned effects) for their outcome.
    pub fn recover(
        initial: BTreeMap<String, i64>,
        records: &[ParticipantRecord],
        timing: Timing,
        bug: Option<Bug>,
        now: Duration,
    ) -> (Participant, Effects) {
        let mut p = Participant {
            timing,
            bug,
            balances: initial,
            locks: BTreeMap::new(),
            prepared: BTreeMap::new(),
            waiting: BTreeMap::new(),
            decided: BTreeMap::new(),
            contradicted: BTreeSet::new(),
        };
        let mut prepared: BTreeMap<TxId, Vec<Op>> = BTreeMap::new();
        for record in records {
            match record {
                ParticipantRecord::Prepared { tx, ops } => {
                    prepared.insert(*tx, ops.clone());
                }
                ParticipantRecord::Decided { tx, decision } => {
                    // Replayed in log order, which is the order they were applied in.
                    if let Some(ops) = prepared.remove(tx) {
                        if *decision == Decision::Commit {
                            p.apply(&ops);
                        }
                    }
                    p.decided.insert(*tx, *decision);
                }
            }
        }
        let mut effects = Vec::new();
        for (tx, ops) in prepared {
            for op in &ops {
                p.locks.insert(op.account.clone(), tx);
            }
            effects.push(query(tx));
            p.prepared.insert(
                tx,
                Prepared {
                    ops,
                    query_at: now + timing.query_interval,
                },
            );
        }
        (p, effects)
    }

    /// [`ParticipantInput::Message`].
    fn on_message(&mut self, msg: Msg, now: Duration) -> Effects {
        let mut effects = Vec::new();
        match msg {
            Msg::Prepare { tx, ops } => self.on_prepare(tx, ops, now, &mut effects),
            Msg::Decision { tx, decision } => self.on_decision(tx, decision, now, &mut effects),
            // Still deciding: keep the locks and keep asking.
            Msg::Undecided { .. } => {}
            // Only the coordinator receives these.
            Msg::Vote { .. } | Msg::Ack { .. } | Msg::Query { .. } => {}
        }
        effects
    }

    /// [`ParticipantInput::Tick`].
    fn on_tick(&mut self, now: Duration) -> Effects {
        let mut effects = Vec::new();
        let expired: Vec<TxId> = self
            .waiting
            .iter()
            .filter(|(_, w)| now >= w.deadline)
            .map(|(tx, _)| *tx)
            .collect();
        for tx in expired {
            // Not yet voted, so aborting alone is allowed.
            self.waiting.remove(&tx);
            self.decided.insert(tx, Decision::Abort);
            effects.push(vote(tx, false));
        }
        let overdue: Vec<TxId> = self
            .prepared
            .iter()
            .filter(|(_, p)| now >= p.query_at)
            .map(|(tx, _)| *tx)
            .collect();
        for tx in overdue {
            if self.bug == Some(Bug::AbortAfterPrepared) {
                // The bug: a yes vote is a promise, and this breaks it.
                self.finish(tx, Decision::Abort, &mut effects);
                self.retry_waiting(now, &mut effects);
                continue;
            }
            if let Some(p) = self.prepared.get_mut(&tx) {
                p.query_at = now + self.timing.query_interval;
            }
            effects.push(query(tx));
        }
        effects
    }

    /// When a [`ParticipantInput::Tick`] next has something to do, if ever.
    pub fn next_deadline(&self) -> Option<Duration> {
        let waiting = self.waiting.values().map(|w| w.deadline);
        let prepared = self.prepared.values().map(|p| p.query_at);
        waiting.chain(prepared).min()
    }

    /// What the participant knows now.
    pub fn status(&self) -> ParticipantStatus {
        let with = |d: Decision| {
            self.decided
                .iter()
                .filter(|(_, x)| **x == d)
                .map(|(tx, _)| *tx)
                .collect()
        };
        ParticipantStatus {
            balances: self.balances.clone(),
            committed: with(Decision::Commit),
            aborted: with(Decision::Abort),
            in_doubt: self.prepared.keys().copied().collect(),
            waiting: self.waiting.len(),
            locks: self.locks.clone(),
            contradictions: self.contradicted.len() as u64,
        }
    }

    /// Where the participant is with `tx`.
    pub fn progress(&self, tx: TxId) -> ParticipantTx {
        if let Some(d) = self.decided.get(&tx) {
            ParticipantTx::Decided(*d)
        } else if self.prepared.contains_key(&tx) {
            ParticipantTx::Prepared
        } else if self.waiting.contains_key(&tx) {
            ParticipantTx::Waiting
        } else {
            ParticipantTx::Unknown
        }
    }

    /// Whether a decision about `tx` contradicted this participant's records (see
    /// [`ParticipantStatus::contradictions`]): it acknowledged an outcome it did not apply.
    pub fn contradicted(&self, tx: TxId) -> bool {
        self.contradicted.contains(&tx)
    }

    fn on_prepare(&mut self, tx: TxId, ops: Vec<Op>, now: Duration, effects: &mut Effects) {
        if let Some(decision) = self.decided.get(&tx) {
            // A duplicate of a Prepare whose transaction is over: repeat the vote it got.
            effects.push(vote(tx, *decision == Decision::Commit));
            return;
        }
        if self.prepared.contains_key(&tx) {
            // Duplicate: the prepare record is durable, the vote can be repeated.
            effects.push(vote(tx, true));
            return;
        }
        if self.waiting.contains_key(&tx) {
            return;
        }
        self.waiting.insert(
            tx,
            Waiting {
                ops,
                deadline: now + self.timing.lock_timeout,
            },
        );
        self.try_prepare(tx, now, effects);
    }

    /// Votes on the waiting Prepare `tx` if its keys are free: yes (locks taken, record
    /// logged) if the operations can be applied, no otherwise. Leaves it waiting if a key
    /// is locked by another transaction.
    fn try_prepare(&mut self, tx: TxId, now: Duration, effects: &mut Effects) {
        let Some(w) = self.waiting.get(&tx) else {
            return;
        };
        if w.ops.iter().any(|op| self.locks.contains_key(&op.account)) {
            return;
        }
        let w = self.waiting.remove(&tx).expect("checked above");
        if !self.can_apply(&w.ops) {
            self.decided.insert(tx, Decision::Abort);
            effects.push(vote(tx, false));
            return;
        }
        for op in &w.ops {
            self.locks.insert(op.account.clone(), tx);
        }
        // The promise: durable before the yes vote leaves, so that a restart remembers
        // it and keeps the locks.
        effects.push(Effect::Log {
            record: ParticipantRecord::Prepared {
                tx,
                ops: w.ops.clone(),
            },
            durable: self.bug != Some(Bug::NoPrepareRecord),
        });
        effects.push(vote(tx, true));
        self.prepared.insert(
            tx,
            Prepared {
                ops: w.ops,
                query_at: now + self.timing.query_interval,
            },
        );
    }

    fn on_decision(&mut self, tx: TxId, decision: Decision, now: Duration, effects: &mut Effects) {
        if self.prepared.contains_key(&tx) {
            self.finish(tx, decision, effects);
            // The freed locks may let waiting Prepares log their records: those come
            // before the acknowledgement, so that no persist follows a send in this step.
            self.retry_waiting(now, effects);
            effects.push(ack(tx));
            return;
        }
        match (self.decided.get(&tx), decision) {
            // A repeat of what it already knows: its acknowledgement was lost.
            (Some(known), _) if *known == decision => {
                if cfg!(feature = "demo-no-reack") {
                    // The vacuity demonstration's loss of behaviour (see Cargo.toml).
                    return;
                }
            }
            (None, Decision::Abort) => {
                // It never voted yes (or it would have a prepare record), so there is
                // nothing to undo; a waiting Prepare is dropped.
                self.waiting.remove(&tx);
                self.decided.insert(tx, Decision::Abort);
                self.retry_waiting(now, effects);
            }
            // Commit of a transaction it never promised, or a decision against the one it
            // recorded: only a broken protocol gets here. It cannot be undone either way,
            // so it is counted for the checks and acknowledged so the run can finish.
            _ => {
                self.contradicted.insert(tx);
            }
        }
        effects.push(ack(tx));
    }

    /// Records and applies the outcome of the prepared transaction `tx` and releases its
    /// locks.
    fn finish(&mut self, tx: TxId, decision: Decision, effects: &mut Effects) {
        let Some(p) = self.prepared.remove(&tx) else {
            return;
        };
        effects.push(Effect::Log {
            record: ParticipantRecord::Decided { tx, decision },
            durable: true,
        });
        if decision == Decision::Commit {
            self.apply(&p.ops);
        }
        self.locks.retain(|_, holder| *holder != tx);
        self.decided.insert(tx, decision);
    }

    fn retry_waiting(&mut self, now: Duration, effects: &mut Effects) {
        let waiting: Vec<TxId> = self.waiting.keys().copied().collect();
        let mut prepared = Vec::new();
        for tx in waiting {
            self.try_prepare(tx, now, &mut prepared);
        }
        // Every prepare record before any vote, so that no persist follows a send in one
        // step (the rule of `crate::sansio`, which the tests check on every step).
        let (logs, votes): (Effects, Effects) = prepared
            .into_iter()
            .partition(|e| matches!(e, Effect::Log { .. }));
        effects.extend(logs);
        effects.extend(votes);
    }

    /// Whether every account exists and none would go negative.
    fn can_apply(&self, ops: &[Op]) -> bool {
        let mut after = BTreeMap::new();
        for op in ops {
            let Some(balance) = self.balances.get(&op.account) else {
                return false;
            };
            let b = after.entry(&op.account).or_insert(*balance);
            match b.checked_add(op.delta) {
                Some(v) => *b = v,
                None => return false,
            }
        }
        after.values().all(|b| *b >= 0)
    }

    fn apply(&mut self, ops: &[Op]) {
        for op in ops {
            *self.balances.entry(op.account.clone()).or_insert(0) += op.delta;
        }
    }
}

impl Core for Participant {
    type Input = ParticipantInput;
    type Effect = Effect<ParticipantRecord>;

    fn step(&mut self, input: ParticipantInput) -> Effects {
        match input {
            ParticipantInput::Message { msg, now } => self.on_message(msg, now),
            ParticipantInput::Tick { now } => self.on_tick(now),
        }
    }
}

fn vote(tx: TxId, yes: bool) -> Effect<ParticipantRecord> {
    Effect::Send {
        to: NodeId::Coordinator,
        msg: Msg::Vote { tx, yes },
    }
}

fn ack(tx: TxId) -> Effect<ParticipantRecord> {
    Effect::Send {
        to: NodeId::Coordinator,
        msg: Msg::Ack { tx },
    }
}

fn query(tx: TxId) -> Effect<ParticipantRecord> {
    Effect::Send {
        to: NodeId::Coordinator,
        msg: Msg::Query { tx },
    }
}

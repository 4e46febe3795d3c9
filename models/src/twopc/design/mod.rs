//! The model of this project's two-phase commit design, built on the implementation's own
//! protocol core (`impls::twopc::core`): the coordinator and participant code checked here
//! is the code the runtime and the `twopc` demo run.
//!
//! # What is modelled
//!
//! One transaction, `tx1`, debiting 1 from account `x` at each of `p1..pN`. Each
//! participant's account either covers the debit or not (see [`Step::PrepareShort`]), so
//! a participant votes yes or no by the core's own check. Every decision is the cores':
//! the model only delivers inputs through [`Core::step`] (and builds cores with their
//! `recover`), and carries out the effects that come back.
//!
//! The environment:
//! - **the network** is a set of messages, as in Lamport's `TwoPhase`: a message once sent
//!   can be received any number of times (duplication, reordering), and `Drop` removes one
//!   (loss, at most `drops` times);
//! - **crashes** (at most `crashes`, of the coordinator or a participant) lose the core's
//!   volatile state and every log record appended without an fsync; a node recovers
//!   through the core's `recover` from the durable records, exactly what its `Log`
//!   effects wrote. A crash may also interrupt a step that sends before it persists (see
//!   "Mid-step crashes");
//! - **timeouts**: the model has no clock. The cores run with every interval of their
//!   [`Timing`] zero and the clock stopped at zero, so a timer is due as soon as it is
//!   set, and `Tick(n)` steps node `n` at its `next_deadline()` whenever it has one: a
//!   timeout can happen at any moment, which is all a protocol may assume of timing.
//!   All of a node's due timers fire in one tick: a coordinator collecting votes aborts
//!   (its vote timeout) and sends Abort in the same tick in which it would resend Prepare;
//!   a Prepare that was lost is therefore never resent, which loses no behaviour because
//!   a resend adds only what the duplicating network already has;
//! - **failure notices**: while a participant is down, the coordinator may be told so
//!   (the runtime's supervisor does this), as `CoordinatorInput::ParticipantFailed`.
//!
//! History variables record what has ever happened (who committed, aborted, voted yes;
//! what the coordinator ever decided), so that a decision a crash later erases is still
//! seen by the properties.
//!
//! # Mid-step crashes
//!
//! A driver may crash between any two effects of a step. The model explores one such
//! point per step: just before the first persist that follows a send. Only a step that
//! breaks the durability rule of [`impls::sansio`] has one, and [`Core::step`] guarantees
//! that none does unless the core was built with a bug that breaks exactly that
//! ([`Bug::breaks_durability_order`]: `decide-before-logging`). So mid-step crashes are
//! explored for that bug only; for every other core the model asserts the guarantee on
//! every step it takes, and panics on a breach, since the model would then miss states.
//! Every other interruption leaves a state that the model reaches anyway, or a sub-case
//! of one it reaches: a crash before the first persist is a crash before the step (its
//! input is still there to be redone), and a crash after some sends is the whole step
//! followed by a crash, with messages that may never be delivered, which no property can
//! tell apart from messages that were never sent.
//!
//! # Reductions
//!
//! Four reductions keep the state space small without hiding a behaviour.
//!
//! **Queries are answered at once.** An in-doubt participant's `Query` is handled by the
//! coordinator in the step that sends it (as `models::kv` delivers a reply with its
//! request), and is lost if the coordinator is down. The answer depends only on the
//! coordinator's state when the query arrives, and an in-doubt participant asks again at
//! every tick (its timer is always due), so a query arriving later is a later tick
//! answered at once, a lost query is a tick not taken, and a query arriving after its
//! sender learnt the outcome would only make the coordinator repeat a decision it has
//! already sent (or, if it decided both ways, one that `Stability` has already reported).
//!
//! **`Undecided` is not kept.** The participant core ignores it (it keeps waiting), so
//! whether it is in flight makes no difference to any step.
//!
//! **Nothing crashes before the client begins the transaction.** A node that has done
//! nothing restarts exactly as it was, so such a crash would only spend the budget (and,
//! for the liveness question, a coordinator gone before it began anything blocks nobody).
//!
//! **A step that changes nothing is not a transition** (a duplicate already answered, a
//! resend of messages still in the network). This keeps terminal states terminal, which
//! the `eventually` property needs.

//!
//! # Against the hand-written model it replaced
//!
//! Before it ran the cores, this model had its own coordinator and participants (128,003
//! states at the default bounds; shortest traces of 5, 10, 10 and 12 steps). Running the
//! implementation changes what it explores, in these ways, each the implementation's
//! behaviour:
//! - the coordinator decides on the vote that completes the count, in that step (before,
//!   counting the last vote and deciding were two steps): every trace that commits is
//!   one step shorter (4, 9, 9 and 11 steps);
//! - a participant hears of the transaction only from Prepare, so it cannot abort before
//!   Prepare arrives; it votes no when its account does not cover the debit;
//! - a no vote, and an Abort learnt before voting, are not logged (presumed abort): a crash
//!   forgets them;
//! - the coordinator appends Abort and End without an fsync (a crash loses them), forgets
//!   the transaction once every participant acknowledged, and after a crash without a
//!   Commit record sends nothing: it answers Abort to a query or a late yes vote, and
//!   in-doubt participants ask;
//! - one coordinator tick resends the decision to every participant that has not
//!   acknowledged (before: one resend per participant);
//! - the coordinator may be told that a participant failed;
//! - a participant without a prepare record acknowledges a Commit without applying it,
//!   which `Atomicity` counts as not committing: this is how `no-prepare-record` shows now
//!   (before, the participant timed out and aborted);
//! - `decide-before-logging` is a crash in the middle of the coordinator's step (before,
//!   a separate action made the record durable late).
//!
//! With the reductions above, the default bounds give 216,632 states. The history
//! variables that two witnesses read (see "Witnesses") tell apart states the protocol
//! cannot, for 289,412 in all: 33,224 more for `recovered_prepared` and 32,198 for
//! `reacknowledged`, measured one at a time.
//!
//! # Witnesses
//!
//! Atomicity and Stability hold only because of behaviours a careless change could
//! remove without breaking either: a model that never times out, never loses an
//! acknowledgement or never recovers a promise still "verifies" them. Each `sometimes`
//! property proves that the behaviour is explored:
//! - `TransactionCommits`, `TransactionAborts`: both outcomes happen at all.
//! - `CommitRecoveredFromLog`: a coordinator that crashed after logging Commit recovers
//!   it and every participant commits (Stability rests on the Commit record).
//! - `TimeoutAbortsPrepared`: with no crash and every account covering the debit, a
//!   participant that voted yes learns Abort, which only the coordinator's vote timeout
//!   decides. (A participant never aborts alone after voting yes; its own timeout, for a
//!   Prepare waiting on locks, cannot fire with one transaction.) Atomicity must hold
//!   across a timeout that races the last vote.
//! - `PreparedSurvivesCrash`: a participant that crashed after voting yes recovers in
//!   doubt from its prepare record, and keeps its promise (what `no-prepare-record`
//!   breaks).
//! - `LostAckReacknowledged`: the network lost a participant's acknowledgement, and the
//!   participant acknowledges the decision the coordinator repeats; without that the
//!   coordinator resends forever and never forgets the transaction.

mod words;

#[cfg(test)]
mod tests;

use crate::Variant;
use impls::sansio::{check_durability_order, Core};
pub use impls::twopc::core::Bug;
use impls::twopc::core::{
    Coordinator, CoordinatorInput, CoordinatorTx, Effect, Participant, ParticipantInput,
    ParticipantTx, Timing,
};
use impls::twopc::messages::{Msg as Wire, Op};
use impls::twopc::records::{CoordinatorRecord, ParticipantRecord};
pub use impls::twopc::Decision;
use impls::twopc::{NodeId, TxId};
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A set of participants, one bit each (`p1` is bit 0).
pub type Set = u8;

/// The participants in `set`, in order, numbered from 0.
pub fn members(set: Set, n: usize) -> impl Iterator<Item = usize> {
    (0..n).filter(move |i| set & (1 << i) != 0)
}

/// The most participants the model takes (messages are bits of a `u32`).
pub const MAX_PARTICIPANTS: usize = 4;

/// The one transaction of the model.
pub const TX: TxId = 1;

/// The account each participant debits.
pub const ACCOUNT: &str = "x";

/// The cores' timing in the model: every interval zero, so every timer is due as soon as it
/// is set (see the module doc).
pub const TIMING: Timing = Timing {
    resend: Duration::ZERO,
    vote_timeout: Duration::ZERO,
    lock_timeout: Duration::ZERO,
    query_interval: Duration::ZERO,
};

/// The clock the cores see: stopped.
const NOW: Duration = Duration::ZERO;

/// A message in the network, identified by its kind and the participant at the other end
/// (the coordinator is always one end). Its index in the network's bit set is
/// `kind * MAX_PARTICIPANTS + participant`.
///
/// The cores' two other messages never wait in the network (see "Reductions"): a `Query`
/// is answered at once, and `Undecided` changes nothing at its receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    /// Coordinator to participant: prepare (with the participant's share of `tx1`).
    Prepare(usize),
    /// Participant to coordinator: its vote.
    Vote(usize, bool),
    /// Coordinator to participant: the decision.
    Decision(usize, Decision),
    /// Participant to coordinator: the decision is recorded.
    Ack(usize),
}

/// How many kinds of [`Msg`] there are (a vote and a decision count twice).
const KINDS: usize = 6;

impl Msg {
    fn index(self) -> usize {
        let (kind, p) = match self {
            Msg::Prepare(p) => (0, p),
            Msg::Vote(p, true) => (1, p),
            Msg::Vote(p, false) => (2, p),
            Msg::Decision(p, Decision::Commit) => (3, p),
            Msg::Decision(p, Decision::Abort) => (4, p),
            Msg::Ack(p) => (5, p),
        };
        kind * MAX_PARTICIPANTS + p
    }

    fn bit(self) -> u32 {
        1 << self.index()
    }

    fn from_index(i: usize) -> Msg {
        let p = i % MAX_PARTICIPANTS;
        match i / MAX_PARTICIPANTS {
            0 => Msg::Prepare(p),
            1 => Msg::Vote(p, true),
            2 => Msg::Vote(p, false),
            3 => Msg::Decision(p, Decision::Commit),
            4 => Msg::Decision(p, Decision::Abort),
            _ => Msg::Ack(p),
        }
    }

    /// The participant at the other end.
    pub fn participant(self) -> usize {
        match self {
            Msg::Prepare(p) | Msg::Vote(p, _) | Msg::Decision(p, _) | Msg::Ack(p) => p,
        }
    }

    /// The node that receives it.
    pub fn receiver(self) -> NodeId {
        match self {
            Msg::Prepare(p) | Msg::Decision(p, _) => NodeId::Participant(p),
            Msg::Vote(..) | Msg::Ack(_) => NodeId::Coordinator,
        }
    }

    /// The message as the cores see it.
    pub fn wire(self) -> Wire {
        let tx = TX;
        match self {
            Msg::Prepare(_) => Wire::Prepare { tx, ops: share() },
            Msg::Vote(_, yes) => Wire::Vote { tx, yes },
            Msg::Decision(_, decision) => Wire::Decision { tx, decision },
            Msg::Ack(_) => Wire::Ack { tx },
        }
    }

    /// A message a core sent, to or from participant `p`; `None` for the two that never
    /// wait in the network.
    ///
    /// # Panics
    /// If it is about another transaction: the model begins only `tx1`.
    fn of(p: usize, wire: &Wire) -> Option<Msg> {
        assert_eq!(wire.tx(), TX, "the model has one transaction");
        match *wire {
            Wire::Prepare { .. } => Some(Msg::Prepare(p)),
            Wire::Vote { yes, .. } => Some(Msg::Vote(p, yes)),
            Wire::Decision { decision, .. } => Some(Msg::Decision(p, decision)),
            Wire::Ack { .. } => Some(Msg::Ack(p)),
            Wire::Query { .. } | Wire::Undecided { .. } => None,
        }
    }
}

/// Each participant's share of `tx1`: debit 1 from [`ACCOUNT`].
fn share() -> Vec<Op> {
    vec![Op::new(ACCOUNT, -1)]
}

/// A value shared by every state that holds it until one of them changes it (copy on
/// write), so that cloning a state copies only what a step changes. Hashing and equality
/// are the value's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shared<T>(Arc<T>);

impl<T: Clone> Shared<T> {
    fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }

    /// Changes the value (a copy, if another state shares it).
    fn update<X>(&mut self, f: impl FnOnce(&mut T) -> X) -> X {
        f(Arc::make_mut(&mut self.0))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A node: its core while it runs, and its log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node<C, R> {
    /// The running state machine; `None` while the node is down.
    pub core: Option<C>,
    /// The records an fsync made durable, in order: what recovery reads.
    pub log: Vec<R>,
    /// Records appended since the last fsync: lost if the node crashes first.
    pub unsynced: Vec<R>,
}

impl<C, R> Node<C, R> {
    fn new(core: C) -> Self {
        Node {
            core: Some(core),
            log: Vec::new(),
            unsynced: Vec::new(),
        }
    }

    /// Carries out a `Log` effect.
    fn append(&mut self, record: R, durable: bool) {
        self.unsynced.push(record);
        if durable {
            // An fsync makes everything appended before it durable too.
            self.log.append(&mut self.unsynced);
        }
    }

    /// Crashes the node: its core and its unsynced records are gone.
    fn crash(&mut self) {
        self.core = None;
        self.unsynced.clear();
    }
}

impl<C: Core<Effect = Effect<R>>, R: Clone> Node<C, R> {
    /// Steps the core on `input` and carries out the step's log effects; returns every
    /// effect, for the caller to carry out the rest. With `crash`, stops just before the
    /// first persist that follows a send and crashes the node, or returns `None` if the
    /// step has no such point.
    ///
    /// # Panics
    /// If `must_keep_order` and the step breaks the durability rule: the core broke the
    /// guarantee of [`Core::step`], on which the model's treatment of crashes rests.
    fn step(
        &mut self,
        input: C::Input,
        crash: bool,
        must_keep_order: bool,
    ) -> Option<Vec<Effect<R>>>
    where
        R: std::fmt::Debug,
    {
        let mut effects = self.core.as_mut()?.step(input);
        if must_keep_order {
            if let Err(v) = check_durability_order(&effects) {
                panic!(
                    "a core without an ordering bug broke the durability rule: {v}: {effects:?}"
                );
            }
        }
        if crash {
            let cut = check_durability_order(&effects).err()?.persist;
            effects.truncate(cut);
        }
        for e in &effects {
            if let Effect::Log { record, durable } = e {
                self.append(record.clone(), *durable);
            }
        }
        if crash {
            self.crash();
        }
        Some(effects)
    }
}

/// A coordinator and its log.
pub type CoordinatorNode = Node<Coordinator, CoordinatorRecord>;

/// A participant and its log.
pub type ParticipantNode = Node<Participant, ParticipantRecord>;

/// History variables: what has ever happened, for the properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// Participants that ever applied Commit.
    pub committed: Set,
    /// Participants that ever decided Abort (by voting no, or told so, or on their own).
    pub aborted: Set,
    /// Participants that acknowledged a Commit without applying it: their records
    /// contradicted it (no prepare record, or an Abort recorded).
    pub unapplied: Set,
    /// Participants that ever voted yes.
    pub voted_yes: Set,
    /// The coordinator ever logged or sent Commit.
    pub decided_commit: bool,
    /// The coordinator ever logged or sent Abort.
    pub decided_abort: bool,
    /// A coordinator recovered a Commit record from its log.
    pub recovered_from_log: bool,
    /// Participants that recovered from their log in doubt: they had crashed after voting
    /// yes, and their prepare record restored the promise.
    pub recovered_prepared: Set,
    /// Participants that acknowledged a repeated decision after the network lost their
    /// first acknowledgement (see [`TwoPcModel::take`]).
    pub reacknowledged: Set,
}

/// One state of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TwoPcState {
    /// The coordinator.
    pub coordinator: Shared<CoordinatorNode>,
    /// The coordinator crashed for good: it never recovers (only under
    /// [`Termination::CoordinatorMayStayDown`]).
    pub gone: bool,
    /// The client has begun `tx1` (it does so once).
    pub begun: bool,
    /// The participants, `p1` first.
    pub participants: Vec<Shared<ParticipantNode>>,
    /// Participants that have checked their account against the debit (see
    /// [`Step::PrepareShort`]).
    pub checked: Set,
    /// Participants whose account turned out not to cover the debit.
    pub short: Set,
    /// Messages in the network, one bit each (see [`Msg`]).
    pub msgs: u32,
    /// Crashes left in the run.
    pub crashes_left: u8,
    /// Losses left in the run.
    pub drops_left: u8,
    /// History variables.
    pub ghost: Ghost,
}

impl TwoPcState {
    /// Whether `m` is in the network.
    pub fn has(&self, m: Msg) -> bool {
        self.msgs & m.bit() != 0
    }

    /// The messages in the network, in index order.
    pub fn messages(&self) -> impl Iterator<Item = Msg> + '_ {
        (0..KINDS * MAX_PARTICIPANTS)
            .filter(|i| self.msgs & (1 << i) != 0)
            .map(Msg::from_index)
    }

    /// Whether `node` is up.
    pub fn is_up(&self, node: NodeId) -> bool {
        match node {
            NodeId::Coordinator => self.coordinator.core.is_some(),
            NodeId::Participant(p) => self.participants[p].core.is_some(),
        }
    }

    /// Where participant `p` is with `tx1`: its core's view while it is up; while it is
    /// down, what its durable records will make it on recovery.
    pub fn participant_tx(&self, p: usize) -> ParticipantTx {
        let node = &self.participants[p];
        if let Some(core) = &node.core {
            return core.progress(TX);
        }
        let mut tx = ParticipantTx::Unknown;
        for r in &node.log {
            match r {
                ParticipantRecord::Prepared { .. } if tx == ParticipantTx::Unknown => {
                    tx = ParticipantTx::Prepared
                }
                ParticipantRecord::Decided { decision, .. } => {
                    tx = ParticipantTx::Decided(*decision)
                }
                ParticipantRecord::Prepared { .. } => {}
            }
        }
        tx
    }

    /// Where the coordinator is with `tx1`, if it is up.
    pub fn coordinator_tx(&self) -> Option<CoordinatorTx> {
        self.coordinator.core.as_ref().map(|c| c.progress(TX))
    }
}

/// An input the model delivers to one core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Its receiver handles message `m`. A participant that checks its account for the
    /// first time finds that it covers the debit.
    Deliver(Msg),
    /// Participant `p` handles Prepare and, checking its account for the first time,
    /// finds that it does not cover the debit.
    ///
    /// Whether an account covers the debit is chosen when it is first checked rather than
    /// in the initial state: nothing reads the balance before, so the behaviours are the
    /// same, without a copy of every earlier state per choice. The model builds the
    /// participant's core with the smaller balance (by recovery from its log, which is
    /// empty: it never prepared) before the step; its volatile state held nothing else the
    /// core reads (only, under a bug, the write-only record of a contradicted Commit).
    PrepareShort(usize),
    /// The node's timers fire.
    Tick(NodeId),
    /// The coordinator is told that participant `p` (which is down) failed.
    FailureNotice(usize),
}

impl Step {
    /// The node that steps.
    pub fn node(self) -> NodeId {
        match self {
            Step::Deliver(m) => m.receiver(),
            Step::PrepareShort(p) => NodeId::Participant(p),
            Step::Tick(n) => n,
            Step::FailureNotice(_) => NodeId::Coordinator,
        }
    }
}

/// The model's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum TwoPcAction {
    /// The client begins `tx1` at the coordinator.
    Begin,
    /// A core steps on an input, and its effects are carried out.
    Step(Step),
    /// A core steps on an input, and its node crashes just before the first persist that
    /// follows a send (only where there is one: see "Mid-step crashes").
    CrashMidStep(Step),
    /// The coordinator crashes: its volatile state and unsynced records are lost.
    CrashCoordinator,
    /// The coordinator crashes and never comes back (only when the run asks about
    /// termination with [`Termination::CoordinatorMayStayDown`]).
    CoordinatorStaysDown,
    /// The coordinator recovers from its log.
    RecoverCoordinator,
    /// Participant `p` crashes.
    Crash(usize),
    /// Participant `p` recovers from its log.
    Recover(usize),
    /// The network loses a message.
    Drop(Msg),
}

/// What `check all` and this crate's tests hold [`TwoPcModel::default`] to. The count
/// changes with the cores' protocol (`impls::twopc::core`), the model's environment and
/// reductions, or its history variables; the module doc says why it differs from the
/// hand-written model's 128,003. Two kinds cannot fire under the default bounds, by
/// design.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin {
    unique_states: 289_412,
    dead_actions: &[
        crate::coverage::DeadAction {
            kind: "CrashMidStep",
            reason: "explored only for decide-before-logging, the one core whose step persists after a send",
        },
        crate::coverage::DeadAction {
            kind: "CoordinatorStaysDown",
            reason: "only --liveness asks whether everyone decides while the coordinator stays down",
        },
    ],
};

/// The bug variants: the core's switches (names and summaries are the core's, see
/// [`Bug`]), with the properties of this model each breaks. In the order of
/// `Bug::ALL`, which `check list` prints.
pub const VARIANTS: [Variant; 4] = [
    Variant::of(
        Bug::CommitWithoutAllVotes.switch(),
        &["Validity", "Atomicity"],
    ),
    Variant::of(Bug::AbortAfterPrepared.switch(), &["Atomicity"]),
    Variant::of(
        Bug::DecideBeforeLogging.switch(),
        &["Stability", "Atomicity"],
    ),
    Variant::of(Bug::NoPrepareRecord.switch(), &["Atomicity"]),
];

/// The variant of `bug`: its name and summary from the core, and what it breaks here.
pub fn variant(bug: Bug) -> Variant {
    let name = bug.switch().name;
    *VARIANTS
        .iter()
        .find(|v| v.name == name)
        .expect("every core bug is a variant of the model")
}

/// Whether a run asks the liveness question "does every participant eventually decide?"
/// instead of checking the safety properties.
///
/// 2PC is known to block: a participant that voted yes may not decide alone, so if the
/// coordinator never comes back it waits forever. [`Termination::CoordinatorMayStayDown`]
/// shows that; [`Termination::CoordinatorRecovers`] is the contrast in which it holds, so
/// the property is not violated by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// Check the safety properties and reach the interesting states (the usual run).
    Off,
    /// Check `EveryParticipantDecides`; every coordinator crash is followed by recovery.
    CoordinatorRecovers,
    /// Check `EveryParticipantDecides`; a coordinator crash may be for good.
    CoordinatorMayStayDown,
}

/// The model and its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwoPcModel {
    /// Participants, 1..=[`MAX_PARTICIPANTS`].
    pub participants: usize,
    /// Crashes (of the coordinator or a participant) in a run.
    pub crashes: u8,
    /// Messages the network may lose in a run.
    pub drops: u8,
    /// The bug the cores are built with, or `None` for the correct protocol.
    pub bug: Option<Bug>,
    /// Whether this run checks termination (liveness) instead of safety.
    pub termination: Termination,
}

impl Default for TwoPcModel {
    /// `check twopc`'s default bounds: 3 participants, 1 crash, 1 lost message.
    fn default() -> Self {
        TwoPcModel {
            participants: 3,
            crashes: 1,
            drops: 1,
            bug: None,
            termination: Termination::Off,
        }
    }
}

/// The effects of one core's step.
pub(crate) enum Effects {
    Coordinator(Vec<Effect<CoordinatorRecord>>),
    Participant(usize, Vec<Effect<ParticipantRecord>>),
}

/// The effects of one step of the model: the stepping core's, then the coordinator's
/// answers to the queries it sent (see "Reductions").
pub(crate) type Done = Vec<Effects>;

impl TwoPcModel {
    fn all(&self) -> Set {
        ((1u16 << self.participants) - 1) as Set
    }

    /// The client's request: `tx1`, with each participant's share.
    fn begin(&self) -> CoordinatorInput {
        CoordinatorInput::Begin {
            tx: TX,
            ops: (0..self.participants).map(|p| (p, share())).collect(),
            now: NOW,
        }
    }

    /// Whether mid-step crashes are explored: only for a core whose bug may break the
    /// durability rule (see "Mid-step crashes"). Every other core keeps the rule on every
    /// step, so such a crash would add nothing; [`Node::step`] asserts that it does.
    fn crashes_mid_step(&self) -> bool {
        self.bug.is_some_and(Bug::breaks_durability_order)
    }

    /// Participant `p`'s accounts before any transaction: 1 in [`ACCOUNT`], which covers
    /// the debit, unless it found otherwise.
    fn balances(&self, s: &TwoPcState, p: usize) -> BTreeMap<String, i64> {
        let short = s.short & (1 << p) != 0;
        [(ACCOUNT.to_string(), i64::from(!short))].into()
    }

    /// Participant `p` recovered from its log: the core and its first effects.
    fn recover_participant(
        &self,
        s: &TwoPcState,
        p: usize,
    ) -> (Participant, Vec<Effect<ParticipantRecord>>) {
        Participant::recover(
            self.balances(s, p),
            &s.participants[p].log,
            TIMING,
            self.bug,
            NOW,
        )
    }

    /// Restarts participant `p` in `n` from its log and carries out its first effects (and
    /// the coordinator's answers to its queries), which are returned.
    pub(crate) fn restart(&self, n: &mut TwoPcState, p: usize) -> Done {
        let (core, e) = self.recover_participant(n, p);
        if core.progress(TX) == ParticipantTx::Prepared {
            n.ghost.recovered_prepared |= 1 << p;
        }
        n.participants[p].update(|node| node.core = Some(core));
        let answers = self.participant_did(n, p, &e);
        std::iter::once(Effects::Participant(p, e))
            .chain(answers)
            .collect()
    }

    /// The coordinator recovered from its log: the core and its first effects.
    fn recover_coordinator(&self, s: &TwoPcState) -> (Coordinator, Vec<Effect<CoordinatorRecord>>) {
        Coordinator::recover(self.participants, &s.coordinator.log, TIMING, self.bug, NOW)
    }

    /// Whether `step` can be taken in `s`.
    fn enabled(&self, s: &TwoPcState, step: Step) -> bool {
        match step {
            Step::PrepareShort(p) => {
                let node = &s.participants[p];
                s.checked & (1 << p) == 0
                    && s.has(Msg::Prepare(p))
                    && node
                        .core
                        .as_ref()
                        .is_some_and(|c| c.progress(TX) == ParticipantTx::Unknown)
            }
            _ => true,
        }
    }

    /// Takes `step` in `n` (a copy of the state it is taken from): steps the core and
    /// carries out the effects (see [`Node::step`] for `crash`). `None` if it cannot be
    /// taken; the effects otherwise.
    pub(crate) fn take(&self, n: &mut TwoPcState, step: Step, crash: bool) -> Option<Done> {
        if !self.enabled(n, step) {
            return None;
        }
        let effects = match step.node() {
            NodeId::Coordinator => {
                let core = n.coordinator.core.as_ref()?;
                let input = match step {
                    Step::Deliver(m) => CoordinatorInput::Message {
                        from: m.participant(),
                        msg: m.wire(),
                        now: NOW,
                    },
                    Step::Tick(_) => CoordinatorInput::Tick {
                        now: core.next_deadline()?,
                    },
                    Step::FailureNotice(p) => {
                        if n.participants[p].core.is_some() {
                            return None;
                        }
                        CoordinatorInput::ParticipantFailed {
                            participant: p,
                            now: NOW,
                        }
                    }
                    Step::PrepareShort(_) => return None,
                };
                let e = n
                    .coordinator
                    .update(|node| node.step(input, crash, !self.crashes_mid_step()))?;
                self.coordinator_did(n, &e);
                vec![Effects::Coordinator(e)]
            }
            NodeId::Participant(p) => {
                let core = n.participants[p].core.as_ref()?;
                let reads_account = core.progress(TX) == ParticipantTx::Unknown;
                let repeat_unacknowledged = matches!(step, Step::Deliver(Msg::Decision(..)))
                    && matches!(core.progress(TX), ParticipantTx::Decided(_))
                    && !n.has(Msg::Ack(p));
                let input = match step {
                    Step::Deliver(m) => ParticipantInput::Message {
                        msg: m.wire(),
                        now: NOW,
                    },
                    Step::PrepareShort(_) => ParticipantInput::Message {
                        msg: Msg::Prepare(p).wire(),
                        now: NOW,
                    },
                    Step::Tick(_) => ParticipantInput::Tick {
                        now: core.next_deadline()?,
                    },
                    Step::FailureNotice(_) => return None,
                };
                if let Step::PrepareShort(_) = step {
                    debug_assert!(n.participants[p].log.is_empty(), "it never prepared");
                    n.short |= 1 << p;
                    let (core, _) = self.recover_participant(n, p);
                    n.participants[p].update(|node| node.core = Some(core));
                }
                if reads_account
                    && matches!(step, Step::Deliver(Msg::Prepare(_)) | Step::PrepareShort(_))
                {
                    n.checked |= 1 << p;
                }
                let e = n.participants[p]
                    .update(|node| node.step(input, crash, !self.crashes_mid_step()))?;
                // A decided participant's Ack is missing only if the network lost it, unless
                // it decided by its own no vote (then it has not acknowledged yet).
                if repeat_unacknowledged && n.short & (1 << p) == 0 {
                    let acked = e.iter().any(|e| {
                        matches!(
                            e,
                            Effect::Send {
                                msg: Wire::Ack { .. },
                                ..
                            }
                        )
                    });
                    if acked {
                        n.ghost.reacknowledged |= 1 << p;
                    }
                }
                let answers = self.participant_did(n, p, &e);
                std::iter::once(Effects::Participant(p, e))
                    .chain(answers)
                    .collect()
            }
        };
        if crash {
            n.crashes_left -= 1;
        }
        Some(effects)
    }

    /// Carries out the coordinator's sends and records what it decided (its log effects
    /// are carried out by [`Node::step`]).
    fn coordinator_did(&self, n: &mut TwoPcState, effects: &[Effect<CoordinatorRecord>]) {
        for effect in effects {
            match effect {
                Effect::Log { record, .. } => match record {
                    CoordinatorRecord::Commit { .. } => n.ghost.decided_commit = true,
                    CoordinatorRecord::Abort { .. } => n.ghost.decided_abort = true,
                    CoordinatorRecord::End { .. } => {}
                },
                Effect::Send { to, msg } => {
                    let NodeId::Participant(p) = *to else {
                        unreachable!("the coordinator sends only to participants")
                    };
                    // Undecided changes nothing at a participant: not kept (see
                    // "Reductions").
                    let Some(m) = Msg::of(p, msg) else { continue };
                    match m {
                        Msg::Decision(_, Decision::Commit) => n.ghost.decided_commit = true,
                        Msg::Decision(_, Decision::Abort) => n.ghost.decided_abort = true,
                        _ => {}
                    }
                    n.msgs |= m.bit();
                }
                Effect::Finished { .. } | Effect::Rejected { .. } => {}
            }
        }
    }

    /// Carries out participant `p`'s sends and records what it voted and decided. A
    /// Query is answered at once by the coordinator, if it is up (see "Reductions"): its
    /// effects are returned.
    fn participant_did(
        &self,
        n: &mut TwoPcState,
        p: usize,
        effects: &[Effect<ParticipantRecord>],
    ) -> Vec<Effects> {
        let mut answers = Vec::new();
        for effect in effects {
            let Effect::Send { msg, .. } = effect else {
                continue;
            };
            match Msg::of(p, msg) {
                Some(m) => {
                    if m == Msg::Vote(p, true) {
                        n.ghost.voted_yes |= 1 << p;
                    }
                    n.msgs |= m.bit();
                }
                None => {
                    let input = CoordinatorInput::Message {
                        from: p,
                        msg: msg.clone(),
                        now: NOW,
                    };
                    if let Some(e) = n
                        .coordinator
                        .update(|node| node.step(input, false, !self.crashes_mid_step()))
                    {
                        self.coordinator_did(n, &e);
                        answers.push(Effects::Coordinator(e));
                    }
                }
            }
        }
        if let Some(core) = &n.participants[p].core {
            let tx = core.progress(TX);
            match tx {
                ParticipantTx::Decided(Decision::Commit) => n.ghost.committed |= 1 << p,
                ParticipantTx::Decided(Decision::Abort) => n.ghost.aborted |= 1 << p,
                _ => {}
            }
            if core.contradicted(TX) && tx != ParticipantTx::Decided(Decision::Commit) {
                n.ghost.unapplied |= 1 << p;
            }
        }
        answers
    }

    /// The steps the cores can take in `s`, in a fixed order.
    fn steps(&self, s: &TwoPcState) -> Vec<Step> {
        let mut steps = Vec::new();
        if let Some(c) = &s.coordinator.core {
            if c.next_deadline().is_some() {
                steps.push(Step::Tick(NodeId::Coordinator));
            }
            for p in 0..self.participants {
                if s.participants[p].core.is_none() {
                    steps.push(Step::FailureNotice(p));
                }
            }
        }
        for (p, node) in s.participants.iter().enumerate() {
            if node
                .core
                .as_ref()
                .is_some_and(|c| c.next_deadline().is_some())
            {
                steps.push(Step::Tick(NodeId::Participant(p)));
            }
        }
        for m in s.messages() {
            if s.is_up(m.receiver()) {
                steps.push(Step::Deliver(m));
                if let Msg::Prepare(p) = m {
                    if self.enabled(s, Step::PrepareShort(p)) {
                        steps.push(Step::PrepareShort(p));
                    }
                }
            }
        }
        steps
    }
}

impl Model for TwoPcModel {
    type State = TwoPcState;
    type Action = TwoPcAction;

    fn init_states(&self) -> Vec<TwoPcState> {
        let coordinator = Coordinator::recover(self.participants, &[], TIMING, self.bug, NOW).0;
        let participant = Participant::recover(
            [(ACCOUNT.to_string(), 1)].into(),
            &[],
            TIMING,
            self.bug,
            NOW,
        )
        .0;
        vec![TwoPcState {
            coordinator: Shared::new(Node::new(coordinator)),
            gone: false,
            begun: false,
            participants: vec![Shared::new(Node::new(participant)); self.participants],
            checked: 0,
            short: 0,
            msgs: 0,
            crashes_left: self.crashes,
            drops_left: self.drops,
            ghost: Ghost::default(),
        }]
    }

    fn actions(&self, s: &TwoPcState, actions: &mut Vec<TwoPcAction>) {
        use TwoPcAction::*;
        // Nothing crashes before the client begins tx1 (see "Reductions").
        let may_crash = s.begun && s.crashes_left > 0;
        if s.coordinator.core.is_some() {
            if !s.begun {
                actions.push(Begin);
            }
            if may_crash {
                actions.push(CrashCoordinator);
                if self.termination == Termination::CoordinatorMayStayDown {
                    actions.push(CoordinatorStaysDown);
                }
            }
        } else if !s.gone {
            actions.push(RecoverCoordinator);
        }
        for (p, node) in s.participants.iter().enumerate() {
            if node.core.is_none() {
                actions.push(Recover(p));
            } else if may_crash {
                actions.push(Crash(p));
            }
        }
        let steps = self.steps(s);
        actions.extend(steps.iter().map(|&step| Step(step)));
        if s.crashes_left > 0 && self.crashes_mid_step() {
            actions.extend(steps.iter().map(|&step| CrashMidStep(step)));
        }
        if s.drops_left > 0 {
            for m in s.messages() {
                actions.push(Drop(m));
            }
        }
    }

    fn next_state(&self, s: &TwoPcState, action: TwoPcAction) -> Option<TwoPcState> {
        use TwoPcAction::*;
        let mut n = s.clone();
        match action {
            Begin => {
                n.begun = true;
                let e = n
                    .coordinator
                    .update(|node| node.step(self.begin(), false, !self.crashes_mid_step()))?;
                self.coordinator_did(&mut n, &e);
            }
            Step(step) => {
                self.take(&mut n, step, false)?;
            }
            CrashMidStep(step) => {
                self.take(&mut n, step, true)?;
            }
            CrashCoordinator | CoordinatorStaysDown => {
                n.crashes_left -= 1;
                n.coordinator.update(Node::crash);
                n.gone = action == CoordinatorStaysDown;
            }
            RecoverCoordinator => {
                let (core, e) = self.recover_coordinator(&n);
                n.coordinator.update(|node| node.core = Some(core));
                if n.coordinator
                    .log
                    .iter()
                    .any(|r| matches!(r, CoordinatorRecord::Commit { .. }))
                {
                    n.ghost.recovered_from_log = true;
                }
                self.coordinator_did(&mut n, &e);
            }
            Crash(p) => {
                n.crashes_left -= 1;
                n.participants[p].update(Node::crash);
            }
            Recover(p) => {
                self.restart(&mut n, p);
            }
            Drop(m) => {
                n.drops_left -= 1;
                n.msgs &= !m.bit();
            }
        }
        // A step that changes nothing is not a transition (see "Reductions").
        (n != *s).then_some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        if self.termination != Termination::Off {
            // Only the one question, so that its counterexample is the run's finding.
            return vec![Property::eventually(
                "EveryParticipantDecides",
                |m: &TwoPcModel, s: &TwoPcState| m.settled(s),
            )];
        }
        vec![
            Property::always("Atomicity", |_: &TwoPcModel, s: &TwoPcState| {
                s.ghost.committed == 0 || (s.ghost.aborted | s.ghost.unapplied) == 0
            }),
            Property::always("Validity", |m: &TwoPcModel, s: &TwoPcState| {
                s.ghost.committed == 0 || s.ghost.voted_yes == m.all()
            }),
            Property::always("Stability", |_: &TwoPcModel, s: &TwoPcState| {
                !(s.ghost.decided_commit && s.ghost.decided_abort)
            }),
            Property::sometimes("TransactionCommits", |m: &TwoPcModel, s: &TwoPcState| {
                s.ghost.committed == m.all()
            }),
            Property::sometimes("TransactionAborts", |m: &TwoPcModel, s: &TwoPcState| {
                s.ghost.aborted == m.all()
            }),
            Property::sometimes(
                "CommitRecoveredFromLog",
                |m: &TwoPcModel, s: &TwoPcState| {
                    s.ghost.recovered_from_log && s.ghost.committed == m.all()
                },
            ),
            Property::sometimes("TimeoutAbortsPrepared", |m: &TwoPcModel, s: &TwoPcState| {
                m.timeout_aborted_prepared(s) != 0
            }),
            Property::sometimes("PreparedSurvivesCrash", |_: &TwoPcModel, s: &TwoPcState| {
                s.ghost.recovered_prepared != 0
            }),
            Property::sometimes("LostAckReacknowledged", |_: &TwoPcModel, s: &TwoPcState| {
                s.ghost.reacknowledged != 0
            }),
        ]
    }
}

impl TwoPcModel {
    /// `TimeoutAbortsPrepared`'s evidence: participants that voted yes and then aborted,
    /// in a run where nothing crashed and every account covers the debit. Then no vote was
    /// no and no participant failed, so only the coordinator's vote timeout decided Abort
    /// (a correct participant never aborts alone after voting yes).
    pub fn timeout_aborted_prepared(&self, s: &TwoPcState) -> Set {
        if s.short != 0 || s.crashes_left != self.crashes {
            return 0;
        }
        s.ghost.voted_yes & s.ghost.aborted
    }
}

impl TwoPcModel {
    /// `EveryParticipantDecides`: some participant knows the outcome and none is in doubt
    /// (voted yes, outcome unknown).
    ///
    /// Presumed abort lets a participant that never voted yes stay ignorant: it holds
    /// nothing, and a coordinator that forgot the transaction tells it nothing. So the
    /// question is whether every promise is resolved, not whether everyone heard; "some
    /// participant knows" keeps the property false at the start. (`eventually` holds once
    /// it is true anywhere on a path.)
    fn settled(&self, s: &TwoPcState) -> bool {
        let txs: Vec<ParticipantTx> = (0..self.participants)
            .map(|p| s.participant_tx(p))
            .collect();
        txs.iter().any(|t| matches!(t, ParticipantTx::Decided(_)))
            && !txs.contains(&ParticipantTx::Prepared)
    }
}

//! The model of this project's two-phase commit design: one transaction, a coordinator with
//! a durable decision log, participants with durable prepare and decision records, a network
//! that loses, duplicates and reorders, crashes and recoveries, and timeouts.
//!
//! Recovery follows *presumed abort*: the coordinator logs only Commit, before it sends it;
//! a coordinator that recovers without a Commit record decides Abort. A participant writes
//! its prepare record before it votes yes, and after voting yes it may not decide alone.
//!
//! Like Lamport's `TwoPhase`, messages are a set: a message once sent can be received any
//! number of times (duplication, reordering), and `Drop` removes one (loss). The properties
//! read history variables (who ever committed, ever aborted, ever voted yes; which decisions
//! the coordinator ever took), so a decision that a crash later reverses is still seen.

mod words;

#[cfg(test)]
mod tests;

use stateright::{Model, Property};

/// A set of participants, one bit each (`p1` is bit 0).
pub type Set = u8;

/// The participants in `set`, in order, numbered from 0.
pub fn members(set: Set, n: usize) -> impl Iterator<Item = usize> {
    (0..n).filter(move |i| set & (1 << i) != 0)
}

/// The most participants the model takes (messages are bits of a `u32`).
pub const MAX_PARTICIPANTS: usize = 4;

/// The transaction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decision {
    /// Every participant applies the transaction.
    Commit,
    /// No participant applies it.
    Abort,
}

/// Where the coordinator is, in volatile memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not started.
    Init,
    /// Prepare sent; collecting votes.
    Preparing,
    /// Decided; sending the decision until every participant acknowledges.
    Decided(Decision),
}

/// The coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Coordinator {
    /// Running, or crashed.
    pub up: bool,
    /// Crashed for good: it never recovers (only under [`Termination::CoordinatorMayStayDown`]).
    pub gone: bool,
    /// Durable: the Commit record (presumed abort logs nothing else).
    pub log: Option<Decision>,
    /// Volatile.
    pub phase: Phase,
    /// Volatile: participants whose yes vote arrived.
    pub yes: Set,
    /// Volatile: participants that acknowledged the decision.
    pub acked: Set,
}

/// A participant's volatile state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PState {
    /// Has not voted.
    Working,
    /// Voted yes; in doubt until it learns the decision (it holds its locks).
    Prepared,
    /// Applied the transaction.
    Committed,
    /// Rolled it back.
    Aborted,
}

/// A participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Participant {
    /// Running, or crashed.
    pub up: bool,
    /// Volatile.
    pub state: PState,
    /// Durable: the prepare record, written before the yes vote is sent.
    pub prepared: bool,
    /// Durable: the decision record.
    pub decided: Option<Decision>,
}

/// A message. Its index in the network's bit set is `kind * MAX_PARTICIPANTS + participant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// Coordinator to participant: prepare.
    Prepare(usize),
    /// Participant to coordinator: its vote.
    Vote(usize, bool),
    /// Coordinator to participant: the decision.
    Decision(usize, Decision),
    /// Participant to coordinator: the decision is applied and recorded.
    Ack(usize),
}

impl Msg {
    fn bit(self) -> u32 {
        let (kind, p) = match self {
            Msg::Prepare(p) => (0, p),
            Msg::Vote(p, true) => (1, p),
            Msg::Vote(p, false) => (2, p),
            Msg::Decision(p, Decision::Commit) => (3, p),
            Msg::Decision(p, Decision::Abort) => (4, p),
            Msg::Ack(p) => (5, p),
        };
        1 << (kind * MAX_PARTICIPANTS + p)
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
}

/// History variables: what has ever happened, for the properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// Participants that ever committed.
    pub committed: Set,
    /// Participants that ever aborted.
    pub aborted: Set,
    /// Participants that ever voted yes.
    pub voted_yes: Set,
    /// The coordinator ever decided Commit.
    pub decided_commit: bool,
    /// The coordinator ever decided Abort.
    pub decided_abort: bool,
    /// A coordinator recovered a decision from its log.
    pub recovered_from_log: bool,
}

/// One state of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TwoPcState {
    /// The coordinator.
    pub coordinator: Coordinator,
    /// The participants, `p1` first.
    pub participants: [Participant; MAX_PARTICIPANTS],
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

    fn send(&mut self, m: Msg) {
        self.msgs |= m.bit();
    }

    /// The messages in the network, in index order.
    pub fn messages(&self) -> impl Iterator<Item = Msg> + '_ {
        (0..6 * MAX_PARTICIPANTS)
            .filter(|i| self.msgs & (1 << i) != 0)
            .map(Msg::from_index)
    }
}

/// The model's actions, named as a TLA+ spec would name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TwoPcAction {
    /// The coordinator begins: Prepare to every participant.
    Begin,
    /// Participant `p` receives Prepare and votes (`yes`: writes its prepare record first).
    Vote(usize, bool),
    /// The coordinator counts `p`'s yes vote.
    CountYes(usize),
    /// The coordinator decides: Commit once every vote is yes (logged first), or Abort on a
    /// no vote or a timeout (not logged: presumed abort).
    Decide(Decision),
    /// Under `decide-before-logging`: the Commit record becomes durable, late.
    LogCommit,
    /// The coordinator sends the decision again to `p`, which has not acknowledged it.
    Resend(usize),
    /// Participant `p` receives the decision, records and applies it, and acknowledges.
    Learn(usize),
    /// The coordinator receives `p`'s acknowledgement.
    CountAck(usize),
    /// Participant `p` times out waiting and aborts on its own.
    Timeout(usize),
    /// The coordinator crashes: its volatile state is lost, its log survives.
    CrashCoordinator,
    /// The coordinator crashes and never comes back (only when the run asks about
    /// termination with [`Termination::CoordinatorMayStayDown`]).
    CoordinatorStaysDown,
    /// The coordinator recovers from its log.
    RecoverCoordinator,
    /// Participant `p` crashes.
    Crash(usize),
    /// Participant `p` recovers from its records.
    Recover(usize),
    /// The network loses a message.
    Drop(Msg),
}

/// A known bug the model can be built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// The coordinator commits once some (not all) participants voted yes.
    CommitWithoutAllVotes,
    /// A participant times out and aborts on its own after voting yes.
    AbortAfterPrepared,
    /// The coordinator sends Commit before its Commit record is durable.
    DecideBeforeLogging,
    /// A participant does not keep its prepare record across a restart.
    NoPrepareRecord,
}

impl Bug {
    /// Every bug, in the order `check list` shows them.
    pub const ALL: [Bug; 4] = [
        Bug::CommitWithoutAllVotes,
        Bug::AbortAfterPrepared,
        Bug::DecideBeforeLogging,
        Bug::NoPrepareRecord,
    ];

    /// The variant as the harness lists it.
    pub const fn variant(self) -> crate::Variant {
        match self {
            Bug::CommitWithoutAllVotes => crate::Variant {
                name: "commit-without-all-votes",
                summary: "the coordinator commits once some, not all, participants voted yes",
                breaks: &["Validity", "Atomicity"],
            },
            Bug::AbortAfterPrepared => crate::Variant {
                name: "abort-after-prepared",
                summary: "a participant that voted yes times out and aborts on its own",
                breaks: &["Atomicity"],
            },
            Bug::DecideBeforeLogging => crate::Variant {
                name: "decide-before-logging",
                summary: "Commit is sent before its log record is durable; a crash in between \
                          recovers to Abort",
                breaks: &["Stability", "Atomicity"],
            },
            Bug::NoPrepareRecord => crate::Variant {
                name: "no-prepare-record",
                summary: "a participant forgets its yes vote on restart, then times out and aborts",
                breaks: &["Atomicity"],
            },
        }
    }

    /// The bug named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.variant().name == name)
    }
}

/// The variants, for the registry.
pub const VARIANTS: [crate::Variant; 4] = [
    Bug::ALL[0].variant(),
    Bug::ALL[1].variant(),
    Bug::ALL[2].variant(),
    Bug::ALL[3].variant(),
];

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
    /// The bug variant, or `None` for the correct protocol.
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

impl TwoPcModel {
    fn all(&self) -> Set {
        ((1u16 << self.participants) - 1) as Set
    }

    fn may_commit(&self, yes: Set) -> bool {
        if self.bug == Some(Bug::CommitWithoutAllVotes) {
            yes != 0
        } else {
            yes == self.all()
        }
    }

    /// `decide` as the coordinator takes it: the phase, the messages and the history.
    fn decide(&self, n: &mut TwoPcState, d: Decision) {
        n.coordinator.phase = Phase::Decided(d);
        for p in 0..self.participants {
            n.send(Msg::Decision(p, d));
        }
        match d {
            Decision::Commit => n.ghost.decided_commit = true,
            Decision::Abort => n.ghost.decided_abort = true,
        }
    }
}

fn apply(n: &mut TwoPcState, p: usize, d: Decision) {
    let part = &mut n.participants[p];
    part.decided = Some(d);
    match d {
        Decision::Commit => {
            part.state = PState::Committed;
            n.ghost.committed |= 1 << p;
        }
        Decision::Abort => {
            part.state = PState::Aborted;
            n.ghost.aborted |= 1 << p;
        }
    }
}

impl Model for TwoPcModel {
    type State = TwoPcState;
    type Action = TwoPcAction;

    fn init_states(&self) -> Vec<TwoPcState> {
        let participant = Participant {
            up: true,
            state: PState::Working,
            prepared: false,
            decided: None,
        };
        vec![TwoPcState {
            coordinator: Coordinator {
                up: true,
                gone: false,
                log: None,
                phase: Phase::Init,
                yes: 0,
                acked: 0,
            },
            participants: [participant; MAX_PARTICIPANTS],
            msgs: 0,
            crashes_left: self.crashes,
            drops_left: self.drops,
            ghost: Ghost::default(),
        }]
    }

    fn actions(&self, s: &TwoPcState, actions: &mut Vec<TwoPcAction>) {
        use TwoPcAction::*;
        let c = &s.coordinator;
        if c.up {
            match c.phase {
                Phase::Init => actions.push(Begin),
                Phase::Preparing => {
                    for p in 0..self.participants {
                        if s.has(Msg::Vote(p, true)) && c.yes & (1 << p) == 0 {
                            actions.push(CountYes(p));
                        }
                    }
                    if self.may_commit(c.yes) {
                        actions.push(Decide(Decision::Commit));
                    }
                    // On a no vote, or on a timeout: always possible.
                    actions.push(Decide(Decision::Abort));
                }
                Phase::Decided(d) => {
                    if d == Decision::Commit && c.log.is_none() {
                        actions.push(LogCommit);
                    }
                    for p in 0..self.participants {
                        if c.acked & (1 << p) == 0 {
                            if !s.has(Msg::Decision(p, d)) {
                                actions.push(Resend(p));
                            }
                            if s.has(Msg::Ack(p)) {
                                actions.push(CountAck(p));
                            }
                        }
                    }
                }
            }
            if s.crashes_left > 0 {
                actions.push(CrashCoordinator);
                if self.termination == Termination::CoordinatorMayStayDown {
                    actions.push(CoordinatorStaysDown);
                }
            }
        } else if !c.gone {
            actions.push(RecoverCoordinator);
        }
        for (p, part) in s.participants[..self.participants].iter().enumerate() {
            if !part.up {
                actions.push(Recover(p));
                continue;
            }
            let undecided = matches!(part.state, PState::Working | PState::Prepared);
            if part.state == PState::Working && s.has(Msg::Prepare(p)) {
                actions.push(Vote(p, true));
                actions.push(Vote(p, false));
            }
            let decision_waiting = s.has(Msg::Decision(p, Decision::Commit))
                || s.has(Msg::Decision(p, Decision::Abort));
            // A decided participant acknowledges a repeated decision again, if its last
            // acknowledgement is gone.
            if decision_waiting && (undecided || !s.has(Msg::Ack(p))) {
                actions.push(Learn(p));
            }
            let may_time_out = match part.state {
                PState::Working => true,
                PState::Prepared => self.bug == Some(Bug::AbortAfterPrepared),
                _ => false,
            };
            if may_time_out {
                actions.push(Timeout(p));
            }
            if s.crashes_left > 0 {
                actions.push(Crash(p));
            }
        }
        if s.drops_left > 0 {
            for m in s.messages() {
                actions.push(Drop(m));
            }
        }
    }

    fn next_state(&self, s: &TwoPcState, action: TwoPcAction) -> Option<TwoPcState> {
        use TwoPcAction::*;
        let mut n = *s;
        match action {
            Begin => {
                n.coordinator.phase = Phase::Preparing;
                for p in 0..self.participants {
                    n.send(Msg::Prepare(p));
                }
            }
            Vote(p, yes) => {
                if yes {
                    // The prepare record is durable before the vote leaves.
                    let part = &mut n.participants[p];
                    part.prepared = true;
                    part.state = PState::Prepared;
                    n.ghost.voted_yes |= 1 << p;
                } else {
                    apply(&mut n, p, Decision::Abort);
                }
                n.send(Msg::Vote(p, yes));
            }
            CountYes(p) => n.coordinator.yes |= 1 << p,
            Decide(Decision::Commit) => {
                if self.bug != Some(Bug::DecideBeforeLogging) {
                    n.coordinator.log = Some(Decision::Commit);
                }
                self.decide(&mut n, Decision::Commit);
            }
            Decide(Decision::Abort) => self.decide(&mut n, Decision::Abort),
            LogCommit => n.coordinator.log = Some(Decision::Commit),
            Resend(p) => {
                let Phase::Decided(d) = n.coordinator.phase else {
                    return None;
                };
                n.send(Msg::Decision(p, d));
            }
            Learn(p) => {
                let part = n.participants[p];
                if matches!(part.state, PState::Working | PState::Prepared) {
                    // Commit wins if both are in the network: only a broken coordinator
                    // sends both, and then the properties say so either way.
                    let d = if s.has(Msg::Decision(p, Decision::Commit)) {
                        Decision::Commit
                    } else {
                        Decision::Abort
                    };
                    apply(&mut n, p, d);
                }
                n.send(Msg::Ack(p));
            }
            CountAck(p) => n.coordinator.acked |= 1 << p,
            Timeout(p) => apply(&mut n, p, Decision::Abort),
            CrashCoordinator | CoordinatorStaysDown => {
                n.crashes_left -= 1;
                n.coordinator = Coordinator {
                    up: false,
                    gone: action == CoordinatorStaysDown,
                    log: s.coordinator.log,
                    phase: Phase::Init,
                    yes: 0,
                    acked: 0,
                };
            }
            RecoverCoordinator => {
                n.coordinator.up = true;
                // Presumed abort: no Commit record means Abort.
                let d = n.coordinator.log.unwrap_or(Decision::Abort);
                if n.coordinator.log.is_some() {
                    n.ghost.recovered_from_log = true;
                }
                self.decide(&mut n, d);
            }
            Crash(p) => {
                n.crashes_left -= 1;
                let part = &mut n.participants[p];
                part.up = false;
                part.state = PState::Working;
                if self.bug == Some(Bug::NoPrepareRecord) {
                    part.prepared = false;
                }
            }
            Recover(p) => {
                let part = &mut n.participants[p];
                part.up = true;
                part.state = match (part.decided, part.prepared) {
                    (Some(Decision::Commit), _) => PState::Committed,
                    (Some(Decision::Abort), _) => PState::Aborted,
                    (None, true) => PState::Prepared,
                    (None, false) => PState::Working,
                };
            }
            Drop(m) => {
                n.drops_left -= 1;
                n.msgs &= !m.bit();
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        if self.termination != Termination::Off {
            // Only the one question, so that its counterexample is the run's finding.
            return vec![Property::eventually(
                "EveryParticipantDecides",
                |m: &TwoPcModel, s: &TwoPcState| {
                    s.participants[..m.participants]
                        .iter()
                        .all(|p| p.decided.is_some())
                },
            )];
        }
        vec![
            Property::always("Atomicity", |_: &TwoPcModel, s: &TwoPcState| {
                s.ghost.committed == 0 || s.ghost.aborted == 0
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
        ]
    }
}

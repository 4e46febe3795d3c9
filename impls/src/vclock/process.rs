//! A process that keeps a vector clock, as a sans-IO core: it steps on its own events (a
//! local event, a send, a receive) and returns the stamp of each event and the messages
//! to send. `check vclock` runs this core under every interleaving of three processes;
//! the causal-broadcast layer stamps its messages with it.
//!
//! The rules (Mattern 1988): before a local event or a send, increment your own entry;
//! a send carries the clock after the increment; on a receive, merge the message's clock
//! into yours, then increment your own entry.

use super::clock::{Causality, VectorClock};
use crate::sansio::{BugSwitch, BugSwitches, Core, Effect as EffectTrait, EffectKind};
use serde::{Deserialize, Serialize};

/// A process's name: its index, from 0.
pub type ProcessId = u8;

/// The clock a process keeps.
pub type Clock = VectorClock<ProcessId>;

/// Known bugs of a clock's rules, each one line away from the correct process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// A receive increments the receiver's entry but does not merge the message's clock:
    /// the receive does not know what the sender had seen.
    ReceiveWithoutMerge,
    /// A receive merges the message's clock but does not count itself.
    ReceiveWithoutIncrement,
    /// A send carries the clock without counting the send itself.
    SendWithoutIncrement,
    /// The comparison says "before" for equal clocks, so an event happens before itself.
    HappensBeforeAllowsEqual,
}

impl Bug {
    /// The bug's name and summary.
    pub const fn switch(self) -> BugSwitch {
        let (name, summary) = match self {
            Bug::ReceiveWithoutMerge => (
                "receive-without-merge",
                "a receive increments its own entry but does not merge the message's clock",
            ),
            Bug::ReceiveWithoutIncrement => (
                "receive-without-increment",
                "a receive merges the message's clock but does not count itself",
            ),
            Bug::SendWithoutIncrement => (
                "send-without-increment",
                "a send carries the clock without counting the send",
            ),
            Bug::HappensBeforeAllowsEqual => (
                "happens-before-allows-equal",
                "the comparison says Before on equal clocks",
            ),
        };
        BugSwitch { name, summary }
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[
        Bug::ReceiveWithoutMerge,
        Bug::ReceiveWithoutIncrement,
        Bug::SendWithoutIncrement,
        Bug::HappensBeforeAllowsEqual,
    ];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

/// An event of the process, as its driver hands it in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Something happens inside the process.
    Local,
    /// The process sends a message to `to`.
    Send {
        /// The receiver.
        to: ProcessId,
    },
    /// A message from `from`, stamped `stamp`, arrives.
    Receive {
        /// The sender.
        from: ProcessId,
        /// The clock the message carries.
        stamp: Clock,
    },
}

/// What a step returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The event's timestamp: the process's clock after the event.
    Stamped(Clock),
    /// A message to hand to the network, carrying `stamp`.
    Send {
        /// The receiver.
        to: ProcessId,
        /// The clock it carries.
        stamp: Clock,
    },
}

impl EffectTrait for Effect {
    fn kind(&self) -> EffectKind {
        match self {
            Effect::Stamped(_) => EffectKind::Other,
            Effect::Send { .. } => EffectKind::Send,
        }
    }
}

/// One process's clock-keeping.
///
/// Guarantee, without a bug: every event's stamp `s` has `s[j]` equal to the number of
/// events of process `j` in the event's causal past, the event included, so that
/// [`Process::compare`] of two stamps is the happens-before relation of their events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Process {
    id: ProcessId,
    clock: Clock,
    bug: Option<Bug>,
}

impl Process {
    /// Process `id`, having seen nothing.
    pub fn new(id: ProcessId, bug: Option<Bug>) -> Process {
        Process {
            id,
            clock: Clock::new(),
            bug,
        }
    }

    /// Its name.
    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// Its clock now: the stamp of its latest event.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    /// How the events stamped `a` and `b` are related, by this process's comparison.
    pub fn compare(&self, a: &Clock, b: &Clock) -> Causality {
        compare(self.bug, a, b)
    }
}

/// How the events stamped `a` and `b` are related, under `bug` (only
/// [`Bug::HappensBeforeAllowsEqual`] changes the comparison).
pub fn compare(bug: Option<Bug>, a: &Clock, b: &Clock) -> Causality {
    match a.compare(b) {
        Causality::Equal if bug == Some(Bug::HappensBeforeAllowsEqual) => Causality::Before,
        c => c,
    }
}

impl Core for Process {
    type Input = Input;
    type Effect = Effect;

    fn step(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Local => {
                self.clock.increment(self.id);
                vec![Effect::Stamped(self.clock.clone())]
            }
            Input::Send { to } => {
                if !self.has(Bug::SendWithoutIncrement) {
                    self.clock.increment(self.id);
                }
                vec![
                    Effect::Stamped(self.clock.clone()),
                    Effect::Send {
                        to,
                        stamp: self.clock.clone(),
                    },
                ]
            }
            Input::Receive { stamp, .. } => {
                if !self.has(Bug::ReceiveWithoutMerge) {
                    self.clock.merge(&stamp);
                }
                if !self.has(Bug::ReceiveWithoutIncrement) {
                    self.clock.increment(self.id);
                }
                vec![Effect::Stamped(self.clock.clone())]
            }
        }
    }
}

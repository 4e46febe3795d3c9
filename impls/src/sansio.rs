//! The one shape of a protocol core: a state machine that steps on inputs and returns
//! effects, in order, for a driver to carry out.
//!
//! Every exercise's protocol is written once, as a [`Core`], and driven twice: by a
//! stateright model in `models/`, which explores every interleaving of its inputs, and by
//! a runtime in this crate, which feeds it real messages and timers and executes its
//! effects on sockets and files. etcd-raft's `RawNode` and raft-rs are built the same way.
//!
//! # The rules
//!
//! A core:
//! - **does no I/O**: it never touches a socket, a file or a thread; it returns effects;
//! - **reads no clock**: time arrives as an input (a tick, or the time stamped on one);
//! - **draws no randomness**: a randomised choice (an election timeout, a backoff) is a
//!   value the caller supplies in an input, so the model can enumerate it and a
//!   simulation can seed it;
//! - **is deterministic**: the same state stepped on the same input gives the same state
//!   and the same effects, which is what lets a recorded run be replayed against a model;
//! - **orders durability before dependent sends**: an effect of kind
//!   [`EffectKind::Persist`] comes before every [`EffectKind::Send`] of the same step, and
//!   a driver carries out an effect only once those before it have completed (a persist
//!   has been fsynced). A crash between two effects therefore never leaves a message in
//!   the world that promises what the disk does not hold. [`check_durability_order`]
//!   states the rule as a check, which every core's tests run over its steps.

/// A sans-IO protocol state machine. See the module doc for the rules it keeps.
pub trait Core {
    /// What the core steps on: a message, a tick, a client request, a failure notice.
    type Input;
    /// What the driver must do, in the order returned.
    type Effect: Effect;

    /// Steps on `input` and returns the effects the driver must carry out, in order.
    ///
    /// Guarantee: deterministic in the state and the input, and every persist precedes
    /// every send in the returned list (unless the core was built with a bug switch that
    /// breaks exactly that).
    fn step(&mut self, input: Self::Input) -> Vec<Self::Effect>;
}

/// What an effect does, as far as the ordering rule cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EffectKind {
    /// A write that must be durable (fsynced) before any later effect is carried out.
    Persist,
    /// A message handed to the network.
    Send,
    /// Anything else: a reply to a client, a completed operation, a write that need not be
    /// durable, a timer to set.
    Other,
}

/// An effect a [`Core`] returns.
pub trait Effect {
    /// The effect's kind.
    fn kind(&self) -> EffectKind;
}

/// Where a step's effects break the durability rule: a send at `send` comes before a
/// persist at `persist` (indices into the step's effects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderViolation {
    /// The index of the first send.
    pub send: usize,
    /// The index of a persist after it.
    pub persist: usize,
}

impl std::fmt::Display for OrderViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "effect {} sends before effect {} is made durable",
            self.send, self.persist
        )
    }
}

/// Checks one step's effects against the durability rule: no persist after a send.
pub fn check_durability_order<E: Effect>(effects: &[E]) -> Result<(), OrderViolation> {
    let Some(send) = effects.iter().position(|e| e.kind() == EffectKind::Send) else {
        return Ok(());
    };
    match effects[send..]
        .iter()
        .position(|e| e.kind() == EffectKind::Persist)
    {
        Some(offset) => Err(OrderViolation {
            send,
            persist: send + offset,
        }),
        None => Ok(()),
    }
}

/// A known bug a core can be built with: its name on every command line (`--bug NAME`) and
/// one sentence saying what the buggy core does differently.
///
/// This is the one place a bug's name and summary are written. A model that has the same
/// bug adds only which of its properties the bug breaks (`models::Variant`), and a runtime
/// that runs the core with the switch on looks the bug up by the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BugSwitch {
    /// The name after `--bug`, in kebab case.
    pub name: &'static str,
    /// One sentence: what the buggy core does differently.
    pub summary: &'static str,
}

/// The bug switches of one core, as an enum with one value per bug.
pub trait BugSwitches: Sized + Copy + PartialEq + 'static {
    /// Every bug, in the order `check list` prints them.
    const ALL: &'static [Self];

    /// The bug's name and summary.
    fn switch(self) -> BugSwitch;

    /// The bug's name on the command line.
    fn name(self) -> &'static str {
        self.switch().name
    }

    /// Looks a bug up by its command-line name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Effect for EffectKind {
        fn kind(&self) -> EffectKind {
            *self
        }
    }

    #[test]
    fn a_persist_after_a_send_breaks_the_rule() {
        use EffectKind::{Other, Persist, Send};
        assert_eq!(check_durability_order::<EffectKind>(&[]), Ok(()));
        assert_eq!(
            check_durability_order(&[Persist, Send, Other, Send]),
            Ok(())
        );
        assert_eq!(check_durability_order(&[Other, Send, Send]), Ok(()));
        assert_eq!(
            check_durability_order(&[Persist, Other, Send, Other, Persist]),
            Err(OrderViolation {
                send: 2,
                persist: 4
            })
        );
    }
}

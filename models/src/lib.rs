//! Exhaustive [stateright] models of the harness's protocol exercises.
//!
//! Each exercise is one module, named as it is everywhere else in the workspace
//! (`raft` here, `impls::raft` for the implementation, `check raft` on the command line).
//! A module reads like its TLA+ counterpart: the state, the actions, the next-state
//! relation, then the properties. Every model implements [`Protocol`], so that the `check`
//! binary can print its counterexamples in protocol words rather than as `Debug` dumps.
//!
//! Where an exercise has an implementation, its model runs the implementation's sans-IO
//! core (`impls::<exercise>::core`, an `impls::sansio::Core`): the model supplies the
//! environment (a network that loses, duplicates and reorders, crashes, timeouts) and
//! the core makes every protocol decision. Faithful ports of published TLA+ specs
//! (`twopc::twophase`, `twopc::tcommit`) stand alone, to compare state counts with TLC.
//!
//! Every safety property of every model has at least one [`Variant`] (a known bug) that
//! breaks it; the tests in each module and `check all` assert that the checker catches it.
//! A variant that is a bug switch of the core takes its name and summary from there
//! ([`Variant::of`]); the model adds only the properties it breaks.
#![deny(missing_docs)]

pub mod coverage;
pub mod kv;
pub mod msi;
pub mod raft;
pub mod twopc;
pub mod vclock;
pub mod wrap;

use stateright::Model;
use std::fmt::Debug;
use std::hash::Hash;

/// What a model needs for the harness to check it, explain it and replay its traces: the
/// protocol words, and states and actions that threads can share.
pub trait Checkable:
    Protocol<
        State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
        Action: Clone + Debug + PartialEq + Send + Sync + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

/// Whether `state` satisfies `model`'s property named `name`, evaluated through the
/// model's own property table, as the checker evaluates it (for threshold tests).
///
/// # Panics
/// If the model has no such property.
#[cfg(test)]
pub(crate) fn holds<M: Model>(model: &M, name: &str, state: &M::State) -> bool {
    let properties = model.properties();
    let property = properties
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no property {name}"));
    (property.condition)(model, state)
}

/// A model's symmetry reduction: maps a state to the canonical member of its class under
/// renaming of interchangeable processes. Properties must not depend on those names.
pub type Representative<M> = fn(&<M as Model>::State) -> <M as Model>::State;

impl<M> Checkable for M
where
    M: Protocol + Clone + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + PartialEq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync + 'static,
{
}

/// The kinds of a model's actions, as the engine's action coverage counts them: the
/// variant names of the action enum (`Timeout`, `Crash`, `Deliver`, ...).
///
/// Derive it with `#[derive(strum::IntoStaticStr, strum::VariantNames)]` on the enum; the
/// blanket implementation does the rest, so a new model gets the coverage table and the
/// dead-action rule from that one line.
pub trait ActionKind {
    /// Every kind, in declaration order.
    const KINDS: &'static [&'static str];
    /// This action's kind, one of [`ActionKind::KINDS`].
    fn kind(&self) -> &'static str;
}

impl<A> ActionKind for A
where
    A: strum::VariantNames,
    for<'a> &'a A: Into<&'static str>,
{
    const KINDS: &'static [&'static str] = A::VARIANTS;

    fn kind(&self) -> &'static str {
        self.into()
    }
}

/// A stateright model that can explain itself in the protocol's own words.
///
/// The `check` binary is generic over this trait: it prints a counterexample as numbered
/// steps (from [`Protocol::describe_action`]), the fields that changed at each step (by
/// diffing [`Protocol::fields`]), and why the final state breaks the property (from
/// [`Protocol::explain`]).
///
/// Three optional methods let `check --html` draw the counterexample as a
/// message-sequence diagram: [`Protocol::lanes`] names the processes (one vertical lane
/// each), [`Protocol::actor`] says which of them takes a step, and [`Protocol::arrows`]
/// lists the messages a step sends, delivers or loses. Their defaults draw nothing, so a
/// model without processes or messages needs none of them.
pub trait Protocol: Model<Action: ActionKind> {
    /// One line naming what `action` does when taken from `state`, in protocol words,
    /// e.g. `n1 -> n2 AppendEntries{term: 2, prevLogIndex: 1, ...}`.
    fn describe_action(&self, state: &Self::State, action: &Self::Action) -> String;

    /// The state flattened into `(name, value)` pairs in a stable order. Two states are
    /// diffed field by field, so a name must denote the same thing in every state.
    fn fields(&self, state: &Self::State) -> Vec<(String, String)>;

    /// Why the property named `property` is violated (for `always`) or satisfied (for
    /// `sometimes`) in `state`, one reason per line. Empty if the model has nothing to add
    /// to the property's name.
    fn explain(&self, property: &str, state: &Self::State) -> Vec<String>;

    /// The processes of the model, left to right, as the lanes of a message-sequence
    /// diagram (e.g. `n1`, `n2`, `n3`). A lane's name is also the owner part (before the
    /// first `.`) of the [`Protocol::fields`] that belong to that process, so a diagram
    /// can mark the lanes whose state a step changed. Empty (the default) if the model
    /// names no processes.
    fn lanes(&self) -> Vec<String> {
        Vec::new()
    }

    /// The lane of the process that takes `action` in `state`, if one process does; it
    /// must be one of [`Protocol::lanes`]. `None` (the default) for an action of the
    /// environment that no process takes, such as the network losing a message.
    fn actor(&self, state: &Self::State, action: &Self::Action) -> Option<String> {
        let _ = (state, action);
        None
    }

    /// The messages that `action`, taken in `before` and leading to `after`, sends,
    /// delivers, loses or exchanges, in the order they happen. Every lane named must be
    /// one of [`Protocol::lanes`]. A [`ArrowKind::Send`] and the later
    /// [`ArrowKind::Deliver`] or [`ArrowKind::Lose`] of the same message carry equal
    /// `from`, `to` and `label`, which is how a diagram pairs them. Empty (the default)
    /// for a model without messages.
    fn arrows(
        &self,
        before: &Self::State,
        action: &Self::Action,
        after: &Self::State,
    ) -> Vec<Arrow> {
        let _ = (before, action, after);
        Vec::new()
    }
}

/// The Explorer's view of a step of `model`: what `action` does from `last` in protocol
/// words, then every field of the next state, one per line; `None` if the action is
/// disabled. The models' `Model::format_step` is this, so that the Explorer and the
/// printed traces speak the same words.
pub(crate) fn explorer_step<M: Protocol>(
    model: &M,
    last: &M::State,
    action: M::Action,
) -> Option<String> {
    let described = model.describe_action(last, &action);
    let next = model.next_state(last, action)?;
    let fields: Vec<String> = model
        .fields(&next)
        .into_iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    Some(format!("{described}\n\n{}", fields.join("\n")))
}

/// A message in one step of a counterexample, drawn as an arrow from lane `from` to lane
/// `to` of a message-sequence diagram.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Arrow {
    /// The sending process's lane.
    pub from: String,
    /// The receiving process's lane.
    pub to: String,
    /// A short name of the message, e.g. `Vote(yes)`, drawn on the arrow. Together with
    /// `from` and `to` it identifies the message, so a delivery finds its send.
    pub label: String,
    /// What happens to the message in this step.
    pub kind: ArrowKind,
}

impl Arrow {
    /// An arrow from lane `from` to lane `to`.
    pub fn new(
        from: impl Into<String>,
        to: impl Into<String>,
        label: impl Into<String>,
        kind: ArrowKind,
    ) -> Arrow {
        Arrow {
            from: from.into(),
            to: to.into(),
            label: label.into(),
            kind,
        }
    }
}

/// What a step does with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArrowKind {
    /// Sent and received within this one step: the model makes the exchange atomic.
    Exchange,
    /// Sent in this step; it waits in the network for a later step.
    Send,
    /// Received in this step, having waited in the network since its send.
    Deliver,
    /// Lost in this step (by the network, or with its receiver's crash), never received.
    Lose,
}

/// A known bug that a model can be built with, and the properties it is expected to break.
///
/// `check all` fails unless the checker finds a counterexample to one of `breaks` for every
/// variant, so a model change that silently hides a bug is a harness failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Variant {
    /// The name used on the command line (`--bug NAME`).
    pub name: &'static str,
    /// One sentence: what the buggy implementation does differently.
    pub summary: &'static str,
    /// Names of the properties whose violation counts as catching this bug.
    pub breaks: &'static [&'static str],
}

impl Variant {
    /// The variant of a bug the implementation's core has too: the core's name and
    /// summary, and the properties of this model that the bug breaks.
    pub const fn of(switch: impls::sansio::BugSwitch, breaks: &'static [&'static str]) -> Variant {
        Variant {
            name: switch.name,
            summary: switch.summary,
            breaks,
        }
    }
}

/// Checks shared by the models' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{ArrowKind, Protocol};
    use std::collections::HashSet;
    use std::hash::{DefaultHasher, Hash, Hasher};

    /// Explores `model` breadth-first from its initial states, at most `max_states` of
    /// them, and asserts what [`Protocol::lanes`], [`Protocol::actor`] and
    /// [`Protocol::arrows`] promise on every step: the lanes are distinct and not empty;
    /// every actor and every arrow end is a lane; no arrow goes from a lane to itself;
    /// an arrow's label is not empty. Returns how many arrows of each kind it saw, in the
    /// order exchange, send, deliver, lose, so that a test can ask that they were drawn.
    pub(crate) fn arrows_name_lanes<M>(model: &M, max_states: usize) -> [usize; 4]
    where
        M: Protocol,
        M::State: Hash,
        M::Action: Clone,
    {
        let lanes = model.lanes();
        assert!(!lanes.is_empty(), "the model names its lanes");
        let distinct: HashSet<&String> = lanes.iter().collect();
        assert_eq!(distinct.len(), lanes.len(), "lanes are distinct: {lanes:?}");
        let fingerprint = |s: &M::State| {
            let mut h = DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        let mut seen: HashSet<u64> = HashSet::new();
        let mut queue: std::collections::VecDeque<M::State> = model.init_states().into();
        let mut kinds = [0; 4];
        while let Some(s) = queue.pop_front() {
            if !seen.insert(fingerprint(&s)) || seen.len() > max_states {
                continue;
            }
            let mut actions = Vec::new();
            model.actions(&s, &mut actions);
            for a in actions {
                let Some(next) = model.next_state(&s, a.clone()) else {
                    continue;
                };
                if let Some(actor) = model.actor(&s, &a) {
                    assert!(
                        lanes.contains(&actor),
                        "actor {actor} is no lane of {lanes:?}"
                    );
                }
                for arrow in model.arrows(&s, &a, &next) {
                    assert!(
                        lanes.contains(&arrow.from),
                        "{arrow:?} starts off the lanes"
                    );
                    assert!(lanes.contains(&arrow.to), "{arrow:?} ends off the lanes");
                    assert_ne!(arrow.from, arrow.to, "{arrow:?} goes nowhere");
                    assert!(!arrow.label.is_empty(), "{arrow:?} has no label");
                    kinds[match arrow.kind {
                        ArrowKind::Exchange => 0,
                        ArrowKind::Send => 1,
                        ArrowKind::Deliver => 2,
                        ArrowKind::Lose => 3,
                    }] += 1;
                }
                queue.push_back(next);
            }
        }
        kinds
    }
}

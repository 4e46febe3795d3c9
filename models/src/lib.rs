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

pub mod kv;
pub mod msi;
pub mod raft;
pub mod twopc;

use stateright::Model;

/// A stateright model that can explain itself in the protocol's own words.
///
/// The `check` binary is generic over this trait: it prints a counterexample as numbered
/// steps (from [`Protocol::describe_action`]), the fields that changed at each step (by
/// diffing [`Protocol::fields`]), and why the final state breaks the property (from
/// [`Protocol::explain`]).
pub trait Protocol: Model {
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

//! MSI cache coherence (exercise 5).
//!
//! [`snooping`] is the textbook protocol on an atomic bus: a miss, an upgrade or an
//! eviction is one indivisible step, so the model has only the stable states I, S and M.
//! [`directory`] is the primer's directory protocol with non-atomic transactions: transient
//! states, a directory with sharers and an owner, and an unordered network.
//!
//! Both models check the same invariants:
//!
//! - **SWMR** (single writer, multiple readers): for every address, at any time, either one
//!   cache holds the line in M and no other cache holds it, or no cache holds it in M.
//! - **DataValue**: a load returns the value of the most recent store to its address
//!   (tracked with a ghost "last stored value" per address).
//! - **NoDeadlock**: every reachable state is quiescent or has an enabled action.
//!
//! The snooping model never deadlocks (a load is always enabled); it checks NoDeadlock so
//! that both models answer the same questions, and `unordered-forwards` breaks it in
//! the directory model.
//!
//! The bugs are the core's ([`impls::msi::core::Bug`], named and summarised there); this
//! module adds which properties each breaks ([`variant`]), and each model lists the bugs it
//! can be built with (`snooping::VARIANTS`, `directory::VARIANTS`).

pub mod directory;
pub mod snooping;

use crate::Variant;
use impls::msi::core::Bug;
use impls::sansio::BugSwitches;

/// A cache line's stable coherence state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stable {
    /// Invalid: no copy.
    I,
    /// Shared: a read-only copy, equal to memory.
    S,
    /// Modified: the only copy, readable and writable, possibly newer than memory.
    M,
}

impl Stable {
    /// The state's one-letter name.
    pub fn name(self) -> &'static str {
        match self {
            Stable::I => "I",
            Stable::S => "S",
            Stable::M => "M",
        }
    }
}

/// Every variant of the exercise, as `check list` shows them: each of the core's bugs
/// ([`Bug`], whose order and words these are), with the properties it breaks.
pub const VARIANTS: [Variant; 5] = variants(<Bug as BugSwitches>::ALL);

/// The variant of `bug`: the core's name and summary, and the properties whose violation
/// counts as catching it, the same in both models.
pub const fn variant(bug: Bug) -> Variant {
    let breaks: &'static [&'static str] = match bug {
        Bug::NoInvalidate | Bug::EarlyWrite | Bug::AckInvInIsD => &["SWMR", "DataValue"],
        Bug::NoWriteback => &["DataValue"],
        Bug::UnorderedForwards => &["NoDeadlock"],
    };
    Variant::of(bug.switch(), breaks)
}

/// The variants of `bugs`, in their order. A constant evaluation fails unless there are
/// exactly `N`, so a bug added to the core without its place here does not compile.
const fn variants<const N: usize>(bugs: &[Bug]) -> [Variant; N] {
    assert!(bugs.len() == N, "one variant per bug");
    let mut out = [variant(Bug::NoInvalidate); N];
    let mut i = 0;
    while i < N {
        out[i] = variant(bugs[i]);
        i += 1;
    }
    out
}

/// Whether the property named `name` in `model`'s table holds in `state`: the threshold
/// tests of both models evaluate the very condition the checker evaluates, found by name,
/// so that a weakened table entry fails them even if the helpers behind it are intact.
#[cfg(test)]
fn holds<M: stateright::Model>(model: &M, name: &str, state: &M::State) -> bool {
    let property = model
        .properties()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("the model has no property {name}"));
    (property.condition)(model, state)
}

/// The names of `model`'s `sometimes` properties that hold in `state`: a test asks that
/// none holds initially, since a witness that held everywhere would be reached without
/// the model showing its behaviour.
#[cfg(test)]
fn witnesses_holding<M: stateright::Model>(model: &M, state: &M::State) -> Vec<&'static str> {
    model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == stateright::Expectation::Sometimes)
        .filter(|p| (p.condition)(model, state))
        .map(|p| p.name)
        .collect()
}

//! Action coverage, as TLC reports it: per kind of action, how often it was enabled and
//! how often it fired during the exploration, and which kinds never fired at all.
//!
//! A safety property can only fail in states the model reaches, so a change that makes a
//! model do less (a guard too strict, an action that can no longer fire) passes every
//! `always` property. The coverage table makes such a loss visible: a kind that never
//! fired in an exhausted space is a *dead action*, and `check all` refuses one unless the
//! model's [`Pin`] declares it.
//!
//! [`Counted`] wraps any [`Checkable`] model and counts as it is explored; the kinds are
//! the variant names of the model's action enum ([`ActionKind`]), so every model gets the
//! table without code of its own. Counting stops when the exploration ends, so shortening
//! and replay do not inflate the counts.
//!
//! A model's [`Pin`] is the other half: the unique-state count of its default bounds and
//! the action kinds that cannot fire there. Both `check all` and the models crate's own
//! tests hold every default configuration to its pin, so a model that loses states or
//! actions fails a test before it reaches the gate.

#[cfg(test)]
mod tests;

use crate::wrap::{check_forwardable, forwarded, TooManyProperties, Wrapper};
use crate::{ActionKind, Checkable, Protocol};
use serde::Serialize;
use stateright::{Model, Property};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// What a model's default configuration is held to: the size of its state space and the
/// action kinds that cannot fire in it. A change to either is a change to the model, to be
/// explained where the pin is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pin {
    /// Unique states of an exhaustive run under the default bounds (with the model's
    /// symmetry reduction, if `check` applies one).
    pub unique_states: u64,
    /// The action kinds that never fire under the default bounds, by design.
    pub dead_actions: &'static [DeadAction],
}

/// An action kind that cannot fire under a model's default bounds, and why: something the
/// default configuration cannot show by design, not by accident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadAction {
    /// The kind, a variant name of the model's action enum.
    pub kind: &'static str,
    /// One line: why it cannot fire under the default bounds.
    pub reason: &'static str,
}

impl Pin {
    /// A pin with no dead action.
    pub const fn states(unique_states: u64) -> Pin {
        Pin {
            unique_states,
            dead_actions: &[],
        }
    }

    /// What is wrong with an exhaustive run that found `unique_states` and in which the
    /// kinds `dead` never fired: a count other than the pinned one, a dead kind the pin
    /// does not declare, a declared one that fired. Empty if the run matches the pin.
    pub fn problems(&self, unique_states: u64, dead: &[String]) -> Vec<String> {
        let mut problems = Vec::new();
        if unique_states != self.unique_states {
            problems.push(format!(
                "unique states {}, but the model pins {}: the model explores {} than it did",
                grouped(unique_states),
                grouped(self.unique_states),
                if unique_states < self.unique_states {
                    "less"
                } else {
                    "more"
                }
            ));
        }
        problems.extend(
            dead.iter()
                .filter(|kind| !self.dead_actions.iter().any(|d| d.kind == kind.as_str()))
                .map(|kind| {
                    format!("dead action {kind}: it never fired in the exhausted space, and the model's pin does not declare it")
                }),
        );
        problems.extend(
            self.dead_actions
                .iter()
                .filter(|d| !dead.iter().any(|k| k == d.kind))
                .map(|d| {
                    format!(
                        "action {} fired, though the model's pin declares it dead ({})",
                        d.kind, d.reason
                    )
                }),
        );
        problems
    }
}

/// `n` with its digits in groups of three, as every report prints counts: `289,412`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// One kind of action's coverage in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionCoverage {
    /// The kind: a variant name of the model's action enum, e.g. `Timeout`.
    pub kind: String,
    /// How many times an explored state had an action of this kind enabled.
    pub enabled: u64,
    /// How many of those actions led to a state (a new or an already seen one).
    pub fired: u64,
}

/// Counters per kind, sharded by thread so that checker threads do not contend on one
/// cache line for every action they take.
pub struct ActionCounts {
    kinds: &'static [&'static str],
    /// `SHARDS` blocks of `stride` counters: `enabled` per kind, then `fired` per kind,
    /// padded so that no two shards share a cache line.
    counters: Box<[AtomicU64]>,
    stride: usize,
    counting: AtomicBool,
}

/// Shards; threads beyond this share a shard, which stays exact (the adds are atomic).
const SHARDS: usize = 16;
/// Counters per cache line (64 bytes) and then one more line, as padding.
const LINE: usize = 8;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

impl ActionCounts {
    /// Zeroed counters for `kinds`, counting.
    pub fn new(kinds: &'static [&'static str]) -> ActionCounts {
        let stride = (2 * kinds.len()).div_ceil(LINE) * LINE + LINE;
        ActionCounts {
            kinds,
            counters: (0..SHARDS * stride).map(|_| AtomicU64::new(0)).collect(),
            stride,
            counting: AtomicBool::new(true),
        }
    }

    /// Stops counting: later steps (shortening, replay, a checker thread still running
    /// after Ctrl-C) leave the counts as the exploration left them.
    pub fn stop(&self) {
        self.counting.store(false, Ordering::Relaxed);
    }

    fn index(&self, kind: &str) -> Option<usize> {
        self.kinds.iter().position(|k| *k == kind)
    }

    fn add(&self, offset: usize) {
        let shard = SHARD.with(|s| *s);
        self.counters[shard * self.stride + offset].fetch_add(1, Ordering::Relaxed);
    }

    fn enabled(&self, kind: &str) {
        if let Some(i) = self.index(kind) {
            self.add(i);
        }
    }

    fn fired(&self, kind: &str) {
        if let Some(i) = self.index(kind) {
            self.add(self.kinds.len() + i);
        }
    }

    fn is_counting(&self) -> bool {
        self.counting.load(Ordering::Relaxed)
    }

    /// The table, one row per kind in declaration order.
    pub fn table(&self) -> Vec<ActionCoverage> {
        let sum = |offset: usize| -> u64 {
            (0..SHARDS)
                .map(|s| self.counters[s * self.stride + offset].load(Ordering::Relaxed))
                .sum()
        };
        self.kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| ActionCoverage {
                kind: kind.to_string(),
                enabled: sum(i),
                fired: sum(self.kinds.len() + i),
            })
            .collect()
    }
}

/// The kinds in `table` that never fired.
pub fn never_fired(table: &[ActionCoverage]) -> Vec<String> {
    table
        .iter()
        .filter(|row| row.fired == 0)
        .map(|row| row.kind.clone())
        .collect()
}

/// A model that counts its actions by kind as it is explored. Its states, actions (in the
/// same order), properties and words are the wrapped model's.
#[derive(Clone)]
pub struct Counted<M: Model> {
    inner: M,
    properties: Arc<Vec<Property<M>>>,
    counts: Arc<ActionCounts>,
}

impl<M: Checkable> Counted<M> {
    /// Wraps `model` with fresh counters.
    ///
    /// # Errors
    /// If the model has more properties than a wrapper can forward.
    pub fn new(model: M) -> Result<Self, TooManyProperties> {
        let properties = model.properties();
        check_forwardable(&properties)?;
        Ok(Counted {
            inner: model,
            properties: Arc::new(properties),
            counts: Arc::new(ActionCounts::new(M::Action::KINDS)),
        })
    }

    /// The counters this model adds to.
    pub fn counts(&self) -> &ActionCounts {
        &self.counts
    }
}

impl<M: Checkable> Wrapper for Counted<M> {
    type Inner = M;
    fn inner(&self) -> &M {
        &self.inner
    }
    fn inner_properties(&self) -> &[Property<M>] {
        &self.properties
    }
}

impl<M: Checkable> Model for Counted<M> {
    type State = M::State;
    type Action = M::Action;

    fn init_states(&self) -> Vec<M::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &M::State, actions: &mut Vec<M::Action>) {
        let start = actions.len();
        self.inner.actions(state, actions);
        if self.counts.is_counting() {
            for action in &actions[start..] {
                self.counts.enabled(action.kind());
            }
        }
    }

    fn next_state(&self, last: &M::State, action: M::Action) -> Option<M::State> {
        let kind = action.kind();
        let next = self.inner.next_state(last, action);
        if next.is_some() && self.counts.is_counting() {
            self.counts.fired(kind);
        }
        next
    }

    fn format_action(&self, action: &M::Action) -> String {
        self.inner.format_action(action)
    }

    fn format_step(&self, last: &M::State, action: M::Action) -> Option<String> {
        self.inner.format_step(last, action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        forwarded(self)
    }

    fn within_boundary(&self, state: &M::State) -> bool {
        self.inner.within_boundary(state)
    }
}

impl<M: Checkable> Protocol for Counted<M> {
    fn describe_action(&self, state: &M::State, action: &M::Action) -> String {
        self.inner.describe_action(state, action)
    }

    fn fields(&self, state: &M::State) -> Vec<(String, String)> {
        self.inner.fields(state)
    }

    fn explain(&self, property: &str, state: &M::State) -> Vec<String> {
        self.inner.explain(property, state)
    }

    fn lanes(&self) -> Vec<String> {
        self.inner.lanes()
    }

    fn actor(&self, state: &M::State, action: &M::Action) -> Option<String> {
        self.inner.actor(state, action)
    }

    fn arrows(&self, before: &M::State, action: &M::Action, after: &M::State) -> Vec<crate::Arrow> {
        self.inner.arrows(before, action, after)
    }
}

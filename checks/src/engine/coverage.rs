//! Action coverage, as TLC reports it: per kind of action, how often it was enabled and
//! how often it fired during the exploration, and which kinds never fired at all.
//!
//! A safety property can only fail in states the model reaches, so a change that makes a
//! model do less (a guard too strict, an action that can no longer fire) passes every
//! `always` property. The coverage table makes such a loss visible: a kind that never
//! fired in an exhausted space is a *dead action*, and the gate refuses one unless the
//! exercise's registry row declares it (see `exercises::Exercise::dead_actions`).
//!
//! [`Counted`] wraps any [`Checkable`] model and counts as the engine explores it; the
//! kinds are the variant names of the model's action enum ([`models::ActionKind`]), so
//! every model gets the table without code of its own. Counting stops when the
//! exploration ends, so shortening and replay do not inflate the counts.

use super::wrap::{check_forwardable, forwarded, Wrapper};
use super::Checkable;
use anyhow::Result;
use models::{ActionKind, Protocol};
use serde::Serialize;
use stateright::{Model, Property};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

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
    pub fn new(model: M) -> Result<Self> {
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

    fn arrows(
        &self,
        before: &M::State,
        action: &M::Action,
        after: &M::State,
    ) -> Vec<models::Arrow> {
        self.inner.arrows(before, action, after)
    }
}

//! The controllers in the workspace's one sans-IO shape, [`Core`]: a cache controller and a
//! directory controller that step on inputs and return effects for a driver to carry out.
//!
//! Both drivers step these, and only these: `models::msi::directory` on every
//! interleaving of a few caches, and [`crate::msi::sim`] on threads (or on its seeded
//! scheduler). The transition tables themselves are the pure functions of `cache.rs` and
//! `directory.rs`, private to the core, so no driver can run a protocol of its own.
//!
//! MSI keeps no durable state: its effects are sends and completions, never persists, so
//! the durability rule of [`crate::sansio`] holds trivially (the core's tests still check
//! it on every step).

use super::cache::{cache_cpu, cache_receive, CacheStep};
use super::directory::{dir_receive, DirStep};
use super::{Bugs, CacheLine, Completed, CpuOp, DirLine, Envelope, Value};
use crate::sansio::{Core, Effect, EffectKind};

/// One cache's controller for one address: its line, who it is, and its bug switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheController<V = u8> {
    /// The cache's number (its [`super::Node::Cache`]), the sender of what it sends.
    pub me: u8,
    /// The line, which [`Core::step`] updates.
    pub line: CacheLine<V>,
    /// The bug switches the controller was built with.
    pub bugs: Bugs,
}

/// What a cache controller steps on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheInput<V = u8> {
    /// The processor issues a load, a store or an eviction.
    Cpu(CpuOp<V>),
    /// A message addressed to this cache is delivered.
    Receive(Envelope<V>),
}

/// What a cache controller asks its driver to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheEffect<V = u8> {
    /// Hand the message to the network.
    Send(Envelope<V>),
    /// The processor's pending load or store completed (a hit completes in the step that
    /// issues it).
    Completed(Completed<V>),
    /// The line's state has no transition for the input yet: the controller is unchanged,
    /// and the driver keeps the message buffered, or the processor's request pending, and
    /// offers it again after something else has changed the line. (An eviction of a line
    /// in I stalls too: there is nothing to evict.)
    Stalled,
}

/// What the directory controller asks its driver to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DirEffect<V = u8> {
    /// Hand the message to the network.
    Send(Envelope<V>),
    /// The entry has no transition for the message yet (in S^D it waits for the owner's
    /// data): the controller is unchanged, and the driver keeps the message buffered.
    Stalled,
}

/// The directory's controller for one address: its entry (with memory) and its bug
/// switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DirController<V = u8> {
    /// The entry, which [`Core::step`] updates.
    pub line: DirLine<V>,
    /// The bug switches the controller was built with.
    pub bugs: Bugs,
}

impl<V: Value> CacheController<V> {
    /// Cache `me`'s controller over `line`.
    pub fn new(me: u8, line: CacheLine<V>, bugs: Bugs) -> Self {
        CacheController { me, line, bugs }
    }

    /// Whether [`Core::step`] would take `input` now rather than stall on it. Changes
    /// nothing; the same answer as stepping, so a driver can list what is enabled.
    pub fn takes(&self, input: CacheInput<V>) -> bool {
        self.transition(input).is_some()
    }

    fn transition(&self, input: CacheInput<V>) -> Option<CacheStep<V>> {
        match input {
            CacheInput::Cpu(op) => cache_cpu(self.line, self.me, op, self.bugs),
            CacheInput::Receive(env) => cache_receive(self.line, self.me, env, self.bugs),
        }
    }
}

impl<V: Value> Core for CacheController<V> {
    type Input = CacheInput<V>;
    type Effect = CacheEffect<V>;

    /// Takes the input: the messages to send, in order, then the completed load or store,
    /// if any. Exactly `[Stalled]`, with the line unchanged, when the input must wait.
    fn step(&mut self, input: CacheInput<V>) -> Vec<CacheEffect<V>> {
        let Some(step) = self.transition(input) else {
            return vec![CacheEffect::Stalled];
        };
        self.line = step.line;
        let mut effects: Vec<CacheEffect<V>> =
            step.send.into_iter().map(CacheEffect::Send).collect();
        effects.extend(step.completed.map(CacheEffect::Completed));
        effects
    }
}

impl<V: Value> DirController<V> {
    /// The directory's controller over `line`.
    pub fn new(line: DirLine<V>, bugs: Bugs) -> Self {
        DirController { line, bugs }
    }

    /// Whether [`Core::step`] would take `env` now rather than stall on it. Changes
    /// nothing; the same answer as stepping, so a driver can list what is enabled.
    pub fn takes(&self, env: Envelope<V>) -> bool {
        self.transition(env).is_some()
    }

    fn transition(&self, env: Envelope<V>) -> Option<DirStep<V>> {
        dir_receive(self.line, env, self.bugs)
    }
}

impl<V: Value> Core for DirController<V> {
    type Input = Envelope<V>;
    type Effect = DirEffect<V>;

    /// Takes the message: the messages to send, in order. Exactly `[Stalled]`, with the
    /// entry unchanged, when the message must wait.
    fn step(&mut self, env: Envelope<V>) -> Vec<DirEffect<V>> {
        let Some(step) = self.transition(env) else {
            return vec![DirEffect::Stalled];
        };
        self.line = step.line;
        step.send.into_iter().map(DirEffect::Send).collect()
    }
}

impl<V> Effect for CacheEffect<V> {
    fn kind(&self) -> EffectKind {
        match self {
            CacheEffect::Send(_) => EffectKind::Send,
            CacheEffect::Completed(_) | CacheEffect::Stalled => EffectKind::Other,
        }
    }
}

impl<V> Effect for DirEffect<V> {
    fn kind(&self) -> EffectKind {
        match self {
            DirEffect::Send(_) => EffectKind::Send,
            DirEffect::Stalled => EffectKind::Other,
        }
    }
}

//! What the two schedules drive: a node (a core, or the directory) as an actor that takes
//! one step at a time. Each schedule moves messages into an actor's buffer and asks it to
//! step; the actor chooses, with the generator it is given, one of the things it can do.

use super::network::Packet;
use super::record::Clock;
use crate::sim::SplitMix64;

/// What one call to [`Actor::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Nothing: every buffered message stalls and the processor (if any) has nothing it
    /// may do. Only a new message can change that.
    Idle,
    /// Took a message or a processor action.
    Moved,
    /// Took one, and that completed the processor's load or store.
    Completed,
}

/// A node of the simulated system.
pub(super) trait Actor {
    /// Buffers a message that has arrived for this node.
    fn receive(&mut self, p: Packet);

    /// Takes one step, chosen with `rng` uniformly among the steps the node's controllers
    /// take now (a stalled message or request is not a step), and appends the messages it
    /// sends to `out`. Reads `clock` whenever the recording needs a time.
    fn step(&mut self, rng: &mut SplitMix64, clock: &Clock, out: &mut Vec<Packet>) -> Step;

    /// Whether the node's processor has issued all its operations and each completed (the
    /// directory has no processor: always true).
    fn done(&self) -> bool;
}

/// Removes and returns a uniformly chosen element of `candidates`: drawing until one is
/// accepted makes the accepted one uniform among the acceptable ones.
pub(super) fn draw<T>(rng: &mut SplitMix64, candidates: &mut Vec<T>) -> Option<T> {
    if candidates.is_empty() {
        return None;
    }
    let k = rng.below(candidates.len() as u64) as usize;
    Some(candidates.swap_remove(k))
}

//! [`Schedule::Deterministic`](super::Schedule::Deterministic): the same nodes, stepped one
//! at a time on the calling thread by a seeded scheduler, so that a configuration and a
//! seed replay a run exactly.
//!
//! Each step, the scheduler draws a node uniformly among those that may be able to step,
//! and the node draws, from the same generator, one of the things it can do (a buffered
//! message its controller takes, or its processor's next action). A node that can do
//! nothing is set aside until a message arrives for it, since only a message can change
//! what it may do. Messages sent in a step go straight into their receivers' buffers,
//! where the networks' rules ([`super::network::Buffer`]) decide what may be delivered.
//!
//! Deadlock is exact here: a run in which no node can take a step while a core still has
//! an operation to issue or to complete is deadlocked. A run in which nodes keep stepping
//! but no load or store completes for [`LIVELOCK_STEPS`] steps is stopped as a livelock.

use super::actor::{Actor, Step};
use super::cache_node::CacheNode;
use super::directory_node::DirNode;
use super::network::Packet;
use super::record::Clock;
use super::{Ended, Outcome};
use crate::msi::core::Node;
use crate::sim::SplitMix64;
use std::sync::atomic::{AtomicU64, Ordering};

/// Steps without a completed load or store after which a deterministic run is called
/// livelocked. A load or store needs a handful of steps, and even a mix of 99% evictions
/// completes one every few hundred, so only a run that has stopped making progress reaches
/// this.
pub const LIVELOCK_STEPS: u64 = 1_000_000;

/// Runs `caches` and `dir` on the scheduler seeded with `seed` until every core is done,
/// no node can step (a deadlock), or [`LIVELOCK_STEPS`] pass without a completion. Counts
/// each completed load or store in `completed`.
pub(super) fn run(
    mut caches: Vec<CacheNode>,
    mut dir: DirNode,
    seed: u64,
    completed: &AtomicU64,
) -> Ended {
    let mut rng = SplitMix64(seed);
    let clock = Clock::default();
    let nodes = caches.len() + 1;
    // Node i < cores is core i; the last is the directory.
    let mut idle = vec![false; nodes];
    let mut runnable = Vec::with_capacity(nodes);
    let mut out: Vec<Packet> = Vec::new();
    let (mut messages, mut since_completion) = (0u64, 0u64);
    let outcome = 'run: loop {
        if caches.iter().all(|c| c.done()) {
            break Outcome::Finished;
        }
        if since_completion >= LIVELOCK_STEPS {
            break Outcome::Livelocked;
        }
        runnable.clear();
        runnable.extend((0..nodes).filter(|&i| !idle[i]));
        let step = loop {
            let Some(i) = super::actor::draw(&mut rng, &mut runnable) else {
                break 'run Outcome::Deadlocked;
            };
            let node: &mut dyn Actor = match caches.get_mut(i) {
                Some(cache) => cache,
                None => &mut dir,
            };
            match node.step(&mut rng, &clock, &mut out) {
                Step::Idle => idle[i] = true,
                step => break step,
            }
        };
        since_completion = match step {
            Step::Completed => {
                completed.fetch_add(1, Ordering::Relaxed);
                0
            }
            _ => since_completion + 1,
        };
        for p in out.drain(..) {
            messages += 1;
            let i = match p.env.to {
                Node::Cache(c) => c as usize,
                Node::Dir => nodes - 1,
            };
            idle[i] = false;
            match caches.get_mut(i) {
                Some(cache) => cache.receive(p),
                None => dir.receive(p),
            }
        }
    };
    Ended {
        outcome,
        caches,
        dir,
        messages,
    }
}

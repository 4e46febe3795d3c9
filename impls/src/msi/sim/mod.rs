//! A concurrent cache-coherence simulator: one thread per core, a directory thread, and
//! channels between them, all running the controllers of [`crate::msi::core`], the code
//! `models::msi::directory` checks exhaustively.
//!
//! Each core issues loads, stores (each of a value no other store writes) and evictions
//! to a few addresses. The run records every load and store with call and return times,
//! and every interval in which a core could read or write a line ([`record`]). The checks
//! crate then asks two questions of the recording: is each address's history linearizable
//! as a register (coherent memory is per-location linearizable), and did a core ever hold
//! M while another core held the line at all ([`record::swmr_violation`])?
//!
//! A run that stops making progress is a deadlock: when no operation completes and no
//! message is sent for [`SimConfig::stall_timeout`], every node is stopped and the final
//! lines and the messages still buffered are returned, for the report. A run whose
//! messages keep moving while no operation completes for ten times that long is stopped
//! the same way, as a livelock.

mod cache_node;
mod directory_node;
pub mod network;
pub mod record;

use crate::msi::core::{Bugs, CacheLine, DirLine};
use network::{Inbox, Net, Packet};
use record::{Clock, Holding, OpRecord};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The operation mix, in percent; loads are the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Stores.
    pub store_percent: u64,
    /// Evictions (replacements), which exercise Put-S, Put-M and the `_A` states.
    pub evict_percent: u64,
}

/// A run's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Cores, each a thread with its own cache (1..=8: sharers are a byte).
    pub cores: usize,
    /// Addresses (cache lines) the cores share.
    pub addrs: usize,
    /// Loads and stores (evictions not counted) each core issues.
    pub ops_per_core: u64,
    /// The operation mix.
    pub mix: Mix,
    /// Seeds every core's choice of operations and every node's delivery order. Thread
    /// scheduling is the operating system's, so a seed fixes the workload, not the
    /// interleaving.
    pub seed: u64,
    /// The controllers' bug switches.
    pub bugs: Bugs,
    /// The `unordered-forwards` bug: forwarded requests lose their point-to-point order.
    pub unordered_forwards: bool,
    /// A run in which no operation completes and no message is sent for this long has
    /// deadlocked.
    pub stall_timeout: Duration,
}

impl Default for SimConfig {
    /// 4 cores × 100,000 operations on 4 addresses: 45% loads, 45% stores, 10% evictions.
    fn default() -> Self {
        SimConfig {
            cores: 4,
            addrs: 4,
            ops_per_core: 100_000,
            mix: Mix {
                store_percent: 45,
                evict_percent: 10,
            },
            seed: 1,
            bugs: Bugs::default(),
            unordered_forwards: false,
            stall_timeout: Duration::from_secs(2),
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every core issued all its operations, and each completed.
    Finished,
    /// Nothing happened for the stall timeout: the protocol deadlocked.
    Deadlocked,
    /// Messages kept moving, but no operation completed for ten stall timeouts.
    Livelocked,
}

/// Everything a run recorded.
#[derive(Clone, Debug)]
pub struct SimRun {
    /// The parameters.
    pub config: SimConfig,
    /// How it ended.
    pub outcome: Outcome,
    /// Every load and store, by core, in issue order.
    pub ops: Vec<OpRecord>,
    /// Every interval in which a core could read or write a line.
    pub holdings: Vec<Holding>,
    /// Coherence messages sent.
    pub messages: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Each core's lines when the run stopped.
    pub final_caches: Vec<Vec<CacheLine<u32>>>,
    /// The directory's entries when the run stopped.
    pub final_dirs: Vec<DirLine<u32>>,
    /// Messages received but never delivered, because their receiver stalled on them.
    pub stuck: Vec<Packet>,
}

/// What the threads share besides channels.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    clock: Clock,
    /// Operations completed, for the deadlock watchdog.
    completed: AtomicU64,
    /// Cores that issued all their operations.
    cores_done: AtomicUsize,
}

/// Runs the simulator.
///
/// # Panics
/// If `cores` is not in 1..=8 or `addrs` is 0.
pub fn run(config: SimConfig) -> SimRun {
    assert!((1..=8).contains(&config.cores), "1 to 8 cores");
    assert!(config.addrs > 0, "at least one address");
    let started = Instant::now();
    let ordered = !config.unordered_forwards;
    let (cache_txs, cache_rxs): (Vec<_>, Vec<_>) = (0..config.cores).map(|_| channel()).unzip();
    let (dir_tx, dir_rx) = channel();
    let net = Net::new(cache_txs, dir_tx);
    let shared = Arc::new(Shared::default());
    // Distinct seeds per node, derived from the run's seed.
    let base = config.seed;
    let seed = move |node: u64| base.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ node;

    let dir_inbox = Inbox::new(dir_rx, config.addrs, true, seed(1_000));
    let dir_net = net.clone();
    let bugs = config.bugs;
    let addrs = config.addrs;
    let directory =
        std::thread::spawn(move || directory_node::run(addrs, dir_inbox, dir_net, bugs));
    let cores: Vec<_> = cache_rxs
        .into_iter()
        .enumerate()
        .map(|(c, rx)| {
            let inbox = Inbox::new(rx, config.addrs, ordered, seed(2_000 + c as u64));
            let node = cache_node::CacheNode::new(
                c,
                config.addrs,
                inbox,
                net.clone(),
                shared.clone(),
                config.bugs,
            );
            std::thread::spawn(move || node.run(config.ops_per_core, config.mix, seed(c as u64)))
        })
        .collect();

    let outcome = watch(&shared, &net, config.cores, config.stall_timeout);
    net.stop_all();
    let dir = directory
        .join()
        .expect("the directory thread does not panic");
    let mut run = SimRun {
        config,
        outcome,
        ops: Vec::new(),
        holdings: Vec::new(),
        messages: 0,
        elapsed: Duration::ZERO,
        final_caches: Vec::new(),
        final_dirs: dir.lines,
        stuck: dir.buffered,
    };
    for core in cores {
        let result = core.join().expect("a core thread does not panic");
        run.ops.extend(result.ops);
        run.holdings.extend(result.log.finish());
        run.final_caches.push(result.lines);
        run.stuck.extend(result.buffered);
    }
    run.messages = net.sent();
    run.elapsed = started.elapsed();
    run
}

/// Waits until every core is done, or until the run stops making progress: nothing at all
/// for `stall_timeout` (a deadlock), or no completed operation for ten times that (a
/// livelock).
fn watch(shared: &Shared, net: &Net, cores: usize, stall_timeout: Duration) -> Outcome {
    let progress = || (shared.completed.load(Ordering::Relaxed), net.sent());
    let (mut seen, mut last_any, mut last_op) = (progress(), Instant::now(), Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(10));
        if shared.cores_done.load(Ordering::SeqCst) == cores {
            return Outcome::Finished;
        }
        let now = progress();
        if now.0 != seen.0 {
            last_op = Instant::now();
        }
        if now != seen {
            last_any = Instant::now();
        }
        seen = now;
        if last_any.elapsed() >= stall_timeout {
            return Outcome::Deadlocked;
        }
        if last_op.elapsed() >= stall_timeout * 10 {
            return Outcome::Livelocked;
        }
    }
}

#[cfg(test)]
mod tests;

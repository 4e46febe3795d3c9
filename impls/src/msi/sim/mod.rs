//! A cache-coherence simulator: a node per core and a directory node, running the
//! controllers of [`crate::msi::core`] (through [`crate::sansio::Core::step`]), the code
//! `models::msi::directory` checks exhaustively.
//!
//! Each core issues loads, stores (each of a value no other store writes) and evictions
//! to a few addresses. The run records every load and store with call and return times,
//! and every interval in which a core could read or write a line ([`record`]). The checks
//! crate then asks two questions of the recording: is each address's history linearizable
//! as a register (coherent memory is per-location linearizable), and did a core ever hold
//! M while another core held the line at all ([`record::swmr_violation`])?
//!
//! The same nodes run under one of two schedules ([`Schedule`]):
//!
//! - **Deterministic** (the default): one thread steps the nodes, a seeded generator
//!   choosing which node steps next and which of its buffered messages it takes. The same
//!   configuration and seed give the same recording, byte for byte
//!   ([`SimRun::recording`]), so a failing seed replays. Deadlock is exact: no node can
//!   step while a core has work left. [`LIVELOCK_STEPS`] steps without a completed load or
//!   store end the run as a livelock.
//! - **Threads**: a thread per node over channels, the operating system choosing the
//!   interleaving; it finds what real timing produces, and a seed fixes only the workload.
//!   A watchdog calls a deadlock after [`SimConfig::stall_timeout`] without progress.
//!
//! Either way the networks are the primer's: requests and responses unordered, forwarded
//! requests ordered per address (unless the `unordered-forwards` bug is on), and a message
//! the controller stalls on stays buffered until it can be taken ([`network`]).

mod actor;
mod cache_node;
mod deterministic;
mod directory_node;
pub mod network;
pub mod record;
mod threads;

pub use deterministic::LIVELOCK_STEPS;

use crate::msi::core::{Bugs, CacheLine, DirLine};
use cache_node::CacheNode;
use directory_node::DirNode;
use network::Packet;
use record::{Holding, OpRecord};
use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The operation mix, in percent; loads are the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mix {
    /// Stores.
    pub store_percent: u64,
    /// Evictions (replacements), which exercise Put-S, Put-M and the `_A` states.
    pub evict_percent: u64,
}

/// Who decides the interleaving of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// One thread and a scheduler seeded from [`SimConfig::seed`]: the same configuration
    /// replays the same recording.
    #[default]
    Deterministic,
    /// A thread per node over channels: the operating system interleaves them, so a run
    /// does not replay.
    Threads,
}

impl Schedule {
    /// Both schedules, the default first.
    pub const ALL: [Schedule; 2] = [Schedule::Deterministic, Schedule::Threads];

    /// The schedule's name on a command line: `deterministic` or `threads`.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Deterministic => "deterministic",
            Schedule::Threads => "threads",
        }
    }

    /// The schedule called `name` (see [`Schedule::name`]).
    pub fn from_name(name: &str) -> Option<Schedule> {
        Schedule::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A run's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SimConfig {
    /// Cores, each a node with its own cache (1..=8: sharers are a byte).
    pub cores: usize,
    /// Addresses (cache lines) the cores share.
    pub addrs: usize,
    /// Loads and stores (evictions not counted) each core issues.
    pub ops_per_core: u64,
    /// The operation mix.
    pub mix: Mix,
    /// Seeds every core's choice of operations (the same workload under either
    /// schedule), and every choice of the deterministic scheduler or of each thread's
    /// delivery order.
    pub seed: u64,
    /// The bug switches: the controllers', and `unordered_forwards`, which the nodes'
    /// networks read.
    pub bugs: Bugs,
    /// Deterministic (replayable, the default) or threads.
    pub schedule: Schedule,
    /// [`Schedule::Threads`] only: a run in which no operation completes and no message is
    /// sent for this long has deadlocked.
    pub stall_timeout: Duration,
}

impl Default for SimConfig {
    /// 4 cores × 100,000 operations on 4 addresses: 45% loads, 45% stores, 10% evictions,
    /// deterministic, seed 1.
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
            bugs: Bugs::NONE,
            schedule: Schedule::Deterministic,
            stall_timeout: Duration::from_secs(2),
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every core issued all its operations, and each completed.
    Finished,
    /// The protocol deadlocked: no node could take a step (deterministic), or nothing
    /// happened for the stall timeout (threads).
    Deadlocked,
    /// Messages kept moving, but no operation completed for [`LIVELOCK_STEPS`] steps
    /// (deterministic) or ten stall timeouts (threads).
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

/// A [`SimRun`] without its wall-clock time: what a run recorded, which two
/// [`Schedule::Deterministic`] runs of the same configuration have equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Recording<'a> {
    /// The parameters.
    pub config: &'a SimConfig,
    /// How it ended.
    pub outcome: Outcome,
    /// Every load and store.
    pub ops: &'a [OpRecord],
    /// Every read and write interval.
    pub holdings: &'a [Holding],
    /// Coherence messages sent.
    pub messages: u64,
    /// Each core's lines at the end.
    pub final_caches: &'a [Vec<CacheLine<u32>>],
    /// The directory's entries at the end.
    pub final_dirs: &'a [DirLine<u32>],
    /// Messages still buffered at the end.
    pub stuck: &'a [Packet],
}

impl SimRun {
    /// Everything the run recorded but its wall-clock time. Guarantee: equal (and with
    /// equal `Debug` text) for two deterministic runs of the same configuration.
    pub fn recording(&self) -> Recording<'_> {
        Recording {
            config: &self.config,
            outcome: self.outcome,
            ops: &self.ops,
            holdings: &self.holdings,
            messages: self.messages,
            final_caches: &self.final_caches,
            final_dirs: &self.final_dirs,
            stuck: &self.stuck,
        }
    }

    /// A 64-bit FNV-1a digest of [`SimRun::recording`], to show in a report so that a
    /// replay can be compared with the original at a glance. Guarantee: equal recordings
    /// give equal fingerprints under one build of the simulator.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv1a(0xcbf2_9ce4_8422_2325);
        self.recording().hash(&mut h);
        h.finish()
    }
}

/// FNV-1a, 64 bits: unlike std's `DefaultHasher`, its algorithm is fixed.
struct Fnv1a(u64);

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The nodes as a schedule leaves them, and how the run ended.
struct Ended {
    outcome: Outcome,
    caches: Vec<CacheNode>,
    dir: DirNode,
    messages: u64,
}

/// Runs the simulator.
///
/// # Panics
/// If `cores` is not in 1..=8 or `addrs` is 0.
pub fn run(config: SimConfig) -> SimRun {
    run_counted(config, Arc::default())
}

/// Runs the simulator as [`run`] does, adding 1 to `completed` as each load or store
/// completes, so that another thread can show how far the run is: it ends at the run's
/// completed operations (`cores × ops_per_core` when the run finishes). The counter
/// changes nothing else, so a deterministic run still replays.
///
/// # Panics
/// If `cores` is not in 1..=8 or `addrs` is 0.
pub fn run_counted(config: SimConfig, completed: Arc<AtomicU64>) -> SimRun {
    assert!((1..=8).contains(&config.cores), "1 to 8 cores");
    assert!(config.addrs > 0, "at least one address");
    let started = Instant::now();
    // Distinct seeds per node and for the scheduler, derived from the run's seed.
    let base = config.seed;
    let seed = move |node: u64| base.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ node;
    let dir = DirNode::new(config.addrs, config.bugs);
    let caches: Vec<CacheNode> = (0..config.cores)
        .map(|c| {
            CacheNode::new(
                c,
                config.addrs,
                config.ops_per_core,
                config.mix,
                seed(c as u64),
                config.bugs,
            )
        })
        .collect();
    let ended = match config.schedule {
        Schedule::Deterministic => deterministic::run(caches, dir, seed(3_000), &completed),
        Schedule::Threads => threads::run(caches, dir, config.stall_timeout, seed, completed),
    };
    let (final_dirs, stuck) = ended.dir.finish();
    let mut run = SimRun {
        config,
        outcome: ended.outcome,
        ops: Vec::new(),
        holdings: Vec::new(),
        messages: ended.messages,
        elapsed: Duration::ZERO,
        final_caches: Vec::new(),
        final_dirs,
        stuck,
    };
    for core in ended.caches {
        let result = core.finish();
        run.ops.extend(result.ops);
        run.holdings.extend(result.log.finish());
        run.final_caches.push(result.lines);
        run.stuck.extend(result.buffered);
    }
    run.elapsed = started.elapsed();
    run
}

#[cfg(test)]
mod tests;

//! [`Schedule::Threads`](super::Schedule::Threads): a thread per node, channels between
//! them, and the operating system deciding the interleaving. A seed fixes the workload and
//! each node's choices, not the run; what this schedule adds is real concurrency, whose
//! timing produces orders a seeded scheduler may not draw.
//!
//! A run that stops making progress is a deadlock: when no operation completes and no
//! message is sent for the stall timeout, every node is stopped and the final lines and the
//! messages still buffered are returned, for the report. A run whose messages keep moving
//! while no operation completes for ten times that long is stopped the same way, as a
//! livelock.

use super::actor::{Actor, Step};
use super::cache_node::CacheNode;
use super::directory_node::DirNode;
use super::network::{Net, Wire};
use super::record::Clock;
use super::{Ended, Outcome};
use crate::sim::SplitMix64;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an idle node blocks on its channel before it looks again. Stops arrive as
/// messages, so this only bounds how long a lost wake-up could cost.
const WAIT: Duration = Duration::from_millis(200);

/// What the threads share besides channels.
#[derive(Debug)]
struct Shared {
    clock: Clock,
    /// Operations completed, for the watchdog (and the caller's progress line).
    completed: Arc<AtomicU64>,
    /// Cores that issued all their operations and saw each complete.
    cores_done: AtomicUsize,
}

/// Runs `caches` and `dir`, a thread each, until every core is done or the watchdog stops
/// the run. `seed(n)` seeds node `n`'s choices (1,000 the directory, 2,000 + c core c).
/// Counts each completed load or store in `completed`.
pub(super) fn run(
    caches: Vec<CacheNode>,
    dir: DirNode,
    stall_timeout: Duration,
    seed: impl Fn(u64) -> u64,
    completed: Arc<AtomicU64>,
) -> Ended {
    let cores = caches.len();
    let (cache_txs, cache_rxs): (Vec<_>, Vec<_>) = (0..cores).map(|_| channel()).unzip();
    let (dir_tx, dir_rx) = channel();
    let net = Net::new(cache_txs, dir_tx);
    let shared = Arc::new(Shared {
        clock: Clock::default(),
        completed,
        cores_done: AtomicUsize::new(0),
    });

    let (dir_net, dir_shared, dir_seed) = (net.clone(), shared.clone(), seed(1_000));
    let directory =
        std::thread::spawn(move || drive(dir, dir_rx, dir_net, dir_shared, dir_seed, false));
    let threads: Vec<_> = caches
        .into_iter()
        .zip(cache_rxs)
        .enumerate()
        .map(|(c, (node, rx))| {
            let (net, shared, seed) = (net.clone(), shared.clone(), seed(2_000 + c as u64));
            std::thread::spawn(move || drive(node, rx, net, shared, seed, true))
        })
        .collect();

    let outcome = watch(&shared, &net, cores, stall_timeout);
    net.stop_all();
    let dir = directory
        .join()
        .expect("the directory thread does not panic");
    let caches = threads
        .into_iter()
        .map(|t| t.join().expect("a core thread does not panic"))
        .collect();
    Ended {
        outcome,
        caches,
        dir,
        messages: net.sent(),
    }
}

/// A node's thread: buffers what arrives, steps while it can, blocks on its channel when
/// it cannot, and returns the node when the run stops.
fn drive<A: Actor>(
    mut node: A,
    rx: Receiver<Wire>,
    net: Net,
    shared: Arc<Shared>,
    seed: u64,
    core: bool,
) -> A {
    let mut rng = SplitMix64(seed);
    let mut out = Vec::new();
    let mut announced = false;
    loop {
        loop {
            match rx.try_recv() {
                Ok(Wire::Packet(p)) => node.receive(p),
                Ok(Wire::Stop) | Err(TryRecvError::Disconnected) => return node,
                Err(TryRecvError::Empty) => break,
            }
        }
        if core && !announced && node.done() {
            shared.cores_done.fetch_add(1, Ordering::SeqCst);
            announced = true;
        }
        match node.step(&mut rng, &shared.clock, &mut out) {
            Step::Idle => match rx.recv_timeout(WAIT) {
                Ok(Wire::Packet(p)) => {
                    node.receive(p);
                    // Sometimes let the other threads run before looking again, so that
                    // more than one message is buffered and the delivery order can differ
                    // from the order of arrival: the races the transient states exist for
                    // need that.
                    if rng.next_u64() % 4 == 0 {
                        std::thread::yield_now();
                    }
                }
                Ok(Wire::Stop) | Err(RecvTimeoutError::Disconnected) => return node,
                Err(RecvTimeoutError::Timeout) => {}
            },
            step => {
                if step == Step::Completed {
                    shared.completed.fetch_add(1, Ordering::Relaxed);
                }
                for p in out.drain(..) {
                    net.send(p);
                }
            }
        }
    }
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

//! The default mode: `raft-kv` nodes (the real runtime with the key-value machine, on
//! simulated disks) as turmoil hosts, with the nemesis acting between simulation steps.
//! Everything (latencies, host order, the workload, the election timeouts, the faults)
//! comes from the seed, so a seed replays the same history in a fresh process.
//!
//! A crash is turmoil's: the host's tasks are dropped and its simulated disk loses every
//! write not yet synced (nothing becomes durable by itself: the sync probability is 0).
//! A power loss crashes several hosts in the same step. A pause flips the node's
//! [`PauseSwitch`]; a clock skew moves its [`ClockRate`] away from the standing
//! rate the seed gave it ([`Params::base_rate`](super::Params::base_rate)). The leader-targeted faults ask
//! the cluster who leads: a watcher polls every node's `status` and keeps the leader of
//! the highest term any of them reported in its last round.

use super::workload::{final_reads, worker};
use super::{Params, FINAL_READ_ATTEMPTS, SETTLE};
use crate::engine::Progress;
use crate::jepsen::history::{Clock, Event, Recorder};
use anyhow::{anyhow, Result};
use impls::raft::kv::KvMachine;
use impls::raft::node::{run_with, ClockRate, NodeConfig, PauseSwitch};
use impls::sim::faults::{Damage, Fault, Resolved, Scheduled};
use impls::sim::net::{Net, Storage, TurmoilNet};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const MIN_LATENCY: Duration = Duration::from_millis(1);
const MAX_LATENCY: Duration = Duration::from_millis(5);

/// When the workers start: the nodes have bound their ports and elected a leader.
const START: Duration = Duration::from_millis(600);

/// How often the leader watcher asks every node for its status.
pub const WATCH_EVERY: Duration = Duration::from_millis(50);

/// Node `n`'s (from 1) peer and client addresses.
fn peer_addr(n: u32) -> String {
    format!("n{n}:7000")
}

fn client_addr(n: u32) -> String {
    format!("n{n}:8000")
}

/// Node `n`'s configuration: Raft id `n - 1`.
fn node_config(p: &Params, n: u32) -> NodeConfig {
    let peers = (1..=p.nodes).map(peer_addr).collect();
    let mut c = NodeConfig::new((n - 1) as u8, peers, client_addr(n), "/data/raft-kv");
    p.tune(&mut c);
    c.trace = p.trace_file(n);
    c
}

/// Who leads, as the nodes last said: the node (from 1) that reported itself leader at
/// the highest term in the watcher's latest round.
pub type LeaderView = Arc<Mutex<Option<u32>>>;

/// Runs the simulation and returns its history, showing on `progress` how far it is.
pub fn run(p: &Params, schedule: &[Scheduled], progress: &mut Progress) -> Result<Vec<Event>> {
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(p.seconds + Duration::from_secs(120))
        .min_message_latency(MIN_LATENCY)
        .max_message_latency(MAX_LATENCY)
        .rng_seed(p.seed);
    // Unsynced writes never become durable by themselves: a power loss loses them all.
    builder.fs().sync_probability(0.0);
    let mut sim = builder.build();
    let pauses: BTreeMap<u32, PauseSwitch> =
        (1..=p.nodes).map(|n| (n, PauseSwitch::new())).collect();
    let rates: BTreeMap<u32, (ClockRate, i32)> = (1..=p.nodes)
        .map(|n| (n, (ClockRate::new(p.base_rate(n)), p.base_rate(n))))
        .collect();
    for n in 1..=p.nodes {
        let mut config = node_config(p, n);
        config.pause = Some(pauses[&n].clone());
        config.clock_rate = Some(rates[&n].0.clone());
        sim.host(format!("n{n}"), move || {
            let config = config.clone();
            async move {
                run_with(config, TurmoilNet, Storage::Simulated, KvMachine::new()).await?;
                Ok(())
            }
        });
    }

    let step_time = Arc::new(AtomicU64::new(0));
    let outside = Arc::clone(&step_time);
    let clock: Clock = Arc::new(move || {
        turmoil::sim_elapsed()
            .unwrap_or_else(|| Duration::from_nanos(outside.load(Ordering::Relaxed)))
    });
    let rec = Arc::new(Recorder::new(clock));
    let config = Arc::new(p.workload((1..=p.nodes).map(client_addr).collect()));
    for w in 0..p.clients {
        let (config, rec) = (Arc::clone(&config), Arc::clone(&rec));
        sim.client(format!("c{w}"), async move {
            tokio::time::sleep(START).await;
            worker(TurmoilNet, config, rec, w).await;
            Ok(())
        });
    }
    {
        let (config, rec) = (Arc::clone(&config), Arc::clone(&rec));
        let at = p.seconds + SETTLE;
        sim.client("final", async move {
            tokio::time::sleep(at).await;
            final_reads(TurmoilNet, config, rec, FINAL_READ_ATTEMPTS).await;
            Ok(())
        });
    }
    let leader: LeaderView = Arc::new(Mutex::new(None));
    {
        let (leader, until) = (Arc::clone(&leader), p.seconds);
        let addrs = (1..=p.nodes).map(client_addr).collect();
        sim.client("watch", async move {
            watch_leader(TurmoilNet, addrs, leader, until).await;
            Ok(())
        });
    }

    let mut next = schedule.iter().peekable();
    let mut damage = Damage::new(p.nodes);
    let mut ended = false;
    loop {
        let now = sim.elapsed();
        step_time.store(now.as_nanos() as u64, Ordering::Relaxed);
        while let Some(s) = next.next_if(|s| s.at <= now && now < p.seconds) {
            let cut = damage.partition().cloned();
            let view = *leader.lock().expect("no watcher panics");
            match damage.resolve(&s.fault, || view) {
                Resolved::Apply { fault, leader } => {
                    apply(&mut sim, &fault, cut.as_ref(), &pauses, &rates);
                    let detail = if leader {
                        format!("{} (the leader)", fault.detail())
                    } else {
                        fault.detail()
                    };
                    rec.nemesis(fault.name(), detail);
                }
                Resolved::Skip(why) => rec.nemesis(s.fault.name(), format!("skipped: {why}")),
            }
        }
        if !ended && now >= p.seconds {
            ended = true;
            let cut = damage.partition().cloned();
            for fault in damage.repairs() {
                apply(&mut sim, &fault, cut.as_ref(), &pauses, &rates);
                rec.nemesis(fault.name(), fault.detail());
            }
        }
        progress.tick_with(|| super::progress_line(&rec, now, p));
        let done = sim
            .step()
            .map_err(|e| anyhow!("the simulation failed at {:?}: {e}", sim.elapsed()))?;
        if done {
            break;
        }
    }
    Ok(rec.events())
}

/// Until `until`, asks every node (node `n` serving clients at `addrs[n - 1]`) for its
/// status each [`WATCH_EVERY`] and publishes the leader of the highest term reported (or
/// none, if no node said it leads).
pub async fn watch_leader<N: Net>(net: N, addrs: Vec<String>, view: LeaderView, until: Duration) {
    let start = tokio::time::Instant::now();
    while start.elapsed() < until {
        let mut best: Option<(u64, u32)> = None;
        for (n, addr) in (1..).zip(&addrs) {
            if let Some((role, term)) = status(&net, addr).await {
                if role == "leader" && best.is_none_or(|(t, _)| term > t) {
                    best = Some((term, n));
                }
            }
        }
        *view.lock().expect("no watcher panics") = best.map(|(_, n)| n);
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// A node's role and term from its `status` line, or `None` if it does not answer in
/// time.
pub async fn status<N: Net>(net: &N, addr: &str) -> Option<(String, u64)> {
    let ask = async {
        let (reader, mut writer) = net.connect(addr).await.ok()?;
        writer.write_all(b"status\n").await.ok()?;
        let mut line = String::new();
        BufReader::new(reader).read_line(&mut line).await.ok()?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some((field("role")?, field("term")?.parse().ok()?))
    };
    tokio::time::timeout(Duration::from_millis(100), ask)
        .await
        .ok()
        .flatten()
}

/// Applies a concrete fault. `cut` is the partition in force before it, which a heal
/// repairs.
fn apply(
    sim: &mut turmoil::Sim<'_>,
    fault: &Fault,
    cut: Option<&(Vec<u32>, Vec<u32>)>,
    pauses: &BTreeMap<u32, PauseSwitch>,
    rates: &BTreeMap<u32, (ClockRate, i32)>,
) {
    if crate::jepsen::turmoil_faults::apply(sim, fault, cut) {
        return;
    }
    match fault {
        Fault::Pause(n) => pauses[n].pause(),
        Fault::Resume(n) => pauses[n].resume(),
        // On top of the node's standing rate; 0 puts it back there.
        Fault::ClockSkew(n, percent) => rates[n].0.set(rates[n].1 + *percent),
        // Damage::resolve turns these into concrete faults before they get here.
        _ => unreachable!("{fault} is resolved to a node first"),
    }
}

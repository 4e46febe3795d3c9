//! The default mode: the real node code as turmoil hosts, on a simulated network and
//! simulated disks, with the nemesis acting between simulation steps. Everything (message
//! latencies, host order, the workload, the faults) comes from the seed, so a seed
//! replays the same history, in a fresh process (tokio numbers tasks process-wide, and a
//! crash drops a host's tasks in the order of those numbers; see `impls/tests/kv_sim.rs`).
//!
//! A crash is turmoil's: the host's tasks are dropped and its simulated disk loses every
//! write not yet synced. A power loss crashes several hosts in the same step. A pause
//! flips the node's [`PauseHandle`], which stops every task of the node (turmoil has no
//! way to stop a host and go on later; a crash would lose its memory).

use super::workload::{final_reads, worker};
use super::{Params, FINAL_READ_ATTEMPTS, SETTLE};
use crate::engine::Progress;
use crate::jepsen::history::{Clock, Event, Recorder};
use anyhow::{anyhow, bail, Result};
use impls::kv::node::PauseHandle;
use impls::kv::NodeConfig;
use impls::sim::faults::{Damage, Fault, Resolved, Scheduled};
use impls::sim::net::{Storage, TurmoilNet};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Simulated one-way message latency, uniform in this range. Several milliseconds of
/// spread reorder messages to different replicas, which is what lets weak reads (ONE, or
/// asynchronous read repair) see old values after new ones.
const MIN_LATENCY: Duration = Duration::from_millis(1);
const MAX_LATENCY: Duration = Duration::from_millis(10);

/// When the workers start: the nodes have bound their ports and linked up.
const START: Duration = Duration::from_millis(200);

/// Runs the simulation and returns its history, showing on `progress` how far it is.
pub fn run(p: &Params, schedule: &[Scheduled], progress: &mut Progress) -> Result<Vec<Event>> {
    let mut sim = turmoil::Builder::new()
        // Generous: the workers stop at `p.seconds`, the final reads a few seconds later.
        .simulation_duration(p.seconds + Duration::from_secs(120))
        .min_message_latency(MIN_LATENCY)
        .max_message_latency(MAX_LATENCY)
        .rng_seed(p.seed)
        .build();
    let peers: BTreeMap<u32, String> = (1..=p.nodes).map(|i| (i, addr(i))).collect();
    let pauses: BTreeMap<u32, PauseHandle> =
        (1..=p.nodes).map(|i| (i, PauseHandle::new())).collect();
    for id in 1..=p.nodes {
        let mut config = node_config(p, id, &peers);
        config.pause = Some(pauses[&id].clone());
        sim.host(format!("n{id}"), move || {
            let config = config.clone();
            async move {
                impls::kv::run(config, TurmoilNet, Storage::Simulated).await?;
                Ok(())
            }
        });
    }

    // Inside a host, the host's own simulated time; outside (the nemesis, between steps),
    // the time of the step the main loop is at.
    let step_time = Arc::new(AtomicU64::new(0));
    let outside = Arc::clone(&step_time);
    let clock: Clock = Arc::new(move || {
        turmoil::sim_elapsed()
            .unwrap_or_else(|| Duration::from_nanos(outside.load(Ordering::Relaxed)))
    });
    let rec = Arc::new(Recorder::new(clock));
    let config = Arc::new(p.workload((1..=p.nodes).map(addr).collect()));
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

    let mut next = schedule.iter().peekable();
    let mut damage = Damage::new(p.nodes);
    let mut ended = false;
    loop {
        let now = sim.elapsed();
        step_time.store(now.as_nanos() as u64, Ordering::Relaxed);
        while let Some(s) = next.next_if(|s| s.at <= now && now < p.seconds) {
            // The store has no leader: the parser does not offer leader-targeted faults.
            let cut = damage.partition().cloned();
            match damage.resolve(&s.fault, || None) {
                Resolved::Apply { fault, .. } => {
                    apply(&mut sim, &fault, cut.as_ref(), &pauses)?;
                    rec.nemesis(fault.name(), fault.detail());
                }
                Resolved::Skip(why) => rec.nemesis(s.fault.name(), format!("skipped: {why}")),
            }
        }
        if !ended && now >= p.seconds {
            // The end of the run: heal, resume and restart whatever is still broken, so
            // the final reads see the whole cluster.
            ended = true;
            let cut = damage.partition().cloned();
            for fault in damage.repairs() {
                apply(&mut sim, &fault, cut.as_ref(), &pauses)?;
                rec.nemesis(fault.name(), fault.detail());
            }
        }
        progress.tick_with(|| super::progress_line(&rec, now, p, true));
        let done = sim
            .step()
            .map_err(|e| anyhow!("the simulation failed at {:?}: {e}", sim.elapsed()))?;
        if done {
            break;
        }
    }
    Ok(rec.events())
}

fn addr(id: u32) -> String {
    format!("n{id}:7000")
}

fn node_config(p: &Params, id: u32, peers: &BTreeMap<u32, String>) -> NodeConfig {
    // Absolute: the simulated filesystem wants absolute paths.
    let mut c = NodeConfig::new(id, addr(id), peers.clone(), format!("/data/n{id}"));
    p.tune(&mut c);
    c
}

/// Applies a concrete fault. `cut` is the partition in force before it, which a heal
/// repairs.
fn apply(
    sim: &mut turmoil::Sim<'_>,
    fault: &Fault,
    cut: Option<&(Vec<u32>, Vec<u32>)>,
    pauses: &BTreeMap<u32, PauseHandle>,
) -> Result<()> {
    if crate::jepsen::turmoil_faults::apply(sim, fault, cut) {
        return Ok(());
    }
    match fault {
        Fault::Pause(n) => pauses[n].pause(),
        Fault::Resume(n) => pauses[n].resume(),
        _ => bail!("check kv does not offer {fault}"),
    }
    Ok(())
}

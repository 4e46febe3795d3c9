//! `--real`: `raft-kv` node processes, each this very executable re-run as the hidden
//! `check bench raft --serve-node serve ...` (the `raft-kv serve` command line compiled
//! into `check`), with its own data directory on the real filesystem. The nemesis kills
//! them with SIGKILL and starts them again on the same directory (a power loss is a
//! SIGKILL of several at once), and pauses them with SIGSTOP and SIGCONT. Not
//! deterministic: the seed fixes the workload's choices, the election timeouts, each
//! node's clock rate and the fault schedule, not the interleaving.
//!
//! Without partitions the nodes listen on loopback. With them (`partition` or
//! `isolate-leader` in the nemesis), each node runs in a network namespace of its own
//! and the clients in another ([`netns`]), and a partition is drop rules between the
//! nodes' namespaces. Where namespaces cannot be made, the run says why and goes on
//! without those faults.
//!
//! Each node runs at its seed-drawn clock rate (`--clock-rate-percent`) for the whole
//! run. A real process's rate is set when it starts, so the nemesis's clock skew, which
//! changes it mid-run, is the simulation's alone.
//!
//! A SIGKILL loses no write the node had handed to the kernel: the page cache survives a
//! process's death. So a real power loss cannot catch `skip-fsync`; the simulation's,
//! whose disks lose what was not synced, does.
//!
//! The nodes and their directory never outlive the run: they are `crate::reaper`
//! children and a `crate::reaper` directory, killed and removed at the end, on a panic,
//! and by the signal handler when SIGINT or SIGTERM stops `check`; a node also dies with
//! `check` if `check` is killed outright.

use super::sim::{status, LeaderView, WATCH_EVERY};
use super::workload::{final_reads, worker, WorkloadConfig};
use super::{Params, FINAL_READ_ATTEMPTS, SETTLE};
use crate::engine::progress::while_running;
use crate::engine::Progress;
use crate::exercises::raft::bench::ours::SERVE_FLAG;
use crate::jepsen::history::{Clock, Event, Recorder};
use crate::jepsen::netns::{self, Network};
use crate::jepsen::processes::Processes;
use crate::reaper;
use anyhow::{bail, Context, Result};
use impls::raft::node::NodeConfig;
use impls::sansio::BugSwitches;
use impls::sim::faults::{Damage, NemesisKind, Resolved, Scheduled};
use impls::sim::net::TokioNet;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The port every node takes its peers' messages on inside its own namespace.
const NAMESPACE_PEER_PORT: u16 = 7000;
/// The port every node serves clients on inside its own namespace.
const NAMESPACE_CLIENT_PORT: u16 = 8000;

/// How long the cluster may take to elect its first leader.
const BOOT_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether this run needs network namespaces: it partitions the network.
pub fn needs_namespaces(kinds: &[NemesisKind]) -> bool {
    kinds
        .iter()
        .any(|k| matches!(k, NemesisKind::Partition | NemesisKind::IsolateLeader))
}

/// The `raft-kv serve` flags that give a node the configuration `config` (as
/// [`Params::tune`] made it) and the clock rate `rate`.
fn serve_flags(config: &NodeConfig, rate: i32) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--tick-ms".into(),
        config.tick.as_millis().to_string(),
        "--election-ticks".into(),
        config.election_ticks.to_string(),
        "--heartbeat-ticks".into(),
        config.heartbeat_ticks.to_string(),
        "--snapshot-every".into(),
        config.snapshot_every.to_string(),
        "--max-entries-per-message".into(),
        config.max_entries_per_message.to_string(),
        "--seed".into(),
        config.entropy.to_string(),
        "--propose-timeout-ms".into(),
        config.propose_timeout.as_millis().to_string(),
        "--read-mode".into(),
        super::read_mode_name(config.read_mode).into(),
        "--max-clock-drift-percent".into(),
        config.max_clock_drift_percent.to_string(),
        "--clock-rate-percent".into(),
        rate.to_string(),
        "--quiet".into(),
    ];
    if let Some(b) = config.bug {
        a.extend(["--bug".into(), b.name().into()]);
    }
    if let Some(b) = config.runtime_bug {
        a.extend(["--runtime-bug".into(), b.name().into()]);
    }
    if let Some(b) = config.timing_bug {
        a.extend(["--timing-bug".into(), b.name().into()]);
    }
    if let Some(t) = &config.trace {
        a.extend(["--trace".into(), t.display().to_string()]);
    }
    a
}

/// Starts the nodes: in `net`'s namespaces, each on its own addresses, or else on
/// loopback with free ports. The calling thread must be in the clients' namespace when
/// there is one (it waits for each node to listen).
fn start<'n>(p: &Params, net: Option<&'n Network>) -> Result<Processes<'n>> {
    let exe = std::env::current_exe().context("cannot find this executable to re-run")?;
    let data = reaper::TempDir::new("check-raft-jepsen-")
        .context("cannot create the nodes' data directory")?;
    let (peers, client_addrs): (Vec<SocketAddr>, BTreeMap<u32, SocketAddr>) = match net {
        Some(_) => (
            (1..=p.nodes)
                .map(|n| (netns::node_addr(n), NAMESPACE_PEER_PORT).into())
                .collect(),
            (1..=p.nodes)
                .map(|n| (n, (netns::node_addr(n), NAMESPACE_CLIENT_PORT).into()))
                .collect(),
        ),
        None => {
            let nodes = p.nodes as usize;
            let ports = crate::exercises::raft::bench::etcd::free_ports(2 * nodes)?;
            let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
            (
                ports[nodes..].iter().map(|&port| addr(port)).collect(),
                (1..=p.nodes)
                    .map(|n| (n, addr(ports[n as usize - 1])))
                    .collect(),
            )
        }
    };
    let peer_list: Vec<String> = peers.iter().map(ToString::to_string).collect();
    let mut args = BTreeMap::new();
    for n in 1..=p.nodes {
        let mut config = NodeConfig::new(
            (n - 1) as u8,
            peer_list.clone(),
            client_addrs[&n].to_string(),
            data.path().join(format!("n{n}")),
        );
        p.tune(&mut config);
        config.trace = p.trace_file(n);
        let mut a: Vec<String> = vec![
            "bench".into(),
            "raft".into(),
            format!("--{SERVE_FLAG}"),
            "serve".into(),
            "--id".into(),
            (n - 1).to_string(),
            "--peers".into(),
            peer_list.join(","),
            "--client".into(),
            client_addrs[&n].to_string(),
            "--data-dir".into(),
            config.data_dir.display().to_string(),
        ];
        a.extend(serve_flags(&config, p.base_rate(n)));
        args.insert(n, a);
    }
    Processes::start(exe, args, client_addrs, net, data, "check raft")
}

/// Runs the nodes as processes and returns the history, showing on `progress` how far
/// the run is. With partitions in the nemesis, the nodes and the clients run in network
/// namespaces made for the run (the caller has checked [`netns::probe`]).
pub fn run(p: &Params, schedule: &[Scheduled], progress: &mut Progress) -> Result<Vec<Event>> {
    let net = if needs_namespaces(&p.nemesis) {
        Some(Network::create(p.nodes)?)
    } else {
        None
    };
    // Set once a leader is elected: the run's time counts from there.
    let started: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let since =
        |started: &OnceLock<Instant>| started.get().map_or(Duration::ZERO, Instant::elapsed);
    let clock_start = Arc::clone(&started);
    let clock: Clock = Arc::new(move || since(&clock_start));
    let rec = Arc::new(Recorder::new(clock));
    let line = || super::progress_line(&rec, since(&started), p);
    let work = || -> Result<()> {
        // This thread, and every thread of the clients' runtime, opens its sockets in
        // the clients' namespace.
        let entry = net.as_ref().map(Network::clients_path);
        if let Some(path) = &entry {
            netns::enter(path).context("cannot enter the clients' network namespace")?;
        }
        let mut procs = start(p, net.as_ref())?;
        let addrs: Vec<String> = procs.addrs();
        let config: Arc<WorkloadConfig> = Arc::new(p.workload(addrs.clone()));
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2).enable_all();
        if let Some(path) = entry {
            builder.on_thread_start(move || {
                // Cannot fail once this thread's own entry succeeded: same namespace,
                // same privileges.
                netns::enter(&path).expect("cannot enter the clients' network namespace");
            });
        }
        let rt = builder
            .build()
            .context("cannot start the clients' runtime")?;
        rt.block_on(async {
            wait_for_leader(&addrs).await?;
            let start = *started.get_or_init(Instant::now);
            drive(p, schedule, &mut procs, start, &config, &rec, &addrs).await
        })?;
        // The runtime's threads, in the namespace, end here; the nodes die before the
        // namespaces go.
        drop(rt);
        drop(procs);
        Ok(())
    };
    while_running(progress, line, work)?;
    drop(net);
    Ok(rec.events())
}

/// Waits until some node says it leads, so that the run's faults and clients start on
/// a working cluster.
async fn wait_for_leader(addrs: &[String]) -> Result<()> {
    let deadline = tokio::time::Instant::now() + BOOT_TIMEOUT;
    loop {
        for a in addrs {
            if let Some((role, _)) = status(&TokioNet, a).await {
                if role == "leader" {
                    return Ok(());
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no node of {} was elected leader within {BOOT_TIMEOUT:?}", addrs.join(", "));
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// The run itself: the clients and the leader watcher, the nemesis on its schedule, then
/// the repairs and the final reads.
async fn drive(
    p: &Params,
    schedule: &[Scheduled],
    procs: &mut Processes<'_>,
    started: Instant,
    config: &Arc<WorkloadConfig>,
    rec: &Arc<Recorder>,
    addrs: &[String],
) -> Result<()> {
    let workers: Vec<_> = (0..p.clients)
        .map(|w| {
            let (config, rec) = (Arc::clone(config), Arc::clone(rec));
            tokio::spawn(worker(TokioNet, config, rec, w))
        })
        .collect();
    let leader: LeaderView = Arc::new(Mutex::new(None));
    let watcher = tokio::spawn(super::sim::watch_leader(
        TokioNet,
        addrs.to_vec(),
        Arc::clone(&leader),
        p.seconds,
    ));
    let mut damage = Damage::new(p.nodes);
    for s in schedule {
        tokio::time::sleep_until((started + s.at).into()).await;
        let view = *leader.lock().expect("no watcher panics");
        match damage.resolve(&s.fault, || view) {
            Resolved::Apply { fault, leader } => {
                let detail = if leader {
                    format!("{} (the leader)", fault.detail())
                } else {
                    fault.detail()
                };
                // Recorded first: a restart waits for the node to listen, and the ops in
                // between already run against the restarting node.
                rec.nemesis(fault.name(), detail);
                // Killing, spawning and adding rules block this thread for
                // milliseconds: it is not one of the runtime's workers, so the clients
                // run on meanwhile.
                procs.apply(&fault)?;
            }
            Resolved::Skip(why) => rec.nemesis(s.fault.name(), format!("skipped: {why}")),
        }
    }
    tokio::time::sleep_until((started + p.seconds).into()).await;
    for fault in damage.repairs() {
        rec.nemesis(fault.name(), fault.detail());
        procs.apply(&fault)?;
    }
    for w in workers {
        w.await.context("a client task panicked")?;
    }
    watcher.abort();
    tokio::time::sleep_until((started + p.seconds + SETTLE).into()).await;
    final_reads(
        TokioNet,
        Arc::clone(config),
        Arc::clone(rec),
        FINAL_READ_ATTEMPTS,
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_flags_carry_the_tuned_configuration() {
        let mut c = NodeConfig::new(0, vec!["a:1".into()], "a:2".to_string(), "/d");
        c.bug = Some(impls::raft::core::Bug::CommitPreviousTerm);
        c.trace = Some(std::path::PathBuf::from("/t/n1.jsonl"));
        let flags = serve_flags(&c, -7).join(" ");
        assert!(flags.contains("--clock-rate-percent -7"), "{flags}");
        assert!(flags.contains("--bug commit-previous-term"), "{flags}");
        assert!(flags.contains("--trace /t/n1.jsonl"), "{flags}");
        assert!(!flags.contains("--runtime-bug"), "{flags}");
    }

    #[test]
    fn namespaces_are_needed_for_partitions_only() {
        assert!(needs_namespaces(&[NemesisKind::Crash, NemesisKind::IsolateLeader]));
        assert!(needs_namespaces(&[NemesisKind::Partition]));
        assert!(!needs_namespaces(&[NemesisKind::Crash, NemesisKind::Pause]));
    }
}

//! `--real`: node processes, each this very executable re-run as the hidden
//! `check kv --node` with its own data directory on the real filesystem. The nemesis kills
//! them with SIGKILL and starts them again on the same directory (a power loss is a SIGKILL
//! of several at once), and pauses them with SIGSTOP and SIGCONT. Not deterministic: the
//! seed fixes the workload's choices and the fault schedule, not the interleaving.
//!
//! Without partitions the nodes listen on loopback. With them, each node runs in a
//! network namespace of its own and the clients in another ([`netns`]), and a partition
//! is drop rules between the nodes' namespaces.
//!
//! A SIGKILL loses no write the node had handed to the kernel: the page cache survives a
//! process's death. So a real power loss here cannot catch `skip-fsync`; the simulation's,
//! whose disks lose what was not synced, does.
//!
//! The nodes and their directory never outlive the run: they are `crate::reaper` children
//! and a `crate::reaper` directory, killed and removed at the end, on a panic, and by the
//! signal handler when SIGINT or SIGTERM stops `check` at once; a node also dies with
//! `check` if `check` is killed outright.

use super::workload::{final_reads, worker, WorkloadConfig};
use super::{Params, FINAL_READ_ATTEMPTS, SETTLE};
use crate::engine::progress::while_running;
use crate::engine::Progress;
use crate::jepsen::history::{Clock, Event, Recorder};
use crate::jepsen::netns::{self, Network};
use crate::jepsen::processes::Processes;
use crate::reaper;
use anyhow::{bail, Context, Result};
use impls::sim::faults::{Damage, NemesisKind, Resolved, Scheduled};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The port every node listens on inside its own namespace.
const NAMESPACE_PORT: u16 = 7000;

/// Starts the nodes: in `net`'s namespaces, each on its own address, or else on
/// loopback with a free port per node (bind port 0, note it, let it go). The calling
/// thread must be in the clients' namespace when there is one (it waits for each node to
/// listen).
fn start<'n>(p: &Params, net: Option<&'n Network>) -> Result<Processes<'n>> {
    let exe = std::env::current_exe().context("cannot find this executable to re-run")?;
    let data = reaper::TempDir::new("check-kv-jepsen-")
        .context("cannot create the nodes' data directory")?;
    let mut addrs = BTreeMap::new();
    if net.is_some() {
        for id in 1..=p.nodes {
            addrs.insert(id, (netns::node_addr(id), NAMESPACE_PORT).into());
        }
    } else {
        // All probes held at once, so the ports are distinct.
        let mut probes = Vec::new();
        for id in 1..=p.nodes {
            let probe = TcpListener::bind("127.0.0.1:0").context("no free port")?;
            addrs.insert(id, probe.local_addr()?);
            probes.push(probe);
        }
    }
    let peers: Vec<String> = addrs
        .iter()
        .flat_map(|(id, a)| ["--peer".to_string(), format!("{id}={a}")])
        .collect();
    let mut args = BTreeMap::new();
    for id in 1..=p.nodes {
        let mut a = vec![
            crate::exercises::kv::EXERCISE.name.to_string(),
            "--node".into(),
            "--id".into(),
            id.to_string(),
            "--data".into(),
            data.path().join(format!("n{id}")).display().to_string(),
            "--quiet".into(),
        ];
        a.extend(peers.iter().cloned());
        a.extend(p.node_flags(id));
        args.insert(id, a);
    }
    Processes::start(exe, args, addrs, net, data, "check kv")
}

/// The hidden `check kv --node ARGS`: one node of the key-value store, exactly as
/// `kv-node ARGS`, so that `--real` needs no second executable.
pub fn node_command() -> clap::Command {
    clap::Command::new("node")
        .about("Run one key-value store node, as kv-node does")
        .disable_help_flag(true)
        .arg(
            clap::Arg::new("args")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(std::ffi::OsString)),
        )
}

/// Runs the node until it is killed. Its exit codes are kept: 0, 1 for a runtime error
/// and 2 for a usage error (which it has already printed).
pub fn node_main(m: &clap::ArgMatches) -> Result<crate::engine::Outcome> {
    use std::process::ExitCode;
    let args = m
        .get_many::<std::ffi::OsString>("args")
        .map(|args| args.cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let code = impls::kv::cli::node_main(
        std::iter::once(std::ffi::OsString::from("check kv --node")).chain(args),
    );
    if code == ExitCode::SUCCESS {
        Ok(crate::engine::Outcome::Holds)
    } else if code == ExitCode::from(crate::engine::outcome::ERROR_EXIT) {
        bail!("kv-node: usage error (above)")
    } else {
        Ok(crate::engine::Outcome::Fails)
    }
}

/// Runs the nodes as processes and returns the history, showing on `progress` how far
/// the run is. With partitions in the nemesis, the nodes and the clients run in network
/// namespaces made for the run (the caller has checked [`netns::probe`]).
pub fn run(p: &Params, schedule: &[Scheduled], progress: &mut Progress) -> Result<Vec<Event>> {
    let net = if p.nemesis.contains(&NemesisKind::Partition) {
        Some(Network::create(p.nodes)?)
    } else {
        None
    };
    // Set once the nodes listen: the run's time counts from there.
    let started: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let since = |started: &OnceLock<Instant>| started.get().map_or(Duration::ZERO, Instant::elapsed);
    let clock_start = Arc::clone(&started);
    let clock: Clock = Arc::new(move || since(&clock_start));
    let rec = Arc::new(Recorder::new(clock));
    let line = || super::progress_line(&rec, since(&started), p, false);
    let work = || -> Result<()> {
        // This thread, and every thread of the clients' runtime, opens its sockets in
        // the clients' namespace.
        let entry = net.as_ref().map(Network::clients_path);
        if let Some(path) = &entry {
            netns::enter(path).context("cannot enter the clients' network namespace")?;
        }
        let mut procs = start(p, net.as_ref())?;
        let start = *started.get_or_init(Instant::now);
        let addrs = procs.addrs();
        let config: Arc<WorkloadConfig> = Arc::new(p.workload(addrs));
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
        rt.block_on(drive(p, schedule, &mut procs, start, &config, &rec))?;
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

/// The run itself: the clients, the nemesis on its schedule, then the final reads.
async fn drive(
    p: &Params,
    schedule: &[Scheduled],
    procs: &mut Processes<'_>,
    started: Instant,
    config: &Arc<WorkloadConfig>,
    rec: &Arc<Recorder>,
) -> Result<()> {
    let workers: Vec<_> = (0..p.clients)
        .map(|w| {
            let (config, rec) = (Arc::clone(config), Arc::clone(rec));
            tokio::spawn(worker(impls::sim::net::TokioNet, config, rec, w))
        })
        .collect();
    let mut damage = Damage::new(p.nodes);
    for s in schedule {
        tokio::time::sleep_until((started + s.at).into()).await;
        // The store has no leader: the parser does not offer leader-targeted faults.
        match damage.resolve(&s.fault, || None) {
            Resolved::Apply { fault, .. } => {
                // Recorded first: a restart waits for the node to listen, and the ops in
                // between already run against the restarting node.
                rec.nemesis(fault.name(), fault.detail());
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
    tokio::time::sleep_until((started + p.seconds + SETTLE).into()).await;
    final_reads(
        impls::sim::net::TokioNet,
        Arc::clone(config),
        Arc::clone(rec),
        FINAL_READ_ATTEMPTS,
    )
    .await;
    Ok(())
}

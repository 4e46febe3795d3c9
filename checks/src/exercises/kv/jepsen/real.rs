//! `--real`: node processes on loopback, each this very executable re-run as the hidden
//! `check kv --node` with its own data directory on the real filesystem; the nemesis kills
//! them with SIGKILL and starts them again on the same directory. Not deterministic: the
//! seed fixes the workload's choices and the fault schedule, not the interleaving.
//!
//! Partitions are not available: cutting loopback links needs iptables or network
//! namespaces, and root.
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
use crate::reaper;
use anyhow::{bail, Context, Result};
use impls::sim::faults::{Fault, Scheduled};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a node process may take to start listening.
const BOOT_TIMEOUT: Duration = Duration::from_secs(10);

/// The node processes. Dropping it kills every one still running, and then removes their
/// data directory (the fields drop in order, after `drop`).
struct Processes {
    exe: PathBuf,
    args: BTreeMap<u32, Vec<String>>,
    addrs: BTreeMap<u32, SocketAddr>,
    children: BTreeMap<u32, reaper::Child>,
    _data: reaper::TempDir,
}

impl Processes {
    /// Picks a free port per node (bind port 0, note it, let it go) and starts the nodes.
    fn start(p: &Params) -> Result<Processes> {
        let exe = std::env::current_exe().context("cannot find this executable to re-run")?;
        let data = reaper::TempDir::new("check-kv-jepsen-")
            .context("cannot create the nodes' data directory")?;
        let mut addrs = BTreeMap::new();
        {
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
        let mut procs = Processes {
            exe,
            args,
            addrs,
            children: BTreeMap::new(),
            _data: data,
        };
        for id in 1..=p.nodes {
            procs.spawn(id)?;
        }
        for id in 1..=p.nodes {
            procs.wait_listening(id)?;
        }
        Ok(procs)
    }

    fn spawn(&mut self, id: u32) -> Result<()> {
        let mut command = Command::new(&self.exe);
        command
            .args(&self.args[&id])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child =
            reaper::Child::spawn(command).with_context(|| format!("cannot start node n{id}"))?;
        self.children.insert(id, child);
        Ok(())
    }

    fn wait_listening(&mut self, id: u32) -> Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let addr = self.addrs[&id];
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            if let Some(status) = self.children.get_mut(&id).and_then(|c| c.try_wait().ok()?) {
                bail!("node n{id} exited with {status} before listening on {addr}");
            }
            if Instant::now() > deadline {
                bail!("node n{id} did not listen on {addr} within {BOOT_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGKILL, and reap it so the port is free for the restart.
    fn kill(&mut self, id: u32) {
        if let Some(mut child) = self.children.remove(&id) {
            child.kill();
        }
    }

    fn apply(&mut self, fault: &Fault) -> Result<()> {
        match fault {
            Fault::Crash(n) => self.kill(*n),
            Fault::Restart(n) => {
                self.spawn(*n)?;
                self.wait_listening(*n)?;
            }
            Fault::Bounce(n) => {
                self.kill(*n);
                self.spawn(*n)?;
                self.wait_listening(*n)?;
            }
            Fault::Partition(..) | Fault::Heal => {
                bail!("partitions are not available with --real")
            }
        }
        Ok(())
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        let ids: Vec<u32> = self.children.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
    }
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
/// the run is.
pub fn run(p: &Params, schedule: &[Scheduled], progress: &mut Progress) -> Result<Vec<Event>> {
    let mut procs = Processes::start(p)?;
    let started = Instant::now();
    let clock: Clock = Arc::new(move || started.elapsed());
    let rec = Arc::new(Recorder::new(clock));
    let addrs = procs.addrs.values().map(ToString::to_string).collect();
    let config: Arc<WorkloadConfig> = Arc::new(p.workload(addrs));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the clients' runtime")?;
    let line = || super::progress_line(&rec, started.elapsed(), p, false);
    while_running(progress, line, || {
        rt.block_on(drive(p, schedule, &mut procs, started, &config, &rec))
    })?;
    drop(procs);
    Ok(rec.events())
}

/// The run itself: the clients, the nemesis on its schedule, then the final reads.
async fn drive(
    p: &Params,
    schedule: &[Scheduled],
    procs: &mut Processes,
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
    let mut crashed = Vec::new();
    for s in schedule {
        tokio::time::sleep_until((started + s.at).into()).await;
        // Recorded first: a restart waits for the node to listen, and the ops in
        // between already run against the restarting node.
        rec.nemesis(s.fault.name(), s.fault.detail());
        // Killing and spawning block this thread for milliseconds: it is not one of the
        // runtime's workers, so the clients run on meanwhile.
        procs.apply(&s.fault)?;
        match s.fault {
            Fault::Crash(n) => crashed.push(n),
            Fault::Restart(n) => crashed.retain(|&c| c != n),
            _ => {}
        }
    }
    tokio::time::sleep_until((started + p.seconds).into()).await;
    for n in crashed {
        let fault = Fault::Restart(n);
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

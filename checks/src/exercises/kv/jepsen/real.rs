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
use crate::reaper;
use anyhow::{bail, Context, Result};
use impls::sim::faults::{Damage, Fault, NemesisKind, Resolved, Scheduled};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The port every node listens on inside its own namespace.
const NAMESPACE_PORT: u16 = 7000;

/// How long a node process may take to start listening.
const BOOT_TIMEOUT: Duration = Duration::from_secs(10);

/// The node processes. Dropping it kills every one still running, and then removes their
/// data directory (the fields drop in order, after `drop`).
struct Processes<'n> {
    exe: PathBuf,
    args: BTreeMap<u32, Vec<String>>,
    addrs: BTreeMap<u32, SocketAddr>,
    children: BTreeMap<u32, reaper::Child>,
    /// The namespaces the nodes run in, if partitions are on.
    net: Option<&'n Network>,
    _data: reaper::TempDir,
}

impl<'n> Processes<'n> {
    /// Starts the nodes: in `net`'s namespaces, each on its own address, or else on
    /// loopback with a free port per node (bind port 0, note it, let it go). The calling
    /// thread must be in the clients' namespace when there is one (it waits for each node
    /// to listen).
    fn start(p: &Params, net: Option<&'n Network>) -> Result<Processes<'n>> {
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
        let mut procs = Processes {
            exe,
            args,
            addrs,
            children: BTreeMap::new(),
            net,
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
        let mut command = match self.net {
            Some(net) => net.command(id, &self.exe),
            None => Command::new(&self.exe),
        };
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

    /// The pid of node `id`'s process, if it runs.
    fn pid(&self, id: u32) -> Result<u32> {
        self.children
            .get(&id)
            .and_then(reaper::Child::id)
            .with_context(|| format!("node n{id} is not running"))
    }

    /// Applies a concrete fault.
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
            Fault::PowerLoss(ns) => {
                // Every victim gets its SIGKILL before any is reaped: the same instant, as
                // far as the nodes can tell.
                for n in ns {
                    if let Ok(pid) = self.pid(*n) {
                        // SAFETY: kill(2) has no memory effects; the pid is our child,
                        // not yet reaped (reaping happens in `kill` below).
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    }
                }
                for n in ns {
                    self.kill(*n);
                }
            }
            Fault::PowerOn(ns) => {
                for n in ns {
                    self.spawn(*n)?;
                }
                for n in ns {
                    self.wait_listening(*n)?;
                }
            }
            Fault::Pause(n) => netns::stop(self.pid(*n)?)
                .with_context(|| format!("cannot SIGSTOP node n{n}"))?,
            Fault::Resume(n) => netns::resume(self.pid(*n)?)
                .with_context(|| format!("cannot SIGCONT node n{n}"))?,
            Fault::Partition(a, b) => self
                .net
                .context("partitions need the nodes in network namespaces")?
                .partition(a, b)?,
            Fault::Heal => {
                if let Some(net) = self.net {
                    net.heal()?;
                }
            }
            Fault::ClockSkew(..) | Fault::KillLeader | Fault::RestartLeader | Fault::IsolateLeader => {
                bail!("check kv does not offer {fault}")
            }
        }
        Ok(())
    }
}

impl Drop for Processes<'_> {
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
        let mut procs = Processes::start(p, net.as_ref())?;
        let start = *started.get_or_init(Instant::now);
        let addrs = procs.addrs.values().map(ToString::to_string).collect();
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

//! Node processes for `--real` runs: started from one command line per node, each
//! waited for until it listens, killed with SIGKILL (a power loss kills every victim
//! before reaping any), restarted on the same arguments, paused with SIGSTOP and
//! resumed with SIGCONT, and partitioned by drop rules when they run in network
//! namespaces ([`netns`]). What the processes are (kv nodes, raft-kv nodes) is the
//! exercise's; how a nemesis acts on processes is shared here.
//!
//! The processes and their data directory never outlive the run: they are
//! `crate::reaper` children and a `crate::reaper` directory, killed and removed when
//! [`Processes`] drops, on a panic, and by the signal handler when SIGINT or SIGTERM
//! stops `check`.

use super::netns::{self, Network};
use crate::reaper;
use anyhow::{bail, Context, Result};
use impls::sim::faults::Fault;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node process may take to start listening.
const BOOT_TIMEOUT: Duration = Duration::from_secs(15);

/// The node processes. Dropping it kills every one still running, and then removes their
/// data directory (the fields drop in order, after `drop`).
pub struct Processes<'n> {
    exe: PathBuf,
    args: BTreeMap<u32, Vec<String>>,
    listen: BTreeMap<u32, SocketAddr>,
    children: BTreeMap<u32, reaper::Child>,
    /// The namespaces the nodes run in, if partitions are on.
    net: Option<&'n Network>,
    /// Who runs them, for errors: `check kv`, `check raft`.
    owner: &'static str,
    _data: reaper::TempDir,
}

impl<'n> Processes<'n> {
    /// Starts node `n` as `exe ARGS[n]` for every `n` in `args` (in `net`'s namespace
    /// `n` if there is one), and waits until each accepts connections at `listen[n]`.
    /// `data` is removed when the processes are gone. The calling thread must be in the
    /// clients' namespace when there is one.
    pub(crate) fn start(
        exe: PathBuf,
        args: BTreeMap<u32, Vec<String>>,
        listen: BTreeMap<u32, SocketAddr>,
        net: Option<&'n Network>,
        data: reaper::TempDir,
        owner: &'static str,
    ) -> Result<Processes<'n>> {
        let ids: Vec<u32> = args.keys().copied().collect();
        let mut procs = Processes {
            exe,
            args,
            listen,
            children: BTreeMap::new(),
            net,
            owner,
            _data: data,
        };
        for &n in &ids {
            procs.spawn(n)?;
        }
        for &n in &ids {
            procs.wait_listening(n)?;
        }
        Ok(procs)
    }

    /// Where node `n` listens.
    pub fn addr(&self, n: u32) -> SocketAddr {
        self.listen[&n]
    }

    /// Every node's listening address, in node order.
    pub fn addrs(&self) -> Vec<String> {
        self.listen.values().map(ToString::to_string).collect()
    }

    fn spawn(&mut self, n: u32) -> Result<()> {
        let mut command = match self.net {
            Some(net) => net.command(n, &self.exe),
            None => Command::new(&self.exe),
        };
        command
            .args(&self.args[&n])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child =
            reaper::Child::spawn(command).with_context(|| format!("cannot start node n{n}"))?;
        self.children.insert(n, child);
        Ok(())
    }

    fn wait_listening(&mut self, n: u32) -> Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let addr = self.listen[&n];
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            if let Some(status) = self.children.get_mut(&n).and_then(|c| c.try_wait().ok()?) {
                bail!("node n{n} exited with {status} before listening on {addr}");
            }
            if Instant::now() > deadline {
                bail!("node n{n} did not listen on {addr} within {BOOT_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGKILL, and reap it so its ports are free for the restart.
    fn kill(&mut self, n: u32) {
        if let Some(mut child) = self.children.remove(&n) {
            child.kill();
        }
    }

    /// The pid of node `n`'s process, if it runs.
    fn pid(&self, n: u32) -> Result<u32> {
        self.children
            .get(&n)
            .and_then(reaper::Child::id)
            .with_context(|| format!("node n{n} is not running"))
    }

    /// Applies a concrete fault: crashes, restarts, power loss and power-on, pauses and
    /// resumes, partitions and heals. A clock skew (a process's rate is set when it
    /// starts) and a leader fault not yet resolved to a node are refused.
    pub fn apply(&mut self, fault: &Fault) -> Result<()> {
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
            Fault::Pause(n) => {
                netns::stop(self.pid(*n)?).with_context(|| format!("cannot SIGSTOP node n{n}"))?
            }
            Fault::Resume(n) => {
                netns::resume(self.pid(*n)?).with_context(|| format!("cannot SIGCONT node n{n}"))?
            }
            Fault::Partition(a, b) => self
                .net
                .context("partitions need the nodes in network namespaces")?
                .partition(a, b)?,
            Fault::Heal => {
                if let Some(net) = self.net {
                    net.heal()?;
                }
            }
            Fault::ClockSkew(..) => bail!(
                "{} --real does not offer {fault}: a process's clock rate is set at its start",
                self.owner
            ),
            Fault::KillLeader | Fault::RestartLeader | Fault::IsolateLeader => {
                bail!(
                    "{} --real cannot apply {fault} before it knows the leader",
                    self.owner
                )
            }
        }
        Ok(())
    }
}

impl Drop for Processes<'_> {
    fn drop(&mut self) {
        let ids: Vec<u32> = self.children.keys().copied().collect();
        for n in ids {
            self.kill(n);
        }
    }
}

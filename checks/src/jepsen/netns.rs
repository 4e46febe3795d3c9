//! Real network partitions for runs of node processes, in Linux network namespaces.
//!
//! [`Network::create`] builds, for one run:
//!
//! - a hub namespace holding a bridge,
//! - one namespace per node, and one for the clients, each joined to the bridge by a veth
//!   pair and given an address of [`SUBNET`] (`10.77.0.N` for node `N`,
//!   [`CLIENT_HOST`] for the clients).
//!
//! Those addresses exist only inside the run's namespaces: nothing is added to the
//! namespace `check` runs in, and two runs at once (each with its own namespaces) use the
//! same addresses without meeting. Each node process runs in its namespace through
//! `ip netns exec` ([`Network::command`]); the clients' threads enter theirs with
//! `setns` ([`Network::enter_clients`]). A partition is drop rules in the nodes'
//! namespaces (nftables, or iptables where `nft` is missing), so clients still reach every
//! node; a heal flushes them.
//!
//! Everything is torn down, namespaces with their veths, bridge and rules, when the
//! [`Network`] is dropped (at the end, or on an error or a panic), by [`clean_up`] when a
//! signal ends `check` at once, and, after a SIGKILL that nothing can see, by the next run:
//! namespace names carry the pid of the `check` that made them, and [`Network::create`]
//! removes those whose process is gone.
//!
//! Where the run is not root, or `ip` or both of `nft` and `iptables` are missing,
//! [`probe`] says why, and the runner skips partitions with that reason printed.
//!
//! Also here: [`stop`] and [`resume`], SIGSTOP and SIGCONT for pausing node processes.

use anyhow::{anyhow, bail, Context, Result};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

/// The run's private subnet, `10.77.0.0/24`: node `N` is `10.77.0.N`.
pub const SUBNET: [u8; 3] = [10, 77, 0];

/// The last octet of the clients' address.
pub const CLIENT_HOST: u8 = 200;

/// The most nodes a network holds (their addresses stay below [`CLIENT_HOST`]).
pub const MAX_NODES: u32 = 99;

/// Every namespace name starts with this, then the creating process's pid.
const PREFIX: &str = "chkj";

/// Names of the namespaces made and not yet deleted, for [`clean_up`].
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Networks made by this process so far, so that each gets its own names.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// Why partitions cannot be made here, or `Ok` if they can: root, `ip`, and `nft` or
/// `iptables`, and a namespace can actually be made and removed (a container may lack
/// the capability even as root).
pub fn probe() -> std::result::Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(format!(
            "network namespaces and drop rules need root, and this runs as uid {euid}"
        ));
    }
    let ip = tool("ip").ok_or("the 'ip' tool (iproute2) is not installed")?;
    if Filter::find().is_none() {
        return Err("neither 'nft' nor 'iptables' is installed".into());
    }
    let name = format!("{PREFIX}{}-probe{}", std::process::id(), next_sequence());
    run(Command::new(&ip).args(["netns", "add", &name]))
        .map_err(|e| format!("cannot make a network namespace: {e}"))?;
    run(Command::new(&ip).args(["netns", "delete", &name]))
        .map_err(|e| format!("cannot remove the network namespace {name}: {e}"))?;
    Ok(())
}

fn next_sequence() -> u32 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// The address of node `node`.
pub fn node_addr(node: u32) -> Ipv4Addr {
    Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], node as u8)
}

/// The clients' address.
pub fn client_addr() -> Ipv4Addr {
    Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], CLIENT_HOST)
}

/// How drop rules are written.
#[derive(Clone, Debug)]
enum Filter {
    Nft(PathBuf),
    Iptables(PathBuf),
}

impl Filter {
    fn find() -> Option<Filter> {
        tool("nft")
            .map(Filter::Nft)
            .or_else(|| tool("iptables").map(Filter::Iptables))
    }
}

/// One run's namespaces. Dropping it removes them all; kill the processes inside first
/// (a namespace lives on, unnamed, while a process is in it).
#[derive(Debug)]
pub struct Network {
    ip: PathBuf,
    filter: Filter,
    /// `chkj{pid}-{sequence}`.
    stem: String,
    nodes: u32,
    /// Every namespace made, hub first.
    made: Vec<String>,
}

impl Network {
    /// Makes the hub, a namespace per node `1..=nodes` and the clients' namespace, wired
    /// to the bridge with their addresses; removes first the namespaces of earlier runs
    /// whose `check` died without removing them. On an error, whatever was made is
    /// removed again.
    pub fn create(nodes: u32) -> Result<Network> {
        probe().map_err(|reason| anyhow!("cannot partition real processes: {reason}"))?;
        if nodes == 0 || nodes > MAX_NODES {
            bail!("a network namespace run holds 1 to {MAX_NODES} nodes, not {nodes}");
        }
        let ip = tool("ip").context("the 'ip' tool disappeared")?;
        sweep_stale(&ip);
        let mut net = Network {
            ip,
            filter: Filter::find().context("nft and iptables disappeared")?,
            stem: format!("{PREFIX}{}-{}", std::process::id(), next_sequence()),
            nodes,
            made: Vec::new(),
        };
        // `net` is dropped on an early return here, removing what was made.
        net.build()?;
        Ok(net)
    }

    fn build(&mut self) -> Result<()> {
        let hub = self.hub();
        self.add_namespace(&hub)?;
        self.ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        self.ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        for node in 1..=self.nodes {
            self.attach(&self.namespace(node), &format!("v{node}"), node_addr(node))?;
        }
        self.attach(&self.clients(), "vc", client_addr())?;
        Ok(())
    }

    /// A new namespace with its loopback up, registered for removal.
    fn add_namespace(&mut self, name: &str) -> Result<()> {
        // Registered before it exists: a signal between the two finds a name that
        // `ip netns delete` refuses, which is harmless; the other order could leak it.
        lock_live().push(name.to_string());
        self.made.push(name.to_string());
        self.ip(&["netns", "add", name])?;
        self.ip(&["-n", name, "link", "set", "lo", "up"])
    }

    /// Makes namespace `ns`, joined to the bridge by the veth `hub_end`-`eth0`, with
    /// `addr` on `eth0`.
    fn attach(&mut self, ns: &str, hub_end: &str, addr: Ipv4Addr) -> Result<()> {
        self.add_namespace(ns)?;
        let hub = self.hub();
        let cidr = format!("{addr}/24");
        self.ip(&[
            "-n", &hub, "link", "add", hub_end, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])?;
        self.ip(&["-n", &hub, "link", "set", hub_end, "master", "br0", "up"])?;
        self.ip(&["-n", ns, "addr", "add", &cidr, "dev", "eth0"])?;
        self.ip(&["-n", ns, "link", "set", "eth0", "up"])
    }

    fn hub(&self) -> String {
        format!("{}-hub", self.stem)
    }

    fn clients(&self) -> String {
        format!("{}-c", self.stem)
    }

    /// The name of node `node`'s namespace.
    pub fn namespace(&self, node: u32) -> String {
        format!("{}-n{node}", self.stem)
    }

    /// A command that runs `program` inside node `node`'s namespace (`ip netns exec`,
    /// which then becomes `program`: the child's pid is the program's).
    pub fn command(&self, node: u32, program: &Path) -> Command {
        let mut c = Command::new(&self.ip);
        c.args(["netns", "exec", &self.namespace(node)])
            .arg(program);
        c
    }

    /// Moves the calling thread (only it) into the clients' namespace: sockets it opens
    /// from now on reach the nodes' addresses, and nothing else. For a runtime's threads
    /// too, call it from each (tokio's `on_thread_start`).
    pub fn enter_clients(&self) -> std::io::Result<()> {
        enter(&self.clients_path())
    }

    /// Where the clients' namespace is mounted, for [`enter`] from threads that cannot
    /// borrow the network (a runtime's `on_thread_start`).
    pub fn clients_path(&self) -> PathBuf {
        netns_path(&self.clients())
    }

    /// Cuts every link between a node of `a` and a node of `b`, both ways, with drop
    /// rules in each node's namespace. Links within a side, and to the clients, stay.
    pub fn partition(&self, a: &[u32], b: &[u32]) -> Result<()> {
        for (mine, theirs) in [(a, b), (b, a)] {
            for &node in mine {
                self.drop_from(node, theirs)?;
            }
        }
        Ok(())
    }

    /// Removes every drop rule: every link is whole again.
    pub fn heal(&self) -> Result<()> {
        for node in 1..=self.nodes {
            let ns = self.namespace(node);
            match &self.filter {
                Filter::Nft(nft) => run_in(&self.ip, &ns, nft, &["flush", "ruleset"])?,
                Filter::Iptables(ipt) => {
                    run_in(&self.ip, &ns, ipt, &["-w", "-F", "INPUT"])?;
                    run_in(&self.ip, &ns, ipt, &["-w", "-F", "OUTPUT"])?;
                }
            }
        }
        Ok(())
    }

    /// In `node`'s namespace, drops every packet from or to the nodes `others`.
    fn drop_from(&self, node: u32, others: &[u32]) -> Result<()> {
        let ns = self.namespace(node);
        let addrs: Vec<String> = others.iter().map(|&o| node_addr(o).to_string()).collect();
        match &self.filter {
            Filter::Nft(nft) => {
                let set = addrs.join(", ");
                let script = format!(
                    "table ip nemesis {{\n\
                     chain input {{ type filter hook input priority 0; ip saddr {{ {set} }} drop; }}\n\
                     chain output {{ type filter hook output priority 0; ip daddr {{ {set} }} drop; }}\n\
                     }}\n"
                );
                let mut c = Command::new(&self.ip);
                c.args(["netns", "exec", &ns]).arg(nft).args(["-f", "-"]);
                run_with_input(&mut c, &script)
                    .with_context(|| format!("cannot add drop rules in namespace {ns}"))
            }
            Filter::Iptables(ipt) => {
                for addr in &addrs {
                    run_in(
                        &self.ip,
                        &ns,
                        ipt,
                        &["-w", "-A", "INPUT", "-s", addr, "-j", "DROP"],
                    )?;
                    run_in(
                        &self.ip,
                        &ns,
                        ipt,
                        &["-w", "-A", "OUTPUT", "-d", addr, "-j", "DROP"],
                    )?;
                }
                Ok(())
            }
        }
    }

    fn ip(&self, args: &[&str]) -> Result<()> {
        run(Command::new(&self.ip).args(args))
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Nodes and clients first, the hub last: each veth goes with its namespace.
        for name in self.made.iter().rev() {
            let _ = run(Command::new(&self.ip).args(["netns", "delete", name]));
        }
        lock_live().retain(|n| !self.made.contains(n));
    }
}

/// Removes every namespace a [`Network`] of this process made and has not removed: for a
/// signal handler that is about to call `process::exit`, after the processes inside are
/// killed.
pub fn clean_up() {
    let names = std::mem::take(&mut *lock_live());
    if names.is_empty() {
        return;
    }
    if let Some(ip) = tool("ip") {
        for name in names.iter().rev() {
            let _ = run(Command::new(&ip).args(["netns", "delete", name]));
        }
    }
}

fn lock_live() -> std::sync::MutexGuard<'static, Vec<String>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Deletes the namespaces of `check` processes that are gone (SIGKILLed before they could
/// remove them). A namespace of a live process, this one's included, is left alone.
fn sweep_stale(ip: &Path) {
    let Ok(out) = Command::new(ip).args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // `NAME` or `NAME (id: N)`.
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = owner(name) else { continue };
        if !alive(pid) {
            let _ = run(Command::new(ip).args(["netns", "delete", name]));
        }
    }
}

/// The pid in a namespace name this module made, `chkj{pid}-...`.
fn owner(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn netns_path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

/// `setns` of the calling thread (only it) into the network namespace mounted at `path`.
pub fn enter(path: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)?;
    // SAFETY: the descriptor is open for the call; setns changes only this thread's
    // network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The path of `name` in PATH or in the sbin directories (which a non-login root shell
/// may lack in PATH).
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs `program args` inside namespace `ns`.
fn run_in(ip: &Path, ns: &str, program: &Path, args: &[&str]) -> Result<()> {
    run(Command::new(ip)
        .args(["netns", "exec", ns])
        .arg(program)
        .args(args))
}

/// Runs a command to completion; an error names it and carries its stderr.
fn run(c: &mut Command) -> Result<()> {
    let out = c
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {c:?}"))?;
    if !out.status.success() {
        bail!(
            "{c:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn run_with_input(c: &mut Command, input: &str) -> Result<()> {
    use std::io::Write;
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {c:?}"))?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{c:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// SIGSTOP: the process stops where it is, as a paused node.
pub fn stop(pid: u32) -> std::io::Result<()> {
    signal(pid, libc::SIGSTOP)
}

/// SIGCONT: a stopped process goes on, its timers stale.
pub fn resume(pid: u32) -> std::io::Result<()> {
    signal(pid, libc::SIGCONT)
}

fn signal(pid: u32, sig: libc::c_int) -> std::io::Result<()> {
    // SAFETY: kill(2) has no memory effects; the caller names a child it has not reaped.
    if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    #[test]
    fn names_carry_their_owner_and_dead_owners_are_told_apart() {
        assert_eq!(owner("chkj1234-0-n3"), Some(1234));
        // A probe's namespace too: one left by a SIGKILL between its add and its delete
        // is swept like the rest.
        assert_eq!(owner("chkj1234-probe0"), Some(1234));
        assert_eq!(owner("chkjx-0"), None);
        assert_eq!(owner("other-ns"), None);
        assert!(alive(std::process::id() as i32));
        assert!(!alive(i32::MAX - 1));
        assert_eq!(node_addr(3).to_string(), "10.77.0.3");
    }

    /// As root with the tools: a node namespace reaches another until a partition cuts
    /// them, the clients reach both throughout, and everything is gone after the drop.
    /// Elsewhere it checks that `probe` gives a reason, and stops.
    #[test]
    fn a_partition_cuts_nodes_apart_but_not_from_the_clients_and_nothing_outlives_the_run() {
        if let Err(reason) = probe() {
            assert!(!reason.is_empty());
            eprintln!("skipped: {reason}");
            return;
        }
        let net = Network::create(2).unwrap();
        let names: Vec<String> = net.made.clone();
        assert_eq!(names.len(), 4, "{names:?}");
        let ip = tool("ip").unwrap();
        // Threads that enter a namespace stand in for processes run in it: a socket
        // belongs to the namespace its thread was in when it was made.
        let path = netns_path(&net.namespace(2));
        let listener = std::thread::scope(|s| {
            s.spawn(|| {
                enter(&path).unwrap();
                TcpListener::bind((node_addr(2), 7000)).unwrap()
            })
            .join()
            .unwrap()
        });
        let can_connect = |from: &str| {
            let path = netns_path(from);
            std::thread::scope(|s| {
                s.spawn(|| {
                    enter(&path).unwrap();
                    TcpStream::connect_timeout(
                        &(node_addr(2), 7000).into(),
                        Duration::from_millis(300),
                    )
                    .is_ok()
                })
                .join()
                .unwrap()
            })
        };
        let n1 = net.namespace(1);
        let clients = net.clients();
        assert!(can_connect(&n1), "n1 cannot reach n2 before the partition");
        net.partition(&[1], &[2]).unwrap();
        assert!(!can_connect(&n1), "n1 reaches n2 across the partition");
        assert!(can_connect(&clients), "the clients lost n2");
        net.heal().unwrap();
        assert!(can_connect(&n1), "n1 cannot reach n2 after the heal");
        drop(listener);
        drop(net);
        let out = Command::new(ip).args(["netns", "list"]).output().unwrap();
        let list = String::from_utf8_lossy(&out.stdout);
        for n in &names {
            assert!(
                !list.contains(n.as_str()),
                "{n} outlived the network:\n{list}"
            );
        }
        assert!(lock_live().iter().all(|n| !names.contains(n)));
    }
}

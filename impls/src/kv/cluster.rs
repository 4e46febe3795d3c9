//! An in-process cluster on loopback TCP, for tests and the benchmark.
//!
//! Each node runs on its own tokio runtime with its own data directory, as if it were its
//! own process: [`Cluster::kill`] drops the node's runtime, which closes its sockets and
//! stops its tasks at once, and waits for a log write in flight (so that a restart never
//! races the old incarnation for the file). [`Cluster::restart`] starts it again on the
//! same address and data directory, recovering from its log.
//!
//! ```no_run
//! use impls::kv::cluster::{Cluster, ClusterConfig};
//! use impls::kv::core::Consistency;
//!
//! let mut cluster = Cluster::start(ClusterConfig::new(3)).unwrap();
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let mut c = cluster.client(1);
//!     c.put("k", "v", Consistency::Quorum).await.unwrap();
//! });
//! cluster.kill(2);
//! cluster.restart(2).unwrap();
//! ```

use super::client::Client;
use super::core::Bug;
use super::node::{self, NodeConfig};
use super::NodeId;
use crate::sim::net::{Storage, TokioNet};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// How long [`Cluster::start`] and [`Cluster::restart`] wait for the nodes to connect.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// How to build a [`Cluster`]. [`ClusterConfig::new`] gives fast timeouts suited to tests.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Nodes, with ids `1..=nodes`.
    pub nodes: usize,
    /// Replicas per key.
    pub rf: usize,
    /// Virtual nodes per node.
    pub vnodes: usize,
    /// Each node's request timeout.
    pub request_timeout: Duration,
    /// Each node's hint delivery interval.
    pub hint_interval: Duration,
    /// Each node's heartbeat.
    pub heartbeat: Duration,
    /// A bug every node runs with.
    pub bug: Option<Bug>,
    /// Worker threads of each node's multi-thread runtime; 0 runs each node on a
    /// current-thread runtime driven by a thread of its own.
    pub worker_threads: usize,
    /// Where the nodes' data directories go; `None` for a fresh temporary directory that
    /// is removed when the cluster is dropped.
    pub data_dir: Option<PathBuf>,
    /// Whether nodes log to stderr.
    pub log: bool,
}

impl ClusterConfig {
    /// `nodes` nodes, RF 3, 128 vnodes, a 1 s request timeout, hints every 50 ms,
    /// heartbeats every 50 ms, one worker thread per node, quiet.
    pub fn new(nodes: usize) -> ClusterConfig {
        ClusterConfig {
            nodes,
            rf: 3,
            vnodes: 128,
            request_timeout: Duration::from_secs(1),
            hint_interval: Duration::from_millis(50),
            heartbeat: Duration::from_millis(50),
            bug: None,
            worker_threads: 1,
            data_dir: None,
            log: false,
        }
    }

    fn node_config(&self, id: NodeId, peers: &BTreeMap<NodeId, String>, dir: &Path) -> NodeConfig {
        let addr = peers.get(&id).cloned().unwrap_or_default();
        let mut c = NodeConfig::new(id, addr, peers.clone(), dir.join(format!("n{id}")));
        c.rf = self.rf;
        c.vnodes = self.vnodes;
        c.request_timeout = self.request_timeout;
        c.hint_interval = self.hint_interval;
        c.heartbeat = self.heartbeat;
        c.bug = self.bug;
        c.quiet = !self.log;
        c
    }
}

/// Nodes running in this process. Dropping the cluster stops them all (and removes a
/// temporary data directory).
pub struct Cluster {
    config: ClusterConfig,
    dir: DataDir,
    members: BTreeMap<NodeId, Member>,
}

struct Member {
    config: NodeConfig,
    running: Option<Running>,
}

/// A running node's runtime.
enum Running {
    /// A multi-thread runtime: the node runs on its worker threads.
    Pool {
        runtime: Runtime,
        task: JoinHandle<io::Result<()>>,
    },
    /// A current-thread runtime driven by a thread of its own, which drops the runtime
    /// (and so the node) when told to stop.
    Thread {
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<()>,
    },
}

impl Running {
    fn is_running(&self) -> bool {
        match self {
            Running::Pool { task, .. } => !task.is_finished(),
            Running::Thread { thread, .. } => !thread.is_finished(),
        }
    }

    fn stop(self) {
        match self {
            Running::Pool { runtime, task } => {
                drop(task);
                off_runtime(move || drop(runtime));
            }
            Running::Thread { stop, thread } => {
                let _ = stop.send(());
                let _ = thread.join();
            }
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: BTreeMap<NodeId, (&str, bool)> = self
            .members
            .iter()
            .map(|(id, m)| (*id, (m.config.listen.as_str(), m.running.is_some())))
            .collect();
        f.debug_struct("Cluster")
            .field("dir", &self.dir.path)
            .field("nodes", &nodes)
            .finish()
    }
}

impl Cluster {
    /// Starts `config.nodes` nodes on free loopback ports. Returns once every node is
    /// listening (connections are queued until it has recovered its log).
    pub fn start(config: ClusterConfig) -> io::Result<Cluster> {
        let dir = DataDir::new(config.data_dir.clone())?;
        // Bind every listener first: each node's peer list needs every address.
        let mut listeners = BTreeMap::new();
        for id in 1..=config.nodes as NodeId {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            listeners.insert(id, l);
        }
        let peers: BTreeMap<NodeId, String> = listeners
            .iter()
            .map(|(id, l)| Ok((*id, l.local_addr()?.to_string())))
            .collect::<io::Result<_>>()?;
        let mut cluster = Cluster {
            config,
            dir,
            members: BTreeMap::new(),
        };
        for (id, listener) in listeners {
            let node_config = cluster.config.node_config(id, &peers, &cluster.dir.path);
            let member = cluster.launch(node_config, Some(listener))?;
            cluster.members.insert(id, member);
        }
        cluster.wait_connected(CONNECT_WAIT)?;
        Ok(cluster)
    }

    fn launch(
        &self,
        config: NodeConfig,
        listener: Option<std::net::TcpListener>,
    ) -> io::Result<Member> {
        let listener = match listener {
            Some(l) => l,
            None => {
                // A restart: the address may still have connections in TIME_WAIT, which
                // tokio's bind tolerates (SO_REUSEADDR). Bound here so a failure is
                // reported to the caller rather than lost in a task.
                let addr = config.listen.clone();
                off_runtime(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(tokio::net::TcpListener::bind(addr))?.into_std()
                })?
            }
        };
        listener.set_nonblocking(true)?;
        let node_config = config.clone();
        let serve = async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            node::serve(node_config, TokioNet, Storage::Files, listener).await
        };
        let name = format!("kv-n{}", config.id);
        let running = if self.config.worker_threads == 0 {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::Builder::new().name(name).spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        biased;
                        _ = stopped => {}
                        _ = serve => {}
                    }
                });
                // Dropping the runtime drops every task of the node and waits for a log
                // write in flight.
                drop(runtime);
            })?;
            Running::Thread { stop, thread }
        } else {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.config.worker_threads)
                .thread_name(name)
                .enable_all()
                .build()?;
            let task = runtime.spawn(serve);
            Running::Pool { runtime, task }
        };
        Ok(Member {
            config,
            running: Some(running),
        })
    }

    /// The node ids, ascending.
    pub fn ids(&self) -> Vec<NodeId> {
        self.members.keys().copied().collect()
    }

    /// The address of node `id`.
    ///
    /// # Panics
    ///
    /// If there is no such node.
    pub fn addr(&self, id: NodeId) -> &str {
        &self.member(id).config.listen
    }

    /// The configuration node `id` runs with.
    pub fn node_config(&self, id: NodeId) -> &NodeConfig {
        &self.member(id).config
    }

    /// Node `id`'s data directory.
    pub fn data_dir(&self, id: NodeId) -> &Path {
        &self.member(id).config.data_dir
    }

    /// A client of node `id` (it connects on its first request, inside the caller's
    /// runtime).
    pub fn client(&self, id: NodeId) -> Client<TokioNet> {
        Client::lazy(TokioNet, self.addr(id))
    }

    /// Whether node `id` is running (started and not killed, and it has not stopped on a
    /// failure).
    pub fn is_running(&self, id: NodeId) -> bool {
        self.member(id)
            .running
            .as_ref()
            .is_some_and(Running::is_running)
    }

    /// Stops node `id` abruptly, as a crash would: its connections drop, and records not
    /// yet synced are lost unless the operating system still holds them (a process
    /// crash, not a machine crash). Does nothing if it is not running. Safe to call from
    /// async code (it blocks the calling thread until the node is gone).
    pub fn kill(&mut self, id: NodeId) {
        let m = self.members.get_mut(&id).expect("no such node");
        if let Some(running) = m.running.take() {
            running.stop();
        }
    }

    /// Starts node `id` again on its address and data directory.
    pub fn restart(&mut self, id: NodeId) -> io::Result<()> {
        self.kill(id);
        let config = self.member(id).config.clone();
        let member = self.launch(config, None)?;
        self.members.insert(id, member);
        self.wait_connected(CONNECT_WAIT)
    }

    /// Waits until every running node that is a member has its links to every other
    /// running member up (so requests are not refused as unavailable just because
    /// connections are still being made). Fails after `timeout`.
    pub fn wait_connected(&self, timeout: Duration) -> io::Result<()> {
        let running: Vec<(NodeId, String)> = self
            .members
            .iter()
            .filter(|(id, _)| self.is_running(**id))
            .map(|(id, m)| (*id, m.config.listen.clone()))
            .collect();
        off_runtime(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let deadline = tokio::time::Instant::now() + timeout;
                let mut waiting_for = String::new();
                while tokio::time::Instant::now() < deadline {
                    waiting_for.clear();
                    for (id, addr) in &running {
                        let mut client = Client::lazy(TokioNet, addr.clone());
                        client.set_timeout(Duration::from_secs(1));
                        let (members, stats) = match (client.members().await, client.stats().await)
                        {
                            (Ok(m), Ok(s)) => (m, s),
                            (Err(e), _) | (_, Err(e)) => {
                                waiting_for.push_str(&format!(" n{id} ({e})"));
                                continue;
                            }
                        };
                        if !members.contains(*id) {
                            continue;
                        }
                        let expected = running
                            .iter()
                            .filter(|(other, _)| other != id && members.contains(*other))
                            .count() as u64;
                        if stats.peers_up < expected {
                            waiting_for.push_str(&format!(
                                " n{id} ({} of {expected} links up)",
                                stats.peers_up
                            ));
                        }
                    }
                    if waiting_for.is_empty() {
                        return Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("cluster not connected after {timeout:?}: waiting for{waiting_for}"),
                ))
            })
        })
    }

    /// Starts a new node that knows no members yet (it joins once a member is asked to
    /// add it, e.g. with [`Client::add_node`]); returns its id and address.
    pub fn start_joining_node(&mut self) -> io::Result<(NodeId, String)> {
        let id = self.members.keys().last().map_or(1, |last| last + 1);
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let peers = BTreeMap::from([(id, addr.clone())]);
        let mut config = self.config.node_config(id, &peers, &self.dir.path);
        config.joining = true;
        let member = self.launch(config, Some(listener))?;
        self.members.insert(id, member);
        Ok((id, addr))
    }

    fn member(&self, id: NodeId) -> &Member {
        self.members
            .get(&id)
            .unwrap_or_else(|| panic!("no node n{id} in the cluster"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let ids = self.ids();
        for id in ids {
            self.kill(id);
        }
    }
}

/// Runs `f` on a fresh thread: dropping or blocking on a runtime is not allowed on a
/// thread that is itself inside a runtime.
fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().expect("runtime thread panicked"))
}

/// A directory for the nodes' data, removed on drop if it was made temporary.
struct DataDir {
    path: PathBuf,
    temporary: bool,
}

impl DataDir {
    fn new(path: Option<PathBuf>) -> io::Result<DataDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let (path, temporary) = match path {
            Some(p) => (p, false),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let name = format!(
                    "kv-cluster-{}-{nanos}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                (std::env::temp_dir().join(name), true)
            }
        };
        std::fs::create_dir_all(&path)?;
        Ok(DataDir { path, temporary })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

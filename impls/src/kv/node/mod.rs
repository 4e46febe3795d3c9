//! The key-value node: the runtime that drives the sans-IO [`core`](crate::kv::core) from
//! sockets, a write-ahead log and timers, generic over its [`Net`] so that the same code
//! runs on TCP and under turmoil.
//!
//! # Tasks
//!
//! A node is a handful of tokio tasks around one state lock (module `state`):
//! - the **accept loop** (in [`serve`]) starts a task per connection. A client
//!   connection's task decodes requests and starts them; a peer connection's task decodes
//!   the frames another node sends and steps the replica or the coordinator. Each takes
//!   the lock once per batch of frames read, not once per frame;
//! - a **link** task per peer (in `links`) connects to it, sends a hello and the
//!   membership, and then writes whatever the link's queue holds with one write per batch
//!   of frames, plus a heartbeat; a link is *up* while connected and answered;
//! - the **committer** (in `commit`) makes records durable in batches (group commit) and
//!   then releases the acknowledgements that waited for them;
//! - the **timer** task expires requests, hands off writes whose replicas are slow, and
//!   delivers hints.
//!
//! # Guarantees
//!
//! - A replica acknowledges a write, and answers a read with a value, only once that value
//!   is durable in its log (the committer's barrier), so nothing a client saw can be lost
//!   by a crash of fewer than all of a quorum.
//! - A request that cannot reach enough replicas is refused *definitely*, before anything
//!   is sent; a put that times out after its write phase began is reported *indefinite*.
//! - Versions stay unique across restarts: each start writes a new incarnation, above
//!   every earlier one, to the directory's identity file before the node serves (see
//!   `identity`).
//! - A node never forgets silently. A data directory belongs to one node of one cluster
//!   and is locked while a node runs on it; a missing or corrupt log is a refusal to
//!   start, and the way back is `--rejoin-empty`: an empty replica that answers no reads
//!   until its peers have repaired it (see `identity` and `repair`).
//! - What a connection costs is bounded (see `serve`).
//!
//! # Stopping
//!
//! [`run`] serves until it fails (it cannot bind, or the log fails, or an internal error
//! poisons the state) or its future is dropped: dropping it aborts every task it started.
//! A log write on the blocking pool that is in flight finishes first, so to restart a node
//! on the same data directory in the same process, drop the runtime it ran on (that waits
//! for the blocking pool), as [`crate::kv::cluster`] does.

pub mod bugs;
mod commit;
pub mod identity;
mod links;
mod members;
mod outbox;
pub mod pause;
mod record;
mod repair;
mod serve;
mod state;

use super::core::Bug;
use super::membership::Membership;
use super::NodeId;
use crate::sim::net::{Log, Net, Storage};
pub use bugs::{NodeBug, RuntimeBug};
use commit::{Batch, CommitQueue};
pub use pause::PauseHandle;
use state::State;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::AbortHandle;

/// Why a node refused to start on its data directory: it would otherwise serve data that
/// is not its own, or answer as if it held writes it has lost. The text names the
/// directory, the file and the way out. `kv-node` exits with status 2 on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Whether `e`, returned by [`run`] or [`serve`], is a [`Refusal`] to start (as opposed
/// to a failure while running, or an I/O error).
pub fn is_refusal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Refusal>())
}

/// The default of [`NodeConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// The default of [`NodeConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default of [`NodeConfig::frame_timeout`].
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How a node is set up. [`NodeConfig::new`] fills in the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// This node's id; stable across restarts.
    pub id: NodeId,
    /// Where to listen for clients and peers (`"127.0.0.1:7001"`; under turmoil the host's
    /// own address such as `"n1:7000"`, see [`TurmoilNet`](crate::sim::net::TurmoilNet)).
    pub listen: String,
    /// Every member of the cluster, this node included, and the address it listens on:
    /// the membership of epoch 0. Ignored once the node has adopted a later membership,
    /// which its log remembers.
    pub peers: BTreeMap<NodeId, String>,
    /// The node's own directory: its identity file, lock and write-ahead log live in it.
    pub data_dir: PathBuf,
    /// The cluster's id, kept in the directory's identity file; a node refuses a directory
    /// of another cluster. `None`: derived from `peers` ([`NodeConfig::cluster_id`]).
    pub cluster: Option<String>,
    /// Give up whatever the directory holds and rejoin as a new, empty replica with a new
    /// incarnation, repaired by its peers before it answers reads (see `identity`).
    pub rejoin_empty: bool,
    /// Client (and not yet identified) connections served at once (default
    /// [`DEFAULT_MAX_CONNECTIONS`]); one more is refused with a definite error.
    pub max_connections: usize,
    /// A client connection that sends nothing for this long is closed once its requests
    /// in flight are answered (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// A frame must arrive in full within this long of its first byte, and a connection's
    /// first frame within this long of its start (default [`DEFAULT_FRAME_TIMEOUT`]).
    pub frame_timeout: Duration,
    /// Replicas per key (default 3).
    pub rf: usize,
    /// Virtual nodes per node on the ring (default 128).
    pub vnodes: usize,
    /// How long a coordinator waits for a request to complete (default 1 s).
    pub request_timeout: Duration,
    /// How long a write waits for a replica's acknowledgement before it hands the write
    /// off to a fallback; `None` means a quarter of `request_timeout`.
    pub handoff_delay: Option<Duration>,
    /// How often hints are offered to their replicas (default 200 ms).
    pub hint_interval: Duration,
    /// How often a link sends a heartbeat (default 100 ms). A connection that carries
    /// nothing for four heartbeats is considered dead.
    pub heartbeat: Duration,
    /// A known bug to run with.
    pub bug: Option<Bug>,
    /// A known bug of the runtime to run with.
    pub runtime_bug: Option<RuntimeBug>,
    /// A switch that pauses every task of the node from outside (see [`pause`]); `None`
    /// for a node that is only ever paused by signals, if at all.
    pub pause: Option<PauseHandle>,
    /// Added to the wall clock, in milliseconds; only
    /// [`Bug::WallClockLww`] reads the wall clock, and skew is what makes it bite.
    pub clock_skew_ms: i64,
    /// Start outside the cluster, knowing no members, and wait to be added by an
    /// [`Admin::AddNode`](crate::kv::wire::Admin::AddNode) sent to a member.
    pub joining: bool,
    /// Log nothing to stderr.
    pub quiet: bool,
}

impl NodeConfig {
    /// A configuration with the defaults above.
    pub fn new(
        id: NodeId,
        listen: impl Into<String>,
        peers: BTreeMap<NodeId, String>,
        data_dir: impl Into<PathBuf>,
    ) -> NodeConfig {
        NodeConfig {
            id,
            listen: listen.into(),
            peers,
            data_dir: data_dir.into(),
            cluster: None,
            rejoin_empty: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            rf: 3,
            vnodes: 128,
            request_timeout: Duration::from_secs(1),
            handoff_delay: None,
            hint_interval: Duration::from_millis(200),
            heartbeat: Duration::from_millis(100),
            bug: None,
            runtime_bug: None,
            pause: None,
            clock_skew_ms: 0,
            joining: false,
            quiet: false,
        }
    }

    /// The cluster id this node belongs to: `cluster` if set, else `peers-` and 16 hex
    /// digits of a hash of the initial member list (`id=address` pairs in id order).
    ///
    /// So nodes started with the same `--peer` list agree on it without being told, and a
    /// directory of another cluster (other addresses) is refused. Changing the list, say
    /// after `kv admin join`, changes the derived id: restart with `--cluster` and the id
    /// the directory already has (the refusal names it).
    pub fn cluster_id(&self) -> String {
        if let Some(c) = &self.cluster {
            return c.clone();
        }
        // FNV-1a, 64 bits: stable across Rust versions and platforms, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (id, addr) in &self.peers {
            for b in format!("{id}={addr};").bytes() {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("peers-{hash:016x}")
    }

    /// The hand-off delay in effect.
    pub fn handoff_delay(&self) -> Duration {
        self.handoff_delay.unwrap_or(self.request_timeout / 4)
    }

    /// How long a silent connection lives.
    fn dead_after(&self) -> Duration {
        self.heartbeat * 4
    }

    /// How often the timer task runs: fine enough for the hand-off delay.
    fn tick(&self) -> Duration {
        (self.handoff_delay() / 5).clamp(Duration::from_millis(1), Duration::from_millis(20))
    }

    /// Checks the configuration for values the node cannot run with.
    pub fn validate(&self) -> Result<(), String> {
        if self.rf == 0 {
            return Err("the replication factor must be at least 1".into());
        }
        if self.vnodes == 0 {
            return Err("each node needs at least 1 virtual node".into());
        }
        if self.request_timeout.is_zero()
            || self.heartbeat.is_zero()
            || self.hint_interval.is_zero()
            || self.idle_timeout.is_zero()
            || self.frame_timeout.is_zero()
        {
            return Err("timeouts and intervals must be positive".into());
        }
        if self.max_connections == 0 {
            return Err("the node must accept at least 1 connection".into());
        }
        if let Some(c) = &self.cluster {
            let ok = !c.is_empty()
                && c.len() <= 128
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !ok {
                return Err(format!(
                    "cluster id {c:?} must be 1 to 128 letters, digits, '-', '_' or '.'"
                ));
            }
        }
        if !self.joining && !self.peers.contains_key(&self.id) {
            return Err(format!(
                "the peer list must include this node (n{}) with its address, unless it is joining",
                self.id
            ));
        }
        Ok(())
    }
}

/// Runs a node: binds `config.listen`, recovers the store from the log in
/// `config.data_dir`, and serves clients and peers until the future is dropped or the
/// node fails. See [`serve`] for what it needs from the caller.
pub async fn run<N: Net>(config: NodeConfig, net: N, storage: Storage) -> io::Result<()> {
    let listener = net.bind(&config.listen).await.map_err(|e| {
        io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.listen))
    })?;
    serve(config, net, storage, listener).await
}

/// Like [`run`], on a listener the caller has bound (to pick free ports before starting
/// a cluster, for instance).
///
/// Returns only on failure: an invalid configuration, an unreadable log, or a failed log
/// write (after which the node must not acknowledge anything, so it stops).
pub async fn serve<N: Net>(
    config: NodeConfig,
    net: N,
    storage: Storage,
    listener: N::Listener,
) -> io::Result<()> {
    match config.pause.clone() {
        Some(handle) => {
            handle
                .gate(serve_ungated(config, net, storage, listener))
                .await
        }
        None => serve_ungated(config, net, storage, listener).await,
    }
}

/// [`serve`], on whatever task runs it: the accept loop and the boot.
async fn serve_ungated<N: Net>(
    config: NodeConfig,
    net: N,
    storage: Storage,
    listener: N::Listener,
) -> io::Result<()> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let (log, shared, mut fatal) = boot(config, net, storage).await?;
    let _stop = StopOnDrop(Arc::clone(&shared));
    let committer = Arc::clone(&shared);
    shared.spawn(async move { committer_task(committer, log).await });
    let timers = Arc::clone(&shared);
    shared.spawn(async move { timer_task(timers).await });
    if shared.lock().is_repairing() {
        let repairer = Arc::clone(&shared);
        shared.spawn(async move { repair::run(repairer).await });
    }
    shared.with_state(|st| st.create_links());
    let max_connections = shared.config.max_connections;
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut refused: u64 = 0;
    loop {
        tokio::select! {
            biased;
            Some(e) = fatal.recv() => {
                shared.lock().log(format_args!("stopping: {e}"));
                return Err(e);
            }
            accepted = shared.net.accept(&listener) => match accepted {
                Ok((reader, writer)) => match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        let s = Arc::clone(&shared);
                        shared.spawn(async move { serve::connection(s, reader, writer, slot).await });
                    }
                    Err(_) => {
                        refused += 1;
                        if refused.is_power_of_two() {
                            shared.lock().log(format_args!(
                                "refused a connection over the limit of {max_connections} ({refused} so far)"
                            ));
                        }
                        shared.lock().stats.connections_refused += 1;
                        drop(reader);
                        shared.spawn(serve::refuse_connection(writer, max_connections));
                    }
                },
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: neither is the node's fault, and both pass.
                    shared.lock().log(format_args!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// Locks the data directory and checks its identity, opens and replays the log, writes
/// the new incarnation, logs the boot, and builds the node's shared state.
async fn boot<N: Net>(
    config: NodeConfig,
    net: N,
    storage: Storage,
) -> io::Result<(Log, Arc<Shared<N>>, mpsc::UnboundedReceiver<io::Error>)> {
    let prepare_config = config.clone();
    // Reading a whole log is blocking file I/O: keep it off the runtime's threads.
    let (prepared, mut log, recovered) = blocking(storage, move || {
        let prepared = identity::prepare(&prepare_config, storage)?;
        let min_valid_bytes = match prepared.start {
            identity::Start::Restart { log_bytes, .. } => log_bytes,
            _ => 0,
        };
        let (log, recovered) = storage
            .open(&prepare_config.data_dir, min_valid_bytes)
            .map_err(|e| identity::corrupt_log(&prepare_config, e))?;
        Ok((prepared, log, recovered))
    })
    .await?;
    if config.runtime_bug == Some(RuntimeBug::SkipFsync) {
        skip_fsync(&mut log);
    }
    let recovery = record::replay(&recovered.records)?;
    let (incarnation, dir_state) = match prepared.start {
        identity::Start::Fresh => (1, identity::DirState::Ready),
        identity::Start::Restart {
            previous, state, ..
        } => (previous.max(recovery.boots) + 1, state),
        identity::Start::Rejoin { previous } => (previous + 1, identity::DirState::Repairing),
    };
    let written = identity::Identity {
        node: config.id,
        cluster: config.cluster_id(),
        incarnation,
        state: dir_state,
        log_bytes: recovered.valid_bytes,
    };
    let dir = config.data_dir.clone();
    let written_copy = written.clone();
    // Durable before any version is chosen with this incarnation, and before the node
    // serves anything.
    blocking(storage, move || identity::write(storage, &dir, &written)).await?;
    let mut boot_record = Vec::new();
    record::boot(&mut boot_record);
    let len = boot_record.len();
    log.commit(boot_record, vec![len]).await?;
    let log_bytes = log.len_bytes();

    let membership = match recovery.membership {
        Some(m) => m,
        None if config.joining => Membership::initial(BTreeMap::new()),
        None => Membership::initial(config.peers.clone()),
    };
    let commit = Arc::new(CommitQueue::default());
    let mut st = State::new(
        &config,
        incarnation,
        recovery.replica,
        membership,
        Arc::clone(&commit),
    );
    if dir_state == identity::DirState::Repairing {
        st.begin_repair(incarnation);
    }
    st.stats.recovered_records = recovered.records.len() as u64;
    st.stats.torn_bytes = recovered.torn_bytes;
    if recovered.torn_bytes > 0 {
        st.log(format_args!(
            "cut {} bytes of torn tail ({:?}) off {} at byte offset {}, after record {}: a write \
             interrupted by a crash, never acknowledged",
            recovered.torn_bytes,
            recovered.damage,
            Storage::wal_path(&config.data_dir).display(),
            recovered.valid_bytes,
            recovered.records.len(),
        ));
    }
    let how = match prepared.start {
        identity::Start::Fresh => "a new node",
        identity::Start::Restart {
            state: identity::DirState::Ready,
            ..
        } => "a restart",
        identity::Start::Restart { .. } => "a restart with its repair unfinished",
        identity::Start::Rejoin { .. } => "a rejoin as an empty replica (--rejoin-empty)",
    };
    st.log(format_args!(
        "booted incarnation {incarnation} of cluster {} from {} ({how}): {} records recovered, {} torn bytes cut, {} keys, {} hints, membership {}{}{}",
        config.cluster_id(),
        config.data_dir.display(),
        recovered.records.len(),
        recovered.torn_bytes,
        st.replica.values().count(),
        st.replica.hint_count(),
        st.membership,
        st.bug().map(|b| format!(", running with bug {}", b.name())).unwrap_or_default(),
        if st.is_repairing() {
            "; repairing: answers no reads and coordinates no puts until its peers have repaired it"
        } else {
            ""
        },
    ));
    let (fatal_tx, fatal_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        config,
        net,
        storage,
        state: Mutex::new(st),
        commit,
        tasks: Mutex::new(Vec::new()),
        fatal: fatal_tx,
        identity: tokio::sync::Mutex::new(written_copy),
        _lock: prepared.lock,
    });
    // The boot record is durable: raise the identity's log length past it, so that a log
    // overwritten from its first byte on is refused even on the node's first restart.
    let s = Arc::clone(&shared);
    shared.spawn(async move { raise_log_bytes(&s, log_bytes).await });
    Ok((log, shared, fatal_rx))
}

/// Switches the log's fsync off, for [`RuntimeBug::SkipFsync`].
fn skip_fsync(log: &mut Log) {
    match log {
        Log::File(Some(wal)) => wal.set_skip_fsync(true),
        Log::File(None) => {}
        Log::Sim(wal) => wal.set_skip_fsync(true),
    }
}

/// Runs blocking file work off the runtime's threads for real files, inline under
/// simulation (where it never blocks, and running inline keeps the run deterministic).
pub(crate) async fn blocking<R: Send + 'static>(
    storage: Storage,
    f: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    match storage {
        Storage::Files => tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| io::Error::other(format!("file I/O thread failed: {e}")))?,
        Storage::Simulated => f(),
    }
}

/// Rewrites the identity file with `change` applied, durably, one writer at a time;
/// nothing is written if `change` changes nothing.
pub(crate) async fn update_identity<N: Net>(
    shared: &Shared<N>,
    change: impl FnOnce(&mut identity::Identity),
) -> io::Result<()> {
    let mut current = shared.identity.lock().await;
    let mut next = current.clone();
    change(&mut next);
    if next == *current {
        return Ok(());
    }
    let (storage, dir, written) = (shared.storage, shared.config.data_dir.clone(), next.clone());
    blocking(storage, move || identity::write(storage, &dir, &written)).await?;
    *current = next;
    Ok(())
}

/// Records in the identity file that the log holds at least `len` durable bytes (see
/// `identity`). A failure is fatal: the node could not keep its identity current.
///
/// With [`RuntimeBug::SkipFsync`] nothing is recorded: the log is durable only up to
/// what its last open fsynced, and a length past that would make the node refuse its own
/// directory after a power loss (a short log), which is the defence the bug's Jepsen run
/// must do without: it is to be caught as a lost acknowledged write.
async fn raise_log_bytes<N: Net>(shared: &Shared<N>, len: u64) {
    if shared.config.runtime_bug == Some(RuntimeBug::SkipFsync) {
        return;
    }
    if let Err(e) = update_identity(shared, |i| i.log_bytes = i.log_bytes.max(len)).await {
        shared.fail(e);
    }
}

/// How often, at most, the identity file's log length is raised as the log grows. What
/// was appended since the last raise is protected only as a torn tail is: a shorter
/// interval narrows that window and costs an fsync pair each time.
const LOG_BYTES_INTERVAL: Duration = Duration::from_secs(1);

/// What every task of a node shares.
pub(crate) struct Shared<N: Net> {
    pub(crate) config: NodeConfig,
    pub(crate) net: N,
    pub(crate) storage: Storage,
    state: Mutex<State>,
    commit: Arc<CommitQueue>,
    /// Every task started, to abort them when the node stops.
    tasks: Mutex<Vec<AbortHandle>>,
    fatal: mpsc::UnboundedSender<io::Error>,
    /// The identity file's contents, locked while it is rewritten (see
    /// [`update_identity`]).
    identity: tokio::sync::Mutex<identity::Identity>,
    /// The data directory's lock, held for as long as any task may touch the directory.
    _lock: crate::sim::net::DirLock,
}

impl<N: Net> Shared<N> {
    /// The state lock. A panic while it was held means a broken invariant: the node
    /// reports it as fatal and stops rather than go on from a half-updated state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let _ = self.fatal.send(io::Error::other(
                    "internal error: a task panicked while updating the node's state",
                ));
                poisoned.into_inner()
            }
        }
    }

    /// Runs `f` under the state lock, then starts the links it created.
    pub(crate) fn with_state<R>(self: &Arc<Self>, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, links) = {
            let mut st = self.lock();
            let result = f(&mut st);
            (result, std::mem::take(&mut st.new_links))
        };
        for link in links {
            let s = Arc::clone(self);
            self.spawn(async move { links::run(s, link).await });
        }
        result
    }

    /// Starts a task that is aborted when the node stops, behind the node's pause switch
    /// if it has one.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = match &self.config.pause {
            Some(pause) => tokio::spawn(pause.gate(task)).abort_handle(),
            None => tokio::spawn(task).abort_handle(),
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Connections come and go; forget finished tasks now and then.
        if tasks.len() >= 64 && tasks.len().is_power_of_two() {
            tasks.retain(|t| !t.is_finished());
        }
        tasks.push(handle);
    }

    /// Reports a failure after which the node must stop.
    pub(crate) fn fail(&self, e: io::Error) {
        let _ = self.fatal.send(e);
    }

    /// The wall clock with this node's skew, in microseconds.
    pub(crate) fn wall_clock_us(&self) -> u64 {
        let skewed = self.net.wall_clock_us() as i64 + self.config.clock_skew_ms * 1000;
        skewed.max(1) as u64
    }
}

/// Aborts every task of the node when [`serve`]'s future ends or is dropped.
struct StopOnDrop<N: Net>(Arc<Shared<N>>);

impl<N: Net> Drop for StopOnDrop<N> {
    fn drop(&mut self) {
        let tasks = std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
        // Links and client connections hold queues the aborted tasks no longer drain.
        for link in self.0.lock().links.values() {
            link.out.close();
        }
    }
}

/// Makes batches durable, then releases what waited for them.
async fn committer_task<N: Net>(shared: Arc<Shared<N>>, mut log: Log) {
    let commit = Arc::clone(&shared.commit);
    let mut batch = Batch::default();
    let mut next_raise = tokio::time::Instant::now() + LOG_BYTES_INTERVAL;
    loop {
        commit.take(&mut batch).await;
        let records = batch.ends.len();
        if records > 0 {
            let bytes = std::mem::take(&mut batch.records);
            let ends = std::mem::take(&mut batch.ends);
            match log.commit(bytes, ends).await {
                Ok(buffers) => {
                    batch.records = buffers.records;
                    batch.ends = buffers.ends;
                    let now = tokio::time::Instant::now();
                    if now >= next_raise {
                        next_raise = now + LOG_BYTES_INTERVAL;
                        let (s, len) = (Arc::clone(&shared), log.len_bytes());
                        shared.spawn(async move { raise_log_bytes(&s, len).await });
                    }
                }
                Err(e) => {
                    // The log is poisoned (see `wal`): nothing in this batch may be
                    // acknowledged, and nothing later can be made durable.
                    shared.fail(io::Error::new(
                        e.kind(),
                        format!("write-ahead log failed: {e}"),
                    ));
                    return;
                }
            }
        }
        let last_lsn = batch.last_lsn;
        let mut done = std::mem::take(&mut batch.done);
        shared.with_state(|st| {
            st.durable(last_lsn, records);
            for d in done.drain(..) {
                st.reply(d.to, d.frame);
            }
        });
        batch.records.clear();
        batch.ends.clear();
        batch.done = done;
        batch.last_lsn = 0;
    }
}

/// Every few hint rounds, the membership is gossiped to every peer.
const GOSSIP_EVERY_ROUNDS: u32 = 5;

/// Expires requests, hands off slow writes, delivers hints and gossips membership.
async fn timer_task<N: Net>(shared: Arc<Shared<N>>) {
    let mut interval = tokio::time::interval(shared.config.tick());
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let hint_interval = shared.config.hint_interval;
    let mut next_round = tokio::time::Instant::now() + hint_interval;
    let mut rounds: u32 = 0;
    loop {
        let now = interval.tick().await;
        shared.with_state(|st| {
            st.expire(now);
            if now >= next_round {
                next_round = now + hint_interval;
                rounds = rounds.wrapping_add(1);
                st.deliver_hints();
                if rounds % GOSSIP_EVERY_ROUNDS == 0 {
                    st.gossip();
                }
            }
        });
    }
}

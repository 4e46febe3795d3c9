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
//! - Versions stay unique across restarts: each boot appends a `Boot` record, and the
//!   count of them is the coordinator's incarnation.
//!
//! # Stopping
//!
//! [`run`] serves until it fails (it cannot bind, or the log fails, or an internal error
//! poisons the state) or its future is dropped: dropping it aborts every task it started.
//! A log write on the blocking pool that is in flight finishes first, so to restart a node
//! on the same data directory in the same process, drop the runtime it ran on (that waits
//! for the blocking pool), as [`crate::kv::cluster`] does.

mod commit;
mod links;
mod members;
mod outbox;
mod record;
mod serve;
mod state;

use super::core::Bug;
use super::membership::Membership;
use super::NodeId;
use crate::sim::net::{Log, Net, Storage};
use commit::{Batch, CommitQueue};
use state::State;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

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
    /// The node's own directory; the write-ahead log lives in it.
    pub data_dir: PathBuf,
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
            rf: 3,
            vnodes: 128,
            request_timeout: Duration::from_secs(1),
            handoff_delay: None,
            hint_interval: Duration::from_millis(200),
            heartbeat: Duration::from_millis(100),
            bug: None,
            clock_skew_ms: 0,
            joining: false,
            quiet: false,
        }
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
        {
            return Err("timeouts and intervals must be positive".into());
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
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let (log, shared, mut fatal) = boot(config, net, storage).await?;
    let _stop = StopOnDrop(Arc::clone(&shared));
    let committer = Arc::clone(&shared);
    shared.spawn(async move { committer_task(committer, log).await });
    let timers = Arc::clone(&shared);
    shared.spawn(async move { timer_task(timers).await });
    shared.with_state(|st| st.create_links());
    loop {
        tokio::select! {
            biased;
            Some(e) = fatal.recv() => {
                shared.lock().log(format_args!("stopping: {e}"));
                return Err(e);
            }
            accepted = shared.net.accept(&listener) => match accepted {
                Ok((reader, writer)) => {
                    let s = Arc::clone(&shared);
                    shared.spawn(async move { serve::connection(s, reader, writer).await });
                }
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

/// Opens and replays the log, logs the boot, and builds the node's shared state.
async fn boot<N: Net>(
    config: NodeConfig,
    net: N,
    storage: Storage,
) -> io::Result<(Log, Arc<Shared<N>>, mpsc::UnboundedReceiver<io::Error>)> {
    let dir = config.data_dir.clone();
    let (mut log, recovered) = match storage {
        // Reading a whole log is blocking file I/O: keep it off the runtime's threads.
        Storage::Files => tokio::task::spawn_blocking(move || storage.open(&dir))
            .await
            .map_err(|e| io::Error::other(format!("log recovery thread failed: {e}")))??,
        Storage::Simulated => storage.open(&dir)?,
    };
    let recovery = record::replay(&recovered.records)?;
    let incarnation = recovery.boots + 1;
    let mut boot_record = Vec::new();
    record::boot(&mut boot_record);
    let len = boot_record.len();
    // Durable before any version is chosen with this incarnation.
    log.commit(boot_record, vec![len]).await?;

    let membership = match recovery.membership {
        Some(m) => m,
        None if config.joining => Membership::initial(BTreeMap::new()),
        None => Membership::initial(config.peers.clone()),
    };
    let commit = Arc::new(CommitQueue::default());
    let mut state = State::new(
        &config,
        incarnation,
        recovery.replica,
        membership,
        Arc::clone(&commit),
    );
    state.stats.recovered_records = recovered.records.len() as u64;
    state.stats.torn_bytes = recovered.torn_bytes;
    let damage = recovered
        .damage
        .map(|d| format!(" ({d:?})"))
        .unwrap_or_default();
    state.log(format_args!(
        "booted incarnation {incarnation} from {}: {} records recovered, {} torn bytes cut{damage}, {} keys, {} hints, membership {}{}",
        config.data_dir.display(),
        recovered.records.len(),
        recovered.torn_bytes,
        state.replica.values().count(),
        state.replica.hint_count(),
        state.membership,
        state.bug().map(|b| format!(", running with bug {}", b.name())).unwrap_or_default(),
    ));
    let (fatal_tx, fatal_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        config,
        net,
        state: Mutex::new(state),
        commit,
        tasks: Mutex::new(Vec::new()),
        fatal: fatal_tx,
    });
    Ok((log, shared, fatal_rx))
}

/// What every task of a node shares.
pub(crate) struct Shared<N: Net> {
    pub(crate) config: NodeConfig,
    pub(crate) net: N,
    state: Mutex<State>,
    commit: Arc<CommitQueue>,
    /// Every task started, to abort them when the node stops.
    tasks: Mutex<Vec<AbortHandle>>,
    fatal: mpsc::UnboundedSender<io::Error>,
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

    /// Starts a task that is aborted when the node stops.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task).abort_handle();
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

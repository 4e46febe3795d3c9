//! The Raft node runtime: one sans-IO [`core::Node`](crate::raft::core::Node) driven by a
//! tick timer, TCP links to its peers, a client listener and a durable data directory,
//! generic over [`Net`] and [`Storage`] so that the same code runs as a process on
//! loopback TCP (`raft-node`) and inside turmoil's simulation.
//!
//! # Tasks
//!
//! - the **driver** (module `driver`) owns the core, the data directory and the state
//!   machine. It steps the core on every tick and every event the other tasks send it,
//!   and carries out the effects strictly in order: a persist is durable before any later
//!   effect (consecutive persists of one step share one fsync), then messages are queued,
//!   entries applied and clients answered. Ticks come from the node's [`clock`]: elapsed
//!   time at [`NodeConfig::clock_rate_percent`], every missed tick stepped before the next
//!   event, and nothing at all while a [`PauseSwitch`] is set;
//! - one outgoing **link** per peer (module `peers`) connects, reconnects with exponential
//!   backoff, writes the queued messages in batches, and reconnects when the peer stops
//!   acknowledging them;
//! - the **peer accept loop** reads the links the peers opened to this node, and
//!   acknowledges what it reads on each;
//! - the **client accept loop** (module `client`) serves the client protocol below.
//!
//! # Durability
//!
//! The data directory's files and their recovery are described in [`disk`]: the log in
//! the shared checksummed write-ahead log, the term and vote in a small file replaced
//! atomically, the snapshot in its own file. Once every [`NodeConfig::snapshot_every`]
//! applied entries the driver hands the core the state machine's state
//! ([`Input::Compact`]), and the log is rewritten with
//! only the entries after the snapshot, so a node that runs for hours keeps neither its
//! whole history on disk nor in memory. A damaged or locked directory is a [`Refusal`]
//! naming the file.
//!
//! # Client protocol
//!
//! On the client address, one request per line (`\n`-terminated, at most
//! [`client::MAX_LINE_BYTES`]), one reply line per request, in order:
//!
//! ```text
//! propose <command>   the rest of the line is the command (1 to 16384 bytes)
//!   -> ok <index> <reply>                applied at <index>; <reply> is the state
//!                                        machine's (the log service: the command's
//!                                        position in the list)
//!   -> not-leader <id|-> <client-addr|-> this node is not the leader; the leader it knows
//!                                        and where it serves clients, if known
//!   -> lost <index>                      another entry was committed at <index>: the
//!                                        command will never be applied (definite)
//!   -> unknown <index> <why>             a snapshot replaced the entries around it
//!   -> timeout <why>                     not applied within the wait (indefinite)
//!   -> error <why>                       a malformed request
//! read <query>        the rest of the line is a query for the state machine
//!   -> ok <index> <reply>                served from the state after applying <index>,
//!                                        once the core confirmed this node still led
//!                                        after the read arrived (ReadIndex, or a lease
//!                                        with NodeConfig::read_mode)
//!   -> not-leader <id|-> <client-addr|-> as for propose
//!   -> timeout <why>                     not served within the wait (a read changes
//!                                        nothing: definite)
//!   -> error <why>                       a malformed request
//! status
//!   -> status id=<n> role=<follower|pre-candidate|candidate|leader> term=<t>
//!      leader=<n|-> commit=<i> applied=<i> snapshot=<i> first=<i> last=<i>
//!      wal_bytes=<n> fsyncs=<n> <state machine summary: count=<n> digest=<hex> latest=<cmd>>
//! ```
//!
//! `snapshot` is the last index of the latest snapshot (0 for none), `first` and `last`
//! the indices the log holds, `wal_bytes` the write-ahead log's length, `fsyncs` the fsyncs since the node started. A proposal is
//! answered only once it is applied on this node (or known lost), so `ok` means
//! committed. A read is not logged; the log service answers every query with its summary.
//!
//! # Runtime bugs
//!
//! [`NodeConfig::runtime_bug`] builds in a bug of the runtime around a correct core:
//! [`RuntimeBug::SkipFsync`] never fsyncs ([`disk`]), [`RuntimeBug::ReadFromAnyNode`]
//! answers a read from the local state machine at once, leader or not.
//!
//! # Stopping
//!
//! [`run`] serves until an I/O error (the node must not go on after a failed persist) or
//! until its future is dropped, which aborts the tasks it started. Nothing is left half
//! done by a drop: the driver carries out a step's effects without yielding.

pub mod bugs;
pub mod cli;
pub mod client;
pub mod clock;
pub mod codec;
pub mod disk;
mod driver;
pub mod machine;
mod peers;
pub mod trace;

pub use bugs::RuntimeBug;
pub use clock::{ClockRate, PauseSwitch};
pub use disk::{is_refusal, Refusal};
pub use driver::{role_name, ProposeOutcome, StatusReport};
pub use machine::{LogService, StateMachine};

use crate::raft::core::{Bug, Config, Input, Node, ReadMode, TimingBug};
use crate::raft::NodeId;
use crate::sim::net::{Net, Storage};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How a node is set up. [`NodeConfig::new`] fills in the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// This server's id: its index in `peers`.
    pub id: NodeId,
    /// Every server's peer address (`host:port`), in id order; this node listens on its
    /// own (under turmoil, on that port of its host).
    pub peers: Vec<String>,
    /// Where to serve clients.
    pub client: String,
    /// The node's own directory (created if missing).
    pub data_dir: PathBuf,
    /// One tick of the core's logical clock (default 10 ms).
    pub tick: Duration,
    /// The base election timeout in ticks; each is drawn from `[e, 2e)` (default 15).
    pub election_ticks: u32,
    /// The heartbeat interval in ticks (default a fifth of `election_ticks`, at least 1).
    pub heartbeat_ticks: u32,
    /// Compact after this many applied entries (0: never; default 1000).
    pub snapshot_every: u64,
    /// The most entries one AppendEntries carries (default 64): a follower further
    /// behind catches up over several rounds.
    pub max_entries_per_message: usize,
    /// Seeds the election timeouts.
    pub entropy: u64,
    /// A known core bug to run with.
    pub bug: Option<Bug>,
    /// A known runtime bug to run with.
    pub runtime_bug: Option<RuntimeBug>,
    /// How reads are confirmed: ReadIndex (the default) or leader leases, which rely on
    /// clocks drifting less than `max_clock_drift_percent`.
    pub read_mode: ReadMode,
    /// The bound on the rate difference between nodes' clocks that leases assume
    /// (default 10%).
    pub max_clock_drift_percent: u32,
    /// A known timing bug to run with (it shows only in the lease mode under skew).
    pub timing_bug: Option<TimingBug>,
    /// Append a trace of every step of the core, and of what the runtime carried out for
    /// it, to this file (JSON Lines, see [`trace`]); `None` records nothing.
    pub trace: Option<PathBuf>,
    /// How long a proposal waits to be applied, or a read to be served, before the client
    /// is told `timeout` (default 5 s).
    pub propose_timeout: Duration,
    /// How much faster this node's clock runs than real time, in percent (negative:
    /// slower; default 0). Ticks are derived from elapsed time at this rate
    /// ([`clock`](self::clock)), so clock skew between nodes is configuration.
    pub clock_rate_percent: i32,
    /// A switch that stops the node as SIGSTOP would, for simulations (default none).
    pub pause: Option<PauseSwitch>,
    /// A clock rate a nemesis may change while the node runs (clock skew in a
    /// simulation); when set it overrides `clock_rate_percent` (default none).
    pub clock_rate: Option<ClockRate>,
    /// Log nothing to stderr.
    pub quiet: bool,
}

impl NodeConfig {
    /// A configuration with the defaults above.
    pub fn new(
        id: NodeId,
        peers: Vec<String>,
        client: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> NodeConfig {
        NodeConfig {
            id,
            peers,
            client: client.into(),
            data_dir: data_dir.into(),
            tick: Duration::from_millis(10),
            election_ticks: 15,
            heartbeat_ticks: 3,
            snapshot_every: 1000,
            max_entries_per_message: Config::new(0, 1).max_entries_per_message,
            entropy: 0,
            bug: None,
            runtime_bug: None,
            read_mode: ReadMode::Index,
            max_clock_drift_percent: 10,
            timing_bug: None,
            trace: None,
            propose_timeout: Duration::from_secs(5),
            clock_rate_percent: 0,
            pause: None,
            clock_rate: None,
            quiet: false,
        }
    }

    /// The default heartbeat for an election timeout: a fifth of it, at least one tick.
    pub fn heartbeat_for(election_ticks: u32) -> u32 {
        (election_ticks / 5).max(1)
    }

    /// Checks the values against each other; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.peers.is_empty() || self.peers.len() > usize::from(NodeId::MAX) {
            return Err(format!(
                "peers: a cluster has 1 to {} servers, not {}",
                NodeId::MAX,
                self.peers.len()
            ));
        }
        if usize::from(self.id) >= self.peers.len() {
            return Err(format!(
                "id: {} is not an index into the {} peers (ids start at 0)",
                self.id,
                self.peers.len()
            ));
        }
        if self.tick.is_zero() {
            return Err("tick: must be positive".into());
        }
        if self.election_ticks < 2 {
            return Err("election ticks: at least 2".into());
        }
        if self.heartbeat_ticks == 0 || self.heartbeat_ticks >= self.election_ticks {
            return Err(format!(
                "heartbeat ticks: 1 to {} (below the election timeout)",
                self.election_ticks - 1
            ));
        }
        if self.max_clock_drift_percent >= 100 {
            return Err(format!(
                "max clock drift: {}% leaves no lease (at most 99%)",
                self.max_clock_drift_percent
            ));
        }
        if !clock::CLOCK_RATE_RANGE.contains(&self.clock_rate_percent) {
            return Err(format!(
                "clock rate: {}% is outside {}% to {}%",
                self.clock_rate_percent,
                clock::CLOCK_RATE_RANGE.start(),
                clock::CLOCK_RATE_RANGE.end()
            ));
        }
        Ok(())
    }

    /// The core's configuration.
    pub fn core_config(&self) -> Config {
        let mut c = Config::new(self.id, self.peers.len() as u8);
        c.election_ticks = self.election_ticks;
        c.heartbeat_ticks = self.heartbeat_ticks;
        c.max_entries_per_message = self.max_entries_per_message;
        c.entropy = self.entropy;
        c.bug = self.bug;
        c.read_mode = self.read_mode;
        c.max_clock_drift_percent = self.max_clock_drift_percent;
        c.timing_bug = self.timing_bug;
        c
    }
}

/// Where a node's log lines go: stderr, prefixed with the node's id, unless quiet.
#[derive(Clone, Debug)]
pub(crate) struct Log {
    prefix: Arc<str>,
    quiet: bool,
}

impl Log {
    pub(crate) fn new(id: NodeId, quiet: bool) -> Log {
        Log {
            prefix: format!("raft-node n{id}").into(),
            quiet,
        }
    }

    pub(crate) fn say(&self, what: fmt::Arguments<'_>) {
        if !self.quiet {
            eprintln!("{}: {what}", self.prefix);
        }
    }
}

/// Runs a node with the log service as its state machine; see [`run_with`].
pub async fn run<N: Net>(config: NodeConfig, net: N, storage: Storage) -> io::Result<()> {
    run_with(config, net, storage, LogService::new()).await
}

/// Recovers the node from its data directory and serves until an I/O error or until the
/// future is dropped. Fails with a [`Refusal`] on a damaged or locked directory and with
/// [`io::ErrorKind::InvalidInput`] on an invalid configuration, before it serves.
pub async fn run_with<N: Net, M: StateMachine>(
    config: NodeConfig,
    net: N,
    storage: Storage,
    mut machine: M,
) -> io::Result<()> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let log = Log::new(config.id, config.quiet);
    let (disk, durable, notes) = if config.runtime_bug == Some(RuntimeBug::SkipFsync) {
        disk::DataDir::open_without_fsync(storage, &config.data_dir)?
    } else {
        disk::DataDir::open(storage, &config.data_dir)?
    };
    if notes.torn_bytes > 0 {
        log.say(format_args!(
            "cut a torn tail of {} bytes off {} (a write interrupted by a crash)",
            notes.torn_bytes,
            config.data_dir.join(disk::WAL_FILE).display()
        ));
    }
    if let Some(s) = &durable.snapshot {
        machine.restore(&s.data).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                Refusal(format!(
                    "snapshot file {} does not restore the state machine: {why}",
                    config.data_dir.join(disk::SNAPSHOT_FILE).display()
                )),
            )
        })?;
    }
    log.say(format_args!(
        "recovered term {}, {} entries after index {}",
        durable.term,
        durable.entries.len(),
        durable.snapshot.as_ref().map_or(0, |s| s.last_index)
    ));
    let recorder = match &config.trace {
        Some(path) => Some(trace::Recorder::start(
            path,
            &config.core_config(),
            &durable,
        )?),
        None => None,
    };
    let node = Node::restart(config.core_config(), durable);

    let peer_listener = net.bind(&config.peers[usize::from(config.id)]).await?;
    let client_listener = net.bind(&config.client).await?;
    let (events_tx, mut events) = mpsc::channel(4096);
    let mut tasks = JoinSet::new();
    let mut links = Vec::new();
    let mut client_addrs = vec![None; config.peers.len()];
    // Twice the longest election timeout, and at least half a second: far longer than an
    // acknowledgement takes on a live connection (the receiver writes it as it reads).
    let silence = (config.tick * config.election_ticks * 4).max(Duration::from_millis(500));
    client_addrs[usize::from(config.id)] = Some(config.client.clone());
    for (peer, addr) in config.peers.iter().enumerate() {
        if peer == usize::from(config.id) {
            links.push(None);
            continue;
        }
        let (tx, rx) = mpsc::channel(peers::LINK_QUEUE_FRAMES);
        links.push(Some(tx));
        let setup = peers::LinkSetup {
            net: net.clone(),
            id: config.id,
            peer: peer as NodeId,
            addr: addr.clone(),
            client_addr: config.client.clone(),
            backoff_min: config.tick,
            backoff_max: (config.tick * 50).min(Duration::from_millis(500)),
            silence,
            log: log.clone(),
        };
        tasks.spawn(peers::link(setup, rx));
    }
    tasks.spawn(peers::accept(
        net.clone(),
        peer_listener,
        config.id,
        config.peers.len() as u8,
        events_tx.clone(),
        log.clone(),
    ));
    tasks.spawn(client::accept(
        net.clone(),
        client_listener,
        events_tx.clone(),
        config.propose_timeout,
        log.clone(),
    ));
    log.say(format_args!(
        "serving peers on {} and clients on {}",
        config.peers[usize::from(config.id)],
        config.client
    ));

    let mut driver = driver::Driver::new(
        node,
        disk,
        machine,
        config.snapshot_every,
        links,
        client_addrs,
        log,
    );
    driver.runtime_bug = config.runtime_bug;
    driver.trace = recorder;
    let mut clock = clock::TickClock::new(config.tick, config.clock_rate_percent)
        .with_shared_rate(config.clock_rate.clone());
    let mut pause = config.pause.as_ref().map(PauseSwitch::watch);
    loop {
        catch_up(&mut driver, &mut clock, &mut pause).await?;
        tokio::select! {
            biased;
            () = clock::pause_changed(&mut pause) => {}
            () = tokio::time::sleep_until(clock.next_due()) => {}
            event = events.recv() => {
                // Received just as the switch was set, it waits as the queue does; and
                // it is handled after every tick that came due meanwhile.
                catch_up(&mut driver, &mut clock, &mut pause).await?;
                match event {
                    // With every event queued behind it: one fsync for all.
                    Some(event) => driver.handle_queued(event, &mut events)?,
                    // The driver holds a sender, so the channel never closes.
                    None => return Ok(()),
                }
            }
        }
    }
}

/// Waits while the node is paused, then steps every tick that came due: a node resuming
/// from a pause sees its timers (a leader's lease among them) run out before it handles
/// anything that waited in its queue.
async fn catch_up<M: StateMachine>(
    driver: &mut driver::Driver<M>,
    clock: &mut clock::TickClock,
    pause: &mut Option<tokio::sync::watch::Receiver<bool>>,
) -> io::Result<()> {
    clock::wait_while_paused(pause).await;
    for _ in 0..clock.take_due(tokio::time::Instant::now()) {
        driver.step(Input::Tick, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

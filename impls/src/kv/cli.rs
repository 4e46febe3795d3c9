//! The command lines of `kv-node` (run a node) and `kv` (talk to one), as library functions
//! so that other binaries can embed them: the harness's `check` binary runs a node as a
//! hidden subcommand by forwarding its arguments to [`node_main`].
//!
//! Exit codes: 0 success; 1 a failed request (`kv`, which says whether it was definite)
//! or a node that stopped on an error (`kv-node`); 2 a usage error, naming the argument,
//! or a node that refused to start on its data directory
//! ([`Refusal`](super::node::Refusal): a lock held by another node, another node's or
//! cluster's directory, a missing or corrupt log), naming the directory and the way out.

use super::bench::{self, BenchConfig, Mix};
use super::client::Client;
use super::core::Consistency;
use super::error::KvError;
use super::node::{self, NodeBug, NodeConfig};
use super::NodeId;
use crate::sim::net::{Storage, TokioNet};
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `kv-node`: one node of the quorum-replicated key-value store.
#[derive(Parser, Debug)]
#[command(name = "kv-node", version, about)]
struct NodeArgs {
    /// This node's id (a positive integer, stable across restarts).
    #[arg(long, value_parser = parse_node_id)]
    id: NodeId,
    /// Address to listen on; defaults to this node's address in the --peer list.
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// A member of the cluster, this node included: --peer 1=127.0.0.1:7001 (repeat).
    #[arg(long = "peer", value_name = "ID=HOST:PORT", value_parser = parse_peer)]
    peers: Vec<(NodeId, String)>,
    /// Data directory (created if missing): identity file, lock and write-ahead log.
    #[arg(long = "data", value_name = "DIR")]
    data: PathBuf,
    /// The cluster's id, checked against the data directory's [default: derived from the
    /// --peer list].
    #[arg(long, value_name = "ID")]
    cluster: Option<String>,
    /// Give up whatever the data directory holds (a lost or corrupt log) and rejoin as a
    /// new, empty replica; it answers no reads until its peers have repaired it.
    #[arg(long = "rejoin-empty")]
    rejoin_empty: bool,
    /// Client connections served at once; more are refused.
    #[arg(long = "max-connections", default_value_t = node::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Close a client connection that sends nothing for this many milliseconds.
    #[arg(long = "idle-timeout-ms", default_value_t = node::DEFAULT_IDLE_TIMEOUT.as_millis() as u64)]
    idle_timeout_ms: u64,
    /// Close a connection whose frame does not arrive in full within this many
    /// milliseconds of its first byte.
    #[arg(long = "frame-timeout-ms", default_value_t = node::DEFAULT_FRAME_TIMEOUT.as_millis() as u64)]
    frame_timeout_ms: u64,
    /// Replicas per key.
    #[arg(long, default_value_t = 3)]
    rf: usize,
    /// Virtual nodes per node on the hash ring.
    #[arg(long, default_value_t = 128)]
    vnodes: usize,
    /// Request timeout in milliseconds.
    #[arg(long = "timeout-ms", default_value_t = 1000)]
    timeout_ms: u64,
    /// Hand a write off to a fallback after this many milliseconds without a replica's
    /// acknowledgement [default: a quarter of the timeout].
    #[arg(long = "handoff-ms")]
    handoff_ms: Option<u64>,
    /// Offer held hints to their replicas every this many milliseconds.
    #[arg(long = "hint-interval-ms", default_value_t = 200)]
    hint_interval_ms: u64,
    /// Heartbeat interval in milliseconds; a peer silent for four is down.
    #[arg(long = "heartbeat-ms", default_value_t = 100)]
    heartbeat_ms: u64,
    /// Run with a known bug, of the protocol's core or of the node's runtime.
    #[arg(long, value_enum)]
    bug: Option<NodeBug>,
    /// Skew this node's wall clock by this many milliseconds (only wall-clock-lww reads it).
    #[arg(
        long = "clock-skew-ms",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_skew_ms: i64,
    /// Start outside the cluster and wait for `kv admin join` on a member.
    #[arg(long)]
    joining: bool,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Log nothing to stderr.
    #[arg(long)]
    quiet: bool,
}

/// Runs `kv-node` with `args` (the first is the program name, as in
/// [`std::env::args_os`]). Serves until killed; returns 1 if the node stops on an error,
/// 2 on a usage error or a refusal to start on its data directory.
pub fn node_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match NodeArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    let config = match node_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kv-node: error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kv-node: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(node::run(config, TokioNet, Storage::Files)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if node::is_refusal(&e) => {
            eprintln!("kv-node n{}: refusing to start: {e}", args.id);
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("kv-node n{}: error: {e}", args.id);
            ExitCode::from(1)
        }
    }
}

fn node_config(args: &NodeArgs) -> Result<NodeConfig, String> {
    let mut peers = BTreeMap::new();
    for (id, addr) in &args.peers {
        if peers.insert(*id, addr.clone()).is_some() {
            return Err(format!("--peer lists node {id} twice"));
        }
    }
    let listen = match (&args.listen, peers.get(&args.id)) {
        (Some(l), _) => l.clone(),
        (None, Some(addr)) => addr.clone(),
        (None, None) => {
            return Err(format!(
                "--listen is required when --peer does not list this node ({})",
                args.id
            ))
        }
    };
    if args.joining && args.listen.is_none() && !peers.contains_key(&args.id) {
        return Err("a joining node needs --listen".into());
    }
    check_addr(&listen).map_err(|e| format!("--listen {listen}: {e}"))?;
    if args.data.exists() && !args.data.is_dir() {
        return Err(format!(
            "--data {}: it exists and is not a directory",
            args.data.display()
        ));
    }
    let mut c = NodeConfig::new(args.id, listen, peers, args.data.clone());
    c.cluster = args.cluster.clone();
    c.rejoin_empty = args.rejoin_empty;
    c.max_connections = args.max_connections;
    c.idle_timeout = Duration::from_millis(args.idle_timeout_ms);
    c.frame_timeout = Duration::from_millis(args.frame_timeout_ms);
    c.rf = args.rf;
    c.vnodes = args.vnodes;
    c.request_timeout = Duration::from_millis(args.timeout_ms);
    c.handoff_delay = args.handoff_ms.map(Duration::from_millis);
    c.hint_interval = Duration::from_millis(args.hint_interval_ms);
    c.heartbeat = Duration::from_millis(args.heartbeat_ms);
    match args.bug {
        Some(NodeBug::Core(b)) => c.bug = Some(b),
        Some(NodeBug::Runtime(b)) => c.runtime_bug = Some(b),
        None => {}
    }
    c.clock_skew_ms = args.clock_skew_ms;
    c.joining = args.joining;
    c.quiet = args.quiet;
    c.validate().map_err(|e| {
        format!(
            "{e} (see --peer, --rf, --vnodes, --timeout-ms, --cluster, --max-connections, \
             --idle-timeout-ms, --frame-timeout-ms)"
        )
    })?;
    Ok(c)
}

/// Checks that `addr` is `HOST:PORT` with a port that fits in 16 bits.
fn check_addr(addr: &str) -> Result<(), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| "not of the form HOST:PORT".to_string())?;
    if host.is_empty() {
        return Err("the host is missing".into());
    }
    port.parse::<u16>()
        .map(|_| ())
        .map_err(|_| format!("{port:?} is not a port (0 to 65535)"))
}

/// `kv`: a client of the quorum-replicated key-value store.
#[derive(Parser, Debug)]
#[command(name = "kv", version, about)]
struct ClientArgs {
    /// The node to send the request to (any member coordinates any request).
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:7001",
        value_name = "HOST:PORT"
    )]
    node: String,
    /// Give up on the request after this many milliseconds.
    #[arg(long = "timeout-ms", global = true, default_value_t = 5000)]
    timeout_ms: u64,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Set KEY to VALUE.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        #[command(flatten)]
        level: Level,
    },
    /// Print KEY's value (nothing on stdout, and a note on stderr, if it was never set).
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        level: Level,
    },
    /// Print the node's counters.
    Stats,
    /// Print what the node's own store holds for KEY, with its version (not a consistent read).
    Inspect {
        /// The key.
        key: String,
    },
    /// Change or show the membership.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Measure throughput and latency on an in-process loopback cluster.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct Level {
    /// How many replicas must answer: one, quorum or all.
    #[arg(long, default_value = "quorum", value_parser = parse_consistency)]
    consistency: Consistency,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Print the membership the node follows.
    Members,
    /// Remove failed node N from the ring and copy its keys to their new replicas.
    /// Refused if N still answers (a live node leaves with `admin leave`) or if fewer
    /// members than the replication factor would remain.
    Fail {
        /// The failed node.
        #[arg(value_name = "N", value_parser = parse_node_id)]
        id: NodeId,
        /// Fail N even though it answers, e.g. a node cut off from its peers but not from
        /// this client. The replication-factor floor still holds.
        #[arg(long)]
        force: bool,
    },
    /// Remove live node N from the ring; it hands its keys to their new owners. Then
    /// waits (up to --wait-s) until N holds no more undelivered copies.
    Leave {
        /// The leaving node.
        #[arg(value_name = "N", value_parser = parse_node_id)]
        id: NodeId,
        /// The leaving node's address, to watch its hand-over.
        #[arg(long = "addr", value_name = "HOST:PORT")]
        addr: Option<String>,
        /// How long to wait for the hand-over, in seconds.
        #[arg(long = "wait-s", default_value_t = 60)]
        wait_s: u64,
    },
    /// Add node N, listening at ADDR (started with --joining), to the ring.
    Join {
        /// The new node.
        #[arg(value_name = "N", value_parser = parse_node_id)]
        id: NodeId,
        /// Its address.
        addr: String,
    },
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 5)]
    nodes: usize,
    /// Concurrent closed-loop clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Measured seconds.
    #[arg(long = "duration-s", default_value_t = 10)]
    duration_s: u64,
    /// Consistency level of every request.
    #[arg(long, default_value = "quorum", value_parser = parse_consistency)]
    consistency: Consistency,
    /// Percentage of puts (the rest are gets).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    puts: u32,
    /// Keys drawn from (all written before the run when it has gets; at most 64 MiB of
    /// values).
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// Seed of the clients' generators.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads per node (0: a current-thread runtime per node).
    #[arg(long = "node-threads", default_value_t = 1)]
    node_threads: usize,
    /// Directory for the nodes' logs, on the disk to measure [default: a temporary
    /// directory]. Each run needs an empty one.
    #[arg(long = "data", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Worker threads for the clients.
    #[arg(long = "client-threads", default_value_t = 1)]
    client_threads: usize,
}

/// Runs `kv` with `args` (the first is the program name). Returns 0 on success, 1 if the
/// request failed (saying whether it was definite), 2 on a usage error.
pub fn client_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match ClientArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    if let ClientCommand::Bench(b) = &args.command {
        return run_bench(b);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kv: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run_client(args))
}

async fn run_client(args: ClientArgs) -> ExitCode {
    let mut client = Client::lazy(TokioNet, args.node.clone());
    client.set_timeout(Duration::from_millis(args.timeout_ms));
    let (what, result): (&str, Result<(), KvError>) = match args.command {
        ClientCommand::Put { key, value, level } => (
            "put",
            client
                .put(&key, &value, level.consistency)
                .await
                .map(|()| println!("ok")),
        ),
        ClientCommand::Get { key, level } => (
            "get",
            client.get(&key, level.consistency).await.map(|v| match v {
                Some(v) => println!("{v}"),
                None => eprintln!("kv: {key:?} not found"),
            }),
        ),
        ClientCommand::Stats => (
            "stats",
            client.stats().await.map(|s| {
                for (name, value) in s.fields() {
                    println!("{name} {value}");
                }
            }),
        ),
        ClientCommand::Inspect { key } => (
            "inspect",
            client.inspect(&key).await.map(|v| match v {
                Some(v) => println!(
                    "{} (version {}.n{}.{})",
                    v.value, v.version.counter, v.version.node, v.version.incarnation
                ),
                None => eprintln!("kv: {} holds nothing for {key:?}", args.node),
            }),
        ),
        ClientCommand::Admin(AdminCommand::Members) => {
            ("admin members", client.members().await.map(print_members))
        }
        ClientCommand::Admin(AdminCommand::Fail { id, force }) => (
            "admin fail",
            fail_node(&mut client, id, force, args.timeout_ms)
                .await
                .map(print_members),
        ),
        ClientCommand::Admin(AdminCommand::Join { id, addr }) => (
            "admin join",
            client.add_node(id, &addr).await.map(print_members),
        ),
        ClientCommand::Admin(AdminCommand::Leave { id, addr, wait_s }) => {
            let removed = client.remove_node(id).await;
            let result = match (removed, addr) {
                (Ok(m), Some(addr)) => {
                    print_members(m);
                    wait_handed_over(&addr, Duration::from_secs(wait_s)).await
                }
                (Ok(m), None) => {
                    print_members(m);
                    Ok(())
                }
                (Err(e), _) => Err(e),
            };
            ("admin leave", result)
        }
        ClientCommand::Bench(_) => unreachable!("handled before the runtime starts"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let verdict = if e.definite() {
                "definite: it did not take effect"
            } else {
                "indefinite: it may have taken effect"
            };
            eprintln!(
                "kv: {what} via {} failed ({verdict}): {} (code {}): {}",
                args.node,
                e.code().name(),
                e.code().number(),
                e.text()
            );
            ExitCode::from(1)
        }
    }
}

/// Removes node `id`, unless it still answers and `force` is off: failing a live node
/// drops its copies without a hand-over, and failing the node this client talks to cuts
/// the client off. How long the probe waits is the client's timeout.
async fn fail_node(
    client: &mut Client<TokioNet>,
    id: NodeId,
    force: bool,
    timeout_ms: u64,
) -> Result<super::membership::Membership, KvError> {
    if !force {
        let members = client.members().await?;
        if let Some(addr) = members.members.get(&id) {
            let mut probe = Client::lazy(TokioNet, addr.clone());
            probe.set_timeout(Duration::from_millis(timeout_ms));
            if probe.stats().await.is_ok() {
                return Err(KvError::new(
                    super::error::ErrorCode::NotSupported,
                    format!(
                        "n{id} at {addr} answers, so it has not failed; a live node leaves \
                         with `kv admin leave {id} --addr {addr}`, which hands its keys over \
                         (or pass --force to fail it anyway)"
                    ),
                    true,
                ));
            }
        }
    }
    client.remove_node(id).await
}

fn print_members(m: super::membership::Membership) {
    println!("epoch {} ({})", m.epoch, m.made_by());
    for (id, addr) in &m.members {
        println!("n{id} {addr}");
    }
}

/// Polls a leaving node until it holds no undelivered copies.
async fn wait_handed_over(addr: &str, wait: Duration) -> Result<(), KvError> {
    let mut leaving = Client::lazy(TokioNet, addr.to_owned());
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let stats = leaving.stats().await?;
        if stats.hints_pending == 0 {
            eprintln!("kv: {addr} has handed over all its keys; it can be stopped");
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(KvError::new(
                super::error::ErrorCode::Timeout,
                format!(
                    "{addr} still holds {} undelivered copies",
                    stats.hints_pending
                ),
                true,
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn run_bench(b: &BenchArgs) -> ExitCode {
    let mut config = BenchConfig::new(
        b.nodes,
        b.clients,
        Duration::from_secs(b.duration_s),
        b.consistency,
        Mix::puts(b.puts),
    );
    config.keys = b.keys;
    config.seed = b.seed;
    config.node_threads = b.node_threads;
    config.client_threads = b.client_threads;
    config.data_dir = b.data.clone();
    eprintln!(
        "kv bench: {} nodes, {} clients, {} s, {}, {}% puts, {} keys, seed {}",
        b.nodes,
        b.clients,
        b.duration_s,
        b.consistency.name(),
        b.puts,
        b.keys,
        b.seed
    );
    match bench::bench_with(&config) {
        Ok(stats) => {
            println!("{stats}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kv bench: error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints a clap error (or help/version) and picks the exit code: 0 for help and
/// version, 2 for usage errors.
fn clap_exit(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_node_id(s: &str) -> Result<NodeId, String> {
    match s.parse::<NodeId>() {
        Ok(0) => Err("node ids start at 1".into()),
        Ok(id) => Ok(id),
        Err(_) => Err(format!("{s:?} is not a node id (a positive integer)")),
    }
}

fn parse_peer(s: &str) -> Result<(NodeId, String), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not ID=HOST:PORT"))?;
    let id = parse_node_id(id)?;
    check_addr(addr).map_err(|e| format!("{addr:?}: {e}"))?;
    Ok((id, addr.to_owned()))
}

fn parse_consistency(s: &str) -> Result<Consistency, String> {
    Consistency::from_name(s).ok_or_else(|| format!("{s:?} is not one of one, quorum, all"))
}

/// `--bug` takes the core's and the runtime's bug names, and its help lists them with
/// their summaries, so the command line has no list of its own to keep in step.
impl ValueEnum for NodeBug {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: std::sync::OnceLock<Vec<NodeBug>> = std::sync::OnceLock::new();
        ALL.get_or_init(NodeBug::all)
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let switch = self.switch();
        Some(PossibleValue::new(switch.name).help(switch.summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::core::Bug;

    fn node(args: &[&str]) -> Result<NodeConfig, String> {
        let args = NodeArgs::try_parse_from(std::iter::once("kv-node").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        node_config(&args)
    }

    #[test]
    fn a_node_listens_on_its_own_peer_address_by_default() {
        let c = node(&[
            "--id",
            "2",
            "--peer",
            "1=127.0.0.1:7001",
            "--peer",
            "2=127.0.0.1:7002",
            "--data",
            "d",
            "--bug",
            "sloppy-quorum",
            "--clock-skew-ms",
            "-50",
        ])
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:7002");
        assert_eq!(c.bug, Some(Bug::SloppyQuorum));
        assert_eq!(c.runtime_bug, None);
        let d = node(&[
            "--id",
            "1",
            "--peer",
            "1=x:1",
            "--data",
            "d",
            "--bug",
            "skip-fsync",
        ])
        .unwrap();
        assert_eq!(
            (d.bug, d.runtime_bug),
            (None, Some(node::RuntimeBug::SkipFsync))
        );
        assert_eq!(c.clock_skew_ms, -50);
        assert_eq!(c.handoff_delay(), Duration::from_millis(250));
    }

    #[test]
    fn usage_errors_name_the_argument() {
        let e = node(&[
            "--id", "1", "--peer", "1=x:1", "--data", "d", "--bug", "nope",
        ])
        .unwrap_err();
        assert!(
            e.contains("--bug") && e.contains("async-read-repair"),
            "{e}"
        );
        let e = node(&["--id", "3", "--peer", "1=x:1", "--data", "d"]).unwrap_err();
        assert!(e.contains("--listen"), "{e}");
        let e = node(&[
            "--id", "1", "--peer", "1=x:1", "--peer", "1=y:2", "--data", "d",
        ])
        .unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = node(&["--id", "0", "--data", "d"]).unwrap_err();
        assert!(e.contains("start at 1"), "{e}");
        let e = node(&["--id", "1", "--listen", "127.0.0.1:99999", "--data", "d"]).unwrap_err();
        assert!(e.contains("--listen") && e.contains("99999"), "{e}");
        let e = node(&["--id", "1", "--peer", "1=x:1", "--data", "/dev/null"]).unwrap_err();
        assert!(
            e.contains("--data /dev/null") && e.contains("not a directory"),
            "{e}"
        );
        let e = node(&[
            "--id",
            "1",
            "--peer",
            "1=x:1",
            "--data",
            "d",
            "--cluster",
            "a b",
        ])
        .unwrap_err();
        assert!(e.contains("cluster id"), "{e}");
    }

    #[test]
    fn client_usage_errors_exit_2() {
        assert_eq!(
            client_main(["kv", "get"].map(OsString::from)),
            ExitCode::from(2)
        );
        assert_eq!(
            client_main(["kv", "put", "k", "v", "--consistency", "most"].map(OsString::from)),
            ExitCode::from(2)
        );
    }
}

//! The `raft-node` command line, as a library function so that other binaries can embed
//! it; its flags ([`NodeFlags`]) and the serving loop ([`serve`]) are shared with
//! `raft-kv serve`.
//!
//! Exit codes: 0 after a clean stop (SIGINT or SIGTERM); 1 if the node stops on an I/O
//! error (it cannot bind, a persist failed); 2 on a usage error, naming the argument, or
//! a refusal to start on its data directory ([`Refusal`](super::Refusal): damaged files,
//! a lock held by another process), naming the file.

use super::{is_refusal, NodeConfig, RuntimeBug, StateMachine};
use crate::raft::core::{Bug, ReadMode, TimingBug};
use crate::raft::NodeId;
use crate::sansio::BugSwitches;
use crate::sim::net::{Storage, TokioNet};
use clap::{Args, Parser};
use std::ffi::OsString;
use std::hash::BuildHasher;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `raft-node`: one server of a Raft cluster replicating a log service.
#[derive(Parser, Debug)]
#[command(name = "raft-node", version, about)]
struct NodeArgs {
    #[command(flatten)]
    flags: NodeFlags,
}

/// The flags that set up a node, shared by `raft-node` and `raft-kv serve`.
#[derive(Args, Debug, Clone)]
pub struct NodeFlags {
    /// This server's id: its position in --peers, from 0.
    #[arg(long)]
    id: NodeId,
    /// Every server's peer address, in id order, this one included: HOST:PORT,HOST:PORT,...
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_addr)]
    peers: Vec<String>,
    /// Where to serve clients (see the client protocol in `impls::raft::node`).
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    client: String,
    /// Data directory (created if missing): hard state, log, snapshot and lock.
    #[arg(long = "data-dir", visible_alias = "data", value_name = "DIR")]
    data_dir: PathBuf,
    /// Milliseconds per tick of the logical clock.
    #[arg(long = "tick-ms", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Base election timeout in ticks; each timeout is drawn from [E, 2E).
    #[arg(long = "election-ticks", default_value_t = 15)]
    election_ticks: u32,
    /// Heartbeat interval in ticks [default: a fifth of --election-ticks, at least 1].
    #[arg(long = "heartbeat-ticks")]
    heartbeat_ticks: Option<u32>,
    /// Compact the log after this many applied entries (0: never).
    #[arg(long = "snapshot-every", default_value_t = 1000)]
    snapshot_every: u64,
    /// The most log entries one AppendEntries carries; a follower further behind catches
    /// up over several rounds.
    #[arg(long = "max-entries-per-message", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    max_entries_per_message: u64,
    /// Seed of the election timeouts [default: drawn from the operating system].
    #[arg(long)]
    seed: Option<u64>,
    /// Run the core with a known bug, by name.
    #[arg(long, value_parser = parse_bug)]
    bug: Option<Bug>,
    /// Run the runtime with a known bug, by name: skip-fsync (persists are never
    /// fsynced), read-from-any-node (reads are served from the local state without a read
    /// index), send-before-persist.
    #[arg(long = "runtime-bug", value_parser = parse_runtime_bug)]
    runtime_bug: Option<RuntimeBug>,
    /// How a read is confirmed: `index` (ReadIndex: a heartbeat round answered by a
    /// majority) or `lease` (no round while the leader's lease holds; clock-bound: safe
    /// only while clocks drift apart by less than --max-clock-drift-percent).
    #[arg(long = "read-mode", default_value = "index", value_parser = parse_read_mode)]
    read_mode: ReadMode,
    /// The drift between clock rates that leases allow for, in percent.
    #[arg(long = "max-clock-drift-percent", default_value_t = 10)]
    max_clock_drift_percent: u32,
    /// Run with a known timing bug, by name: lease-ignores-drift.
    #[arg(long = "timing-bug", value_parser = parse_timing_bug)]
    timing_bug: Option<TimingBug>,
    /// How much faster this node's clock runs than real time, in percent (negative:
    /// slower): clock skew, for tests.
    #[arg(
        long = "clock-rate-percent",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_rate_percent: i32,
    /// Append a JSON Lines trace of every step of the core and of what the node carried
    /// out for it to FILE, for `check raft --validate`.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// How long a proposal waits to be applied (or a read to be served), in milliseconds.
    #[arg(long = "propose-timeout-ms", default_value_t = 5000)]
    propose_timeout_ms: u64,
    /// Log nothing to stderr.
    #[arg(long)]
    quiet: bool,
}

/// Runs `raft-node` with `args` (the first is the program name, as in
/// [`std::env::args_os`]). Serves until SIGINT or SIGTERM (0), an I/O error (1), or a
/// usage error or refusal to start (2).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match NodeArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    serve("raft-node", &args.flags, super::LogService::new())
}

/// Serves a node set up by `flags` with `machine` as its state machine, until SIGINT or
/// SIGTERM (0), an I/O error (1), or a usage error or refusal to start (2); `name` starts
/// every message.
pub fn serve<M: StateMachine>(name: &str, flags: &NodeFlags, machine: M) -> ExitCode {
    let config = match flags.node_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let stop = Arc::new(tokio::sync::Notify::new());
    {
        let stop = Arc::clone(&stop);
        // Fails only if a handler is already installed (a host binary embedding this);
        // that handler then decides how the process stops.
        let _ = ctrlc::set_handler(move || stop.notify_one());
    }
    let id = config.id;
    let result = runtime.block_on(async {
        tokio::select! {
            r = super::run_with(config, TokioNet, Storage::Files, machine) => r,
            _ = stop.notified() => {
                eprintln!("{name} n{id}: stopping on a signal");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_refusal(&e) => {
            eprintln!("{name} n{id}: refusing to start: {e}");
            ExitCode::from(2)
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            eprintln!("{name} n{id}: error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{name} n{id}: error: {e}");
            ExitCode::from(1)
        }
    }
}

impl NodeFlags {
    /// The node's configuration; the error names the flag.
    pub fn node_config(&self) -> Result<NodeConfig, String> {
        let args = self;
        if args.data_dir.exists() && !args.data_dir.is_dir() {
            return Err(format!(
                "--data-dir {}: it exists and is not a directory",
                args.data_dir.display()
            ));
        }
        let mut c = NodeConfig::new(
            args.id,
            args.peers.clone(),
            args.client.clone(),
            args.data_dir.clone(),
        );
        c.tick = Duration::from_millis(args.tick_ms);
        c.election_ticks = args.election_ticks;
        c.heartbeat_ticks = args
            .heartbeat_ticks
            .unwrap_or_else(|| NodeConfig::heartbeat_for(args.election_ticks));
        c.snapshot_every = args.snapshot_every;
        c.max_entries_per_message = args.max_entries_per_message as usize;
        c.entropy = args.seed.unwrap_or_else(os_entropy);
        c.bug = args.bug;
        c.runtime_bug = args.runtime_bug;
        c.trace = args.trace.clone();
        c.clock_rate_percent = args.clock_rate_percent;
        c.read_mode = args.read_mode;
        c.max_clock_drift_percent = args.max_clock_drift_percent;
        c.timing_bug = args.timing_bug;
        c.propose_timeout = Duration::from_millis(args.propose_timeout_ms);
        c.quiet = args.quiet;
        c.validate().map_err(|e| {
            format!(
                "{e} (see --id, --peers, --tick-ms, --election-ticks, --heartbeat-ticks, \
             --clock-rate-percent, --max-clock-drift-percent)"
            )
        })?;
        Ok(c)
    }
}

/// 64 bits the operating system chose: std seeds every `RandomState` from it.
fn os_entropy() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

fn parse_addr(s: &str) -> Result<String, String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not of the form HOST:PORT"))?;
    if host.is_empty() {
        return Err(format!("{s:?} has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("{port:?} is not a port (0 to 65535)"))?;
    Ok(s.to_string())
}

fn parse_read_mode(s: &str) -> Result<ReadMode, String> {
    match s {
        "index" => Ok(ReadMode::Index),
        "lease" => Ok(ReadMode::Lease),
        _ => Err(format!("{s:?} is not a read mode; one of index, lease")),
    }
}

fn parse_timing_bug(s: &str) -> Result<TimingBug, String> {
    TimingBug::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = TimingBug::ALL.iter().map(|b| b.name()).collect();
        format!("{s:?} is not a timing bug; one of {}", names.join(", "))
    })
}

fn parse_runtime_bug(s: &str) -> Result<RuntimeBug, String> {
    RuntimeBug::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = RuntimeBug::ALL.iter().map(|b| b.name()).collect();
        format!("{s:?} is not a runtime bug; one of {}", names.join(", "))
    })
}

fn parse_bug(s: &str) -> Result<Bug, String> {
    Bug::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!("{s:?} is not a bug; one of {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<NodeConfig, String> {
        let args =
            NodeArgs::try_parse_from(std::iter::once("raft-node").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        args.flags.node_config()
    }

    const BASE: [&str; 8] = [
        "--id",
        "1",
        "--peers",
        "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
        "--client",
        "127.0.0.1:8001",
        "--data-dir",
        "d",
    ];

    #[test]
    fn flags_build_the_configuration() {
        let mut args = BASE.to_vec();
        args.extend([
            "--tick-ms",
            "5",
            "--election-ticks",
            "20",
            "--snapshot-every",
            "7",
            "--max-entries-per-message",
            "3",
            "--seed",
            "42",
            "--bug",
            "commit-previous-term",
            "--runtime-bug",
            "skip-fsync",
            "--clock-rate-percent",
            "-5",
            "--read-mode",
            "lease",
            "--timing-bug",
            "lease-ignores-drift",
            "--trace",
            "t.jsonl",
        ]);
        let c = config(&args).unwrap();
        assert_eq!(c.id, 1);
        assert_eq!(c.peers.len(), 3);
        assert_eq!(c.tick, Duration::from_millis(5));
        assert_eq!(c.heartbeat_ticks, 4);
        assert_eq!(c.snapshot_every, 7);
        assert_eq!(c.core_config().max_entries_per_message, 3);
        assert_eq!(c.entropy, 42);
        assert_eq!(c.bug, Some(Bug::CommitPreviousTerm));
        assert_eq!(c.runtime_bug, Some(RuntimeBug::SkipFsync));
        assert_eq!(c.clock_rate_percent, -5);
        assert_eq!(c.read_mode, ReadMode::Lease);
        assert_eq!(c.timing_bug, Some(TimingBug::LeaseIgnoresDrift));
        assert_eq!(c.core_config().read_mode, ReadMode::Lease);
        assert_eq!(c.trace, Some(PathBuf::from("t.jsonl")));
        let core = c.core_config();
        assert_eq!((core.id, core.servers, core.election_ticks), (1, 3, 20));
    }

    #[test]
    fn usage_errors_name_the_argument() {
        let mut args = BASE.to_vec();
        args[1] = "3";
        let e = config(&args).unwrap_err();
        assert!(e.contains("id: 3"), "{e}");
        let mut args = BASE.to_vec();
        args.extend(["--bug", "nope"]);
        let e = config(&args).unwrap_err();
        assert!(
            e.contains("--bug") && e.contains("vote-without-log-check"),
            "{e}"
        );
        let mut args = BASE.to_vec();
        args[3] = "127.0.0.1:7000,nohost";
        assert!(config(&args).unwrap_err().contains("--peers"));
        let mut args = BASE.to_vec();
        args.extend(["--runtime-bug", "nope"]);
        let e = config(&args).unwrap_err();
        assert!(
            e.contains("--runtime-bug") && e.contains("skip-fsync"),
            "{e}"
        );
        let mut args = BASE.to_vec();
        args.extend(["--clock-rate-percent", "-100"]);
        assert!(config(&args).unwrap_err().contains("clock rate"));
        let mut args = BASE.to_vec();
        args.extend(["--read-mode", "fast"]);
        assert!(config(&args).unwrap_err().contains("index, lease"));
        let mut args = BASE.to_vec();
        args.extend(["--max-clock-drift-percent", "100"]);
        assert!(config(&args).unwrap_err().contains("drift"));
        let mut args = BASE.to_vec();
        args.extend(["--heartbeat-ticks", "15"]);
        assert!(config(&args).unwrap_err().contains("heartbeat"));
        let mut args = BASE.to_vec();
        args[7] = "/dev/null";
        assert!(config(&args).unwrap_err().contains("not a directory"));
        assert_eq!(
            main(["raft-node", "--id", "x"].map(OsString::from)),
            ExitCode::from(2)
        );
    }

    #[test]
    fn entropy_differs_between_draws() {
        // RandomState keys are drawn per process and then incremented per instance.
        assert_ne!(os_entropy(), os_entropy());
    }
}

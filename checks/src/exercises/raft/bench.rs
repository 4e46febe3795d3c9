//! `check bench raft`: the Raft key-value service (`raft-kv`, [`impls::raft::kv`]) beside
//! etcd 3.4 on the same loopback machine, cell by cell (cluster size × client count).
//!
//! A round of a cell starts a fresh cluster of ours, measures puts and then
//! linearizable gets, stops it, and does the same with a fresh etcd cluster: A B A B for
//! `--rounds` rounds, so that a slow moment of the machine falls on both sides. Each
//! phase is closed-loop: every client has one request outstanding on its own connection.
//! Reported per phase, as the median over the rounds: operations per second, p50 and p99
//! latency, the server processes' CPU time per operation (`utime + stime` from
//! `/proc/PID/stat` before and after), fsyncs per operation (ours: the nodes' `status`
//! counter; etcd: `etcd_disk_wal_fsync_duration_seconds_count` from `/metrics`), and
//! ours/etcd.
//!
//! etcd is driven through its gRPC gateway (JSON over HTTP/1.1 keep-alive, base64 keys
//! and values), which costs etcd CPU that a gRPC client would not: the report says so
//! beside its numbers. Both sides' clients go to the leader (ours follows the leader's
//! hint; etcd's is pointed at the member every member names as leader).
//!
//! Every process and directory is a `crate::reaper` one: killed and removed after each
//! round, on an error, and on SIGINT.

pub(crate) mod etcd;
mod http;
mod load;
pub(crate) mod ours;
mod procstat;

use crate::args::{format_of, Format};
use anyhow::{Context, Result};
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command as Cli};
use load::{median, run_phase, KvClient, Op, PhaseStats};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::runtime::Runtime;

use crate::engine::Outcome;

/// Keys the clients draw from.
pub const KEYS: u64 = 1000;
/// Bytes per value written.
pub const VALUE_BYTES: usize = 100;
/// Unmeasured puts before the measured phases: connections, sessions, the first keys.
pub const WARMUP: Duration = Duration::from_secs(1);
/// What the report says about how etcd is driven.
pub const ETCD_CAVEAT: &str = "etcd is driven through its gRPC gateway (JSON over HTTP/1.1 keep-alive), which costs etcd some CPU that a gRPC client would not";

/// Which peer the bench compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// etcd, if installed.
    Etcd,
    /// Ours alone.
    None,
}

/// What `check bench raft` was asked to do.
#[derive(Clone, Debug)]
pub struct BenchRaftArgs {
    /// Cluster sizes, one cell row each.
    pub nodes: Vec<usize>,
    /// Client counts, one cell each per cluster size.
    pub clients: Vec<usize>,
    /// Measured seconds of each phase.
    pub seconds: u64,
    /// The peer.
    pub peer: Peer,
    /// Rounds per cell (ours then the peer's, each on a fresh cluster).
    pub rounds: usize,
    /// Output format.
    pub format: Format,
}

/// One phase of one round of one side.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseRun {
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
    /// Server CPU time (all nodes) per operation, µs; `None` if `/proc` was unreadable.
    pub cpu_us_per_op: Option<f64>,
    /// Fsyncs (all nodes) per operation; `None` if the counter could not be read.
    pub fsyncs_per_op: Option<f64>,
    /// Successful operations.
    pub ops: u64,
    /// Failed operations.
    pub errors: u64,
    /// Gets that found no value.
    pub misses: u64,
    /// The first failure.
    pub first_error: Option<String>,
}

/// Medians over rounds of one phase of one side.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseSummary {
    /// Median of ops/s.
    pub ops_per_sec: f64,
    /// Median of p50, ms.
    pub p50_ms: f64,
    /// Median of p99, ms.
    pub p99_ms: f64,
    /// Median of CPU µs per op over the rounds that had it.
    pub cpu_us_per_op: Option<f64>,
    /// Median of fsyncs per op over the rounds that had it.
    pub fsyncs_per_op: Option<f64>,
    /// Failed operations over all rounds.
    pub errors: u64,
}

impl PhaseSummary {
    fn of(runs: &[&PhaseRun]) -> PhaseSummary {
        let m = |f: &dyn Fn(&PhaseRun) -> Option<f64>| {
            median(&runs.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        PhaseSummary {
            ops_per_sec: m(&|r| Some(r.ops_per_sec)).unwrap_or(0.0),
            p50_ms: m(&|r| Some(r.p50_ms)).unwrap_or(0.0),
            p99_ms: m(&|r| Some(r.p99_ms)).unwrap_or(0.0),
            cpu_us_per_op: m(&|r| r.cpu_us_per_op),
            fsyncs_per_op: m(&|r| r.fsyncs_per_op),
            errors: runs.iter().map(|r| r.errors).sum(),
        }
    }

    /// `self / other` for each number (`None` where either lacks it or divides by 0).
    fn ratio(&self, other: &PhaseSummary) -> Ratio {
        let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        Ratio {
            ops_per_sec: div(Some(self.ops_per_sec), Some(other.ops_per_sec)),
            p50: div(Some(self.p50_ms), Some(other.p50_ms)),
            p99: div(Some(self.p99_ms), Some(other.p99_ms)),
            cpu_per_op: div(self.cpu_us_per_op, other.cpu_us_per_op),
            fsyncs_per_op: div(self.fsyncs_per_op, other.fsyncs_per_op),
        }
    }
}

/// Ours divided by etcd's, per number.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    /// Throughput ratio (above 1: ours is faster).
    pub ops_per_sec: Option<f64>,
    /// p50 ratio (below 1: ours is quicker).
    pub p50: Option<f64>,
    /// p99 ratio.
    pub p99: Option<f64>,
    /// CPU per op ratio.
    pub cpu_per_op: Option<f64>,
    /// Fsyncs per op ratio.
    pub fsyncs_per_op: Option<f64>,
}

/// One round of one side: its puts and its gets.
#[derive(Clone, Debug, Serialize)]
pub struct RoundRun {
    /// The puts phase.
    pub puts: PhaseRun,
    /// The linearizable gets phase.
    pub gets: PhaseRun,
}

/// One side of a cell: every round and the medians.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// Medians of the puts phases.
    pub puts: PhaseSummary,
    /// Medians of the gets phases.
    pub gets: PhaseSummary,
    /// Each round.
    pub rounds: Vec<RoundRun>,
}

impl Side {
    fn of(rounds: Vec<RoundRun>) -> Side {
        Side {
            puts: PhaseSummary::of(&rounds.iter().map(|r| &r.puts).collect::<Vec<_>>()),
            gets: PhaseSummary::of(&rounds.iter().map(|r| &r.gets).collect::<Vec<_>>()),
            rounds,
        }
    }
}

/// One cluster size and client count.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Nodes per cluster.
    pub nodes: usize,
    /// Closed-loop clients.
    pub clients: usize,
    /// Our service.
    pub ours: Side,
    /// etcd, unless skipped.
    pub etcd: Option<Side>,
    /// Ours / etcd's puts.
    pub puts_ratio: Option<Ratio>,
    /// Ours / etcd's gets.
    pub gets_ratio: Option<Ratio>,
}

/// The JSON report (schema `check-bench-raft/1`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always `check-bench-raft/1`.
    pub schema: &'static str,
    /// Measured seconds per phase.
    pub seconds: u64,
    /// Rounds per cell.
    pub rounds: usize,
    /// Keys the clients draw from.
    pub keys: u64,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Why etcd was not run, if it was not.
    pub etcd_skipped: Option<String>,
    /// How etcd is driven, and what that costs it.
    pub etcd_caveat: &'static str,
    /// The cells, in order.
    pub cells: Vec<Cell>,
}

/// `check bench raft`'s command line.
pub fn command() -> Cli {
    let list = |name: &'static str, default: &'static str, range: std::ops::RangeInclusive<u64>| {
        Arg::new(name)
            .long(name)
            .value_name("N,N,...")
            .value_delimiter(',')
            .action(ArgAction::Set)
            .num_args(1)
            .value_parser(value_parser!(u64).range(range))
            .default_value(default)
    };
    Cli::new("bench")
        .about("The Raft KV service (raft-kv) against etcd on loopback: throughput, latency, CPU and fsyncs per op")
        .arg(list("nodes", "3,5", 1..=7).help("Cluster sizes, comma-separated"))
        .arg(list("clients", "16,64,256", 1..=1024).help("Closed-loop client counts, comma-separated (one connection each)"))
        .arg(
            crate::args::number_arg("seconds", 1..=600)
                .default_value("3")
                .help("Measured seconds of each phase (puts, then gets), after a 1 s warm-up"),
        )
        .arg(
            Arg::new("peer")
                .long("peer")
                .value_parser(["etcd", "none"])
                .default_value("etcd")
                .help("What to compare with: etcd (skipped, with the reason, where it is not installed) or none"),
        )
        .arg(
            crate::args::number_arg("rounds", 1..=21)
                .default_value("3")
                .help("Rounds per cell, ours then etcd's on fresh clusters; the report gives medians"),
        )
        .arg(
            Arg::new(ours::SERVE_FLAG)
                .long(ours::SERVE_FLAG)
                .hide(true)
                .num_args(1..)
                .allow_hyphen_values(true)
                .help("Run one raft-kv node with the arguments that follow (the bench's own nodes)"),
        )
}

/// Runs `check bench raft` on its parsed arguments.
pub fn run(m: &ArgMatches) -> Result<Outcome> {
    if let Some(args) = m.get_many::<String>(ours::SERVE_FLAG) {
        let args: Vec<String> = args.cloned().collect();
        std::process::exit(ours::serve_node(&args));
    }
    let list = |name: &str| -> Vec<usize> {
        m.get_many::<u64>(name)
            .expect("has a default")
            .map(|&n| n as usize)
            .collect()
    };
    measure(&BenchRaftArgs {
        nodes: list("nodes"),
        clients: list("clients"),
        seconds: crate::args::number_of(m, "seconds"),
        peer: match m.get_one::<String>("peer").map(String::as_str) {
            Some("none") => Peer::None,
            _ => Peer::Etcd,
        },
        rounds: crate::args::number_of(m, "rounds") as usize,
        format: format_of(m),
    })
}

/// A cluster the bench can measure: its processes' CPU time and fsync count, and
/// clients.
trait Cluster {
    type Client: KvClient;
    fn cpu_time(&self) -> Option<Duration>;
    async fn fsyncs(&self) -> Result<u64, String>;
    fn client(&self) -> Self::Client;
}

impl Cluster for ours::OursCluster {
    type Client = ours::OursClient;
    fn cpu_time(&self) -> Option<Duration> {
        ours::OursCluster::cpu_time(self)
    }
    async fn fsyncs(&self) -> Result<u64, String> {
        ours::OursCluster::fsyncs(self).await
    }
    fn client(&self) -> ours::OursClient {
        ours::OursCluster::client(self)
    }
}

impl Cluster for etcd::EtcdCluster {
    type Client = etcd::EtcdClient;
    fn cpu_time(&self) -> Option<Duration> {
        etcd::EtcdCluster::cpu_time(self)
    }
    async fn fsyncs(&self) -> Result<u64, String> {
        etcd::EtcdCluster::fsyncs(self).await
    }
    fn client(&self) -> etcd::EtcdClient {
        etcd::EtcdCluster::client(self)
    }
}

/// The counters read around a phase.
struct Counters {
    cpu: Option<Duration>,
    fsyncs: Option<u64>,
}

fn counters<C: Cluster>(rt: &Runtime, cluster: &C) -> Counters {
    Counters {
        cpu: cluster.cpu_time(),
        fsyncs: rt.block_on(cluster.fsyncs()).ok(),
    }
}

fn phase_run(stats: &PhaseStats, before: &Counters, after: &Counters) -> PhaseRun {
    let per_op = |x: f64| (stats.ops > 0).then(|| x / stats.ops as f64);
    PhaseRun {
        ops_per_sec: stats.ops_per_sec(),
        p50_ms: stats.quantile_ms(0.5),
        p99_ms: stats.quantile_ms(0.99),
        cpu_us_per_op: match (before.cpu, after.cpu) {
            (Some(b), Some(a)) => per_op(a.saturating_sub(b).as_secs_f64() * 1e6),
            _ => None,
        },
        fsyncs_per_op: match (before.fsyncs, after.fsyncs) {
            (Some(b), Some(a)) => per_op(a.saturating_sub(b) as f64),
            _ => None,
        },
        ops: stats.ops,
        errors: stats.errors,
        misses: stats.misses,
        first_error: stats.first_error.clone(),
    }
}

/// One round on a started cluster: a warm-up, then measured puts, then measured gets.
fn measure_round<C: Cluster>(rt: &Runtime, cluster: &C, clients: usize, seconds: u64) -> RoundRun {
    let value = "v".repeat(VALUE_BYTES);
    let phase = Duration::from_secs(seconds);
    let handles: Vec<C::Client> = (0..clients).map(|_| cluster.client()).collect();
    let (handles, _) = run_phase(rt, handles, Op::Put, WARMUP, KEYS, &value);
    let before = counters(rt, cluster);
    let (handles, puts) = run_phase(rt, handles, Op::Put, phase, KEYS, &value);
    let middle = counters(rt, cluster);
    let (_, gets) = run_phase(rt, handles, Op::Get, phase, KEYS, &value);
    let after = counters(rt, cluster);
    RoundRun {
        puts: phase_run(&puts, &before, &middle),
        gets: phase_run(&gets, &middle, &after),
    }
}

/// This executable, which the bench re-runs as its own nodes.
fn this_exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot find this executable to re-run as raft-kv nodes")
}

/// Measures what `args` say. A measurement: it holds whatever the numbers; a cluster
/// that cannot start is an error.
pub fn measure(args: &BenchRaftArgs) -> Result<Outcome> {
    let exe = this_exe()?;
    let etcd_exe: Result<PathBuf, String> = match args.peer {
        Peer::None => Err("--peer none".to_string()),
        Peer::Etcd => etcd::find_etcd(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the clients' runtime")?;
    let mut report = Report {
        schema: "check-bench-raft/1",
        seconds: args.seconds,
        rounds: args.rounds,
        keys: KEYS,
        value_bytes: VALUE_BYTES,
        etcd_skipped: etcd_exe.as_ref().err().cloned(),
        etcd_caveat: ETCD_CAVEAT,
        cells: Vec::new(),
    };
    let header = format!(
        "raft bench: raft-kv vs etcd on loopback, closed-loop clients on the leader, {} s per phase after a {} s warm-up, {} round(s) per cell (medians), {VALUE_BYTES}-byte values, {KEYS} keys",
        args.seconds,
        WARMUP.as_secs(),
        args.rounds
    );
    let skipped = match &etcd_exe {
        Err(why) => format!("etcd side skipped: {why}"),
        Ok(path) => format!("etcd: {} ({ETCD_CAVEAT})", path.display()),
    };
    match args.format {
        Format::Text => {
            crate::outln!("{header}")?;
            crate::outln!("{skipped}")?;
        }
        Format::Json => eprintln!("{header}\n{skipped}"),
    }
    for &nodes in &args.nodes {
        for &clients in &args.clients {
            let cell = measure_cell(&rt, &exe, etcd_exe.as_deref().ok(), nodes, clients, args)?;
            if args.format == Format::Text {
                print_cell(&cell)?;
            }
            report.cells.push(cell);
        }
    }
    if args.format == Format::Json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    }
    Ok(Outcome::Holds)
}

fn measure_cell(
    rt: &Runtime,
    exe: &Path,
    etcd_exe: Option<&Path>,
    nodes: usize,
    clients: usize,
    args: &BenchRaftArgs,
) -> Result<Cell> {
    let mut ours_rounds = Vec::new();
    let mut etcd_rounds = Vec::new();
    for round in 1..=args.rounds {
        eprintln!("[{nodes} nodes, {clients} clients] round {round}/{}: raft-kv", args.rounds);
        let cluster = ours::OursCluster::start(exe, nodes, rt)
            .with_context(|| format!("cannot start a {nodes}-node raft-kv cluster"))?;
        ours_rounds.push(measure_round(rt, &cluster, clients, args.seconds));
        drop(cluster);
        if let Some(etcd_exe) = etcd_exe {
            eprintln!("[{nodes} nodes, {clients} clients] round {round}/{}: etcd", args.rounds);
            let cluster = etcd::EtcdCluster::start(etcd_exe, nodes, rt)
                .with_context(|| format!("cannot start a {nodes}-member etcd cluster"))?;
            etcd_rounds.push(measure_round(rt, &cluster, clients, args.seconds));
        }
    }
    let ours = Side::of(ours_rounds);
    let etcd = (!etcd_rounds.is_empty()).then(|| Side::of(etcd_rounds));
    Ok(Cell {
        nodes,
        clients,
        puts_ratio: etcd.as_ref().map(|e| ours.puts.ratio(&e.puts)),
        gets_ratio: etcd.as_ref().map(|e| ours.gets.ratio(&e.gets)),
        ours,
        etcd,
    })
}

/// A number with `digits` decimals, or `-`.
fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or("-".to_string(), |x| format!("{x:.digits$}"))
}

fn print_cell(cell: &Cell) -> Result<()> {
    crate::outln!("\n{} nodes, {} clients", cell.nodes, cell.clients)?;
    crate::outln!(
        "  {:<16} {:>10} {:>8} {:>8} {:>10} {:>9} {:>7}",
        "phase", "ops/s", "p50 ms", "p99 ms", "cpu µs/op", "fsync/op", "errors"
    )?;
    let row = |name: &str, s: &PhaseSummary| {
        crate::outln!(
            "  {:<16} {:>10.0} {:>8.2} {:>8.2} {:>10} {:>9} {:>7}",
            name,
            s.ops_per_sec,
            s.p50_ms,
            s.p99_ms,
            opt(s.cpu_us_per_op, 1),
            opt(s.fsyncs_per_op, 3),
            s.errors
        )
    };
    let ratio_row = |name: &str, r: &Ratio| {
        crate::outln!(
            "  {:<16} {:>10} {:>8} {:>8} {:>10} {:>9}",
            name,
            opt(r.ops_per_sec, 2),
            opt(r.p50, 2),
            opt(r.p99, 2),
            opt(r.cpu_per_op, 2),
            opt(r.fsyncs_per_op, 2)
        )
    };
    row("puts raft-kv", &cell.ours.puts)?;
    if let (Some(e), Some(r)) = (&cell.etcd, &cell.puts_ratio) {
        row("puts etcd", &e.puts)?;
        ratio_row("puts ours/etcd", r)?;
    }
    row("gets raft-kv", &cell.ours.gets)?;
    if let (Some(e), Some(r)) = (&cell.etcd, &cell.gets_ratio) {
        row("gets etcd", &e.gets)?;
        ratio_row("gets ours/etcd", r)?;
    }
    let sides = std::iter::once(("raft-kv", &cell.ours)).chain(cell.etcd.as_ref().map(|e| ("etcd", e)));
    for (name, side) in sides {
        for r in &side.rounds {
            for (phase, p) in [("puts", &r.puts), ("gets", &r.gets)] {
                if let Some(e) = &p.first_error {
                    crate::outln!("  {name} {phase}: {} errors, first: {e}", p.errors)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse_from, Command};

    fn phase(ops_per_sec: f64, p99_ms: f64, cpu: Option<f64>) -> PhaseRun {
        PhaseRun {
            ops_per_sec,
            p50_ms: p99_ms / 2.0,
            p99_ms,
            cpu_us_per_op: cpu,
            fsyncs_per_op: Some(1.0),
            ops: 10,
            errors: 1,
            misses: 0,
            first_error: None,
        }
    }

    #[test]
    fn summaries_are_medians_and_ratios_divide_ours_by_etcds() {
        let runs = [phase(100.0, 4.0, Some(10.0)), phase(300.0, 2.0, None), phase(200.0, 9.0, Some(20.0))];
        let s = PhaseSummary::of(&runs.iter().collect::<Vec<_>>());
        assert_eq!(s.ops_per_sec, 200.0);
        assert_eq!(s.p99_ms, 4.0);
        assert_eq!(s.cpu_us_per_op, Some(15.0));
        assert_eq!(s.errors, 3);
        let other = PhaseSummary {
            ops_per_sec: 100.0,
            p99_ms: 8.0,
            cpu_us_per_op: None,
            ..PhaseSummary::default()
        };
        let r = s.ratio(&other);
        assert_eq!(r.ops_per_sec, Some(2.0));
        assert_eq!(r.p99, Some(0.5));
        assert_eq!(r.cpu_per_op, None);
        assert_eq!(r.p50, None, "etcd's p50 is 0: no ratio");
    }

    #[test]
    fn per_op_counters_divide_by_successful_ops() {
        let stats = PhaseStats {
            ops: 4,
            latencies_us: vec![1000, 2000, 3000, 4000],
            elapsed: Duration::from_secs(2),
            ..PhaseStats::default()
        };
        let before = Counters { cpu: Some(Duration::from_millis(1)), fsyncs: Some(10) };
        let after = Counters { cpu: Some(Duration::from_millis(5)), fsyncs: Some(12) };
        let p = phase_run(&stats, &before, &after);
        assert_eq!(p.ops_per_sec, 2.0);
        assert_eq!(p.p50_ms, 2.0);
        assert_eq!(p.p99_ms, 4.0);
        assert_eq!(p.cpu_us_per_op, Some(1000.0));
        assert_eq!(p.fsyncs_per_op, Some(0.5));
        let unknown = Counters { cpu: None, fsyncs: None };
        let p = phase_run(&stats, &before, &unknown);
        assert_eq!((p.cpu_us_per_op, p.fsyncs_per_op), (None, None));
        let none = phase_run(&PhaseStats::default(), &before, &after);
        assert_eq!(none.cpu_us_per_op, None, "no ops: no per-op cost");
    }

    #[test]
    fn lists_parse_comma_separated_and_refuse_out_of_range() {
        let Ok(Command::Mode { matches, .. }) =
            parse_from(["check", "bench", "raft", "--nodes", "3", "--clients", "4,8", "--peer", "none"])
        else {
            panic!("a bench command")
        };
        let clients: Vec<u64> = matches.get_many::<u64>("clients").unwrap().copied().collect();
        assert_eq!(clients, [4, 8]);
        assert_eq!(matches.get_one::<String>("peer").unwrap(), "none");
        for bad in [["--nodes", "0"], ["--clients", "4,0"], ["--peer", "zookeeper"], ["--rounds", "0"]] {
            let err = parse_from(["check", "bench", "raft", bad[0], bad[1]]).err().expect("refused");
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn the_hidden_serve_flag_takes_every_argument_after_it() {
        let Ok(Command::Mode { matches, .. }) = parse_from([
            "check", "bench", "raft", "--serve-node", "serve", "--id", "1", "--peers", "a:1,b:2",
        ]) else {
            panic!("a bench command")
        };
        let args: Vec<&String> = matches.get_many::<String>(ours::SERVE_FLAG).unwrap().collect();
        assert_eq!(args, ["serve", "--id", "1", "--peers", "a:1,b:2"]);
    }
}

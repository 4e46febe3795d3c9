//! `check bench kv`: throughput and latency of the key-value store ([`impls::kv`]) on a
//! loopback cluster in this process, measured against the goal the store was built for.
//!
//! Without `--puts`, two runs: QUORUM puts alone, then QUORUM gets alone, because the two
//! cost very differently: a put is durable on a quorum (an fsync, amortised by group
//! commit) before it is acknowledged, a get is not. Each run starts a fresh cluster. A run
//! with gets first writes every key it will read (10,000 keys, fewer for values so large
//! that they would pass 64 MiB), with values of `--value-size`, so that every measured
//! get reads a value: the report counts the gets that found one (`hits`) and those that
//! did not (`misses`, 0 unless something is wrong).

use crate::args::{format_of, Format};
use crate::engine::progress::{left, of, while_running};
use crate::engine::text::count;
use crate::engine::{Outcome, Progress};
use anyhow::{Context, Result};
use clap::{value_parser, Arg, ArgMatches, Command as Cli};
use impls::kv::bench::{bench_observed, BenchConfig, BenchProgress, BenchStats, Mix};
use impls::kv::core::Consistency;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// What `check bench kv` was asked to do.
#[derive(Clone, Debug)]
pub struct BenchKvArgs {
    /// Nodes in the in-process cluster.
    pub nodes: usize,
    /// Concurrent closed-loop clients.
    pub clients: usize,
    /// Measured seconds of each run.
    pub seconds: u64,
    /// Percent of operations that are puts; `None` runs puts alone, then gets alone.
    pub puts: Option<u32>,
    /// The consistency level of every request.
    pub consistency: Consistency,
    /// Bytes per value, of the preload and of every put.
    pub value_bytes: usize,
    /// Output format.
    pub format: Format,
}

/// The default of `--value-size`, in bytes.
pub const DEFAULT_VALUE_BYTES: usize = 100;

/// The goal the store is measured against (from its issue): operations per second at
/// QUORUM, with a 99th-percentile latency under [`GOAL_P99_MS`], on a 2-core machine.
pub const GOAL_OPS_PER_SEC: f64 = 50_000.0;
/// The goal's latency bound, in milliseconds.
pub const GOAL_P99_MS: f64 = 5.0;

/// One measured run, as printed and as JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// Percent of operations that were puts.
    pub put_percent: u32,
    /// Operations completed in the measured period.
    pub ops: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
    /// Highest latency, ms.
    pub max_ms: f64,
    /// Gets that found a value.
    pub hits: u64,
    /// Gets that found none: 0 after the preload, unless the store lost a write.
    pub misses: u64,
    /// Keys the run drew from, all written before it if it has gets.
    pub keys: u64,
    /// Seconds the preload took (0 without one).
    pub preload_seconds: f64,
    /// Failed operations (none are expected on a healthy loopback cluster).
    pub errors: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Group commits (fsyncs) of all nodes, warm-up included, preload not.
    pub wal_syncs: u64,
    /// Records per group commit.
    pub records_per_sync: f64,
    /// CPU time of the whole process per operation, µs (Linux only).
    pub cpu_us_per_op: Option<f64>,
    /// Whether this run meets the goal (only a QUORUM run can).
    pub goal_met: bool,
}

impl Run {
    fn new(put_percent: u32, consistency: Consistency, s: &BenchStats) -> Run {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Run {
            put_percent,
            ops: s.ops,
            ops_per_sec: s.ops_per_sec,
            p50_ms: ms(s.p50),
            p99_ms: ms(s.p99),
            max_ms: ms(s.max),
            hits: s.gets - s.misses,
            misses: s.misses,
            keys: s.keys,
            preload_seconds: s.preload_time.as_secs_f64(),
            errors: s.errors,
            first_error: s.first_error.as_ref().map(ToString::to_string),
            wal_syncs: s.wal_syncs,
            records_per_sync: if s.wal_syncs == 0 {
                0.0
            } else {
                s.wal_records as f64 / s.wal_syncs as f64
            },
            cpu_us_per_op: s.cpu_per_op.map(|d| d.as_secs_f64() * 1e6),
            goal_met: consistency == Consistency::Quorum
                && s.ops_per_sec >= GOAL_OPS_PER_SEC
                && ms(s.p99) < GOAL_P99_MS,
        }
    }

    /// What the run did, in words: `puts`, `gets` or `30% puts`.
    pub fn mix(&self) -> String {
        mix_name(self.put_percent)
    }
}

/// A mix in words: `puts`, `gets` or `30% puts`.
fn mix_name(put_percent: u32) -> String {
    match put_percent {
        100 => "puts".to_string(),
        0 => "gets".to_string(),
        p => format!("{p}% puts"),
    }
}

/// Where a run is: the keys preloaded, or the operations done and the seconds left.
fn progress_line(config: &BenchConfig, observed: &BenchProgress) -> String {
    match observed.load_started() {
        None if config.preloads() => format!(
            "preloading: {} keys written",
            of(observed.preloaded(), config.key_space())
        ),
        None => "starting the cluster".to_string(),
        Some(at) => format!(
            "{} operations done, {} of the run",
            count(observed.ops() as usize),
            left(at.elapsed(), config.warmup + config.duration)
        ),
    }
}

/// The JSON report (schema `check-bench-kv/1`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always `check-bench-kv/1`.
    pub schema: &'static str,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Measured seconds of each run.
    pub seconds: u64,
    /// `one`, `quorum` or `all`.
    pub consistency: &'static str,
    /// Bytes per value.
    pub value_bytes: usize,
    /// The goal, in words.
    pub goal: String,
    /// The runs, in order.
    pub runs: Vec<Run>,
}

/// `check bench kv`'s command line.
pub fn command() -> Cli {
    let number = |name, default: &'static str, range| {
        crate::args::number_arg(name, range).default_value(default)
    };
    Cli::new("bench")
        .about("Throughput and latency of the key-value store on an in-process loopback cluster")
        .arg(number("nodes", "5", 3..=9).help("Nodes in the cluster"))
        .arg(number("clients", "16", 1..=1024).help("Concurrent closed-loop clients"))
        .arg(number("seconds", "5", 1..=3600).help("Measured seconds of each run (after a warm-up)"))
        .arg(
            Arg::new("puts")
                .long("puts")
                .value_name("PERCENT")
                .value_parser(value_parser!(u64).range(0..=100))
                .help("Percent of operations that are puts [default: one run of puts alone, then one of gets alone]"),
        )
        .arg(super::jepsen::consistency_arg().default_value("quorum"))
        .arg(
            crate::args::size_arg("value-size", 1..=impls::kv::wire::MAX_VALUE_BYTES)
                .default_value(DEFAULT_VALUE_BYTES.to_string())
                .help("Bytes per value, of the preload and of every put (up to 1MiB; e.g. 100, 4KiB)"),
        )
}

/// Runs `check bench kv` on its parsed arguments.
pub fn run(m: &ArgMatches) -> Result<Outcome> {
    let number = |name: &str| crate::args::number_of(m, name);
    measure(&BenchKvArgs {
        nodes: number("nodes") as usize,
        clients: number("clients") as usize,
        seconds: number("seconds"),
        puts: m.get_one::<u64>("puts").map(|&p| p as u32),
        consistency: Consistency::from_name(
            m.get_one::<String>("consistency").expect("has a default"),
        )
        .expect("clap checked the name"),
        value_bytes: *m.get_one::<usize>("value-size").expect("has a default"),
        format: format_of(m),
    })
}

/// Measures what `args` say. A measurement: it holds whether or not the goal is met; only
/// a cluster that cannot start is an error.
pub fn measure(args: &BenchKvArgs) -> Result<Outcome> {
    let mixes = match args.puts {
        Some(p) => vec![p],
        None => vec![100, 0],
    };
    let mut report = Report {
        schema: "check-bench-kv/1",
        nodes: args.nodes,
        clients: args.clients,
        seconds: args.seconds,
        consistency: args.consistency.name(),
        value_bytes: args.value_bytes,
        goal: format!(
            ">= {GOAL_OPS_PER_SEC:.0} QUORUM ops/s with p99 < {GOAL_P99_MS} ms (on 2 cores)"
        ),
        runs: Vec::new(),
    };
    let config = |percent: u32| {
        let mut c = BenchConfig::new(
            args.nodes,
            args.clients,
            Duration::from_secs(args.seconds),
            args.consistency,
            Mix::puts(percent),
        );
        c.value_bytes = args.value_bytes;
        c
    };
    let keys = config(0).key_space();
    let header = format!(
        "kv bench: {} nodes on loopback, {} clients, {} s per run, {}, {}-byte values, {} keys (written before a run with gets)",
        args.nodes,
        args.clients,
        args.seconds,
        args.consistency.name(),
        args.value_bytes,
        count(keys as usize)
    );
    // Before the runs: in the text report its first line, beside a JSON one on stderr.
    match args.format {
        Format::Text => {
            crate::outln!("{header}")?;
            crate::outln!("goal: {}", report.goal)?;
            crate::outln!(
                "{:<10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>8} {:>7}  goal",
                "run", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "rec/sync", "cpu µs", "misses"
            )?;
        }
        Format::Json => eprintln!("{header}"),
    }
    for percent in mixes {
        let config = config(percent);
        let mut progress = Progress::new(true, &format!("kv bench {}", mix_name(percent)));
        let observed = Arc::new(BenchProgress::default());
        let stats = while_running(
            &mut progress,
            || progress_line(&config, &observed),
            || bench_observed(&config, Arc::clone(&observed)),
        )
        .context("the benchmark cluster failed")?;
        progress.finish();
        let run = Run::new(percent, args.consistency, &stats);
        if args.format == Format::Text {
            crate::outln!(
                "{:<10} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>9.1} {:>8} {:>7}  {}",
                run.mix(),
                run.ops_per_sec,
                run.p50_ms,
                run.p99_ms,
                run.max_ms,
                run.errors,
                run.records_per_sync,
                run.cpu_us_per_op
                    .map_or("-".to_string(), |c| format!("{c:.1}")),
                if percent == 100 { "-".to_string() } else { run.misses.to_string() },
                if run.goal_met { "met" } else { "not met" }
            )?;
            if run.preload_seconds > 0.0 {
                crate::outln!(
                    "  ({} keys written first, in {:.1} s)",
                    count(run.keys as usize),
                    run.preload_seconds
                )?;
            }
            if let Some(e) = &run.first_error {
                crate::outln!("  first error: {e}")?;
            }
        }
        report.runs.push(run);
    }
    if args.format == Format::Json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
    }
    Ok(Outcome::Holds)
}

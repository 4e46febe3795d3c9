//! `check bench kv`: throughput and latency of the key-value store ([`impls::kv`]) on a
//! loopback cluster in this process, measured against the goal the store was built for.
//!
//! Without `--puts`, two runs: QUORUM puts alone, then QUORUM gets alone (of keys the
//! warm-up wrote), because the two cost very differently: a put is durable on a quorum
//! (an fsync, amortised by group commit) before it is acknowledged, a get is not.

use crate::args::{format_of, Format};
use crate::engine::Outcome;
use anyhow::{Context, Result};
use clap::{value_parser, Arg, ArgMatches, Command as Cli};
use impls::kv::bench::{bench, BenchStats, Mix};
use impls::kv::core::Consistency;
use serde::Serialize;
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
    /// Output format.
    pub format: Format,
}

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
    /// Failed operations (none are expected on a healthy loopback cluster).
    pub errors: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Group commits (fsyncs) of all nodes, warm-up included.
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
        match self.put_percent {
            100 => "puts".to_string(),
            0 => "gets".to_string(),
            p => format!("{p}% puts"),
        }
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
        goal: format!(
            ">= {GOAL_OPS_PER_SEC:.0} QUORUM ops/s with p99 < {GOAL_P99_MS} ms (on 2 cores)"
        ),
        runs: Vec::new(),
    };
    if args.format == Format::Text {
        println!(
            "kv bench: {} nodes on loopback, {} clients, {} s per run, {}",
            args.nodes,
            args.clients,
            args.seconds,
            args.consistency.name()
        );
        println!("goal: {}", report.goal);
        println!(
            "{:<10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9} {:>8}  goal",
            "run", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "rec/sync", "cpu µs"
        );
    }
    for percent in mixes {
        let stats = bench(
            args.nodes,
            args.clients,
            Duration::from_secs(args.seconds),
            args.consistency,
            Mix::puts(percent),
        )
        .context("the benchmark cluster failed")?;
        let run = Run::new(percent, args.consistency, &stats);
        if args.format == Format::Text {
            println!(
                "{:<10} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>9.1} {:>8}  {}",
                run.mix(),
                run.ops_per_sec,
                run.p50_ms,
                run.p99_ms,
                run.max_ms,
                run.errors,
                run.records_per_sync,
                run.cpu_us_per_op
                    .map_or("-".to_string(), |c| format!("{c:.1}")),
                if run.goal_met { "met" } else { "not met" }
            );
            if let Some(e) = &run.first_error {
                println!("  first error: {e}");
            }
        }
        report.runs.push(run);
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(Outcome::Holds)
}

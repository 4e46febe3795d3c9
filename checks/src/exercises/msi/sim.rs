//! `check msi --sim`: runs the concurrent MSI simulator ([`impls::msi::sim`]) and checks
//! what it recorded, three ways:
//!
//! 1. **Progress**: every core's operations completed (otherwise the protocol deadlocked
//!    or livelocked, and the report shows the lines and the messages it is stuck on).
//! 2. **SWMR**, from the states each core logged: no core held a line in M while another
//!    core could read or write it.
//! 3. **Linearizability per address**: each address's loads and stores, with their call
//!    and return times, are checked as a read/write register by the project's checker.
//!    Coherent memory is per-location linearizable, so a stale load is caught here even
//!    when no interval overlaps.
//!
//! Exit 0 if all three hold, 1 if one fails, 3 if none fails but a linearizability check
//! ran out of time (undecided, as `check lin` says), 2 for a usage error.

use crate::args::{format_of, Format};
use crate::engine::progress::{of, while_running};
use crate::engine::text::count;
use crate::engine::{Outcome as RunOutcome, Progress};
use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgMatches, Command as Cli};
use impls::msi::core::{Bug, Bugs, DirState, Msg, Node};
use impls::msi::sim::network::Packet;
use impls::msi::sim::record::{swmr_violation, Holding, OpKind, OpRecord, SwmrViolation};
use impls::msi::sim::{self, Mix, Outcome, Schedule, SimConfig, SimRun};
use impls::sansio::BugSwitches;
use linearizability::models::{Register, RegisterOp};
use linearizability::{check_operations, CheckOptions, CheckResult, Operation};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A parsed `check msi --sim` line.
#[derive(Clone, Debug)]
pub struct SimArgs {
    /// The run's parameters, bug switches included.
    pub config: SimConfig,
    /// The bug variant's name, if any.
    pub bug: Option<String>,
    /// Output format.
    pub format: Format,
}

/// The command line of `check msi --sim`.
pub fn command() -> Cli {
    let number = crate::args::number_arg;
    let d = SimConfig::default();
    Cli::new("sim")
        .override_usage("check [--format F] msi --sim [OPTIONS]")
        .about(
            "Run the concurrent MSI simulator (a thread per core, a directory thread, channels) \
             and check its recording: progress, SWMR from the cores' logged states, and \
             linearizability of every address as a register (exit 0 all hold, 1 one fails, \
             3 undecided, 2 usage error)",
        )
        .arg(number("cores", 1..=8).default_value(d.cores.to_string()).help("Cores, a thread each"))
        .arg(number("addresses", 1..=64).default_value(d.addrs.to_string()).help("Addresses (cache lines) the cores share"))
        .arg(number("ops", 1..=10_000_000).default_value(d.ops_per_core.to_string()).help("Loads and stores per core"))
        .arg(number("stores", 0..=100).default_value(d.mix.store_percent.to_string()).help("Percent of operations that are stores"))
        .arg(number("evictions", 0..=100).default_value(d.mix.evict_percent.to_string()).help("Percent of operations that are evictions (besides the loads and stores)"))
        .arg(number("seed", 0..=u64::MAX).default_value(d.seed.to_string()).help("Seed of the workload, of every node's delivery order and, under the deterministic schedule, of which node steps next: the same seed replays the same recording"))
        .arg(
            Arg::new("schedule")
                .long("schedule")
                .value_name("HOW")
                .value_parser(PossibleValuesParser::new(Schedule::ALL.map(Schedule::name)))
                .default_value(Schedule::default().name())
                .help("deterministic: one thread steps the nodes in an order drawn from the seed, so a seed replays the run byte for byte; threads: a thread per node, interleaved by the OS, which finds timing races no seed controls"),
        )
        .arg(
            Arg::new("stall-timeout")
                .long("stall-timeout")
                .value_name("DURATION")
                .value_parser(crate::args::parse_duration)
                .default_value("2s")
                .help("Call the run deadlocked when no operation completes and no message moves for this long (livelocked after ten times this with messages moving)"),
        )
        .arg(
            Arg::new("bug")
                .long("bug")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(Bug::ALL.iter().map(|b| b.name())))
                .help("Run the controllers with a known bug, which the checks should catch"),
        )
}

/// Runs `check msi --sim` on its parsed arguments.
pub fn run(m: &ArgMatches) -> Result<RunOutcome> {
    let number = |name: &str| crate::args::number_of(m, name);
    let (stores, evictions) = (number("stores"), number("evictions"));
    if stores + evictions > 100 || evictions == 100 {
        anyhow::bail!(
            "--stores {stores} and --evictions {evictions} leave no room: together at most 100 percent, and evictions under 100 (the run counts loads and stores)"
        );
    }
    let bug = m.get_one::<String>("bug").cloned();
    simulate(&SimArgs {
        config: SimConfig {
            cores: number("cores") as usize,
            addrs: number("addresses") as usize,
            ops_per_core: number("ops"),
            mix: Mix {
                store_percent: stores,
                evict_percent: evictions,
            },
            seed: number("seed"),
            bugs: Bugs::from(bug.as_deref().and_then(Bug::from_name)),
            schedule: m
                .get_one::<String>("schedule")
                .and_then(|name| Schedule::from_name(name))
                .expect("clap checked the name"),
            stall_timeout: *m
                .get_one::<Duration>("stall-timeout")
                .expect("has a default"),
        },
        bug,
        format: format_of(m),
    })
}

/// One address's linearizability verdict.
#[derive(Clone, Debug, Serialize)]
pub struct AddressVerdict {
    /// The address, as the models name it (x, y, ...).
    pub address: String,
    /// Loads and stores checked.
    pub operations: usize,
    /// Linearizable, not, or unknown.
    pub verdict: AddressResult,
    /// For a failure: the operation that could not be placed, and the last ones before it.
    pub why: Vec<String>,
    /// Configurations the search explored.
    pub explored: usize,
}

/// Whether one address's history is linearizable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressResult {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    NotLinearizable,
    /// The search ran out of time.
    Unknown,
}

impl std::fmt::Display for AddressResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AddressResult::Linearizable => "linearizable",
            AddressResult::NotLinearizable => "not-linearizable",
            AddressResult::Unknown => "unknown",
        })
    }
}

/// What a run established, in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimResult {
    /// Every check holds.
    Holds,
    /// A check failed.
    Fails,
    /// No check failed, but a linearizability check ran out of time.
    Undecided,
}

impl SimResult {
    /// The run's outcome: exit 0, 1 or 3.
    pub fn outcome(self) -> RunOutcome {
        match self {
            SimResult::Holds => RunOutcome::Holds,
            SimResult::Fails => RunOutcome::Fails,
            SimResult::Undecided => RunOutcome::Unknown,
        }
    }
}

/// The JSON report of a run.
#[derive(Clone, Debug, Serialize)]
pub struct SimReport {
    /// `msi --sim`.
    pub exercise: &'static str,
    /// The bug variant, if any.
    pub bug: Option<String>,
    /// Cores.
    pub cores: usize,
    /// Addresses.
    pub addresses: usize,
    /// Loads and stores per core.
    pub ops_per_core: u64,
    /// The seed.
    pub seed: u64,
    /// `deterministic` or `threads`: who interleaved the nodes.
    pub schedule: &'static str,
    /// A digest of the whole recording (every operation, interval and message count):
    /// under the deterministic schedule, the same seed gives the same digest.
    pub fingerprint: String,
    /// `finished`, `deadlocked` or `livelocked`.
    pub outcome: &'static str,
    /// For a deadlock: the lines not stable and the messages still buffered.
    pub stuck: Vec<String>,
    /// Loads and stores that completed.
    pub completed_ops: usize,
    /// Coherence messages sent.
    pub messages: u64,
    /// Seconds the simulator ran; left out under the deterministic schedule, so that the
    /// same seed gives the same report byte for byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_seconds: Option<f64>,
    /// Read and write intervals the cores logged.
    pub intervals: usize,
    /// The SWMR violation found in the logged intervals, in words, if any.
    pub swmr_violation: Option<String>,
    /// Per address, the linearizability verdict.
    pub linearizability: Vec<AddressVerdict>,
    /// Seconds the checks took; left out under the deterministic schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_seconds: Option<f64>,
    /// Seconds the simulator ran and the checks took, for the text report whatever the
    /// schedule.
    #[serde(skip)]
    pub seconds: (f64, f64),
    /// Whether every check holds.
    pub ok: bool,
    /// Holds, fails, or undecided (no check failed, but a linearizability check ran out of
    /// time): the exit code is 0, 1 or 3.
    pub result: SimResult,
}

/// Runs the simulator as `args` say and checks its recording.
pub fn simulate(args: &SimArgs) -> Result<RunOutcome> {
    let c = args.config;
    // Whatever the format: the parameters are on screen before a run that may be long.
    eprintln!(
        "msi --sim: {} cores x {} loads and stores on {} addresses, seed {}, {} schedule, bug: {}",
        c.cores,
        count(c.ops_per_core as usize),
        c.addrs,
        c.seed,
        c.schedule.name(),
        args.bug.as_deref().unwrap_or("none")
    );
    let mut progress = Progress::new(true, "msi --sim");
    let total = c.cores as u64 * c.ops_per_core;
    let completed = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&completed);
    let recording = while_running(
        &mut progress,
        || {
            let done = counter.load(Ordering::Relaxed);
            format!("run: {} loads and stores", of(done, total))
        },
        || sim::run_counted(c, completed),
    );
    let report = check_recording_with(&recording, args.bug.clone(), &mut progress);
    progress.finish();
    match args.format {
        Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => crate::output::print(format_args!("{}", render(&report)))?,
    }
    Ok(report.result.outcome())
}

/// Checks a recording: progress, SWMR from the logged intervals, and linearizability of
/// each address as a register.
pub fn check_recording(run: &SimRun, bug: Option<String>) -> SimReport {
    check_recording_with(run, bug, &mut Progress::new(false, "msi --sim"))
}

/// [`check_recording`], showing on `progress` how many operations the linearizability
/// checks have placed.
fn check_recording_with(run: &SimRun, bug: Option<String>, progress: &mut Progress) -> SimReport {
    let started = Instant::now();
    // The addresses are checked one after another; the counter adds up over all of them.
    let placed = Arc::new(AtomicUsize::new(0));
    let total = run
        .ops
        .iter()
        .filter(|o| !matches!(o.kind, OpKind::Load(None)))
        .count() as u64;
    let (swmr, linearizability) = while_running(
        progress,
        || {
            let done = placed.load(Ordering::Relaxed) as u64;
            format!("checks: {} operations linearized", of(done, total))
        },
        || {
            let swmr = swmr_violation(&run.holdings).map(|v| swmr_words(&v));
            let verdicts: Vec<AddressVerdict> = (0..run.config.addrs)
                .map(|a| check_address(run, a, &placed))
                .collect();
            (swmr, verdicts)
        },
    );
    let stopped = run.outcome != Outcome::Finished;
    // Wall-clock times vary from run to run: a deterministic run's report leaves them out.
    let timed = run.config.schedule == Schedule::Threads;
    let result = if stopped
        || swmr.is_some()
        || linearizability
            .iter()
            .any(|v| v.verdict == AddressResult::NotLinearizable)
    {
        SimResult::Fails
    } else if linearizability
        .iter()
        .any(|v| v.verdict == AddressResult::Unknown)
    {
        SimResult::Undecided
    } else {
        SimResult::Holds
    };
    SimReport {
        exercise: "msi --sim",
        bug,
        cores: run.config.cores,
        addresses: run.config.addrs,
        ops_per_core: run.config.ops_per_core,
        seed: run.config.seed,
        schedule: run.config.schedule.name(),
        fingerprint: format!("{:016x}", run.fingerprint()),
        outcome: match run.outcome {
            Outcome::Finished => "finished",
            Outcome::Deadlocked => "deadlocked",
            Outcome::Livelocked => "livelocked",
        },
        stuck: if stopped {
            stuck_words(run)
        } else {
            Vec::new()
        },
        completed_ops: run.ops.iter().filter(|o| o.ret.is_some()).count(),
        messages: run.messages,
        run_seconds: timed.then_some(run.elapsed.as_secs_f64()),
        intervals: run.holdings.len(),
        swmr_violation: swmr,
        linearizability,
        check_seconds: timed.then(|| started.elapsed().as_secs_f64()),
        seconds: (run.elapsed.as_secs_f64(), started.elapsed().as_secs_f64()),
        ok: result == SimResult::Holds,
        result,
    }
}

/// An address's name, as the models print it.
fn addr(a: usize) -> String {
    const NAMES: [&str; 4] = ["x", "y", "z", "w"];
    NAMES
        .get(a)
        .map_or_else(|| format!("a{a}"), |n| n.to_string())
}

fn core(c: usize) -> String {
    format!("c{}", c + 1)
}

/// A stored value in words: which core's store, and which of its stores. Every store
/// writes a value of its own, `(core + 1) << 24 | number`; 0 is memory's initial value.
fn value(v: u32) -> String {
    if v == 0 {
        "0 (initial)".to_string()
    } else {
        format!("{}#{}", core((v >> 24) as usize - 1), v & 0xFF_FFFF)
    }
}

/// Checks address `a`'s history, adding what the search places to `placed`.
fn check_address(run: &SimRun, a: usize, placed: &Arc<AtomicUsize>) -> AddressVerdict {
    let ops: Vec<&OpRecord> = run
        .ops
        .iter()
        .filter(|o| o.addr == a)
        // A load that never returned observed nothing and changed nothing.
        .filter(|o| !matches!(o.kind, OpKind::Load(None)))
        .collect();
    let history: Vec<Operation<RegisterOp<u32>, Option<u32>>> = ops
        .iter()
        .map(|o| Operation {
            process: o.core as u64,
            input: match o.kind {
                OpKind::Store(v) => RegisterOp::Write(v),
                OpKind::Load(_) => RegisterOp::Read,
            },
            call: o.call,
            ret: o.ret,
            output: match o.kind {
                OpKind::Load(v) => Some(v),
                OpKind::Store(_) if o.ret.is_some() => Some(None),
                OpKind::Store(_) => None,
            },
        })
        .collect();
    let verdict = check_operations(
        &Register { init: 0u32 },
        &history,
        &CheckOptions {
            timeout: Some(Duration::from_secs(120)),
            placed: Some(Arc::clone(placed)),
            ..CheckOptions::default()
        },
    );
    let describe = |i: usize| {
        let o = ops[i];
        let what = match o.kind {
            OpKind::Load(Some(v)) => format!("loaded {}", value(v)),
            OpKind::Load(None) => "load (no return)".to_string(),
            OpKind::Store(v) => format!("stored {}", value(v)),
        };
        let ret = o.ret.map_or("-".to_string(), |r| r.to_string());
        format!("{} {what} during [{}, {ret}]", core(o.core), o.call)
    };
    let why = match &verdict.failure {
        Some(f) => {
            let mut why = vec![format!(
                "no order of the operations on {} explains: {}",
                addr(a),
                describe(f.blocked)
            )];
            let tail = f.longest_prefix.len().saturating_sub(4);
            why.push("the longest order that does explain a prefix ends with:".to_string());
            why.extend(
                f.longest_prefix[tail..]
                    .iter()
                    .map(|&i| format!("  {}", describe(i))),
            );
            why
        }
        None => Vec::new(),
    };
    AddressVerdict {
        address: addr(a),
        operations: history.len(),
        verdict: match verdict.result {
            CheckResult::Ok => AddressResult::Linearizable,
            CheckResult::Illegal => AddressResult::NotLinearizable,
            CheckResult::Unknown => AddressResult::Unknown,
        },
        why,
        explored: verdict.explored,
    }
}

fn interval(h: &Holding) -> String {
    let to = if h.to == u64::MAX {
        "the end".to_string()
    } else {
        h.to.to_string()
    };
    let what = if h.writer { "in M" } else { "readable" };
    format!(
        "{} held {} {what} (entered {}) from {} to {to}",
        core(h.core),
        addr(h.addr),
        h.state.name(),
        h.from
    )
}

fn swmr_words(v: &SwmrViolation) -> String {
    format!("{}, while {}", interval(&v.first), interval(&v.second))
}

fn packet(p: &Packet) -> String {
    let node = |n: Node| match n {
        Node::Cache(c) => core(c as usize),
        Node::Dir => "dir".to_string(),
    };
    let msg = match p.env.msg {
        Msg::FwdGetS(r) => format!("Fwd-GetS(for {})", core(r as usize)),
        Msg::FwdGetM(r) => format!("Fwd-GetM(for {})", core(r as usize)),
        Msg::Inv(r) => format!("Inv(ack to {})", core(r as usize)),
        Msg::PutAck => "Put-Ack".to_string(),
        Msg::InvAck => "Inv-Ack".to_string(),
        Msg::Data { .. } => "Data".to_string(),
        other => format!("{other:?}"),
    };
    format!(
        "{} -> {} {msg} [{}]",
        node(p.env.from),
        node(p.env.to),
        addr(p.addr)
    )
}

/// A deadlock in words: every line not in a stable state, every directory entry waiting,
/// and every message a node stalled on.
fn stuck_words(run: &SimRun) -> Vec<String> {
    let mut out = Vec::new();
    for (c, lines) in run.final_caches.iter().enumerate() {
        for (a, line) in lines.iter().enumerate() {
            if !line.state.is_stable() {
                out.push(format!("{} {} in {}", core(c), addr(a), line.state.name()));
            }
        }
    }
    for (a, d) in run.final_dirs.iter().enumerate() {
        if d.state == DirState::SD {
            out.push(format!("dir {} in {}", addr(a), d.state.name()));
        }
    }
    for p in &run.stuck {
        out.push(format!("stalled: {}", packet(p)));
    }
    out
}

fn render(r: &SimReport) -> String {
    let mut out = String::new();
    let rate = r.completed_ops as f64 / r.seconds.0.max(1e-9);
    out += &format!(
        "run: {} in {:.2} s: {} loads and stores ({:.0}/s), {} messages\n",
        r.outcome,
        r.seconds.0,
        count(r.completed_ops),
        rate,
        count(r.messages as usize)
    );
    for s in &r.stuck {
        out += &format!("  deadlock: {s}\n");
    }
    match &r.swmr_violation {
        None => {
            out += &format!(
                "SWMR (from the cores' logged states): holds over {} intervals\n",
                count(r.intervals)
            )
        }
        Some(v) => out += &format!("SWMR (from the cores' logged states): VIOLATED: {v}\n"),
    }
    out += "linearizable per address (a register each):\n";
    for v in &r.linearizability {
        out += &format!(
            "  {}: {} ({} operations, {} configurations explored)\n",
            v.address,
            v.verdict,
            count(v.operations),
            count(v.explored)
        );
        for line in &v.why {
            out += &format!("    {line}\n");
        }
    }
    out += &format!("checks took {:.2} s\n\n", r.seconds.1);
    out += match r.result {
        SimResult::Holds => "result: every check holds\n",
        SimResult::Undecided => "result: undecided (a linearizability check ran out of time)\n",
        SimResult::Fails => "result: FAILS\n",
    };
    out
}

//! `check raft --jepsen`: a Jepsen-style test of the Raft key-value service
//! ([`impls::raft::kv`]) on the real node runtime ([`impls::raft::node`]).
//!
//! Concurrent closed-loop clients read (a linearizable get), write (a put) and
//! compare-and-set a few keys, while a nemesis partitions the network, crashes and
//! restarts nodes, cuts the power to a majority or to every node at once, kills or
//! isolates whichever node leads, pauses nodes and skews their clocks. Every operation is
//! recorded as an invocation and a completion (`ok`; `fail` for a definite error, a cas
//! mismatch among them; `info` for an indefinite one); after the nemesis has repaired
//! everything, a final read of every key is recorded too, so a lost acknowledged write is
//! a violation. The history is checked key by key with the linearizability checker's
//! cas-register model ([`crate::jepsen::keyed`]).
//!
//! By default the nodes run inside turmoil's deterministic simulation ([`sim`]): a seed
//! replays the same history. `--real` runs them as processes instead ([`real`]), on
//! loopback or, for partitions, in network namespaces. `--trace DIR` has every node
//! record its core's steps for `check raft --validate`, in either mode.
//!
//! Exit codes: 0 linearizable, 1 not, 3 unknown (the check's `--timeout` ran out), 2 usage
//! or internal error.

pub mod real;
pub mod sim;
pub mod workload;

use crate::args::{format_of, Format};
use crate::engine::{Outcome, Progress};
use crate::jepsen::keyed::KeyedCasRegister;
use crate::jepsen::{history, report};
use crate::lin::{check_history, CheckSettings, Input};
use crate::pending::PendingFile;
use anyhow::{bail, Result};
use clap::builder::PossibleValuesParser;
use clap::{value_parser, Arg, ArgMatches, Command as Cli};
use impls::raft::core::{Bug, ReadMode, TimingBug};
use impls::raft::node::{NodeConfig, RuntimeBug};
use impls::sansio::BugSwitches;
use impls::sim::faults::{self as nemesis, Fault, NemesisKind, Scheduled};
use linearizability::events::{history_from_events, read_jsonl_events};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workload::WorkloadConfig;

/// How long after the workers stop (and the nemesis repaired everything) the final reads
/// begin: long enough for restarted nodes to elect a leader and catch up, and for
/// requests in flight to end (the client's budget is [`CLIENT_TIMEOUT`]).
pub const SETTLE: Duration = Duration::from_secs(3);

/// Attempts per key of the final read, 0.2 s apart.
pub const FINAL_READ_ATTEMPTS: u32 = 10;

/// A proposal's wait on the node before it answers `timeout`: short, so that a fault
/// turns into failed requests within the run.
const PROPOSE_TIMEOUT: Duration = Duration::from_millis(1000);

/// The most entries one AppendEntries carries in a run: small, see [`Params::tune`].
const MAX_ENTRIES_PER_MESSAGE: usize = 4;
/// The client's budget of one operation, retries included: longer than the node's
/// wait, so the node's verdict normally arrives first.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(1500);
/// The client's wait for one node's answer, by default (`--attempt-timeout-ms`).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(600);
/// The longest pause between one worker's operations.
const MAX_THINK: Duration = Duration::from_millis(10);
/// How far each node's clock rate stands from the true rate for the whole run, at most,
/// in percent (drawn from the seed, [`Params::base_rate`]): clocks never agree exactly,
/// and a lease must hold anyway.
pub const BASE_RATE_SPREAD: i32 = 10;
/// The clock-drift bound the runs document to the core: two base rates are at most 20
/// percent apart, and the nemesis skews one clock at a time by up to 20 percent more, so
/// 45 keeps the correct lease inside its assumption, and a lease that ignores it
/// (`lease-ignores-drift`) outside.
pub const MAX_CLOCK_DRIFT_PERCENT: u32 = 45;

/// A known bug a run can switch on: of the core, of the runtime, or the core's timing bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftBug {
    /// One of the core's six bug switches.
    Core(Bug),
    /// One of the runtime's.
    Runtime(RuntimeBug),
    /// The lease's timing bug; implies the lease read mode.
    Timing(TimingBug),
}

impl RaftBug {
    /// Every bug, core first.
    pub fn all() -> Vec<RaftBug> {
        let core = Bug::ALL.iter().map(|&b| RaftBug::Core(b));
        let runtime = RuntimeBug::ALL.iter().map(|&b| RaftBug::Runtime(b));
        let timing = TimingBug::ALL.iter().map(|&b| RaftBug::Timing(b));
        core.chain(runtime).chain(timing).collect()
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RaftBug::Core(b) => b.name(),
            RaftBug::Runtime(b) => b.name(),
            RaftBug::Timing(b) => b.name(),
        }
    }

    /// The bug called `name`.
    pub fn from_name(name: &str) -> Option<RaftBug> {
        RaftBug::all().into_iter().find(|b| b.name() == name)
    }
}

/// What a run does. Everything in it is printed first, so the run can be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Nodes in the cluster (`n1`..; the Raft ids are one less).
    pub nodes: u32,
    /// Concurrent closed-loop clients.
    pub clients: u64,
    /// How long the workers run (simulated time).
    pub seconds: Duration,
    /// The faults the nemesis may inject.
    pub nemesis: Vec<NemesisKind>,
    /// Seeds the network, the workload, the election timeouts and the fault schedule.
    pub seed: u64,
    /// A known bug to run the nodes with.
    pub bug: Option<RaftBug>,
    /// How reads are confirmed.
    pub read_mode: ReadMode,
    /// Keys `k0`.. the workers use.
    pub keys: u64,
    /// Node processes (`--real`) instead of the simulation.
    pub real: bool,
    /// The client's wait for one node's answer before it tries the next: how fast
    /// clients move to a new leader.
    pub attempt_timeout: Duration,
    /// A directory for each node's trace of its core's steps (`n1.jsonl`, ...); it does
    /// not change the run.
    pub trace: Option<PathBuf>,
}

/// The nemeses `check raft --jepsen` offers: every kind.
pub const NEMESES: [NemesisKind; 8] = [
    NemesisKind::Partition,
    NemesisKind::Crash,
    NemesisKind::Restart,
    NemesisKind::PowerLoss,
    NemesisKind::Pause,
    NemesisKind::ClockSkew,
    NemesisKind::KillLeader,
    NemesisKind::IsolateLeader,
];

impl Params {
    /// The workers' shared configuration, for nodes serving clients at `addrs`.
    pub fn workload(&self, addrs: Vec<String>) -> WorkloadConfig {
        WorkloadConfig {
            addrs,
            clients: self.clients,
            keys: self.keys,
            until: self.seconds,
            timeout: CLIENT_TIMEOUT,
            attempt_timeout: self.attempt_timeout,
            max_think: MAX_THINK,
            seed: self.seed,
        }
    }

    /// Node `n`'s (from 1) clock rate for the whole run, in percent from the true rate:
    /// within ±[`BASE_RATE_SPREAD`], from the seed. A clock skew adds to it.
    pub fn base_rate(&self, n: u32) -> i32 {
        let mut rng = impls::sim::SplitMix64(self.seed ^ (u64::from(n) << 40) ^ 0x636C_6F63_6B73);
        (rng.next_u64() % (2 * BASE_RATE_SPREAD as u64 + 1)) as i32 - BASE_RATE_SPREAD
    }

    /// Applies the run's timing, read mode and bug to node `config`.
    pub fn tune(&self, c: &mut NodeConfig) {
        c.tick = Duration::from_millis(10);
        c.election_ticks = 15;
        c.heartbeat_ticks = 3;
        // Small, so that snapshots and InstallSnapshot happen within a run.
        c.snapshot_every = 200;
        // Small, so that a follower back from a fault catches up over several rounds:
        // a new leader then hears of its earlier terms' entries before its own no-op,
        // where the rule that it commits only its own term's entries decides (Figure 8).
        c.max_entries_per_message = MAX_ENTRIES_PER_MESSAGE;
        c.entropy = self.seed ^ (u64::from(c.id) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        c.propose_timeout = PROPOSE_TIMEOUT;
        c.read_mode = self.read_mode;
        c.max_clock_drift_percent = MAX_CLOCK_DRIFT_PERCENT;
        match self.bug {
            Some(RaftBug::Core(b)) => c.bug = Some(b),
            Some(RaftBug::Runtime(b)) => c.runtime_bug = Some(b),
            Some(RaftBug::Timing(b)) => c.timing_bug = Some(b),
            None => {}
        }
        c.quiet = true;
    }

    /// Node `n`'s (from 1) trace file, if the run records traces.
    pub fn trace_file(&self, n: u32) -> Option<PathBuf> {
        self.trace.as_ref().map(|dir| dir.join(format!("n{n}.jsonl")))
    }

    /// The command line that replays this run.
    pub fn command_line(&self) -> String {
        let mut line = format!(
            "check raft --jepsen --seed {} --nodes {} --clients {} --seconds {} --keys {} --nemesis {} --read-mode {}",
            self.seed,
            self.nodes,
            self.clients,
            self.seconds.as_secs(),
            self.keys,
            nemesis_names(&self.nemesis),
            read_mode_name(self.read_mode),
        );
        if let Some(bug) = self.bug {
            line.push_str(&format!(" --bug {}", bug.name()));
        }
        if self.attempt_timeout != ATTEMPT_TIMEOUT {
            line.push_str(&format!(
                " --attempt-timeout-ms {}",
                self.attempt_timeout.as_millis()
            ));
        }
        if self.real {
            line.push_str(" --real");
        }
        line
    }
}

fn nemesis_names(kinds: &[NemesisKind]) -> String {
    if kinds.is_empty() {
        return "none".to_string();
    }
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
}

/// `index` or `lease`.
pub fn read_mode_name(mode: ReadMode) -> &'static str {
    match mode {
        ReadMode::Index => "index",
        ReadMode::Lease => "lease",
    }
}

/// What `check raft --jepsen` was asked to do.
#[derive(Clone, Debug)]
pub struct JepsenArgs {
    /// The run.
    pub params: Params,
    /// Write the history here, as JSON Lines.
    pub history: Option<PathBuf>,
    /// Write the HTML page of the check here.
    pub html: Option<PathBuf>,
    /// Give the check up (verdict unknown) after this long.
    pub timeout: Option<Duration>,
    /// Output format.
    pub format: Format,
}

/// `simulation` or `real`.
fn mode_name(p: &Params) -> &'static str {
    if p.real {
        "real"
    } else {
        "simulation"
    }
}

/// The progress line of a run.
fn progress_line(rec: &history::Recorder, now: Duration, p: &Params) -> String {
    let end = p.seconds + SETTLE;
    let done = crate::engine::text::count(rec.completed() as usize);
    if now < end {
        format!(
            "{done} operations done, {} of the run{}",
            crate::engine::progress::left(now, end),
            if p.real { "" } else { " (simulated)" }
        )
    } else {
        format!("{done} operations done, final reads")
    }
}

/// The seed, every parameter and the planned fault schedule.
fn header(p: &Params, schedule: &[Scheduled]) -> String {
    let mut out = format!("SEED={}\n", p.seed);
    let _ = writeln!(
        out,
        "mode={} nodes={} clients={} seconds={} keys={} read-mode={} bug={} nemesis={}",
        mode_name(p),
        p.nodes,
        p.clients,
        p.seconds.as_secs(),
        p.keys,
        read_mode_name(p.read_mode),
        p.bug.map_or("none", |b| b.name()),
        nemesis_names(&p.nemesis),
    );
    let _ = writeln!(out, "replay: {}", p.command_line());
    if p.real {
        out.push_str(
            "(--real: the seed fixes the workload, the timeouts, the clock rates and the schedule, not the interleaving)\n",
        );
    }
    let rates: Vec<String> = (1..=p.nodes)
        .map(|n| format!("n{n} {:+}%", p.base_rate(n)))
        .collect();
    let _ = writeln!(
        out,
        "clock rates: {} (a clock skew adds to them; leases assume at most {MAX_CLOCK_DRIFT_PERCENT}% apart)",
        rates.join(", ")
    );
    out.push_str(&report::schedule(schedule, p.seconds, SETTLE));
    out
}

/// `check raft --jepsen`'s own command line.
pub fn command() -> Cli {
    let number = crate::args::number_arg;
    let bugs: Vec<&'static str> = RaftBug::all().into_iter().map(RaftBug::name).collect();
    Cli::new("jepsen")
        .override_usage("check [--format F] raft --jepsen [OPTIONS]")
        .about(
            "Jepsen-style test of the Raft key-value service: concurrent clients (get, put, cas), \
             a nemesis (partitions, crashes, restarts, power loss, pauses, clock skew, leader kills \
             and isolation), final reads, and a per-key linearizability check of the history \
             (exit 0 linearizable, 1 not, 3 unknown, 2 usage error)",
        )
        .arg(number("nodes", 3..=7).default_value("3").help("Nodes in the cluster"))
        .arg(number("clients", 1..=64).default_value("8").help("Concurrent clients, each a Jepsen process"))
        .arg(number("seconds", 1..=3600).default_value("10").help("How long the clients run (simulated time unless --real)"))
        .arg(number("keys", 1..=1000).default_value("4").help("Keys the clients read, write and cas"))
        .arg(
            Arg::new("nemesis")
                .long("nemesis")
                .value_name("LIST")
                .value_parser(|s: &str| NemesisKind::parse_offered(s, &NEMESES, "check raft"))
                .help("Faults to inject: partition, crash, restart, power-loss, pause, clock-skew, kill-leader, isolate-leader, comma-separated, or none [default: all of them; with --real, all but clock-skew, and partitions only where network namespaces can be made]"),
        )
        .arg(
            number("attempt-timeout-ms", 10..=1400)
                .default_value("600")
                .help("How long a client waits for one node before it tries the next, in milliseconds: short, and clients reach a new leader within a lease's error"),
        )
        .arg(
            Arg::new("real")
                .long("real")
                .action(clap::ArgAction::SetTrue)
                .help("Run the nodes as processes (this executable as raft-kv serve) on loopback, or in network namespaces for partitions, with SIGKILL, SIGSTOP and SIGCONT; not replayable"),
        )
        .arg(
            Arg::new("trace")
                .long("trace")
                .value_name("DIR")
                .value_parser(value_parser!(PathBuf))
                .help("Have every node record its core's steps in DIR/n1.jsonl, ... (created if missing; existing traces are not overwritten), for check raft --validate"),
        )
        .arg(
            Arg::new("read-mode")
                .long("read-mode")
                .value_name("MODE")
                .value_parser(["index", "lease"])
                .help("How the leader confirms a read: index (ReadIndex, a heartbeat round) or lease (clock-bound) [default: index; lease with --bug lease-ignores-drift]"),
        )
        .arg(
            Arg::new("seed")
                .long("seed")
                .value_name("S")
                .value_parser(value_parser!(u64))
                .help("Seed of the network, the workload and the faults; the run replays exactly from it [default: a fresh one, printed first]"),
        )
        .arg(
            Arg::new("history")
                .long("history")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Write the history as JSON Lines (get, put, and cas with [expected, new])"),
        )
        .arg(
            Arg::new("html")
                .long("html")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Write an HTML page of the check: the failing key, or the largest key's linearization"),
        )
        .arg(
            Arg::new("bug")
                .long("bug")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(bugs))
                .help("Run with a known bug, which the check should catch: the core's six, the runtime's skip-fsync, read-from-any-node and send-before-persist, or lease-ignores-drift (implies --read-mode lease)"),
        )
        .arg(crate::args::timeout_arg().help("Give the check up with 'unknown' (exit 3) after this long"))
}

/// Resolves `--bug` and `--read-mode`: `lease-ignores-drift` is a bug of leases, so it
/// implies `--read-mode lease` and cannot be combined with `--read-mode index`.
pub fn bug_and_read_mode(
    bug: Option<&str>,
    read_mode: Option<&str>,
) -> Result<(Option<RaftBug>, ReadMode)> {
    let bug = match bug {
        None => None,
        Some(name) => Some(
            RaftBug::from_name(name)
                .ok_or_else(|| anyhow::anyhow!("unknown bug '{name}'"))?,
        ),
    };
    let mode = match read_mode {
        None => None,
        Some("index") => Some(ReadMode::Index),
        Some("lease") => Some(ReadMode::Lease),
        Some(other) => bail!("unknown read mode '{other}'; the modes are index and lease"),
    };
    match (bug, mode) {
        (Some(RaftBug::Timing(b)), Some(ReadMode::Index)) => bail!(
            "--bug {} is a bug of leases; it cannot be combined with --read-mode index",
            b.name()
        ),
        (Some(RaftBug::Timing(_)), _) => Ok((bug, ReadMode::Lease)),
        (_, mode) => Ok((bug, mode.unwrap_or(ReadMode::Index))),
    }
}

/// Runs `check raft --jepsen` on its parsed arguments.
pub fn run(m: &ArgMatches) -> Result<Outcome> {
    let (bug, read_mode) = bug_and_read_mode(
        m.get_one::<String>("bug").map(String::as_str),
        m.get_one::<String>("read-mode").map(String::as_str),
    )?;
    let number = |name: &str| crate::args::number_of(m, name);
    let seed = m.get_one::<u64>("seed").copied().unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let real = m.get_flag("real");
    let nemesis = match m.get_one::<Vec<NemesisKind>>("nemesis") {
        Some(kinds) if real && kinds.contains(&NemesisKind::ClockSkew) => bail!(
            "--nemesis clock-skew cannot be combined with --real: a node process's clock rate \
             is set when it starts (each runs at its seed-drawn rate); the simulation skews clocks"
        ),
        Some(kinds) => kinds.clone(),
        None if real => NEMESES
            .iter()
            .copied()
            .filter(|k| *k != NemesisKind::ClockSkew)
            .collect(),
        None => NEMESES.to_vec(),
    };
    run_jepsen(&JepsenArgs {
        params: Params {
            nodes: number("nodes") as u32,
            clients: number("clients"),
            seconds: Duration::from_secs(number("seconds")),
            nemesis,
            seed,
            bug,
            read_mode,
            keys: number("keys"),
            real,
            attempt_timeout: Duration::from_millis(number("attempt-timeout-ms")),
            trace: m.get_one::<PathBuf>("trace").cloned(),
        },
        history: m.get_one::<PathBuf>("history").cloned(),
        html: m.get_one::<PathBuf>("html").cloned(),
        timeout: m.get_one::<Duration>("timeout").copied(),
        format: format_of(m),
    })
}

/// Makes sure the schedule cuts the power to every node at once at least once: the one
/// fault that can lose every copy of an unsynced write, which this exercise exists to
/// show, is not left to the luck of the seed. If no power loss takes the whole cluster,
/// a pair (a fault and its undo, with every node up before it) becomes a whole-cluster
/// power loss and its power-on, at the same times: the majority power loss nearest the
/// middle of the run if there is one, else the pair of any kind nearest the middle.
/// Only with `crash` and no `restart` are crashes unpaired; a schedule with no such pair
/// is left as it is.
pub fn ensure_whole_cluster_power_loss(schedule: &mut [Scheduled], nodes: u32) {
    let all: Vec<u32> = (1..=nodes).collect();
    if schedule
        .iter()
        .any(|s| s.fault == Fault::PowerLoss(all.clone()))
    {
        return;
    }
    let undoes = |start: &Fault, stop: &Fault| match (start, stop) {
        (Fault::Partition(..) | Fault::IsolateLeader, Fault::Heal) => true,
        (Fault::Crash(a), Fault::Restart(b)) | (Fault::Pause(a), Fault::Resume(b)) => a == b,
        (Fault::PowerLoss(a), Fault::PowerOn(b)) => a == b,
        (Fault::ClockSkew(a, _), Fault::ClockSkew(b, 0)) => a == b,
        (Fault::KillLeader, Fault::RestartLeader) => true,
        _ => false,
    };
    let mut down = 0usize;
    let mut candidates = Vec::new();
    for i in 0..schedule.len() {
        match &schedule[i].fault {
            Fault::Crash(_) if !matches!(schedule.get(i + 1), Some(s) if undoes(&schedule[i].fault, &s.fault)) => {
                down += 1
            }
            start if down == 0 => {
                if let Some(stop) = schedule.get(i + 1) {
                    if undoes(start, &stop.fault) {
                        candidates.push(i);
                    }
                }
            }
            _ => {}
        }
    }
    let Some(last) = schedule.last().map(|s| s.at) else {
        return;
    };
    let middle = last / 2;
    // Widening a majority power loss keeps every other kind the schedule dealt.
    let partial: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| matches!(schedule[i].fault, Fault::PowerLoss(_)))
        .collect();
    if !partial.is_empty() {
        candidates = partial;
    }
    if let Some(&i) = candidates
        .iter()
        .min_by_key(|&&i| schedule[i].at.abs_diff(middle))
    {
        schedule[i].fault = Fault::PowerLoss(all.clone());
        schedule[i + 1].fault = Fault::PowerOn(all);
    }
}

/// Runs `check raft --jepsen` as `args` say.
pub fn run_jepsen(args: &JepsenArgs) -> Result<Outcome> {
    let mut params = args.params.clone();
    // Partitions of real processes need network namespaces; where they cannot be made,
    // the run goes on without them and says why, before anything else.
    let mut skipped = String::new();
    if params.real && real::needs_namespaces(&params.nemesis) {
        if let Err(reason) = crate::jepsen::netns::probe() {
            params
                .nemesis
                .retain(|k| !matches!(k, NemesisKind::Partition | NemesisKind::IsolateLeader));
            skipped = format!("partitions and leader isolation skipped: {reason}\n");
        }
    }
    // Every run records the nodes' traces and validates them against the message-level
    // model afterwards: in `--trace DIR`, kept, or else in a directory of the run's own.
    let own_traces = match params.trace.clone() {
        Some(dir) => {
            prepare_trace_dir(&dir, params.nodes)?;
            // Absolute, for node processes wherever they run.
            params.trace = Some(std::fs::canonicalize(&dir)?);
            None
        }
        None => {
            let dir = crate::reaper::TempDir::new("check-raft-traces-")
                .map_err(|e| anyhow::anyhow!("cannot create a directory for the traces: {e}"))?;
            params.trace = Some(dir.path().to_path_buf());
            Some(dir)
        }
    };
    let p = &params;
    let history_file = args
        .history
        .as_deref()
        .map(|path| PendingFile::create(path, "--history"))
        .transpose()?;
    let html_file = args
        .html
        .as_deref()
        .map(|path| PendingFile::create(path, "--html"))
        .transpose()?;
    let mut schedule = nemesis::schedule(p.seed, &p.nemesis, p.nodes, p.seconds);
    if p.nemesis.contains(&NemesisKind::PowerLoss) {
        ensure_whole_cluster_power_loss(&mut schedule, p.nodes);
    }
    let head = format!("{skipped}{}", header(p, &schedule));
    match args.format {
        Format::Text => crate::output::print(head)?,
        Format::Json => eprint!("{head}"),
    }
    let started = Instant::now();
    let mut progress = Progress::new(true, "raft --jepsen");
    let events = if p.real {
        real::run(p, &schedule, &mut progress)?
    } else {
        sim::run(p, &schedule, &mut progress)?
    };
    progress.finish();
    let run_seconds = started.elapsed().as_secs_f64();
    let jsonl = history::to_jsonl(&events);
    if let Some(file) = history_file {
        file.commit(jsonl.trim_end())?;
    }
    let name = args.history.as_ref().map_or_else(
        || format!("check raft --jepsen --seed {}", p.seed),
        |f| f.display().to_string(),
    );
    let final_from = crate::jepsen::workload::final_process(p.clients);
    let model = KeyedCasRegister::default();
    let operations = history_from_events(&model, &name, &read_jsonl_events(&name, &jsonl)?)?;
    let settings = CheckSettings {
        name: name.clone(),
        model: "cas-register per key".to_string(),
        timeout: args.timeout,
        page: args.html.is_some(),
        final_reads_from: Some(final_from),
        ..CheckSettings::default()
    };
    let mut lin = check_history(&model, &operations, &settings, Input::Jsonl)?;
    let ops = history::pair(&events, final_from);
    let outcome = report::Outcome::new(
        report::RunMeta {
            schema: "check-raft-jepsen/1",
            seed: p.seed,
            mode: mode_name(p),
            replay: p.command_line(),
            history: name,
            run_seconds,
            bug: p.bug.map(RaftBug::name),
        },
        &events,
        &ops,
    );
    let trace_files: Vec<PathBuf> = (1..=p.nodes).filter_map(|n| p.trace_file(n)).collect();
    let validation = crate::exercises::raft::validate::validate(&trace_files)?;
    // Every fault was repaired SETTLE before the final reads: a key none of them could
    // read is a cluster that did not recover, and a lost write there could not be seen.
    let unread = p.keys.saturating_sub(outcome.durability.final_reads as u64);
    match args.format {
        Format::Text => {
            let mut text = report::render(&outcome, &lin);
            text.push_str(&validation_section(&validation));
            if unread > 0 {
                let _ = writeln!(
                    text,
                    "not recovered: the final reads of {unread} of {} keys failed, {} s after every fault was repaired (a liveness failure; exit 1)",
                    p.keys,
                    SETTLE.as_secs()
                );
            }
            crate::output::print(text)?
        }
        Format::Json => {
            let mut v: serde_json::Value = serde_json::from_str(&report::json(&outcome, &lin)?)?;
            v["recovered"] = serde_json::Value::Bool(unread == 0);
            v["unread_keys"] = unread.into();
            v["validation"] = serde_json::from_str(&crate::exercises::raft::validate::json(
                &validation,
            ))?;
            crate::outln!("{}", serde_json::to_string_pretty(&v)?)?
        }
    }
    // The page shows the anomaly: the history's, or else, where only the traces
    // disagree, the validation's.
    if let Some(file) = html_file {
        let history_fails = lin.verdict.outcome() == Outcome::Fails;
        if !validation.agrees() && !history_fails {
            let title = format!("{} (the run's traces)", p.command_line());
            file.commit(&crate::exercises::raft::validate::page::html(&validation, &title))?;
        } else if let Some(page) = lin.page.take() {
            file.commit(&page)?;
        }
    }
    if let (Some(dir), None) = (&p.trace, &own_traces) {
        let files: Vec<String> = trace_files.iter().map(|f| f.display().to_string()).collect();
        eprintln!(
            "traces: {}\nvalidate them against the model with: check raft --validate {}",
            dir.display(),
            files.join(" ")
        );
    }
    drop(own_traces);
    let verdict = match lin.verdict.outcome() {
        Outcome::Holds if unread > 0 || !validation.agrees() => Outcome::Fails,
        verdict => verdict,
    };
    let (verdict, missed) = report::bug_run_verdict(verdict, p.bug.map(RaftBug::name));
    if let Some(line) = missed {
        match args.format {
            Format::Text => crate::output::print(line)?,
            Format::Json => eprint!("{line}"),
        }
    }
    Ok(verdict)
}

/// The trace validation's part of the text report: one line when every node's steps are
/// the model's, else the validator's whole report (the node, the line, the state before,
/// the step taken and the rule that disagreed).
fn validation_section(v: &crate::exercises::raft::validate::Verdict) -> String {
    if v.agrees() {
        let steps: u64 = v.nodes.iter().map(|n| n.steps).sum();
        let received: u64 = v.nodes.iter().map(|n| n.receipts_matched).sum();
        format!(
            "trace validation: {} steps and {} receipts of {} nodes agree with the message-level model\n",
            crate::engine::text::count(steps as usize),
            crate::engine::text::count(received as usize),
            v.nodes.len()
        )
    } else {
        format!(
            "trace validation: the nodes' steps DISAGREE with the message-level model (exit 1; --trace DIR keeps the traces)\n{}",
            crate::exercises::raft::validate::text(v)
        )
    }
}

/// Makes `dir` ready for the nodes' traces: created if missing, refused if it is not a
/// directory or already holds a trace of one of the nodes (a node appends to its trace
/// across restarts, so an old file would mix two runs).
pub fn prepare_trace_dir(dir: &std::path::Path, nodes: u32) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("--trace {}: it exists and is not a directory", dir.display());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("--trace {}: cannot create it: {e}", dir.display()))?;
    for n in 1..=nodes {
        let file = dir.join(format!("n{n}.jsonl"));
        if std::fs::symlink_metadata(&file).is_ok() {
            bail!(
                "--trace {}: {} exists already; give a new or empty directory, so that no \
                 trace mixes two runs",
                dir.display(),
                file.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schedule_with_power_loss_cuts_the_whole_cluster_once() {
        for seed in 0..200 {
            let kinds = NEMESES.to_vec();
            let mut s = nemesis::schedule(seed, &kinds, 3, Duration::from_secs(10));
            let before = s.clone();
            ensure_whole_cluster_power_loss(&mut s, 3);
            let whole = Fault::PowerLoss(vec![1, 2, 3]);
            assert!(s.iter().any(|f| f.fault == whole), "seed {seed}: {s:?}");
            let changed = s.iter().zip(&before).filter(|(a, b)| a != b).count();
            let had = before.iter().any(|f| f.fault == whole);
            assert_eq!(changed, if had { 0 } else { 2 }, "seed {seed}: one pair replaced");
            // Times are kept, and the power comes back right after the loss.
            assert!(s.iter().zip(&before).all(|(a, b)| a.at == b.at));
            let i = s.iter().position(|f| f.fault == whole).unwrap();
            assert_eq!(s[i + 1].fault, Fault::PowerOn(vec![1, 2, 3]));
            // A majority power loss, where there is one, is what widens: no other kind
            // the schedule dealt is lost.
            let majority = |f: &Fault| matches!(f, Fault::PowerLoss(v) if v.len() < 3);
            if !had && before.iter().any(|f| majority(&f.fault)) {
                assert!(majority(&before[i].fault), "seed {seed}: {before:?}");
            }
        }
        // With crash and no restart, crashed nodes stay down: no pair is chosen after one.
        let mut s = vec![
            Scheduled { at: Duration::from_secs(1), fault: Fault::Crash(1) },
            Scheduled { at: Duration::from_secs(2), fault: Fault::Pause(2) },
            Scheduled { at: Duration::from_secs(3), fault: Fault::Resume(2) },
        ];
        let before = s.clone();
        ensure_whole_cluster_power_loss(&mut s, 3);
        assert_eq!(s, before);
    }

    #[test]
    fn the_lease_bug_implies_leases_and_refuses_index() {
        let (bug, mode) = bug_and_read_mode(Some("lease-ignores-drift"), None).unwrap();
        assert_eq!(bug, Some(RaftBug::Timing(TimingBug::LeaseIgnoresDrift)));
        assert_eq!(mode, ReadMode::Lease);
        assert!(bug_and_read_mode(Some("lease-ignores-drift"), Some("index")).is_err());
        assert_eq!(bug_and_read_mode(None, None).unwrap(), (None, ReadMode::Index));
        let (bug, _) = bug_and_read_mode(Some("skip-fsync"), None).unwrap();
        assert_eq!(bug, Some(RaftBug::Runtime(RuntimeBug::SkipFsync)));
        assert_eq!(RaftBug::all().len(), 10, "six core, three runtime, one timing");
    }
}

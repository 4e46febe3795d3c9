//! `check kv --jepsen`: a Jepsen-style test of the real key-value store ([`impls::kv`]).
//!
//! Concurrent clients run random gets and puts on a few keys while a nemesis partitions
//! the network, crashes nodes and restarts them, cuts the power to a majority or to every
//! node at once, and pauses nodes; every operation is recorded as an
//! invocation and a completion (`ok`, `fail` for a definite error, `info` for an
//! indefinite one); at the end the nemesis heals everything and a `QUORUM` read of every
//! key is recorded too, so that a lost acknowledged write is a violation. The history is
//! then checked with the `kv` model of [`linearizability`], key by key, exactly as
//! `check lin --model kv` would check the `--history` file.
//!
//! By default the cluster runs inside turmoil's deterministic simulation ([`sim`]): a seed
//! replays the same history. `--real` runs node processes instead ([`real`]), on loopback,
//! or, when partitions are asked for and the machine allows it, each in a network
//! namespace of its own ([`crate::jepsen::netns`]).
//!
//! The store has no leader and its nodes' clocks are offsets that only `wall-clock-lww`
//! reads, so the leader-targeted faults and clock skew are not offered ([`NEMESES`]).
//!
//! Exit codes: 0 linearizable, 1 not, 3 unknown (the check's `--timeout` ran out), 2 usage
//! or internal error.

pub mod real;
pub mod sim;
pub mod siblings;
pub mod workload;

use crate::args::{format_of, Format};
use crate::engine::{Outcome, Progress};
use crate::jepsen::{history, report};
use crate::lin::{check_history, CheckSettings, Input};
use crate::pending::PendingFile;
use anyhow::{bail, Result};
use clap::builder::PossibleValuesParser;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command as Cli};
use impls::kv::core::Consistency;
use impls::kv::node::NodeBug;
use impls::kv::NodeConfig;
use impls::sim::faults::{self as nemesis, NemesisKind, Scheduled};
use linearizability::events::{history_from_events, read_jsonl_events};
use linearizability::kv::Kv;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workload::WorkloadConfig;

/// How long after the workers stop (and the nemesis healed and restarted everything) the
/// final reads begin: long enough for restarted nodes to recover and reconnect, and for
/// requests in flight to finish (the client timeout is 1 s).
pub const SETTLE: Duration = Duration::from_secs(2);

/// Attempts per key of the final read, 0.2 s apart.
pub const FINAL_READ_ATTEMPTS: u32 = 10;

/// The node's request timeout. Short, so that a fault turns into failed requests within
/// the run, not after it.
const NODE_TIMEOUT: Duration = Duration::from_millis(500);
/// The client's timeout: longer than the node's, so the node's verdict (which knows
/// whether a put may have taken effect) normally arrives first.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);
const HEARTBEAT: Duration = Duration::from_millis(50);
const HINT_INTERVAL: Duration = Duration::from_millis(100);
/// The longest pause between one worker's operations: short, so that operations on a
/// key overlap often, which is what gives a weak store the chance to disagree.
const MAX_THINK: Duration = Duration::from_millis(10);

/// What a run does. Everything in it is printed first, so the run can be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Nodes in the cluster (`n1`..).
    pub nodes: u32,
    /// Concurrent closed-loop clients.
    pub clients: u64,
    /// How long the workers run (simulated time in a simulation).
    pub seconds: Duration,
    /// The faults the nemesis may inject.
    pub nemesis: Vec<NemesisKind>,
    /// The consistency level of the workers' operations.
    pub consistency: Consistency,
    /// Seeds the network, the workload and the fault schedule.
    pub seed: u64,
    /// A known bug to run the nodes with, of the core or of the runtime.
    pub bug: Option<NodeBug>,
    /// Node processes on loopback instead of the simulation.
    pub real: bool,
    /// Keys `k0`.. the workers use.
    pub keys: u64,
}

impl Params {
    /// The nemeses a run injects when `--nemesis` is not given: every one the store
    /// offers ([`NEMESES`]), in a simulation and for real processes alike (where
    /// partitions are skipped, with the reason printed, if network namespaces cannot be
    /// made).
    pub fn default_nemesis() -> Vec<NemesisKind> {
        NEMESES.to_vec()
    }

    /// The workers' shared configuration, for nodes at `addrs`.
    pub fn workload(&self, addrs: Vec<String>) -> WorkloadConfig {
        WorkloadConfig {
            addrs,
            clients: self.clients,
            keys: self.keys,
            put_percent: 50,
            consistency: self.consistency,
            until: self.seconds,
            timeout: CLIENT_TIMEOUT,
            max_think: MAX_THINK,
            seed: self.seed,
        }
    }

    /// Node `id`'s clock skew in milliseconds, from the seed: within ±100 ms. Only
    /// `wall-clock-lww` reads the clock, and skew is what makes it lose writes.
    pub fn clock_skew_ms(&self, id: u32) -> i64 {
        let mut rng = impls::sim::SplitMix64(self.seed ^ u64::from(id) << 40);
        (rng.next_u64() % 201) as i64 - 100
    }

    /// Applies the run's timing, bug and skew to a node's configuration.
    pub fn tune(&self, c: &mut NodeConfig) {
        c.request_timeout = NODE_TIMEOUT;
        c.heartbeat = HEARTBEAT;
        c.hint_interval = HINT_INTERVAL;
        match self.bug {
            Some(NodeBug::Core(b)) => c.bug = Some(b),
            Some(NodeBug::Runtime(b)) => c.runtime_bug = Some(b),
            None => {}
        }
        c.clock_skew_ms = self.clock_skew_ms(c.id);
        c.quiet = true;
    }

    /// The same as [`Params::tune`], as `kv-node` flags.
    pub fn node_flags(&self, id: u32) -> Vec<String> {
        let mut flags = vec![
            format!("--timeout-ms={}", NODE_TIMEOUT.as_millis()),
            format!("--heartbeat-ms={}", HEARTBEAT.as_millis()),
            format!("--hint-interval-ms={}", HINT_INTERVAL.as_millis()),
            format!("--clock-skew-ms={}", self.clock_skew_ms(id)),
        ];
        if let Some(bug) = self.bug {
            flags.push(format!("--bug={}", bug.name()));
        }
        flags
    }

    /// The command line that replays this run.
    pub fn command_line(&self) -> String {
        let nemesis: Vec<&str> = self.nemesis.iter().map(|k| k.name()).collect();
        let mut line = format!(
            "check kv --jepsen --seed {} --nodes {} --clients {} --seconds {} --keys {} --nemesis {} --consistency {}",
            self.seed,
            self.nodes,
            self.clients,
            self.seconds.as_secs(),
            self.keys,
            if nemesis.is_empty() { "none".to_string() } else { nemesis.join(",") },
            self.consistency.name()
        );
        if let Some(bug) = self.bug {
            line.push_str(&format!(" --bug {}", bug.name()));
        }
        if self.real {
            line.push_str(" --real");
        }
        line
    }
}

/// What `check kv --jepsen` was asked to do.
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

/// The progress line of a run: operations completed, and the time left until the final
/// reads (`now` and the run's end in the run's own time, simulated in a simulation).
fn progress_line(rec: &history::Recorder, now: Duration, p: &Params, simulated: bool) -> String {
    let end = p.seconds + SETTLE;
    let done = crate::engine::text::count(rec.completed() as usize);
    if now < end {
        format!(
            "{done} operations done, {} of the run{}",
            crate::engine::progress::left(now, end),
            if simulated { " (simulated)" } else { "" }
        )
    } else {
        format!("{done} operations done, final reads")
    }
}

/// The seed, every parameter and the planned fault schedule.
fn header(p: &Params, schedule: &[Scheduled]) -> String {
    let mut out = format!("SEED={}\n", p.seed);
    let nemesis: Vec<&str> = p.nemesis.iter().map(|k| k.name()).collect();
    let _ = writeln!(
        out,
        "mode={} nodes={} clients={} seconds={} keys={} consistency={} bug={} nemesis={}",
        if p.real { "real" } else { "simulation" },
        p.nodes,
        p.clients,
        p.seconds.as_secs(),
        p.keys,
        p.consistency.name(),
        p.bug.map_or("none", |b| b.name()),
        if nemesis.is_empty() {
            "none".to_string()
        } else {
            nemesis.join(",")
        },
    );
    let _ = writeln!(out, "replay: {}", p.command_line());
    if p.real {
        out.push_str("(--real: the seed fixes the workload and the schedule, not the interleaving)\n");
    }
    out.push_str(&report::schedule(schedule, p.seconds, SETTLE));
    out
}

/// Resolves `--bug` and `--consistency`: `--bug one` is the consistency level ONE (with
/// no bug in the nodes), any other name a bug of the nodes. Naming `one` and another level
/// is a usage error.
pub fn bug_and_consistency(
    bug: Option<&str>,
    consistency: Option<&str>,
) -> Result<(Option<NodeBug>, Consistency)> {
    let level = match consistency {
        None => None,
        Some(name) => Some(Consistency::from_name(name).ok_or_else(|| {
            anyhow::anyhow!("unknown consistency '{name}'; the levels are one, quorum, all")
        })?),
    };
    match bug {
        None => Ok((None, level.unwrap_or(Consistency::Quorum))),
        Some(name) if name == impls::kv::core::CONSISTENCY_ONE.name => match level {
            None | Some(Consistency::One) => Ok((None, Consistency::One)),
            Some(other) => bail!(
                "--bug one means --consistency one; it cannot be combined with --consistency {}",
                other.name()
            ),
        },
        Some(name) => match NodeBug::from_name(name) {
            Some(b) => Ok((Some(b), level.unwrap_or(Consistency::Quorum))),
            None => bail!("unknown bug '{name}'; the bugs are {}", bug_names().join(", ")),
        },
    }
}

/// The nemeses `check kv --jepsen` offers: everything but the leader-targeted faults (the
/// store has no leader) and clock skew (a node's clock is a fixed offset that only
/// `wall-clock-lww` reads, not a rate the nemesis can change).
pub const NEMESES: [NemesisKind; 5] = [
    NemesisKind::Partition,
    NemesisKind::Crash,
    NemesisKind::Restart,
    NemesisKind::PowerLoss,
    NemesisKind::Pause,
];

/// Every name `--bug` takes: the model's variants (the core's bugs and `one`), then the
/// runtime's bugs, which the model cannot see.
fn bug_names() -> Vec<&'static str> {
    let runtime = NodeBug::all().into_iter().filter_map(|b| match b {
        NodeBug::Runtime(r) => Some(r.name()),
        NodeBug::Core(_) => None,
    });
    models::kv::VARIANTS
        .iter()
        .map(|v| v.name)
        .chain(runtime)
        .collect()
}

/// The default of `--keys` for `check kv --jepsen`.
const DEFAULT_JEPSEN_KEYS: &str = "5";

/// `check kv --jepsen`'s own command line: the kv model's bounds have ranges of their own
/// (`--nodes` 3..=4), so the run is parsed by a command of its own.
pub fn command() -> Cli {
    let number = crate::args::number_arg;
    let mut bugs = bug_names();
    bugs.extend(siblings::bug_names());
    Cli::new("jepsen")
        .override_usage("check [--format F] kv --jepsen [OPTIONS]")
        .about(
            "Jepsen-style test of the real key-value store: concurrent clients, a nemesis \
             (partitions, crashes, restarts, power loss, pauses), final quorum reads, and a \
             linearizability check of the history (exit 0 linearizable, 1 not, 3 unknown, 2 usage error); \
             with --versioning dvv, the multi-value mode on a simulated cluster, checked for lost \
             updates and false siblings",
        )
        .arg(number("nodes", 3..=9).default_value("5").help("Nodes in the cluster"))
        .arg(number("clients", 1..=64).default_value("10").help("Concurrent clients, each a Jepsen process"))
        .arg(number("seconds", 1..=3600).default_value("10").help("How long the clients run (simulated time unless --real)"))
        .arg(number("keys", 1..=1000).default_value(DEFAULT_JEPSEN_KEYS).help("Keys the clients read and write"))
        .arg(
            Arg::new("nemesis")
                .long("nemesis")
                .value_name("LIST")
                .value_parser(|s: &str| NemesisKind::parse_offered(s, &NEMESES, "check kv"))
                .help("Faults to inject: partition, crash, restart, power-loss, pause, comma-separated, or none [default: all of them; with --real, partitions only where network namespaces can be made]"),
        )
        .arg(consistency_arg().help("Replicas each client request waits for [default: quorum]"))
        .arg(
            Arg::new("versioning")
                .long("versioning")
                .value_name("SCHEME")
                .value_parser(["lww", "dvv"])
                .default_value("lww")
                .help("lww: one versioned value per key, checked for linearizability; dvv: concurrent puts kept as siblings in DVV sets (simulation only), checked for lost updates and false siblings"),
        )
        .arg(
            Arg::new("seed")
                .long("seed")
                .value_name("S")
                .value_parser(value_parser!(u64))
                .help("Seed of the network, the workload and the faults; a simulation replays exactly from it [default: a fresh one, printed first]"),
        )
        .arg(
            Arg::new("history")
                .long("history")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Write the history as JSON Lines (check lin FILE --model kv reads it); with --versioning dvv, each key's history and final read as JSON"),
        )
        .arg(
            Arg::new("html")
                .long("html")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Write an HTML page of the check: the failing key, or the largest key's linearization; with --versioning dvv, each key's anomalies and history"),
        )
        .arg(
            Arg::new("bug")
                .long("bug")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(bugs))
                .help("Run with a known bug, which the check should catch; one means --consistency one; skip-fsync is a bug of the node's runtime (its log is never fsynced), which only power-loss can catch; lww-wall-clock, client-id-clock and prune-clock are bugs of --versioning dvv"),
        )
        .arg(
            Arg::new("real")
                .long("real")
                .action(ArgAction::SetTrue)
                .help("Run node processes instead of the simulation: on loopback, or in network namespaces of their own for partitions (as root, with ip and iptables); not replayable"),
        )
        .arg(crate::args::timeout_arg().help("Give the check up with 'unknown' (exit 3) after this long"))
}

pub(crate) fn consistency_arg() -> Arg {
    Arg::new("consistency")
        .long("consistency")
        .value_name("LEVEL")
        .value_parser(["one", "quorum", "all"])
        .help("Replicas each request waits for")
}

/// Runs `check kv --jepsen` on its parsed arguments.
pub fn run(m: &ArgMatches) -> Result<Outcome> {
    if m.get_one::<String>("versioning").map(String::as_str) == Some("dvv") {
        return run_siblings(m);
    }
    if let Some(bug) = m
        .get_one::<String>("bug")
        .filter(|b| siblings::bug_names().contains(&b.as_str()))
    {
        bail!("--bug {bug} is a bug of the multi-value mode: add --versioning dvv");
    }
    let real = m.get_flag("real");
    let (bug, consistency) = bug_and_consistency(
        m.get_one::<String>("bug").map(String::as_str),
        m.get_one::<String>("consistency").map(String::as_str),
    )?;
    let number = |name: &str| crate::args::number_of(m, name);
    let seed = m.get_one::<u64>("seed").copied().unwrap_or_else(|| {
        // A fresh seed per run, as TigerBeetle's VOPR does; it is printed first.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    run_jepsen(&JepsenArgs {
        params: Params {
            nodes: number("nodes") as u32,
            clients: number("clients"),
            seconds: Duration::from_secs(number("seconds")),
            nemesis: m
                .get_one::<Vec<impls::sim::faults::NemesisKind>>("nemesis")
                .cloned()
                .unwrap_or_else(Params::default_nemesis),
            consistency,
            seed,
            bug,
            real,
            keys: number("keys"),
        },
        history: m.get_one::<PathBuf>("history").cloned(),
        html: m.get_one::<PathBuf>("html").cloned(),
        timeout: m.get_one::<Duration>("timeout").copied(),
        format: format_of(m),
    })
}

/// `check kv --jepsen --versioning dvv`: the same flags, the multi-value mode's run.
fn run_siblings(m: &ArgMatches) -> Result<Outcome> {
    if m.get_one::<Duration>("timeout").is_some() {
        bail!("--timeout bounds the linearizability check, which --versioning dvv does not run");
    }
    let number = |name: &str| crate::args::number_of(m, name);
    let consistency = match m.get_one::<String>("consistency") {
        Some(name) => Consistency::from_name(name)
            .ok_or_else(|| anyhow::anyhow!("unknown consistency '{name}'"))?,
        None => Consistency::Quorum,
    };
    let params = Params {
        nodes: number("nodes") as u32,
        clients: number("clients"),
        seconds: Duration::from_secs(number("seconds")),
        nemesis: m
            .get_one::<Vec<NemesisKind>>("nemesis")
            .cloned()
            .unwrap_or_else(|| siblings::NEMESES.to_vec()),
        consistency,
        seed: m.get_one::<u64>("seed").copied().unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        }),
        bug: None,
        real: m.get_flag("real"),
        keys: number("keys"),
    };
    siblings::run(
        &params,
        m.get_one::<String>("bug").map(String::as_str),
        m.get_one::<PathBuf>("history"),
        m.get_one::<PathBuf>("html"),
        format_of(m),
    )
}

/// Runs `check kv --jepsen` as `args` say.
pub fn run_jepsen(args: &JepsenArgs) -> Result<Outcome> {
    let mut params = args.params.clone();
    // Partitions of real processes need network namespaces; where they cannot be made,
    // the run goes on without partitions and says why, before anything else.
    let mut skipped = None;
    if params.real && params.nemesis.contains(&NemesisKind::Partition) {
        if let Err(reason) = crate::jepsen::netns::probe() {
            params.nemesis.retain(|k| *k != NemesisKind::Partition);
            skipped = Some(format!("partitions skipped: {reason}\n"));
        }
    }
    let p = &params;
    // Created before the run, so an unwritable place fails at once, not after it.
    let history_file = args
        .history
        .as_deref()
        .map(|path| PendingFile::create(path, "--history"))
        .transpose()?;
    let schedule = nemesis::schedule(p.seed, &p.nemesis, p.nodes, p.seconds);
    // Before the run, TigerBeetle's VOPR style: whatever happens next, the seed and the
    // schedule are on screen. In the text report, they are its first lines; beside a JSON
    // report (which repeats them), they go to stderr.
    let head = format!("{}{}", skipped.unwrap_or_default(), header(p, &schedule));
    match args.format {
        Format::Text => crate::output::print(head)?,
        Format::Json => eprint!("{head}"),
    }
    let started = Instant::now();
    let mut progress = Progress::new(true, "kv --jepsen");
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
    // The verdict is what `check lin --model kv` says of the history file: the same
    // reader and the same model, called as a library.
    let name = args.history.as_ref().map_or_else(
        || format!("check kv --jepsen --seed {}", p.seed),
        |f| f.display().to_string(),
    );
    let html_file = args
        .html
        .as_deref()
        .map(|path| PendingFile::create(path, "--html"))
        .transpose()?;
    let operations = history_from_events(&Kv, &name, &read_jsonl_events(&name, &jsonl)?)?;
    let settings = CheckSettings {
        name: name.clone(),
        model: "kv".to_string(),
        timeout: args.timeout,
        page: args.html.is_some(),
        final_reads_from: Some(crate::jepsen::workload::final_process(p.clients)),
        ..CheckSettings::default()
    };
    let mut lin = check_history(&Kv, &operations, &settings, Input::Jsonl)?;
    let ops = history::pair(&events, crate::jepsen::workload::final_process(p.clients));
    let outcome = report::Outcome::new(
        report::RunMeta {
            schema: "check-kv-jepsen/1",
            seed: p.seed,
            mode: if p.real { "real" } else { "simulation" },
            replay: p.command_line(),
            history: name,
            run_seconds,
            bug: p.bug.map(|b| b.name()),
        },
        &events,
        &ops,
    );
    match args.format {
        Format::Text => crate::output::print(report::render(&outcome, &lin))?,
        Format::Json => crate::outln!("{}", report::json(&outcome, &lin)?)?,
    }
    if let (Some(file), Some(page)) = (html_file, lin.page.take()) {
        file.commit(&page)?;
    }
    let (verdict, missed) = report::bug_run_verdict(lin.verdict.outcome(), p.bug.map(|b| b.name()));
    if let Some(line) = missed {
        match args.format {
            Format::Text => crate::output::print(line)?,
            Format::Json => eprint!("{line}"),
        }
    }
    Ok(verdict)
}

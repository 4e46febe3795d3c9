//! The command line, in two stages (as ripgrep splits low and high arguments): clap parses
//! and validates flags, then [`parse_from`] resolves them into a [`Command`] holding the
//! registry row, the bounds and the run options. Each exercise is a subcommand whose bound
//! flags come from its registry row, so `check raft --help` lists raft's bounds.

use crate::engine::{default_threads, RunOptions, Strategy};
use crate::exercises::{self, ChoiceFlag, Exercise, Mode, ModeKind, Selection, EXERCISES};
use clap::builder::PossibleValuesParser;
use clap::error::ErrorKind;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command as Cli};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How to print results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document on stdout, for CI.
    Json,
}

/// A parsed and resolved command line.
pub enum Command {
    /// `check list`: every exercise with its properties, variants and default bounds.
    List {
        /// Output format.
        format: Format,
    },
    /// `check all`: every default configuration must hold and every variant be caught.
    All {
        /// Output format.
        format: Format,
        /// Checker threads.
        threads: usize,
    },
    /// `check lin FILE --model NAME`: is a recorded history linearizable?
    Lin(crate::lin::LinArgs),
    /// `check bench lin DIR`: how long the check of each history takes.
    BenchLin(crate::lin::bench::BenchLinArgs),
    /// One of an exercise's modes (`check kv --jepsen`, `check bench kv`, ...), with the
    /// arguments its own command line parsed.
    Mode {
        /// The registry's mode.
        mode: &'static Mode,
        /// Its arguments, `--format` included.
        matches: ArgMatches,
    },
    /// `check <exercise> ...`: one model-checking run.
    Check {
        /// The registry row.
        exercise: &'static Exercise,
        /// Bounds and bug variant.
        selection: Selection,
        /// Strategy, threads and run bounds.
        opts: RunOptions,
        /// Output format.
        format: Format,
        /// Also write the JSON report here.
        trace_out: Option<PathBuf>,
        /// Also write the report as a self-contained HTML page here.
        html: Option<PathBuf>,
        /// After the check, serve the Explorer here, opened at the counterexample.
        explore: Option<SocketAddr>,
    },
}

pub(crate) fn format_arg() -> Arg {
    Arg::new("format")
        .long("format")
        .value_parser(["text", "json"])
        .default_value("text")
        .global(true)
        .help("Output format: text for people, json for CI (schemas in docs/check.md)")
}

fn threads_arg() -> Arg {
    Arg::new("threads")
        .long("threads")
        .value_parser(value_parser!(u64).range(1..=256))
        .help("Checker threads [default: the number of cores]")
}

fn exercise_command(e: &'static Exercise) -> Cli {
    let mut cmd = Cli::new(e.name)
        .about(e.summary)
        .arg(
            Arg::new("bug")
                .long("bug")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(e.variants().into_iter().map(|v| v.name)))
                .help("Build the model with a known bug, which the check must catch"),
        )
        .arg(
            Arg::new("strategy")
                .long("strategy")
                .value_parser(["dfs", "bfs", "simulate"])
                .default_value(e.strategy.name())
                .help("dfs: exhaustive, least memory on shallow models, symmetry reduction; bfs: exhaustive, least memory on deep ones; simulate: random walks"),
        )
        .arg(threads_arg())
        .arg(
            Arg::new("depth")
                .long("depth")
                .value_name("STEPS")
                .value_parser(value_parser!(u64).range(0..=100_000))
                .help("Explore paths of at most this many steps (the run is then bounded)"),
        )
        .arg(
            Arg::new("max-states")
                .long("max-states")
                .value_name("N")
                .value_parser(value_parser!(u64).range(1..))
                .help("Stop after about N generated states (the run is then bounded)"),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .value_name("DURATION")
                .value_parser(parse_duration)
                .help("Stop after this long, e.g. 30s, 2m, 500ms (the run is then bounded)"),
        )
        .arg(
            Arg::new("seed")
                .long("seed")
                .value_parser(value_parser!(u64))
                .default_value("0")
                .help("Seed for --strategy simulate"),
        )
        .arg(
            Arg::new("no-symmetry")
                .long("no-symmetry")
                .action(ArgAction::SetTrue)
                .help("Do not identify states up to renaming of interchangeable processes"),
        )
        .arg(
            Arg::new("trace-out")
                .long("trace-out")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Also write the JSON report, counterexample included, to FILE"),
        )
        .arg(
            Arg::new("html")
                .long("html")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Also write a self-contained HTML page of the report to FILE: the counterexample as a message-sequence diagram, or that there is none"),
        )
        .arg(
            Arg::new("explore")
                .long("explore")
                .value_name("ADDR")
                .value_parser(value_parser!(SocketAddr))
                .help("After the check, serve stateright's Explorer on ADDR (e.g. 127.0.0.1:3000), opened at the counterexample, in protocol words"),
        );
    let specs: Vec<_> = e.choices(ChoiceFlag::Spec).collect();
    if !specs.is_empty() {
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        let about: Vec<String> = specs
            .iter()
            .map(|s| format!("{}: {}", s.name, s.summary))
            .collect();
        cmd = cmd.arg(
            Arg::new("spec")
                .long("spec")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(names))
                .conflicts_with("bug")
                .help(format!(
                    "Check another specification instead of the model ({})",
                    about.join("; ")
                )),
        );
    }
    let protocols: Vec<_> = e.choices(ChoiceFlag::Protocol).collect();
    if !protocols.is_empty() {
        let flag = e.protocol_flag;
        let names: Vec<&str> = protocols.iter().map(|p| p.name).collect();
        let about: Vec<String> = protocols
            .iter()
            .map(|p| format!("{}: {}", p.name, p.summary))
            .collect();
        // Without the flag the exercise checks its default model, which is one of these
        // only when the default is itself a protocol (msi's snooping); raft's abstract
        // model and vclock's clocks have no flag, and the first protocol is not the default.
        let default = e.default_model();
        let default = match default.flag {
            ChoiceFlag::Protocol => default.name.to_string(),
            _ => format!("the {} model", default.name),
        };
        cmd = cmd.arg(
            Arg::new(flag)
                .long(flag)
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(names))
                .help(format!(
                    "Which {flag} to check ({}) [default: {default}; with --bug, the first \
                     that has the bug]",
                    about.join("; "),
                )),
        );
    }
    if let Some(question) = e.liveness {
        let overrides: Vec<String> = question
            .bounds
            .iter()
            .map(|(flag, value)| format!("--{flag} {value}"))
            .collect();
        cmd = cmd.arg(
            Arg::new("liveness")
                .long("liveness")
                .action(ArgAction::SetTrue)
                .conflicts_with("bug")
                .help(format!(
                    "Ask whether {} eventually holds: expected to be violated ({}); exits 0 \
                     when it is, 1 when it is not [defaults: {}]",
                    question.property,
                    question.meaning,
                    overrides.join(" ")
                )),
        );
        if !specs.is_empty() {
            cmd = cmd.mut_arg("liveness", |a| a.conflicts_with("spec"));
        }
    }
    for b in e.bounds {
        // A protocol's own default for this bound, which the bare default would hide.
        let per_protocol: Vec<String> = e
            .choices(ChoiceFlag::Protocol)
            .flat_map(|p| {
                p.defaults
                    .iter()
                    .filter(|(flag, _)| *flag == b.flag)
                    .map(move |(_, v)| format!("; {v} with --{} {}", e.protocol_flag, p.name))
            })
            .collect();
        cmd = cmd.arg(
            Arg::new(b.flag)
                .long(b.flag)
                .value_name("N")
                .value_parser(value_parser!(u64).range(b.min..=b.max))
                .default_value(b.default.to_string())
                .help(format!(
                    "{} ({}..={}{})",
                    b.help,
                    b.min,
                    b.max,
                    per_protocol.concat()
                )),
        );
    }
    // Each mode is a subcommand named by a flag (`check kv --jepsen ...`), with arguments
    // of its own: a mode's `--nodes` is not the model's.
    for mode in e.modes.iter().filter(|m| m.kind != ModeKind::Bench) {
        cmd = cmd
            .subcommand(
                (mode.command)()
                    .name(mode.name)
                    .long_flag(mode.name)
                    .hide(mode.kind == ModeKind::Hidden),
            )
            .args_conflicts_with_subcommands(true)
            .disable_help_subcommand(true);
    }
    cmd
}

/// A `--NAME N` flag taking a whole number in `range`, for modes' command lines.
pub(crate) fn number_arg(name: &'static str, range: std::ops::RangeInclusive<u64>) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("N")
        .value_parser(value_parser!(u64).range(range))
}

/// The value of a number flag that has a default.
pub(crate) fn number_of(m: &ArgMatches, name: &str) -> u64 {
    *m.get_one::<u64>(name)
        .unwrap_or_else(|| panic!("--{name} has a default"))
}

/// The output format a command's matches ask for (`--format` is global).
pub fn format_of(m: &ArgMatches) -> Format {
    match m.get_one::<String>("format").map(String::as_str) {
        Some("json") => Format::Json,
        _ => Format::Text,
    }
}

fn model_arg() -> Arg {
    let models: Vec<String> = crate::lin::models::LIN_MODELS
        .iter()
        .map(|m| format!("  {:<15} {}", m.name, m.summary))
        .collect();
    Arg::new("model")
        .long("model")
        .value_name("NAME")
        .value_parser(crate::lin::models::names())
        .help("The sequential specification")
        .long_help(format!(
            "The sequential specification:\n{}",
            models.join("\n")
        ))
}

fn init_arg() -> Arg {
    Arg::new("init")
        .long("init")
        .value_name("EDN")
        .allow_hyphen_values(true)
        .help("The model's initial value, in EDN: 0, nil, {:x 0 :y 0}, [1 2]")
}

pub(crate) fn timeout_arg() -> Arg {
    Arg::new("timeout")
        .long("timeout")
        .value_name("DURATION")
        .value_parser(parse_duration)
        .help("Give up on a history with 'unknown' after this long")
}

fn no_partition_arg() -> Arg {
    Arg::new("no-partition")
        .long("no-partition")
        .action(clap::ArgAction::SetTrue)
        .help("Check the history whole instead of model's independent parts (same verdict, for comparison)")
}

fn lin_command() -> Cli {
    Cli::new("lin")
        .about("Check a recorded history for linearizability (exit 0 yes, 1 no, 3 unknown, 2 input error)")
        .arg(
            Arg::new("file")
                .required(true)
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(model_arg().required(true))
        .arg(
            Arg::new("input")
                .long("input")
                .value_parser(crate::lin::Input::ALL.map(|(n, _)| n))
                .help("The history format [default: detected from the first line]"),
        )
        .arg(init_arg())
        .arg(
            Arg::new("html")
                .long("html")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Write a self-contained HTML page of the history and the linearization or its failure"),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .value_name("DURATION")
                .value_parser(|s: &str| or_none(s, parse_duration))
                .default_value(crate::lin::TIMEOUT_DEFAULT)
                .help("Give up with 'unknown' (exit 3) after this long (e.g. 500ms, 2m); 'none' for no limit"),
        )
        .arg(
            Arg::new("memory")
                .long("memory")
                .value_name("SIZE")
                .value_parser(|s: &str| or_none(s, parse_size))
                .default_value(crate::lin::MEMORY_DEFAULT)
                .help("Give up with 'unknown' (exit 3) when the process's resident memory exceeds this (e.g. 512MiB, 8GiB); 'none' for no limit"),
        )
        .arg(no_partition_arg())
        .after_help(
            "A check that takes more than 2 s prints a progress line on stderr: the partition, \
             how many of its operations the search has linearized, the states explored, \
             memory, and the time left.",
        )
}

/// The clap command, built from the registry.
pub fn cli() -> Cli {
    let mut cmd = Cli::new("check")
        .about("Model-checks protocol exercises and prints the shortest counterexamples")
        .after_help(
            "Exit codes: 0 everything holds, 1 a property failed or a bug variant was missed, \
             2 usage or input error.",
        )
        .subcommand_required(true)
        .allow_external_subcommands(true)
        .arg(format_arg())
        .subcommand(
            Cli::new("list").about("List exercises, properties, bug variants and default bounds"),
        )
        .subcommand(lin_command())
        .subcommand(
            Cli::new("bench")
                .about("Measure speed")
                .subcommand_required(true)
                .subcommand(
                    Cli::new("lin")
                        .about("Time the linearizability check of every history in a folder")
                        .arg(
                            Arg::new("dir")
                                .required(true)
                                .value_name("DIR")
                                .value_parser(value_parser!(PathBuf)),
                        )
                        .arg(model_arg().required(false).help(
                            "The sequential specification [default: etcd for etcd logs, kv for kv logs]",
                        ))
                        .arg(init_arg())
                        .arg(
                            Arg::new("runs")
                                .long("runs")
                                .value_name("N")
                                .default_value("5")
                                .value_parser(value_parser!(u64).range(1..=1000))
                                .help("Check each file N times and report the median"),
                        )
                        .arg(no_partition_arg())
                        .arg(timeout_arg()),
                )
                .subcommands(bench_modes()),
        )
        .subcommand(
            Cli::new("all")
                .about("CI gate: every default configuration holds and every bug variant is caught")
                .arg(threads_arg()),
        );
    for e in EXERCISES {
        cmd = cmd.subcommand(exercise_command(e));
    }
    cmd
}

/// Every exercise's benchmark, as `check bench <exercise>`.
fn bench_modes() -> Vec<Cli> {
    EXERCISES
        .iter()
        .flat_map(|e| {
            e.modes
                .iter()
                .filter(|m| m.kind == ModeKind::Bench)
                .map(|m| (m.command)().name(e.name))
        })
        .collect()
}

/// Parses `std::env::args`.
pub fn parse() -> Result<Command, clap::Error> {
    parse_from(std::env::args_os())
}

/// Parses a command line; errors carry clap's exit codes (2 for usage errors, 0 for help).
pub fn parse_from<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cli = cli();
    let m = cli.try_get_matches_from_mut(args)?;
    let format = format_of(&m);
    let (name, sub) = m.subcommand().expect("a subcommand is required");
    match name {
        "list" => Ok(Command::List { format }),
        "lin" => Ok(Command::Lin(crate::lin::LinArgs {
            file: sub.get_one::<PathBuf>("file").expect("required").clone(),
            model: sub.get_one::<String>("model").expect("required").clone(),
            input: sub
                .get_one::<String>("input")
                .and_then(|n| crate::lin::Input::from_name(n)),
            init: sub.get_one::<String>("init").cloned(),
            timeout: *sub
                .get_one::<Option<Duration>>("timeout")
                .expect("has a default"),
            memory: *sub
                .get_one::<Option<usize>>("memory")
                .expect("has a default"),
            no_partition: sub.get_flag("no-partition"),
            html: sub.get_one::<PathBuf>("html").cloned(),
            format,
        })),
        "bench" => {
            let (what, bench) = sub.subcommand().expect("a subcommand is required");
            if what != "lin" {
                let mode = exercises::find(what)
                    .and_then(|e| e.modes.iter().find(|m| m.kind == ModeKind::Bench))
                    .expect("clap accepted only registered benchmarks");
                return Ok(Command::Mode {
                    mode,
                    matches: bench.clone(),
                });
            }
            Ok(Command::BenchLin(crate::lin::bench::BenchLinArgs {
                dir: bench.get_one::<PathBuf>("dir").expect("required").clone(),
                model: bench.get_one::<String>("model").cloned(),
                init: bench.get_one::<String>("init").cloned(),
                runs: *bench.get_one::<u64>("runs").expect("has a default") as usize,
                no_partition: bench.get_flag("no-partition"),
                timeout: bench.get_one::<Duration>("timeout").copied(),
                format,
            }))
        }
        "all" => Ok(Command::All {
            format,
            threads: threads(sub),
        }),
        _ => match exercises::find(name) {
            Some(exercise) => resolve(exercise, sub, format).map_err(|e| {
                // The exercise's own usage line, not the top level's.
                let mut cmd = exercise_command(exercise).bin_name(format!("check {name}"));
                cmd.error(ErrorKind::ArgumentConflict, e)
            }),
            None => Err(cli.error(ErrorKind::InvalidSubcommand, unknown_exercise(name))),
        },
    }
}

fn unknown_exercise(name: &str) -> String {
    let names: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
    format!(
        "unknown exercise '{name}'\n  valid exercises: {}\n  other commands: list, all, lin, bench",
        names.join(", ")
    )
}

fn threads(m: &ArgMatches) -> usize {
    m.get_one::<u64>("threads")
        .map_or_else(default_threads, |&n| n as usize)
}

/// The command an exercise's matches ask for, or why the combination is not one.
fn resolve(exercise: &'static Exercise, m: &ArgMatches, format: Format) -> Result<Command, String> {
    if let Some((name, matches)) = m.subcommand() {
        let mode = exercise
            .modes
            .iter()
            .find(|mode| mode.kind != ModeKind::Bench && mode.name == name)
            .expect("clap accepted only registered modes");
        return Ok(Command::Mode {
            mode,
            matches: matches.clone(),
        });
    }
    let bug = m
        .get_one::<String>("bug")
        .and_then(|b| exercise.variant(b))
        .map(|v| v.name);
    let liveness = m.try_get_one::<bool>("liveness").ok().flatten() == Some(&true);
    let chosen = |flag: ChoiceFlag| {
        // The same name exercise_command gave the argument as its id.
        m.try_get_one::<String>(flag.name(exercise).expect("a named flag"))
            .ok()
            .flatten()
            .and_then(|name| exercise.choice(flag, name))
    };
    let mut selection = match (chosen(ChoiceFlag::Spec), chosen(ChoiceFlag::Protocol)) {
        _ if liveness => Selection::liveness(exercise),
        (Some(spec), _) => Selection::of_model(exercise, spec, None),
        (None, Some(p)) => {
            if let Some(name) = bug.filter(|b| !p.takes(b)) {
                let takers: Vec<&str> = exercise
                    .choices(ChoiceFlag::Protocol)
                    .filter(|q| q.takes(name))
                    .map(|q| q.name)
                    .collect();
                // `{flag}s` is the plural the messages have always used ("protocols"),
                // and reads well enough for another flag ("versionings").
                let flag = exercise.protocol_flag;
                return Err(format!(
                    "--bug {name} does not exist in --{flag} {}\n  {flag}s with that bug: {}",
                    p.name,
                    takers.join(", ")
                ));
            }
            Selection::of_model(exercise, p, bug)
        }
        (None, None) => Selection::defaults(exercise, bug),
    };
    for b in exercise.bounds {
        // A bound given on the command line wins over the variant's default.
        if m.value_source(b.flag) == Some(clap::parser::ValueSource::CommandLine) {
            let value = *m.get_one::<u64>(b.flag).expect("bounds have defaults");
            selection.bounds.insert(b.flag.to_string(), value);
        }
    }
    let strategy = match m.get_one::<String>("strategy").map(String::as_str) {
        Some("bfs") => Strategy::Bfs,
        Some("simulate") => Strategy::Simulate,
        _ => Strategy::Dfs,
    };
    let opts = RunOptions {
        strategy,
        threads: threads(m),
        depth: m.get_one::<u64>("depth").map(|&d| d as usize),
        max_states: m.get_one::<u64>("max-states").map(|&n| n as usize),
        timeout: m.get_one::<Duration>("timeout").copied(),
        symmetry: selection.model.symmetry && !m.get_flag("no-symmetry"),
        seed: *m.get_one::<u64>("seed").expect("seed has a default"),
        progress: true,
    };
    Ok(Command::Check {
        exercise,
        selection,
        opts,
        format,
        trace_out: m.get_one::<PathBuf>("trace-out").cloned(),
        html: m.get_one::<PathBuf>("html").cloned(),
        explore: m.get_one::<SocketAddr>("explore").copied(),
    })
}

/// `12.5GiB` as (12.5, "GiB"): a leading decimal number and the unit after it, if any.
fn number_and_unit(s: &str) -> Option<(f64, &str)> {
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    Some((number.parse().ok()?, unit.trim()))
}

/// `30s`, `2m`, `500ms`, `1h`, or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (value, unit) = number_and_unit(s)
        .ok_or_else(|| format!("'{s}' is not a duration; expected e.g. 30s, 2m, 500ms"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit '{unit}' in '{s}'; use ms, s, m or h")),
    };
    let duration = Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("'{s}' is out of range; expected e.g. 30s, 2m, 500ms"))?;
    if duration < Duration::from_millis(1) {
        return Err(format!("'{s}' must be at least 1ms"));
    }
    Ok(duration)
}

/// `none` for no limit, or a limit that `parse` reads.
fn or_none<T>(s: &str, parse: fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if s.trim() == "none" {
        return Ok(None);
    }
    parse(s)
        .map(Some)
        .map_err(|e| format!("{e}, or none for no limit"))
}

/// `512MiB`, `4GiB`, `100MB`, `64KiB`, or a bare number of bytes.
fn parse_size(s: &str) -> Result<usize, String> {
    let bytes = bytes_of(s)?;
    if !(1024.0..=usize::MAX as f64).contains(&bytes) {
        return Err(format!(
            "'{}' must be between 1KiB and the address space",
            s.trim()
        ));
    }
    Ok(bytes as usize)
}

/// A flag for a size of `range` bytes, written as `--memory` takes one (`100`, `64KiB`,
/// `1MiB`).
pub(crate) fn size_arg(name: &'static str, range: std::ops::RangeInclusive<usize>) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("BYTES")
        .value_parser(move |s: &str| {
            let bytes = bytes_of(s)?;
            if bytes.fract() != 0.0
                || !(*range.start() as f64..=*range.end() as f64).contains(&bytes)
            {
                return Err(format!(
                    "'{}' must be a whole number of bytes from {} to {}",
                    s.trim(),
                    range.start(),
                    range.end()
                ));
            }
            Ok(bytes as usize)
        })
}

/// A size in bytes (not yet checked against any range): a bare number, or one with a unit
/// among B, KB, MB, GB, KiB, MiB and GiB.
fn bytes_of(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (value, unit) = number_and_unit(s)
        .ok_or_else(|| format!("'{s}' is not a size; expected e.g. 512MiB or 4GiB"))?;
    let scale: f64 = match unit {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        unit => {
            return Err(format!(
                "unknown unit '{unit}' in '{s}'; use B, KB, MB, GB, KiB, MiB or GiB"
            ))
        }
    };
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("12").unwrap_err().contains("between"));
        assert!(parse_size("4TB").unwrap_err().contains("unknown unit"));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10y").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("999999999999999999999999h").is_err());
        assert!(parse_duration("0.0000001s").is_err());
    }

    #[test]
    fn lin_budgets_have_defaults_and_none_lifts_them() {
        let lin = |extra: &[&str]| {
            let mut args = vec!["check", "lin", "h.edn", "--model", "register"];
            args.extend_from_slice(extra);
            match parse_from(args) {
                Ok(Command::Lin(a)) => (a.timeout, a.memory),
                _ => panic!("not a lin command"),
            }
        };
        assert_eq!(lin(&[]), (Some(Duration::from_secs(30)), Some(2 << 30)));
        assert_eq!(
            lin(&["--timeout", "none", "--memory", "none"]),
            (None, None)
        );
        assert_eq!(
            lin(&["--timeout", "5s", "--memory", "512MiB"]),
            (Some(Duration::from_secs(5)), Some(512 << 20))
        );
        let err = parse_from(["check", "lin", "h", "--model", "kv", "--timeout", "soon"])
            .err()
            .expect("an error");
        assert!(err.to_string().contains("or none for no limit"), "{err}");
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        cli().debug_assert();
    }

    /// The help of `flag` in `e`'s command line.
    fn help_of(e: &'static Exercise, flag: &str) -> String {
        exercise_command(e)
            .get_arguments()
            .find(|a| a.get_id() == flag)
            .and_then(|a| a.get_help())
            .unwrap_or_else(|| panic!("{} has no --{flag}", e.name))
            .to_string()
    }

    /// `e`'s command line resolved, or its usage error.
    fn resolved(e: &'static Exercise, args: &[&str]) -> Result<Command, String> {
        let m = exercise_command(e)
            .try_get_matches_from(std::iter::once(e.name).chain(args.iter().copied()))
            .map_err(|err| err.to_string())?;
        resolve(e, &m, Format::Text)
    }

    #[test]
    fn the_protocol_help_names_the_real_default() {
        // vclock's default is its clocks model, which has no flag: the help named the
        // first protocol, causal, as the default.
        let vclock = exercises::find("vclock").unwrap();
        let help = help_of(vclock, "protocol");
        assert!(
            help.contains("[default: the clocks model; with --bug"),
            "{help}"
        );
        // msi's default is a protocol, snooping, and is named as the value to pass.
        let msi = exercises::find("msi").unwrap();
        let help = help_of(msi, "protocol");
        assert!(help.contains("[default: snooping; with --bug"), "{help}");
    }

    #[test]
    fn an_exercise_names_its_choices_by_the_flag_it_declares() {
        use crate::exercises::tests::VERSIONED;
        let e = &VERSIONED;
        match resolved(e, &["--versioning", "dvv"]) {
            Ok(Command::Check { selection, .. }) => {
                assert_eq!(selection.model.name, "dvv");
                assert_eq!(selection.bound("broadcasts"), 2, "dvv's own default");
                assert_eq!(selection.label(e).exercise, "versioned --versioning dvv");
            }
            Ok(_) => panic!("not a check"),
            Err(err) => panic!("{err}"),
        }
        match resolved(e, &[]) {
            Ok(Command::Check { selection, .. }) => assert_eq!(selection.model.name, "clocks"),
            _ => panic!("the default model is checked without the flag"),
        }
        // `--protocol` is not this exercise's flag.
        let err = resolved(e, &["--protocol", "dvv"]).err().expect("an error");
        assert!(err.contains("--protocol"), "{err}");
        // The usage error for a bug the choice lacks names the flag as typed.
        let clock_bug = models::vclock::VARIANTS[0].name;
        let err = resolved(e, &["--versioning", "dvv", "--bug", clock_bug])
            .err()
            .expect("an error");
        assert!(
            err.starts_with(&format!(
                "--bug {clock_bug} does not exist in --versioning dvv"
            )),
            "{err}"
        );
        // The help of the flag and of a bound the choice sets names the flag too.
        let help = help_of(e, "versioning");
        assert!(
            help.starts_with("Which versioning to check (dvv: "),
            "{help}"
        );
        assert!(help.contains("[default: the clocks model;"), "{help}");
        let help = help_of(e, "broadcasts");
        assert!(help.ends_with("; 2 with --versioning dvv)"), "{help}");
    }

    #[test]
    fn no_exercise_declares_a_flag_twice() {
        // clap checks this only in debug builds; a release build gives a duplicated flag
        // to one of its arguments, so a protocol flag named like a bound or a mode would
        // silently shadow it.
        let rows = EXERCISES
            .iter()
            .copied()
            .chain([&crate::exercises::tests::VERSIONED]);
        for e in rows {
            let cmd = exercise_command(e);
            let mut names: Vec<&str> = Vec::new();
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                names.push(id);
                names.extend(a.get_long().filter(|long| *long != id));
            }
            names.extend(cmd.get_subcommands().filter_map(|s| s.get_long_flag()));
            // Every exercise's command line inherits these from the top level.
            names.extend(["format", "help"]);
            names.sort_unstable();
            let twice: Vec<&str> = names
                .windows(2)
                .filter(|w| w[0] == w[1])
                .map(|w| w[0])
                .collect();
            assert!(twice.is_empty(), "{}: {twice:?} named twice", e.name);
        }
    }

    #[test]
    fn an_unknown_exercise_is_a_usage_error_listing_the_valid_ones() {
        let err = parse_from(["check", "nosuch"]).err().expect("an error");
        assert_eq!(err.exit_code(), 2);
        let names: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
        let listed = format!("valid exercises: {}", names.join(", "));
        assert!(err.to_string().contains(&listed), "{err}");
    }
}

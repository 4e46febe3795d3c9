//! The subcommands: one `match` over the parsed [`Command`].

use crate::args::{Command, Format};
use crate::explore::{expectation_name, RunOptions};
use crate::pending::PendingFile;
use crate::registry::{Exercise, Selection, EXERCISES};
use crate::report::{RunReport, Verdict};
use crate::text;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

/// Runs a command. `Ok` carries the exit code of a completed run (0 holds, 1 fails); `Err`
/// is a usage, input or internal error, which `main` reports with exit code 2.
pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::List { format } => list(format),
        Command::All { format, threads } => all(format, threads),
        Command::Lin(args) => crate::lin::run(&args),
        Command::BenchLin(args) => crate::bench::lin(&args),
        Command::BenchKv(args) => crate::bench_kv::run(&args),
        Command::Jepsen(args) => crate::jepsen::run(&args),
        Command::MsiSim(args) => crate::msi_sim::run(&args),
        Command::KvNode(args) => Ok(impls::kv::cli::node_main(
            std::iter::once(std::ffi::OsString::from("check kv-node")).chain(args),
        )),
        Command::Check {
            exercise,
            selection,
            opts,
            format,
            trace_out,
            explore,
        } => {
            if let Some(addr) = explore {
                (exercise.explore)(&selection, addr, opts.threads)?;
                return Ok(ExitCode::SUCCESS);
            }
            // Created before the run, so an unwritable place fails in a second, not after it.
            let pending = trace_out
                .as_deref()
                .map(|p| PendingFile::create(p, "--trace-out"))
                .transpose()?;
            let report = (exercise.check)(&selection, &opts)?;
            let json = serde_json::to_string_pretty(&report)?;
            match format {
                Format::Text => print!("{}", text::render(&report)),
                Format::Json => println!("{json}"),
            }
            if let Some(file) = pending {
                file.commit(&json)?;
            }
            Ok(exit_code(report.verdict == Verdict::Holds))
        }
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[derive(Serialize)]
struct ListedBound {
    flag: &'static str,
    default: u64,
    min: u64,
    max: u64,
    help: &'static str,
}

#[derive(Serialize)]
struct ListedProperty {
    name: &'static str,
    expectation: &'static str,
}

#[derive(Serialize)]
struct ListedExercise {
    name: &'static str,
    summary: &'static str,
    bounds: Vec<ListedBound>,
    symmetry: bool,
    properties: Vec<ListedProperty>,
    variants: &'static [models::Variant],
    /// `--spec` choices: other specifications the exercise can check.
    specs: Vec<ListedSpec>,
    /// The `--liveness` question and the known limitation it shows.
    liveness: Option<ListedLiveness>,
    /// `--protocol` choices, the default first, with the variants each takes.
    protocols: Vec<ListedProtocol>,
}

#[derive(Serialize)]
struct ListedProtocol {
    name: &'static str,
    summary: &'static str,
    variants: &'static [&'static str],
    /// Default bounds of this protocol that differ from the exercise's.
    bounds: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct ListedSpec {
    name: &'static str,
    summary: &'static str,
}

#[derive(Serialize)]
struct ListedLiveness {
    property: &'static str,
    expected: &'static str,
}

fn listed(e: &Exercise) -> ListedExercise {
    ListedExercise {
        name: e.name,
        summary: e.summary,
        bounds: e
            .bounds
            .iter()
            .map(|b| ListedBound {
                flag: b.flag,
                default: b.default,
                min: b.min,
                max: b.max,
                help: b.help,
            })
            .collect(),
        symmetry: e.symmetry,
        properties: (e.properties)()
            .into_iter()
            .map(|(name, exp)| ListedProperty {
                name,
                expectation: expectation_name(&exp),
            })
            .collect(),
        variants: e.variants,
        specs: e
            .specs
            .iter()
            .map(|s| ListedSpec {
                name: s.name,
                summary: s.summary,
            })
            .collect(),
        liveness: e.liveness.map(|l| ListedLiveness {
            property: l.property,
            expected: l.meaning,
        }),
        protocols: e
            .protocols
            .iter()
            .map(|p| ListedProtocol {
                name: p.name,
                summary: p.summary,
                variants: p.variants,
                bounds: p.bounds.iter().copied().collect(),
            })
            .collect(),
    }
}

fn list(format: Format) -> Result<ExitCode> {
    let exercises: Vec<ListedExercise> = EXERCISES.iter().map(|e| listed(e)).collect();
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&exercises)?);
        return Ok(ExitCode::SUCCESS);
    }
    for e in &exercises {
        println!("{}: {}", e.name, e.summary);
        let bounds: Vec<String> = e
            .bounds
            .iter()
            .map(|b| format!("--{} {} ({}..={})", b.flag, b.default, b.min, b.max))
            .collect();
        println!("  default bounds: {}", bounds.join("  "));
        for exp in ["always", "sometimes", "eventually"] {
            let names: Vec<&str> = e
                .properties
                .iter()
                .filter(|p| p.expectation == exp)
                .map(|p| p.name)
                .collect();
            if !names.is_empty() {
                println!("  {exp}: {}", names.join(", "));
            }
        }
        println!("  bug variants (--bug NAME):");
        let width = e.variants.iter().map(|v| v.name.len()).max().unwrap_or(0);
        for v in e.variants {
            println!(
                "    {:<width$}  {}; breaks {}",
                v.name,
                v.summary,
                v.breaks.join(" or ")
            );
        }
        if !e.specs.is_empty() {
            println!("  other specifications (--spec NAME):");
            let width = e.specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for spec in &e.specs {
                println!("    {:<width$}  {}", spec.name, spec.summary);
            }
        }
        if !e.protocols.is_empty() {
            println!(
                "  protocols (--protocol NAME, default {}):",
                e.protocols[0].name
            );
            let width = e.protocols.iter().map(|p| p.name.len()).max().unwrap_or(0);
            for p in &e.protocols {
                println!("    {:<width$}  {}", p.name, p.summary);
                println!("    {:<width$}  variants: {}", "", p.variants.join(", "));
                if !p.bounds.is_empty() {
                    let bounds: Vec<String> =
                        p.bounds.iter().map(|(f, v)| format!("--{f} {v}")).collect();
                    println!("    {:<width$}  default bounds: {}", "", bounds.join("  "));
                }
            }
        }
        if let Some(l) = &e.liveness {
            println!(
                "  --liveness: eventually {}, expected to be violated: {}",
                l.property, l.expected
            );
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// One run of `check all` and whether it came out as the harness expects.
#[derive(Serialize)]
struct GateRun {
    exercise: &'static str,
    /// The `--protocol` checked, for an exercise with protocols.
    protocol: Option<&'static str>,
    bug: Option<&'static str>,
    /// The run asked the exercise's `--liveness` question.
    liveness: bool,
    expected: &'static str,
    ok: bool,
    report: RunReport,
}

#[derive(Serialize)]
struct GateReport {
    ok: bool,
    runs: Vec<GateRun>,
}

fn all(format: Format, threads: usize) -> Result<ExitCode> {
    let opts = RunOptions {
        threads,
        progress: true,
        ..RunOptions::default()
    };
    let started = Instant::now();
    let mut runs = Vec::new();
    for e in EXERCISES {
        let mut configs: Vec<Selection> = Vec::new();
        if e.protocols.is_empty() {
            configs.push(Selection::defaults(e, None));
            configs.extend(
                e.variants
                    .iter()
                    .map(|v| Selection::defaults(e, Some(v.name))),
            );
        }
        // Every protocol holds by default and catches every variant it can be built with.
        for p in e.protocols {
            configs.push(Selection::of_protocol(e, Some(p), None));
            configs.extend(
                e.variants
                    .iter()
                    .filter(|v| p.takes(v.name))
                    .map(|v| Selection::of_protocol(e, Some(p), Some(v.name))),
            );
        }
        if e.liveness.is_some() {
            configs.push(Selection::liveness(e));
        }
        let opts = RunOptions {
            strategy: e.strategy,
            ..opts.clone()
        };
        for selection in configs {
            let (bug, liveness) = (selection.bug, selection.liveness);
            let report = (e.check)(&selection, &opts)?;
            let (expected, ok) = match bug {
                None if liveness => (
                    "shows its known limitation",
                    report.verdict == Verdict::Holds
                        && report.expected_finding.as_ref().is_some_and(|f| f.found),
                ),
                None => (
                    "holds, exhaustively",
                    report.verdict == Verdict::Holds && report.coverage.is_exhausted(),
                ),
                Some(name) => {
                    let breaks = e
                        .variants
                        .iter()
                        .find(|v| v.name == name)
                        .map_or(&[][..], |v| v.breaks);
                    let caught = report
                        .counterexample
                        .as_ref()
                        .is_some_and(|t| breaks.contains(&t.property.as_str()));
                    ("caught", caught)
                }
            };
            if format == Format::Text {
                println!("{}", gate_line(e.name, &selection, ok, &report));
            }
            runs.push(GateRun {
                exercise: e.name,
                protocol: selection.protocol,
                bug,
                liveness,
                expected,
                ok,
                report,
            });
        }
    }
    let failed = runs.iter().filter(|r| !r.ok).count();
    match format {
        Format::Json => {
            let gate = GateReport {
                ok: failed == 0,
                runs,
            };
            println!("{}", serde_json::to_string_pretty(&gate)?);
        }
        Format::Text => {
            println!("\ncheck all took {:.1} s", started.elapsed().as_secs_f64());
            // The closing line CI tools read: runs as expected, and not.
            println!("all: {} passed, {} failed", runs.len() - failed, failed);
        }
    }
    Ok(exit_code(failed == 0))
}

fn gate_line(exercise: &str, selection: &Selection, ok: bool, r: &RunReport) -> String {
    let mark = if ok { "ok  " } else { "FAIL" };
    let bug = selection.bug;
    let what = match (bug, &r.counterexample) {
        (None, Some(t)) if selection.liveness => format!(
            "finding: {} fails in {} steps{}",
            t.property,
            t.length,
            if t.shortest { " (shortest)" } else { "" }
        ),
        (None, _) => format!(
            "{} unique states, {}",
            text::count(r.unique_states),
            text::verdict_line(r)
        ),
        (Some(_), Some(t)) => format!(
            "caught: {} in {} steps{}",
            t.property,
            t.length,
            if t.shortest { " (shortest)" } else { "" }
        ),
        (Some(_), None) => format!("NOT CAUGHT: {}", text::verdict_line(r)),
    };
    let run = match bug {
        Some(name) => name,
        None if selection.liveness => "--liveness",
        None => "default",
    };
    let run = match selection.protocol {
        Some(p) => format!("{p}: {run}"),
        None => run.to_string(),
    };
    format!(
        "{mark} {:<8} {:<30} {:<60} {:>6.1} s",
        exercise,
        run,
        what,
        r.wall_seconds + r.shortening_seconds
    )
}

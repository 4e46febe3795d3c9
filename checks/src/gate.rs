//! `check all`, the CI gate: every default configuration of every model holds
//! exhaustively, every bug variant is caught by a property it is known to break, and every
//! liveness question shows its known limitation.

use crate::args::Format;
use crate::engine::report::{RunReport, Verdict};
use crate::engine::{interrupt, text};
use crate::engine::{Outcome, RunOptions};
use crate::exercises::{ChoiceFlag, Selection, EXERCISES};
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

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
    /// Ctrl-C stopped the gate: the runs listed are those that finished (the last one
    /// perhaps cut short), and nothing is verified.
    interrupted: bool,
    runs: Vec<GateRun>,
}

/// Runs the gate.
pub fn all(format: Format, threads: usize) -> Result<Outcome> {
    let opts = RunOptions {
        threads,
        progress: true,
        ..RunOptions::default()
    };
    let started = Instant::now();
    let mut runs = Vec::new();
    'exercises: for e in EXERCISES {
        // Every model but the specs holds by default and catches every variant it takes.
        let mut configs: Vec<Selection> = Vec::new();
        for model in e.models.iter().filter(|m| m.flag != ChoiceFlag::Spec) {
            configs.push(Selection::of_model(e, model, None));
            configs.extend(
                model
                    .variants
                    .iter()
                    .map(|v| Selection::of_model(e, model, Some(v.name))),
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
            let report = selection.check(e, &opts)?;
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
                    let breaks = selection
                        .model
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
                crate::outln!("{}", gate_line(e.name, &selection, ok, &report))?;
            }
            runs.push(GateRun {
                exercise: e.name,
                protocol: selection.protocol(),
                bug,
                liveness,
                expected,
                ok,
                report,
            });
            if interrupt::interrupted() {
                break 'exercises;
            }
        }
    }
    let interrupted = interrupt::interrupted();
    let failed = runs.iter().filter(|r| !r.ok).count();
    match format {
        Format::Json => {
            let gate = GateReport {
                ok: failed == 0 && !interrupted,
                interrupted,
                runs,
            };
            crate::outln!("{}", serde_json::to_string_pretty(&gate)?)?;
        }
        Format::Text => {
            crate::outln!("\ncheck all took {:.1} s", started.elapsed().as_secs_f64())?;
            // The closing line CI tools read: runs as expected, and not.
            crate::outln!("all: {} passed, {} failed", runs.len() - failed, failed)?;
            if interrupted {
                crate::outln!(
                    "INTERRUPTED by Ctrl-C: the gate did not finish; nothing is verified"
                )?;
            }
        }
    }
    if interrupted {
        // The last run was cut short, so its verdict means nothing; earlier failures are
        // listed above, and exit 130 says the gate never finished.
        return Ok(Outcome::Interrupted);
    }
    Ok(Outcome::holds_if(failed == 0))
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
    let run = match selection.protocol() {
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

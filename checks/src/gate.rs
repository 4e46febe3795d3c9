//! `check all`, the CI gate: every default configuration of every model (specs included)
//! holds exhaustively with no dead action its registry row does not declare, every bug
//! variant is caught by a property it is known to break, and every liveness question
//! shows its known limitation.

use crate::args::Format;
use crate::engine::report::{RunReport, Verdict};
use crate::engine::{interrupt, text};
use crate::engine::{Outcome, RunOptions};
use crate::exercises::{Pin, Selection, EXERCISES};
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

/// One run of `check all` and whether it came out as the harness expects.
#[derive(Serialize)]
struct GateRun {
    exercise: &'static str,
    /// The choice checked, for a model named by the exercise's protocol flag (`--protocol`,
    /// or its own name for it: the report's `exercise` label shows which). The key stays
    /// `protocol` whatever the flag, so the document's shape is the same for every exercise.
    protocol: Option<&'static str>,
    /// The `--spec` checked, for a run of a published specification's port.
    spec: Option<&'static str>,
    bug: Option<&'static str>,
    /// The run asked the exercise's `--liveness` question.
    liveness: bool,
    expected: &'static str,
    ok: bool,
    /// A default run's dead actions that its row does not declare, declared ones that
    /// fired after all, and a unique-state count other than the pinned one; any fails
    /// the run.
    problems: Vec<String>,
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
        for model in e.models {
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
            let problems = match (bug, liveness) {
                (None, false) => pin_problems(selection.model.pin, &report),
                _ => Vec::new(),
            };
            let (expected, ok) = match bug {
                None if liveness => (
                    "shows its known limitation",
                    report.verdict == Verdict::Holds
                        && report.expected_finding.as_ref().is_some_and(|f| f.found),
                ),
                None => (
                    "holds, exhaustively, with no undeclared dead action and the pinned state count",
                    report.verdict == Verdict::Holds
                        && report.coverage.is_exhausted()
                        && problems.is_empty(),
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
                for problem in &problems {
                    crate::outln!("     {problem}")?;
                }
            }
            runs.push(GateRun {
                exercise: e.name,
                protocol: selection.protocol(),
                spec: selection.spec(),
                bug,
                liveness,
                expected,
                ok,
                problems,
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

/// What is wrong with a default run against its model's pin (see
/// [`Pin::problems`]), or that the model has none. An unexhausted run fails on its
/// coverage already, and says nothing about the pin.
fn pin_problems(pin: Option<Pin>, report: &RunReport) -> Vec<String> {
    if !report.coverage.is_exhausted() {
        return Vec::new();
    }
    match pin {
        None => vec![format!(
            "unique states {}: the model declares no pin (ModelChoice::pinned)",
            text::count(report.unique_states)
        )],
        Some(pin) => pin.problems(report.unique_states as u64, &report.dead_actions),
    }
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
    let run = match (selection.protocol(), selection.spec()) {
        (Some(p), _) => format!("{p}: {run}"),
        (None, Some(s)) => format!("--spec {s}"),
        (None, None) => run.to_string(),
    };
    format!(
        "{mark} {:<8} {:<30} {:<60} {:>6.1} s",
        exercise,
        run,
        what,
        r.wall_seconds + r.shortening_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::{find, DeadAction};

    /// TCommit with three managers: 34 states, every action fires.
    fn tcommit_report() -> RunReport {
        let e = find("twopc").unwrap();
        let model = e.models.iter().find(|m| m.name == "tcommit").unwrap();
        let opts = RunOptions {
            threads: 1,
            ..RunOptions::default()
        };
        Selection::of_model(e, model, None).check(e, &opts).unwrap()
    }

    #[test]
    fn an_undeclared_dead_action_and_a_declared_one_that_fires_are_both_problems() {
        let mut report = tcommit_report();
        assert!(report.coverage.is_exhausted());
        assert!(report.dead_actions.is_empty());
        assert!(pin_problems(Some(Pin::states(34)), &report).is_empty());
        let declared = Pin {
            unique_states: 34,
            dead_actions: &[DeadAction {
                kind: "Commit",
                reason: "for the test",
            }],
        };
        let problems = pin_problems(Some(declared), &report);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("action Commit fired, though"),
            "{problems:?}"
        );
        report.dead_actions = vec!["Abort".to_string()];
        let problems = pin_problems(Some(Pin::states(34)), &report);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("dead action Abort: it never fired"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_state_count_other_than_the_pin_is_named_with_both_numbers() {
        let report = tcommit_report();
        assert_eq!(report.unique_states, 34);
        let problems = pin_problems(Some(Pin::states(35)), &report);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("unique states 34, but the model pins 35"),
            "{problems:?}"
        );
        assert!(pin_problems(None, &report)[0].contains("declares no pin"));
    }
}

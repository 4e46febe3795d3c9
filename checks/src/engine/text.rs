//! The text report: what people read. It carries the same content as the JSON report.

use super::report::{Change, Coverage, Field, RunReport, Trace, Verdict};
use std::fmt::Write as _;

/// `1234567` as `1,234,567`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The bounds as `servers=3 max-term=4`.
pub fn bounds(report: &RunReport) -> String {
    let parts: Vec<String> = report
        .bounds
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join(" ")
}

/// The lines printed on stderr before a run starts: what is checked, how, and what will
/// stop it, so a long run says what it is doing from its first second.
pub fn run_header(
    label: &super::RunLabel,
    engine: &str,
    opts: &super::RunOptions,
    symmetry: bool,
) -> String {
    let bounds: Vec<String> = label
        .bounds
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut budget = Vec::new();
    if let Some(d) = opts.depth {
        budget.push(format!("paths of at most {d} steps"));
    }
    if let Some(n) = opts.max_states {
        budget.push(format!("about {} states", count(n)));
    }
    match opts.timeout {
        Some(t) => budget.push(format!("timeout {}s", t.as_secs_f64())),
        None if opts.strategy == super::Strategy::Simulate && opts.max_states.is_none() => budget
            .push(format!(
                "timeout {}s (the simulation default)",
                super::SIMULATION_DEFAULT_TIMEOUT.as_secs()
            )),
        None => {}
    }
    let budget = if budget.is_empty() {
        "none: runs until every reachable state is checked or a property fails".to_string()
    } else {
        budget.join(", ")
    };
    format!(
        "checking {} [{}] bug: {}\nstrategy: {engine}, {} thread{}, symmetry reduction {}; \
         budget: {budget}; Ctrl-C stops it with a coverage summary",
        label.exercise,
        bounds.join(" "),
        label.bug.as_deref().unwrap_or("none"),
        opts.threads,
        if opts.threads == 1 { "" } else { "s" },
        if symmetry { "on" } else { "off" },
    )
}

/// Renders a whole run report.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let bug = report.bug.as_deref().unwrap_or("none");
    let _ = writeln!(out, "{} [{}] bug: {}", report.exercise, bounds(report), bug);
    let _ = writeln!(
        out,
        "strategy: {}, {} thread{}, symmetry reduction {}",
        report.strategy,
        report.threads,
        if report.threads == 1 { "" } else { "s" },
        if report.symmetry { "on" } else { "off" }
    );
    let width = report
        .properties
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for p in &report.properties {
        let _ = writeln!(
            out,
            "  {:<10} {:<width$}  {}",
            p.expectation,
            p.name,
            p.status.words()
        );
    }
    let _ = writeln!(out, "coverage: {}", coverage(&report.coverage));
    let _ = writeln!(
        out,
        "states: {} generated, {} unique, max depth {} steps",
        count(report.states_generated),
        count(report.unique_states),
        report.max_depth
    );
    let _ = writeln!(
        out,
        "time: {:.2} s, {} states/s",
        report.wall_seconds,
        count(report.states_per_second as usize)
    );
    out.push_str(&action_table(report));
    if let Some(finding) = &report.expected_finding {
        let _ = writeln!(
            out,
            "expected finding: {} is violated: {}",
            finding.property, finding.meaning
        );
    }
    if let Some(trace) = &report.counterexample {
        out.push('\n');
        if report
            .expected_finding
            .as_ref()
            .is_some_and(|f| f.found && f.property == trace.property)
        {
            let _ = writeln!(
                out,
                "the expected finding, not a harness failure: the trace below shows it"
            );
        }
        out.push_str(&render_trace(trace));
        let _ = writeln!(
            out,
            "  (shortened and replayed in {:.2} s)",
            report.shortening_seconds
        );
    }
    out.push('\n');
    let _ = writeln!(out, "result: {}", verdict_line(report));
    out
}

/// The coverage in words: `exhausted: every reachable state was checked`, ...
pub fn coverage(c: &Coverage) -> String {
    match c {
        Coverage::Exhausted => "exhausted: every reachable state was checked".to_string(),
        Coverage::Bounded { by } => {
            format!("BOUNDED by {by}: properties hold only within the bound, nothing is verified")
        }
        Coverage::StoppedAtViolation => "stopped at the first counterexample".to_string(),
        Coverage::Interrupted { after_ms } => format!(
            "INTERRUPTED by Ctrl-C after {:.1} s: not exhaustive, nothing is verified",
            *after_ms as f64 / 1000.0
        ),
    }
}

/// One line: the verdict and, if it failed, why.
pub fn verdict_line(report: &RunReport) -> String {
    match (report.verdict, &report.expected_finding) {
        (Verdict::Holds, Some(f)) => format!(
            "as expected: {} is violated, which is the known limitation this run shows",
            f.property
        ),
        (Verdict::Holds, None) if report.coverage.is_exhausted() => "all properties hold".into(),
        (Verdict::Holds, None) if matches!(report.coverage, Coverage::Interrupted { .. }) => {
            "INTERRUPTED: no property failed in the part explored (not verified)".into()
        }
        (Verdict::Holds, None) => "all properties hold within the bound (not verified)".into(),
        (Verdict::Unknown, _) => format!(
            "UNKNOWN: the run stopped before finding bug {}, so it shows nothing (a bug run that does not find its bug proves nothing)",
            report.expected_bug.as_ref().map_or("?", |b| b.name.as_str())
        ),
        (Verdict::Fails, _)
            if report.expected_bug.as_ref().is_some_and(|b| !b.caught)
                && report.counterexample.is_none() =>
        {
            let bug = report.expected_bug.as_ref().expect("checked above");
            format!(
                "FAILS: bug {} was not caught though every reachable state within these bounds was checked ({} should break): the bounds are too small for it, or the model has lost it",
                bug.name,
                bug.breaks.join(" or ")
            )
        }
        (Verdict::Fails, _) => {
            let failed: Vec<String> = report
                .properties
                .iter()
                .filter(|p| p.status.is_failure())
                .map(|p| format!("{} {}", p.name, p.status.words().to_lowercase()))
                .collect();
            format!("FAILS: {}", failed.join(", "))
        }
    }
}

/// The action coverage table, and the dead actions if the space was exhausted.
fn action_table(report: &RunReport) -> String {
    let mut out = String::new();
    if report.actions.is_empty() {
        return out;
    }
    let _ = writeln!(out, "actions (times enabled, times fired):");
    let kind_width = report
        .actions
        .iter()
        .map(|a| a.kind.len())
        .max()
        .unwrap_or(0);
    let numbers: Vec<(String, String)> = report
        .actions
        .iter()
        .map(|a| (count(a.enabled as usize), count(a.fired as usize)))
        .collect();
    let enabled_width = numbers.iter().map(|n| n.0.len()).max().unwrap_or(0);
    let fired_width = numbers.iter().map(|n| n.1.len()).max().unwrap_or(0);
    for (a, (enabled, fired)) in report.actions.iter().zip(&numbers) {
        let never = if a.fired == 0 { "  never fired" } else { "" };
        let _ = writeln!(
            out,
            "  {:<kind_width$}  {enabled:>enabled_width$}  {fired:>fired_width$}{never}",
            a.kind
        );
    }
    if report.coverage.is_exhausted() {
        if report.dead_actions.is_empty() {
            let _ = writeln!(out, "dead actions: none");
        } else {
            let _ = writeln!(
                out,
                "dead actions (never fired in the exhausted space): {}",
                report.dead_actions.join(", ")
            );
        }
    }
    out
}

/// Renders a counterexample as numbered steps with the fields each step changed.
pub fn render_trace(trace: &Trace) -> String {
    let mut out = String::new();
    let mut notes = vec![if trace.shortest {
        "shortest"
    } else {
        "not shortened"
    }];
    if trace.replayed {
        notes.push("replayed");
    }
    let _ = writeln!(
        out,
        "counterexample to {} ({}): {} step{} ({})",
        trace.property,
        trace.expectation,
        trace.length,
        if trace.length == 1 { "" } else { "s" },
        notes.join(", ")
    );
    let _ = writeln!(out, "  initial state:");
    for line in group_fields(&trace.initial_state) {
        let _ = writeln!(out, "      {line}");
    }
    let number_width = trace.length.to_string().len();
    for step in &trace.steps {
        let _ = writeln!(out, "  {:>number_width$}. {}", step.number, step.action);
        for line in group_changes(&step.changes) {
            let _ = writeln!(out, "  {:>number_width$}    {line}", "");
        }
    }
    let _ = writeln!(out, "  state that breaks {}:", trace.property);
    for line in group_fields(&trace.final_state) {
        let _ = writeln!(out, "      {line}");
    }
    for why in &trace.explanation {
        let _ = writeln!(out, "  why: {why}");
    }
    if !trace.also_violated.is_empty() {
        let _ = writeln!(
            out,
            "  also violated here: {}",
            trace.also_violated.join(", ")
        );
    }
    out
}

/// A field name split at its first `.`: the process it belongs to (empty if none) and
/// the field's own name.
pub fn owner(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or(("", name))
}

/// One line per owner: `n1: currentTerm=0 votedFor=- ...`.
fn group_fields(fields: &[Field]) -> Vec<String> {
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for f in fields {
        let (who, what) = owner(&f.name);
        let item = format!("{what}={}", f.value);
        match lines.last_mut() {
            Some((w, items)) if w == who => items.push(item),
            _ => lines.push((who.to_string(), vec![item])),
        }
    }
    lines
        .into_iter()
        .map(|(who, items)| format!("{who}: {}", items.join("  ")))
        .collect()
}

/// How a change reads after the field's name: `0 -> 1` for a scalar, `-A +D` (the
/// removed elements, then the added ones) for a collection shown element by element.
/// Elements are separated by a space, or by `; ` when one of them has a space itself
/// (`+p1 -> coord Vote(yes); +p2 -> coord Vote(yes)`).
pub fn change_words(c: &Change) -> String {
    match (&c.added, &c.removed) {
        (Some(added), Some(removed)) => {
            let mut parts: Vec<String> = removed.iter().map(|r| format!("-{r}")).collect();
            parts.extend(added.iter().map(|a| format!("+{a}")));
            let spaced = parts.iter().any(|p| p.contains(' '));
            parts.join(if spaced { "; " } else { " " })
        }
        _ => format!("{} -> {}", c.from, c.to),
    }
}

/// One line per owner: `n2: currentTerm 0 -> 1, votedFor - -> n1`.
fn group_changes(changes: &[Change]) -> Vec<String> {
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for c in changes {
        let (who, what) = owner(&c.field);
        let item = format!("{what} {}", change_words(c));
        match lines.iter_mut().find(|(w, _)| w == who) {
            Some((_, items)) => items.push(item),
            None => lines.push((who.to_string(), vec![item])),
        }
    }
    lines
        .into_iter()
        .map(|(who, items)| format!("{who}: {}", items.join(", ")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(13206289), "13,206,289");
    }

    #[test]
    fn changes_are_grouped_by_owner_in_first_seen_order() {
        let c = |f: &str, a: &str, b: &str| Change {
            field: f.into(),
            from: a.into(),
            to: b.into(),
            added: None,
            removed: None,
        };
        let lines = group_changes(&[
            c("n2.currentTerm", "0", "1"),
            c("n1.role", "candidate", "leader"),
            c("n2.votedFor", "-", "n1"),
        ]);
        assert_eq!(
            lines,
            vec![
                "n2: currentTerm 0 -> 1, votedFor - -> n1",
                "n1: role candidate -> leader"
            ]
        );
    }

    #[test]
    fn collection_changes_show_removed_then_added_elements() {
        let c = Change {
            field: "network.messages".into(),
            from: "{A; B; C}".into(),
            to: "{B; C; D}".into(),
            added: Some(vec!["D".into()]),
            removed: Some(vec!["A".into()]),
        };
        assert_eq!(group_changes(&[c]), vec!["network: messages -A +D"]);
    }

    #[test]
    fn elements_with_spaces_are_separated_by_semicolons() {
        let c = Change {
            field: "network.messages".into(),
            from: "{}".into(),
            to: "{coord -> p1 Prepare; coord -> p2 Prepare}".into(),
            added: Some(vec![
                "coord -> p1 Prepare".into(),
                "coord -> p2 Prepare".into(),
            ]),
            removed: Some(vec![]),
        };
        assert_eq!(
            change_words(&c),
            "+coord -> p1 Prepare; +coord -> p2 Prepare"
        );
    }
}

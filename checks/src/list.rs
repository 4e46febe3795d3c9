//! `check list`: every exercise with its models, properties, variants and default bounds.

use crate::args::Format;
use crate::engine::{expectation_name, Outcome};
use crate::exercises::{ChoiceFlag, Exercise, EXERCISES};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

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
    variants: Vec<&'static models::Variant>,
    /// `--spec` choices: other specifications the exercise can check.
    specs: Vec<ListedSpec>,
    /// The `--liveness` question and the known limitation it shows.
    liveness: Option<ListedLiveness>,
    /// The choices named by the exercise's protocol flag (`--protocol` unless its row
    /// says otherwise), the default first, with the variants each takes.
    protocols: Vec<ListedProtocol>,
    /// That flag's name, for the text listing; the JSON names it in each model's `flag`.
    #[serde(skip)]
    protocol_flag: &'static str,
    /// Every model the exercise can check (its default, protocols and specs), with what
    /// `check all` holds its default run to.
    models: Vec<ListedModel>,
}

#[derive(Serialize)]
struct ListedModel {
    name: &'static str,
    /// The flag that names it without dashes (`protocol`, or the exercise's own name
    /// for it, or `spec`), or null for the exercise's default model.
    flag: Option<&'static str>,
    /// The unique-state count the gate expects under the default bounds.
    pinned_states: Option<u64>,
    /// Action kinds declared dead under the default bounds, with why.
    dead_actions: Vec<ListedDeadAction>,
}

#[derive(Serialize)]
struct ListedDeadAction {
    kind: &'static str,
    reason: &'static str,
}

#[derive(Serialize)]
struct ListedProtocol {
    name: &'static str,
    summary: &'static str,
    variants: Vec<&'static str>,
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

fn listed(e: &'static Exercise) -> ListedExercise {
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
        symmetry: e.default_model().symmetry,
        properties: e
            .properties()
            .into_iter()
            .map(|(name, exp)| ListedProperty {
                name,
                expectation: expectation_name(&exp),
            })
            .collect(),
        variants: e.variants(),
        specs: e
            .choices(ChoiceFlag::Spec)
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
            .choices(ChoiceFlag::Protocol)
            .map(|p| ListedProtocol {
                name: p.name,
                summary: p.summary,
                variants: p.variants.iter().map(|v| v.name).collect(),
                bounds: p.defaults.iter().copied().collect(),
            })
            .collect(),
        protocol_flag: e.protocol_flag,
        models: e
            .models
            .iter()
            .map(|m| ListedModel {
                name: m.name,
                flag: m.flag.name(e),
                pinned_states: m.pin.map(|p| p.unique_states),
                dead_actions: m
                    .pin
                    .map_or(&[][..], |p| p.dead_actions)
                    .iter()
                    .map(|d| ListedDeadAction {
                        kind: d.kind,
                        reason: d.reason,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The line above an exercise's protocols: their flag, and what runs without it.
fn protocols_heading(e: &ListedExercise) -> String {
    let flag = e.protocol_flag;
    // The default is the first protocol only if the exercise's default model is one
    // (msi's snooping); raft's default, the abstract model, is not.
    let default = match e.models.first() {
        Some(m) if m.flag == Some(flag) => format!("default {}", m.name),
        Some(m) => format!("without it: the {} model", m.name),
        None => String::new(),
    };
    // `{flag}s`: "protocols", as the listing has always said, or "versionings".
    format!("{flag}s (--{flag} NAME, {default}):")
}

/// Prints every exercise.
pub fn list(format: Format) -> Result<Outcome> {
    let exercises: Vec<ListedExercise> = EXERCISES.iter().map(|e| listed(e)).collect();
    if format == Format::Json {
        crate::outln!("{}", serde_json::to_string_pretty(&exercises)?)?;
        return Ok(Outcome::Holds);
    }
    for e in &exercises {
        crate::outln!("{}: {}", e.name, e.summary)?;
        let bounds: Vec<String> = e
            .bounds
            .iter()
            .map(|b| format!("--{} {} ({}..={})", b.flag, b.default, b.min, b.max))
            .collect();
        crate::outln!("  default bounds: {}", bounds.join("  "))?;
        for exp in ["always", "sometimes", "eventually"] {
            let names: Vec<&str> = e
                .properties
                .iter()
                .filter(|p| p.expectation == exp)
                .map(|p| p.name)
                .collect();
            if !names.is_empty() {
                crate::outln!("  {exp}: {}", names.join(", "))?;
            }
        }
        crate::outln!("  bug variants (--bug NAME):")?;
        let width = e.variants.iter().map(|v| v.name.len()).max().unwrap_or(0);
        for v in &e.variants {
            crate::outln!(
                "    {:<width$}  {}; breaks {}",
                v.name,
                v.summary,
                v.breaks.join(" or ")
            )?;
        }
        if !e.specs.is_empty() {
            crate::outln!("  other specifications (--spec NAME):")?;
            let width = e.specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for spec in &e.specs {
                crate::outln!("    {:<width$}  {}", spec.name, spec.summary)?;
            }
        }
        if !e.protocols.is_empty() {
            crate::outln!("  {}", protocols_heading(e))?;
            let width = e.protocols.iter().map(|p| p.name.len()).max().unwrap_or(0);
            for p in &e.protocols {
                crate::outln!("    {:<width$}  {}", p.name, p.summary)?;
                crate::outln!("    {:<width$}  variants: {}", "", p.variants.join(", "))?;
                if !p.bounds.is_empty() {
                    let bounds: Vec<String> =
                        p.bounds.iter().map(|(f, v)| format!("--{f} {v}")).collect();
                    crate::outln!("    {:<width$}  default bounds: {}", "", bounds.join("  "))?;
                }
            }
        }
        if let Some(l) = &e.liveness {
            crate::outln!(
                "  --liveness: eventually {}, expected to be violated: {}",
                l.property,
                l.expected
            )?;
        }
        crate::outln!()?;
    }
    Ok(Outcome::Holds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::{find, tests::VERSIONED};

    #[test]
    fn the_listing_names_choices_by_the_flag_their_exercise_declares() {
        let e = listed(&VERSIONED);
        assert_eq!(
            protocols_heading(&e),
            "versionings (--versioning NAME, without it: the clocks model):"
        );
        let flags: Vec<Option<&str>> = e.models.iter().map(|m| m.flag).collect();
        assert_eq!(flags, [None, Some("versioning")]);
        // Registered rows keep `--protocol`; msi's default is one of its protocols.
        let msi = listed(find("msi").unwrap());
        assert_eq!(
            protocols_heading(&msi),
            "protocols (--protocol NAME, default snooping):"
        );
    }
}

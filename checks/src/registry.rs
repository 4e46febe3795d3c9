//! One row per exercise: its name, bounds, bug variants, properties and the functions that
//! check it and serve it to the Explorer. Adding an exercise means adding a row here and a
//! module beside this one; `main`, `list` and `all` pick it up from [`EXERCISES`].

use crate::explore::{RunOptions, Strategy};
use crate::report::RunReport;
use anyhow::Result;
use models::Variant;
use stateright::Expectation;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A bound flag of an exercise, such as `--servers 3`.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// The flag's name without dashes, e.g. `max-term`.
    pub flag: &'static str,
    /// What it bounds.
    pub help: &'static str,
    /// The value of the default configuration, which `check all` runs.
    pub default: u64,
    /// The smallest value the model accepts.
    pub min: u64,
    /// The largest value the model accepts.
    pub max: u64,
}

/// Another specification an exercise can check instead of its own model, chosen with
/// `--spec NAME` (e.g. a faithful port of a published TLA+ spec, to compare state counts).
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The name after `--spec`.
    pub name: &'static str,
    /// One line: what it is.
    pub summary: &'static str,
}

/// One of the protocols an exercise models, chosen with `--protocol NAME` (e.g. MSI on an
/// atomic bus, or with a directory). Unlike a `--spec`, a protocol takes bug variants: those
/// it lists. The first protocol of an exercise is its default.
#[derive(Clone, Copy, Debug)]
pub struct ProtocolChoice {
    /// The name after `--protocol`.
    pub name: &'static str,
    /// One line: what it is.
    pub summary: &'static str,
    /// The names of the variants this protocol can be built with.
    pub variants: &'static [&'static str],
    /// Default bounds of this protocol that differ from the exercise's (flags given on the
    /// command line still win).
    pub bounds: &'static [(&'static str, u64)],
}

impl ProtocolChoice {
    /// Whether this protocol can be built with the variant `bug`.
    pub fn takes(&self, bug: &str) -> bool {
        self.variants.contains(&bug)
    }
}

/// A liveness question an exercise can ask with `--liveness`, whose answer is a known
/// limitation of the protocol: the run is expected to find its property violated.
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    /// The `eventually` property the protocol is known to break.
    pub property: &'static str,
    /// The limitation its violation shows, in one sentence.
    pub meaning: &'static str,
    /// Default bounds of a `--liveness` run that differ from the exercise's (flags given
    /// on the command line still win).
    pub bounds: &'static [(&'static str, u64)],
}

/// A resolved configuration: a value for every bound, and an optional bug variant.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Bound flag name to value; every bound of the exercise is present.
    pub bounds: BTreeMap<String, u64>,
    /// The bug variant's name; always one of the exercise's variants.
    pub bug: Option<&'static str>,
    /// The `--spec` chosen instead of the exercise's own model; never with a bug.
    pub spec: Option<&'static str>,
    /// Whether `--liveness` asks the exercise's liveness question; never with a bug or spec.
    pub liveness: bool,
    /// The `--protocol` checked, for an exercise with protocols (always set for one);
    /// it takes `bug`.
    pub protocol: Option<&'static str>,
}

impl Selection {
    /// The default configuration of `exercise`, with `bug` built in. For an exercise with
    /// protocols this is the first protocol that takes `bug` (the first protocol if there
    /// is no bug).
    pub fn defaults(exercise: &Exercise, bug: Option<&'static str>) -> Selection {
        let protocol = exercise
            .protocols
            .iter()
            .find(|p| bug.is_none_or(|b| p.takes(b)))
            .or(exercise.protocols.first());
        Selection::of_protocol(exercise, protocol, bug)
    }

    /// The default configuration of `exercise` as `protocol`, with `bug` built in: the
    /// exercise's default bounds, then the protocol's, then the variant's.
    pub fn of_protocol(
        exercise: &Exercise,
        protocol: Option<&ProtocolChoice>,
        bug: Option<&'static str>,
    ) -> Selection {
        let mut bounds: BTreeMap<String, u64> = exercise
            .bounds
            .iter()
            .map(|b| (b.flag.to_string(), b.default))
            .collect();
        for (flag, value) in protocol.map_or(&[][..], |p| p.bounds) {
            bounds.insert(flag.to_string(), *value);
        }
        let overrides = exercise
            .variant_bounds
            .iter()
            .filter(|(name, _)| Some(*name) == bug)
            .flat_map(|(_, o)| o.iter());
        for (flag, value) in overrides {
            bounds.insert(flag.to_string(), *value);
        }
        Selection {
            bounds,
            bug,
            spec: None,
            liveness: false,
            protocol: protocol.map(|p| p.name),
        }
    }

    /// The `--liveness` configuration of `exercise`: its defaults with the liveness
    /// question's own default bounds.
    ///
    /// # Panics
    /// If the exercise has no liveness question.
    pub fn liveness(exercise: &Exercise) -> Selection {
        let question = exercise
            .liveness
            .expect("only exercises with a liveness question take --liveness");
        let mut sel = Selection::defaults(exercise, None);
        for (flag, value) in question.bounds {
            sel.bounds.insert(flag.to_string(), *value);
        }
        sel.liveness = true;
        sel
    }

    /// The value of a bound flag.
    ///
    /// # Panics
    /// If the exercise has no such bound: the registry row and its model disagree.
    pub fn bound(&self, flag: &str) -> u64 {
        *self
            .bounds
            .get(flag)
            .unwrap_or_else(|| panic!("the registry row declares no bound --{flag}"))
    }
}

/// An exercise as the `check` command sees it.
pub struct Exercise {
    /// The name used everywhere: module names and `check <name>`.
    pub name: &'static str,
    /// One line: what is modelled.
    pub summary: &'static str,
    /// The bound flags, with defaults that `check all` runs and that finish exhaustively.
    pub bounds: &'static [Bound],
    /// The known-bug variants, each of which `check all` must catch.
    pub variants: &'static [Variant],
    /// Default bounds that differ for a variant, because its shortest counterexample needs
    /// a configuration the exhaustive default does not include (flags given on the command
    /// line still win).
    pub variant_bounds: &'static [(&'static str, &'static [(&'static str, u64)])],
    /// Other specifications `--spec` can choose (none for most exercises).
    pub specs: &'static [Spec],
    /// The protocols `--protocol` can choose, default first (none for most exercises).
    pub protocols: &'static [ProtocolChoice],
    /// The liveness question `--liveness` asks, if the exercise has one.
    pub liveness: Option<Liveness>,
    /// The strategy a run uses unless `--strategy` says otherwise, and that `check all`
    /// uses. DFS for most: it applies symmetry and keeps only fingerprints. But stateright's
    /// DFS keeps each pending state's whole path, so a model whose DFS paths run thousands
    /// of steps deep (while its diameter is a few dozen) is cheaper breadth-first.
    pub strategy: Strategy,
    /// Whether the model has a symmetry reduction (used by DFS and simulation).
    pub symmetry: bool,
    /// The model's properties, in report order.
    pub properties: fn() -> Vec<(&'static str, Expectation)>,
    /// Checks the model built from a selection.
    pub check: fn(&Selection, &RunOptions) -> Result<RunReport>,
    /// Serves stateright's Explorer for the model built from a selection; never returns
    /// unless the address cannot be bound.
    pub explore: fn(&Selection, SocketAddr, usize) -> Result<()>,
}

/// Every exercise, in `check list` order.
pub static EXERCISES: &[&Exercise] = &[
    &crate::kv::EXERCISE,
    &crate::raft::EXERCISE,
    &crate::msi::EXERCISE,
    &crate::twopc::EXERCISE,
];

/// Looks an exercise up by name.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().copied().find(|e| e.name == name)
}

/// Looks a variant of `exercise` up by name.
pub fn variant(exercise: &Exercise, name: &str) -> Option<&'static str> {
    exercise
        .variants
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.name)
}

/// Looks a protocol of `exercise` up by name.
pub fn protocol(exercise: &Exercise, name: &str) -> Option<&'static ProtocolChoice> {
    exercise.protocols.iter().find(|p| p.name == name)
}

//! The exercises, one registry row each.
//!
//! Adding an exercise means writing its module beside this one (the row, as a
//! `pub static EXERCISE`, and the [`ExerciseModel`] impls that build its models from a
//! [`Selection`]) and adding its name to the one `registry!` line below. Nothing else names an exercise:
//! the command line, `check list`, `check all`, the Explorer and the reports are built
//! from the rows. Optional fields default through [`Exercise::DEFAULT`], so a field added
//! for one exercise never edits another's row.
//!
//! An exercise has:
//! - **bounds**: flags such as `--servers 3`, with the defaults that `check all` runs;
//! - **models**: one or more [`ModelChoice`]s, the first the default. A choice is picked
//!   with `--protocol NAME` (another protocol of the exercise, which takes bug variants;
//!   an exercise whose alternatives are not protocols names the flag otherwise, through
//!   [`Exercise::protocol_flag`]) or `--spec NAME` (a faithful port of a published spec,
//!   to compare state counts with TLC; no variants). Each choice has its own variants and
//!   default bounds;
//! - optionally a **liveness** question, whose expected answer is a known limitation;
//! - **modes**: runs of the implementation rather than a model, each with its own
//!   command line and run function (`check kv --jepsen`, `check msi --sim`,
//!   `check bench kv`).

use crate::engine::explore;
use crate::engine::report::RunReport;
use crate::engine::{Checkable, Outcome, Representative, RunLabel, RunOptions, Strategy};
use anyhow::Result;
use clap::{ArgMatches, Command as Cli};
pub use models::coverage::{DeadAction, Pin};
use models::Variant;
use stateright::Expectation;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Declares each exercise's module and lists its row in [`EXERCISES`], so that an
/// exercise is registered by one name on one line.
macro_rules! registry {
    ($($exercise:ident),* $(,)?) => {
        $(pub mod $exercise;)*

        /// Every exercise, in `check list` order.
        pub static EXERCISES: &[&Exercise] = &[$(&$exercise::EXERCISE),*];
    };
}

registry![kv, vclock, raft, msi, twopc];

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

/// How a [`ModelChoice`] is named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChoiceFlag {
    /// The exercise's default model when no flag names it (raft's abstract model, vclock's
    /// clocks): no flag.
    Default,
    /// `--protocol NAME`, or whatever flag the exercise declares in
    /// [`Exercise::protocol_flag`]: one of the exercise's alternative models (protocols,
    /// versioning schemes); it takes bug variants.
    Protocol,
    /// `--spec NAME`: a faithful port of a published specification; no bug variants.
    Spec,
}

impl ChoiceFlag {
    /// The flag's name without dashes in `exercise`'s command line, for the choices that
    /// have one. It is both the clap argument's id and its long flag, so the command line,
    /// the lookup of its matches and the report labels cannot disagree.
    pub fn name(self, exercise: &Exercise) -> Option<&'static str> {
        match self {
            ChoiceFlag::Default => None,
            ChoiceFlag::Protocol => Some(exercise.protocol_flag),
            ChoiceFlag::Spec => Some("spec"),
        }
    }
}

/// A model an exercise can check: its name and flag, the bug variants it can be built
/// with, its default bounds, and the engine entry points, instantiated for its model type
/// by [`ModelChoice::of`].
#[derive(Clone, Copy, Debug)]
pub struct ModelChoice {
    /// The name after its flag (`--protocol`, as the exercise calls it, or `--spec`).
    pub name: &'static str,
    /// One line: what it is.
    pub summary: &'static str,
    /// How the command line names it.
    pub flag: ChoiceFlag,
    /// The bug variants this model can be built with.
    pub variants: &'static [Variant],
    /// The bound flags this model reads, or `None` for all of the exercise's; a report
    /// shows only these.
    pub reads: Option<&'static [&'static str]>,
    /// Default bounds of this model that differ from the exercise's (flags given on the
    /// command line still win).
    pub defaults: &'static [(&'static str, u64)],
    /// Whether the model has a symmetry reduction (used by DFS and simulation).
    pub symmetry: bool,
    /// The properties of the model a selection describes, in report order.
    pub properties: fn(&Selection) -> Vec<(&'static str, Expectation)>,
    /// Checks the model built from a selection.
    pub check: fn(&Exercise, &Selection, &RunOptions) -> Result<RunReport>,
    /// Serves stateright's Explorer for the model built from a selection; never returns
    /// unless the address cannot be bound.
    pub explore: fn(&Selection, SocketAddr, usize) -> Result<()>,
    /// The model's pinned unique-state count and dead actions under the default bounds
    /// (declared with the model, e.g. `models::kv::PIN`). A model that loses behaviour
    /// passes its safety properties, but not this: the gate fails on any other count, on a
    /// dead action the pin does not declare, and on a declared one that fires. `None` only
    /// while a model is being written; the registry test refuses it for a registered model.
    pub pin: Option<Pin>,
}

/// A model type the registry can build from a [`Selection`]. Implemented in each
/// exercise's module for each of its models; the engine does the rest.
pub trait ExerciseModel: Checkable {
    /// The model a selection describes (its bounds, bug variant and liveness question).
    fn build(selection: &Selection) -> Self;

    /// The model's symmetry reduction, if its processes are interchangeable.
    const SYMMETRY: Option<Representative<Self>> = None;
}

impl ModelChoice {
    /// The choice of model type `M`: the exercise's default model (no flag), taking no
    /// variants until [`ModelChoice::with_variants`] says which.
    pub const fn of<M: ExerciseModel>(name: &'static str, summary: &'static str) -> ModelChoice {
        ModelChoice {
            name,
            summary,
            flag: ChoiceFlag::Default,
            variants: &[],
            reads: None,
            defaults: &[],
            symmetry: M::SYMMETRY.is_some(),
            properties: properties_of::<M>,
            check: check_model::<M>,
            explore: serve_model::<M>,
            pin: None,
        }
    }

    /// Holds the default configuration to `pin`: its unique-state count and dead actions.
    pub const fn pinned(self, pin: Pin) -> ModelChoice {
        ModelChoice {
            pin: Some(pin),
            ..self
        }
    }

    /// Named by the exercise's protocol flag ([`Exercise::protocol_flag`], `--protocol`
    /// unless the exercise says otherwise).
    pub const fn protocol(self) -> ModelChoice {
        ModelChoice {
            flag: ChoiceFlag::Protocol,
            ..self
        }
    }

    /// Named by `--spec`.
    pub const fn spec(self) -> ModelChoice {
        ModelChoice {
            flag: ChoiceFlag::Spec,
            ..self
        }
    }

    /// Takes these bug variants.
    pub const fn with_variants(self, variants: &'static [Variant]) -> ModelChoice {
        ModelChoice { variants, ..self }
    }

    /// Reads only these bounds.
    pub const fn reading(self, flags: &'static [&'static str]) -> ModelChoice {
        ModelChoice {
            reads: Some(flags),
            ..self
        }
    }

    /// Has these default bounds where they differ from the exercise's.
    pub const fn with_defaults(self, defaults: &'static [(&'static str, u64)]) -> ModelChoice {
        ModelChoice { defaults, ..self }
    }

    /// Whether this model can be built with the variant `bug`.
    pub fn takes(&self, bug: &str) -> bool {
        self.variants.iter().any(|v| v.name == bug)
    }

    /// Whether it reads the bound `flag`.
    pub fn reads(&self, flag: &str) -> bool {
        self.reads.is_none_or(|flags| flags.contains(&flag))
    }
}

fn properties_of<M: ExerciseModel>(selection: &Selection) -> Vec<(&'static str, Expectation)> {
    M::build(selection)
        .properties()
        .into_iter()
        .map(|p| (p.name, p.expectation))
        .collect()
}

fn check_model<M: ExerciseModel>(
    exercise: &Exercise,
    selection: &Selection,
    opts: &RunOptions,
) -> Result<RunReport> {
    let mut report = explore::check(
        M::build(selection),
        M::SYMMETRY,
        &selection.label(exercise),
        opts,
    )?;
    if selection.liveness {
        if let Some(question) = exercise.liveness {
            report.expect_violation(question.property, question.meaning);
        }
    }
    if let Some(variant) = selection
        .bug
        .and_then(|b| selection.model.variants.iter().find(|v| v.name == b))
    {
        report.expect_bug(variant.name, variant.breaks);
    }
    Ok(report)
}

fn serve_model<M: ExerciseModel>(
    selection: &Selection,
    addr: SocketAddr,
    threads: usize,
) -> Result<()> {
    crate::engine::explorer::serve(M::build(selection), addr, threads)
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

/// Where a mode is invoked from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeKind {
    /// `check <exercise> --<name> ...`: a run of the implementation instead of the model.
    Flag,
    /// `check bench <exercise> ...`: a benchmark.
    Bench,
    /// `check <exercise> --<name> ...`, left out of the help: a helper other modes run,
    /// such as a node process.
    Hidden,
}

/// A run of an exercise's implementation rather than its model: its own command line and
/// run function. The arguments are whatever [`Mode::command`] declares; `--format` is
/// global and reaches every mode's matches.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    /// The flag (`--jepsen`) or bench subcommand (`kv`) that invokes it.
    pub name: &'static str,
    /// Where it is invoked from.
    pub kind: ModeKind,
    /// Its command line: arguments and help.
    pub command: fn() -> Cli,
    /// Runs it on its parsed arguments.
    pub run: fn(&ArgMatches) -> Result<Outcome>,
}

/// An exercise as the `check` command sees it.
pub struct Exercise {
    /// The name used everywhere: module names and `check <name>`.
    pub name: &'static str,
    /// One line: what is modelled.
    pub summary: &'static str,
    /// The bound flags, with defaults that `check all` runs and that finish exhaustively.
    pub bounds: &'static [Bound],
    /// The models, the default first.
    pub models: &'static [ModelChoice],
    /// Default bounds that differ for a variant, because its shortest counterexample needs
    /// a configuration the exhaustive default does not include (flags given on the command
    /// line still win).
    pub variant_bounds: &'static [(&'static str, &'static [(&'static str, u64)])],
    /// The liveness question `--liveness` asks, if the exercise has one.
    pub liveness: Option<Liveness>,
    /// The strategy a run uses unless `--strategy` says otherwise, and that `check all`
    /// uses. DFS for most: it applies symmetry and keeps only fingerprints. But stateright's
    /// DFS keeps each pending state's whole path, so a model whose DFS paths run thousands
    /// of steps deep (while its diameter is a few dozen) is cheaper breadth-first.
    pub strategy: Strategy,
    /// Runs of the implementation: Jepsen-style tests, simulators, benchmarks.
    pub modes: &'static [Mode],
    /// The flag, without dashes, that names the exercise's [`ChoiceFlag::Protocol`]
    /// models: `protocol` unless its alternatives are better called something else (kv's
    /// are versioning schemes, `--versioning dvv`). Every place that names such a model
    /// uses it: the clap argument (its id and long flag), usage errors, bound help, `check
    /// list` (text and the models' `flag` in JSON) and the run label in reports (`kv
    /// --versioning dvv`), so what a report says is what the user types. It must not be
    /// the name of another of the exercise's flags (`spec`, `bug`, a bound, a mode): a
    /// release build of clap would give the word to one of them silently, so a unit test
    /// of `args` checks every registered row.
    pub protocol_flag: &'static str,
}

impl Exercise {
    /// The defaults of every optional field; a row starts from `..Exercise::DEFAULT`.
    pub const DEFAULT: Exercise = Exercise {
        name: "",
        summary: "",
        bounds: &[],
        models: &[],
        variant_bounds: &[],
        liveness: None,
        strategy: Strategy::Dfs,
        modes: &[],
        protocol_flag: "protocol",
    };

    /// The default model.
    pub fn default_model(&self) -> &'static ModelChoice {
        self.models
            .first()
            .expect("every exercise has at least one model")
    }

    /// Every bug variant of the exercise, each once, in the order its models list them.
    pub fn variants(&self) -> Vec<&'static Variant> {
        let mut all: Vec<&'static Variant> = Vec::new();
        for v in self.models.iter().flat_map(|m| m.variants) {
            if !all.iter().any(|w| w.name == v.name) {
                all.push(v);
            }
        }
        all
    }

    /// Looks a variant up by name.
    pub fn variant(&self, name: &str) -> Option<&'static Variant> {
        self.variants().into_iter().find(|v| v.name == name)
    }

    /// The models named by `flag`.
    pub fn choices(&self, flag: ChoiceFlag) -> impl Iterator<Item = &'static ModelChoice> {
        self.models.iter().filter(move |m| m.flag == flag)
    }

    /// Looks a model up by its flag and name.
    pub fn choice(&self, flag: ChoiceFlag, name: &str) -> Option<&'static ModelChoice> {
        self.choices(flag).find(|m| m.name == name)
    }

    /// The properties of the default model at the default bounds, in report order.
    pub fn properties(&'static self) -> Vec<(&'static str, Expectation)> {
        let selection = Selection::defaults(self, None);
        (selection.model.properties)(&selection)
    }

    /// Looks a mode up by kind and name.
    pub fn mode(&self, kind: ModeKind, name: &str) -> Option<&'static Mode> {
        self.modes.iter().find(|m| m.kind == kind && m.name == name)
    }
}

/// A resolved configuration: a model, a value for every bound, and an optional bug variant.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Bound flag name to value; every bound of the exercise is present.
    pub bounds: BTreeMap<String, u64>,
    /// The bug variant's name; always one the model takes.
    pub bug: Option<&'static str>,
    /// The model checked.
    pub model: &'static ModelChoice,
    /// Whether `--liveness` asks the exercise's liveness question; never with a bug or spec.
    pub liveness: bool,
}

impl Selection {
    /// The default configuration of `exercise`, with `bug` built in: the first model that
    /// takes `bug` (the default model if there is no bug).
    pub fn defaults(exercise: &'static Exercise, bug: Option<&'static str>) -> Selection {
        let model = exercise
            .models
            .iter()
            .filter(|m| m.flag != ChoiceFlag::Spec)
            .find(|m| bug.is_none_or(|b| m.takes(b)))
            .unwrap_or(exercise.default_model());
        Selection::of_model(exercise, model, bug)
    }

    /// The default configuration of `exercise` as `model`, with `bug` built in: the
    /// exercise's default bounds, then the model's, then the variant's.
    pub fn of_model(
        exercise: &Exercise,
        model: &'static ModelChoice,
        bug: Option<&'static str>,
    ) -> Selection {
        let mut bounds: BTreeMap<String, u64> = exercise
            .bounds
            .iter()
            .map(|b| (b.flag.to_string(), b.default))
            .collect();
        for (flag, value) in model.defaults {
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
            model,
            liveness: false,
        }
    }

    /// The `--liveness` configuration of `exercise`: its defaults with the liveness
    /// question's own default bounds.
    ///
    /// # Panics
    /// If the exercise has no liveness question.
    pub fn liveness(exercise: &'static Exercise) -> Selection {
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

    /// The bug variant as the model's own type, looked up with the model's `from_name`.
    ///
    /// # Panics
    /// If `from_name` does not know the name: the registry row lists a variant its model
    /// cannot be built with.
    pub fn bug_as<B>(&self, from_name: fn(&str) -> Option<B>) -> Option<B> {
        self.bug.map(|name| {
            from_name(name).unwrap_or_else(|| panic!("the model has no variant {name}"))
        })
    }

    /// The model's name, for a model named by the exercise's protocol flag
    /// ([`Exercise::protocol_flag`]).
    pub fn protocol(&self) -> Option<&'static str> {
        (self.model.flag == ChoiceFlag::Protocol).then_some(self.model.name)
    }

    /// The spec checked, for a model named by `--spec`.
    pub fn spec(&self) -> Option<&'static str> {
        (self.model.flag == ChoiceFlag::Spec).then_some(self.model.name)
    }

    /// The run's label in reports: the exercise and how its model was chosen, the bounds
    /// the model reads, and the bug.
    pub fn label(&self, exercise: &Exercise) -> RunLabel {
        let mut what = exercise.name.to_string();
        if let Some(flag) = self.model.flag.name(exercise) {
            what.push_str(&format!(" --{flag} {}", self.model.name));
        }
        if self.liveness {
            what.push_str(" --liveness");
        }
        let mut bounds = self.bounds.clone();
        bounds.retain(|flag, _| self.model.reads(flag));
        RunLabel {
            exercise: what,
            bounds,
            bug: self.bug.map(str::to_string),
        }
    }

    /// Checks the selected model.
    pub fn check(&self, exercise: &Exercise, opts: &RunOptions) -> Result<RunReport> {
        (self.model.check)(exercise, self, opts)
    }
}

/// Looks an exercise up by name.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().copied().find(|e| e.name == name)
}

#[cfg(test)]
pub(crate) mod tests {
    //! An exercise registered nowhere whose alternative model is named by `--versioning`,
    //! as kv's are: what names a model on the command line must come from the row, never
    //! assume `--protocol`. The CLI and `check list` tests use it too.

    use super::*;
    use models::vclock::causal::CausalModel;
    use models::vclock::VclockModel;

    /// vclock's two models under other names: `clocks`, the default with no flag, and
    /// `dvv`, chosen with `--versioning dvv`, with a default bound of its own so that the
    /// bound help names the flag too.
    pub(crate) static VERSIONED: Exercise = Exercise {
        name: "versioned",
        summary: "a test exercise whose second model is a versioning scheme",
        bounds: &[
            Bound {
                flag: "processes",
                help: "processes",
                default: 2,
                min: 2,
                max: 3,
            },
            Bound {
                flag: "events",
                help: "events per process",
                default: 1,
                min: 1,
                max: 2,
            },
            Bound {
                flag: "nodes",
                help: "nodes of --versioning dvv",
                default: 2,
                min: 2,
                max: 3,
            },
            Bound {
                flag: "broadcasts",
                help: "broadcasts per node of --versioning dvv",
                default: 1,
                min: 1,
                max: 2,
            },
        ],
        models: &[
            ModelChoice::of::<VclockModel>("clocks", "processes keeping vector clocks")
                .with_variants(&models::vclock::VARIANTS)
                .reading(&["processes", "events"]),
            ModelChoice::of::<CausalModel>("dvv", "a versioning scheme")
                .protocol()
                .with_variants(&models::vclock::causal::VARIANTS)
                .reading(&["nodes", "broadcasts"])
                .with_defaults(&[("broadcasts", 2)]),
        ],
        protocol_flag: "versioning",
        ..Exercise::DEFAULT
    };

    #[test]
    fn a_model_is_named_by_the_flag_its_exercise_declares() {
        let e = &VERSIONED;
        let dvv = e
            .choice(ChoiceFlag::Protocol, "dvv")
            .expect("dvv is a choice");
        assert_eq!(ChoiceFlag::Protocol.name(e), Some("versioning"));
        assert_eq!(ChoiceFlag::Spec.name(e), Some("spec"));
        assert_eq!(ChoiceFlag::Default.name(e), None);
        let selection = Selection::of_model(e, dvv, None);
        assert_eq!(selection.protocol(), Some("dvv"));
        assert_eq!(selection.label(e).exercise, "versioned --versioning dvv");
        // The default model has no flag, so its label is the exercise alone.
        assert_eq!(Selection::defaults(e, None).label(e).exercise, "versioned");
    }

    #[test]
    fn registered_exercises_keep_the_protocol_flag() {
        // A row that does not say otherwise is named by `--protocol`, as before the flag
        // could be declared: `check raft --protocol messages` must keep working.
        for name in ["raft", "msi", "vclock"] {
            let e = find(name).expect("registered");
            let p = e.choices(ChoiceFlag::Protocol).next().expect("a protocol");
            let label = Selection::of_model(e, p, None).label(e).exercise;
            assert_eq!(label, format!("{name} --protocol {}", p.name));
        }
    }
}

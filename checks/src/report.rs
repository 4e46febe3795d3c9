//! What a model-checking run found, as data. `--format json` serializes [`RunReport`] as
//! is; [`crate::text`] renders the same content for people. The README documents the schema.

use serde::Serialize;
use std::collections::BTreeMap;

/// The version of the JSON report documented in the README.
pub const SCHEMA: &str = "check-run/1";

/// Everything one `check <exercise>` run established.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The report format's name and version, [`SCHEMA`]; bumped on incompatible change.
    pub schema: &'static str,
    /// The exercise's registry name, e.g. `raft`.
    pub exercise: String,
    /// The bug variant the model was built with, if any.
    pub bug: Option<String>,
    /// The bound flags and their values, e.g. `{"servers": 3, "max-term": 4}`.
    pub bounds: BTreeMap<String, u64>,
    /// The engine that ran: `dfs`, `bfs`, `simulate`, or `levels` (the level-by-level
    /// search that `--depth` uses with DFS and BFS).
    pub strategy: String,
    /// Checker threads used for the exploration.
    pub threads: usize,
    /// Whether states were identified up to renaming of interchangeable processes.
    pub symmetry: bool,
    /// Whether the reachable state space was exhausted, and if not, what stopped the run.
    pub coverage: Coverage,
    /// States generated, counting revisits.
    pub states_generated: usize,
    /// Distinct states (distinct symmetry classes when `symmetry` is on).
    pub unique_states: usize,
    /// The deepest state reached, counting the initial state as depth 1.
    pub max_depth: usize,
    /// Wall time of the exploration, in seconds (shortening a counterexample excluded).
    pub wall_seconds: f64,
    /// `states_generated / wall_seconds`.
    pub states_per_second: f64,
    /// One outcome per property, in the model's order.
    pub properties: Vec<PropertyOutcome>,
    /// The shortest counterexample found, replayed and confirmed, if any property failed.
    pub counterexample: Option<Trace>,
    /// Wall time spent shortening and replaying the counterexample, in seconds.
    pub shortening_seconds: f64,
    /// The overall result, which decides the exit code.
    pub verdict: Verdict,
}

/// How much of the state space a run covered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Coverage {
    /// Every reachable state was checked; a property that held, holds.
    Exhausted,
    /// A bound stopped the run first; a property that held, held only within it.
    Bounded {
        /// Which bound: `depth 20`, `state count 1000000`, `timeout 10s`, `simulation`.
        by: String,
    },
    /// The run stopped at the first counterexample, as runs of bug variants do.
    StoppedAtViolation,
}

impl Coverage {
    /// True only for [`Coverage::Exhausted`].
    pub fn is_exhausted(&self) -> bool {
        *self == Coverage::Exhausted
    }
}

/// The result of one property.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyOutcome {
    /// The property's name, e.g. `ElectionSafety`.
    pub name: String,
    /// `always`, `sometimes` or `eventually`.
    pub expectation: String,
    /// What the run established about it.
    pub status: Status,
}

/// What a run established about one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// No counterexample in the exhausted state space.
    Holds,
    /// No counterexample within the bound that stopped the run.
    HoldsWithinBound,
    /// A counterexample was found.
    Violated,
    /// A `sometimes` property: a state satisfying it was reached.
    ExampleFound,
    /// A `sometimes` property: no state satisfying it was reached.
    NotReached,
    /// The run stopped at another property's counterexample before deciding this one.
    Undecided,
}

impl Status {
    /// The status in words, as the text report prints it.
    pub fn words(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::HoldsWithinBound => "holds within bound",
            Status::Violated => "VIOLATED",
            Status::ExampleFound => "example found",
            Status::NotReached => "NOT REACHED",
            Status::Undecided => "undecided (run stopped at a counterexample)",
        }
    }

    /// Whether this status makes the run fail.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Violated | Status::NotReached)
    }
}

/// The overall result of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every property holds (within the reported coverage) and every `sometimes` was reached.
    Holds,
    /// A property failed, or a `sometimes` property was not reached.
    Fails,
}

/// A counterexample: numbered steps from an initial state to a state that breaks a property.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    /// The property this trace breaks.
    pub property: String,
    /// `always` or `eventually`.
    pub expectation: String,
    /// The number of steps.
    pub length: usize,
    /// Whether no shorter counterexample to any safety property exists (proved by
    /// iterative deepening). `eventually` traces are not shortened.
    pub shortest: bool,
    /// Whether the trace was rebuilt from its actions and the violation re-confirmed.
    pub replayed: bool,
    /// The initial state, field by field.
    pub initial_state: Vec<Field>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The state that breaks the property, field by field.
    pub final_state: Vec<Field>,
    /// Why that state breaks the property, in protocol words.
    pub explanation: Vec<String>,
    /// Other properties that the final state also breaks.
    pub also_violated: Vec<String>,
}

/// One step of a trace.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// 1-based position in the trace.
    pub number: usize,
    /// The action in protocol words.
    pub action: String,
    /// The fields this step changed.
    pub changes: Vec<Change>,
}

/// A field that a step changed.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// The field's name, e.g. `n1.currentTerm`.
    pub field: String,
    /// Its value before the step.
    pub from: String,
    /// Its value after the step.
    pub to: String,
}

/// One named field of a state.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// The field's name, e.g. `n1.currentTerm`.
    pub name: String,
    /// Its value.
    pub value: String,
}

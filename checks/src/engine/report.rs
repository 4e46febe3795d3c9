//! What a model-checking run found, as data. `--format json` serializes [`RunReport`] as
//! is; [`super::text`] renders the same content for people. docs/check.md documents the schema.

use serde::Serialize;
use std::collections::BTreeMap;

pub use models::coverage::ActionCoverage;
pub use models::{Arrow, ArrowKind};

/// The version of the JSON report documented in docs/check.md.
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
    /// A known limitation of the protocol that this run set out to show (`--liveness`):
    /// its counterexample is the expected result, not a failure.
    pub expected_finding: Option<ExpectedFinding>,
    /// For a run of a bug variant: the bug, the properties that catch it, and whether one
    /// of them was found violated. A bug run that does not find its bug proves nothing.
    pub expected_bug: Option<ExpectedBug>,
    /// Per kind of action, how often it was enabled and fired during the exploration, in
    /// the model's declaration order.
    pub actions: Vec<ActionCoverage>,
    /// The kinds that never fired although the space was exhausted: behaviour the model
    /// cannot show under these bounds. Empty unless `coverage` is exhausted.
    pub dead_actions: Vec<String>,
}

/// The bug a variant's run exists to find.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectedBug {
    /// The variant's name, e.g. `commit-previous-term`.
    pub name: String,
    /// The properties whose violation counts as catching it.
    pub breaks: Vec<String>,
    /// Whether the counterexample breaks one of them.
    pub caught: bool,
}

/// A property the protocol is known to break, which a run is expected to find violated.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectedFinding {
    /// The property, e.g. `EveryParticipantDecides`.
    pub property: String,
    /// The known limitation its violation shows, in one sentence.
    pub meaning: String,
    /// Whether the run found the violation; `false` fails the run.
    pub found: bool,
}

impl RunReport {
    /// The run's outcome: an expected finding that was found, else what the verdict says.
    pub fn outcome(&self) -> super::Outcome {
        if matches!(self.coverage, Coverage::Interrupted { .. }) && self.verdict != Verdict::Fails {
            return super::Outcome::Interrupted;
        }
        match self.verdict {
            Verdict::Holds if self.expected_finding.as_ref().is_some_and(|f| f.found) => {
                super::Outcome::ExpectedFinding
            }
            Verdict::Holds => super::Outcome::Holds,
            Verdict::Fails => super::Outcome::Fails,
            Verdict::Unknown => super::Outcome::Unknown,
        }
    }

    /// Marks the run as one of bug variant `name`, caught by a violation of any of
    /// `breaks`. Not caught in an exhausted space, the model has lost the bug: the run
    /// fails. Not caught within a bound, nothing is shown either way: the verdict is
    /// [`Verdict::Unknown`] (exit 3), never "holds", whatever witnesses were not reached.
    pub fn expect_bug(&mut self, name: &str, breaks: &[&str]) {
        let caught = self
            .counterexample
            .as_ref()
            .is_some_and(|t| breaks.contains(&t.property.as_str()));
        self.expected_bug = Some(ExpectedBug {
            name: name.to_string(),
            breaks: breaks.iter().map(|b| b.to_string()).collect(),
            caught,
        });
        // Only a violation speaks for itself. A witness the bug takes away (raft's
        // EarlierTermEntryWaits under commit-previous-term) is not reached in a bug run,
        // and says nothing about whether the bug was caught.
        let violated = self.properties.iter().any(|o| o.status == Status::Violated);
        if !caught && !violated {
            self.verdict = if self.coverage.is_exhausted() {
                Verdict::Fails
            } else {
                Verdict::Unknown
            };
        }
    }

    /// Marks `property` as expected to be violated: a violation becomes
    /// [`Status::ViolatedAsExpected`], its absence [`Status::NotViolatedAsExpected`] (a
    /// failure: the run no longer shows what it claims to), and the verdict follows.
    pub fn expect_violation(&mut self, property: &str, meaning: &str) {
        let mut found = false;
        for o in self.properties.iter_mut().filter(|o| o.name == property) {
            found = o.status == Status::Violated;
            o.status = if found {
                Status::ViolatedAsExpected
            } else {
                Status::NotViolatedAsExpected
            };
        }
        self.expected_finding = Some(ExpectedFinding {
            property: property.to_string(),
            meaning: meaning.to_string(),
            found,
        });
        self.verdict = if self.properties.iter().any(|o| o.status.is_failure()) {
            Verdict::Fails
        } else {
            Verdict::Holds
        };
    }
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
    /// Ctrl-C stopped the run first; a property that held, held only in what was explored.
    Interrupted {
        /// Milliseconds into the exploration when the run stopped.
        after_ms: u64,
    },
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
    /// The run stopped (at another property's counterexample, or by Ctrl-C) before
    /// deciding this one.
    Undecided,
    /// A counterexample was found to a property the protocol is known to break (a
    /// `--liveness` finding): the expected result.
    ViolatedAsExpected,
    /// No counterexample to a property the protocol is known to break: the model no longer
    /// shows the limitation, so the run fails.
    NotViolatedAsExpected,
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
            Status::Undecided => "undecided (the run stopped first)",
            Status::ViolatedAsExpected => "violated, as expected (a known limitation)",
            Status::NotViolatedAsExpected => {
                "NOT VIOLATED, though the protocol is known to break it"
            }
        }
    }

    /// Whether this status makes the run fail.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Violated | Status::NotReached | Status::NotViolatedAsExpected
        )
    }
}

/// The overall result of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every property holds (within the reported coverage) and every `sometimes` was reached.
    Holds,
    /// A property failed, a `sometimes` property was not reached, or a bug variant was not
    /// caught though every state was checked.
    Fails,
    /// A bug variant's run ended at a bound before finding its bug: nothing is shown.
    Unknown,
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
    /// Whether no shorter counterexample exists: to any safety property (proved by
    /// iterative deepening), or, for an `eventually` trace, no shorter path that ends in a
    /// terminal state without the property ever holding (proved by breadth-first search).
    pub shortest: bool,
    /// Whether the trace was rebuilt from its actions and the violation re-confirmed.
    pub replayed: bool,
    /// The model's processes, left to right: the lanes of the message-sequence diagram
    /// that `--html` draws. A lane's name is the owner part (before the first `.`) of its
    /// fields' names. Empty if the model names no processes.
    pub lanes: Vec<String>,
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
    /// The trace's address in stateright's Explorer (`<initial state index>/<action
    /// index>/...`): `check ... --explore ADDR` serves it at `http://ADDR/#/steps/<this>`.
    pub explorer_path: Option<String>,
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
    /// The lane of the process that takes the step, if one process does (one of
    /// [`Trace::lanes`]); `None` for a step of the environment, such as a lost message.
    pub actor: Option<String>,
    /// The messages the step sends, delivers, loses or exchanges, in the order they
    /// happen; empty for a model without messages.
    pub arrows: Vec<Arrow>,
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
    /// For a field whose values are collections: the elements the step added, in the
    /// order of `to`. Present (with `removed`) only when the change is shown element by
    /// element; see [`super::delta`] for when that is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<Vec<String>>,
    /// For a field whose values are collections: the elements the step removed, in the
    /// order of `from`. Present exactly when `added` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Vec<String>>,
}

/// One named field of a state.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// The field's name, e.g. `n1.currentTerm`.
    pub name: String,
    /// Its value.
    pub value: String,
}

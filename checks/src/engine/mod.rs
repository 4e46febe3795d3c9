//! The model-checking engine: exploration with honest coverage ([`explore`]), the shortest
//! counterexample ([`shortest`]), replay and confirmation of a trace ([`replay`]) with
//! element-wise changes of collections ([`delta`]), and the report ([`report`]) with its
//! text form ([`text`]) and its page ([`html`]); and the progress line that every long
//! phase prints on stderr, the runs of real code included ([`progress`]).
//!
//! The engine is generic over the model: it knows [`Checkable`] models, never an exercise.
//! The types every part shares are defined here, so that the parts import this module and
//! not each other in a circle: `explore` calls `shortest` and `replay`, `replay` and
//! `shortest` use only what is here (and `replay` the leaf `delta`), and `text` and
//! `html` render what `report` holds.

pub mod delta;
pub mod explore;
pub mod explorer;
pub mod html;
pub mod interrupt;
pub mod outcome;
pub mod progress;
pub mod replay;
pub mod report;
pub mod shortest;
pub mod simulate;
pub mod text;

pub use outcome::Outcome;
pub use progress::Progress;

use stateright::Expectation;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

/// How to explore the state space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first, exhaustive unless bounded; uses symmetry reduction when the model has it.
    Dfs,
    /// Breadth-first, exhaustive unless bounded; stateright ignores symmetry under BFS.
    Bfs,
    /// Random walks from the initial state; never exhaustive.
    Simulate,
}

impl Strategy {
    /// The strategy's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Dfs => "dfs",
            Strategy::Bfs => "bfs",
            Strategy::Simulate => "simulate",
        }
    }
}

/// How long a simulation runs when neither `--timeout` nor `--max-states` bounds it.
pub const SIMULATION_DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The knobs of one run that do not change the model itself.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The exploration strategy.
    pub strategy: Strategy,
    /// Checker threads for the exploration. Shortening always uses one thread, so that the
    /// counterexample printed is the same on every run.
    pub threads: usize,
    /// Explore paths of at most this many steps.
    pub depth: Option<usize>,
    /// Stop after about this many generated states.
    pub max_states: Option<usize>,
    /// Stop after this much wall time.
    pub timeout: Option<Duration>,
    /// Identify states up to renaming of interchangeable processes (DFS and simulation).
    pub symmetry: bool,
    /// Seed for `simulate`.
    pub seed: u64,
    /// Print a progress line on stderr for runs longer than about 2 s.
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            strategy: Strategy::Dfs,
            threads: default_threads(),
            depth: None,
            max_states: None,
            timeout: None,
            symmetry: true,
            seed: 0,
            progress: false,
        }
    }
}

/// The machine's available parallelism, or 1 if it cannot be read.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub use models::{Checkable, Representative};

/// Identifies a run in reports: the exercise, its bounds and its bug variant.
#[derive(Clone, Debug)]
pub struct RunLabel {
    /// The exercise's registry name.
    pub exercise: String,
    /// The bound flags and their values.
    pub bounds: BTreeMap<String, u64>,
    /// The bug variant's name, if any.
    pub bug: Option<String>,
}

/// The property expectation's lowercase name.
pub fn expectation_name(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

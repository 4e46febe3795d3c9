//! A linearizability checker for recorded histories.
//!
//! A history is a set of [`Operation`]s, each with a process, an input, the time it was
//! called and, if it returned, the time it returned and its output. The history is
//! linearizable for a sequential specification (a [`Model`]) if every operation can be
//! given a single point in time between its call and its return, such that applying the
//! operations in that order to the model yields the observed outputs.
//!
//! The search is Wing & Gong's, with Lowe's memoization: operations are lifted out of a
//! linked list of call and return entries in every order real time allows, and a cache of
//! (set of linearized operations, model state) prunes every configuration seen before.
//! A model may partition a history into independent parts (a register per key), which are
//! then checked separately and in parallel; a history is linearizable if and only if every
//! part is (Herlihy & Wing's locality, used as P-compositionality by Horn & Kroening).
//!
//! # Semantics
//!
//! - Intervals are closed: an operation called at time 5 overlaps one that returned at 5.
//!   (If a clock reads 5 when one operation returns and another is called, their order is
//!   unknown, so they may have been concurrent.)
//! - An operation with no return ([`Operation::ret`] is `None`) is indeterminate: it may
//!   take effect at any point after its call, or never. This is Jepsen's `:info`.
//! - An output of `None` is unknown: the model is stepped without an observation.
//! - Operations that failed (Jepsen's `:fail`) did not happen and must not be passed in.
//!
//! ```
//! use linearizability::{check_operations, CheckOptions, CheckResult, Operation};
//! use linearizability::models::{Register, RegisterOp};
//!
//! // Process 0 writes 1 during [0, 10]; process 1 reads 1 during [5, 6], then reads 0
//! // during [7, 8]: once a read saw 1, the register cannot go back to 0.
//! let history = vec![
//!     Operation { process: 0, input: RegisterOp::Write(1), call: 0, ret: Some(10), output: Some(None) },
//!     Operation { process: 1, input: RegisterOp::Read, call: 5, ret: Some(6), output: Some(Some(1)) },
//!     Operation { process: 1, input: RegisterOp::Read, call: 7, ret: Some(8), output: Some(Some(0)) },
//! ];
//! let verdict = check_operations(&Register { init: 0 }, &history, &CheckOptions::default());
//! assert_eq!(verdict.result, CheckResult::Illegal);
//! ```
#![deny(missing_docs)]

mod check;
pub mod edn;
pub mod etcd;
pub mod events;
mod history;
pub mod kv;
mod model;
pub mod models;
pub mod visualize;

pub use check::{
    check_operations, Budget, CheckOptions, CheckResult, Failure, Gauge, Progress, Snapshot,
    Verdict,
};
pub use history::{excerpt, HistoryBuilder, Operation, ReadError, EXCERPT_CHARS};
pub use model::{History, Model, Whole};

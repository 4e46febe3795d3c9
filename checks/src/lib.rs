//! The `check` command's library.
//!
//! - [`engine`]: exploration with honest coverage, the shortest counterexample, replay,
//!   and the report. Generic over the model; it names no exercise.
//! - [`exercises`]: the registry, one row per exercise in a module of its own, with that
//!   exercise's modes beside it (`exercises/kv/{jepsen,bench}`, `exercises/msi/sim`).
//! - [`jepsen`]: the Jepsen layer every run of real code shares: history and report (the
//!   fault vocabulary and schedule are `impls::sim::faults`).
//! - [`lin`]: the command-line side of the linearizability checker (`check lin`,
//!   `check bench lin`) and its library entry point for recorded histories.
//! - [`args`] parses the command line into a [`args::Command`]; [`run`] carries it out to
//!   an [`engine::Outcome`], whose exit code `main` returns: 0 holds (or an expected
//!   finding), 1 fails, 3 unknown, 2 usage or input error. `check list` and `check all`
//!   (the gate) are private to it, as is the atomic writing of output files.
//!
//! - [`reserve`]: the binary's allocator, which lets a check that runs out of memory end
//!   with "unknown" instead of an abort.
//!
//! Only what the binary and the integration tests use is public.
#![deny(missing_docs)]

pub mod args;
pub mod engine;
pub mod exercises;
mod gate;
pub mod jepsen;
pub mod lin;
mod list;
pub mod output;
mod pending;
mod reaper;
pub mod reserve;
pub mod run;

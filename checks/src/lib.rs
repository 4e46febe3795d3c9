//! The `check` command's library: the exercise registry, the model-checking engine
//! (exploration, shortest counterexamples, replay), and the text and JSON reports.
//!
//! The binary in `main.rs` only parses arguments and maps the result to an exit code:
//! 0 everything holds, 1 a property failed (or a bug variant was missed), 2 usage or
//! input error.
#![deny(missing_docs)]

pub mod args;
pub mod bench;
pub mod bench_kv;
pub mod explore;
pub mod jepsen;
pub mod kv;
pub mod lin;
pub mod lin_models;
pub mod msi;
pub mod msi_sim;
pub mod pending;
pub mod raft;
pub mod registry;
pub mod report;
pub mod run;
pub mod shortest;
pub mod text;
pub mod trace;
pub mod twopc;

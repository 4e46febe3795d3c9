//! The Jepsen layer every exercise's runs of real code share: the recorded history of
//! invocations and completions ([`history`]), the workload rules every client follows
//! ([`workload`]), and the report of a run ([`report`]).
//!
//! A run is: a seeded fault schedule from [`impls::sim::faults`] (printed first, so it can
//! be replayed), concurrent closed-loop clients recording each operation as a Jepsen
//! process would (`invoke`, then `ok`, `fail` for a definite error, or `info` for an
//! indefinite one), final reads once the nemesis has healed everything, and a check of
//! the history by [`crate::lin`]'s library entry point. Real processes are partitioned in
//! network namespaces of their own and paused with SIGSTOP ([`netns`]). An exercise's module supplies the
//! cluster (simulated or real), its client, and the model the history is checked against;
//! `check kv --jepsen` is the first ([`crate::exercises::kv::jepsen`]).

pub mod history;
pub mod keyed;
pub mod netns;
pub mod processes;
pub mod report;
pub mod turmoil_faults;
pub mod workload;

//! Concrete implementations of the exercises: sans-IO protocol cores and the runtimes
//! that drive them over sockets, simulated networks and durable files.
//!
//! Each exercise is one module, named as it is everywhere else in the workspace
//! (`kv` here, `models::kv` for its model, `check kv` on the command line). Inside it,
//! `core/` is the protocol as a [`sansio::Core`]: it steps on inputs and returns effects in
//! order, with no I/O, no clock and no randomness, and a durable write before the sends
//! that depend on it. The model in `models/` and the runtime here both drive that core, so
//! the code that is model-checked is the code that runs. A core's bug switches carry their
//! names and summaries ([`sansio::BugSwitch`]), which the models and the `check` command
//! reuse.
//!
//! Two modules belong to no exercise:
//! - [`sansio`]: the core's shape and the durability-order rule as a check;
//! - [`sim`]: what every runtime and simulation shares: the seeded generator, the
//!   checksummed write-ahead log, the real and simulated network and storage, and the
//!   fault vocabulary (nemesis kinds, faults, schedules, lossy links).
#![deny(missing_docs)]

pub mod kv;
pub mod msi;
pub mod raft;
pub mod sansio;
pub mod sim;
pub mod twopc;
pub mod vclock;

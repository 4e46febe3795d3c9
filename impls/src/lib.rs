//! Concrete implementations of the exercises: sans-IO protocol cores and the runtimes
//! that drive them over sockets, simulated networks and durable files.
//!
//! Each exercise is one module, named as it is everywhere else in the workspace
//! (`kv` here, `models::kv` for its model, `check kv` on the command line).
#![deny(missing_docs)]

pub mod kv;
pub mod msi;
pub mod sansio;
pub mod sim;
pub mod twopc;

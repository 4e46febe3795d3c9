//! Raft (exercise 4): a replicated log.
//!
//! - [`core`]: the sans-IO Raft node of the paper's Figure 2, with PreVote, CheckQuorum and
//!   snapshots. `models::raft::messages` explores it message by message; the runtimes
//!   here run it.

pub mod core;
#[cfg(test)]
mod lab_tests;
pub mod sim;

/// A server's identity: its index in the cluster, `0..servers`.
pub type NodeId = u8;

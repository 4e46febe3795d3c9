//! Raft (exercise 4): a replicated log.
//!
//! - [`core`]: the sans-IO Raft node of the paper's Figure 2, with PreVote, CheckQuorum and
//!   snapshots. `models::raft::messages` explores it message by message; the runtimes
//!   here run it.
//! - [`node`]: `raft-node`, the core over TCP with its log in the shared checksummed WAL,
//!   its term and vote in a durable file, and its snapshot beside them.
//! - `paper_tests` (tests only): etcd-raft's `raft_paper_test.go` assertions, ported
//!   against the core, one test per test there.

pub mod core;
pub mod node;
#[cfg(test)]
mod paper_tests;

/// A server's identity: its index in the cluster, `0..servers`.
pub type NodeId = u8;

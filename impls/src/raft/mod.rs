//! Raft (exercise 4): a replicated log.
//!
//! - [`core`]: the sans-IO Raft node of the paper's Figure 2, with PreVote, CheckQuorum and
//!   snapshots. `models::raft::messages` explores it message by message; the runtimes
//!   here run it.
//! - [`node`]: `raft-node`, the core over TCP with its log in the shared checksummed WAL,
//!   its term and vote in a durable file, and its snapshot beside them.
//! - [`kv`]: `raft-kv`, a linearizable key-value service on the node: sessions for
//!   exactly-once writes, reads by ReadIndex or leases.
//! - [`sim`]: a deterministic simulated cluster of cores, with the seeded network, crash
//!   and partition vocabulary of [`crate::sim::faults`]; a crash may land between two
//!   effects of a step, so what was not yet persisted is lost.
//! - `lab_tests` (tests only): the MIT 6.5840 Raft lab's scenarios, written anew against
//!   the simulated cluster, each on a pinned seed and a loop of seeds.
//! - `paper_tests` (tests only): etcd-raft's `raft_paper_test.go` assertions, ported
//!   against the core, one test per test there.

pub mod core;
pub mod kv;
#[cfg(test)]
mod lab_tests;
pub mod node;
#[cfg(test)]
mod paper_tests;
pub mod sim;

/// A server's identity: its index in the cluster, `0..servers`.
pub type NodeId = u8;

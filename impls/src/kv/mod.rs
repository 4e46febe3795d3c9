//! Exercise 1: a quorum-replicated key-value store.

pub mod core;
pub mod ring;
pub mod wal;

/// A physical node of the cluster. Stable for the node's lifetime, across restarts.
pub type NodeId = u32;

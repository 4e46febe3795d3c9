//! A linearizability checker for recorded histories (Wing & Gong with Lowe's memoization,
//! partitioned after Horn & Kroening). The checker itself is built by issue 3; this crate
//! exists so that the workspace has its final shape and `checks` can depend on it.
#![deny(missing_docs)]

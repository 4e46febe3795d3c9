//! `raft-kv`: a linearizable key-value service on the Raft node.
//!
//! - [`machine`]: the replicated state machine, a map from strings to strings with get,
//!   put, delete and compare-and-set, and client sessions that apply a retried command
//!   once and answer it with the original reply (Ongaro's thesis §6.3);
//! - [`command`]: its request language (commands proposed to the log, queries served by
//!   reads, replies), one line of printable ASCII each;
//! - [`client`]: the client library, generic over the network, that follows
//!   `not-leader` hints and retries with the same session and sequence number;
//! - [`error`]: its errors, each definite (did not take effect) or indefinite (may have);
//! - [`cli`]: `raft-kv serve` and the client subcommands.
//!
//! # Reads
//!
//! Reads do not go through the log. A node asks its core for a read index
//! ([`Input::Read`](crate::raft::core::Input::Read)): by default (ReadIndex, thesis §6.4)
//! the leader confirms with a round of heartbeats that it still leads, and the read is
//! served from the local state machine once it has applied the index. With
//! `--read-mode lease` a leader whose lease is valid answers at once; the lease relies
//! on the nodes' clocks running at rates within `--max-clock-drift-percent` of each
//! other, which nothing checks: a clock that drifts further can serve a stale read.
//!
//! # Service
//!
//! The node runtime ([`crate::raft::node`]) is generic over the state machine; this
//! module plugs [`machine::KvMachine`] into it. On the node's client port, a write is
//! `propose <command>` and a read is `read <query>` (the protocol in the node's module
//! doc); the client library speaks it.

pub mod cli;
pub mod client;
pub mod command;
pub mod error;
pub mod machine;

pub use client::Client;
pub use command::{ClientId, Op};
pub use error::{Error, ErrorKind};
pub use machine::KvMachine;

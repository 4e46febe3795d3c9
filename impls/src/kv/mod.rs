//! Exercise 1: a quorum-replicated key-value store, Dynamo-style placement with ABD
//! reads and writes, durable on every replica.
//!
//! # A tour
//!
//! Every key lives on `RF` (3) nodes, chosen by a consistent-hash [`ring`] with virtual
//! nodes. Any node coordinates any request: it runs the sans-IO [`core`] (ABD: a put
//! reads the replicas' versions and writes a higher one; a get reads and writes the newest
//! value back to stale replicas before answering), sending to all replicas at once and
//! completing when `ONE`, a `QUORUM` or `ALL` of them have answered. A replica
//! acknowledges a write only once it is in its write-ahead log ([`crate::sim::wal`]) and fsynced, in
//! group commits. Keys and values are strings.
//!
//! Start three nodes and talk to them:
//!
//! ```text
//! kv-node --id 1 --peer 1=127.0.0.1:7001 --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003 --data d1
//! kv-node --id 2 --peer 1=127.0.0.1:7001 --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003 --data d2
//! kv-node --id 3 --peer 1=127.0.0.1:7001 --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003 --data d3
//! kv put greeting hello --consistency quorum --node 127.0.0.1:7002
//! kv get greeting --consistency all
//! kv admin fail 3 --node 127.0.0.1:7001      # node 3 is gone for good: restore RF
//! ```
//!
//! The same from Rust, on an in-process [`cluster`] (each node its own runtime and data
//! directory, as if it were a process):
//!
//! ```
//! use impls::kv::cluster::{Cluster, ClusterConfig};
//! use impls::kv::core::Consistency;
//! use impls::kv::ErrorCode;
//!
//! let mut cluster = Cluster::start(ClusterConfig::new(3))?;
//! let rt = tokio::runtime::Runtime::new()?;
//! rt.block_on(async {
//!     let mut client = cluster.client(1);
//!     client.put("greeting", "hello", Consistency::Quorum).await?;
//!     let mut other = cluster.client(2);
//!     assert_eq!(other.get("greeting", Consistency::Quorum).await?.as_deref(), Some("hello"));
//!     Ok::<_, impls::kv::KvError>(())
//! })?;
//!
//! // Two of three replicas down: a quorum cannot be reached, and once node 1's links to
//! // them have dropped the node says so at once, *definitely* (nothing was written). A put
//! // in the moment before (long under load) times out instead, which is indefinite; it
//! // goes to another key, so that it cannot touch "greeting".
//! cluster.kill(2);
//! cluster.kill(3);
//! rt.block_on(async {
//!     for attempt in 0.. {
//!         let err = cluster.client(1).put("other", "bye", Consistency::Quorum).await.unwrap_err();
//!         if err.code() == ErrorCode::TemporarilyUnavailable {
//!             assert!(err.definite());
//!             break;
//!         }
//!         assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
//!         assert!(attempt < 20, "{err}");
//!     }
//! });
//!
//! // Restarted nodes recover from their logs.
//! cluster.restart(2)?;
//! rt.block_on(async {
//!     let value = cluster.client(2).get("greeting", Consistency::Quorum).await?;
//!     assert_eq!(value.as_deref(), Some("hello"));
//!     Ok::<_, impls::kv::KvError>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a client can rely on
//!
//! - With `QUORUM` puts and gets, each key is linearizable (see [`core`] for why), as long
//!   as the membership does not change; with `ONE` it is not.
//! - A successful put is durable on `required` replicas; a crash of fewer than that many
//!   loses nothing acknowledged, and a get never returns a value a crash can take back.
//! - Every error says whether the request may have taken effect ([`KvError::definite`]).
//!   Errors follow Maelstrom's codes ([`ErrorCode`]).
//!
//! # Failures
//!
//! - A replica that does not acknowledge a write in time (or whose connection is down) is
//!   covered by *hinted handoff*: a fallback node keeps the write durably and hands it over
//!   when the replica is back. Hints never count towards a quorum (except with
//!   [`Bug::SloppyQuorum`](core::Bug::SloppyQuorum)).
//! - A node that is gone for good is removed with `kv admin fail N`; the surviving copies of
//!   its keys are copied to their new replicas, restoring RF. `kv admin join` and
//!   `kv admin leave` add and remove nodes the same way ([`membership`]).
//!
//! # Modules
//!
//! - [`core`]: the protocol, sans I/O; [`ring`]: placement; [`crate::sim::wal`]: the log.
//! - [`node`]: the node runtime; [`crate::sim::net`]: real and simulated network and storage;
//!   [`wire`]: the binary protocol; [`membership`]: who is in the cluster.
//! - [`client`], [`error`]: the client library; [`cli`]: the `kv` and `kv-node` commands.
//! - [`cluster`]: an in-process cluster for tests; [`bench`](mod@bench): the benchmark.
//!
//! Under turmoil the same node runs on [`TurmoilNet`](crate::sim::net::TurmoilNet) and
//! [`Storage::Simulated`](crate::sim::net::Storage::Simulated); see
//! `impls/tests/kv_sim.rs`.
//!
//! # Limits
//!
//! The log is never compacted. Membership changes are not consensus (see [`membership`]).
//! There is no authentication: anything that can connect can read, write and change the
//! membership. Node ids must be unique; nothing checks it.

pub mod bench;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod core;
pub mod error;
pub mod membership;
pub mod node;
pub mod ring;
pub mod siblings;
pub mod stats;
pub mod wire;

pub use client::Client;
pub use error::{ErrorCode, KvError};
pub use membership::Membership;
pub use node::{run, serve, NodeConfig};
pub use stats::Stats;

/// A physical node of the cluster. Stable for the node's lifetime, across restarts.
pub type NodeId = u32;

//! A deterministic simulated Raft cluster: N servers each running the sans-IO core
//! [`crate::raft::core::Node`], driven by a logical clock and one seed, with the tester API
//! of MIT 6.5840's Raft lab.
//!
//! - [`network`]: who reaches whom (6.5840's connect/disconnect, the nemesis's partitions),
//!   loss, duplication, delay and labrpc's long reordering, and per-kind message counts;
//! - [`machine`]: each server's state machine, the applied log, which serializes into the
//!   snapshots the servers compact to;
//! - [`checker`]: the tester's record of what every server applied, and its apply error;
//! - [`cluster`]: the servers, their storage (exactly what their `Persist` effects wrote),
//!   crashes that may land between two effects of a step, restarts from storage, and the
//!   6.5840 API: `start`, `one`, `check_one_leader`, `check_terms`, `n_committed`, ...
//!
//! Time is in ticks (10 simulated ms by default): nothing reads a wall clock, so a run
//! replays exactly from its [`SimConfig`], and a failure prints its seed. Faults speak the
//! workspace's shared vocabulary ([`crate::sim::faults`]): [`Cluster::apply_fault`] takes a
//! nemesis [`crate::sim::faults::Fault`], [`Cluster::run_schedule`] a whole schedule, and
//! [`LinkConfig::from_link_faults`] a [`crate::sim::faults::LinkFaults`].
//!
//! ```
//! use impls::raft::sim::{Cluster, SimConfig};
//! let mut c = Cluster::new(SimConfig::new(3, 42));
//! let leader = c.check_one_leader()?;
//! let index = c.one(&Cluster::command(7), 3, false)?;
//! assert_eq!(c.n_committed(index)?.0, 3);
//! # let _ = leader;
//! # Ok::<(), impls::raft::sim::Failure>(())
//! ```

pub mod checker;
pub mod cluster;
pub mod machine;
pub mod network;

pub use cluster::{CallId, Cluster, Failure, SimConfig, SimResult};
pub use network::{LinkConfig, MessageKind};

//! Exercise 7: two-phase commit, with a durable coordinator log, durable participant
//! records and presumed-abort recovery; the design `models::twopc::design` checks.
//!
//! # A tour
//!
//! A [`Cluster`](runtime::Cluster) runs a coordinator and participants (banks) as threads
//! of one process, each with its own directory and log, connected by an in-process network
//! that can lose, delay and reorder messages. [`Client::begin_transaction`] runs one
//! transaction:
//!
//! 1. the coordinator sends Prepare, with each participant's operations;
//! 2. each participant locks the keys, checks the operations (no account may go negative),
//!    fsyncs a Prepared record and votes yes, or votes no (it may abort alone until it has
//!    voted yes, never after);
//! 3. once every vote is yes, the coordinator appends a Commit record and **fsyncs it
//!    before** sending Commit; a no vote or the vote timeout decides Abort, which is not
//!    fsynced (presumed abort);
//! 4. each participant fsyncs the decision, applies it, releases its locks and
//!    acknowledges; the coordinator resends the decision until all have, and then answers
//!    the client.
//!
//! Recovery: a restarted coordinator resends Commit for every Commit record without an
//! End record and presumes everything else aborted; a restarted participant replays its
//! log, takes the locks of every prepared transaction without a decision again and asks
//! the coordinator until it learns the outcome.
//!
//! ```
//! use impls::twopc::bank::{self, Transaction};
//! use impls::twopc::runtime::{Cluster, ClusterConfig};
//! use impls::twopc::faults::FaultPlan;
//! use impls::twopc::Decision;
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir()?;
//! let config = ClusterConfig::new(dir.path(), bank::three_banks());
//! let cluster = Cluster::start(config, Arc::new(FaultPlan::none()))?;
//! let client = cluster.client();
//! // 100 from alice at bank-a to carol at bank-c.
//! let t = Transaction::transfer(1, (0, "alice"), (2, "carol"), 100);
//! assert_eq!(client.begin_transaction(t.tx, t.ops()), Ok(Decision::Commit));
//! // Nobody at bank-b has 5000: bank-b votes no and nothing happens anywhere.
//! let t = Transaction::transfer(2, (1, "bob"), (0, "alice"), 5000);
//! assert_eq!(client.begin_transaction(t.tx, t.ops()), Ok(Decision::Abort));
//! cluster.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Modules
//!
//! - [`core`]: the sans-IO state machines of the coordinator and the participant;
//! - [`messages`] and [`records`]: what goes over the network and into the logs (the
//!   logs are [`crate::sim::wal`] files, checksummed and torn-tail safe);
//! - [`runtime`] and [`net`]: threads, channels, the lossy network, restarts;
//! - [`faults`]: named crash points and plans that crash nodes at them;
//! - [`bank`]: the bank-transfer workload and the checker of its invariants;
//! - [`scenario`]: one checked run of a workload, as the tests and the demo do it.

pub mod bank;
pub mod core;
pub mod faults;
pub mod messages;
pub mod net;
pub mod records;
pub mod runtime;
pub mod scenario;

pub use messages::{Decision, Msg, Op};
pub use runtime::{Client, TxError};

use std::fmt;

/// Identifies a transaction. Chosen by the client, and never reused: the coordinator
/// rejects an id it has seen (see [`core::BeginError::DuplicateTx`]).
pub type TxId = u64;

/// A participant's index, `0..participants`.
pub type ParticipantId = usize;

/// A node of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    /// The coordinator.
    Coordinator,
    /// A participant.
    Participant(ParticipantId),
}

impl NodeId {
    /// The node's directory name and display name: `coordinator`, or `bank-a`, `bank-b`, ...
    /// for participants 0, 1, ...
    pub fn name(self) -> String {
        match self {
            NodeId::Coordinator => "coordinator".to_string(),
            NodeId::Participant(p) if p < 26 => format!("bank-{}", (b'a' + p as u8) as char),
            NodeId::Participant(p) => format!("bank-{p}"),
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

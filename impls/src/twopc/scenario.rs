//! One complete run of a bank workload on a fresh or existing cluster, checked: start the
//! cluster, run the transactions from some client threads (crashes and lost messages as
//! configured), let recovery finish, restart every node from its log, and audit.
//!
//! The crash tests, the randomized tests and the demo all run through [`run`], so they
//! check the same invariants the same way.

use super::bank::{self, Audit, Transaction};
use super::faults::{CrashPoint, FaultPlan};
use super::messages::Decision;
use super::net::NetStats;
use super::runtime::{Cluster, ClusterConfig, TxError};
use super::{NodeId, TxId};
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run did and what the audit found.
#[derive(Clone, Debug)]
pub struct Report {
    /// What `begin_transaction` returned for each transaction.
    pub outcomes: BTreeMap<TxId, Result<Decision, TxError>>,
    /// The audit of the cluster's state after recovery, before and after the final
    /// restart of every node; its violations say which of the two they were found in.
    pub audit: Audit,
    /// Every crash point passed, in order.
    pub passed: Vec<CrashPoint>,
    /// Where crashes were injected.
    pub crashed: Vec<CrashPoint>,
    /// What the network did.
    pub net: NetStats,
    /// Bytes of torn log tails discarded at restarts, over all nodes.
    pub torn_bytes: u64,
    /// The balances after the run, per participant.
    pub balances: Vec<BTreeMap<String, i64>>,
}

/// Runs `txs` on a cluster configured by `config`, crashing as `plan` says, from `clients`
/// concurrent client threads (transaction `i` goes to client `i % clients`, each client in
/// order). Waits at most `settle` for the cluster to become quiescent, twice: after the
/// workload, and after restarting every node from its log at the end. `progress` is called
/// with each outcome as it arrives.
pub fn run(
    config: ClusterConfig,
    plan: Arc<FaultPlan>,
    txs: &[Transaction],
    clients: usize,
    settle: Duration,
    progress: &(dyn Fn(&Transaction, &Result<Decision, TxError>) + Sync),
) -> io::Result<Report> {
    let initial = config.banks.clone();
    let cluster = Cluster::start(config, plan.clone())?;
    let clients = clients.max(1);
    let outcomes: BTreeMap<TxId, Result<Decision, TxError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let client = cluster.client();
                let cluster = &cluster;
                s.spawn(move || {
                    let mut outcomes = Vec::new();
                    for t in txs.iter().skip(c).step_by(clients) {
                        let outcome = begin(cluster, &client, t, settle);
                        progress(t, &outcome);
                        outcomes.push((t.tx, outcome));
                    }
                    outcomes
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let mut violations = Vec::new();
    let before_restart = match cluster.wait_quiescent(settle) {
        Ok(s) | Err(s) => s,
    };
    let first = bank::audit(&initial, txs, &outcomes, &before_restart);
    violations.extend(
        first
            .violations
            .iter()
            .map(|v| format!("after recovery: {v}")),
    );
    // Everything volatile is forgotten: what is left is what the logs say.
    let after_restart = match cluster.restart_all() {
        Ok(()) => match cluster.wait_quiescent(settle) {
            Ok(s) | Err(s) => Some(s),
        },
        Err(e) => {
            violations.push(format!("restarting every node failed: {e}"));
            None
        }
    };
    let audit = match &after_restart {
        Some(s) => {
            let second = bank::audit(&initial, txs, &outcomes, s);
            violations.extend(
                second
                    .violations
                    .iter()
                    .map(|v| format!("after restarting every node: {v}")),
            );
            Audit {
                violations,
                ..second
            }
        }
        None => Audit {
            violations,
            ..first
        },
    };
    let snapshot = after_restart.unwrap_or(before_restart);
    let torn_bytes = cluster
        .nodes()
        .into_iter()
        .flat_map(|n| cluster.recoveries(n))
        .map(|r| r.torn_bytes)
        .sum();
    let net = cluster.net_stats();
    cluster.shutdown();
    Ok(Report {
        outcomes,
        audit,
        passed: plan.passed(),
        crashed: plan.crashed(),
        net,
        torn_bytes,
        balances: snapshot
            .participants
            .into_iter()
            .map(|p| p.map(|p| p.balances).unwrap_or_default())
            .collect(),
    })
}

/// Begins `t`, retrying while the coordinator is down (nothing was started then, so the
/// same id is safe to use again) for at most `patience`.
fn begin(
    cluster: &Cluster,
    client: &super::Client,
    t: &Transaction,
    patience: Duration,
) -> Result<Decision, TxError> {
    let deadline = Instant::now() + patience;
    loop {
        match client.begin_transaction(t.tx, t.ops()) {
            Err(TxError::CoordinatorDown) if Instant::now() < deadline => {
                cluster.wait_up(NodeId::Coordinator, Duration::from_millis(50));
            }
            outcome => return outcome,
        }
    }
}

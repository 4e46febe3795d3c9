//! Repairing a node that rejoined with an empty store (`--rejoin-empty`), before it counts
//! towards any read quorum again.
//!
//! # Why a repairing node answers no reads
//!
//! ABD's reads are correct because every read quorum meets every write quorum in a
//! replica that still holds the write (or a newer one). A replica that lost its log
//! breaks that for every write it acknowledged: if it answered reads, a QUORUM get
//! reading it and a replica the put never reached would return "not found" for an
//! acknowledged put. So while repairing, a node answers every read with
//! [`PeerFrame::NotReady`], which coordinators treat as no answer, and its own
//! coordinator does not count its own replica. It still stores and acknowledges writes:
//! an acknowledgement only promises that this write is durable here from now on, and that
//! stays true. It coordinates gets (through its peers) but no puts, because its
//! incarnation may not be final until the repair ends (below).
//!
//! # The repair
//!
//! The node asks every other member for its copy of every key the two replicate
//! ([`PeerFrame::RepairRequest`]); each answers with its values and a
//! [`PeerFrame::RepairDone`]. The node stores each value (keeping the highest version, as
//! always) and, once *every* other member has answered completely and what they sent is
//! durable, it writes its identity as ready and counts again. Every other member is
//! needed, not a quorum of them: a write the node acknowledged before it lost its log may
//! be held by just one other replica (the rest of its write quorum).
//!
//! The first request waits one request timeout after the node started. A put that the
//! node acknowledged before it lost its log began before the node restarted, so by then
//! it has finished or been abandoned at its coordinator, and every acknowledgement that
//! counted for it is in the store of the replica that sent it, where the repair reads it.
//! This assumes every node runs with the same `--timeout-ms`.
//!
//! Members that do not answer are asked again every request timeout. A member that is
//! repairing itself answers "incomplete", which does not count. So the repair waits
//! until every member is up and complete: if two replicas of a key lost their logs, their
//! repairs wait for each other until an operator removes one (`kv admin fail`), because
//! the writes they both acknowledged may be gone for good.
//!
//! # The incarnation
//!
//! A node whose identity file was lost as well does not know its last incarnation. Each
//! peer reports the highest incarnation among the versions it holds that this node
//! issued, and the node takes one above all of them (and above the one it started with)
//! before it coordinates a put: so no version is issued twice, even then.

use super::identity::DirState;
use super::state::State;
use super::{update_identity, Shared};
use crate::kv::wire::{self, PeerFrame};
use crate::kv::NodeId;
use crate::sim::net::Net;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// A repair in progress.
#[derive(Debug)]
pub(crate) struct Repair {
    /// The incarnation the node started with (already durable).
    incarnation: u32,
    /// Members that answered completely, with the highest incarnation of this node's
    /// versions they hold.
    answered: BTreeMap<NodeId, u32>,
    /// Members that said they are repairing too (logged once each).
    incomplete: BTreeSet<NodeId>,
}

impl State {
    /// Starts in the repairing state, with `incarnation` already durable.
    pub(crate) fn begin_repair(&mut self, incarnation: u32) {
        self.repair = Some(Repair {
            incarnation,
            answered: BTreeMap::new(),
            incomplete: BTreeSet::new(),
        });
        self.stats.repairing = 1;
    }

    /// Whether the node is being repaired: it answers no reads and coordinates no puts.
    pub(crate) fn is_repairing(&self) -> bool {
        self.repair.is_some()
    }

    /// Asks every member that has not answered yet. Once all have, returns the node's
    /// final incarnation and the log sequence number that must be durable before the
    /// node may count again.
    fn repair_round(&mut self) -> Option<(u32, u64)> {
        let repair = self.repair.as_ref()?;
        let missing: Vec<NodeId> = self
            .membership
            .members
            .keys()
            .copied()
            .filter(|&m| m != self.id && !repair.answered.contains_key(&m))
            .collect();
        if missing.is_empty() {
            let learned = repair.answered.values().max().map_or(0, |&i| i + 1);
            return Some((repair.incarnation.max(learned), self.commit.last_lsn()));
        }
        for m in missing {
            if let Some(l) = self.links.get(&m) {
                l.out
                    .push(|b| wire::encode_peer(b, &PeerFrame::RepairRequest));
            }
        }
        None
    }

    /// Ends the repair: the node counts again, with `incarnation` (already durable).
    fn finish_repair(&mut self, incarnation: u32) {
        self.repair = None;
        self.coord.set_incarnation(incarnation);
        self.stats.incarnation = incarnation;
        self.stats.repairing = 0;
        self.log(format_args!(
            "repaired from every peer ({} keys held): ready, incarnation {incarnation}",
            self.replica.values().count()
        ));
    }

    /// Answers a repairing peer's request: every value of a key it replicates (in this
    /// node's ring), then the end marker, unless this node is repairing itself.
    pub(crate) fn on_repair_request(&mut self, from: NodeId) {
        let Some(link) = self.links.get(&from).cloned() else {
            return;
        };
        if self.is_repairing() {
            link.out.push(|b| {
                wire::encode_peer(
                    b,
                    &PeerFrame::RepairDone {
                        complete: false,
                        max_incarnation: 0,
                    },
                )
            });
            return;
        }
        let rf = self.rf();
        let mut max_incarnation = 0;
        let mut queued = true;
        for (key, value) in self.replica.values() {
            if value.version.node == from {
                max_incarnation = max_incarnation.max(value.version.incarnation);
            }
            if queued && self.ring.replicas(key.as_bytes(), rf).contains(&from) {
                queued = link.out.push(|b| wire::encode_repair_value(b, key, value));
            }
        }
        for replica in self.replica.hinted_replicas() {
            for (_, value) in self.replica.hints_of(replica) {
                if value.version.node == from {
                    max_incarnation = max_incarnation.max(value.version.incarnation);
                }
            }
        }
        // A value that could not be queued (the link went down or its queue is full) means
        // the answer is incomplete: no end marker, and the peer asks again.
        if queued {
            link.out.push(|b| {
                wire::encode_peer(
                    b,
                    &PeerFrame::RepairDone {
                        complete: true,
                        max_incarnation,
                    },
                )
            });
        }
    }

    /// Takes a peer's end marker.
    pub(crate) fn on_repair_done(&mut self, from: NodeId, complete: bool, max_incarnation: u32) {
        let Some(repair) = self.repair.as_mut() else {
            return;
        };
        if complete {
            repair.answered.insert(from, max_incarnation);
        } else if repair.incomplete.insert(from) {
            self.log(format_args!(
                "n{from} is repairing too, so its store does not count; waiting for it"
            ));
        }
    }
}

/// How often unanswered members are asked again, at least.
const RETRY_MIN: Duration = Duration::from_millis(100);

/// Drives the repair to its end: waits a request timeout (see the module docs), asks the
/// members, and once all have answered and their values are durable, writes the identity
/// as ready with the final incarnation, then lets the node count.
pub(crate) async fn run<N: Net>(shared: Arc<Shared<N>>) {
    let wait = shared.config.request_timeout;
    tokio::time::sleep(wait).await;
    let (incarnation, lsn) = loop {
        if let Some(done) = shared.with_state(|st| st.repair_round()) {
            break done;
        }
        tokio::time::sleep(wait.max(RETRY_MIN)).await;
    };
    while shared.lock().durable_lsn < lsn {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = update_identity(&shared, |i| {
        i.incarnation = incarnation;
        i.state = DirState::Ready;
    });
    match ready.await {
        Ok(()) => shared.with_state(|st| st.finish_repair(incarnation)),
        Err(e) => shared.fail(e),
    }
}

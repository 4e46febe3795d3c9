//! Membership changes, re-replication and hint delivery: the parts of a node's state that
//! move data between nodes in the background.
//!
//! # Re-replication
//!
//! When a node adopts a new membership it compares, for every key it holds, the key's
//! replicas under the old and the new ring. Each new replica that was not a replica
//! before is sent this node's copy, as a hint kept for it: hints are durable, retried until
//! acknowledged, and delivered by the same machinery as hinted handoff. Every surviving
//! holder of a key sends its copy and the receiver keeps the highest version, so a key
//! written at QUORUM reaches its new replica with its newest acknowledged value as long
//! as one holder of that value survives. Hints held for a node that left are redirected
//! to the key's current replicas.

use super::outbox::Outbox;
use super::record;
use super::state::{Link, State};
use crate::kv::core::ReplicaInput;
use crate::kv::error::{ErrorCode, KvError};
use crate::kv::membership::Membership;
use crate::kv::ring::Ring;
use crate::kv::wire::{self, Admin, PeerFrame, Response};
use crate::kv::NodeId;
use crate::sansio::Core;
use std::sync::Arc;

/// Hints sent to one replica per delivery round: enough to drain a large backlog quickly,
/// few enough that one round does not monopolise the link.
const HINTS_PER_ROUND: usize = 4096;

impl State {
    /// Adopts `m` if it supersedes the current membership: logs it, re-creates links,
    /// passes it on to every peer, and re-replicates. Returns whether it was adopted.
    pub(crate) fn adopt(&mut self, m: Membership) -> bool {
        if !m.supersedes(&self.membership) {
            return false;
        }
        self.log(format_args!("membership {} -> {m}", self.membership));
        self.commit.append(|b| record::membership(b, &m), None);
        let new_ring = m.ring(self.vnodes());
        let old_ring = std::mem::replace(&mut self.ring, new_ring);
        self.membership = m;
        self.stats.epoch = self.membership.epoch;
        self.update_links();
        self.rereplicate(&old_ring);
        true
    }

    /// The initial links, one per member other than this node.
    pub(crate) fn create_links(&mut self) {
        self.update_links();
    }

    /// Makes the links match the membership, and sends the membership over each of them.
    fn update_links(&mut self) {
        let me = self.id;
        let members = self.membership.members.clone();
        // Links to nodes that left: tell them (if connected), then close.
        let gone: Vec<NodeId> = self
            .links
            .keys()
            .copied()
            .filter(|id| !members.contains_key(id))
            .collect();
        for id in gone {
            let link = self.links.remove(&id).expect("listed above");
            self.send_membership(&link.out);
            link.out.close();
        }
        for (&id, addr) in &members {
            if id == me {
                continue;
            }
            if let Some(link) = self.links.get(&id) {
                if &link.addr == addr {
                    self.send_membership(&link.out);
                    continue;
                }
                link.out.close();
            }
            let link = Arc::new(Link {
                peer: id,
                addr: addr.clone(),
                out: Outbox::new_down(),
            });
            // A new link sends the membership when it connects.
            self.links.insert(id, Arc::clone(&link));
            self.new_links.push(link);
        }
    }

    fn send_membership(&self, out: &Outbox) {
        let frame = PeerFrame::Membership(self.membership.clone());
        out.push(|b| wire::encode_peer(b, &frame));
    }

    /// Sends the membership to every connected peer, so that a change lost to a partition
    /// still spreads once the partition heals.
    pub(crate) fn gossip(&self) {
        for link in self.links.values() {
            self.send_membership(&link.out);
        }
    }

    /// Copies keys to their new replicas after the ring changed from `old_ring`.
    fn rereplicate(&mut self, old_ring: &Ring) {
        let me = self.id;
        let rf = self.rf();
        if self.ring.is_empty() {
            return;
        }
        let mut copies = Vec::new();
        for (key, value) in self.replica.values() {
            let new = self.ring.replicas(key.as_bytes(), rf);
            let old = old_ring.replicas(key.as_bytes(), rf);
            for r in new {
                if r != me && !old.contains(&r) {
                    copies.push((r, key.clone(), value.clone()));
                }
            }
        }
        let transfers = copies.len();
        for (r, key, value) in copies {
            self.stats.transfers += 1;
            self.store(key, value, Some(r), None);
        }
        let redirected = self.redirect_orphan_hints();
        if transfers + redirected > 0 {
            self.log(format_args!(
                "re-replication: {transfers} copies queued for new replicas, {redirected} hints redirected"
            ));
        }
    }

    /// Redirects hints held for nodes that are no longer members to the keys' current
    /// replicas (storing locally where this node is one). Returns how many were redirected.
    /// Does nothing while this node knows no members (a joining node), so hints are never
    /// dropped for want of a target.
    pub(crate) fn redirect_orphan_hints(&mut self) -> usize {
        if self.ring.is_empty() {
            return 0;
        }
        let me = self.id;
        let rf = self.rf();
        let orphans: Vec<NodeId> = self
            .replica
            .hinted_replicas()
            .into_iter()
            .filter(|r| !self.membership.contains(*r))
            .collect();
        let mut moved = Vec::new();
        for r in orphans {
            for (key, value) in self.replica.hints_of(r) {
                moved.push((r, key.clone(), value.clone()));
            }
        }
        let count = moved.len();
        for (orphan, key, value) in moved {
            let version = value.version;
            for target in self.ring.replicas(key.as_bytes(), rf) {
                let hint_for = (target != me).then_some(target);
                if hint_for.is_some() {
                    self.stats.transfers += 1;
                }
                self.store(key.clone(), value.clone(), hint_for, None);
            }
            let effects = self.replica.step(ReplicaInput::HintDelivered {
                replica: orphan,
                key: key.clone(),
                version,
            });
            self.replica_effects(&key, effects, None);
        }
        count
    }

    /// One round of hint delivery: sends every connected replica the hints held for it
    /// (up to a limit). Each is dropped when its acknowledgement arrives; unacknowledged
    /// ones are sent again next round.
    pub(crate) fn deliver_hints(&mut self) {
        self.redirect_orphan_hints();
        for r in self.replica.hinted_replicas() {
            let Some(link) = self.links.get(&r) else {
                continue;
            };
            if !link.out.is_up() {
                continue;
            }
            for (key, value) in self.replica.hints_of(r).take(HINTS_PER_ROUND) {
                let frame = PeerFrame::HintWrite {
                    key: key.clone(),
                    value: value.clone(),
                };
                if !link.out.push(|b| wire::encode_peer(b, &frame)) {
                    break;
                }
            }
        }
    }

    /// Carries out an operator's membership change and answers with the new membership.
    pub(crate) fn admin(&mut self, admin: Admin) -> Response {
        let next = match admin {
            Admin::AddNode { node, addr } => {
                if addr.is_empty() {
                    return Response::Error(KvError::malformed(format!(
                        "node n{node} needs an address to join"
                    )));
                }
                if self.membership.members.get(&node) == Some(&addr) {
                    return Response::Members(self.membership.clone());
                }
                self.log(format_args!("admin: adding n{node} at {addr}"));
                self.membership.with_node(self.id, node, addr)
            }
            Admin::RemoveNode { node } => {
                if !self.membership.contains(node) {
                    return Response::Error(KvError::new(
                        ErrorCode::NodeNotFound,
                        format!(
                            "n{node} is not a member of the cluster ({})",
                            self.membership
                        ),
                        true,
                    ));
                }
                // Below RF members, a key cannot have RF replicas: ALL and (for RF 3 on
                // two nodes) QUORUM could never be reached again. Refused here, on the
                // node that makes the change, so no client can skip it.
                let remaining = self.membership.members.len() - 1;
                if remaining < self.rf() {
                    return Response::Error(KvError::new(
                        ErrorCode::NotSupported,
                        format!(
                            "removing n{node} would leave {remaining} members, fewer than the \
                             replication factor {rf}; join a replacement first (kv admin join), \
                             then remove n{node}",
                            rf = self.rf()
                        ),
                        true,
                    ));
                }
                self.log(format_args!("admin: removing n{node}"));
                self.membership.without_node(self.id, node)
            }
        };
        let adopted = self.adopt(next);
        debug_assert!(
            adopted,
            "a change made here supersedes the membership it was made from"
        );
        Response::Members(self.membership.clone())
    }
}

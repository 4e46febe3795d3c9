//! Cluster membership: which nodes own a share of the ring, and where they listen.
//!
//! Membership changes are operator actions ([`crate::kv::wire::Admin`]). The node that
//! receives one builds the next membership, with a higher epoch and itself as origin,
//! adopts it, logs it, and sends it to every node of the old and the new membership. Nodes
//! also exchange their membership whenever a peer connection opens and every few hint
//! rounds, so a node that was down or partitioned when a change was made catches up as soon
//! as it can talk to any member. A node adopts a membership only if it
//! [supersedes](Membership::supersedes) its own, so every node converges on the same one.
//!
//! Limits: this is not consensus. Two changes made concurrently on different nodes both
//! get the next epoch, and the one whose origin has the higher id wins; the other is
//! silently lost (an operator makes one change at a time, and can read the result back
//! with `kv admin members`). While a change spreads, nodes briefly disagree about replica
//! sets, and quorum intersection (hence linearizability) is not guaranteed for keys whose
//! replicas moved until re-replication has finished, as in Dynamo and Cassandra.

use super::ring::Ring;
use super::NodeId;
use std::collections::BTreeMap;

/// One version of the cluster's membership.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Membership {
    /// Incremented by every change; the configured membership has epoch 0.
    pub epoch: u64,
    /// The node that made the change (0 for the configured membership). Breaks ties
    /// between concurrent changes with the same epoch.
    pub origin: NodeId,
    /// Every member and the address its peers and clients connect to.
    pub members: BTreeMap<NodeId, String>,
}

impl Membership {
    /// The membership a node is configured with: epoch 0, no origin.
    pub fn initial(members: BTreeMap<NodeId, String>) -> Membership {
        Membership {
            epoch: 0,
            origin: 0,
            members,
        }
    }

    /// Whether this membership replaces `other`: a higher `(epoch, origin)`.
    pub fn supersedes(&self, other: &Membership) -> bool {
        (self.epoch, self.origin) > (other.epoch, other.origin)
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: NodeId) -> bool {
        self.members.contains_key(&node)
    }

    /// The ring over the members.
    pub fn ring(&self, vnodes: usize) -> Ring {
        Ring::with_nodes(vnodes, self.members.keys().copied())
    }

    /// The next membership, made by `origin`, with `node` at `addr` added (or its address
    /// changed).
    pub fn with_node(&self, origin: NodeId, node: NodeId, addr: String) -> Membership {
        let mut members = self.members.clone();
        members.insert(node, addr);
        Membership {
            epoch: self.epoch + 1,
            origin,
            members,
        }
    }

    /// The next membership, made by `origin`, without `node`.
    pub fn without_node(&self, origin: NodeId, node: NodeId) -> Membership {
        let mut members = self.members.clone();
        members.remove(&node);
        Membership {
            epoch: self.epoch + 1,
            origin,
            members,
        }
    }
}

impl Membership {
    /// Who made this membership, in words: the initial one comes from the nodes' command
    /// lines, not from a node (its origin, 0, names none).
    pub fn made_by(&self) -> String {
        if self.epoch == 0 {
            "initial, from the command line".to_string()
        } else {
            format!("by n{}", self.origin)
        }
    }
}

impl std::fmt::Display for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "epoch {} ({}):", self.epoch, self.made_by())?;
        for (id, addr) in &self.members {
            write!(f, " n{id}={addr}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 14): the initial membership said "epoch 0 (by n0)", naming a node
    /// that does not exist.
    #[test]
    fn the_initial_membership_names_no_node() {
        let base = Membership::initial(BTreeMap::from([(1, "a".into())]));
        assert_eq!(
            base.to_string(),
            "epoch 0 (initial, from the command line): n1=a"
        );
        assert_eq!(base.with_node(1, 2, "b".into()).made_by(), "by n1");
    }

    #[test]
    fn a_change_supersedes_its_base_and_ties_go_to_the_higher_origin() {
        let base = Membership::initial(BTreeMap::from([(1, "a".into()), (2, "b".into())]));
        let by1 = base.without_node(1, 2);
        let by2 = base.with_node(2, 3, "c".into());
        assert!(by1.supersedes(&base) && by2.supersedes(&base));
        assert!(by2.supersedes(&by1) && !by1.supersedes(&by2));
        assert!(!base.supersedes(&base));
    }
}

//! Symmetry: servers are interchangeable, so a state and any renaming of its servers have
//! the same future up to that renaming, and every property gives both the same verdict.
//!
//! A node is not `Ord` (its fields are private), so the representative is the renaming
//! whose fingerprint is least. That is canonical: the renamings of any member of a class
//! are the renamings of every other member, so all of them pick the same one (two
//! different renamings with one fingerprint would be a collision of the kind the checker
//! already assumes away when it identifies states by fingerprint).

use super::{Broken, Envelope, RaftMsgState, Server};
use impls::raft::NodeId;
use std::hash::{DefaultHasher, Hash, Hasher};

impl RaftMsgState {
    /// This state with server `i` renamed to `perm[i]` everywhere it appears: the nodes
    /// (with [`impls::raft::core::Node::renamed`]), their durable votes, the messages'
    /// ends and the history variables.
    pub fn renamed(&self, perm: &[NodeId]) -> RaftMsgState {
        let p = |id: NodeId| perm[id as usize];
        let mut servers = vec![None; self.servers.len()];
        for (id, srv) in self.servers.iter().enumerate() {
            let mut durable = srv.durable.clone();
            durable.voted_for = durable.voted_for.map(p);
            servers[perm[id] as usize] = Some(Server {
                node: srv.node.renamed(perm),
                durable,
                applied: srv.applied.clone(),
            });
        }
        let b = &self.broken;
        RaftMsgState {
            servers: servers
                .into_iter()
                .map(|srv| srv.expect("a permutation fills every place"))
                .collect(),
            network: self
                .network
                .iter()
                .map(|e| Envelope {
                    from: p(e.from),
                    to: p(e.to),
                    message: e.message.clone(),
                })
                .collect(),
            leaders: self.leaders.iter().map(|&(t, id)| (t, p(id))).collect(),
            restarted_commit: self
                .restarted_commit
                .iter()
                .map(|(&id, &k)| (p(id), k))
                .collect(),
            broken: Broken {
                commit_decreased: b.commit_decreased.map(|(i, x, y)| (p(i), x, y)),
                match_decreased: b
                    .match_decreased
                    .map(|(i, j, t, x, y)| (p(i), p(j), t, x, y)),
                commit_by_counting: b.commit_by_counting.map(|(i, t, k, e)| (p(i), t, k, e)),
                leader_log_rewritten: b.leader_log_rewritten.map(|(i, t, k)| (p(i), t, k)),
                send_before_persist: b.send_before_persist.map(|(i, x, y)| (p(i), x, y)),
                apply_out_of_order: b.apply_out_of_order.map(|(i, x, y)| (p(i), x, y)),
            },
            proposed: self.proposed,
            timeouts: self.timeouts,
            heartbeats: self.heartbeats,
            crashes: self.crashes,
            drops: self.drops,
            duplicates: self.duplicates,
            compactions: self.compactions,
            events: self.events,
            committed: self.committed.clone(),
            overwritten: self.overwritten,
            snapshot_installed: self.snapshot_installed,
        }
    }

    /// The canonical member of this state's symmetry class.
    ///
    /// Servers are first ordered by a fingerprint of everything about them that names no
    /// server ([`RaftMsgState::server_key`]); only the renamings that put them in that
    /// order are built, and the one with the least fingerprint is chosen. Most states
    /// have no ties, and cost one renaming instead of `n!`.
    pub fn representative(&self) -> RaftMsgState {
        let keys: Vec<u64> = (0..self.servers.len())
            .map(|i| self.server_key(i as NodeId))
            .collect();
        let mut best: Option<(u64, RaftMsgState)> = None;
        for perm in permutations(self.servers.len()) {
            // perm[i] is where server i goes: it must be sorted by key.
            let sorted = (0..keys.len())
                .all(|i| (0..keys.len()).all(|j| perm[i] >= perm[j] || keys[i] <= keys[j]));
            if !sorted {
                continue;
            }
            let candidate = self.renamed(perm);
            let key = fingerprint(&candidate);
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, candidate));
            }
        }
        best.map(|(_, s)| s).expect("the sorting renaming")
    }

    /// A fingerprint of server `i` that no renaming changes: its node's state with every
    /// server id replaced by whether it is `i`, its durable state, its state machine and
    /// the messages it sends and receives.
    pub(crate) fn server_key(&self, i: NodeId) -> u64 {
        let srv = &self.servers[i as usize];
        let n = &srv.node;
        let mut h = DefaultHasher::new();
        let me = |v: Option<NodeId>| v.map(|v| v == i);
        (n.role(), n.term(), me(n.voted_for()), me(n.leader())).hash(&mut h);
        (n.commit_index(), n.applied_index(), n.snapshot()).hash(&mut h);
        for k in n.first_index()..=n.last_index() {
            n.entry(k).hash(&mut h);
        }
        let mut matched: Vec<Option<u64>> = (0..self.servers.len() as NodeId)
            .filter(|&j| j != i)
            .map(|j| n.match_index(j))
            .collect();
        matched.sort_unstable();
        matched.hash(&mut h);
        let d = &srv.durable;
        (
            d.term,
            me(d.voted_for),
            &d.snapshot,
            &d.entries,
            &srv.applied,
        )
            .hash(&mut h);
        let mut flight: Vec<(bool, &impls::raft::core::Message)> = self
            .network
            .iter()
            .filter(|e| e.from == i || e.to == i)
            .map(|e| (e.from == i, &e.message))
            .collect();
        flight.sort_unstable();
        flight.hash(&mut h);
        h.finish()
    }
}

/// A hash that is the same in every process and run (SipHash with fixed keys).
fn fingerprint(s: &RaftMsgState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl stateright::Representative for RaftMsgState {
    fn representative(&self) -> Self {
        RaftMsgState::representative(self)
    }
}

/// Every permutation of `0..n`, in lexicographic order.
pub(super) fn permutations(n: usize) -> &'static [Vec<NodeId>] {
    crate::raft::symmetry::server_permutations(n)
}

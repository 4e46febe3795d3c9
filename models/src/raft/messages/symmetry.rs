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
        let mut servers = self.servers.clone();
        for (id, srv) in self.servers.iter().enumerate() {
            let mut durable = srv.durable.clone();
            durable.voted_for = durable.voted_for.map(p);
            servers[perm[id] as usize] = Server {
                node: srv.node.renamed(perm),
                durable,
                applied: srv.applied.clone(),
            };
        }
        let b = &self.broken;
        RaftMsgState {
            servers,
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
            ..self.clone()
        }
    }

    /// The canonical member of this state's symmetry class: the renaming with the least
    /// fingerprint.
    pub fn representative(&self) -> RaftMsgState {
        let n = self.servers.len();
        let mut best: Option<(u64, RaftMsgState)> = None;
        for perm in permutations(n) {
            let candidate = self.renamed(&perm);
            let key = fingerprint(&candidate);
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, candidate));
            }
        }
        best.map(|(_, s)| s).expect("at least one renaming")
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
pub(super) fn permutations(n: usize) -> Vec<Vec<NodeId>> {
    fn extend(prefix: &mut Vec<NodeId>, n: usize, out: &mut Vec<Vec<NodeId>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for x in 0..n as NodeId {
            if !prefix.contains(&x) {
                prefix.push(x);
                extend(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    extend(&mut Vec::new(), n, &mut out);
    out
}

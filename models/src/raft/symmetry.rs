//! Symmetry: servers are interchangeable, so a state and any renaming of its servers have
//! the same future up to that renaming. The representative is the least renaming under
//! `Ord`, which makes it canonical (equal for every member of the orbit).

use super::{RaftState, ServerId};

impl RaftState {
    /// This state with server `i` renamed to `perm[i]` everywhere it appears.
    pub fn renamed(&self, perm: &[ServerId]) -> RaftState {
        let mut servers = self.servers.clone();
        for (i, srv) in self.servers.iter().enumerate() {
            let mut srv = srv.clone();
            srv.voted_for = srv.voted_for.map(|v| perm[v]);
            for (j, &m) in self.servers[i].match_index.iter().enumerate() {
                srv.match_index[perm[j]] = m;
            }
            servers[perm[i]] = srv;
        }
        RaftState {
            servers,
            leaders: self.leaders.iter().map(|&(t, id)| (t, perm[id])).collect(),
            committed: self.committed.clone(),
            restarted_commit: self
                .restarted_commit
                .iter()
                .map(|(&id, &k)| (perm[id], k))
                .collect(),
            leader_log_rewritten: self
                .leader_log_rewritten
                .as_ref()
                .map(|(id, a, b)| (perm[*id], a.clone(), b.clone())),
        }
    }

    /// The canonical member of this state's symmetry class.
    ///
    /// Servers are first sorted by everything about them that does not name another server;
    /// only servers that tie on that key are tried in every order, so most states cost one
    /// renaming instead of `n!`.
    pub fn representative(&self) -> RaftState {
        let key = |i: ServerId| {
            let srv = &self.servers[i];
            let vote = srv.voted_for.map(|v| v == i);
            let mut acks = srv.match_index.clone();
            acks.sort_unstable();
            (
                srv.current_term,
                srv.role,
                &srv.log,
                srv.commit_index,
                vote,
                acks,
            )
        };
        let mut order: Vec<ServerId> = (0..self.servers.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(&key(b)));
        let mut best: Option<RaftState> = None;
        for_each_tie_order(&mut order, 0, &|a, b| key(a) == key(b), &mut |order| {
            // order[p] is the server that moves to position p.
            let mut perm = vec![0; order.len()];
            for (p, &id) in order.iter().enumerate() {
                perm[id] = p;
            }
            let candidate = self.renamed(&perm);
            if best.as_ref().is_none_or(|b| candidate < *b) {
                best = Some(candidate);
            }
        });
        best.expect("at least one ordering")
    }
}

/// Calls `visit` with every reordering of `order[from..]` that permutes only runs of
/// adjacent elements that are `tied`.
fn for_each_tie_order(
    order: &mut [ServerId],
    from: usize,
    tied: &dyn Fn(ServerId, ServerId) -> bool,
    visit: &mut dyn FnMut(&[ServerId]),
) {
    if from >= order.len() {
        visit(order);
        return;
    }
    let end = (from + 1..order.len())
        .find(|&j| !tied(order[from], order[j]))
        .unwrap_or(order.len());
    permute_run(order, end, from, tied, visit);
}

fn permute_run(
    order: &mut [ServerId],
    end: usize,
    at: usize,
    tied: &dyn Fn(ServerId, ServerId) -> bool,
    visit: &mut dyn FnMut(&[ServerId]),
) {
    if at + 1 >= end {
        for_each_tie_order(order, end, tied, visit);
        return;
    }
    for k in at..end {
        order.swap(at, k);
        permute_run(order, end, at + 1, tied, visit);
        order.swap(at, k);
    }
}

impl stateright::Representative for RaftState {
    fn representative(&self) -> Self {
        RaftState::representative(self)
    }
}

#[cfg(test)]
/// Every permutation of `0..n`, in lexicographic order.
pub(super) fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn extend(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for x in 0..n {
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

/// The most servers [`server_permutations`] serves.
const MAX_PERMUTED_SERVERS: usize = 8;

/// Every permutation of the servers `0..n` (`n <= 8`), in lexicographic order, computed once
/// per `n`: the renamings the symmetry reductions of `vanlightly` and `messages` try.
pub(crate) fn server_permutations(n: usize) -> &'static [Vec<u8>] {
    use std::sync::OnceLock;
    static TABLE: [OnceLock<Vec<Vec<u8>>>; MAX_PERMUTED_SERVERS + 1] =
        [const { OnceLock::new() }; MAX_PERMUTED_SERVERS + 1];
    assert!(
        n <= MAX_PERMUTED_SERVERS,
        "at most {MAX_PERMUTED_SERVERS} servers"
    );
    TABLE[n].get_or_init(|| {
        fn extend(prefix: &mut Vec<u8>, n: usize, out: &mut Vec<Vec<u8>>) {
            if prefix.len() == n {
                out.push(prefix.clone());
                return;
            }
            for x in 0..n as u8 {
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
    })
}

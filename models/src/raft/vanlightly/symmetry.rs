//! Symmetry over servers, the spec's `symmServers`: a state and any renaming of its
//! servers have the same future up to that renaming, and every property reads servers
//! only through quantifiers. The representative is the least renaming, so it is canonical
//! (equal for every member of the orbit).

use super::state::{Index, Msg, ServerId, Servers, VanlightlyState, MAX_SERVERS};

fn rename_set(set: Servers, perm: &[ServerId]) -> Servers {
    set.iter()
        .fold(Servers::default(), |out, i| out.with(perm[usize::from(i)]))
}

fn rename_indexes(a: &[Index; MAX_SERVERS], perm: &[ServerId]) -> [Index; MAX_SERVERS] {
    let mut out = *a;
    for (j, &p) in perm.iter().enumerate() {
        out[usize::from(p)] = a[j];
    }
    out
}

impl VanlightlyState {
    /// This state with server `i` renamed to `perm[i]` wherever it appears: the order of
    /// the servers, `votedFor`, the sets and index functions over servers, and every
    /// message's source and destination. The auxiliary variables name no server.
    ///
    /// # Panics
    /// If `perm` is not a permutation of the servers.
    pub fn renamed(&self, perm: &[ServerId]) -> VanlightlyState {
        assert_eq!(perm.len(), self.servers.len(), "one new name per server");
        let mut servers = self.servers.clone();
        for (i, srv) in self.servers.iter().enumerate() {
            let mut srv = *srv;
            srv.voted_for = srv.voted_for.map(|v| perm[usize::from(v)]);
            srv.votes_granted = rename_set(srv.votes_granted, perm);
            srv.pending_response = rename_set(srv.pending_response, perm);
            srv.next_index = rename_indexes(&srv.next_index, perm);
            srv.match_index = rename_indexes(&srv.match_index, perm);
            servers[usize::from(perm[i])] = srv;
        }
        let messages = self.messages.map(|m| Msg {
            source: perm[usize::from(m.source)],
            dest: perm[usize::from(m.dest)],
            ..*m
        });
        VanlightlyState {
            messages,
            servers,
            ..self.clone()
        }
    }

    /// The canonical member of this state's symmetry class: its least renaming, ordered
    /// by the servers' variables and then by the messages.
    ///
    /// Only renamings that sort the servers by a key that names no other server are
    /// tried (a key is invariant under renaming, so this set of candidates, and its least
    /// member, is the same from every member of the orbit); most states then cost one
    /// renaming instead of `n!`.
    pub fn representative(&self) -> VanlightlyState {
        let n = self.servers.len();
        let key = |i: usize| {
            let srv = &self.servers[i];
            let vote = srv.voted_for.map(|v| usize::from(v) == i);
            (
                srv.current_term,
                srv.state,
                srv.log,
                srv.commit_index,
                vote,
                srv.votes_granted.len(),
            )
        };
        let keys: Vec<_> = (0..n).map(key).collect();
        let mut best: Option<VanlightlyState> = None;
        for order in permutations(n) {
            // order[p] is the server that moves to position p.
            if order
                .windows(2)
                .any(|w| keys[usize::from(w[0])] > keys[usize::from(w[1])])
            {
                continue;
            }
            let mut perm = [0; MAX_SERVERS];
            for (p, &i) in order.iter().enumerate() {
                perm[usize::from(i)] = p as ServerId;
            }
            let candidate = self.renamed(&perm[..n]);
            let better = best.as_ref().is_none_or(|b| {
                (&candidate.servers, &candidate.messages) < (&b.servers, &b.messages)
            });
            if better {
                best = Some(candidate);
            }
        }
        best.expect("some order sorts the keys")
    }
}

impl stateright::Representative for VanlightlyState {
    fn representative(&self) -> Self {
        VanlightlyState::representative(self)
    }
}

/// Every permutation of `0..n` (`n <= MAX_SERVERS`), computed once per `n`.
pub fn permutations(n: usize) -> &'static [Vec<ServerId>] {
    crate::raft::symmetry::server_permutations(n)
}

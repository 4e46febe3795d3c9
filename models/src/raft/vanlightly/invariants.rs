//! The spec's invariants, each as a function returning its evidence (the first place it
//! fails), so that the property and its explanation share one definition.

use super::state::{Acked, Index, ServerId, ServerState, Value, VanlightlyState};
use super::VanlightlyRaft;

/// Where `NoLogDivergence` fails: servers `s1 != s2` whose logs differ at `index`, at or
/// below both their commit indexes (or one lacks the entry, where the spec's
/// `log[s][index]` is undefined).
pub fn log_divergence(s: &VanlightlyState) -> Option<(ServerId, ServerId, Index)> {
    for s1 in s.ids() {
        for s2 in s.ids().filter(|&s2| s2 != s1) {
            let (a, b) = (s.server(s1), s.server(s2));
            let lowest_common = a.commit_index.min(b.commit_index);
            for index in 1..=lowest_common {
                let (x, y) = (a.log.get(index), b.log.get(index));
                if x.is_none() || x != y {
                    return Some((s1, s2, index));
                }
            }
        }
    }
    None
}

/// `NoLogDivergence`: any two servers' logs agree up to the lower of their commit
/// indexes.
pub fn no_log_divergence(s: &VanlightlyState) -> bool {
    log_divergence(s).is_none()
}

/// Where `LeaderHasAllAckedValues` fails: an acknowledged value and a leader whose term no
/// other server has passed but whose log lacks the value.
pub fn acked_value_missing(m: &VanlightlyRaft, s: &VanlightlyState) -> Option<(Value, ServerId)> {
    for v in 0..m.values as Value {
        if s.acked[usize::from(v)] != Acked::True {
            continue;
        }
        for i in s.ids() {
            let srv = s.server(i);
            let newest = !s
                .ids()
                .any(|l| l != i && s.server(l).current_term > srv.current_term);
            if srv.state == ServerState::Leader && newest && !srv.log.holds_value(v) {
                return Some((v, i));
            }
        }
    }
    None
}

/// `LeaderHasAllAckedValues`: a leader that no server has overtaken in term holds every
/// acknowledged value.
pub fn leader_has_all_acked_values(m: &VanlightlyRaft, s: &VanlightlyState) -> bool {
    acked_value_missing(m, s).is_none()
}

/// The leaders with a commit index above 0, each with how many servers hold the leader's
/// entry at that index (the leader included, if it holds it).
pub fn committing_leaders(s: &VanlightlyState) -> Vec<(ServerId, usize)> {
    s.ids()
        .filter(|&i| {
            let srv = s.server(i);
            srv.state == ServerState::Leader && srv.commit_index > 0
        })
        .map(|i| {
            let srv = s.server(i);
            let holders = match srv.log.get(srv.commit_index) {
                // log[i][commitIndex[i]] is undefined: no quorum can match it.
                None => 0,
                entry => s
                    .servers
                    .iter()
                    .filter(|j| j.log.get(srv.commit_index) == entry)
                    .count(),
            };
            (i, holders)
        })
        .collect()
}

/// `CommittedEntriesReachMajority`: if some leader has committed, then some such leader's
/// entry at its commit index is held by a quorum of `Cardinality(Server) \div 2 + 1`
/// servers that includes it.
pub fn committed_entries_reach_majority(m: &VanlightlyRaft, s: &VanlightlyState) -> bool {
    let leaders = committing_leaders(s);
    let quorum = m.servers / 2 + 1;
    leaders.is_empty() || leaders.iter().any(|&(_, holders)| holders >= quorum)
}

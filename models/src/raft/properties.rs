//! The properties of the Raft model, as functions that return the evidence of a violation
//! (or of an example), so that the property and its explanation share one definition.

use super::{common_prefix_len, Commit, Index, RaftModel, RaftState, Role, ServerId, Term};
use stateright::Property;

/// The property table: name, expectation and condition, in the order reports use.
pub(super) fn table() -> Vec<Property<RaftModel>> {
    vec![
        Property::always("ElectionSafety", |_, s| {
            election_safety_violation(s).is_none()
        }),
        Property::always("LogMatching", |_, s| log_matching_violation(s).is_none()),
        Property::always("LeaderCompleteness", |_, s| {
            leader_completeness_violation(s).is_none()
        }),
        Property::always("StateMachineSafety", |_, s| {
            state_machine_safety_violation(s).is_none()
        }),
        Property::always("LeaderAppendOnly", |_, s: &RaftState| {
            s.leader_log_rewritten.is_none()
        }),
        Property::sometimes("LeaderElected", |_, s: &RaftState| {
            s.servers.iter().any(|srv| srv.role == Role::Leader)
        }),
        Property::sometimes("EntryCommitted", |_, s: &RaftState| !s.committed.is_empty()),
        Property::sometimes("LaterTermCommit", |_, s| later_term_commit(s).is_some()),
        Property::sometimes("RestartedServerCatchesUp", |_, s| caught_up(s).is_some()),
    ]
}

pub(super) fn election_safety_violation(s: &RaftState) -> Option<(Term, ServerId, ServerId)> {
    let leaders: Vec<_> = s.leaders.iter().collect();
    leaders
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .map(|w| (w[0].0, w[0].1, w[1].1))
}

/// Two logs that hold the same (index, term) entry but differ before it.
pub(super) fn log_matching_violation(s: &RaftState) -> Option<(ServerId, ServerId, Index)> {
    for (i, a) in s.servers.iter().enumerate() {
        for (j, b) in s.servers.iter().enumerate().skip(i + 1) {
            let prefix = common_prefix_len(&a.log, &b.log);
            let shared = a.log.len().min(b.log.len());
            if let Some(k) = (prefix..shared).find(|&k| a.log[k] == b.log[k]) {
                return Some((i, j, k + 1));
            }
        }
    }
    None
}

/// A leader that lacks an entry committed in an earlier term.
pub(super) fn leader_completeness_violation(s: &RaftState) -> Option<(ServerId, Index, Commit)> {
    for (id, srv) in s.servers.iter().enumerate() {
        if srv.role != Role::Leader {
            continue;
        }
        for (&k, &c) in &s.committed {
            let has = srv.log.get(k - 1) == Some(&c.entry_term);
            if c.in_term < srv.current_term && !has {
                return Some((id, k, c));
            }
        }
    }
    None
}

/// A server that applied an entry other than the one first committed at that index.
pub(super) fn state_machine_safety_violation(
    s: &RaftState,
) -> Option<(ServerId, Index, Term, Commit)> {
    for (id, srv) in s.servers.iter().enumerate() {
        for k in 1..=srv.commit_index {
            let Some(&c) = s.committed.get(&k) else {
                continue; // recorded when the index was committed; absent only mid-step
            };
            // A bug can truncate a log below its commitIndex: the applied entry is gone,
            // shown as term 0.
            let applied = srv.log.get(k - 1).copied().unwrap_or(0);
            if applied != c.entry_term {
                return Some((id, k, applied, c));
            }
        }
    }
    None
}

/// Two indices committed by leaders of different terms.
pub(super) fn later_term_commit(s: &RaftState) -> Option<((Index, Commit), (Index, Commit))> {
    let first = s.committed.iter().next()?;
    let later = s
        .committed
        .iter()
        .find(|(_, c)| c.in_term > first.1.in_term)?;
    Some(((*first.0, *first.1), (*later.0, *later.1)))
}

/// A server that restarted with entries committed and has committed as far again.
pub(super) fn caught_up(s: &RaftState) -> Option<(ServerId, Index)> {
    s.restarted_commit
        .iter()
        .find(|(id, k)| s.servers[**id].commit_index >= **k)
        .map(|(id, k)| (*id, *k))
}

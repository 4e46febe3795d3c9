//! The properties of the Raft model, as functions that return the evidence of a violation
//! (or of an example), so that the property and its explanation share one definition.

use super::{
    common_prefix_len, Commit, Index, RaftAction, RaftModel, RaftState, Role, Server, ServerId,
    Term,
};
use stateright::{Model, Property};

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
        Property::sometimes("ConflictingEntryOverwritten", |m, s| {
            conflict_overwritten(m, s).is_some()
        }),
        Property::sometimes("VoteRefusedForStaleLog", |m, s| {
            vote_refused_for_log(m, s).is_some()
        }),
        Property::sometimes("StaleLeaderStepsDown", |m, s| {
            stale_leader_steps_down(m, s).is_some()
        }),
        Property::sometimes("CommittedEntryInLaterLeader", |_, s| {
            committed_entry_in_later_leader(s).is_some()
        }),
        Property::sometimes("EarlierTermEntryWaits", |m, s| {
            earlier_term_entry_waits(m, s).is_some()
        }),
        Property::sometimes("EarlierTermEntryCommittedIndirectly", |_, s| {
            indirect_commit(s).is_some()
        }),
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

/// The leaders, with their ids.
fn leaders(s: &RaftState) -> impl Iterator<Item = (ServerId, &Server)> {
    s.servers
        .iter()
        .enumerate()
        .filter(|(_, srv)| srv.role == Role::Leader)
}

/// A leader whose next AppendEntries to a server that holds a conflicting entry replaces
/// that entry with the leader's (the repair of Figure 7): leader, follower and the 1-based
/// index of the first conflict.
///
/// This is a state from which the overwriting step is enabled, and the step is taken with
/// the model's own [`Model::next_state`], so a step that stops truncating does not count
/// (as under `skip-prev-log-check` with a shorter follower, which appends past the
/// conflict and keeps it).
pub(super) fn conflict_overwritten(
    m: &RaftModel,
    s: &RaftState,
) -> Option<(ServerId, ServerId, Index)> {
    for (l, leader) in leaders(s) {
        for (f, follower) in s.servers.iter().enumerate().filter(|&(f, _)| f != l) {
            let p = common_prefix_len(&leader.log, &follower.log);
            if p >= leader.log.len().min(follower.log.len()) {
                continue; // one log extends the other: nothing conflicts
            }
            let step = RaftAction::AppendEntries {
                leader: l,
                follower: f,
            };
            let Some(next) = m.next_state(s, step) else {
                continue; // refused, e.g. a stale leader
            };
            if next.servers[f].log.get(p) == Some(&leader.log[p]) {
                return Some((l, f, p + 1));
            }
        }
    }
    None
}

/// A candidate and a voter whose vote is free on terms (older term, or no other vote in
/// this one) but which the candidate cannot get because its log is less up to date: the
/// election restriction of §5.4.1 deciding a vote.
pub(super) fn vote_refused_for_log(m: &RaftModel, s: &RaftState) -> Option<(ServerId, ServerId)> {
    let candidates = s
        .servers
        .iter()
        .enumerate()
        .filter(|(_, srv)| srv.role == Role::Candidate);
    for (c, _) in candidates {
        for v in (0..s.servers.len()).filter(|&v| v != c) {
            if m.vote_free(s, c, v) && !m.grants_vote(s, c, v) {
                return Some((c, v));
            }
        }
    }
    None
}

/// A leader and a server of a higher term such that, once the leader learns that term
/// (the model's own `UpdateTerm` step), it is a follower of that term: leader, server and
/// the higher term.
pub(super) fn stale_leader_steps_down(
    m: &RaftModel,
    s: &RaftState,
) -> Option<(ServerId, ServerId, Term)> {
    for (i, leader) in leaders(s) {
        for (j, other) in s.servers.iter().enumerate() {
            if other.current_term <= leader.current_term {
                continue;
            }
            let step = RaftAction::UpdateTerm { from: j, to: i };
            let Some(next) = m.next_state(s, step) else {
                continue;
            };
            let after = &next.servers[i];
            if (after.role, after.current_term) == (Role::Follower, other.current_term) {
                return Some((i, j, other.current_term));
            }
        }
    }
    None
}

/// A leader that holds an entry committed in an earlier term by another server: the
/// case that gives `LeaderCompleteness` something to check. Leader, index and commit.
pub(super) fn committed_entry_in_later_leader(s: &RaftState) -> Option<(ServerId, Index, Commit)> {
    for (id, srv) in leaders(s) {
        for (&k, &c) in &s.committed {
            let has = srv.log.get(k - 1) == Some(&c.entry_term);
            let by_other = !s.leaders.contains(&(c.in_term, id));
            if c.in_term < srv.current_term && has && by_other {
                return Some((id, k, c));
            }
        }
    }
    None
}

/// A leader with an entry of an earlier term that a quorum acknowledged but that §5.4.2
/// does not let it commit by counting replicas (the situation of Figure 8): leader and
/// index. With a quorum, the only refusal left is §5.4.2's, and a leader's entries are
/// never of a later term than its own, so the entry is of an earlier term.
pub(super) fn earlier_term_entry_waits(m: &RaftModel, s: &RaftState) -> Option<(ServerId, Index)> {
    for (id, srv) in leaders(s) {
        for k in srv.commit_index + 1..=srv.log.len() {
            if m.acknowledged_by_quorum(s, id, k) && !m.can_commit(s, id, k) {
                return Some((id, k));
            }
        }
    }
    None
}

/// An entry of an earlier term committed together with a later entry of the committing
/// leader's own term (§5.4.2: "all prior entries are committed indirectly"): the earlier
/// index and commit, then the later index.
pub(super) fn indirect_commit(s: &RaftState) -> Option<(Index, Commit, Index)> {
    for (&k, &c) in &s.committed {
        if c.entry_term >= c.in_term {
            continue;
        }
        // From k on: entry k itself is of an earlier term, so it never matches.
        let own = s
            .committed
            .range(k..)
            .find(|(_, later)| later.in_term == c.in_term && later.entry_term == c.in_term);
        if let Some((&later, _)) = own {
            return Some((k, c, later));
        }
    }
    None
}

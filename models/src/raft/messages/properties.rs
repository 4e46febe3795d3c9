//! The properties of the message-level model, as functions that return the evidence of a
//! violation (or of an example), so that a property and its explanation share one
//! definition.
//!
//! | witness | behaviour | the safety property that needs it |
//! |---|---|---|
//! | `LeaderElected` | some server leads | all: without a leader nothing is replicated |
//! | `EntryCommitted` | an index is committed | `StateMachineSafety`, `LeaderCompleteness` |
//! | `TwoLeadersInDifferentTerms` | two servers led two terms | `ElectionSafety`, `LeaderCompleteness` across terms |
//! | `CommittedEntryInLaterLeader` | a later leader, not the one that committed it, holds a committed entry | `LeaderCompleteness` (its non-vacuous case) |
//! | `ConflictingEntryOverwritten` | a step replaced an entry of a log by a different one (Figure 7's repair) | `LogMatching`, `StateMachineSafety`: the repair must keep them |
//! | `RestartedServerCatchesUp` | a server that restarted with entries committed has committed as far again | `CommitIndexNeverDecreases` (per incarnation), `StateMachineSafety` over restarts |
//! | `SnapshotInstalled` | a server restored its state machine from a leader's InstallSnapshot | `StateMachineSafety`, `LogMatching` across a snapshot |

use super::{entry_at, holds_entry, Commit, RaftMsgModel, RaftMsgState, Value};
use impls::raft::core::{Index, Node, Role, Term};
use impls::raft::NodeId;
use stateright::Property;

/// The property table: name, expectation and condition, in the order reports use.
pub(super) fn table() -> Vec<Property<RaftMsgModel>> {
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
        Property::always("LeaderAppendOnly", |_, s: &RaftMsgState| {
            s.broken.leader_log_rewritten.is_none()
        }),
        Property::always("CommitIndexNeverDecreases", |_, s: &RaftMsgState| {
            s.broken.commit_decreased.is_none()
        }),
        Property::always(
            "MatchIndexNeverDecreasesWithinTerm",
            |_, s: &RaftMsgState| s.broken.match_decreased.is_none(),
        ),
        Property::always(
            "LeaderCommitsOnlyCurrentTermByCounting",
            |_, s: &RaftMsgState| s.broken.commit_by_counting.is_none(),
        ),
        Property::always("LeaderNeverVotesForAnother", |_, s| {
            leader_voting_for_another(s).is_none()
        }),
        Property::always("DurableBeforeSend", |_, s: &RaftMsgState| {
            s.broken.send_before_persist.is_none()
        }),
        Property::sometimes("LeaderElected", |_, s| some_leader(s).is_some()),
        Property::sometimes("EntryCommitted", |_, s: &RaftMsgState| {
            !s.committed.is_empty()
        }),
        Property::sometimes("TwoLeadersInDifferentTerms", |_, s| {
            two_leaders(s).is_some()
        }),
        Property::sometimes("CommittedEntryInLaterLeader", |_, s| {
            committed_entry_in_later_leader(s).is_some()
        }),
        Property::sometimes("ConflictingEntryOverwritten", |_, s: &RaftMsgState| {
            s.overwritten
        }),
        Property::sometimes("RestartedServerCatchesUp", |_, s| caught_up(s).is_some()),
        Property::sometimes("SnapshotInstalled", |_, s: &RaftMsgState| {
            s.snapshot_installed
        }),
    ]
}

/// The servers with their ids.
fn nodes(s: &RaftMsgState) -> impl Iterator<Item = (NodeId, &Node)> {
    s.servers
        .iter()
        .enumerate()
        .map(|(id, srv)| (id as NodeId, &srv.node))
}

/// The servers that lead now, with their ids.
fn leaders(s: &RaftMsgState) -> impl Iterator<Item = (NodeId, &Node)> {
    nodes(s).filter(|(_, n)| n.role() == Role::Leader)
}

/// Two servers that led the same term: the term and both.
pub(super) fn election_safety_violation(s: &RaftMsgState) -> Option<(Term, NodeId, NodeId)> {
    let leaders: Vec<_> = s.leaders.iter().collect();
    leaders
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .map(|w| (w[0].0, w[0].1, w[1].1))
}

/// Two logs that hold an entry of the same term at index `agree` but differ at an index
/// `differ` at or below it (a different term or command): servers `a`, `b`, `agree`,
/// `differ`. Indices a snapshot covers are compared by the snapshot's last term only.
pub(super) fn log_matching_violation(s: &RaftMsgState) -> Option<(NodeId, NodeId, Index, Index)> {
    for (a, x) in nodes(s) {
        for (b, y) in nodes(s).filter(|&(b, _)| b > a) {
            let from = x
                .first_index()
                .max(y.first_index())
                .saturating_sub(1)
                .max(1);
            let to = x.last_index().min(y.last_index());
            let Some(agree) = (from..=to)
                .rev()
                .find(|&k| x.term_at(k).is_some() && x.term_at(k) == y.term_at(k))
            else {
                continue;
            };
            let differs = |k: Index| match (x.entry(k), y.entry(k)) {
                (Some(e), Some(f)) => e != f,
                _ => x.term_at(k) != y.term_at(k),
            };
            if let Some(differ) = (from..=agree).find(|&k| differs(k)) {
                return Some((a, b, agree, differ));
            }
        }
    }
    None
}

/// A leader that lacks an entry committed in an earlier term: leader, index, commit.
pub(super) fn leader_completeness_violation(s: &RaftMsgState) -> Option<(NodeId, Index, Commit)> {
    for (id, node) in leaders(s) {
        for (&k, &c) in &s.committed {
            if c.in_term < node.term() && !holds_entry(node, k, c.entry_term, c.value) {
                return Some((id, k, c));
            }
        }
    }
    None
}

/// How a state machine went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MachineFault {
    /// The server applied (term, value) at the index where the commit was another entry.
    Differs(NodeId, Index, (Term, Value), Commit),
    /// The server was handed index `got` when `expected` was next.
    OutOfOrder(NodeId, Index, Index),
}

/// A state machine that applied another entry than the one committed at an index, or
/// applied out of order.
pub(super) fn state_machine_safety_violation(s: &RaftMsgState) -> Option<MachineFault> {
    if let Some((id, expected, got)) = s.broken.apply_out_of_order {
        return Some(MachineFault::OutOfOrder(id, expected, got));
    }
    for (id, srv) in s.servers.iter().enumerate() {
        for (k, &applied) in srv.applied.iter().enumerate() {
            let index = k as Index + 1;
            let Some(&c) = s.committed.get(&index) else {
                continue; // restored from a snapshot whose entries were counted elsewhere
            };
            if applied != (c.entry_term, c.value) {
                return Some(MachineFault::Differs(id as NodeId, index, applied, c));
            }
        }
    }
    None
}

/// A leader whose `votedFor` is not itself: leader and its vote.
pub(super) fn leader_voting_for_another(s: &RaftMsgState) -> Option<(NodeId, Option<NodeId>)> {
    nodes(s)
        .find(|(id, n)| votes_for_another(*id, n.role(), n.voted_for()))
        .map(|(id, n)| (id, n.voted_for()))
}

/// Whether server `id` in `role` with `voted_for` is a leader whose vote in its term is
/// not its own.
pub(super) fn votes_for_another(id: NodeId, role: Role, voted_for: Option<NodeId>) -> bool {
    role == Role::Leader && voted_for != Some(id)
}

/// A leader and its term.
pub(super) fn some_leader(s: &RaftMsgState) -> Option<(NodeId, Term)> {
    leaders(s).next().map(|(id, n)| (id, n.term()))
}

/// Two different servers that led two different terms: (term, server) twice.
pub(super) fn two_leaders(s: &RaftMsgState) -> Option<((Term, NodeId), (Term, NodeId))> {
    for &(t1, a) in &s.leaders {
        for &(t2, b) in &s.leaders {
            if t1 < t2 && a != b {
                return Some(((t1, a), (t2, b)));
            }
        }
    }
    None
}

/// A leader that holds, in its log, an entry committed in an earlier term by another
/// server: leader, index, commit.
pub(super) fn committed_entry_in_later_leader(s: &RaftMsgState) -> Option<(NodeId, Index, Commit)> {
    for (id, node) in leaders(s) {
        for (&k, &c) in &s.committed {
            let has = entry_at(node, k) == Some((c.entry_term, c.value));
            let by_other = !s.leaders.contains(&(c.in_term, id));
            if c.in_term < node.term() && has && by_other {
                return Some((id, k, c));
            }
        }
    }
    None
}

/// A server that restarted with entries committed and has committed as far again: server
/// and the commit index it had.
pub(super) fn caught_up(s: &RaftMsgState) -> Option<(NodeId, Index)> {
    s.restarted_commit
        .iter()
        .find(|(&id, &k)| s.servers[id as usize].node.commit_index() >= k)
        .map(|(&id, &k)| (id, k))
}

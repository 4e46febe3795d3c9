//! Protocol words: how the Raft model names its actions and fields in counterexamples.

use super::properties::*;
use super::{
    common_prefix_len, last_term, Bug, RaftAction, RaftModel, RaftState, Role, ServerId, Term,
};
use crate::{Arrow, ArrowKind, Protocol};
use std::fmt::{self, Display, Write as _};

fn name(id: ServerId) -> String {
    format!("n{}", id + 1)
}

fn names(ids: impl IntoIterator<Item = ServerId>) -> String {
    ids.into_iter().map(name).collect::<Vec<_>>().join(", ")
}

fn show_log(log: &[Term]) -> String {
    let terms: Vec<String> = log.iter().map(|t| t.to_string()).collect();
    format!("[{}]", terms.join(","))
}

impl RaftModel {
    /// The `prevLogIndex` of the AppendEntries `leader` sends `follower` in `s`: the end of
    /// their longest common prefix (under `skip-prev-log-check`, the follower's log end).
    fn prev_log_index(&self, s: &RaftState, leader: ServerId, follower: ServerId) -> usize {
        let l = &s.servers[leader];
        let f = &s.servers[follower];
        let prefix = common_prefix_len(&l.log, &f.log);
        if self.has(Bug::SkipPrevLogCheck) && prefix < l.log.len() {
            f.log.len().min(l.log.len() - 1)
        } else {
            prefix
        }
    }
}

impl Protocol for RaftModel {
    fn describe_action(&self, s: &RaftState, action: &RaftAction) -> String {
        match action {
            RaftAction::Timeout(i) => format!(
                "{} times out and starts an election for term {}",
                name(*i),
                s.servers[*i].current_term + 1
            ),
            RaftAction::BecomeLeader { candidate, voters } => {
                let c = &s.servers[*candidate];
                format!(
                    "{} wins term {}: RequestVote{{term: {}, lastLogIndex: {}, lastLogTerm: {}}} granted by {}",
                    name(*candidate),
                    c.current_term,
                    c.current_term,
                    c.log.len(),
                    last_term(&c.log),
                    names(voters.iter().copied())
                )
            }
            RaftAction::ClientRequest(i) => {
                let srv = &s.servers[*i];
                format!(
                    "client -> {} Request; leader appends entry {{index: {}, term: {}}}",
                    name(*i),
                    srv.log.len() + 1,
                    srv.current_term
                )
            }
            RaftAction::AppendEntries { leader, follower } => {
                let l = &s.servers[*leader];
                let prev = self.prev_log_index(s, *leader, *follower);
                let entries = match l.log.get(prev) {
                    Some(t) => format!("[{{index: {}, term: {}}}]", prev + 1, t),
                    None => "[]".to_string(),
                };
                format!(
                    "{} -> {} AppendEntries{{term: {}, prevLogIndex: {}, prevLogTerm: {}, entries: {}, leaderCommit: {}}}",
                    name(*leader),
                    name(*follower),
                    l.current_term,
                    prev,
                    if prev == 0 { 0 } else { l.log[prev - 1] },
                    entries,
                    l.commit_index
                )
            }
            RaftAction::AdvanceCommit { leader, index } => {
                let l = &s.servers[*leader];
                let holders = (0..self.servers)
                    .filter(|&j| j == *leader || l.match_index.get(j).is_some_and(|m| m >= index));
                format!(
                    "{} (leader, term {}) commits index {} (entry of term {}), acknowledged by {}",
                    name(*leader),
                    l.current_term,
                    index,
                    l.log[index - 1],
                    names(holders)
                )
            }
            RaftAction::UpdateTerm { from, to } => format!(
                "{} -> {} message with term {}; {} adopts the term and follows",
                name(*from),
                name(*to),
                s.servers[*from].current_term,
                name(*to)
            ),
            RaftAction::Restart(i) => format!(
                "{} crashes and restarts from its persistent state",
                name(*i)
            ),
        }
    }

    fn fields(&self, s: &RaftState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (id, srv) in s.servers.iter().enumerate() {
            let n = name(id);
            let voted = srv.voted_for.map(name).unwrap_or_else(|| "-".into());
            let role = format!("{:?}", srv.role).to_lowercase();
            out.push((format!("{n}.currentTerm"), srv.current_term.to_string()));
            out.push((format!("{n}.votedFor"), voted));
            out.push((format!("{n}.role"), role));
            out.push((format!("{n}.log"), show_log(&srv.log)));
            out.push((format!("{n}.commitIndex"), srv.commit_index.to_string()));
            let acks: Vec<String> = srv
                .match_index
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != id)
                .map(|(j, m)| format!("{}:{m}", name(j)))
                .collect();
            let acks = if acks.is_empty() {
                "-".to_string()
            } else {
                acks.join(" ")
            };
            out.push((format!("{n}.matchIndex"), acks));
        }
        let mut leaders = String::new();
        for (t, id) in &s.leaders {
            let _ = write!(leaders, "{}term {}: {}", sep(&leaders), t, name(*id));
        }
        let mut committed = String::new();
        for (k, c) in &s.committed {
            let _ = write!(
                committed,
                "{}index {}: term-{} entry (in term {})",
                sep(&committed),
                k,
                c.entry_term,
                c.in_term
            );
        }
        out.push(("history.leaders".into(), or_none(leaders)));
        out.push(("history.committed".into(), or_none(committed)));
        out
    }

    fn explain(&self, property: &str, s: &RaftState) -> Vec<String> {
        let line = match property {
            "ElectionSafety" => election_safety_violation(s)
                .map(|(t, a, b)| format!("{} and {} both led term {}", name(a), name(b), t)),
            "LogMatching" => log_matching_violation(s).map(|(a, b, k)| {
                format!(
                    "{} {} and {} {} hold the same entry at index {} but differ before it",
                    name(a),
                    show_log(&s.servers[a].log),
                    name(b),
                    show_log(&s.servers[b].log),
                    k
                )
            }),
            "LeaderCompleteness" => leader_completeness_violation(s).map(|(id, k, c)| {
                format!(
                    "{} leads term {} with log {}, which lacks the term-{} entry committed at index {} in term {}",
                    name(id),
                    s.servers[id].current_term,
                    show_log(&s.servers[id].log),
                    c.entry_term,
                    k,
                    c.in_term
                )
            }),
            "StateMachineSafety" => state_machine_safety_violation(s).map(|(id, k, t, c)| {
                format!(
                    "{} applied a term-{} entry at index {}, where a term-{} entry was applied before",
                    name(id),
                    t,
                    k,
                    c.entry_term
                )
            }),
            "LeaderAppendOnly" => s.leader_log_rewritten.as_ref().map(|(id, a, b)| {
                format!(
                    "leader {}'s log went from {} to {} while it stayed leader",
                    name(*id),
                    show_log(a),
                    show_log(b)
                )
            }),
            "LeaderElected" => s
                .servers
                .iter()
                .position(|srv| srv.role == Role::Leader)
                .map(|id| format!("{} leads term {}", name(id), s.servers[id].current_term)),
            "EntryCommitted" => s.committed.iter().next().map(|(k, c)| {
                format!("index {} committed in term {}", k, c.in_term)
            }),
            "LaterTermCommit" => later_term_commit(s).map(|((k1, c1), (k2, c2))| {
                format!(
                    "index {} committed in term {}, then index {} in term {}",
                    k1, c1.in_term, k2, c2.in_term
                )
            }),
            "RestartedServerCatchesUp" => caught_up(s).map(|(id, k)| {
                format!(
                    "{} restarted with commitIndex {} and has committed up to {} again",
                    name(id),
                    k,
                    s.servers[id].commit_index
                )
            }),
            "ConflictingEntryOverwritten" => conflict_overwritten(self, s).map(|(l, f, k)| {
                format!(
                    "{} (leader, term {}, log {}) overwrites {}'s conflicting term-{} entry at index {} with its term-{} entry",
                    name(l),
                    s.servers[l].current_term,
                    show_log(&s.servers[l].log),
                    name(f),
                    s.servers[f].log[k - 1],
                    k,
                    s.servers[l].log[k - 1]
                )
            }),
            "VoteRefusedForStaleLog" => vote_refused_for_log(self, s).map(|(c, v)| {
                format!(
                    "{} (log {}) refuses its vote to candidate {} of term {} (log {}): the candidate's log is less up to date",
                    name(v),
                    show_log(&s.servers[v].log),
                    name(c),
                    s.servers[c].current_term,
                    show_log(&s.servers[c].log)
                )
            }),
            "StaleLeaderStepsDown" => stale_leader_steps_down(self, s).map(|(i, j, t)| {
                format!(
                    "{} leads term {} while {} is in term {}; learning it, {} steps down",
                    name(i),
                    s.servers[i].current_term,
                    name(j),
                    t,
                    name(i)
                )
            }),
            "CommittedEntryInLaterLeader" => committed_entry_in_later_leader(s).map(|(id, k, c)| {
                format!(
                    "{} leads term {} and holds the term-{} entry committed at index {} in term {} by another leader",
                    name(id),
                    s.servers[id].current_term,
                    c.entry_term,
                    k,
                    c.in_term
                )
            }),
            "EarlierTermEntryWaits" => earlier_term_entry_waits(self, s).map(|(id, k)| {
                format!(
                    "{} (leader, term {}) has its term-{} entry at index {} on a quorum but may not commit it by counting replicas",
                    name(id),
                    s.servers[id].current_term,
                    s.servers[id].log[k - 1],
                    k
                )
            }),
            "EarlierTermEntryCommittedIndirectly" => indirect_commit(s).map(|(k, c, later)| {
                format!(
                    "the term-{} entry at index {} was committed in term {} with the term-{} entry at index {}",
                    c.entry_term, k, c.in_term, c.in_term, later
                )
            }),
            _ => None,
        };
        line.into_iter().collect()
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.servers).map(name).collect()
    }

    fn actor(&self, _: &RaftState, action: &RaftAction) -> Option<String> {
        let id = match *action {
            RaftAction::Timeout(i) | RaftAction::ClientRequest(i) | RaftAction::Restart(i) => i,
            RaftAction::BecomeLeader { candidate, .. } => candidate,
            RaftAction::AppendEntries { leader, .. } | RaftAction::AdvanceCommit { leader, .. } => {
                leader
            }
            // The server that learns the term is the one that changes.
            RaftAction::UpdateTerm { to, .. } => to,
        };
        Some(name(id))
    }

    /// Each exchange is one atomic step of the model: a won election is a vote from every
    /// other voter to the candidate, an AppendEntries round trip is one arrow from the
    /// leader to the follower, and a term learnt from any message is one arrow.
    fn arrows(&self, s: &RaftState, action: &RaftAction, _: &RaftState) -> Vec<Arrow> {
        match action {
            RaftAction::BecomeLeader { candidate, voters } => {
                let term = s.servers[*candidate].current_term;
                voters
                    .iter()
                    .filter(|&v| v != candidate)
                    .map(|&v| {
                        Arrow::new(
                            name(v),
                            name(*candidate),
                            format!("vote, term {term}"),
                            ArrowKind::Exchange,
                        )
                    })
                    .collect()
            }
            RaftAction::AppendEntries { leader, follower } => {
                let l = &s.servers[*leader];
                let prev = self.prev_log_index(s, *leader, *follower);
                let what = match l.log.get(prev) {
                    Some(t) => format!("entry {}: term {t}", prev + 1),
                    None => "heartbeat".to_string(),
                };
                vec![Arrow::new(
                    name(*leader),
                    name(*follower),
                    format!("AppendEntries term {}, {what}", l.current_term),
                    ArrowKind::Exchange,
                )]
            }
            RaftAction::UpdateTerm { from, to } => vec![Arrow::new(
                name(*from),
                name(*to),
                format!("term {}", s.servers[*from].current_term),
                ArrowKind::Exchange,
            )],
            _ => Vec::new(),
        }
    }
}

fn sep(s: &str) -> &'static str {
    if s.is_empty() {
        ""
    } else {
        "; "
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

impl Display for RaftAction {
    /// A name that needs no state: `n1 times out`, `n1 -> n2 AppendEntries`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftAction::Timeout(i) => write!(f, "{} times out", name(*i)),
            RaftAction::BecomeLeader { candidate, voters } => write!(
                f,
                "{} wins an election with votes from {}",
                name(*candidate),
                names(voters.iter().copied())
            ),
            RaftAction::ClientRequest(i) => write!(f, "client -> {} Request", name(*i)),
            RaftAction::AppendEntries { leader, follower } => {
                write!(f, "{} -> {} AppendEntries", name(*leader), name(*follower))
            }
            RaftAction::AdvanceCommit { leader, index } => {
                write!(f, "{} commits up to index {}", name(*leader), index)
            }
            RaftAction::UpdateTerm { from, to } => {
                write!(f, "{} learns {}'s term", name(*to), name(*from))
            }
            RaftAction::Restart(i) => write!(f, "{} restarts", name(*i)),
        }
    }
}

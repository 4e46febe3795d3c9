//! Protocol words: how the message-level model names its steps, messages and fields.

use super::properties::*;
use super::{
    entry_at, snapshot_at, value_of, Envelope, RaftMsgAction, RaftMsgModel, RaftMsgState, Value,
};
use crate::{Arrow, ArrowKind, Protocol};
use impls::raft::core::{Entry, Message, Node, Role};
use impls::raft::NodeId;
use std::fmt::{self, Display};

/// A server's name: `n1`, `n2`, ...
pub(super) fn name(id: NodeId) -> String {
    format!("n{}", id + 1)
}

/// A value's name: `v1`, ..., or `noop` for a leader's empty entry.
fn value_name(v: Value) -> String {
    if v == 0 {
        "noop".to_string()
    } else {
        format!("v{v}")
    }
}

/// Entries as `term:value`, e.g. `[1:v1, 2:noop]`.
fn show_entries(entries: &[Entry]) -> String {
    let shown: Vec<String> = entries
        .iter()
        .map(|e| format!("{}:{}", e.term, value_name(value_of(&e.command))))
        .collect();
    format!("[{}]", shown.join(", "))
}

/// A node's log: its snapshot, if any, then its entries as `term:value`.
pub(super) fn show_log(node: &Node) -> String {
    let entries: Vec<String> = (node.first_index()..=node.last_index())
        .filter_map(|k| entry_at(node, k))
        .map(|(t, v)| format!("{t}:{}", value_name(v)))
        .collect();
    let log = format!("[{}]", entries.join(", "));
    match snapshot_at(node) {
        Some((k, t)) => format!("snapshot(index {k}, term {t}) + {log}"),
        None => log,
    }
}

/// A message in the words of Figure 2.
pub(super) fn show_message(m: &Message) -> String {
    match m {
        Message::RequestVote {
            term,
            last_log_index,
            last_log_term,
            pre_vote,
        } => format!(
            "{}{{term: {term}, lastLogIndex: {last_log_index}, lastLogTerm: {last_log_term}}}",
            if *pre_vote { "PreVote" } else { "RequestVote" }
        ),
        Message::RequestVoteResponse {
            term,
            granted,
            pre_vote,
        } => format!(
            "{}{{term: {term}, granted: {granted}}}",
            if *pre_vote {
                "PreVoteResponse"
            } else {
                "RequestVoteResponse"
            }
        ),
        Message::AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
            ..
        } => format!(
            "AppendEntries{{term: {term}, prevLogIndex: {prev_log_index}, prevLogTerm: {prev_log_term}, entries: {}, commit: {leader_commit}}}",
            show_entries(entries)
        ),
        Message::AppendEntriesResponse {
            term,
            success,
            index,
            ..
        } => format!("AppendEntriesResponse{{term: {term}, success: {success}, index: {index}}}"),
        Message::InstallSnapshot { term, snapshot } => format!(
            "InstallSnapshot{{term: {term}, lastIndex: {}, lastTerm: {}}}",
            snapshot.last_index, snapshot.last_term
        ),
        Message::InstallSnapshotResponse { term, last_index } => {
            format!("InstallSnapshotResponse{{term: {term}, lastIndex: {last_index}}}")
        }
    }
}

/// A short label for a message on a diagram's arrow.
fn label(m: &Message) -> String {
    match m {
        Message::RequestVote { term, pre_vote, .. } => {
            format!(
                "{} t{term}",
                if *pre_vote { "PreVote" } else { "RequestVote" }
            )
        }
        Message::RequestVoteResponse { term, granted, .. } => {
            format!("Vote t{term} {}", if *granted { "yes" } else { "no" })
        }
        Message::AppendEntries {
            term,
            prev_log_index,
            entries,
            ..
        } => format!(
            "AppendEntries t{term} prev {prev_log_index} {}",
            show_entries(entries)
        ),
        Message::AppendEntriesResponse {
            term,
            success,
            index,
            ..
        } => format!(
            "AppendOk t{term} {} {index}",
            if *success { "yes" } else { "no" }
        ),
        Message::InstallSnapshot { term, snapshot } => {
            format!("InstallSnapshot t{term} @{}", snapshot.last_index)
        }
        Message::InstallSnapshotResponse { term, last_index } => {
            format!("SnapshotOk t{term} @{last_index}")
        }
    }
}

fn show_envelope(e: &Envelope) -> String {
    format!(
        "{} -> {} {}",
        name(e.from),
        name(e.to),
        show_message(&e.message)
    )
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Follower => "follower",
        Role::PreCandidate => "precandidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

fn show_commit(c: &super::Commit) -> String {
    format!(
        "{}:{} (in term {})",
        c.entry_term,
        value_name(c.value),
        c.in_term
    )
}

impl Protocol for RaftMsgModel {
    fn describe_action(&self, s: &RaftMsgState, action: &RaftMsgAction) -> String {
        let node = |i: NodeId| &s.servers[i as usize].node;
        match action {
            RaftMsgAction::Timeout(i) => format!(
                "{} times out ({}, term {})",
                name(*i),
                role_name(node(*i).role()),
                node(*i).term()
            ),
            RaftMsgAction::Heartbeat(i) => format!(
                "{} (leader, term {}) sends AppendEntries to every peer",
                name(*i),
                node(*i).term()
            ),
            RaftMsgAction::Propose(i) => format!(
                "client -> {} Propose({})",
                name(*i),
                value_name(s.proposed + 1)
            ),
            RaftMsgAction::Deliver(e) => show_envelope(e),
            RaftMsgAction::Duplicate(e) => {
                format!(
                    "{} (delivered, and a copy stays in flight)",
                    show_envelope(e)
                )
            }
            RaftMsgAction::Drop(e) => format!("the network loses {}", show_envelope(e)),
            RaftMsgAction::Restart(i) => {
                let d = &s.servers[*i as usize].durable;
                format!(
                    "{} crashes and restarts from its durable state (term {}, votedFor {}, {} entries)",
                    name(*i),
                    d.term,
                    d.voted_for.map_or("-".to_string(), name),
                    d.entries.len()
                )
            }
            RaftMsgAction::Compact(i) => format!(
                "{} snapshots its state machine and compacts its log up to index {}",
                name(*i),
                node(*i).applied_index()
            ),
        }
    }

    fn fields(&self, s: &RaftMsgState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (id, srv) in s.servers.iter().enumerate() {
            let n = name(id as NodeId);
            let node = &srv.node;
            out.push((format!("{n}.role"), role_name(node.role()).to_string()));
            out.push((format!("{n}.currentTerm"), node.term().to_string()));
            out.push((
                format!("{n}.votedFor"),
                node.voted_for().map_or("-".to_string(), name),
            ));
            out.push((format!("{n}.log"), show_log(node)));
            out.push((format!("{n}.commitIndex"), node.commit_index().to_string()));
            let applied: Vec<String> = srv
                .applied
                .iter()
                .map(|&(t, v)| format!("{t}:{}", value_name(v)))
                .collect();
            out.push((format!("{n}.applied"), format!("[{}]", applied.join(", "))));
            let acks: Vec<String> = (0..self.servers)
                .filter(|&j| j != id as NodeId)
                .filter_map(|j| node.match_index(j).map(|m| format!("{}:{m}", name(j))))
                .collect();
            out.push((format!("{n}.matchIndex"), or_none(acks.join(" "))));
        }
        for from in 0..self.servers {
            for to in (0..self.servers).filter(|&to| to != from) {
                let flight: Vec<String> = s
                    .network
                    .iter()
                    .filter(|e| e.from == from && e.to == to)
                    .map(|e| show_message(&e.message))
                    .collect();
                out.push((
                    format!("network.{}->{}", name(from), name(to)),
                    or_none(flight.join("; ")),
                ));
            }
        }
        let leaders: Vec<String> = s
            .leaders
            .iter()
            .map(|&(t, id)| format!("term {t}: {}", name(id)))
            .collect();
        out.push(("history.leaders".into(), or_none(leaders.join("; "))));
        let committed: Vec<String> = s
            .committed
            .iter()
            .map(|(k, c)| format!("index {k}: {}", show_commit(c)))
            .collect();
        out.push(("history.committed".into(), or_none(committed.join("; "))));
        out.push((
            "budgets".into(),
            format!(
                "timeouts {}/{}, proposed {}/{}, heartbeats {}/{}, crashes {}/{}, drops {}/{}, duplicates {}/{}, compactions {}/{}, events {}/{}",
                s.timeouts,
                self.timeouts,
                s.proposed,
                self.values,
                s.heartbeats,
                self.heartbeats,
                s.crashes,
                self.crashes,
                s.drops,
                self.drops,
                s.duplicates,
                self.duplicates,
                s.compactions,
                self.compactions,
                s.events,
                self.events
            ),
        ));
        out
    }

    fn explain(&self, property: &str, s: &RaftMsgState) -> Vec<String> {
        let node = |i: NodeId| &s.servers[i as usize].node;
        let b = &s.broken;
        let line = match property {
            "ElectionSafety" => election_safety_violation(s)
                .map(|(t, a, b)| format!("{} and {} both led term {t}", name(a), name(b))),
            "LogMatching" => log_matching_violation(s).map(|(a, b, k, j)| {
                format!(
                    "{} {} and {} {} hold a term-{} entry at index {k} but differ at index {j}",
                    name(a),
                    show_log(node(a)),
                    name(b),
                    show_log(node(b)),
                    node(a).term_at(k).unwrap_or(0)
                )
            }),
            "LeaderCompleteness" => leader_completeness_violation(s).map(|(id, k, c)| {
                format!(
                    "{} leads term {} with log {}, which lacks the entry {} committed at index {k}",
                    name(id),
                    node(id).term(),
                    show_log(node(id)),
                    show_commit(&c)
                )
            }),
            "StateMachineSafety" => state_machine_safety_violation(s).map(|f| match f {
                MachineFault::Differs(id, k, (t, v), c) => format!(
                    "{} applied {t}:{} at index {k}, where {} was committed",
                    name(id),
                    value_name(v),
                    show_commit(&c)
                ),
                MachineFault::OutOfOrder(id, expected, got) => format!(
                    "{} was handed index {got} to apply when index {expected} was next",
                    name(id)
                ),
            }),
            "LeaderAppendOnly" => b.leader_log_rewritten.map(|(id, t, k)| {
                format!(
                    "leader {} of term {t} lost or replaced its entry at index {k} while it led; its log is now {}",
                    name(id),
                    show_log(node(id))
                )
            }),
            "CommitIndexNeverDecreases" => b.commit_decreased.map(|(id, x, y)| {
                format!("{}'s commitIndex went from {x} down to {y} without a restart", name(id))
            }),
            "MatchIndexNeverDecreasesWithinTerm" => b.match_decreased.map(|(id, j, t, x, y)| {
                format!(
                    "leader {} of term {t} lowered matchIndex[{}] from {x} to {y}",
                    name(id),
                    name(j)
                )
            }),
            "LeaderCommitsOnlyCurrentTermByCounting" => {
                b.commit_by_counting.map(|(id, t, k, e)| {
                    format!(
                        "leader {} of term {t} advanced commitIndex to {k}, an entry of term {e}, by counting replicas",
                        name(id)
                    )
                })
            }
            "LeaderNeverVotesForAnother" => leader_voting_for_another(s).map(|(id, v)| {
                format!(
                    "{} leads term {} but its votedFor is {}",
                    name(id),
                    node(id).term(),
                    v.map_or("-".to_string(), name)
                )
            }),
            "DurableBeforeSend" => b.send_before_persist.map(|(id, send, persist)| {
                format!(
                    "a step of {}: effect {send} sends before effect {persist} is made durable",
                    name(id)
                )
            }),
            "LeaderElected" => {
                some_leader(s).map(|(id, t)| format!("{} leads term {t}", name(id)))
            }
            "EntryCommitted" => s
                .committed
                .iter()
                .next()
                .map(|(k, c)| format!("index {k} committed: {}", show_commit(c))),
            "TwoLeadersInDifferentTerms" => two_leaders(s).map(|((t1, a), (t2, b))| {
                format!("{} led term {t1} and {} led term {t2}", name(a), name(b))
            }),
            "CommittedEntryInLaterLeader" => {
                committed_entry_in_later_leader(s).map(|(id, k, c)| {
                    format!(
                        "{} leads term {} and holds {} at index {k}, committed by another leader",
                        name(id),
                        node(id).term(),
                        show_commit(&c)
                    )
                })
            }
            "ConflictingEntryOverwritten" => s
                .overwritten
                .then(|| "a server's log entry was replaced by a leader's different entry".into()),
            "RestartedServerCatchesUp" => caught_up(s).map(|(id, k)| {
                format!(
                    "{} restarted with commitIndex {k} and has committed up to {} again",
                    name(id),
                    node(id).commit_index()
                )
            }),
            "SnapshotInstalled" => s.snapshot_installed.then(|| {
                let holders: Vec<String> = (0..self.servers)
                    .filter(|&i| node(i).snapshot().is_some())
                    .map(|i| format!("{} {}", name(i), show_log(node(i))))
                    .collect();
                format!(
                    "a server restored its state machine from InstallSnapshot; snapshots: {}",
                    holders.join("; ")
                )
            }),
            _ => None,
        };
        line.into_iter().collect()
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.servers).map(name).collect()
    }

    fn actor(&self, _: &RaftMsgState, action: &RaftMsgAction) -> Option<String> {
        match action {
            RaftMsgAction::Timeout(i)
            | RaftMsgAction::Heartbeat(i)
            | RaftMsgAction::Propose(i)
            | RaftMsgAction::Restart(i)
            | RaftMsgAction::Compact(i) => Some(name(*i)),
            RaftMsgAction::Deliver(e) | RaftMsgAction::Duplicate(e) => Some(name(e.to)),
            RaftMsgAction::Drop(_) => None,
        }
    }

    /// A delivery is an arrow that ends the message's send; the messages the step puts in
    /// the network are sends; a drop is a loss.
    fn arrows(
        &self,
        before: &RaftMsgState,
        action: &RaftMsgAction,
        after: &RaftMsgState,
    ) -> Vec<Arrow> {
        let arrow =
            |e: &Envelope, kind| Arrow::new(name(e.from), name(e.to), label(&e.message), kind);
        let mut out = Vec::new();
        match action {
            RaftMsgAction::Deliver(e) | RaftMsgAction::Duplicate(e) => {
                out.push(arrow(e, ArrowKind::Deliver))
            }
            RaftMsgAction::Drop(e) => out.push(arrow(e, ArrowKind::Lose)),
            _ => {}
        }
        for e in after.network.iter().filter(|e| !before.network.contains(e)) {
            out.push(arrow(e, ArrowKind::Send));
        }
        out
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

impl Display for RaftMsgAction {
    /// A name that needs no state: `n1 times out`, `n1 -> n2 AppendEntries{...}`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftMsgAction::Timeout(i) => write!(f, "{} times out", name(*i)),
            RaftMsgAction::Heartbeat(i) => write!(f, "{} heartbeat", name(*i)),
            RaftMsgAction::Propose(i) => write!(f, "client -> {} Propose", name(*i)),
            RaftMsgAction::Deliver(e) => write!(f, "{}", show_envelope(e)),
            RaftMsgAction::Duplicate(e) => write!(f, "{} (duplicated)", show_envelope(e)),
            RaftMsgAction::Drop(e) => write!(f, "lose {}", show_envelope(e)),
            RaftMsgAction::Restart(i) => write!(f, "{} restarts", name(*i)),
            RaftMsgAction::Compact(i) => write!(f, "{} compacts", name(*i)),
        }
    }
}

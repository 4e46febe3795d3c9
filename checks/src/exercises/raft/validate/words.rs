//! The validator's words: inputs, effects, messages and states as the paper and the
//! message-level model name them. Nodes are named by their ids as `raft-node` names them
//! (`n0`, `n1`, ...).

use impls::raft::core::{Durable, Effect, Entry, Input, Message, Node, Persist, Role};
use impls::raft::NodeId;
use models::raft::messages::{Envelope, RaftMsgAction};

/// A node's name.
pub fn name(id: NodeId) -> String {
    format!("n{id}")
}

fn vote(v: Option<NodeId>) -> String {
    v.map_or_else(|| "-".to_string(), name)
}

/// A command: `noop` for a leader's empty entry, else its text (cut at 24 characters).
fn command(c: &[u8]) -> String {
    if c.is_empty() {
        return "noop".into();
    }
    let text = String::from_utf8_lossy(c);
    let cut: String = text.chars().take(24).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// Entries as `term:command`, the first few and a count of the rest.
fn entries(es: &[Entry]) -> String {
    let shown: Vec<String> = es
        .iter()
        .take(4)
        .map(|e| format!("{}:{}", e.term, command(&e.command)))
        .collect();
    let more = if es.len() > 4 {
        format!(", … {} more", es.len() - 4)
    } else {
        String::new()
    };
    format!("[{}{more}]", shown.join(", "))
}

/// A message in Figure 2's words.
pub fn message(m: &Message) -> String {
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
            entries: es,
            leader_commit,
            round,
        } => format!(
            "AppendEntries{{term: {term}, prevLogIndex: {prev_log_index}, prevLogTerm: {prev_log_term}, entries: {}, leaderCommit: {leader_commit}, round: {round}}}",
            entries(es)
        ),
        Message::AppendEntriesResponse {
            term,
            success,
            index,
            round,
        } => format!(
            "AppendEntriesResponse{{term: {term}, success: {success}, index: {index}, round: {round}}}"
        ),
        Message::InstallSnapshot { term, snapshot } => format!(
            "InstallSnapshot{{term: {term}, lastIndex: {}, lastTerm: {}}}",
            snapshot.last_index, snapshot.last_term
        ),
        Message::InstallSnapshotResponse { term, last_index } => {
            format!("InstallSnapshotResponse{{term: {term}, lastIndex: {last_index}}}")
        }
    }
}

/// A persist effect.
pub fn persist(p: &Persist) -> String {
    match p {
        Persist::HardState { term, voted_for } => format!(
            "HardState{{currentTerm: {term}, votedFor: {}}}",
            vote(*voted_for)
        ),
        Persist::Entries { from, entries: es } => {
            format!("Entries{{from: {from}, entries: {}}}", entries(es))
        }
        Persist::Snapshot {
            snapshot,
            keep_suffix,
        } => format!(
            "Snapshot{{lastIndex: {}, lastTerm: {}, keepSuffix: {keep_suffix}}}",
            snapshot.last_index, snapshot.last_term
        ),
    }
}

/// An effect as something done: `persist ...`, `send ... to n1`, `apply index 3`, ...
pub fn effect(e: &Effect) -> String {
    match e {
        Effect::Persist(p) => format!("persist {}", persist(p)),
        Effect::Send { to, message: m } => format!("send {} to {}", message(m), name(*to)),
        Effect::Apply { index, entry } => format!(
            "apply index {index} ({}:{})",
            entry.term,
            command(&entry.command)
        ),
        Effect::Restore(s) => format!(
            "restore the state machine from the snapshot at index {} (term {})",
            s.last_index, s.last_term
        ),
        Effect::Proposed { index, term } => {
            format!("answer the client: appended at index {index} in term {term}")
        }
        Effect::NotLeader { leader } => {
            format!("answer the client: not the leader (leader {})", vote(*leader))
        }
        Effect::ReadReady { id, index } => {
            format!("read {id} may be served once index {index} is applied (ReadIndex)")
        }
        Effect::ReadRefused { id, leader } => format!(
            "answer read {id}: refused, not the leader (leader {})",
            vote(*leader)
        ),
    }
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Follower => "follower",
        Role::PreCandidate => "pre-candidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

/// The variables of `node` that a report shows: role, term, vote, leader, commit and
/// apply indices, the log's extent, and a leader's `matchIndex`.
pub fn state(node: &Node) -> Vec<String> {
    let mut out = vec![
        format!("role {}", role(node.role())),
        format!("currentTerm {}", node.term()),
        format!("votedFor {}", vote(node.voted_for())),
        format!("leader {}", vote(node.leader())),
        format!("commitIndex {}", node.commit_index()),
        format!("lastApplied {}", node.applied_index()),
        format!(
            "log {}{}",
            if node.last_index() < node.first_index() {
                "empty".to_string()
            } else {
                format!(
                    "{}..{} (last term {})",
                    node.first_index(),
                    node.last_index(),
                    node.last_term()
                )
            },
            node.snapshot().map_or(String::new(), |s| format!(
                " after a snapshot at {} (term {})",
                s.last_index, s.last_term
            ))
        ),
    ];
    if node.role() == Role::Leader {
        let servers = node.config().servers;
        let m: Vec<String> = (0..servers)
            .filter(|&p| p != node.id())
            .filter_map(|p| node.match_index(p).map(|i| format!("{}:{i}", name(p))))
            .collect();
        out.push(format!("matchIndex {}", m.join(" ")));
    }
    out
}

/// A durable state: term, vote, snapshot and log, in one line.
pub fn durable(d: &Durable) -> String {
    let base = d.snapshot.as_ref().map_or(0, |s| s.last_index);
    let last = d.entries.last().map_or_else(
        || d.snapshot.as_ref().map_or(0, |s| s.last_term),
        |e| e.term,
    );
    format!(
        "currentTerm {}, votedFor {}, {}{} entries (last index {}, term {last})",
        d.term,
        vote(d.voted_for),
        d.snapshot.as_ref().map_or(String::new(), |s| format!(
            "a snapshot at {} (term {}) and ",
            s.last_index, s.last_term
        )),
        d.entries.len(),
        base + d.entries.len() as u64
    )
}

/// The model's action for node `id` stepping on `input` from `before` to `after` with
/// `effects`: its name in the message-level model ([`RaftMsgAction`]; `Tick` for a tick
/// that only moves the clock, which the model, never ticking, has no action for) and the
/// step in words.
pub fn action(
    id: NodeId,
    input: &Input,
    before: &Node,
    after: &Node,
    effects: &[Effect],
) -> (&'static str, String) {
    let n = name(id);
    let of = |a: RaftMsgAction| -> &'static str { (&a).into() };
    match input {
        Input::Tick => {
            let campaigned = after.term() > before.term()
                || (after.role() != before.role()
                    && matches!(after.role(), Role::Candidate | Role::PreCandidate));
            if campaigned {
                let what = format!("{n} times out (a tick crossed its election timeout)");
                (of(RaftMsgAction::Timeout(id)), what)
            } else if before.role() == Role::Leader && after.role() != Role::Leader {
                let what = format!(
                    "{n} steps down (CheckQuorum: a tick ended an election timeout without a majority heard)"
                );
                (of(RaftMsgAction::Timeout(id)), what)
            } else if effects.iter().any(|e| matches!(e, Effect::Send { .. })) {
                let what = format!("{n} sends AppendEntries (a tick crossed the heartbeat interval)");
                (of(RaftMsgAction::Heartbeat(id)), what)
            } else {
                ("Tick", format!("a tick of {n}'s clock"))
            }
        }
        Input::Timeout => (of(RaftMsgAction::Timeout(id)), format!("{n} times out")),
        Input::Heartbeat => (
            of(RaftMsgAction::Heartbeat(id)),
            format!("{n}'s heartbeat interval elapses"),
        ),
        Input::Receive { from, message: m } => {
            let env = Envelope {
                from: *from,
                to: id,
                message: m.clone(),
            };
            (
                of(RaftMsgAction::Deliver(env)),
                format!("{} -> {n} {}", name(*from), message(m)),
            )
        }
        Input::Propose { command: c } => (
            of(RaftMsgAction::Propose(id)),
            format!("client -> {n} Propose({})", command(c)),
        ),
        // The model has no reads: a read changes no log, so it is named on its own.
        Input::Read { id } => ("Read", format!("client -> {n} Read (id {id})")),
        Input::Compact { index, .. } => (
            of(RaftMsgAction::Compact(id)),
            format!("{n} snapshots its state machine and compacts its log up to index {index}"),
        ),
    }
}

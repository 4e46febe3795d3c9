//! The spec in its own words, for counterexamples and the Explorer: actions as its `Next`
//! names them, variables as it names them, messages as its records.

use super::invariants::{acked_value_missing, committing_leaders, log_divergence};
use super::state::{Body, Entry, Log, Msg, ServerId, ServerState, Servers, VanlightlyState};
use super::{VanlightlyAction, VanlightlyRaft};
use crate::{Arrow, ArrowKind, Protocol};

fn name(i: ServerId) -> String {
    format!("n{}", i + 1)
}

fn value(v: u8) -> String {
    format!("v{}", v + 1)
}

fn show_entry(e: Entry) -> String {
    format!("[term |-> {}, value |-> {}]", e.term, value(e.value))
}

fn show_log(log: &Log) -> String {
    let entries: Vec<String> = log.as_slice().iter().map(|&e| show_entry(e)).collect();
    format!("<<{}>>", entries.join(", "))
}

fn show_set(set: Servers) -> String {
    let names: Vec<String> = set.iter().map(name).collect();
    format!("{{{}}}", names.join(", "))
}

fn show_state(state: ServerState) -> &'static str {
    match state {
        ServerState::Follower => "Follower",
        ServerState::Candidate => "Candidate",
        ServerState::Leader => "Leader",
    }
}

/// The message as its record, e.g.
/// `RequestVoteRequest{mterm: 2, mlastLogTerm: 0, mlastLogIndex: 0, n1 -> n2}`.
fn show_msg(m: &Msg) -> String {
    let fields = match m.body {
        Body::RequestVoteRequest {
            last_log_term,
            last_log_index,
        } => format!(
            "RequestVoteRequest{{mterm: {}, mlastLogTerm: {last_log_term}, mlastLogIndex: {last_log_index}",
            m.term
        ),
        Body::RequestVoteResponse { vote_granted } => format!(
            "RequestVoteResponse{{mterm: {}, mvoteGranted: {vote_granted}",
            m.term
        ),
        Body::AppendEntriesRequest {
            prev_log_index,
            prev_log_term,
            entries,
            commit_index,
        } => format!(
            "AppendEntriesRequest{{mterm: {}, mprevLogIndex: {prev_log_index}, mprevLogTerm: {prev_log_term}, mentries: <<{}>>, mcommitIndex: {commit_index}",
            m.term,
            entries.map(show_entry).unwrap_or_default()
        ),
        Body::AppendEntriesResponse {
            success,
            match_index,
        } => format!(
            "AppendEntriesResponse{{mterm: {}, msuccess: {success}, mmatchIndex: {match_index}",
            m.term
        ),
    };
    format!("{fields}, {} -> {}}}", name(m.source), name(m.dest))
}

/// A short label for a message's arrow: its type and the fields that tell it apart.
fn label(m: &Msg) -> String {
    match m.body {
        Body::RequestVoteRequest {
            last_log_term,
            last_log_index,
        } => format!(
            "RequestVote t{} last {last_log_index}@{last_log_term}",
            m.term
        ),
        Body::RequestVoteResponse { vote_granted } => format!(
            "Vote t{} {}",
            m.term,
            if vote_granted { "yes" } else { "no" }
        ),
        Body::AppendEntriesRequest {
            prev_log_index,
            prev_log_term,
            entries,
            commit_index,
        } => format!(
            "AppendEntries t{} prev {prev_log_index}@{prev_log_term} [{}] commit {commit_index}",
            m.term,
            entries
                .map(|e| format!("{}@{}", value(e.value), e.term))
                .unwrap_or_default()
        ),
        Body::AppendEntriesResponse {
            success,
            match_index,
        } => format!(
            "AppendEntries t{} {} match {match_index}",
            m.term,
            if success { "ok" } else { "rejected" }
        ),
    }
}

/// The message an action delivers, if it delivers one.
fn delivered(action: &VanlightlyAction) -> Option<&Msg> {
    use VanlightlyAction::*;
    match action {
        HandleRequestVoteRequest(m)
        | HandleRequestVoteResponse(m)
        | RejectAppendEntriesRequest(m)
        | AcceptAppendEntriesRequest(m)
        | HandleAppendEntriesResponse(m) => Some(m),
        _ => None,
    }
}

impl Protocol for VanlightlyRaft {
    fn describe_action(&self, s: &VanlightlyState, action: &VanlightlyAction) -> String {
        use VanlightlyAction::*;
        match *action {
            Restart(i) => format!("Restart({})", name(i)),
            RequestVote(i) => format!(
                "RequestVote({}): candidate for term {}",
                name(i),
                s.server(i).current_term + 1
            ),
            BecomeLeader(i) => format!(
                "BecomeLeader({}): votes {}",
                name(i),
                show_set(s.server(i).votes_granted)
            ),
            ClientRequest(i, v) => format!("ClientRequest({}, {})", name(i), value(v)),
            AdvanceCommitIndex(i) => format!(
                "AdvanceCommitIndex({}): commitIndex {} -> {}",
                name(i),
                s.server(i).commit_index,
                self.new_commit_index(s, i)
            ),
            AppendEntries(i, j) => format!(
                "AppendEntries({}, {}): {}",
                name(i),
                name(j),
                show_msg(&self.append_entries_request(s, i, j))
            ),
            UpdateTerm(m) => format!(
                "UpdateTerm: {} learns term {} from {}",
                name(m.dest),
                m.term,
                show_msg(&m)
            ),
            HandleRequestVoteRequest(m)
            | HandleRequestVoteResponse(m)
            | RejectAppendEntriesRequest(m)
            | AcceptAppendEntriesRequest(m)
            | HandleAppendEntriesResponse(m) => {
                let kind: &'static str = action.into();
                format!("{kind}: {}", show_msg(&m))
            }
        }
    }

    fn fields(&self, s: &VanlightlyState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let n = self.servers;
        for i in s.ids() {
            let srv = s.server(i);
            let who = name(i);
            let per_peer = |a: &[u8]| {
                let pairs: Vec<String> = a[..n]
                    .iter()
                    .enumerate()
                    .map(|(j, x)| format!("{} |-> {x}", name(j as ServerId)))
                    .collect();
                format!("[{}]", pairs.join(", "))
            };
            out.extend([
                (format!("{who}.currentTerm"), srv.current_term.to_string()),
                (format!("{who}.state"), show_state(srv.state).to_string()),
                (
                    format!("{who}.votedFor"),
                    srv.voted_for.map_or("Nil".to_string(), name),
                ),
                (format!("{who}.votesGranted"), show_set(srv.votes_granted)),
                (format!("{who}.log"), show_log(&srv.log)),
                (format!("{who}.commitIndex"), srv.commit_index.to_string()),
                (format!("{who}.nextIndex"), per_peer(&srv.next_index)),
                (format!("{who}.matchIndex"), per_peer(&srv.match_index)),
                (
                    format!("{who}.pendingResponse"),
                    show_set(srv.pending_response),
                ),
            ]);
        }
        let msgs: Vec<String> = s
            .messages
            .iter()
            .map(|(m, c)| format!("{} :> {c}", show_msg(m)))
            .collect();
        out.push(("net.messages".to_string(), msgs.join("; ")));
        let acked: Vec<String> = (0..self.values)
            .map(|v| format!("{} |-> {:?}", value(v as u8), s.acked[v]))
            .collect();
        out.push(("aux.acked".to_string(), format!("[{}]", acked.join(", "))));
        out.push(("aux.electionCtr".to_string(), s.election_ctr.to_string()));
        out.push(("aux.restartCtr".to_string(), s.restart_ctr.to_string()));
        out
    }

    fn explain(&self, property: &str, s: &VanlightlyState) -> Vec<String> {
        match property {
            "NoLogDivergence" => log_divergence(s)
                .map(|(s1, s2, index)| {
                    let show = |i: ServerId| {
                        s.server(i)
                            .log
                            .get(index)
                            .map_or("no entry".to_string(), show_entry)
                    };
                    vec![format!(
                        "{} and {} have both committed index {index}, but hold {} and {}",
                        name(s1),
                        name(s2),
                        show(s1),
                        show(s2)
                    )]
                })
                .unwrap_or_default(),
            "LeaderHasAllAckedValues" => acked_value_missing(self, s)
                .map(|(v, i)| {
                    vec![format!(
                        "{} was acknowledged, but {} leads term {} (no server has a higher term) without it",
                        value(v),
                        name(i),
                        s.server(i).current_term
                    )]
                })
                .unwrap_or_default(),
            "CommittedEntriesReachMajority" => {
                let quorum = self.servers / 2 + 1;
                committing_leaders(s)
                    .into_iter()
                    .filter(|&(_, holders)| holders < quorum)
                    .map(|(i, holders)| {
                        format!(
                            "leader {} committed index {}, which only {holders} of the {quorum} servers a quorum needs hold",
                            name(i),
                            s.server(i).commit_index
                        )
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.servers as ServerId).map(name).collect()
    }

    fn actor(&self, _: &VanlightlyState, action: &VanlightlyAction) -> Option<String> {
        use VanlightlyAction::*;
        let i = match *action {
            Restart(i)
            | RequestVote(i)
            | BecomeLeader(i)
            | ClientRequest(i, _)
            | AdvanceCommitIndex(i)
            | AppendEntries(i, _) => i,
            // The receiver is the server that changes.
            UpdateTerm(m)
            | HandleRequestVoteRequest(m)
            | HandleRequestVoteResponse(m)
            | RejectAppendEntriesRequest(m)
            | AcceptAppendEntriesRequest(m)
            | HandleAppendEntriesResponse(m) => m.dest,
        };
        Some(name(i))
    }

    fn arrows(
        &self,
        before: &VanlightlyState,
        action: &VanlightlyAction,
        after: &VanlightlyState,
    ) -> Vec<Arrow> {
        let arrow = |m: &Msg, kind| Arrow::new(name(m.source), name(m.dest), label(m), kind);
        let mut out: Vec<Arrow> = delivered(action)
            .map(|m| arrow(m, ArrowKind::Deliver))
            .into_iter()
            .collect();
        // What the step sent: the messages whose count went up.
        for (m, count) in after.messages.iter() {
            if count > before.messages.count(m).unwrap_or(0) {
                out.push(arrow(m, ArrowKind::Send));
            }
        }
        out
    }
}

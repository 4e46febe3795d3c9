//! §5.1, Raft basics: terms are Raft's logical clock. A server that sees a larger term
//! adopts it (and a candidate or leader steps down); a request with a smaller term is
//! rejected.

use super::harness::{
    append, elect, ensure, ensure_eq, entry, hard_state_writes, heartbeat, log_of, receive,
    request_vote, restarted, sends, step, Check, Outcome,
};
use crate::raft::core::{Bug, Entry, Input, Message, Node, Role};

/// Brings a fresh node of three into `role` in term 1.
fn fresh_in_term_1(role: Role, bug: Option<Bug>) -> Result<Node, String> {
    let mut node = super::harness::fresh(0, 3, bug);
    match role {
        Role::Follower => {
            step(&mut node, receive(1, heartbeat(1, 0, 0, 0)))?;
        }
        Role::Candidate => {
            step(&mut node, Input::Timeout)?;
        }
        Role::Leader => {
            elect(&mut node)?;
        }
        Role::PreCandidate => return Err("plain Raft has no pre-candidates".into()),
    }
    ensure_eq!(node.role(), role, "set-up role");
    ensure_eq!(node.term(), 1, "set-up term");
    Ok(node)
}

/// The shared logic of the three `*_update_term_from_message` tests: a node in `role` in
/// term 1 that receives a term-2 AppendEntries, or a term-2 RequestVote, takes term 2
/// (durably, as Figure 2 makes `currentTerm` persistent) and is a follower.
fn check_update_term_from_message(role: Role, bug: Option<Bug>) -> Outcome {
    let messages = [heartbeat(2, 0, 0, 0), request_vote(2, 0, 0)];
    for message in messages {
        let mut node = fresh_in_term_1(role, bug)?;
        let effects = step(&mut node, receive(2, message.clone()))?;
        let what = format!("{role:?} in term 1 receiving {message:?}");
        ensure_eq!(node.term(), 2, "{what}: term");
        ensure_eq!(node.role(), Role::Follower, "{what}: role");
        ensure!(
            hard_state_writes(&effects).iter().any(|&(t, _)| t == 2),
            "{what}: term 2 was not persisted: {effects:?}"
        );
        if matches!(message, Message::AppendEntries { .. }) {
            ensure_eq!(node.leader(), Some(2), "{what}: the leader it knows");
        }
    }
    Ok(())
}

/// §5.1: "If one server's current term is smaller than the other's, then it updates its
/// current term to the larger value." (A follower.)
#[test]
fn follower_update_term_from_message() {
    check_follower_update_term_from_message(None).unwrap();
}

/// `follower_update_term_from_message`'s logic.
pub(super) fn check_follower_update_term_from_message(bug: Option<Bug>) -> Outcome {
    check_update_term_from_message(Role::Follower, bug)
}

/// §5.1: "If a candidate or leader discovers that its term is out of date, it immediately
/// reverts to follower state." (A candidate.)
#[test]
fn candidate_update_term_from_message() {
    check_candidate_update_term_from_message(None).unwrap();
}

/// `candidate_update_term_from_message`'s logic.
pub(super) fn check_candidate_update_term_from_message(bug: Option<Bug>) -> Outcome {
    check_update_term_from_message(Role::Candidate, bug)
}

/// §5.1: "If a candidate or leader discovers that its term is out of date, it immediately
/// reverts to follower state." (A leader.)
#[test]
fn leader_update_term_from_message() {
    check_leader_update_term_from_message(None).unwrap();
}

/// `leader_update_term_from_message`'s logic.
pub(super) fn check_leader_update_term_from_message(bug: Option<Bug>) -> Outcome {
    check_update_term_from_message(Role::Leader, bug)
}

/// A node of three with log terms `[1, 2]`, brought into `role` in term 3 (a leader has
/// appended its no-op at index 3).
fn in_term_3(role: Role, bug: Option<Bug>) -> Result<Node, String> {
    let mut node = restarted(0, 3, bug, 2, None, &[1, 2]);
    match role {
        Role::Follower => {
            step(&mut node, receive(1, heartbeat(3, 2, 2, 0)))?;
        }
        Role::Candidate => {
            step(&mut node, Input::Timeout)?;
        }
        Role::Leader => {
            elect(&mut node)?;
        }
        Role::PreCandidate => return Err("plain Raft has no pre-candidates".into()),
    }
    ensure_eq!(node.role(), role, "set-up role");
    ensure_eq!(node.term(), 3, "set-up term");
    Ok(node)
}

/// Server 2 was leader in term 2 and does not know it was deposed: its AppendEntries (an
/// entry of its own at index 2, after a matching index 1) and its RequestVote (with a log
/// longer than anyone's) carry term 2.
fn stale_requests() -> [Message; 2] {
    let stale_entry = Entry {
        term: 2,
        command: b"from the deposed leader".to_vec(),
    };
    debug_assert_ne!(stale_entry, entry(2, 2));
    [append(2, 1, 1, vec![stale_entry], 0), request_vote(2, 9, 2)]
}

/// §5.1: "If a server receives a request with a stale term number, it rejects the
/// request." A follower, a candidate and a leader in term 3 receive term-2 requests: each
/// keeps its term, role, vote and log, writes nothing to disk, and answers (if at all)
/// with a refusal that carries term 3, so the sender learns it is out of date.
pub(super) fn check_reject_stale_term_message(bug: Option<Bug>) -> Outcome {
    for role in [Role::Follower, Role::Candidate, Role::Leader] {
        for message in stale_requests() {
            let mut node = in_term_3(role, bug)?;
            let (log_before, vote_before, commit_before) =
                (log_of(&node), node.voted_for(), node.commit_index());
            let effects = step(&mut node, receive(2, message.clone()))?;
            let what = format!("{role:?} in term 3 receiving {message:?}");
            ensure_eq!(node.term(), 3, "{what}: term");
            ensure_eq!(node.role(), role, "{what}: role");
            ensure_eq!(node.voted_for(), vote_before, "{what}: vote");
            ensure_eq!(log_of(&node), log_before, "{what}: log");
            ensure_eq!(node.commit_index(), commit_before, "{what}: commit index");
            ensure!(
                !effects
                    .iter()
                    .any(|e| matches!(e, crate::raft::core::Effect::Persist(_))),
                "{what}: wrote to disk: {effects:?}"
            );
            for (to, answer) in sends(&effects) {
                let refusal = match answer {
                    Message::AppendEntriesResponse { term, success, .. } => !success && term == 3,
                    Message::RequestVoteResponse { term, granted, .. } => !granted && term == 3,
                    _ => false,
                };
                ensure!(
                    to == 2 && refusal,
                    "{what}: sent {answer:?} to {to}, not a term-3 refusal to 2"
                );
            }
        }
    }
    Ok(())
}

/// §5.1: "If a server receives a request with a stale term number, it rejects the
/// request." (etcd ignores it instead; so may we, as long as nothing changes.)
#[test]
fn reject_stale_term_message() {
    check_reject_stale_term_message(None).unwrap();
}

/// Every test of this section, by name, with its logic.
pub(super) const CHECKS: &[(&str, Check)] = &[
    (
        "follower_update_term_from_message",
        check_follower_update_term_from_message,
    ),
    (
        "candidate_update_term_from_message",
        check_candidate_update_term_from_message,
    ),
    (
        "leader_update_term_from_message",
        check_leader_update_term_from_message,
    ),
    ("reject_stale_term_message", check_reject_stale_term_message),
];

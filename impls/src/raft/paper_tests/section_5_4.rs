//! §5.4, safety: the election restriction (a voter refuses a candidate whose log is less
//! up to date than its own, which the RequestVote carries the information to decide), and
//! the commitment rule (a leader commits by counting replicas only entries of its own
//! term, Figure 8).

use super::harness::{
    append, elect, ensure_eq, fresh, log, receive, request_vote, restarted, sends, step, step_all,
    vote, Check, Outcome, ELECTION_TICKS,
};
use crate::raft::core::{Bug, Index, Input, Message, Term};

/// §5.4.1: "The RequestVote RPC implements this restriction: the RPC includes information
/// about the candidate's log, and the voter denies its vote if its own log is more
/// up-to-date than that of the candidate." A follower that learnt a log from a leader
/// times out and asks every other server, naming its last entry's index and term; the
/// request it sent is granted by voters whose log is as up to date or behind, and refused
/// by a voter one entry ahead.
pub(super) fn check_vote_request(bug: Option<Bug>) -> Outcome {
    let cases: &[(&[Term], Term)] = &[(&[1], 2), (&[1, 2], 3)];
    for &(terms, term) in cases {
        let mut node = fresh(0, 3, bug);
        step(
            &mut node,
            receive(1, append(term - 1, 0, 0, log(terms).0, 0)),
        )?;
        let effects = step_all(&mut node, (1..2 * ELECTION_TICKS).map(|_| Input::Tick))?;
        let (last_index, last_term) = (terms.len() as Index, terms[terms.len() - 1]);
        let request = request_vote(term, last_index, last_term);
        ensure_eq!(
            sends(&effects),
            vec![(1, request.clone()), (2, request.clone())],
            "log {terms:?}: the requests"
        );

        let behind = &terms[..terms.len() - 1];
        let ahead: Vec<Term> = terms.iter().copied().chain([last_term]).collect();
        let voters: [(&str, &[Term], bool); 3] = [
            ("behind", behind, true),
            ("as up to date", terms, true),
            ("one entry ahead", &ahead, false),
        ];
        for (what, voter_terms, granted) in voters {
            let mut voter = restarted(1, 3, bug, term - 1, None, voter_terms);
            let answer = step(&mut voter, receive(0, request.clone()))?;
            ensure_eq!(
                sends(&answer),
                vec![(0, vote(term, granted))],
                "log {terms:?}: a voter {what} ({voter_terms:?})"
            );
        }
    }
    Ok(())
}

/// §5.4.1: the RequestVote "includes information about the candidate's log".
#[test]
fn vote_request() {
    check_vote_request(None).unwrap();
}

/// §5.4.1: "If the logs have last entries with different terms, then the log with the
/// later term is more up-to-date. If the logs end with the same term, then whichever log
/// is longer is more up-to-date." A voter with the given log answers a term-3 candidate
/// whose log ends at (`index`, `log_term`), refusing exactly when its own is more up to
/// date.
pub(super) fn check_voter(bug: Option<Bug>) -> Outcome {
    // (the voter's log terms, the candidate's last term, its last index, granted)
    let cases: &[(&[Term], Term, Index, bool)] = &[
        // the same last term
        (&[1], 1, 1, true),
        (&[1], 1, 2, true),
        (&[1, 1], 1, 1, false),
        // the candidate's last term is later
        (&[1], 2, 1, true),
        (&[1], 2, 2, true),
        (&[1, 1], 2, 1, true),
        // the voter's last term is later
        (&[2], 1, 1, false),
        (&[2], 1, 2, false),
        (&[2, 2], 1, 1, false),
        (&[1, 1], 1, 1, false),
    ];
    for &(terms, log_term, index, granted) in cases {
        let last_term = terms[terms.len() - 1];
        let mut node = restarted(0, 2, bug, last_term, None, terms);
        let effects = step(&mut node, receive(1, request_vote(3, index, log_term)))?;
        ensure_eq!(
            sends(&effects),
            vec![(1, vote(3, granted))],
            "voter log {terms:?}, candidate's last entry ({index}, term {log_term})"
        );
    }
    Ok(())
}

/// §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
/// candidate."
#[test]
fn voter() {
    check_voter(None).unwrap();
}

/// §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only
/// log entries from the leader's current term are committed by counting replicas." A
/// leader of term 3 over log terms `[1, 2]` (its no-op at 3, a proposal at 4) hears that
/// its one follower holds up to `index`: entries 1 and 2 stay uncommitted, while 3 is
/// committed, and with it 1 and 2.
pub(super) fn check_leader_only_commits_log_from_current_term(bug: Option<Bug>) -> Outcome {
    let cases: &[(Index, Index)] = &[(1, 0), (2, 0), (3, 3)];
    for &(index, commit) in cases {
        let mut node = restarted(0, 2, bug, 2, None, &[1, 2]);
        elect(&mut node)?;
        ensure_eq!(node.term(), 3, "the leader's term");
        step(
            &mut node,
            Input::Propose {
                command: b"some data".to_vec(),
            },
        )?;
        let ack = Message::AppendEntriesResponse {
            term: 3,
            success: true,
            index,
            round: 0,
        };
        step(&mut node, receive(1, ack))?;
        ensure_eq!(
            node.commit_index(),
            commit,
            "the follower holds up to {index}: the commit index"
        );
    }
    Ok(())
}

/// §5.4.2: "Only log entries from the leader's current term are committed by counting
/// replicas."
#[test]
fn leader_only_commits_log_from_current_term() {
    check_leader_only_commits_log_from_current_term(None).unwrap();
}

/// Every test of this section, by name, with its logic.
pub(super) const CHECKS: &[(&str, Check)] = &[
    ("vote_request", check_vote_request),
    ("voter", check_voter),
    (
        "leader_only_commits_log_from_current_term",
        check_leader_only_commits_log_from_current_term,
    ),
];

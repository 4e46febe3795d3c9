//! Threshold tests: for each property, a state that sits exactly at its boundary and a
//! minimally different one on the other side. A weakened property (a flipped comparison,
//! an index off by one, a constant verdict, the wrong field) turns one of them around.
//!
//! Verdicts go through [`holds`], which looks the property up by name in the model's
//! property table, so that these tests check what the checker evaluates; the evidence
//! functions are checked where the checker's explanation prints them.

use super::properties::*;
use super::*;
use crate::Protocol;

/// The verdict of the property called `name` on `s` (see [`crate::holds`]).
fn holds(model: &RaftModel, name: &str, s: &RaftState) -> bool {
    crate::holds(model, name, s)
}

/// A server of `term` in `role` with `log` and `commit_index`; a leader starts with an
/// all-zero `matchIndex` for three servers.
fn srv(term: Term, role: Role, log: &[Term], commit_index: Index) -> Server {
    Server {
        current_term: term,
        voted_for: None,
        log: log.to_vec(),
        role,
        commit_index,
        match_index: if role == Role::Leader {
            vec![0; 3]
        } else {
            Vec::new()
        },
    }
}

fn follower(term: Term, log: &[Term]) -> Server {
    srv(term, Role::Follower, log, 0)
}

fn leader(term: Term, log: &[Term]) -> Server {
    srv(term, Role::Leader, log, 0)
}

/// A state of these servers with empty history.
fn state(servers: Vec<Server>) -> RaftState {
    RaftState {
        servers,
        leaders: OrdSet::new(),
        committed: OrdMap::new(),
        restarted_commit: OrdMap::new(),
        leader_log_rewritten: None,
    }
}

fn commit(entry_term: Term, in_term: Term) -> Commit {
    Commit {
        entry_term,
        in_term,
    }
}

fn model() -> RaftModel {
    RaftModel::default()
}

fn with_bug(bug: Bug) -> RaftModel {
    RaftModel {
        bug: Some(bug),
        ..RaftModel::default()
    }
}

/// Takes `steps` from the initial state, checking that each is enabled.
fn run(model: &RaftModel, steps: &[RaftAction]) -> RaftState {
    let mut s = model.init_states().remove(0);
    for a in steps {
        let mut enabled = Vec::new();
        model.actions(&s, &mut enabled);
        assert!(enabled.contains(a), "{a:?} not enabled in {s:?}");
        s = model.next_state(&s, a.clone()).unwrap();
    }
    s
}

fn explained(model: &RaftModel, name: &str, s: &RaftState) -> String {
    model.explain(name, s).join("\n")
}

// ---------------------------------------------------------------------------------------
// ElectionSafety

#[test]
fn election_safety_breaks_at_two_leaders_of_one_term_and_holds_across_terms() {
    let m = model();
    let mut s = state(vec![follower(2, &[]); 3]);
    s.leaders = [(1, 0), (2, 1)].into_iter().collect();
    assert!(
        holds(&m, "ElectionSafety", &s),
        "leaders of different terms"
    );
    s.leaders = [(1, 0), (2, 0)].into_iter().collect();
    assert!(
        holds(&m, "ElectionSafety", &s),
        "one server leading two terms"
    );
    s.leaders = [(2, 0), (2, 1)].into_iter().collect();
    assert!(!holds(&m, "ElectionSafety", &s), "two leaders of term 2");
    assert_eq!(election_safety_violation(&s), Some((2, 0, 1)));
    // The pair is found anywhere in the history, not only at its start.
    s.leaders = [(1, 0), (2, 1), (2, 2)].into_iter().collect();
    assert!(!holds(&m, "ElectionSafety", &s));
    assert_eq!(election_safety_violation(&s), Some((2, 1, 2)));
    assert_eq!(
        explained(&m, "ElectionSafety", &s),
        "n2 and n3 both led term 2"
    );
}

#[test]
fn election_safety_breaks_when_a_restarted_voter_votes_twice() {
    // From the initial state: n2 votes for n1 in term 1, restarts, and then votes for n3
    // in term 1 too. Only the variant that forgets votes lets the second election happen.
    use RaftAction::*;
    let elect = |candidate, voters: &[ServerId]| BecomeLeader {
        candidate,
        voters: voters.to_vec(),
    };
    let buggy = with_bug(Bug::ForgetVoteOnRestart);
    let steps = [Timeout(0), elect(0, &[0, 1]), Restart(1), Timeout(2)];
    let s = run(&buggy, &steps);
    assert!(holds(&buggy, "ElectionSafety", &s));
    let mut twice = steps.to_vec();
    twice.push(elect(2, &[1, 2]));
    let s = run(&buggy, &twice);
    assert!(!holds(&buggy, "ElectionSafety", &s));
    assert_eq!(election_safety_violation(&s), Some((1, 0, 2)));

    let correct = model();
    let s = run(&correct, &[Timeout(0), elect(0, &[0, 1]), Timeout(2)]);
    let mut enabled = Vec::new();
    correct.actions(&s, &mut enabled);
    assert!(!enabled.contains(&Restart(1)), "nothing volatile to lose");
    assert!(!enabled.contains(&elect(2, &[1, 2])), "n2 voted for n1");
}

// ---------------------------------------------------------------------------------------
// LogMatching

#[test]
fn log_matching_breaks_at_a_shared_entry_with_different_prefixes() {
    let m = model();
    // Index 2 holds a term-1 entry on both, and index 1 differs.
    let s = state(vec![
        follower(2, &[1, 1]),
        follower(2, &[2, 1]),
        follower(2, &[]),
    ]);
    assert!(!holds(&m, "LogMatching", &s));
    assert_eq!(log_matching_violation(&s), Some((0, 1, 2)));
    assert_eq!(
        explained(&m, "LogMatching", &s),
        "n1 [1,1] and n2 [2,1] hold the same entry at index 2 but differ before it"
    );
    // The first shared entry after the divergence is reported, 1-based.
    let s = state(vec![
        follower(3, &[1, 3, 2]),
        follower(3, &[2, 1, 2]),
        follower(3, &[]),
    ]);
    assert_eq!(log_matching_violation(&s), Some((0, 1, 3)));
    // Any pair of servers, not only neighbours.
    let s = state(vec![
        follower(2, &[1, 1]),
        follower(2, &[]),
        follower(2, &[2, 1]),
    ]);
    assert!(!holds(&m, "LogMatching", &s));
    assert_eq!(log_matching_violation(&s), Some((0, 2, 2)));
}

#[test]
fn log_matching_holds_when_logs_differ_only_after_their_common_prefix() {
    let m = model();
    for logs in [
        [&[1, 1][..], &[1, 2][..]], // diverge at index 2, nothing shared after it
        [&[1][..], &[1, 2][..]],    // one extends the other
        [&[1][..], &[2, 1][..]],    // same term at different indices is no match
        [&[][..], &[1][..]],
    ] {
        let s = state(vec![
            follower(2, logs[0]),
            follower(2, logs[1]),
            follower(2, &[]),
        ]);
        assert!(holds(&m, "LogMatching", &s), "{logs:?}");
        assert_eq!(log_matching_violation(&s), None);
    }
}

// ---------------------------------------------------------------------------------------
// LeaderCompleteness

#[test]
fn leader_completeness_breaks_when_a_leader_lacks_an_earlier_commit() {
    let m = model();
    let mut s = state(vec![leader(2, &[]), follower(2, &[1]), follower(2, &[1])]);
    s.committed.insert(1, commit(1, 1));
    assert!(!holds(&m, "LeaderCompleteness", &s), "missing entry");
    assert_eq!(
        leader_completeness_violation(&s),
        Some((0, 1, commit(1, 1)))
    );
    assert_eq!(
        explained(&m, "LeaderCompleteness", &s),
        "n1 leads term 2 with log [], which lacks the term-1 entry committed at index 1 in term 1"
    );
    s.servers[0].log = vec![2];
    assert!(!holds(&m, "LeaderCompleteness", &s), "another entry there");
    s.servers[0].log = vec![1];
    assert!(holds(&m, "LeaderCompleteness", &s), "has it");
    s.servers[0].log = vec![1, 2];
    assert!(holds(&m, "LeaderCompleteness", &s), "has it, and more");
}

#[test]
fn leader_completeness_reads_the_committed_index_not_its_neighbour() {
    let m = model();
    let mut s = state(vec![leader(3, &[1, 2]), follower(3, &[]), follower(3, &[])]);
    s.committed.insert(2, commit(2, 2));
    assert!(holds(&m, "LeaderCompleteness", &s));
    s.servers[0].log = vec![2, 1];
    assert!(!holds(&m, "LeaderCompleteness", &s));
    assert_eq!(
        leader_completeness_violation(&s),
        Some((0, 2, commit(2, 2)))
    );
}

#[test]
fn leader_completeness_judges_only_leaders_against_earlier_terms() {
    let m = model();
    let mut s = state(vec![leader(2, &[]), follower(2, &[1]), follower(2, &[1])]);
    s.committed.insert(1, commit(1, 1));
    s.servers[0].role = Role::Candidate;
    assert!(
        holds(&m, "LeaderCompleteness", &s),
        "a candidate is not judged"
    );
    s.servers[0].role = Role::Follower;
    assert!(
        holds(&m, "LeaderCompleteness", &s),
        "a follower is not judged"
    );
    // A leader of the commit's own term, or of an older one, need not hold it.
    s.servers[0] = leader(1, &[]);
    assert!(
        holds(&m, "LeaderCompleteness", &s),
        "committed in its own term"
    );
    s.committed.insert(1, commit(1, 2));
    assert!(
        holds(&m, "LeaderCompleteness", &s),
        "committed in a later term"
    );
}

// ---------------------------------------------------------------------------------------
// StateMachineSafety

#[test]
fn state_machine_safety_breaks_when_two_servers_apply_different_entries_at_one_index() {
    let m = model();
    let mut s = state(vec![
        srv(2, Role::Leader, &[1], 1),
        srv(2, Role::Follower, &[2], 0),
        follower(2, &[]),
    ]);
    s.committed.insert(1, commit(1, 1));
    assert!(
        holds(&m, "StateMachineSafety", &s),
        "n2 has not applied index 1"
    );
    s.servers[1].commit_index = 1;
    assert!(!holds(&m, "StateMachineSafety", &s));
    assert_eq!(
        state_machine_safety_violation(&s),
        Some((1, 1, 2, commit(1, 1)))
    );
    assert_eq!(
        explained(&m, "StateMachineSafety", &s),
        "n2 applied a term-2 entry at index 1, where a term-1 entry was applied before"
    );
    s.servers[1].log = vec![1];
    assert!(holds(&m, "StateMachineSafety", &s), "the same entry");
}

#[test]
fn state_machine_safety_reads_every_index_up_to_the_commit_index() {
    let m = model();
    let mut s = state(vec![
        srv(2, Role::Follower, &[1, 1], 2),
        follower(2, &[]),
        follower(2, &[]),
    ]);
    s.committed.insert(1, commit(1, 1));
    s.committed.insert(2, commit(1, 1));
    assert!(holds(&m, "StateMachineSafety", &s));
    s.servers[0].log = vec![1, 2];
    assert!(
        !holds(&m, "StateMachineSafety", &s),
        "differs at commitIndex"
    );
    assert_eq!(
        state_machine_safety_violation(&s),
        Some((0, 2, 2, commit(1, 1)))
    );
    s.servers[0].commit_index = 1;
    assert!(
        holds(&m, "StateMachineSafety", &s),
        "differs past commitIndex"
    );
    // A log truncated below its commitIndex lost an applied entry.
    s.servers[0].log = vec![];
    assert!(!holds(&m, "StateMachineSafety", &s));
    assert_eq!(
        state_machine_safety_violation(&s),
        Some((0, 1, 0, commit(1, 1)))
    );
    // An index not (yet) recorded as committed has nothing to compare with.
    s.committed = OrdMap::new();
    assert!(holds(&m, "StateMachineSafety", &s));
}

// ---------------------------------------------------------------------------------------
// LeaderAppendOnly

#[test]
fn leader_append_only_breaks_when_the_history_records_a_rewrite() {
    let m = model();
    let mut s = state(vec![leader(2, &[2]), follower(2, &[]), follower(2, &[])]);
    assert!(holds(&m, "LeaderAppendOnly", &s));
    s.leader_log_rewritten = Some((0, vec![1], vec![2]));
    assert!(!holds(&m, "LeaderAppendOnly", &s));
    assert_eq!(
        explained(&m, "LeaderAppendOnly", &s),
        "leader n1's log went from [1] to [2] while it stayed leader"
    );
}

/// The property reads a history variable: these are the boundaries of what records it.
#[test]
fn a_leader_log_is_recorded_as_rewritten_only_if_it_stays_leader_and_does_not_extend() {
    let m = model();
    let before = state(vec![leader(2, &[1, 2]), follower(2, &[]), follower(2, &[])]);
    let step = |after: Server| {
        let mut next = before.clone();
        next.servers[0] = after;
        m.record_history(&before, &mut next);
        next
    };
    let appended = step(leader(2, &[1, 2, 2]));
    assert!(holds(&m, "LeaderAppendOnly", &appended), "appending");
    let rewritten = step(leader(2, &[1, 1]));
    assert!(!holds(&m, "LeaderAppendOnly", &rewritten));
    assert_eq!(
        rewritten.leader_log_rewritten,
        Some((0, vec![1, 2], vec![1, 1]))
    );
    let truncated = step(leader(2, &[1]));
    assert!(!holds(&m, "LeaderAppendOnly", &truncated), "truncating");
    let stepped_down = step(follower(3, &[1, 1]));
    assert!(
        holds(&m, "LeaderAppendOnly", &stepped_down),
        "no longer leads"
    );
    // A follower that becomes leader with another log did not rewrite a leader's log.
    let mut elected = before.clone();
    elected.servers[1] = leader(3, &[3]);
    let mut from = before.clone();
    from.servers[1] = follower(2, &[1]);
    m.record_history(&from, &mut elected);
    assert!(holds(&m, "LeaderAppendOnly", &elected));
    assert!(elected.leaders.contains(&(3, 1)) && elected.leaders.contains(&(2, 0)));
    // The first rewrite is kept.
    let mut again = rewritten.clone();
    again.servers[0] = leader(2, &[2]);
    m.record_history(&rewritten, &mut again);
    assert_eq!(again.leader_log_rewritten, rewritten.leader_log_rewritten);
}

// ---------------------------------------------------------------------------------------
// The original witnesses.

#[test]
fn leader_elected_needs_a_leader_not_a_candidate() {
    let m = model();
    let mut s = state(vec![
        srv(1, Role::Candidate, &[], 0),
        follower(1, &[]),
        follower(0, &[]),
    ]);
    assert!(!holds(&m, "LeaderElected", &s));
    s.servers[1] = leader(1, &[]);
    assert!(holds(&m, "LeaderElected", &s));
    assert_eq!(explained(&m, "LeaderElected", &s), "n2 leads term 1");
}

#[test]
fn entry_committed_needs_a_recorded_commit() {
    let m = model();
    let mut s = state(vec![follower(1, &[1]); 3]);
    assert!(!holds(&m, "EntryCommitted", &s));
    s.committed.insert(1, commit(1, 1));
    assert!(holds(&m, "EntryCommitted", &s));
}

#[test]
fn later_term_commit_needs_two_commit_terms() {
    let m = model();
    let mut s = state(vec![follower(2, &[1, 2]); 3]);
    s.committed.insert(1, commit(1, 1));
    s.committed.insert(2, commit(1, 1));
    assert!(!holds(&m, "LaterTermCommit", &s), "one term");
    s.committed.insert(2, commit(2, 2));
    assert!(holds(&m, "LaterTermCommit", &s));
    assert_eq!(
        later_term_commit(&s),
        Some(((1, commit(1, 1)), (2, commit(2, 2))))
    );
    assert_eq!(
        explained(&m, "LaterTermCommit", &s),
        "index 1 committed in term 1, then index 2 in term 2"
    );
}

#[test]
fn restarted_server_catches_up_at_its_old_commit_index() {
    let m = model();
    let mut s = state(vec![srv(2, Role::Follower, &[1, 1], 1); 3]);
    s.restarted_commit.insert(1, 2);
    assert!(!holds(&m, "RestartedServerCatchesUp", &s), "one short");
    s.servers[1].commit_index = 2;
    assert!(holds(&m, "RestartedServerCatchesUp", &s), "exactly there");
    assert_eq!(caught_up(&s), Some((1, 2)));
}

// ---------------------------------------------------------------------------------------
// The behaviour-class witnesses.

#[test]
fn conflicting_entry_overwritten_needs_a_conflict_and_a_repairing_step() {
    let m = model();
    // n1 leads term 2 with [2, 2]; n2 holds a term-1 entry at index 1.
    let mut s = state(vec![
        leader(2, &[2, 2]),
        follower(1, &[1]),
        follower(2, &[]),
    ]);
    assert!(holds(&m, "ConflictingEntryOverwritten", &s));
    assert_eq!(conflict_overwritten(&m, &s), Some((0, 1, 1)));
    assert_eq!(
        explained(&m, "ConflictingEntryOverwritten", &s),
        "n1 (leader, term 2, log [2,2]) overwrites n2's conflicting term-1 entry at index 1 with its term-2 entry"
    );
    // A follower that appends without checking its previous entry keeps the conflict.
    let skip = with_bug(Bug::SkipPrevLogCheck);
    assert!(!holds(&skip, "ConflictingEntryOverwritten", &s));
    // ... but only a shorter follower: one as long as the leader's log has no next
    // entry to append blindly, and is repaired as usual.
    let mut level = s.clone();
    level.servers[0].log = vec![2];
    assert_eq!(conflict_overwritten(&skip, &level), Some((0, 1, 1)));
    // The conflict is found after a common prefix, and numbered 1-based.
    s.servers[0].log = vec![1, 2];
    s.servers[1].log = vec![1, 1];
    assert_eq!(conflict_overwritten(&m, &s), Some((0, 1, 2)));
    // No conflict: the follower's log extends the leader's.
    s.servers[1].log = vec![1, 2, 2];
    assert!(!holds(&m, "ConflictingEntryOverwritten", &s));
    // A stale leader's AppendEntries is refused.
    s.servers[1] = follower(3, &[1, 1]);
    assert!(!holds(&m, "ConflictingEntryOverwritten", &s));
    s.servers[0].role = Role::Candidate;
    s.servers[1] = follower(1, &[1, 1]);
    assert!(!holds(&m, "ConflictingEntryOverwritten", &s), "no leader");
}

#[test]
fn vote_refused_for_stale_log_needs_a_free_voter_with_a_better_log() {
    let m = model();
    let mut s = state(vec![
        srv(2, Role::Candidate, &[], 0),
        follower(1, &[1]),
        follower(1, &[]),
    ]);
    assert!(holds(&m, "VoteRefusedForStaleLog", &s));
    assert_eq!(vote_refused_for_log(&m, &s), Some((0, 1)));
    assert_eq!(
        explained(&m, "VoteRefusedForStaleLog", &s),
        "n2 (log [1]) refuses its vote to candidate n1 of term 2 (log []): the candidate's log is less up to date"
    );
    assert!(!holds(
        &with_bug(Bug::VoteWithoutLogCheck),
        "VoteRefusedForStaleLog",
        &s
    ));
    // Same last term, shorter log: refused.
    s.servers[0].log = vec![1];
    s.servers[1].log = vec![1, 1];
    assert!(holds(&m, "VoteRefusedForStaleLog", &s));
    // Same last term, same length: granted.
    s.servers[0].log = vec![1, 1];
    assert!(!holds(&m, "VoteRefusedForStaleLog", &s));
    // A later last term wins over length.
    s.servers[0].log = vec![2];
    assert!(!holds(&m, "VoteRefusedForStaleLog", &s));
    // A voter that already voted for another in the candidate's term refuses on terms,
    // which is not this witness.
    s.servers[0].log = vec![];
    s.servers[1] = Server {
        voted_for: Some(2),
        ..follower(2, &[1])
    };
    assert!(!holds(&m, "VoteRefusedForStaleLog", &s));
    s.servers[1].voted_for = None;
    assert!(
        holds(&m, "VoteRefusedForStaleLog", &s),
        "no vote yet in term 2"
    );
    // Only a candidate asks for votes.
    s.servers[0].role = Role::Follower;
    assert!(!holds(&m, "VoteRefusedForStaleLog", &s));
}

#[test]
fn stale_leader_steps_down_needs_a_higher_term_elsewhere() {
    let m = model();
    let mut s = state(vec![leader(1, &[1]), follower(1, &[]), follower(2, &[])]);
    assert!(holds(&m, "StaleLeaderStepsDown", &s));
    assert_eq!(stale_leader_steps_down(&m, &s), Some((0, 2, 2)));
    assert_eq!(
        explained(&m, "StaleLeaderStepsDown", &s),
        "n1 leads term 1 while n3 is in term 2; learning it, n1 steps down"
    );
    s.servers[2].current_term = 1;
    assert!(!holds(&m, "StaleLeaderStepsDown", &s), "same term");
    s.servers[2].current_term = 2;
    s.servers[0].role = Role::Follower;
    assert!(!holds(&m, "StaleLeaderStepsDown", &s), "not a leader");
}

#[test]
fn committed_entry_in_later_leader_needs_another_servers_earlier_commit() {
    let m = model();
    let mut s = state(vec![follower(2, &[1]), leader(2, &[1]), follower(2, &[1])]);
    s.committed.insert(1, commit(1, 1));
    s.leaders = [(1, 0), (2, 1)].into_iter().collect();
    assert!(holds(&m, "CommittedEntryInLaterLeader", &s));
    assert_eq!(
        committed_entry_in_later_leader(&s),
        Some((1, 1, commit(1, 1)))
    );
    assert_eq!(
        explained(&m, "CommittedEntryInLaterLeader", &s),
        "n2 leads term 2 and holds the term-1 entry committed at index 1 in term 1 by another leader"
    );
    s.servers[1].log = vec![2];
    assert!(!holds(&m, "CommittedEntryInLaterLeader", &s), "lacks it");
    s.servers[1].log = vec![1];
    s.leaders = [(1, 1), (2, 1)].into_iter().collect();
    assert!(
        !holds(&m, "CommittedEntryInLaterLeader", &s),
        "its own commit"
    );
    s.leaders = [(1, 0), (2, 1)].into_iter().collect();
    s.committed.insert(1, commit(1, 2));
    assert!(!holds(&m, "CommittedEntryInLaterLeader", &s), "same term");
    s.committed.insert(1, commit(1, 1));
    s.servers[1].role = Role::Follower;
    assert!(
        !holds(&m, "CommittedEntryInLaterLeader", &s),
        "not a leader"
    );
}

#[test]
fn earlier_term_entry_waits_needs_a_quorum_and_an_earlier_term() {
    let m = model();
    // n1 leads term 2 with a term-1 entry that n2 acknowledged: 2 of 3.
    let mut s = state(vec![leader(2, &[1]), follower(2, &[1]), follower(2, &[])]);
    s.servers[0].match_index = vec![0, 1, 0];
    assert!(holds(&m, "EarlierTermEntryWaits", &s));
    assert_eq!(earlier_term_entry_waits(&m, &s), Some((0, 1)));
    assert_eq!(
        explained(&m, "EarlierTermEntryWaits", &s),
        "n1 (leader, term 2) has its term-1 entry at index 1 on a quorum but may not commit it by counting replicas"
    );
    assert!(!holds(
        &with_bug(Bug::CommitPreviousTerm),
        "EarlierTermEntryWaits",
        &s
    ));
    // The leader's own acknowledgement slot does not count twice.
    s.servers[0].match_index = vec![1, 0, 0];
    assert!(!holds(&m, "EarlierTermEntryWaits", &s), "no quorum");
    s.servers[0].match_index = vec![0, 1, 0];
    s.servers[0].log = vec![2];
    assert!(!holds(&m, "EarlierTermEntryWaits", &s), "own term: commits");
    s.servers[0].log = vec![1];
    s.servers[0].commit_index = 1;
    assert!(!holds(&m, "EarlierTermEntryWaits", &s), "already committed");
    // The second entry, acknowledged past the first.
    s.servers[0].log = vec![1, 1];
    s.servers[0].match_index = vec![0, 2, 0];
    assert_eq!(earlier_term_entry_waits(&m, &s), Some((0, 2)));
}

#[test]
fn indirect_commit_needs_an_own_term_entry_after_it_in_the_same_term() {
    let m = model();
    let mut s = state(vec![follower(2, &[1, 2]); 3]);
    s.committed.insert(1, commit(1, 2));
    assert!(
        !holds(&m, "EarlierTermEntryCommittedIndirectly", &s),
        "alone"
    );
    s.committed.insert(2, commit(2, 2));
    assert!(holds(&m, "EarlierTermEntryCommittedIndirectly", &s));
    assert_eq!(indirect_commit(&s), Some((1, commit(1, 2), 2)));
    assert_eq!(
        explained(&m, "EarlierTermEntryCommittedIndirectly", &s),
        "the term-1 entry at index 1 was committed in term 2 with the term-2 entry at index 2"
    );
    s.committed.insert(2, commit(2, 3));
    assert!(
        !holds(&m, "EarlierTermEntryCommittedIndirectly", &s),
        "in another term"
    );
    s.committed.insert(2, commit(1, 2));
    assert!(
        !holds(&m, "EarlierTermEntryCommittedIndirectly", &s),
        "no own-term entry"
    );
    s.committed.insert(1, commit(2, 2));
    s.committed.insert(2, commit(2, 2));
    assert!(
        !holds(&m, "EarlierTermEntryCommittedIndirectly", &s),
        "nothing earlier"
    );
    // The own-term entry must come after the earlier one.
    s.committed.insert(2, commit(1, 2));
    assert!(
        !holds(&m, "EarlierTermEntryCommittedIndirectly", &s),
        "own-term entry before it"
    );
}

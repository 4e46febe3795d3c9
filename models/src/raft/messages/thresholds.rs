//! Threshold tests: for each safety property, a state at its boundary and a minimally
//! different one on the other side. A weakened property (a flipped comparison, an index
//! off by one, a constant verdict, the wrong field) turns one of them around.
//!
//! State properties are judged through [`crate::holds`], which looks the property up by
//! name in the model's table, so these tests check what the checker evaluates. Step
//! properties are judged on states whose history the recording functions
//! ([`record_step`], [`record_durability_order`]) filled from a hand-built step.

use super::properties::votes_for_another;
use super::*;
use impls::raft::core::Persist;

fn model() -> RaftMsgModel {
    RaftMsgModel::default()
}

fn holds(s: &RaftMsgState, name: &str) -> bool {
    crate::holds(&model(), name, s)
}

/// Entries of `(term, value)`.
fn entries(log: &[(Term, Value)]) -> Vec<Entry> {
    log.iter()
        .map(|&(term, v)| Entry {
            term,
            command: command(v),
        })
        .collect()
}

/// Server `id` restarted in `term` with `log` (and no vote): a follower.
fn follower(id: NodeId, term: Term, log: &[(Term, Value)]) -> Node {
    Node::restart(
        model().config(id),
        Durable {
            term,
            voted_for: None,
            snapshot: None,
            entries: entries(log),
        },
    )
}

/// Server `id` restarted with a snapshot of `upto` entries of `term`: its commit index is
/// `upto`.
fn compacted(id: NodeId, term: Term, upto: Index) -> Node {
    let applied: Vec<(Term, Value)> = (0..upto).map(|_| (term, 0)).collect();
    Node::restart(
        model().config(id),
        Durable {
            term,
            voted_for: None,
            snapshot: Some(Snapshot {
                last_index: upto,
                last_term: term,
                data: encode(&applied),
            }),
            entries: Vec::new(),
        },
    )
}

/// Server `id` made leader of `term` from `node` (whose term is `term - 1`): it times out
/// and gets the next server's vote, and appends its no-op.
fn elected(mut node: Node, term: Term) -> Node {
    let id = node.id();
    node.step(Input::Timeout);
    assert_eq!(node.term(), term, "the timeout starts term {term}");
    node.step(Input::Receive {
        from: (id + 1) % 3,
        message: Message::RequestVoteResponse {
            term,
            granted: true,
            pre_vote: false,
        },
    });
    assert_eq!(node.role(), Role::Leader, "one vote besides its own wins");
    node
}

/// Leader `id` of `term` with `log` before its no-op.
fn leader(id: NodeId, term: Term, log: &[(Term, Value)]) -> Node {
    elected(follower(id, term - 1, log), term)
}

/// The initial state with these nodes.
fn state(nodes: Vec<Node>) -> RaftMsgState {
    let mut s = model().init_states().remove(0);
    for (srv, node) in s.servers.iter_mut().zip(nodes) {
        srv.node = node;
    }
    s
}

/// The state after server `i` went from `before` to `after` in one step.
fn stepped(before: &Node, after: Node) -> RaftMsgState {
    let i = after.id();
    let mut nodes = vec![
        follower(0, 0, &[]),
        follower(1, 0, &[]),
        follower(2, 0, &[]),
    ];
    nodes[i as usize] = after;
    let mut s = state(nodes);
    record_step(before, &mut s, i);
    s
}

#[test]
fn election_safety_breaks_on_two_leaders_of_one_term() {
    let mut s = state(vec![
        follower(0, 1, &[]),
        follower(1, 1, &[]),
        follower(2, 1, &[]),
    ]);
    s.leaders = [(1, 0), (2, 1)].into_iter().collect();
    assert!(holds(&s, "ElectionSafety"));
    s.leaders = [(1, 0), (1, 1)].into_iter().collect();
    assert!(!holds(&s, "ElectionSafety"));
}

#[test]
fn log_matching_breaks_where_an_agreeing_entry_has_a_different_prefix() {
    let a = follower(0, 2, &[(1, 1), (2, 2)]);
    let same = follower(1, 2, &[(1, 1), (2, 2)]);
    let other_command = follower(1, 2, &[(1, 3), (2, 2)]);
    let other_term_at_top = follower(1, 2, &[(1, 1), (1, 2)]);
    assert!(holds(
        &state(vec![a.clone(), same, follower(2, 0, &[])]),
        "LogMatching"
    ));
    assert!(holds(
        &state(vec![a.clone(), other_term_at_top, follower(2, 0, &[])]),
        "LogMatching"
    ));
    assert!(!holds(
        &state(vec![a, other_command, follower(2, 0, &[])]),
        "LogMatching"
    ));
}

#[test]
fn leader_completeness_breaks_on_a_leader_of_a_later_term_without_the_entry() {
    let commit = Commit {
        entry_term: 1,
        value: 1,
        in_term: 1,
    };
    let with = |node: Node| {
        let mut s = state(vec![node, follower(1, 1, &[]), follower(2, 1, &[])]);
        s.committed.insert(1, commit);
        s
    };
    assert!(holds(&with(leader(0, 2, &[(1, 1)])), "LeaderCompleteness"));
    assert!(!holds(&with(leader(0, 2, &[(1, 2)])), "LeaderCompleteness"));
    assert!(!holds(&with(leader(0, 2, &[])), "LeaderCompleteness"));
    // Committed in the leader's own term: the leader is the one that committed it, and
    // the property says nothing (ElectionSafety and LogMatching do).
    let mut own = with(leader(0, 2, &[]));
    own.committed.insert(
        1,
        Commit {
            in_term: 2,
            ..commit
        },
    );
    assert!(holds(&own, "LeaderCompleteness"));
}

#[test]
fn state_machine_safety_breaks_on_an_entry_other_than_the_committed_one() {
    let mut s = state(vec![
        follower(0, 1, &[]),
        follower(1, 1, &[]),
        follower(2, 1, &[]),
    ]);
    s.committed.insert(
        1,
        Commit {
            entry_term: 1,
            value: 1,
            in_term: 1,
        },
    );
    s.servers[1].applied = vec![(1, 1)];
    assert!(holds(&s, "StateMachineSafety"));
    s.servers[2].applied = vec![(1, 2)];
    assert!(!holds(&s, "StateMachineSafety"));
    s.servers[2].applied = vec![(2, 1)];
    assert!(!holds(&s, "StateMachineSafety"));
    s.servers[2].applied.clear();
    s.broken.apply_out_of_order = Some((2, 1, 2));
    assert!(!holds(&s, "StateMachineSafety"));
}

#[test]
fn leader_append_only_breaks_when_a_leader_loses_an_entry_in_its_term() {
    let before = leader(0, 2, &[(1, 1)]);
    let mut grown = before.clone();
    grown.step(Input::Propose {
        command: command(2),
    });
    assert!(holds(&stepped(&before, grown), "LeaderAppendOnly"));
    assert!(!holds(
        &stepped(&before, leader(0, 2, &[])),
        "LeaderAppendOnly"
    ));
    assert!(!holds(
        &stepped(&before, leader(0, 2, &[(1, 3)])),
        "LeaderAppendOnly"
    ));
    // A new term is a new leader: its log may have been repaired while it followed.
    assert!(holds(
        &stepped(&before, leader(0, 3, &[])),
        "LeaderAppendOnly"
    ));
}

#[test]
fn commit_index_never_decreases_breaks_on_one_less() {
    let before = compacted(0, 1, 2);
    assert!(holds(
        &stepped(&before, compacted(0, 1, 2)),
        "CommitIndexNeverDecreases"
    ));
    assert!(!holds(
        &stepped(&before, compacted(0, 1, 1)),
        "CommitIndexNeverDecreases"
    ));
}

#[test]
fn match_index_never_decreases_within_term_breaks_on_one_less() {
    let l0 = leader(0, 1, &[]);
    let mut l1 = l0.clone();
    l1.step(Input::Receive {
        from: 1,
        message: Message::AppendEntriesResponse {
            term: 1,
            success: true,
            index: 1,
            round: 0,
        },
    });
    assert_eq!((l0.match_index(1), l1.match_index(1)), (Some(0), Some(1)));
    let name = "MatchIndexNeverDecreasesWithinTerm";
    assert!(holds(&stepped(&l0, l1.clone()), name));
    assert!(!holds(&stepped(&l1, l0), name));
    // In another term, a new leader starts from zero.
    assert!(holds(&stepped(&l1, leader(0, 2, &[(1, 0)])), name));
}

#[test]
fn leader_commits_only_current_term_by_counting_breaks_on_an_earlier_terms_entry() {
    let name = "LeaderCommitsOnlyCurrentTermByCounting";
    // Before: leader of term 2 with [1:v1, 2:noop], nothing committed.
    let before = leader(0, 2, &[(1, 1)]);
    // Counting up to its own no-op is the rule.
    let mut own = before.clone();
    own.step(Input::Receive {
        from: 1,
        message: Message::AppendEntriesResponse {
            term: 2,
            success: true,
            index: 2,
            round: 0,
        },
    });
    assert_eq!(own.commit_index(), 2);
    assert!(holds(&stepped(&before, own), name));
    // A leader of term 2 whose commit index is 1, a term-1 entry.
    let old = elected(compacted(0, 1, 1), 2);
    assert_eq!((old.commit_index(), old.term_at(1)), (1, Some(1)));
    assert!(!holds(&stepped(&before, old), name));
}

#[test]
fn leader_never_votes_for_another_breaks_on_a_leader_with_another_vote() {
    let name = "LeaderNeverVotesForAnother";
    let l = leader(0, 1, &[]);
    assert_eq!(l.voted_for(), Some(0));
    assert!(holds(
        &state(vec![l, follower(1, 1, &[]), follower(2, 1, &[])]),
        name
    ));
    // A leader's vote cannot be set from outside the node, so the verdict's rule is
    // checked on its own at the boundary.
    assert!(!votes_for_another(0, Role::Leader, Some(0)));
    assert!(votes_for_another(0, Role::Leader, Some(1)));
    assert!(votes_for_another(0, Role::Leader, None));
    assert!(!votes_for_another(0, Role::Follower, Some(1)));
}

#[test]
fn durable_before_send_breaks_on_a_send_before_a_persist() {
    let persist = Effect::Persist(Persist::HardState {
        term: 1,
        voted_for: Some(0),
    });
    let send = Effect::Send {
        to: 1,
        message: Message::RequestVote {
            term: 1,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
        },
    };
    let mut s = state(vec![
        follower(0, 0, &[]),
        follower(1, 0, &[]),
        follower(2, 0, &[]),
    ]);
    record_durability_order(&mut s.broken, 0, &[persist.clone(), send.clone()]);
    assert!(holds(&s, "DurableBeforeSend"));
    record_durability_order(&mut s.broken, 0, &[send, persist]);
    assert!(!holds(&s, "DurableBeforeSend"));
    assert_eq!(s.broken.send_before_persist, Some((0, 0, 1)));
}

#[test]
fn snapshot_data_round_trips() {
    let applied = vec![(1, 0), (1, 1), (2, 0)];
    assert_eq!(decode(&encode(&applied)), applied);
    assert_eq!(value_of(&command(3)), 3);
    assert_eq!(value_of(&command(0)), 0);
}

//! Unit tests of the Raft model: pinned state counts, the paper's Figure 8, restarts.

use super::symmetry::permutations;
use super::*;
use crate::Protocol;
use stateright::Checker;

/// Small enough for a debug build, large enough to reach every `sometimes` property.
fn small() -> RaftModel {
    RaftModel {
        servers: 3,
        max_term: 2,
        max_log: 2,
        bug: None,
    }
}

#[test]
fn representative_is_canonical_across_renamings() {
    let model = RaftModel::default();
    let s0 = &model.init_states()[0];
    let s1 = model.next_state(s0, RaftAction::Timeout(2)).unwrap();
    let s2 = model
        .next_state(
            &s1,
            RaftAction::BecomeLeader {
                candidate: 2,
                voters: vec![0, 2],
            },
        )
        .unwrap();
    for perm in permutations(3) {
        assert_eq!(s2.renamed(&perm).representative(), s2.representative());
    }
}

#[test]
fn state_counts_are_pinned_and_agree_across_strategies() {
    // A changed count is a question for review: it means the model changed. The runs are
    // capped far above their real size so that a model whose state space blows up fails
    // here in seconds instead of running for hours (cargo-mutants made many such models).
    let checker = || {
        small()
            .checker()
            .threads(2)
            .target_state_count(GENERATED_CAP)
    };
    let dfs = checker().spawn_dfs().join();
    let bfs = checker().spawn_bfs().join();
    let sym = checker().symmetry().spawn_dfs().join();
    for generated in [dfs.state_count(), bfs.state_count(), sym.state_count()] {
        assert!(generated < GENERATED_CAP, "the state space blew up");
    }
    dfs.assert_properties();
    sym.assert_properties();
    assert_eq!(dfs.unique_state_count(), bfs.unique_state_count());
    assert_eq!(dfs.unique_state_count(), PLAIN_3_2_2);
    assert_eq!(sym.unique_state_count(), SYMMETRIC_3_2_2);
}

/// Unique states of 3 servers, max term 2, max log 2.
const PLAIN_3_2_2: usize = 302_483;
/// The same with symmetry reduction over servers.
const SYMMETRIC_3_2_2: usize = 50_741;
/// Generated (not unique) states at which those runs stop: about 4 times the plain runs'
/// 1,297,069, so that only a model that grew does.
const GENERATED_CAP: usize = 5_000_000;

#[test]
fn figure_8_of_the_paper_is_reached_with_the_buggy_commit_rule() {
    // Figure 8 on three servers: n1 leads term 1 and writes a term-1 entry; n2 leads
    // term 2; n1 comes back in term 3, copies its entry to n3 and, counting replicas,
    // commits it. n2 restarts, wins term 4 with its term-2 entry, and lacks it.
    let model = RaftModel {
        bug: Some(Bug::CommitPreviousTerm),
        ..RaftModel::default()
    };
    use RaftAction::*;
    let elect = |c, v: [usize; 2]| BecomeLeader {
        candidate: c,
        voters: v.to_vec(),
    };
    let append = |l, f| AppendEntries {
        leader: l,
        follower: f,
    };
    #[rustfmt::skip]
    let steps = vec![
        Timeout(0), elect(0, [0, 1]),
        Timeout(1), elect(1, [1, 2]),
        ClientRequest(0), append(1, 0),
        Timeout(0), elect(0, [0, 2]), append(0, 2),
        AdvanceCommit { leader: 0, index: 1 },
        ClientRequest(1), Restart(1), Timeout(1), Timeout(1), elect(1, [0, 1]),
    ];
    let mut s = model.init_states().remove(0);
    for a in steps {
        let mut enabled = Vec::new();
        model.actions(&s, &mut enabled);
        assert!(enabled.contains(&a), "{a:?} not enabled in {s:?}");
        s = model.next_state(&s, a).unwrap();
    }
    assert_eq!(
        model.explain("LeaderCompleteness", &s),
        vec!["n2 leads term 4 with log [2], which lacks the term-1 entry committed at index 1 in term 3"]
    );
    // The correct commit rule refuses step 10: the entry is not from the leader's term.
    let correct = RaftModel::default();
    let mut s = correct.init_states().remove(0);
    #[rustfmt::skip]
    let prefix = vec![
        Timeout(0), elect(0, [0, 1]), Timeout(1), elect(1, [1, 2]),
        ClientRequest(0), append(1, 0), Timeout(0), elect(0, [0, 2]), append(0, 2),
    ];
    for a in prefix {
        s = correct.next_state(&s, a).unwrap();
    }
    let mut enabled = Vec::new();
    correct.actions(&s, &mut enabled);
    assert!(!enabled.contains(&AdvanceCommit {
        leader: 0,
        index: 1
    }));
}

#[test]
fn restart_keeps_persistent_state_and_loses_volatile_state() {
    let srv = Server {
        current_term: 3,
        voted_for: Some(1),
        log: vec![1, 3],
        role: Role::Leader,
        commit_index: 2,
        match_index: vec![2, 2, 1],
    };
    let after = RaftModel::default().restart(&srv);
    assert_eq!(
        (after.current_term, after.voted_for, &after.log),
        (3, Some(1), &vec![1, 3])
    );
    assert_eq!((after.role, after.commit_index), (Role::Follower, 0));
    assert!(
        after.match_index.is_empty(),
        "matchIndex is volatile leader state"
    );
    let buggy = RaftModel {
        bug: Some(Bug::ForgetVoteOnRestart),
        ..RaftModel::default()
    };
    assert_eq!(buggy.restart(&srv).voted_for, None);
}

#[test]
fn every_variant_has_a_distinct_name_that_round_trips() {
    for bug in Bug::ALL {
        assert_eq!(Bug::from_name(bug.variant().name), Some(bug));
    }
    assert_eq!(Bug::from_name("nosuch"), None);
}

proptest::proptest! {
    /// Symmetry reduction is sound only if renaming servers changes no property's verdict
    /// and maps every state of a class to one representative. Random walks through every
    /// variant (buggy states included) check both.
    #[test]
    fn renaming_servers_preserves_properties_and_the_representative(
        variant in 0usize..=Bug::ALL.len(),
        choices in proptest::collection::vec(0usize..1000, 0..40),
        perm in 0usize..6,
    ) {
        let model = RaftModel {
            bug: Bug::ALL.get(variant).copied(),
            ..RaftModel::default()
        };
        let mut s = model.init_states().remove(0);
        for c in choices {
            let mut enabled = Vec::new();
            model.actions(&s, &mut enabled);
            if enabled.is_empty() {
                break;
            }
            let a = enabled.swap_remove(c % enabled.len());
            s = model.next_state(&s, a).unwrap();
        }
        let renamed = s.renamed(&permutations(3)[perm]);
        proptest::prop_assert_eq!(renamed.representative(), s.representative());
        for p in model.properties() {
            proptest::prop_assert_eq!(
                (p.condition)(&model, &s),
                (p.condition)(&model, &renamed),
                "{}", p.name
            );
        }
    }
}

#[test]
fn a_leader_commits_on_acknowledgements_not_on_what_logs_hold() {
    // Found in review: n2 holds n1's entry (from another leader's replication, say) but
    // never acknowledged it to n1, so it must not count towards n1's quorum. Counting it
    // let a 5-server model commit an entry that a later leader lacked.
    let model = RaftModel::default();
    let mut s = model.init_states().remove(0);
    for a in [
        RaftAction::Timeout(0),
        RaftAction::BecomeLeader {
            candidate: 0,
            voters: vec![0, 1],
        },
        RaftAction::ClientRequest(0),
    ] {
        s = model.next_state(&s, a).unwrap();
    }
    s.servers[1].log = vec![1];
    assert!(
        !model.can_commit(&s, 0, 1),
        "n2 has not acknowledged index 1"
    );
    let s = model
        .next_state(
            &s,
            RaftAction::AppendEntries {
                leader: 0,
                follower: 1,
            },
        )
        .expect("the round trip teaches n1 that n2 matches");
    assert_eq!(s.servers[0].match_index, vec![0, 1, 0]);
    assert!(model.can_commit(&s, 0, 1));
}

/// The diagram's lanes, actors and arrows name only servers, and a won election is a
/// vote from every other voter to the winner.
#[test]
fn arrows_join_servers() {
    use crate::{Arrow, ArrowKind, Protocol};
    let model = RaftModel::default();
    let [exchanges, sends, delivers, loses] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert!(exchanges > 0);
    assert_eq!(
        (sends, delivers, loses),
        (0, 0, 0),
        "every exchange is atomic"
    );
    let s = model.init_states().remove(0);
    let s = model.next_state(&s, RaftAction::Timeout(0)).unwrap();
    let win = RaftAction::BecomeLeader {
        candidate: 0,
        voters: vec![0, 1, 2],
    };
    let next = model.next_state(&s, win.clone()).unwrap();
    assert_eq!(model.actor(&s, &win).as_deref(), Some("n1"));
    assert_eq!(
        model.arrows(&s, &win, &next),
        vec![
            Arrow::new("n2", "n1", "vote, term 1", ArrowKind::Exchange),
            Arrow::new("n3", "n1", "vote, term 1", ArrowKind::Exchange),
        ]
    );
}

#[test]
fn a_quorum_is_a_strict_majority() {
    // Only 3 servers are explored by default, where `n / 2 + 1` and `n % 2 + 1` agree.
    let quorum = |servers| {
        RaftModel {
            servers,
            ..RaftModel::default()
        }
        .quorum()
    };
    assert_eq!((1..=5).map(quorum).collect::<Vec<_>>(), vec![1, 2, 2, 3, 3]);
}

/// The action table promises that an AppendEntries round trip is enabled only if it
/// changes the follower or the leader's `matchIndex`; a no-op would be a self-loop that no
/// state count notices.
#[test]
fn an_append_entries_round_trip_that_changes_nothing_is_not_enabled() {
    let model = RaftModel::default();
    let mut s = model.init_states().remove(0);
    for a in [
        RaftAction::Timeout(0),
        RaftAction::BecomeLeader {
            candidate: 0,
            voters: vec![0, 1],
        },
        RaftAction::ClientRequest(0),
        RaftAction::AppendEntries {
            leader: 0,
            follower: 1,
        },
    ] {
        s = model.next_state(&s, a).unwrap();
    }
    let again = RaftAction::AppendEntries {
        leader: 0,
        follower: 1,
    };
    assert_eq!(s.servers[0].match_index, vec![0, 1, 0]);
    assert!(model.append_entries(&s, 0, 1).is_none());
    let mut enabled = Vec::new();
    model.actions(&s, &mut enabled);
    assert!(!enabled.contains(&again));
    // Once the leader has committed, the same heartbeat carries news: enabled again.
    let s = model
        .next_state(
            &s,
            RaftAction::AdvanceCommit {
                leader: 0,
                index: 1,
            },
        )
        .unwrap();
    let (f, matched) = model.append_entries(&s, 0, 1).expect("commitIndex news");
    assert_eq!((f.commit_index, matched), (1, 1));
}

#[test]
fn the_explorer_names_actions_and_steps_in_protocol_words() {
    let model = RaftModel::default();
    let s = model.init_states().remove(0);
    assert_eq!(model.format_action(&RaftAction::Timeout(0)), "n1 times out");
    let step = model
        .format_step(&s, RaftAction::Timeout(0))
        .expect("a timeout is a step");
    assert!(
        step.starts_with("n1 times out and starts an election for term 1\n\n"),
        "{step}"
    );
    assert!(step.contains("n1.currentTerm = 1\n"), "{step}");
    assert!(step.contains("n1.role = candidate\n"), "{step}");
    // A step the model refuses has no view: a heartbeat to a follower that has nothing
    // to learn.
    let elected = [
        RaftAction::Timeout(0),
        RaftAction::BecomeLeader {
            candidate: 0,
            voters: vec![0, 1],
        },
    ]
    .into_iter()
    .fold(s, |s, a| model.next_state(&s, a).unwrap());
    let refused = RaftAction::AppendEntries {
        leader: 0,
        follower: 1,
    };
    assert_eq!(model.format_step(&elected, refused), None);
}

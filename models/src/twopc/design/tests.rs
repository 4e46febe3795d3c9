//! The design model's properties hold, its interesting states are reached, every bug
//! variant breaks a property it claims in a pinned number of steps, and the cores' bug
//! switches and the model's variants are the same list.

use super::*;
use impls::sansio::BugSwitches;
use stateright::{Checker, HasDiscoveries};
use std::time::Instant;

// The default bounds' state count and witnesses are held to `PIN` by
// `crate::coverage::tests`. The model of the design before it ran the implementation's
// cores had 128,003 states, and each trace below one step more: there the coordinator
// counted the last yes vote and decided in two steps, where the core decides on the vote
// that completes the count.

/// The shortest counterexample of each variant, in steps, and the property it breaks.
const SHORTEST: [(Bug, &str, usize); 4] = [
    (Bug::CommitWithoutAllVotes, "Validity", 4),
    (Bug::AbortAfterPrepared, "Atomicity", 9),
    (Bug::DecideBeforeLogging, "Stability", 9),
    (Bug::NoPrepareRecord, "Atomicity", 11),
];

/// The shortest run in which a coordinator that stays down blocks a participant.
const BLOCKING: usize = 5;

fn with(bug: Bug) -> TwoPcModel {
    TwoPcModel {
        bug: Some(bug),
        ..TwoPcModel::default()
    }
}

/// The length of the shortest path to a state that breaks one of `breaks`, by iterative
/// deepening (stateright's BFS does not always report the shortest), and the property.
fn shortest(model: TwoPcModel, breaks: &[&'static str]) -> (usize, &'static str) {
    for depth in 2..40 {
        let checker = model
            .clone()
            .checker()
            .threads(2)
            .target_max_depth(depth)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        for &p in breaks {
            if let Some(path) = checker.discovery(p) {
                return (path.into_actions().len(), p);
            }
        }
    }
    panic!("no counterexample within 38 steps");
}

#[test]
fn every_variant_breaks_a_property_it_claims_in_the_pinned_number_of_steps() {
    for (bug, property, steps) in SHORTEST {
        let start = Instant::now();
        let found = shortest(with(bug), variant(bug).breaks);
        eprintln!("{bug:?}: {found:?} in {:?}", start.elapsed());
        assert_eq!(found, (steps, property), "{bug:?}");
    }
}

#[test]
fn each_safety_property_has_a_variant_that_breaks_it() {
    for p in TwoPcModel::default().properties() {
        if p.expectation == stateright::Expectation::Always {
            assert!(
                VARIANTS.iter().any(|v| v.breaks.contains(&p.name)),
                "nothing breaks {}",
                p.name
            );
        }
    }
}

#[test]
fn the_variants_are_the_cores_bug_switches_in_order() {
    assert_eq!(VARIANTS.len(), Bug::ALL.len());
    for (v, &bug) in VARIANTS.iter().zip(Bug::ALL) {
        assert_eq!((v.name, v.summary), (bug.name(), bug.switch().summary));
        assert_eq!(variant(bug), *v);
        assert_eq!(Bug::from_name(v.name), Some(bug));
    }
    let names: Vec<&str> = VARIANTS.iter().map(|v| v.name).collect();
    assert_eq!(
        names,
        [
            "commit-without-all-votes",
            "abort-after-prepared",
            "decide-before-logging",
            "no-prepare-record"
        ]
    );
}

#[test]
fn messages_round_trip_through_their_bits() {
    for i in 0..KINDS * MAX_PARTICIPANTS {
        let m = Msg::from_index(i);
        assert_eq!(m.bit(), 1 << i, "{m:?}");
        assert_eq!(Msg::of(m.participant(), &m.wire()), Some(m));
    }
}

#[test]
fn only_the_ordering_bug_crashes_mid_step() {
    // Every other core keeps the durability rule on every step (the model asserts it), so
    // a crash in the middle of a step would add nothing.
    for bug in [None].into_iter().chain(Bug::ALL.iter().copied().map(Some)) {
        let model = TwoPcModel {
            bug,
            ..TwoPcModel::default()
        };
        assert_eq!(
            model.crashes_mid_step(),
            bug == Some(Bug::DecideBeforeLogging),
            "{bug:?}"
        );
    }
}

fn termination(mode: Termination, crashes: u8, drops: u8) -> TwoPcModel {
    TwoPcModel {
        crashes,
        drops,
        termination: mode,
        ..TwoPcModel::default()
    }
}

#[test]
fn every_participant_decides_while_the_coordinator_always_recovers() {
    // The contrast that gives the blocking finding its meaning: with crashes, losses and
    // recoveries, every maximal run still ends with every promise resolved.
    for (crashes, drops) in [(0, 0), (1, 1), (2, 1)] {
        let checker = termination(Termination::CoordinatorRecovers, crashes, drops)
            .checker()
            .threads(2)
            .spawn_dfs()
            .join();
        assert!(
            checker.discoveries().is_empty(),
            "crashes {crashes}, drops {drops}: {:?}",
            checker.discoveries().keys()
        );
    }
}

#[test]
fn a_coordinator_that_stays_down_blocks_a_prepared_participant() {
    let model = termination(Termination::CoordinatorMayStayDown, 1, 0);
    let checker = model
        .clone()
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    let path = checker
        .discovery("EveryParticipantDecides")
        .expect("2PC blocks");
    let last = path.last_state();
    assert!(last.gone);
    assert!((0..model.participants).any(|p| last.participant_tx(p) == ParticipantTx::Prepared));
    let (steps, _) = shortest(model.clone(), &["EveryParticipantDecides"]);
    assert_eq!(steps, BLOCKING);
}

/// The diagram's lanes, actors and arrows name only the coordinator and participants;
/// messages wait in the network, so there are sends and deliveries, and losses.
#[test]
fn arrows_join_coordinator_and_participants() {
    use crate::{Arrow, ArrowKind, Protocol};
    let model = TwoPcModel::default();
    let [_, sends, delivers, loses] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert!(sends > 0 && delivers > 0 && loses > 0);
    let s = model.init_states().remove(0);
    let next = model.next_state(&s, TwoPcAction::Begin).unwrap();
    assert_eq!(
        model.arrows(&s, &TwoPcAction::Begin, &next),
        (1..=3)
            .map(|i| Arrow::new("coord", format!("p{i}"), "Prepare", ArrowKind::Send))
            .collect::<Vec<_>>()
    );
    let deliver = TwoPcAction::Step(Step::Deliver(Msg::Prepare(0)));
    let after = model.next_state(&next, deliver).unwrap();
    assert_eq!(
        model.arrows(&next, &deliver, &after),
        vec![
            Arrow::new("coord", "p1", "Prepare", ArrowKind::Deliver),
            Arrow::new("p1", "coord", "Vote(yes)", ArrowKind::Send),
        ]
    );
    assert_eq!(model.actor(&next, &deliver).as_deref(), Some("p1"));
}

/// The initial state of the default model with the history variables `ghost`: threshold
/// tests judge the properties on these alone.
fn with_history(ghost: Ghost) -> (TwoPcModel, TwoPcState) {
    let m = TwoPcModel::default();
    let mut s = m.init_states().remove(0);
    s.ghost = ghost;
    (m, s)
}

const P1: Set = 0b001;
const P2: Set = 0b010;
const ALL: Set = 0b111;

#[test]
fn atomicity_breaks_on_one_commit_beside_one_abort_or_one_unapplied_commit() {
    let holds = |g| {
        let (m, s) = with_history(g);
        crate::holds(&m, "Atomicity", &s)
    };
    let committed = |c, aborted, unapplied| Ghost {
        committed: c,
        aborted,
        unapplied,
        ..Ghost::default()
    };
    assert!(holds(committed(ALL, 0, 0)), "everyone committed");
    assert!(holds(committed(0, ALL, 0)), "everyone aborted");
    assert!(
        holds(committed(P1, 0, 0)),
        "one committed, the rest undecided"
    );
    assert!(
        !holds(committed(P1, P2, 0)),
        "p1 committed while p2 aborted"
    );
    assert!(
        !holds(committed(P1, 0, P2)),
        "p2 acknowledged Commit without applying it"
    );
    assert!(
        holds(committed(0, 0, P2)),
        "no commit: nothing to contradict"
    );
}

#[test]
fn validity_breaks_on_a_commit_that_one_participant_never_voted_for() {
    let holds = |committed, voted_yes| {
        let (m, s) = with_history(Ghost {
            committed,
            voted_yes,
            ..Ghost::default()
        });
        crate::holds(&m, "Validity", &s)
    };
    assert!(holds(P1, ALL));
    assert!(!holds(P1, ALL & !P2), "p2 never voted yes");
    assert!(!holds(ALL, 0));
    assert!(holds(0, 0), "nothing committed, nothing to justify");
    assert!(holds(0, P1));
}

#[test]
fn stability_breaks_only_when_the_coordinator_decided_both_ways() {
    let holds = |decided_commit, decided_abort| {
        let (m, s) = with_history(Ghost {
            decided_commit,
            decided_abort,
            ..Ghost::default()
        });
        crate::holds(&m, "Stability", &s)
    };
    assert!(holds(false, false));
    assert!(holds(true, false));
    assert!(holds(false, true));
    assert!(!holds(true, true));
}

#[test]
fn the_witnesses_read_their_history_and_the_timeout_witness_excludes_other_causes() {
    let m = TwoPcModel::default();
    let witness = |name, s: &TwoPcState| crate::holds(&m, name, s);
    let (_, mut s) = with_history(Ghost {
        voted_yes: P1,
        aborted: P1,
        ..Ghost::default()
    });
    assert!(witness("TimeoutAbortsPrepared", &s));
    assert_eq!(m.timeout_aborted_prepared(&s), P1);
    s.crashes_left -= 1;
    assert!(
        !witness("TimeoutAbortsPrepared", &s),
        "a crash may explain it"
    );
    s.crashes_left += 1;
    s.short = P2;
    assert!(
        !witness("TimeoutAbortsPrepared", &s),
        "a no vote explains it"
    );
    s.short = 0;
    s.ghost.aborted = P2;
    assert!(!witness("TimeoutAbortsPrepared", &s), "p2 never voted yes");
    for (name, ghost) in [
        (
            "PreparedSurvivesCrash",
            Ghost {
                recovered_prepared: P2,
                ..Ghost::default()
            },
        ),
        (
            "LostAckReacknowledged",
            Ghost {
                reacknowledged: P1,
                ..Ghost::default()
            },
        ),
    ] {
        assert!(witness(name, &with_history(ghost).1), "{name}");
        assert!(!witness(name, &with_history(Ghost::default()).1), "{name}");
    }
}

#[test]
fn members_lists_a_sets_participants_in_order_within_the_count() {
    assert_eq!(members(0b101, 3).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(members(0b111, 2).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(members(0, 4).count(), 0);
}

/// Takes `actions` from the default model's initial state, each of which must be enabled.
fn run(m: &TwoPcModel, actions: &[TwoPcAction]) -> TwoPcState {
    let mut s = m.init_states().remove(0);
    for &a in actions {
        let mut enabled = Vec::new();
        m.actions(&s, &mut enabled);
        assert!(enabled.contains(&a), "{a:?} not enabled");
        s = m
            .next_state(&s, a)
            .unwrap_or_else(|| panic!("{a:?} changed nothing"));
    }
    s
}

#[test]
fn a_down_participant_is_where_its_durable_records_put_it() {
    use TwoPcAction::*;
    let m = TwoPcModel::default();
    let prepare = |p| Step(super::Step::Deliver(Msg::Prepare(p)));
    // p1 votes yes (prepare record durable), then crashes: it recovers in doubt.
    let s = run(&m, &[Begin, prepare(0), Crash(0)]);
    assert!(!s.is_up(NodeId::Participant(0)));
    assert!(s.is_up(NodeId::Participant(1)));
    assert_eq!(s.participant_tx(0), ParticipantTx::Prepared);
    assert_eq!(s.participant_tx(1), ParticipantTx::Unknown);
    // p2 never heard of tx1 when it crashed.
    let s = run(&m, &[Begin, Crash(1)]);
    assert_eq!(s.participant_tx(1), ParticipantTx::Unknown);
    // p1 prepared and learnt Abort, then crashed: its Decided record wins.
    let abort = Step(super::Step::Deliver(Msg::Decision(0, Decision::Abort)));
    let s = run(
        &m,
        &[
            Begin,
            prepare(0),
            Step(super::Step::Tick(NodeId::Coordinator)),
            abort,
            Crash(0),
        ],
    );
    assert_eq!(s.participant_tx(0), ParticipantTx::Decided(Decision::Abort));
}

#[test]
fn the_coordinators_progress_is_known_only_while_it_is_up() {
    use TwoPcAction::*;
    let m = TwoPcModel::default();
    let s = run(&m, &[Begin]);
    assert!(matches!(
        s.coordinator_tx(),
        Some(CoordinatorTx::Preparing { .. })
    ));
    assert!(s.is_up(NodeId::Coordinator));
    let s = run(&m, &[Begin, CrashCoordinator]);
    assert_eq!(s.coordinator_tx(), None);
    assert!(!s.is_up(NodeId::Coordinator));
}

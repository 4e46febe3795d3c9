//! The vector-clock model: the correct clock passes both properties and reaches both
//! witnesses; each variant breaks a property it claims in a pinned number of steps.

use super::*;
use crate::Protocol;
use stateright::{Checker, HasDiscoveries};

/// The shortest counterexample of each variant, in steps, and the property it breaks.
const SHORTEST: [(Bug, &str, usize); 4] = [
    (Bug::ReceiveWithoutMerge, "StampIsCausalPast", 2),
    (Bug::ReceiveWithoutIncrement, "StampIsCausalPast", 2),
    (Bug::SendWithoutIncrement, "StampIsCausalPast", 1),
    (Bug::HappensBeforeAllowsEqual, "OrderIsCausality", 1),
];

fn with(bug: Bug) -> VclockModel {
    VclockModel {
        bug: Some(bug),
        ..VclockModel::default()
    }
}

/// The shortest path to a state breaking one of `breaks`, by iterative deepening.
fn shortest(model: VclockModel, breaks: &[&'static str]) -> (Vec<Action>, &'static str) {
    for depth in 2..20 {
        let checker = model
            .clone()
            .checker()
            .threads(1)
            .target_max_depth(depth)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        for &p in breaks {
            if let Some(path) = checker.discovery(p) {
                return (path.into_actions(), p);
            }
        }
    }
    panic!("no counterexample within 18 steps");
}

#[test]
fn every_variant_breaks_a_property_it_claims_in_the_pinned_number_of_steps() {
    for (bug, property, steps) in SHORTEST {
        let (path, found) = shortest(with(bug), variant(bug).breaks);
        assert_eq!((path.len(), found), (steps, property), "{bug:?}: {path:?}");
    }
}

#[test]
fn a_receive_without_merge_reads_as_the_protocol_would_say_it() {
    let m = with(Bug::ReceiveWithoutMerge);
    let (path, _) = shortest(m.clone(), &["StampIsCausalPast"]);
    let mut s = m.init_states().remove(0);
    let mut words = Vec::new();
    for a in path {
        words.push(m.describe_action(&s, &a));
        s = m.next_state(&s, a).unwrap();
    }
    // Which two processes the checker picks is its business; the words are the protocol's.
    let [send, receive] = &words[..] else {
        panic!("{words:?}")
    };
    let (p, q) = (&send[..2], &send[send.len() - 2..]);
    assert_eq!(*send, format!("{p} sends m{}.1 {{{p}:1}} to {q}", &p[1..]));
    assert_eq!(
        *receive,
        format!(
            "{q} receives m{}.1 {{{p}:1}} from {p} without merging -> {{{q}:1}}",
            &p[1..]
        )
    );
    let why = m.explain("StampIsCausalPast", &s).join("\n");
    assert!(
        why.contains(&format!("{q}.1 is stamped {{{q}:1}}, but its causal past"))
            && why.contains(&format!("holds 1 event(s) of {p}: entry {p} is 0, not 1")),
        "{why}"
    );
}

#[test]
fn each_safety_property_has_a_variant_that_breaks_it() {
    for p in VclockModel::default().properties() {
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
    let names: Vec<&str> = VARIANTS.iter().map(|v| v.name).collect();
    let switches: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
    assert_eq!(names, switches);
}

/// The thresholds of the properties: one event more or less in a stamp, or one ordering
/// flipped, is caught; the exact count is not.
#[test]
fn the_properties_hold_exactly_at_the_truth() {
    let m = VclockModel::default();
    let s0 = m.init_states().remove(0);
    let s1 = m.next_state(&s0, Action::Send { from: 0, to: 1 }).unwrap();
    let s2 = m
        .next_state(
            &s1,
            Action::Receive {
                to: 1,
                from: 0,
                sent_as: 0,
            },
        )
        .unwrap();
    assert!(crate::holds(&m, "StampIsCausalPast", &s2));
    assert!(crate::holds(&m, "OrderIsCausality", &s2));
    for delta in [-1i64, 1] {
        let mut bad = s2.clone();
        let stamp = &mut bad.hist[1][0].stamp;
        let counts: Vec<(u8, u64)> = stamp.counters().map(|(p, n)| (*p, n)).collect();
        *stamp = counts
            .into_iter()
            .map(|(p, n)| {
                if p == 0 {
                    (p, (n as i64 + delta) as u64)
                } else {
                    (p, n)
                }
            })
            .collect();
        assert!(!crate::holds(&m, "StampIsCausalPast", &bad), "{delta}");
    }
    // The receive's stamp made equal to the send's: equal clocks for different events.
    let mut same = s2.clone();
    same.hist[1][0].stamp = same.hist[0][0].stamp.clone();
    assert!(!crate::holds(&m, "OrderIsCausality", &same));
}

#[test]
fn the_witnesses_are_reached_by_the_correct_clock() {
    let checker = VclockModel {
        processes: 3,
        events: 2,
        bug: None,
    }
    .checker()
    .threads(1)
    .spawn_bfs()
    .join();
    checker.assert_properties();
    assert!(checker.discovery("ConcurrentEvents").is_some());
    assert!(checker.discovery("TransitiveDependency").is_some());
    // The shortest: p1 sends to p2, p2 receives, p2 sends to p3, p3 receives.
    let first = (2..10)
        .find(|&depth| {
            VclockModel::default()
                .checker()
                .threads(1)
                .target_max_depth(depth)
                .spawn_bfs()
                .join()
                .discovery("TransitiveDependency")
                .is_some()
        })
        .unwrap();
    assert_eq!(first - 2, 4, "steps to the first transitive dependency");
}

#[test]
fn the_arrows_name_the_lanes() {
    let kinds = crate::testing::arrows_name_lanes(&VclockModel::default(), 20_000);
    assert!(kinds[1] > 0 && kinds[2] > 0, "{kinds:?}");
}

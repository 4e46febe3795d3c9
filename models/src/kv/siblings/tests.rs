//! The multi-value model: the correct mode holds, and each bug breaks its property with
//! a shortest trace that reads as the bug.

use super::*;
use crate::Protocol;
use stateright::Checker;

/// The shortest counterexample to `property` under `bug`, by iterative deepening (the
/// first depth with one is the shortest), as the words of its steps and its explanation.
fn shortest(bug: siblings::Bug, property: &'static str) -> (Vec<String>, Vec<String>) {
    // One client with three operations holds all three bugs in a space of under 100,000
    // states (two concurrent blind puts need no second client).
    let m = SiblingsModel {
        clients: 1,
        ops: 3,
        total_ops: 3,
        bug: Some(bug),
        ..SiblingsModel::default()
    };
    let path = (2..16)
        .find_map(|d| {
            m.clone()
                .checker()
                .threads(1)
                .target_max_depth(d)
                .spawn_bfs()
                .join()
                .discovery(property)
        })
        .unwrap_or_else(|| panic!("{bug:?} does not break {property}"));
    let mut s = m.init_states().remove(0);
    let mut words = Vec::new();
    for a in path.into_actions() {
        words.push(m.describe_action(&s, &a));
        s = m.next_state(&s, a).expect("the trace replays");
    }
    (words, m.explain(property, &s))
}

#[test]
fn lww_wall_clock_loses_a_concurrent_put() {
    let (steps, why) = shortest(siblings::Bug::LwwWallClock, "NoLostUpdate");
    assert!(why[0].starts_with("lost update"), "{why:?}");
    // Two blind puts, each acknowledged: at least 2 invocations and 4 deliveries.
    assert!(steps.len() >= 6, "{steps:#?}");
}

#[test]
fn client_id_clock_loses_a_put_that_shares_a_dot() {
    let (steps, why) = shortest(siblings::Bug::ClientIdClock, "NoLostUpdate");
    assert!(why[0].starts_with("lost update"), "{why:?}\n{steps:#?}");
    assert!(steps.iter().any(|s| s.contains("c1:1")), "{steps:#?}");
}

#[test]
fn prune_clock_brings_a_superseded_value_back() {
    let (steps, why) = shortest(siblings::Bug::PruneClock, "NoFalseSibling");
    assert!(why[0].starts_with("false sibling"), "{why:?}\n{steps:#?}");
}

#[test]
fn the_arrows_name_the_lanes() {
    let kinds = crate::testing::arrows_name_lanes(&SiblingsModel::default(), 5_000);
    assert!(kinds[1] > 0 && kinds[2] > 0, "{kinds:?}");
}

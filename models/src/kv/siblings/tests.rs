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

/// The README's example: the shortest lost update under `lww-wall-clock`, two concurrent
/// blind puts, replayed step for step on the correct mode, keeps both as siblings.
#[test]
fn the_lww_counterexample_keeps_both_puts_as_siblings_under_dvv() {
    let lww = SiblingsModel {
        ops: 1,
        total_ops: 2,
        bug: Some(siblings::Bug::LwwWallClock),
        ..SiblingsModel::default()
    };
    let path = (2..12)
        .find_map(|d| {
            lww.clone()
                .checker()
                .threads(1)
                .target_max_depth(d)
                .spawn_bfs()
                .join()
                .discovery("NoLostUpdate")
        })
        .expect("lww-wall-clock loses an update");
    let dvv = SiblingsModel { bug: None, ..lww };
    let mut s = dvv.init_states().remove(0);
    for a in path.into_actions() {
        // The same step: a message is named by its sender, receiver and kind, since the
        // sets it carries differ between the two modes.
        let a = match a {
            SiblingsAction::Deliver(ref e) | SiblingsAction::Drop(ref e)
                if !s.network.contains(e) =>
            {
                let same = s
                    .network
                    .iter()
                    .find(|f| {
                        f.client == e.client
                            && f.node == e.node
                            && std::mem::discriminant(&f.msg) == std::mem::discriminant(&e.msg)
                    })
                    .cloned()
                    .expect("the correct mode sent the same message");
                match a {
                    SiblingsAction::Deliver(_) => SiblingsAction::Deliver(same),
                    _ => SiblingsAction::Drop(same),
                }
            }
            a => a,
        };
        if std::env::var_os("SHOW_WORDS").is_some() {
            eprintln!("{}", dvv.describe_action(&s, &a));
        }
        s = dvv
            .next_state(&s, a)
            .expect("the same steps run on the correct mode");
    }
    let merged = SiblingsModel::final_set(&s).expect("both puts landed");
    let mut values = values_of(&merged);
    values.sort();
    assert_eq!(values, vec![1, 2], "{}", dvv.set(&merged));
    assert!(dvv.verdict(&s).expect("quiescent").holds());
    if std::env::var_os("SHOW_WORDS").is_some() {
        eprintln!("{}", dvv.set(&merged));
    }
}

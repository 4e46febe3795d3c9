//! The model's pinned numbers and its bug variants. Exploration tests run in release
//! builds (`cargo test --release`), as the README's test command does.

use super::*;
use stateright::{Checker, HasDiscoveries};

/// The configuration `check all` uses for `bug`: the default, except that the
/// new-then-old inversion needs two operations per client (see `checks/src/kv.rs`).
fn config(bug: Option<Bug>) -> KvModel {
    match bug {
        Some(Bug::AsyncReadRepair) => KvModel {
            ops: 2,
            crashes: 0,
            drops: 0,
            give_ups: 0,
            bug,
            ..KvModel::default()
        },
        _ => KvModel {
            bug,
            ..KvModel::default()
        },
    }
}

#[test]
fn default_bounds_hold_and_reach_the_interesting_states() {
    let checker = config(None).checker().threads(2).spawn_dfs().join();
    checker.assert_properties();
    // A changed count is a question for review: the protocol or the reductions changed.
    assert_eq!(checker.unique_state_count(), 181_588);
    let bfs = config(None).checker().threads(2).spawn_bfs().join();
    assert_eq!(bfs.unique_state_count(), 181_588, "BFS and DFS disagree");
}

#[test]
fn the_smallest_space_for_the_inversion_holds_without_the_bug() {
    let model = KvModel {
        bug: None,
        ..config(Some(Bug::AsyncReadRepair))
    };
    let checker = model.checker().threads(2).spawn_dfs().join();
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 638_167);
}

#[test]
fn every_variant_breaks_a_property_it_claims() {
    for bug in Bug::ALL {
        let checker = config(Some(bug))
            .checker()
            .threads(2)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let breaks = bug.variant().breaks;
        let caught: Vec<&str> = checker
            .discoveries()
            .keys()
            .copied()
            .filter(|p| breaks.contains(p))
            .collect();
        assert!(!caught.is_empty(), "{bug:?} was not caught");
    }
}

#[test]
fn each_safety_property_has_a_variant_that_breaks_it() {
    for p in KvModel::default().properties() {
        if p.expectation == stateright::Expectation::Always {
            assert!(
                Bug::ALL
                    .iter()
                    .any(|b| b.variant().breaks.contains(&p.name)),
                "{} has no bug variant",
                p.name
            );
        }
    }
}

#[test]
fn variant_names_round_trip() {
    for bug in Bug::ALL {
        assert_eq!(Bug::from_name(bug.variant().name), Some(bug));
    }
    assert_eq!(Bug::from_name("quorum"), None);
}

/// The diagram's lanes, actors and arrows name only clients and nodes; requests wait in
/// the network, replies are exchanged in the step that handles the request.
#[test]
fn arrows_join_clients_and_nodes() {
    use crate::Protocol;
    let model = KvModel::default();
    assert_eq!(model.lanes(), ["c1", "c2", "n1", "n2", "n3"]);
    let [exchanges, sends, delivers, loses] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert!(exchanges > 0 && sends > 0 && delivers > 0 && loses > 0);
}

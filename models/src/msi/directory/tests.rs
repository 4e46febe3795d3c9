//! The directory model's invariants hold, its interesting states are reached, and each bug
//! variant breaks a property it claims.

use super::*;
use stateright::{Checker, HasDiscoveries};

#[test]
fn default_bounds_hold_and_reach_the_interesting_states() {
    let checker = DirModel::default().checker().threads(2).spawn_dfs().join();
    checker.assert_properties();
}

#[test]
fn every_variant_breaks_a_property_it_claims() {
    for bug in BUGS {
        let checker = DirModel {
            bug: Some(bug),
            ..DirModel::default()
        }
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
        let breaks = super::super::variant(bug).breaks;
        let found: Vec<&str> = checker.discoveries().keys().copied().collect();
        assert!(
            found.iter().any(|p| breaks.contains(p)),
            "{bug:?} was not caught: {found:?}"
        );
    }
}

#[test]
fn the_controllers_behind_core_step_give_the_pinned_state_counts() {
    // The counts `check msi --protocol directory` pins: stepping the controllers through
    // `Core::step` must explore exactly the states the free functions did.
    for (caches, unique) in [(3, 459_248), (2, 10_608)] {
        let checker = DirModel {
            caches,
            ..DirModel::default()
        }
        .checker()
        .threads(2)
        .spawn_bfs()
        .join();
        assert_eq!(checker.unique_state_count(), unique, "{caches} caches");
    }
}

#[test]
fn the_directory_takes_every_bug_of_the_core_in_its_order() {
    use impls::sansio::BugSwitches;
    assert_eq!(&BUGS[..], Bug::ALL);
    assert_eq!(VARIANTS, super::super::VARIANTS);
    for (v, bug) in VARIANTS.iter().zip(BUGS) {
        assert_eq!((v.name, v.summary), (bug.name(), bug.switch().summary));
    }
}

/// The diagram's lanes, actors and arrows name only caches and the directory; every
/// message waits in a network.
#[test]
fn arrows_join_caches_and_the_directory() {
    use crate::Protocol;
    let model = DirModel::default();
    assert_eq!(model.lanes(), ["c1", "c2", "c3", "dir"]);
    let [exchanges, sends, delivers, _] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert!(sends > 0 && delivers > 0);
    assert_eq!(exchanges, 0);
}

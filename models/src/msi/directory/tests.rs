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
    for bug in Bug::ALL {
        let checker = DirModel {
            bug: Some(bug),
            ..DirModel::default()
        }
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
        let breaks = bug.variant().breaks;
        let found: Vec<&str> = checker.discoveries().keys().copied().collect();
        assert!(
            found.iter().any(|p| breaks.contains(p)),
            "{bug:?} was not caught: {found:?}"
        );
    }
}

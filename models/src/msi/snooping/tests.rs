//! The snooping model's invariants hold, its interesting states are reached, and each bug
//! variant breaks a property it claims.

use super::*;
use stateright::{Checker, HasDiscoveries};

#[test]
fn default_bounds_hold_and_reach_the_interesting_states() {
    for addrs in [1, 2] {
        let checker = SnoopModel {
            addrs,
            ..SnoopModel::default()
        }
        .checker()
        .threads(2)
        .spawn_dfs()
        .join();
        checker.assert_properties();
    }
}

#[test]
fn every_variant_breaks_a_property_it_claims() {
    for bug in BUGS {
        let checker = SnoopModel {
            bug: Some(bug),
            ..SnoopModel::default()
        }
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
        let breaks = super::super::variant(bug).breaks;
        assert!(
            checker.discoveries().keys().any(|p| breaks.contains(p)),
            "{bug:?} was not caught"
        );
    }
}

#[test]
fn a_write_back_reaches_memory_and_a_later_miss_reads_it() {
    let m = SnoopModel::default();
    let s = m.init_states()[0];
    let s = m.next_state(&s, SnoopAction::Store(0, 0, 1)).unwrap();
    let s = m.next_state(&s, SnoopAction::Evict(0, 0)).unwrap();
    assert_eq!(s.memory[0], 1);
    let s = m.next_state(&s, SnoopAction::Load(1, 0)).unwrap();
    assert_eq!(s.lines[1][0].value, 1);
    assert!(s.ghost.stale_load.is_none());
}

#[test]
fn the_snooping_variants_are_the_cores_bugs_that_need_no_transient_state() {
    let names: Vec<&str> = VARIANTS.iter().map(|v| v.name).collect();
    assert_eq!(names, ["no-invalidate", "no-writeback"]);
    for v in VARIANTS {
        assert!(super::super::VARIANTS.contains(&v), "{}", v.name);
    }
}

/// The diagram's lanes, actors and arrows name only caches and memory; a bus transaction
/// is atomic.
#[test]
fn arrows_join_caches_and_memory() {
    use crate::Protocol;
    let model = SnoopModel::default();
    assert_eq!(model.lanes(), ["c1", "c2", "c3", "memory"]);
    let [exchanges, sends, delivers, loses] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert!(exchanges > 0);
    assert_eq!((sends, delivers, loses), (0, 0, 0));
}

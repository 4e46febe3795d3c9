//! The design model's properties hold, its interesting states are reached, and every bug
//! variant breaks a property it claims.

use super::*;
use stateright::{Checker, HasDiscoveries};

#[test]
fn default_bounds_hold_and_reach_the_interesting_states() {
    let checker = TwoPcModel::default()
        .checker()
        .threads(2)
        .spawn_dfs()
        .join();
    checker.assert_properties();
    assert!(checker.unique_state_count() > 1_000);
}

#[test]
fn every_variant_breaks_a_property_it_claims() {
    for bug in Bug::ALL {
        let checker = TwoPcModel {
            bug: Some(bug),
            ..TwoPcModel::default()
        }
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
fn messages_round_trip_through_their_bits() {
    for i in 0..6 * MAX_PARTICIPANTS {
        let m = Msg::from_index(i);
        assert_eq!(m.bit(), 1 << i, "{m:?}");
    }
}

#[test]
fn variant_names_round_trip() {
    for bug in Bug::ALL {
        assert_eq!(Bug::from_name(bug.variant().name), Some(bug));
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
    // recoveries, every maximal run still ends with every participant decided.
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
    assert!(last.coordinator.gone);
    assert!(last.participants[..model.participants]
        .iter()
        .any(|p| p.prepared && p.decided.is_none()));
}

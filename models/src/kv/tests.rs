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

/// The first state within `depth` steps of `model`'s initial state (breadth-first) in
/// which an acknowledged put is held by exactly `holders` replicas and the others hold
/// nothing.
fn acked_put_on(model: &KvModel, holders: usize, depth: usize) -> Option<KvState> {
    let exactly = |s: &KvState| {
        s.puts.iter().filter(|(_, p)| p.acked).any(|(&value, _)| {
            let held: Vec<Option<Value>> = s.nodes[..RF]
                .iter()
                .map(|n| n.store.get(&()).map(|v| v.value))
                .collect();
            held.iter().filter(|h| **h == Some(value)).count() == holders
                && held.iter().all(|h| h.is_none() || *h == Some(value))
        })
    };
    let mut level = model.init_states();
    // By hash: KvState is not Eq (its linearizability tester is not).
    let hash = |s: &KvState| {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(s)
    };
    let mut seen: std::collections::HashSet<u64> = level.iter().map(hash).collect();
    for _ in 0..=depth {
        if let Some(s) = level.iter().find(|s| exactly(s)) {
            return Some(s.clone());
        }
        let mut next = Vec::new();
        for s in &level {
            let mut actions = Vec::new();
            model.actions(s, &mut actions);
            for a in actions {
                if let Some(t) = model.next_state(s, a) {
                    if seen.insert(hash(&t)) {
                        next.push(t);
                    }
                }
            }
        }
        level = next;
    }
    None
}

/// `NoLostAckedWrite` at its threshold, a majority of RF 3: an acknowledged put on one
/// replica breaks it, on two it holds. Weakening `quorum()` to 1, or strengthening it to
/// 3, fails this test, though every exploration would still pass.
#[test]
fn no_lost_acked_write_breaks_on_one_replica_of_three_and_holds_on_two() {
    let one = config(Some(Bug::One));
    let on_one = acked_put_on(&one, 1, 6).expect("ONE acknowledges a put on one replica");
    assert!(
        properties::lost_acked_write(&one, &on_one).is_some(),
        "an acknowledged put on 1 of 3 replicas must violate NoLostAckedWrite"
    );
    let quorum = config(None);
    let on_two = acked_put_on(&quorum, 2, 6).expect("QUORUM acknowledges a put on two");
    assert!(
        properties::lost_acked_write(&quorum, &on_two).is_none(),
        "an acknowledged put on 2 of 3 replicas must satisfy NoLostAckedWrite"
    );
}

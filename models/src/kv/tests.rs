//! The model's pinned numbers and its bug variants. Exploration tests run in release
//! builds (`cargo test --release`), as the README's test command does.

use super::*;
use impls::kv::core::{ReplicaInput, Versioned};
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

/// The states the correct model generates at the default bounds (repeats included), each
/// unique state once expanded: deterministic for an exhaustive run.
const GENERATED: usize = 880_816;

/// The default model's checker, stopped at twice what the correct model generates, so that
/// a change that blows the space up fails in seconds rather than exploring it all;
/// `assert_exhausted` then fails it, so every run the tests judge is exhaustive.
fn capped() -> stateright::CheckerBuilder<KvModel> {
    config(None)
        .checker()
        .threads(2)
        .target_state_count(2 * GENERATED)
}

/// Fails unless `checker` ran out of states before its cap.
fn assert_exhausted(checker: &impl Checker<KvModel>) {
    assert!(
        checker.state_count() < 2 * GENERATED,
        "the run reached its cap of {} generated states (the correct model generates \
         {GENERATED})",
        2 * GENERATED
    );
}

#[test]
fn default_bounds_hold_and_reach_the_interesting_states() {
    let checker = capped().spawn_dfs().join();
    assert_exhausted(&checker);
    checker.assert_properties();
    // A changed count is a question for review: the protocol or the reductions changed.
    assert_eq!(checker.unique_state_count(), 181_588);
}

/// Breadth-first search finds the same states as depth-first search: a separate test, so
/// that a run that needs only the pinned count (a mutation run) can skip it.
#[test]
fn bfs_finds_the_default_count_too() {
    let bfs = capped().spawn_bfs().join();
    assert_exhausted(&bfs);
    assert_eq!(bfs.unique_state_count(), 181_588, "BFS and DFS disagree");
}

#[test]
fn the_smallest_space_for_the_inversion_holds_without_the_bug() {
    let model = KvModel {
        bug: None,
        ..config(Some(Bug::AsyncReadRepair))
    };
    let checker = model.clone().checker().threads(2).spawn_dfs().join();
    // This space has no crash, no lost message and no client that gives up, so the
    // witnesses of those faults cannot be reached here (the default bounds reach them);
    // the safety properties must hold and the fault-free witnesses must be reached.
    for p in model.properties() {
        match (p.expectation, p.name) {
            (stateright::Expectation::Always, name) => checker.assert_no_discovery(name),
            (
                stateright::Expectation::Sometimes,
                "AckedPutMissesAReplica"
                | "GivenUpPutLands"
                | "CrashedReplicaKeepsItsStore"
                | "HintHeld",
            ) => {}
            (_, name) => {
                checker.assert_any_discovery(name);
            }
        }
    }
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

/// Whether the property named `name` in `model`'s table holds in `s`: the threshold tests
/// evaluate the very condition the checker evaluates, found by name, so that a weakened
/// table entry fails them even if the helpers behind it are intact.
fn holds(model: &KvModel, name: &str, s: &KvState) -> bool {
    let property = model
        .properties()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("the kv model has no property {name}"));
    (property.condition)(model, s)
}

/// `node` stores `value`, written by client `writer` with version counter `counter`, as a
/// write or a hand-over would store it.
fn store(s: &mut KvState, node: Index, value: Value, writer: Index, counter: u64) {
    s.nodes[node].store.step(ReplicaInput::Store {
        key: (),
        value: Versioned {
            version: impls::kv::core::Version {
                counter,
                node: writer as NodeId,
                incarnation: 0,
            },
            value,
        },
        hint_for: None,
    });
}

/// Records a put of `value` by client `client`, invoked after the puts `preceded_by` had
/// completed, and acknowledged if `acked`.
fn record_put(s: &mut KvState, value: Value, client: Index, preceded_by: &[Value], acked: bool) {
    s.puts.insert(
        value,
        PutRecord {
            client,
            preceded_by: preceded_by.iter().copied().collect(),
            acked,
        },
    );
}

/// The initial state of the default model with an acknowledged put of v1 (by c1) stored on
/// the replicas in `on`.
fn acked_v1_on(model: &KvModel, on: &[Index]) -> KvState {
    let mut s = model.init_states().remove(0);
    record_put(&mut s, 1, 0, &[], true);
    for &n in on {
        store(&mut s, n, 1, 0, 1);
    }
    s
}

/// `NoLostAckedWrite`, by name, at its count: 1 of 3 replicas breaks it, 2 hold it (and
/// 3, trivially). Built by hand, so a change to `quorum()` or to the comparison fails
/// here at once.
#[test]
fn no_lost_acked_write_threshold_is_two_of_three_replicas() {
    let m = KvModel::default();
    assert!(!holds(&m, "NoLostAckedWrite", &acked_v1_on(&m, &[])));
    assert!(!holds(&m, "NoLostAckedWrite", &acked_v1_on(&m, &[2])));
    assert!(holds(&m, "NoLostAckedWrite", &acked_v1_on(&m, &[0, 2])));
    assert!(holds(&m, "NoLostAckedWrite", &acked_v1_on(&m, &[0, 1, 2])));
}

/// Only an acknowledged put must be on a quorum: the same put, on no replica, holds while
/// it is unacknowledged (it may still be in flight or given up) and breaks once acked.
#[test]
fn no_lost_acked_write_asks_nothing_of_an_unacknowledged_put() {
    let m = KvModel::default();
    let mut s = m.init_states().remove(0);
    record_put(&mut s, 1, 0, &[], false);
    store(&mut s, 0, 1, 0, 1);
    assert!(holds(&m, "NoLostAckedWrite", &s));
    s.puts[&1].acked = true;
    assert!(!holds(&m, "NoLostAckedWrite", &s));
}

/// A replica holding a later put counts for an acknowledged one (a linearizable store may
/// order the later put after it); a replica holding a put that had completed before it
/// began does not (it is the acknowledged put that is missing there). The two states differ
/// only in whether v2 preceded v1.
#[test]
fn no_lost_acked_write_counts_a_superseding_put_but_not_an_older_one() {
    let m = KvModel::default();
    let mut s = acked_v1_on(&m, &[0]);
    store(&mut s, 1, 2, 1, 2);
    record_put(&mut s, 2, 1, &[], true);
    assert!(
        holds(&m, "NoLostAckedWrite", &s),
        "v2 may be ordered after v1"
    );
    record_put(&mut s, 1, 0, &[2], true);
    assert!(
        !holds(&m, "NoLostAckedWrite", &s),
        "v2 completed before v1 began"
    );
}

/// A crashed replica's copy counts (its store is durable); a copy on a node outside the
/// replica set does not (a quorum read never asks it).
#[test]
fn no_lost_acked_write_counts_crashed_replicas_and_only_replicas() {
    let m = KvModel::default();
    let mut s = acked_v1_on(&m, &[0, 1]);
    s.nodes[1].up = false;
    assert!(holds(&m, "NoLostAckedWrite", &s));
    let four = KvModel {
        nodes: 4,
        ..KvModel::default()
    };
    let mut s = acked_v1_on(&four, &[0]);
    store(&mut s, 3, 1, 0, 1);
    assert!(!holds(&four, "NoLostAckedWrite", &s));
    store(&mut s, 1, 1, 0, 1);
    assert!(holds(&four, "NoLostAckedWrite", &s));
}

/// A history of c1's put(v1) and c2's get, with the get invoked after the put returned if
/// `get_after_put`, else while the put is pending; the get returns `read`.
fn put_then_get(model: &KvModel, get_after_put: bool, read: Option<Value>) -> KvState {
    let mut s = model.init_states().remove(0);
    let h = &mut s.history;
    h.on_invoke((0, 0), RegisterOp::Write(Some(1))).unwrap();
    if get_after_put {
        h.on_return((0, 0), RegisterRet::WriteOk).unwrap();
        h.on_invoke((1, 0), RegisterOp::Read).unwrap();
    } else {
        h.on_invoke((1, 0), RegisterOp::Read).unwrap();
        h.on_return((0, 0), RegisterRet::WriteOk).unwrap();
    }
    h.on_return((1, 0), RegisterRet::ReadOk(read)).unwrap();
    s
}

/// `Linearizable`, by name, at the smallest violation: a get that begins after a put
/// returned and misses it breaks it; the same get concurrent with the put holds (it may be
/// ordered first), and so does the get after the put that sees it.
#[test]
fn linearizable_breaks_on_a_read_that_misses_a_completed_put() {
    let m = KvModel::default();
    assert!(!holds(&m, "Linearizable", &put_then_get(&m, true, None)));
    assert!(holds(&m, "Linearizable", &put_then_get(&m, false, None)));
    assert!(holds(&m, "Linearizable", &put_then_get(&m, true, Some(1))));
    // A value nobody wrote has no linearization either.
    assert!(!holds(&m, "Linearizable", &put_then_get(&m, true, Some(2))));
}

/// No witness is satisfied by the initial state: a witness that held everywhere would be
/// "reached" without the model showing its behaviour.
#[test]
fn no_witness_holds_initially() {
    let m = KvModel::default();
    let s = m.init_states().remove(0);
    for p in m.properties() {
        if p.expectation == stateright::Expectation::Sometimes {
            assert!(!(p.condition)(&m, &s), "{} holds initially", p.name);
        }
    }
}

/// `AckedPutMissesAReplica` needs the missing replica's write to be gone, not merely not
/// yet delivered.
#[test]
fn an_acked_put_misses_a_replica_only_once_its_write_is_gone() {
    let m = KvModel::default();
    let mut s = acked_v1_on(&m, &[0, 1]);
    assert!(holds(&m, "AckedPutMissesAReplica", &s));
    s.network.insert(Envelope {
        client: 0,
        node: 2,
        msg: Msg::Write {
            op: 1,
            key: (),
            value: s.nodes[0].store.get(&()).unwrap().clone(),
            hint_for: None,
        },
    });
    assert!(!holds(&m, "AckedPutMissesAReplica", &s));
    let everywhere = acked_v1_on(&m, &[0, 1, 2]);
    assert!(!holds(&m, "AckedPutMissesAReplica", &everywhere));
}

/// `GivenUpPutLands` and `CrashedReplicaKeepsItsStore` at their thresholds.
#[test]
fn given_up_and_crashed_witnesses_need_the_value_on_a_node() {
    let m = KvModel::default();
    let mut s = m.init_states().remove(0);
    s.clients[1].ops.push(OpRecord {
        request: Request::Put(2),
        op: 1,
        status: OpStatus::GaveUp,
    });
    s.nodes[0].up = false;
    assert!(!holds(&m, "GivenUpPutLands", &s));
    assert!(!holds(&m, "CrashedReplicaKeepsItsStore", &s));
    store(&mut s, 1, 2, 1, 1);
    assert!(holds(&m, "GivenUpPutLands", &s));
    assert!(!holds(&m, "CrashedReplicaKeepsItsStore", &s), "n2 is up");
    store(&mut s, 0, 2, 1, 1);
    assert!(holds(&m, "CrashedReplicaKeepsItsStore", &s));
    s.clients[1].ops[0].status = OpStatus::Returned(None);
    assert!(!holds(&m, "GivenUpPutLands", &s), "the put returned");
}

/// `HintHeld` needs a hint, not a value: n1 holding v1 as its own copy is not a witness,
/// n1 holding it as a hint for n3 is.
#[test]
fn a_hint_held_is_a_hint_not_a_value() {
    let m = KvModel::default();
    let mut s = acked_v1_on(&m, &[0]);
    assert!(!holds(&m, "HintHeld", &s));
    let value = s.nodes[0].store.get(&()).unwrap().clone();
    s.nodes[0].store.step(ReplicaInput::Store {
        key: (),
        value,
        hint_for: Some(2),
    });
    assert!(holds(&m, "HintHeld", &s));
}

/// Values are unique across clients and operations, start at 1 (0 is no value), and name
/// their writer: for every bound the model takes, not only the default single operation.
#[test]
fn every_value_is_unique_and_names_its_writer() {
    for clients in 1..=3 {
        for ops in 1..=3 {
            let m = KvModel {
                clients,
                ops,
                ..KvModel::default()
            };
            let mut seen = std::collections::BTreeSet::new();
            for c in 0..clients {
                for k in 0..ops {
                    let v = m.value_of(c, k);
                    assert!(v >= 1, "{v} is not a value");
                    assert!(seen.insert(v), "{v} twice");
                    assert_eq!(m.writer_of(v), c, "v{v} of c{}", c + 1);
                }
            }
        }
    }
}

/// The consistency levels: QUORUM needs 2 of 3 replicas, ONE needs 1; the quorum
/// `NoLostAckedWrite` asks for is 2 whatever the level.
#[test]
fn required_and_quorum_follow_the_level() {
    let quorum = KvModel::default();
    assert_eq!(
        (quorum.consistency(), quorum.required()),
        (Consistency::Quorum, 2)
    );
    let one = config(Some(Bug::One));
    assert_eq!((one.consistency(), one.required()), (Consistency::One, 1));
    assert_eq!((quorum.quorum(), one.quorum()), (2, 2));
}

/// `c1`'s wall clock runs `CLOCK_SKEW` ahead of the others, which count the operations
/// invoked so far.
#[test]
fn the_clock_counts_invocations_and_c1_runs_ahead() {
    let m = config(Some(Bug::WallClockLww));
    let s = m.init_states().remove(0);
    assert_eq!((m.clock(&s, 0), m.clock(&s, 1)), (CLOCK_SKEW, 0));
    let s = m.next_state(&s, KvAction::Put { client: 1 }).unwrap();
    let s = m.next_state(&s, KvAction::Get { client: 0 }).unwrap();
    assert_eq!((m.clock(&s, 0), m.clock(&s, 1)), (2 + CLOCK_SKEW, 2));
}

/// A hint goes to a live node other than the replica: outside the replica set first, else
/// the first live replica; with every other node down there is none.
#[test]
fn the_fallback_is_a_live_node_other_than_the_replica() {
    let four = KvModel {
        nodes: 4,
        ..KvModel::default()
    };
    let mut s = four.init_states().remove(0);
    s.nodes[2].up = false;
    assert_eq!(four.fallback(&s, 2), Some(3));
    s.nodes[3].up = false;
    assert_eq!(four.fallback(&s, 2), Some(0));
    s.nodes[0].up = false;
    assert_eq!(four.fallback(&s, 2), Some(1));
    s.nodes[1].up = false;
    assert_eq!(four.fallback(&s, 2), None);
    let three = KvModel::default();
    let mut s = three.init_states().remove(0);
    s.nodes[0].up = false;
    assert_eq!(three.fallback(&s, 0), Some(1));
}

/// `ReadSeesOtherClientsWrite` needs another client's value: a client that reads back its
/// own put is not a witness (at one operation per client it cannot, so only this test
/// shows the difference).
#[test]
fn reading_ones_own_write_is_not_a_witness() {
    let m = KvModel {
        ops: 2,
        ..KvModel::default()
    };
    let mut s = m.init_states().remove(0);
    let get = |v| OpRecord {
        request: Request::Get,
        op: 2,
        status: OpStatus::Returned(Some(v)),
    };
    let own = m.value_of(0, 0);
    s.clients[0].ops.push(get(own));
    assert!(!holds(&m, "ReadSeesOtherClientsWrite", &s));
    s.clients[1].ops.push(get(own));
    assert!(holds(&m, "ReadSeesOtherClientsWrite", &s));
}

/// The Explorer names an action by its `Debug` form and shows a step as the action in
/// protocol words followed by the next state's fields.
#[test]
fn the_explorer_shows_the_step_and_the_next_state() {
    use crate::Protocol;
    let m = KvModel::default();
    let s = m.init_states().remove(0);
    let put = KvAction::Put { client: 0 };
    assert_eq!(m.format_action(&put), "Put { client: 0 }");
    let step = m.format_step(&s, put.clone()).unwrap();
    let next = m.next_state(&s, put.clone()).unwrap();
    assert!(step.starts_with(&m.describe_action(&s, &put)), "{step}");
    for (k, v) in m.fields(&next) {
        assert!(step.contains(&format!("{k} = {v}")), "{step}");
    }
}

/// A write in flight to one replica does not keep another replica from missing the put:
/// the in-flight check is per replica.
#[test]
fn a_write_in_flight_elsewhere_does_not_cover_a_missing_replica() {
    let m = KvModel::default();
    let mut s = acked_v1_on(&m, &[0, 1]);
    let value = s.nodes[0].store.get(&()).unwrap().clone();
    s.network.insert(Envelope {
        client: 0,
        node: 0,
        msg: Msg::Write {
            op: 1,
            key: (),
            value,
            hint_for: None,
        },
    });
    assert!(
        holds(&m, "AckedPutMissesAReplica", &s),
        "n3 misses it; the write is to n1"
    );
}

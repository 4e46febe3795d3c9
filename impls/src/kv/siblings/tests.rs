//! The multi-value core driven by hand: siblings, supersession, read repair, hints, the
//! durability order, and each bug switch losing or resurrecting a value.

use super::*;
use crate::sansio::{check_durability_order, Core};
use std::collections::{BTreeSet, VecDeque};

/// Three replicas `n0..n2`, one fallback `n3`, and one coordinator on node 9; messages are
/// delivered at once, in order, except to nodes that are down.
struct Cluster {
    replicas: Vec<Replica<&'static str, &'static str>>,
    coordinator: Coordinator<&'static str, &'static str>,
    down: BTreeSet<NodeId>,
    finished: Vec<Outcome<&'static str>>,
}

const COORDINATOR: NodeId = 9;

/// The coordinator's input that starts `put` of key `k` on the three replicas.
fn begin_put(
    put: Put<&'static str>,
    consistency: Consistency,
    via: NodeId,
) -> CoordinatorInput<&'static str, &'static str> {
    CoordinatorInput::Begin {
        key: "k",
        request: Request::Put(put),
        replicas: REPLICAS.to_vec(),
        rf: 3,
        consistency,
        via,
    }
}

/// Client 1's blind put of `value`.
fn blind(value: &'static str) -> Put<&'static str> {
    Put {
        value,
        context: Context::default(),
        client: 1,
        at: 0,
    }
}
const REPLICAS: [NodeId; 3] = [0, 1, 2];
const FALLBACK: NodeId = 3;

impl Cluster {
    fn new(bug: Option<Bug>) -> Cluster {
        Cluster {
            replicas: (0..4).map(|n| Replica::new(n, bug)).collect(),
            coordinator: Coordinator::new(),
            down: BTreeSet::new(),
            finished: Vec::new(),
        }
    }

    fn run(&mut self, effects: Vec<CoordinatorEffect<&'static str, &'static str>>) -> OpId {
        let mut op = 0;
        let mut queue: VecDeque<(NodeId, Msg<&'static str, &'static str>)> = VecDeque::new();
        let mut pending = effects;
        loop {
            for e in pending.drain(..) {
                match e {
                    CoordinatorEffect::Started { op: o } => op = o,
                    CoordinatorEffect::Send { to, msg } => queue.push_back((to, msg)),
                    CoordinatorEffect::Finished { outcome, .. } => self.finished.push(outcome),
                    CoordinatorEffect::Refused(_) | CoordinatorEffect::Abandoned { .. } => {}
                }
            }
            let Some((to, msg)) = queue.pop_front() else {
                return op;
            };
            if self.down.contains(&to) {
                continue;
            }
            let effects = self.replicas[to as usize].step(ReplicaInput::Receive {
                from: COORDINATOR,
                msg,
            });
            check_durability_order(&effects).expect("persists before sends");
            for e in effects {
                if let ReplicaEffect::Send { msg, .. } = e {
                    pending.extend(
                        self.coordinator
                            .step(CoordinatorInput::Receive { from: to, msg }),
                    );
                }
            }
        }
    }

    fn put(&mut self, value: &'static str, context: &Context, client: ClientId, via: NodeId) {
        self.put_at(value, context, client, via, 0);
    }

    fn put_at(
        &mut self,
        value: &'static str,
        context: &Context,
        client: ClientId,
        via: NodeId,
        at: u64,
    ) {
        let put = Put {
            value,
            context: context.clone(),
            client,
            at,
        };
        let effects = self
            .coordinator
            .step(begin_put(put, Consistency::Quorum, via));
        self.run(effects);
    }

    fn get_with(&mut self, consistency: Consistency) -> (Vec<&'static str>, Context, bool) {
        let effects = self.coordinator.step(CoordinatorInput::Begin {
            key: "k",
            request: Request::Get,
            replicas: REPLICAS.to_vec(),
            rf: 3,
            consistency,
            via: 0,
        });
        self.run(effects);
        match self.finished.pop() {
            Some(Outcome::Read {
                mut siblings,
                context,
                repaired,
            }) => {
                siblings.sort();
                (siblings, context, repaired)
            }
            other => panic!("the get did not answer: {other:?}"),
        }
    }

    fn get(&mut self) -> (Vec<&'static str>, Context) {
        let (values, context, _) = self.get_with(Consistency::All);
        (values, context)
    }
}

#[test]
fn concurrent_puts_are_siblings_and_a_put_with_their_context_supersedes_both() {
    let mut c = Cluster::new(None);
    c.put("a", &Context::default(), 1, 0);
    c.put("b", &Context::default(), 2, 1);
    let (values, context) = c.get();
    assert_eq!(values, vec!["a", "b"]);
    c.put("c", &context, 1, 2);
    assert_eq!(c.get().0, vec!["c"]);
}

#[test]
fn a_put_supersedes_only_what_its_context_covers() {
    let mut c = Cluster::new(None);
    c.put("a", &Context::default(), 1, 0);
    let (_, read_a) = c.get();
    c.put("b", &Context::default(), 2, 1);
    // Written with the context of a read that saw only `a`: `b` stays a sibling.
    c.put("c", &read_a, 1, 2);
    assert_eq!(c.get().0, vec!["b", "c"]);
}

#[test]
fn a_put_completes_on_a_quorum_and_a_quorum_read_repairs_the_stale_replica() {
    let mut c = Cluster::new(None);
    c.down.insert(2);
    c.put("a", &Context::default(), 1, 0);
    assert_eq!(c.finished.pop(), Some(Outcome::Written));
    assert!(c.replicas[2].get(&"k").is_none());
    c.down.clear();
    // Every replica is asked; the first two to answer (0 and 1, in this harness's
    // delivery order) both hold `a`, so a quorum read has nothing to repair.
    let (values, _, repaired) = c.get_with(Consistency::Quorum);
    assert_eq!((values, repaired), (vec!["a"], false));
    // Reading all three finds replica 2 empty and repairs it.
    let (values, _, repaired) = c.get_with(Consistency::All);
    assert_eq!((values, repaired), (vec!["a"], true));
    assert_eq!(
        c.replicas[2].get(&"k").map(values_of),
        Some(vec!["a"]),
        "read repair wrote the merged set"
    );
}

#[test]
fn a_hint_covers_a_down_replica_and_is_dropped_once_handed_over() {
    let mut c = Cluster::new(None);
    c.down.insert(2);
    let effects = c
        .coordinator
        .step(begin_put(blind("a"), Consistency::All, 0));
    let op = c.run(effects);
    assert!(c.finished.is_empty(), "ALL waits for the down replica");
    let effects = c.coordinator.step(CoordinatorInput::HandOff {
        op,
        replica: 2,
        fallback: FALLBACK,
    });
    c.run(effects);
    assert!(c.finished.is_empty(), "a hint never counts towards ALL");
    assert_eq!(c.replicas[FALLBACK as usize].hinted_replicas(), vec![2]);
    // The fallback hands the hint over; the replica stores it; the hint is dropped.
    c.down.clear();
    for (key, set) in c.replicas[FALLBACK as usize].hints_for(2) {
        let effects = c.replicas[2].step(ReplicaInput::Store {
            key,
            set: set.clone(),
            hint_for: None,
        });
        assert!(matches!(effects[..], [ReplicaEffect::Persist { .. }]));
        let held = c.replicas[2].get(&key).cloned().expect("stored");
        let effects = c.replicas[FALLBACK as usize].step(ReplicaInput::HintDelivered {
            replica: 2,
            key,
            set: held,
        });
        assert_eq!(
            effects,
            vec![ReplicaEffect::HintDropped { replica: 2, key }]
        );
    }
    assert_eq!(c.replicas[FALLBACK as usize].hint_count(), 0);
    assert_eq!(c.replicas[2].get(&"k").map(values_of), Some(vec!["a"]));
}

#[test]
fn a_hint_that_grew_after_the_handover_is_kept() {
    let mut r: Replica<&str, &str> = Replica::new(3, None);
    let a = DvvSet::update_fresh(
        &DvvSet::new(Stamped { value: "a", at: 0 }),
        Actor::Replica(0),
    );
    let ab = DvvSet::update(
        &DvvSet::new(Stamped { value: "b", at: 0 }),
        &a,
        Actor::Replica(0),
    );
    r.step(ReplicaInput::Store {
        key: "k",
        set: ab,
        hint_for: Some(2),
    });
    let effects = r.step(ReplicaInput::HintDelivered {
        replica: 2,
        key: "k",
        set: a,
    });
    assert!(effects.is_empty());
    assert_eq!(r.hint_count(), 1);
}

#[test]
fn the_coordinating_replica_persists_before_it_announces_the_set() {
    let mut r: Replica<&str, &str> = Replica::new(0, None);
    let effects = r.step(ReplicaInput::Receive {
        from: COORDINATOR,
        msg: Msg::Coordinate {
            op: 1,
            key: "k",
            put: Put {
                value: "a",
                context: Context::default(),
                client: 1,
                at: 0,
            },
        },
    });
    assert!(matches!(
        effects[..],
        [ReplicaEffect::Persist { .. }, ReplicaEffect::Send { .. }]
    ));
    check_durability_order(&effects).expect("persist first");
}

#[test]
fn a_put_through_a_replica_outside_the_key_is_refused() {
    let mut c = Cluster::new(None);
    let effects = c
        .coordinator
        .step(begin_put(blind("a"), Consistency::Quorum, FALLBACK));
    assert!(matches!(effects[..], [CoordinatorEffect::Refused(_)]));
}

#[test]
fn lww_wall_clock_loses_one_of_two_concurrent_puts() {
    for bug in [None, Some(Bug::LwwWallClock)] {
        let mut c = Cluster::new(bug);
        // `b` is written later in real time, by a coordinator whose clock is behind.
        c.put_at("a", &Context::default(), 1, 0, 10);
        c.put_at("b", &Context::default(), 2, 1, 5);
        let want = if bug.is_some() {
            vec!["a"]
        } else {
            vec!["a", "b"]
        };
        assert_eq!(c.get().0, want, "{bug:?}");
    }
}

#[test]
fn client_id_clock_gives_two_blind_puts_of_one_client_the_same_dot() {
    for bug in [None, Some(Bug::ClientIdClock)] {
        let mut c = Cluster::new(bug);
        // `a` reaches replicas 0 and 1; `b`, from the same client, goes through replica 2
        // while it still holds nothing.
        c.down.insert(2);
        c.put("a", &Context::default(), 1, 0);
        c.down.clear();
        c.down.insert(0);
        c.put("b", &Context::default(), 1, 2);
        c.down.clear();
        let values = c.get().0;
        if bug.is_some() {
            assert_eq!(values.len(), 1, "one of the two is lost: {values:?}");
        } else {
            assert_eq!(values, vec!["a", "b"]);
        }
    }
}

#[test]
fn prune_clock_resurrects_a_superseded_value_from_a_stale_replica() {
    for bug in [None, Some(Bug::PruneClock)] {
        let mut c = Cluster::new(bug);
        c.put("a", &Context::default(), 1, 0);
        let (_, saw_a) = c.get();
        // `b` supersedes `a`, written while replica 0 (holding `a`) is cut off.
        c.down.insert(0);
        c.put("b", &saw_a, 2, 1);
        c.down.clear();
        let want = if bug.is_some() {
            vec!["a", "b"]
        } else {
            vec!["b"]
        };
        assert_eq!(c.get().0, want, "{bug:?}");
    }
}

#[test]
fn merging_is_order_free_for_the_replica() {
    // The same writes in two orders give the same store: replays and reordering converge.
    let a = DvvSet::update_fresh(
        &DvvSet::new(Stamped { value: "a", at: 0 }),
        Actor::Replica(0),
    );
    let b = DvvSet::update_fresh(
        &DvvSet::new(Stamped { value: "b", at: 0 }),
        Actor::Replica(1),
    );
    let ab = DvvSet::update(
        &DvvSet::new_with_context(&a.join(), Stamped { value: "c", at: 0 }),
        &a,
        Actor::Replica(0),
    );
    let writes = [a, b, ab];
    let mut stores = Vec::new();
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
        let mut r: Replica<&str, &str> = Replica::new(5, None);
        for i in order {
            r.step(ReplicaInput::Store {
                key: "k",
                set: writes[i].clone(),
                hint_for: None,
            });
        }
        let mut v = values_of(r.get(&"k").expect("stored"));
        v.sort();
        stores.push((v, r.get(&"k").map(|s| s.join())));
    }
    assert!(stores.windows(2).all(|w| w[0] == w[1]), "{stores:?}");
    assert_eq!(stores[0].0, vec!["b", "c"]);
}

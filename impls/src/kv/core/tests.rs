//! Scenario tests of the core, driven by hand: each delivers chosen messages and checks
//! what the coordinator concludes. Every step they take also checks the durability order
//! of its effects; the tests at the end check it over all small inputs and random runs.

use super::*;
use crate::sansio::{check_durability_order, Core, Effect, EffectKind};
use proptest::prelude::*;

type M = Msg<&'static str, u32>;
type CEffect = CoordinatorEffect<&'static str, u32>;
type REffect = ReplicaEffect<&'static str, u32>;

/// Steps `core` on `input` and checks the durability order of what it returns.
fn step<C: Core>(core: &mut C, input: C::Input) -> Vec<C::Effect>
where
    C::Effect: std::fmt::Debug,
{
    let effects = core.step(input);
    if let Err(v) = check_durability_order(&effects) {
        panic!("{v}: {effects:?}");
    }
    effects
}

/// The messages a coordinator's effects send, in order.
fn sends(effects: &[CEffect]) -> Vec<(NodeId, M)> {
    effects
        .iter()
        .filter_map(|e| match e {
            CoordinatorEffect::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

/// The request a coordinator's effects finish, if any.
fn finished(effects: &[CEffect]) -> Option<(OpId, Outcome<u32>)> {
    effects.iter().find_map(|e| match e {
        CoordinatorEffect::Finished { op, outcome } => Some((*op, outcome.clone())),
        _ => None,
    })
}

/// Starts a request on `coordinator` for key `"k"` on replicas 0, 1, 2 (RF 3).
fn begin(
    coordinator: &mut Coordinator<&'static str, u32>,
    request: Request<u32>,
    level: Consistency,
    clock: u64,
) -> Result<(OpId, Vec<CEffect>), Unavailable> {
    begin_on(coordinator, request, vec![0, 1, 2], level, clock)
}

fn begin_on(
    coordinator: &mut Coordinator<&'static str, u32>,
    request: Request<u32>,
    replicas: Vec<NodeId>,
    level: Consistency,
    clock: u64,
) -> Result<(OpId, Vec<CEffect>), Unavailable> {
    let effects = step(
        coordinator,
        CoordinatorInput::Begin {
            key: "k",
            request,
            replicas,
            rf: 3,
            consistency: level,
            clock,
        },
    );
    match effects.first() {
        Some(CoordinatorEffect::Started { op }) => Ok((*op, effects)),
        Some(CoordinatorEffect::Refused(u)) => Err(*u),
        other => panic!("a begin starts or is refused first, not {other:?}"),
    }
}

/// The reply a replica's effects send, and whether the step stored anything.
fn reply(effects: Vec<REffect>) -> Option<(M, bool)> {
    let stored = effects.iter().any(|e| e.kind() == EffectKind::Persist);
    effects.into_iter().find_map(|e| match e {
        ReplicaEffect::Send { msg, .. } => Some((msg, stored)),
        _ => None,
    })
}

/// Three replicas (nodes 0, 1, 2) and a coordinator on node 9.
struct Cluster {
    replicas: Vec<Replica<&'static str, u32>>,
    coordinator: Coordinator<&'static str, u32>,
}

impl Cluster {
    fn new(bug: Option<Bug>) -> Cluster {
        Cluster {
            replicas: vec![Replica::new(), Replica::new(), Replica::new()],
            coordinator: Coordinator::new(9, 0, bug),
        }
    }

    /// Starts a request at `level` and delivers its messages only to and from `reachable`.
    /// Returns the outcome, if the request finished.
    fn run(
        &mut self,
        request: Request<u32>,
        level: Consistency,
        reachable: &[NodeId],
    ) -> Option<Outcome<u32>> {
        let (_, effects) = begin(&mut self.coordinator, request, level, 0).expect("three replicas");
        let mut queue: Vec<(NodeId, M)> = sends(&effects);
        let mut outcome = finished(&effects).map(|(_, o)| o);
        while !queue.is_empty() {
            let (to, msg) = queue.remove(0);
            if !reachable.contains(&to) {
                continue;
            }
            let (reply, _) = self.replica(to, msg).expect("a request");
            let effects = self.coordinator(to, reply);
            queue.extend(sends(&effects));
            if let Some((_, o)) = finished(&effects) {
                outcome.get_or_insert(o);
            }
        }
        outcome
    }

    /// Replica `to` handles `msg` from the coordinator (node 9): its reply, and whether it
    /// stored anything.
    fn replica(&mut self, to: NodeId, msg: M) -> Option<(M, bool)> {
        let input = ReplicaInput::Receive { from: 9, msg };
        reply(step(&mut self.replicas[to as usize], input))
    }

    /// The coordinator handles `msg` from `from`.
    fn coordinator(&mut self, from: NodeId, msg: M) -> Vec<CEffect> {
        step(
            &mut self.coordinator,
            CoordinatorInput::Receive { from, msg },
        )
    }
}

fn read_value(o: Option<Outcome<u32>>) -> Option<u32> {
    match o {
        Some(Outcome::Read { value, .. }) => value.map(|v| v.value),
        other => panic!("expected a read, got {other:?}"),
    }
}

#[test]
fn quorum_put_then_get_from_another_quorum() {
    let mut c = Cluster::new(None);
    let put = c.run(Request::Put(7), Consistency::Quorum, &[0, 1]);
    assert!(matches!(put, Some(Outcome::Written { .. })));
    // Replica 2 never saw the write; a quorum read that includes it still finds 7.
    assert_eq!(
        read_value(c.run(Request::Get, Consistency::Quorum, &[1, 2])),
        Some(7)
    );
}

#[test]
fn get_repairs_a_stale_replica_before_answering() {
    let mut c = Cluster::new(None);
    c.run(Request::Put(7), Consistency::Quorum, &[0, 1]);
    let got = c.run(Request::Get, Consistency::Quorum, &[1, 2]);
    assert!(matches!(got, Some(Outcome::Read { repaired: true, .. })));
    assert_eq!(c.replicas[2].get(&"k").map(|v| v.value), Some(7));
}

#[test]
fn put_waits_for_a_quorum_and_versions_increase() {
    let mut c = Cluster::new(None);
    // One replica cannot answer the read phase of a quorum put: nothing is written.
    assert_eq!(c.run(Request::Put(1), Consistency::Quorum, &[0]), None);
    assert_eq!(c.replicas[0].get(&"k"), None);
    c.run(Request::Put(2), Consistency::Quorum, &[0, 1]);
    let first = c.replicas[0].get(&"k").unwrap().version;
    // The next put reads replica 1, which holds the first, and goes above it.
    c.run(Request::Put(3), Consistency::Quorum, &[1, 2]);
    assert!(c.replicas[2].get(&"k").unwrap().version > first);
}

#[test]
fn consistency_one_reads_a_stale_replica() {
    let mut c = Cluster::new(None);
    c.run(Request::Put(7), Consistency::One, &[0]);
    assert_eq!(
        read_value(c.run(Request::Get, Consistency::One, &[2])),
        None
    );
}

#[test]
fn a_hint_never_completes_a_quorum_write() {
    let mut c = Cluster::new(None);
    let (op, effects) = begin(&mut c.coordinator, Request::Put(5), Consistency::Quorum, 0).unwrap();
    // Read phase answered by 0 and 1.
    for (to, msg) in sends(&effects).into_iter().filter(|(to, _)| *to != 2) {
        let (reply, _) = c.replica(to, msg).unwrap();
        c.coordinator(to, reply);
    }
    // Only replica 0 acknowledges; replica 1 is covered by a hint on node 0.
    let write = c.coordinator.get(op).unwrap().value().cloned().unwrap();
    c.coordinator(0, M::WriteAck { op, hint_for: None });
    let hint = step(
        &mut c.coordinator,
        CoordinatorInput::HandOff {
            op,
            replica: 1,
            fallback: 0,
        },
    );
    assert_eq!(sends(&hint).len(), 1);
    let effects = c.coordinator(
        0,
        M::WriteAck {
            op,
            hint_for: Some(1),
        },
    );
    assert_eq!(
        finished(&effects),
        None,
        "a hint counted as a replica's ack"
    );
    assert!(c.coordinator.get(op).unwrap().may_have_taken_effect());
    assert_eq!(write.value, 5);

    // Built with the sloppy-quorum bug, the same hint completes the put.
    let mut sloppy = Cluster::new(Some(Bug::SloppyQuorum));
    let (op, effects) = begin(
        &mut sloppy.coordinator,
        Request::Put(5),
        Consistency::Quorum,
        0,
    )
    .unwrap();
    for (to, msg) in sends(&effects).into_iter().filter(|(to, _)| *to != 2) {
        let (reply, _) = sloppy.replica(to, msg).unwrap();
        sloppy.coordinator(to, reply);
    }
    sloppy.coordinator(0, M::WriteAck { op, hint_for: None });
    let effects = sloppy.coordinator(
        0,
        M::WriteAck {
            op,
            hint_for: Some(1),
        },
    );
    assert!(matches!(
        finished(&effects),
        Some((_, Outcome::Written { .. }))
    ));
}

#[test]
fn async_read_repair_answers_before_the_repair_is_acknowledged() {
    let mut c = Cluster::new(Some(Bug::AsyncReadRepair));
    c.run(Request::Put(7), Consistency::Quorum, &[0, 1]);
    // Replica 0 has 7, replica 2 has nothing: the get answers 7 with the repair unsent.
    let (op, effects) = begin(&mut c.coordinator, Request::Get, Consistency::Quorum, 0).unwrap();
    let mut answer = None;
    for (to, msg) in sends(&effects).into_iter().filter(|(to, _)| *to != 1) {
        let (reply, _) = c.replica(to, msg).unwrap();
        let e = c.coordinator(to, reply);
        answer = answer.or(finished(&e));
    }
    assert!(matches!(answer, Some((o, Outcome::Read { repaired: true, .. })) if o == op));
    assert_eq!(c.replicas[2].get(&"k"), None, "nothing was repaired yet");
}

#[test]
fn wall_clock_versions_let_an_earlier_write_win() {
    let mut c = Cluster::new(Some(Bug::WallClockLww));
    // The first put's clock reads 100; the second's reads 50 (a clock behind).
    let (_, e) = begin(
        &mut c.coordinator,
        Request::Put(1),
        Consistency::Quorum,
        100,
    )
    .unwrap();
    for (to, msg) in sends(&e) {
        let (reply, _) = c.replica(to, msg).unwrap();
        c.coordinator(to, reply);
    }
    let (_, e) = begin(&mut c.coordinator, Request::Put(2), Consistency::Quorum, 50).unwrap();
    let mut acked = false;
    for (to, msg) in sends(&e) {
        // The replica already holds a newer version: nothing is stored (or persisted).
        let (reply, stored) = c.replica(to, msg).unwrap();
        assert!(!stored, "the replica already held a newer version");
        acked |= finished(&c.coordinator(to, reply)).is_some();
    }
    assert!(acked, "the later put is acknowledged");
    assert_eq!(
        read_value(c.run(Request::Get, Consistency::All, &[0, 1, 2])),
        Some(1)
    );
}

#[test]
fn too_few_replicas_is_a_definite_error() {
    let mut c: Coordinator<&str, u32> = Coordinator::new(0, 0, None);
    let err = begin_on(&mut c, Request::Get, vec![0], Consistency::Quorum, 0).unwrap_err();
    assert_eq!(
        err,
        Unavailable {
            replicas: 1,
            required: 2
        }
    );
}

// ----- the durability order ------------------------------------------------------------

fn versioned(counter: u64) -> Versioned<u32> {
    Versioned {
        version: Version {
            counter,
            node: 9,
            incarnation: 0,
        },
        value: counter as u32,
    }
}

/// Every input a replica can get about two keys, two versions and one hinted replica.
fn replica_inputs() -> Vec<ReplicaInput<&'static str, u32>> {
    let mut inputs = vec![ReplicaInput::Receive {
        from: 9,
        msg: M::WriteAck {
            op: 1,
            hint_for: None,
        },
    }];
    for key in ["a", "b"] {
        inputs.push(ReplicaInput::Receive {
            from: 9,
            msg: M::Read { op: 1, key },
        });
        for counter in [1, 2] {
            for hint_for in [None, Some(1)] {
                inputs.push(ReplicaInput::Receive {
                    from: 9,
                    msg: M::Write {
                        op: 1,
                        key,
                        value: versioned(counter),
                        hint_for,
                    },
                });
                inputs.push(ReplicaInput::Store {
                    key,
                    value: versioned(counter),
                    hint_for,
                });
            }
            inputs.push(ReplicaInput::HintDelivered {
                replica: 1,
                key,
                version: versioned(counter).version,
            });
        }
    }
    inputs
}

/// Every sequence of three replica inputs: each step's effects keep the durability order,
/// a write is acknowledged after its persist (or alone, if it changed nothing), every
/// change is logged, and replaying the log rebuilds the store.
#[test]
fn a_replica_persists_every_change_before_it_acknowledges_it() {
    let inputs = replica_inputs();
    let n = inputs.len();
    for i in 0..n * n * n {
        let mut replica: Replica<&str, u32> = Replica::new();
        let mut log = Vec::new();
        for k in [i / (n * n), i / n % n, i % n] {
            let input = inputs[k].clone();
            let before = replica.clone();
            let effects = step(&mut replica, input.clone());
            let changed = replica != before;
            let kinds: Vec<EffectKind> = effects.iter().map(Effect::kind).collect();
            match input {
                ReplicaInput::Receive {
                    msg: M::Write { .. },
                    ..
                } if changed => assert_eq!(kinds, [EffectKind::Persist, EffectKind::Send]),
                ReplicaInput::Receive {
                    msg: M::Write { .. } | M::Read { .. },
                    ..
                } => assert_eq!(kinds, [EffectKind::Send], "{input:?}"),
                _ => assert!(kinds.iter().all(|k| *k != EffectKind::Send)),
            }
            let logged: Vec<_> = effects
                .into_iter()
                .filter_map(|e| match e {
                    ReplicaEffect::Persist {
                        key,
                        value,
                        hint_for,
                    } => Some(ReplicaInput::Store {
                        key,
                        value,
                        hint_for,
                    }),
                    ReplicaEffect::HintDropped {
                        replica,
                        key,
                        version,
                    } => Some(ReplicaInput::HintDelivered {
                        replica,
                        key,
                        version,
                    }),
                    ReplicaEffect::Send { .. } => None,
                })
                .collect();
            assert_eq!(changed, !logged.is_empty(), "{input:?}");
            log.extend(logged);
        }
        let mut recovered = Replica::new();
        for record in log {
            recovered.step(record);
        }
        assert_eq!(recovered, replica, "replaying the log loses a change");
    }
    // The check has teeth: a driver that acknowledged before persisting is caught.
    let mut replica: Replica<&str, u32> = Replica::new();
    let mut effects = replica.step(ReplicaInput::Receive {
        from: 9,
        msg: M::Write {
            op: 1,
            key: "a",
            value: versioned(1),
            hint_for: None,
        },
    });
    effects.reverse();
    assert!(check_durability_order(&effects).is_err());
}

/// One move of a random run of a coordinator and four nodes (replicas 0, 1, 2 and
/// fallback 3).
#[derive(Clone, Debug)]
enum Move {
    Put,
    Get,
    /// Deliver the `i`-th message in flight (modulo their number); the reply is lost if
    /// `lose`.
    Deliver {
        i: usize,
        lose: bool,
    },
    HandOff {
        replica: NodeId,
        fallback: NodeId,
    },
    Abandon,
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    let one = prop_oneof![
        1 => Just(Move::Put),
        1 => Just(Move::Get),
        6 => (0usize..16, prop::bool::weighted(0.1))
            .prop_map(|(i, lose)| Move::Deliver { i, lose }),
        1 => (0u32..3, 0u32..4).prop_map(|(replica, fallback)| Move::HandOff { replica, fallback }),
        1 => Just(Move::Abandon),
    ];
    prop::collection::vec(one, 0..40)
}

proptest! {
    /// Random runs, with every bug and every level: no step of the coordinator or of a
    /// replica breaks the durability order (the `step` helper checks each one).
    #[test]
    fn no_step_sends_before_it_persists(
        bug in prop::option::of(prop::sample::select(<Bug as crate::sansio::BugSwitches>::ALL)),
        level in prop::sample::select(vec![Consistency::One, Consistency::Quorum, Consistency::All]),
        moves in moves(),
    ) {
        let mut coordinator: Coordinator<&'static str, u32> = Coordinator::new(9, 0, bug);
        let mut nodes: Vec<Replica<&'static str, u32>> = vec![Replica::new(); 4];
        let mut network: Vec<(NodeId, M)> = Vec::new();
        let mut value = 0;
        let mut clock = 10;
        for m in moves {
            clock -= 1; // a clock that runs backwards is the worst case for wall-clock-lww
            let effects = match m {
                Move::Put => {
                    value += 1;
                    begin(&mut coordinator, Request::Put(value), level, clock)
                        .map(|(_, e)| e)
                        .unwrap_or_default()
                }
                Move::Get => begin(&mut coordinator, Request::Get, level, clock)
                    .map(|(_, e)| e)
                    .unwrap_or_default(),
                Move::Deliver { i, lose } => {
                    if network.is_empty() {
                        continue;
                    }
                    let (to, msg) = network.remove(i % network.len());
                    let input = ReplicaInput::Receive { from: 9, msg };
                    match reply(step(&mut nodes[to as usize], input)) {
                        Some((reply, _)) if !lose => step(
                            &mut coordinator,
                            CoordinatorInput::Receive { from: to, msg: reply },
                        ),
                        _ => Vec::new(),
                    }
                }
                Move::HandOff { replica, fallback } => {
                    let Some((op, _)) = coordinator.ops().last() else { continue };
                    step(&mut coordinator, CoordinatorInput::HandOff { op, replica, fallback })
                }
                Move::Abandon => {
                    let Some((op, _)) = coordinator.ops().next() else { continue };
                    step(&mut coordinator, CoordinatorInput::Abandon { op })
                }
            };
            prop_assert!(effects.iter().all(|e| e.kind() != EffectKind::Persist));
            network.extend(sends(&effects));
        }
    }
}

#[test]
fn bug_names_round_trip_and_one_is_not_a_core_bug() {
    use crate::sansio::BugSwitches;
    for &bug in <Bug as BugSwitches>::ALL {
        assert_eq!(Bug::from_name(bug.name()), Some(bug));
        assert_eq!(<Bug as BugSwitches>::switch(bug), Bug::switch(bug));
    }
    assert_eq!(Bug::from_name(CONSISTENCY_ONE.name), None);
}

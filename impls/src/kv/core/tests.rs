//! Scenario tests of the core, driven by hand: each delivers chosen messages and checks
//! what the coordinator concludes.

use super::*;

type M = Msg<&'static str, u32>;

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
        let (_, effect) = self
            .coordinator
            .begin("k", request, vec![0, 1, 2], 3, level, 0)
            .expect("three replicas");
        let mut queue: Vec<(NodeId, M)> = effect.sends;
        let mut outcome = effect.outcome.map(|(_, o)| o);
        while !queue.is_empty() {
            let (to, msg) = queue.remove(0);
            if !reachable.contains(&to) {
                continue;
            }
            let (reply, _) = self.replicas[to as usize].step(msg).expect("a request");
            let effect = self.coordinator.step(to, reply);
            queue.extend(effect.sends);
            if let Some((_, o)) = effect.outcome {
                outcome.get_or_insert(o);
            }
        }
        outcome
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
    let (op, effect) = c
        .coordinator
        .begin(
            "k",
            Request::Put(5),
            vec![0, 1, 2],
            3,
            Consistency::Quorum,
            0,
        )
        .unwrap();
    // Read phase answered by 0 and 1.
    for (to, msg) in effect.sends.into_iter().filter(|(to, _)| *to != 2) {
        let (reply, _) = c.replicas[to as usize].step(msg).unwrap();
        c.coordinator.step(to, reply);
    }
    // Only replica 0 acknowledges; replica 1 is covered by a hint on node 0.
    let write = c.coordinator.get(op).unwrap().value().cloned().unwrap();
    c.coordinator.step(0, M::WriteAck { op, hint_for: None });
    let hint = c.coordinator.hand_off(op, 1, 0);
    assert_eq!(hint.sends.len(), 1);
    let effect = c.coordinator.step(
        0,
        M::WriteAck {
            op,
            hint_for: Some(1),
        },
    );
    assert_eq!(effect.outcome, None, "a hint counted as a replica's ack");
    assert!(c.coordinator.get(op).unwrap().may_have_taken_effect());
    assert_eq!(write.value, 5);

    // Built with the sloppy-quorum bug, the same hint completes the put.
    let mut sloppy = Cluster::new(Some(Bug::SloppyQuorum));
    let (op, effect) = sloppy
        .coordinator
        .begin(
            "k",
            Request::Put(5),
            vec![0, 1, 2],
            3,
            Consistency::Quorum,
            0,
        )
        .unwrap();
    for (to, msg) in effect.sends.into_iter().filter(|(to, _)| *to != 2) {
        let (reply, _) = sloppy.replicas[to as usize].step(msg).unwrap();
        sloppy.coordinator.step(to, reply);
    }
    sloppy
        .coordinator
        .step(0, M::WriteAck { op, hint_for: None });
    let effect = sloppy.coordinator.step(
        0,
        M::WriteAck {
            op,
            hint_for: Some(1),
        },
    );
    assert!(matches!(effect.outcome, Some((_, Outcome::Written { .. }))));
}

#[test]
fn async_read_repair_answers_before_the_repair_is_acknowledged() {
    let mut c = Cluster::new(Some(Bug::AsyncReadRepair));
    c.run(Request::Put(7), Consistency::Quorum, &[0, 1]);
    // Replica 0 has 7, replica 2 has nothing: the get answers 7 with the repair unsent.
    let (op, effect) = c
        .coordinator
        .begin("k", Request::Get, vec![0, 1, 2], 3, Consistency::Quorum, 0)
        .unwrap();
    let mut answer = None;
    for (to, msg) in effect.sends.into_iter().filter(|(to, _)| *to != 1) {
        let (reply, _) = c.replicas[to as usize].step(msg).unwrap();
        let e = c.coordinator.step(to, reply);
        answer = answer.or(e.outcome);
    }
    assert!(matches!(answer, Some((o, Outcome::Read { repaired: true, .. })) if o == op));
    assert_eq!(c.replicas[2].get(&"k"), None, "nothing was repaired yet");
}

#[test]
fn wall_clock_versions_let_an_earlier_write_win() {
    let mut c = Cluster::new(Some(Bug::WallClockLww));
    // The first put's clock reads 100; the second's reads 50 (a clock behind).
    let (_, e) = c
        .coordinator
        .begin(
            "k",
            Request::Put(1),
            vec![0, 1, 2],
            3,
            Consistency::Quorum,
            100,
        )
        .unwrap();
    for (to, msg) in e.sends {
        let (reply, _) = c.replicas[to as usize].step(msg).unwrap();
        c.coordinator.step(to, reply);
    }
    let (_, e) = c
        .coordinator
        .begin(
            "k",
            Request::Put(2),
            vec![0, 1, 2],
            3,
            Consistency::Quorum,
            50,
        )
        .unwrap();
    let mut acked = false;
    for (to, msg) in e.sends {
        let (reply, result) = c.replicas[to as usize].step(msg).unwrap();
        assert_eq!(result, Some(WriteResult::AlreadyNewer));
        acked |= c.coordinator.step(to, reply).outcome.is_some();
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
    let err = c
        .begin("k", Request::Get, vec![0], 3, Consistency::Quorum, 0)
        .unwrap_err();
    assert_eq!(
        err,
        Unavailable {
            replicas: 1,
            required: 2
        }
    );
}

//! The clock against a ground truth, and the facts of Riak's vclock tests.
//!
//! The ground truth: a random execution of local events, sends and receives over `n`
//! processes is a graph (each event points to the next event of its process, and each send
//! to its receive), and an event's causal past is what reaches it, found by searching that
//! graph backwards. The clocks never see the graph.

mod dvvset;
mod riak;

use super::clock::{Causality, VectorClock};
use super::process::{Clock, Effect, Input, Process, ProcessId};
use crate::sansio::Core;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// One step of a random execution: process `p` does something. `Send` picks its
/// receiver and `Receive` its message (among those in flight to `p`) by index modulo.
#[derive(Clone, Debug)]
enum Step {
    Local(u8),
    Send(u8, u8),
    Receive(u8, usize),
}

fn steps(n: u8) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        (0..n).prop_map(Step::Local),
        (0..n, 1..n).prop_map(|(p, d)| Step::Send(p, d)),
        (0..n, any::<usize>()).prop_map(|(p, i)| Step::Receive(p, i)),
    ];
    proptest::collection::vec(step, 0..40)
}

/// An execution: each event's process, stamp and predecessors in the graph.
struct Execution {
    proc_of: Vec<ProcessId>,
    stamps: Vec<Clock>,
    preds: Vec<Vec<usize>>,
}

impl Execution {
    fn run(n: u8, steps: &[Step]) -> Execution {
        let mut procs: Vec<Process> = (0..n).map(|p| Process::new(p, None)).collect();
        let mut last: Vec<Option<usize>> = vec![None; usize::from(n)];
        // (sender's send event, receiver, stamp)
        let mut flight: Vec<(usize, ProcessId, Clock)> = Vec::new();
        let mut x = Execution {
            proc_of: Vec::new(),
            stamps: Vec::new(),
            preds: Vec::new(),
        };
        for step in steps {
            let (p, input, from_send) = match *step {
                Step::Local(p) => (p, Input::Local, None),
                Step::Send(p, d) => (p, Input::Send { to: (p + d) % n }, None),
                Step::Receive(p, i) => {
                    let mine: Vec<usize> =
                        (0..flight.len()).filter(|&j| flight[j].1 == p).collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let (send, _, stamp) = flight.remove(mine[i % mine.len()]);
                    let from = x.proc_of[send];
                    (p, Input::Receive { from, stamp }, Some(send))
                }
            };
            let id = x.stamps.len();
            let mut preds: Vec<usize> = last[usize::from(p)].into_iter().collect();
            preds.extend(from_send);
            let mut stamp = None;
            for e in procs[usize::from(p)].step(input) {
                match e {
                    Effect::Stamped(c) => stamp = Some(c),
                    Effect::Send { to, stamp } => flight.push((id, to, stamp)),
                }
            }
            x.proc_of.push(p);
            x.stamps.push(stamp.expect("stamped"));
            x.preds.push(preds);
            last[usize::from(p)] = Some(id);
        }
        x
    }

    /// Every event that reaches `e` in the graph, `e` included.
    fn past(&self, e: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::from([e]);
        let mut todo = vec![e];
        while let Some(f) = todo.pop() {
            for &g in &self.preds[f] {
                if seen.insert(g) {
                    todo.push(g);
                }
            }
        }
        seen
    }
}

/// Steps drawn for 4 processes, fitted to `n`: processes and receivers taken modulo `n`,
/// and a send never to its own sender.
fn fit(n: u8, steps: Vec<Step>) -> Vec<Step> {
    steps
        .into_iter()
        .map(|st| match st {
            Step::Local(p) => Step::Local(p % n),
            Step::Send(p, d) => Step::Send(p % n, 1 + d % (n - 1)),
            Step::Receive(p, i) => Step::Receive(p % n, i),
        })
        .collect()
}

proptest! {
    #[test]
    fn every_stamp_counts_its_events_causal_past(n in 2u8..5, s in steps(4)) {
        let x = Execution::run(n, &fit(n, s));
        for e in 0..x.stamps.len() {
            let past = x.past(e);
            for i in 0..n {
                let truth = past.iter().filter(|&&f| x.proc_of[f] == i).count() as u64;
                prop_assert_eq!(x.stamps[e].get(&i), truth, "event {} entry p{}", e, i + 1);
            }
        }
    }

    #[test]
    fn the_clock_order_is_happens_before(n in 2u8..5, s in steps(4)) {
        let x = Execution::run(n, &fit(n, s));
        let pasts: Vec<BTreeSet<usize>> = (0..x.stamps.len()).map(|e| x.past(e)).collect();
        for e in 0..x.stamps.len() {
            for f in 0..x.stamps.len() {
                let truth = if e == f {
                    Causality::Equal
                } else if pasts[f].contains(&e) {
                    Causality::Before
                } else if pasts[e].contains(&f) {
                    Causality::After
                } else {
                    Causality::Concurrent
                };
                let a = &x.stamps[e];
                let b = &x.stamps[f];
                prop_assert_eq!(a.compare(b), truth, "events {} and {}", e, f);
                prop_assert_eq!(a.happens_before(b), truth == Causality::Before);
                prop_assert_eq!(a.are_concurrent(b), truth == Causality::Concurrent);
                prop_assert_eq!(a < b, truth == Causality::Before);
            }
        }
    }

    #[test]
    fn merge_is_the_least_upper_bound(
        a in proptest::collection::btree_map(0u8..5, 1u64..6, 0..5),
        b in proptest::collection::btree_map(0u8..5, 1u64..6, 0..5),
        c in proptest::collection::btree_map(0u8..5, 1u64..6, 0..5),
    ) {
        let (a, b, c): (VectorClock<u8>, VectorClock<u8>, VectorClock<u8>) =
            (a.into_iter().collect(), b.into_iter().collect(), c.into_iter().collect());
        let m = a.merged(&b);
        prop_assert!(m.descends(&a) && m.descends(&b));
        // Least: any clock above both is above the merge.
        if c.descends(&a) && c.descends(&b) {
            prop_assert!(c.descends(&m));
        }
        prop_assert_eq!(&m, &b.merged(&a));
        prop_assert_eq!(m.merged(&c), a.merged(&b.merged(&c)));
        prop_assert_eq!(a.merged(&a), a.clone());
    }

    #[test]
    fn the_wire_form_round_trips(
        a in proptest::collection::btree_map(0u8..9, 1u64..1000, 0..6),
    ) {
        let c: VectorClock<u8> = a.into_iter().collect();
        let json = serde_json::to_string(&c).unwrap();
        let back: VectorClock<u8> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, c);
    }
}

#[test]
fn the_wire_form_is_a_list_of_pairs_and_refuses_zero_and_repeats() {
    let c: VectorClock<u8> = [(0, 2), (2, 1)].into_iter().collect();
    assert_eq!(serde_json::to_string(&c).unwrap(), "[[0,2],[2,1]]");
    let mut t = VectorClock::<u8>::new();
    t.increment_at(1, 77);
    assert_eq!(serde_json::to_string(&t).unwrap(), "[[1,1,77]]");
    assert_eq!(
        serde_json::from_str::<VectorClock<u8>>("[[1,1,77]]")
            .unwrap()
            .time_of(&1),
        Some(77)
    );
    let zero = serde_json::from_str::<VectorClock<u8>>("[[0,0]]").unwrap_err();
    assert!(zero.to_string().contains("counter 0"), "{zero}");
    let twice = serde_json::from_str::<VectorClock<u8>>("[[0,1],[0,2]]").unwrap_err();
    assert!(twice.to_string().contains("already listed"), "{twice}");
}

#[test]
fn a_clock_displays_its_counters_in_process_order() {
    let c: VectorClock<String> = [("b".to_string(), 1), ("a".to_string(), 2)]
        .into_iter()
        .collect();
    assert_eq!(c.to_string(), "{a:2, b:1}");
}

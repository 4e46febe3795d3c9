//! Crash injection: named crash points, a plan saying where to crash, and the record of
//! every point a run passed.
//!
//! Every node calls [`FaultPlan::crash_point`] before and after each log write (append,
//! plus fsync when the record must be durable) and before and after each send. A point's
//! name says what is about to happen or just happened, e.g. `before log Commit tx2` or
//! `after send VoteYes tx1 -> coordinator`. A plan that answers `true` makes the node crash
//! there: its thread stops, its volatile state (including log records appended but not
//! fsynced) is gone, and its files stay for the restart.
//!
//! A point is identified by its node, its name, and its occurrence (the n-th time that
//! node passed a point of that name). That identifies the same step in a rerun even when
//! timing adds or removes unrelated points (an extra resend, say) before it, which a plain
//! index would not.

use super::NodeId;
use crate::sim::SplitMix64;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// One crash point as a node passed it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrashPoint {
    /// The node.
    pub node: NodeId,
    /// What the node is about to do or just did.
    pub name: String,
    /// 1 the first time the node passes a point of this name, 2 the second, and so on.
    pub occurrence: u32,
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.node, self.name)?;
        if self.occurrence > 1 {
            write!(f, " (#{})", self.occurrence)?;
        }
        Ok(())
    }
}

/// Where a plan crashes nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum Crashes {
    /// Never.
    Never,
    /// Once, at exactly this point.
    At(CrashPoint),
    /// At each point with this probability, at most `max` times in all. Seeded, but which
    /// points are passed depends on thread timing, so a run is reproducible only roughly.
    Random {
        /// Seed of the plan's generator.
        seed: u64,
        /// Probability of a crash at each point.
        probability: f64,
        /// The most crashes in the run.
        max: u32,
    },
    /// At every `n`-th point passed by any node (the node passing it crashes).
    Every(u64),
}

#[derive(Debug, Default)]
struct State {
    passed: Vec<CrashPoint>,
    counts: BTreeMap<(NodeId, String), u32>,
    crashed: Vec<CrashPoint>,
    rng: SplitMix64,
}

/// A plan of crashes, shared by every node of a cluster, that also records every crash
/// point passed and every crash injected.
#[derive(Debug)]
pub struct FaultPlan {
    crashes: Crashes,
    state: Mutex<State>,
}

impl FaultPlan {
    /// A plan that crashes as `crashes` says.
    pub fn new(crashes: Crashes) -> FaultPlan {
        let seed = match &crashes {
            Crashes::Random { seed, .. } => *seed,
            _ => 0,
        };
        FaultPlan {
            crashes,
            state: Mutex::new(State {
                rng: SplitMix64::new(seed),
                ..State::default()
            }),
        }
    }

    /// A plan that never crashes anything, only records.
    pub fn none() -> FaultPlan {
        FaultPlan::new(Crashes::Never)
    }

    /// Called by `node` at the point `name`: records it and says whether to crash now.
    pub fn crash_point(&self, node: NodeId, name: &str) -> bool {
        let mut s = self.state.lock().expect("fault plan lock");
        let count = s.counts.entry((node, name.to_string())).or_insert(0);
        *count += 1;
        let point = CrashPoint {
            node,
            name: name.to_string(),
            occurrence: *count,
        };
        let crash = match &self.crashes {
            Crashes::Never => false,
            Crashes::At(target) => *target == point && s.crashed.is_empty(),
            Crashes::Random {
                probability, max, ..
            } => (s.crashed.len() as u32) < *max && s.rng.chance(*probability),
            Crashes::Every(n) => *n > 0 && (s.passed.len() as u64 + 1) % *n == 0,
        };
        s.passed.push(point.clone());
        if crash {
            s.crashed.push(point);
        }
        crash
    }

    /// Every point passed so far, in the order passed.
    pub fn passed(&self) -> Vec<CrashPoint> {
        self.state.lock().expect("fault plan lock").passed.clone()
    }

    /// Every point at which a crash was injected, in order.
    pub fn crashed(&self) -> Vec<CrashPoint> {
        self.state.lock().expect("fault plan lock").crashed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targeted_plan_crashes_once_at_the_named_occurrence() {
        let target = CrashPoint {
            node: NodeId::Participant(1),
            name: "before send Ack tx1 -> coordinator".into(),
            occurrence: 2,
        };
        let plan = FaultPlan::new(Crashes::At(target.clone()));
        let other = NodeId::Participant(0);
        assert!(!plan.crash_point(other, &target.name));
        assert!(!plan.crash_point(target.node, &target.name));
        assert!(!plan.crash_point(target.node, "after log Commit tx1"));
        assert!(plan.crash_point(target.node, &target.name));
        assert!(!plan.crash_point(target.node, &target.name));
        assert_eq!(plan.crashed(), [target]);
        assert_eq!(plan.passed().len(), 5);
        assert_eq!(plan.passed()[3].occurrence, 2);
    }

    #[test]
    fn every_nth_and_random_plans_crash_as_configured() {
        let plan = FaultPlan::new(Crashes::Every(3));
        let hits: Vec<bool> = (0..7)
            .map(|i| plan.crash_point(NodeId::Coordinator, &format!("p{i}")))
            .collect();
        assert_eq!(hits, [false, false, true, false, false, true, false]);

        let plan = FaultPlan::new(Crashes::Random {
            seed: 5,
            probability: 0.5,
            max: 4,
        });
        for i in 0..100 {
            plan.crash_point(NodeId::Coordinator, &format!("p{i}"));
        }
        assert_eq!(plan.crashed().len(), 4, "capped at max");
    }
}

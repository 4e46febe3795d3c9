//! The simulator's deterministic schedule replays: the same configuration and seed give
//! the same recording, byte for byte, and a different seed a different one. Each bug is
//! caught on a pinned seed, as `check msi --sim` catches it (a deadlock, an SWMR overlap
//! in the logged intervals, or a load no linearization explains), while the correct
//! protocol, on the same seeds, shows none of these.

use impls::msi::core::{Bug, Bugs};
use impls::msi::sim::record::{swmr_violation, OpKind, OpRecord};
use impls::msi::sim::{run, Outcome, Schedule, SimConfig, SimRun};
use impls::sansio::BugSwitches;
use std::collections::HashMap;

/// `check msi --sim --ops 20000`: 4 cores, 4 addresses, the default mix.
fn config(seed: u64, bug: Option<Bug>) -> SimConfig {
    SimConfig {
        ops_per_core: 20_000,
        seed,
        bugs: Bugs::from(bug),
        ..SimConfig::default()
    }
}

/// A load that no linearization of its address's register history explains: it returned
/// a value no store wrote, or the value of a store that some other completed store
/// entirely follows and the load entirely follows in turn. (A sufficient condition only;
/// `check msi --sim` runs the full linearizability check.)
fn stale_load(run: &SimRun) -> Option<OpRecord> {
    (0..run.config.addrs).find_map(|a| {
        let on = |o: &&OpRecord| o.addr == a;
        // Completed stores, by call time, with the earliest return among those called
        // at or after each.
        let mut stores: Vec<(u64, u64, u32)> = run
            .ops
            .iter()
            .filter(on)
            .filter_map(|o| match (o.kind, o.ret) {
                (OpKind::Store(v), Some(ret)) => Some((o.call, ret, v)),
                _ => None,
            })
            .collect();
        stores.sort_unstable();
        let mut earliest_ret = vec![u64::MAX; stores.len() + 1];
        for i in (0..stores.len()).rev() {
            earliest_ret[i] = earliest_ret[i + 1].min(stores[i].1);
        }
        // Every store's value is its own; 0 is memory's initial value, "stored" at 0. A
        // store still in progress may take effect at any time after its call.
        let written: HashMap<u32, u64> = std::iter::once((0, 0))
            .chain(run.ops.iter().filter(on).filter_map(|o| match o.kind {
                OpKind::Store(v) => Some((v, o.ret.unwrap_or(o.call))),
                OpKind::Load(_) => None,
            }))
            .collect();
        run.ops.iter().filter(on).copied().find(|load| {
            let (OpKind::Load(Some(v)), Some(_)) = (load.kind, load.ret) else {
                return false;
            };
            let Some(&done) = written.get(&v) else {
                return true;
            };
            let later = stores.partition_point(|&(call, _, _)| call <= done);
            earliest_ret[later] < load.call
        })
    })
}

/// What `check msi --sim` would report against the run, as far as impls can tell.
fn caught(run: &SimRun) -> Vec<&'static str> {
    let mut found = Vec::new();
    if run.outcome != Outcome::Finished {
        found.push("deadlock");
    }
    if swmr_violation(&run.holdings).is_some() {
        found.push("swmr");
    }
    if stale_load(run).is_some() {
        found.push("linearizability");
    }
    found
}

/// Each bug, the seed pinned for it, and the check that catches it there.
const PINNED: [(Bug, u64, &str); 5] = [
    (Bug::NoInvalidate, 1, "swmr"),
    (Bug::NoWriteback, 1, "linearizability"),
    (Bug::EarlyWrite, 1, "swmr"),
    (Bug::AckInvInIsD, 1, "swmr"),
    (Bug::UnorderedForwards, 1, "deadlock"),
];

/// Named so that `cargo test -p impls msi` selects these tests.
mod msi_replay {
    use super::*;

    #[test]
    fn the_deterministic_schedule_is_the_default() {
        assert_eq!(SimConfig::default().schedule, Schedule::Deterministic);
        for s in Schedule::ALL {
            assert_eq!(Schedule::from_name(s.name()), Some(s));
        }
    }

    #[test]
    fn the_same_seed_replays_the_same_recording_and_another_seed_does_not() {
        let (a, b, c) = (
            run(config(7, None)),
            run(config(7, None)),
            run(config(8, None)),
        );
        assert_eq!(a.outcome, Outcome::Finished);
        assert_eq!(
            format!("{:?}", a.recording()),
            format!("{:?}", b.recording())
        );
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.recording(), c.recording());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn a_buggy_run_replays_too() {
        let bug = Some(Bug::UnorderedForwards);
        let (a, b) = (run(config(3, bug)), run(config(3, bug)));
        assert_eq!(a.outcome, Outcome::Deadlocked);
        assert_eq!(
            format!("{:?}", a.recording()),
            format!("{:?}", b.recording())
        );
    }

    #[test]
    fn every_bug_is_caught_on_its_pinned_seed() {
        assert_eq!(
            PINNED.map(|(bug, _, _)| bug).as_slice(),
            Bug::ALL,
            "one pinned seed per bug"
        );
        for (bug, seed, by) in PINNED {
            let run = run(config(seed, Some(bug)));
            let found = caught(&run);
            assert!(
                found.contains(&by),
                "{} on seed {seed}: caught by {found:?}, not {by}",
                bug.name()
            );
        }
    }

    #[test]
    fn the_correct_protocol_on_the_pinned_seeds_shows_nothing() {
        let mut seeds: Vec<u64> = PINNED.iter().map(|&(_, seed, _)| seed).collect();
        seeds.dedup();
        for seed in seeds {
            let run = run(config(seed, None));
            assert_eq!(caught(&run), Vec::<&str>::new(), "seed {seed}");
            assert!(run.ops.iter().all(|o| o.ret.is_some()));
        }
    }
}

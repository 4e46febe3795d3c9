//! MIT 6.5840's Raft lab tests (parts 3A to 3D), ported as scenarios on the simulated
//! cluster [`crate::raft::sim`]: same steps, same checks, same thresholds, in simulated
//! time (6.5840's `RaftElectionTimeout` of 1 s is 100 ticks of 10 ms).
//!
//! Each scenario is a function of a seed and an optional [`Bug`] built into every node.
//! Its `#[test]` runs it on [`FIXED_SEED`] and on seeds `1..=N`; a failure names the seed,
//! from which the run replays exactly. [`bugs`] asserts that every bug switch fails at
//! least one scenario, and holds the table of which.
//!
//! Where 6.5840 runs goroutines (concurrent `one` calls, churn's clients), the scenario
//! moves each client on at every tick: concurrency at the granularity of the clock.

mod agreement;
mod bugs;
mod election;
mod persistence;
mod snapshots;

#[allow(unused_imports)]
pub(crate) use bugs::{bug_table, BUG_CATCHERS, UNCAUGHT};

use crate::raft::core::{Bug, Index};
use crate::raft::sim::{Cluster, SimConfig, SimResult};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// 6.5840's `RaftElectionTimeout`: the time its tester allows for an election.
const ELECTION_TIMEOUT_MS: u64 = 1000;

/// The seed every scenario runs first.
pub(crate) const FIXED_SEED: u64 = 65_840;

/// A scenario: runs on a seed with a bug (or none) built into every node.
pub(crate) type Scenario = fn(u64, Option<Bug>) -> SimResult<()>;

/// Every scenario by its test's name, with how many seeds its test runs after
/// [`FIXED_SEED`] (fewer for the long ones, to keep the suite near a minute in release).
pub(crate) const SCENARIOS: &[(&str, Scenario, u64)] = &[
    ("initial_election", election::initial_election, 50),
    ("re_election", election::re_election, 50),
    ("many_elections", election::many_elections, 30),
    ("basic_agree", agreement::basic_agree, 50),
    ("follower_failure", agreement::follower_failure, 50),
    ("leader_failure", agreement::leader_failure, 50),
    ("fail_agree", agreement::fail_agree, 50),
    ("fail_no_agree", agreement::fail_no_agree, 50),
    ("concurrent_starts", agreement::concurrent_starts, 50),
    ("rejoin", agreement::rejoin, 50),
    ("backup", agreement::backup, 30),
    ("count", agreement::count, 50),
    ("persist1", persistence::persist1, 50),
    ("persist2", persistence::persist2, 50),
    ("persist3", persistence::persist3, 50),
    ("figure8", persistence::figure8, 30),
    ("unreliable_agree", persistence::unreliable_agree, 30),
    ("figure8_unreliable", persistence::figure8_unreliable, 30),
    ("reliable_churn", persistence::reliable_churn, 30),
    ("unreliable_churn", persistence::unreliable_churn, 30),
    ("snapshot_basic", snapshots::snapshot_basic, 30),
    ("snapshot_install", snapshots::snapshot_install, 30),
    (
        "snapshot_install_unreliable",
        snapshots::snapshot_install_unreliable,
        30,
    ),
    (
        "snapshot_install_crash",
        snapshots::snapshot_install_crash,
        30,
    ),
    ("snapshot_all_crash", snapshots::snapshot_all_crash, 30),
    ("snapshot_init", snapshots::snapshot_init, 30),
];

/// The scenario called `name`.
pub(crate) fn scenario(name: &str) -> Scenario {
    SCENARIOS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, s, _)| *s)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// Runs `scenario` once; a panic inside (a node's broken invariant) is a failure too.
pub(crate) fn run(scenario: Scenario, seed: u64, bug: Option<Bug>) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| scenario(seed, bug))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(failure)) => Err(failure.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a non-string panic".to_string());
            Err(format!("SEED={seed}: panicked: {message}"))
        }
    }
}

/// A scenario's test: the fixed seed, then its other seeds; the first failure fails the
/// test with its seed.
fn check(name: &str) {
    let (_, s, seeds) = SCENARIOS
        .iter()
        .find(|(n, _, _)| *n == name)
        .expect("every test names a scenario");
    for seed in std::iter::once(FIXED_SEED).chain(1..=*seeds) {
        if let Err(e) = run(*s, seed, None) {
            panic!("{name} failed: {e}\nreplay: the scenario `{name}` with seed {seed}");
        }
    }
}

/// A cluster of `servers` on a reliable or unreliable network, no snapshots.
fn cluster(servers: u8, seed: u64, bug: Option<Bug>, reliable: bool) -> Cluster {
    cluster_with(servers, seed, bug, reliable, 0)
}

/// The same, compacting every `snapshot_every` applied entries.
fn cluster_with(
    servers: u8,
    seed: u64,
    bug: Option<Bug>,
    reliable: bool,
    snapshot_every: Index,
) -> Cluster {
    let config = SimConfig::new(servers, seed)
        .snapshot_every(snapshot_every)
        .bug(bug);
    let mut c = Cluster::new(config);
    c.set_unreliable(!reliable);
    c
}

#[test]
fn initial_election() {
    check("initial_election");
}
#[test]
fn re_election() {
    check("re_election");
}
#[test]
fn many_elections() {
    check("many_elections");
}
#[test]
fn basic_agree() {
    check("basic_agree");
}
#[test]
fn follower_failure() {
    check("follower_failure");
}
#[test]
fn leader_failure() {
    check("leader_failure");
}
#[test]
fn fail_agree() {
    check("fail_agree");
}
#[test]
fn fail_no_agree() {
    check("fail_no_agree");
}
#[test]
fn concurrent_starts() {
    check("concurrent_starts");
}
#[test]
fn rejoin() {
    check("rejoin");
}
#[test]
fn backup() {
    check("backup");
}
#[test]
fn count() {
    check("count");
}
#[test]
fn persist1() {
    check("persist1");
}
#[test]
fn persist2() {
    check("persist2");
}
#[test]
fn persist3() {
    check("persist3");
}
#[test]
fn figure8() {
    check("figure8");
}
#[test]
fn unreliable_agree() {
    check("unreliable_agree");
}
#[test]
fn figure8_unreliable() {
    check("figure8_unreliable");
}
#[test]
fn reliable_churn() {
    check("reliable_churn");
}
#[test]
fn unreliable_churn() {
    check("unreliable_churn");
}
#[test]
fn snapshot_basic() {
    check("snapshot_basic");
}
#[test]
fn snapshot_install() {
    check("snapshot_install");
}
#[test]
fn snapshot_install_unreliable() {
    check("snapshot_install_unreliable");
}
#[test]
fn snapshot_install_crash() {
    check("snapshot_install_crash");
}
#[test]
fn snapshot_all_crash() {
    check("snapshot_all_crash");
}
#[test]
fn snapshot_init() {
    check("snapshot_init");
}

#[test]
fn every_scenario_has_a_test_of_its_name() {
    let source = include_str!("mod.rs");
    for (name, _, _) in SCENARIOS {
        assert!(
            source.contains(&format!("fn {name}() {{\n    check(\"{name}\");")),
            "{name}"
        );
    }
}

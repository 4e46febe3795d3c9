//! Which lab scenarios catch which bug switch: every [`Bug`] must fail at least one, or
//! be listed in [`UNCAUGHT`] with the reason none can.

use super::{run, scenario, FIXED_SEED, SCENARIOS};
use crate::raft::core::Bug;
use crate::sansio::BugSwitches;

/// A scenario that catches a bug, by name, and the seeds it is pinned to fail on.
pub(crate) type Catcher = (&'static str, &'static [u64]);

/// For each bug, the scenarios that catch it and the seeds on which each is pinned to
/// fail (and to pass without the bug). Found with `find_bug_catching_seeds` (ignored;
/// run it to re-pin after the core changes).
pub(crate) const BUG_CATCHERS: &[(Bug, &[Catcher])] = &[
    (
        Bug::VoteWithoutLogCheck,
        &[
            ("figure8", &[FIXED_SEED, 1]),
            ("persist2", &[1, 2]),
            ("persist3", &[FIXED_SEED, 1]),
        ],
    ),
    (Bug::CommitPreviousTerm, &[("figure8_unreliable", &[7])]),
    (
        Bug::SkipPrevLogCheck,
        &[
            ("rejoin", &[FIXED_SEED, 1]),
            ("backup", &[FIXED_SEED, 1]),
            ("figure8_unreliable", &[FIXED_SEED]),
        ],
    ),
    (
        Bug::LeaderAcceptsStaleAppend,
        &[("rejoin", &[3, 4]), ("snapshot_install", &[11, 20])],
    ),
    (
        Bug::TruncateWithoutConflict,
        &[
            ("unreliable_agree", &[FIXED_SEED, 1]),
            ("snapshot_install_unreliable", &[FIXED_SEED, 1]),
            ("unreliable_churn", &[1]),
        ],
    ),
];

/// Bugs no lab scenario catches, and why.
pub(crate) const UNCAUGHT: &[(Bug, &str)] = &[(
    Bug::ForgetVoteOnRestart,
    "a second vote in one term needs a voter to restart between two candidates' requests \
     of that term; the lab restarts servers long after they crash (churn, figure8) or all \
     at once (persist, snapshot_all_crash), and a restarted server that forgot its vote \
     still refuses a candidate whose log lacks the entries of that term; 0 of 201 seeds \
     of figure8, figure8_unreliable, the churns, persist2 and snapshot_install_crash \
     caught it, with or without PreVote and CheckQuorum",
)];

/// The table for the README: each bug's name and the scenarios that catch it (none for
/// the bugs in [`UNCAUGHT`]).
pub(crate) fn bug_table() -> Vec<(&'static str, Vec<&'static str>)> {
    Bug::ALL
        .iter()
        .map(|&bug| {
            let rows = BUG_CATCHERS
                .iter()
                .find(|(b, _)| *b == bug)
                .map(|(_, rows)| rows.iter().map(|(s, _)| *s).collect())
                .unwrap_or_default();
            (bug.name(), rows)
        })
        .collect()
}

#[test]
fn every_bug_switch_fails_a_lab_scenario() {
    for &bug in Bug::ALL {
        let rows = BUG_CATCHERS
            .iter()
            .find(|(b, _)| *b == bug)
            .map(|(_, rows)| *rows)
            .unwrap_or_default();
        let uncaught = UNCAUGHT.iter().any(|(b, _)| *b == bug);
        assert!(
            rows.is_empty() == uncaught,
            "{} must be caught by a listed scenario, or be listed as uncaught with a reason",
            bug.name()
        );
        for (name, seeds) in rows {
            assert!(
                !seeds.is_empty(),
                "{name} has no pinned seed for {}",
                bug.name()
            );
            for &seed in *seeds {
                assert!(
                    run(scenario(name), seed, Some(bug)).is_err(),
                    "{name} with seed {seed} passes with the bug {} built in",
                    bug.name()
                );
                if let Err(e) = run(scenario(name), seed, None) {
                    panic!("{name} with seed {seed} fails without a bug: {e}");
                }
            }
        }
    }
}

#[test]
fn the_bug_table_names_every_bug_once() {
    let table = bug_table();
    assert_eq!(table.len(), Bug::ALL.len());
    for (name, scenarios) in &table {
        let why = UNCAUGHT
            .iter()
            .find(|(b, _)| b.name() == *name)
            .map(|(_, why)| *why);
        assert_eq!(scenarios.is_empty(), why.is_some(), "{name}");
        match why {
            Some(why) => println!("{name}: none ({why})"),
            None => println!("{name}: {}", scenarios.join(", ")),
        }
    }
}

/// Prints, for every bug and scenario, which of the first seeds fail: the data for
/// [`BUG_CATCHERS`]. `cargo test --release -p impls find_bug_catching_seeds -- --ignored
/// --nocapture`
#[test]
#[ignore]
fn find_bug_catching_seeds() {
    // LAB_BUGS=name,name and LAB_SCENARIOS=name,name narrow the search; LAB_SEEDS widens it.
    let only = |var: &str, name: &str| {
        std::env::var(var).map_or(true, |list| list.split(',').any(|n| n == name))
    };
    let extra: u64 = std::env::var("LAB_SEEDS").map_or(10, |s| s.parse().expect("a number"));
    let seeds: Vec<u64> = std::iter::once(FIXED_SEED).chain(1..=extra).collect();
    for &bug in Bug::ALL.iter().filter(|b| only("LAB_BUGS", b.name())) {
        for (name, s, _) in SCENARIOS
            .iter()
            .filter(|(n, _, _)| only("LAB_SCENARIOS", n))
        {
            let failing: Vec<String> = seeds
                .iter()
                .filter_map(|&seed| {
                    run(*s, seed, Some(bug))
                        .err()
                        .map(|e| format!("{seed}: {e}"))
                })
                .collect();
            println!(
                "{} {name}: {}/{} fail",
                bug.name(),
                failing.len(),
                seeds.len()
            );
            for f in failing.iter().take(2) {
                println!("    {f}");
            }
        }
    }
}

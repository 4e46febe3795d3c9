//! Which lab scenarios catch which bug switch: every [`Bug`] must fail at least one.

use super::{run, scenario, FIXED_SEED, SCENARIOS};
use crate::raft::core::Bug;
use crate::sansio::BugSwitches;

/// For each bug, the scenarios that catch it and the seeds on which each is pinned to
/// fail. Found with `find_bug_catching_seeds` (ignored; run it to re-pin after the core
/// changes).
pub(crate) const BUG_CATCHERS: &[(Bug, &[(&str, &[u64])])] = &[];

/// The table for the README: each bug's name and the scenarios that catch it.
pub(crate) fn bug_table() -> Vec<(&'static str, Vec<&'static str>)> {
    BUG_CATCHERS
        .iter()
        .map(|(bug, rows)| (bug.name(), rows.iter().map(|(s, _)| *s).collect()))
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
        assert!(
            !rows.is_empty(),
            "no lab scenario is listed as catching {}",
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
            }
        }
    }
}

#[test]
fn the_bug_table_names_every_bug_once() {
    let table = bug_table();
    for &bug in Bug::ALL {
        let rows = table.iter().filter(|(name, _)| *name == bug.name()).count();
        assert_eq!(rows, 1, "{}", bug.name());
    }
    for (bug, scenarios) in &table {
        println!("{bug}: {}", scenarios.join(", "));
    }
}

/// Prints, for every bug and scenario, which of the first seeds fail: the data for
/// [`BUG_CATCHERS`]. `cargo test --release -p impls find_bug_catching_seeds -- --ignored
/// --nocapture`
#[test]
#[ignore]
fn find_bug_catching_seeds() {
    let seeds: Vec<u64> = std::iter::once(FIXED_SEED).chain(1..=10).collect();
    for &bug in Bug::ALL {
        for (name, s, _) in SCENARIOS {
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

//! `check raft --jepsen`: the Raft key-value service under a nemesis, in turmoil's
//! deterministic simulation.
//!
//! The correct service stays linearizable on the seeds here (and on the hundred of the
//! ignored sweep, which CI runs); each bug switch is caught (exit 1, "not linearizable")
//! on a seed pinned below, found by the ignored `find_bug_catching_seeds`. Runs are a few
//! simulated seconds long, so each takes seconds in the dev profile.

use std::process::Output;
use std::time::{Duration, Instant};

mod common;
use common::{check, stderr, stdout};

fn jepsen(extra: &[&str]) -> Output {
    let mut args = vec!["raft", "--jepsen"];
    args.extend_from_slice(extra);
    check(&args)
}

/// A run of `seconds` on `seed`, with `bug` and a nemesis list (`None`: the default).
fn run(seconds: u64, seed: u64, bug: Option<&str>, nemesis: Option<&str>) -> Output {
    let (seconds, seed) = (seconds.to_string(), seed.to_string());
    let mut args = vec!["--seconds", &seconds, "--seed", &seed];
    if let Some(bug) = bug {
        args.extend(["--bug", bug]);
    }
    if let Some(n) = nemesis {
        args.extend(["--nemesis", n]);
    }
    jepsen(&args)
}

/// The applied faults and operation counts of a report.
fn applied(out: &str) -> &str {
    out.split("faults applied").nth(1).unwrap_or("")
}

/// The number of `ok` gets in the report's operation line.
fn ok_gets(out: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("operations: get "))
        .unwrap_or_else(|| panic!("no operation line in\n{out}"));
    line["operations: get ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no get count in {line}"))
}

#[test]
fn seed_1_for_10_s_is_linearizable_and_its_schedule_cuts_the_power_to_the_whole_cluster() {
    let o = run(10, 1, None, None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("result: linearizable"), "{out}");
    assert!(out.contains("lost acknowledged writes: 0"), "{out}");
    let schedule = out.split("faults applied").next().unwrap();
    assert!(
        schedule.contains("power-loss n1 n2 n3"),
        "the printed schedule holds a whole-cluster crash:\n{schedule}"
    );
    // Reads were served, and cas operations ran: a run where every read failed would be
    // linearizable and worthless.
    assert!(ok_gets(&out) > 100, "{out}");
    assert!(out.contains("; cas "), "{out}");
}

#[test]
fn the_same_seed_replays_the_same_history() {
    let a = stdout(&run(3, 7, None, None));
    let b = stdout(&run(3, 7, None, None));
    let history = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("run took"))
            .filter(|l| !l.starts_with("result:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(history(&a), history(&b));
}

/// Each bug, the seed and nemesis it is caught on, and the run's length in seconds.
/// Found by `find_bug_catching_seeds`.
const CAUGHT: &[(&str, u64, Option<&str>, u64)] = &[];

fn assert_caught(bug: &str) {
    let &(_, seed, nemesis, seconds) = CAUGHT
        .iter()
        .find(|(b, ..)| *b == bug)
        .unwrap_or_else(|| panic!("no pinned seed for {bug}"));
    let o = run(seconds, seed, Some(bug), nemesis);
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{bug} on seed {seed}: {out}{}",
        stderr(&o)
    );
    assert!(out.contains("result: not linearizable"), "{out}");
    assert!(out.contains(&format!("bug={bug}")), "{out}");
}

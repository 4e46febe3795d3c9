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
fn the_cluster_recovers_after_partitions_heal() {
    // Before: turmoil drops what a partition cuts, and a peer link went on writing into
    // its dead connection after the heal; no node heard another again, every node stayed
    // a pre-candidate, the leader faults were "skipped: no node leads now" and every
    // final read failed, yet the run passed. Now a link that hears nothing back
    // reconnects, and a run whose final reads fail exits 1 ("not recovered").
    let o = run(10, 1, None, Some("clock-skew,isolate-leader"));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("final reads 4 ok, 0 fail"), "{out}");
    // At most one leader fault may land mid-election; before, every one after the first
    // heal did.
    assert!(out.matches("no node leads now").count() <= 1, "{out}");
    assert!(!out.contains("not recovered"), "{out}");
    assert!(applied(&out).matches("(the leader)").count() >= 3, "{out}");
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

/// Each bug, the seed and nemesis it is caught on, and the run's length in seconds: the
/// lowest of seeds 1 to 30 that catches it in 10 s with every fault (`find_bug_catching_seeds`
/// with `RAFT_JEPSEN_SECONDS=10`). Seeds 1 to 30 catching each, with every fault:
/// forget-vote-on-restart, read-from-any-node, send-before-persist and skip-fsync 30;
/// truncate-without-conflict 27; leader-accepts-stale-append 15; vote-without-log-check 12;
/// lease-ignores-drift 6; skip-prev-log-check 5; commit-previous-term 2. Seed 1 catches six.
/// By the history alone, none of commit-previous-term, skip-prev-log-check,
/// leader-accepts-stale-append, truncate-without-conflict and lease-ignores-drift was
/// caught (seeds 1 to 100, 10 s, default nemesis, and 100 more per mix:
/// `pause,power-loss`, `isolate-leader,power-loss`, `restart,isolate-leader`,
/// `power-loss,kill-leader,pause`; the lease bug on 200 seeds of
/// `clock-skew,isolate-leader`).
/// `History`: the history is not linearizable; `Traces`: it is, and the run's validation
/// of the nodes' traces against the model catches the bug.
const CAUGHT: &[(&str, u64, Option<&str>, u64, By)] = &[
    ("vote-without-log-check", 12, None, 10, By::History),
    (
        "skip-fsync",
        1,
        Some("power-loss,crash,restart"),
        5,
        By::History,
    ),
    ("read-from-any-node", 1, None, 10, By::History),
    ("forget-vote-on-restart", 1, None, 10, By::Traces),
    ("send-before-persist", 1, None, 10, By::Traces),
    ("commit-previous-term", 2, None, 10, By::Traces),
    ("skip-prev-log-check", 1, None, 10, By::Traces),
    ("leader-accepts-stale-append", 2, None, 10, By::Traces),
    ("truncate-without-conflict", 1, None, 10, By::Traces),
    ("lease-ignores-drift", 5, None, 10, By::Traces),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum By {
    History,
    Traces,
}

fn assert_caught(bug: &str) {
    let &(_, seed, nemesis, seconds, by) = CAUGHT
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
    match by {
        By::History => assert!(out.contains("result: not linearizable"), "{out}"),
        By::Traces => {
            assert!(out.contains("result: linearizable"), "{out}");
            assert!(
                out.contains("trace validation: the nodes' steps DISAGREE"),
                "{out}"
            );
        }
    }
    assert!(out.contains(&format!("bug={bug}")), "{out}");
}

#[test]
fn forget_vote_on_restart_is_caught_by_the_runs_trace_validation() {
    assert_caught("forget-vote-on-restart");
}

#[test]
fn send_before_persist_is_caught_by_the_runs_trace_validation() {
    assert_caught("send-before-persist");
}

#[test]
fn commit_previous_term_is_caught_applying_an_entry_the_model_has_not_committed() {
    assert_caught("commit-previous-term");
}

#[test]
fn skip_prev_log_check_is_caught_by_the_runs_trace_validation() {
    assert_caught("skip-prev-log-check");
}

#[test]
fn leader_accepts_stale_append_is_caught_by_the_runs_trace_validation() {
    assert_caught("leader-accepts-stale-append");
}

#[test]
fn truncate_without_conflict_is_caught_by_the_runs_trace_validation() {
    assert_caught("truncate-without-conflict");
}

#[test]
fn lease_ignores_drift_is_caught_serving_a_read_the_model_would_confirm_first() {
    assert_caught("lease-ignores-drift");
}

#[test]
fn every_bug_switch_has_a_pinned_seed() {
    let all = [
        "vote-without-log-check",
        "commit-previous-term",
        "forget-vote-on-restart",
        "skip-prev-log-check",
        "leader-accepts-stale-append",
        "truncate-without-conflict",
        "skip-fsync",
        "read-from-any-node",
        "send-before-persist",
        "lease-ignores-drift",
    ];
    for bug in all {
        assert!(
            CAUGHT.iter().any(|(b, ..)| *b == bug),
            "{bug} has no pinned seed"
        );
    }
}

#[test]
fn vote_without_log_check_is_caught() {
    assert_caught("vote-without-log-check");
}

#[test]
fn read_from_any_node_is_caught_as_a_stale_read() {
    assert_caught("read-from-any-node");
}

#[test]
fn skip_fsync_is_caught_by_power_loss_and_without_it_only_by_trace_validation() {
    assert_caught("skip-fsync");
    // Crashes of one node at a time: the other copies of each write survive, and the
    // history is linearizable; the traces show a restart that recovered less than its
    // node had reported durable.
    let o = run(5, 1, Some("skip-fsync"), Some("crash,restart"));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(!applied(&out).contains("power-loss"), "{out}");
    assert!(out.contains("result: linearizable"), "{out}");
    assert!(
        out.contains("trace validation: the nodes' steps DISAGREE"),
        "{out}"
    );
    // The correct service passes the run that catches the bug.
    let o = run(5, 1, None, Some("power-loss,crash,restart"));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn a_caught_bug_writes_the_html_page_of_the_failing_key() {
    let dir = std::env::temp_dir().join(format!("raft-jepsen-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("anomaly.html");
    let history = dir.join("history.jsonl");
    let o = jepsen(&[
        "--seconds",
        "5",
        "--seed",
        "1",
        "--bug",
        "read-from-any-node",
        "--html",
        page.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE"),
        "not a page"
    );
    let jsonl = std::fs::read_to_string(&history).unwrap();
    assert!(
        jsonl.lines().any(|l| l.contains(r#""f":"cas""#)),
        "cas recorded"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lease_mode_with_clock_skew_is_linearizable_when_correct() {
    for seed in 1..=3 {
        let o = jepsen(&[
            "--seconds",
            "5",
            "--seed",
            &seed.to_string(),
            "--read-mode",
            "lease",
        ]);
        assert_eq!(o.status.code(), Some(0), "seed {seed}: {}", stdout(&o));
    }
}

#[test]
fn usage_errors_exit_2() {
    let o = jepsen(&[
        "--bug",
        "lease-ignores-drift",
        "--read-mode",
        "index",
        "--seconds",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("lease"), "{}", stderr(&o));
    let o = jepsen(&["--bug", "no-such-bug"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The sweep CI runs: the correct service on seeds 1 to `RAFT_JEPSEN_SEEDS` (default
/// 100), 10 s each, until `RAFT_JEPSEN_BUDGET_S` seconds (default 600) have passed.
#[test]
#[ignore]
fn the_correct_service_is_linearizable_on_many_seeds() {
    let seeds: u64 = std::env::var("RAFT_JEPSEN_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let budget = Duration::from_secs(
        std::env::var("RAFT_JEPSEN_BUDGET_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(600),
    );
    let started = Instant::now();
    let mut ran = 0;
    for seed in 1..=seeds {
        if started.elapsed() > budget {
            break;
        }
        let o = run(10, seed, None, None);
        assert_eq!(o.status.code(), Some(0), "seed {seed}: {}", stdout(&o));
        ran += 1;
    }
    eprintln!(
        "{ran} seeds linearizable in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(ran > 0);
}

/// Searches seeds that catch each bug (`RAFT_JEPSEN_BUGS`, comma-separated, default all
/// ten) with `RAFT_JEPSEN_NEMESIS` (default: all kinds) in runs of `RAFT_JEPSEN_SECONDS`
/// (default 10), seeds 1 to `RAFT_JEPSEN_SEEDS` (default 30), and prints them: how the
/// seeds above were found.
#[test]
#[ignore]
fn find_bug_catching_seeds() {
    let all = "vote-without-log-check,commit-previous-term,forget-vote-on-restart,skip-prev-log-check,leader-accepts-stale-append,truncate-without-conflict,skip-fsync,read-from-any-node,send-before-persist,lease-ignores-drift";
    let bugs = std::env::var("RAFT_JEPSEN_BUGS").unwrap_or_else(|_| all.to_string());
    let nemesis = std::env::var("RAFT_JEPSEN_NEMESIS").ok();
    let seeds: u64 = std::env::var("RAFT_JEPSEN_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seconds: u64 = std::env::var("RAFT_JEPSEN_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    for bug in bugs.split(',') {
        let caught: Vec<u64> = (1..=seeds)
            .filter(|&seed| {
                run(seconds, seed, Some(bug), nemesis.as_deref())
                    .status
                    .code()
                    == Some(1)
            })
            .collect();
        println!("{bug}: caught on seeds {caught:?} of 1..={seeds}");
    }
}

#[test]
fn a_bug_run_that_catches_nothing_exits_3_not_0() {
    // commit-previous-term needs a new leader to hear of an earlier term's entries
    // before its own no-op; seed 1 never gets there. A miss proves nothing about the bug.
    let o = run(10, 1, Some("commit-previous-term"), None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{}", stderr(&o));
    assert!(out.contains("result: linearizable"), "{out}");
    assert!(
        out.contains("bug commit-previous-term not caught: this run found no anomaly"),
        "{out}"
    );
}

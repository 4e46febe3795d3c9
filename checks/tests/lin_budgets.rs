//! `check lin`'s default budgets and its progress line. An undecidable search (Porcupine's
//! 50-client kv history checked whole) must end with "unknown" on its own, within the
//! default time budget, saying which budget ran out, and show its progress along the way.
//! The first test takes as long as the default budget (30 s).

mod common;
use common::{check, porcupine, stderr, stdout};
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn an_undecidable_check_ends_unknown_under_the_default_budgets_with_progress() {
    let started = Instant::now();
    let o = check(&[
        "lin",
        &porcupine("kv/c50-ok.txt"),
        "--model",
        "kv",
        "--no-partition",
    ]);
    let took = started.elapsed();
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(3), "{out}{err}");
    assert!(
        out.contains("result: unknown: the time budget ran out (--timeout 30s)"),
        "{out}"
    );
    assert!(took < Duration::from_secs(55), "took {took:?}");
    // Not a terminal: the first progress line after about 2 s, then one every 10 s.
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("c50-ok.txt: "))
        .collect();
    assert!((3..=5).contains(&lines.len()), "{err}");
    assert!(
        lines[0].contains("partition 1 of 1, ")
            && lines[0].contains(" of 1712 operations linearized, "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(" states, ") && lines[0].contains(" s left)"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(" MiB, 2 s ("), "{}", lines[0]);
}

#[test]
fn the_budgets_show_their_defaults_in_help() {
    let o = check(&["lin", "-h"]);
    let help = stdout(&o);
    assert!(
        help.contains("'none' for no limit [default: 30s]"),
        "{help}"
    );
    assert!(
        help.contains("'none' for no limit [default: 2GiB]"),
        "{help}"
    );
    assert!(help.contains("progress line on stderr"), "{help}");
    // The long form says the same, the default on a line of its own.
    let long = stdout(&check(&["lin", "--help"]));
    assert!(
        long.contains("'none' for no limit\n          \n          [default: 30s]"),
        "{long}"
    );
}

#[test]
fn the_memory_budget_bounds_the_process_and_none_lifts_the_time_budget() {
    let o = check(&[
        "--format",
        "json",
        "lin",
        &porcupine("kv/c50-ok.txt"),
        "--model",
        "kv",
        "--no-partition",
        "--timeout",
        "none",
        "--memory",
        "200MiB",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verdict"], "unknown");
    assert_eq!(v["exhausted"], "memory");
    assert_eq!(v["budget"]["timeout_seconds"], Value::Null);
    assert_eq!(v["budget"]["memory_bytes"], 200 << 20);
    // The progress line goes to stderr in JSON mode too, once the check is 2 s old.
    if v["seconds"].as_f64().unwrap() > 2.5 {
        assert!(
            stderr(&o).contains("c50-ok.txt: partition 1 of 1"),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("(no time limit)"), "{}", stderr(&o));
    }
}

#[test]
fn a_quick_check_prints_no_progress() {
    let o = check(&["lin", &porcupine("jepsen/etcd_000.log"), "--model", "etcd"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "");
}

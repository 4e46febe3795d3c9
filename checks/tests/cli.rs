//! The `check` binary as users and CI run it: exit codes, usage errors, JSON output and
//! `--trace-out`. Runs use small bounds so that the suite stays fast.

use serde_json::Value;
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .output()
        .expect("the check binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SMALL: &[&str] = &["--max-term", "3", "--max-log", "2"];

#[test]
fn an_unknown_exercise_exits_2_and_lists_the_valid_ones() {
    let o = check(&["nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown exercise 'nosuch'"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("valid exercises: raft"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_flag_values_exit_2_naming_the_flag() {
    for (args, flag) in [
        (&["raft", "--servers", "9"][..], "--servers"),
        (&["raft", "--bug", "nosuch"][..], "--bug"),
        (&["raft", "--strategy", "astar"][..], "--strategy"),
        (&["raft", "--timeout", "soon"][..], "--timeout"),
        (&["raft", "--explore", "not-an-address"][..], "--explore"),
    ] {
        let o = check(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(flag), "{args:?}: {}", stderr(&o));
    }
    // The valid bug names are listed.
    assert!(stderr(&check(&["raft", "--bug", "nosuch"])).contains("commit-previous-term"));
}

#[test]
fn list_names_every_property_variant_and_bound() {
    let o = check(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for needle in [
        "raft",
        "always: ElectionSafety, LogMatching, LeaderCompleteness, StateMachineSafety, LeaderAppendOnly",
        "sometimes: LeaderElected",
        "commit-previous-term",
        "--max-term 4",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let json: Value = serde_json::from_str(&stdout(&check(&["list", "--format", "json"]))).unwrap();
    assert_eq!(json[0]["name"], "raft");
    assert_eq!(json[0]["variants"].as_array().unwrap().len(), 5);
}

#[test]
fn a_holding_run_exits_0_and_reports_every_property_with_a_rate() {
    let mut args = vec!["raft"];
    args.extend(SMALL);
    let o = check(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("coverage: exhausted"), "{out}");
    assert!(out.contains("states/s"), "{out}");
    assert!(out.contains("ElectionSafety"), "{out}");
    assert!(out.contains("result: all properties hold"), "{out}");
}

#[test]
fn json_output_is_one_valid_document() {
    let mut args = vec!["raft", "--format", "json"];
    args.extend(SMALL);
    let o = check(&args);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    assert_eq!(v["exercise"], "raft");
    assert_eq!(v["verdict"], "holds");
    assert_eq!(v["coverage"]["kind"], "exhausted");
    assert_eq!(v["unique_states"], 704_044);
    assert!(v["counterexample"].is_null());
}

#[test]
fn a_bug_exits_1_with_a_numbered_trace_ending_in_the_property() {
    let o = check(&["raft", "--bug", "forget-vote-on-restart"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("counterexample to ElectionSafety (always): 5 steps (shortest, replayed)"),
        "{out}"
    );
    assert!(out.contains("  1. n"), "{out}");
    assert!(out.contains("crashes and restarts"), "{out}");
    assert!(out.contains("state that breaks ElectionSafety:"), "{out}");
    assert!(out.contains("why: "), "{out}");
}

#[test]
fn trace_out_writes_the_json_report() {
    let dir = std::env::temp_dir().join(format!("check-trace-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trace.json");
    let o = check(&[
        "raft",
        "--bug",
        "skip-prev-log-check",
        "--trace-out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let t = &v["counterexample"];
    assert_eq!(t["property"], "LogMatching");
    assert_eq!(t["length"], 8);
    assert_eq!(t["steps"].as_array().unwrap().len(), 8);
    assert!(t["steps"][0]["action"]
        .as_str()
        .unwrap()
        .contains("times out"));
    assert!(!t["final_state"].as_array().unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trace_out_into_a_missing_directory_fails_before_running() {
    let o = check(&["raft", "--trace-out", "/nonexistent-dir/trace.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent-dir"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "nothing was run: {}", stdout(&o));
}

#[test]
fn a_bounded_run_says_so() {
    let o = check(&["raft", "--depth", "3"]);
    let out = stdout(&o);
    assert!(out.contains("BOUNDED by depth 3"), "{out}");
    assert!(!out.contains("exhausted"), "{out}");
}

fn history(path: &str) -> String {
    format!(
        "{}/../../shared/histories/porcupine/test_data/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn lin_exit_codes_follow_the_verdict() {
    let ok = check(&["lin", &history("jepsen/etcd_002.log"), "--model", "etcd"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("result: linearizable"));

    let bad = check(&["lin", &history("jepsen/etcd_000.log"), "--model", "etcd"]);
    assert_eq!(bad.status.code(), Some(1));
    let out = stdout(&bad);
    assert!(out.contains("result: not linearizable"), "{out}");
    assert!(
        out.contains("cannot be placed after it:\n  #43 process 11 Read"),
        "{out}"
    );

    let kv = check(&[
        "lin",
        &history("kv/c10-bad.txt"),
        "--model",
        "kv",
        "--format",
        "json",
    ]);
    assert_eq!(kv.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&kv)).unwrap();
    assert_eq!(v["verdict"], "not linearizable");
    assert_eq!(v["input"], "kv-log");
}

#[test]
fn lin_input_errors_exit_2_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("check-lin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.log");
    std::fs::write(
        &file,
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tbanana\n",
    )
    .unwrap();
    let o = check(&["lin", file.to_str().unwrap(), "--model", "etcd"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.log:2: read returned `banana`"),
        "{}",
        stderr(&o)
    );
    let wrong = check(&["lin", file.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(wrong.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

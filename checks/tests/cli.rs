//! The `check` binary as users and CI run it: exit codes, usage errors, JSON output and
//! `--trace-out`. Runs use small bounds so that the suite stays fast.

use serde_json::Value;

mod common;
use common::{check, exercise_names, stderr, stdout};

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
    let valid = format!("valid exercises: {}", exercise_names().join(", "));
    assert!(stderr(&o).contains(&valid), "{}", stderr(&o));
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
    let raft = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "raft")
        .expect("raft is listed");
    // The abstract model's five and the node's own `truncate-without-conflict`, which
    // only `--protocol messages` takes.
    assert_eq!(raft["variants"].as_array().unwrap().len(), 6);
    let out = stdout(&check(&["list"]));
    assert!(
        out.contains("protocols (--protocol NAME, without it: the abstract model):"),
        "{out}"
    );
}

#[test]
fn the_protocol_help_names_the_model_checked_without_the_flag() {
    // vclock's default is its clocks model, which --protocol cannot name; the help used to
    // call the first protocol, causal, the default.
    let help = stdout(&check(&["vclock", "--help"]));
    assert!(
        help.contains("[default: the clocks model; with --bug, the first that has the bug]"),
        "{help}"
    );
    // msi's default is a protocol, named as the value to pass.
    let help = stdout(&check(&["msi", "--help"]));
    assert!(
        help.contains("[default: snooping; with --bug, the first that has the bug]"),
        "{help}"
    );
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
        "{}/../linearizability/testdata/porcupine/test_data/{path}",
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
        out.contains("cannot be placed after it:\n  #43 process 11: read"),
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
    // An empty history is linearizable, whatever its format would have been.
    let empty = check(&["lin", &history("jepsen/etcd_095.log"), "--model", "etcd"]);
    assert_eq!(empty.status.code(), Some(0), "{}", stderr(&empty));
    let unknown = dir.join("what.txt");
    std::fs::write(&unknown, "hello\n").unwrap();
    let o = check(&["lin", unknown.to_str().unwrap(), "--model", "register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot tell the format"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn knossos(path: &str) -> String {
    format!(
        "{}/../linearizability/testdata/knossos/data/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("check-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn lin_reads_knossos_edn_and_writes_a_page_that_highlights_the_blocked_operation() {
    let dir = temp_dir("lin-html");
    let page = dir.join("f.html");
    let o = check(&[
        "lin",
        &knossos("cas-register/bad/cas-failure.edn"),
        "--model",
        "cas-register",
        "--init",
        "0",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("input edn"), "{out}");
    assert!(out.contains("cannot be placed after it:"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    assert!(
        html.contains("cannot be placed"),
        "the blocked operation is named"
    );
    assert!(html.trim_end().ends_with("</html>"));
    // Only the page is left behind: the temporary file was renamed over it.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lin_detects_json_lines_and_each_model_takes_its_init() {
    let dir = temp_dir("lin-jsonl");
    let file = dir.join("h.jsonl");
    // Enqueue 1 and 2 one after the other, then dequeue 2: not first in, first out.
    std::fs::write(
        &file,
        "{\"process\": 0, \"type\": \"invoke\", \"f\": \"enqueue\", \"value\": 1}\n\
         {\"process\": 0, \"type\": \"ok\", \"f\": \"enqueue\", \"value\": 1}\n\
         {\"process\": 0, \"type\": \"invoke\", \"f\": \"enqueue\", \"value\": 2}\n\
         {\"process\": 0, \"type\": \"ok\", \"f\": \"enqueue\", \"value\": 2}\n\
         {\"process\": 1, \"type\": \"invoke\", \"f\": \"dequeue\", \"value\": null}\n\
         {\"process\": 1, \"type\": \"ok\", \"f\": \"dequeue\", \"value\": 2}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let bad = check(&["lin", path, "--model", "fifo-queue", "--format", "json"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    let v: Value = serde_json::from_str(&stdout(&bad)).unwrap();
    assert_eq!(v["input"], "jsonl");
    assert_eq!(v["schema"], "check-lin/1");
    assert!(v["failure"]["blocked"]
        .as_str()
        .unwrap()
        .contains("dequeue -> 2"));
    // With 2 already at the front, the same history is linearizable.
    let ok = check(&["lin", path, "--model", "fifo-queue", "--init", "[2]"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let wrong = check(&["lin", path, "--model", "multi-register", "--init", "[1]"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("--init for multi-register must be a map"));
    let unknown_f = check(&["lin", path, "--model", "register"]);
    assert_eq!(unknown_f.status.code(), Some(2));
    assert!(
        stderr(&unknown_f).contains("h.jsonl:2: register has no operation enqueue; its operations are read and write (invoked on line 1)"),
        "{}",
        stderr(&unknown_f)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lin_names_the_line_of_a_malformed_edn_history_and_writes_no_page() {
    let dir = temp_dir("lin-edn");
    let file = dir.join("h.edn");
    std::fs::write(
        &file,
        "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok :f}]\n",
    )
    .unwrap();
    let page = dir.join("p.html");
    let o = check(&[
        "lin",
        file.to_str().unwrap(),
        "--model",
        "register",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("h.edn:2:"), "{}", stderr(&o));
    assert!(!page.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_lin_times_every_file_and_prints_the_total() {
    let o = check(&["bench", "lin", &history("kv"), "--runs", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().filter(|l| l.contains(" ops ")).count(),
        6,
        "{out}"
    );
    assert!(out.contains("total: 6 files, check"), "{out}");
    let none = check(&["bench", "lin", &knossos("cas-register/bad"), "--runs", "1"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("pass --model"), "{}", stderr(&none));
}

#[test]
fn lin_budgets_give_unknown_with_exit_3_and_say_which_ran_out() {
    let memory = check(&[
        "lin",
        &history("kv/c50-ok.txt"),
        "--model",
        "kv",
        "--no-partition",
        "--memory",
        "48MiB",
        "--format",
        "json",
    ]);
    assert_eq!(memory.status.code(), Some(3), "{}", stderr(&memory));
    let v: Value = serde_json::from_str(&stdout(&memory)).unwrap();
    assert_eq!(v["verdict"], "unknown");
    assert_eq!(v["exhausted"], "memory");
    assert!(v["explored"].as_u64().unwrap() > 0);

    // A budget the history's text alone would not fit in (it may take half) refuses the
    // file before reading it (issue item 7): an input error, naming the size.
    let tiny = check(&[
        "lin",
        &history("kv/c50-ok.txt"),
        "--model",
        "kv",
        "--memory",
        "64KiB",
    ]);
    assert_eq!(tiny.status.code(), Some(2), "{}", stderr(&tiny));
    assert!(
        stderr(&tiny).contains("c50-ok.txt is 277.08KiB (283726 bytes), more than the 32KiB"),
        "{}",
        stderr(&tiny)
    );

    let bad_size = check(&[
        "lin",
        &history("kv/c50-ok.txt"),
        "--model",
        "kv",
        "--memory",
        "4TB",
    ]);
    assert_eq!(bad_size.status.code(), Some(2));
    assert!(
        stderr(&bad_size).contains("--memory"),
        "{}",
        stderr(&bad_size)
    );
}

#[test]
fn lin_without_partitioning_gives_the_same_verdict_in_one_partition() {
    for (file, code) in [("kv/c10-ok.txt", 0), ("kv/c01-bad.txt", 1)] {
        let o = check(&["lin", &history(file), "--model", "kv", "--no-partition"]);
        assert_eq!(o.status.code(), Some(code), "{file}: {}", stdout(&o));
        assert!(stdout(&o).contains(", 1 partition,"), "{}", stdout(&o));
    }
    let timed = check(&[
        "bench",
        "lin",
        &history("kv"),
        "--no-partition",
        "--timeout",
        "1ms",
        "--runs",
        "1",
    ]);
    assert_eq!(timed.status.code(), Some(0), "{}", stderr(&timed));
    assert!(
        stdout(&timed).contains("total: 6 files"),
        "{}",
        stdout(&timed)
    );
}

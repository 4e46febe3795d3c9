//! `check raft --jepsen --trace DIR` and `--real`: the traces a Jepsen run records, in
//! the simulation and with real node processes, validate against the message-level model
//! (`check raft --validate`), and every run validates its own; the runtime bug
//! `send-before-persist`, which no linearizability check sees, is caught that way; a
//! real run of the correct service is linearizable.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{check, stderr, stdout};

fn jepsen(extra: &[&str]) -> Output {
    let mut args = vec!["raft", "--jepsen"];
    args.extend_from_slice(extra);
    check(&args)
}

fn traces(dir: &Path, nodes: u32) -> Vec<PathBuf> {
    (1..=nodes)
        .map(|n| dir.join(format!("n{n}.jsonl")))
        .collect()
}

fn validate(files: &[PathBuf]) -> Output {
    let mut args = vec!["raft".to_string(), "--validate".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    check(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_simulated_jepsen_run_records_traces_that_validate() {
    let dir = tempfile::tempdir().unwrap();
    let trace_dir = dir.path().join("traces");
    let o = jepsen(&[
        "--seconds",
        "4",
        "--seed",
        "1",
        "--trace",
        trace_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The run cut the power to every node: each trace holds a restart.
    assert!(stdout(&o).contains("power-loss n1 n2 n3"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("check raft --validate "),
        "{}",
        stderr(&o)
    );
    let files = traces(&trace_dir, 3);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.lines().count() > 100,
            "{}: {} lines",
            f.display(),
            text.lines().count()
        );
        assert!(
            text.lines().filter(|l| l.contains(r#"{"start":"#)).count() >= 2,
            "{}: a restart is recorded",
            f.display()
        );
    }
    let v = validate(&files);
    assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
    // A second run into the same directory would mix two runs in one trace: refused,
    // and the first run's traces are kept as they were.
    let before = std::fs::read(&files[0]).unwrap();
    let o = jepsen(&[
        "--seconds",
        "1",
        "--seed",
        "2",
        "--trace",
        trace_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("exists already"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&files[0]).unwrap(), before);
    // A file where the directory should be: refused, the file kept.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "keep").unwrap();
    let o = jepsen(&["--seconds", "1", "--trace", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

#[test]
fn send_before_persist_keeps_the_history_linearizable_and_fails_the_runs_trace_validation() {
    let dir = tempfile::tempdir().unwrap();
    let o = jepsen(&[
        "--seconds",
        "3",
        "--seed",
        "1",
        "--bug",
        "send-before-persist",
        "--trace",
        dir.path().to_str().unwrap(),
    ]);
    let out = stdout(&o);
    // The history alone does not show the bug; the run's own validation of the traces
    // does: a send before the persist it depends on.
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("result: linearizable"), "{out}");
    assert!(
        out.contains("trace validation: the nodes' steps DISAGREE"),
        "{out}"
    );
    assert!(out.contains("persist"), "{out}");
    // And the kept traces fail `check raft --validate` on their own, with a page.
    let page = dir.path().join("validate.html");
    let mut args = vec!["raft".to_string(), "--validate".to_string()];
    args.extend(
        traces(dir.path(), 3)
            .iter()
            .map(|f| f.display().to_string()),
    );
    args.extend(["--html".to_string(), page.display().to_string()]);
    let v = check(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(v.status.code(), Some(1), "{}{}", stdout(&v), stderr(&v));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("DISAGREES"), "{html}");
}

#[test]
fn every_run_validates_its_traces_and_keeps_none_it_was_not_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["raft", "--jepsen", "--seconds", "3", "--seed", "2"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains("trace validation: ") && out.contains("agree with the message-level model"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "traces left behind"
    );
    // A bug of the core that the history does not show on this seed: the vote is not
    // persisted, which the model's step would persist. The page shows that.
    let page = tmp.path().join("anomaly.html");
    let o = jepsen(&[
        "--seconds",
        "3",
        "--seed",
        "1",
        "--bug",
        "forget-vote-on-restart",
        "--html",
        page.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("votedFor"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("DISAGREES") && html.contains("class=\"differs\""),
        "{html}"
    );
    assert!(html.contains("votedFor: n"), "{html}");
}

#[test]
fn a_real_run_is_linearizable_and_its_traces_validate() {
    let dir = tempfile::tempdir().unwrap();
    let o = jepsen(&[
        "--real",
        "--seconds",
        "5",
        "--seed",
        "1",
        "--trace",
        dir.path().to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("mode=real"), "{out}");
    assert!(out.contains("result: linearizable"), "{out}");
    assert!(
        !out.contains("clock-skew"),
        "a real run does not skew clocks:\n{out}"
    );
    // Partitions, in network namespaces, where they can be made; else the reason.
    let nemesis = out.lines().find(|l| l.starts_with("mode=")).unwrap();
    if out.contains("partitions and leader isolation skipped: ") {
        assert!(!nemesis.contains("partition"), "{out}");
    } else {
        assert!(
            nemesis.contains("partition") && nemesis.contains("isolate-leader"),
            "{out}"
        );
    }
    assert!(out.contains("power-loss n1 n2 n3"), "{out}");
    let v = validate(&traces(dir.path(), 3));
    assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
}

#[test]
fn a_real_run_refuses_clock_skew_and_names_the_reason() {
    let o = jepsen(&["--real", "--nemesis", "clock-skew", "--seconds", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("clock rate"), "{}", stderr(&o));
}

#[test]
fn a_real_run_catches_reads_served_by_any_node() {
    // Real processes are not replayable; a stale read from a deposed or lagging node is
    // so common under these faults that every seed tried catches it (seeds 1 to 3, 10 s
    // each, all caught when this was pinned).
    let o = jepsen(&[
        "--real",
        "--seconds",
        "10",
        "--seed",
        "1",
        "--bug",
        "read-from-any-node",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("result: not linearizable"), "{out}");
    assert!(
        out.contains("--real --bug read-from-any-node")
            || out.contains("--bug read-from-any-node --real"),
        "{out}"
    );
}

//! Ctrl-C during a run: the report says what was covered and that nothing is verified,
//! and the process exits 130, in text and in JSON, for one run and for the gate.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Starts `check ARGS`, sends SIGINT after `after`, and returns what it printed.
fn interrupted(args: &[&str], after: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the check binary starts");
    std::thread::sleep(after);
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT failed");
    child.wait_with_output().expect("the run ends")
}

#[test]
fn an_interrupted_run_reports_its_coverage_and_exits_130() {
    // raft's default run takes far longer than 3 s, so the signal lands mid-exploration.
    let o = interrupted(&["raft"], Duration::from_secs(3));
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(130), "{out}\n{}", common::stderr(&o));
    assert!(
        out.contains("coverage: INTERRUPTED by Ctrl-C after"),
        "{out}"
    );
    assert!(out.contains("nothing is verified"), "{out}");
    assert!(out.contains("states: "), "{out}");
    // The header came first, on stderr, before the run.
    let err = common::stderr(&o);
    assert!(err.starts_with("checking raft ["), "{err}");
    assert!(err.contains("budget: none"), "{err}");
}

#[test]
fn an_interrupted_level_search_stops_promptly_with_json_coverage() {
    let started = std::time::Instant::now();
    let o = interrupted(
        &["--format", "json", "raft", "--depth", "40"],
        Duration::from_secs(3),
    );
    assert_eq!(o.status.code(), Some(130), "{}", common::stderr(&o));
    let report = common::json(&o);
    assert_eq!(report["coverage"]["kind"], "interrupted", "{report}");
    assert!(report["coverage"]["after_ms"].as_u64().unwrap() >= 2000);
    assert_eq!(report["verdict"], "holds");
    // A level is cut short rather than finished: depth 40 would take many minutes.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn an_interrupted_gate_says_it_did_not_finish() {
    let o = interrupted(&["all"], Duration::from_secs(2));
    let out = common::stdout(&o);
    assert_eq!(o.status.code(), Some(130), "{out}");
    assert!(out.contains("the gate did not finish"), "{out}");
}

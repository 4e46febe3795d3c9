//! Writing the output can fail, and errors have a shape (issue 15, items 6 and 11):
//! a closed pipe ends `check` quietly, a full disk is an error with exit 2 (never a panic),
//! `--format json` gets a JSON error object on stdout, and an error never echoes a huge
//! input whole.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

#[test]
fn issue_15_item_6_a_full_disk_is_an_error_with_exit_2_not_a_panic() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let o = Command::new(env!("CARGO_BIN_EXE_check"))
        .arg("list")
        .stdout(full)
        .output()
        .unwrap();
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot write to standard output: No space left on device"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// SIGPIPE's number on Linux.
const SIGPIPE: i32 = 13;

#[test]
fn issue_15_item_6_a_closed_pipe_ends_quietly_as_a_filter_does() {
    // A pipe whose reader is gone before `check` writes: every write fails with EPIPE,
    // deterministically, as `check list | head -c 0` would at worst.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["list", "--format", "json"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = common::stderr(&o);
    assert_eq!(o.status.signal(), Some(SIGPIPE), "{:?} {err}", o.status);
    assert!(
        err.is_empty(),
        "a closed pipe is not an error to report: {err}"
    );
}

#[test]
fn issue_15_item_11_a_usage_error_with_format_json_prints_a_json_error_object() {
    for args in [
        &["raft", "--depth", "x", "--format", "json"][..],
        &["--format=json", "raft", "--no-such-flag"],
        &["--format", "json", "no-such-exercise"],
    ] {
        let o = common::check(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let v = common::json(&o);
        assert_eq!(v["schema"], "check-error/1", "{args:?}");
        assert_eq!(v["verdict"], "error");
        assert_eq!(v["exit_code"], 2);
        assert!(!v["error"].as_str().unwrap().is_empty());
    }
}

#[test]
fn issue_15_item_11_an_input_error_with_format_json_prints_a_json_error_object() {
    let o = common::check(&[
        "lin",
        "/nonexistent/history.edn",
        "--model",
        "register",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = common::json(&o);
    assert_eq!(v["schema"], "check-error/1");
    let message = v["error"].as_str().unwrap();
    assert!(message.contains("/nonexistent/history.edn"), "{message}");
    // Text stays the default: stderr has the message, stdout nothing.
    let o = common::check(&["lin", "/nonexistent/history.edn", "--model", "register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(common::stderr(&o).contains("/nonexistent/history.edn"));
}

#[test]
fn issue_15_item_11_an_oversized_value_is_cut_with_an_ellipsis_in_the_error() {
    let huge = "9".repeat(100_000);
    let o = common::check(&["raft", "--depth", &huge]);
    assert_eq!(o.status.code(), Some(2));
    let err = common::stderr(&o);
    assert!(err.len() < 2_000, "{} bytes of error", err.len());
    assert!(err.contains("… ("), "{err}");
    assert!(err.contains("more characters)"), "{err}");
}

//! Output files (`--trace-out`, `--html`, `--history`) never replace what is not a regular
//! file, never overwrite the input, and leave nothing half-written when a signal ends the
//! run (issue 15, items 2 and 9).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".check-report-"))
        .collect()
}

#[test]
fn issue_15_item_2_a_symlink_or_fifo_target_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, "keep me").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = common::check(&["twopc", "--trace-out", link.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stdout(&o));
    let err = common::stderr(&o);
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "keep me");

    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let o = common::check(&["twopc", "--trace-out", fifo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("not a regular file"));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn issue_15_item_2_html_naming_the_input_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.edn");
    let text = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write :value 1}\n";
    std::fs::write(&history, text).unwrap();
    let h = history.to_str().unwrap();
    let o = common::check(&["lin", h, "--model", "register", "--html", h]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stdout(&o));
    assert!(
        common::stderr(&o).contains("is the input file"),
        "{}",
        common::stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&history).unwrap(), text);
}

#[test]
fn issue_15_item_9_a_signal_mid_run_leaves_no_temporary_report() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_check"))
        // Long enough (10 simulated minutes) that the signal lands mid-run on any machine.
        .args([
            "kv",
            "--jepsen",
            "--seconds",
            "600",
            "--history",
            history.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The pending file is created before the run starts; wait for it, then interrupt.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while leftovers(dir.path()).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never created its pending file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert!(!history.exists(), "no half-written history");
}

//! The `twopc` demo binary: its temporary directory goes with it however it ends (item 9:
//! SIGINT left `/tmp/twopc-demo-*` behind), a directory the user named is never removed,
//! and a drop rate it cannot finish is refused while any run is bounded (item 10:
//! `--drop-rate 0.99` ran silently for over an hour, about 4 minutes a transfer).
//!
//! Each run gets a private TMPDIR, so a test sees exactly the directory its run made.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const TWOPC: &str = env!("CARGO_BIN_EXE_twopc");

/// The names in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// One `twopc ARGS` run with a private TMPDIR and its output in files; dropping it kills
/// the process if it is still running.
struct Run {
    root: tempfile::TempDir,
    child: Option<Child>,
    started: Instant,
}

impl Run {
    fn start(args: &[&str]) -> Run {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("tmp")).unwrap();
        let child = Command::new(TWOPC)
            .args(args)
            .env("TMPDIR", root.path().join("tmp"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(root.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(root.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        Run {
            root,
            child: Some(child),
            started: Instant::now(),
        }
    }

    fn tmp(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.path().join(name)).unwrap_or_default()
    }

    fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.read("stdout"),
            self.read("stderr")
        )
    }

    /// Waits until some transfer has been decided, so the cluster is running.
    fn wait_for_transfers(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.read("stdout").contains("tx1:") {
            assert!(
                Instant::now() < deadline,
                "no transfer was decided\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{sig} {pid}");
    }

    /// Waits (at most `within`) for the run to end.
    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "twopc did not end within {within:?}\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A run far too long to finish before the signal: thousands of transfers under loss.
const LONG: &[&str] = &["--transfers", "5000", "--drop-rate", "0.5"];

fn signal_removes_temp_dir(sig: &str) {
    let mut run = Run::start(LONG);
    run.wait_for_transfers();
    assert_eq!(entries(&run.tmp()).len(), 1, "the demo's directory");
    run.signal(sig);
    let status = run.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{status}\n{}", run.output());
    assert_eq!(
        entries(&run.tmp()),
        Vec::<String>::new(),
        "{}",
        run.output()
    );
}

#[test]
fn item9_twopc_demo_sigint_removes_temp_dir() {
    signal_removes_temp_dir("INT");
}

#[test]
fn item9_twopc_demo_sigterm_removes_temp_dir() {
    signal_removes_temp_dir("TERM");
}

/// `--data-dir` is the user's: an interrupted run keeps it and the logs in it.
#[test]
fn item9_twopc_demo_keeps_a_given_data_dir_on_sigint() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("logs");
    let mut args = LONG.to_vec();
    args.extend(["--data-dir", data.to_str().unwrap()]);
    let mut run = Run::start(&args);
    run.wait_for_transfers();
    run.signal("INT");
    let status = run.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{status}\n{}", run.output());
    assert!(
        data.join("coordinator").join("twopc.wal").is_file(),
        "{}",
        run.output()
    );
    assert_eq!(entries(&run.tmp()), Vec::<String>::new());
}

/// A normal run removes its temporary directory and keeps a given one.
#[test]
fn item9_twopc_demo_removes_its_temp_dir_at_the_end() {
    let mut run = Run::start(&["--transfers", "5"]);
    let status = run.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status}\n{}", run.output());
    assert_eq!(entries(&run.tmp()), Vec::<String>::new());

    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("logs");
    let mut run = Run::start(&["--transfers", "5", "--data-dir", data.to_str().unwrap()]);
    let status = run.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status}\n{}", run.output());
    assert!(data.join("coordinator").join("twopc.wal").is_file());
}

/// 0.99 needs about 10,000 tries per decision and acknowledgement, 15 ms apart: minutes
/// per transfer. It is refused at once, naming the most the demo accepts.
#[test]
fn item10_twopc_high_drop_rate_is_bounded() {
    let mut run = Run::start(&["--drop-rate", "0.99"]);
    let status = run.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2), "{status}\n{}", run.output());
    let err = run.read("stderr");
    assert!(err.contains("--drop-rate"), "{err}");
    assert!(err.contains("at most 0.9"), "{err}");
    assert!(run.started.elapsed() < Duration::from_secs(5));
    assert_eq!(entries(&run.tmp()), Vec::<String>::new());
}

/// Any accepted rate is bounded too: a run that cannot finish within `--timeout` says
/// how far it got, stops with exit 3, and removes its directory; meanwhile it says on
/// stderr that it is still working.
#[test]
fn item10_twopc_timeout_stops_a_run_that_cannot_finish() {
    let mut run = Run::start(&[
        "--drop-rate",
        "0.9",
        "--transfers",
        "1000",
        "--timeout",
        "3s",
    ]);
    let status = run.wait(Duration::from_secs(15));
    assert_eq!(status.code(), Some(3), "{status}\n{}", run.output());
    let err = run.read("stderr");
    assert!(err.contains("s elapsed"), "no progress line: {err}");
    assert!(err.contains("stopped after 3 s (--timeout)"), "{err}");
    assert!(err.contains("of 1000 transfers decided"), "{err}");
    assert_eq!(
        entries(&run.tmp()),
        Vec::<String>::new(),
        "{}",
        run.output()
    );
}

#[test]
fn item11_a_data_dir_that_is_not_a_directory_is_a_usage_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    for path in [Path::new("/dev/null"), file.path()] {
        let o = Command::new(TWOPC)
            .arg("--data-dir")
            .arg(path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", path.display());
        assert!(err.contains("is not a directory"), "{err}");
    }
    // And /dev/null is still the device it was.
    use std::os::unix::fs::FileTypeExt;
    assert!(Path::new("/dev/null")
        .metadata()
        .unwrap()
        .file_type()
        .is_char_device());
}

//! Item 4: an interrupted `check kv --jepsen --real` must leave no node process and no
//! temporary directory behind, whether it is stopped by SIGINT, by SIGTERM (what a CI
//! timeout sends), by `timeout -s INT` exactly as the issue ran it, or killed outright.
//!
//! Each run gets a private TMPDIR, so a test sees exactly its own `check-kv-jepsen-*`
//! directory and its own nodes: a node's command line names its data directory, which is
//! inside that TMPDIR, so `/proc/*/cmdline` tells which processes are this run's nodes.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `check kv --jepsen --real` starts this many nodes by default.
const NODES: usize = 5;

/// The processes whose command line mentions `needle`, with that command line.
fn processes_mentioning(needle: &Path) -> Vec<(i32, String)> {
    let needle = needle.as_os_str().as_bytes();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        // Gone since the listing, or a zombie (whose command line is empty): not alive.
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.windows(needle.len()).any(|w| w == needle) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, text));
        }
    }
    found
}

/// The network namespaces that `check` process `pid` made (`chkj{pid}-...`, see
/// `checks::jepsen::netns`): a default `--real` run partitions its nodes in namespaces
/// when it runs as root.
fn namespaces_of(pid: u32) -> Vec<String> {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return Vec::new();
    };
    let prefix = format!("chkj{pid}-");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// The names in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory effects; the pid is our own child, not yet reaped.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// One `check kv --jepsen --real` run with a private TMPDIR. Dropping it kills whatever
/// is left of it, so a failing test leaves no process behind either.
struct Run {
    root: tempfile::TempDir,
    child: Option<Child>,
}

impl Run {
    /// Starts `prefix... check kv --jepsen --real --seconds 30` (the run), with
    /// stdout and stderr in files beside the private TMPDIR.
    fn start(prefix: &[&str]) -> Run {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("tmp")).unwrap();
        let check = env!("CARGO_BIN_EXE_check");
        let mut argv: Vec<&str> = prefix.to_vec();
        argv.extend([check, "kv", "--jepsen", "--real", "--seconds", "30"]);
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .env("TMPDIR", root.path().join("tmp"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(root.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(root.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        Run {
            root,
            child: Some(child),
        }
    }

    fn tmp(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn output(&self) -> String {
        let read = |name| std::fs::read_to_string(self.root.path().join(name)).unwrap_or_default();
        format!("stdout:\n{}\nstderr:\n{}", read("stdout"), read("stderr"))
    }

    /// This run's node processes.
    fn nodes(&self) -> Vec<(i32, String)> {
        processes_mentioning(&self.tmp())
    }

    /// Waits until every node process has started, and a little longer, so that the
    /// signal lands mid-run with the cluster up (the nemesis starts within a second).
    fn wait_for_nodes(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.nodes().len() < NODES {
            assert!(
                Instant::now() < deadline,
                "the nodes never started: {:?}\n{}",
                self.nodes(),
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(1500));
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
                "the run did not end within {within:?}\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts that no node survives (waiting at most `grace` for them to go) and
    /// returns what is left in the private TMPDIR.
    fn assert_no_node_survives(&self, grace: Duration) -> Vec<String> {
        let deadline = Instant::now() + grace;
        loop {
            let nodes = self.nodes();
            if nodes.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node processes survived the run: {nodes:#?}\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        entries(&self.tmp())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for (pid, _) in self.nodes() {
            // SAFETY: as in `signal`; these are this run's leftovers.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Signals only the `check` process, as `kill PID` or a CI runner does: the nodes hear
/// nothing, so `check` itself must stop them and remove their directory.
fn interrupted_by(sig: libc::c_int) {
    let mut run = Run::start(&[]);
    run.wait_for_nodes();
    let pid = run.pid();
    signal(pid, sig);
    let status = run.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130), "{status}\n{}", run.output());
    // check waits for its nodes before it exits: none may be left even for a moment.
    let left = run.assert_no_node_survives(Duration::ZERO);
    assert_eq!(left, Vec::<String>::new(), "{}", run.output());
    assert_eq!(namespaces_of(pid), Vec::<String>::new(), "{}", run.output());
}

#[test]
fn item4_sigint_kills_nodes_and_removes_dir() {
    interrupted_by(libc::SIGINT);
}

#[test]
fn item4_sigterm_kills_nodes_and_removes_dir() {
    interrupted_by(libc::SIGTERM);
}

/// The command exactly. GNU timeout signals its own process group too, so here
/// the nodes hear SIGINT as well; the directory is what was left before.
#[test]
fn item4_timeout_s_int_5_leaves_no_node_and_no_dir() {
    let mut run = Run::start(&["timeout", "-s", "INT", "5"]);
    let status = run.wait(Duration::from_secs(30));
    // 124: timeout's own code for "the command timed out".
    assert_eq!(status.code(), Some(124), "{status}\n{}", run.output());
    let left = run.assert_no_node_survives(Duration::ZERO);
    assert_eq!(left, Vec::<String>::new(), "{}", run.output());
}

/// SIGKILL cannot be handled, so the nodes must go on their own: the kernel kills each
/// one when its parent dies (PR_SET_PDEATHSIG). The data directory stays, as nothing is
/// left to remove it.
#[test]
fn item4_sigkill_of_the_parent_leaves_no_node() {
    let mut run = Run::start(&[]);
    run.wait_for_nodes();
    let pid = run.pid();
    signal(pid, libc::SIGKILL);
    run.wait(Duration::from_secs(10));
    // The kernel's signal to the orphans is prompt, but not synchronous with our wait.
    run.assert_no_node_survives(Duration::from_secs(5));
    // Its network namespaces (as root) outlive it, and the next run with partitions
    // removes them: their names say their owner is gone.
    if !namespaces_of(pid).is_empty() {
        let next = Command::new(env!("CARGO_BIN_EXE_check"))
            .args([
                "kv",
                "--jepsen",
                "--real",
                "--seconds",
                "1",
                "--nemesis",
                "partition",
            ])
            .output()
            .unwrap();
        assert_eq!(
            next.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&next.stdout)
        );
        assert_eq!(namespaces_of(pid), Vec::<String>::new());
    }
}

/// The ordinary end: the nodes are stopped and the directory removed after the report.
#[test]
fn item4_a_finished_real_run_leaves_no_node_and_no_dir() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_check"))
        .args([
            "kv",
            "--jepsen",
            "--real",
            "--seconds",
            "1",
            "--nemesis",
            "none",
        ])
        .env("TMPDIR", root.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(processes_mentioning(root.path()).is_empty());
    assert_eq!(entries(root.path()), Vec::<String>::new());
}

//! A `kv-node` must not forget its data and rejoin silently (issue 15, item 3): real node
//! processes on loopback, whose data directories the tests damage between runs.
//!
//! - a deleted or garbled log is refused, and `--rejoin-empty` brings the node back empty,
//!   repaired by its peers before any QUORUM read can see it: never "not found" for an
//!   acknowledged put;
//! - a node that lost its log never issues a version it issued before;
//! - a data directory is locked, and belongs to one node of one cluster;
//! - a byte flipped mid-log is refused with its offset, while a torn last record is cut;
//! - usage errors exit 2.
//!
//! Set `KV_TEST_BIN_DIR` to a directory holding other `kv-node` and `kv` binaries to run
//! these tests against them (how they were shown to fail before the fix).

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin(name: &str, built: &str) -> PathBuf {
    match std::env::var_os("KV_TEST_BIN_DIR") {
        Some(dir) => Path::new(&dir).join(name),
        None => PathBuf::from(built),
    }
}

fn node_bin() -> PathBuf {
    bin("kv-node", env!("CARGO_BIN_EXE_kv-node"))
}

fn kv_bin() -> PathBuf {
    bin("kv", env!("CARGO_BIN_EXE_kv"))
}

/// Free loopback ports (released before the nodes bind them).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A cluster of `kv-node` processes on loopback, each with its own data directory and a
/// log file of its stderr. Every process is killed when it is dropped.
struct Cluster {
    dir: tempfile::TempDir,
    ports: Vec<u16>,
    rf: usize,
    nodes: Vec<Option<Child>>,
}

impl Cluster {
    fn new(n: usize, rf: usize) -> Cluster {
        Cluster {
            dir: tempfile::tempdir().unwrap(),
            ports: free_ports(n),
            rf,
            nodes: (0..n).map(|_| None).collect(),
        }
    }

    fn data(&self, id: usize) -> PathBuf {
        self.dir.path().join(format!("n{id}"))
    }

    fn wal(&self, id: usize) -> PathBuf {
        self.data(id).join("kv.wal")
    }

    fn stderr_path(&self, id: usize) -> PathBuf {
        self.dir.path().join(format!("n{id}.stderr"))
    }

    fn command(&self, id: usize, data: &Path, extra: &[&str]) -> Command {
        let mut cmd = Command::new(node_bin());
        cmd.arg("--id").arg(id.to_string());
        for (i, p) in self.ports.iter().enumerate() {
            cmd.arg("--peer").arg(format!("{}=127.0.0.1:{p}", i + 1));
        }
        cmd.arg("--data")
            .arg(data)
            .args(["--heartbeat-ms", "50", "--rf", &self.rf.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    /// Starts node `id` on its own directory, appending its stderr to its log file.
    fn start(&mut self, id: usize, extra: &[&str]) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path(id))
            .unwrap();
        let child = self
            .command(id, &self.data(id), extra)
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes[id - 1] = Some(child);
    }

    fn stop(&mut self, id: usize) {
        if let Some(mut c) = self.nodes[id - 1].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What node `id` has written to stderr so far.
    fn stderr(&self, id: usize) -> String {
        std::fs::read_to_string(self.stderr_path(id)).unwrap_or_default()
    }

    fn kv(&self, id: usize, args: &[&str]) -> Output {
        Command::new(kv_bin())
            .arg("--node")
            .arg(format!("127.0.0.1:{}", self.ports[id - 1]))
            .args(["--timeout-ms", "3000"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Retries `args` on node `id` until it succeeds (nodes are starting, connecting or
    /// noticing a death), for at most 15 s.
    fn kv_until_ok(&self, id: usize, args: &[&str]) -> Output {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.kv(id, args);
            if out.status.success() || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until node `id` answers and is not repairing, for at most 20 s.
    fn wait_ready(&self, id: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.kv(id, &["stats"]);
            let text = stdout(&out);
            if out.status.success() && !text.contains("repairing 1\n") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "n{id} not ready after 20 s: {text}\n{}",
                self.stderr(id)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts every node and waits until an ALL put goes through (all links up).
    fn start_all(&mut self) {
        for id in 1..=self.nodes.len() {
            self.start(id, &[]);
        }
        let all = self.kv_until_ok(1, &["put", "warm-up", "1", "--consistency", "all"]);
        assert!(all.status.success(), "{}", stderr(&all));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=self.nodes.len() {
            self.stop(id);
        }
    }
}

/// Runs a node that is expected to refuse to start, and returns its exit code and stderr.
/// A node still running after 10 s did not refuse: it is killed and reported as such.
fn run_expecting_exit(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, "the node started and kept running".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes pseudo-random bytes over `path`, keeping its length.
fn garble(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len() as usize;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

/// The scenario behind "amnesia": a put acknowledged by n1 and n2 only (n3 was down), then
/// n1 loses its log (`lose` damages it), and only n1 and n3 are up for the QUORUM get.
/// Before issue 15, n1 came back empty and the get said "not found".
fn amnesia(lose: fn(&Cluster), refusal: &[&str]) {
    let mut c = Cluster::new(3, 3);
    c.start_all();
    c.stop(3);
    let put = c.kv_until_ok(1, &["put", "k", "acknowledged", "--consistency", "quorum"]);
    assert!(put.status.success(), "{}", stderr(&put));
    c.stop(1);
    lose(&c);

    // Without the flag, the node refuses and says why and what to do.
    let (code, err) = run_expecting_exit(c.command(1, &c.data(1), &[]));
    assert_eq!(code, Some(2), "{err}");
    for needle in refusal.iter().chain(&["--rejoin-empty"]) {
        assert!(err.contains(needle), "refusal lacks {needle:?}: {err}");
    }
    assert!(
        err.contains(&c.data(1).display().to_string()),
        "refusal lacks the directory: {err}"
    );

    // n2 holds the only other copy; with it down, n1 cannot be repaired, and a QUORUM get
    // through n3 fails rather than answer "not found".
    c.stop(2);
    c.start(3, &[]);
    c.start(1, &["--rejoin-empty"]);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let get = c.kv(3, &["get", "k", "--consistency", "quorum"]);
        assert!(
            !(get.status.success() && stdout(&get).is_empty()),
            "an acknowledged put read as not found: {}",
            stderr(&get)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        c.kv(1, &["stats"]).status.success(),
        "n1 is up: {}",
        c.stderr(1)
    );

    // With n2 back, n1 is repaired and holds the value itself.
    c.start(2, &[]);
    c.wait_ready(1);
    let held = c.kv(1, &["inspect", "k"]);
    assert!(
        stdout(&held).starts_with("acknowledged (version "),
        "{} {}",
        stdout(&held),
        stderr(&held)
    );
    // n2 down again: the get reads n1 and n3, and returns the acknowledged value.
    c.stop(2);
    let get = c.kv_until_ok(3, &["get", "k", "--consistency", "quorum"]);
    assert_eq!(stdout(&get), "acknowledged\n", "{}", stderr(&get));
}

#[test]
fn amnesia_a_deleted_log_is_refused_then_rejoins_empty_and_is_repaired() {
    amnesia(
        |c| std::fs::remove_file(c.wal(1)).unwrap(),
        &["kv.wal", "missing"],
    );
}

#[test]
fn amnesia_a_garbled_log_is_refused_then_rejoins_empty_and_is_repaired() {
    amnesia(
        |c| garble(&c.wal(1)),
        &["kv.wal", "corrupt at byte offset 0"],
    );
}

/// `kv inspect` on every running node: (version, value) of `key`.
fn versions(c: &Cluster, ids: &[usize], key: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for &id in ids {
        let o = c.kv(id, &["inspect", key]);
        let text = stdout(&o);
        if let Some((value, version)) = text.trim_end().rsplit_once(" (version ") {
            out.push((version.trim_end_matches(')').to_string(), value.to_string()));
        }
    }
    out
}

#[test]
fn same_version_a_node_that_lost_its_log_never_reuses_a_version() {
    let mut c = Cluster::new(3, 3);
    c.start_all();
    // n1 issues versions for "k" while n3 is down: they live on n1 and n2.
    c.stop(3);
    let mut seen: Vec<(String, String)> = Vec::new();
    for value in ["a1", "a2"] {
        let put = c.kv_until_ok(1, &["put", "k", value, "--consistency", "quorum"]);
        assert!(put.status.success(), "{}", stderr(&put));
        seen.extend(versions(&c, &[1, 2], "k"));
    }
    assert!(seen.iter().any(|(v, _)| v.ends_with(".n1.1")), "{seen:?}");

    // n1 loses everything, its identity file included: only its peers know which
    // incarnations it used.
    c.stop(1);
    std::fs::remove_dir_all(c.data(1)).unwrap();
    c.start(3, &[]);
    c.start(1, &["--rejoin-empty"]);
    c.wait_ready(1);
    let stats = stdout(&c.kv(1, &["stats"]));
    assert!(!stats.contains("incarnation 1\n"), "{stats}");

    // New puts through n1, with either of the others down: every version is new, and no
    // version ever stood for two values.
    for (i, down) in [2, 3, 2].into_iter().enumerate() {
        c.stop(down);
        let value = format!("b{i}");
        let put = c.kv_until_ok(1, &["put", "k", &value, "--consistency", "quorum"]);
        assert!(put.status.success(), "{}", stderr(&put));
        let up: Vec<usize> = (1..=3).filter(|&n| n != down).collect();
        let now = versions(&c, &up, "k");
        let new_version = now
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(version, _)| version.clone())
            .unwrap_or_else(|| panic!("{value} not held: {now:?}"));
        assert!(
            !seen.iter().any(|(v, _)| *v == new_version),
            "{new_version} was issued before: {seen:?}"
        );
        seen.extend(now);
        c.start(down, &[]);
        c.wait_ready(down);
    }
    for (version, value) in &seen {
        assert!(
            seen.iter().all(|(v, x)| v != version || x == value),
            "version {version} stands for two values: {seen:?}"
        );
    }
}

#[test]
fn shared_directory_a_second_node_and_another_nodes_directory_are_refused() {
    let mut c = Cluster::new(2, 1);
    c.start(1, &[]);
    let put = c.kv_until_ok(1, &["put", "k", "v", "--consistency", "one"]);
    assert!(put.status.success(), "{}", stderr(&put));

    // The same node again, on the same directory, listening elsewhere: refused by the lock.
    let elsewhere = format!("127.0.0.1:{}", free_ports(1)[0]);
    let (code, err) =
        run_expecting_exit(c.command(1, &c.data(1), &["--listen", elsewhere.as_str()]));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("kv.lock") && err.contains("held by process"),
        "{err}"
    );
    assert!(err.contains(&c.data(1).display().to_string()), "{err}");

    // Another node id on n1's directory, once n1 has stopped: refused by the identity.
    c.stop(1);
    let (code, err) = run_expecting_exit(c.command(2, &c.data(1), &[]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("kv.identity"), "{err}");
    assert!(
        err.contains("belongs to node 1") && err.contains("this is node 2"),
        "{err}"
    );

    // The right id, but another cluster (named explicitly): refused, naming both.
    let (code, err) = run_expecting_exit(c.command(1, &c.data(1), &["--cluster", "other"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cluster other") && err.contains("cluster peers-"),
        "{err}"
    );

    // And the directory still serves its own node.
    c.start(1, &[]);
    let get = c.kv_until_ok(1, &["get", "k", "--consistency", "one"]);
    assert_eq!(stdout(&get), "v\n", "{}", stderr(&get));
}

#[test]
fn mid_log_corruption_is_refused_and_a_torn_last_record_is_cut() {
    let mut c = Cluster::new(1, 1);
    c.start(1, &[]);
    for i in 0..20 {
        let key = format!("k{i:02}");
        let put = c.kv_until_ok(1, &["put", &key, "v", "--consistency", "one"]);
        assert!(put.status.success(), "{}", stderr(&put));
    }
    c.stop(1);
    let wal = c.wal(1);
    let intact = std::fs::read(&wal).unwrap();

    // One byte flipped in the middle: refused, with the offset, and nothing changed.
    let mut flipped = intact.clone();
    let middle = intact.len() / 2;
    flipped[middle] ^= 0x20;
    std::fs::write(&wal, &flipped).unwrap();
    let (code, err) = run_expecting_exit(c.command(1, &c.data(1), &[]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("corrupt at byte offset"), "{err}");
    assert!(
        err.contains("(record ") && err.contains("--rejoin-empty"),
        "{err}"
    );
    assert!(err.contains(&wal.display().to_string()), "{err}");
    let offset: usize = err
        .split("corrupt at byte offset ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {err}"));
    assert!(
        offset <= middle && middle - offset < 64,
        "offset {offset}, flip {middle}"
    );
    assert_eq!(
        std::fs::read(&wal).unwrap(),
        flipped,
        "the refused log changed"
    );

    // The last record torn (as a crash mid-write leaves it): cut, and the rest served.
    std::fs::write(&wal, &intact[..intact.len() - 3]).unwrap();
    c.start(1, &[]);
    let stats = c.kv_until_ok(1, &["stats"]);
    assert!(
        stdout(&stats).contains("\ntorn_bytes "),
        "{}",
        stdout(&stats)
    );
    assert!(
        !stdout(&stats).contains("\ntorn_bytes 0\n"),
        "{}",
        stdout(&stats)
    );
    for i in 0..19 {
        let get = c.kv(1, &["get", &format!("k{i:02}"), "--consistency", "one"]);
        assert_eq!(stdout(&get), "v\n", "k{i:02}: {}", stderr(&get));
    }
    let log = c.stderr(1);
    assert!(log.contains("bytes of torn tail"), "{log}");
}

#[test]
fn usage_errors_exit_2_data_not_a_directory_and_a_port_out_of_range() {
    let out = Command::new(node_bin())
        .args([
            "--id",
            "1",
            "--peer",
            "1=127.0.0.1:7001",
            "--data",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("/dev/null"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(node_bin())
        .args([
            "--id",
            "1",
            "--peer",
            "1=127.0.0.1:7001",
            "--listen",
            "127.0.0.1:99999",
        ])
        .arg("--data")
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--listen"), "{}", stderr(&out));
    // Refused before anything was created.
    assert!(!dir.path().join("d").exists());
}

//! `raft-node` processes on loopback: election, replication, leader failover, catch-up
//! from the log and by snapshot, a bounded log, and refusals of damaged data directories.
//!
//! Every child is killed when its `Cluster` is dropped, panics included; every wait is
//! bounded. Timeouts are short (a 10 ms tick, a 15-tick election timeout) so that
//! failover is measured in the units the issue states it in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_raft-node");
const TICK_MS: u64 = 10;
const ELECTION_TICKS: u64 = 15;
/// The longest randomised election timeout: timeouts are drawn from `[E, 2E)` ticks.
const MAX_ELECTION_TIMEOUT: Duration = Duration::from_millis(2 * ELECTION_TICKS * TICK_MS);

/// Ports free right now: all bound at once (so they differ), then released.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

type Status = BTreeMap<String, String>;

/// One request line to `addr`, one reply line back, within `timeout`.
fn request(addr: &str, line: &str, timeout: Duration) -> Option<String> {
    let addr = addr.parse().ok()?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    stream.write_all(format!("{line}\n").as_bytes()).ok()?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).ok()?;
    reply.strip_suffix('\n').map(str::to_owned)
}

fn parse_status(line: &str) -> Status {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn num(s: &Status, key: &str) -> u64 {
    s[key].parse().unwrap_or_else(|_| panic!("{key} in {s:?}"))
}

/// Polls `f` every few milliseconds until it returns `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A cluster of `raft-node` processes in a temporary directory.
struct Cluster {
    dir: tempfile::TempDir,
    peers: Vec<String>,
    clients: Vec<String>,
    extra: Vec<String>,
    children: Vec<Option<Child>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    fn new(servers: usize, extra: &[&str]) -> Cluster {
        let ports = free_ports(2 * servers);
        Cluster {
            dir: tempfile::tempdir().unwrap(),
            peers: ports[..servers]
                .iter()
                .map(|p| format!("127.0.0.1:{p}"))
                .collect(),
            clients: ports[servers..]
                .iter()
                .map(|p| format!("127.0.0.1:{p}"))
                .collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            children: (0..servers).map(|_| None).collect(),
        }
    }

    fn data_dir(&self, id: usize) -> PathBuf {
        self.dir.path().join(format!("n{id}"))
    }

    fn command(&self, id: usize, data_dir: &Path) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(["--id", &id.to_string()])
            .args(["--peers", &self.peers.join(",")])
            .args(["--client", &self.clients[id]])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--tick-ms", &TICK_MS.to_string()])
            .args(["--election-ticks", &ELECTION_TICKS.to_string()])
            .args(["--seed", &(id as u64 * 7919 + 1).to_string()])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    fn start(&mut self, id: usize) {
        assert!(self.children[id].is_none(), "n{id} is running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("n{id}.log")))
            .unwrap();
        let child = self
            .command(id, &self.data_dir(id))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("raft-node starts");
        self.children[id] = Some(child);
    }

    /// SIGKILL: no chance to flush or say goodbye.
    fn kill(&mut self, id: usize) {
        let mut child = self.children[id].take().expect("n{id} is running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then waits (at most 10 s) for the node to exit.
    fn terminate(&mut self, id: usize) -> ExitStatus {
        let mut child = self.children[id].take().expect("n{id} is running");
        // SAFETY: kill(2) with a pid this test spawned and has not reaped.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM delivered");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("n{id} ignored SIGTERM for 10 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn logs(&self) -> String {
        (0..self.peers.len())
            .map(|id| {
                let text = std::fs::read_to_string(self.dir.path().join(format!("n{id}.log")))
                    .unwrap_or_default();
                format!("--- n{id} ---\n{text}")
            })
            .collect()
    }

    fn status(&self, id: usize) -> Option<Status> {
        let line = request(&self.clients[id], "status", Duration::from_millis(300))?;
        Some(parse_status(&line))
    }

    fn running(&self) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|id| self.children[*id].is_some())
            .collect()
    }

    /// The running node that leads in the highest term, once every running node agrees.
    fn leader(&self) -> Option<(usize, u64)> {
        let statuses: Vec<(usize, Status)> = self
            .running()
            .into_iter()
            .map(|id| Some((id, self.status(id)?)))
            .collect::<Option<_>>()?;
        let (leader, s) = statuses.iter().find(|(_, s)| s["role"] == "leader")?;
        let term = num(s, "term");
        statuses
            .iter()
            .all(|(_, s)| s["leader"] == leader.to_string() && num(s, "term") == term)
            .then_some((*leader, term))
    }

    /// Proposes `command` until it is applied, following not-leader hints; returns the
    /// index it was applied at.
    fn propose(&self, command: &str) -> u64 {
        let running = self.running();
        let mut node = running[0];
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let reply = request(
                &self.clients[node],
                &format!("propose {command}"),
                Duration::from_secs(6),
            );
            match reply.as_deref().map(|r| r.split(' ').collect::<Vec<_>>()) {
                Some(words) if words[0] == "ok" => return words[1].parse().unwrap(),
                Some(words) if words[0] == "not-leader" => {
                    let hinted = words[1].parse::<usize>().ok();
                    node = match hinted {
                        Some(l) if running.contains(&l) => l,
                        _ => {
                            running[(running.iter().position(|&n| n == node).unwrap() + 1)
                                % running.len()]
                        }
                    };
                    if hinted.is_none() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                _ => {
                    node = running
                        [(running.iter().position(|&n| n == node).unwrap() + 1) % running.len()];
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        panic!("{command:?} was not applied within 20 s\n{}", self.logs());
    }

    /// Waits until every running node applied `count` commands with the same digest.
    fn wait_converged(&self, count: u64) -> String {
        wait_for(Duration::from_secs(20), "the nodes to converge", || {
            let digests: Vec<String> = self
                .running()
                .into_iter()
                .map(|id| {
                    let s = self.status(id)?;
                    (num(&s, "count") == count).then(|| s["digest"].clone())
                })
                .collect::<Option<_>>()?;
            digests
                .iter()
                .all(|d| *d == digests[0])
                .then(|| digests[0].clone())
        })
    }
}

#[test]
fn three_nodes_elect_replicate_fail_over_and_catch_up_from_the_log() {
    let mut c = Cluster::new(3, &["--snapshot-every", "0"]);
    for id in 0..3 {
        c.start(id);
    }
    let (old_leader, old_term) = wait_for(Duration::from_secs(15), "a leader", || c.leader());
    // A follower points a client at the leader's client address.
    let follower = (old_leader + 1) % 3;
    let reply = request(
        &c.clients[follower],
        "propose misdirected",
        Duration::from_secs(2),
    );
    assert_eq!(
        reply.as_deref(),
        Some(format!("not-leader {old_leader} {}", c.clients[old_leader]).as_str())
    );
    for i in 0..20 {
        c.propose(&format!("first-{i}"));
    }
    c.wait_converged(20);

    // SIGKILL the leader: a new one within two election timeouts of the kill.
    c.kill(old_leader);
    let killed = Instant::now();
    let survivors = c.running();
    let (new_leader, elapsed) = wait_for(Duration::from_secs(10), "a new leader", || {
        survivors.iter().find_map(|&id| {
            let s = c.status(id)?;
            (s["role"] == "leader" && num(&s, "term") > old_term).then(|| (id, killed.elapsed()))
        })
    });
    eprintln!(
        "leader failover: n{old_leader} killed, n{new_leader} leads after {} ms (bound {} ms)",
        elapsed.as_millis(),
        (2 * MAX_ELECTION_TIMEOUT).as_millis()
    );
    assert!(
        elapsed <= 2 * MAX_ELECTION_TIMEOUT,
        "failover took {elapsed:?}, over two election timeouts ({:?})\n{}",
        2 * MAX_ELECTION_TIMEOUT,
        c.logs()
    );
    for i in 0..10 {
        c.propose(&format!("second-{i}"));
    }
    c.wait_converged(30);

    // The old leader restarts from its files and catches up from the new leader's log.
    c.start(old_leader);
    let recovered = wait_for(Duration::from_secs(10), "the restarted node", || {
        c.status(old_leader)
    });
    assert!(
        num(&recovered, "last") >= 21,
        "20 commands and a no-op survive a SIGKILL: {recovered:?}"
    );
    let digest = c.wait_converged(30);
    let s = c.status(old_leader).unwrap();
    assert_eq!(s["digest"], digest);
    assert_eq!(
        num(&s, "snapshot"),
        0,
        "no compaction: caught up from the log"
    );
    assert_eq!(num(&s, "first"), 1);
}

#[test]
fn a_node_behind_a_compaction_catches_up_by_snapshot_and_logs_stay_bounded() {
    const EVERY: u64 = 5;
    const COMMANDS: u64 = 80;
    const COMMAND_BYTES: usize = 300;
    let mut c = Cluster::new(3, &["--snapshot-every", &EVERY.to_string()]);
    for id in 0..3 {
        c.start(id);
    }
    let (leader, _) = wait_for(Duration::from_secs(15), "a leader", || c.leader());
    c.propose("early");
    c.wait_converged(1);
    let behind = (leader + 1) % 3;
    let behind_last = num(&c.status(behind).unwrap(), "last");
    c.kill(behind);

    let pad = "x".repeat(COMMAND_BYTES);
    for i in 1..COMMANDS {
        c.propose(&format!("{i:04}-{pad}"));
    }
    c.wait_converged(COMMANDS);
    // What the stopped node needs next has been compacted away everywhere: only a
    // snapshot can bring it up to date.
    for id in c.running() {
        let s = c.status(id).unwrap();
        assert!(
            num(&s, "first") > behind_last + 1,
            "n{id} still holds index {}: {s:?}",
            behind_last + 1
        );
    }

    c.start(behind);
    let digest = c.wait_converged(COMMANDS);
    let s = c.status(behind).unwrap();
    assert_eq!(s["digest"], digest);
    assert!(num(&s, "snapshot") > behind_last, "{s:?}");

    // Every log holds about the entries since the last snapshot, not the history: each
    // entry costs at least COMMAND_BYTES, so the history would be over 80 of them.
    let bound = (2 * EVERY + 8) * (COMMAND_BYTES as u64 + 64);
    for id in 0..3 {
        let wal = c.data_dir(id).join("raft.wal");
        let len = std::fs::metadata(&wal).unwrap().len();
        assert!(
            len <= bound,
            "{} is {len} bytes, over {bound}: the log is not trimmed",
            wal.display()
        );
        let s = c.status(id).unwrap();
        assert!(num(&s, "last") - num(&s, "first") < 2 * EVERY + 4, "{s:?}");
    }
}

/// Runs `raft-node` on `data_dir` expecting it to exit by itself within 10 s; returns
/// its status and stderr.
fn run_to_exit(c: &Cluster, data_dir: &Path) -> (ExitStatus, String) {
    let mut child = c
        .command(0, data_dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("raft-node on {} did not exit", data_dir.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn damaged_or_locked_data_dirs_are_refused_with_exit_2() {
    let mut c = Cluster::new(1, &[]);
    c.start(0);
    wait_for(Duration::from_secs(10), "a leader", || c.leader());
    for i in 0..5 {
        c.propose(&format!("cmd-{i}"));
    }
    // SIGTERM stops the node cleanly.
    let status = c.terminate(0);
    assert_eq!(status.code(), Some(0), "{}", c.logs());
    // A clean restart vouches for the whole log in the hard-state file.
    c.start(0);
    wait_for(Duration::from_secs(10), "the restarted node", || {
        c.status(0)
    });

    // The running node holds the lock.
    let (code, stderr) = run_to_exit(&c, &c.data_dir(0));
    assert_eq!(code.code(), Some(2), "{stderr}");
    assert!(stderr.contains("lock"), "{stderr}");
    c.kill(0);

    let intact = c.data_dir(0);
    let damaged = |name: &str, damage: &dyn Fn(&Path)| {
        let dir = c.dir.path().join(name);
        copy_dir(&intact, &dir);
        damage(&dir);
        run_to_exit(&c, &dir)
    };

    // Cut well inside what the restart vouched for (the restart's own no-op entry, appended
    // after that, would be a legitimately torn tail).
    let (code, stderr) = damaged("truncated", &|dir| {
        let wal = dir.join("raft.wal");
        let len = std::fs::metadata(&wal).unwrap().len();
        File::options()
            .write(true)
            .open(&wal)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
    });
    assert_eq!(code.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("raft.wal") && stderr.contains("byte offset"),
        "{stderr}"
    );

    let (code, stderr) = damaged("corrupt", &|dir| {
        let wal = dir.join("raft.wal");
        let mut bytes = std::fs::read(&wal).unwrap();
        bytes[10] ^= 0x55;
        std::fs::write(&wal, bytes).unwrap();
    });
    assert_eq!(code.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("raft.wal") && stderr.contains("byte offset 0 (record 0)"),
        "{stderr}"
    );

    let (code, stderr) = damaged("garbage-hard-state", &|dir| {
        std::fs::write(dir.join("raft.hardstate"), b"term=3 vote=1\n").unwrap();
    });
    assert_eq!(code.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("raft.hardstate") && stderr.contains("damaged"),
        "{stderr}"
    );

    let (code, stderr) = damaged("not-a-file", &|dir| {
        std::fs::remove_file(dir.join("raft.hardstate")).unwrap();
        std::fs::create_dir(dir.join("raft.hardstate")).unwrap();
    });
    assert_eq!(code.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");

    // The intact directory still starts, with every command.
    c.start(0);
    let s = wait_for(Duration::from_secs(10), "the intact node", || {
        c.status(0).filter(|s| num(s, "count") == 5)
    });
    assert_eq!(s["role"], "leader");
}

#[test]
fn usage_errors_exit_2() {
    let c = Cluster::new(3, &["--election-ticks", "1"]);
    let (code, stderr) = run_to_exit(&c, &c.data_dir(0));
    assert_eq!(code.code(), Some(2), "{stderr}");
    assert!(stderr.contains("election"), "{stderr}");
    let out = Command::new(BIN)
        .args(["--id", "0", "--peers", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

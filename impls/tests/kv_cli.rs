//! The `kv-node` and `kv` binaries as an operator uses them: separate processes on
//! loopback, exit codes, and what they print.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NODE: &str = env!("CARGO_BIN_EXE_kv-node");
const KV: &str = env!("CARGO_BIN_EXE_kv");

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

/// Node processes, killed when dropped.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_node(id: usize, ports: &[u16], dir: &Path) -> Child {
    let mut cmd = Command::new(NODE);
    cmd.arg("--id").arg(id.to_string());
    for (i, p) in ports.iter().enumerate() {
        cmd.arg("--peer").arg(format!("{}=127.0.0.1:{p}", i + 1));
    }
    cmd.arg("--data")
        .arg(dir.join(format!("n{id}")))
        .args(["--heartbeat-ms", "50", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn kv(port: u16, args: &[&str]) -> Output {
    Command::new(KV)
        .arg("--node")
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Retries `args` until it succeeds (the nodes are still starting and connecting).
fn kv_until_ok(port: u16, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = kv(port, args);
        if out.status.success() || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_node_processes_serve_puts_and_gets_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(3);
    let mut nodes = Nodes(
        (1..=3)
            .map(|id| start_node(id, &ports, dir.path()))
            .collect(),
    );

    let put = kv_until_ok(
        ports[1],
        &["put", "greeting", "hello", "--consistency", "all"],
    );
    assert!(put.status.success(), "{}", stderr(&put));
    assert_eq!(stdout(&put), "ok\n");
    let get = kv(ports[2], &["get", "greeting", "--consistency", "quorum"]);
    assert_eq!(stdout(&get), "hello\n", "{}", stderr(&get));
    let missing = kv(ports[0], &["get", "nothing"]);
    assert!(missing.status.success());
    assert_eq!(stdout(&missing), "");
    assert!(stderr(&missing).contains("not found"));

    // Kill node 3: ALL is refused, definitely, and says so.
    nodes.0[2].kill().unwrap();
    nodes.0[2].wait().unwrap();
    let refused = kv_until_fails(
        ports[0],
        &["put", "greeting", "bye", "--consistency", "all"],
    );
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("definite") && err.contains("code 11"), "{err}");

    // Restarted, it recovers the value from its own log.
    nodes.0[2] = start_node(3, &ports, dir.path());
    let inspect = kv_until_ok(ports[2], &["inspect", "greeting"]);
    assert!(
        stdout(&inspect).starts_with("hello (version "),
        "{}",
        stdout(&inspect)
    );
    let stats = kv(ports[2], &["stats"]);
    assert!(
        stdout(&stats).contains("incarnation 2\n"),
        "{}",
        stdout(&stats)
    );

    let members = kv(ports[0], &["admin", "members"]);
    assert!(
        stdout(&members).starts_with("epoch 0"),
        "{}",
        stdout(&members)
    );
}

/// Retries `args` until it fails (a node's death takes a moment to be noticed).
fn kv_until_fails(port: u16, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = kv(port, args);
        if !out.status.success() || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let out = Command::new(NODE).args(["--id", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--data"), "{}", stderr(&out));

    let out = Command::new(NODE)
        .args([
            "--id",
            "1",
            "--peer",
            "1=127.0.0.1:1",
            "--data",
            "x",
            "--bug",
            "typo",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sloppy-quorum"), "{}", stderr(&out));

    let out = Command::new(KV).args(["put", "k"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Nothing listens there: a failed request, definite, exit 1.
    let port = free_ports(1)[0];
    let out = kv(port, &["put", "k", "v"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("definite: it did not take effect"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn issue_15_item_11_admin_fail_refuses_a_live_node_and_going_below_the_replication_factor() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(4);
    let mut nodes = Nodes(
        (1..=4)
            .map(|id| start_node(id, &ports, dir.path()))
            .collect(),
    );
    kv_until_ok(ports[0], &["put", "k", "v", "--consistency", "all"]);

    // n2 answers: failing it (or n1, the node the client talks to) is refused, definitely.
    for id in ["2", "1"] {
        let o = kv(ports[0], &["admin", "fail", id]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("answers, so it has not failed"), "{err}");
        assert!(err.contains("definite"), "{err}");
    }
    let members = kv(ports[0], &["admin", "members"]);
    assert!(
        stdout(&members).starts_with("epoch 0"),
        "{}",
        stdout(&members)
    );

    // A dead n4 can be failed: four members become three, the replication factor.
    nodes.0[3].kill().unwrap();
    nodes.0[3].wait().unwrap();
    let o = kv(ports[0], &["admin", "fail", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("epoch 1"), "{}", stdout(&o));

    // Then a dead n3 cannot: two members could not hold three replicas of a key.
    nodes.0[2].kill().unwrap();
    nodes.0[2].wait().unwrap();
    let o = kv(ports[0], &["admin", "fail", "3"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("would leave 2 members, fewer than the replication factor 3"),
        "{err}"
    );
    // Not even with --force, which only skips the liveness probe.
    let o = kv(ports[0], &["admin", "fail", "3", "--force"]);
    assert_eq!(o.status.code(), Some(1));
    let members = kv(ports[0], &["admin", "members"]);
    assert!(
        stdout(&members).starts_with("epoch 1"),
        "{}",
        stdout(&members)
    );
    // And a QUORUM read still works on the three remaining members' ring.
    let get = kv(ports[1], &["get", "k"]);
    assert_eq!(stdout(&get), "v\n", "{}", stderr(&get));
}

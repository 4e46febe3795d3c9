//! `raft-kv` end to end: a 3-node cluster of processes on loopback (puts, gets, cas, a
//! leader killed, a retried command applied once, the CLI's exit codes), and the same
//! service in turmoil (a whole-cluster crash loses nothing acknowledged, but does with
//! `skip-fsync`; `read-from-any-node` serves a stale value in a partition; a paused
//! leader serves no stale read when it wakes).
//!
//! Every child process is killed when its `Cluster` is dropped, panics included; every
//! wait is bounded.

use impls::raft::core::ReadMode;
use impls::raft::kv::{Client, ErrorKind, KvMachine};
use impls::raft::node::client::{fields, request};
use impls::raft::node::{run_with, NodeConfig, PauseSwitch, RuntimeBug};
use impls::sim::net::{Storage, TokioNet, TurmoilNet};
use std::cell::Cell;
use std::fs::File;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_raft-kv");

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

/// `raft-kv serve` processes in a temporary directory.
struct Cluster {
    dir: tempfile::TempDir,
    peers: Vec<String>,
    clients: Vec<String>,
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
    fn start_all(servers: usize) -> Cluster {
        let ports = free_ports(2 * servers);
        let addr = |p: &u16| format!("127.0.0.1:{p}");
        let mut c = Cluster {
            dir: tempfile::tempdir().unwrap(),
            peers: ports[..servers].iter().map(addr).collect(),
            clients: ports[servers..].iter().map(addr).collect(),
            children: (0..servers).map(|_| None).collect(),
        };
        for id in 0..servers {
            c.start(id);
        }
        c
    }

    fn start(&mut self, id: usize) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("n{id}.log")))
            .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .args(["--id", &id.to_string()])
            .args(["--peers", &self.peers.join(",")])
            .args(["--client", &self.clients[id]])
            .arg("--data")
            .arg(self.dir.path().join(format!("n{id}")))
            .args(["--tick-ms", "10", "--election-ticks", "15"])
            .args(["--seed", &(id as u64 * 7919 + 1).to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("raft-kv serve starts");
        self.children[id] = Some(child);
    }

    /// SIGKILL.
    fn kill(&mut self, id: usize) {
        let mut child = self.children[id].take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
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

    fn client(&self) -> Client<TokioNet> {
        Client::new(TokioNet, self.clients.clone())
    }

    /// The node every running node names as leader, once they agree.
    async fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let mut leaders = Vec::new();
            for (id, addr) in self.clients.iter().enumerate() {
                if self.children[id].is_none() {
                    continue;
                }
                match request(&TokioNet, addr, "status", Duration::from_millis(300)).await {
                    Ok(s) => leaders.push(fields(&s)["leader"].to_string()),
                    Err(_) => leaders.push("?".into()),
                }
            }
            if let Ok(l) = leaders[0].parse::<usize>() {
                if leaders.iter().all(|x| *x == leaders[0]) {
                    return l;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no agreed leader within 20 s\n{}", self.logs());
    }

    fn cli(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(BIN)
            .args(args)
            .args(["--cluster", &self.clients.join(",")])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_loopback_cluster_serves_puts_gets_and_cas_through_a_leader_kill() {
    let mut cluster = Cluster::start_all(3);
    runtime().block_on(async {
        let mut c = cluster.client();
        c.put("a", "1").await.unwrap();
        assert_eq!(c.get("a").await.unwrap().as_deref(), Some("1"));
        assert_eq!(c.get("nothing").await.unwrap(), None);
        c.cas("a", Some("1"), "2").await.unwrap();
        let e = c.cas("a", Some("1"), "3").await.unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::CasMismatch {
                current: Some("2".into())
            }
        );
        assert!(e.is_definite());
        c.cas("b", None, "x y\nz").await.unwrap();
        c.delete("a").await.unwrap();
        assert_eq!(c.get("a").await.unwrap(), None);
        assert_eq!(c.get("b").await.unwrap().as_deref(), Some("x y\nz"));

        let leader = cluster.leader().await;
        cluster.kill(leader);
        let killed_at = Instant::now();
        c.put("after", "kill").await.unwrap();
        let failover = killed_at.elapsed();
        assert_eq!(c.get("after").await.unwrap().as_deref(), Some("kill"));
        assert_eq!(c.get("b").await.unwrap().as_deref(), Some("x y\nz"));
        assert!(failover < Duration::from_secs(5), "{failover:?}");
        eprintln!("a write after the leader's SIGKILL was acknowledged in {failover:?}");

        // The killed node comes back and serves the same data once it leads... or
        // follows: any node answers reads through the leader.
        cluster.start(leader);
        let mut only_it = Client::new(TokioNet, vec![cluster.clients[leader].clone()]);
        only_it.set_timeout(Duration::from_secs(10));
        assert_eq!(only_it.get("after").await.unwrap().as_deref(), Some("kill"));
    });
}

/// The same (session, seq) proposed again, after another session changed the key and
/// after the leader that applied it was killed, is answered with the original reply and
/// not applied again.
#[test]
fn a_retried_command_is_applied_once_even_on_a_new_leader() {
    let mut cluster = Cluster::start_all(3);
    runtime().block_on(async {
        // Sends `line` to `addr` until a node applies it, following hints and falling
        // back on `addr` when a hinted node does not answer.
        let propose = |addr: String, line: String| async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut at = addr.clone();
            loop {
                assert!(Instant::now() < deadline, "{line} not answered");
                match request(&TokioNet, &at, &line, Duration::from_secs(2)).await {
                    Ok(r) if r.starts_with("ok ") => {
                        return r.splitn(3, ' ').nth(2).unwrap().to_string()
                    }
                    Ok(r) if r.starts_with("not-leader ") && !r.ends_with(" -") => {
                        at = r.rsplit(' ').next().unwrap().to_string();
                    }
                    _ => {
                        at = addr.clone();
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        };
        let leader = cluster.leader().await;
        let at = cluster.clients[leader].clone();
        let s1 = propose(at.clone(), "propose register".into()).await;
        let s2 = propose(at.clone(), "propose register".into()).await;
        let id = |s: &str| s.strip_prefix("session ").unwrap().to_string();
        let (s1, s2) = (id(&s1), id(&s2));
        let first = format!("propose {s1} 1 cas k - =from-s1");
        assert_eq!(propose(at.clone(), first.clone()).await, "ok");
        assert_eq!(
            propose(at.clone(), format!("propose {s2} 1 put k =from-s2")).await,
            "ok"
        );
        // Applied again, the cas would now fail: "ok" is the reply it got the first time.
        assert_eq!(propose(at.clone(), first.clone()).await, "ok");
        cluster.kill(leader);
        let other = cluster.clients[(leader + 1) % 3].clone();
        assert_eq!(propose(other, first).await, "ok");
        let mut c = cluster.client();
        assert_eq!(c.get("k").await.unwrap().as_deref(), Some("from-s2"));
    });
}

#[test]
fn the_cli_prints_values_and_exits_by_verdict() {
    let cluster = Cluster::start_all(3);
    assert_eq!(cluster.cli(&["put", "k", "v"]), (0, "ok".to_string()));
    assert_eq!(cluster.cli(&["get", "k"]).1, "v");
    assert_eq!(cluster.cli(&["cas", "k", "v", "w"]).0, 0);
    let (code, out) = cluster.cli(&["cas", "k", "v", "w"]);
    assert_eq!(code, 1, "a mismatch is definite: {out}");
    assert!(
        out.contains("cas-mismatch") && out.contains("definite"),
        "{out}"
    );
    assert_eq!(cluster.cli(&["cas", "new", "--if-absent", "1"]).0, 0);
    let (code, out) = cluster.cli(&["get", "absent-key"]);
    assert_eq!(code, 0);
    assert!(out.contains("is absent"), "{out}");
    assert_eq!(cluster.cli(&["delete", "k"]).0, 0);
    let (code, out) = cluster.cli(&["get", "k"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"k\" is absent"), "deleted: {out}");
    let nobody = Command::new(BIN)
        .args([
            "put",
            "k",
            "v",
            "--cluster",
            "127.0.0.1:1",
            "--timeout-ms",
            "300",
        ])
        .output()
        .unwrap();
    assert_eq!(nobody.status.code(), Some(1), "nothing was sent: definite");
}

// ---------------------------------------------------------------------------------------
// turmoil

const SERVERS: u8 = 3;

fn sim_config(
    id: u8,
    bug: Option<RuntimeBug>,
    read_mode: ReadMode,
    pause: Option<PauseSwitch>,
) -> NodeConfig {
    let peers = (0..SERVERS).map(|i| format!("n{i}:7000")).collect();
    let mut c = NodeConfig::new(id, peers, format!("n{id}:8000"), "/data/raft-kv");
    c.entropy = 11;
    c.snapshot_every = 8;
    c.quiet = true;
    c.runtime_bug = bug;
    c.read_mode = read_mode;
    c.pause = pause;
    c
}

fn sim_addrs() -> Vec<String> {
    (0..SERVERS).map(|i| format!("n{i}:8000")).collect()
}

fn sim(seed: u64) -> turmoil::Sim<'static> {
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(Duration::from_secs(120))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(3))
        .rng_seed(seed);
    // Unsynced writes never become durable by themselves.
    builder.fs().sync_probability(0.0);
    builder.build()
}

fn add_nodes(
    sim: &mut turmoil::Sim<'static>,
    bug: Option<RuntimeBug>,
    read_mode: ReadMode,
    pauses: &[Option<PauseSwitch>],
) {
    for id in 0..SERVERS {
        let pause = pauses.get(usize::from(id)).cloned().flatten();
        sim.host(format!("n{id}"), move || {
            let config = sim_config(id, bug, read_mode, pause.clone());
            async move {
                run_with(config, TurmoilNet, Storage::Simulated, KvMachine::new()).await?;
                Ok(())
            }
        });
    }
}

async fn sim_status(node: u8) -> Option<std::collections::BTreeMap<String, String>> {
    let line = request(
        &TurmoilNet,
        &format!("n{node}:8000"),
        "status",
        Duration::from_millis(500),
    )
    .await
    .ok()?;
    Some(
        fields(&line)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The leader every node names, once all agree.
async fn sim_leader() -> u8 {
    for _ in 0..500 {
        let mut named = Vec::new();
        for n in 0..SERVERS {
            named.push(sim_status(n).await.map(|s| s["leader"].clone()));
        }
        if let Some(Some(l)) = named.first() {
            if named.iter().all(|x| x.as_deref() == Some(l)) {
                if let Ok(l) = l.parse() {
                    return l;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no agreed leader");
}

/// Writes `keys` keys, crashes every node at once (a power loss: what was not fsynced
/// is gone), restarts them, and reads the keys back. Returns how many acknowledged
/// writes survived.
fn whole_cluster_crash(bug: Option<RuntimeBug>, seed: u64, keys: usize) -> usize {
    let mut sim = sim(seed);
    add_nodes(&mut sim, bug, ReadMode::Index, &[]);
    let crash_now = Rc::new(Cell::new(false));
    let restarted = Rc::new(Cell::new(false));
    let survived = Rc::new(Cell::new(usize::MAX));
    {
        let (crash_now, restarted, survived) =
            (crash_now.clone(), restarted.clone(), survived.clone());
        sim.client("client", async move {
            let mut c = Client::new(TurmoilNet, sim_addrs());
            c.set_timeout(Duration::from_secs(20));
            for i in 0..keys {
                c.put(&format!("k{i}"), &format!("v{i}")).await?;
            }
            crash_now.set(true);
            while !restarted.get() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut c = Client::new(TurmoilNet, sim_addrs());
            c.set_timeout(Duration::from_secs(20));
            let mut found = 0;
            for i in 0..keys {
                if let Some(v) = c.get(&format!("k{i}")).await? {
                    assert_eq!(v, format!("v{i}"));
                    found += 1;
                }
            }
            // The restarted cluster takes new writes either way.
            c.put("after", "restart").await?;
            survived.set(found);
            Ok(())
        });
    }
    let mut crashed = false;
    while !sim.step().expect("the simulation runs") {
        if crash_now.get() && !crashed {
            for id in 0..SERVERS {
                sim.crash(format!("n{id}"));
            }
            for id in 0..SERVERS {
                sim.bounce(format!("n{id}"));
            }
            crashed = true;
            restarted.set(true);
        }
    }
    assert!(crashed);
    survived.get()
}

#[test]
fn a_whole_cluster_crash_loses_no_acknowledged_write() {
    for seed in 1..=20 {
        assert_eq!(whole_cluster_crash(None, seed, 12), 12, "seed {seed}");
    }
}

#[test]
fn with_skip_fsync_a_whole_cluster_crash_loses_acknowledged_writes() {
    let survived = whole_cluster_crash(Some(RuntimeBug::SkipFsync), 5, 12);
    eprintln!("with skip-fsync, {survived} of 12 acknowledged writes survived the crash");
    assert!(
        survived < 12,
        "{survived} of 12 acknowledged writes survived"
    );
}

/// A follower cut off from the others while the majority overwrites a key: with
/// `read-from-any-node` it answers a read with the old value (stale: the write was
/// acknowledged before the read began); without the bug it refuses.
fn read_in_a_partition(bug: Option<RuntimeBug>, seed: u64) -> String {
    let mut sim = sim(seed);
    add_nodes(&mut sim, bug, ReadMode::Index, &[]);
    let answer = Rc::new(std::cell::RefCell::new(String::new()));
    {
        let answer = answer.clone();
        sim.client("client", async move {
            let mut c = Client::new(TurmoilNet, sim_addrs());
            c.set_timeout(Duration::from_secs(20));
            c.put("k", "old").await?;
            let leader = sim_leader().await;
            let follower = (leader + 1) % SERVERS;
            // Wait until the follower applied the write.
            for _ in 0..200 {
                let r = request(
                    &TurmoilNet,
                    &format!("n{follower}:8000"),
                    "status",
                    Duration::from_millis(500),
                )
                .await?;
                let leader_applied = sim_status(leader).await.unwrap()["applied"].clone();
                if fields(&r)["applied"] == leader_applied {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            for other in 0..SERVERS {
                if other != follower {
                    turmoil::partition(format!("n{follower}"), format!("n{other}"));
                }
            }
            c.put("k", "new").await?;
            let r = request(
                &TurmoilNet,
                &format!("n{follower}:8000"),
                "read get k",
                Duration::from_secs(3),
            )
            .await
            .unwrap_or_else(|e| format!("no answer: {e}"));
            *answer.borrow_mut() = r;
            Ok(())
        });
    }
    sim.run().expect("the simulation runs");
    let answer = answer.borrow().clone();
    answer
}

#[test]
fn read_from_any_node_serves_a_stale_value_in_a_partition() {
    let stale = read_in_a_partition(Some(RuntimeBug::ReadFromAnyNode), 7);
    assert!(stale.ends_with("value =old"), "{stale}");
    for seed in 1..=10 {
        let correct = read_in_a_partition(None, seed);
        assert!(correct.starts_with("not-leader"), "seed {seed}: {correct}");
    }
}

/// The leader is paused (as SIGSTOP would) and cut off from the others, which elect a
/// new leader and overwrite a key; a read sent to the old leader waits in its queue, and
/// nothing in the queue tells it of the new term. When it resumes, it first steps the
/// ticks it missed, so it knows that its leadership (and any lease) ran out before it
/// looks at the read: it refuses the read instead of answering the old value.
fn paused_leader_read(read_mode: ReadMode, seed: u64) -> String {
    let pauses: Vec<PauseSwitch> = (0..SERVERS).map(|_| PauseSwitch::new()).collect();
    let mut sim = sim(seed);
    add_nodes(
        &mut sim,
        None,
        read_mode,
        &pauses.iter().cloned().map(Some).collect::<Vec<_>>(),
    );
    let answer = Rc::new(std::cell::RefCell::new(String::new()));
    {
        let answer = answer.clone();
        sim.client("client", async move {
            let mut c = Client::new(TurmoilNet, sim_addrs());
            c.set_timeout(Duration::from_secs(20));
            c.put("k", "old").await?;
            let leader = sim_leader().await;
            // A few heartbeat rounds, so that a leasing leader holds a lease.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(c.get("k").await?.as_deref(), Some("old"));
            pauses[usize::from(leader)].pause();
            for other in 0..SERVERS {
                if other != leader {
                    turmoil::partition(format!("n{leader}"), format!("n{other}"));
                }
            }
            let others: Vec<u8> = (0..SERVERS).filter(|n| *n != leader).collect();
            // Wait for the new leader, so that no hint sends a write to the paused node.
            'elected: for _ in 0..500 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut named = Vec::new();
                for n in &others {
                    match sim_status(*n).await {
                        Some(s) if s["leader"] != "-" && s["leader"] != leader.to_string() => {
                            named.push(s["leader"].clone())
                        }
                        _ => continue 'elected,
                    }
                }
                if named.iter().all(|l| *l == named[0]) {
                    break;
                }
            }
            let mut c = Client::new(
                TurmoilNet,
                others.iter().map(|n| format!("n{n}:8000")).collect(),
            );
            c.set_timeout(Duration::from_secs(20));
            c.put("k", "new").await?;
            let read = tokio::spawn(async move {
                request(
                    &TurmoilNet,
                    &format!("n{leader}:8000"),
                    "read get k",
                    Duration::from_secs(5),
                )
                .await
            });
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(!read.is_finished(), "a paused node answers nothing");
            pauses[usize::from(leader)].resume();
            *answer.borrow_mut() = read.await?.unwrap_or_else(|e| format!("no answer: {e}"));
            Ok(())
        });
    }
    sim.run().expect("the simulation runs");
    let answer = answer.borrow().clone();
    answer
}

#[test]
fn a_paused_leader_serves_no_stale_read_when_it_resumes() {
    for seed in 1..=10 {
        for mode in [ReadMode::Index, ReadMode::Lease] {
            let answer = paused_leader_read(mode, seed);
            assert!(
                answer.starts_with("not-leader"),
                "{mode:?}, seed {seed}: {answer}"
            );
        }
    }
}

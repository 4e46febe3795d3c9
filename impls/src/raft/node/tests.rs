//! The runtime under turmoil: the same node code on a simulated network and simulated
//! disks, where a crash drops every write that was not fsynced.

use super::client::{self, fields};
use super::{run, NodeConfig};
use crate::sim::net::{Storage, TurmoilNet};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

const SERVERS: u8 = 3;
const COMMANDS: usize = 6;

fn config(id: u8) -> NodeConfig {
    let peers = (0..SERVERS).map(|i| format!("n{i}:7000")).collect();
    let mut c = NodeConfig::new(id, peers, format!("n{id}:8000"), "/data/raft");
    c.entropy = 11;
    c.snapshot_every = 4;
    c.quiet = true;
    c
}

async fn status(node: u8) -> Option<String> {
    client::request(
        &TurmoilNet,
        &format!("n{node}:8000"),
        "status",
        Duration::from_millis(500),
    )
    .await
    .ok()
}

/// Proposes `command` until some node applies it, following not-leader hints.
async fn propose(command: &str) -> String {
    let mut node = 0u8;
    for _ in 0..200 {
        let line = format!("propose {command}");
        let reply = client::request(
            &TurmoilNet,
            &format!("n{node}:8000"),
            &line,
            Duration::from_secs(2),
        )
        .await;
        match reply {
            Ok(r) if r.starts_with("ok ") => return r,
            Ok(r) if r.starts_with("not-leader ") => {
                node = r
                    .split(' ')
                    .nth(1)
                    .and_then(|l| l.parse().ok())
                    .unwrap_or((node + 1) % SERVERS);
            }
            _ => node = (node + 1) % SERVERS,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{command} was never applied");
}

/// Every node crashes at once after the commands were applied (losing whatever was not
/// fsynced) and restarts from its files: the committed commands are still there, in the
/// same order, on every node, and the cluster goes on.
#[test]
fn a_cluster_crashed_whole_restarts_from_its_files() {
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(Duration::from_secs(60))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(3))
        .rng_seed(5);
    // Unsynced writes never become durable by themselves.
    builder.fs().sync_probability(0.0);
    let mut sim = builder.build();
    for id in 0..SERVERS {
        sim.host(format!("n{id}"), move || async move {
            run(config(id), TurmoilNet, Storage::Simulated).await?;
            Ok(())
        });
    }
    let crash_now = Rc::new(Cell::new(false));
    let restarted = Rc::new(Cell::new(false));
    {
        let (crash_now, restarted) = (crash_now.clone(), restarted.clone());
        sim.client("client", async move {
            let mut digest_before = String::new();
            for i in 0..COMMANDS {
                propose(&format!("cmd-{i}")).await;
            }
            // Wait until every node applied all of them.
            'settle: for _ in 0..200 {
                let mut digests = Vec::new();
                for node in 0..SERVERS {
                    let Some(s) = status(node).await else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue 'settle;
                    };
                    let f = fields(&s);
                    if f["count"] != COMMANDS.to_string() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue 'settle;
                    }
                    digests.push(f["digest"].to_string());
                }
                assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
                digest_before = digests[0].clone();
                break;
            }
            assert!(!digest_before.is_empty(), "the cluster never settled");
            crash_now.set(true);
            while !restarted.get() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // The same list on every node, from the files alone (no client re-proposed).
            'recovered: for _ in 0..300 {
                for node in 0..SERVERS {
                    let Some(s) = status(node).await else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue 'recovered;
                    };
                    let f = fields(&s);
                    if f["count"] != COMMANDS.to_string() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue 'recovered;
                    }
                    assert_eq!(f["digest"], digest_before, "n{node}: {s}");
                }
                // And the restarted cluster commits new commands after the old ones.
                let reply = propose("after-restart").await;
                let count: u64 = reply.rsplit(' ').next().unwrap().parse().unwrap();
                assert_eq!(count, COMMANDS as u64 + 1, "{reply}");
                return Ok(());
            }
            panic!("the restarted cluster did not recover the commands");
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
}

/// The leader, if exactly one of `nodes` says it leads.
async fn leader_among(nodes: &[u8]) -> Option<u8> {
    let mut leaders = Vec::new();
    for &node in nodes {
        if let Some(s) = status(node).await {
            if fields(&s).get("role") == Some(&"leader") {
                leaders.push(node);
            }
        }
    }
    (leaders.len() == 1).then(|| leaders[0])
}

/// What the test asks the simulation loop to do to the network.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cut {
    None,
    /// Cut the leader off, and drop what `from` sends `to`.
    Isolate {
        leader: u8,
        from: u8,
        to: u8,
    },
    /// Let `from` reach `to` again; the leader stays cut off.
    Repair {
        leader: u8,
        from: u8,
        to: u8,
    },
}

/// Regression: a link that died in one direction while its peer's link to this node lived
/// on. With the leader cut off, the two followers pre-vote; what `from` sends `to` is
/// dropped, which kills `from`'s connection. Once that direction is repaired, `to`'s
/// pre-votes reach `from` all the time. Before, any message from the peer counted as an
/// answer on the link, so `from` never noticed its own link was dead, and neither
/// follower won a pre-vote (each needs the other's answer). Now the link waits for an
/// acknowledgement on its own connection, reconnects, and a leader is elected.
#[test]
fn a_link_dead_one_way_reconnects_though_its_peer_keeps_talking() {
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(Duration::from_secs(60))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(3))
        .rng_seed(3);
    let mut sim = builder.build();
    for id in 0..SERVERS {
        sim.host(format!("n{id}"), move || async move {
            run(config(id), TurmoilNet, Storage::Simulated).await?;
            Ok(())
        });
    }
    let cut = Rc::new(Cell::new(Cut::None));
    let elected_after = Rc::new(Cell::new(None::<Duration>));
    {
        let (cut, elected_after) = (cut.clone(), elected_after.clone());
        sim.client("client", async move {
            propose("before").await;
            let leader = loop {
                if let Some(l) = leader_among(&[0, 1, 2]).await {
                    break l;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let others: Vec<u8> = (0..SERVERS).filter(|&n| n != leader).collect();
            let (from, to) = (others[0], others[1]);
            cut.set(Cut::Isolate { leader, from, to });
            // Long enough for both to pre-vote, so that `from` writes into the cut.
            tokio::time::sleep(Duration::from_secs(2)).await;
            cut.set(Cut::Repair { leader, from, to });
            let repaired = tokio::time::Instant::now();
            while repaired.elapsed() < Duration::from_secs(20) {
                if leader_among(&others).await.is_some() {
                    elected_after.set(Some(repaired.elapsed()));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(())
        });
    }
    let mut applied = Cut::None;
    while !sim.step().expect("the simulation runs") {
        let now = cut.get();
        if now == applied {
            continue;
        }
        match now {
            Cut::None => {}
            Cut::Isolate { leader, from, to } => {
                for other in [from, to] {
                    sim.partition(format!("n{leader}"), format!("n{other}"));
                }
                sim.partition_oneway(format!("n{from}"), format!("n{to}"));
            }
            Cut::Repair { from, to, .. } => sim.repair_oneway(format!("n{from}"), format!("n{to}")),
        }
        applied = now;
    }
    let after = elected_after
        .get()
        .expect("no leader among the two connected nodes 20 s after the repair");
    // The link's silence is half a second; an election takes a few timeouts more.
    assert!(
        after < Duration::from_secs(3),
        "elected {after:?} after the repair"
    );
}

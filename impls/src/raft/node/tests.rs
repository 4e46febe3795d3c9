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

//! `async-read-repair` on the real store: the model checker's 10-step counterexample,
//! replayed on real nodes in turmoil with chosen link latencies, recorded as a Jepsen
//! history and judged by `check lin --model kv`.
//!
//! Random `check kv --jepsen` runs do not find this bug (see docs/kv.md): the inversion needs
//! the read's repair to lose a race against a whole later read, which needs three clearly
//! different link latencies at once. Here they are set on purpose:
//!
//! - the put's coordinator `D` is 200 ms from replicas `B` and `C` and 1 ms from `A`, so its
//!   write sits on `A` alone for 200 ms while the put waits for a second acknowledgement;
//! - the first get, coordinated by `E`, hears `A` (1 ms away: new value) and `B` (8 ms: old
//!   value) and answers; its repair to `B` takes 8 ms more, and to `C` 50 ms;
//! - the second get, invoked after the first returned, is coordinated by `B` itself: it reads
//!   its own store and `C` (1 ms) before either repair lands, and `A` (10 ms) answers too late.
//!
//! With the bug the first get returns the new value and the second the old one: not
//! linearizable. Without it the first get waits for `B` to hold the value, so the second
//! sees it too. Same nodes, same schedule, opposite verdicts: the test can fail both ways.

mod common;
use checks::jepsen::history::{to_jsonl, Clock, Func, Kind, Recorder};
use common::check;
use impls::kv::core::{Bug, Consistency};
use impls::kv::ring::Ring;
use impls::kv::{Client, NodeConfig, NodeId};
use impls::sim::net::{Storage, TurmoilNet};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "k";

fn host(id: NodeId) -> String {
    format!("n{id}")
}

fn addr(id: NodeId) -> String {
    format!("n{id}:7000")
}

/// Runs the schedule on five nodes with `bug`, returning the history as JSON Lines.
fn run(bug: Option<Bug>) -> String {
    let ring = Ring::with_nodes(128, 1..=5);
    let replicas = ring.replicas(KEY.as_bytes(), 3);
    let (a, b, c) = (replicas[0], replicas[1], replicas[2]);
    let others: Vec<NodeId> = (1..=5).filter(|n| !replicas.contains(n)).collect();
    let (d, e) = (others[0], others[1]);

    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(20))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(1))
        .rng_seed(1)
        .build();
    let peers: BTreeMap<NodeId, String> = (1..=5).map(|i| (i, addr(i))).collect();
    for id in 1..=5 {
        let mut config = NodeConfig::new(id, addr(id), peers.clone(), format!("/data/n{id}"));
        config.quiet = true;
        config.bug = bug;
        // Longer than the slow put, and no hand-off before it ends: the schedule alone
        // decides where the value is.
        config.request_timeout = Duration::from_secs(3);
        config.handoff_delay = Some(Duration::from_secs(5));
        sim.host(host(id), move || {
            let config = config.clone();
            async move {
                impls::kv::run(config, TurmoilNet, Storage::Simulated).await?;
                Ok(())
            }
        });
    }
    let clock: Clock = Arc::new(|| turmoil::sim_elapsed().unwrap_or_default());
    let rec = Arc::new(Recorder::new(clock));

    let connect = |id: NodeId| {
        let mut client = Client::lazy(TurmoilNet, addr(id));
        client.set_timeout(Duration::from_secs(5));
        client
    };
    {
        let rec = Arc::clone(&rec);
        let mut via_d = connect(d);
        sim.client("writer", async move {
            // Connected early, so the put pays no handshake.
            tokio::time::sleep(Duration::from_millis(500)).await;
            via_d.stats().await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            rec.client(0, Kind::Invoke, Func::Put, KEY, Some("new".into()), None);
            let result = via_d.put(KEY, "new", Consistency::Quorum).await;
            let kind = if result.is_ok() { Kind::Ok } else { Kind::Info };
            rec.client(0, kind, Func::Put, KEY, Some("new".into()), None);
            Ok(())
        });
    }
    {
        let rec = Arc::clone(&rec);
        let (mut via_e, mut via_b) = (connect(e), connect(b));
        sim.client("reader", async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            via_e.stats().await?;
            via_b.stats().await?;
            // The put's query phase ends about 400 ms after it starts at 1 s; its write
            // reaches A at once and B and C 200 ms later.
            tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_millis(950))
                .await;
            for (client, via) in [(&mut via_e, "first"), (&mut via_b, "second")] {
                rec.client(1, Kind::Invoke, Func::Get, KEY, None, None);
                match client.get(KEY, Consistency::Quorum).await {
                    Ok(v) => {
                        rec.client(1, Kind::Ok, Func::Get, KEY, v.or(Some(String::new())), None)
                    }
                    Err(err) => panic!("the {via} get failed: {err}"),
                }
            }
            Ok(())
        });
    }
    // The three latencies the inversion needs; every other link takes 1 ms.
    let ms = Duration::from_millis;
    sim.set_link_latency(host(d), host(b), ms(200));
    sim.set_link_latency(host(d), host(c), ms(200));
    sim.set_link_latency(host(e), host(b), ms(8));
    sim.set_link_latency(host(e), host(c), ms(50));
    sim.set_link_latency(host(b), host(a), ms(10));
    sim.run().expect("the simulation runs to the end");
    to_jsonl(&rec.events())
}

/// `check lin FILE --model kv` on the history; its exit code.
fn verdict(history: &str) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::write(&path, history).unwrap();
    let out = check(&["lin", path.to_str().unwrap(), "--model", "kv"]);
    out.status.code().expect("check lin exits")
}

fn gets(history: &str) -> Vec<String> {
    history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["f"] == "get" && e["type"] == "ok")
        .map(|e| e["value"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_bug_lets_a_later_get_return_an_older_value() {
    let history = run(Some(Bug::AsyncReadRepair));
    assert_eq!(gets(&history), ["new", ""], "{history}");
    assert_eq!(verdict(&history), 1, "{history}");
}

#[test]
fn the_same_schedule_without_the_bug_is_linearizable() {
    let history = run(None);
    assert_eq!(gets(&history), ["new", "new"], "{history}");
    assert_eq!(verdict(&history), 0, "{history}");
}

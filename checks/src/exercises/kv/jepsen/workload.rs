//! The clients: closed-loop workers issuing random gets and puts on a few keys, each
//! recording what it does as a Jepsen process, and the final reads.
//!
//! The same code drives the simulated cluster (on [`TurmoilNet`](impls::sim::net::TurmoilNet))
//! and the real one (on [`TokioNet`](impls::sim::net::TokioNet)).

use crate::jepsen::history::{Func, Kind, Recorder};
use impls::kv::core::Consistency;
use impls::kv::{Client, KvError};
use impls::sim::net::Net;
use impls::sim::SplitMix64;
use std::sync::Arc;
use std::time::Duration;

/// What every worker shares.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    /// Every node's address; a worker sends each operation to a random one.
    pub addrs: Vec<String>,
    /// Workers; worker `w` starts as process `w`.
    pub clients: u64,
    /// Keys `k0`.. are drawn uniformly from this many. Few keys mean many operations per
    /// key, and so many chances for concurrent operations to disagree.
    pub keys: u64,
    /// Percent of operations that are puts.
    pub put_percent: u64,
    /// The consistency level of every operation but the final reads (always `QUORUM`).
    pub consistency: Consistency,
    /// Workers invoke nothing new from this point of the run's time on.
    pub until: Duration,
    /// The client-side timeout of one request.
    pub timeout: Duration,
    /// The longest pause between a worker's operations (uniform from zero).
    pub max_think: Duration,
    /// Seeds the workers' generators.
    pub seed: u64,
}

/// The first process id of the final reads: above every process a worker can take (a
/// worker takes at most one new id per operation, and no run issues 2^32 of them).
pub fn final_process(clients: u64) -> u64 {
    clients << 32
}

/// Worker `worker`: until the run's time reaches `config.until`, picks an operation, a key
/// and a node, invokes, waits for the answer and records it. A definite error is `fail`;
/// an indefinite one is `info`, and the worker continues as a new process (its old one
/// may still be in flight, as far as a checker knows), Jepsen's rule.
pub async fn worker<N: Net>(net: N, config: Arc<WorkloadConfig>, rec: Arc<Recorder>, worker: u64) {
    // Seeded per worker, so the operations a worker chooses do not depend on the others.
    let mut rng = SplitMix64(config.seed ^ (worker + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut clients: Vec<Client<N>> = config
        .addrs
        .iter()
        .map(|a| {
            let mut c = Client::lazy(net.clone(), a.clone());
            c.set_timeout(config.timeout);
            c
        })
        .collect();
    let mut process = worker;
    let mut written = 0u64;
    while rec.now() < config.until {
        let client = &mut clients[(rng.next_u64() % config.addrs.len() as u64) as usize];
        let key = format!("k{}", rng.next_u64() % config.keys);
        let indefinite = if rng.next_u64() % 100 < config.put_percent {
            // Unique values, so every read names the put it saw.
            let value = format!("c{worker}-{written}");
            written += 1;
            put(client, &rec, process, &key, value, config.consistency).await
        } else {
            // A get's error is definite: the process carries on.
            let _ = get(client, &rec, process, &key, config.consistency).await;
            false
        };
        if indefinite {
            process += config.clients;
        }
        let think = rng.next_u64() % (config.max_think.as_micros() as u64 + 1);
        tokio::time::sleep(Duration::from_micros(think)).await;
    }
}

/// Puts and records; returns whether the outcome was indefinite (`info`).
async fn put<N: Net>(
    client: &mut Client<N>,
    rec: &Recorder,
    process: u64,
    key: &str,
    value: String,
    consistency: Consistency,
) -> bool {
    rec.client(
        process,
        Kind::Invoke,
        Func::Put,
        key,
        Some(value.clone()),
        None,
    );
    let result = client.put(key, &value, consistency).await;
    let kind = outcome(&result);
    rec.client(process, kind, Func::Put, key, Some(value), error(&result));
    kind == Kind::Info
}

/// Gets and records; the value read, or the error. A get changes nothing, so its errors
/// are definite (`fail`) whatever the client says.
async fn get<N: Net>(
    client: &mut Client<N>,
    rec: &Recorder,
    process: u64,
    key: &str,
    consistency: Consistency,
) -> Result<String, KvError> {
    rec.client(process, Kind::Invoke, Func::Get, key, None, None);
    match client.get(key, consistency).await {
        // A key never written reads as "", the model's initial value.
        Ok(value) => {
            let value = value.unwrap_or_default();
            rec.client(process, Kind::Ok, Func::Get, key, Some(value.clone()), None);
            Ok(value)
        }
        Err(e) => {
            rec.client(
                process,
                Kind::Fail,
                Func::Get,
                key,
                None,
                Some(e.to_string()),
            );
            Err(e)
        }
    }
}

fn outcome(result: &Result<(), KvError>) -> Kind {
    match result {
        Ok(()) => Kind::Ok,
        Err(e) if e.definite() => Kind::Fail,
        Err(_) => Kind::Info,
    }
}

fn error(result: &Result<(), KvError>) -> Option<String> {
    result.as_ref().err().map(KvError::to_string)
}

/// The final reads: a `QUORUM` get of every key, each retried (as a new attempt, recorded)
/// until it succeeds or `attempts` run out, through the nodes in turn. Run after the
/// nemesis healed everything, they make a lost acknowledged write a violation: the read
/// must see the last acknowledged value or a later one.
pub async fn final_reads<N: Net>(
    net: N,
    config: Arc<WorkloadConfig>,
    rec: Arc<Recorder>,
    attempts: u32,
) {
    let process = final_process(config.clients);
    for k in 0..config.keys {
        let key = format!("k{k}");
        for attempt in 0..attempts {
            let addr = &config.addrs[(k as usize + attempt as usize) % config.addrs.len()];
            let mut client = Client::lazy(net.clone(), addr.clone());
            client.set_timeout(config.timeout);
            if get(&mut client, &rec, process, &key, Consistency::Quorum)
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

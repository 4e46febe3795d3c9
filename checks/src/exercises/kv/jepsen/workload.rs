//! The clients: closed-loop workers issuing random gets and puts on a few keys, each
//! recording what it does as a Jepsen process, and the final reads.
//!
//! The same code drives the simulated cluster (on [`TurmoilNet`](impls::sim::net::TurmoilNet))
//! and the real one (on [`TokioNet`](impls::sim::net::TokioNet)).

use crate::jepsen::history::{Func, Recorder};
use crate::jepsen::workload::{final_process, record, think, worker_rng, Completion, Process};
use impls::kv::core::Consistency;
use impls::kv::Client;
use impls::sim::net::Net;
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

/// Worker `worker`: until the run's time reaches `config.until`, picks an operation, a key
/// and a node, invokes, waits for the answer and records it. A definite error is `fail`;
/// an indefinite one is `info`, and the worker continues as a new process (Jepsen's rule,
/// [`Process`]).
pub async fn worker<N: Net>(net: N, config: Arc<WorkloadConfig>, rec: Arc<Recorder>, worker: u64) {
    let mut rng = worker_rng(config.seed, worker);
    let mut clients: Vec<Client<N>> = config
        .addrs
        .iter()
        .map(|a| {
            let mut c = Client::lazy(net.clone(), a.clone());
            c.set_timeout(config.timeout);
            c
        })
        .collect();
    let mut process = Process::new(worker, config.clients);
    let mut written = 0u64;
    while rec.now() < config.until {
        let client = &mut clients[(rng.next_u64() % config.addrs.len() as u64) as usize];
        let key = format!("k{}", rng.next_u64() % config.keys);
        let completion = if rng.next_u64() % 100 < config.put_percent {
            // Unique values, so every read names the put it saw.
            let value = format!("c{worker}-{written}");
            written += 1;
            put(client, &rec, process.id(), &key, value, config.consistency).await
        } else {
            get(client, &rec, process.id(), &key, config.consistency).await
        };
        process.after(&completion);
        tokio::time::sleep(think(&mut rng, config.max_think)).await;
    }
}

/// Puts and records.
async fn put<N: Net>(
    client: &mut Client<N>,
    rec: &Recorder,
    process: u64,
    key: &str,
    value: String,
    consistency: Consistency,
) -> Completion {
    let call = async {
        match client.put(key, &value, consistency).await {
            Ok(()) => Completion::Ok(None),
            Err(e) if e.definite() => Completion::Fail(e.to_string()),
            Err(e) => Completion::Info(e.to_string()),
        }
    };
    record(rec, process, Func::Put, key, Some(value.clone()), call).await
}

/// Gets and records. A get changes nothing, so its errors are definite (`fail`) whatever
/// the client says.
async fn get<N: Net>(
    client: &mut Client<N>,
    rec: &Recorder,
    process: u64,
    key: &str,
    consistency: Consistency,
) -> Completion {
    let call = async {
        match client.get(key, consistency).await {
            // A key never written reads as "", the model's initial value.
            Ok(value) => Completion::Ok(Some(value.unwrap_or_default())),
            Err(e) => Completion::Fail(e.to_string()),
        }
    };
    record(rec, process, Func::Get, key, None, call).await
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
            if let Completion::Ok(_) =
                get(&mut client, &rec, process, &key, Consistency::Quorum).await
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

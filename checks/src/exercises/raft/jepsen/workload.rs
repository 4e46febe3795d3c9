//! The clients of `check raft --jepsen`: closed-loop workers issuing linearizable gets,
//! puts and compare-and-sets on a few keys, each recording what it does as a Jepsen
//! process, and the final reads. Generic over the network, like the client library.

use crate::jepsen::history::{Func, Recorder};
use crate::jepsen::workload::{
    final_process, record, record_cas, think, worker_rng, Completion, Process,
};
use impls::raft::kv::{Client, Error};
use impls::sim::net::Net;
use impls::sim::SplitMix64;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What every worker shares.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    /// Every node's client address.
    pub addrs: Vec<String>,
    /// Workers; worker `w` starts as process `w`.
    pub clients: u64,
    /// Keys `k0`.. are drawn uniformly from this many.
    pub keys: u64,
    /// Workers invoke nothing new from this point of the run's time on.
    pub until: Duration,
    /// The client's budget of one operation, retries included.
    pub timeout: Duration,
    /// The client's wait for one node's answer.
    pub attempt_timeout: Duration,
    /// The longest pause between a worker's operations (uniform from zero).
    pub max_think: Duration,
    /// Seeds the workers' generators.
    pub seed: u64,
}

impl WorkloadConfig {
    /// A client that tries the nodes starting with `first`.
    fn client<N: Net>(&self, net: &N, first: usize) -> Client<N> {
        let n = self.addrs.len();
        let order = (0..n).map(|i| self.addrs[(first + i) % n].clone()).collect();
        let mut c = Client::new(net.clone(), order);
        c.set_timeout(self.timeout);
        c.set_attempt_timeout(self.attempt_timeout);
        c
    }
}

/// The completion of a write: definite errors (a cas mismatch among them) are `fail`,
/// indefinite ones `info`.
fn write_completion(result: Result<(), Error>) -> Completion {
    match result {
        Ok(()) => Completion::Ok(None),
        Err(e) if e.is_definite() => Completion::Fail(e.to_string()),
        Err(e) => Completion::Info(e.to_string()),
    }
}

/// Worker `worker`: until the run's time reaches `config.until`, picks a key and an
/// operation (40% get, 30% put, 30% cas from the value it last saw there), invokes it,
/// waits for the answer and records it. Each get goes through a fresh client starting at
/// a random node, so reads reach followers as well as the leader (the correct node
/// redirects them; a node with `read-from-any-node` answers them itself). Writes share one
/// client, and so one session, per worker.
pub async fn worker<N: Net>(net: N, config: Arc<WorkloadConfig>, rec: Arc<Recorder>, worker: u64) {
    let mut rng = worker_rng(config.seed, worker);
    let n = config.addrs.len();
    let mut writer = config.client(&net, worker as usize % n);
    let mut process = Process::new(worker, config.clients);
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut written = 0u64;
    while rec.now() < config.until {
        let key = format!("k{}", rng.next_u64() % config.keys);
        let roll = rng.next_u64() % 100;
        let completion = if roll < 40 {
            let mut reader = config.client(&net, pick(&mut rng, n));
            let c = get(&mut reader, &rec, process.id(), &key).await;
            if let Completion::Ok(Some(v)) = &c {
                seen.insert(key.clone(), v.clone());
            }
            c
        } else {
            // Unique values, so every read names the write it saw.
            let value = format!("c{worker}-{written}");
            written += 1;
            if roll < 70 {
                let call = async { write_completion(writer.put(&key, &value).await) };
                record(&rec, process.id(), Func::Put, &key, Some(value.clone()), call).await
            } else {
                let expected = seen.get(&key).cloned().unwrap_or_default();
                let from = (!expected.is_empty()).then_some(expected.as_str());
                let call = async { write_completion(writer.cas(&key, from, &value).await) };
                let c = record_cas(&rec, process.id(), &key, &expected, &value, call).await;
                if let Completion::Fail(_) = c {
                    // Look again before the next cas of this key.
                    seen.remove(&key);
                }
                c
            }
        };
        process.after(&completion);
        tokio::time::sleep(think(&mut rng, config.max_think)).await;
    }
}

fn pick(rng: &mut SplitMix64, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// Gets and records. A get changes nothing, so its errors are definite (`fail`); an
/// absent key reads as `""`, the registers' initial value.
async fn get<N: Net>(client: &mut Client<N>, rec: &Recorder, process: u64, key: &str) -> Completion {
    let call = async {
        match client.get(key).await {
            Ok(value) => Completion::Ok(Some(value.unwrap_or_default())),
            Err(e) => Completion::Fail(e.to_string()),
        }
    };
    record(rec, process, Func::Get, key, None, call).await
}

/// The final reads: a get of every key, each retried (as a new attempt, recorded) until
/// it succeeds or `attempts` run out, starting at a different node each time. Run after
/// the nemesis repaired everything, they make a lost acknowledged write a violation.
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
            let mut client = config.client(&net, k as usize + attempt as usize);
            if let Completion::Ok(_) = get(&mut client, &rec, process, &key).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}


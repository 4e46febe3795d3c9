//! The closed-loop load: each client has one request outstanding at a time on its own
//! connection, and sends the next as soon as the answer comes. A phase runs every client
//! as a task until its deadline, then collects what each saw.

use std::future::Future;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// A key-value client a phase drives: one connection, one request at a time.
pub trait KvClient: Send + 'static {
    /// Writes `value` at `key`, acknowledged once the service says it is committed.
    fn put(&mut self, key: &str, value: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// A linearizable read of `key`: `true` if it held a value.
    fn get(&mut self, key: &str) -> impl Future<Output = Result<bool, String>> + Send;
}

/// Which operation a phase repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Puts of a fixed value.
    Put,
    /// Linearizable gets.
    Get,
}

/// What the clients of one phase did together.
#[derive(Debug, Default)]
pub struct PhaseStats {
    /// Operations that succeeded.
    pub ops: u64,
    /// Operations that failed.
    pub errors: u64,
    /// The first failure's text.
    pub first_error: Option<String>,
    /// Gets that found no value.
    pub misses: u64,
    /// The latency of every successful operation, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
}

impl PhaseStats {
    /// Successful operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ops as f64 / s
        } else {
            0.0
        }
    }

    /// The `p`-quantile latency (`0 < p <= 1`, nearest rank), in milliseconds; 0 with no
    /// operations.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        quantile(&self.latencies_us, p) as f64 / 1e3
    }
}

/// The nearest-rank `p`-quantile of sorted `values`; 0 for none.
pub fn quantile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The key client `client` uses for its `n`th operation, out of `keys` keys: the
/// clients walk the key space at different strides, so they rarely share a key at once.
pub fn key_for(client: usize, n: u64, keys: u64) -> String {
    let i = (client as u64)
        .wrapping_mul(7919)
        .wrapping_add(n.wrapping_mul(104_729))
        % keys.max(1);
    format!("bench-{i:05}")
}

/// Runs `op` on every client until `duration` has passed (each finishes the request it
/// has started), and hands the clients back, in order, with what they did. Every request
/// is bounded by its client's own timeout, so this returns within `duration` plus one.
pub fn run_phase<C: KvClient>(
    rt: &Runtime,
    clients: Vec<C>,
    op: Op,
    duration: Duration,
    keys: u64,
    value: &str,
) -> (Vec<C>, PhaseStats) {
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            let value = value.to_string();
            rt.spawn(async move {
                let mut stats = PhaseStats::default();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let key = key_for(i, n, keys);
                    n += 1;
                    let began = Instant::now();
                    let result = match op {
                        Op::Put => client.put(&key, &value).await.map(|()| true),
                        Op::Get => client.get(&key).await,
                    };
                    match result {
                        Ok(found) => {
                            stats.ops += 1;
                            stats.misses += u64::from(!found);
                            let us = began.elapsed().as_micros();
                            stats.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                        Err(e) => {
                            stats.errors += 1;
                            stats.first_error.get_or_insert(e);
                            // A failing service must not be hammered in a tight loop.
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                }
                (client, stats)
            })
        })
        .collect();
    let mut total = PhaseStats::default();
    let mut back = Vec::with_capacity(handles.len());
    for handle in handles {
        let (client, stats) = rt.block_on(handle).expect("a client task panicked");
        back.push(client);
        total.ops += stats.ops;
        total.errors += stats.errors;
        total.misses += stats.misses;
        if total.first_error.is_none() {
            total.first_error = stats.first_error;
        }
        total.latencies_us.extend(stats.latencies_us);
    }
    total.elapsed = start.elapsed();
    total.latencies_us.sort_unstable();
    (back, total)
}

/// The median of `values` (the mean of the middle two for an even count); `None` for
/// none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), 50);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 1.0), 100);
        assert_eq!(quantile(&[7], 0.01), 7);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn keys_stay_in_the_key_space_and_clients_differ() {
        for c in 0..50 {
            for n in 0..50 {
                let k = key_for(c, n, 1000);
                let i: u64 = k.strip_prefix("bench-").unwrap().parse().unwrap();
                assert!(i < 1000);
            }
        }
        assert_ne!(key_for(0, 0, 1000), key_for(1, 0, 1000));
    }

    /// A client that answers after 1 ms and fails every third request.
    struct Fake {
        calls: Arc<AtomicU64>,
    }

    impl KvClient for Fake {
        async fn put(&mut self, _key: &str, _value: &str) -> Result<(), String> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n % 3 == 2 {
                Err(format!("failure {n}"))
            } else {
                Ok(())
            }
        }
        async fn get(&mut self, key: &str) -> Result<bool, String> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(key.ends_with('0'))
        }
    }

    #[test]
    fn a_phase_counts_successes_errors_and_misses_and_returns_every_client() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let clients: Vec<Fake> = (0..4).map(|_| Fake { calls: Arc::clone(&calls) }).collect();
        let (clients, puts) = run_phase(&rt, clients, Op::Put, Duration::from_millis(200), 100, "v");
        assert_eq!(clients.len(), 4);
        let total = calls.load(Ordering::SeqCst);
        assert_eq!(puts.ops + puts.errors, total);
        assert!(puts.errors >= total / 3 - 4 && puts.errors <= total / 3 + 4, "{puts:?}");
        assert!(puts.first_error.as_deref().unwrap().starts_with("failure"));
        assert_eq!(puts.latencies_us.len() as u64, puts.ops);
        assert!(puts.quantile_ms(0.5) >= 1.0);
        assert!(puts.elapsed >= Duration::from_millis(200));
        let (_, gets) = run_phase(&rt, clients, Op::Get, Duration::from_millis(100), 100, "v");
        assert!(gets.ops > 0 && gets.errors == 0);
        assert!(gets.misses > 0 && gets.misses < gets.ops, "{gets:?}");
    }
}

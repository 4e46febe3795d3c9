//! A closed-loop throughput and latency benchmark on an in-process loopback cluster.
//!
//! Each client issues one request at a time, back to back, on its own connection; client
//! `i` talks to node `i mod nodes`. Operations and keys come from a seeded SplitMix64
//! generator per client, so two runs with the same seed issue the same operations (their
//! interleaving, and so the results, depend on timing).
//!
//! A run has three parts. When its mix has gets, it first **preloads** the store: every
//! key the clients draw from is written once, at ALL, with a value of the run's size, so
//! that every measured get reads a value of that size (a get of a key never written is
//! cheaper and measures something else). Then a **warm-up** of the same mix, not
//! measured, and then the **measured** part.
//!
//! Every put is durable on a quorum before it is acknowledged, so the numbers include one
//! fsync (amortised by group commit) per put on each replica.

use super::cluster::{Cluster, ClusterConfig};
use super::core::Consistency;
use super::error::KvError;
use crate::sim::SplitMix64;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// The most bytes of values a preload writes ([`BenchConfig::key_space`] keeps the key
/// space under it): 64 MiB, so that a run with large values preloads fewer keys rather
/// than filling memory and disk (each value is held by three replicas).
pub const PRELOAD_BYTES_MAX: u64 = 64 << 20;

/// Concurrent writers of a preload: enough to fill group commits...
const PRELOAD_WRITERS: u64 = 64;
/// ...but fewer for large values, so that at most this many bytes of values are in flight
/// (64 writers of 1 MiB values time out).
const PRELOAD_IN_FLIGHT_BYTES: u64 = 4 << 20;

/// Attempts per key of a preload, before the run fails.
const PRELOAD_ATTEMPTS: u32 = 3;

/// The share of puts among the operations (the rest are gets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    put_percent: u32,
}

impl Mix {
    /// `percent` puts, `100 - percent` gets.
    ///
    /// # Panics
    ///
    /// If `percent > 100`.
    pub fn puts(percent: u32) -> Mix {
        assert!(
            percent <= 100,
            "a mix has at most 100% puts, not {percent}%"
        );
        Mix {
            put_percent: percent,
        }
    }

    /// The share of puts, in percent.
    pub fn put_percent(self) -> u32 {
        self.put_percent
    }
}

/// Everything a run depends on. [`BenchConfig::new`] gives the standard run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Concurrent closed-loop clients.
    pub clients: usize,
    /// How long the measured part runs.
    pub duration: Duration,
    /// How long the unmeasured warm-up runs before it.
    pub warmup: Duration,
    /// The consistency level of every request.
    pub consistency: Consistency,
    /// Puts versus gets.
    pub mix: Mix,
    /// Keys are drawn uniformly from this many, or from fewer if their values would make a
    /// preload write more than [`PRELOAD_BYTES_MAX`] ([`BenchConfig::key_space`]).
    pub keys: u64,
    /// Bytes per value, of the preload and of every put.
    pub value_bytes: usize,
    /// Write every key before the warm-up when the mix has gets, so that each get finds a
    /// value. Without it, gets of keys no put has written yet find nothing.
    pub preload: bool,
    /// Seeds the clients' generators.
    pub seed: u64,
    /// Worker threads of each node's runtime.
    pub node_threads: usize,
    /// Worker threads of the clients' runtime.
    pub client_threads: usize,
    /// Where the nodes keep their logs (the disk under test); `None` for a temporary
    /// directory.
    pub data_dir: Option<std::path::PathBuf>,
}

impl BenchConfig {
    /// `nodes` nodes, `clients` clients, 10,000 keys, 100-byte values, a preload (if the
    /// mix has gets), a warm-up of a fifth of the duration (at most 2 s), seed 1, one
    /// thread per node and for the clients.
    pub fn new(
        nodes: usize,
        clients: usize,
        duration: Duration,
        consistency: Consistency,
        mix: Mix,
    ) -> BenchConfig {
        BenchConfig {
            nodes,
            clients,
            duration,
            warmup: (duration / 5).min(Duration::from_secs(2)),
            consistency,
            mix,
            keys: 10_000,
            value_bytes: 100,
            preload: true,
            seed: 1,
            node_threads: 1,
            client_threads: 1,
            data_dir: None,
        }
    }

    /// How many keys the clients draw from (`key0`, `key1`, ...): [`BenchConfig::keys`],
    /// but no more than fit [`PRELOAD_BYTES_MAX`] bytes of values, and at least one.
    pub fn key_space(&self) -> u64 {
        let fit = PRELOAD_BYTES_MAX / (self.value_bytes.max(1) as u64);
        self.keys.min(fit).max(1)
    }

    /// Whether this run preloads: asked to, and some operations are gets.
    pub fn preloads(&self) -> bool {
        self.preload && self.mix.put_percent < 100
    }
}

/// How far a run is, for a progress line that another thread reads while it runs
/// ([`bench_observed`]). Every count only grows.
#[derive(Debug, Default)]
pub struct BenchProgress {
    preloaded: AtomicU64,
    ops: AtomicU64,
    load_started: OnceLock<std::time::Instant>,
}

impl BenchProgress {
    /// Keys the preload has written so far (of [`BenchConfig::key_space`]).
    pub fn preloaded(&self) -> u64 {
        self.preloaded.load(Ordering::Relaxed)
    }

    /// Operations completed since the warm-up began, warm-up included.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    /// When the warm-up began (after the preload): `None` before. The measured part
    /// begins [`BenchConfig::warmup`] later and lasts [`BenchConfig::duration`].
    pub fn load_started(&self) -> Option<std::time::Instant> {
        self.load_started.get().copied()
    }
}

/// What a run measured. Latencies are of successful and failed operations alike, from
/// the client's send to its receipt of the response.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchStats {
    /// Operations completed in the measured period.
    pub ops: u64,
    /// `ops` per second of the measured period.
    pub ops_per_sec: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
    /// Highest latency.
    pub max: Duration,
    /// Successful puts.
    pub puts: u64,
    /// Successful gets.
    pub gets: u64,
    /// Successful gets that found no value (after a preload, none should).
    pub misses: u64,
    /// The keys drawn from ([`BenchConfig::key_space`]).
    pub keys: u64,
    /// Keys written by the preload (0 without one).
    pub preloaded: u64,
    /// How long the preload took.
    pub preload_time: Duration,
    /// Failed operations.
    pub errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<KvError>,
    /// Group commits (fsyncs) of all nodes over the warm-up and the measured part (not
    /// the preload).
    pub wal_syncs: u64,
    /// Records those commits made durable.
    pub wal_records: u64,
    /// CPU time (user and system, all threads of this process: nodes and clients) per
    /// measured operation, where the platform reports it (Linux). Unlike throughput, it
    /// does not depend on what else the machine is running.
    pub cpu_per_op: Option<Duration>,
}

impl fmt::Display for BenchStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ops, {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} puts, {} gets ({} found nothing), {} errors",
            self.ops,
            self.ops_per_sec,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3,
            self.puts,
            self.gets,
            self.misses,
            self.errors,
        )?;
        if self.preloaded > 0 {
            write!(
                f,
                "; {} keys preloaded in {:.1} s",
                self.preloaded,
                self.preload_time.as_secs_f64()
            )?;
        }
        if self.wal_syncs > 0 {
            write!(
                f,
                "; {} fsyncs, {:.1} records each",
                self.wal_syncs,
                self.wal_records as f64 / self.wal_syncs as f64
            )?;
        }
        if let Some(cpu) = self.cpu_per_op {
            write!(f, "; {:.1} µs of CPU per op", cpu.as_secs_f64() * 1e6)?;
        }
        if let Some(e) = &self.first_error {
            write!(f, "; first error: {e}")?;
        }
        Ok(())
    }
}

/// Runs the standard benchmark: `nodes` nodes, `clients` clients for `duration` at
/// `consistency` with `mix`, and the other parameters of [`BenchConfig::new`].
pub fn bench(
    nodes: usize,
    clients: usize,
    duration: Duration,
    consistency: Consistency,
    mix: Mix,
) -> io::Result<BenchStats> {
    bench_with(&BenchConfig::new(
        nodes,
        clients,
        duration,
        consistency,
        mix,
    ))
}

/// Runs a benchmark as configured.
pub fn bench_with(config: &BenchConfig) -> io::Result<BenchStats> {
    bench_observed(config, Arc::default())
}

/// Runs a benchmark as configured, counting in `progress` how far it is.
pub fn bench_observed(
    config: &BenchConfig,
    progress: Arc<BenchProgress>,
) -> io::Result<BenchStats> {
    let mut cluster_config = ClusterConfig::new(config.nodes);
    cluster_config.worker_threads = config.node_threads;
    cluster_config.data_dir = config.data_dir.clone();
    cluster_config.hint_interval = Duration::from_millis(200);
    cluster_config.heartbeat = Duration::from_millis(100);
    let cluster = Cluster::start(cluster_config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.client_threads.max(1))
        .thread_name("kv-bench-client")
        .enable_all()
        .build()?;
    let addrs: Vec<String> = cluster
        .ids()
        .iter()
        .map(|&id| cluster.addr(id).to_owned())
        .collect();
    let config = config.clone();
    rt.block_on(async move {
        let preload_started = Instant::now();
        // The preload's group commits are not the run's: counted here, taken off below.
        let mut preload_wal = (0, 0);
        if config.preloads() {
            preload(&addrs, &config, &progress).await?;
            preload_wal = node_totals(&addrs).await;
        }
        let preload_time = preload_started.elapsed();
        let start = Instant::now();
        let _ = progress.load_started.set(start.into_std());
        let measure_from = start + config.warmup;
        let end = measure_from + config.duration;
        let mut handles = Vec::new();
        let cpu_at_start = std::sync::Arc::new(std::sync::Mutex::new(None));
        let cpu_mark = std::sync::Arc::clone(&cpu_at_start);
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from).await;
            *cpu_mark.lock().unwrap_or_else(|e| e.into_inner()) = process_cpu_time();
        });
        for i in 0..config.clients {
            let addr = addrs[i % addrs.len()].clone();
            let config = config.clone();
            let progress = Arc::clone(&progress);
            handles.push(tokio::spawn(async move {
                run_client(i as u64, addr, &config, &progress, measure_from, end).await
            }));
        }
        let mut total = ClientTotals::default();
        for h in handles {
            let t = h
                .await
                .map_err(|e| io::Error::other(format!("benchmark client failed: {e}")))?;
            total.merge(t);
        }
        // The clients stop at `end`, give or take one operation.
        let cpu_at_end = process_cpu_time();
        let cpu_at_start = *cpu_at_start.lock().unwrap_or_else(|e| e.into_inner());
        let (wal_syncs, wal_records) = node_totals(&addrs).await;
        let mut stats = total.finish(
            config.duration,
            wal_syncs.saturating_sub(preload_wal.0),
            wal_records.saturating_sub(preload_wal.1),
        );
        stats.keys = config.key_space();
        stats.preloaded = progress.preloaded();
        stats.preload_time = if config.preloads() {
            preload_time
        } else {
            Duration::ZERO
        };
        if let (Some(a), Some(b)) = (cpu_at_start, cpu_at_end) {
            if stats.ops > 0 && b > a {
                stats.cpu_per_op = Some((b - a) / stats.ops as u32);
            }
        }
        Ok(stats)
    })
}

/// Writes every key of the key space once, at ALL, with up to [`PRELOAD_WRITERS`] writers
/// spread over the nodes, retrying a failed put. ALL, so that a get at any level finds
/// the value on whichever replicas it asks.
async fn preload(
    addrs: &[String],
    config: &BenchConfig,
    progress: &Arc<BenchProgress>,
) -> io::Result<()> {
    let keys = config.key_space();
    let next = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    let writers_max = (PRELOAD_IN_FLIGHT_BYTES / config.value_bytes.max(1) as u64).max(1);
    for w in 0..PRELOAD_WRITERS.min(writers_max).min(keys) {
        let addr = addrs[w as usize % addrs.len()].clone();
        let (next, progress) = (Arc::clone(&next), Arc::clone(progress));
        let value_bytes = config.value_bytes;
        writers.push(tokio::spawn(async move {
            let mut client = super::Client::lazy(crate::sim::net::TokioNet, addr);
            let mut value = String::with_capacity(value_bytes);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= keys {
                    return Ok(());
                }
                let key = format!("key{k}");
                fill_value(&mut value, format_args!("p{k}-"), value_bytes);
                let mut attempt = 1;
                while let Err(e) = client.put(&key, &value, Consistency::All).await {
                    if attempt == PRELOAD_ATTEMPTS {
                        return Err(io::Error::other(format!(
                            "the preload could not write {key} ({attempt} attempts): {e}"
                        )));
                    }
                    attempt += 1;
                }
                progress.preloaded.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in writers {
        w.await
            .map_err(|e| io::Error::other(format!("a preload writer failed: {e}")))??;
    }
    Ok(())
}

/// Sets `value` to `prefix` padded with `x` to exactly `bytes` bytes (the prefix cut short
/// if it is longer), so that every value of a run has the run's size.
fn fill_value(value: &mut String, prefix: fmt::Arguments<'_>, bytes: usize) {
    use std::fmt::Write;
    value.clear();
    let _ = value.write_fmt(prefix);
    // The prefixes are ASCII, so any length is a character boundary.
    value.truncate(bytes);
    while value.len() < bytes {
        value.push('x');
    }
}

#[derive(Default)]
struct ClientTotals {
    latencies_us: Vec<u32>,
    puts: u64,
    gets: u64,
    misses: u64,
    errors: u64,
    first_error: Option<KvError>,
}

impl ClientTotals {
    fn merge(&mut self, other: ClientTotals) {
        self.latencies_us.extend(other.latencies_us);
        self.puts += other.puts;
        self.gets += other.gets;
        self.misses += other.misses;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn finish(mut self, duration: Duration, wal_syncs: u64, wal_records: u64) -> BenchStats {
        self.latencies_us.sort_unstable();
        let pick = |q: f64| -> Duration {
            if self.latencies_us.is_empty() {
                return Duration::ZERO;
            }
            let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
            Duration::from_micros(u64::from(self.latencies_us[i]))
        };
        let ops = self.latencies_us.len() as u64;
        BenchStats {
            ops,
            ops_per_sec: ops as f64 / duration.as_secs_f64(),
            p50: pick(0.50),
            p99: pick(0.99),
            max: pick(1.0),
            puts: self.puts,
            gets: self.gets,
            misses: self.misses,
            keys: 0,
            preloaded: 0,
            preload_time: Duration::ZERO,
            errors: self.errors,
            first_error: self.first_error,
            wal_syncs,
            wal_records,
            cpu_per_op: None,
        }
    }
}

/// User plus system CPU time of this process, from `/proc/self/stat` (Linux; `None`
/// elsewhere). The kernel counts in clock ticks, which are 1/100 s on every Linux
/// configuration in practice, so this is precise to about 10 ms.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; the fields after it do not.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// What one operation of a client did.
enum Done {
    Put,
    /// A get that found a value.
    Found,
    /// A get that found nothing.
    Missed,
}

async fn run_client(
    index: u64,
    addr: String,
    config: &BenchConfig,
    progress: &BenchProgress,
    measure_from: Instant,
    end: Instant,
) -> ClientTotals {
    let mut client = super::Client::lazy(crate::sim::net::TokioNet, addr);
    let mut rng =
        SplitMix64(config.seed ^ (index.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut totals = ClientTotals::default();
    let mut value = String::with_capacity(config.value_bytes);
    let mut key = String::new();
    let mut counter = 0u64;
    let keys = config.key_space();
    loop {
        let started = Instant::now();
        if started >= end {
            return totals;
        }
        use std::fmt::Write;
        key.clear();
        let _ = write!(key, "key{}", rng.next_u64() % keys);
        let is_put = rng.next_u64() % 100 < u64::from(config.mix.put_percent);
        let result = if is_put {
            counter += 1;
            fill_value(
                &mut value,
                format_args!("c{index}-{counter}-"),
                config.value_bytes,
            );
            client
                .put(&key, &value, config.consistency)
                .await
                .map(|()| Done::Put)
        } else {
            client.get(&key, config.consistency).await.map(|v| match v {
                Some(_) => Done::Found,
                None => Done::Missed,
            })
        };
        let finished = Instant::now();
        progress.ops.fetch_add(1, Ordering::Relaxed);
        if started < measure_from || finished > end {
            continue;
        }
        let us = (finished - started).as_micros().min(u128::from(u32::MAX)) as u32;
        totals.latencies_us.push(us);
        match result {
            Ok(Done::Put) => totals.puts += 1,
            Ok(Done::Found) => totals.gets += 1,
            Ok(Done::Missed) => {
                totals.gets += 1;
                totals.misses += 1;
            }
            Err(e) => {
                totals.errors += 1;
                totals.first_error.get_or_insert(e);
            }
        }
    }
}

/// Sums the nodes' group-commit counters.
async fn node_totals(addrs: &[String]) -> (u64, u64) {
    let mut syncs = 0;
    let mut records = 0;
    for addr in addrs {
        let mut c = super::Client::lazy(crate::sim::net::TokioNet, addr.clone());
        if let Ok(s) = c.stats().await {
            syncs += s.wal_syncs;
            records += s.wal_records;
        }
    }
    (syncs, records)
}

//! The benchmark runs end to end (briefly: numbers come from `kv bench`, not from tests).

use impls::kv::bench::{bench_with, BenchConfig, Mix};
use impls::kv::core::Consistency;
use std::time::Duration;

#[test]
fn a_short_benchmark_completes_every_kind_of_operation_without_errors() {
    let mut config = BenchConfig::new(
        5,
        8,
        Duration::from_millis(500),
        Consistency::Quorum,
        Mix::puts(50),
    );
    config.warmup = Duration::from_millis(100);
    config.keys = 1000;
    let stats = bench_with(&config).unwrap();
    assert!(stats.puts > 0 && stats.gets > 0, "{stats}");
    assert_eq!(stats.errors, 0, "{stats}");
    assert_eq!(stats.ops, stats.puts + stats.gets);
    assert!(stats.p50 <= stats.p99 && stats.p99 <= stats.max);
    assert!(stats.wal_syncs > 0 && stats.wal_records >= stats.wal_syncs);
}

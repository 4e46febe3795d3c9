//! The benchmark runs end to end (briefly: numbers come from `kv bench`, not from tests).

use impls::kv::bench::{bench_with, BenchConfig, Mix, PRELOAD_BYTES_MAX};
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

#[test]
fn after_the_preload_every_get_finds_a_value_and_without_it_none_does() {
    let config = |preload| {
        let mut c = BenchConfig::new(
            5,
            4,
            Duration::from_millis(300),
            Consistency::Quorum,
            Mix::puts(0),
        );
        c.warmup = Duration::from_millis(50);
        c.keys = 500;
        c.value_bytes = 10;
        c.preload = preload;
        c
    };
    let stats = bench_with(&config(true)).unwrap();
    assert!(stats.gets > 0, "{stats}");
    assert_eq!((stats.misses, stats.errors), (0, 0), "{stats}");
    assert_eq!((stats.keys, stats.preloaded), (500, 500), "{stats}");
    // The same gets of keys nobody wrote: what the benchmark measured before it preloaded.
    let stats = bench_with(&config(false)).unwrap();
    assert!(stats.gets > 0, "{stats}");
    assert_eq!(stats.misses, stats.gets, "{stats}");
    assert_eq!(stats.preloaded, 0, "{stats}");
}

#[test]
fn the_key_space_keeps_a_preload_of_large_values_bounded() {
    let mut config = BenchConfig::new(
        3,
        1,
        Duration::from_secs(1),
        Consistency::Quorum,
        Mix::puts(0),
    );
    assert_eq!(config.key_space(), 10_000);
    config.value_bytes = 1 << 20;
    assert_eq!(config.key_space(), PRELOAD_BYTES_MAX >> 20);
    config.keys = 0;
    assert_eq!(config.key_space(), 1);
}

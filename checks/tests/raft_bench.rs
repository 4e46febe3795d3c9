//! `check bench raft` end to end: a short run on a real loopback cluster of raft-kv
//! processes (this `check` binary re-run as its nodes), and beside etcd where etcd is
//! installed. The numbers are the machine's; the tests hold the report's shape and what
//! must be true on any machine: operations succeed, gets find what the puts wrote, every
//! put costs a fsync somewhere yet batching keeps it near one per put or fewer, and no
//! process or directory outlives the run.

mod common;

use common::{json_run, stderr};
use serde_json::Value;

const SHORT: [&str; 10] = [
    "bench",
    "raft",
    "--nodes",
    "3",
    "--clients",
    "4",
    "--seconds",
    "1",
    "--rounds",
    "1",
];

fn run(peer: &str) -> Value {
    let mut args = SHORT.to_vec();
    args.extend(["--peer", peer]);
    let (code, report) = json_run(&args);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["schema"], "check-bench-raft/1");
    report
}

/// The checks every side's phase must pass.
fn assert_sane(side: &Value, name: &str) {
    for phase in ["puts", "gets"] {
        let run = &side["rounds"][0][phase];
        assert_eq!(run["errors"], 0, "{name} {phase}: {run}");
        assert!(run["ops"].as_u64().unwrap() > 0, "{name} {phase}: {run}");
        let p50 = run["p50_ms"].as_f64().unwrap();
        let p99 = run["p99_ms"].as_f64().unwrap();
        assert!(p50 > 0.0 && p50 <= p99, "{name} {phase}: {run}");
        assert!(
            run["cpu_us_per_op"].as_f64().unwrap() > 0.0,
            "{name} {phase}: {run}"
        );
    }
    let gets = &side["rounds"][0]["gets"];
    assert!(
        gets["misses"].as_u64().unwrap() < gets["ops"].as_u64().unwrap(),
        "{name}: the gets found what the warm-up and the puts wrote: {gets}"
    );
    // Three replicas each make a put durable: some fsync per put, at most a few.
    let fsyncs = side["rounds"][0]["puts"]["fsyncs_per_op"].as_f64().unwrap();
    assert!(
        fsyncs > 0.0 && fsyncs <= 4.0,
        "{name}: {fsyncs} fsyncs per put"
    );
    assert_eq!(
        side["puts"]["ops_per_sec"], side["rounds"][0]["puts"]["ops_per_sec"],
        "one round: its median is itself"
    );
}

#[test]
fn ours_alone_runs_end_to_end_and_counts_fsyncs() {
    // A temporary directory of its own: the other tests' clusters, running at the same
    // time, make theirs in the shared one.
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["--format", "json"];
    args.extend(SHORT);
    args.extend(["--peer", "none"]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_check"))
        .args(&args)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["etcd_skipped"], "--peer none");
    let cell = &report["cells"][0];
    assert_eq!(
        (cell["nodes"].as_u64(), cell["clients"].as_u64()),
        (Some(3), Some(4))
    );
    assert!(cell["etcd"].is_null() && cell["puts_ratio"].is_null());
    assert_sane(&cell["ours"], "raft-kv");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "directories left: {left:?}");
}

#[test]
fn beside_etcd_where_it_is_installed() {
    let installed = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("etcd").is_file());
    if !installed {
        eprintln!("skipped: no etcd on PATH (apt-get install -y etcd-server etcd-client)");
        let report = run("etcd");
        let why = report["etcd_skipped"].as_str().unwrap();
        assert!(why.contains("no `etcd` on PATH"), "{why}");
        assert!(report["cells"][0]["etcd"].is_null());
        return;
    }
    let report = run("etcd");
    assert!(report["etcd_skipped"].is_null(), "{report}");
    assert!(report["etcd_caveat"]
        .as_str()
        .unwrap()
        .contains("gRPC gateway"));
    let cell = &report["cells"][0];
    assert_sane(&cell["ours"], "raft-kv");
    assert_sane(&cell["etcd"], "etcd");
    for phase in ["puts_ratio", "gets_ratio"] {
        let ratio = cell[phase]["ops_per_sec"].as_f64().unwrap();
        let ours = cell["ours"][&phase[..4]]["ops_per_sec"].as_f64().unwrap();
        let etcd = cell["etcd"][&phase[..4]]["ops_per_sec"].as_f64().unwrap();
        assert!(
            (ratio - ours / etcd).abs() < 1e-9,
            "{phase}: {ratio} vs {ours}/{etcd}"
        );
    }
}

#[test]
fn a_bad_list_is_a_usage_error_naming_the_flag() {
    let o = common::check(&["bench", "raft", "--clients", "4,x", "--peer", "none"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--clients"), "{}", stderr(&o));
}

//! Agreement with the public histories in `testdata/` (Porcupine's test data, MIT, and
//! Knossos's, EPL-1.0; their licences and provenance are beside them): every file gets the
//! verdict its MANIFEST.md gives. The manifest is read, not copied, so a file added there
//! is checked here too.

use linearizability::edn::Edn;
use linearizability::etcd::{read_etcd_log, Etcd};
use linearizability::events::{history_from_events, read_edn_events, ReadOp};
use linearizability::kv::{read_kv_log, Kv};
use linearizability::models::{CasRegister, MultiRegister};
use linearizability::{check_operations, CheckOptions, CheckResult};
use std::path::PathBuf;

fn histories() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "the test histories are missing: expected {}",
        dir.display()
    );
    dir
}

/// How many files a folder of the histories holds.
fn files_in(dir: &str) -> usize {
    std::fs::read_dir(histories().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count()
}

/// (path as the manifest gives it, linearizable?) for every row of the manifest whose
/// path starts with `prefix`.
fn manifest_rows(prefix: &str) -> Vec<(String, bool)> {
    let manifest = std::fs::read_to_string(histories().join("MANIFEST.md")).unwrap();
    manifest
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let path = *cells.get(1)?;
            let expected = *cells.get(4)?;
            if !path.starts_with(prefix) {
                return None;
            }
            let linearizable = if expected.starts_with("**NOT linearizable") {
                false
            } else if expected.starts_with("**linearizable") {
                true
            } else {
                return None;
            };
            Some((path.to_string(), linearizable))
        })
        .collect()
}

#[test]
fn every_etcd_history_gets_the_manifest_verdict() {
    let rows = manifest_rows("jepsen/etcd_");
    assert_eq!(
        rows.len(),
        files_in("porcupine/test_data/jepsen"),
        "one row per file"
    );
    let mut wrong = Vec::new();
    for (path, expected) in &rows {
        let file = histories().join("porcupine/test_data").join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        let ops = read_etcd_log(path, &text).unwrap_or_else(|e| panic!("{e}"));
        let verdict = check_operations(&Etcd, &ops, &CheckOptions::default());
        assert_ne!(verdict.result, CheckResult::Unknown, "{path}");
        if (verdict.result == CheckResult::Ok) != *expected {
            wrong.push(format!(
                "{path}: expected linearizable = {expected}, got {:?}",
                verdict.result
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_kv_history_gets_the_manifest_verdict_partitioned_by_key() {
    let rows = manifest_rows("kv/");
    assert_eq!(
        rows.len(),
        files_in("porcupine/test_data/kv"),
        "one row per file"
    );
    for (path, expected) in &rows {
        let file = histories().join("porcupine/test_data").join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        let ops = read_kv_log(path, &text).unwrap_or_else(|e| panic!("{e}"));
        let verdict = check_operations(&Kv, &ops, &CheckOptions::default());
        assert!(verdict.partitions > 1, "{path}: partitioned by key");
        assert_eq!(
            verdict.result == CheckResult::Ok,
            *expected,
            "{path}: {:?}",
            verdict.result
        );
        if !expected {
            let f = verdict.failure.expect("an illegal verdict explains itself");
            assert!(
                f.partition.contains(&f.blocked),
                "{path}: the blocked op is in the failing key"
            );
        }
    }
}

/// Reads a Knossos history and checks it under Knossos's semantics.
fn knossos_verdict<M: ReadOp>(model: &M, path: &str, text: &str) -> CheckResult {
    let events = read_edn_events(path, text).unwrap_or_else(|e| panic!("{e}"));
    let ops = history_from_events(model, path, &events).unwrap_or_else(|e| panic!("{e}"));
    check_operations(model, &ops, &CheckOptions::default()).result
}

#[test]
fn every_knossos_history_gets_the_manifest_verdict_under_knossos_semantics() {
    let rows = manifest_rows("data/");
    let files: usize = [
        "cas-register/bad",
        "cas-register/good",
        "multi-register/good",
    ]
    .iter()
    .map(|d| files_in(&format!("knossos/data/{d}")))
    .sum();
    assert_eq!(rows.len(), files, "one row per file");
    for (path, expected) in &rows {
        let text = std::fs::read_to_string(histories().join("knossos").join(path)).unwrap();
        // The data set's folder names its model; the manifest gives the initial values.
        let dataset = path.split('/').nth(1).unwrap();
        let result = match dataset {
            "cas-register" => knossos_verdict(&CasRegister { init: Edn::Int(0) }, path, &text),
            "multi-register" => {
                let init = [("x", 0), ("y", 0)]
                    .map(|(k, v)| (Edn::Keyword(k.into()), Edn::Int(v)))
                    .into();
                knossos_verdict(&MultiRegister { init }, path, &text)
            }
            other => panic!("{path}: no model for data set {other}"),
        };
        assert_ne!(result, CheckResult::Unknown, "{path}");
        assert_eq!(result == CheckResult::Ok, *expected, "{path}: {result:?}");
    }
}

//! What the integration tests share: running the `check` binary and reading its output.
//! Each test file includes this with `mod common;` and uses what it needs.
#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Output};

/// Runs the `check` binary built for these tests with `args`.
pub fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .output()
        .expect("the check binary runs")
}

/// A run's standard output, lossily decoded.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A run's standard error, lossily decoded.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A run's standard output as one JSON document; panics with both streams if it is not.
pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// Runs `check --format json ARGS` and returns its exit code and its JSON document.
pub fn json_run(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let o = check(&all);
    (o.status.code(), json(&o))
}

/// The registered exercises, in `check list` order, as `check list --format json` names
/// them: tests derive what they expect from the registry instead of repeating it.
pub fn exercise_names() -> Vec<String> {
    let (code, list) = json_run(&["list"]);
    assert_eq!(code, Some(0));
    list.as_array()
        .expect("check list --format json is an array")
        .iter()
        .map(|e| e["name"].as_str().expect("a name").to_string())
        .collect()
}

/// The path of a history shipped in `linearizability/testdata/porcupine/test_data`.
pub fn porcupine(path: &str) -> String {
    format!(
        "{}/../linearizability/testdata/porcupine/test_data/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

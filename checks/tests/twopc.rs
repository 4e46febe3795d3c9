//! `check twopc` as users run it: the design model holds, each bug variant exits 1 with a
//! numbered trace, and the faithful TLA+ ports have exactly TLC's state counts.

use serde_json::Value;
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .output()
        .expect("the check binary runs")
}

fn unique_states(args: &[&str]) -> u64 {
    let mut all = vec!["--format", "json", "twopc"];
    all.extend_from_slice(args);
    let o = check(&all);
    assert_eq!(o.status.code(), Some(0), "{args:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["coverage"]["kind"], "exhausted", "{v}");
    v["unique_states"].as_u64().unwrap()
}

/// TLC's distinct states for TwoPhase (with TCConsistent) and TCommit, from the issue.
const TLC_TWOPHASE: [(u32, u64); 4] = [(3, 288), (4, 1_568), (5, 8_832), (6, 50_816)];
const TLC_TCOMMIT: [(u32, u64); 6] = [(3, 34), (4, 96), (5, 274), (6, 792), (7, 2_314), (8, 6_816)];

#[test]
fn the_tla_ports_have_tlcs_state_counts() {
    for (rms, tlc) in TLC_TWOPHASE {
        let rms = rms.to_string();
        assert_eq!(
            unique_states(&["--spec", "twophase", "--rms", &rms]),
            tlc,
            "TwoPhase, {rms} RMs"
        );
    }
    for (rms, tlc) in TLC_TCOMMIT {
        let rms = rms.to_string();
        assert_eq!(
            unique_states(&["--spec", "tcommit", "--rms", &rms]),
            tlc,
            "TCommit, {rms} RMs"
        );
    }
}

#[test]
fn the_design_model_holds_with_every_property() {
    let o = check(&["twopc"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for p in [
        "Atomicity",
        "Validity",
        "Stability",
        "TransactionCommits",
        "TransactionAborts",
        "CommitRecoveredFromLog",
    ] {
        assert!(out.contains(p), "{p} missing:\n{out}");
    }
    assert!(out.contains("coverage: exhausted"), "{out}");
}

#[test]
fn every_bug_exits_1_with_a_numbered_trace() {
    for (bug, property) in [
        ("commit-without-all-votes", "Validity"),
        ("abort-after-prepared", "Atomicity"),
        ("decide-before-logging", "Stability"),
        ("no-prepare-record", "Atomicity"),
    ] {
        let o = check(&["twopc", "--bug", bug]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{bug}:\n{out}");
        assert!(
            out.contains(&format!("counterexample to {property} (always)")),
            "{bug}:\n{out}"
        );
        assert!(
            out.contains(" 1. coord begins: sends Prepare"),
            "{bug}:\n{out}"
        );
    }
}

/// The design model runs the implementation's protocol cores; these are its numbers (the
/// model's own tests pin the same ones, and its module doc says why they differ from the
/// hand-written model's 128,003 states and 5, 10, 10 and 12 steps).
#[test]
fn the_design_models_state_count_and_shortest_traces_are_pinned() {
    assert_eq!(unique_states(&[]), models::twopc::design::PIN.unique_states);
    for (bug, property, steps) in [
        ("commit-without-all-votes", "Validity", 4),
        ("abort-after-prepared", "Atomicity", 9),
        ("decide-before-logging", "Stability", 9),
        ("no-prepare-record", "Atomicity", 11),
    ] {
        let o = check(&["--format", "json", "twopc", "--bug", bug]);
        assert_eq!(o.status.code(), Some(1), "{bug}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let c = &v["counterexample"];
        assert_eq!(c["property"], property, "{bug}: {c}");
        assert_eq!(c["length"], steps, "{bug}: {c}");
        assert_eq!(c["shortest"], true, "{bug}: {c}");
    }
}

#[test]
fn a_spec_with_a_bug_or_an_unknown_spec_is_a_usage_error() {
    for args in [
        &["twopc", "--spec", "twophase", "--bug", "no-prepare-record"][..],
        &["twopc", "--spec", "paxos"][..],
        &["twopc", "--spec", "twophase", "--rms", "17"][..],
    ] {
        let o = check(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn liveness_shows_the_blocking_as_an_expected_finding() {
    let o = check(&["twopc", "--liveness"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for p in [
        "EveryParticipantDecides  violated, as expected",
        "the expected finding, not a harness failure",
        "counterexample to EveryParticipantDecides (eventually): 5 steps (shortest, replayed)",
        "coord crashes and never comes back",
        "2PC blocks",
        "result: as expected",
    ] {
        assert!(out.contains(p), "{p} missing:\n{out}");
    }

    let o = check(&["--format", "json", "twopc", "--liveness"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "holds", "{v}");
    assert_eq!(v["expected_finding"]["found"], true, "{v}");
    assert_eq!(v["properties"][0]["status"], "violated-as-expected", "{v}");
    assert_eq!(v["counterexample"]["shortest"], true, "{v}");
}

#[test]
fn liveness_fails_when_the_blocking_cannot_happen() {
    // Without a crash the coordinator never stays down, every participant decides, and the
    // run no longer shows what it claims to: that is a failure, exit 1.
    let o = check(&["twopc", "--liveness", "--crashes", "0"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("NOT VIOLATED"), "{out}");
}

#[test]
fn liveness_with_a_bug_or_a_spec_is_a_usage_error() {
    for args in [
        &["twopc", "--liveness", "--bug", "no-prepare-record"][..],
        &["twopc", "--liveness", "--spec", "twophase"][..],
        &["raft", "--liveness"][..],
    ] {
        assert_eq!(check(args).status.code(), Some(2), "{args:?}");
    }
}

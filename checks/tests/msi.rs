//! `check msi` as users run it: both protocols hold exhaustively with their pinned state
//! counts, every bug variant exits 1 with a shortest trace ending in the property it breaks
//! (an SWMR trace names both caches), and a bug a protocol cannot have is a usage error.

use serde_json::Value;

mod common;
use common::{check, json_run};

fn json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["msi"];
    all.extend_from_slice(args);
    json_run(&all)
}

#[test]
fn both_protocols_hold_exhaustively_with_their_state_counts() {
    // Snooping: 3,136 and 112 before the history flag behind WriteMissInvalidates.
    for (args, unique, properties) in [
        (&[][..], 6_272, 9),
        (&["--protocol", "snooping", "--addresses", "1"][..], 224, 9),
        (&["--protocol", "directory"][..], 459_248, 11),
        (
            &["--protocol", "directory", "--caches", "2"][..],
            10_608,
            11,
        ),
    ] {
        let (code, v) = json(args);
        assert_eq!(code, Some(0), "{args:?}: {v}");
        assert_eq!(v["coverage"]["kind"], "exhausted", "{args:?}");
        assert_eq!(v["unique_states"], unique, "{args:?}");
        let listed = v["properties"].as_array().unwrap();
        assert_eq!(listed.len(), properties, "{args:?}");
        for p in listed {
            let expected = match p["expectation"].as_str().unwrap() {
                "always" => "holds",
                _ => "example-found",
            };
            assert_eq!(p["status"], expected, "{args:?}: {p}");
        }
    }
}

#[test]
fn every_variant_exits_1_with_a_shortest_trace_ending_in_what_it_breaks() {
    // (protocol, bug, property, steps): the snooping bugs are checked on both protocols.
    for (protocol, bug, property, steps) in [
        ("snooping", "no-invalidate", "SWMR", 2),
        ("snooping", "no-writeback", "DataValue", 3),
        ("directory", "no-invalidate", "SWMR", 6),
        ("directory", "no-writeback", "DataValue", 8),
        ("directory", "early-write", "SWMR", 6),
        ("directory", "ack-inv-in-is-d", "SWMR", 8),
        ("directory", "unordered-forwards", "NoDeadlock", 10),
    ] {
        let what = format!("--protocol {protocol} --bug {bug}");
        let (code, v) = json(&["--protocol", protocol, "--bug", bug]);
        assert_eq!(code, Some(1), "{what}: {v}");
        let trace = &v["counterexample"];
        assert_eq!(trace["property"], property, "{what}");
        assert_eq!(trace["shortest"], true, "{what}");
        assert_eq!(trace["length"], steps, "{what}");
    }
}

#[test]
fn the_no_invalidate_trace_names_both_caches_in_the_swmr_violation() {
    for protocol in ["snooping", "directory"] {
        let o = check(&["msi", "--protocol", protocol, "--bug", "no-invalidate"]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains("counterexample to SWMR (always)"), "{out}");
        let why = out
            .lines()
            .find(|l| l.trim_start().starts_with("why:"))
            .unwrap_or_else(|| panic!("no why line:\n{out}"));
        assert!(
            why.contains("c1") && why.contains("c2") && why.contains("M"),
            "{protocol}: {why}"
        );
    }
}

#[test]
fn a_directory_bug_picks_the_directory_protocol_and_snooping_refuses_it() {
    let (code, v) = json(&["--bug", "early-write"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["exercise"], "msi --protocol directory");

    let o = check(&["msi", "--protocol", "snooping", "--bug", "early-write"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--bug early-write does not exist in --protocol snooping")
            && err.contains("protocols with that bug: directory"),
        "{err}"
    );
}

/// Regression (issue 14): the refusal printed the top-level usage, not msi's.
#[test]
fn a_bug_the_protocol_lacks_prints_the_exercises_usage() {
    let o = check(&["msi", "--protocol", "snooping", "--bug", "early-write"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Usage: check msi [OPTIONS]"), "{err}");
}

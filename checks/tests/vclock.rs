//! `check vclock`: the clock model, the causal-broadcast model and the broadcast runs, end
//! to end through the binary.

mod common;

use common::{check, stdout};

#[test]
fn the_clock_model_holds_exhaustively_with_its_pinned_count() {
    let o = check(&["vclock"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("coverage: exhausted"), "{out}");
    assert!(out.contains("869,040 unique"), "{out}");
}

#[test]
fn each_clock_variant_fails_with_a_shortest_trace_in_words() {
    for (bug, steps, words) in [
        ("receive-without-merge", 2, "without merging"),
        (
            "receive-without-increment",
            2,
            "without counting the receive",
        ),
        ("send-without-increment", 1, "without counting the send"),
        (
            "happens-before-allows-equal",
            1,
            "the clocks say Before, happens-before says Equal",
        ),
    ] {
        let o = check(&["vclock", "--bug", bug]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{bug}: {out}");
        let plural = if steps == 1 { "step" } else { "steps" };
        assert!(
            out.contains(&format!("{steps} {plural} (shortest, replayed)")),
            "{bug}: {out}"
        );
        assert!(out.contains(words), "{bug}: {out}");
    }
}

#[test]
fn the_causal_broadcast_model_holds_and_its_bug_is_caught() {
    let o = check(&["vclock", "--protocol", "causal"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("33,532 unique"), "{}", stdout(&o));
    let o = check(&[
        "vclock",
        "--protocol",
        "causal",
        "--bug",
        "deliver-on-receipt",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("4 steps (shortest, replayed)"), "{out}");
    assert!(out.contains("which precedes it"), "{out}");
}

#[test]
fn broadcast_runs_pass_when_correct_and_catch_deliver_on_receipt_on_the_pinned_seed() {
    for seed in ["1", "2", "3"] {
        let o = check(&["vclock", "--broadcast", "--seed", seed]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "seed {seed}: {out}");
        assert!(out.contains("crashed (stopped for good)"), "{out}");
    }
    let o = check(&[
        "vclock",
        "--broadcast",
        "--seed",
        "1",
        "--bug",
        "deliver-on-receipt",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("before m2.1, which precedes it (m2.1 -> m2.2)"),
        "{out}"
    );
    // Seed 2 does not reach the bug: exit 3, never 0.
    let o = check(&[
        "vclock",
        "--broadcast",
        "--seed",
        "2",
        "--bug",
        "deliver-on-receipt",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("not caught"), "{}", stdout(&o));
}

#[test]
fn the_broadcast_json_report_carries_the_verdict() {
    let o = check(&[
        "--format",
        "json",
        "vclock",
        "--broadcast",
        "--seed",
        "1",
        "--bug",
        "deliver-on-receipt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema"], "check-vclock-broadcast/1");
    assert_eq!(v["verdict"], "fails");
    assert!(!v["check"]["violations"].as_array().unwrap().is_empty());
}

#[test]
fn bad_broadcast_input_exits_2() {
    for args in [
        &["vclock", "--broadcast", "--nodes", "1"][..],
        &["vclock", "--broadcast", "--drop-percent", "95"][..],
        &["vclock", "--broadcast", "--bug", "nosuch"][..],
        &["vclock", "--processes", "9"][..],
    ] {
        assert_eq!(check(args).status.code(), Some(2), "{args:?}");
    }
}

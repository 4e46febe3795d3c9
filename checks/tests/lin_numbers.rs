//! One number rule for every history reader (issue 15, item 1): a value written and a
//! different value read is not linearizable in JSON Lines as in EDN, however the numbers
//! are written; equal doubles are one value in both.

mod common;

/// A register history: write `written`, then read `read`, as EDN and as JSON Lines.
fn histories(written: &str, read: &str) -> (String, String) {
    let edn = format!(
        "{{:process 0 :type :invoke :f :write :value {written}}}\n\
         {{:process 0 :type :ok :f :write :value {written}}}\n\
         {{:process 0 :type :invoke :f :read :value nil}}\n\
         {{:process 0 :type :ok :f :read :value {read}}}\n"
    );
    let jsonl = format!(
        "{{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": {written}}}\n\
         {{\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": {written}}}\n\
         {{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}}\n\
         {{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"value\": {read}}}\n"
    );
    (edn, jsonl)
}

fn verdicts(written: &str, read: &str) -> (Option<i32>, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    let (edn, jsonl) = histories(written, read);
    let e = dir.path().join("h.edn");
    let j = dir.path().join("h.jsonl");
    std::fs::write(&e, edn).unwrap();
    std::fs::write(&j, jsonl).unwrap();
    let run = |p: &std::path::Path| {
        common::check(&["lin", p.to_str().unwrap(), "--model", "register"])
            .status
            .code()
    };
    (run(&e), run(&j))
}

#[test]
fn issue_15_item_1_big_integers_and_floats_get_one_verdict_in_both_readers() {
    for (written, read) in [
        ("18446744073709551616", "18446744073709551617"),
        ("9223372036854775808", "9223372036854775809"),
        ("0.1", "0.2"),
        ("1.0", "1"),
    ] {
        assert_eq!(
            verdicts(written, read),
            (Some(1), Some(1)),
            "{written} vs {read}"
        );
    }
    for (written, read) in [
        ("18446744073709551616", "18446744073709551616"),
        ("1.0", "1.00"),
        ("1e2", "100.0"),
        ("0.3", "0.30000000000000001"),
    ] {
        assert_eq!(
            verdicts(written, read),
            (Some(0), Some(0)),
            "{written} vs {read}"
        );
    }
}

#[test]
fn issue_15_item_11_duplicate_keys_and_leading_zeros_are_errors_in_both_readers() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("dup.jsonl");
    std::fs::write(
        &j,
        "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1, \"value\": 2}\n",
    )
    .unwrap();
    let o = common::check(&["lin", j.to_str().unwrap(), "--model", "register"]);
    assert_eq!(o.status.code(), Some(2));
    let err = common::stderr(&o);
    assert!(
        err.contains("dup.jsonl:1") || err.contains("line 1"),
        "{err}"
    );
    assert!(err.contains("appears twice"), "{err}");

    let e = dir.path().join("zero.edn");
    std::fs::write(&e, "{:process 0 :type :invoke :f :write :value 010}\n").unwrap();
    let o = common::check(&["lin", e.to_str().unwrap(), "--model", "register"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("leading zero"),
        "{}",
        common::stderr(&o)
    );
}

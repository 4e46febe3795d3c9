//! `check raft --validate`: traces that `raft-node`'s runtime records in a simulated
//! cluster (turmoil: simulated network and disks, real trace files) validate against the
//! message-level model; the runtime bug `send-before-persist` and hand-damaged traces are
//! caught, each at its file and line.

use checks::exercises::raft::validate::{validate, Finding, Verdict};
use impls::raft::core::{Effect, Input, Message};
use impls::raft::node::trace::simulated::{record, Crash, Recording};
use impls::raft::node::trace::{Event, Record};
use impls::raft::node::RuntimeBug;
use std::path::{Path, PathBuf};

mod common;
use common::{check, json_run, stdout};

fn recorded(dir: &Path, crash: Crash, bug: Option<RuntimeBug>) -> Vec<PathBuf> {
    let mut r = Recording::new(dir);
    r.crash = crash;
    r.runtime_bug = bug;
    record(&r).expect("the simulated cluster runs")
}

fn records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write(path: &Path, records: &[Record]) {
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

fn args(paths: &[PathBuf]) -> Vec<String> {
    let mut a = vec!["raft".to_string(), "--validate".to_string()];
    a.extend(paths.iter().map(|p| p.display().to_string()));
    a
}

fn run_check(paths: &[PathBuf]) -> std::process::Output {
    let a = args(paths);
    check(&a.iter().map(String::as_str).collect::<Vec<_>>())
}

fn only_finding(v: &Verdict) -> &Finding {
    assert_eq!(v.findings.len(), 1, "{:#?}", v.findings);
    &v.findings[0]
}

#[test]
fn recordings_of_correct_runs_validate_with_and_without_crashes() {
    for crash in [Crash::None, Crash::One(1), Crash::All] {
        let dir = tempfile::tempdir().unwrap();
        let traces = recorded(dir.path(), crash, None);
        let v = validate(&traces).unwrap();
        assert!(v.agrees(), "{crash:?}: {:#?}", v.findings);
        for n in &v.nodes {
            assert!(n.steps > 5, "{crash:?}: {n:?}");
            assert!(n.receipts_matched > 0, "{crash:?}: {n:?}");
            assert_eq!(n.receipts_unchecked, 0);
        }
        let restarts: u64 = v.nodes.iter().map(|n| n.starts - 1).sum();
        let expected = match crash {
            Crash::None => 0,
            Crash::One(_) => 1,
            Crash::All => 3,
        };
        assert_eq!(restarts, expected, "{crash:?}");
    }
    // The command: exit 0, steps checked per node.
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::One(2), None);
    let o = run_check(&traces);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for i in 0..3 {
        assert!(out.contains(&format!("  n{i} (")), "{out}");
    }
    assert!(
        out.contains("steps and") && out.contains("agrees with the model"),
        "{out}"
    );
}

#[test]
fn send_before_persist_is_caught_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::None, Some(RuntimeBug::SendBeforePersist));
    let v = validate(&traces).unwrap();
    assert!(!v.agrees());
    let f = &v.findings[0];
    assert_eq!(f.rule, "DurableBeforeSend", "{f:#?}");
    assert!(f.at.starts_with(&f.file) && f.at.ends_with(&format!(":{}", f.line)));
    assert!(!f.step.is_empty() && !f.action.is_empty(), "{f:#?}");
    assert!(f.performed[0].starts_with("send "), "{f:#?}");
    assert!(f.model[0].starts_with("persist "), "{f:#?}");
    assert!(
        f.why.contains("before") && f.why.contains("was durable"),
        "{}",
        f.why
    );
    // The command: exit 1, in text and in JSON.
    let o = run_check(&traces);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("at {} (DurableBeforeSend)", f.at)),
        "{out}"
    );
    assert!(out.contains(&format!("  step ({}): ", f.action)), "{out}");
    let a = args(&traces);
    let (code, doc) = json_run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(1));
    assert_eq!(doc["agrees"], false);
    assert_eq!(doc["findings"][0]["rule"], "DurableBeforeSend");
    assert_eq!(doc["findings"][0]["line"], f.line as u64);
}

/// The index of the first step record, in any trace, that receives an AppendEntries
/// from a node: (trace, record index).
fn first_append_receipt(traces: &[PathBuf]) -> (usize, usize) {
    for (t, path) in traces.iter().enumerate() {
        for (i, r) in records(path).iter().enumerate() {
            if let Event::Step {
                input:
                    Input::Receive {
                        message: Message::AppendEntries { .. },
                        ..
                    },
                ..
            } = r.event
            {
                return (t, i);
            }
        }
    }
    panic!("no AppendEntries was received");
}

#[test]
fn a_message_never_sent_is_caught_at_its_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::None, None);
    let (t, i) = first_append_receipt(&traces);
    let mut rs = records(&traces[t]);
    if let Event::Step {
        input:
            Input::Receive {
                message: Message::AppendEntries { leader_commit, .. },
                ..
            },
        ..
    } = &mut rs[i].event
    {
        *leader_commit += 7;
    }
    write(&traces[t], &rs);
    let v = validate(&traces).unwrap();
    let f = only_finding(&v);
    assert_eq!(f.rule, "MessageSent", "{f:#?}");
    assert_eq!(f.at, format!("{}:{}", traces[t].display(), i + 1));
    assert_eq!(f.action, "Deliver");
    assert!(f.why.contains("never sent"), "{}", f.why);
}

#[test]
fn a_deleted_record_is_caught_where_the_sequence_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::None, None);
    let mut rs = records(&traces[0]);
    let i = rs
        .iter()
        .enumerate()
        .skip(rs.len() / 2)
        .find(|(_, r)| matches!(r.event, Event::Performed { .. }))
        .map(|(i, _)| i)
        .expect("a performed record in the second half");
    rs.remove(i);
    write(&traces[0], &rs);
    let v = validate(&traces).unwrap();
    let f = v
        .findings
        .iter()
        .find(|f| f.node == 0)
        .expect("n0 disagrees");
    assert_eq!(f.rule, "RecordSequence", "{f:#?}");
    assert_eq!(f.at, format!("{}:{}", traces[0].display(), i + 1));
    assert!(f.why.contains("missing"), "{}", f.why);
}

#[test]
fn a_malformed_line_is_an_input_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::None, None);
    let text = std::fs::read_to_string(&traces[1]).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"node\":1,\"seq\":2,\"event\":{\"step\":";
    std::fs::write(&traces[1], lines.join("\n") + "\n").unwrap();
    let e = validate(&traces).unwrap_err().to_string();
    assert!(e.contains(&format!("{}:3:", traces[1].display())), "{e}");
    let o = run_check(&traces);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(":3:"));
}

#[test]
fn a_torn_last_line_is_accepted_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::None, None);
    let text = std::fs::read_to_string(&traces[2]).unwrap();
    let lines = text.lines().count();
    std::fs::write(&traces[2], text + "{\"node\":2,\"seq\":99,\"ev").unwrap();
    let v = validate(&traces).unwrap();
    assert!(v.agrees(), "{:#?}", v.findings);
    assert_eq!(v.nodes[2].torn_last_line, Some(lines + 1));
    let o = run_check(&traces);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("torn last line"), "{}", stdout(&o));
}

#[test]
fn an_apply_before_commit_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::None, None);
    // Move an apply back to the node's previous performed record: the forged runtime
    // applied the entry one step before it learnt it was committed.
    for (t, path) in traces.iter().enumerate() {
        let mut rs = records(path);
        let performed: Vec<usize> = (0..rs.len())
            .filter(|&i| matches!(rs[i].event, Event::Performed { .. }))
            .collect();
        let Some(w) = performed.windows(2).find(|w| {
            matches!(&rs[w[1]].event, Event::Performed { actions }
                if actions.iter().any(|a| matches!(a, Effect::Apply { .. })))
        }) else {
            continue;
        };
        let (early, late) = (w[0], w[1]);
        let Event::Performed { actions } = &mut rs[late].event else {
            unreachable!()
        };
        let k = actions
            .iter()
            .position(|a| matches!(a, Effect::Apply { .. }))
            .unwrap();
        let apply = actions.remove(k);
        let Event::Performed { actions } = &mut rs[early].event else {
            unreachable!()
        };
        actions.push(apply);
        write(path, &rs);
        let v = validate(&traces).unwrap();
        let f = v.findings.iter().find(|f| f.node as usize == t).unwrap();
        assert_eq!(f.rule, "ApplyAfterCommit", "{f:#?}");
        assert_eq!(f.at, format!("{}:{}", path.display(), early + 1));
        assert!(f.why.contains("before it was committed"), "{}", f.why);
        return;
    }
    panic!("no node applied anything");
}

#[test]
fn a_restart_that_recovers_less_than_was_reported_durable_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::All, None);
    let mut rs = records(&traces[0]);
    let i = rs
        .iter()
        .rposition(|r| matches!(r.event, Event::Start { .. }))
        .unwrap();
    assert!(i > 0, "n0 restarted");
    let Event::Start { durable, .. } = &mut rs[i].event else {
        unreachable!()
    };
    // What a skipped fsync loses in a power loss: the last entry written.
    assert!(durable.entries.pop().is_some(), "{durable:?}");
    write(&traces[0], &rs);
    let v = validate(&traces).unwrap();
    let f = v.findings.iter().find(|f| f.node == 0).unwrap();
    assert_eq!(f.rule, "RecoveredDurable", "{f:#?}");
    assert_eq!(f.action, "Restart");
    assert_eq!(f.at, format!("{}:{}", traces[0].display(), i + 1));
}

#[test]
fn a_step_a_crash_cut_short_is_accepted_and_its_sends_may_have_left() {
    let dir = tempfile::tempdir().unwrap();
    let traces = recorded(dir.path(), Crash::One(1), None);
    let mut rs = records(&traces[1]);
    let restart = rs
        .iter()
        .rposition(|r| matches!(r.event, Event::Start { .. }))
        .unwrap();
    let last = (0..restart)
        .rev()
        .find(|&i| matches!(rs[i].event, Event::Performed { .. }))
        .unwrap();
    assert!(rs[last + 1..restart]
        .iter()
        .all(|r| matches!(r.event, Event::Ticks { .. })));
    // The crash lands after the step's effects, before its performed record (and the
    // idle ticks after it) were written.
    rs.drain(last..restart);
    write(&traces[1], &rs);
    let v = validate(&traces).unwrap();
    assert!(v.agrees(), "{:#?}", v.findings);
    assert_eq!(v.nodes[1].cut_steps, vec![last]);
    let o = run_check(&traces);
    assert!(stdout(&o).contains("cut by a crash"), "{}", stdout(&o));
}

#[test]
fn missing_empty_and_duplicate_traces_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.jsonl");
    let e = validate(std::slice::from_ref(&missing)).unwrap_err();
    assert!(e.to_string().contains("nothing.jsonl"), "{e}");
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let e = validate(std::slice::from_ref(&empty)).unwrap_err();
    assert!(e.to_string().contains("is empty"), "{e}");
    let o = run_check(&[empty]);
    assert_eq!(o.status.code(), Some(2));
    let traces = recorded(&dir.path().join("run"), Crash::None, None);
    let twice = [traces[0].clone(), traces[0].clone()];
    let e = validate(&twice).unwrap_err();
    assert!(e.to_string().contains("both traces of n0"), "{e}");
    // A trace that does not begin with its start record.
    let rs = records(&traces[1]);
    write(&traces[1], &rs[1..]);
    let e = validate(&traces).unwrap_err();
    assert!(e.to_string().contains(":1: a trace begins with"), "{e}");
}

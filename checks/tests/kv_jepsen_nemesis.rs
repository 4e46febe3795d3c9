//! The stronger nemesis of `check kv --jepsen`: power loss, pauses, and real partitions
//! in network namespaces.
//!
//! The headline: a store that acknowledges writes it never fsynced (`--bug skip-fsync`)
//! passes every run whose nemesis kills only a minority at a time, because the other
//! replicas of each write still hold it; a power loss of a majority or of every node
//! loses every copy at once, and the run catches it as a read that goes back in time.
//! Same seed, same schedule, opposite verdicts, so the test can fail both ways.

use std::process::{Command, Output, Stdio};

mod common;
use common::{check, stderr, stdout};

fn jepsen(extra: &[&str]) -> Output {
    let mut args = vec!["kv", "--jepsen"];
    args.extend_from_slice(extra);
    check(&args)
}

/// The pinned seed: on it, with a 5 s run, `skip-fsync` is caught with power loss and
/// not caught without it (seeds 1 to 12 all behave so; 1 is the first, not a pick).
const SEED: &str = "1";

fn run(seed: &str, nemesis: &str, bug: Option<&str>) -> Output {
    let mut args = vec!["--seconds", "5", "--seed", seed, "--nemesis", nemesis];
    if let Some(bug) = bug {
        args.extend(["--bug", bug]);
    }
    jepsen(&args)
}

#[test]
fn a_missing_fsync_is_caught_by_power_loss_and_the_correct_store_passes_the_same_run() {
    let caught = run(SEED, "power-loss", Some("skip-fsync"));
    let out = stdout(&caught);
    assert_eq!(caught.status.code(), Some(1), "{out}{}", stderr(&caught));
    assert!(out.contains("bug=skip-fsync"), "{out}");
    assert!(out.contains("result: not linearizable"), "{out}");
    assert!(out.contains(" s  power-loss n"), "{out}");

    let correct = run(SEED, "power-loss", None);
    let out = stdout(&correct);
    assert_eq!(correct.status.code(), Some(0), "{out}{}", stderr(&correct));
    assert!(out.contains("result: linearizable"), "{out}");
    assert!(out.contains("lost acknowledged writes: 0"), "{out}");
}

#[test]
fn without_power_loss_a_missing_fsync_goes_unnoticed_on_the_same_seed() {
    // Today's nemesis before power loss: a minority down at a time.
    for nemesis in ["partition,crash,restart", "crash", "restart"] {
        let o = run(SEED, nemesis, Some("skip-fsync"));
        let out = stdout(&o);
        // Nothing found: a bug run that misses proves nothing, so it is unknown, not a pass.
        assert_eq!(o.status.code(), Some(3), "{nemesis}: {out}{}", stderr(&o));
        assert!(out.contains("result: linearizable"), "{nemesis}: {out}");
        assert!(
            out.contains("bug skip-fsync not caught"),
            "{nemesis}: {out}"
        );
        assert!(!out.contains("power-loss"), "{nemesis}: {out}");
    }
}

#[test]
fn the_default_nemesis_cuts_the_power_and_pauses_and_the_correct_store_stays_linearizable() {
    for seed in 1..=8 {
        let seed = seed.to_string();
        let o = jepsen(&["--seconds", "5", "--seed", &seed]);
        let out = stdout(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "seed {seed}:\n{out}{}",
            stderr(&o)
        );
        assert!(
            out.contains("nemesis=partition,crash,restart,power-loss,pause"),
            "{out}"
        );
    }
    // Seed 4's schedule holds a whole-cluster power loss and a pause, each undone.
    let out = stdout(&jepsen(&["--seconds", "5", "--seed", "4"]));
    let applied = out.split("faults applied").nth(1).expect("applied faults");
    for fault in [
        " s  power-loss n1 n2 n3 n4 n5",
        " s  power-on n1 n2 n3 n4 n5",
        " s  pause n",
        " s  resume n",
    ] {
        assert!(applied.contains(fault), "no {fault:?} in:\n{out}");
    }
}

#[test]
fn skip_fsync_is_a_bug_name_of_check_kv_and_kv_node() {
    let o = jepsen(&["--bug", "no-such-bug"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("skip-fsync"), "{}", stderr(&o));
    let o = check(&["kv", "--node", "--id", "1", "--data", "d", "--bug", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("skip-fsync"), "{}", stderr(&o));
}

/// The namespaces whose names say process `pid` made them.
fn namespaces_of(pid: u32) -> Vec<String> {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return Vec::new();
    };
    let prefix = format!("chkj{pid}-");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// As root with `ip` and `nft` or `iptables`: real processes in namespaces of their own,
/// partitioned, paused and powered off, lose no acknowledged write, and the namespaces go
/// with the run. Elsewhere the run says why partitions were skipped, and still passes.
#[test]
fn real_processes_are_partitioned_in_namespaces_and_nothing_is_left_behind() {
    let child = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["kv", "--jepsen", "--real", "--seconds", "5", "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("lost acknowledged writes: 0"), "{out}");
    assert!(out.contains("final reads 5 ok"), "{out}");
    let applied = out.split("faults applied").nth(1).expect("applied faults");
    assert!(applied.contains(" s  power-loss n"), "{out}");
    assert!(applied.contains(" s  pause n"), "{out}");
    if out.contains("partitions skipped: ") {
        assert!(!applied.contains(" partition "), "{out}");
    } else {
        assert!(applied.contains(" s  partition n"), "{out}");
        assert!(applied.contains(" s  heal "), "{out}");
    }
    assert_eq!(namespaces_of(pid), Vec::<String>::new());
}

//! The Raft exercise: `check raft` runs [`models::raft`]; `check raft --spec vanlightly`
//! runs a faithful port of Jack Vanlightly's standard-raft TLA+ spec instead
//! ([`models::raft::vanlightly`]), whose state counts are compared with TLC's; and
//! `check raft --protocol messages` runs [`models::raft::messages`], every message of the
//! real node's core (`impls::raft::core`) over a lossy network with crashes.
//! `check bench raft` measures the Raft KV service beside etcd ([`bench`]).

pub mod bench;
pub mod jepsen;
pub mod validate;

use super::{Bound, Exercise, ExerciseModel, Mode, ModeKind, ModelChoice, Selection};
use crate::engine::Representative;
use models::raft::messages::{RaftMsgModel, RaftMsgState, VARIANTS as MESSAGE_VARIANTS};
use models::raft::vanlightly::{VanlightlyRaft, VanlightlyState};
use models::raft::{Bug, RaftModel, RaftState, VARIANTS};

/// `check raft`.
pub static EXERCISE: Exercise = Exercise {
    name: "raft",
    summary: "Raft's safety core: elections, log replication, commitment, restarts",
    bounds: &[
        Bound {
            flag: "servers",
            help: "number of servers",
            default: 3,
            min: 1,
            max: 5,
        },
        Bound {
            flag: "max-term",
            help: "no candidacy beyond this term (Figure 8 needs 4)",
            default: 4,
            min: 0,
            max: 15,
        },
        Bound {
            flag: "max-log",
            help: "no leader appends beyond this log length",
            default: 2,
            min: 0,
            max: 8,
        },
        Bound {
            flag: "max-elections",
            help: "MaxElections of --spec vanlightly: RequestVote steps per run",
            default: 1,
            min: 0,
            max: 4,
        },
        Bound {
            flag: "max-restarts",
            help: "MaxRestarts of --spec vanlightly: Restart steps per run",
            default: 0,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "values",
            help: "client values (Value = {v1, ...} of --spec vanlightly; values proposed by --protocol messages)",
            default: 1,
            min: 0,
            max: models::raft::vanlightly::MAX_VALUES as u64,
        },
        Bound {
            flag: "timeouts",
            help: "election timeouts per run of --protocol messages",
            default: 2,
            min: 0,
            max: 6,
        },
        Bound {
            flag: "heartbeats",
            help: "leader retransmissions per run of --protocol messages",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "crashes",
            help: "crashes (each followed by a restart) per run of --protocol messages",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "drops",
            help: "lost messages per run of --protocol messages",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "duplicates",
            help: "duplicated messages per run of --protocol messages",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "compactions",
            help: "log compactions per run of --protocol messages",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "events",
            help: "heartbeats, crashes, drops, duplicates and compactions together per run of --protocol messages",
            default: 1,
            min: 0,
            max: 6,
        },
    ],
    models: &[
        ModelChoice::of::<RaftModel>(
            "abstract",
            "elections and replication as atomic steps (after Vanlightly's and Ongaro's specs)",
        )
        .with_variants(&VARIANTS)
        .reading(&["servers", "max-term", "max-log"])
        .pinned(models::raft::PIN),
        ModelChoice::of::<VanlightlyRaft>(
            "vanlightly",
            "Vanlightly's standard-raft TLA+ spec (message bag, VIEW), ported faithfully",
        )
        .spec()
        .reading(&["servers", "max-elections", "max-restarts", "values"])
        .pinned(models::raft::vanlightly::PIN),
        ModelChoice::of::<RaftMsgModel>(
            "messages",
            "every message, loss, duplicate, crash and restart, running the node's own core (impls::raft::core)",
        )
        .protocol()
        .with_variants(&MESSAGE_VARIANTS)
        .reading(&[
            "servers",
            "max-term",
            "values",
            "timeouts",
            "heartbeats",
            "crashes",
            "drops",
            "duplicates",
            "compactions",
            "events",
        ])
        .with_defaults(&[("max-term", 2), ("values", 0)])
        .pinned(models::raft::messages::PIN),
    ],
    // What the message-level model needs to reach each bug beyond its default bounds
    // (`RaftMsgModel::for_bug`); the abstract model reads none of these flags.
    variant_bounds: &[("truncate-without-conflict", &[("values", 1)])],
    modes: &[
        Mode {
            name: "jepsen",
            kind: ModeKind::Flag,
            command: jepsen::command,
            run: jepsen::run,
        },
        Mode {
            name: "validate",
            kind: ModeKind::Flag,
            command: validate::command,
            run: validate::run,
        },
        Mode {
            name: "bench",
            kind: ModeKind::Bench,
            command: bench::command,
            run: bench::run,
        },
    ],
    ..Exercise::DEFAULT
};

impl ExerciseModel for RaftModel {
    fn build(sel: &Selection) -> RaftModel {
        RaftModel {
            servers: sel.bound("servers") as usize,
            max_term: sel.bound("max-term") as u8,
            max_log: sel.bound("max-log") as usize,
            bug: sel.bug_as(Bug::from_name),
        }
    }

    const SYMMETRY: Option<Representative<RaftModel>> = Some(RaftState::representative);
}

impl ExerciseModel for RaftMsgModel {
    fn build(sel: &Selection) -> RaftMsgModel {
        RaftMsgModel {
            servers: sel.bound("servers") as u8,
            max_term: sel.bound("max-term"),
            values: sel.bound("values") as u8,
            timeouts: sel.bound("timeouts") as u8,
            heartbeats: sel.bound("heartbeats") as u8,
            crashes: sel.bound("crashes") as u8,
            drops: sel.bound("drops") as u8,
            duplicates: sel.bound("duplicates") as u8,
            compactions: sel.bound("compactions") as u8,
            events: sel.bound("events") as u8,
            bug: sel.bug_as(models::raft::messages::bug_from_name),
            ..RaftMsgModel::default()
        }
    }

    const SYMMETRY: Option<Representative<RaftMsgModel>> = Some(RaftMsgState::representative);
}

impl ExerciseModel for VanlightlyRaft {
    fn build(sel: &Selection) -> VanlightlyRaft {
        VanlightlyRaft::new(
            sel.bound("servers") as usize,
            sel.bound("values") as usize,
            sel.bound("max-elections") as u8,
            sel.bound("max-restarts") as u8,
        )
    }

    const SYMMETRY: Option<Representative<VanlightlyRaft>> =
        Some(VanlightlyState::representative);
}

#[cfg(test)]
mod tests {
    use crate::args::{parse_from, Command};

    #[test]
    fn an_out_of_range_bound_is_a_usage_error() {
        let err = parse_from(["check", "raft", "--servers", "0"])
            .err()
            .expect("an error");
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--servers"), "{err}");
    }

    #[test]
    fn bounds_default_and_override() {
        let Ok(Command::Check { selection, .. }) = parse_from(["check", "raft", "--max-term", "3"])
        else {
            panic!("a check command")
        };
        assert_eq!(selection.bound("max-term"), 3);
        assert_eq!(selection.bound("servers"), 3);
    }

    #[test]
    fn the_vanlightly_spec_reads_its_own_bounds_and_defaults_to_tlcs_first_config() {
        let Ok(Command::Check { selection, .. }) =
            parse_from(["check", "raft", "--spec", "vanlightly", "--values", "2"])
        else {
            panic!("a check command")
        };
        assert_eq!(selection.spec(), Some("vanlightly"));
        let model = <models::raft::vanlightly::VanlightlyRaft as super::ExerciseModel>::build(
            &selection,
        );
        assert_eq!(
            model,
            models::raft::vanlightly::VanlightlyRaft::new(3, 2, 1, 0)
        );
        let label = selection.label(&super::EXERCISE);
        let shown: Vec<&str> = label.bounds.keys().map(String::as_str).collect();
        assert_eq!(
            shown,
            ["max-elections", "max-restarts", "servers", "values"]
        );
    }

    #[test]
    fn the_abstract_model_does_not_show_the_specs_bounds() {
        let Ok(Command::Check { selection, .. }) = parse_from(["check", "raft"]) else {
            panic!("a check command")
        };
        let label = selection.label(&super::EXERCISE);
        let shown: Vec<&str> = label.bounds.keys().map(String::as_str).collect();
        assert_eq!(shown, ["max-log", "max-term", "servers"]);
    }
}

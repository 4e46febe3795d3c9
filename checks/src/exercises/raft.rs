//! The Raft exercise: `check raft` runs [`models::raft`]; `check raft --spec vanlightly`
//! runs a faithful port of Jack Vanlightly's standard-raft TLA+ spec instead
//! ([`models::raft::vanlightly`]), whose state counts are compared with TLC's.

use super::{Bound, Exercise, ExerciseModel, ModelChoice, Selection};
use crate::engine::Representative;
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
            help: "client values (Value = {v1, ...}) of --spec vanlightly",
            default: 1,
            min: 1,
            max: models::raft::vanlightly::MAX_VALUES as u64,
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

//! The Raft exercise: `check raft` runs [`models::raft`].

use super::{Bound, Exercise, ExerciseModel, ModelChoice, Selection};
use crate::engine::Representative;
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
    ],
    models: &[ModelChoice::of::<RaftModel>(
        "abstract",
        "elections and replication as atomic steps (after Vanlightly's and Ongaro's specs)",
    )
    .with_variants(&VARIANTS)
    .pinned(models::raft::PIN)],
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
}

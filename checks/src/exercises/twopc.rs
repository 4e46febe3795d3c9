//! The two-phase commit exercise: `check twopc` runs the model of our design,
//! [`models::twopc::design`]; `check twopc --spec twophase --rms N` (or `tcommit`) runs a
//! faithful port of Lamport's TLA+ spec instead, whose state counts are compared with TLC's.

use super::{Bound, Exercise, ExerciseModel, Liveness, ModelChoice, Selection};
use models::twopc::design::{Bug, Termination, TwoPcModel, VARIANTS};
use models::twopc::tcommit::TCommit;
use models::twopc::twophase::TwoPhase;

/// `check twopc`.
pub static EXERCISE: Exercise = Exercise {
    name: "twopc",
    summary: "two-phase commit: durable coordinator log, prepare records, presumed-abort recovery, crashes, loss",
    bounds: &[
        Bound {
            flag: "participants",
            help: "participants (resource managers) in the transaction",
            default: 3,
            min: 1,
            max: 4,
        },
        Bound {
            flag: "crashes",
            help: "crashes of the coordinator or a participant per run",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "drops",
            help: "lost messages per run",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "rms",
            help: "resource managers of --spec twophase or tcommit",
            default: 3,
            min: 1,
            max: 16,
        },
    ],
    models: &[
        ModelChoice::of::<TwoPcModel>("design", "the model of our design")
            .with_variants(&VARIANTS)
            .reading(&["participants", "crashes", "drops"])
            .pinned(models::twopc::design::PIN),
        ModelChoice::of::<TwoPhase>(
            "twophase",
            "Lamport's TwoPhase TLA+ spec, ported faithfully",
        )
        .spec()
        .reading(&["rms"])
        .pinned(models::twopc::twophase::PIN),
        ModelChoice::of::<TCommit>("tcommit", "Lamport's TCommit TLA+ spec, ported faithfully")
            .spec()
            .reading(&["rms"])
            .pinned(models::twopc::tcommit::PIN),
    ],
    liveness: Some(LIVENESS),
    ..Exercise::DEFAULT
};

/// `check twopc --liveness`: 2PC's known blocking. One fault is allowed, the coordinator
/// crashing for good, and no message loss, so that the trace is the blocking and nothing
/// else (`--crashes` and `--drops` on the command line still win).
pub const LIVENESS: Liveness = Liveness {
    property: "EveryParticipantDecides",
    meaning: "2PC blocks: a participant that voted yes may not decide alone, so while its \
              coordinator stays down it never decides",
    bounds: &[("crashes", 1), ("drops", 0)],
};

impl ExerciseModel for TwoPcModel {
    fn build(sel: &Selection) -> TwoPcModel {
        TwoPcModel {
            participants: sel.bound("participants") as usize,
            crashes: sel.bound("crashes") as u8,
            drops: sel.bound("drops") as u8,
            bug: sel.bug_as(Bug::from_name),
            termination: if sel.liveness {
                Termination::CoordinatorMayStayDown
            } else {
                Termination::Off
            },
        }
    }
}

impl ExerciseModel for TwoPhase {
    fn build(sel: &Selection) -> TwoPhase {
        TwoPhase::new(sel.bound("rms") as usize)
    }
}

impl ExerciseModel for TCommit {
    fn build(sel: &Selection) -> TCommit {
        TCommit::new(sel.bound("rms") as usize)
    }
}

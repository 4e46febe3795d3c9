//! The vector-clock exercise: `check vclock` runs [`models::vclock`], processes keeping
//! clocks with the implementation's core (`impls::vclock::process`), against the true
//! happens-before relation.

use super::{Bound, Exercise, ExerciseModel, ModelChoice, Selection};
use models::vclock::{VclockModel, MAX_EVENTS, MAX_PROCESSES, VARIANTS};

/// `check vclock`.
pub static EXERCISE: Exercise = Exercise {
    name: "vclock",
    summary: "vector clocks against happens-before: local events, sends and receives over a reordering network",
    bounds: &[
        Bound {
            flag: "processes",
            help: "processes keeping clocks",
            default: 3,
            min: 2,
            max: MAX_PROCESSES as u64,
        },
        Bound {
            flag: "events",
            help: "events (local, send or receive) per process",
            default: 3,
            min: 1,
            max: MAX_EVENTS as u64,
        },
    ],
    models: &[ModelChoice::of::<VclockModel>("clocks", "processes keeping vector clocks")
        .with_variants(&VARIANTS)
        .pinned(models::vclock::PIN)],
    ..Exercise::DEFAULT
};

impl ExerciseModel for VclockModel {
    fn build(sel: &Selection) -> VclockModel {
        VclockModel {
            processes: sel.bound("processes") as u8,
            events: sel.bound("events") as u8,
            bug: sel.bug_as(VclockModel::bug_named),
        }
    }
}

//! The vector-clock exercise: `check vclock` runs [`models::vclock`], processes keeping
//! clocks with the implementation's core (`impls::vclock::process`), against the true
//! happens-before relation; `check vclock --protocol causal` the causal-broadcast layer's
//! model; `check vclock --broadcast` runs that layer over a lossy simulated network and
//! checks what it delivered.

mod broadcast;

use super::{Bound, Exercise, ExerciseModel, Mode, ModeKind, ModelChoice, Selection};
use models::vclock::causal::CausalModel;
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
        Bound {
            flag: "nodes",
            help: "nodes of --protocol causal",
            default: 3,
            min: 2,
            max: 4,
        },
        Bound {
            flag: "broadcasts",
            help: "broadcasts per node of --protocol causal",
            default: 1,
            min: 1,
            max: 2,
        },
    ],
    models: &[
        ModelChoice::of::<VclockModel>("clocks", "processes keeping vector clocks")
            .with_variants(&VARIANTS)
            .reading(&["processes", "events"])
            .pinned(models::vclock::PIN),
        ModelChoice::of::<CausalModel>(
            "causal",
            "causal broadcast: messages held back until their causal predecessors are delivered",
        )
        .protocol()
        .with_variants(&models::vclock::causal::VARIANTS)
        .reading(&["nodes", "broadcasts"])
        .pinned(models::vclock::causal::PIN),
    ],
    modes: &[Mode {
        name: "broadcast",
        kind: ModeKind::Flag,
        command: broadcast::command,
        run: broadcast::run,
    }],
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

impl ExerciseModel for CausalModel {
    fn build(sel: &Selection) -> CausalModel {
        CausalModel {
            nodes: sel.bound("nodes") as u8,
            broadcasts: sel.bound("broadcasts") as u8,
            bug: sel.bug_as(|name| {
                <impls::vclock::causal::Bug as impls::sansio::BugSwitches>::from_name(name)
            }),
        }
    }
}

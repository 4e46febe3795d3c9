//! The key-value store exercise: `check kv` runs [`models::kv`]; `check kv --jepsen`
//! runs the real store under faults instead ([`jepsen`]), and `check bench kv` measures
//! it ([`bench`]).

pub mod bench;
pub mod jepsen;

use super::{Bound, Exercise, ExerciseModel, Mode, ModeKind, ModelChoice, Selection};
use models::kv::{KvModel, VARIANTS};

/// `check kv`.
pub static EXERCISE: Exercise = Exercise {
    name: "kv",
    summary: "quorum-replicated key-value store: ABD reads and writes, read repair, hinted handoff, crashes",
    bounds: &[
        Bound {
            flag: "nodes",
            help: "storage nodes; the key's 3 replicas, plus one fallback with 4",
            default: 3,
            min: 3,
            max: 4,
        },
        Bound {
            flag: "clients",
            help: "clients, each coordinating its own requests",
            default: 2,
            min: 1,
            max: 3,
        },
        Bound {
            flag: "ops",
            help: "operations (put or get) per client",
            default: 1,
            min: 1,
            max: 3,
        },
        Bound {
            flag: "crashes",
            help: "node crashes per run",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "drops",
            help: "lost requests or replies per run",
            default: 1,
            min: 0,
            max: 3,
        },
        Bound {
            flag: "give-ups",
            help: "requests a client times out on per run",
            default: 1,
            min: 0,
            max: 3,
        },
    ],
    models: &[ModelChoice::of::<KvModel>("abd", "the ABD register per key over quorum replicas")
        .with_variants(&VARIANTS)
        .pinned(models::kv::PIN)],
    // The new-then-old inversion needs three operations with two reads; two clients with two
    // operations each and no faults (638,000 states) is the smallest space that holds it.
    variant_bounds: &[(
        "async-read-repair",
        &[("ops", 2), ("crashes", 0), ("drops", 0), ("give-ups", 0)],
    )],
    modes: &[
        Mode {
            name: "jepsen",
            kind: ModeKind::Flag,
            command: jepsen::command,
            run: jepsen::run,
        },
        Mode {
            name: "node",
            kind: ModeKind::Hidden,
            command: jepsen::real::node_command,
            run: jepsen::real::node_main,
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

impl ExerciseModel for KvModel {
    fn build(sel: &Selection) -> KvModel {
        KvModel {
            nodes: sel.bound("nodes") as usize,
            clients: sel.bound("clients") as usize,
            ops: sel.bound("ops") as usize,
            crashes: sel.bound("crashes") as u8,
            drops: sel.bound("drops") as u8,
            give_ups: sel.bound("give-ups") as u8,
            bug: sel.bug_as(models::kv::Bug::from_name),
        }
    }
}

//! The key-value store exercise: `check kv` runs [`models::kv`], and
//! `check kv --versioning dvv` its multi-value mode's model ([`models::kv::siblings`]);
//! `check kv --jepsen` runs the real store under faults instead ([`jepsen`]), and
//! `check bench kv` measures it ([`bench`]).

pub mod bench;
pub mod jepsen;

use super::{Bound, Exercise, ExerciseModel, Mode, ModeKind, ModelChoice, Selection};
use models::kv::siblings::SiblingsModel;
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
            flag: "total-ops",
            help: "operations of all clients together (--versioning dvv)",
            default: 3,
            min: 1,
            max: 9,
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
            help: "lost messages per run (requests or replies; requests only with --versioning dvv)",
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
    models: &[
        ModelChoice::of::<KvModel>("abd", "the ABD register per key over quorum replicas")
            .with_variants(&VARIANTS)
            .reading(&["nodes", "clients", "ops", "crashes", "drops", "give-ups"])
            .pinned(models::kv::PIN),
        ModelChoice::of::<SiblingsModel>(
            "dvv",
            "the multi-value mode: concurrent puts kept as siblings in DVV sets, checked for lost updates and false siblings",
        )
        .protocol()
        .with_variants(&models::kv::siblings::VARIANTS)
        .reading(&["clients", "ops", "total-ops", "drops", "give-ups"])
        .with_defaults(&[("ops", 2)])
        .pinned(models::kv::siblings::PIN),
    ],
    // The store's models are versioning schemes: `check kv --versioning dvv`.
    protocol_flag: "versioning",
    // The new-then-old inversion needs three operations with two reads; two clients with two
    // operations each and no faults (638,000 states) is the smallest space that holds it.
    //
    // Each multi-value variant needs fewer operations than the default's 2 clients with 2
    // each, and a shortest trace is found by iterative deepening, breadth-first: in the
    // smallest space that holds its bug, the search takes a second, not minutes.
    // lww-wall-clock: two clients' concurrent blind puts (16,000 states); client-id-clock:
    // one client's two blind puts (4,000); prune-clock: one client's put, get and put
    // (88,000).
    variant_bounds: &[
        (
            "async-read-repair",
            &[("ops", 2), ("crashes", 0), ("drops", 0), ("give-ups", 0)],
        ),
        ("lww-wall-clock", &[("clients", 2), ("ops", 1), ("total-ops", 2)]),
        ("client-id-clock", &[("clients", 1), ("ops", 2), ("total-ops", 2)]),
        ("prune-clock", &[("clients", 1), ("ops", 3), ("total-ops", 3)]),
    ],
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

impl ExerciseModel for SiblingsModel {
    fn build(sel: &Selection) -> SiblingsModel {
        SiblingsModel {
            clients: sel.bound("clients") as usize,
            ops: sel.bound("ops") as usize,
            total_ops: sel.bound("total-ops") as usize,
            drops: sel.bound("drops") as u8,
            give_ups: sel.bound("give-ups") as u8,
            bug: sel.bug_as(|name| {
                <impls::kv::siblings::Bug as impls::sansio::BugSwitches>::from_name(name)
            }),
        }
    }
}

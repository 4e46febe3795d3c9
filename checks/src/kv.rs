//! The key-value store exercise's registry row: `check kv` runs [`models::kv`]; `check kv
//! --jepsen` runs the real store under faults instead (see [`crate::jepsen`]).

use crate::explore::{self, RunLabel, RunOptions, Strategy};
use crate::registry::{Bound, Exercise, Selection};
use crate::report::RunReport;
use anyhow::Result;
use models::kv::{Bug, KvModel, VARIANTS};
use stateright::{Expectation, Model};
use std::net::SocketAddr;

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
    variants: &VARIANTS,
    // The new-then-old inversion needs three operations with two reads; two clients with two
    // operations each and no faults (638,000 states) is the smallest space that holds it.
    variant_bounds: &[(
        "async-read-repair",
        &[("ops", 2), ("crashes", 0), ("drops", 0), ("give-ups", 0)],
    )],
    specs: &[],
    protocols: &[],
    liveness: None,
    strategy: Strategy::Dfs,
    symmetry: false,
    properties,
    check,
    explore: serve,
};

/// Builds the model a selection describes.
pub fn model(sel: &Selection) -> KvModel {
    KvModel {
        nodes: sel.bound("nodes") as usize,
        clients: sel.bound("clients") as usize,
        ops: sel.bound("ops") as usize,
        crashes: sel.bound("crashes") as u8,
        drops: sel.bound("drops") as u8,
        give_ups: sel.bound("give-ups") as u8,
        bug: sel
            .bug
            .map(|name| Bug::from_name(name).expect("the selection holds a kv variant")),
    }
}

fn properties() -> Vec<(&'static str, Expectation)> {
    KvModel::default()
        .properties()
        .into_iter()
        .map(|p| (p.name, p.expectation))
        .collect()
}

fn check(sel: &Selection, opts: &RunOptions) -> Result<RunReport> {
    let label = RunLabel {
        exercise: EXERCISE.name.into(),
        bounds: sel.bounds.clone(),
        bug: sel.bug.map(str::to_string),
    };
    explore::check(model(sel), None, &label, opts)
}

fn serve(sel: &Selection, addr: SocketAddr, threads: usize) -> Result<()> {
    explore::serve(model(sel), addr, threads)
}

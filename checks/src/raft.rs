//! The Raft exercise's registry row: `check raft` runs [`models::raft`].

use crate::explore::{self, RunLabel, RunOptions, Strategy};
use crate::registry::{Bound, Exercise, Selection};
use crate::report::RunReport;
use anyhow::Result;
use models::raft::{Bug, RaftModel, RaftState, VARIANTS};
use stateright::{Expectation, Model};
use std::net::SocketAddr;

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
    variants: &VARIANTS,
    variant_bounds: &[],
    specs: &[],
    protocols: &[],
    liveness: None,
    strategy: Strategy::Dfs,
    symmetry: true,
    properties,
    check,
    explore: serve,
};

/// Builds the model a selection describes.
pub fn model(sel: &Selection) -> RaftModel {
    RaftModel {
        servers: sel.bound("servers") as usize,
        max_term: sel.bound("max-term") as u8,
        max_log: sel.bound("max-log") as usize,
        bug: sel
            .bug
            .map(|name| Bug::from_name(name).expect("the selection holds a raft variant")),
    }
}

fn properties() -> Vec<(&'static str, Expectation)> {
    RaftModel::default()
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
    explore::check(model(sel), Some(RaftState::representative), &label, opts)
}

fn serve(sel: &Selection, addr: SocketAddr, threads: usize) -> Result<()> {
    explore::serve(model(sel), addr, threads)
}

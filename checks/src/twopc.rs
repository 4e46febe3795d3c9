//! The two-phase commit exercise's registry row: `check twopc` runs the model of our design,
//! [`models::twopc::design`].

use crate::explore::{self, RunLabel, RunOptions};
use crate::registry::{Bound, Exercise, Selection};
use crate::report::RunReport;
use anyhow::Result;
use models::twopc::design::{Bug, TwoPcModel, VARIANTS};
use stateright::{Expectation, Model};
use std::net::SocketAddr;

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
    ],
    variants: &VARIANTS,
    variant_bounds: &[],
    symmetry: false,
    properties,
    check,
    explore: serve,
};

/// Builds the model a selection describes.
pub fn model(sel: &Selection) -> TwoPcModel {
    TwoPcModel {
        participants: sel.bound("participants") as usize,
        crashes: sel.bound("crashes") as u8,
        drops: sel.bound("drops") as u8,
        bug: sel
            .bug
            .map(|name| Bug::from_name(name).expect("the selection holds a twopc variant")),
    }
}

fn properties() -> Vec<(&'static str, Expectation)> {
    TwoPcModel::default()
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

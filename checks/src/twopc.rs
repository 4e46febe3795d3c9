//! The two-phase commit exercise's registry row: `check twopc` runs the model of our design,
//! [`models::twopc::design`]; `check twopc --spec twophase --rms N` (or `tcommit`) runs a
//! faithful port of Lamport's TLA+ spec instead, whose state counts are compared with TLC's.

use crate::explore::{self, RunLabel, RunOptions, Strategy};
use crate::registry::{Bound, Exercise, Liveness, Selection, Spec};
use crate::report::RunReport;
use anyhow::Result;
use models::twopc::design::{Bug, Termination, TwoPcModel, VARIANTS};
use models::twopc::tcommit::TCommit;
use models::twopc::twophase::TwoPhase;
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
        Bound {
            flag: "rms",
            help: "resource managers of --spec twophase or tcommit",
            default: 3,
            min: 1,
            max: 16,
        },
    ],
    variants: &VARIANTS,
    variant_bounds: &[],
    specs: &[
        Spec {
            name: "twophase",
            summary: "Lamport's TwoPhase TLA+ spec, ported faithfully",
        },
        Spec {
            name: "tcommit",
            summary: "Lamport's TCommit TLA+ spec, ported faithfully",
        },
    ],
    protocols: &[],
    liveness: Some(LIVENESS),
    strategy: Strategy::Dfs,
    symmetry: false,
    properties,
    check,
    explore: serve,
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

/// Builds the model a selection describes.
pub fn model(sel: &Selection) -> TwoPcModel {
    TwoPcModel {
        participants: sel.bound("participants") as usize,
        crashes: sel.bound("crashes") as u8,
        drops: sel.bound("drops") as u8,
        bug: sel
            .bug
            .map(|name| Bug::from_name(name).expect("the selection holds a twopc variant")),
        termination: if sel.liveness {
            Termination::CoordinatorMayStayDown
        } else {
            Termination::Off
        },
    }
}

fn properties() -> Vec<(&'static str, Expectation)> {
    TwoPcModel::default()
        .properties()
        .into_iter()
        .map(|p| (p.name, p.expectation))
        .collect()
}

/// The run's label: a spec run shows the spec and `--rms` only, a model run everything else.
fn label(sel: &Selection) -> RunLabel {
    let mut bounds = sel.bounds.clone();
    let exercise = match sel.spec {
        Some(spec) => {
            bounds.retain(|flag, _| flag == "rms");
            format!("{} --spec {spec}", EXERCISE.name)
        }
        None => {
            bounds.remove("rms");
            if sel.liveness {
                format!("{} --liveness", EXERCISE.name)
            } else {
                EXERCISE.name.to_string()
            }
        }
    };
    RunLabel {
        exercise,
        bounds,
        bug: sel.bug.map(str::to_string),
    }
}

fn check(sel: &Selection, opts: &RunOptions) -> Result<RunReport> {
    let rms = sel.bound("rms") as usize;
    match sel.spec {
        Some("twophase") => explore::check(TwoPhase::new(rms), None, &label(sel), opts),
        Some("tcommit") => explore::check(TCommit::new(rms), None, &label(sel), opts),
        _ if sel.liveness => {
            let mut report = explore::check(model(sel), None, &label(sel), opts)?;
            report.expect_violation(LIVENESS.property, LIVENESS.meaning);
            Ok(report)
        }
        _ => explore::check(model(sel), None, &label(sel), opts),
    }
}

fn serve(sel: &Selection, addr: SocketAddr, threads: usize) -> Result<()> {
    let rms = sel.bound("rms") as usize;
    match sel.spec {
        Some("twophase") => explore::serve(TwoPhase::new(rms), addr, threads),
        Some("tcommit") => explore::serve(TCommit::new(rms), addr, threads),
        _ => explore::serve(model(sel), addr, threads),
    }
}

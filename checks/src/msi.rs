//! The MSI cache-coherence exercise's registry row: `check msi` runs the atomic-bus
//! snooping model, [`models::msi::snooping`]; `check msi --protocol directory` runs the
//! primer's directory protocol with transient states, [`models::msi::directory`], whose
//! controllers are the concurrent simulator's own code.

use crate::explore::{self, RunLabel, RunOptions, Strategy};
use crate::registry::{Bound, Exercise, ProtocolChoice, Selection};
use crate::report::RunReport;
use anyhow::Result;
use models::msi::directory::DirModel;
use models::msi::snooping::SnoopModel;
use models::msi::{Bug, VARIANTS};
use stateright::{Expectation, Model};
use std::net::SocketAddr;

/// `check msi`.
pub static EXERCISE: Exercise = Exercise {
    name: "msi",
    summary: "MSI cache coherence: an atomic snooping bus, and a directory with transient \
              states over unordered networks",
    bounds: &[
        Bound {
            flag: "caches",
            // One cache has nobody to share with: no downgrade, no invalidation to reach.
            help: "caches (cores)",
            default: 3,
            min: 2,
            max: models::msi::snooping::MAX_CACHES as u64,
        },
        Bound {
            flag: "addresses",
            help: "memory addresses (cache lines)",
            default: 2,
            min: 1,
            max: models::msi::snooping::MAX_ADDRS as u64,
        },
        Bound {
            flag: "values",
            help: "distinct values a store may write",
            default: 2,
            min: 1,
            max: 4,
        },
    ],
    variants: &VARIANTS,
    variant_bounds: &[],
    specs: &[],
    protocols: &[
        ProtocolChoice {
            name: "snooping",
            summary: "MSI on an atomic bus: stable states only, every transaction one step",
            variants: &["no-invalidate", "no-writeback"],
            bounds: &[],
        },
        ProtocolChoice {
            name: "directory",
            summary: "the primer's directory MSI: transient states, Inv-Acks, forwarded \
                      requests, unordered networks",
            variants: &[
                "no-invalidate",
                "no-writeback",
                "early-write",
                "ack-inv-in-is-d",
                "unordered-forwards",
            ],
            // One address: the protocol keeps addresses independent, and two of them
            // multiply 459,248 states by themselves.
            bounds: &[("addresses", 1)],
        },
    ],
    liveness: None,
    strategy: Strategy::Bfs,
    symmetry: false,
    properties,
    check,
    explore: serve,
};

fn bug(sel: &Selection) -> Option<Bug> {
    sel.bug
        .map(|name| Bug::from_name(name).expect("the selection holds an msi variant"))
}

/// The snooping model a selection describes.
pub fn snooping(sel: &Selection) -> SnoopModel {
    SnoopModel {
        caches: sel.bound("caches") as usize,
        addrs: sel.bound("addresses") as usize,
        values: sel.bound("values") as u8,
        bug: bug(sel),
    }
}

/// The directory model a selection describes.
pub fn directory(sel: &Selection) -> DirModel {
    DirModel {
        caches: sel.bound("caches") as usize,
        addrs: sel.bound("addresses") as usize,
        values: sel.bound("values") as u8,
        bug: bug(sel),
    }
}

fn properties() -> Vec<(&'static str, Expectation)> {
    // Both protocols check the same properties, in the same order.
    SnoopModel::default()
        .properties()
        .into_iter()
        .map(|p| (p.name, p.expectation))
        .collect()
}

fn label(sel: &Selection) -> RunLabel {
    RunLabel {
        exercise: match sel.protocol {
            Some(p) => format!("{} --protocol {p}", EXERCISE.name),
            None => EXERCISE.name.to_string(),
        },
        bounds: sel.bounds.clone(),
        bug: sel.bug.map(str::to_string),
    }
}

fn check(sel: &Selection, opts: &RunOptions) -> Result<RunReport> {
    match sel.protocol {
        Some("directory") => explore::check(directory(sel), None, &label(sel), opts),
        _ => explore::check(snooping(sel), None, &label(sel), opts),
    }
}

fn serve(sel: &Selection, addr: SocketAddr, threads: usize) -> Result<()> {
    match sel.protocol {
        Some("directory") => explore::serve(directory(sel), addr, threads),
        _ => explore::serve(snooping(sel), addr, threads),
    }
}

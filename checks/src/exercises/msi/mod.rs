//! The MSI cache-coherence exercise: `check msi` runs the atomic-bus snooping model,
//! [`models::msi::snooping`]; `check msi --protocol directory` runs the primer's directory
//! protocol with transient states, [`models::msi::directory`], whose controllers are the
//! simulator's own code; `check msi --sim` runs that simulator ([`sim`]).

pub mod sim;

use super::{Bound, Exercise, ExerciseModel, Mode, ModeKind, ModelChoice, Selection};
use crate::engine::Strategy;
use models::msi::directory::DirModel;
use models::msi::snooping::SnoopModel;
use impls::msi::core::Bug;
use impls::sansio::BugSwitches;

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
    models: &[
        ModelChoice::of::<SnoopModel>(
            "snooping",
            "MSI on an atomic bus: stable states only, every transaction one step",
        )
        .protocol()
        .with_variants(&models::msi::snooping::VARIANTS)
        .pinned(models::msi::snooping::PIN),
        ModelChoice::of::<DirModel>(
            "directory",
            "the primer's directory MSI: transient states, Inv-Acks, forwarded \
             requests, unordered networks",
        )
        .protocol()
        .with_variants(&models::msi::directory::VARIANTS)
        // One address: the protocol keeps addresses independent, and two of them
        // multiply 459,248 states by themselves.
        .with_defaults(&[("addresses", 1)])
        .pinned(models::msi::directory::PIN),
    ],
    strategy: Strategy::Bfs,
    modes: &[Mode {
        name: "sim",
        kind: ModeKind::Flag,
        command: sim::command,
        run: sim::run,
    }],
    ..Exercise::DEFAULT
};

impl ExerciseModel for SnoopModel {
    fn build(sel: &Selection) -> SnoopModel {
        SnoopModel {
            caches: sel.bound("caches") as usize,
            addrs: sel.bound("addresses") as usize,
            values: sel.bound("values") as u8,
            bug: sel.bug_as(Bug::from_name),
        }
    }
}

impl ExerciseModel for DirModel {
    fn build(sel: &Selection) -> DirModel {
        // Both protocols read the same bounds.
        let SnoopModel {
            caches,
            addrs,
            values,
            bug,
        } = SnoopModel::build(sel);
        DirModel {
            caches,
            addrs,
            values,
            bug,
        }
    }
}

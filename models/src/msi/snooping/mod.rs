//! MSI on an atomic snooping bus: every bus transaction (a read miss, a write miss or
//! upgrade, a write-back) happens in one indivisible step, observed by every cache.
//!
//! ```text
//! VARIABLES line[c][a] \in {I, S, M}, value[c][a], memory[a], lastStored[a]
//! Load(c, a)     == hit in S or M; else BusRd: an M owner writes back and drops to S,
//!                   c gets S with the value
//! Store(c, a, v) == hit in M; else BusUpgr (from S) or BusRdX (from I): every other copy
//!                   is invalidated (an M owner hands its data over), c gets M and writes v
//! Evict(c, a)    == S -> I; M -> I after writing the value back to memory
//! ```
//!
//! Values are small (`--values`), and a store may write any of them, so the state space is
//! finite without bounding the number of operations.
//!
//! # Witnesses
//!
//! The safety properties (SWMR, DataValue, NoDeadlock: see [`super`]) are only as strong as
//! the behaviours the bounds reach. Each `sometimes` property below must be reached, so a
//! change that makes the model lose the behaviour fails `check`:
//!
//! | witness | behaviour | safety property that depends on it |
//! |---|---|---|
//! | `ModifiedReached` | a cache holds a line in M | SWMR (the single writer) |
//! | `DowngradeMToS` | a read miss downgrades the owner from M to S, which writes back | SWMR, DataValue (the reader gets the owner's data) |
//! | `UpgradeInvalidatesSharers` | a store in S (BusUpgr) invalidates the other sharers | SWMR |
//! | `WriteMissInvalidates` | a store in I (BusRdX) invalidates another cache's S or M copy | SWMR, DataValue (the owner hands its data over) |
//! | `ManySharers` | two or more caches share a line in S | SWMR (many readers are allowed) |
//! | `DirtyDataReachesMemory` | memory holds a stored value, put there by a write-back | DataValue (a later miss reads memory) |

pub(crate) mod words;

#[cfg(test)]
mod tests;

use super::{variants, Stable};
use crate::Variant;
use impls::msi::core::Bug;
use stateright::{Model, Property};

/// The bugs the atomic bus can be built with, in `check list` order. The others need
/// Inv-Acks, transient states or forwarded requests, which the bus has none of.
pub const BUGS: [Bug; 2] = [Bug::NoInvalidate, Bug::NoWriteback];

/// The variants `check msi --protocol snooping` takes: [`BUGS`] with what each breaks.
pub const VARIANTS: [Variant; 2] = variants(&BUGS);

/// What `check all` and this crate's tests hold [`SnoopModel::default`] to. Changes only
/// with the bus model's actions or state: 3,136 before the history flag that the
/// `WriteMissInvalidates` witness reads, which doubles it.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(6_272);

/// The most caches a state holds.
pub const MAX_CACHES: usize = 4;
/// The most addresses a state holds.
pub const MAX_ADDRS: usize = 2;

/// One cache's copy of one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Line {
    /// Its coherence state.
    pub state: Stable,
    /// The value held; meaningful only in S and M (kept 0 in I so that states compare).
    pub value: u8,
}

/// A load that returned something other than the last value stored (history variable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaleLoad {
    /// The loading cache.
    pub cache: usize,
    /// The address.
    pub addr: usize,
    /// What the load returned.
    pub got: u8,
    /// The last value stored to the address.
    pub expected: u8,
}

/// History variables for the properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// The last value stored to each address.
    pub last_stored: [u8; MAX_ADDRS],
    /// The first stale load, if any.
    pub stale_load: Option<StaleLoad>,
    /// A line in M was downgraded to S by another cache's read.
    pub downgraded: bool,
    /// A cache upgraded S to M and invalidated at least one other sharer.
    pub upgraded_over_sharers: bool,
    /// A store that missed (the line was I) invalidated another cache's copy, S or M.
    /// Only the snooping model sets it: the directory shows the same behaviour in its
    /// state (an Inv or a Fwd-GetM in flight).
    pub write_miss_invalidated: bool,
}

/// One state of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SnoopState {
    /// `lines[c][a]`: cache `c`'s copy of address `a`.
    pub lines: [[Line; MAX_ADDRS]; MAX_CACHES],
    /// Main memory.
    pub memory: [u8; MAX_ADDRS],
    /// History variables.
    pub ghost: Ghost,
}

/// The model's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum SnoopAction {
    /// Cache `c` loads address `a`.
    Load(usize, usize),
    /// Cache `c` stores value `v` to address `a`.
    Store(usize, usize, u8),
    /// Cache `c` evicts its copy of address `a`.
    Evict(usize, usize),
}

/// The model and its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnoopModel {
    /// Caches, 1..=[`MAX_CACHES`].
    pub caches: usize,
    /// Addresses, 1..=[`MAX_ADDRS`].
    pub addrs: usize,
    /// Distinct values a store may write (0..values), at least 1.
    pub values: u8,
    /// The bug variant, or `None` for the correct protocol.
    pub bug: Option<Bug>,
}

impl Default for SnoopModel {
    /// `check msi`'s default bounds: 3 caches, 2 addresses, 2 values.
    fn default() -> Self {
        SnoopModel {
            caches: 3,
            addrs: 2,
            values: 2,
            bug: None,
        }
    }
}

const INVALID: Line = Line {
    state: Stable::I,
    value: 0,
};

impl SnoopModel {
    /// Caches other than `c` that hold address `a` in `state`.
    fn others(&self, s: &SnoopState, c: usize, a: usize, state: Stable) -> Vec<usize> {
        (0..self.caches)
            .filter(|&o| o != c && s.lines[o][a].state == state)
            .collect()
    }

    /// The owner of `a`, if some cache other than `c` holds it in M, writes it back (unless
    /// the bug drops it) and leaves it in `then`.
    fn take_from_owner(&self, n: &mut SnoopState, c: usize, a: usize, then: Stable) -> Option<u8> {
        let owner = self.others(n, c, a, Stable::M).first().copied()?;
        let value = n.lines[owner][a].value;
        if then == Stable::S {
            if self.bug != Some(Bug::NoWriteback) {
                n.memory[a] = value;
            }
            n.lines[owner][a].state = Stable::S;
            n.ghost.downgraded = true;
        } else {
            n.lines[owner][a] = INVALID;
        }
        Some(value)
    }

    fn load_returns(n: &mut SnoopState, c: usize, a: usize, got: u8) {
        let expected = n.ghost.last_stored[a];
        if got != expected && n.ghost.stale_load.is_none() {
            n.ghost.stale_load = Some(StaleLoad {
                cache: c,
                addr: a,
                got,
                expected,
            });
        }
    }
}

impl Model for SnoopModel {
    type State = SnoopState;
    type Action = SnoopAction;

    fn init_states(&self) -> Vec<SnoopState> {
        vec![SnoopState {
            lines: [[INVALID; MAX_ADDRS]; MAX_CACHES],
            memory: [0; MAX_ADDRS],
            ghost: Ghost::default(),
        }]
    }

    fn actions(&self, s: &SnoopState, actions: &mut Vec<SnoopAction>) {
        for c in 0..self.caches {
            for a in 0..self.addrs {
                actions.push(SnoopAction::Load(c, a));
                for v in 0..self.values {
                    actions.push(SnoopAction::Store(c, a, v));
                }
                if s.lines[c][a].state != Stable::I {
                    actions.push(SnoopAction::Evict(c, a));
                }
            }
        }
    }

    fn next_state(&self, s: &SnoopState, action: SnoopAction) -> Option<SnoopState> {
        let mut n = *s;
        match action {
            SnoopAction::Load(c, a) => {
                let got = match s.lines[c][a].state {
                    Stable::S | Stable::M => s.lines[c][a].value,
                    Stable::I => {
                        // BusRd: the owner, if any, supplies the data; memory otherwise.
                        let value = self
                            .take_from_owner(&mut n, c, a, Stable::S)
                            .unwrap_or(s.memory[a]);
                        n.lines[c][a] = Line {
                            state: Stable::S,
                            value,
                        };
                        value
                    }
                };
                Self::load_returns(&mut n, c, a, got);
            }
            SnoopAction::Store(c, a, v) => {
                let was = s.lines[c][a].state;
                if was != Stable::M {
                    // BusUpgr from S, BusRdX from I: every other copy goes.
                    let owner = self.take_from_owner(&mut n, c, a, Stable::I);
                    let sharers = self.others(&n, c, a, Stable::S);
                    if self.bug != Some(Bug::NoInvalidate) {
                        for &o in &sharers {
                            n.lines[o][a] = INVALID;
                        }
                        if was == Stable::S && !sharers.is_empty() {
                            n.ghost.upgraded_over_sharers = true;
                        }
                        if was == Stable::I && (owner.is_some() || !sharers.is_empty()) {
                            n.ghost.write_miss_invalidated = true;
                        }
                    }
                }
                n.lines[c][a] = Line {
                    state: Stable::M,
                    value: v,
                };
                n.ghost.last_stored[a] = v;
            }
            SnoopAction::Evict(c, a) => {
                if s.lines[c][a].state == Stable::M && self.bug != Some(Bug::NoWriteback) {
                    n.memory[a] = s.lines[c][a].value;
                }
                n.lines[c][a] = INVALID;
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("SWMR", |m: &SnoopModel, s: &SnoopState| {
                m.swmr_violation(s).is_none()
            }),
            Property::always("DataValue", |_: &SnoopModel, s: &SnoopState| {
                s.ghost.stale_load.is_none()
            }),
            Property::always("NoDeadlock", |m: &SnoopModel, s: &SnoopState| {
                // Every state of the atomic bus has a load enabled; kept so that both MSI
                // models check the same three invariants.
                !m.next_states(s).is_empty()
            }),
            Property::sometimes("ModifiedReached", |m: &SnoopModel, s: &SnoopState| {
                (0..m.caches).any(|c| (0..m.addrs).any(|a| s.lines[c][a].state == Stable::M))
            }),
            Property::sometimes("DowngradeMToS", |_: &SnoopModel, s: &SnoopState| {
                s.ghost.downgraded
            }),
            Property::sometimes(
                "UpgradeInvalidatesSharers",
                |_: &SnoopModel, s: &SnoopState| s.ghost.upgraded_over_sharers,
            ),
            Property::sometimes("WriteMissInvalidates", |_: &SnoopModel, s: &SnoopState| {
                s.ghost.write_miss_invalidated
            }),
            Property::sometimes("ManySharers", |m: &SnoopModel, s: &SnoopState| {
                m.many_sharers(s).is_some()
            }),
            Property::sometimes(
                "DirtyDataReachesMemory",
                |m: &SnoopModel, s: &SnoopState| m.written_back(s).is_some(),
            ),
        ]
    }
}

impl SnoopModel {
    /// The first address that two or more caches share in S: (address, sharers).
    pub fn many_sharers(&self, s: &SnoopState) -> Option<(usize, Vec<usize>)> {
        (0..self.addrs).find_map(|a| {
            let sharers: Vec<usize> = (0..self.caches)
                .filter(|&c| s.lines[c][a].state == Stable::S)
                .collect();
            (sharers.len() > 1).then_some((a, sharers))
        })
    }

    /// The first address whose memory holds a stored value: (address, value). Memory
    /// starts at 0 and only a write-back (an eviction from M, or an owner downgraded by a
    /// read) changes it, so a non-zero value there was written back.
    pub fn written_back(&self, s: &SnoopState) -> Option<(usize, u8)> {
        (0..self.addrs).find_map(|a| (s.memory[a] != 0).then_some((a, s.memory[a])))
    }

    /// The first address whose copies break SWMR, with the caches holding it in M and in S.
    pub fn swmr_violation(&self, s: &SnoopState) -> Option<(usize, Vec<usize>, Vec<usize>)> {
        (0..self.addrs).find_map(|a| {
            let holding = |state| -> Vec<usize> {
                (0..self.caches)
                    .filter(|&c| s.lines[c][a].state == state)
                    .collect()
            };
            let (m, sh) = (holding(Stable::M), holding(Stable::S));
            (m.len() > 1 || (m.len() == 1 && !sh.is_empty())).then_some((a, m, sh))
        })
    }
}

//! Directory MSI with non-atomic transactions, after Sorin, Hill and Wood, *A Primer on
//! Memory Consistency and Cache Coherence*, chapter 8.
//!
//! The caches and the directory are the controllers of [`impls::msi::core`], stepped
//! through [`Core::step`] exactly as the simulator steps them; this model adds the
//! processors, the networks and the properties. A state holds only the lines; each action
//! wraps the line it touches in its controller, steps it, and stores the line back.
//!
//! Networks, as the primer's baseline protocol has them: requests (to the directory) and
//! responses (data, Inv-Acks, write-backs) travel on unordered networks, where any message
//! in flight may be delivered next. Forwarded requests (Fwd-GetS, Fwd-GetM, Inv and
//! Put-Ack, from the directory to a cache) travel on a point-to-point ordered network: a
//! FIFO per cache, of which only the head can be delivered. The protocol needs that order;
//! without it a Put-Ack overtakes a Fwd-GetS, and the checker shows the deadlock
//! (`--bug unordered-forwards`). A message a controller cannot take in its current state
//! stays where it is (a stall) until it can; a stalled head blocks its FIFO.
//!
//! ```text
//! VARIABLES cache[c][a], dir[a], net (a multiset of messages), lastStored[a]
//! Cpu(c, a, op)    == cache c's controller on a takes Cpu(op) (does not stall): step it,
//!                     send its messages
//! Deliver(a, m)    == m \in net, its receiver's controller takes it: remove m, step it,
//!                     send its messages
//! Quiescent        == net = {} /\ every line stable /\ no directory entry in S^D
//! ```
//!
//! # Witnesses
//!
//! The safety properties (SWMR, DataValue, NoDeadlock: see [`super`]) are only as strong as
//! the behaviours the bounds reach. Each `sometimes` property below must be reached, so a
//! change that makes the model lose the behaviour fails `check`. All are predicates on the
//! state except the three shared with the snooping model, which read its history variables.
//!
//! | witness | behaviour | safety property that depends on it |
//! |---|---|---|
//! | `ModifiedReached` | a cache holds a line in M | SWMR (the single writer) |
//! | `DowngradeMToS` | an owner takes a Fwd-GetS and drops from M to S | SWMR, DataValue (the reader and memory get the owner's data) |
//! | `UpgradeInvalidatesSharers` | a store in S reaches M after invalidating other sharers | SWMR (Inv-Acks counted before writing) |
//! | `ManySharers` | two or more caches share a line in S | SWMR (many readers are allowed) |
//! | `OwnershipForwarded` | the directory forwards a GetM to the owner (Fwd-GetM) | SWMR, DataValue (the owner invalidates and hands its data over) |
//! | `AcksOvertakeData` | an Inv-Ack reaches a requester before the data (acks below 0) | SWMR (the unordered response network) |
//! | `InvalidatedWhileEvicting` | an Inv or Fwd-GetM reaches a cache waiting for its Put-Ack (II^A) | SWMR, NoDeadlock (the directory acknowledges the stale Put) |
//! | `DirtyDataReachesMemory` | memory holds a stored value, put there by an owner's data | DataValue (a later miss reads memory) |

mod words;

#[cfg(test)]
mod tests;

use super::snooping::{Ghost, StaleLoad, MAX_ADDRS, MAX_CACHES};
use crate::Variant;
use impls::msi::core::{
    Bug, Bugs, CacheController, CacheEffect, CacheInput, CacheLine, CacheState, Completed, CpuOp,
    DirController, DirEffect, DirLine, DirState, Envelope, Msg, Node,
};
use impls::sansio::Core;
use stateright::{Model, Property};

/// The bugs the directory protocol can be built with, in `check list` order: every one
/// of the core's.
pub const BUGS: [Bug; 5] = [
    Bug::NoInvalidate,
    Bug::NoWriteback,
    Bug::EarlyWrite,
    Bug::AckInvInIsD,
    Bug::UnorderedForwards,
];

/// What `check all` and this crate's tests hold [`DirModel::default`] (one address) to.
/// Changes only with the directory core (`impls::msi`) or the model's network.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(459_248);

/// The variants `check msi --protocol directory` takes: [`BUGS`] with what each breaks.
pub const VARIANTS: [Variant; 5] = super::variants(&BUGS);

/// One state of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirModelState {
    /// `caches[c][a]`: cache `c`'s line for address `a`.
    pub caches: [[CacheLine; MAX_ADDRS]; MAX_CACHES],
    /// The directory entry (and memory) of each address.
    pub dirs: [DirLine; MAX_ADDRS],
    /// Requests and responses in flight, as (address, message), sorted: a multiset.
    pub net: Vec<(u8, Envelope)>,
    /// `forwards[c][a]`: the forwarded requests to cache `c` about address `a`, oldest
    /// first.
    pub forwards: [[Vec<Msg>; MAX_ADDRS]; MAX_CACHES],
    /// History variables.
    pub ghost: Ghost,
}

/// The model's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum DirAction {
    /// Processor `c` issues an operation on address `a`.
    Cpu(usize, usize, CpuOp),
    /// The network delivers a message about address `a`.
    Deliver(usize, Envelope),
}

/// The model and its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirModel {
    /// Caches, 1..=[`MAX_CACHES`].
    pub caches: usize,
    /// Addresses, 1..=[`MAX_ADDRS`].
    pub addrs: usize,
    /// Distinct values a store may write (0..values), at least 1.
    pub values: u8,
    /// The bug variant, or `None` for the correct protocol.
    pub bug: Option<Bug>,
}

impl Default for DirModel {
    /// `check msi --protocol directory`'s default bounds: 3 caches, 1 address, 2 values.
    fn default() -> Self {
        DirModel {
            caches: 3,
            addrs: 1,
            values: 2,
            bug: None,
        }
    }
}

/// Whether `env` is a forwarded request: from the directory to a cache, other than data.
pub fn is_forward(env: &Envelope) -> bool {
    env.from == Node::Dir
        && matches!(
            env.msg,
            Msg::FwdGetS(_) | Msg::FwdGetM(_) | Msg::Inv(_) | Msg::PutAck
        )
}

/// What one step of a controller asks for, before it is applied to a state.
struct Applied {
    sends: Vec<Envelope>,
    completed: Option<Completed>,
}

impl Applied {
    /// A cache controller's effects; `None` if it stalled.
    fn cache(effects: Vec<CacheEffect>) -> Option<Applied> {
        let mut applied = Applied {
            sends: Vec::new(),
            completed: None,
        };
        for effect in effects {
            match effect {
                CacheEffect::Send(env) => applied.sends.push(env),
                CacheEffect::Completed(c) => applied.completed = Some(c),
                CacheEffect::Stalled => return None,
            }
        }
        Some(applied)
    }

    /// The directory controller's effects; `None` if it stalled.
    fn dir(effects: Vec<DirEffect>) -> Option<Applied> {
        let sends = effects
            .into_iter()
            .map(|effect| match effect {
                DirEffect::Send(env) => Some(env),
                DirEffect::Stalled => None,
            })
            .collect::<Option<Vec<Envelope>>>()?;
        Some(Applied {
            sends,
            completed: None,
        })
    }
}

impl DirModel {
    /// The bug switches for this model's variant.
    pub fn bugs(&self) -> Bugs {
        Bugs::from(self.bug)
    }

    /// Cache `c`'s controller for address `a` in state `s`.
    pub fn cache(&self, s: &DirModelState, c: usize, a: usize) -> CacheController {
        CacheController::new(c as u8, s.caches[c][a], self.bugs())
    }

    /// The directory's controller for address `a` in state `s`.
    pub fn dir(&self, s: &DirModelState, a: usize) -> DirController {
        DirController::new(s.dirs[a], self.bugs())
    }

    /// Whether `env` travels on the ordered forwarded-request network.
    fn ordered(&self, env: &Envelope) -> bool {
        is_forward(env) && self.bug != Some(Bug::UnorderedForwards)
    }

    /// The messages that could be delivered next: every distinct message of the unordered
    /// networks, and the head of every forwarded-request FIFO.
    pub fn deliverable(&self, s: &DirModelState) -> Vec<(usize, Envelope)> {
        let mut out: Vec<(usize, Envelope)> = Vec::new();
        for &(a, env) in &s.net {
            if out.last() != Some(&(a as usize, env)) {
                out.push((a as usize, env));
            }
        }
        for c in 0..self.caches {
            for a in 0..self.addrs {
                if let Some(&msg) = s.forwards[c][a].first() {
                    out.push((
                        a,
                        Envelope {
                            to: Node::Cache(c as u8),
                            from: Node::Dir,
                            msg,
                        },
                    ));
                }
            }
        }
        out
    }

    fn ops(&self) -> Vec<CpuOp> {
        let mut ops = vec![CpuOp::Load];
        ops.extend((0..self.values).map(CpuOp::Store));
        ops.push(CpuOp::Evict);
        ops
    }

    /// Whether nothing is in flight: no message, no transient line, no directory waiting.
    pub fn quiescent(&self, s: &DirModelState) -> bool {
        s.net.is_empty()
            && s.forwards.iter().flatten().all(Vec::is_empty)
            && (0..self.caches).all(|c| (0..self.addrs).all(|a| s.caches[c][a].state.is_stable()))
            && (0..self.addrs).all(|a| s.dirs[a].state != DirState::SD)
    }

    /// The first address whose lines break SWMR: (address, caches in M, other caches that
    /// may read it).
    pub fn swmr_violation(&self, s: &DirModelState) -> Option<(usize, Vec<usize>, Vec<usize>)> {
        (0..self.addrs).find_map(|a| {
            let writers: Vec<usize> = (0..self.caches)
                .filter(|&c| s.caches[c][a].state == CacheState::M)
                .collect();
            let readers: Vec<usize> = (0..self.caches)
                .filter(|&c| {
                    let st = s.caches[c][a].state;
                    st.readable() && st != CacheState::M
                })
                .collect();
            (writers.len() > 1 || (writers.len() == 1 && !readers.is_empty()))
                .then_some((a, writers, readers))
        })
    }

    /// The first address that two or more caches share in S: (address, sharers).
    pub fn many_sharers(&self, s: &DirModelState) -> Option<(usize, Vec<usize>)> {
        (0..self.addrs).find_map(|a| {
            let sharers: Vec<usize> = (0..self.caches)
                .filter(|&c| s.caches[c][a].state == CacheState::S)
                .collect();
            (sharers.len() > 1).then_some((a, sharers))
        })
    }

    /// A Fwd-GetM on its way to an owner, on the ordered network or (under
    /// `unordered-forwards`) the unordered one: (address, owner, requester).
    pub fn ownership_forwarded(&self, s: &DirModelState) -> Option<(usize, usize, u8)> {
        let queued = (0..self.caches).find_map(|c| {
            (0..self.addrs).find_map(|a| {
                s.forwards[c][a].iter().find_map(|m| match m {
                    Msg::FwdGetM(req) => Some((a, c, *req)),
                    _ => None,
                })
            })
        });
        queued.or_else(|| {
            s.net.iter().find_map(|(a, e)| match (e.to, e.msg) {
                (Node::Cache(c), Msg::FwdGetM(req)) => Some((*a as usize, c as usize, req)),
                _ => None,
            })
        })
    }

    /// A requester that has counted more Inv-Acks than it knows to expect: an Inv-Ack
    /// overtook the data that says how many to wait for. (cache, address, acks).
    pub fn acks_before_data(&self, s: &DirModelState) -> Option<(usize, usize, i8)> {
        (0..self.caches).find_map(|c| {
            (0..self.addrs).find_map(|a| {
                let line = s.caches[c][a];
                (line.acks < 0).then_some((c, a, line.acks))
            })
        })
    }

    /// A cache invalidated while it waited for the Put-Ack of its replacement (II^A):
    /// (cache, address). The directory resolves the race by acknowledging the stale Put.
    pub fn invalidated_while_evicting(&self, s: &DirModelState) -> Option<(usize, usize)> {
        (0..self.caches).find_map(|c| {
            (0..self.addrs)
                .find_map(|a| (s.caches[c][a].state == CacheState::IiA).then_some((c, a)))
        })
    }

    /// The first address whose memory holds a stored value: (address, value). Memory
    /// starts at 0 and only an owner's data (a Put-M or the write-back after a Fwd-GetS)
    /// changes it.
    pub fn written_back(&self, s: &DirModelState) -> Option<(usize, u8)> {
        (0..self.addrs).find_map(|a| (s.dirs[a].memory != 0).then_some((a, s.dirs[a].memory)))
    }

    /// Steps the controller `action` touches: the state with its line stored back and the
    /// message removed from the network, and what the controller asked for. `None` if the
    /// controller stalls, or the message is not deliverable.
    fn apply(&self, s: &DirModelState, action: DirAction) -> Option<(DirModelState, Applied)> {
        let mut n = s.clone();
        let applied = match action {
            DirAction::Cpu(c, a, op) => {
                let mut cache = self.cache(s, c, a);
                let applied = Applied::cache(cache.step(CacheInput::Cpu(op)))?;
                n.caches[c][a] = cache.line;
                applied
            }
            DirAction::Deliver(a, env) => {
                let queue = match env.to {
                    Node::Cache(c) if self.ordered(&env) => Some(c as usize),
                    _ => None,
                };
                let position = match queue {
                    Some(c) => (s.forwards[c][a].first() == Some(&env.msg)).then_some(0)?,
                    None => s.net.iter().position(|m| *m == (a as u8, env))?,
                };
                let applied = match env.to {
                    Node::Dir => {
                        let mut dir = self.dir(s, a);
                        let applied = Applied::dir(dir.step(env))?;
                        n.dirs[a] = dir.line;
                        applied
                    }
                    Node::Cache(c) => {
                        let c = c as usize;
                        let mut cache = self.cache(s, c, a);
                        let before = cache.line;
                        let applied = Applied::cache(cache.step(CacheInput::Receive(env)))?;
                        let after = cache.line;
                        if before.state == CacheState::M && after.state == CacheState::S {
                            n.ghost.downgraded = true;
                        }
                        let upgraded_over_sharers = after.state == CacheState::M
                            && (before.state == CacheState::SmA
                                || (before.state == CacheState::SmAd
                                    && matches!(env.msg, Msg::Data { acks, .. } if acks > 0)));
                        if upgraded_over_sharers {
                            n.ghost.upgraded_over_sharers = true;
                        }
                        n.caches[c][a] = after;
                        applied
                    }
                };
                match queue {
                    Some(c) => {
                        n.forwards[c][a].remove(position);
                    }
                    None => {
                        n.net.remove(position);
                    }
                }
                applied
            }
        };
        Some((n, applied))
    }
}

impl Model for DirModel {
    type State = DirModelState;
    type Action = DirAction;

    fn init_states(&self) -> Vec<DirModelState> {
        vec![DirModelState {
            caches: [[CacheLine::INVALID; MAX_ADDRS]; MAX_CACHES],
            dirs: [DirLine::INITIAL; MAX_ADDRS],
            net: Vec::new(),
            forwards: Default::default(),
            ghost: Ghost::default(),
        }]
    }

    fn actions(&self, s: &DirModelState, actions: &mut Vec<DirAction>) {
        for c in 0..self.caches {
            for a in 0..self.addrs {
                let cache = self.cache(s, c, a);
                for op in self.ops() {
                    if cache.takes(CacheInput::Cpu(op)) {
                        actions.push(DirAction::Cpu(c, a, op));
                    }
                }
            }
        }
        for (a, env) in self.deliverable(s) {
            let takes = match env.to {
                Node::Dir => self.dir(s, a).takes(env),
                Node::Cache(c) => self.cache(s, c as usize, a).takes(CacheInput::Receive(env)),
            };
            if takes {
                actions.push(DirAction::Deliver(a, env));
            }
        }
    }

    fn next_state(&self, s: &DirModelState, action: DirAction) -> Option<DirModelState> {
        let (mut n, applied) = self.apply(s, action)?;
        let a = match action {
            DirAction::Cpu(_, a, _) | DirAction::Deliver(a, _) => a,
        };
        for env in applied.sends {
            match env.to {
                Node::Cache(c) if self.ordered(&env) => n.forwards[c as usize][a].push(env.msg),
                _ => n.net.push((a as u8, env)),
            }
        }
        n.net.sort_unstable();
        match applied.completed {
            Some(Completed::Store(v)) => n.ghost.last_stored[a] = v,
            Some(Completed::Load(got)) => {
                let expected = n.ghost.last_stored[a];
                if got != expected && n.ghost.stale_load.is_none() {
                    let cache = match action {
                        DirAction::Cpu(c, _, _) => c,
                        DirAction::Deliver(_, env) => match env.to {
                            Node::Cache(c) => c as usize,
                            Node::Dir => unreachable!("the directory completes no load"),
                        },
                    };
                    n.ghost.stale_load = Some(StaleLoad {
                        cache,
                        addr: a,
                        got,
                        expected,
                    });
                }
            }
            None => {}
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("SWMR", |m: &DirModel, s: &DirModelState| {
                m.swmr_violation(s).is_none()
            }),
            Property::always("DataValue", |_: &DirModel, s: &DirModelState| {
                s.ghost.stale_load.is_none()
            }),
            Property::always("NoDeadlock", |m: &DirModel, s: &DirModelState| {
                m.quiescent(s) || !m.next_states(s).is_empty()
            }),
            Property::sometimes("ModifiedReached", |m: &DirModel, s: &DirModelState| {
                (0..m.caches).any(|c| (0..m.addrs).any(|a| s.caches[c][a].state == CacheState::M))
            }),
            Property::sometimes("DowngradeMToS", |_: &DirModel, s: &DirModelState| {
                s.ghost.downgraded
            }),
            Property::sometimes(
                "UpgradeInvalidatesSharers",
                |_: &DirModel, s: &DirModelState| s.ghost.upgraded_over_sharers,
            ),
            Property::sometimes("ManySharers", |m: &DirModel, s: &DirModelState| {
                m.many_sharers(s).is_some()
            }),
            Property::sometimes("OwnershipForwarded", |m: &DirModel, s: &DirModelState| {
                m.ownership_forwarded(s).is_some()
            }),
            Property::sometimes("AcksOvertakeData", |m: &DirModel, s: &DirModelState| {
                m.acks_before_data(s).is_some()
            }),
            Property::sometimes(
                "InvalidatedWhileEvicting",
                |m: &DirModel, s: &DirModelState| m.invalidated_while_evicting(s).is_some(),
            ),
            Property::sometimes(
                "DirtyDataReachesMemory",
                |m: &DirModel, s: &DirModelState| m.written_back(s).is_some(),
            ),
        ]
    }
}

//! The cache controller (primer Table 8.1), for one address.

use super::{Bugs, Envelope, Msg, Node, Value};

/// A cache line's coherence state, stable or transient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CacheState {
    /// Invalid.
    I,
    /// Shared: readable.
    S,
    /// Modified: readable and writable, the only copy.
    M,
    /// From I to S, waiting for data.
    IsD,
    /// From I to M, waiting for data and Inv-Acks.
    ImAd,
    /// From I to M, data received, waiting for the remaining Inv-Acks.
    ImA,
    /// From S to M, waiting for data and Inv-Acks (still readable).
    SmAd,
    /// From S to M, data received, waiting for the remaining Inv-Acks (still readable).
    SmA,
    /// From M to I after a replacement, waiting for the Put-Ack.
    MiA,
    /// From S to I after a replacement (or M to S to I), waiting for the Put-Ack.
    SiA,
    /// Invalidated while waiting for the Put-Ack.
    IiA,
}

impl CacheState {
    /// The primer's name: `I`, `S`, `M`, `IS^D`, `IM^AD`, ...
    pub fn name(self) -> &'static str {
        match self {
            CacheState::I => "I",
            CacheState::S => "S",
            CacheState::M => "M",
            CacheState::IsD => "IS^D",
            CacheState::ImAd => "IM^AD",
            CacheState::ImA => "IM^A",
            CacheState::SmAd => "SM^AD",
            CacheState::SmA => "SM^A",
            CacheState::MiA => "MI^A",
            CacheState::SiA => "SI^A",
            CacheState::IiA => "II^A",
        }
    }

    /// Whether the state is I, S or M.
    pub fn is_stable(self) -> bool {
        matches!(self, CacheState::I | CacheState::S | CacheState::M)
    }

    /// Whether the processor may read the line in this state (S, M, and the S-to-M
    /// transients, which still hold their shared copy).
    pub fn readable(self) -> bool {
        matches!(
            self,
            CacheState::S | CacheState::M | CacheState::SmAd | CacheState::SmA
        )
    }
}

/// One cache's line for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheLine<V = u8> {
    /// The coherence state.
    pub state: CacheState,
    /// The value held; [`Value::ZERO`] whenever the line holds no data, so that equal
    /// lines compare equal.
    pub value: V,
    /// Inv-Acks still expected. It goes negative when acks overtake the data that says how
    /// many to expect.
    pub acks: i8,
    /// The value a pending store will write once the line reaches M.
    pub pending: V,
}

impl<V: Value> CacheLine<V> {
    /// An invalid line.
    pub const INVALID: CacheLine<V> = CacheLine {
        state: CacheState::I,
        value: V::ZERO,
        acks: 0,
        pending: V::ZERO,
    };
}

/// A processor request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CpuOp<V = u8> {
    /// Read the line.
    Load,
    /// Write a value.
    Store(V),
    /// Replace the line (evict it).
    Evict,
}

/// A memory operation the step completed, as the processor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Completed<V = u8> {
    /// A load returned this value.
    Load(V),
    /// A store wrote this value.
    Store(V),
}

/// What a cache controller does with one event; [`super::CacheController`] turns it into
/// effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CacheStep<V = u8> {
    /// The line afterwards.
    pub(super) line: CacheLine<V>,
    /// Messages sent.
    pub(super) send: Vec<Envelope<V>>,
    /// The memory operation completed, if any.
    pub(super) completed: Option<Completed<V>>,
}

fn step<V>(
    line: CacheLine<V>,
    send: Vec<Envelope<V>>,
    completed: Option<Completed<V>>,
) -> Option<CacheStep<V>> {
    Some(CacheStep {
        line,
        send,
        completed,
    })
}

fn to<V>(me: u8, to: Node, msg: Msg<V>) -> Envelope<V> {
    Envelope {
        to,
        from: Node::Cache(me),
        msg,
    }
}

fn go<V>(state: CacheState, line: CacheLine<V>) -> CacheLine<V> {
    CacheLine { state, ..line }
}

/// Cache `me` handles a processor request. `None`: the request must wait (the line is in a
/// transient state that cannot serve it, or there is nothing to evict).
pub(super) fn cache_cpu<V: Value>(
    line: CacheLine<V>,
    me: u8,
    op: CpuOp<V>,
    bugs: Bugs,
) -> Option<CacheStep<V>> {
    use CacheState::*;
    match (line.state, op) {
        (s, CpuOp::Load) if s.readable() => step(line, vec![], Some(Completed::Load(line.value))),
        (I, CpuOp::Load) => step(go(IsD, line), vec![to(me, Node::Dir, Msg::GetS)], None),
        (I, CpuOp::Store(v)) => step(
            CacheLine {
                state: ImAd,
                pending: v,
                acks: 0,
                ..line
            },
            vec![to(me, Node::Dir, Msg::GetM)],
            None,
        ),
        (S, CpuOp::Store(v)) => step(
            CacheLine {
                state: SmAd,
                pending: v,
                acks: 0,
                ..line
            },
            vec![to(me, Node::Dir, Msg::GetM)],
            None,
        ),
        (M, CpuOp::Store(v)) => step(
            CacheLine { value: v, ..line },
            vec![],
            Some(Completed::Store(v)),
        ),
        (S, CpuOp::Evict) => step(
            CacheLine {
                state: SiA,
                value: V::ZERO,
                ..line
            },
            vec![to(me, Node::Dir, Msg::PutS)],
            None,
        ),
        (M, CpuOp::Evict) => {
            let data = (!bugs.no_writeback).then_some(line.value);
            step(
                go(MiA, line),
                vec![to(me, Node::Dir, Msg::PutM(data))],
                None,
            )
        }
        _ => None,
    }
}

/// Cache `me` handles a message addressed to it. `None`: the message must wait in the
/// network (a stall), or this state has no transition for it.
pub(super) fn cache_receive<V: Value>(
    line: CacheLine<V>,
    me: u8,
    env: Envelope<V>,
    bugs: Bugs,
) -> Option<CacheStep<V>> {
    use CacheState::*;
    let reply = |to_node: Node, msg: Msg<V>| to(me, to_node, msg);
    match (line.state, env.msg) {
        (IsD, Msg::Data { value, .. }) => step(
            CacheLine {
                state: S,
                value,
                ..line
            },
            vec![],
            Some(Completed::Load(value)),
        ),
        (ImAd | SmAd, Msg::Data { acks, .. }) => {
            let remaining = line.acks + acks as i8;
            if remaining == 0 || bugs.early_write {
                let v = line.pending;
                step(
                    CacheLine {
                        state: M,
                        value: v,
                        acks: remaining,
                        pending: V::ZERO,
                    },
                    vec![],
                    Some(Completed::Store(v)),
                )
            } else {
                let state = if line.state == ImAd { ImA } else { SmA };
                step(
                    CacheLine {
                        state,
                        acks: remaining,
                        ..line
                    },
                    vec![],
                    None,
                )
            }
        }
        (ImAd | SmAd, Msg::InvAck) => step(
            CacheLine {
                acks: line.acks - 1,
                ..line
            },
            vec![],
            None,
        ),
        (ImA | SmA, Msg::InvAck) if line.acks == 1 => {
            let v = line.pending;
            step(
                CacheLine {
                    state: M,
                    value: v,
                    acks: 0,
                    pending: V::ZERO,
                },
                vec![],
                Some(Completed::Store(v)),
            )
        }
        (ImA | SmA, Msg::InvAck) => step(
            CacheLine {
                acks: line.acks - 1,
                ..line
            },
            vec![],
            None,
        ),
        // Only a buggy early write reaches M with acks outstanding: absorb them.
        (_, Msg::InvAck) if line.acks > 0 => step(
            CacheLine {
                acks: line.acks - 1,
                ..line
            },
            vec![],
            None,
        ),
        (S, Msg::Inv(req)) => step(
            CacheLine::INVALID,
            vec![reply(Node::Cache(req), Msg::InvAck)],
            None,
        ),
        (SmAd, Msg::Inv(req)) => step(
            CacheLine {
                state: ImAd,
                value: V::ZERO,
                ..line
            },
            vec![reply(Node::Cache(req), Msg::InvAck)],
            None,
        ),
        (SiA, Msg::Inv(req)) => step(
            go(IiA, line),
            vec![reply(Node::Cache(req), Msg::InvAck)],
            None,
        ),
        (IsD, Msg::Inv(req)) if bugs.ack_inv_in_is_d => {
            step(line, vec![reply(Node::Cache(req), Msg::InvAck)], None)
        }
        (M | MiA, Msg::FwdGetS(req)) => {
            let data = Msg::Data {
                value: line.value,
                acks: 0,
                from_owner: true,
            };
            let back = Msg::WriteBack((!bugs.no_writeback).then_some(line.value));
            let state = if line.state == M { S } else { SiA };
            let value = if state == S { line.value } else { V::ZERO };
            step(
                CacheLine {
                    state,
                    value,
                    ..line
                },
                vec![reply(Node::Cache(req), data), reply(Node::Dir, back)],
                None,
            )
        }
        (M | MiA, Msg::FwdGetM(req)) => {
            let data = Msg::Data {
                value: line.value,
                acks: 0,
                from_owner: true,
            };
            let state = if line.state == M { I } else { IiA };
            step(
                CacheLine {
                    state,
                    value: V::ZERO,
                    ..line
                },
                vec![reply(Node::Cache(req), data)],
                None,
            )
        }
        (MiA | SiA | IiA, Msg::PutAck) => step(CacheLine::INVALID, vec![], None),
        _ => None,
    }
}

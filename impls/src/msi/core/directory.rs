//! The directory controller (primer Table 8.2), for one address.

use super::{Bugs, Envelope, Msg, Node, Value};

/// The directory's state for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirState {
    /// No cache holds the line; memory is current.
    I,
    /// The sharers hold read-only copies; memory is current.
    S,
    /// The owner holds the only, possibly dirty, copy.
    M,
    /// A Fwd-GetS went to the old owner; waiting for its copy of the data.
    SD,
}

impl DirState {
    /// The primer's name: `I`, `S`, `M`, `S^D`.
    pub fn name(self) -> &'static str {
        match self {
            DirState::I => "I",
            DirState::S => "S",
            DirState::M => "M",
            DirState::SD => "S^D",
        }
    }
}

/// The directory entry for one address, with memory's copy of the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirLine<V = u8> {
    /// The entry's state.
    pub state: DirState,
    /// Sharers, one bit per cache.
    pub sharers: u8,
    /// The owner, meaningful in M (0 otherwise, so that equal entries compare equal).
    pub owner: u8,
    /// Memory's value.
    pub memory: V,
}

impl<V: Value> DirLine<V> {
    /// No copies anywhere; memory holds 0.
    pub const INITIAL: DirLine<V> = DirLine {
        state: DirState::I,
        sharers: 0,
        owner: 0,
        memory: V::ZERO,
    };
}

/// What the directory does with one message; [`super::DirController`] turns it into
/// effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DirStep<V = u8> {
    /// The entry afterwards.
    pub(super) line: DirLine<V>,
    /// Messages sent.
    pub(super) send: Vec<Envelope<V>>,
}

fn from_dir<V>(to: u8, msg: Msg<V>) -> Envelope<V> {
    Envelope {
        to: Node::Cache(to),
        from: Node::Dir,
        msg,
    }
}

fn data<V>(value: V, acks: u8) -> Msg<V> {
    Msg::Data {
        value,
        acks,
        from_owner: false,
    }
}

fn members(set: u8) -> impl Iterator<Item = u8> {
    (0..8).filter(move |c| set & (1 << c) != 0)
}

/// The directory handles a message. `None`: the message must wait (a stall in `S^D`), or
/// the directory has no transition for it.
pub(super) fn dir_receive<V: Value>(
    line: DirLine<V>,
    env: Envelope<V>,
    bugs: Bugs,
) -> Option<DirStep<V>> {
    use DirState::*;
    let Node::Cache(r) = env.from else {
        return None;
    };
    let bit = 1u8 << r;
    let ack = || vec![from_dir(r, Msg::PutAck)];
    let (line, send) = match (line.state, env.msg) {
        (I | S, Msg::GetS) => (
            DirLine {
                state: S,
                sharers: line.sharers | bit,
                ..line
            },
            vec![from_dir(r, data(line.memory, 0))],
        ),
        (M, Msg::GetS) => (
            DirLine {
                state: SD,
                sharers: bit | (1 << line.owner),
                owner: 0,
                ..line
            },
            vec![from_dir(line.owner, Msg::FwdGetS(r))],
        ),
        (I, Msg::GetM) => (
            DirLine {
                state: M,
                owner: r,
                ..line
            },
            vec![from_dir(r, data(line.memory, 0))],
        ),
        (S, Msg::GetM) => {
            let others = line.sharers & !bit;
            let mut send = Vec::new();
            if bugs.no_invalidate {
                send.push(from_dir(r, data(line.memory, 0)));
            } else {
                send.push(from_dir(r, data(line.memory, others.count_ones() as u8)));
                send.extend(members(others).map(|o| from_dir(o, Msg::Inv(r))));
            }
            (
                DirLine {
                    state: M,
                    sharers: 0,
                    owner: r,
                    ..line
                },
                send,
            )
        }
        (M, Msg::GetM) => (
            DirLine { owner: r, ..line },
            vec![from_dir(line.owner, Msg::FwdGetM(r))],
        ),
        (I | M, Msg::PutS) => (line, ack()),
        // In S and S^D nobody owns the line: a PutM there comes from an owner that lost
        // the line to a forwarded request, and counts as a PutS.
        (S | SD, Msg::PutS | Msg::PutM(_)) => {
            let sharers = line.sharers & !bit;
            let state = if line.state == S && sharers == 0 {
                I
            } else {
                line.state
            };
            (
                DirLine {
                    state,
                    sharers,
                    ..line
                },
                ack(),
            )
        }
        (M, Msg::PutM(value)) if line.owner == r => (
            DirLine {
                state: I,
                owner: 0,
                memory: value.unwrap_or(line.memory),
                ..line
            },
            ack(),
        ),
        (I | M, Msg::PutM(_)) => (line, ack()),
        (SD, Msg::WriteBack(value)) => (
            DirLine {
                state: S,
                memory: value.unwrap_or(line.memory),
                ..line
            },
            vec![],
        ),
        _ => return None,
    };
    Some(DirStep { line, send })
}

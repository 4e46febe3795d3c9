//! The wire protocol: length-prefixed binary frames between clients and nodes, and between
//! nodes.
//!
//! # Framing
//!
//! Every frame is a little-endian `u32` body length followed by the body; a body is at most
//! [`MAX_FRAME_BYTES`]. The body's first byte is its kind. Integers are LEB128 varints and
//! strings are a varint length followed by UTF-8 bytes, so small messages stay small (a
//! `WriteAck` is 7 bytes on the wire). The codec is hand-written rather than derived: it
//! allocates nothing but the strings it returns, and a decoder that checks every length
//! against the input and a limit before using it cannot be made to panic or to allocate
//! more than a frame by a hostile or broken peer.
//!
//! # Connections
//!
//! A connection's first frame says what it is:
//! - a **peer** connection starts with [`PeerFrame::Hello`]. Peer connections are one-way
//!   for data: node A sends its requests and replies to B over the connection A opened to
//!   B, and B answers over its own connection to A. The accepting side only writes
//!   [`PeerFrame::Pong`] and [`PeerFrame::Membership`] back, which is how both ends detect a
//!   dead peer (heartbeats) and how a node that missed a membership change catches up;
//! - a **client** connection starts with a request. Clients send [`Request`]s, each with an
//!   id of their choosing, and receive one [`Response`] per request with the same id.
//!
//! A frame that does not decode ends the connection: a client first gets a definite
//! [`crate::kv::ErrorCode::MalformedRequest`] response, with
//! id 0 if the id itself could not be read.

mod codec;
mod frame;

pub(crate) use codec::{Dec, Enc};
pub(crate) use frame::write_frame;
pub use frame::{FrameReader, FRAME_HEADER_BYTES, INITIAL_BUFFER_BYTES, READ_CHUNK_BYTES};

use super::core::{Consistency, Msg, Version, Versioned};
use super::error::{ErrorCode, KvError};
use super::membership::Membership;
use super::stats::Stats;
use super::NodeId;
use std::collections::BTreeMap;
use std::fmt;

/// The protocol version peers exchange in [`PeerFrame::Hello`]; a peer speaking another
/// version is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// The largest frame body accepted.
pub const MAX_FRAME_BYTES: usize = 4 << 20;
/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 64 << 10;
/// The longest value accepted, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// The longest node address accepted, in bytes.
pub const MAX_ADDR_BYTES: usize = 256;
/// The most members a membership may list.
pub const MAX_MEMBERS: usize = 1024;
/// Error texts longer than this are cut short when encoded.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Why bytes could not be read as a frame.
#[derive(Debug)]
pub enum WireError {
    /// The stream failed.
    Io(std::io::Error),
    /// A frame header claims a body longer than [`MAX_FRAME_BYTES`].
    TooLarge {
        /// The claimed length.
        len: usize,
    },
    /// The frame's body is not a valid message; the text says which field is wrong.
    Malformed(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "connection error: {e}"),
            WireError::TooLarge { len } => write!(
                f,
                "frame of {len} bytes exceeds the limit of {MAX_FRAME_BYTES} bytes"
            ),
            WireError::Malformed(why) => write!(f, "malformed frame: {why}"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> WireError {
        WireError::Io(e)
    }
}

/// A frame on a peer connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerFrame {
    /// The first frame of a peer connection: who is connecting.
    Hello {
        /// The connecting node.
        from: NodeId,
        /// Its [`PROTOCOL_VERSION`].
        protocol: u32,
    },
    /// The sender's membership; the receiver adopts it if it supersedes its own.
    Membership(Membership),
    /// A protocol message of the sans-IO core, between a coordinator and a replica.
    Core(Msg<String, String>),
    /// A fallback (or a node re-replicating after a membership change) hands a value to
    /// the replica it was held for. Acknowledged with [`PeerFrame::HintAck`] once durable.
    HintWrite {
        /// The key.
        key: String,
        /// The value and its version.
        value: Versioned<String>,
    },
    /// The replica holds `version` (or a higher one) of `key` durably: the sender's hint
    /// for it can be dropped.
    HintAck {
        /// The key.
        key: String,
        /// The version acknowledged.
        version: Version,
    },
    /// A repairing replica's answer to a [`Msg::Read`] of request `op`: it lost its log
    /// and may lack writes it acknowledged, so its store must not count towards a read
    /// quorum. The coordinator treats it as no answer.
    NotReady {
        /// The request.
        op: crate::kv::core::OpId,
    },
    /// A repairing node asks a peer for its copy of every key the two both replicate.
    /// Answered with [`PeerFrame::RepairValue`]s and then one [`PeerFrame::RepairDone`].
    RepairRequest,
    /// A value for a repairing node: the sender's copy of a key it replicates.
    RepairValue {
        /// The key.
        key: String,
        /// The sender's value and version.
        value: Versioned<String>,
    },
    /// Ends the answer to a [`PeerFrame::RepairRequest`]. Sent only once every value before
    /// it was queued, on the same connection, so a receiver that reads it has them all.
    RepairDone {
        /// False if the sender is repairing itself: its store is incomplete and does not
        /// count (no values were sent).
        complete: bool,
        /// The highest incarnation among the versions the sender holds (as values or
        /// hints) that the receiver issued; 0 if none. A rejoining node takes a higher one.
        max_incarnation: u32,
    },
    /// Heartbeat from the connecting side.
    Ping,
    /// Answer to a heartbeat.
    Pong,
}

/// An operator's change to the membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admin {
    /// Add `node`, listening at `addr`, to the ring (or change its address). Keys whose
    /// replica sets now include it are copied to it.
    AddNode {
        /// The node.
        node: NodeId,
        /// Where it listens.
        addr: String,
    },
    /// Remove `node` from the ring, whether it failed or is leaving. Keys it was a replica
    /// of are copied to their new replicas, restoring the replication factor.
    RemoveNode {
        /// The node.
        node: NodeId,
    },
}

/// A client's request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// How many replicas must acknowledge.
        consistency: Consistency,
    },
    /// Read `key`.
    Get {
        /// The key.
        key: String,
        /// How many replicas must answer.
        consistency: Consistency,
    },
    /// The node's counters.
    Stats,
    /// The node's current membership.
    Members,
    /// What this node's own store holds for `key`, without asking any other node (for
    /// operators and tests: it is not a consistent read).
    Inspect {
        /// The key.
        key: String,
    },
    /// Change the membership; answered with the new membership.
    Admin(Admin),
}

impl Request {
    /// Whether a failure of this request may leave a change behind (only puts and admin
    /// changes write anything a client can observe).
    pub fn is_mutation(&self) -> bool {
        matches!(self, Request::Put { .. } | Request::Admin(_))
    }
}

/// A node's answer to one [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A put succeeded.
    Ok,
    /// A get's value (`None`: the key has never been written).
    Value(Option<String>),
    /// The request failed.
    Error(KvError),
    /// Answer to [`Request::Stats`].
    Stats(Stats),
    /// Answer to [`Request::Members`] and [`Request::Admin`].
    Members(Membership),
    /// Answer to [`Request::Inspect`].
    Local(Option<Versioned<String>>),
}

// Frame kinds. Peer frames and client frames never share a connection, but distinct
// numbers let a node tell the two kinds of connection apart from the first frame.
const HELLO: u8 = 1;
const MEMBERSHIP: u8 = 2;
const READ: u8 = 3;
const READ_REPLY: u8 = 4;
const WRITE: u8 = 5;
const WRITE_ACK: u8 = 6;
const HINT_WRITE: u8 = 7;
const HINT_ACK: u8 = 8;
const PING: u8 = 9;
const PONG: u8 = 10;
const NOT_READY: u8 = 11;
const REPAIR_REQUEST: u8 = 12;
const REPAIR_VALUE: u8 = 13;
const REPAIR_DONE: u8 = 14;
const REQUEST: u8 = 32;
const RESPONSE: u8 = 33;

/// Whether a frame body opens a peer connection (as opposed to a client's).
pub fn is_hello(body: &[u8]) -> bool {
    body.first() == Some(&HELLO)
}

/// Appends `frame` as one frame to `buf`.
pub fn encode_peer(buf: &mut Vec<u8>, frame: &PeerFrame) {
    write_frame(buf, |b| {
        let mut e = Enc(b);
        match frame {
            PeerFrame::Hello { from, protocol } => {
                e.u8(HELLO);
                e.var(u64::from(*from));
                e.var(u64::from(*protocol));
            }
            PeerFrame::Membership(m) => {
                e.u8(MEMBERSHIP);
                membership(&mut e, m);
            }
            PeerFrame::Core(msg) => core_msg(&mut e, msg),
            PeerFrame::HintWrite { key, value } => {
                e.u8(HINT_WRITE);
                e.str(key);
                e.versioned(value);
            }
            PeerFrame::HintAck { key, version } => {
                e.u8(HINT_ACK);
                e.str(key);
                e.version(version);
            }
            PeerFrame::NotReady { op } => {
                e.u8(NOT_READY);
                e.var(*op);
            }
            PeerFrame::RepairRequest => e.u8(REPAIR_REQUEST),
            PeerFrame::RepairValue { key, value } => repair_value(&mut e, key, value),
            PeerFrame::RepairDone {
                complete,
                max_incarnation,
            } => {
                e.u8(REPAIR_DONE);
                e.bool(*complete);
                e.var(u64::from(*max_incarnation));
            }
            PeerFrame::Ping => e.u8(PING),
            PeerFrame::Pong => e.u8(PONG),
        }
    });
}

/// Appends a [`PeerFrame::RepairValue`] frame to `buf` without copying the key or value.
pub(crate) fn encode_repair_value(buf: &mut Vec<u8>, key: &str, value: &Versioned<String>) {
    write_frame(buf, |b| repair_value(&mut Enc(b), key, value));
}

fn repair_value(e: &mut Enc<'_>, key: &str, value: &Versioned<String>) {
    e.u8(REPAIR_VALUE);
    e.str(key);
    e.versioned(value);
}

fn core_msg(e: &mut Enc<'_>, msg: &Msg<String, String>) {
    match msg {
        Msg::Read { op, key } => {
            e.u8(READ);
            e.var(*op);
            e.str(key);
        }
        Msg::ReadReply { op, current } => {
            e.u8(READ_REPLY);
            e.var(*op);
            e.opt_versioned(current.as_ref());
        }
        Msg::Write {
            op,
            key,
            value,
            hint_for,
        } => {
            e.u8(WRITE);
            e.var(*op);
            e.str(key);
            e.versioned(value);
            e.opt_node(*hint_for);
        }
        Msg::WriteAck { op, hint_for } => {
            e.u8(WRITE_ACK);
            e.var(*op);
            e.opt_node(*hint_for);
        }
    }
}

pub(crate) fn membership(e: &mut Enc<'_>, m: &Membership) {
    e.var(m.epoch);
    e.var(u64::from(m.origin));
    e.var(m.members.len() as u64);
    for (id, addr) in &m.members {
        e.var(u64::from(*id));
        e.str(addr);
    }
}

/// Decodes a peer frame body.
pub fn decode_peer(body: &[u8]) -> Result<PeerFrame, WireError> {
    let mut d = Dec::new(body);
    let frame = match d.u8()? {
        HELLO => PeerFrame::Hello {
            from: d.u32()?,
            protocol: d.u32()?,
        },
        MEMBERSHIP => PeerFrame::Membership(decode_membership(&mut d)?),
        READ => PeerFrame::Core(Msg::Read {
            op: d.var()?,
            key: d.str(MAX_KEY_BYTES, "key")?,
        }),
        READ_REPLY => PeerFrame::Core(Msg::ReadReply {
            op: d.var()?,
            current: d.opt_versioned()?,
        }),
        WRITE => PeerFrame::Core(Msg::Write {
            op: d.var()?,
            key: d.str(MAX_KEY_BYTES, "key")?,
            value: d.versioned()?,
            hint_for: d.opt_node()?,
        }),
        WRITE_ACK => PeerFrame::Core(Msg::WriteAck {
            op: d.var()?,
            hint_for: d.opt_node()?,
        }),
        HINT_WRITE => PeerFrame::HintWrite {
            key: d.str(MAX_KEY_BYTES, "key")?,
            value: d.versioned()?,
        },
        HINT_ACK => PeerFrame::HintAck {
            key: d.str(MAX_KEY_BYTES, "key")?,
            version: d.version()?,
        },
        NOT_READY => PeerFrame::NotReady { op: d.var()? },
        REPAIR_REQUEST => PeerFrame::RepairRequest,
        REPAIR_VALUE => PeerFrame::RepairValue {
            key: d.str(MAX_KEY_BYTES, "key")?,
            value: d.versioned()?,
        },
        REPAIR_DONE => PeerFrame::RepairDone {
            complete: d.bool()?,
            max_incarnation: d.u32()?,
        },
        PING => PeerFrame::Ping,
        PONG => PeerFrame::Pong,
        kind => {
            return Err(WireError::Malformed(format!(
                "{kind} is not a peer frame kind"
            )))
        }
    };
    d.finish()?;
    Ok(frame)
}

pub(crate) fn decode_membership(d: &mut Dec<'_>) -> Result<Membership, WireError> {
    let epoch = d.var()?;
    let origin = d.u32()?;
    let n = d.var()?;
    if n > MAX_MEMBERS as u64 {
        return Err(WireError::Malformed(format!(
            "membership of {n} nodes exceeds the limit of {MAX_MEMBERS}"
        )));
    }
    let mut members = BTreeMap::new();
    for _ in 0..n {
        let id = d.u32()?;
        let addr = d.str(MAX_ADDR_BYTES, "node address")?;
        if members.insert(id, addr).is_some() {
            return Err(WireError::Malformed(format!("node {id} listed twice")));
        }
    }
    Ok(Membership {
        epoch,
        origin,
        members,
    })
}

// Request and response bodies.
const PUT: u8 = 1;
const GET: u8 = 2;
const STATS: u8 = 3;
const MEMBERS: u8 = 4;
const INSPECT: u8 = 5;
const ADD_NODE: u8 = 6;
const REMOVE_NODE: u8 = 7;

const R_OK: u8 = 1;
const R_VALUE: u8 = 2;
const R_ERROR: u8 = 3;
const R_STATS: u8 = 4;
const R_MEMBERS: u8 = 5;
const R_LOCAL: u8 = 6;

/// Appends request `id` as one frame to `buf`.
pub fn encode_request(buf: &mut Vec<u8>, id: u64, request: &Request) {
    write_frame(buf, |b| {
        let mut e = Enc(b);
        e.u8(REQUEST);
        e.var(id);
        match request {
            Request::Put {
                key,
                value,
                consistency,
            } => {
                e.u8(PUT);
                e.str(key);
                e.str(value);
                e.consistency(*consistency);
            }
            Request::Get { key, consistency } => {
                e.u8(GET);
                e.str(key);
                e.consistency(*consistency);
            }
            Request::Stats => e.u8(STATS),
            Request::Members => e.u8(MEMBERS),
            Request::Inspect { key } => {
                e.u8(INSPECT);
                e.str(key);
            }
            Request::Admin(Admin::AddNode { node, addr }) => {
                e.u8(ADD_NODE);
                e.var(u64::from(*node));
                e.str(addr);
            }
            Request::Admin(Admin::RemoveNode { node }) => {
                e.u8(REMOVE_NODE);
                e.var(u64::from(*node));
            }
        }
    });
}

/// Decodes a request frame body into its id and request. On error the id is returned too
/// when it could be read, so the error response can carry it.
pub fn decode_request(body: &[u8]) -> Result<(u64, Request), (u64, WireError)> {
    let mut d = Dec::new(body);
    let kind = d.u8().map_err(|e| (0, e))?;
    if kind != REQUEST {
        return Err((
            0,
            WireError::Malformed(format!("{kind} is not a request frame kind")),
        ));
    }
    let id = d.var().map_err(|e| (0, e))?;
    let request = decode_request_body(&mut d).and_then(|r| d.finish().map(|()| r));
    request.map(|r| (id, r)).map_err(|e| (id, e))
}

fn decode_request_body(d: &mut Dec<'_>) -> Result<Request, WireError> {
    Ok(match d.u8()? {
        PUT => Request::Put {
            key: d.str(MAX_KEY_BYTES, "key")?,
            value: d.str(MAX_VALUE_BYTES, "value")?,
            consistency: d.consistency()?,
        },
        GET => Request::Get {
            key: d.str(MAX_KEY_BYTES, "key")?,
            consistency: d.consistency()?,
        },
        STATS => Request::Stats,
        MEMBERS => Request::Members,
        INSPECT => Request::Inspect {
            key: d.str(MAX_KEY_BYTES, "key")?,
        },
        ADD_NODE => Request::Admin(Admin::AddNode {
            node: d.u32()?,
            addr: d.str(MAX_ADDR_BYTES, "node address")?,
        }),
        REMOVE_NODE => Request::Admin(Admin::RemoveNode { node: d.u32()? }),
        kind => {
            return Err(WireError::Malformed(format!(
                "{kind} is not a request kind"
            )))
        }
    })
}

/// Appends the response to request `id` as one frame to `buf`.
pub fn encode_response(buf: &mut Vec<u8>, id: u64, response: &Response) {
    write_frame(buf, |b| {
        let mut e = Enc(b);
        e.u8(RESPONSE);
        e.var(id);
        match response {
            Response::Ok => e.u8(R_OK),
            Response::Value(v) => {
                e.u8(R_VALUE);
                match v {
                    None => e.u8(0),
                    Some(v) => {
                        e.u8(1);
                        e.str(v);
                    }
                }
            }
            Response::Error(err) => {
                e.u8(R_ERROR);
                e.var(u64::from(err.code().number()));
                e.str(truncate(err.text(), MAX_TEXT_BYTES));
                e.bool(err.definite());
            }
            Response::Stats(s) => {
                e.u8(R_STATS);
                let fields = s.fields();
                e.var(fields.len() as u64);
                for (_, v) in fields {
                    e.var(v);
                }
            }
            Response::Members(m) => {
                e.u8(R_MEMBERS);
                membership(&mut e, m);
            }
            Response::Local(v) => {
                e.u8(R_LOCAL);
                e.opt_versioned(v.as_ref());
            }
        }
    });
}

/// Decodes a response frame body into its request id and response.
pub fn decode_response(body: &[u8]) -> Result<(u64, Response), WireError> {
    let mut d = Dec::new(body);
    let kind = d.u8()?;
    if kind != RESPONSE {
        return Err(WireError::Malformed(format!(
            "{kind} is not a response frame kind"
        )));
    }
    let id = d.var()?;
    let response = match d.u8()? {
        R_OK => Response::Ok,
        R_VALUE => Response::Value(match d.u8()? {
            0 => None,
            1 => Some(d.str(MAX_VALUE_BYTES, "value")?),
            b => {
                return Err(WireError::Malformed(format!(
                    "{b} is not an optional-value tag"
                )))
            }
        }),
        R_ERROR => {
            let number = d.u32()?;
            let code = ErrorCode::from_number(number)
                .ok_or_else(|| WireError::Malformed(format!("unknown error code {number}")))?;
            let text = d.str(MAX_TEXT_BYTES, "error text")?;
            Response::Error(KvError::new(code, text, d.bool()?))
        }
        R_STATS => Response::Stats(decode_stats(&mut d)?),
        R_MEMBERS => Response::Members(decode_membership(&mut d)?),
        R_LOCAL => Response::Local(d.opt_versioned()?),
        kind => {
            return Err(WireError::Malformed(format!(
                "{kind} is not a response kind"
            )))
        }
    };
    d.finish()?;
    Ok((id, response))
}

fn decode_stats(d: &mut Dec<'_>) -> Result<Stats, WireError> {
    let n = d.var()?;
    let expected = Stats::FIELDS as u64;
    if n != expected {
        return Err(WireError::Malformed(format!(
            "stats with {n} counters, expected {expected}"
        )));
    }
    let mut values = [0u64; Stats::FIELDS];
    for slot in &mut values {
        *slot = d.var()?;
    }
    Stats::from_values(values)
        .ok_or_else(|| WireError::Malformed("stats: node id or incarnation out of range".into()))
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;

//! Causal broadcast (Birman, Schiper and Stephenson 1991), as a sans-IO core: a node
//! delivers a message only once every message that causally precedes its broadcast has
//! been delivered there.
//!
//! Each broadcast carries the sender's vector of delivered counts, with its own entry
//! counting this broadcast. A receiver buffers a message from `j` stamped `V` until it has
//! delivered `V[j] - 1` messages of `j` and at least `V[k]` of every other `k`. Links
//! lose and reorder, so every data message is acknowledged and resent on each tick until
//! it is; and a node relays each broadcast the first time it receives it, so that a
//! message any live node delivered reaches every live node even if its origin crashed
//! (a crash is a stop: a crashed node takes no further step). A perfect failure detector
//! (`Input::PeerDown`) tells the others, and they stop resending to it.
//!
//! [`sim`] runs nodes over a seeded lossy, reordering network with a crash, and
//! [`checker`] judges the recorded broadcasts and deliveries.

pub mod checker;
pub mod sim;

use super::clock::VectorClock;
use crate::sansio::{BugSwitch, BugSwitches, Core, Effect as EffectTrait, EffectKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A node's name: its index from 0.
pub type NodeId = u8;

/// A broadcast's identity: its origin and its number there, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MsgId {
    /// The node that broadcast it.
    pub origin: NodeId,
    /// Its number among the origin's broadcasts, from 1.
    pub seq: u64,
}

impl std::fmt::Display for MsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "m{}.{}", self.origin + 1, self.seq)
    }
}

/// A broadcast message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Broadcast<P> {
    /// Its identity.
    pub id: MsgId,
    /// The origin's delivered counts when it broadcast, its own entry counting this one.
    pub stamp: VectorClock<NodeId>,
    /// What the application sent.
    pub payload: P,
}

/// What travels between nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Packet<P> {
    /// A broadcast, first-hand or relayed.
    Data(Broadcast<P>),
    /// The receipt of a `Data` packet, which stops its resending.
    Ack(MsgId),
}

/// Known bugs of the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// A message is delivered as soon as it is received, without waiting for what
    /// causally precedes it.
    DeliverOnReceipt,
}

impl Bug {
    /// The bug's name and summary.
    pub const fn switch(self) -> BugSwitch {
        match self {
            Bug::DeliverOnReceipt => BugSwitch {
                name: "deliver-on-receipt",
                summary:
                    "a message is delivered on receipt, without waiting for its causal predecessors",
            },
        }
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[Bug::DeliverOnReceipt];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

/// What a node steps on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input<P> {
    /// The application broadcasts `P`.
    Broadcast(P),
    /// A packet from `from` arrives.
    Receive {
        /// The neighbour it came from (not necessarily the origin).
        from: NodeId,
        /// The packet.
        packet: Packet<P>,
    },
    /// Time passes: resend what is not yet acknowledged.
    Tick,
    /// The failure detector says `NodeId` has stopped for good: stop resending to it.
    PeerDown(NodeId),
}

/// What a node asks its driver to do, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect<P> {
    /// Hand `packet` to the network for `to`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The packet.
        packet: Packet<P>,
    },
    /// Deliver the message to the application.
    Deliver(Broadcast<P>),
}

impl<P> EffectTrait for Effect<P> {
    fn kind(&self) -> EffectKind {
        match self {
            Effect::Send { .. } => EffectKind::Send,
            Effect::Deliver(_) => EffectKind::Other,
        }
    }
}

/// One node of the layer.
///
/// Guarantee, without a bug: a message is delivered at most once per node, and only after
/// every message delivered at its origin before it was broadcast (and the origin's earlier
/// broadcasts) has been delivered here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node<P> {
    id: NodeId,
    nodes: NodeId,
    bug: Option<Bug>,
    /// How many messages of each origin have been delivered here.
    delivered: VectorClock<NodeId>,
    /// How many this node has broadcast.
    sent: u64,
    /// Every broadcast received (or sent) here, so a repeat is only acknowledged.
    seen: BTreeSet<MsgId>,
    /// Received and waiting for their predecessors, in arrival order.
    buffer: Vec<Broadcast<P>>,
    /// Data packets sent and not yet acknowledged, by message and receiver.
    unacked: BTreeMap<(MsgId, NodeId), Broadcast<P>>,
    /// The nodes the failure detector reported down: nothing is sent to them.
    down: BTreeSet<NodeId>,
}

impl<P: Clone> Node<P> {
    /// Node `id` of `nodes`, having delivered nothing.
    pub fn new(id: NodeId, nodes: NodeId, bug: Option<Bug>) -> Node<P> {
        Node {
            id,
            nodes,
            bug,
            delivered: VectorClock::new(),
            sent: 0,
            seen: BTreeSet::new(),
            buffer: Vec::new(),
            unacked: BTreeMap::new(),
            down: BTreeSet::new(),
        }
    }

    /// How many messages of each origin it has delivered.
    pub fn delivered(&self) -> &VectorClock<NodeId> {
        &self.delivered
    }

    /// The messages it holds back.
    pub fn buffered(&self) -> &[Broadcast<P>] {
        &self.buffer
    }

    /// How many data packets await an acknowledgement.
    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    fn send_data(&mut self, to: NodeId, m: &Broadcast<P>, out: &mut Vec<Effect<P>>) {
        if self.down.contains(&to) {
            return;
        }
        self.unacked.insert((m.id, to), m.clone());
        out.push(Effect::Send {
            to,
            packet: Packet::Data(m.clone()),
        });
    }

    /// Whether `m` may be delivered: the next of its origin, and everything it saw
    /// delivered here.
    fn deliverable(&self, m: &Broadcast<P>) -> bool {
        let o = m.id.origin;
        m.stamp.get(&o) == self.delivered.get(&o) + 1
            && m.stamp
                .counters()
                .all(|(&k, n)| k == o || n <= self.delivered.get(&k))
    }

    fn deliver_ready(&mut self, out: &mut Vec<Effect<P>>) {
        while let Some(i) = self.buffer.iter().position(|m| self.deliverable(m)) {
            let m = self.buffer.remove(i);
            self.delivered.increment(m.id.origin);
            out.push(Effect::Deliver(m));
        }
    }
}

impl<P: Clone> Core for Node<P> {
    type Input = Input<P>;
    type Effect = Effect<P>;

    fn step(&mut self, input: Input<P>) -> Vec<Effect<P>> {
        let mut out = Vec::new();
        match input {
            Input::Broadcast(payload) => {
                self.sent += 1;
                self.delivered.increment(self.id);
                let m = Broadcast {
                    id: MsgId {
                        origin: self.id,
                        seq: self.sent,
                    },
                    stamp: self.delivered.clone(),
                    payload,
                };
                self.seen.insert(m.id);
                out.push(Effect::Deliver(m.clone()));
                let me = self.id;
                for to in (0..self.nodes).filter(|&n| n != me) {
                    self.send_data(to, &m, &mut out);
                }
            }
            Input::Receive { from, packet } => match packet {
                Packet::Ack(id) => {
                    self.unacked.remove(&(id, from));
                }
                Packet::Data(m) => {
                    out.push(Effect::Send {
                        to: from,
                        packet: Packet::Ack(m.id),
                    });
                    if !self.seen.insert(m.id) {
                        return out;
                    }
                    // Relay once, so the message outlives a crash of its origin.
                    let (me, origin) = (self.id, m.id.origin);
                    for to in (0..self.nodes).filter(|&n| n != me && n != from && n != origin) {
                        self.send_data(to, &m, &mut out);
                    }
                    if self.bug == Some(Bug::DeliverOnReceipt) {
                        let o = m.id.origin;
                        let n = self.delivered.get(&o).max(m.stamp.get(&o));
                        self.delivered = self.delivered.merged(&[(o, n)].into_iter().collect());
                        out.push(Effect::Deliver(m));
                    } else {
                        self.buffer.push(m);
                        self.deliver_ready(&mut out);
                    }
                }
            },
            Input::PeerDown(down) => {
                self.down.insert(down);
                self.unacked.retain(|&(_, to), _| to != down);
            }
            Input::Tick => {
                for (&(_, to), m) in &self.unacked {
                    out.push(Effect::Send {
                        to,
                        packet: Packet::Data(m.clone()),
                    });
                }
            }
        }
        out
    }
}

//! A tiny in-memory cluster for the paper tests that need more than one live node (etcd's
//! `network`): it routes `Send` effects to their destinations, carries out `Persist`
//! effects on a [`Durable`] per node, and records what each node applied. A dead peer (a
//! black hole, etcd's `nopStepper`) swallows what is sent to it.
//!
//! Delivery is in send order, one message at a time, with no loss: the paper's claims
//! under test hold on a well-behaved network, and the single-node tests cover the rest.

use std::collections::VecDeque;

use super::{after_persists, applied, sends, step};
use crate::raft::core::{Durable, Entry, Index, Input, Message, Node};
use crate::raft::NodeId;

/// Stops a runaway exchange: far more deliveries than any paper scenario needs.
const DELIVERIES_MAX: usize = 10_000;

/// One server of the cluster.
enum Peer {
    /// A running node, with what its persists wrote and what it applied.
    Live {
        node: Box<Node>,
        disk: Durable,
        applied: Vec<(Index, Entry)>,
    },
    /// A dead server: messages to it are dropped.
    BlackHole,
}

/// The cluster: its servers, by id, and the messages in flight.
pub(in crate::raft::paper_tests) struct Network {
    peers: Vec<Peer>,
    in_flight: VecDeque<(NodeId, NodeId, Message)>,
}

impl Network {
    /// Server `i` runs `peers[i]`, its disk starting as what the node says a restart would
    /// recover (`Node::durable`), or, for `None`, is a black hole.
    pub(in crate::raft::paper_tests) fn new(peers: Vec<Option<Node>>) -> Network {
        let peers = peers
            .into_iter()
            .map(|slot| match slot {
                Some(node) => Peer::Live {
                    disk: node.durable(),
                    node: Box::new(node),
                    applied: Vec::new(),
                },
                None => Peer::BlackHole,
            })
            .collect();
        Network {
            peers,
            in_flight: VecDeque::new(),
        }
    }

    /// Steps server `id` on `input` and carries out the effects: persists on its disk,
    /// applies recorded, sends queued. Does not deliver.
    pub(in crate::raft::paper_tests) fn step(
        &mut self,
        id: NodeId,
        input: Input,
    ) -> Result<(), String> {
        let Peer::Live {
            node,
            disk,
            applied: log,
        } = &mut self.peers[id as usize]
        else {
            return Ok(());
        };
        let effects = step(node, input)?;
        *disk = after_persists(std::mem::take(disk), &effects);
        log.extend(applied(&effects));
        self.in_flight
            .extend(sends(&effects).into_iter().map(|(to, m)| (id, to, m)));
        Ok(())
    }

    /// Delivers messages, and the messages they cause, until none is in flight. Fails if
    /// that takes more than [`DELIVERIES_MAX`] deliveries. Returns how many there were.
    pub(in crate::raft::paper_tests) fn deliver_all(&mut self) -> Result<usize, String> {
        let mut delivered = 0;
        while let Some((from, to, message)) = self.in_flight.pop_front() {
            if delivered == DELIVERIES_MAX {
                return Err(format!(
                    "the cluster is still busy after {DELIVERIES_MAX} deliveries"
                ));
            }
            delivered += 1;
            self.step(to, Input::Receive { from, message })?;
        }
        Ok(delivered)
    }

    /// The node running as server `id`. Panics for a black hole: a test bug.
    pub(in crate::raft::paper_tests) fn node(&self, id: NodeId) -> &Node {
        match &self.peers[id as usize] {
            Peer::Live { node, .. } => node,
            Peer::BlackHole => panic!("server {id} is a black hole"),
        }
    }

    /// What server `id`'s persists wrote so far. Panics for a black hole.
    pub(in crate::raft::paper_tests) fn disk(&self, id: NodeId) -> &Durable {
        match &self.peers[id as usize] {
            Peer::Live { disk, .. } => disk,
            Peer::BlackHole => panic!("server {id} is a black hole"),
        }
    }

    /// The entries server `id` applied, in order. Panics for a black hole.
    pub(in crate::raft::paper_tests) fn applied(&self, id: NodeId) -> &[(Index, Entry)] {
        match &self.peers[id as usize] {
            Peer::Live { applied, .. } => applied,
            Peer::BlackHole => panic!("server {id} is a black hole"),
        }
    }
}

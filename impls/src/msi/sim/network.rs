//! The simulator's networks: what a node has received and not yet taken (a buffer), with
//! the delivery rules of the primer's networks, and the channels that carry messages
//! between threads in [`super::Schedule::Threads`].
//!
//! Requests and responses travel on unordered networks, so any buffered one may be
//! delivered next. Forwarded requests (Fwd-GetS, Fwd-GetM, Inv, Put-Ack) travel on a
//! point-to-point ordered network: the buffer keeps one queue per address and only ever
//! offers its head (unless the run has the `unordered-forwards` bug, which buffers them
//! with the rest). A message the controller refuses (a stall) stays buffered and is
//! offered again later. Both schedules deliver through the same buffer; only what moves a
//! message into it differs (a channel, or the seeded scheduler).

use super::super::core::{Envelope, Msg, Node};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// A coherence message about one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The address (cache line) it is about.
    pub addr: usize,
    /// The message, with its sender and receiver.
    pub env: Envelope<u32>,
}

/// Whether `env` is a forwarded request, which the ordered network carries.
pub fn is_forward(env: &Envelope<u32>) -> bool {
    env.from == Node::Dir
        && matches!(
            env.msg,
            Msg::FwdGetS(_) | Msg::FwdGetM(_) | Msg::Inv(_) | Msg::PutAck
        )
}

/// Where a deliverable message sits in a [`Buffer`]: valid until the buffer next changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// The `i`th message of the unordered networks.
    Unordered(usize),
    /// The head of the forwarded-request queue of an address.
    Forward(usize),
}

/// A node's received, not yet delivered messages.
#[derive(Debug)]
pub(super) struct Buffer {
    unordered: Vec<Packet>,
    /// One FIFO of forwarded requests per address.
    forwards: Vec<VecDeque<Packet>>,
    /// False under the `unordered-forwards` bug: forwards join the unordered buffer.
    ordered_forwards: bool,
}

impl Buffer {
    pub(super) fn new(addrs: usize, ordered_forwards: bool) -> Self {
        Buffer {
            unordered: Vec::new(),
            forwards: vec![VecDeque::new(); addrs],
            ordered_forwards,
        }
    }

    /// Buffers a message that has arrived.
    pub(super) fn push(&mut self, p: Packet) {
        if self.ordered_forwards && is_forward(&p.env) {
            self.forwards[p.addr].push_back(p);
        } else {
            self.unordered.push(p);
        }
    }

    /// Every message the networks allow to be delivered next: each unordered one, and the
    /// head of each forward queue.
    pub(super) fn deliverable(&self) -> impl Iterator<Item = Slot> + '_ {
        (0..self.unordered.len()).map(Slot::Unordered).chain(
            (0..self.forwards.len())
                .filter(|&a| !self.forwards[a].is_empty())
                .map(Slot::Forward),
        )
    }

    /// The message at `slot`.
    pub(super) fn get(&self, slot: Slot) -> Packet {
        match slot {
            Slot::Unordered(i) => self.unordered[i],
            Slot::Forward(a) => self.forwards[a][0],
        }
    }

    /// Removes the message at `slot`: it has been delivered.
    pub(super) fn remove(&mut self, slot: Slot) {
        match slot {
            // The unordered buffer has no order to keep.
            Slot::Unordered(i) => {
                self.unordered.swap_remove(i);
            }
            Slot::Forward(a) => {
                self.forwards[a].pop_front();
            }
        }
    }

    /// Everything still buffered, forwards first: what a deadlocked node is stuck on.
    pub(super) fn buffered(&self) -> Vec<Packet> {
        self.forwards
            .iter()
            .flatten()
            .chain(self.unordered.iter())
            .copied()
            .collect()
    }
}

/// What travels on a node's channel in [`super::Schedule::Threads`].
#[derive(Debug)]
pub(super) enum Wire {
    Packet(Packet),
    /// The run is over: return what you hold.
    Stop,
}

/// The sending side of every node's channel, shared by all threads.
#[derive(Clone)]
pub(super) struct Net {
    caches: Vec<Sender<Wire>>,
    dir: Sender<Wire>,
    sent: Arc<AtomicU64>,
}

impl Net {
    pub(super) fn new(caches: Vec<Sender<Wire>>, dir: Sender<Wire>) -> Net {
        Net {
            caches,
            dir,
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends `p` to its receiver. A receiver that has already stopped is ignored: the run
    /// is over and nobody will read the message.
    pub(super) fn send(&self, p: Packet) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let to = match p.env.to {
            Node::Cache(c) => &self.caches[c as usize],
            Node::Dir => &self.dir,
        };
        let _ = to.send(Wire::Packet(p));
    }

    /// Tells every node to stop.
    pub(super) fn stop_all(&self) {
        for to in self.caches.iter().chain(std::iter::once(&self.dir)) {
            let _ = to.send(Wire::Stop);
        }
    }

    /// Messages sent so far.
    pub(super) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

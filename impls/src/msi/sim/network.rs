//! The simulator's networks: one channel into each node, and an inbox that buffers what
//! arrived and delivers it in an order the primer's networks allow.
//!
//! Requests and responses travel on unordered networks, so the inbox offers them to the
//! controller in a fresh random order on every pass. Forwarded requests (Fwd-GetS,
//! Fwd-GetM, Inv, Put-Ack) travel on a point-to-point ordered network: the directory's
//! channel to a cache is FIFO, and the inbox keeps one queue per address and only ever
//! offers its head. A message the controller refuses (a stall) stays buffered and is
//! offered again after the next message the controller does take.

use super::super::core::{Envelope, Msg, Node};
use crate::sim::SplitMix64;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// A coherence message about one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The address (cache line) it is about.
    pub addr: usize,
    /// The message, with its sender and receiver.
    pub env: Envelope<u32>,
}

/// What travels on a node's channel.
#[derive(Debug)]
pub(super) enum Wire {
    Packet(Packet),
    /// The run is over: return what you hold.
    Stop,
}

/// Whether `env` is a forwarded request, which the ordered network carries.
pub fn is_forward(env: &Envelope<u32>) -> bool {
    env.from == Node::Dir
        && matches!(
            env.msg,
            Msg::FwdGetS(_) | Msg::FwdGetM(_) | Msg::Inv(_) | Msg::PutAck
        )
}

/// The sending side of every node's channel, shared by all nodes.
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

    /// Sends `env` about `addr`. A receiver that has already stopped is ignored: the run
    /// is over and nobody will read the message.
    pub(super) fn send(&self, addr: usize, env: Envelope<u32>) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let to = match env.to {
            Node::Cache(c) => &self.caches[c as usize],
            Node::Dir => &self.dir,
        };
        let _ = to.send(Wire::Packet(Packet { addr, env }));
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

/// A node's buffered, not yet delivered messages.
pub(super) struct Inbox {
    rx: Receiver<Wire>,
    unordered: Vec<Packet>,
    /// One FIFO of forwarded requests per address.
    forwards: Vec<VecDeque<Packet>>,
    /// False under the `unordered-forwards` bug: forwards join the unordered buffer.
    ordered_forwards: bool,
    rng: SplitMix64,
    stopped: bool,
}

impl Inbox {
    pub(super) fn new(rx: Receiver<Wire>, addrs: usize, ordered_forwards: bool, seed: u64) -> Self {
        Inbox {
            rx,
            unordered: Vec::new(),
            forwards: vec![VecDeque::new(); addrs],
            ordered_forwards,
            rng: SplitMix64(seed),
            stopped: false,
        }
    }

    /// Whether a Stop has arrived.
    pub(super) fn stopped(&self) -> bool {
        self.stopped
    }

    fn absorb(&mut self, wire: Wire) {
        match wire {
            Wire::Stop => self.stopped = true,
            Wire::Packet(p) if self.ordered_forwards && is_forward(&p.env) => {
                self.forwards[p.addr].push_back(p)
            }
            Wire::Packet(p) => self.unordered.push(p),
        }
    }

    /// Buffers everything already in the channel, without waiting.
    pub(super) fn drain(&mut self) {
        while let Ok(wire) = self.rx.try_recv() {
            self.absorb(wire);
        }
    }

    /// Waits up to `timeout` for one more message, then buffers whatever else arrived.
    /// False if nothing arrived, or the run stopped.
    pub(super) fn wait(&mut self, timeout: Duration) -> bool {
        match self.rx.recv_timeout(timeout) {
            Ok(wire) => {
                self.absorb(wire);
                // Sometimes let the other threads run before looking again, so that more
                // than one message is buffered and the delivery order can differ from the
                // order of arrival: the races the transient states exist for need that.
                if self.rng.next_u64() % 4 == 0 {
                    std::thread::yield_now();
                }
                self.drain();
                !self.stopped
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.stopped = true;
                false
            }
        }
    }

    /// Offers buffered messages to `take` until it refuses every one still buffered, in an
    /// order the networks allow; a message `take` accepts is removed. Returns how many were
    /// taken.
    pub(super) fn deliver(&mut self, mut take: impl FnMut(&Packet) -> bool) -> usize {
        let mut taken = 0;
        loop {
            let before = taken;
            self.shuffle();
            let offered = std::mem::take(&mut self.unordered);
            for p in offered {
                // Interleave the ordered network's heads with the unordered messages, so
                // that a forward can overtake data and data can overtake a forward.
                if self.rng.next_u64() & 1 == 0 {
                    taken += self.deliver_forwards(&mut take);
                }
                if take(&p) {
                    taken += 1;
                } else {
                    self.unordered.push(p);
                }
            }
            taken += self.deliver_forwards(&mut take);
            if taken == before {
                return taken;
            }
        }
    }

    fn deliver_forwards(&mut self, take: &mut impl FnMut(&Packet) -> bool) -> usize {
        let mut taken = 0;
        for queue in &mut self.forwards {
            while let Some(head) = queue.front() {
                if !take(head) {
                    break;
                }
                queue.pop_front();
                taken += 1;
            }
        }
        taken
    }

    fn shuffle(&mut self) {
        for i in (1..self.unordered.len()).rev() {
            let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
            self.unordered.swap(i, j);
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

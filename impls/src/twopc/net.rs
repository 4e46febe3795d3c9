//! The in-process network between the nodes, with a fault layer: each message may be lost
//! (with a seeded probability) or held back for a random delay, which also reorders
//! messages.

use super::messages::Msg;
use super::NodeId;
use crate::sim::faults::LinkFaults;
use crate::sim::SplitMix64;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Hands a message to its destination node, or drops it if that node is down.
pub type Deliver = Arc<dyn Fn(NodeId, NodeId, Msg) + Send + Sync>;

/// Counters of what the network did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages sent.
    pub sent: u64,
    /// Messages the fault layer lost on purpose.
    pub dropped: u64,
    /// Messages held back for a delay.
    pub delayed: u64,
}

struct Delayed {
    at: Instant,
    seq: u64,
    from: NodeId,
    to: NodeId,
    msg: Msg,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Shared {
    config: LinkFaults,
    deliver: Deliver,
    rng: Mutex<SplitMix64>,
    queue: Mutex<BinaryHeap<Reverse<Delayed>>>,
    wake: Condvar,
    stop: AtomicBool,
    seq: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    delayed: AtomicU64,
}

/// The network. Sending never blocks; delayed messages are delivered by a thread of the
/// network's own.
pub struct Net {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Net {
    /// A network that hands messages to `deliver`, misbehaving as `config` says.
    pub fn new(config: LinkFaults, deliver: Deliver) -> Net {
        let shared = Arc::new(Shared {
            config,
            deliver,
            rng: Mutex::new(SplitMix64::new(config.seed)),
            queue: Mutex::new(BinaryHeap::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
        });
        let thread = (!config.max_delay.is_zero()).then(|| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("twopc-net".into())
                .spawn(move || deliver_delayed(&shared))
                .expect("spawn the network thread")
        });
        Net { shared, thread }
    }

    /// Sends `msg` from `from` to `to`: lost, delayed, or delivered now.
    pub fn send(&self, from: NodeId, to: NodeId, msg: Msg) {
        let s = &self.shared;
        s.sent.fetch_add(1, Ordering::Relaxed);
        let (lost, delay) = {
            let mut rng = s.rng.lock().expect("net rng lock");
            let lost = rng.chance(s.config.drop_rate);
            let max = s.config.max_delay.as_micros() as u64;
            let delay = if max == 0 { 0 } else { rng.below(max + 1) };
            (lost, Duration::from_micros(delay))
        };
        if lost {
            s.dropped.fetch_add(1, Ordering::Relaxed);
        } else if delay.is_zero() {
            (s.deliver)(from, to, msg);
        } else {
            s.delayed.fetch_add(1, Ordering::Relaxed);
            let d = Delayed {
                at: Instant::now() + delay,
                seq: s.seq.fetch_add(1, Ordering::Relaxed),
                from,
                to,
                msg,
            };
            s.queue.lock().expect("net queue lock").push(Reverse(d));
            s.wake.notify_one();
        }
    }

    /// What the network did so far.
    pub fn stats(&self) -> NetStats {
        let s = &self.shared;
        NetStats {
            sent: s.sent.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            delayed: s.delayed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn deliver_delayed(s: &Shared) {
    let mut queue = s.queue.lock().expect("net queue lock");
    while !s.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        match queue.peek() {
            Some(Reverse(d)) if d.at <= now => {
                let Reverse(d) = queue.pop().expect("peeked");
                // Deliver without the lock: delivery takes the mailbox lock.
                drop(queue);
                (s.deliver)(d.from, d.to, d.msg);
                queue = s.queue.lock().expect("net queue lock");
            }
            Some(Reverse(d)) => {
                let wait = d.at - now;
                queue = s.wake.wait_timeout(queue, wait).expect("net queue lock").0;
            }
            None => {
                queue = s
                    .wake
                    .wait_timeout(queue, Duration::from_millis(50))
                    .expect("net queue lock")
                    .0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn collecting(config: LinkFaults) -> (Net, mpsc::Receiver<Msg>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let deliver: Deliver = Arc::new(move |_, _, msg| {
            let _ = tx.lock().unwrap().send(msg);
        });
        (Net::new(config, deliver), rx)
    }

    #[test]
    fn a_reliable_network_delivers_everything_in_order() {
        let (net, rx) = collecting(LinkFaults::default());
        for tx in 0..100 {
            net.send(NodeId::Coordinator, NodeId::Participant(0), Msg::Ack { tx });
        }
        let got: Vec<u64> = rx.try_iter().map(|m| m.tx()).collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert_eq!(net.stats().dropped, 0);
    }

    #[test]
    fn a_lossy_delaying_network_drops_about_its_rate_and_reorders() {
        let config = LinkFaults {
            drop_rate: 0.3,
            max_delay: Duration::from_millis(3),
            seed: 11,
        };
        let (net, rx) = collecting(config);
        for tx in 0..1000 {
            net.send(NodeId::Coordinator, NodeId::Participant(0), Msg::Ack { tx });
        }
        let stats = net.stats();
        assert!((200..400).contains(&stats.dropped), "{stats:?}");
        let mut got = Vec::new();
        while got.len() < (1000 - stats.dropped) as usize {
            got.push(rx.recv_timeout(Duration::from_secs(5)).unwrap().tx());
        }
        assert!(got.windows(2).any(|w| w[0] > w[1]), "nothing was reordered");
        got.sort();
        got.dedup();
        assert_eq!(got.len() as u64, 1000 - stats.dropped, "no duplicates");
    }
}

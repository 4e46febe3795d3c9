//! The simulated network between the servers: who can reach whom, what a link does to a
//! message (lose it, duplicate it, delay it and so reorder it), and how many messages of
//! each kind every server sent.
//!
//! Messages are one-way, as the core sends them: a response is a message of its own, lost
//! or delayed independently of its request. A message is checked against the links twice,
//! when it is sent and when it is due, so a partition cuts messages already in flight, as
//! 6.5840's labrpc drops the reply of a server disconnected meanwhile.

use crate::raft::core::Message;
use crate::raft::NodeId;
use crate::sim::faults::LinkFaults;
use crate::sim::SplitMix64;
use std::collections::BTreeMap;

/// What kind of message, for counting RPCs the way 6.5840's `rpcCount` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// A PreVote request.
    PreVote,
    /// A RequestVote request.
    RequestVote,
    /// The answer to a PreVote request.
    PreVoteResponse,
    /// The answer to a RequestVote request.
    RequestVoteResponse,
    /// AppendEntries, with entries or as a heartbeat.
    AppendEntries,
    /// The answer to an AppendEntries.
    AppendEntriesResponse,
    /// InstallSnapshot.
    InstallSnapshot,
    /// The answer to an InstallSnapshot.
    InstallSnapshotResponse,
}

impl MessageKind {
    /// Every kind, requests before their responses.
    pub const ALL: [MessageKind; 8] = [
        MessageKind::PreVote,
        MessageKind::RequestVote,
        MessageKind::PreVoteResponse,
        MessageKind::RequestVoteResponse,
        MessageKind::AppendEntries,
        MessageKind::AppendEntriesResponse,
        MessageKind::InstallSnapshot,
        MessageKind::InstallSnapshotResponse,
    ];

    /// The kind of `message`.
    pub fn of(message: &Message) -> MessageKind {
        match message {
            Message::RequestVote { pre_vote: true, .. } => MessageKind::PreVote,
            Message::RequestVote { .. } => MessageKind::RequestVote,
            Message::RequestVoteResponse { pre_vote: true, .. } => MessageKind::PreVoteResponse,
            Message::RequestVoteResponse { .. } => MessageKind::RequestVoteResponse,
            Message::AppendEntries { .. } => MessageKind::AppendEntries,
            Message::AppendEntriesResponse { .. } => MessageKind::AppendEntriesResponse,
            Message::InstallSnapshot { .. } => MessageKind::InstallSnapshot,
            Message::InstallSnapshotResponse { .. } => MessageKind::InstallSnapshotResponse,
        }
    }

    /// Whether this kind is a request, which is what 6.5840 counts as one RPC (its replies
    /// travel inside the call).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            MessageKind::PreVote
                | MessageKind::RequestVote
                | MessageKind::AppendEntries
                | MessageKind::InstallSnapshot
        )
    }
}

/// How every link treats a message that may pass: data, like TigerBeetle's packet
/// simulator options, drawn from the network's own seeded generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// Probability that a message is lost.
    pub loss_probability: f64,
    /// Probability that a message that is not lost arrives twice (each copy with its own
    /// delay).
    pub duplicate_probability: f64,
    /// Each copy is delayed uniformly in `0..=delay_ticks_max` ticks; zero delivers it in
    /// the tick it was sent, in send order.
    pub delay_ticks_max: u64,
    /// labrpc's long reordering: two responses in three (labrpc delays only replies) get
    /// an extra delay of 20 ticks plus a skewed draw of up to 200 more, so old answers
    /// arrive long after newer ones.
    pub long_reordering: bool,
}

impl LinkConfig {
    /// Every message arrives once, in the tick it was sent, in send order.
    pub const RELIABLE: LinkConfig = LinkConfig {
        loss_probability: 0.0,
        duplicate_probability: 0.0,
        delay_ticks_max: 0,
        long_reordering: false,
    };

    /// 6.5840's unreliable network, per one-way message: 10 % lost and up to 27 ms (2
    /// ticks of 10 ms) of delay. It also duplicates 2 % of messages, which labrpc does
    /// not but a real network does.
    pub const UNRELIABLE: LinkConfig = LinkConfig {
        loss_probability: 0.1,
        duplicate_probability: 0.02,
        delay_ticks_max: 2,
        long_reordering: false,
    };

    /// The same behaviour as the workspace's shared [`LinkFaults`] (used by the twopc and
    /// kv runs), with `tick_ms` milliseconds per tick; a delay shorter than a tick rounds
    /// down.
    pub fn from_link_faults(faults: &LinkFaults, tick_ms: u64) -> LinkConfig {
        LinkConfig {
            loss_probability: faults.drop_rate,
            duplicate_probability: 0.0,
            delay_ticks_max: faults.max_delay.as_millis() as u64 / tick_ms.max(1),
            long_reordering: false,
        }
    }
}

/// A message on its way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The sender.
    pub from: NodeId,
    /// The destination.
    pub to: NodeId,
    /// The message.
    pub message: Message,
}

/// The network of `servers` servers.
///
/// Guarantee: for one seed and one sequence of calls, the same messages are lost,
/// duplicated and delivered in the same order.
#[derive(Clone, Debug)]
pub struct Network {
    rng: SplitMix64,
    link: LinkConfig,
    /// 6.5840's `connect`/`disconnect`: a disconnected server reaches no one.
    connected: Vec<bool>,
    /// The side of the partition each server is on; all zero when healed.
    side: Vec<u8>,
    /// Keyed by (due tick, send sequence number): delivery order is a function of the seed.
    queue: BTreeMap<(u64, u64), InFlight>,
    seq: u64,
    /// Per sender, per kind: messages handed to the network (lost ones included).
    sent: Vec<BTreeMap<MessageKind, u64>>,
}

impl Network {
    /// A reliable, fully connected network.
    pub fn new(servers: u8, seed: u64) -> Network {
        Network {
            rng: SplitMix64::new(seed),
            link: LinkConfig::RELIABLE,
            connected: vec![true; servers as usize],
            side: vec![0; servers as usize],
            queue: BTreeMap::new(),
            seq: 0,
            sent: vec![BTreeMap::new(); servers as usize],
        }
    }

    /// Whether a message from `from` to `to` passes the links now.
    pub fn can_reach(&self, from: NodeId, to: NodeId) -> bool {
        let (a, b) = (from as usize, to as usize);
        self.connected[a] && self.connected[b] && self.side[a] == self.side[b]
    }

    /// Hands `message` to the network at tick `now`: counts it, then loses, duplicates and
    /// delays it as the links say.
    pub fn send(&mut self, now: u64, from: NodeId, to: NodeId, message: Message) {
        *self.sent[from as usize]
            .entry(MessageKind::of(&message))
            .or_default() += 1;
        if !self.can_reach(from, to) || self.rng.chance(self.link.loss_probability) {
            return;
        }
        let copies = if self.rng.chance(self.link.duplicate_probability) {
            2
        } else {
            1
        };
        let kind = MessageKind::of(&message);
        for _ in 0..copies {
            let due = now + self.delay(kind);
            self.seq += 1;
            self.queue.insert(
                (due, self.seq),
                InFlight {
                    from,
                    to,
                    message: message.clone(),
                },
            );
        }
    }

    fn delay(&mut self, kind: MessageKind) -> u64 {
        let mut ticks = self.rng.below(self.link.delay_ticks_max + 1);
        if self.link.long_reordering && !kind.is_request() && self.rng.below(3) < 2 {
            let skew = self.rng.below(200);
            ticks += 20 + self.rng.below(skew + 1);
        }
        ticks
    }

    /// The next message due at or before tick `now` that the links still pass; messages
    /// the links now cut are dropped on the way.
    pub fn pop_due(&mut self, now: u64) -> Option<InFlight> {
        loop {
            let (&key, _) = self.queue.first_key_value()?;
            if key.0 > now {
                return None;
            }
            let m = self.queue.remove(&key).expect("the key was just read");
            if self.can_reach(m.from, m.to) {
                return Some(m);
            }
        }
    }

    /// How many messages are on their way.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Reconnects server `i` (6.5840's `connect`).
    pub fn connect(&mut self, i: NodeId) {
        self.connected[i as usize] = true;
    }

    /// Disconnects server `i` from everyone (6.5840's `disconnect`).
    pub fn disconnect(&mut self, i: NodeId) {
        self.connected[i as usize] = false;
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: NodeId) -> bool {
        self.connected[i as usize]
    }

    /// Puts the servers in `a` on one side and every other server on the other: messages
    /// cross no more between the sides.
    pub fn partition(&mut self, a: &[NodeId]) {
        for (i, side) in self.side.iter_mut().enumerate() {
            *side = u8::from(a.contains(&(i as NodeId)));
        }
    }

    /// Heals the partition (connections cut by `disconnect` stay cut).
    pub fn heal(&mut self) {
        self.side.fill(0);
    }

    /// The links' behaviour from now on.
    pub fn set_link(&mut self, link: LinkConfig) {
        self.link = link;
    }

    /// The links' behaviour.
    pub fn link(&self) -> LinkConfig {
        self.link
    }

    /// Messages of `kind` that server `from` has sent.
    pub fn sent(&self, from: NodeId, kind: MessageKind) -> u64 {
        self.sent[from as usize].get(&kind).copied().unwrap_or(0)
    }

    /// Requests (the RPCs 6.5840 counts) that server `from` has sent.
    pub fn requests_sent(&self, from: NodeId) -> u64 {
        MessageKind::ALL
            .iter()
            .filter(|k| k.is_request())
            .map(|&k| self.sent(from, k))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(term: u64) -> Message {
        Message::AppendEntries {
            term,
            prev_log_index: 0,
            prev_log_term: 0,
            entries: vec![],
            leader_commit: 0,
            round: 0,
        }
    }

    #[test]
    fn a_reliable_network_delivers_in_order_in_the_same_tick() {
        let mut net = Network::new(3, 1);
        net.send(5, 0, 1, heartbeat(1));
        net.send(5, 0, 2, heartbeat(2));
        assert_eq!(net.pop_due(4), None);
        assert_eq!(net.pop_due(5).map(|m| m.message.term()), Some(1));
        assert_eq!(
            net.pop_due(5).map(|m| (m.to, m.message.term())),
            Some((2, 2))
        );
        assert_eq!(net.pop_due(5), None);
        assert_eq!(net.sent(0, MessageKind::AppendEntries), 2);
        assert_eq!(net.requests_sent(0), 2);
    }

    #[test]
    fn cuts_drop_messages_at_send_and_in_flight() {
        let mut net = Network::new(3, 1);
        net.disconnect(2);
        net.send(0, 0, 2, heartbeat(1));
        assert_eq!(net.in_flight(), 0);
        net.connect(2);
        net.send(0, 0, 2, heartbeat(1));
        net.partition(&[2]);
        assert!(!net.can_reach(0, 2) && net.can_reach(0, 1));
        assert_eq!(net.pop_due(0), None, "the partition cut it in flight");
        net.heal();
        assert!(net.can_reach(0, 2));
    }

    #[test]
    fn an_unreliable_network_loses_duplicates_and_reorders_by_its_seed() {
        let run = |seed| {
            let mut net = Network::new(2, seed);
            net.set_link(LinkConfig {
                long_reordering: true,
                ..LinkConfig::UNRELIABLE
            });
            for t in 0..1000 {
                let ack = Message::AppendEntriesResponse {
                    term: t,
                    success: true,
                    index: 0,
                    round: 0,
                };
                net.send(0, 0, 1, ack);
            }
            let mut got = Vec::new();
            while let Some(m) = net.pop_due(u64::MAX) {
                got.push(m.message.term());
            }
            got
        };
        let got = run(7);
        assert_eq!(got, run(7));
        assert!((850..1000).contains(&got.len()), "{}", got.len());
        assert!(got.windows(2).any(|w| w[0] > w[1]), "reordered");
        let mut dedup = got.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert!(dedup.len() < got.len(), "duplicated");
    }
}

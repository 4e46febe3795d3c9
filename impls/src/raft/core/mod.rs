//! The sans-IO Raft node: Figure 2 of Ongaro and Ousterhout's paper, with PreVote and
//! CheckQuorum (§9.6 of Ongaro's thesis) and log compaction by snapshots (§7).
//!
//! A [`Node`] is a [`crate::sansio::Core`]: it steps on an [`Input`] (a tick of the logical
//! clock, a message, a client proposal, a request to compact) and returns [`Effect`]s in
//! the order the driver must carry them out. Nothing here touches a file, a socket, a
//! clock or a random number generator:
//! - time is [`Input::Tick`]; a driver that wants an election or a heartbeat *now* (the
//!   model, a test) sends [`Input::Timeout`] or [`Input::Heartbeat`];
//! - the election timeout is randomised in `[election_ticks, 2 * election_ticks)`: each
//!   draw mixes the `entropy` the caller supplies in [`Config`] with the node's id and the
//!   number of ticks it has seen, so a seeded simulation replays exactly, a real node
//!   seeds it from the operating system, and a model that never ticks keeps no changing
//!   random state;
//! - durability is an effect: [`Effect::Persist`] comes before every [`Effect::Send`] that
//!   depends on it (a vote, an acknowledgement of appended entries), and a driver carries
//!   out no later effect before the persist is fsynced.
//!
//! Reads ([`Input::Read`]) do not go through the log. With [`ReadMode::Index`] the leader
//! answers with a read index once a round of heartbeats, started after the read arrived,
//! was acknowledged by a majority (ReadIndex, thesis §6.4); with [`ReadMode::Lease`] a
//! leader whose lease is valid answers at once (thesis §6.4.1): the lease is a majority's
//! acknowledgement of a heartbeat sent less than `election_ticks * (100 -
//! max_clock_drift_percent) / 100` ticks ago, during which, by CheckQuorum, none of those
//! followers votes for anyone else. The lease is only as good as the bound on clock drift,
//! which is why it is a mode and ReadIndex the default.
//!
//! What survives a crash is exactly what the `Persist` effects wrote: [`Durable`]. A node
//! restarts with [`Node::restart`] from it; everything else (role, commit index,
//! `nextIndex`/`matchIndex`, votes received) is volatile and starts afresh.

mod election;
mod node;
mod reads;
mod replication;
mod snapshot;
#[cfg(test)]
mod tests;

pub use node::Node;

use super::NodeId;
use crate::sansio::{BugSwitch, BugSwitches, EffectKind};
use serde::{Deserialize, Serialize};

/// A term number (§5.1). Terms start at 0; the first election is for term 1.
pub type Term = u64;

/// A log index. The first entry has index 1; index 0 is the empty prefix, whose term is 0.
pub type Index = u64;

/// Names a read request: chosen by the driver, echoed back in [`Effect::ReadReady`] or
/// [`Effect::ReadRefused`].
pub type ReadId = u64;

/// One log entry: the term of the leader that created it and the client's command.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The term in which a leader appended the entry.
    pub term: Term,
    /// The command, opaque to Raft. The state machine above gives it meaning. An empty
    /// command is the no-op a new leader appends to commit its predecessors' entries.
    pub command: Vec<u8>,
}

/// A snapshot of the state machine after applying every entry up to `last_index` (§7).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last entry the snapshot covers.
    pub last_index: Index,
    /// That entry's term.
    pub last_term: Term,
    /// The state machine's state, opaque to Raft.
    pub data: Vec<u8>,
}

/// The node's role (§5.1), plus PreVote's pre-candidate (thesis §9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Answers leaders and candidates; starts an election when its timer runs out.
    Follower,
    /// Asking for pre-votes without having raised its term: it becomes a candidate only
    /// if a majority would vote for it.
    PreCandidate,
    /// Asking for votes in the term it raised.
    Candidate,
    /// Replicates its log to the others.
    Leader,
}

/// A Raft message. Every message carries its sender's term (for a pre-vote request, the
/// term the sender *would* campaign in).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Message {
    /// RequestVote (Figure 2), or with `pre_vote` PreVote's request, which changes no
    /// state at the receiver.
    RequestVote {
        /// The candidate's term (for a pre-vote, its current term + 1).
        term: Term,
        /// The index of the candidate's last log entry.
        last_log_index: Index,
        /// The term of the candidate's last log entry.
        last_log_term: Term,
        /// Whether this is a pre-vote.
        pre_vote: bool,
    },
    /// The answer to a RequestVote.
    RequestVoteResponse {
        /// The voter's current term (for a pre-vote, the term of the request when
        /// granted), for the candidate to update itself.
        term: Term,
        /// Whether the vote (or pre-vote) was granted.
        granted: bool,
        /// Whether this answers a pre-vote.
        pre_vote: bool,
    },
    /// AppendEntries (Figure 2): replicates entries and is the heartbeat.
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// The index of the entry just before `entries`.
        prev_log_index: Index,
        /// The term of that entry.
        prev_log_term: Term,
        /// The entries to store (empty for a heartbeat).
        entries: Vec<Entry>,
        /// The leader's commit index.
        leader_commit: Index,
        /// The leader's heartbeat round when it sent this (0 until it serves a read): the
        /// follower echoes it, so the leader knows which round a majority has answered.
        round: u64,
    },
    /// The answer to an AppendEntries.
    AppendEntriesResponse {
        /// The follower's current term.
        term: Term,
        /// Whether the follower's log matched at `prev_log_index` and it stored the
        /// entries.
        success: bool,
        /// On success, the index of the last entry the request made the follower's log
        /// agree on (`prev_log_index + entries.len()`); the leader's `matchIndex` for the
        /// follower. On failure, the index the leader should try next as `nextIndex`
        /// (the conflict optimisation: the first index of the conflicting term, or one
        /// past the follower's last entry).
        index: Index,
        /// The `round` of the AppendEntries this answers.
        round: u64,
    },
    /// InstallSnapshot (§7), in one piece: sent when the entries a follower needs have
    /// been compacted away.
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// The snapshot.
        snapshot: Snapshot,
    },
    /// The answer to an InstallSnapshot.
    InstallSnapshotResponse {
        /// The follower's current term.
        term: Term,
        /// The index up to which the follower's log now agrees with the leader's: the
        /// snapshot's last index once installed, or the follower's commit index if that
        /// was already at or past the snapshot (entries after the commit index may still
        /// differ from the leader's, so they are not claimed). The leader's `matchIndex`
        /// for the follower.
        last_index: Index,
    },
}

impl Message {
    /// The term the message carries.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote { term, .. }
            | Message::RequestVoteResponse { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::AppendEntriesResponse { term, .. }
            | Message::InstallSnapshot { term, .. }
            | Message::InstallSnapshotResponse { term, .. } => *term,
        }
    }
}

/// What a node steps on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Input {
    /// One tick of the logical clock. A follower or candidate whose randomised election
    /// timeout has elapsed campaigns; a leader sends heartbeats every `heartbeat_ticks`
    /// and, with CheckQuorum, steps down after an election timeout without hearing from a
    /// majority.
    Tick,
    /// A full election timeout has elapsed at this node now, whatever the tick count: the
    /// node does what it does on the tick that crosses its timeout. A follower or
    /// candidate campaigns (a pre-vote round first with PreVote) and no longer counts a
    /// leader it heard from as current (CheckQuorum's lease); a leader with CheckQuorum
    /// steps down unless it heard from a majority since the last check. The model and the
    /// tests use it to explore elections without ticking.
    Timeout,
    /// The heartbeat interval has elapsed at this node now: a leader sends every peer an
    /// AppendEntries from its `nextIndex` (a heartbeat when it has nothing new), which is
    /// also how a lost AppendEntries is retried. Others ignore it.
    Heartbeat,
    /// A message from another server.
    Receive {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message,
    },
    /// A client asks to append `command`. A leader appends it and answers
    /// [`Effect::Proposed`]; any other node answers [`Effect::NotLeader`].
    Propose {
        /// The command.
        command: Vec<u8>,
    },
    /// A client wants a linearizable read. The leader answers [`Effect::ReadReady`] once it
    /// is sure it was still the leader after the read arrived (a majority's answer to a
    /// heartbeat round started after it, or a valid lease); anyone else, or a leader that
    /// loses its leadership first, answers [`Effect::ReadRefused`].
    Read {
        /// Echoed in the answer.
        id: ReadId,
    },
    /// The state machine above has applied every entry up to `index` and hands over its
    /// state as `data`: the node saves the snapshot and discards the log up to `index`.
    /// Ignored unless `index` is applied and beyond the current snapshot.
    Compact {
        /// The last applied index the snapshot covers.
        index: Index,
        /// The state machine's state after applying `index`.
        data: Vec<u8>,
    },
}

/// A durable write. The driver fsyncs it before carrying out any later effect.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Persist {
    /// The new `currentTerm` and `votedFor`.
    HardState {
        /// `currentTerm`.
        term: Term,
        /// `votedFor` in that term.
        voted_for: Option<NodeId>,
    },
    /// The log from index `from` on is replaced by `entries`: entries at `from` and after
    /// are deleted, then `entries` appended (so `entries[0]` gets index `from`).
    Entries {
        /// The first index written.
        from: Index,
        /// The entries.
        entries: Vec<Entry>,
    },
    /// A snapshot replaces every entry up to its `last_index`. Entries after it that the
    /// log holds are kept when the log agrees with the snapshot's last entry, and deleted
    /// otherwise (`keep_suffix` says which).
    Snapshot {
        /// The snapshot.
        snapshot: Snapshot,
        /// Whether log entries after the snapshot survive.
        keep_suffix: bool,
    },
}

/// What a node asks its driver to do, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Effect {
    /// Make this durable before anything after it.
    Persist(Persist),
    /// Send `message` to `to`. The network may lose, duplicate, delay or reorder it.
    Send {
        /// The destination.
        to: NodeId,
        /// The message.
        message: Message,
    },
    /// The entry at `index` is committed: apply it to the state machine. Entries are
    /// applied in index order, each exactly once per incarnation of the state machine.
    Apply {
        /// The entry's index.
        index: Index,
        /// The entry.
        entry: Entry,
    },
    /// Replace the state machine's state by the snapshot's: a leader's snapshot has been
    /// installed (it was persisted by an earlier effect of the same step).
    Restore(Snapshot),
    /// The proposal was appended at `index` in `term`. It is committed when
    /// [`Effect::Apply`] names the same index and term; if another entry is applied at
    /// that index, the proposal was lost.
    Proposed {
        /// Where it was appended.
        index: Index,
        /// The leader's term.
        term: Term,
    },
    /// The node is not the leader and cannot take the proposal; `leader` is the leader
    /// it last heard from in its current term, if any.
    NotLeader {
        /// A hint for the client.
        leader: Option<NodeId>,
    },
    /// The read `id` may be served from the state machine once it has applied every entry
    /// up to `index`: at that point it reflects every write committed before the read
    /// arrived, and nothing the read could be ordered before.
    ReadReady {
        /// The read.
        id: ReadId,
        /// The read index: the leader's commit index when the read arrived, and at least
        /// its first entry of its term (so every earlier term's commits are included).
        index: Index,
    },
    /// The read `id` was not served and never will be (definite): this node is not the
    /// leader, or stopped being it before it could confirm its leadership.
    ReadRefused {
        /// The read.
        id: ReadId,
        /// The leader this node knows of, as a hint for the client.
        leader: Option<NodeId>,
    },
}

impl crate::sansio::Effect for Effect {
    fn kind(&self) -> EffectKind {
        match self {
            Effect::Persist(_) => EffectKind::Persist,
            Effect::Send { .. } => EffectKind::Send,
            _ => EffectKind::Other,
        }
    }
}

/// What a node recovers on restart: everything its `Persist` effects wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Durable {
    /// `currentTerm`.
    pub term: Term,
    /// `votedFor` in `term`.
    pub voted_for: Option<NodeId>,
    /// The latest snapshot, if the log was ever compacted.
    pub snapshot: Option<Snapshot>,
    /// The log entries after the snapshot (or from index 1 without one).
    pub entries: Vec<Entry>,
}

impl Durable {
    /// Applies one persist effect, as a driver's storage does: the result is what a
    /// restart recovers. Drivers that keep their storage in memory (the model, the
    /// simulation) use this directly; the file-backed runtime must agree with it.
    pub fn apply(&mut self, persist: &Persist) {
        let base = self.snapshot.as_ref().map_or(0, |s| s.last_index);
        match persist {
            Persist::HardState { term, voted_for } => {
                self.term = *term;
                self.voted_for = *voted_for;
            }
            Persist::Entries { from, entries } => {
                debug_assert!(*from > base, "entries are never written into a snapshot");
                let keep = (from.saturating_sub(base + 1)) as usize;
                self.entries.truncate(keep);
                self.entries.extend(entries.iter().cloned());
            }
            Persist::Snapshot {
                snapshot,
                keep_suffix,
            } => {
                if *keep_suffix && snapshot.last_index >= base {
                    let drop = ((snapshot.last_index - base) as usize).min(self.entries.len());
                    self.entries.drain(..drop);
                } else {
                    self.entries.clear();
                }
                self.snapshot = Some(snapshot.clone());
            }
        }
    }
}

/// A node's configuration. Fixed for its lifetime (membership changes are not part of
/// this exercise).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    /// This server.
    pub id: NodeId,
    /// The number of servers; they are `0..servers`.
    pub servers: u8,
    /// The base election timeout in ticks: each timeout is drawn from
    /// `[election_ticks, 2 * election_ticks)`.
    pub election_ticks: u32,
    /// A leader sends heartbeats every `heartbeat_ticks` (less than `election_ticks`).
    pub heartbeat_ticks: u32,
    /// Campaign with a pre-vote round first (thesis §9.6).
    pub pre_vote: bool,
    /// A leader steps down after an election timeout in which it did not hear from a
    /// majority, and a follower that heard from a leader within the election timeout
    /// ignores (pre-)vote requests (thesis §6.2 and §9.6).
    pub check_quorum: bool,
    /// The most entries one AppendEntries carries.
    pub max_entries_per_message: usize,
    /// How a leader confirms it may serve a read.
    pub read_mode: ReadMode,
    /// The documented bound on how much faster or slower than another's one node's clock
    /// may run, in percent: a lease lasts `election_ticks * (100 - this) / 100` ticks.
    pub max_clock_drift_percent: u32,
    /// A known timing bug to build in, if any.
    pub timing_bug: Option<TimingBug>,
    /// Seeds the randomised election timeouts: the caller's randomness.
    pub entropy: u64,
    /// A known bug to build in, if any.
    pub bug: Option<Bug>,
}

impl Config {
    /// The usual configuration for server `id` of `servers`: election timeout 10 ticks,
    /// heartbeat 1 tick, PreVote and CheckQuorum on, 64 entries per message, entropy 0,
    /// no bug.
    pub fn new(id: NodeId, servers: u8) -> Config {
        Config {
            id,
            servers,
            election_ticks: 10,
            heartbeat_ticks: 1,
            pre_vote: true,
            check_quorum: true,
            max_entries_per_message: 64,
            read_mode: ReadMode::Index,
            max_clock_drift_percent: 10,
            timing_bug: None,
            entropy: 0,
            bug: None,
        }
    }

    /// The number of servers that make a majority.
    pub fn quorum(&self) -> usize {
        self.servers as usize / 2 + 1
    }

    /// How long a leader's read lease lasts after the heartbeat a majority acknowledged
    /// was sent, in its own ticks: the base election timeout less the drift bound, during
    /// which none of those followers (by CheckQuorum) votes for another candidate.
    pub fn lease_ticks(&self) -> u64 {
        let ticks = u64::from(self.election_ticks);
        if self.timing_bug == Some(TimingBug::LeaseIgnoresDrift) {
            // The bug: the whole timeout, as if every clock ran at the same rate.
            return ticks;
        }
        ticks * u64::from(100 - self.max_clock_drift_percent.min(100)) / 100
    }
}

/// How a leader confirms that it may serve a read without writing to the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReadMode {
    /// ReadIndex (thesis §6.4): a heartbeat round started after the read, answered by a
    /// majority. Safe whatever the clocks do; costs a round trip.
    Index,
    /// Leader leases (thesis §6.4.1): no round trip while the lease holds, and a ReadIndex
    /// round when it does not. Needs CheckQuorum, and is safe only while clocks drift
    /// apart by less than `max_clock_drift_percent` and a paused node catches up on the
    /// time it missed before it serves a read.
    Lease,
}

/// A bug that only shows when time passes at different rates on different nodes: the
/// untimed model cannot see it, a Jepsen run with clock skew can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimingBug {
    /// A lease lasts the whole base election timeout, with no margin for clock drift: a
    /// leader whose clock runs slow still serves reads after its followers' clocks let
    /// them elect a new leader.
    LeaseIgnoresDrift,
}

impl BugSwitches for TimingBug {
    const ALL: &'static [TimingBug] = &[TimingBug::LeaseIgnoresDrift];

    fn switch(self) -> BugSwitch {
        match self {
            TimingBug::LeaseIgnoresDrift => BugSwitch {
                name: "lease-ignores-drift",
                summary:
                    "a read lease lasts the whole election timeout, with no margin for clock drift",
            },
        }
    }
}

/// The known bugs the node can be built with. Each is real in the node: the switch changes
/// the code path a correct node takes, and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// A voter grants its vote without checking that the candidate's log is at least as
    /// up to date as its own (§5.4.1).
    VoteWithoutLogCheck,
    /// A leader advances its commit index to an entry of an earlier term once a majority
    /// holds it (Figure 8).
    CommitPreviousTerm,
    /// `votedFor` is never persisted: a restarted node can vote twice in one term.
    ForgetVoteOnRestart,
    /// A follower appends the leader's entries without checking `prevLogTerm`.
    SkipPrevLogCheck,
    /// A leader that receives AppendEntries from a deposed leader of an older term stores
    /// its entries as a follower would.
    LeaderAcceptsStaleAppend,
    /// A follower deletes every entry after `prevLogIndex` before appending, even where
    /// they agree with the leader's: a delayed, shorter AppendEntries then removes
    /// entries the follower already acknowledged.
    TruncateWithoutConflict,
}

impl Bug {
    /// The bug's name and summary.
    pub const fn switch(self) -> BugSwitch {
        let (name, summary) = match self {
            Bug::VoteWithoutLogCheck => (
                "vote-without-log-check",
                "RequestVote is granted without the up-to-date log check (§5.4.1)",
            ),
            Bug::CommitPreviousTerm => (
                "commit-previous-term",
                "a leader commits an earlier term's entry by counting replicas (Figure 8)",
            ),
            Bug::ForgetVoteOnRestart => (
                "forget-vote-on-restart",
                "votedFor is not persisted, so a restarted server votes twice in a term",
            ),
            Bug::SkipPrevLogCheck => (
                "skip-prev-log-check",
                "a follower appends entries without checking prevLogTerm",
            ),
            Bug::LeaderAcceptsStaleAppend => (
                "leader-accepts-stale-append",
                "a leader stores entries sent by a deposed leader of an older term",
            ),
            Bug::TruncateWithoutConflict => (
                "truncate-without-conflict",
                "a follower truncates its log after prevLogIndex even where it agrees with the leader, so a delayed AppendEntries deletes acknowledged entries",
            ),
        };
        BugSwitch { name, summary }
    }
}

impl BugSwitches for Bug {
    const ALL: &'static [Bug] = &[
        Bug::VoteWithoutLogCheck,
        Bug::CommitPreviousTerm,
        Bug::ForgetVoteOnRestart,
        Bug::SkipPrevLogCheck,
        Bug::LeaderAcceptsStaleAppend,
        Bug::TruncateWithoutConflict,
    ];

    fn switch(self) -> BugSwitch {
        Bug::switch(self)
    }
}

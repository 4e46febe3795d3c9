//! The node's state and its dispatch: Figure 2's state, the accessors, restart, renaming,
//! and `step`, which does what every role shares (the term rules) before handing a
//! message to the code of its kind in `election`, `replication` or `snapshot`.

use super::reads::PendingRead;
use super::{Bug, Config, Durable, Effect, Entry, Index, Input, Message, Persist, Role};
use super::{Snapshot, Term};
use crate::raft::NodeId;
use crate::sansio::Core;
use serde::{Deserialize, Serialize};

/// One Raft server's protocol state: Figure 2's persistent and volatile state, plus
/// PreVote's and CheckQuorum's bookkeeping and the logical clock.
///
/// Guarantees: `step` is deterministic in the state and the input; its effects put every
/// `Persist` before every `Send`; `Hash`/`Eq` cover every field, so a model may use a node
/// as part of its state. Without ticks the timer fields never change, so a model that
/// never sends [`Input::Tick`] carries no clock state.
///
/// Choices where the paper leaves room, as etcd-raft makes them:
/// - `nextIndex` advances optimistically past the entries a leader sends, so each
///   proposal sends only the new entry; a lost AppendEntries comes back as a rejection
///   (at the latest after the next heartbeat), which moves `nextIndex` back to the hint.
///   A success moves `nextIndex` to `matchIndex + 1` only if it was behind that.
/// - Followers learn a new commit index from the next AppendEntries the leader sends (a
///   proposal's or a heartbeat's): the leader does not broadcast when it commits, which
///   keeps replication at one request per follower per entry (6.5840's RPC count).
/// - Votes: a follower that knows a leader of its term votes for no one else in it; a
///   node inside its leader's lease (CheckQuorum) drops vote and pre-vote requests of
///   higher terms without answering; a candidate refused by a majority returns to
///   follower.
/// - An InstallSnapshot is not resent faster than heartbeats: `nextIndex` does not move
///   until the follower answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Node {
    pub(super) config: Config,

    // persistent state (what `durable()` reports)
    pub(super) term: Term,
    pub(super) voted_for: Option<NodeId>,
    pub(super) snapshot: Option<Snapshot>,
    /// The entries after the snapshot: `log[0]` has index `snapshot_index() + 1`.
    pub(super) log: Vec<Entry>,

    // volatile state
    pub(super) role: Role,
    pub(super) leader: Option<NodeId>,
    pub(super) commit: Index,
    pub(super) applied: Index,

    // the logical clock
    /// Every tick this node has seen: the only changing input of the timeout draw.
    pub(super) ticks: u64,
    /// Ticks since the election timer was last reset (for a leader: since the last
    /// CheckQuorum round).
    pub(super) election_elapsed: u32,
    /// Ticks since a leader last sent heartbeats.
    pub(super) heartbeat_elapsed: u32,
    /// The tick count when the election timer was last reset: the randomised timeout is
    /// drawn from it (see `drawn_election_timeout`).
    pub(super) timer_drawn_at: u64,

    // candidate and pre-candidate state
    /// Per server, its answer to this round's (pre-)vote request; empty unless campaigning.
    pub(super) votes: Vec<Option<bool>>,

    // leader state
    /// Per server, `nextIndex`, `matchIndex` and CheckQuorum's activity; empty unless
    /// leading. The leader's own entry is unused (its match is its last index).
    pub(super) progress: Vec<Progress>,
    /// The heartbeat round: raised for each round a read needs (and, leasing, for every
    /// heartbeat), carried by every AppendEntries, echoed by its answer. 0 until a read.
    pub(super) round: u64,
    /// Reads waiting for a round a majority answers.
    pub(super) pending_reads: Vec<PendingRead>,
    /// Leasing: the tick at which each recent round was started.
    pub(super) recent_rounds: std::collections::VecDeque<(u64, u64)>,
}

/// A leader's view of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) struct Progress {
    /// `nextIndex`: the next entry to send. Advanced optimistically when entries are
    /// sent, moved back by a rejection's hint.
    pub(super) next: Index,
    /// `matchIndex`: the highest index known replicated; never decreases in a term.
    pub(super) matched: Index,
    /// Whether the follower answered since the last CheckQuorum round.
    pub(super) active: bool,
    /// The highest heartbeat round the follower answered in this term.
    pub(super) acked_round: u64,
    /// Leasing: the tick at which the latest round it answered was sent.
    pub(super) acked_at: u64,
}

/// The effects of one step, kept in two lists so that every persist comes first,
/// whatever order the code that produced them ran in: making a write durable earlier
/// than needed is always safe, and a send never overtakes the write it depends on.
#[derive(Default)]
pub(super) struct Out {
    persists: Vec<Effect>,
    rest: Vec<Effect>,
}

impl Out {
    pub(super) fn persist(&mut self, persist: Persist) {
        self.persists.push(Effect::Persist(persist));
    }
    pub(super) fn send(&mut self, to: NodeId, message: Message) {
        self.rest.push(Effect::Send { to, message });
    }
    pub(super) fn push(&mut self, effect: Effect) {
        self.rest.push(effect);
    }
}

impl Node {
    /// A fresh server with an empty log, in term 0, as a follower.
    pub fn new(config: Config) -> Node {
        Node::restart(config, Durable::default())
    }

    /// A server restarting from what it persisted: a follower with `durable`'s term, vote,
    /// snapshot and log; commit and applied indices at the snapshot (the driver restores
    /// its state machine from `durable.snapshot` itself, then entries are applied again
    /// as the node learns they are committed).
    pub fn restart(config: Config, durable: Durable) -> Node {
        assert!(config.id < config.servers, "the id is one of the servers");
        let base = durable.snapshot.as_ref().map_or(0, |s| s.last_index);
        let mut node = Node {
            config,
            term: durable.term,
            voted_for: durable.voted_for,
            snapshot: durable.snapshot,
            log: durable.entries,
            role: Role::Follower,
            leader: None,
            commit: base,
            applied: base,
            ticks: 0,
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            timer_drawn_at: 0,
            votes: Vec::new(),
            progress: Vec::new(),
            round: 0,
            pending_reads: Vec::new(),
            recent_rounds: std::collections::VecDeque::new(),
        };
        node.reset_election_timer();
        node
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }
    /// `currentTerm`.
    pub fn term(&self) -> Term {
        self.term
    }
    /// `votedFor` in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The leader this node knows of in its current term (itself when leading).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// `commitIndex`.
    pub fn commit_index(&self) -> Index {
        self.commit
    }
    /// The highest index handed to the state machine (`lastApplied`).
    pub fn applied_index(&self) -> Index {
        self.applied
    }
    /// The index of the last log entry (the snapshot's last index for an empty log).
    pub fn last_index(&self) -> Index {
        self.snapshot_index() + self.log.len() as Index
    }
    /// The term of the last log entry (the snapshot's for an empty log, 0 for none).
    pub fn last_term(&self) -> Term {
        match self.log.last() {
            Some(e) => e.term,
            None => self.snapshot.as_ref().map_or(0, |s| s.last_term),
        }
    }
    /// The term of the entry at `index`: `Some(0)` for index 0, the snapshot's term at its
    /// last index, `None` if compacted away or beyond the log.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        if let Some(s) = &self.snapshot {
            if index == s.last_index {
                return Some(s.last_term);
            }
        }
        self.entry(index).map(|e| e.term)
    }
    /// The entry at `index`, if the log holds it (not compacted, not beyond the end).
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        let base = self.snapshot_index();
        if index <= base {
            return None;
        }
        self.log.get((index - base - 1) as usize)
    }
    /// The latest snapshot, if the log has been compacted.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }
    /// The first index the log still holds (1 without a snapshot).
    pub fn first_index(&self) -> Index {
        self.snapshot_index() + 1
    }
    /// A leader's `matchIndex` for `peer` (its own last index for itself); `None` when not
    /// leading.
    pub fn match_index(&self, peer: NodeId) -> Option<Index> {
        if self.role != Role::Leader {
            return None;
        }
        if peer == self.id() {
            return Some(self.last_index());
        }
        self.progress.get(peer as usize).map(|p| p.matched)
    }
    /// A leader's `nextIndex` for `peer`; `None` when not leading.
    pub fn next_index(&self, peer: NodeId) -> Option<Index> {
        if self.role != Role::Leader {
            return None;
        }
        if peer == self.id() {
            return Some(self.last_index() + 1);
        }
        self.progress.get(peer as usize).map(|p| p.next)
    }
    /// What a restart would recover now, were every persist effect so far carried out.
    pub fn durable(&self) -> Durable {
        let (term, voted_for) = self.persisted_hard_state();
        Durable {
            term,
            voted_for,
            snapshot: self.snapshot.clone(),
            entries: self.log.clone(),
        }
    }
    /// The randomised election timeout currently in force, in ticks.
    pub fn election_timeout(&self) -> u32 {
        self.drawn_election_timeout()
    }

    /// The same node with every server id renamed by `rename` (server `i` becomes
    /// `rename[i]`): for the model's symmetry reduction. Peers' per-server state moves with
    /// them.
    pub fn renamed(&self, rename: &[NodeId]) -> Node {
        assert_eq!(
            rename.len(),
            self.config.servers as usize,
            "rename names every server"
        );
        let map = |id: NodeId| rename[id as usize];
        let mut node = self.clone();
        node.config.id = map(self.config.id);
        node.voted_for = self.voted_for.map(map);
        node.leader = self.leader.map(map);
        node.votes = permuted(&self.votes, rename);
        node.progress = permuted(&self.progress, rename);
        node
    }

    /// The index of the snapshot's last entry, 0 without one.
    pub(super) fn snapshot_index(&self) -> Index {
        self.snapshot.as_ref().map_or(0, |s| s.last_index)
    }

    /// `currentTerm` and `votedFor` as the node writes them to disk.
    fn persisted_hard_state(&self) -> (Term, Option<NodeId>) {
        // The bug: the vote lives only in memory, so a restart forgets it.
        if self.config.bug == Some(Bug::ForgetVoteOnRestart) {
            (self.term, None)
        } else {
            (self.term, self.voted_for)
        }
    }

    /// Every server but this one.
    pub(super) fn peers(&self) -> impl Iterator<Item = NodeId> {
        let id = self.id();
        (0..self.config.servers).filter(move |&p| p != id)
    }

    pub(super) fn has_bug(&self, bug: Bug) -> bool {
        self.config.bug == Some(bug)
    }

    /// Hands every committed entry not yet applied to the state machine, in order.
    pub(super) fn apply_committed(&mut self, out: &mut Out) {
        while self.applied < self.commit {
            let index = self.applied + 1;
            // Only a buggy node (one that truncated committed entries) lacks one.
            let Some(entry) = self.entry(index) else {
                break;
            };
            out.push(Effect::Apply {
                index,
                entry: entry.clone(),
            });
            self.applied = index;
        }
    }

    /// Figure 2's rule for all servers, and the exceptions PreVote needs: a message with a
    /// higher term makes this node a follower in that term, except a pre-vote request (the
    /// sender has not raised its term, and may never) and a granted pre-vote response (it
    /// carries the term this node would campaign in, not one anyone is in). A message with
    /// a lower term is stale: requests are answered with the current term so the sender
    /// steps down, responses are dropped.
    fn receive(&mut self, from: NodeId, message: Message, out: &mut Out) {
        if from >= self.config.servers || from == self.id() {
            return;
        }
        let term = message.term();
        if term > self.term {
            match &message {
                Message::RequestVote { pre_vote, .. } => {
                    if self.in_lease() {
                        // A leader is alive (we heard from it within the election
                        // timeout): a server that merely lost touch with it must not
                        // depose it. Drop the request without raising the term.
                        return;
                    }
                    if !pre_vote {
                        self.become_follower(term, None);
                    }
                }
                Message::RequestVoteResponse {
                    granted: true,
                    pre_vote: true,
                    ..
                } => {}
                Message::AppendEntries { .. } | Message::InstallSnapshot { .. } => {
                    self.become_follower(term, Some(from));
                }
                _ => self.become_follower(term, None),
            }
        } else if term < self.term {
            self.receive_stale(from, message, out);
            return;
        }
        if self.role == Role::Leader {
            if let Some(p) = self.progress.get_mut(from as usize) {
                p.active = true;
            }
        }
        match message {
            Message::RequestVote {
                term,
                last_log_index,
                last_log_term,
                pre_vote,
            } => {
                self.receive_vote_request(from, term, last_log_index, last_log_term, pre_vote, out)
            }
            Message::RequestVoteResponse {
                term,
                granted,
                pre_vote,
            } => self.receive_vote_response(from, term, granted, pre_vote, out),
            Message::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                round,
                ..
            } => self.receive_append(
                from,
                (prev_log_index, prev_log_term),
                entries,
                leader_commit,
                round,
                out,
            ),
            Message::AppendEntriesResponse {
                success,
                index,
                round,
                ..
            } => self.receive_append_response(from, success, index, round, out),
            Message::InstallSnapshot { snapshot, .. } => self.receive_snapshot(from, snapshot, out),
            Message::InstallSnapshotResponse { last_index, .. } => {
                self.receive_snapshot_response(from, last_index, out)
            }
        }
    }

    /// A message from an older term.
    fn receive_stale(&mut self, from: NodeId, message: Message, out: &mut Out) {
        match message {
            Message::RequestVote { pre_vote, .. } => out.send(
                from,
                Message::RequestVoteResponse {
                    term: self.term,
                    granted: false,
                    pre_vote,
                },
            ),
            Message::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                round,
                ..
            } if self.role == Role::Leader && self.has_bug(Bug::LeaderAcceptsStaleAppend) => {
                // The bug: the leader takes the deposed leader's entries as a follower
                // would (its own log may lose entries it already replicated), stays
                // leader, and answers with its term.
                let (success, index) =
                    self.append_entries(prev_log_index, prev_log_term, entries, out);
                out.send(
                    from,
                    Message::AppendEntriesResponse {
                        term: self.term,
                        success,
                        index,
                        round,
                    },
                );
            }
            Message::AppendEntries { round, .. } => out.send(
                from,
                Message::AppendEntriesResponse {
                    term: self.term,
                    success: false,
                    index: 0,
                    round,
                },
            ),
            Message::InstallSnapshot { .. } => out.send(
                from,
                Message::InstallSnapshotResponse {
                    term: self.term,
                    last_index: 0,
                },
            ),
            Message::RequestVoteResponse { .. }
            | Message::AppendEntriesResponse { .. }
            | Message::InstallSnapshotResponse { .. } => {}
        }
    }
}

impl Core for Node {
    type Input = Input;
    type Effect = Effect;

    fn step(&mut self, input: Input) -> Vec<Effect> {
        let hard_state = self.persisted_hard_state();
        let mut out = Out::default();
        match input {
            Input::Tick => self.tick(&mut out),
            Input::Timeout => self.timeout(&mut out),
            Input::Heartbeat => {
                if self.role == Role::Leader {
                    self.heartbeat_elapsed = 0;
                    self.heartbeat_round();
                    self.broadcast_append(&mut out);
                }
            }
            Input::Receive { from, message } => self.receive(from, message, &mut out),
            Input::Propose { command } => self.propose(command, &mut out),
            Input::Read { id } => self.read(id, &mut out),
            Input::Compact { index, data } => self.compact(index, data, &mut out),
        }
        self.refuse_pending_reads(&mut out);
        // `currentTerm` and `votedFor` are written once per step, first, if they changed:
        // the vote a RequestVoteResponse grants and the term any message carries are then
        // durable before the message leaves.
        let mut effects = Vec::with_capacity(1 + out.persists.len() + out.rest.len());
        let (term, voted_for) = self.persisted_hard_state();
        if (term, voted_for) != hard_state {
            effects.push(Effect::Persist(Persist::HardState { term, voted_for }));
        }
        effects.append(&mut out.persists);
        effects.append(&mut out.rest);
        effects
    }
}

/// `items` with the item of server `i` moved to `rename[i]`; an empty list stays empty.
fn permuted<T: Clone>(items: &[T], rename: &[NodeId]) -> Vec<T> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut out = items.to_vec();
    for (i, item) in items.iter().enumerate() {
        out[rename[i] as usize] = item.clone();
    }
    out
}

//! A faithful port of Jack Vanlightly's standard-raft TLA+ specification
//! (<https://github.com/Vanlightly/raft-tlaplus>, `specifications/standard-raft/Raft.tla`
//! at commit 69ad9d6, MIT licence), itself a model-checking fork of Diego Ongaro's
//! `raft.tla`. `check raft --spec vanlightly` runs it. Its distinct-state counts are
//! compared with TLC's (`anchors/raft-tlc/run.sh`): equal counts are evidence that the
//! port and the checker are both right.
//!
//! # What the spec models
//!
//! Servers exchange RequestVote and AppendEntries requests and responses through
//! `messages`, a function from message records to delivery counts. A message is never
//! removed from the function's domain: delivering it decrements its count to 0, and
//! `_SendOnce`/`SendMultipleOnce` refuse to send a message that is in the domain, which is
//! how the spec disables an action once it has been taken. Messages may be delivered in
//! any order or never; the spec's `DuplicateMessage` and `DropMessage` actions are
//! commented out of its `Next`, so they are not ported.
//!
//! The state space is bounded by `MaxElections` (`RequestVote` steps) and `MaxRestarts`
//! (`Restart` steps), counted in the auxiliary variables `electionCtr` and `restartCtr`, and
//! by `Value`, the set of client values, each of which a leader appends at most once
//! (`acked[v] = Nil`). The spec's `VIEW` drops those auxiliary variables, and so does this
//! port's fingerprint (see [`VanlightlyState`]'s `Hash`).
//!
//! # Actions
//!
//! One Rust action per disjunct of the spec's `Next`, with the spec's name, enabling
//! condition and effect:
//!
//! | action | enabled when |
//! |---|---|
//! | `Restart(i)` | `restartCtr < MaxRestarts` |
//! | `RequestVote(i)` | `electionCtr < MaxElections`, `i` is not leader, its requests are new |
//! | `BecomeLeader(i)` | `i` is a candidate with a quorum of votes |
//! | `ClientRequest(i, v)` | `i` leads and `acked[v] = Nil` |
//! | `AdvanceCommitIndex(i)` | `i` leads and a quorum's `matchIndex` moves its `commitIndex` up |
//! | `AppendEntries(i, j)` | `i` leads, awaits no response from `j`, and an empty request is new |
//! | `UpdateTerm(m)` | `m` (sent at any time) carries a term above its receiver's |
//! | `HandleRequestVoteRequest(m)` | `m` is undelivered and not from a later term |
//! | `HandleRequestVoteResponse(m)` | `m` is undelivered and of the receiver's term |
//! | `RejectAppendEntriesRequest(m)` | `m` is stale, or a follower's log does not match it |
//! | `AcceptAppendEntriesRequest(m)` | `m` is of the term of a non-leader whose log matches it |
//! | `HandleAppendEntriesResponse(m)` | `m` is undelivered and of the receiver's term |
//!
//! # Properties
//!
//! Always, the spec's invariants under their names: `NoLogDivergence` and
//! `LeaderHasAllAckedValues` (the ones its `.cfg` checks) and
//! `CommittedEntriesReachMajority`. Its `TestInv == TRUE`, a debugging placeholder that
//! cannot fail, is left out. Where the spec would apply a log to an index outside its
//! domain (TLC stops with an evaluation error), the port counts the invariant as violated.
//!
//! Sometimes, witnesses that the default bounds reach the states the invariants speak
//! about: `LeaderElected`, `EntryCommitted` (a leader's `commitIndex` is above 0),
//! `CommitReachesFollower` (a follower learned a commit) and `EntryOnEveryServer`.
//!
//! `LeaderHasAllAckedValues` reads `acked`, which the view drops. Under one election that
//! is sound: the only leader never loses an entry, so `acked` is a function of the view
//! (a value is `Nil` until it is in the leader's log, `TRUE` once within its
//! `commitIndex`). Under more elections two states can share a view and differ in
//! `acked` (a leader appends a value and is deposed before sending it, and the next leader
//! truncates it), and then, as in TLC, the state explored and checked is whichever the
//! search reaches first; see `anchors/raft-tlc/README.md` for what that does to counts.
//!
//! # Symmetry
//!
//! Servers are interchangeable (the spec's `symmServers`): [`VanlightlyState::representative`]
//! is the least renaming of a state, which is canonical. Values are not permuted (the
//! spec's `.cfg` uses only `symmServers`).

mod invariants;
mod state;
mod symmetry;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thresholds;
mod words;

pub use invariants::{
    committed_entries_reach_majority, leader_has_all_acked_values, no_log_divergence,
};
pub use state::{
    Acked, Body, Entry, Index, Log, Messages, Msg, Server, ServerId, ServerState, Servers, Term,
    Value, VanlightlyState, MAX_SERVERS, MAX_VALUES,
};

use crate::coverage::{DeadAction, Pin};
use stateright::{Model, Property};

/// What `check all` and this crate's tests hold the default configuration to: 3 servers,
/// `MaxElections = 1`, `MaxRestarts = 0`, `Value = {v1}`, explored depth-first with the
/// symmetry reduction over servers: the number of symmetry classes of the space, and
/// TLC's count with `SYMMETRY symmServers` too. Without symmetry the count is
/// [`TLC_STATES`].
/// `Restart` cannot fire with `MaxRestarts = 0`, and nothing is ever rejected with one
/// election: no request is stale and every leader starts with an empty log, so every
/// AppendEntries has `prevLogIndex = 0`.
pub const PIN: Pin = Pin {
    unique_states: 6_247,
    dead_actions: &[
        DeadAction {
            kind: "Restart",
            reason: "MaxRestarts = 0",
        },
        DeadAction {
            kind: "RejectAppendEntriesRequest",
            reason: "one election: no stale term, and the leader's first prevLogIndex is 0",
        },
    ],
};

/// TLC's distinct-state count for the default configuration without symmetry
/// (`tlc2.TLC -deadlock` on `Raft.tla` with `VIEW view` and no `SYMMETRY`).
pub const TLC_STATES: usize = 37_345;

/// The spec with its constants: `Server` (`servers` of them), `Value` (`values` of them),
/// `MaxElections` and `MaxRestarts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VanlightlyRaft {
    /// `Cardinality(Server)`, 1 to [`MAX_SERVERS`].
    pub servers: usize,
    /// `Cardinality(Value)`, 0 to [`MAX_VALUES`].
    pub values: usize,
    /// `MaxElections`: how many `RequestVote` steps a run may take.
    pub max_elections: u8,
    /// `MaxRestarts`: how many `Restart` steps a run may take.
    pub max_restarts: u8,
}

impl Default for VanlightlyRaft {
    /// TLC's first configuration: 3 servers, `Value = {v1}`, `MaxElections = 1`,
    /// `MaxRestarts = 0`.
    fn default() -> VanlightlyRaft {
        VanlightlyRaft::new(3, 1, 1, 0)
    }
}

/// The spec's actions, named as in its `Next`. A message action carries the message it
/// picks from `DOMAIN messages`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum VanlightlyAction {
    /// `Restart(i)`: `i` loses its volatile state.
    Restart(ServerId),
    /// `RequestVote(i)`: `i` times out, starts an election and asks every peer to vote.
    RequestVote(ServerId),
    /// `BecomeLeader(i)`: candidate `i` has a quorum of votes.
    BecomeLeader(ServerId),
    /// `ClientRequest(i, v)`: leader `i` appends `v`.
    ClientRequest(ServerId, Value),
    /// `AdvanceCommitIndex(i)`: leader `i` commits what a quorum acknowledged.
    AdvanceCommitIndex(ServerId),
    /// `AppendEntries(i, j)`: leader `i` sends `j` at most one entry.
    AppendEntries(ServerId, ServerId),
    /// `UpdateTerm`: the receiver of the message adopts its higher term.
    UpdateTerm(Msg),
    /// `HandleRequestVoteRequest`.
    HandleRequestVoteRequest(Msg),
    /// `HandleRequestVoteResponse`.
    HandleRequestVoteResponse(Msg),
    /// `RejectAppendEntriesRequest`.
    RejectAppendEntriesRequest(Msg),
    /// `AcceptAppendEntriesRequest`.
    AcceptAppendEntriesRequest(Msg),
    /// `HandleAppendEntriesResponse`.
    HandleAppendEntriesResponse(Msg),
}

impl VanlightlyRaft {
    /// The spec for `servers` servers, `values` values and the two bounds.
    ///
    /// # Panics
    /// If `servers` is not in `1..=MAX_SERVERS` or `values` is above [`MAX_VALUES`].
    pub fn new(servers: usize, values: usize, max_elections: u8, max_restarts: u8) -> Self {
        assert!(
            (1..=MAX_SERVERS).contains(&servers),
            "1 to {MAX_SERVERS} servers, not {servers}"
        );
        assert!(
            values <= MAX_VALUES,
            "at most {MAX_VALUES} values, not {values}"
        );
        VanlightlyRaft {
            servers,
            values,
            max_elections,
            max_restarts,
        }
    }

    /// `S \in Quorum`: a strict majority of the servers.
    pub fn is_quorum(&self, s: Servers) -> bool {
        s.len() * 2 > self.servers
    }

    fn value_ids(&self) -> impl Iterator<Item = Value> {
        0..self.values as Value
    }

    /// `newCommitIndex` of `AdvanceCommitIndex(i)` in `s`: the highest index a quorum
    /// (counting `i`) has acknowledged, if its entry is of `i`'s term; otherwise `i`'s
    /// `commitIndex`.
    pub fn new_commit_index(&self, s: &VanlightlyState, i: ServerId) -> Index {
        let srv = s.server(i);
        let agree = |index: Index| {
            s.ids()
                .filter(|&k| srv.match_index[usize::from(k)] >= index)
                .fold(Servers::default().with(i), Servers::with)
        };
        // Agree(index) shrinks as index grows, so Max(agreeIndexes) is the last index
        // with a quorum.
        let highest = (1..=srv.log.len())
            .rev()
            .find(|&index| self.is_quorum(agree(index)));
        match highest {
            Some(index) if srv.log.get(index).map(|e| e.term) == Some(srv.current_term) => index,
            _ => srv.commit_index,
        }
    }

    /// The request `AppendEntries(i, j)` sends in `s`.
    pub fn append_entries_request(&self, s: &VanlightlyState, i: ServerId, j: ServerId) -> Msg {
        let srv = s.server(i);
        let next = srv.next_index[usize::from(j)];
        let prev_log_index = next - 1;
        let prev_log_term = if prev_log_index > 0 {
            srv.log
                .get(prev_log_index)
                .expect("nextIndex[i][j] <= Len(log[i]) + 1")
                .term
        } else {
            0
        };
        // Up to one entry: SubSeq(log[i], next, Min({Len(log[i]), next})).
        let last_entry = srv.log.len().min(next);
        Msg {
            term: srv.current_term,
            source: i,
            dest: j,
            body: Body::AppendEntriesRequest {
                prev_log_index,
                prev_log_term,
                entries: srv.log.get(next),
                commit_index: srv.commit_index.min(last_entry),
            },
        }
    }

    fn request_votes(&self, s: &VanlightlyState, i: ServerId) -> impl Iterator<Item = Msg> {
        let srv = s.server(i);
        let body = Body::RequestVoteRequest {
            last_log_term: srv.log.last_term(),
            last_log_index: srv.log.len(),
        };
        let term = srv.current_term + 1;
        s.ids().filter(move |&j| j != i).map(move |dest| Msg {
            term,
            source: i,
            dest,
            body,
        })
    }

    /// `LogOk(i, m)` for an AppendEntries request `m` to `i`.
    fn log_ok(s: &VanlightlyState, m: &Msg) -> bool {
        let Body::AppendEntriesRequest {
            prev_log_index,
            prev_log_term,
            ..
        } = m.body
        else {
            unreachable!("LogOk is asked of AppendEntries requests only")
        };
        prev_log_index == 0
            || s.server(m.dest).log.get(prev_log_index).map(|e| e.term) == Some(prev_log_term)
    }

    /// `ReceivableMessage(m, _, term_match)` less the type: `messages[m] > 0`, and `m`'s
    /// term is equal to (or, with `or_less`, not above) its receiver's.
    fn receivable(s: &VanlightlyState, m: &Msg, count: u8, or_less: bool) -> bool {
        let current = s.server(m.dest).current_term;
        count > 0 && (m.term == current || (or_less && m.term < current))
    }

    fn push_message_actions(
        &self,
        s: &VanlightlyState,
        m: &Msg,
        count: u8,
        out: &mut Vec<VanlightlyAction>,
    ) {
        use VanlightlyAction::*;
        let dest = s.server(m.dest);
        match m.body {
            Body::RequestVoteRequest { .. } => {
                if Self::receivable(s, m, count, true) {
                    out.push(HandleRequestVoteRequest(*m));
                }
            }
            Body::RequestVoteResponse { .. } => {
                if Self::receivable(s, m, count, false) {
                    out.push(HandleRequestVoteResponse(*m));
                }
            }
            Body::AppendEntriesRequest { .. } => {
                if Self::receivable(s, m, count, true) {
                    let log_ok = Self::log_ok(s, m);
                    let stale = m.term < dest.current_term;
                    if stale || (dest.state == ServerState::Follower && !log_ok) {
                        out.push(RejectAppendEntriesRequest(*m));
                    }
                    if !stale && dest.state != ServerState::Leader && log_ok {
                        out.push(AcceptAppendEntriesRequest(*m));
                    }
                }
            }
            Body::AppendEntriesResponse { .. } => {
                if Self::receivable(s, m, count, false) {
                    out.push(HandleAppendEntriesResponse(*m));
                }
            }
        }
    }
}

impl Model for VanlightlyRaft {
    type State = VanlightlyState;
    type Action = VanlightlyAction;

    fn init_states(&self) -> Vec<VanlightlyState> {
        vec![VanlightlyState::initial(self.servers)]
    }

    fn actions(&self, s: &VanlightlyState, out: &mut Vec<VanlightlyAction>) {
        use VanlightlyAction::*;
        // In the order of Next's disjuncts.
        if s.restart_ctr < self.max_restarts {
            out.extend(s.ids().map(Restart));
        }
        if s.election_ctr < self.max_elections {
            for i in s.ids() {
                if s.server(i).state != ServerState::Leader
                    && self
                        .request_votes(s, i)
                        .all(|m| s.messages.count(&m).is_none())
                {
                    out.push(RequestVote(i));
                }
            }
        }
        for i in s.ids() {
            let srv = s.server(i);
            if srv.state == ServerState::Candidate && self.is_quorum(srv.votes_granted) {
                out.push(BecomeLeader(i));
            }
        }
        for i in s.ids() {
            if s.server(i).state == ServerState::Leader {
                for v in self.value_ids() {
                    if s.acked[usize::from(v)] == Acked::Nil {
                        out.push(ClientRequest(i, v));
                    }
                }
            }
        }
        for i in s.ids() {
            let srv = s.server(i);
            if srv.state == ServerState::Leader && srv.commit_index < self.new_commit_index(s, i) {
                out.push(AdvanceCommitIndex(i));
            }
        }
        for i in s.ids() {
            let srv = s.server(i);
            if srv.state != ServerState::Leader {
                continue;
            }
            for j in s.ids() {
                if j == i || srv.pending_response.contains(j) {
                    continue;
                }
                let m = self.append_entries_request(s, i, j);
                // Send(m): an empty request only once (_SendOnce).
                let empty = matches!(m.body, Body::AppendEntriesRequest { entries: None, .. });
                if !empty || s.messages.count(&m).is_none() {
                    out.push(AppendEntries(i, j));
                }
            }
        }
        // UpdateTerm ranges over the whole domain, delivered messages included.
        for (m, _) in s.messages.iter() {
            if m.term > s.server(m.dest).current_term {
                out.push(UpdateTerm(*m));
            }
        }
        for (m, count) in s.messages.iter() {
            self.push_message_actions(s, m, count, out);
        }
    }

    fn next_state(&self, s: &VanlightlyState, action: VanlightlyAction) -> Option<VanlightlyState> {
        use VanlightlyAction::*;
        let mut n = s.clone();
        match action {
            Restart(i) => {
                let srv = n.server_mut(i);
                srv.state = ServerState::Follower;
                srv.votes_granted = Servers::default();
                srv.next_index[..self.servers].fill(1);
                srv.match_index[..self.servers].fill(0);
                srv.pending_response = Servers::default();
                srv.commit_index = 0;
                n.restart_ctr += 1;
            }
            RequestVote(i) => {
                for m in self.request_votes(s, i) {
                    n.messages.send(m);
                }
                let srv = n.server_mut(i);
                srv.state = ServerState::Candidate;
                srv.current_term += 1;
                srv.voted_for = Some(i);
                srv.votes_granted = Servers::default().with(i);
                n.election_ctr += 1;
            }
            BecomeLeader(i) => {
                let srv = n.server_mut(i);
                srv.state = ServerState::Leader;
                let next = srv.log.len() + 1;
                srv.next_index[..self.servers].fill(next);
                srv.match_index[..self.servers].fill(0);
                srv.pending_response = Servers::default();
            }
            ClientRequest(i, v) => {
                let srv = n.server_mut(i);
                let term = srv.current_term;
                srv.log.append(Entry { term, value: v });
                n.acked[usize::from(v)] = Acked::False;
            }
            AdvanceCommitIndex(i) => {
                let new_commit = self.new_commit_index(s, i);
                let srv = s.server(i);
                for e in &srv.log.as_slice()[usize::from(srv.commit_index)..usize::from(new_commit)]
                {
                    let acked = &mut n.acked[usize::from(e.value)];
                    if *acked == Acked::False {
                        *acked = Acked::True;
                    }
                }
                n.server_mut(i).commit_index = new_commit;
            }
            AppendEntries(i, j) => {
                let m = self.append_entries_request(s, i, j);
                n.messages.send(m);
                let srv = n.server_mut(i);
                srv.pending_response = srv.pending_response.with(j);
            }
            UpdateTerm(m) => {
                let srv = n.server_mut(m.dest);
                srv.current_term = m.term;
                srv.state = ServerState::Follower;
                srv.voted_for = None;
            }
            HandleRequestVoteRequest(m) => {
                let Body::RequestVoteRequest {
                    last_log_term,
                    last_log_index,
                } = m.body
                else {
                    unreachable!("a RequestVote request")
                };
                let srv = n.server_mut(m.dest);
                let log_ok = last_log_term > srv.log.last_term()
                    || (last_log_term == srv.log.last_term() && last_log_index >= srv.log.len());
                let grant = m.term == srv.current_term
                    && log_ok
                    && srv.voted_for.is_none_or(|v| v == m.source);
                if grant {
                    srv.voted_for = Some(m.source);
                }
                let response = Msg {
                    term: srv.current_term,
                    source: m.dest,
                    dest: m.source,
                    body: Body::RequestVoteResponse {
                        vote_granted: grant,
                    },
                };
                n.messages.reply(response, &m);
            }
            HandleRequestVoteResponse(m) => {
                let Body::RequestVoteResponse { vote_granted } = m.body else {
                    unreachable!("a RequestVote response")
                };
                if vote_granted {
                    let srv = n.server_mut(m.dest);
                    srv.votes_granted = srv.votes_granted.with(m.source);
                }
                n.messages.discard(&m);
            }
            RejectAppendEntriesRequest(m) => {
                let response = Msg {
                    term: s.server(m.dest).current_term,
                    source: m.dest,
                    dest: m.source,
                    body: Body::AppendEntriesResponse {
                        success: false,
                        match_index: 0,
                    },
                };
                n.messages.reply(response, &m);
            }
            AcceptAppendEntriesRequest(m) => {
                let Body::AppendEntriesRequest {
                    prev_log_index,
                    entries,
                    commit_index,
                    ..
                } = m.body
                else {
                    unreachable!("an AppendEntries request")
                };
                let srv = n.server_mut(m.dest);
                let len = srv.log.len();
                // The CASE of new_log; its guards are disjoint.
                match entries {
                    // CanAppend.
                    Some(e) if len == prev_log_index => srv.log.append(e),
                    // NeedsTruncation with an entry: replace everything after prevLogIndex.
                    Some(e) if len > prev_log_index => {
                        srv.log.truncate(prev_log_index);
                        srv.log.append(e);
                    }
                    // NeedsTruncation of an empty request.
                    None if len > prev_log_index => srv.log.truncate(prev_log_index),
                    // OTHER.
                    _ => {}
                }
                srv.state = ServerState::Follower;
                srv.commit_index = commit_index;
                let response = Msg {
                    term: srv.current_term,
                    source: m.dest,
                    dest: m.source,
                    body: Body::AppendEntriesResponse {
                        success: true,
                        match_index: prev_log_index + u8::from(entries.is_some()),
                    },
                };
                n.messages.reply(response, &m);
            }
            HandleAppendEntriesResponse(m) => {
                let Body::AppendEntriesResponse {
                    success,
                    match_index,
                } = m.body
                else {
                    unreachable!("an AppendEntries response")
                };
                let j = usize::from(m.source);
                let srv = n.server_mut(m.dest);
                if success {
                    srv.next_index[j] = match_index + 1;
                    srv.match_index[j] = match_index;
                } else {
                    srv.next_index[j] = (srv.next_index[j] - 1).max(1);
                }
                srv.pending_response = srv.pending_response.without(m.source);
                n.messages.discard(&m);
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("NoLogDivergence", |_: &Self, s: &VanlightlyState| {
                no_log_divergence(s)
            }),
            Property::always(
                "LeaderHasAllAckedValues",
                |m: &Self, s: &VanlightlyState| leader_has_all_acked_values(m, s),
            ),
            Property::always(
                "CommittedEntriesReachMajority",
                |m: &Self, s: &VanlightlyState| committed_entries_reach_majority(m, s),
            ),
            Property::sometimes("LeaderElected", |_: &Self, s: &VanlightlyState| {
                s.servers.iter().any(|v| v.state == ServerState::Leader)
            }),
            Property::sometimes("EntryCommitted", |_: &Self, s: &VanlightlyState| {
                s.servers
                    .iter()
                    .any(|v| v.state == ServerState::Leader && v.commit_index > 0)
            }),
            Property::sometimes("CommitReachesFollower", |_: &Self, s: &VanlightlyState| {
                s.servers
                    .iter()
                    .any(|v| v.state == ServerState::Follower && v.commit_index > 0)
            }),
            Property::sometimes("EntryOnEveryServer", |_: &Self, s: &VanlightlyState| {
                s.servers.iter().all(|v| !v.log.is_empty())
            }),
        ]
    }
}

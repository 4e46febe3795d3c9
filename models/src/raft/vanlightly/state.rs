//! The spec's variables: the message bag, the per-server variables and the auxiliary
//! variables, and the fingerprint that hashes only what the spec's `VIEW` keeps.

use std::fmt;
use std::hash::{Hash, Hasher};

/// A server of `Server`, numbered from 0 and printed `n1`, `n2`, ...
pub type ServerId = u8;
/// A value of `Value`, numbered from 0 and printed `v1`, `v2`, ...
pub type Value = u8;
/// A term. Every server starts in term 1.
pub type Term = u8;
/// A 1-based log index; 0 means "no entry".
pub type Index = u8;

/// The most servers a state can hold (the bit sets are `u8`, the index arrays this long).
pub const MAX_SERVERS: usize = 5;
/// The most values a model can have, and so the longest log: `ClientRequest(i, v)` needs
/// `acked[v] = Nil`, so each value is appended once in the whole run, and a log is a copy
/// of a prefix of leaders' logs (Log Matching), so it never holds a value twice.
pub const MAX_VALUES: usize = 3;

/// `state[i]`: the spec's constants `Follower`, `Candidate`, `Leader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerState {
    /// Accepts entries and votes.
    Follower,
    /// Has started an election in its current term and voted for itself.
    Candidate,
    /// Won the election of its current term.
    Leader,
}

/// A log entry, the record `[term |-> t, value |-> v]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    /// The term of the leader that created it.
    pub term: Term,
    /// The client value.
    pub value: Value,
}

/// `log[i]`: a sequence of at most [`MAX_VALUES`] entries, stored inline so that a server
/// is `Copy`. Equality, order and hash look only at the entries, not at the spare slots.
#[derive(Clone, Copy, Default)]
pub struct Log {
    len: u8,
    entries: [Entry; MAX_VALUES],
}

impl Log {
    /// The log holding `entries`, in order.
    ///
    /// # Panics
    /// If there are more than [`MAX_VALUES`].
    pub fn of(entries: &[Entry]) -> Log {
        let mut log = Log::default();
        for &e in entries {
            log.append(e);
        }
        log
    }

    /// The entries, index 1 first.
    pub fn as_slice(&self) -> &[Entry] {
        &self.entries[..usize::from(self.len)]
    }

    /// `Len(log)`.
    pub fn len(&self) -> Index {
        self.len
    }

    /// `log = <<>>`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `log[index]` for a 1-based `index`, or `None` outside `1..Len(log)`.
    pub fn get(&self, index: Index) -> Option<Entry> {
        index
            .checked_sub(1)
            .and_then(|k| self.as_slice().get(usize::from(k)).copied())
    }

    /// `LastTerm(log)`: the term of the last entry, or 0 if the log is empty.
    pub fn last_term(&self) -> Term {
        self.as_slice().last().map_or(0, |e| e.term)
    }

    /// Whether some entry carries `value`.
    pub fn holds_value(&self, value: Value) -> bool {
        self.as_slice().iter().any(|e| e.value == value)
    }

    /// `Append(log, entry)`.
    ///
    /// # Panics
    /// If the log already holds [`MAX_VALUES`] entries: a log that holds a value twice
    /// breaks the spec's own guard, and the model stops rather than drop an entry.
    pub fn append(&mut self, entry: Entry) {
        let k = usize::from(self.len);
        assert!(
            k < MAX_VALUES,
            "a log holds each value at most once, so at most {MAX_VALUES} entries"
        );
        self.entries[k] = entry;
        self.len += 1;
    }

    /// `[index \in 1..len |-> log[index]]`: the first `len` entries (`len <= Len(log)`).
    pub fn truncate(&mut self, len: Index) {
        assert!(len <= self.len, "TruncateLog keeps a prefix");
        for e in &mut self.entries[usize::from(len)..] {
            *e = Entry::default();
        }
        self.len = len;
    }
}

impl PartialEq for Log {
    fn eq(&self, other: &Log) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Log {}

impl Hash for Log {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h);
    }
}

impl PartialOrd for Log {
    fn partial_cmp(&self, other: &Log) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Log {
    fn cmp(&self, other: &Log) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// A message: the spec's records, with `mtype`'s four values as the body's variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msg {
    /// `mterm`.
    pub term: Term,
    /// `msource`.
    pub source: ServerId,
    /// `mdest`.
    pub dest: ServerId,
    /// `mtype` and the fields of that type.
    pub body: Body,
}

/// The fields that depend on a message's `mtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Body {
    /// `RequestVoteRequest`.
    RequestVoteRequest {
        /// `mlastLogTerm`.
        last_log_term: Term,
        /// `mlastLogIndex`.
        last_log_index: Index,
    },
    /// `RequestVoteResponse`.
    RequestVoteResponse {
        /// `mvoteGranted`.
        vote_granted: bool,
    },
    /// `AppendEntriesRequest`.
    AppendEntriesRequest {
        /// `mprevLogIndex`.
        prev_log_index: Index,
        /// `mprevLogTerm`.
        prev_log_term: Term,
        /// `mentries`: at most one entry (`None` is `<<>>`).
        entries: Option<Entry>,
        /// `mcommitIndex`.
        commit_index: Index,
    },
    /// `AppendEntriesResponse`.
    AppendEntriesResponse {
        /// `msuccess`.
        success: bool,
        /// `mmatchIndex`.
        match_index: Index,
    },
}

/// `messages`: a function from messages to delivery counts. A message stays in its domain
/// once sent, with count 0 after its last delivery, as in the spec: `_SendOnce` and
/// `SendMultipleOnce` refuse a message that was ever sent, and the domain is part of the
/// view. Kept sorted by message, so equal bags are equal vectors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Messages(Vec<(Msg, u8)>);

impl Messages {
    /// `messages[m]`, or `None` if `m \notin DOMAIN messages`.
    pub fn count(&self, m: &Msg) -> Option<u8> {
        self.0
            .binary_search_by(|(k, _)| k.cmp(m))
            .ok()
            .map(|at| self.0[at].1)
    }

    /// The domain with counts, in message order.
    pub fn iter(&self) -> impl Iterator<Item = (&Msg, u8)> {
        self.0.iter().map(|(m, c)| (m, *c))
    }

    /// How many messages are in the domain.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no message was ever sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `_SendNoRestriction(m)`: one more copy of `m`, adding it with count 1 if absent.
    pub fn send(&mut self, m: Msg) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&m)) {
            Ok(at) => {
                let c = &mut self.0[at].1;
                *c = c.checked_add(1).expect("a delivery count fits in a u8");
            }
            Err(at) => self.0.insert(at, (m, 1)),
        }
    }

    /// `Discard(m)`: one copy fewer; `m` stays in the domain.
    ///
    /// # Panics
    /// If `m` has no copy left: every caller's guard asks `messages[m] > 0`.
    pub fn discard(&mut self, m: &Msg) {
        let at = self
            .0
            .binary_search_by(|(k, _)| k.cmp(m))
            .expect("a discarded message is in the domain");
        let c = &mut self.0[at].1;
        *c = c
            .checked_sub(1)
            .expect("a discarded message has a copy left");
    }

    /// `Reply(response, request)`: discards `request` and sends `response`.
    pub fn reply(&mut self, response: Msg, request: &Msg) {
        self.discard(request);
        self.send(response);
    }

    /// The bag with every message replaced by `f(message)`; `f` must be injective.
    pub(super) fn map(&self, f: impl Fn(&Msg) -> Msg) -> Messages {
        let mut out: Vec<(Msg, u8)> = self.0.iter().map(|(m, c)| (f(m), *c)).collect();
        out.sort_unstable();
        Messages(out)
    }
}

/// A set of servers, one bit per [`ServerId`] (`votesGranted[i]`, `pendingResponse[i]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Servers(pub u8);

impl Servers {
    /// Whether `i` is in the set.
    pub fn contains(self, i: ServerId) -> bool {
        self.0 & (1 << i) != 0
    }

    /// The set with `i` added.
    pub fn with(self, i: ServerId) -> Servers {
        Servers(self.0 | (1 << i))
    }

    /// The set with `i` removed.
    pub fn without(self, i: ServerId) -> Servers {
        Servers(self.0 & !(1 << i))
    }

    /// `Cardinality`.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in increasing order.
    pub fn iter(self) -> impl Iterator<Item = ServerId> {
        (0..8).filter(move |&i| self.contains(i))
    }
}

/// One server's variables: `serverVars`, `candidateVars`, `leaderVars` and `logVars` at
/// index `i`. Every field is in the spec's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Server {
    // serverVars
    /// `currentTerm[i]`.
    pub current_term: Term,
    /// `state[i]`.
    pub state: ServerState,
    /// `votedFor[i]` (`None` is `Nil`).
    pub voted_for: Option<ServerId>,
    // candidateVars
    /// `votesGranted[i]`.
    pub votes_granted: Servers,
    // leaderVars
    /// `nextIndex[i]`, indexed by server; slots past the last server stay 0.
    pub next_index: [Index; MAX_SERVERS],
    /// `matchIndex[i]`, indexed by server; slots past the last server stay 0.
    pub match_index: [Index; MAX_SERVERS],
    /// `pendingResponse[i]`: the peers `i` awaits an AppendEntries response from.
    pub pending_response: Servers,
    // logVars
    /// `log[i]`.
    pub log: Log,
    /// `commitIndex[i]`.
    pub commit_index: Index,
}

impl Server {
    /// A server as `Init` sets it, in a cluster of `servers`.
    pub fn initial(servers: usize) -> Server {
        let mut next_index = [0; MAX_SERVERS];
        next_index[..servers].fill(1);
        Server {
            current_term: 1,
            state: ServerState::Follower,
            voted_for: None,
            votes_granted: Servers::default(),
            next_index,
            match_index: [0; MAX_SERVERS],
            pending_response: Servers::default(),
            log: Log::default(),
            commit_index: 0,
        }
    }
}

/// `acked[v]`: `Nil` until a leader appends `v`, then `FALSE` until a leader commits it,
/// then `TRUE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Acked {
    /// `Nil`: no client request for the value yet.
    #[default]
    Nil,
    /// `FALSE`: appended by a leader, not yet acknowledged to the client.
    False,
    /// `TRUE`: committed by a leader and acknowledged.
    True,
}

/// One state of the spec.
///
/// Its [`Hash`], the checker's fingerprint, covers exactly the spec's
/// `view == <<messages, serverVars, candidateVars, leaderVars, logVars>>`: two states that
/// differ only in the auxiliary variables `acked`, `electionCtr` and `restartCtr` are one
/// state, and the checker explores whichever it reaches first, as TLC does. Equality
/// compares every field, which is consistent with that hash (equal states hash equally).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VanlightlyState {
    /// `messages`.
    pub messages: Messages,
    /// The per-server variables, indexed by [`ServerId`].
    pub servers: Vec<Server>,
    // auxVars: not in the view
    /// `acked`, indexed by [`Value`]; slots past the last value stay `Nil`.
    pub acked: [Acked; MAX_VALUES],
    /// `electionCtr`: how many `RequestVote` steps were taken.
    pub election_ctr: u8,
    /// `restartCtr`: how many `Restart` steps were taken.
    pub restart_ctr: u8,
}

impl Hash for VanlightlyState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Naming every field makes a new one a compile error here until it is placed in
        // or out of the view.
        let VanlightlyState {
            messages,
            servers,
            acked: _,
            election_ctr: _,
            restart_ctr: _,
        } = self;
        messages.hash(h);
        servers.hash(h);
    }
}

impl VanlightlyState {
    /// `Init` for `servers` servers.
    pub fn initial(servers: usize) -> VanlightlyState {
        VanlightlyState {
            messages: Messages::default(),
            servers: vec![Server::initial(servers); servers],
            acked: [Acked::Nil; MAX_VALUES],
            election_ctr: 0,
            restart_ctr: 0,
        }
    }

    /// Server `i`.
    pub fn server(&self, i: ServerId) -> &Server {
        &self.servers[usize::from(i)]
    }

    /// Server `i`, to change.
    pub fn server_mut(&mut self, i: ServerId) -> &mut Server {
        &mut self.servers[usize::from(i)]
    }

    /// The server ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = ServerId> {
        0..self.servers.len() as ServerId
    }
}

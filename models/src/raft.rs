//! An abstract model of Raft's safety core (Ongaro & Ousterhout, "In Search of an
//! Understandable Consensus Algorithm", 2014, <https://raft.github.io/raft.pdf>).
//!
//! # Level of abstraction
//!
//! Messages are not modelled. Each action is one atomic step that stands for a whole
//! exchange, as in Schultz et al.'s abstract Raft specifications: an election by a quorum
//! is one step, and so is one AppendEntries round trip between a leader and one follower.
//! This is what makes the default bounds exhaustive while still reaching Figure 8 of the
//! paper, which needs four elections on three servers. A message-bag spec of the same
//! protocol passes millions of distinct states in TLC at two elections without finishing;
//! the message-level model (reordering, loss, duplication) is the implementation's job.
//!
//! What is abstracted away, and why it cannot hide a safety bug the model claims to catch:
//! - Votes for candidates that lose. A vote only ever restricts later votes, so leaving the
//!   losers out allows at least every election the real protocol allows.
//! - `nextIndex`/`matchIndex`. A leader sends the entry right after the longest prefix it
//!   shares with the follower, which is where `nextIndex` backtracking ends up.
//! - The state machine. A server "applies" the entries up to its `commitIndex`.
//!
//! # State, actions, properties
//!
//! Each server has `currentTerm`, `votedFor` and `log` (persistent) and `role` and
//! `commitIndex` (volatile). A log entry is written as its term: an entry is identified by
//! its index and term. History variables, read only by the properties, record every
//! leader of every term, every committed entry, what each restarted server had committed,
//! and the first time a leader's log did not grow by appending.
//!
//! | action | TLA+ counterpart | enabled when |
//! |---|---|---|
//! | `Timeout(i)` | `Timeout` | `i` is not leader and `currentTerm < max_term` |
//! | `BecomeLeader{i, voters}` | `RequestVote` + `BecomeLeader` | a quorum grants `i` its vote |
//! | `ClientRequest(i)` | `ClientRequest` | `i` leads and its log is shorter than `max_log` |
//! | `AppendEntries{i, j}` | `AppendEntries` + `HandleAppendEntriesRequest` | `i` leads, the step changes `j` |
//! | `AdvanceCommit{i, k}` | `AdvanceCommitIndex` | entry `k` of `i`'s term is on a quorum |
//! | `Restart(i)` | `Restart` | the restart loses something |
//!
//! Always: `ElectionSafety`, `LogMatching`, `LeaderCompleteness`, `StateMachineSafety`,
//! `LeaderAppendOnly` (Figure 3 of the paper). Sometimes: `LeaderElected`,
//! `EntryCommitted`, `LaterTermCommit`, `RestartedServerCatchesUp`: they show that the
//! bounds reach the states in which the safety properties have something to say.

use crate::{Protocol, Variant};
use im::{OrdMap, OrdSet};
use stateright::{Model, Property};
use std::fmt::Write as _;

/// A server's index, 0-based; printed as `n1`, `n2`, ...
pub type ServerId = usize;
/// A Raft term. Term 0 is the initial term, in which nobody leads.
pub type Term = u8;
/// A 1-based log index; 0 means "no entry".
pub type Index = usize;

/// The role a server plays in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Accepts entries from a leader and votes.
    Follower,
    /// Has started an election for its current term and voted for itself.
    Candidate,
    /// Won an election for its current term.
    Leader,
}

/// One server: the persistent state that survives [`RaftAction::Restart`] and the volatile
/// state that does not.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Server {
    // persistent state
    /// The latest term this server has seen.
    pub current_term: Term,
    /// The candidate this server voted for in `current_term`, if any.
    pub voted_for: Option<ServerId>,
    /// The log; entry `k` (1-based) is `log[k - 1]`, written as the term it was created in.
    pub log: Vec<Term>,
    // volatile state
    /// The server's role in `current_term`.
    pub role: Role,
    /// The highest index this server knows to be committed (and has applied).
    pub commit_index: Index,
}

/// A history record of the first time an index was committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Commit {
    /// The term of the entry that was committed at this index.
    pub entry_term: Term,
    /// The term of the leader that committed it.
    pub in_term: Term,
}

/// The whole cluster plus history variables.
///
/// The history variables grow monotonically and are read only by properties; they are
/// part of the state (and its fingerprint) because a property over the whole run needs them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RaftState {
    /// The servers, indexed by [`ServerId`].
    pub servers: Vec<Server>,
    // history variables
    /// Every (term, server) such that the server was leader of that term at some point.
    pub leaders: OrdSet<(Term, ServerId)>,
    /// The first entry ever committed at each index.
    pub committed: OrdMap<Index, Commit>,
    /// For each server that restarted with a non-zero `commitIndex`, what it had committed.
    pub restarted_commit: OrdMap<ServerId, Index>,
    /// The first server whose log changed other than by appending while it stayed leader,
    /// with its log before and after that step.
    pub leader_log_rewritten: Option<(ServerId, Vec<Term>, Vec<Term>)>,
}

/// One atomic step of the abstract protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftAction {
    /// The server's election timer fires: it starts a candidacy in the next term.
    Timeout(ServerId),
    /// The candidate collects votes from `voters` (a quorum that includes itself) and leads.
    BecomeLeader {
        /// The candidate that wins.
        candidate: ServerId,
        /// Every server that grants its vote, the candidate included, in increasing order.
        voters: Vec<ServerId>,
    },
    /// A client request reaches the leader, which appends it to its own log.
    ClientRequest(ServerId),
    /// One AppendEntries round trip: the leader sends the follower the entry after their
    /// longest common prefix (or a heartbeat), and the follower applies it.
    AppendEntries {
        /// The sender, a leader.
        leader: ServerId,
        /// The receiver.
        follower: ServerId,
    },
    /// The leader marks everything up to `index` committed.
    AdvanceCommit {
        /// The leader.
        leader: ServerId,
        /// The new commitIndex.
        index: Index,
    },
    /// The server crashes and restarts from its persistent state.
    Restart(ServerId),
}

/// The known-bug variants of this model. Each breaks at least one safety property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// A voter grants its vote without checking that the candidate's log is at least as
    /// up to date as its own (§5.4.1).
    VoteWithoutLogCheck,
    /// A leader commits an entry from an earlier term once it is on a quorum: Figure 8.
    CommitPreviousTerm,
    /// `votedFor` is kept in memory only, so a restarted server can vote twice in a term.
    ForgetVoteOnRestart,
    /// A follower appends the leader's entry without checking `prevLogTerm`.
    SkipPrevLogCheck,
    /// A leader handles AppendEntries from a deposed leader of an older term as a follower
    /// would, without stepping down: the term check lives only in the follower's handler.
    LeaderAcceptsStaleAppend,
}

impl Bug {
    /// Every variant, in the order `check list` prints them.
    pub const ALL: [Bug; 5] = [
        Bug::VoteWithoutLogCheck,
        Bug::CommitPreviousTerm,
        Bug::ForgetVoteOnRestart,
        Bug::SkipPrevLogCheck,
        Bug::LeaderAcceptsStaleAppend,
    ];

    /// The variant's name, summary and the properties it breaks.
    pub const fn variant(self) -> Variant {
        match self {
            Bug::VoteWithoutLogCheck => Variant {
                name: "vote-without-log-check",
                summary: "RequestVote is granted without the up-to-date log check (§5.4.1)",
                breaks: &["LeaderCompleteness", "StateMachineSafety"],
            },
            Bug::CommitPreviousTerm => Variant {
                name: "commit-previous-term",
                summary: "a leader commits an earlier term's entry by counting replicas (Figure 8)",
                breaks: &["LeaderCompleteness", "StateMachineSafety"],
            },
            Bug::ForgetVoteOnRestart => Variant {
                name: "forget-vote-on-restart",
                summary: "votedFor is not persisted, so a restarted server votes twice in a term",
                breaks: &["ElectionSafety"],
            },
            Bug::SkipPrevLogCheck => Variant {
                name: "skip-prev-log-check",
                summary: "a follower appends entries without checking prevLogIndex/prevLogTerm",
                breaks: &["LogMatching"],
            },
            Bug::LeaderAcceptsStaleAppend => Variant {
                name: "leader-accepts-stale-append",
                summary: "a leader applies AppendEntries from a deposed leader (term check only in the follower's handler)",
                breaks: &["LeaderAppendOnly"],
            },
        }
    }

    /// Looks a variant up by its command-line name.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.variant().name == name)
    }
}

/// Every bug variant's description, for the registry and `check list`.
pub const VARIANTS: [Variant; 5] = [
    Bug::ALL[0].variant(),
    Bug::ALL[1].variant(),
    Bug::ALL[2].variant(),
    Bug::ALL[3].variant(),
    Bug::ALL[4].variant(),
];

/// The model and its bounds. The configuration is the model, as in stateright's examples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftModel {
    /// Number of servers (1 to 5).
    pub servers: usize,
    /// No server starts a candidacy beyond this term.
    pub max_term: Term,
    /// No leader appends beyond this log length.
    pub max_log: usize,
    /// The bug variant to build, or `None` for the correct protocol.
    pub bug: Option<Bug>,
}

impl Default for RaftModel {
    /// The default bounds: 3 servers, 4 terms (enough for Figure 8), logs of 2 entries.
    fn default() -> Self {
        RaftModel {
            servers: 3,
            max_term: 4,
            max_log: 2,
            bug: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers over logs and servers.

fn last_term(log: &[Term]) -> Term {
    log.last().copied().unwrap_or(0)
}

/// §5.4.1: a candidate's log is at least as up to date as a voter's if its last term is
/// greater, or equal with a log at least as long.
fn at_least_as_up_to_date(candidate: &[Term], voter: &[Term]) -> bool {
    (last_term(candidate), candidate.len()) >= (last_term(voter), voter.len())
}

fn common_prefix_len(a: &[Term], b: &[Term]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn name(id: ServerId) -> String {
    format!("n{}", id + 1)
}

fn names(ids: impl IntoIterator<Item = ServerId>) -> String {
    ids.into_iter().map(name).collect::<Vec<_>>().join(", ")
}

fn show_log(log: &[Term]) -> String {
    let terms: Vec<String> = log.iter().map(|t| t.to_string()).collect();
    format!("[{}]", terms.join(","))
}

impl RaftModel {
    /// The number of servers that forms a majority.
    pub fn quorum(&self) -> usize {
        self.servers / 2 + 1
    }

    fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    /// Whether `voter` may grant `candidate` its vote for the candidate's current term.
    fn grants_vote(&self, s: &RaftState, candidate: ServerId, voter: ServerId) -> bool {
        let c = &s.servers[candidate];
        let v = &s.servers[voter];
        let free = v.current_term < c.current_term
            || (v.current_term == c.current_term && v.voted_for.is_none_or(|id| id == candidate));
        free && (self.has(Bug::VoteWithoutLogCheck) || at_least_as_up_to_date(&c.log, &v.log))
    }

    /// What `AppendEntries{leader, follower}` does to the follower, or `None` if the
    /// follower rejects it or nothing would change.
    fn append_entries(
        &self,
        s: &RaftState,
        leader: ServerId,
        follower: ServerId,
    ) -> Option<Server> {
        let l = &s.servers[leader];
        let f = &s.servers[follower];
        let stale = l.current_term < f.current_term;
        let buggy_leader = f.role == Role::Leader && self.has(Bug::LeaderAcceptsStaleAppend);
        if stale && !buggy_leader {
            return None; // "Reply false if term < currentTerm" (§5.1)
        }
        if f.current_term == l.current_term && f.role == Role::Leader {
            return None; // two leaders of one term: ElectionSafety is already broken
        }
        let mut next = f.clone();
        if !stale {
            // A server that sees a newer term, or a leader of its own term, follows it.
            if l.current_term > f.current_term {
                next.current_term = l.current_term;
                next.voted_for = None;
            }
            next.role = Role::Follower;
        }
        let prefix = common_prefix_len(&l.log, &f.log);
        let matched = if prefix < l.log.len() {
            if self.has(Bug::SkipPrevLogCheck) && f.log.len() < l.log.len() {
                // The leader sends the entry after the follower's last one, and the follower
                // appends it without checking that its previous entry matches.
                next.log.push(l.log[f.log.len()]);
            } else {
                // Truncate any conflicting suffix, then append the leader's next entry.
                next.log.truncate(prefix);
                next.log.push(l.log[prefix]);
            }
            next.log.len()
        } else {
            // A heartbeat: the follower's log extends the leader's. Entries past the
            // leader's log are kept, since nothing in this message conflicts with them.
            prefix
        };
        // "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last
        // new entry)" (Figure 2).
        next.commit_index = next.commit_index.max(l.commit_index.min(matched));
        (next != *f).then_some(next)
    }

    /// Whether the leader may mark index `k` committed.
    fn can_commit(&self, s: &RaftState, leader: ServerId, k: Index) -> bool {
        let l = &s.servers[leader];
        let replicas = s
            .servers
            .iter()
            .filter(|srv| srv.log.len() >= k && srv.log[k - 1] == l.log[k - 1])
            .count();
        // §5.4.2: only entries of the leader's own term are committed by counting replicas.
        let own_term = l.log[k - 1] == l.current_term;
        replicas >= self.quorum() && (own_term || self.has(Bug::CommitPreviousTerm))
    }

    fn restart(&self, srv: &Server) -> Server {
        Server {
            current_term: srv.current_term,
            voted_for: if self.has(Bug::ForgetVoteOnRestart) {
                None
            } else {
                srv.voted_for
            },
            log: srv.log.clone(),
            role: Role::Follower,
            commit_index: 0,
        }
    }

    /// Updates the history variables after a step from `old` to `new`.
    fn record_history(&self, old: &RaftState, new: &mut RaftState) {
        for (id, (before, after)) in old.servers.iter().zip(&new.servers).enumerate() {
            if after.role == Role::Leader {
                new.leaders.insert((after.current_term, id));
            }
            for k in before.commit_index + 1..=after.commit_index.min(after.log.len()) {
                new.committed.entry(k).or_insert(Commit {
                    entry_term: after.log[k - 1],
                    in_term: after.current_term,
                });
            }
            let rewritten = before.role == Role::Leader
                && after.role == Role::Leader
                && !after.log.starts_with(&before.log);
            if rewritten && new.leader_log_rewritten.is_none() {
                new.leader_log_rewritten = Some((id, before.log.clone(), after.log.clone()));
            }
        }
    }

    /// The property table: name, expectation and condition, in the order reports use.
    fn property_table() -> Vec<Property<Self>> {
        vec![
            Property::always("ElectionSafety", |_, s| {
                election_safety_violation(s).is_none()
            }),
            Property::always("LogMatching", |_, s| log_matching_violation(s).is_none()),
            Property::always("LeaderCompleteness", |_, s| {
                leader_completeness_violation(s).is_none()
            }),
            Property::always("StateMachineSafety", |_, s| {
                state_machine_safety_violation(s).is_none()
            }),
            Property::always("LeaderAppendOnly", |_, s: &RaftState| {
                s.leader_log_rewritten.is_none()
            }),
            Property::sometimes("LeaderElected", |_, s: &RaftState| {
                s.servers.iter().any(|srv| srv.role == Role::Leader)
            }),
            Property::sometimes("EntryCommitted", |_, s: &RaftState| !s.committed.is_empty()),
            Property::sometimes("LaterTermCommit", |_, s| later_term_commit(s).is_some()),
            Property::sometimes("RestartedServerCatchesUp", |_, s| caught_up(s).is_some()),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// Properties. Each returns the evidence of a violation (or example), so that `explain`
// and the property share one definition.

/// Two servers that led the same term, at any point in the run.
fn election_safety_violation(s: &RaftState) -> Option<(Term, ServerId, ServerId)> {
    let leaders: Vec<_> = s.leaders.iter().collect();
    leaders
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .map(|w| (w[0].0, w[0].1, w[1].1))
}

/// Two logs that hold the same (index, term) entry but differ before it.
fn log_matching_violation(s: &RaftState) -> Option<(ServerId, ServerId, Index)> {
    for (i, a) in s.servers.iter().enumerate() {
        for (j, b) in s.servers.iter().enumerate().skip(i + 1) {
            let prefix = common_prefix_len(&a.log, &b.log);
            let shared = a.log.len().min(b.log.len());
            if let Some(k) = (prefix..shared).find(|&k| a.log[k] == b.log[k]) {
                return Some((i, j, k + 1));
            }
        }
    }
    None
}

/// A leader that lacks an entry committed in an earlier term.
fn leader_completeness_violation(s: &RaftState) -> Option<(ServerId, Index, Commit)> {
    for (id, srv) in s.servers.iter().enumerate() {
        if srv.role != Role::Leader {
            continue;
        }
        for (&k, &c) in &s.committed {
            let has = srv.log.get(k - 1) == Some(&c.entry_term);
            if c.in_term < srv.current_term && !has {
                return Some((id, k, c));
            }
        }
    }
    None
}

/// A server that applied an entry other than the one first committed at that index.
fn state_machine_safety_violation(s: &RaftState) -> Option<(ServerId, Index, Term, Commit)> {
    for (id, srv) in s.servers.iter().enumerate() {
        for k in 1..=srv.commit_index {
            let Some(&c) = s.committed.get(&k) else {
                continue; // recorded when the index was committed; absent only mid-step
            };
            // A bug can truncate a log below its commitIndex: the applied entry is gone,
            // shown as term 0.
            let applied = srv.log.get(k - 1).copied().unwrap_or(0);
            if applied != c.entry_term {
                return Some((id, k, applied, c));
            }
        }
    }
    None
}

/// Two indices committed by leaders of different terms.
fn later_term_commit(s: &RaftState) -> Option<((Index, Commit), (Index, Commit))> {
    let first = s.committed.iter().next()?;
    let later = s
        .committed
        .iter()
        .find(|(_, c)| c.in_term > first.1.in_term)?;
    Some(((*first.0, *first.1), (*later.0, *later.1)))
}

/// A server that restarted with entries committed and has committed as far again.
fn caught_up(s: &RaftState) -> Option<(ServerId, Index)> {
    s.restarted_commit
        .iter()
        .find(|(id, k)| s.servers[**id].commit_index >= **k)
        .map(|(id, k)| (*id, *k))
}

// ---------------------------------------------------------------------------------------
// The next-state relation.

impl Model for RaftModel {
    type State = RaftState;
    type Action = RaftAction;

    fn init_states(&self) -> Vec<RaftState> {
        let server = Server {
            current_term: 0,
            voted_for: None,
            log: Vec::new(),
            role: Role::Follower,
            commit_index: 0,
        };
        vec![RaftState {
            servers: vec![server; self.servers],
            leaders: OrdSet::new(),
            committed: OrdMap::new(),
            restarted_commit: OrdMap::new(),
            leader_log_rewritten: None,
        }]
    }

    fn actions(&self, s: &RaftState, actions: &mut Vec<RaftAction>) {
        let n = self.servers;
        for (i, srv) in s.servers.iter().enumerate() {
            if srv.role != Role::Leader && srv.current_term < self.max_term {
                actions.push(RaftAction::Timeout(i));
            }
        }
        for (i, srv) in s.servers.iter().enumerate() {
            if srv.role != Role::Candidate {
                continue;
            }
            for mask in 0u32..(1 << n) {
                let voters: Vec<ServerId> = (0..n).filter(|j| mask & (1 << j) != 0).collect();
                let eligible = mask & (1 << i) != 0
                    && voters.len() >= self.quorum()
                    && voters.iter().all(|&j| j == i || self.grants_vote(s, i, j));
                if eligible {
                    actions.push(RaftAction::BecomeLeader {
                        candidate: i,
                        voters,
                    });
                }
            }
        }
        for (i, srv) in s.servers.iter().enumerate() {
            if srv.role != Role::Leader {
                continue;
            }
            if srv.log.len() < self.max_log {
                actions.push(RaftAction::ClientRequest(i));
            }
            for j in (0..n).filter(|&j| j != i) {
                if self.append_entries(s, i, j).is_some() {
                    actions.push(RaftAction::AppendEntries {
                        leader: i,
                        follower: j,
                    });
                }
            }
            for k in srv.commit_index + 1..=srv.log.len() {
                if self.can_commit(s, i, k) {
                    actions.push(RaftAction::AdvanceCommit {
                        leader: i,
                        index: k,
                    });
                }
            }
        }
        for (i, srv) in s.servers.iter().enumerate() {
            if self.restart(srv) != *srv {
                actions.push(RaftAction::Restart(i));
            }
        }
    }

    fn next_state(&self, s: &RaftState, action: RaftAction) -> Option<RaftState> {
        let mut next = s.clone();
        match action {
            RaftAction::Timeout(i) => {
                let srv = &mut next.servers[i];
                srv.current_term += 1;
                srv.role = Role::Candidate;
                srv.voted_for = Some(i);
            }
            RaftAction::BecomeLeader { candidate, voters } => {
                let term = s.servers[candidate].current_term;
                for j in voters {
                    let v = &mut next.servers[j];
                    v.current_term = term;
                    v.voted_for = Some(candidate);
                    v.role = Role::Follower;
                }
                next.servers[candidate].role = Role::Leader;
            }
            RaftAction::ClientRequest(i) => {
                let srv = &mut next.servers[i];
                srv.log.push(srv.current_term);
            }
            RaftAction::AppendEntries { leader, follower } => {
                next.servers[follower] = self.append_entries(s, leader, follower)?;
            }
            RaftAction::AdvanceCommit { leader, index } => {
                next.servers[leader].commit_index = index;
            }
            RaftAction::Restart(i) => {
                let before = s.servers[i].commit_index;
                next.servers[i] = self.restart(&s.servers[i]);
                if before > 0 {
                    next.restarted_commit.insert(i, before);
                }
            }
        }
        self.record_history(s, &mut next);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        Self::property_table()
    }
}

// ---------------------------------------------------------------------------------------
// Symmetry: servers are interchangeable, so a state and any renaming of its servers have
// the same future up to that renaming. The representative is the least renaming under
// `Ord`, which makes it canonical (equal for every member of the orbit).

impl RaftState {
    /// This state with server `i` renamed to `perm[i]` everywhere it appears.
    pub fn renamed(&self, perm: &[ServerId]) -> RaftState {
        let mut servers = self.servers.clone();
        for (i, srv) in self.servers.iter().enumerate() {
            let mut srv = srv.clone();
            srv.voted_for = srv.voted_for.map(|v| perm[v]);
            servers[perm[i]] = srv;
        }
        RaftState {
            servers,
            leaders: self.leaders.iter().map(|&(t, id)| (t, perm[id])).collect(),
            committed: self.committed.clone(),
            restarted_commit: self
                .restarted_commit
                .iter()
                .map(|(&id, &k)| (perm[id], k))
                .collect(),
            leader_log_rewritten: self
                .leader_log_rewritten
                .as_ref()
                .map(|(id, a, b)| (perm[*id], a.clone(), b.clone())),
        }
    }

    /// The canonical member of this state's symmetry class.
    ///
    /// Servers are first sorted by everything about them that does not name another server;
    /// only servers that tie on that key are tried in every order, so most states cost one
    /// renaming instead of `n!`.
    pub fn representative(&self) -> RaftState {
        let key = |i: ServerId| {
            let srv = &self.servers[i];
            let vote = srv.voted_for.map(|v| v == i);
            (srv.current_term, srv.role, &srv.log, srv.commit_index, vote)
        };
        let mut order: Vec<ServerId> = (0..self.servers.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(&key(b)));
        let mut best: Option<RaftState> = None;
        for_each_tie_order(&mut order, 0, &|a, b| key(a) == key(b), &mut |order| {
            // order[p] is the server that moves to position p.
            let mut perm = vec![0; order.len()];
            for (p, &id) in order.iter().enumerate() {
                perm[id] = p;
            }
            let candidate = self.renamed(&perm);
            if best.as_ref().is_none_or(|b| candidate < *b) {
                best = Some(candidate);
            }
        });
        best.expect("at least one ordering")
    }
}

/// Calls `visit` with every reordering of `order[from..]` that permutes only runs of
/// adjacent elements that are `tied`.
fn for_each_tie_order(
    order: &mut [ServerId],
    from: usize,
    tied: &dyn Fn(ServerId, ServerId) -> bool,
    visit: &mut dyn FnMut(&[ServerId]),
) {
    if from >= order.len() {
        visit(order);
        return;
    }
    let end = (from + 1..order.len())
        .find(|&j| !tied(order[from], order[j]))
        .unwrap_or(order.len());
    permute_run(order, end, from, tied, visit);
}

fn permute_run(
    order: &mut [ServerId],
    end: usize,
    at: usize,
    tied: &dyn Fn(ServerId, ServerId) -> bool,
    visit: &mut dyn FnMut(&[ServerId]),
) {
    if at + 1 >= end {
        for_each_tie_order(order, end, tied, visit);
        return;
    }
    for k in at..end {
        order.swap(at, k);
        permute_run(order, end, at + 1, tied, visit);
        order.swap(at, k);
    }
}

impl stateright::Representative for RaftState {
    fn representative(&self) -> Self {
        RaftState::representative(self)
    }
}

/// Every permutation of `0..n`, in lexicographic order.
#[cfg(test)]
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn extend(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for x in 0..n {
            if !prefix.contains(&x) {
                prefix.push(x);
                extend(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    extend(&mut Vec::new(), n, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Protocol words.

impl Protocol for RaftModel {
    fn describe_action(&self, s: &RaftState, action: &RaftAction) -> String {
        match action {
            RaftAction::Timeout(i) => format!(
                "{} times out and starts an election for term {}",
                name(*i),
                s.servers[*i].current_term + 1
            ),
            RaftAction::BecomeLeader { candidate, voters } => {
                let c = &s.servers[*candidate];
                format!(
                    "{} wins term {}: RequestVote{{term: {}, lastLogIndex: {}, lastLogTerm: {}}} granted by {}",
                    name(*candidate),
                    c.current_term,
                    c.current_term,
                    c.log.len(),
                    last_term(&c.log),
                    names(voters.iter().copied())
                )
            }
            RaftAction::ClientRequest(i) => {
                let srv = &s.servers[*i];
                format!(
                    "client -> {} Request; leader appends entry {{index: {}, term: {}}}",
                    name(*i),
                    srv.log.len() + 1,
                    srv.current_term
                )
            }
            RaftAction::AppendEntries { leader, follower } => {
                let l = &s.servers[*leader];
                let f = &s.servers[*follower];
                let prefix = common_prefix_len(&l.log, &f.log);
                let prev = if self.has(Bug::SkipPrevLogCheck) && prefix < l.log.len() {
                    f.log.len().min(l.log.len() - 1)
                } else {
                    prefix
                };
                let entries = match l.log.get(prev) {
                    Some(t) => format!("[{{index: {}, term: {}}}]", prev + 1, t),
                    None => "[]".to_string(),
                };
                format!(
                    "{} -> {} AppendEntries{{term: {}, prevLogIndex: {}, prevLogTerm: {}, entries: {}, leaderCommit: {}}}",
                    name(*leader),
                    name(*follower),
                    l.current_term,
                    prev,
                    if prev == 0 { 0 } else { l.log[prev - 1] },
                    entries,
                    l.commit_index
                )
            }
            RaftAction::AdvanceCommit { leader, index } => {
                let l = &s.servers[*leader];
                let holders = (0..self.servers).filter(|&j| {
                    let log = &s.servers[j].log;
                    log.len() >= *index && log[index - 1] == l.log[index - 1]
                });
                format!(
                    "{} (leader, term {}) commits index {} (entry of term {}), stored on {}",
                    name(*leader),
                    l.current_term,
                    index,
                    l.log[index - 1],
                    names(holders)
                )
            }
            RaftAction::Restart(i) => format!(
                "{} crashes and restarts from its persistent state",
                name(*i)
            ),
        }
    }

    fn fields(&self, s: &RaftState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (id, srv) in s.servers.iter().enumerate() {
            let n = name(id);
            let voted = srv.voted_for.map(name).unwrap_or_else(|| "-".into());
            let role = format!("{:?}", srv.role).to_lowercase();
            out.push((format!("{n}.currentTerm"), srv.current_term.to_string()));
            out.push((format!("{n}.votedFor"), voted));
            out.push((format!("{n}.role"), role));
            out.push((format!("{n}.log"), show_log(&srv.log)));
            out.push((format!("{n}.commitIndex"), srv.commit_index.to_string()));
        }
        let mut leaders = String::new();
        for (t, id) in &s.leaders {
            let _ = write!(leaders, "{}term {}: {}", sep(&leaders), t, name(*id));
        }
        let mut committed = String::new();
        for (k, c) in &s.committed {
            let _ = write!(
                committed,
                "{}index {}: term-{} entry (in term {})",
                sep(&committed),
                k,
                c.entry_term,
                c.in_term
            );
        }
        out.push(("history.leaders".into(), or_none(leaders)));
        out.push(("history.committed".into(), or_none(committed)));
        out
    }

    fn explain(&self, property: &str, s: &RaftState) -> Vec<String> {
        let line = match property {
            "ElectionSafety" => election_safety_violation(s)
                .map(|(t, a, b)| format!("{} and {} both led term {}", name(a), name(b), t)),
            "LogMatching" => log_matching_violation(s).map(|(a, b, k)| {
                format!(
                    "{} {} and {} {} hold the same entry at index {} but differ before it",
                    name(a),
                    show_log(&s.servers[a].log),
                    name(b),
                    show_log(&s.servers[b].log),
                    k
                )
            }),
            "LeaderCompleteness" => leader_completeness_violation(s).map(|(id, k, c)| {
                format!(
                    "{} leads term {} with log {}, which lacks the term-{} entry committed at index {} in term {}",
                    name(id),
                    s.servers[id].current_term,
                    show_log(&s.servers[id].log),
                    c.entry_term,
                    k,
                    c.in_term
                )
            }),
            "StateMachineSafety" => state_machine_safety_violation(s).map(|(id, k, t, c)| {
                format!(
                    "{} applied a term-{} entry at index {}, where a term-{} entry was applied before",
                    name(id),
                    t,
                    k,
                    c.entry_term
                )
            }),
            "LeaderAppendOnly" => s.leader_log_rewritten.as_ref().map(|(id, a, b)| {
                format!(
                    "leader {}'s log went from {} to {} while it stayed leader",
                    name(*id),
                    show_log(a),
                    show_log(b)
                )
            }),
            "LeaderElected" => s
                .servers
                .iter()
                .position(|srv| srv.role == Role::Leader)
                .map(|id| format!("{} leads term {}", name(id), s.servers[id].current_term)),
            "EntryCommitted" => s.committed.iter().next().map(|(k, c)| {
                format!("index {} committed in term {}", k, c.in_term)
            }),
            "LaterTermCommit" => later_term_commit(s).map(|((k1, c1), (k2, c2))| {
                format!(
                    "index {} committed in term {}, then index {} in term {}",
                    k1, c1.in_term, k2, c2.in_term
                )
            }),
            "RestartedServerCatchesUp" => caught_up(s).map(|(id, k)| {
                format!(
                    "{} restarted with commitIndex {} and has committed up to {} again",
                    name(id),
                    k,
                    s.servers[id].commit_index
                )
            }),
            _ => None,
        };
        line.into_iter().collect()
    }
}

fn sep(s: &str) -> &'static str {
    if s.is_empty() {
        ""
    } else {
        "; "
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Checker;

    /// Small enough for a debug build, large enough to reach every `sometimes` property.
    fn small() -> RaftModel {
        RaftModel {
            servers: 3,
            max_term: 2,
            max_log: 2,
            bug: None,
        }
    }

    #[test]
    fn representative_is_canonical_across_renamings() {
        let model = RaftModel::default();
        let s0 = &model.init_states()[0];
        let s1 = model.next_state(s0, RaftAction::Timeout(2)).unwrap();
        let s2 = model
            .next_state(
                &s1,
                RaftAction::BecomeLeader {
                    candidate: 2,
                    voters: vec![0, 2],
                },
            )
            .unwrap();
        for perm in permutations(3) {
            assert_eq!(s2.renamed(&perm).representative(), s2.representative());
        }
    }

    #[test]
    fn state_counts_are_pinned_and_agree_across_strategies() {
        // A changed count is a question for review: it means the model changed.
        let dfs = small().checker().threads(2).spawn_dfs().join();
        let bfs = small().checker().threads(2).spawn_bfs().join();
        let sym = small().checker().threads(2).symmetry().spawn_dfs().join();
        dfs.assert_properties();
        sym.assert_properties();
        assert_eq!(dfs.unique_state_count(), bfs.unique_state_count());
        assert_eq!(dfs.unique_state_count(), PLAIN_3_2_2);
        assert_eq!(sym.unique_state_count(), SYMMETRIC_3_2_2);
    }

    /// Unique states of 3 servers, max term 2, max log 2.
    const PLAIN_3_2_2: usize = 199_079;
    /// The same with symmetry reduction over servers.
    const SYMMETRIC_3_2_2: usize = 33_428;

    #[test]
    fn figure_8_of_the_paper_is_reached_with_the_buggy_commit_rule() {
        // Figure 8 on three servers: n1 leads term 1 and writes a term-1 entry; n2 leads
        // term 2; n1 comes back in term 3, copies its entry to n3 and, counting replicas,
        // commits it. n2 restarts, wins term 4 with its term-2 entry, and lacks it.
        let model = RaftModel {
            bug: Some(Bug::CommitPreviousTerm),
            ..RaftModel::default()
        };
        use RaftAction::*;
        let elect = |c, v: [usize; 2]| BecomeLeader {
            candidate: c,
            voters: v.to_vec(),
        };
        let append = |l, f| AppendEntries {
            leader: l,
            follower: f,
        };
        #[rustfmt::skip]
        let steps = vec![
            Timeout(0), elect(0, [0, 1]),
            Timeout(1), elect(1, [1, 2]),
            ClientRequest(0), append(1, 0),
            Timeout(0), elect(0, [0, 2]), append(0, 2),
            AdvanceCommit { leader: 0, index: 1 },
            ClientRequest(1), Restart(1), Timeout(1), Timeout(1), elect(1, [0, 1]),
        ];
        let mut s = model.init_states().remove(0);
        for a in steps {
            let mut enabled = Vec::new();
            model.actions(&s, &mut enabled);
            assert!(enabled.contains(&a), "{a:?} not enabled in {s:?}");
            s = model.next_state(&s, a).unwrap();
        }
        assert_eq!(
            model.explain("LeaderCompleteness", &s),
            vec!["n2 leads term 4 with log [2], which lacks the term-1 entry committed at index 1 in term 3"]
        );
        // The correct commit rule refuses step 10: the entry is not from the leader's term.
        let correct = RaftModel::default();
        let mut s = correct.init_states().remove(0);
        #[rustfmt::skip]
        let prefix = vec![
            Timeout(0), elect(0, [0, 1]), Timeout(1), elect(1, [1, 2]),
            ClientRequest(0), append(1, 0), Timeout(0), elect(0, [0, 2]), append(0, 2),
        ];
        for a in prefix {
            s = correct.next_state(&s, a).unwrap();
        }
        let mut enabled = Vec::new();
        correct.actions(&s, &mut enabled);
        assert!(!enabled.contains(&AdvanceCommit {
            leader: 0,
            index: 1
        }));
    }

    #[test]
    fn restart_keeps_persistent_state_and_loses_volatile_state() {
        let srv = Server {
            current_term: 3,
            voted_for: Some(1),
            log: vec![1, 3],
            role: Role::Leader,
            commit_index: 2,
        };
        let after = RaftModel::default().restart(&srv);
        assert_eq!(
            (after.current_term, after.voted_for, &after.log),
            (3, Some(1), &vec![1, 3])
        );
        assert_eq!((after.role, after.commit_index), (Role::Follower, 0));
        let buggy = RaftModel {
            bug: Some(Bug::ForgetVoteOnRestart),
            ..RaftModel::default()
        };
        assert_eq!(buggy.restart(&srv).voted_for, None);
    }

    #[test]
    fn every_variant_has_a_distinct_name_that_round_trips() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.variant().name), Some(bug));
        }
        assert_eq!(Bug::from_name("nosuch"), None);
    }
}

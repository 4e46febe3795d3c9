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
//! What is abstracted away, and why:
//! - Votes for candidates that lose. A vote only ever restricts later votes, so leaving the
//!   losers out allows at least every election the real protocol allows. The other effect
//!   of a losing candidacy, spreading its term, is `UpdateTerm`.
//! - `nextIndex`. A leader sends the entry right after the longest prefix it shares with
//!   the follower, which is where `nextIndex` backtracking ends up. `matchIndex` is kept:
//!   a leader commits on acknowledgements it received, not on what logs hold now (a
//!   follower may hold the entry from another leader and never have acknowledged it).
//! - The state machine. A server "applies" the entries up to its `commitIndex`.
//!
//! # State, actions, properties
//!
//! Each server has `currentTerm`, `votedFor` and `log` (persistent), `role` and
//! `commitIndex` (volatile), and, while it leads, `matchIndex`. A log entry is written as its term: an entry is identified by
//! its index and term. History variables, read only by the properties, record every
//! leader of every term, every committed entry, what each restarted server had committed,
//! and the first time a leader's log did not grow by appending.
//!
//! | action | TLA+ counterpart | enabled when |
//! |---|---|---|
//! | `Timeout(i)` | `Timeout` | `i` is not leader and `currentTerm < max_term` |
//! | `BecomeLeader{i, voters}` | `RequestVote` + `BecomeLeader` | a quorum grants `i` its vote |
//! | `ClientRequest(i)` | `ClientRequest` | `i` leads and its log is shorter than `max_log` |
//! | `AppendEntries{i, j}` | `AppendEntries` + its request and response handlers | `i` leads, the step changes `j` or `i`'s `matchIndex[j]` |
//! | `AdvanceCommit{i, k}` | `AdvanceCommitIndex` | entry `k` of `i`'s term is acknowledged by a quorum |
//! | `UpdateTerm{i, j}` | `UpdateTerm` (any message) | `i`'s term is higher than `j`'s |
//! | `Restart(i)` | `Restart` | the restart loses something |
//!
//! Always: `ElectionSafety`, `LogMatching`, `LeaderCompleteness`, `StateMachineSafety`,
//! `LeaderAppendOnly` (Figure 3 of the paper).
//!
//! Sometimes: witnesses that the bounds reach the states in which the safety properties
//! have something to say. A model that silently loses one of these behaviours (a bound
//! too small, a step that no longer fires, a rule that no longer refuses) fails the run
//! instead of passing vacuously. Each is reached at the default bounds and at 3 servers,
//! max term 2, max log 2 (the unit tests' configuration).
//!
//! | witness | behaviour | the safety property that needs it |
//! |---|---|---|
//! | `LeaderElected` | some server leads | all: without a leader nothing happens |
//! | `EntryCommitted` | an index is committed | `StateMachineSafety`, `LeaderCompleteness` |
//! | `LaterTermCommit` | leaders of two terms commit | `LeaderCompleteness` across terms |
//! | `RestartedServerCatchesUp` | a restarted server re-learns its commits | `StateMachineSafety` over restarts |
//! | `ConflictingEntryOverwritten` | a leader's AppendEntries truncates a follower's conflicting entry and replaces it (Figure 7) | `LogMatching`, `StateMachineSafety`: the repair must keep them |
//! | `VoteRefusedForStaleLog` | a voter free to vote refuses a candidate whose log is less up to date (§5.4.1) | `LeaderCompleteness` |
//! | `StaleLeaderStepsDown` | a deposed leader learns a higher term and becomes a follower | `LeaderAppendOnly`: only a leader that stepped down may have its log rewritten |
//! | `CommittedEntryInLaterLeader` | a leader of a later term, not the server that committed it, holds an entry committed in an earlier term | `LeaderCompleteness` (its non-vacuous case) |
//! | `EarlierTermEntryWaits` | a leader has an earlier term's entry on a quorum and §5.4.2 refuses to commit it by counting (Figure 8) | `LeaderCompleteness`, `StateMachineSafety` |
//! | `EarlierTermEntryCommittedIndirectly` | that entry is committed with a later entry of the leader's own term | `StateMachineSafety`: the earlier entry is applied |
//!
//! The witnesses that name a step (`ConflictingEntryOverwritten`, `StaleLeaderStepsDown`)
//! are states from which the step is enabled, with its result computed by
//! [`Model::next_state`]; the exhaustive search takes every enabled step, so the result
//! is reached too. They are state predicates rather than history flags so that they
//! add no states.

pub mod messages;
mod properties;
mod symmetry;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thresholds;
pub mod vanlightly;
mod words;

use crate::Variant;
use im::{OrdMap, OrdSet};
use stateright::{Model, Property};

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
    // leader state
    /// For each server, the highest index it acknowledged replicating in this leader's
    /// term (Figure 2's `matchIndex`). Empty unless this server leads.
    pub match_index: Vec<Index>,
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
#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
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
    /// `to` learns `from`'s higher term from any message (a RequestVote of a candidate
    /// that may lose, a reply) and becomes a follower of that term, with no vote cast.
    UpdateTerm {
        /// The server whose term is higher.
        from: ServerId,
        /// The server that adopts it.
        to: ServerId,
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

/// What `check all` and this crate's tests hold [`RaftModel::default`] to: 3 servers, max
/// term 4, max log 2, explored depth-first with symmetry reduction over servers
/// ([`RaftState::representative`]). Changes only with the model's actions or state.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(6_659_569);

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

pub(crate) fn last_term(log: &[Term]) -> Term {
    log.last().copied().unwrap_or(0)
}

/// §5.4.1: a candidate's log is at least as up to date as a voter's if its last term is
/// greater, or equal with a log at least as long.
fn at_least_as_up_to_date(candidate: &[Term], voter: &[Term]) -> bool {
    (last_term(candidate), candidate.len()) >= (last_term(voter), voter.len())
}

pub(crate) fn common_prefix_len(a: &[Term], b: &[Term]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl RaftModel {
    /// The number of servers that forms a majority.
    pub fn quorum(&self) -> usize {
        self.servers / 2 + 1
    }

    fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    /// Whether `voter` has no vote in the candidate's term that rules the candidate out:
    /// its term is older, or it has not voted in this term, or it voted for the candidate.
    /// Split from [`Self::grants_vote`] so that the `VoteRefusedForStaleLog` witness can
    /// tell a refusal by the log check from one by the term.
    fn vote_free(&self, s: &RaftState, candidate: ServerId, voter: ServerId) -> bool {
        let c = &s.servers[candidate];
        let v = &s.servers[voter];
        v.current_term < c.current_term
            || (v.current_term == c.current_term && v.voted_for.is_none_or(|id| id == candidate))
    }

    /// Whether `voter` may grant `candidate` its vote for the candidate's current term.
    fn grants_vote(&self, s: &RaftState, candidate: ServerId, voter: ServerId) -> bool {
        let c = &s.servers[candidate];
        let v = &s.servers[voter];
        self.vote_free(s, candidate, voter)
            && (self.has(Bug::VoteWithoutLogCheck) || at_least_as_up_to_date(&c.log, &v.log))
    }

    /// What `AppendEntries{leader, follower}` does: the follower's new state and the index
    /// it acknowledges, or `None` if the follower rejects it or nothing would change (at
    /// the follower or in the leader's `matchIndex`).
    fn append_entries(
        &self,
        s: &RaftState,
        leader: ServerId,
        follower: ServerId,
    ) -> Option<(Server, Index)> {
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
            next.match_index.clear();
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
        let learns = l.match_index[follower] < matched;
        (next != *f || learns).then_some((next, matched))
    }

    /// Whether a quorum, the leader included, has acknowledged the leader's index `k`.
    /// Split from [`Self::can_commit`] so that the `EarlierTermEntryWaits` witness can tell
    /// a refusal by §5.4.2 from a missing quorum.
    fn acknowledged_by_quorum(&self, s: &RaftState, leader: ServerId, k: Index) -> bool {
        let l = &s.servers[leader];
        // The leader holds entry k itself; the others count once they acknowledged it.
        let acknowledged = l
            .match_index
            .iter()
            .enumerate()
            .filter(|&(j, &m)| j != leader && m >= k)
            .count();
        1 + acknowledged >= self.quorum()
    }

    /// Whether the leader may mark index `k` committed.
    fn can_commit(&self, s: &RaftState, leader: ServerId, k: Index) -> bool {
        let l = &s.servers[leader];
        // §5.4.2: only entries of the leader's own term are committed by counting replicas.
        let own_term = l.log[k - 1] == l.current_term;
        self.acknowledged_by_quorum(s, leader, k) && (own_term || self.has(Bug::CommitPreviousTerm))
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
            match_index: Vec::new(),
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
            match_index: Vec::new(),
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
        for (i, from) in s.servers.iter().enumerate() {
            for (j, to) in s.servers.iter().enumerate() {
                if from.current_term > to.current_term {
                    actions.push(RaftAction::UpdateTerm { from: i, to: j });
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
                    v.match_index.clear();
                }
                let c = &mut next.servers[candidate];
                c.role = Role::Leader;
                c.match_index = vec![0; self.servers];
            }
            RaftAction::ClientRequest(i) => {
                let srv = &mut next.servers[i];
                srv.log.push(srv.current_term);
            }
            RaftAction::AppendEntries { leader, follower } => {
                let (f, matched) = self.append_entries(s, leader, follower)?;
                next.servers[follower] = f;
                let m = &mut next.servers[leader].match_index[follower];
                *m = (*m).max(matched);
            }
            RaftAction::AdvanceCommit { leader, index } => {
                next.servers[leader].commit_index = index;
            }
            RaftAction::UpdateTerm { from, to } => {
                let t = &mut next.servers[to];
                t.current_term = s.servers[from].current_term;
                t.voted_for = None;
                t.role = Role::Follower;
                t.match_index.clear();
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
        properties::table()
    }

    /// The Explorer's name for an action, e.g. `n1 -> n2 AppendEntries`.
    fn format_action(&self, action: &RaftAction) -> String {
        action.to_string()
    }

    /// The Explorer's view of a step: what it does in protocol words, then the next state.
    fn format_step(&self, last: &RaftState, action: RaftAction) -> Option<String> {
        crate::explorer_step(self, last, action)
    }
}

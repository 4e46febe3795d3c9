//! Time and leadership: the logical clock, the randomised election timer, campaigns with
//! and without PreVote (thesis §9.6), votes (§5.2, §5.4.1), CheckQuorum (thesis §6.2)
//! and the role transitions.

use super::node::{Node, Out, Progress};
use super::{Bug, Index, Message, ReadMode, Role, Term};
use crate::raft::NodeId;

impl Node {
    /// One tick of the logical clock.
    pub(super) fn tick(&mut self, out: &mut Out) {
        self.ticks += 1;
        self.election_elapsed = self.election_elapsed.saturating_add(1);
        if self.role == Role::Leader {
            self.heartbeat_elapsed = self.heartbeat_elapsed.saturating_add(1);
            if self.election_elapsed >= self.config.election_ticks {
                self.election_elapsed = 0;
                self.check_quorum();
            }
            if self.role == Role::Leader && self.heartbeat_elapsed >= self.config.heartbeat_ticks {
                self.heartbeat_elapsed = 0;
                self.heartbeat_round();
                self.broadcast_append(out);
            }
        } else if self.election_elapsed >= self.election_timeout() {
            self.campaign(out);
        }
    }

    /// A full election timeout has elapsed now (see [`super::Input::Timeout`]).
    pub(super) fn timeout(&mut self, out: &mut Out) {
        if self.role == Role::Leader {
            self.election_elapsed = 0;
            self.check_quorum();
        } else {
            self.campaign(out);
        }
    }

    /// Whether this node heard from a leader of its term within the (base) election
    /// timeout, with CheckQuorum on: then it drops (pre-)vote requests of higher terms, so
    /// a server that lost touch with a live leader cannot depose it. A leader is in its
    /// own lease (etcd's `inLease`).
    ///
    /// With read leases, a server that has just (re)started is in a lease too, for its
    /// first election timeout: it may have acknowledged a leader's heartbeat before it
    /// crashed, and that leader counts on it not voting for anyone else for that long.
    pub(super) fn in_lease(&self) -> bool {
        let just_started = self.config.read_mode == ReadMode::Lease
            && self.role == Role::Follower
            && self.ticks < u64::from(self.config.election_ticks);
        self.config.check_quorum
            && (self.leader.is_some() || just_started)
            && self.election_elapsed < self.config.election_ticks
    }

    /// A leasing leader starts a round with every heartbeat, so that its lease is renewed
    /// from the time of the latest heartbeat a majority answered. With ReadIndex only
    /// reads start rounds.
    pub(super) fn heartbeat_round(&mut self) {
        if self.config.read_mode == ReadMode::Lease {
            self.start_round();
        }
    }

    /// Restarts the election timer with a fresh randomised timeout. The draw is a pure
    /// function of the entropy, the id and the ticks seen, so resets between two ticks
    /// draw the same value and an untimed model sees no changing state. Only the tick
    /// count is stored: the timeout itself is recomputed from it, so renaming a node
    /// (symmetry) gives exactly the state a server of the new id would have.
    pub(super) fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        self.timer_drawn_at = self.ticks;
    }

    /// The randomised election timeout drawn at the last reset, in
    /// `[election_ticks, 2 * election_ticks)`.
    pub(super) fn drawn_election_timeout(&self) -> u32 {
        let base = self.config.election_ticks.max(1);
        // Hash the entropy before mixing the id in: with `entropy ^ id`, server 1 with
        // entropy e would draw exactly what server 0 draws with e ^ 1, so a driver that
        // seeds server i with `seed ^ i` would give every server the same timeouts.
        let seed = splitmix64(splitmix64(self.config.entropy) ^ u64::from(self.id()));
        let mix = splitmix64(seed ^ self.timer_drawn_at);
        base + (mix % u64::from(base)) as u32
    }

    /// The election timer ran out: start a pre-vote round, or an election without PreVote.
    fn campaign(&mut self, out: &mut Out) {
        if self.config.pre_vote {
            self.become_pre_candidate(out);
        } else {
            self.become_candidate(out);
        }
    }

    /// The leader's CheckQuorum round: it steps down unless a majority (itself included)
    /// was heard from since the last round, so a leader cut off from the majority stops
    /// acting as one (and stops holding its followers' leases) within an election timeout.
    fn check_quorum(&mut self) {
        if !self.config.check_quorum {
            return;
        }
        let id = self.id() as usize;
        let active = self
            .progress
            .iter()
            .enumerate()
            .filter(|&(i, p)| i == id || p.active)
            .count();
        for p in &mut self.progress {
            p.active = false;
        }
        if active < self.config.quorum() {
            self.become_follower(self.term, None);
        }
    }

    /// Becomes a follower in `term` (raising the term forgets the vote) of `leader`.
    ///
    /// The election timer restarts only when a leader is heard from or a leader steps
    /// down (its timer counted CheckQuorum rounds), not when a term is merely adopted:
    /// Figure 2 restarts it on an AppendEntries from the current leader or a granted
    /// vote. Otherwise a server whose log is too stale to win, timing out again and
    /// again, would keep restarting the timers of the servers that could win, and on a
    /// slow network no election would ever finish.
    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        assert!(
            term >= self.term,
            "invalid transition: term {} -> {term}",
            self.term
        );
        if term > self.term {
            self.term = term;
            self.voted_for = None;
        }
        let was_leader = self.role == Role::Leader;
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
        self.progress.clear();
        if was_leader || leader.is_some() {
            self.reset_election_timer();
        }
    }

    /// Asks for pre-votes for `term + 1`, changing neither term nor vote.
    fn become_pre_candidate(&mut self, out: &mut Out) {
        assert!(
            self.role != Role::Leader,
            "invalid transition [leader -> pre-candidate]"
        );
        self.role = Role::PreCandidate;
        self.leader = None;
        self.start_tally();
        self.reset_election_timer();
        if !self.tally_and_maybe_win(out) {
            self.request_votes(true, out);
        }
    }

    /// Raises the term, votes for itself and asks every peer for its vote. The vote is
    /// persisted (by `step`) before the requests leave.
    fn become_candidate(&mut self, out: &mut Out) {
        assert!(
            self.role != Role::Leader,
            "invalid transition [leader -> candidate]"
        );
        self.term += 1;
        self.voted_for = Some(self.id());
        self.role = Role::Candidate;
        self.leader = None;
        self.start_tally();
        self.reset_election_timer();
        if !self.tally_and_maybe_win(out) {
            self.request_votes(false, out);
        }
    }

    /// Takes leadership of the current term: `nextIndex` just past its log, `matchIndex`
    /// 0, and a no-op entry of its own term, whose commitment commits every earlier entry
    /// (a leader may count replicas only for entries of its own term, Figure 8).
    fn become_leader(&mut self, out: &mut Out) {
        assert!(
            self.role == Role::Candidate,
            "invalid transition [{:?} -> leader]",
            self.role
        );
        self.role = Role::Leader;
        self.leader = Some(self.id());
        self.votes.clear();
        let next = self.last_index() + 1;
        self.progress = vec![
            Progress {
                next,
                matched: 0,
                active: false,
                acked_round: 0,
                acked_at: 0,
            };
            self.config.servers as usize
        ];
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.round = 0;
        self.recent_rounds.clear();
        self.append_own(Vec::new(), out);
        self.broadcast_append(out);
        self.maybe_commit(out);
    }

    /// Clears the votes and counts this node's own.
    fn start_tally(&mut self) {
        self.votes = vec![None; self.config.servers as usize];
        let id = self.id() as usize;
        self.votes[id] = Some(true);
    }

    /// Sends this round's (pre-)vote request to every peer.
    fn request_votes(&mut self, pre_vote: bool, out: &mut Out) {
        let term = if pre_vote { self.term + 1 } else { self.term };
        let request = Message::RequestVote {
            term,
            last_log_index: self.last_index(),
            last_log_term: self.last_term(),
            pre_vote,
        };
        for peer in self.peers() {
            out.send(peer, request.clone());
        }
    }

    /// Counts the votes: with a majority granted, a pre-candidate starts the real
    /// election and a candidate leads; with a majority refused, it returns to follower.
    /// Returns whether the round ended.
    fn tally_and_maybe_win(&mut self, out: &mut Out) -> bool {
        let granted = self.votes.iter().filter(|v| **v == Some(true)).count();
        let refused = self.votes.iter().filter(|v| **v == Some(false)).count();
        let quorum = self.config.quorum();
        if granted >= quorum {
            match self.role {
                Role::PreCandidate => self.become_candidate(out),
                Role::Candidate => self.become_leader(out),
                Role::Follower | Role::Leader => unreachable!("only candidates count votes"),
            }
            true
        } else if refused >= quorum {
            self.become_follower(self.term, None);
            true
        } else {
            false
        }
    }

    /// RequestVote (the term rules already applied): grant if this node can still vote
    /// in the term and the candidate's log is at least as up to date as its own.
    pub(super) fn receive_vote_request(
        &mut self,
        from: NodeId,
        term: Term,
        last_log_index: Index,
        last_log_term: Term,
        pre_vote: bool,
        out: &mut Out,
    ) {
        // A real vote is free if it went to this candidate already, or to nobody while no
        // leader is known in the term (a follower of a live leader does not help anyone
        // else). A pre-vote promises nothing, so any later term may have it.
        let can_vote = self.voted_for == Some(from)
            || (self.voted_for.is_none() && self.leader.is_none())
            || (pre_vote && term > self.term);
        if can_vote && self.log_up_to_date(last_log_index, last_log_term) {
            // A granted pre-vote answers with the request's term: the pre-candidate is
            // still in its old term and counts only answers for the term it asked about;
            // a real vote's term equals ours here.
            out.send(
                from,
                Message::RequestVoteResponse {
                    term,
                    granted: true,
                    pre_vote,
                },
            );
            if !pre_vote {
                self.voted_for = Some(from);
                self.reset_election_timer();
            }
        } else {
            out.send(
                from,
                Message::RequestVoteResponse {
                    term: self.term,
                    granted: false,
                    pre_vote,
                },
            );
        }
    }

    /// §5.4.1: the candidate's log is at least as up to date as ours if its last term is
    /// later, or equal with a last index at least ours.
    fn log_up_to_date(&self, last_log_index: Index, last_log_term: Term) -> bool {
        if self.has_bug(Bug::VoteWithoutLogCheck) {
            return true;
        }
        (last_log_term, last_log_index) >= (self.last_term(), self.last_index())
    }

    /// A (pre-)vote answer (the term rules already applied).
    pub(super) fn receive_vote_response(
        &mut self,
        from: NodeId,
        term: Term,
        granted: bool,
        pre_vote: bool,
        out: &mut Out,
    ) {
        let ours = match self.role {
            Role::PreCandidate => {
                pre_vote && term == if granted { self.term + 1 } else { self.term }
            }
            Role::Candidate => !pre_vote && term == self.term,
            Role::Follower | Role::Leader => false,
        };
        if !ours {
            return;
        }
        let vote = &mut self.votes[from as usize];
        if vote.is_none() {
            *vote = Some(granted);
            self.tally_and_maybe_win(out);
        }
    }
}

/// SplitMix64's finaliser: a pure mixing function, for the election timeout draw.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

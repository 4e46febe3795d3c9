//! Reads without the log (thesis §6.4): ReadIndex, and leader leases (§6.4.1).
//!
//! A leader may serve a read from its state machine only if, at some moment after the
//! read arrived, it was still the leader: otherwise a newer leader may already have
//! committed a write the read would miss. ReadIndex proves it with a heartbeat round
//! started after the read, answered by a majority in the leader's term. A lease proves it
//! with time: a majority answered a heartbeat sent less than a lease ago, and by
//! CheckQuorum none of them votes for anyone else within an election timeout of hearing
//! from the leader.
//!
//! The read index is the commit index when the read arrived, raised to the leader's first
//! entry of its term (its no-op): until that commits, the leader may not know every entry
//! earlier leaders committed.

use super::node::{Node, Out};
use super::{Effect, Index, ReadId, ReadMode, Role};
use serde::{Deserialize, Serialize};

/// A read waiting for its heartbeat round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) struct PendingRead {
    /// The driver's name for it.
    pub(super) id: ReadId,
    /// The read index it will be served at.
    pub(super) index: Index,
    /// The first round that, answered by a majority, confirms it: one started after the
    /// read arrived.
    pub(super) round: u64,
}

/// How many heartbeat rounds a leasing leader remembers the sending time of: answers to
/// older rounds arrive too late to extend a lease anyway.
const REMEMBERED_ROUNDS: usize = 64;

impl Node {
    /// A client's read.
    pub(super) fn read(&mut self, id: ReadId, out: &mut Out) {
        if self.role != Role::Leader {
            out.push(Effect::ReadRefused {
                id,
                leader: self.leader,
            });
            return;
        }
        let index = self.read_floor();
        if self.config.read_mode == ReadMode::Lease && self.lease_valid() {
            out.push(Effect::ReadReady { id, index });
            return;
        }
        self.pending_reads.push(super::reads::PendingRead {
            id,
            index,
            round: self.round + 1,
        });
        if self.round <= self.confirmed_round() {
            // No round is in flight: start one for this read. Otherwise the read waits
            // for the round after the one in flight, which `confirm_reads` starts, so
            // that many concurrent reads share one round trip.
            self.start_round();
            self.broadcast_append(out);
        }
        self.confirm_reads(out);
    }

    /// The lowest index a read arriving now may be served at: the commit index, and at
    /// least the leader's first entry of its term.
    fn read_floor(&self) -> Index {
        if self.term_at(self.commit) == Some(self.term) {
            // An entry of this term is committed: so is everything earlier leaders did.
            return self.commit;
        }
        // Not yet: every entry of this term is above the commit index; the first of them
        // (the no-op) is the floor. Entries appended after it are not waited for.
        let mut first_of_term = self.last_index();
        while first_of_term > self.commit + 1 && self.term_at(first_of_term - 1) == Some(self.term)
        {
            first_of_term -= 1;
        }
        self.commit.max(first_of_term)
    }

    /// Starts a new heartbeat round: the AppendEntries sent from now on carry it.
    pub(super) fn start_round(&mut self) {
        self.round += 1;
        if self.config.read_mode == ReadMode::Lease {
            if self.recent_rounds.len() == REMEMBERED_ROUNDS {
                self.recent_rounds.pop_front();
            }
            self.recent_rounds.push_back((self.round, self.ticks));
        }
    }

    /// The highest round a majority (this leader included) has answered.
    fn confirmed_round(&self) -> u64 {
        let id = self.id() as usize;
        let mut rounds: Vec<u64> = self
            .progress
            .iter()
            .enumerate()
            .map(|(i, p)| if i == id { self.round } else { p.acked_round })
            .collect();
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds[self.config.quorum() - 1]
    }

    /// A follower answered an AppendEntries of `round` in this term: records it and
    /// serves the reads it confirms.
    pub(super) fn round_answered(&mut self, from: usize, round: u64, out: &mut Out) {
        let sent_at = self
            .recent_rounds
            .iter()
            .find(|&&(r, _)| r == round)
            .map(|&(_, tick)| tick);
        let p = &mut self.progress[from];
        if round > p.acked_round {
            p.acked_round = round;
            if let Some(tick) = sent_at {
                p.acked_at = p.acked_at.max(tick);
            }
        }
        self.confirm_reads(out);
    }

    /// Serves every pending read a majority's answers confirm; starts the next round if
    /// reads still wait for one.
    fn confirm_reads(&mut self, out: &mut Out) {
        if self.pending_reads.is_empty() {
            return;
        }
        let confirmed = self.confirmed_round();
        let (ready, waiting): (Vec<PendingRead>, Vec<PendingRead>) = self
            .pending_reads
            .iter()
            .partition(|r| r.round <= confirmed);
        self.pending_reads = waiting;
        for r in ready {
            out.push(Effect::ReadReady {
                id: r.id,
                index: r.index,
            });
        }
        if !self.pending_reads.is_empty() && self.round <= confirmed {
            self.start_round();
            self.broadcast_append(out);
        }
    }

    /// Whether this leader's lease holds now: a majority (itself included) answered a
    /// heartbeat sent less than [`super::Config::lease_ticks`] ago. Only with CheckQuorum,
    /// whose followers refuse votes while they hear from their leader.
    fn lease_valid(&self) -> bool {
        if !self.config.check_quorum {
            return false;
        }
        let id = self.id() as usize;
        let mut sent: Vec<u64> = self
            .progress
            .iter()
            .enumerate()
            .map(|(i, p)| if i == id { self.ticks } else { p.acked_at })
            .collect();
        sent.sort_unstable_by(|a, b| b.cmp(a));
        let oldest_of_majority = sent[self.config.quorum() - 1];
        // A round sent at tick 0 is as good as any: `acked_at` is 0 also when nothing was
        // acknowledged, which `acked_round` tells apart.
        let acknowledged = self
            .progress
            .iter()
            .enumerate()
            .filter(|&(i, p)| i == id || p.acked_round > 0)
            .count()
            >= self.config.quorum();
        acknowledged && oldest_of_majority + self.config.lease_ticks() > self.ticks
    }

    /// Refuses every pending read: this node stopped leading before confirming them.
    pub(super) fn refuse_pending_reads(&mut self, out: &mut Out) {
        if self.role == Role::Leader || self.pending_reads.is_empty() {
            return;
        }
        for r in std::mem::take(&mut self.pending_reads) {
            out.push(Effect::ReadRefused {
                id: r.id,
                leader: self.leader,
            });
        }
    }
}

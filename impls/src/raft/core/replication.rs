//! Log replication (§5.3): proposals, AppendEntries on both sides, the conflict hint and
//! the leader's commit rule (§5.4.2).

use super::node::{Node, Out};
use super::{Bug, Effect, Entry, Index, Message, Persist, Role, Term};
use crate::raft::NodeId;

impl Node {
    /// A client's command: a leader appends and replicates it, anyone else names the
    /// leader it knows.
    pub(super) fn propose(&mut self, command: Vec<u8>, out: &mut Out) {
        if self.role != Role::Leader {
            out.push(Effect::NotLeader {
                leader: self.leader,
            });
            return;
        }
        let index = self.append_own(command, out);
        out.push(Effect::Proposed {
            index,
            term: self.term,
        });
        self.broadcast_append(out);
        // A single server is its own majority.
        self.maybe_commit(out);
    }

    /// Appends `command` to the leader's log in its term, persisted; returns its index.
    /// The leader counts the entry as its own match at once: the driver makes it durable
    /// before carrying out any later effect.
    pub(super) fn append_own(&mut self, command: Vec<u8>, out: &mut Out) -> Index {
        let entry = Entry {
            term: self.term,
            command,
        };
        self.log.push(entry.clone());
        let index = self.last_index();
        out.persist(Persist::Entries {
            from: index,
            entries: vec![entry],
        });
        index
    }

    /// Sends every peer an AppendEntries from its `nextIndex`.
    pub(super) fn broadcast_append(&mut self, out: &mut Out) {
        for peer in self.peers() {
            self.send_append(peer, out);
        }
    }

    /// Sends `peer` what it needs next: up to `max_entries_per_message` entries from its
    /// `nextIndex` (none for a heartbeat), or the snapshot if those entries are compacted
    /// away. `nextIndex` moves past the entries sent, so the next proposal sends only
    /// what is new; a lost message shows up as a rejection that moves it back.
    pub(super) fn send_append(&mut self, peer: NodeId, out: &mut Out) {
        let last = self.last_index();
        let next = self.progress[peer as usize].next.clamp(1, last + 1);
        let prev = next - 1;
        if prev < self.snapshot_index() {
            let snapshot = self
                .snapshot
                .clone()
                .expect("a compacted log has a snapshot");
            out.send(
                peer,
                Message::InstallSnapshot {
                    term: self.term,
                    snapshot,
                },
            );
            return;
        }
        let prev_log_term = self
            .term_at(prev)
            .expect("prev is in the log or its snapshot");
        let count = (last - prev).min(self.config.max_entries_per_message.max(1) as Index);
        let entries: Vec<Entry> = (next..next + count)
            .map(|i| {
                self.entry(i)
                    .expect("entries after the snapshot are held")
                    .clone()
            })
            .collect();
        self.progress[peer as usize].next = next + count;
        out.send(
            peer,
            Message::AppendEntries {
                term: self.term,
                prev_log_index: prev,
                prev_log_term,
                entries,
                leader_commit: self.commit,
                round: self.round,
            },
        );
    }

    /// AppendEntries from the leader of our term (the term rules already applied).
    pub(super) fn receive_append(
        &mut self,
        from: NodeId,
        (prev_log_index, prev_log_term): (Index, Term),
        entries: Vec<Entry>,
        leader_commit: Index,
        round: u64,
        out: &mut Out,
    ) {
        if self.role == Role::Leader {
            // Two leaders in one term: impossible unless votes were lost; ignore it.
            return;
        }
        self.follow(from);
        let (success, index) = self.append_entries(prev_log_index, prev_log_term, entries, out);
        if success {
            // Figure 2: commit up to the leader's commit index, but no further than the
            // entries this request showed agree with the leader's log.
            let commit = leader_commit.min(index);
            if commit > self.commit {
                self.commit = commit;
            }
        }
        out.send(
            from,
            Message::AppendEntriesResponse {
                term: self.term,
                success,
                index,
                round,
            },
        );
        self.apply_committed(out);
    }

    /// Follows `leader`, the sender of an AppendEntries or InstallSnapshot of our term.
    pub(super) fn follow(&mut self, leader: NodeId) {
        if self.role == Role::Follower {
            self.leader = Some(leader);
            self.reset_election_timer();
        } else {
            self.become_follower(self.term, Some(leader));
        }
    }

    /// The follower's side of AppendEntries on its log: checks that the log holds
    /// `prev_log_index` with `prev_log_term`, then stores the entries, deleting only
    /// from the first that conflicts (same index, other term). Returns the response's
    /// `success` and `index`.
    ///
    /// Entries that agree are never deleted: a delayed AppendEntries carrying a prefix of
    /// what the follower already acknowledged must not take it back.
    pub(super) fn append_entries(
        &mut self,
        prev_log_index: Index,
        prev_log_term: Term,
        mut entries: Vec<Entry>,
        out: &mut Out,
    ) -> (bool, Index) {
        let last = self.last_index();
        if prev_log_index > last {
            return (false, last + 1);
        }
        let request_last = prev_log_index + entries.len() as Index;
        let base = self.snapshot_index();
        let mut prev = prev_log_index;
        if prev < base {
            // The snapshot holds committed entries, which agree with every later
            // leader's: skip the ones the request repeats.
            let skip = ((base - prev) as usize).min(entries.len());
            entries.drain(..skip);
            prev = base;
        } else if !self.has_bug(Bug::SkipPrevLogCheck) {
            let term = self
                .term_at(prev)
                .expect("prev is in the log or its snapshot");
            if term != prev_log_term {
                return (false, self.first_index_of_term_at(prev));
            }
        }
        if self.has_bug(Bug::TruncateWithoutConflict) {
            // The bug: everything after prev goes, even entries that agree.
            if last > prev || !entries.is_empty() {
                self.replace_log_from(prev + 1, entries, out);
            }
            return (true, request_last);
        }
        let agreeing = entries
            .iter()
            .enumerate()
            .take_while(|(k, e)| self.term_at(prev + 1 + *k as Index) == Some(e.term))
            .count();
        if agreeing < entries.len() {
            entries.drain(..agreeing);
            self.replace_log_from(prev + 1 + agreeing as Index, entries, out);
        }
        (true, request_last)
    }

    /// The conflict hint for a mismatch at `index`: the first index of the entry's term
    /// in our log, so the leader skips the whole term in one round trip (never at or
    /// below the snapshot unless `index` is the snapshot's own).
    fn first_index_of_term_at(&self, index: Index) -> Index {
        let term = self.term_at(index);
        let mut first = index;
        while first > self.snapshot_index() + 1 && self.term_at(first - 1) == term {
            first -= 1;
        }
        first.max(1)
    }

    /// Deletes the log from `from` on and appends `entries` there, persisted.
    fn replace_log_from(&mut self, from: Index, entries: Vec<Entry>, out: &mut Out) {
        let keep = (from - self.snapshot_index() - 1) as usize;
        self.log.truncate(keep);
        self.log.extend(entries.iter().cloned());
        out.persist(Persist::Entries { from, entries });
    }

    /// The leader's side of an AppendEntries answer from the follower `from`.
    pub(super) fn receive_append_response(
        &mut self,
        from: NodeId,
        success: bool,
        index: Index,
        round: u64,
        out: &mut Out,
    ) {
        if self.role != Role::Leader {
            return;
        }
        // Any answer in this term, success or not, shows the follower took this node for
        // its leader when it answered.
        self.round_answered(from as usize, round, out);
        let last = self.last_index();
        let p = &mut self.progress[from as usize];
        if success {
            p.matched = p.matched.max(index.min(last));
            p.next = p.next.max(p.matched + 1);
        } else {
            // Never behind what the follower is known to hold, never past our log.
            // Not `clamp`: with `leader-accepts-stale-append` the leader's own log can
            // shrink below what a follower matched, and a bug run must report a
            // violation, not panic.
            p.next = index.max(p.matched + 1).min(last + 1);
        }
        if success {
            // Followers learn the new commit index with the next AppendEntries (a
            // proposal's or a heartbeat's), not at once: an immediate broadcast would
            // double the messages per entry.
            self.maybe_commit(out);
        }
        if !success || self.progress[from as usize].next <= self.last_index() {
            self.send_append(from, out);
        }
    }

    /// §5.3/§5.4.2: commit the highest index a majority holds, if it is of the current
    /// term; entries of earlier terms commit with it.
    pub(super) fn maybe_commit(&mut self, out: &mut Out) {
        let id = self.id() as usize;
        let last = self.last_index();
        let mut matched: Vec<Index> = self
            .progress
            .iter()
            .enumerate()
            .map(|(i, p)| if i == id { last } else { p.matched })
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let candidate = matched[self.config.quorum() - 1];
        if candidate <= self.commit {
            return;
        }
        let Some(term) = self.term_at(candidate) else {
            return;
        };
        // The bug: counting replicas of an earlier term's entry (Figure 8).
        if term == self.term || self.has_bug(Bug::CommitPreviousTerm) {
            self.commit = candidate;
            self.apply_committed(out);
        }
    }
}

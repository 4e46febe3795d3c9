//! Log compaction (§7): taking a snapshot of the applied prefix, and InstallSnapshot on
//! both sides.

use super::node::{Node, Out};
use super::{Effect, Index, Message, Persist, Role, Snapshot};
use crate::raft::NodeId;

impl Node {
    /// The state machine's snapshot at `index`: saved, and the log up to it dropped.
    /// Ignored unless `index` is applied (so committed, and never taken back) and beyond
    /// the current snapshot.
    pub(super) fn compact(&mut self, index: Index, data: Vec<u8>, out: &mut Out) {
        if index > self.applied || index <= self.snapshot_index() {
            return;
        }
        let Some(last_term) = self.term_at(index) else {
            return;
        };
        let snapshot = Snapshot {
            last_index: index,
            last_term,
            data,
        };
        self.log.drain(..(index - self.snapshot_index()) as usize);
        self.snapshot = Some(snapshot.clone());
        out.persist(Persist::Snapshot {
            snapshot,
            keep_suffix: true,
        });
    }

    /// InstallSnapshot from the leader of our term (the term rules already applied).
    pub(super) fn receive_snapshot(&mut self, from: NodeId, snapshot: Snapshot, out: &mut Out) {
        if self.role == Role::Leader {
            return;
        }
        self.follow(from);
        if snapshot.last_index <= self.commit {
            // Nothing to learn: everything up to the commit index agrees with the leader.
            out.send(
                from,
                Message::InstallSnapshotResponse {
                    term: self.term,
                    last_index: self.commit,
                },
            );
            return;
        }
        // Entries after the snapshot survive only if the log agrees with its last entry
        // (then, by the Log Matching property, with everything before it too).
        let keep_suffix = self.term_at(snapshot.last_index) == Some(snapshot.last_term);
        if keep_suffix {
            self.log
                .drain(..(snapshot.last_index - self.snapshot_index()) as usize);
        } else {
            self.log.clear();
        }
        self.snapshot = Some(snapshot.clone());
        self.commit = snapshot.last_index;
        self.applied = snapshot.last_index;
        out.persist(Persist::Snapshot {
            snapshot: snapshot.clone(),
            keep_suffix,
        });
        let last_index = snapshot.last_index;
        out.push(Effect::Restore(snapshot));
        out.send(
            from,
            Message::InstallSnapshotResponse {
                term: self.term,
                last_index,
            },
        );
    }

    /// The leader's side of an InstallSnapshot answer: the follower holds everything up to
    /// `last_index` as the leader does.
    pub(super) fn receive_snapshot_response(
        &mut self,
        from: NodeId,
        last_index: Index,
        out: &mut Out,
    ) {
        if self.role != Role::Leader {
            return;
        }
        let last = self.last_index();
        let p = &mut self.progress[from as usize];
        p.matched = p.matched.max(last_index.min(last));
        p.next = p.next.max(p.matched + 1);
        self.maybe_commit(out);
        if self.progress[from as usize].next <= self.last_index() {
            self.send_append(from, out);
        }
    }
}

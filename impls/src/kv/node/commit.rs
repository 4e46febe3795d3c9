//! Group commit: every record that must be durable before an acknowledgement goes through
//! one queue, and one task writes whatever has accumulated with a single log write and a
//! single fsync, then releases all the acknowledgements that waited for it.
//!
//! While one fsync runs, the next batch fills, so a node pays one fsync per batch rather
//! than one per write, and the batch grows with the load.
//!
//! The queue also orders replies that carry no record of their own. A replica that answers
//! a read (or acknowledges a duplicate write) with a value it has not yet made durable
//! must not let that reply out before the value is durable: otherwise a get could return
//! a value that a crash then erases, and a later get would go back in time. Such a reply
//! is queued as a *barrier* behind the record, and released with the batch that makes the
//! record durable (or, if that batch is already being written, with the next one, which
//! the committer only starts after the current one is durable).

use crate::kv::wire::PeerFrame;
use crate::kv::NodeId;
use std::sync::Mutex;
use tokio::sync::Notify;

/// A reply released once the records queued before it are durable.
#[derive(Debug)]
pub(crate) struct Done {
    /// Who gets the reply: a peer, or this node's own coordinator.
    pub(crate) to: NodeId,
    /// The reply.
    pub(crate) frame: PeerFrame,
}

/// The records and replies of one group commit.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The records, back to back.
    pub(crate) records: Vec<u8>,
    /// Where each record ends in `records`.
    pub(crate) ends: Vec<usize>,
    /// Replies to release once the records are durable, in the order they were queued.
    pub(crate) done: Vec<Done>,
    /// The log sequence number of the last record in the batch (0 if none).
    pub(crate) last_lsn: u64,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.ends.is_empty() && self.done.is_empty()
    }
}

/// The queue in front of the log.
#[derive(Debug, Default)]
pub(crate) struct CommitQueue {
    inner: Mutex<Queue>,
    ready: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    batch: Batch,
    /// The sequence number of the last record queued, ever.
    lsn: u64,
}

impl CommitQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the record `encode` writes, and `done` to be released once it is durable.
    /// Returns the record's log sequence number.
    pub(crate) fn append(&self, encode: impl FnOnce(&mut Vec<u8>), done: Option<Done>) -> u64 {
        let mut q = self.lock();
        let was_empty = q.batch.is_empty();
        q.lsn += 1;
        let lsn = q.lsn;
        let b = &mut q.batch;
        encode(&mut b.records);
        b.ends.push(b.records.len());
        b.done.extend(done);
        b.last_lsn = lsn;
        drop(q);
        if was_empty {
            self.ready.notify_one();
        }
        lsn
    }

    /// The sequence number of the last record queued so far (0 if none): once the state's
    /// durable sequence number reaches it, everything queued until now is durable.
    pub(crate) fn last_lsn(&self) -> u64 {
        self.lock().lsn
    }

    /// Queues `done` behind every record queued so far.
    pub(crate) fn barrier(&self, done: Done) {
        let mut q = self.lock();
        let was_empty = q.batch.is_empty();
        q.batch.done.push(done);
        drop(q);
        if was_empty {
            self.ready.notify_one();
        }
    }

    /// Waits for a non-empty batch and swaps it into `out` (which must be empty, its
    /// buffers are reused).
    pub(crate) async fn take(&self, out: &mut Batch) {
        debug_assert!(out.is_empty());
        loop {
            {
                let mut q = self.lock();
                if !q.batch.is_empty() {
                    std::mem::swap(&mut q.batch, out);
                    q.batch.last_lsn = 0;
                    return;
                }
            }
            self.ready.notified().await;
            // Woken by the first record of a burst: let the tasks that are ready run
            // first, so the records they are about to queue join this commit. A commit
            // has a fixed cost (a hop to the blocking pool and back, an fsync), so fewer,
            // larger ones are what keeps the node's CPU and the disk free.
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_and_barriers_are_taken_together_in_order() {
        let q = CommitQueue::default();
        assert_eq!(q.append(|b| b.extend_from_slice(b"ab"), None), 1);
        q.barrier(Done {
            to: 2,
            frame: PeerFrame::Ping,
        });
        assert_eq!(
            q.append(
                |b| b.push(b'c'),
                Some(Done {
                    to: 3,
                    frame: PeerFrame::Pong
                })
            ),
            2
        );
        let mut batch = Batch::default();
        q.take(&mut batch).await;
        assert_eq!(batch.records, b"abc");
        assert_eq!(batch.ends, [2, 3]);
        assert_eq!(batch.last_lsn, 2);
        let to: Vec<NodeId> = batch.done.iter().map(|d| d.to).collect();
        assert_eq!(to, [2, 3]);
    }
}

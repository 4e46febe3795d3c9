//! Outgoing byte queues with write coalescing: one per peer link and one per client
//! connection.
//!
//! Any task encodes frames straight into the queue's buffer (no allocation per message,
//! no channel hop), and one writer task per connection swaps the whole buffer out and
//! writes it with one system call. Under load many frames accumulate while the previous
//! write runs, so the number of writes per message falls as the load rises.

use std::sync::Mutex;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

/// A queue is dropped into (messages discarded) rather than grown past this many bytes:
/// a peer that cannot keep up is treated like a lossy network, which the protocol
/// tolerates (requests time out, hints are retried), instead of exhausting memory.
const MAX_QUEUED_BYTES: usize = 64 << 20;

/// A buffer that grew past this during a burst is given back after it drains.
const KEEP_CAPACITY_BYTES: usize = 1 << 20;

/// One connection's outgoing bytes.
#[derive(Debug)]
pub(crate) struct Outbox {
    inner: Mutex<Inner>,
    ready: Notify,
}

#[derive(Debug)]
struct Inner {
    bytes: Vec<u8>,
    /// Pushes are accepted only while up: a peer link is up while connected.
    up: bool,
    /// Set once: the writer flushes what is queued and stops.
    closed: bool,
}

impl Outbox {
    /// A queue that accepts pushes only once [`Outbox::set_up`] is called.
    pub(crate) fn new_down() -> Outbox {
        Outbox {
            inner: Mutex::new(Inner {
                bytes: Vec::new(),
                up: false,
                closed: false,
            }),
            ready: Notify::new(),
        }
    }

    /// A queue that accepts pushes at once (a client connection).
    pub(crate) fn new_up() -> Outbox {
        let o = Outbox::new_down();
        o.set_up(true);
        o
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves only bytes behind, never a broken
        // invariant, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether pushes are accepted.
    pub(crate) fn is_up(&self) -> bool {
        let inner = self.lock();
        inner.up && !inner.closed
    }

    /// Marks the connection up or down. Going down discards whatever was queued: those
    /// bytes can no longer reach the peer on this connection.
    pub(crate) fn set_up(&self, up: bool) {
        let mut inner = self.lock();
        inner.up = up;
        if !up {
            inner.bytes.clear();
        }
    }

    /// Stops the queue for good: the writer flushes and ends.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Whether the queue was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Encodes one or more frames into the queue with `encode`. Returns false, encoding
    /// nothing, if the queue is down, closed or full.
    pub(crate) fn push(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut inner = self.lock();
        if !inner.up || inner.closed || inner.bytes.len() >= MAX_QUEUED_BYTES {
            return false;
        }
        let was_empty = inner.bytes.is_empty();
        encode(&mut inner.bytes);
        drop(inner);
        if was_empty {
            // A stored permit covers a writer that is between taking the buffer and
            // waiting, so waking only on empty -> non-empty loses nothing.
            self.ready.notify_one();
        }
        true
    }

    /// Waits until bytes are queued or the queue is closed, then swaps them into `out`
    /// (which must be empty). Returns false once the queue is closed and drained.
    pub(crate) async fn take(&self, out: &mut Vec<u8>) -> bool {
        debug_assert!(out.is_empty());
        loop {
            {
                let mut inner = self.lock();
                if !inner.bytes.is_empty() {
                    std::mem::swap(&mut inner.bytes, out);
                    return true;
                }
                if inner.closed {
                    return false;
                }
            }
            self.ready.notified().await;
            // Woken by the first frame of a burst: let the other tasks that are ready
            // run first, so that the frames they are about to queue go out in the same
            // write. This costs one trip through the run queue and, under load, saves a
            // system call per frame.
            tokio::task::yield_now().await;
        }
    }

    /// Writes everything pushed to `writer` until the queue is closed or a write fails.
    /// Frames are never split across queues, so what reaches the peer is always a
    /// sequence of whole frames.
    pub(crate) async fn drain_into<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        let mut batch = Vec::new();
        while self.take(&mut batch).await {
            writer.write_all(&batch).await?;
            batch.clear();
            if batch.capacity() > KEEP_CAPACITY_BYTES {
                batch.shrink_to(KEEP_CAPACITY_BYTES);
            }
        }
        writer.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pushes_are_coalesced_and_refused_while_down() {
        let o = Outbox::new_down();
        assert!(!o.push(|b| b.push(1)));
        o.set_up(true);
        assert!(o.push(|b| b.push(1)));
        assert!(o.push(|b| b.push(2)));
        o.close();
        let mut out = Vec::new();
        o.drain_into(&mut out).await.unwrap();
        assert_eq!(out, [1, 2]);
        assert!(!o.push(|b| b.push(3)));
    }

    #[tokio::test]
    async fn going_down_discards_what_was_queued() {
        let o = Outbox::new_up();
        assert!(o.push(|b| b.push(1)));
        o.set_up(false);
        o.set_up(true);
        assert!(o.push(|b| b.push(2)));
        o.close();
        let mut out = Vec::new();
        o.drain_into(&mut out).await.unwrap();
        assert_eq!(out, [2]);
    }
}

//! Connections between servers: one outgoing link per peer, and the accept loop for the
//! links other servers open to this one.
//!
//! Data flows one way on a connection: this node's messages to server `p` travel on the
//! connection this node opened to `p`, and `p`'s messages to it on the one `p` opened.
//! Raft tolerates lost messages (a leader retries on every heartbeat, a candidate on its
//! next timeout), so a link never retries a message: while it is down, or while its queue
//! is full, messages are dropped, and a reconnected link does not replay stale ones.
//!
//! A connection can die without a word: a partition that drops packets (turmoil's drops
//! them for good; a NAT or a crashed host leaves a half-open socket), and writes go on
//! succeeding into nothing. So the receiving side acknowledges what it reads with one
//! byte back on the same connection, and a link that has written and had no byte back
//! for [`LinkSetup::silence`] takes its connection for dead and opens a new one.
//!
//! The acknowledgement is per connection on purpose. An earlier version counted any
//! message from the peer as an answer, and that cannot tell this node's dead link from a
//! live one when the peer talks on its own link: two pre-candidates whose links died in
//! one direction kept hearing each other's pre-votes, so the dead link was never
//! noticed, and neither won a pre-vote for seconds after the leader was cut off.

use super::codec::{self, PeerFrame};
use super::driver::Event;
use super::Log;
use crate::kv::wire::FrameReader;
use crate::raft::NodeId;
use crate::sim::net::Net;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

/// Frames queued for one peer before further ones are dropped.
pub(crate) const LINK_QUEUE_FRAMES: usize = 1024;

/// How long a connect may take before the link backs off and tries again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The byte the receiving side writes back for what it has read: the link's sign that its
/// connection still carries data both ways.
const ACK: u8 = 0x06;

/// Nanoseconds since `start`, at least 1 (0 means never).
fn since(start: tokio::time::Instant) -> u64 {
    (start.elapsed().as_nanos() as u64).max(1)
}

/// What an outgoing link needs to know.
pub(crate) struct LinkSetup<N: Net> {
    pub(crate) net: N,
    pub(crate) id: NodeId,
    pub(crate) peer: NodeId,
    pub(crate) addr: String,
    pub(crate) client_addr: String,
    /// The first wait after a failed connection; doubled per failure up to `backoff_max`.
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    /// How long the link waits for an acknowledgement on its connection after writing
    /// to it before it takes the connection for dead (a write that blocks this long too).
    pub(crate) silence: Duration,
    pub(crate) log: Log,
}

/// Keeps a connection to one peer and writes the frames queued on `queue` to it, until
/// the queue's sender is dropped.
pub(crate) async fn link<N: Net>(setup: LinkSetup<N>, mut queue: mpsc::Receiver<Vec<u8>>) {
    let LinkSetup {
        net,
        id,
        peer,
        addr,
        client_addr,
        backoff_min,
        backoff_max,
        silence,
        log,
    } = setup;
    let start = tokio::time::Instant::now();
    let mut hello = Vec::new();
    codec::encode_peer(
        &mut hello,
        &PeerFrame::Hello {
            from: id,
            client_addr,
        },
    );
    let mut backoff = backoff_min;
    // Logged once per outage rather than once per attempt.
    let mut reported = false;
    loop {
        match tokio::time::timeout(CONNECT_TIMEOUT, net.connect(&addr)).await {
            Ok(Ok((reader, mut writer))) => {
                backoff = backoff_min;
                // When the peer last acknowledged anything on this connection.
                let acked = Arc::new(AtomicU64::new(0));
                let acks = AbortOnDrop(tokio::spawn(read_acks(reader, Arc::clone(&acked), start)));
                log.say(format_args!("link to n{peer} at {addr} up"));
                reported = false;
                // Whatever waited while the link was down is stale.
                while queue.try_recv().is_ok() {}
                let mut batch = hello.clone();
                let mut hello_only = true;
                // When the first write that the peer has not answered yet went out.
                let mut unanswered_since: Option<u64> = None;
                let ended = loop {
                    match tokio::time::timeout(silence, writer.write_all(&batch)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => break Some(e),
                        Err(_) => break Some(silent(peer, silence)),
                    }
                    if !hello_only && unanswered_since.is_none() {
                        unanswered_since = Some(since(start));
                    }
                    batch.clear();
                    let next = loop {
                        if unanswered_since.is_some_and(|t| acked.load(Ordering::Relaxed) >= t) {
                            unanswered_since = None;
                        }
                        let wait = match unanswered_since {
                            None => silence,
                            Some(t) => {
                                let waited = Duration::from_nanos(since(start).saturating_sub(t));
                                if waited >= silence {
                                    break Err(silent(peer, silence));
                                }
                                silence - waited
                            }
                        };
                        if let Ok(frame) = tokio::time::timeout(wait, queue.recv()).await {
                            break Ok(frame);
                        }
                    };
                    hello_only = false;
                    match next {
                        Ok(Some(frame)) => batch.extend_from_slice(&frame),
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    }
                    // Everything already queued goes out in the same write.
                    while let Ok(frame) = queue.try_recv() {
                        batch.extend_from_slice(&frame);
                        if batch.len() >= 1 << 20 {
                            break;
                        }
                    }
                };
                drop(acks);
                match ended {
                    None => return,
                    Some(e) => log.say(format_args!("link to n{peer} at {addr} down: {e}")),
                }
            }
            Ok(Err(e)) if !reported => {
                log.say(format_args!("cannot connect to n{peer} at {addr}: {e}"));
                reported = true;
            }
            Err(_) if !reported => {
                log.say(format_args!("connecting to n{peer} at {addr} timed out"));
                reported = true;
            }
            _ => {}
        }
        // Drop what cannot be delivered; stop if the node is gone.
        loop {
            match queue.try_recv() {
                Ok(_) => {}
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(backoff_max);
    }
}

/// The error of a link whose peer has not answered for `silence`.
fn silent(peer: NodeId, silence: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no acknowledgement from n{peer} for {silence:?} after a write; reconnecting"),
    )
}

/// Aborts its task when dropped: the acknowledgement reader of a connection the link has
/// given up on ends with it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the acknowledgements on a link's connection, noting in `acked` when the last
/// came, until the connection closes.
async fn read_acks<R: AsyncRead + Unpin>(
    mut reader: R,
    acked: Arc<AtomicU64>,
    start: tokio::time::Instant,
) {
    let mut buf = [0u8; 64];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 {
            return;
        }
        acked.store(since(start), Ordering::Relaxed);
    }
}

/// Writes one [`ACK`] back on an incoming connection each time `read` is notified (any
/// number of notifications while a write is under way come to one more), until the
/// connection fails or the receiver is done.
async fn write_acks<W: AsyncWrite + Unpin>(mut writer: W, read: Arc<Notify>) {
    loop {
        read.notified().await;
        if writer.write_all(&[ACK]).await.is_err() {
            return;
        }
    }
}

/// Accepts the links other servers open and passes their messages to the driver,
/// acknowledging what it reads on each.
pub(crate) async fn accept<N: Net>(
    net: N,
    listener: N::Listener,
    id: NodeId,
    servers: u8,
    events: mpsc::Sender<Event>,
    log: Log,
) {
    loop {
        match net.accept(&listener).await {
            Ok((reader, writer)) => {
                let events = events.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let read = Arc::new(Notify::new());
                    let _acks = AbortOnDrop(tokio::spawn(write_acks(writer, Arc::clone(&read))));
                    if let Err(e) = receive::<N>(reader, id, servers, events, &read).await {
                        log.say(format_args!("peer connection dropped: {e}"));
                    }
                });
            }
            Err(e) => {
                log.say(format_args!("accepting a peer failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Reads one incoming link: a hello, then messages. Returns `Ok` when the peer closes it
/// or the node stops.
async fn receive<N: Net>(
    reader: N::Reader,
    id: NodeId,
    servers: u8,
    events: mpsc::Sender<Event>,
    read: &Notify,
) -> Result<(), String> {
    let mut frames = FrameReader::new(reader);
    let from = match frames.next_frame().await.map_err(|e| e.to_string())? {
        None => return Ok(()),
        Some(body) => match codec::decode_peer(body).map_err(|e| e.to_string())? {
            PeerFrame::Hello { from, client_addr } => {
                if from >= servers || from == id {
                    return Err(format!(
                        "a hello from n{from}, which is not a peer of n{id} in a cluster of {servers}"
                    ));
                }
                if events
                    .send(Event::Hello { from, client_addr })
                    .await
                    .is_err()
                {
                    return Ok(());
                }
                read.notify_one();
                from
            }
            other => return Err(format!("the first frame is {other:?}, not a hello")),
        },
    };
    while let Some(body) = frames.next_frame().await.map_err(|e| e.to_string())? {
        read.notify_one();
        match codec::decode_peer(body).map_err(|e| format!("from n{from}: {e}"))? {
            PeerFrame::Raft(message) => {
                if events.send(Event::Receive { from, message }).await.is_err() {
                    return Ok(());
                }
            }
            PeerFrame::Hello { .. } => return Err(format!("n{from} sent a second hello")),
        }
    }
    Ok(())
}

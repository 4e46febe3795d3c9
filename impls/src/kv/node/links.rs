//! Outgoing peer links: one task per peer keeps a connection open, writes the link's queue
//! to it, and decides whether the peer is up.
//!
//! A link is up from the moment its hello is written until the connection fails or the
//! peer stays silent for four heartbeats (the accepting side answers every ping with a
//! pong). While a link is down, messages to the peer are refused at once, which lets a
//! coordinator refuse requests that cannot reach enough replicas and hand off writes
//! without waiting. Heartbeats matter under turmoil in particular, where a partition
//! silently drops segments and leaves the connection open but stalled.

use super::state::Link;
use super::Shared;
use crate::kv::wire::{self, FrameReader, PeerFrame, WireError, PROTOCOL_VERSION};
use crate::sim::net::{Net, CONNECT_TIMEOUT};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Keeps the link to one peer connected until the link is closed.
pub(crate) async fn run<N: Net>(shared: Arc<Shared<N>>, link: Arc<Link>) {
    let heartbeat = shared.config.heartbeat;
    let min_backoff = heartbeat / 4;
    let max_backoff = heartbeat * 4;
    let mut backoff = min_backoff;
    // Logged once per outage, not once per attempt.
    let mut reported = false;
    while !link.out.is_closed() {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, shared.net.connect(&link.addr)).await;
        match connected {
            Ok(Ok((reader, writer))) => {
                backoff = min_backoff;
                let ended = session(&shared, &link, reader, writer).await;
                link.out.set_up(false);
                if link.out.is_closed() {
                    return;
                }
                if let Err(e) = ended {
                    shared.lock().log(format_args!(
                        "link to n{} at {} down: {e}",
                        link.peer, link.addr
                    ));
                }
                reported = true;
            }
            Ok(Err(e)) if !reported => {
                shared.lock().log(format_args!(
                    "cannot connect to n{} at {}: {e}",
                    link.peer, link.addr
                ));
                reported = true;
            }
            Err(_) if !reported => {
                shared.lock().log(format_args!(
                    "connecting to n{} at {} timed out",
                    link.peer, link.addr
                ));
                reported = true;
            }
            _ => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(max_backoff);
    }
}

/// One connection's life: hello, then writer and heartbeat reader until either fails.
async fn session<N: Net>(
    shared: &Arc<Shared<N>>,
    link: &Arc<Link>,
    reader: N::Reader,
    mut writer: N::Writer,
) -> Result<(), WireError> {
    let mut hello = Vec::new();
    let membership = shared.lock().membership.clone();
    wire::encode_peer(
        &mut hello,
        &PeerFrame::Hello {
            from: shared.config.id,
            protocol: PROTOCOL_VERSION,
        },
    );
    wire::encode_peer(&mut hello, &PeerFrame::Membership(membership));
    let dead_after = shared.config.dead_after();
    tokio::time::timeout(dead_after, writer.write_all(&hello))
        .await
        .map_err(|_| silent(dead_after))??;
    link.out.set_up(true);
    shared
        .lock()
        .log(format_args!("link to n{} at {} up", link.peer, link.addr));
    let heartbeat = shared.config.heartbeat;
    tokio::select! {
        biased;
        r = watch(shared, link.peer, reader, dead_after) => r,
        r = write(link, writer, heartbeat) => r.map_err(WireError::Io),
    }
}

fn silent(after: Duration) -> WireError {
    WireError::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("peer silent for {} ms", after.as_millis()),
    ))
}

/// Writes the link's queue, and a ping every heartbeat. Ends when the queue is closed
/// (returning `Ok`) or a write fails.
async fn write<W: tokio::io::AsyncWrite + Unpin>(
    link: &Link,
    mut writer: W,
    heartbeat: Duration,
) -> io::Result<()> {
    let mut ping = Vec::new();
    wire::encode_peer(&mut ping, &PeerFrame::Ping);
    let mut batch = Vec::new();
    let mut next_ping = Instant::now();
    loop {
        if Instant::now() >= next_ping {
            writer.write_all(&ping).await?;
            next_ping = Instant::now() + heartbeat;
        }
        match tokio::time::timeout_at(next_ping, link.out.take(&mut batch)).await {
            // Time for a ping.
            Err(_) => continue,
            Ok(false) => return writer.flush().await,
            Ok(true) => {
                writer.write_all(&batch).await?;
                batch.clear();
            }
        }
    }
}

/// Reads what the peer sends back on our connection: pongs, and its membership when
/// ours is older. Fails if nothing arrives for `dead_after`.
async fn watch<N: Net>(
    shared: &Arc<Shared<N>>,
    peer: crate::kv::NodeId,
    reader: N::Reader,
    dead_after: Duration,
) -> Result<(), WireError> {
    let mut frames = FrameReader::new(reader);
    loop {
        let body = tokio::time::timeout(dead_after, frames.next_frame())
            .await
            .map_err(|_| silent(dead_after))??;
        let Some(body) = body else {
            return Err(WireError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the connection",
            )));
        };
        match wire::decode_peer(body)? {
            PeerFrame::Pong => {}
            PeerFrame::Membership(m) => {
                shared.with_state(|st| st.adopt(m));
            }
            other => {
                return Err(WireError::Malformed(format!(
                    "n{peer} sent {other:?} on a connection it accepted"
                )))
            }
        }
    }
}

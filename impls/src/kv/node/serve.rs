//! Incoming connections: the first frame tells a peer from a client, then one task reads
//! the connection and feeds its frames to the node's state in batches.
//!
//! # Limits
//!
//! What a connection can make the node hold is bounded, whoever is on the other end:
//! - **Memory per connection** follows the bytes that arrived, not what a frame header
//!   announces ([`FrameReader`]): a header announcing a [`wire::MAX_FRAME_BYTES`] frame
//!   costs a [`wire::INITIAL_BUFFER_BYTES`] buffer until the bytes come.
//! - **Connections**: at most [`NodeConfig::max_connections`](super::NodeConfig) clients
//!   and not yet identified connections at once. One more is answered with a definite
//!   `temporarily-unavailable` error and closed. A peer's connection stops counting once
//!   its hello is read, so clients cannot crowd out the cluster's own links once they are
//!   up (a peer that reconnects during a flood waits, like a client, for a free slot).
//! - **Time**: a connection must complete every frame within
//!   [`NodeConfig::frame_timeout`](super::NodeConfig) of its first byte (the first frame
//!   within that of the connection's start), and a client connection that sends nothing
//!   for [`NodeConfig::idle_timeout`](super::NodeConfig) is closed once its requests in
//!   flight are answered. A peer connection is closed after four silent heartbeats.
//!
//! So the worst case is `max_connections` connections each assembling one frame of at
//! most [`wire::MAX_FRAME_BYTES`] for at most `frame_timeout`, and only if the bytes are
//! actually sent.

use super::outbox::Outbox;
use super::state::respond;
use super::Shared;
use crate::kv::core::Request as CoreRequest;
use crate::kv::error::KvError;
use crate::kv::wire::{
    self, FrameReader, PeerFrame, Request, Response, WireError, PROTOCOL_VERSION,
};
use crate::kv::NodeId;
use crate::sim::net::Net;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Frames handled under one acquisition of the state lock, at most: large enough to
/// amortise the lock, small enough that no connection holds it for long.
const MAX_BATCH: usize = 256;

/// Puts and gets one client connection may have in flight. A client that pipelines more
/// is not read from until some complete, so TCP flow control pushes back on it instead of
/// the node's memory growing with its backlog.
const MAX_IN_FLIGHT: usize = 1024;

/// Serves one accepted connection until it closes or misbehaves. `slot` is its place
/// under the connection limit, held while it is a client or not yet identified.
pub(crate) async fn connection<N: Net>(
    shared: Arc<Shared<N>>,
    reader: N::Reader,
    writer: N::Writer,
    slot: OwnedSemaphorePermit,
) {
    let mut frames = FrameReader::new(reader);
    // A connection that never says anything, or says it too slowly, is dropped rather
    // than kept forever.
    let first = tokio::time::timeout(shared.config.frame_timeout, frames.next_frame()).await;
    let first = match first {
        Ok(Ok(Some(body))) => body.to_vec(),
        Ok(Ok(None)) | Err(_) => return,
        Ok(Err(e)) => {
            reject_client(&shared, writer, 0, &e).await;
            return;
        }
    };
    if wire::is_hello(&first) {
        match wire::decode_peer(&first) {
            Ok(PeerFrame::Hello { from, protocol }) if protocol == PROTOCOL_VERSION => {
                // Peers are bounded by the membership, not by the client limit.
                drop(slot);
                if let Err(e) = peer(&shared, from, frames, writer).await {
                    shared
                        .lock()
                        .log(format_args!("connection from n{from} closed: {e}"));
                }
            }
            Ok(PeerFrame::Hello { from, protocol }) => shared.lock().log(format_args!(
                "refused n{from}: it speaks protocol {protocol}, this node {PROTOCOL_VERSION}"
            )),
            Ok(_) => unreachable!("is_hello checked the kind"),
            Err(e) => shared.lock().log(format_args!("refused a peer: {e}")),
        }
    } else {
        client(&shared, first, frames, writer).await;
        drop(slot);
    }
}

/// Answers a connection over the limit with a definite error and closes it, within a
/// short bound so that refusing costs little even under a flood.
pub(crate) async fn refuse_connection<W: tokio::io::AsyncWrite + Unpin>(
    mut writer: W,
    limit: usize,
) {
    let mut buf = Vec::new();
    let err = KvError::unavailable(format!(
        "the node already serves {limit} connections (its --max-connections); try again \
         later or reuse a connection"
    ));
    wire::encode_response(&mut buf, 0, &Response::Error(err));
    let write = async {
        writer.write_all(&buf).await?;
        writer.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_millis(200), write).await;
}

/// Why a client connection stopped being read.
enum Stop {
    /// The client closed its side cleanly, or was idle for the idle timeout: requests in
    /// flight are still answered.
    Quiet,
    /// A frame took longer than the frame timeout; the text says so.
    Slow(String),
    /// The stream failed or a frame was malformed.
    Error(WireError),
}

/// Waits until the next whole frame is buffered, within the connection's time limits.
async fn wait_request<R: tokio::io::AsyncRead + Unpin>(
    frames: &mut FrameReader<R>,
    idle_since: Instant,
    idle_timeout: Duration,
    frame_timeout: Duration,
) -> Result<(), Stop> {
    loop {
        // A frame that has begun must complete within the frame timeout; otherwise the
        // connection may stay idle for the idle timeout. Re-checked at least every frame
        // timeout, so that bytes arriving during an idle wait start the frame clock.
        let deadline = match frames.partial_since() {
            Some(t) => t + frame_timeout,
            None => idle_since + idle_timeout,
        };
        let wake = deadline.min(Instant::now() + frame_timeout);
        match tokio::time::timeout_at(wake, frames.wait_frame()).await {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => return Err(Stop::Quiet),
            Ok(Err(e)) => return Err(Stop::Error(e)),
            Err(_) if Instant::now() < deadline => continue,
            Err(_) => {
                return Err(match frames.partial_since() {
                    Some(_) => Stop::Slow(format!(
                        "a frame did not arrive in full within {} ms of its first byte; \
                         closing the connection",
                        frame_timeout.as_millis()
                    )),
                    None => Stop::Quiet,
                })
            }
        }
    }
}

/// Answers a client whose frame could not be read with a definite malformed-request
/// error, then closes.
async fn reject_client<W: tokio::io::AsyncWrite + Unpin>(
    shared: &Shared<impl Net>,
    mut writer: W,
    id: u64,
    e: &WireError,
) {
    if let WireError::Io(_) = e {
        return;
    }
    let mut buf = Vec::new();
    let err = KvError::malformed(format!("{e}; closing the connection"));
    wire::encode_response(&mut buf, id, &Response::Error(err));
    let write = async {
        writer.write_all(&buf).await?;
        writer.shutdown().await
    };
    let _ = tokio::time::timeout(shared.config.dead_after(), write).await;
}

/// A peer's connection: its frames go to the state; pings are answered here.
async fn peer<N: Net>(
    shared: &Arc<Shared<N>>,
    from: NodeId,
    mut frames: FrameReader<N::Reader>,
    mut writer: N::Writer,
) -> Result<(), WireError> {
    let dead_after = shared.config.dead_after();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut pong = Vec::new();
    wire::encode_peer(&mut pong, &PeerFrame::Pong);
    loop {
        let first = tokio::time::timeout(dead_after, frames.next_frame())
            .await
            .map_err(|_| {
                WireError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("n{from} silent for {} ms", dead_after.as_millis()),
                ))
            })??;
        let Some(body) = first else {
            return Ok(());
        };
        batch.push(wire::decode_peer(body)?);
        while batch.len() < MAX_BATCH {
            match frames.try_next_frame()? {
                Some(body) => batch.push(wire::decode_peer(body)?),
                None => break,
            }
        }
        let mut answer = Vec::new();
        shared.with_state(|st| {
            for frame in batch.drain(..) {
                match frame {
                    PeerFrame::Ping => {
                        if answer.is_empty() {
                            answer.extend_from_slice(&pong);
                        }
                    }
                    PeerFrame::Membership(m) => {
                        // The peer's view is older than ours: bring it up to date.
                        if st.membership.supersedes(&m) {
                            wire::encode_peer(
                                &mut answer,
                                &PeerFrame::Membership(st.membership.clone()),
                            );
                        }
                        st.on_peer_frame(from, PeerFrame::Membership(m));
                    }
                    frame => st.on_peer_frame(from, frame),
                }
            }
        });
        if !answer.is_empty() {
            tokio::time::timeout(dead_after, writer.write_all(&answer))
                .await
                .map_err(|_| {
                    WireError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("n{from} is not reading its connection"),
                    ))
                })??;
        }
    }
}

/// A client's connection: requests are started as they arrive (a client may pipeline),
/// and responses are written by a separate task as they complete, in completion order.
async fn client<N: Net>(
    shared: &Arc<Shared<N>>,
    first: Vec<u8>,
    mut frames: FrameReader<N::Reader>,
    mut writer: N::Writer,
) {
    let out = Arc::new(Outbox::new_up());
    let writer_out = Arc::clone(&out);
    let write = async move {
        let _ = writer_out.drain_into(&mut writer).await;
        let _ = writer.shutdown().await;
    };
    // Behind the pause switch like every task of the node (see `pause`).
    let writer_task = match &shared.config.pause {
        Some(pause) => tokio::spawn(pause.gate(write)),
        None => tokio::spawn(write),
    };
    let mut batch: Vec<Result<(u64, Request), (u64, WireError)>> = Vec::with_capacity(MAX_BATCH);
    let mut slots: Vec<Option<OwnedSemaphorePermit>> = Vec::with_capacity(MAX_BATCH);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    batch.push(wire::decode_request(&first));
    let clean_end = loop {
        while batch.len() < MAX_BATCH {
            match frames.try_next_frame() {
                Ok(Some(body)) => batch.push(wire::decode_request(body)),
                Ok(None) => break,
                Err(e) => {
                    batch.push(Err((0, e)));
                    break;
                }
            }
        }
        for item in &batch {
            let slot = match item {
                Ok((_, Request::Put { .. } | Request::Get { .. })) => {
                    Arc::clone(&in_flight).acquire_owned().await.ok()
                }
                _ => None,
            };
            slots.push(slot);
        }
        let clock = shared.wall_clock_us();
        let malformed = shared.with_state(|st| {
            for (item, slot) in batch.drain(..).zip(slots.drain(..)) {
                match item {
                    Ok((id, request)) => handle(st, &out, id, request, slot, clock),
                    Err((id, e)) => {
                        if !matches!(e, WireError::Io(_)) {
                            let text = format!("{e}; closing the connection");
                            respond(&out, id, &Response::Error(KvError::malformed(text)));
                        }
                        return true;
                    }
                }
            }
            false
        });
        if malformed {
            break false;
        }
        let (idle, slow) = (shared.config.idle_timeout, shared.config.frame_timeout);
        match wait_request(&mut frames, Instant::now(), idle, slow).await {
            Ok(()) => match frames.try_next_frame() {
                Ok(Some(body)) => batch.push(wire::decode_request(body)),
                Ok(None) => unreachable!("wait_request returns once a frame is buffered"),
                Err(e) => batch.push(Err((0, e))),
            },
            Err(Stop::Quiet) => break true,
            Err(Stop::Slow(text)) => {
                respond(&out, 0, &Response::Error(KvError::malformed(text)));
                break false;
            }
            Err(Stop::Error(e)) => batch.push(Err((0, e))),
        }
    };
    if clean_end {
        // The client stopped sending but may still be reading: give the requests in
        // flight time to complete (each holds a reference to `out` until it is
        // answered, within the request timeout) before the connection goes.
        let grace = shared.config.request_timeout + Duration::from_millis(100);
        let answered = async {
            // Ours and the writer's are the only references once nothing is in flight.
            while Arc::strong_count(&out) > 2 && !writer_task.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(grace, answered).await;
    }
    out.close();
    let _ = writer_task.await;
}

fn handle(
    st: &mut super::state::State,
    out: &Arc<Outbox>,
    id: u64,
    request: Request,
    slot: Option<OwnedSemaphorePermit>,
    clock: u64,
) {
    match request {
        Request::Put {
            key,
            value,
            consistency,
        } => st.begin(
            out,
            id,
            slot,
            key,
            CoreRequest::Put(value),
            consistency,
            clock,
        ),
        Request::Get { key, consistency } => {
            st.begin(out, id, slot, key, CoreRequest::Get, consistency, clock)
        }
        Request::Stats => respond(out, id, &Response::Stats(st.stats())),
        Request::Members => respond(out, id, &Response::Members(st.membership.clone())),
        Request::Inspect { key } => {
            respond(out, id, &Response::Local(st.replica.get(&key).cloned()))
        }
        Request::Admin(admin) => {
            let response = st.admin(admin);
            respond(out, id, &response);
        }
    }
}

//! A client of the store: one connection to one node, one request at a time.
//!
//! Any node coordinates any request, so a client may talk to any member. Many clients can
//! run at once (each is its own connection); a single client is not pipelined.
//!
//! Every failure is a [`KvError`] that says whether the request may have taken effect:
//! - the node's own errors carry the node's verdict (a put that timed out after its write
//!   phase began is indefinite);
//! - a connection that cannot be opened, or that fails before any byte of the request
//!   was written, is definite: the node never saw the request;
//! - a connection lost, or a client-side timeout, after the request was (even partly)
//!   sent is indefinite for a put and definite for a get (gets change nothing).
//!
//! After a client-side failure the connection is dropped (a late response must not be
//! taken for the next request's) and the next request opens a new one.

use super::core::{Consistency, Versioned};
use super::error::{ErrorCode, KvError};
use super::membership::Membership;
use super::stats::Stats;
use super::wire::{self, Admin, FrameReader, Request, Response, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use super::NodeId;
use crate::sim::net::{Net, CONNECT_TIMEOUT};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// A connection to one node. See the module docs for what its errors mean.
pub struct Client<N: Net> {
    net: N,
    addr: String,
    timeout: Duration,
    conn: Option<Conn<N>>,
    next_id: u64,
    buf: Vec<u8>,
}

struct Conn<N: Net> {
    frames: FrameReader<N::Reader>,
    writer: N::Writer,
}

impl<N: Net> std::fmt::Debug for Client<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr)
            .field("timeout", &self.timeout)
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl<N: Net> Client<N> {
    /// How long a request may take, by default, before the client gives up on it. Longer
    /// than a node's default request timeout, so that normally the node's verdict (which
    /// knows whether a put may have taken effect) arrives first.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Connects to the node at `addr`. Fails, definitely, if it cannot.
    pub async fn connect(net: N, addr: impl Into<String>) -> Result<Client<N>, KvError> {
        let mut client = Client::lazy(net, addr);
        client.ensure_connected().await?;
        Ok(client)
    }

    /// A client that connects on its first request.
    pub fn lazy(net: N, addr: impl Into<String>) -> Client<N> {
        Client {
            net,
            addr: addr.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            conn: None,
            next_id: 1,
            buf: Vec::new(),
        }
    }

    /// Sets the client-side timeout of each request.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The node this client talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sets `key` to `value`, once `consistency` replicas have it durably.
    pub async fn put(
        &mut self,
        key: &str,
        value: &str,
        consistency: Consistency,
    ) -> Result<(), KvError> {
        let request = Request::Put {
            key: key.to_owned(),
            value: value.to_owned(),
            consistency,
        };
        match self.call(&request).await? {
            Response::Ok => Ok(()),
            other => Err(self.unexpected(&request, other)),
        }
    }

    /// Reads `key` from `consistency` replicas: `None` if it was never written.
    pub async fn get(
        &mut self,
        key: &str,
        consistency: Consistency,
    ) -> Result<Option<String>, KvError> {
        let request = Request::Get {
            key: key.to_owned(),
            consistency,
        };
        match self.call(&request).await? {
            Response::Value(v) => Ok(v),
            other => Err(self.unexpected(&request, other)),
        }
    }

    /// The node's counters.
    pub async fn stats(&mut self) -> Result<Stats, KvError> {
        match self.call(&Request::Stats).await? {
            Response::Stats(s) => Ok(s),
            other => Err(self.unexpected(&Request::Stats, other)),
        }
    }

    /// The membership the node follows.
    pub async fn members(&mut self) -> Result<Membership, KvError> {
        match self.call(&Request::Members).await? {
            Response::Members(m) => Ok(m),
            other => Err(self.unexpected(&Request::Members, other)),
        }
    }

    /// What the node's own store holds for `key` (not a consistent read).
    pub async fn inspect(&mut self, key: &str) -> Result<Option<Versioned<String>>, KvError> {
        let request = Request::Inspect {
            key: key.to_owned(),
        };
        match self.call(&request).await? {
            Response::Local(v) => Ok(v),
            other => Err(self.unexpected(&request, other)),
        }
    }

    /// Adds `node`, listening at `addr`, to the cluster; returns the new membership.
    pub async fn add_node(&mut self, node: NodeId, addr: &str) -> Result<Membership, KvError> {
        self.admin(Admin::AddNode {
            node,
            addr: addr.to_owned(),
        })
        .await
    }

    /// Removes `node` from the cluster (it failed, or is leaving) and re-replicates its
    /// keys; returns the new membership.
    pub async fn remove_node(&mut self, node: NodeId) -> Result<Membership, KvError> {
        self.admin(Admin::RemoveNode { node }).await
    }

    async fn admin(&mut self, admin: Admin) -> Result<Membership, KvError> {
        let request = Request::Admin(admin);
        match self.call(&request).await? {
            Response::Members(m) => Ok(m),
            other => Err(self.unexpected(&request, other)),
        }
    }

    /// Sends any request and returns the node's response; a [`Response::Error`] is
    /// returned as an error.
    pub async fn call(&mut self, request: &Request) -> Result<Response, KvError> {
        check_limits(request)?;
        let mutation = request.is_mutation();
        let deadline = Instant::now() + self.timeout;
        self.ensure_connected().await?;
        let id = self.next_id;
        self.next_id += 1;
        self.buf.clear();
        wire::encode_request(&mut self.buf, id, request);
        let conn = self.conn.as_mut().expect("connected above");

        // Written byte by byte count, so that a failure before the first byte (the node
        // never saw the request) is told apart from one after.
        let mut written = 0;
        while written < self.buf.len() {
            let step =
                tokio::time::timeout_at(deadline, conn.writer.write(&self.buf[written..])).await;
            let failure = match step {
                Ok(Ok(0)) => "the connection closed".to_string(),
                Ok(Ok(n)) => {
                    written += n;
                    continue;
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => "sending timed out".to_string(),
            };
            self.conn = None;
            let definite = written == 0 || !mutation;
            return Err(KvError::new(
                ErrorCode::Crash,
                format!("request to {} failed while sending: {failure}", self.addr),
                definite,
            ));
        }

        let read = tokio::time::timeout_at(deadline, conn.frames.next_frame()).await;
        let failure = match read {
            Err(_) => {
                self.conn = None;
                return Err(KvError::new(
                    ErrorCode::Timeout,
                    format!(
                        "no response from {} within {} ms",
                        self.addr,
                        self.timeout.as_millis()
                    ),
                    !mutation,
                ));
            }
            Ok(Ok(Some(body))) => match wire::decode_response(body) {
                Ok((rid, response)) if rid == id => {
                    return match response {
                        Response::Error(e) => Err(e),
                        r => Ok(r),
                    }
                }
                // Id 0 is never a request's: it is the node's error about the connection
                // itself (over its connection limit, or a frame it could not read), sent
                // before it closes. It is this request's fate, as definite as it says.
                Ok((0, Response::Error(e))) => {
                    self.conn = None;
                    return Err(e);
                }
                Ok((rid, _)) => format!("response to request {rid} arrived for request {id}"),
                Err(e) => e.to_string(),
            },
            Ok(Ok(None)) => "the node closed the connection".to_string(),
            Ok(Err(e)) => e.to_string(),
        };
        self.conn = None;
        Err(KvError::new(
            ErrorCode::Crash,
            format!(
                "connection to {} lost after sending the request: {failure}",
                self.addr
            ),
            !mutation,
        ))
    }

    async fn ensure_connected(&mut self) -> Result<(), KvError> {
        if self.conn.is_some() {
            return Ok(());
        }
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, self.net.connect(&self.addr)).await;
        let (reader, writer) = match connected {
            Ok(Ok(halves)) => halves,
            Ok(Err(e)) => {
                return Err(KvError::unavailable(format!(
                    "cannot connect to {}: {e}",
                    self.addr
                )))
            }
            Err(_) => {
                return Err(KvError::unavailable(format!(
                    "connecting to {} timed out",
                    self.addr
                )))
            }
        };
        self.conn = Some(Conn {
            frames: FrameReader::new(reader),
            writer,
        });
        Ok(())
    }

    /// A well-formed response of the wrong kind: the node and the client disagree about
    /// the protocol. Treated like a lost connection.
    fn unexpected(&mut self, request: &Request, response: Response) -> KvError {
        self.conn = None;
        KvError::new(
            ErrorCode::Crash,
            format!("{} answered {request:?} with {response:?}", self.addr),
            !request.is_mutation(),
        )
    }
}

/// Refuses, definitely and without sending, a request the node would refuse.
fn check_limits(request: &Request) -> Result<(), KvError> {
    let (key, value) = match request {
        Request::Put { key, value, .. } => (Some(key), Some(value)),
        Request::Get { key, .. } | Request::Inspect { key } => (Some(key), None),
        _ => (None, None),
    };
    if let Some(key) = key.filter(|k| k.len() > MAX_KEY_BYTES) {
        return Err(KvError::malformed(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    if let Some(value) = value.filter(|v| v.len() > MAX_VALUE_BYTES) {
        return Err(KvError::malformed(format!(
            "value of {} bytes exceeds the limit of {MAX_VALUE_BYTES} bytes",
            value.len()
        )));
    }
    Ok(())
}

//! A client of `raft-kv`: finds the leader by following `not-leader` hints, opens a
//! session, and retries each write with the same (session, sequence number) until it is
//! answered, so that a write takes effect at most once however often it is sent.
//!
//! Generic over [`Net`]: the same client runs over loopback TCP ([`TokioNet`]) and inside
//! turmoil ([`TurmoilNet`]), and uses only `tokio::time`, which turmoil drives.
//!
//! # Time
//!
//! Each operation has a budget ([`Client::set_timeout`], default
//! [`Client::DEFAULT_TIMEOUT`]); each request to one node within it is cut off after
//! [`Client::set_attempt_timeout`] (default [`Client::DEFAULT_ATTEMPT_TIMEOUT`]). When
//! the budget runs out the operation fails with the last attempt's error.
//!
//! # Verdicts
//!
//! A write is *maybe applied* once any attempt may have reached a leader's log: the
//! request was sent and the connection then failed or timed out, or the node answered
//! `timeout` or `unknown`. Until then every failure is definite (a node that could not
//! be reached never saw the request; `not-leader` and `lost` say it was not proposed, or
//! was replaced). A failed write is definite exactly when it was never maybe applied, and
//! a cas mismatch or a refusal to parse is always definite. Reads never change anything,
//! so a failed read is always definite.
//!
//! A session that expired is handled by registering a new one and retrying, as long as
//! the write was never maybe applied; otherwise the write fails with
//! [`ErrorKind::SessionExpired`], indefinite: the record that would tell whether an
//! earlier attempt took effect is gone.
//!
//! [`TokioNet`]: crate::sim::net::TokioNet
//! [`TurmoilNet`]: crate::sim::net::TurmoilNet

use super::command::{ClientId, Command, Op, Query, Reply};
use super::error::{Error, ErrorKind};
use crate::raft::node::client::MAX_LINE_BYTES;
use crate::sim::net::Net;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::time::Instant;

/// A client of a `raft-kv` cluster. One operation at a time (`&mut self`); run several
/// clients for concurrency.
pub struct Client<N: Net> {
    net: N,
    cluster: Vec<String>,
    /// Where the next request goes: a cluster address or a leader's hinted one.
    target: String,
    session: Option<ClientId>,
    next_seq: u64,
    timeout: Duration,
    attempt_timeout: Duration,
    conn: Option<Conn<N>>,
}

struct Conn<N: Net> {
    addr: String,
    reader: BufReader<N::Reader>,
    writer: N::Writer,
}

impl<N: Net> std::fmt::Debug for Client<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cluster", &self.cluster)
            .field("target", &self.target)
            .field("session", &self.session)
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

/// How one request to one node ended.
enum Attempt {
    /// The node answered this line.
    Reply(String),
    /// Nothing was sent: the connection could not be opened.
    Unreachable(String),
    /// The request was (perhaps partly) sent, and then the connection failed or no answer
    /// came in time.
    AfterSend(ErrorKind, String),
}

/// What a node's answer to a proposal or a read says.
enum Answer {
    /// Applied (or read) with this machine reply.
    Done(Reply),
    /// Not proposed here; the leader's client address, if the node knows it.
    NotLeader(Option<String>),
    /// Not applied; may be retried (`lost`).
    Retry(String),
    /// May have been applied; retry to learn (`timeout`, `unknown`).
    Maybe(String),
    /// The node refused to parse it.
    Refused(String),
}

fn parse_answer(line: &str) -> Result<Answer, String> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "ok" => {
            let (_index, reply) = rest
                .split_once(' ')
                .ok_or_else(|| format!("`ok` without index and reply: {line:?}"))?;
            Reply::parse(reply).map(Answer::Done)
        }
        "not-leader" => {
            let addr = rest.split(' ').nth(1).filter(|a| *a != "-");
            Ok(Answer::NotLeader(addr.map(str::to_string)))
        }
        "lost" => Ok(Answer::Retry(line.to_string())),
        "timeout" | "unknown" => Ok(Answer::Maybe(line.to_string())),
        "error" => Ok(Answer::Refused(rest.to_string())),
        _ => Err(format!("unexpected answer {line:?}")),
    }
}

impl<N: Net> Client<N> {
    /// The default budget of one operation, retries included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default wait for one node's answer.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
    /// The pause before retrying when no node could say who leads (an election).
    const BACKOFF: Duration = Duration::from_millis(25);

    /// A client of the cluster whose nodes serve clients at `cluster`. Connects on its
    /// first request.
    ///
    /// # Panics
    ///
    /// If `cluster` is empty: there would be nobody to ask.
    pub fn new(net: N, cluster: Vec<String>) -> Client<N> {
        assert!(!cluster.is_empty(), "a cluster has at least one address");
        Client {
            net,
            target: cluster[0].clone(),
            cluster,
            session: None,
            next_seq: 1,
            timeout: Self::DEFAULT_TIMEOUT,
            attempt_timeout: Self::DEFAULT_ATTEMPT_TIMEOUT,
            conn: None,
        }
    }

    /// Sets the budget of each operation.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sets how long one node's answer is waited for.
    pub fn set_attempt_timeout(&mut self, timeout: Duration) {
        self.attempt_timeout = timeout;
    }

    /// The session this client writes in, once it has one.
    pub fn session(&self) -> Option<ClientId> {
        self.session
    }

    /// Where the next request goes (the leader, as far as the client knows).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The value of `key` (`None`: absent), linearizable.
    pub async fn get(&mut self, key: &str) -> Result<Option<String>, Error> {
        super::command::check_key(key).map_err(Error::invalid)?;
        let line = format!(
            "read {}",
            String::from_utf8_lossy(&Query::Get { key: key.into() }.encode())
        );
        let deadline = Instant::now() + self.timeout;
        let mut last = Error::new(ErrorKind::Timeout, "no attempt was made", true);
        while Instant::now() < deadline {
            match self.attempt(&line, deadline).await {
                Attempt::Reply(reply) => match parse_answer(&reply) {
                    Ok(Answer::Done(Reply::Value(v))) => return Ok(v),
                    Ok(Answer::Done(Reply::Error(why)) | Answer::Refused(why)) => {
                        return Err(Error::invalid(format!(
                            "{} refused the read: {why}",
                            self.target
                        )))
                    }
                    Ok(Answer::Done(other)) => {
                        return Err(Error::new(
                            ErrorKind::Protocol,
                            format!("{} answered a read with {other:?}", self.target),
                            true,
                        ))
                    }
                    Ok(Answer::NotLeader(hint)) => {
                        last = self.not_leader(hint).await;
                    }
                    Ok(Answer::Retry(why) | Answer::Maybe(why)) => {
                        last =
                            Error::new(ErrorKind::Timeout, format!("{}: {why}", self.target), true);
                    }
                    Err(why) => {
                        self.conn = None;
                        last = Error::new(
                            ErrorKind::Protocol,
                            format!("{}: {why}", self.target),
                            true,
                        );
                        self.rotate();
                    }
                },
                Attempt::Unreachable(why) => {
                    last = Error::new(ErrorKind::Unavailable, why, true);
                    self.rotate_after_failure().await;
                }
                Attempt::AfterSend(kind, why) => {
                    last = Error::new(kind, why, true);
                    self.rotate();
                }
            }
        }
        Err(self.out_of_time(last, "get"))
    }

    /// Sets `key` to `value`.
    pub async fn put(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.write(Op::Put {
            key: key.into(),
            value: value.into(),
        })
        .await
    }

    /// Removes `key` (succeeds whether or not it was present).
    pub async fn delete(&mut self, key: &str) -> Result<(), Error> {
        self.write(Op::Delete { key: key.into() }).await
    }

    /// Sets `key` to `to` if its value is `from` (`None`: if it is absent); otherwise
    /// fails with a definite [`ErrorKind::CasMismatch`] naming the value found.
    pub async fn cas(&mut self, key: &str, from: Option<&str>, to: &str) -> Result<(), Error> {
        self.write(Op::Cas {
            key: key.into(),
            from: from.map(Into::into),
            to: to.into(),
        })
        .await
    }

    /// Applies `op` once, retrying within the budget; see the module docs for verdicts.
    pub async fn write(&mut self, op: Op) -> Result<(), Error> {
        op.validate().map_err(Error::invalid)?;
        let deadline = Instant::now() + self.timeout;
        let mut maybe_applied = false;
        let mut last = Error::new(ErrorKind::Timeout, "no attempt was made", true);
        let mut sent: Option<(ClientId, u64)> = None;
        while Instant::now() < deadline {
            let (client, seq) = match sent {
                Some(s) => s,
                None => {
                    let client = match self.session {
                        Some(c) => c,
                        None => match self.register(deadline).await {
                            Ok(c) => c,
                            Err(e) => {
                                last = e;
                                break;
                            }
                        },
                    };
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    sent = Some((client, seq));
                    (client, seq)
                }
            };
            let command = Command::Session {
                client,
                seq,
                op: op.clone(),
            };
            let line = format!("propose {}", String::from_utf8_lossy(&command.encode()));
            match self.attempt(&line, deadline).await {
                Attempt::Reply(reply) => match parse_answer(&reply) {
                    Ok(Answer::Done(Reply::Ok)) => return Ok(()),
                    Ok(Answer::Done(Reply::CasMismatch(current))) => {
                        return Err(Error::new(
                            ErrorKind::CasMismatch {
                                current: current.clone(),
                            },
                            format!(
                                "{:?} holds {}",
                                op.key(),
                                current.map_or("nothing".to_string(), |c| format!("{c:?}"))
                            ),
                            true,
                        ))
                    }
                    Ok(Answer::Done(Reply::SessionExpired)) => {
                        self.session = None;
                        if maybe_applied {
                            return Err(Error::new(
                                ErrorKind::SessionExpired,
                                format!(
                                    "session {client} expired after an attempt that may have \
                                     been applied; whether it was is no longer known"
                                ),
                                false,
                            ));
                        }
                        // Nothing of this write was applied: start over in a new session.
                        sent = None;
                        last = Error::new(
                            ErrorKind::SessionExpired,
                            format!("session {client} expired"),
                            true,
                        );
                    }
                    Ok(Answer::Done(Reply::Error(why)) | Answer::Refused(why)) => {
                        return Err(Error::invalid(format!("{} refused it: {why}", self.target)))
                    }
                    Ok(Answer::Done(other)) => {
                        return Err(Error::new(
                            ErrorKind::Protocol,
                            format!("{} answered {other:?} to ({client}, {seq})", self.target),
                            !maybe_applied,
                        ))
                    }
                    Ok(Answer::NotLeader(hint)) => {
                        last = self.not_leader(hint).await;
                    }
                    Ok(Answer::Retry(why)) => {
                        last = Error::new(
                            ErrorKind::Unavailable,
                            format!("{}: {why}", self.target),
                            true,
                        );
                        tokio::time::sleep(Self::BACKOFF).await;
                    }
                    Ok(Answer::Maybe(why)) => {
                        maybe_applied = true;
                        last = Error::new(
                            ErrorKind::Timeout,
                            format!("{}: {why}", self.target),
                            false,
                        );
                    }
                    Err(why) => {
                        maybe_applied = true;
                        self.conn = None;
                        last = Error::new(
                            ErrorKind::Protocol,
                            format!("{}: {why}", self.target),
                            false,
                        );
                        self.rotate();
                    }
                },
                Attempt::Unreachable(why) => {
                    last = Error::new(ErrorKind::Unavailable, why, true);
                    self.rotate_after_failure().await;
                }
                Attempt::AfterSend(kind, why) => {
                    maybe_applied = true;
                    last = Error::new(kind, why, false);
                    self.rotate();
                }
            }
        }
        let what = match &op {
            Op::Put { .. } => "put",
            Op::Delete { .. } => "delete",
            Op::Cas { .. } => "cas",
        };
        let last = Error::new(
            last.kind().clone(),
            last.text(),
            last.is_definite() && !maybe_applied,
        );
        Err(self.out_of_time(last, what))
    }

    /// Opens a session (a `register` command) and returns its id. A register that may
    /// have been applied and is retried leaves an unused session behind, which expires.
    async fn register(&mut self, deadline: Instant) -> Result<ClientId, Error> {
        let line = format!(
            "propose {}",
            String::from_utf8_lossy(&Command::Register.encode())
        );
        let mut last = Error::new(ErrorKind::Timeout, "no attempt was made", true);
        while Instant::now() < deadline {
            match self.attempt(&line, deadline).await {
                Attempt::Reply(reply) => match parse_answer(&reply) {
                    Ok(Answer::Done(Reply::Session(id))) => {
                        self.session = Some(id);
                        self.next_seq = 1;
                        return Ok(id);
                    }
                    Ok(Answer::NotLeader(hint)) => last = self.not_leader(hint).await,
                    Ok(Answer::Retry(why) | Answer::Maybe(why)) => {
                        last =
                            Error::new(ErrorKind::Timeout, format!("{}: {why}", self.target), true);
                    }
                    Ok(_) | Err(_) => {
                        self.conn = None;
                        last = Error::new(
                            ErrorKind::Protocol,
                            format!("{} answered {reply:?} to register", self.target),
                            true,
                        );
                        self.rotate();
                    }
                },
                Attempt::Unreachable(why) => {
                    last = Error::new(ErrorKind::Unavailable, why, true);
                    self.rotate_after_failure().await;
                }
                Attempt::AfterSend(kind, why) => {
                    last = Error::new(kind, why, true);
                    self.rotate();
                }
            }
        }
        // Whatever happened to the registration, the write itself was never sent.
        Err(Error::new(
            last.kind().clone(),
            format!("opening a session: {}", last.text()),
            true,
        ))
    }

    /// Follows a `not-leader` hint, or waits for an election to end without one.
    async fn not_leader(&mut self, hint: Option<String>) -> Error {
        let text = format!(
            "{} is not the leader{}",
            self.target,
            hint.as_ref()
                .map_or_else(|| " and knows none".to_string(), |h| format!("; {h} is"))
        );
        match hint {
            Some(addr) if addr != self.target => {
                self.conn = None;
                self.target = addr;
            }
            _ => {
                tokio::time::sleep(Self::BACKOFF).await;
                self.rotate();
            }
        }
        Error::new(ErrorKind::Unavailable, text, true)
    }

    /// The budget ran out; `last` says why.
    fn out_of_time(&self, last: Error, what: &str) -> Error {
        let text = format!(
            "{what} not done within {} ms; last: {}",
            self.timeout.as_millis(),
            last.text()
        );
        Error::new(last.kind().clone(), text, last.is_definite())
    }

    /// Moves on to the next address of the cluster.
    fn rotate(&mut self) {
        self.conn = None;
        let at = self.cluster.iter().position(|a| *a == self.target);
        let next = at.map_or(0, |i| (i + 1) % self.cluster.len());
        self.target = self.cluster[next].clone();
    }

    /// Moves on, and pauses once a whole round of the cluster failed.
    async fn rotate_after_failure(&mut self) {
        self.rotate();
        if self.target == self.cluster[0] {
            tokio::time::sleep(Self::BACKOFF).await;
        }
    }

    /// Sends one request line to the target and reads its answer, within the attempt
    /// timeout and the operation's deadline.
    async fn attempt(&mut self, line: &str, deadline: Instant) -> Attempt {
        let limit = self
            .attempt_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let until = Instant::now() + limit;
        if self.conn.as_ref().is_none_or(|c| c.addr != self.target) {
            let connect = self.net.connect(&self.target);
            match tokio::time::timeout_at(until, connect).await {
                Ok(Ok((reader, writer))) => {
                    self.conn = Some(Conn {
                        addr: self.target.clone(),
                        reader: BufReader::new(reader),
                        writer,
                    });
                }
                Ok(Err(e)) => return Attempt::Unreachable(format!("{}: {e}", self.target)),
                Err(_) => {
                    return Attempt::Unreachable(format!(
                        "{}: no connection within {} ms",
                        self.target,
                        limit.as_millis()
                    ))
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Attempt::Unreachable(format!("{}: not connected", self.target));
        };
        let exchange = async {
            conn.writer
                .write_all(format!("{line}\n").as_bytes())
                .await?;
            let mut reply = Vec::new();
            (&mut conn.reader)
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut reply)
                .await?;
            if reply.pop() != Some(b'\n') {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection ended without a whole answer",
                ));
            }
            Ok(String::from_utf8_lossy(&reply).into_owned())
        };
        let result = tokio::time::timeout_at(until, exchange).await;
        match result {
            Ok(Ok(reply)) => Attempt::Reply(reply),
            Ok(Err(e)) => {
                self.conn = None;
                Attempt::AfterSend(ErrorKind::ConnectionLost, format!("{}: {e}", self.target))
            }
            Err(_) => {
                // A late answer must not be taken for the next request's.
                self.conn = None;
                Attempt::AfterSend(
                    ErrorKind::Timeout,
                    format!("{}: no answer within {} ms", self.target, limit.as_millis()),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_answers_are_classified() {
        assert!(matches!(
            parse_answer("ok 5 value =x"),
            Ok(Answer::Done(Reply::Value(Some(v)))) if v == "x"
        ));
        assert!(matches!(
            parse_answer("not-leader 2 127.0.0.1:9"),
            Ok(Answer::NotLeader(Some(a))) if a == "127.0.0.1:9"
        ));
        assert!(matches!(
            parse_answer("not-leader - -"),
            Ok(Answer::NotLeader(None))
        ));
        assert!(matches!(parse_answer("lost 4"), Ok(Answer::Retry(_))));
        assert!(matches!(
            parse_answer("timeout not applied"),
            Ok(Answer::Maybe(_))
        ));
        assert!(matches!(
            parse_answer("unknown 3 why"),
            Ok(Answer::Maybe(_))
        ));
        assert!(matches!(parse_answer("error bad"), Ok(Answer::Refused(w)) if w == "bad"));
        assert!(parse_answer("ok 5").is_err());
        assert!(parse_answer("hello").is_err());
    }
}

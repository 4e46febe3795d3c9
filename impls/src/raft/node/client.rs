//! The client protocol: one request per line, one reply line per request, on the node's
//! client address (the grammar is in the [module doc](super)).
//!
//! Each connection is a task that parses lines, hands them to the driver and writes the
//! replies in order. A line longer than [`MAX_LINE_BYTES`] ends the connection after an
//! `error` reply, so a client cannot make the node buffer without bound.

use super::driver::{Event, ProposeOutcome, StatusReport};
use super::Log;
use crate::raft::core::Index;
use crate::sim::net::Net;
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// The longest request line accepted, newline included: a `propose` of the longest
/// command ([`super::codec::MAX_COMMAND_BYTES`]) and its keyword.
pub const MAX_LINE_BYTES: usize = super::codec::MAX_COMMAND_BYTES + 64;

/// A parsed request line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `propose <command>`: append the command (the rest of the line, as bytes).
    Propose(Vec<u8>),
    /// `read <query>`: answer the query (the rest of the line) from the state machine,
    /// linearizably, without a log entry.
    Read(Vec<u8>),
    /// `status`: report the node's state.
    Status,
}

/// Parses one request line (without its newline). The error is the reply's text.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line == b"status" {
        return Ok(Request::Status);
    }
    for (keyword, what) in [(&b"propose "[..], "command"), (b"read ", "query")] {
        let Some(body) = line.strip_prefix(keyword) else {
            continue;
        };
        if body.is_empty() {
            return Err(format!(
                "{}needs a {what}",
                String::from_utf8_lossy(keyword)
            ));
        }
        if body.len() > super::codec::MAX_COMMAND_BYTES {
            return Err(format!(
                "a {what} is at most {} bytes",
                super::codec::MAX_COMMAND_BYTES
            ));
        }
        return Ok(if what == "command" {
            Request::Propose(body.to_vec())
        } else {
            Request::Read(body.to_vec())
        });
    }
    Err(format!(
        "unknown request {:?}; expected `propose <command>`, `read <query>` or `status`",
        String::from_utf8_lossy(&line[..line.len().min(40)])
    ))
}

/// The reply line for a proposal's outcome.
pub fn format_outcome(outcome: &ProposeOutcome) -> String {
    match outcome {
        ProposeOutcome::Applied { index, reply } => {
            format!("ok {index} {}", printable(reply))
        }
        ProposeOutcome::NotLeader {
            leader,
            client_addr,
        } => format!(
            "not-leader {} {}",
            leader.map_or_else(|| "-".to_string(), |l| l.to_string()),
            client_addr.as_deref().unwrap_or("-")
        ),
        ProposeOutcome::Lost { index } => format!("lost {index}"),
        ProposeOutcome::Unknown { index, why } => format!("unknown {index} {why}"),
    }
}

/// The reply line for a status report.
pub fn format_status(s: &StatusReport) -> String {
    format!(
        "status id={} role={} term={} leader={} commit={} applied={} snapshot={} first={} \
         last={} wal_bytes={} fsyncs={} {}",
        s.id,
        s.role,
        s.term,
        s.leader.map_or_else(|| "-".to_string(), |l| l.to_string()),
        s.commit,
        s.applied,
        s.snapshot,
        s.first,
        s.last,
        s.wal_bytes,
        s.fsyncs,
        s.machine
    )
}

/// The `key=value` fields of a reply line (a status line, in particular).
pub fn fields(line: &str) -> BTreeMap<&str, &str> {
    line.split_whitespace()
        .filter_map(|word| word.split_once('='))
        .collect()
}

fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\n', '\r'], " ")
}

/// Serves client connections on `listener` until the node stops.
pub(crate) async fn accept<N: Net>(
    net: N,
    listener: N::Listener,
    events: mpsc::Sender<Event>,
    propose_timeout: Duration,
    log: Log,
) {
    loop {
        match net.accept(&listener).await {
            Ok((reader, writer)) => {
                let events = events.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(reader, writer, events, propose_timeout).await {
                        log.say(format_args!("client connection ended: {e}"));
                    }
                });
            }
            Err(e) => {
                log.say(format_args!("accepting a client failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve<R: AsyncRead + Unpin, W: AsyncWriteExt + Unpin>(
    reader: R,
    mut writer: W,
    events: mpsc::Sender<Event>,
    propose_timeout: Duration,
) -> io::Result<()> {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') {
            let reply = if n == MAX_LINE_BYTES {
                format!("error a request line is at most {MAX_LINE_BYTES} bytes\n")
            } else {
                "error the connection ended in the middle of a line\n".to_string()
            };
            writer.write_all(reply.as_bytes()).await?;
            return Ok(());
        }
        line.pop();
        let reply = match parse_request(&line) {
            Err(why) => format!("error {why}"),
            Ok(Request::Status) => {
                let (tx, rx) = oneshot::channel();
                if events.send(Event::Status { reply: tx }).await.is_err() {
                    return Ok(());
                }
                match rx.await {
                    Ok(report) => format_status(&report),
                    Err(_) => return Ok(()),
                }
            }
            Ok(Request::Propose(command)) => {
                let (tx, rx) = oneshot::channel();
                let event = Event::Propose { command, reply: tx };
                match wait_outcome(&events, event, rx, propose_timeout).await {
                    Some(Ok(line)) => line,
                    Some(Err(ms)) => format!("timeout not applied within {ms} ms; it may still be"),
                    None => return Ok(()),
                }
            }
            Ok(Request::Read(query)) => {
                let (tx, rx) = oneshot::channel();
                let event = Event::Read { query, reply: tx };
                match wait_outcome(&events, event, rx, propose_timeout).await {
                    Some(Ok(line)) => line,
                    Some(Err(ms)) => format!("timeout not served within {ms} ms"),
                    None => return Ok(()),
                }
            }
        };
        writer.write_all(format!("{reply}\n").as_bytes()).await?;
    }
}

/// Hands `event` to the driver and waits up to `timeout` for its outcome: the reply line,
/// `Err(milliseconds waited)` on a timeout, `None` once the node is stopping.
async fn wait_outcome(
    events: &mpsc::Sender<Event>,
    event: Event,
    rx: oneshot::Receiver<ProposeOutcome>,
    timeout: Duration,
) -> Option<Result<String, u128>> {
    events.send(event).await.ok()?;
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(outcome)) => Some(Ok(format_outcome(&outcome))),
        Ok(Err(_)) => None,
        Err(_) => Some(Err(timeout.as_millis())),
    }
}

/// Sends one request line to the node at `addr` and returns its reply line (without the
/// newline), waiting at most `timeout` in all.
pub async fn request<N: Net>(
    net: &N,
    addr: &str,
    line: &str,
    timeout: Duration,
) -> io::Result<String> {
    let exchange = async {
        let (reader, mut writer) = net.connect(addr).await?;
        writer.write_all(format!("{line}\n").as_bytes()).await?;
        let mut reply = Vec::new();
        BufReader::new(reader)
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut reply)
            .await?;
        if reply.pop() != Some(b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{addr} closed the connection without a whole reply"),
            ));
        }
        Ok(String::from_utf8_lossy(&reply).into_owned())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("{addr} did not answer")))?
}

/// The index in an `ok` reply.
pub fn applied_index(reply: &str) -> Option<Index> {
    reply.strip_prefix("ok ")?.split(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_bad_ones_say_why() {
        assert_eq!(parse_request(b"status"), Ok(Request::Status));
        assert_eq!(parse_request(b"status\r"), Ok(Request::Status));
        assert_eq!(
            parse_request(b"propose a b"),
            Ok(Request::Propose(b"a b".to_vec()))
        );
        assert!(parse_request(b"propose ").unwrap_err().contains("needs"));
        assert_eq!(
            parse_request(b"read get k"),
            Ok(Request::Read(b"get k".to_vec()))
        );
        assert!(parse_request(b"read ")
            .unwrap_err()
            .contains("needs a query"));
        assert!(parse_request(b"stat").unwrap_err().contains("unknown"));
        let long = [b"propose ".as_slice(), &vec![b'x'; MAX_LINE_BYTES]].concat();
        assert!(parse_request(&long).unwrap_err().contains("at most"));
    }

    #[test]
    fn replies_are_one_line_with_fields() {
        let ok = format_outcome(&ProposeOutcome::Applied {
            index: 7,
            reply: b"3\n".to_vec(),
        });
        assert_eq!(ok, "ok 7 3 ");
        assert_eq!(applied_index(&ok), Some(7));
        let not = format_outcome(&ProposeOutcome::NotLeader {
            leader: Some(2),
            client_addr: Some("127.0.0.1:9".into()),
        });
        assert_eq!(not, "not-leader 2 127.0.0.1:9");
        assert_eq!(applied_index(&not), None);
        let status = format_status(&StatusReport {
            id: 1,
            role: "leader",
            term: 4,
            leader: Some(1),
            commit: 9,
            applied: 8,
            snapshot: 5,
            first: 6,
            last: 9,
            wal_bytes: 100,
            fsyncs: 7,
            machine: "count=3".into(),
        });
        let f = fields(&status);
        assert_eq!(f["role"], "leader");
        assert_eq!(f["first"], "6");
        assert_eq!(f["fsyncs"], "7");
        assert_eq!(f["count"], "3");
    }

    #[tokio::test]
    async fn an_overlong_line_ends_the_connection_with_an_error() {
        let (events, _rx) = mpsc::channel(1);
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.push(b'\n');
        let mut out = Vec::new();
        serve(&input[..], &mut out, events, Duration::from_secs(1))
            .await
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("error a request line is at most"), "{out}");
    }
}

//! The KV's request language: the commands proposed to the log, the queries served by
//! reads, and the replies to both, each one line of printable ASCII.
//!
//! ```text
//! command (proposed, applied in log order)       reply
//!   register                                     session <client-id>
//!   <client> <seq> put <key> =<value>            ok
//!   <client> <seq> delete <key>                  ok
//!   <client> <seq> cas <key> <from> =<to>        ok | cas-mismatch <current>
//! query (read, not logged)
//!   get <key>                                    value <current>
//! replies any session command may get instead
//!   session-expired                              the client's session is gone; not applied
//!   stale <last-seq>                             an older request than the session's last
//!   error <why>                                  the command does not parse; not applied
//! ```
//!
//! `<from>` and `<current>` are `-` for an absent key or `=<value>`. Keys and values are
//! written with [`escape`]: every byte outside `!`..`~`, and `%` itself, becomes `%XX`,
//! so a token holds no space or newline and any UTF-8 string round-trips. A value token
//! starts with `=`, so the empty value is `=` and cannot be taken for an absent one.

use std::fmt::Write as _;

/// The longest key, in bytes (before escaping).
pub const MAX_KEY_BYTES: usize = 256;
/// The longest value, in bytes (before escaping). A cas with two values this long and a
/// key of [`MAX_KEY_BYTES`], every byte escaped, still fits in one command
/// ([`crate::raft::node::codec::MAX_COMMAND_BYTES`]).
pub const MAX_VALUE_BYTES: usize = 2048;

/// A client's session id: the log index of its `register` command.
pub type ClientId = u64;

/// A change to the map, carried by a session command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Remove `key` (whether or not it is present).
    Delete {
        /// The key.
        key: String,
    },
    /// Set `key` to `to` if its value is `from` (`None`: if it is absent).
    Cas {
        /// The key.
        key: String,
        /// The value expected, `None` for absent.
        from: Option<String>,
        /// The value to set.
        to: String,
    },
}

impl Op {
    /// The key the op changes.
    pub fn key(&self) -> &str {
        match self {
            Op::Put { key, .. } | Op::Delete { key } | Op::Cas { key, .. } => key,
        }
    }

    /// Checks the sizes against [`MAX_KEY_BYTES`] and [`MAX_VALUE_BYTES`].
    pub fn validate(&self) -> Result<(), String> {
        check_key(self.key())?;
        match self {
            Op::Put { value, .. } => check_value(value),
            Op::Delete { .. } => Ok(()),
            Op::Cas { from, to, .. } => {
                if let Some(from) = from {
                    check_value(from)?;
                }
                check_value(to)
            }
        }
    }
}

/// A command the log carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Open a session; its id is the index the command is applied at.
    Register,
    /// Sequence number `seq` of session `client`: apply `op` once, however often the
    /// command is applied.
    Session {
        /// The session.
        client: ClientId,
        /// The client's request number, increasing.
        seq: u64,
        /// What to do.
        op: Op,
    },
}

/// A read, served by the node without a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    /// The value of `key`.
    Get {
        /// The key.
        key: String,
    },
}

/// The state machine's answer to a command or a query.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    /// A session was opened with this id.
    Session(ClientId),
    /// The op was applied (a cas whose `from` matched).
    Ok,
    /// The cas did not apply: the key's value is this (`None`: absent).
    CasMismatch(Option<String>),
    /// The client's session is not in the table (it expired, or never existed): the
    /// command was not applied now.
    SessionExpired,
    /// The session already applied a later request (`last` is its sequence number): this
    /// is a delayed copy of an older one, not applied.
    Stale {
        /// The session's last applied sequence number.
        last: u64,
    },
    /// A query's answer: the key's value (`None`: absent).
    Value(Option<String>),
    /// The command or query did not parse; nothing was done.
    Error(String),
}

/// Fails unless `key` is 1 to [`MAX_KEY_BYTES`] bytes.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("a key is at least 1 byte".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "a key is at most {MAX_KEY_BYTES} bytes, not {}",
            key.len()
        ));
    }
    Ok(())
}

/// Fails unless `value` is at most [`MAX_VALUE_BYTES`] bytes.
pub fn check_value(value: &str) -> Result<(), String> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "a value is at most {MAX_VALUE_BYTES} bytes, not {}",
            value.len()
        ));
    }
    Ok(())
}

/// `s` with every byte outside `!`..=`~` and every `%` written `%XX` (upper-case hex).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The string [`escape`] wrote; fails on a bad `%XX`, an unescaped byte that should have
/// been, or bytes that are not UTF-8.
pub fn unescape(token: &str) -> Result<String, String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = token
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("{token:?}: `%` must be followed by two hex digits"))?;
            let v = u8::from_str_radix(hex, 16)
                .map_err(|_| format!("{token:?}: `%{hex}` is not a hex escape"))?;
            out.push(v);
            i += 3;
        } else if (b'!'..=b'~').contains(&b) {
            out.push(b);
            i += 1;
        } else {
            return Err(format!("{token:?}: byte {b:#04x} must be escaped"));
        }
    }
    String::from_utf8(out).map_err(|_| format!("{token:?}: not UTF-8 once unescaped"))
}

fn value_token(v: &str) -> String {
    format!("={}", escape(v))
}

fn optional_token(v: Option<&str>) -> String {
    v.map_or_else(|| "-".to_string(), value_token)
}

fn parse_value(token: &str) -> Result<String, String> {
    let v = token
        .strip_prefix('=')
        .ok_or_else(|| format!("{token:?}: a value starts with `=`"))?;
    let v = unescape(v)?;
    check_value(&v)?;
    Ok(v)
}

fn parse_optional(token: &str) -> Result<Option<String>, String> {
    if token == "-" {
        Ok(None)
    } else {
        parse_value(token).map(Some)
    }
}

fn parse_key(token: &str) -> Result<String, String> {
    let k = unescape(token)?;
    check_key(&k)?;
    Ok(k)
}

fn parse_number(token: Option<&str>, what: &str) -> Result<u64, String> {
    let token = token.ok_or_else(|| format!("missing {what}"))?;
    token
        .parse()
        .map_err(|_| format!("{what} {token:?} is not a number"))
}

/// Fails if `words` has more.
fn done<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<(), String> {
    match words.next() {
        None => Ok(()),
        Some(extra) => Err(format!("unexpected {extra:?} after the request")),
    }
}

impl Command {
    /// The command as the bytes proposed to the log.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Command::Register => b"register".to_vec(),
            Command::Session { client, seq, op } => {
                let op = match op {
                    Op::Put { key, value } => format!("put {} {}", escape(key), value_token(value)),
                    Op::Delete { key } => format!("delete {}", escape(key)),
                    Op::Cas { key, from, to } => format!(
                        "cas {} {} {}",
                        escape(key),
                        optional_token(from.as_deref()),
                        value_token(to)
                    ),
                };
                format!("{client} {seq} {op}").into_bytes()
            }
        }
    }

    /// Parses proposed bytes; the error says what is wrong (any bytes may be proposed).
    pub fn parse(bytes: &[u8]) -> Result<Command, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "a command is ASCII text".to_string())?;
        let mut words = text.split(' ');
        let first = words.next().unwrap_or_default();
        if first == "register" {
            done(words)?;
            return Ok(Command::Register);
        }
        let client = parse_number(Some(first), "client id")?;
        let seq = parse_number(words.next(), "sequence number")?;
        if seq == 0 {
            return Err("sequence numbers start at 1".into());
        }
        let verb = words.next().ok_or("missing the operation")?;
        let mut arg = |what: &str| {
            words
                .next()
                .ok_or_else(|| format!("{verb}: missing the {what}"))
        };
        let op = match verb {
            "put" => {
                let key = parse_key(arg("key")?)?;
                let value = parse_value(arg("value")?)?;
                Op::Put { key, value }
            }
            "delete" => Op::Delete {
                key: parse_key(arg("key")?)?,
            },
            "cas" => {
                let key = parse_key(arg("key")?)?;
                let from = parse_optional(arg("expected value")?)?;
                let to = parse_value(arg("new value")?)?;
                Op::Cas { key, from, to }
            }
            other => {
                return Err(format!(
                    "unknown operation {other:?}; expected put, delete or cas"
                ))
            }
        };
        done(words)?;
        Ok(Command::Session { client, seq, op })
    }
}

impl Query {
    /// The query as the bytes a read carries.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Query::Get { key } => format!("get {}", escape(key)).into_bytes(),
        }
    }

    /// Parses a read's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Query, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "a query is ASCII text".to_string())?;
        let mut words = text.split(' ');
        match words.next().unwrap_or_default() {
            "get" => {
                let key = parse_key(words.next().ok_or("get: missing the key")?)?;
                done(words)?;
                Ok(Query::Get { key })
            }
            other => Err(format!("unknown query {other:?}; expected get")),
        }
    }
}

impl Reply {
    /// The reply as one line.
    pub fn encode(&self) -> Vec<u8> {
        let text = match self {
            Reply::Session(id) => format!("session {id}"),
            Reply::Ok => "ok".into(),
            Reply::CasMismatch(current) => {
                format!("cas-mismatch {}", optional_token(current.as_deref()))
            }
            Reply::SessionExpired => "session-expired".into(),
            Reply::Stale { last } => format!("stale {last}"),
            Reply::Value(v) => format!("value {}", optional_token(v.as_deref())),
            // One line, whatever the reason says.
            Reply::Error(why) => format!("error {}", why.replace(['\n', '\r'], " ")),
        };
        text.into_bytes()
    }

    /// Parses a reply line.
    pub fn parse(text: &str) -> Result<Reply, String> {
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let one = |what: &str| -> Result<&str, String> {
            if rest.is_empty() || rest.contains(' ') {
                Err(format!("{word}: expected one {what}, got {rest:?}"))
            } else {
                Ok(rest)
            }
        };
        match word {
            "session" => parse_number(Some(one("client id")?), "client id").map(Reply::Session),
            "ok" if rest.is_empty() => Ok(Reply::Ok),
            "cas-mismatch" => parse_optional(one("value")?).map(Reply::CasMismatch),
            "session-expired" if rest.is_empty() => Ok(Reply::SessionExpired),
            "stale" => parse_number(Some(one("number")?), "sequence number")
                .map(|last| Reply::Stale { last }),
            "value" => parse_optional(one("value")?).map(Reply::Value),
            "error" => Ok(Reply::Error(rest.to_string())),
            _ => Err(format!("unknown reply {text:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escaping_keeps_tokens_free_of_spaces_and_round_trips() {
        for s in ["", "a", "a b", "100%", "x\ny", "é", "=", "-", "%41"] {
            let e = escape(s);
            assert!(!e.contains([' ', '\n']), "{e:?}");
            assert_eq!(unescape(&e).unwrap(), s);
        }
        assert_eq!(escape("a b%"), "a%20b%25");
        assert!(unescape("%4").is_err());
        assert!(unescape("%zz").is_err());
        assert!(unescape("a b").is_err());
        assert!(unescape("%FF").is_err(), "not UTF-8");
    }

    #[test]
    fn commands_and_queries_round_trip() {
        let commands = [
            Command::Register,
            Command::Session {
                client: 7,
                seq: 3,
                op: Op::Put {
                    key: "k 1".into(),
                    value: String::new(),
                },
            },
            Command::Session {
                client: 7,
                seq: 4,
                op: Op::Delete { key: "-".into() },
            },
            Command::Session {
                client: 9,
                seq: 1,
                op: Op::Cas {
                    key: "k".into(),
                    from: None,
                    to: "-".into(),
                },
            },
            Command::Session {
                client: 9,
                seq: 2,
                op: Op::Cas {
                    key: "k".into(),
                    from: Some(String::new()),
                    to: "x\ny".into(),
                },
            },
        ];
        for c in commands {
            let bytes = c.encode();
            assert!(!bytes.contains(&b'\n'));
            assert_eq!(Command::parse(&bytes), Ok(c));
        }
        let q = Query::Get { key: "a%b".into() };
        assert_eq!(Query::parse(&q.encode()), Ok(q));
    }

    #[test]
    fn hostile_commands_are_refused_with_a_reason() {
        for (bytes, says) in [
            (&b""[..], "client id"),
            (b"register x", "unexpected"),
            (b"1", "sequence"),
            (b"1 2", "operation"),
            (b"1 2 put", "key"),
            (b"1 2 put k", "value"),
            (b"1 2 put k v", "starts with `=`"),
            (b"1 2 put k =v extra", "unexpected"),
            (b"1 2 frob k", "unknown operation"),
            (b"x 2 put k =v", "client id"),
            (b"1 0 put k =v", "start at 1"),
            (b"1 2 put  =v", "at least 1 byte"),
            (b"1 2 cas k v =w", "starts with `=`"),
            (b"\xff", "ASCII"),
        ] {
            let e = Command::parse(bytes).unwrap_err();
            assert!(e.contains(says), "{bytes:?}: {e}");
        }
        let long = format!("1 1 put {} =v", "k".repeat(MAX_KEY_BYTES + 1));
        assert!(Command::parse(long.as_bytes())
            .unwrap_err()
            .contains("at most"));
        assert!(Query::parse(b"get").is_err());
        assert!(Query::parse(b"put k =v").is_err());
    }

    #[test]
    fn the_longest_cas_fits_in_a_command() {
        let big = "\u{7f}".repeat(MAX_VALUE_BYTES);
        let c = Command::Session {
            client: u64::MAX,
            seq: u64::MAX,
            op: Op::Cas {
                key: "\u{7f}".repeat(MAX_KEY_BYTES),
                from: Some(big.clone()),
                to: big,
            },
        };
        assert!(c.encode().len() <= crate::raft::node::codec::MAX_COMMAND_BYTES);
    }

    proptest! {
        #[test]
        fn replies_round_trip(v in proptest::option::of(".{0,20}"), n in any::<u64>()) {
            for r in [
                Reply::Session(n),
                Reply::Ok,
                Reply::CasMismatch(v.clone()),
                Reply::SessionExpired,
                Reply::Stale { last: n },
                Reply::Value(v.clone()),
            ] {
                let line = String::from_utf8(r.encode()).unwrap();
                prop_assert!(!line.contains('\n'));
                prop_assert_eq!(Reply::parse(&line), Ok(r));
            }
        }

        #[test]
        fn any_string_round_trips_through_escape(s in ".*") {
            prop_assert_eq!(unescape(&escape(&s)), Ok(s));
        }
    }
}

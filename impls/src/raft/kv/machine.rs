//! The replicated state machine: a map from strings to strings, and the client sessions
//! that make a retried command take effect once (Ongaro's thesis §6.3).
//!
//! # Sessions
//!
//! A client opens a session with a `register` command; its id is the log index the
//! command was applied at, so ids are never reused and every node assigns the same one.
//! Each later command carries the id and a sequence number. Per session the machine keeps
//! the last sequence number it applied and that command's reply:
//! - a higher number is applied, and its reply kept;
//! - the same number is a retry: not applied again, answered with the kept reply;
//! - a lower number is a delayed copy of an older request: not applied, answered
//!   `stale`.
//!
//! # Expiry
//!
//! The table holds at most [`KvMachine::session_limit`] sessions. Registering one more
//! expires the least recently used (the one whose last command was applied at the lowest
//! log index), so every node expires the same session at the same index. A command of an
//! expired session (or of an id that was never registered) is not applied and is
//! answered `session-expired`. What that means for the client: if no earlier attempt of
//! that command can have been applied, it definitely did not take effect (the client may
//! register again and retry); if an earlier attempt may have been, the machine can no
//! longer tell (the record that would say so is gone), and the outcome is unknown. The
//! limit must be the same on every node, as everything a state machine decides.

use super::command::{ClientId, Command, Op, Query, Reply};
use crate::kv::wire::{Dec, Enc, WireError};
use crate::raft::core::Index;
use crate::raft::node::StateMachine;
use std::collections::{BTreeMap, BTreeSet};

/// The default bound on the session table.
pub const DEFAULT_SESSION_LIMIT: usize = 10_000;

/// The snapshot format's version byte.
const SNAPSHOT_VERSION: u8 = 1;

/// What the machine remembers of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Session {
    /// The last sequence number applied.
    last_seq: u64,
    /// Its reply.
    reply: Reply,
    /// The log index of the session's last command (its registration at first): the
    /// least recently used session expires first.
    last_used: Index,
}

/// The key-value map with client sessions; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvMachine {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<ClientId, Session>,
    /// `(last_used, client)` of every session, for expiry in use order.
    by_use: BTreeSet<(Index, ClientId)>,
    session_limit: usize,
}

impl Default for KvMachine {
    fn default() -> KvMachine {
        KvMachine::new()
    }
}

impl KvMachine {
    /// An empty map with [`DEFAULT_SESSION_LIMIT`].
    pub fn new() -> KvMachine {
        KvMachine::with_session_limit(DEFAULT_SESSION_LIMIT)
    }

    /// An empty map keeping at most `limit` sessions (at least 1).
    pub fn with_session_limit(limit: usize) -> KvMachine {
        KvMachine {
            data: BTreeMap::new(),
            sessions: BTreeMap::new(),
            by_use: BTreeSet::new(),
            session_limit: limit.max(1),
        }
    }

    /// The most sessions kept.
    pub fn session_limit(&self) -> usize {
        self.session_limit
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// The map's contents, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.data.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The open sessions' ids, in increasing order.
    pub fn sessions(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.sessions.keys().copied()
    }

    /// Applies a parsed command at `index` and returns its reply.
    pub fn apply_command(&mut self, index: Index, command: &Command) -> Reply {
        match command {
            Command::Register => {
                while self.sessions.len() >= self.session_limit {
                    let Some((_, oldest)) = self.by_use.pop_first() else {
                        break;
                    };
                    self.sessions.remove(&oldest);
                }
                self.sessions.insert(
                    index,
                    Session {
                        last_seq: 0,
                        // Never answered: sequence numbers start at 1.
                        reply: Reply::Ok,
                        last_used: index,
                    },
                );
                self.by_use.insert((index, index));
                Reply::Session(index)
            }
            Command::Session { seq: 0, .. } => Reply::Error("sequence numbers start at 1".into()),
            Command::Session { client, seq, op } => {
                let Some(session) = self.sessions.get_mut(client) else {
                    return Reply::SessionExpired;
                };
                if *seq < session.last_seq {
                    return Reply::Stale {
                        last: session.last_seq,
                    };
                }
                self.by_use.remove(&(session.last_used, *client));
                self.by_use.insert((index, *client));
                session.last_used = index;
                if *seq == session.last_seq {
                    return session.reply.clone();
                }
                let reply = apply_op(&mut self.data, op);
                session.last_seq = *seq;
                session.reply = reply.clone();
                reply
            }
        }
    }

    /// Answers a parsed query from the current state.
    pub fn query(&self, query: &Query) -> Reply {
        match query {
            Query::Get { key } => Reply::Value(self.data.get(key).cloned()),
        }
    }
}

fn apply_op(data: &mut BTreeMap<String, String>, op: &Op) -> Reply {
    match op {
        Op::Put { key, value } => {
            data.insert(key.clone(), value.clone());
            Reply::Ok
        }
        Op::Delete { key } => {
            data.remove(key);
            Reply::Ok
        }
        Op::Cas { key, from, to } => {
            let current = data.get(key);
            if current == from.as_ref() {
                data.insert(key.clone(), to.clone());
                Reply::Ok
            } else {
                Reply::CasMismatch(current.cloned())
            }
        }
    }
}

impl StateMachine for KvMachine {
    fn apply(&mut self, index: Index, command: &[u8]) -> Vec<u8> {
        if command.is_empty() {
            return Vec::new();
        }
        match Command::parse(command) {
            Ok(c) => self.apply_command(index, &c).encode(),
            Err(why) => Reply::Error(why).encode(),
        }
    }

    fn read(&self, query: &[u8]) -> Vec<u8> {
        match Query::parse(query) {
            Ok(q) => self.query(&q).encode(),
            Err(why) => Reply::Error(why).encode(),
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut buf = vec![SNAPSHOT_VERSION];
        let mut e = Enc(&mut buf);
        e.var(self.data.len() as u64);
        for (k, v) in &self.data {
            e.str(k);
            e.str(v);
        }
        e.var(self.sessions.len() as u64);
        for (id, s) in &self.sessions {
            e.var(*id);
            e.var(s.last_seq);
            e.var(s.last_used);
            e.bytes(&s.reply.encode());
        }
        buf
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let restored = decode_snapshot(data, self.session_limit)
            .map_err(|e| format!("not a KV snapshot: {e}"))?;
        *self = restored;
        Ok(())
    }

    fn summary(&self) -> String {
        // FNV-1a over the snapshot, which is canonical (maps in key order): equal
        // digests on two nodes mean equal states, up to the hash.
        let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.snapshot() {
            digest ^= u64::from(b);
            digest = digest.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!(
            "keys={} sessions={} digest={digest:016x}",
            self.data.len(),
            self.sessions.len()
        )
    }
}

fn malformed(text: String) -> WireError {
    WireError::Malformed(text)
}

fn decode_snapshot(data: &[u8], session_limit: usize) -> Result<KvMachine, WireError> {
    use super::command::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
    let mut d = Dec::new(data);
    let version = d.u8()?;
    if version != SNAPSHOT_VERSION {
        return Err(malformed(format!("format version {version}")));
    }
    let mut m = KvMachine::with_session_limit(session_limit);
    let keys = d.var()?;
    let mut previous: Option<String> = None;
    for _ in 0..keys {
        let k = utf8(d.bytes(MAX_KEY_BYTES, "key")?)?;
        let v = utf8(d.bytes(MAX_VALUE_BYTES, "value")?)?;
        // Strictly increasing: the encoding of a state is unique.
        if previous.as_ref().is_some_and(|p| *p >= k) {
            return Err(malformed(format!("key {k:?} out of order")));
        }
        previous = Some(k.clone());
        m.data.insert(k, v);
    }
    let sessions = d.var()?;
    if sessions > session_limit as u64 {
        return Err(malformed(format!(
            "{sessions} sessions, over this node's limit of {session_limit}"
        )));
    }
    let mut last_id = None;
    for _ in 0..sessions {
        let id = d.var()?;
        if last_id.is_some_and(|l| l >= id) {
            return Err(malformed(format!("session {id} out of order")));
        }
        last_id = Some(id);
        let last_seq = d.var()?;
        let last_used = d.var()?;
        if last_used < id {
            return Err(malformed(format!(
                "session {id} last used at {last_used}, before it was registered"
            )));
        }
        let reply = d.bytes(super::command::MAX_VALUE_BYTES * 3 + 64, "reply")?;
        let reply = Reply::parse(&utf8(reply)?)
            .map_err(|e| malformed(format!("session {id}'s reply: {e}")))?;
        m.by_use.insert((last_used, id));
        m.sessions.insert(
            id,
            Session {
                last_seq,
                reply,
                last_used,
            },
        );
    }
    d.finish()?;
    if m.by_use.len() != m.sessions.len() {
        return Err(malformed("two sessions last used at one index".into()));
    }
    Ok(m)
}

fn utf8(bytes: &[u8]) -> Result<String, WireError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("a string that is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn put(client: ClientId, seq: u64, key: &str, value: &str) -> Command {
        Command::Session {
            client,
            seq,
            op: Op::Put {
                key: key.into(),
                value: value.into(),
            },
        }
    }

    fn cas(client: ClientId, seq: u64, key: &str, from: Option<&str>, to: &str) -> Command {
        Command::Session {
            client,
            seq,
            op: Op::Cas {
                key: key.into(),
                from: from.map(Into::into),
                to: to.into(),
            },
        }
    }

    fn get(m: &KvMachine, key: &str) -> Reply {
        m.query(&Query::Get { key: key.into() })
    }

    #[test]
    fn a_retried_command_is_applied_once_and_gets_the_original_reply() {
        let mut m = KvMachine::new();
        assert_eq!(m.apply_command(1, &Command::Register), Reply::Session(1));
        assert_eq!(m.apply_command(2, &cas(1, 1, "k", None, "a")), Reply::Ok);
        // Another client changes the key in between.
        assert_eq!(m.apply_command(3, &Command::Register), Reply::Session(3));
        assert_eq!(m.apply_command(4, &put(3, 1, "k", "b")), Reply::Ok);
        // The retry of (1, 1) answers as the first time and does not set k back to "a"
        // (a second application would be a cas mismatch, and the reply would differ).
        assert_eq!(m.apply_command(5, &cas(1, 1, "k", None, "a")), Reply::Ok);
        assert_eq!(get(&m, "k"), Reply::Value(Some("b".into())));
        // The next request is applied; an older one arriving late is not.
        assert_eq!(
            m.apply_command(6, &cas(1, 2, "k", None, "c")),
            Reply::CasMismatch(Some("b".into()))
        );
        assert_eq!(
            m.apply_command(7, &put(1, 1, "k", "late")),
            Reply::Stale { last: 2 }
        );
        assert_eq!(get(&m, "k"), Reply::Value(Some("b".into())));
        // A retry of the mismatch gets the mismatch it got, even though k changed since.
        m.apply_command(8, &put(3, 2, "k", "z"));
        assert_eq!(
            m.apply_command(9, &cas(1, 2, "k", None, "c")),
            Reply::CasMismatch(Some("b".into()))
        );
    }

    #[test]
    fn cas_compares_with_absent_and_present_values() {
        let mut m = KvMachine::new();
        m.apply_command(1, &Command::Register);
        assert_eq!(
            m.apply_command(2, &cas(1, 1, "k", Some("x"), "y")),
            Reply::CasMismatch(None)
        );
        assert_eq!(m.apply_command(3, &cas(1, 2, "k", None, "")), Reply::Ok);
        assert_eq!(
            m.apply_command(4, &cas(1, 3, "k", None, "y")),
            Reply::CasMismatch(Some(String::new())),
            "the empty value is present"
        );
        assert_eq!(
            m.apply_command(5, &cas(1, 4, "k", Some(""), "y")),
            Reply::Ok
        );
        let delete = Command::Session {
            client: 1,
            seq: 5,
            op: Op::Delete { key: "k".into() },
        };
        assert_eq!(m.apply_command(6, &delete), Reply::Ok);
        assert_eq!(get(&m, "k"), Reply::Value(None));
    }

    #[test]
    fn the_least_recently_used_session_expires_and_its_commands_are_refused() {
        let mut m = KvMachine::with_session_limit(2);
        m.apply_command(1, &Command::Register);
        m.apply_command(2, &Command::Register);
        // Session 1 is used after 2 registered, so 2 is now the least recently used.
        assert_eq!(m.apply_command(3, &put(1, 1, "a", "1")), Reply::Ok);
        assert_eq!(m.apply_command(4, &Command::Register), Reply::Session(4));
        assert_eq!(m.sessions().collect::<Vec<_>>(), [1, 4]);
        assert_eq!(
            m.apply_command(5, &put(2, 1, "b", "1")),
            Reply::SessionExpired
        );
        assert_eq!(get(&m, "b"), Reply::Value(None), "not applied");
        // An id nobody registered is refused the same way.
        assert_eq!(
            m.apply_command(6, &put(99, 1, "b", "1")),
            Reply::SessionExpired
        );
        // A retry of session 1's command still answers from its record.
        assert_eq!(m.apply_command(7, &put(1, 1, "a", "other")), Reply::Ok);
        assert_eq!(get(&m, "a"), Reply::Value(Some("1".into())));
    }

    #[test]
    fn garbage_and_no_ops_change_nothing() {
        let mut m = KvMachine::new();
        let before = m.clone();
        assert_eq!(m.apply(1, b""), b"");
        let reply = String::from_utf8(m.apply(2, b"1 1 frob")).unwrap();
        assert!(reply.starts_with("error unknown operation"), "{reply}");
        assert!(String::from_utf8(m.read(b"nope"))
            .unwrap()
            .starts_with("error"));
        assert_eq!(m, before);
    }

    #[test]
    fn a_snapshot_restores_the_same_state_and_damaged_ones_are_refused() {
        let mut m = KvMachine::with_session_limit(3);
        for i in 1..=4u64 {
            m.apply_command(i, &Command::Register);
        }
        m.apply_command(5, &put(2, 1, "k", "v w"));
        m.apply_command(6, &cas(3, 7, "x", None, "1"));
        let mut r = KvMachine::with_session_limit(3);
        r.restore(&m.snapshot()).unwrap();
        assert_eq!(r, m);
        assert_eq!(r.summary(), m.summary());
        // It goes on identically: the same expiry, the same retries.
        for machine in [&mut m, &mut r] {
            machine.apply_command(7, &Command::Register);
        }
        assert_eq!(r, m);
        assert_eq!(
            r.apply_command(8, &cas(3, 7, "x", None, "2")),
            m.apply_command(8, &cas(3, 7, "x", None, "2"))
        );

        let good = m.snapshot();
        let before = r.clone();
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(r.restore(&trailing).is_err());
        assert!(r.restore(&good[..good.len() - 1]).is_err());
        assert!(r.restore(&[9]).unwrap_err().contains("version"));
        let mut small = KvMachine::with_session_limit(1);
        assert!(small.restore(&good).unwrap_err().contains("limit"));
        assert_eq!(r, before, "a refused snapshot changes nothing");
    }

    #[derive(Clone, Debug)]
    enum Step {
        Register,
        Put(u8, u64, u8, u8),
        Delete(u8, u64, u8),
        Cas(u8, u64, u8, Option<u8>, u8),
        Snapshot,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Register),
            (0..4u8, 1..6u64, 0..3u8, 0..3u8).prop_map(|(c, s, k, v)| Step::Put(c, s, k, v)),
            (0..4u8, 1..6u64, 0..3u8).prop_map(|(c, s, k)| Step::Delete(c, s, k)),
            (
                0..4u8,
                1..6u64,
                0..3u8,
                proptest::option::of(0..3u8),
                0..3u8
            )
                .prop_map(|(c, s, k, f, t)| Step::Cas(c, s, k, f, t)),
            Just(Step::Snapshot),
        ]
    }

    /// The model: a BTreeMap, and per registered client the last seq and reply, never
    /// expired (the limit is above the number of registrations).
    #[derive(Default)]
    struct Model {
        data: BTreeMap<String, String>,
        sessions: BTreeMap<ClientId, (u64, Reply)>,
        registered: Vec<ClientId>,
    }

    proptest! {
        #[test]
        fn the_machine_agrees_with_a_map_and_a_table_of_last_replies(
            steps in proptest::collection::vec(step(), 1..60)
        ) {
            let mut m = KvMachine::with_session_limit(100);
            let mut model = Model::default();
            for (i, s) in steps.into_iter().enumerate() {
                let index = i as u64 + 1;
                let client = |c: u8, model: &Model| {
                    // Mostly registered clients, sometimes one that never was.
                    model.registered.get(usize::from(c)).copied().unwrap_or(1000 + u64::from(c))
                };
                let command = match s {
                    Step::Snapshot => {
                        let mut r = KvMachine::with_session_limit(100);
                        r.restore(&m.snapshot()).unwrap();
                        prop_assert_eq!(&r, &m);
                        m = r;
                        continue;
                    }
                    Step::Register => Command::Register,
                    Step::Put(c, seq, k, v) => Command::Session {
                        client: client(c, &model), seq,
                        op: Op::Put { key: format!("k{k}"), value: format!("v{v}") },
                    },
                    Step::Delete(c, seq, k) => Command::Session {
                        client: client(c, &model), seq,
                        op: Op::Delete { key: format!("k{k}") },
                    },
                    Step::Cas(c, seq, k, f, t) => Command::Session {
                        client: client(c, &model), seq,
                        op: Op::Cas {
                            key: format!("k{k}"),
                            from: f.map(|f| format!("v{f}")),
                            to: format!("v{t}"),
                        },
                    },
                };
                let expected = match &command {
                    Command::Register => {
                        model.registered.push(index);
                        model.sessions.insert(index, (0, Reply::Ok));
                        Reply::Session(index)
                    }
                    Command::Session { client, seq, op } => match model.sessions.get(client).cloned() {
                        None => Reply::SessionExpired,
                        Some((last, _)) if *seq < last => Reply::Stale { last },
                        Some((last, reply)) if *seq == last => reply,
                        Some(_) => {
                            let reply = apply_op(&mut model.data, op);
                            model.sessions.insert(*client, (*seq, reply.clone()));
                            reply
                        }
                    },
                };
                // Through the byte interface, as the runtime calls it.
                let got = Reply::parse(&String::from_utf8(m.apply(index, &command.encode())).unwrap());
                prop_assert_eq!(got, Ok(expected));
                prop_assert_eq!(m.entries().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(), model.data.clone());
                for k in 0..3 {
                    let key = format!("k{k}");
                    prop_assert_eq!(get(&m, &key), Reply::Value(model.data.get(&key).cloned()));
                }
            }
        }
    }
}

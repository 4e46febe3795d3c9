//! The state machine above the log, behind a small trait, and this exercise's one: the
//! log service, an ordered list of applied commands.

use crate::kv::wire::{Dec, Enc};
use crate::raft::core::Index;
use std::collections::VecDeque;

/// What the runtime needs from a replicated state machine.
///
/// The runtime guarantees: `apply` is called once per committed entry, in index order,
/// starting after the index of the last `restore` (or at 1); `restore` replaces the whole
/// state; `snapshot` is asked for only between applies, and what it returns is handed to
/// `restore` (on this node after a restart, or on another node through InstallSnapshot)
/// to rebuild exactly the same state. The implementation must be deterministic: the same
/// commands in the same order give the same state and replies on every node.
pub trait StateMachine: Send + 'static {
    /// Applies the committed `command` at `index` and returns the reply for the client
    /// that proposed it. An empty command is a new leader's no-op.
    fn apply(&mut self, index: Index, command: &[u8]) -> Vec<u8>;
    /// Answers a read-only `query` from the current state, changing nothing. The runtime
    /// calls it only once the state has applied every entry up to the read's index, so
    /// the answer is linearizable; bytes the machine does not understand get an error
    /// reply of its own language, not a panic.
    fn read(&self, query: &[u8]) -> Vec<u8>;
    /// The whole state, as bytes [`StateMachine::restore`] accepts.
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state by a snapshot's. Fails, leaving the state as it was, on bytes
    /// `snapshot` did not produce.
    fn restore(&mut self, data: &[u8]) -> Result<(), String>;
    /// A one-line summary of the state for the `status` command: `key=value` pairs
    /// separated by spaces, equal on two nodes exactly when their states are equal (up to
    /// the hash in it).
    fn summary(&self) -> String;
}

/// How many of the latest commands the log service keeps whole.
pub const RECENT_COMMANDS: usize = 8;

/// The log service: an ordered list of applied commands. Its state is the number of
/// commands applied, a digest chained over all of them in order (FNV-1a, 64 bits), and the
/// last [`RECENT_COMMANDS`] commands, so that two nodes agree on the state exactly when
/// (up to the hash) they applied the same commands in the same order. No-ops are not
/// commands and leave it unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogService {
    count: u64,
    digest: u64,
    recent: VecDeque<Vec<u8>>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl LogService {
    /// An empty list.
    pub fn new() -> LogService {
        LogService {
            count: 0,
            digest: FNV_OFFSET,
            recent: VecDeque::new(),
        }
    }

    /// The number of commands applied.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of every command applied, in order.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The latest commands, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &[u8]> {
        self.recent.iter().map(Vec::as_slice)
    }
}

impl StateMachine for LogService {
    fn apply(&mut self, _index: Index, command: &[u8]) -> Vec<u8> {
        if command.is_empty() {
            return Vec::new();
        }
        self.count += 1;
        // Length first, so that ["ab", "c"] and ["a", "bc"] differ.
        for b in (command.len() as u64).to_le_bytes().iter().chain(command) {
            self.digest ^= u64::from(*b);
            self.digest = self.digest.wrapping_mul(FNV_PRIME);
        }
        if self.recent.len() == RECENT_COMMANDS {
            self.recent.pop_front();
        }
        self.recent.push_back(command.to_vec());
        // The reply: the command's position in the list.
        self.count.to_string().into_bytes()
    }

    /// Answers every query with its summary line: the log service has no keys.
    fn read(&self, _query: &[u8]) -> Vec<u8> {
        self.summary().into_bytes()
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e = Enc(&mut buf);
        e.var(self.count);
        e.var(self.digest);
        e.var(self.recent.len() as u64);
        for command in &self.recent {
            e.bytes(command);
        }
        buf
    }

    fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        let mut d = Dec::new(data);
        let decoded = (|| {
            let count = d.var()?;
            let digest = d.var()?;
            let n = d.var()?;
            if n > RECENT_COMMANDS as u64 || n > count {
                return Err(crate::kv::wire::WireError::Malformed(format!(
                    "{n} recent commands of {count}"
                )));
            }
            let mut recent = VecDeque::new();
            for _ in 0..n {
                recent.push_back(
                    d.bytes(super::codec::MAX_COMMAND_BYTES, "command")?
                        .to_vec(),
                );
            }
            Ok(LogService {
                count,
                digest,
                recent,
            })
        })();
        let service = decoded
            .and_then(|s| d.finish().map(|()| s))
            .map_err(|e| format!("not a log service snapshot: {e}"))?;
        *self = service;
        Ok(())
    }

    fn summary(&self) -> String {
        let last = self.recent.back().map_or_else(
            || "-".to_string(),
            |c| String::from_utf8_lossy(c).into_owned(),
        );
        format!(
            "count={} digest={:016x} latest={}",
            self.count,
            self.digest,
            last.replace(char::is_whitespace, "_")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_listed_in_order_and_no_ops_skipped() {
        let mut s = LogService::new();
        assert_eq!(s.apply(1, b""), b"");
        assert_eq!(s.apply(2, b"a"), b"1");
        assert_eq!(s.apply(3, b"b"), b"2");
        assert_eq!(s.count(), 2);
        assert_eq!(s.recent().collect::<Vec<_>>(), [b"a", b"b"]);

        let mut other = LogService::new();
        other.apply(1, b"b");
        other.apply(2, b"a");
        assert_ne!(other.digest(), s.digest(), "order matters");
        let mut split = LogService::new();
        split.apply(1, b"ab");
        let mut joined = LogService::new();
        joined.apply(1, b"a");
        joined.apply(2, b"b");
        assert_ne!(split.digest(), joined.digest());
    }

    #[test]
    fn a_snapshot_restores_the_same_state() {
        let mut s = LogService::new();
        for i in 0..20u32 {
            s.apply(u64::from(i) + 1, format!("cmd {i}").as_bytes());
        }
        assert_eq!(s.recent().count(), RECENT_COMMANDS);
        let mut restored = LogService::new();
        restored.restore(&s.snapshot()).unwrap();
        assert_eq!(restored, s);
        assert_eq!(restored.summary(), s.summary());
        assert!(s.summary().contains("count=20") && s.summary().contains("latest=cmd_19"));
        // And it goes on identically.
        assert_eq!(restored.apply(21, b"x"), s.apply(21, b"x"));
        assert_eq!(restored, s);
    }

    #[test]
    fn a_damaged_snapshot_is_refused_and_changes_nothing() {
        let mut s = LogService::new();
        s.apply(1, b"keep");
        let before = s.clone();
        let mut bytes = s.snapshot();
        bytes.push(0);
        assert!(s.restore(&bytes).is_err());
        assert!(s.restore(&[1, 2, 200, 1]).is_err());
        assert_eq!(s, before);
    }
}

//! Byte encodings of what a Raft node sends and stores: peer frames, write-ahead log
//! records, the hard-state file and the snapshot file.
//!
//! Everything is built from the kv wire's primitives (LEB128 varints, length-prefixed
//! byte strings; [`crate::kv::wire`]), so decoding checks every length against the input
//! and a limit before using it and never panics on hostile or damaged bytes. The two
//! files carry a magic prefix and a CRC-32 of everything before it, so a file that is not
//! ours, or was damaged, is told apart from one we wrote.

use crate::kv::wire::{Dec, Enc, WireError, MAX_FRAME_BYTES};
use crate::raft::core::{Entry, Index, Message, Snapshot, Term};
use crate::raft::NodeId;

/// The longest command a client may propose, in bytes. An AppendEntries carries at most
/// [`crate::raft::core::Config::max_entries_per_message`] entries (64 by default), and 64
/// commands of this size stay well inside one frame ([`MAX_FRAME_BYTES`]).
pub const MAX_COMMAND_BYTES: usize = 16 << 10;

/// The largest snapshot a node sends or stores: what fits in one frame with room for the
/// message around it. A state machine whose state grows past it cannot be compacted
/// (InstallSnapshot is sent in one piece).
pub const MAX_SNAPSHOT_BYTES: usize = MAX_FRAME_BYTES - 1024;

/// The longest client address a peer may announce.
const MAX_ADDR_BYTES: usize = 256;

/// A frame on a peer connection. A connection carries data one way: the node that opened
/// it sends a [`PeerFrame::Hello`] and then its messages; the accepting node writes
/// nothing back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerFrame {
    /// The first frame: who is connecting, and where it serves clients (so that a
    /// follower can point a client at the leader).
    Hello {
        /// The connecting server.
        from: NodeId,
        /// Its client address.
        client_addr: String,
    },
    /// A Raft message from the connecting server.
    Raft(Message),
}

const HELLO: u8 = 0;
const REQUEST_VOTE: u8 = 1;
const REQUEST_VOTE_RESPONSE: u8 = 2;
const APPEND_ENTRIES: u8 = 3;
const APPEND_ENTRIES_RESPONSE: u8 = 4;
const INSTALL_SNAPSHOT: u8 = 5;
const INSTALL_SNAPSHOT_RESPONSE: u8 = 6;

/// Appends one peer frame (header and body) to `buf`.
pub fn encode_peer(buf: &mut Vec<u8>, frame: &PeerFrame) {
    crate::kv::wire::write_frame(buf, |b| {
        let mut e = Enc(b);
        match frame {
            PeerFrame::Hello { from, client_addr } => {
                e.u8(HELLO);
                e.var(u64::from(*from));
                e.str(client_addr);
            }
            PeerFrame::Raft(message) => encode_message(&mut e, message),
        }
    });
}

fn encode_message(e: &mut Enc<'_>, message: &Message) {
    match message {
        Message::RequestVote {
            term,
            last_log_index,
            last_log_term,
            pre_vote,
        } => {
            e.u8(REQUEST_VOTE);
            e.var(*term);
            e.var(*last_log_index);
            e.var(*last_log_term);
            e.bool(*pre_vote);
        }
        Message::RequestVoteResponse {
            term,
            granted,
            pre_vote,
        } => {
            e.u8(REQUEST_VOTE_RESPONSE);
            e.var(*term);
            e.bool(*granted);
            e.bool(*pre_vote);
        }
        Message::AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
            round,
        } => {
            e.u8(APPEND_ENTRIES);
            e.var(*term);
            e.var(*prev_log_index);
            e.var(*prev_log_term);
            e.var(*leader_commit);
            e.var(*round);
            encode_entries(e, entries);
        }
        Message::AppendEntriesResponse {
            term,
            success,
            index,
            round,
        } => {
            e.u8(APPEND_ENTRIES_RESPONSE);
            e.var(*term);
            e.bool(*success);
            e.var(*index);
            e.var(*round);
        }
        Message::InstallSnapshot { term, snapshot } => {
            e.u8(INSTALL_SNAPSHOT);
            e.var(*term);
            e.var(snapshot.last_index);
            e.var(snapshot.last_term);
            e.bytes(&snapshot.data);
        }
        Message::InstallSnapshotResponse { term, last_index } => {
            e.u8(INSTALL_SNAPSHOT_RESPONSE);
            e.var(*term);
            e.var(*last_index);
        }
    }
}

fn encode_entries(e: &mut Enc<'_>, entries: &[Entry]) {
    e.var(entries.len() as u64);
    for entry in entries {
        e.var(entry.term);
        e.bytes(&entry.command);
    }
}

/// Decodes a peer frame's body. Fails on anything this encoder would not produce.
pub fn decode_peer(body: &[u8]) -> Result<PeerFrame, WireError> {
    let mut d = Dec::new(body);
    let frame = match d.u8()? {
        HELLO => PeerFrame::Hello {
            from: node_id(d.var()?)?,
            client_addr: d.str(MAX_ADDR_BYTES, "client address")?,
        },
        REQUEST_VOTE => PeerFrame::Raft(Message::RequestVote {
            term: d.var()?,
            last_log_index: d.var()?,
            last_log_term: d.var()?,
            pre_vote: d.bool()?,
        }),
        REQUEST_VOTE_RESPONSE => PeerFrame::Raft(Message::RequestVoteResponse {
            term: d.var()?,
            granted: d.bool()?,
            pre_vote: d.bool()?,
        }),
        APPEND_ENTRIES => {
            let term = d.var()?;
            let prev_log_index = d.var()?;
            let prev_log_term = d.var()?;
            let leader_commit = d.var()?;
            let round = d.var()?;
            PeerFrame::Raft(Message::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries: decode_entries(&mut d, body.len())?,
                leader_commit,
                round,
            })
        }
        APPEND_ENTRIES_RESPONSE => PeerFrame::Raft(Message::AppendEntriesResponse {
            term: d.var()?,
            success: d.bool()?,
            index: d.var()?,
            round: d.var()?,
        }),
        INSTALL_SNAPSHOT => PeerFrame::Raft(Message::InstallSnapshot {
            term: d.var()?,
            snapshot: Snapshot {
                last_index: d.var()?,
                last_term: d.var()?,
                data: d.bytes(MAX_SNAPSHOT_BYTES, "snapshot")?.to_vec(),
            },
        }),
        INSTALL_SNAPSHOT_RESPONSE => PeerFrame::Raft(Message::InstallSnapshotResponse {
            term: d.var()?,
            last_index: d.var()?,
        }),
        kind => {
            return Err(WireError::Malformed(format!(
                "{kind} is not a peer frame kind"
            )))
        }
    };
    d.finish()?;
    Ok(frame)
}

fn node_id(v: u64) -> Result<NodeId, WireError> {
    NodeId::try_from(v).map_err(|_| WireError::Malformed(format!("node id {v} out of range")))
}

/// Entries as [`encode_entries`] writes them. `input_len` bounds the count: every entry
/// takes at least two bytes, so a count larger than the input is refused before anything
/// is allocated for it.
fn decode_entries(d: &mut Dec<'_>, input_len: usize) -> Result<Vec<Entry>, WireError> {
    let count = d.var()?;
    if count > (input_len / 2) as u64 {
        return Err(WireError::Malformed(format!(
            "{count} entries cannot fit in {input_len} bytes"
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let term = d.var()?;
        let command = d.bytes(MAX_COMMAND_BYTES, "command")?.to_vec();
        entries.push(Entry { term, command });
    }
    Ok(entries)
}

/// One record of a node's write-ahead log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// The log from index `from` on is replaced by `entries` ([`crate::raft::core::Persist::Entries`]).
    Entries {
        /// The index of `entries[0]`.
        from: Index,
        /// The entries.
        entries: Vec<Entry>,
    },
    /// The log starts after a snapshot: entries up to `last_index` are in the snapshot
    /// file, not in this log. Only ever the first record, written when the log is
    /// rewritten after a snapshot.
    Base {
        /// The snapshot's last index.
        last_index: Index,
        /// Its term.
        last_term: Term,
    },
}

const RECORD_ENTRIES: u8 = 1;
const RECORD_BASE: u8 = 2;

/// Encodes a log record's payload (the log adds its own length and checksum).
pub fn encode_record(record: &LogRecord) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut e = Enc(&mut buf);
    match record {
        LogRecord::Entries { from, entries } => {
            e.u8(RECORD_ENTRIES);
            e.var(*from);
            encode_entries(&mut e, entries);
        }
        LogRecord::Base {
            last_index,
            last_term,
        } => {
            e.u8(RECORD_BASE);
            e.var(*last_index);
            e.var(*last_term);
        }
    }
    buf
}

/// Decodes a log record's payload.
pub fn decode_record(payload: &[u8]) -> Result<LogRecord, WireError> {
    let mut d = Dec::new(payload);
    let record = match d.u8()? {
        RECORD_ENTRIES => LogRecord::Entries {
            from: d.var()?,
            entries: decode_entries(&mut d, payload.len())?,
        },
        RECORD_BASE => LogRecord::Base {
            last_index: d.var()?,
            last_term: d.var()?,
        },
        kind => {
            return Err(WireError::Malformed(format!(
                "{kind} is not a log record kind"
            )))
        }
    };
    d.finish()?;
    Ok(record)
}

/// The contents of the hard-state file: `currentTerm`, `votedFor`, and the least length
/// the write-ahead log is known to have reached durably.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// `currentTerm`.
    pub term: Term,
    /// `votedFor` in `term`.
    pub voted_for: Option<NodeId>,
    /// The write-ahead log held at least this many bytes of intact records when this
    /// file was written; a log found shorter has lost records it had made durable.
    pub wal_min_bytes: u64,
}

const HARD_STATE_MAGIC: &[u8; 8] = b"RAFTHS1\n";
const SNAPSHOT_MAGIC: &[u8; 8] = b"RAFTSN1\n";

/// The hard-state file's bytes: magic, fields, CRC-32 of everything before it.
pub fn encode_hard_state(hs: &HardState) -> Vec<u8> {
    let mut buf = HARD_STATE_MAGIC.to_vec();
    let mut e = Enc(&mut buf);
    e.var(hs.term);
    e.var(hs.voted_for.map_or(0, |v| u64::from(v) + 1));
    e.var(hs.wal_min_bytes);
    seal(buf)
}

/// Reads a hard-state file; the error says what is wrong with it.
pub fn decode_hard_state(bytes: &[u8]) -> Result<HardState, String> {
    let body = unseal(bytes, HARD_STATE_MAGIC)?;
    let mut d = Dec::new(body);
    let term = d.var().map_err(|e| e.to_string())?;
    let voted_for = match d.var().map_err(|e| e.to_string())? {
        0 => None,
        v => Some(node_id(v - 1).map_err(|e| e.to_string())?),
    };
    let wal_min_bytes = d.var().map_err(|e| e.to_string())?;
    d.finish().map_err(|e| e.to_string())?;
    Ok(HardState {
        term,
        voted_for,
        wal_min_bytes,
    })
}

/// The snapshot file's bytes: magic, last index and term, data, CRC-32.
pub fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let mut buf = SNAPSHOT_MAGIC.to_vec();
    let mut e = Enc(&mut buf);
    e.var(snapshot.last_index);
    e.var(snapshot.last_term);
    e.bytes(&snapshot.data);
    seal(buf)
}

/// Reads a snapshot file; the error says what is wrong with it.
pub fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, String> {
    let body = unseal(bytes, SNAPSHOT_MAGIC)?;
    let mut d = Dec::new(body);
    let snapshot = (|| {
        let snapshot = Snapshot {
            last_index: d.var()?,
            last_term: d.var()?,
            data: d.bytes(MAX_SNAPSHOT_BYTES, "snapshot data")?.to_vec(),
        };
        Ok::<_, WireError>(snapshot)
    })()
    .map_err(|e| e.to_string())?;
    d.finish().map_err(|e| e.to_string())?;
    Ok(snapshot)
}

fn seal(mut buf: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

/// The body between the magic and the checksum, if both check out.
fn unseal<'a>(bytes: &'a [u8], magic: &[u8; 8]) -> Result<&'a [u8], String> {
    if bytes.len() < magic.len() + 4 {
        return Err(format!(
            "{} bytes is too short to be one (at least {})",
            bytes.len(),
            magic.len() + 4
        ));
    }
    if &bytes[..magic.len()] != magic {
        return Err(format!(
            "it does not start with {:?}, so it is not a file this node wrote",
            String::from_utf8_lossy(magic)
        ));
    }
    let (sealed, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(crc.try_into().expect("four checksum bytes"));
    let computed = crc32fast::hash(sealed);
    if stored != computed {
        return Err(format!(
            "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        ));
    }
    Ok(&sealed[magic.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                term: 1,
                command: Vec::new(),
            },
            Entry {
                term: 3,
                command: b"put x".to_vec(),
            },
        ]
    }

    fn every_message() -> Vec<Message> {
        vec![
            Message::RequestVote {
                term: 7,
                last_log_index: 300,
                last_log_term: 6,
                pre_vote: true,
            },
            Message::RequestVoteResponse {
                term: 7,
                granted: true,
                pre_vote: false,
            },
            Message::AppendEntries {
                term: 3,
                prev_log_index: 1,
                prev_log_term: 1,
                entries: entries(),
                leader_commit: 2,
                round: 0,
            },
            Message::AppendEntriesResponse {
                term: 3,
                success: false,
                index: 129,
                round: 0,
            },
            Message::InstallSnapshot {
                term: 4,
                snapshot: Snapshot {
                    last_index: 10,
                    last_term: 2,
                    data: b"state".to_vec(),
                },
            },
            Message::InstallSnapshotResponse {
                term: 4,
                last_index: 10,
            },
        ]
    }

    fn body(frame: &PeerFrame) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_peer(&mut buf, frame);
        let len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        assert_eq!(len, buf.len() - 4, "the header counts the body");
        buf[4..].to_vec()
    }

    #[test]
    fn every_peer_frame_round_trips() {
        let mut frames = vec![PeerFrame::Hello {
            from: 2,
            client_addr: "127.0.0.1:9000".into(),
        }];
        frames.extend(every_message().into_iter().map(PeerFrame::Raft));
        for frame in frames {
            assert_eq!(decode_peer(&body(&frame)).unwrap(), frame);
        }
    }

    #[test]
    fn truncated_or_padded_frames_are_refused() {
        for message in every_message() {
            let b = body(&PeerFrame::Raft(message));
            for cut in 0..b.len() {
                assert!(decode_peer(&b[..cut]).is_err(), "cut at {cut}");
            }
            let mut padded = b.clone();
            padded.push(0);
            assert!(decode_peer(&padded).is_err());
        }
        assert!(decode_peer(&[99]).is_err());
    }

    #[test]
    fn an_entry_count_beyond_the_input_is_refused_before_allocating() {
        // term, prev index, prev term, commit, round; then the entry count.
        let mut b = vec![APPEND_ENTRIES, 1, 0, 0, 0, 0];
        Enc(&mut b).var(u64::MAX / 4);
        let err = decode_peer(&b).unwrap_err().to_string();
        assert!(err.contains("cannot fit"), "{err}");
    }

    #[test]
    fn log_records_round_trip() {
        for record in [
            LogRecord::Entries {
                from: 5,
                entries: entries(),
            },
            LogRecord::Entries {
                from: 1,
                entries: Vec::new(),
            },
            LogRecord::Base {
                last_index: 40,
                last_term: 3,
            },
        ] {
            assert_eq!(decode_record(&encode_record(&record)).unwrap(), record);
        }
        assert!(decode_record(&[7]).is_err());
    }

    #[test]
    fn files_round_trip_and_damage_is_named() {
        let hs = HardState {
            term: 9,
            voted_for: Some(0),
            wal_min_bytes: 1234,
        };
        let bytes = encode_hard_state(&hs);
        assert_eq!(decode_hard_state(&bytes).unwrap(), hs);
        let none = HardState::default();
        assert_eq!(decode_hard_state(&encode_hard_state(&none)).unwrap(), none);

        let mut flipped = bytes.clone();
        flipped[9] ^= 1;
        assert!(decode_hard_state(&flipped)
            .unwrap_err()
            .contains("checksum mismatch"));
        assert!(decode_hard_state(b"garbage garbage garbage")
            .unwrap_err()
            .contains("not a file this node wrote"));
        assert!(decode_hard_state(b"RAFT")
            .unwrap_err()
            .contains("too short"));

        let snapshot = Snapshot {
            last_index: 77,
            last_term: 5,
            data: vec![1, 2, 3],
        };
        let bytes = encode_snapshot(&snapshot);
        assert_eq!(decode_snapshot(&bytes).unwrap(), snapshot);
        assert!(decode_snapshot(&bytes[..bytes.len() - 1]).is_err());
        assert!(
            decode_hard_state(&bytes).is_err(),
            "magic tells files apart"
        );
    }
}

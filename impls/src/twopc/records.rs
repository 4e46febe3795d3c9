//! The records the coordinator and the participants keep in their logs, and how they are
//! stored.
//!
//! Both logs are [`crate::sim::wal`] files: append-only, a CRC-32 per record, a torn or
//! corrupt tail detected and cut off on open. This module only adds the payload encoding,
//! so there is one log format in the workspace. A payload is a tag byte followed by
//! little-endian fields; strings and lists are prefixed by their length.

use super::messages::{Decision, Op};
use super::{ParticipantId, TxId};
use crate::sim::wal::{self, Recovered, TailDamage, Wal};
use std::fmt;
use std::io;
use std::path::Path;

/// A record in the coordinator's log.
///
/// Presumed abort: only `Commit` must be durable (fsynced) before the decision is sent. A
/// transaction without a Commit record is aborted, so `Abort` and `End` are appended
/// without an fsync of their own and may be lost in a crash; they only save work.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoordinatorRecord {
    /// The transaction commits. Fsynced before any participant is told.
    Commit {
        /// The transaction.
        tx: TxId,
        /// Every participant of the transaction, which must all acknowledge.
        participants: Vec<ParticipantId>,
    },
    /// The transaction aborted (not fsynced: without it recovery presumes the same). Kept
    /// so that a restarted coordinator can still reject the transaction id if it reached
    /// the disk.
    Abort {
        /// The transaction.
        tx: TxId,
    },
    /// Every participant acknowledged the Commit: recovery need not resend it (not fsynced:
    /// without it recovery resends the Commit, which participants acknowledge again).
    End {
        /// The transaction.
        tx: TxId,
    },
}

/// A record in a participant's log.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParticipantRecord {
    /// The participant locked the keys and checked the operations, and will vote yes.
    /// Fsynced before the vote is sent: it is the promise to commit if told to.
    Prepared {
        /// The transaction.
        tx: TxId,
        /// This participant's operations, to apply if the transaction commits.
        ops: Vec<Op>,
    },
    /// The participant learnt the outcome. Fsynced before the outcome is acknowledged.
    Decided {
        /// The transaction.
        tx: TxId,
        /// Its outcome.
        decision: Decision,
    },
}

/// A record whose checksum matched but whose payload does not decode: a bug or media
/// corruption, never a torn write (the wal cuts those off before decoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "undecodable two-phase-commit log record: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

const COMMIT: u8 = 1;
const ABORT: u8 = 2;
const END: u8 = 3;
const PREPARED: u8 = 11;
const DECIDED: u8 = 12;

/// A record type the logs hold.
pub trait Record: Sized + fmt::Display {
    /// The payload stored in the wal.
    fn encode(&self) -> Vec<u8>;
    /// The record back from its payload.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

impl Record for CoordinatorRecord {
    fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        match self {
            CoordinatorRecord::Commit { tx, participants } => {
                w.push(COMMIT);
                put_u64(&mut w, *tx);
                put_u32(&mut w, participants.len() as u32);
                for p in participants {
                    put_u32(&mut w, *p as u32);
                }
            }
            CoordinatorRecord::Abort { tx } => {
                w.push(ABORT);
                put_u64(&mut w, *tx);
            }
            CoordinatorRecord::End { tx } => {
                w.push(END);
                put_u64(&mut w, *tx);
            }
        }
        w
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader(bytes);
        let record = match r.u8()? {
            COMMIT => {
                let tx = r.u64()?;
                let n = r.u32()?;
                let mut participants = Vec::new();
                for _ in 0..n {
                    participants.push(r.u32()? as ParticipantId);
                }
                CoordinatorRecord::Commit { tx, participants }
            }
            ABORT => CoordinatorRecord::Abort { tx: r.u64()? },
            END => CoordinatorRecord::End { tx: r.u64()? },
            tag => return Err(DecodeError(format!("unknown coordinator record tag {tag}"))),
        };
        r.finish()?;
        Ok(record)
    }
}

impl Record for ParticipantRecord {
    fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        match self {
            ParticipantRecord::Prepared { tx, ops } => {
                w.push(PREPARED);
                put_u64(&mut w, *tx);
                put_u32(&mut w, ops.len() as u32);
                for op in ops {
                    put_u32(&mut w, op.account.len() as u32);
                    w.extend_from_slice(op.account.as_bytes());
                    put_u64(&mut w, op.delta as u64);
                }
            }
            ParticipantRecord::Decided { tx, decision } => {
                w.push(DECIDED);
                put_u64(&mut w, *tx);
                w.push(match decision {
                    Decision::Commit => 1,
                    Decision::Abort => 0,
                });
            }
        }
        w
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader(bytes);
        let record = match r.u8()? {
            PREPARED => {
                let tx = r.u64()?;
                let n = r.u32()?;
                let mut ops = Vec::new();
                for _ in 0..n {
                    let len = r.u32()? as usize;
                    let account = String::from_utf8(r.take(len)?.to_vec())
                        .map_err(|_| DecodeError("account name is not UTF-8".into()))?;
                    let delta = r.u64()? as i64;
                    ops.push(Op { account, delta });
                }
                ParticipantRecord::Prepared { tx, ops }
            }
            DECIDED => {
                let tx = r.u64()?;
                let decision = match r.u8()? {
                    1 => Decision::Commit,
                    0 => Decision::Abort,
                    d => return Err(DecodeError(format!("unknown decision byte {d}"))),
                };
                ParticipantRecord::Decided { tx, decision }
            }
            tag => return Err(DecodeError(format!("unknown participant record tag {tag}"))),
        };
        r.finish()?;
        Ok(record)
    }
}

impl fmt::Display for CoordinatorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoordinatorRecord::Commit { tx, .. } => write!(f, "Commit tx{tx}"),
            CoordinatorRecord::Abort { tx } => write!(f, "Abort tx{tx}"),
            CoordinatorRecord::End { tx } => write!(f, "End tx{tx}"),
        }
    }
}

impl fmt::Display for ParticipantRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParticipantRecord::Prepared { tx, .. } => write!(f, "Prepared tx{tx}"),
            ParticipantRecord::Decided { tx, decision } => write!(f, "{decision} tx{tx}"),
        }
    }
}

fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError(format!(
                "record ends {} bytes early",
                n - self.0.len()
            )));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn finish(&self) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DecodeError(format!("{} trailing bytes", self.0.len())))
        }
    }
}

/// A node's log, opened: the typed records it holds and what the wal cut off.
pub struct Opened<R> {
    /// The log, positioned after the intact records.
    pub wal: Wal<std::fs::File>,
    /// Every intact record, in append order.
    pub records: Vec<R>,
    /// Bytes of a torn or corrupt tail that were detected and discarded.
    pub torn_bytes: u64,
    /// Why the tail was discarded, if it was.
    pub damage: Option<TailDamage>,
}

/// Opens (creating it and its directory if needed) the log at `path` and decodes its
/// records. A torn tail is cut off by the wal and reported in [`Opened::torn_bytes`]; an
/// intact record that does not decode is an [`io::ErrorKind::InvalidData`] error, because
/// skipping it could forget a promise.
pub fn open<R: Record>(path: &Path) -> io::Result<Opened<R>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let (
        wal,
        Recovered {
            records,
            torn_bytes,
            damage,
            ..
        },
    ) = wal::open_file(path)?;
    let records = records
        .iter()
        .map(|bytes| R::decode(bytes))
        .collect::<Result<Vec<R>, DecodeError>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Opened {
        wal,
        records,
        torn_bytes,
        damage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> (Vec<CoordinatorRecord>, Vec<ParticipantRecord>) {
        (
            vec![
                CoordinatorRecord::Commit {
                    tx: 7,
                    participants: vec![0, 2],
                },
                CoordinatorRecord::Abort { tx: u64::MAX },
                CoordinatorRecord::End { tx: 7 },
            ],
            vec![
                ParticipantRecord::Prepared {
                    tx: 7,
                    ops: vec![Op::new("alice", -250), Op::new("bob", i64::MIN)],
                },
                ParticipantRecord::Decided {
                    tx: 7,
                    decision: Decision::Commit,
                },
                ParticipantRecord::Decided {
                    tx: 8,
                    decision: Decision::Abort,
                },
            ],
        )
    }

    #[test]
    fn records_round_trip() {
        let (coordinator, participant) = samples();
        for r in coordinator {
            assert_eq!(CoordinatorRecord::decode(&r.encode()), Ok(r));
        }
        for r in participant {
            assert_eq!(ParticipantRecord::decode(&r.encode()), Ok(r));
        }
    }

    #[test]
    fn every_truncation_or_extension_of_a_payload_is_rejected() {
        let (_, participant) = samples();
        let bytes = participant[0].encode();
        for cut in 0..bytes.len() {
            assert!(
                ParticipantRecord::decode(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ParticipantRecord::decode(&longer).is_err());
        assert!(CoordinatorRecord::decode(&[99]).is_err());
    }

    #[test]
    fn a_torn_last_record_is_discarded_and_the_earlier_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node").join("twopc.wal");
        let (records, _) = samples();
        let mut opened = open::<CoordinatorRecord>(&path).unwrap();
        for r in &records {
            opened.wal.append(&r.encode()).unwrap();
            opened.wal.sync().unwrap();
        }
        drop(opened);
        let full = std::fs::metadata(&path).unwrap().len();
        // Cut the last record (End, 9 payload bytes + 8 header bytes) in the middle.
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(full - 4).unwrap();
        drop(file);

        let opened = open::<CoordinatorRecord>(&path).unwrap();
        assert_eq!(opened.records, records[..2]);
        assert_eq!(opened.torn_bytes, 13);
        assert_eq!(opened.damage, Some(TailDamage::TruncatedPayload { len: 9 }));
    }

    #[test]
    fn a_flipped_byte_in_the_last_record_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twopc.wal");
        let (_, records) = samples();
        let mut opened = open::<ParticipantRecord>(&path).unwrap();
        for r in &records {
            opened.wal.append(&r.encode()).unwrap();
        }
        opened.wal.sync().unwrap();
        drop(opened);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();

        let opened = open::<ParticipantRecord>(&path).unwrap();
        assert_eq!(opened.records, records[..2]);
        assert_eq!(opened.damage, Some(TailDamage::ChecksumMismatch));
    }
}

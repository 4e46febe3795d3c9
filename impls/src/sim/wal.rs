//! The durable write-ahead log of a key-value node.
//!
//! A node appends every write to its log with [`Wal::append`], makes a batch of them durable
//! with one [`Wal::sync`], and acknowledges those writes only after `sync` has returned `Ok`.
//! On restart, [`Wal::open`] returns every intact record and cuts off a torn tail, or
//! refuses a log that is corrupt before its last valid record. The log guarantees:
//!
//! - **Nothing acknowledged is lost.** A record whose `sync` returned `Ok` is returned by
//!   every later `open`, in append order, provided the storage keeps the bytes it said it
//!   had synced (see [Limits](#limits)).
//! - **Nothing half-written is replayed.** A record is returned only if its length and its
//!   checksum check out. A damaged record with nothing valid after it (a torn tail) is cut
//!   off the file.
//! - **Nothing acknowledged is dropped silently.** A damaged record followed by a valid
//!   one is corruption, not a torn tail: [`Wal::open`] refuses it with a [`Corruption`]
//!   error that names the offset and the record number, and changes nothing.
//! - **What is replayed is durable.** `open` fsyncs the file before returning. A record the
//!   previous incarnation wrote but never synced may still be in the page cache after a
//!   process restart (as opposed to a machine crash). Without that fsync it would be
//!   replayed now and gone after the next crash, so a node could serve a value that later
//!   never existed.
//! - Records that were appended but not acknowledged (`sync` not called, or failed) may or
//!   may not survive a crash. Those that survive form a prefix of what was appended, in order.
//!
//! The log runs on any [`LogFile`]: [`open_file`] opens one on the real filesystem and
//! [`open_sim_file`] one on turmoil's simulated filesystem, which drops unsynced writes when
//! its host crashes.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use impls::sim::wal;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("kv.wal");
//!
//! let (mut log, recovered) = wal::open_file(&path)?;
//! assert!(recovered.records.is_empty());
//! log.append(b"put x 1")?;
//! log.append(b"put y 2")?;
//! log.sync()?; // one write and one fsync for both; acknowledge them now
//! drop(log);
//!
//! let (_log, recovered) = wal::open_file(&path)?;
//! assert_eq!(recovered.records, [b"put x 1".to_vec(), b"put y 2".to_vec()]);
//! assert_eq!(recovered.torn_bytes, 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Format
//!
//! A log file is a sequence of records, with nothing before, between or after them:
//!
//! ```text
//! +--------------+--------------+--------------------+
//! | len: u32 LE  | crc: u32 LE  | payload: len bytes |
//! +--------------+--------------+--------------------+
//!  crc = CRC-32/IEEE (crc32fast) of the 4 length bytes, then the payload
//! ```
//!
//! The header is [`HEADER_BYTES`] long. `len` is at most [`MAX_RECORD_BYTES`] (64 MiB), and
//! empty payloads are allowed. The checksum covers the length as well as the payload, so a
//! flipped length bit is caught even when the wrong length still ends inside the file.
//!
//! # Recovery: where the valid log ends
//!
//! `open` decodes records from offset 0 and stops at the first damaged one
//! ([`TailDamage`]):
//!
//! - fewer than [`HEADER_BYTES`] bytes remain ([`TailDamage::TruncatedHeader`]);
//! - `len` exceeds [`MAX_RECORD_BYTES`] ([`TailDamage::OversizedLength`]). No writer produces
//!   such a header, so it is garbage. This is checked before the payload is looked for, so
//!   a garbage length is never used to size anything;
//! - the payload runs past the end of the file ([`TailDamage::TruncatedPayload`]);
//! - the checksum does not match ([`TailDamage::ChecksumMismatch`]).
//!
//! What happens next depends on what follows the damaged record:
//!
//! - **A torn tail**: no valid record starts at any byte offset after the damaged record's
//!   first byte. `open` cuts the damaged bytes off (truncate, then fsync) and reports how
//!   many in [`Recovered::torn_bytes`]. This is what a crash leaves: each batch is written
//!   past the durable end of the file and fsynced before any record in it is
//!   acknowledged, and a synced prefix is never rewritten, so a crash damages only the
//!   unacknowledged end of the file.
//! - **Corruption**: some valid record starts after the damaged one. A crash cannot
//!   produce that (the bytes after a torn record are never a record the log finished
//!   writing), so bytes the log had synced were changed, and the damaged record may be an
//!   acknowledged one. `open` refuses: it returns an [`io::ErrorKind::InvalidData`] error
//!   carrying a [`Corruption`] (see [`corruption`]) and leaves the file exactly as it was,
//!   for the owner to decide. Dropping the damaged record and everything after it, as a
//!   torn tail is dropped, would silently lose acknowledged writes.
//!
//! The log alone cannot tell a torn tail from a file that was overwritten with garbage,
//! or cut short, from an early offset on: nothing valid follows either. An owner that
//! knows how long the log was can say so with [`Wal::open_at_least`] (a node keeps
//! [`Recovered::valid_bytes`] of each start in its own records), and a log whose intact
//! records end before that is refused as corruption too.
//!
//! "Any valid record" is meant literally: every byte offset after the damaged record's
//! first byte is tried, because the damaged header's length is exactly what can no
//! longer be trusted to say where the next record starts. A valid record is a header
//! whose length fits in the file and whose checksum matches the bytes it covers. Random
//! bytes pass that test with probability about 2^-32 per offset, so garbage after a torn
//! record is not mistaken for a record in practice.
//!
//! The tail is cut off rather than just ignored because new batches are written at the end
//! of the valid prefix. If stale tail bytes stayed beyond a shorter new batch, an intact
//! record from the lost batch could be replayed after the new records at the next `open`.
//!
//! ## Zero-filled tails
//!
//! After a crash a filesystem may show a region whose size was extended but whose data never
//! reached the disk as zeros. A zero header reads as `len = 0, crc = 0`, and a zero length
//! means the checksum covers exactly four zero bytes. Their CRC-32/IEEE is `0x2144DF1C`,
//! not 0, because the CRC register starts at `0xFFFFFFFF` and the result is inverted (a CRC
//! without those two steps would give 0 and accept the header). A zero header is therefore
//! a checksum mismatch, never a valid empty record, and no magic number or `len > 0` rule
//! is needed. The test `zero_filled_tail_is_torn` pins the constant.
//!
//! # Writing
//!
//! `append` encodes the record into a buffer in memory. `sync` writes the whole buffer with
//! one positional write at the durable end of the file and issues one fsync (`fdatasync`)
//! for the batch. This is group commit: a node that collects the writes arriving while the
//! previous fsync runs pays for one fsync per batch, not one per write.
//!
//! The log writes at an offset it tracks itself rather than in `O_APPEND` mode. Where a
//! batch lands then depends only on the log's own state (the durable end) and not on the
//! file cursor or on whatever a failed write left behind. In `O_APPEND` mode, the batch
//! after a failed partial write would land behind the partial bytes. Recovery would stop at
//! those bytes and drop the batch, although it had been acknowledged.
//!
//! After any I/O error in `sync` the log is *poisoned*: every later `append` and `sync`
//! fails, and the node must reopen the log. Linux may drop dirty pages after a failed fsync
//! and clear the error, so an fsync retried on the same file descriptor can succeed without
//! the data being on disk (PostgreSQL's "fsyncgate"). The records of the failed batch are
//! indeterminate: they must not be acknowledged, but they may reappear after the reopen.
//!
//! # New files
//!
//! A new file's directory entry is durable only once its directory has been fsynced.
//! [`open_file`] and [`open_sim_file`] fsync the parent directory on every open, not only
//! when they create the file: an earlier incarnation may have created the file and crashed
//! before syncing the directory. Making the parent directory's own entry durable (if the
//! caller just created it) is the caller's job.
//!
//! # Limits
//!
//! - Media corruption of the *last* record looks exactly like a torn tail, and that record
//!   is cut off whether or not it was acknowledged. The loss is not silent:
//!   [`Recovered::torn_bytes`] and [`Recovered::damage`] report it.
//! - Corruption is refused even when it is harmless in fact. A filesystem that writes an
//!   unsynced batch back out of order, persisting a later block without an earlier one,
//!   can leave a hole followed by a record of the same (unacknowledged) batch; and a torn
//!   record whose payload happens to contain the bytes of a valid record looks the same.
//!   Both are refused rather than cut: refusing is the side that never loses an
//!   acknowledged record without saying so.
//! - Looking for a valid record after the damage costs, per offset, a checksum over the
//!   length that offset's header claims when it fits in the file. A torn tail is small;
//!   a file of `n` random bytes costs about `n^3 / 2^35` bytes of checksumming (seconds
//!   for 10 MB), and that is paid only on the way to refusing it.
//! - After a failed fsync the kernel may go on showing bytes that never reached the disk,
//!   and a reopen in the same boot reads them like any other. "What is replayed is
//!   durable" therefore holds only if no fsync of the file has failed since the machine
//!   booted. A node that needs it unconditionally must treat an fsync error as fatal to
//!   the machine, not only to the log.
//! - `open` reads the whole file into memory, and there is no segmentation or compaction.
//! - Records appended without a `sync` stay buffered in memory, without a bound.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes of a record header: the payload length and the checksum, each a little-endian `u32`.
pub const HEADER_BYTES: usize = 8;

/// The largest payload a record may have. [`Wal::append`] rejects a larger record, and
/// recovery treats a header claiming a larger one as damage ([`TailDamage::OversizedLength`]).
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// The file operations the log needs. It is implemented for [`std::fs::File`] and for
/// turmoil's simulated [`File`](turmoil::fs::shim::std::fs::File).
///
/// The log owns its file: nothing else may write to it while a [`Wal`] is open on it.
pub trait LogFile {
    /// Returns the whole file, from offset 0 to its current end.
    fn read_all(&mut self) -> io::Result<Vec<u8>>;

    /// Writes all of `bytes` at `offset`, extending the file if they end past it. The bytes
    /// need not be durable until [`sync`](LogFile::sync) returns.
    ///
    /// The log only writes at the end of its valid prefix, so it never overwrites a synced
    /// record. The module docs say why this is a positional write and not an append.
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;

    /// Makes every earlier `write_at` and `truncate` durable, including the file length, the
    /// way `fdatasync` does. It need not sync the directory entry.
    fn sync(&mut self) -> io::Result<()>;

    /// Sets the file's length to `len`. Like a write, this need not be durable until `sync`.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl LogFile for std::fs::File {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        read_from_start(self)
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        write_all_at(self, offset, bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        // fdatasync flushes the file size along with the data (the metadata needed to read
        // the data back), which is all recovery depends on; mtime is not worth a journal
        // commit per batch.
        self.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

impl LogFile for turmoil::fs::shim::std::fs::File {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        read_from_start(self)
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        write_all_at(self, offset, bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        // turmoil's `sync_data` makes the file's pending writes and length changes durable,
        // like `fdatasync`; its directory entry needs `sync_dir` (see `open_sim_file`).
        self.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

// Both file types implement `Seek + Read + Write` (the unix-only `FileExt` is avoided so
// the log builds everywhere). The cursor is only ever moved here, and the log owns the file.
fn read_from_start<F: Read + Seek>(file: &mut F) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn write_all_at<F: Write + Seek>(file: &mut F, offset: u64, bytes: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// Why recovery stopped before the end of the file. Each kind is handled the same way (the
/// damaged record and everything after it are cut off). The kind is a diagnosis: a torn
/// write can show up as any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailDamage {
    /// Fewer than [`HEADER_BYTES`] bytes follow the last intact record.
    TruncatedHeader,
    /// The header's payload length runs past the end of the file.
    TruncatedPayload {
        /// The payload length the header claims.
        len: u32,
    },
    /// The header claims a payload larger than [`MAX_RECORD_BYTES`], which no writer
    /// produces.
    OversizedLength {
        /// The payload length the header claims.
        len: u32,
    },
    /// The stored checksum does not match the length and payload. A zero-filled header
    /// ends up here.
    ChecksumMismatch,
}

/// What [`Wal::open`] found in the file.
///
/// `valid_bytes + torn_bytes` is the file's length before recovery. After recovery the file
/// is `valid_bytes` long, and that length is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// Every intact record, in append order. It includes every record whose `sync`
    /// returned `Ok`, unless synced bytes were later corrupted (see the module's Limits).
    pub records: Vec<Vec<u8>>,
    /// Length of the intact prefix: the offset at which the next batch will be written.
    pub valid_bytes: u64,
    /// Bytes cut off after the intact prefix (0 if the file ended cleanly).
    pub torn_bytes: u64,
    /// Why recovery stopped at `valid_bytes`; `None` exactly when `torn_bytes` is 0.
    pub damage: Option<TailDamage>,
}

/// A log that lost records it had made durable: [`Wal::open`]'s refusal.
///
/// Either a damaged record is followed by a valid one (bytes that had been synced were
/// changed, so the damaged record may have been acknowledged), or the intact records end
/// before the length the owner knows the log had reached ([`Wal::open_at_least`]). The
/// file is left exactly as it was. Every field is an offset or a count in the file as
/// found, so an operator can look at the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// Byte offset where the intact records end: the damaged record, or the end of file.
    pub offset: u64,
    /// Intact records before that offset (so the damaged one is record number `record`,
    /// counting from 0).
    pub record: usize,
    /// What is wrong at `offset`; `None` if the file just ends there.
    pub damage: Option<TailDamage>,
    /// Byte offset of the first valid record found after the damaged one, if any.
    pub next_valid_offset: Option<u64>,
    /// The length of intact records the owner said the log had at least (0 if it said
    /// nothing).
    pub min_valid_bytes: u64,
    /// The file's length.
    pub file_bytes: u64,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let damage = match self.damage {
            None => "the file ends".to_string(),
            Some(TailDamage::TruncatedHeader) => "a truncated header".to_string(),
            Some(TailDamage::TruncatedPayload { len }) => {
                format!("a header claiming {len} bytes that run past the end of the file")
            }
            Some(TailDamage::OversizedLength { len }) => {
                format!("a header claiming {len} bytes, over the {MAX_RECORD_BYTES}-byte limit")
            }
            Some(TailDamage::ChecksumMismatch) => "a checksum mismatch".to_string(),
        };
        write!(
            f,
            "write-ahead log corrupt at byte offset {} (record {}): {damage}",
            self.offset, self.record
        )?;
        if let Some(next) = self.next_valid_offset {
            write!(
                f,
                ", yet a valid record follows at byte offset {next} of {}, so this is not a \
                 torn tail",
                self.file_bytes
            )?;
        }
        if self.offset < self.min_valid_bytes {
            write!(
                f,
                ", but the log already held {} bytes of valid records when its owner last \
                 opened it",
                self.min_valid_bytes
            )?;
        }
        write!(f, "; records from there on may have been acknowledged")
    }
}

impl std::error::Error for Corruption {}

/// The [`Corruption`] inside an error returned by [`Wal::open`], [`open_file`] or
/// [`open_sim_file`], if that is why it failed.
pub fn corruption(e: &io::Error) -> Option<&Corruption> {
    e.get_ref()?.downcast_ref::<Corruption>()
}

/// An append-only write-ahead log over a [`LogFile`].
///
/// Records are buffered by [`append`](Wal::append) and made durable, all together, by
/// [`sync`](Wal::sync). A record may be acknowledged once a `sync` after its `append` has
/// returned `Ok`, and not before.
pub struct Wal<F: LogFile> {
    file: F,
    /// Length of the durable log. The file holds exactly these bytes up to here, and the
    /// next batch is written from here.
    durable_bytes: u64,
    /// Encoded records appended since the last successful sync.
    pending: Vec<u8>,
    pending_records: usize,
    /// Set by a failed `sync` (see the module docs for why the log cannot carry on).
    poisoned: bool,
    /// A bug switch ([`Wal::set_skip_fsync`]): `sync` writes but does not fsync.
    skip_fsync: bool,
}

impl<F: LogFile> fmt::Debug for Wal<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pending bytes and the file handle say nothing useful; the sizes do.
        f.debug_struct("Wal")
            .field("durable_bytes", &self.durable_bytes)
            .field("pending_bytes", &self.pending.len())
            .field("pending_records", &self.pending_records)
            .field("poisoned", &self.poisoned)
            .field("skip_fsync", &self.skip_fsync)
            .finish()
    }
}

impl<F: LogFile> Wal<F> {
    /// Reads every intact record, cuts off a torn tail (truncates the file to
    /// [`Recovered::valid_bytes`]), and fsyncs the file before returning.
    ///
    /// The returned records are durable, including any that an earlier incarnation wrote
    /// without syncing and that survived in the page cache. New records are written after
    /// them. An I/O error leaves the file as it was or with its tail cut off; opening it
    /// again is safe either way.
    ///
    /// A log damaged before its last valid record is refused with an
    /// [`io::ErrorKind::InvalidData`] error whose [`corruption`] is `Some`, and the file is
    /// not touched (see the module docs for how a torn tail is told from corruption).
    pub fn open(file: F) -> io::Result<(Wal<F>, Recovered)> {
        Wal::open_at_least(file, 0)
    }

    /// Like [`Wal::open`], and also refuses the log (as [`Corruption`]) if its intact
    /// records end before `min_valid_bytes`: a length the owner knows the log had reached
    /// durably, such as [`Recovered::valid_bytes`] at an earlier open. That catches what
    /// the log alone cannot tell from a torn tail: a file overwritten with garbage from an
    /// early offset on, or cut short.
    pub fn open_at_least(mut file: F, min_valid_bytes: u64) -> io::Result<(Wal<F>, Recovered)> {
        let bytes = file.read_all()?;
        let recovered = scan(&bytes, min_valid_bytes)
            .map_err(|c| io::Error::new(io::ErrorKind::InvalidData, c))?;
        if recovered.torn_bytes > 0 {
            file.truncate(recovered.valid_bytes)?;
        }
        // One fsync covers both the cut and the records we are about to hand out; see the
        // module docs ("What is replayed is durable").
        file.sync()?;
        let wal = Wal {
            file,
            durable_bytes: recovered.valid_bytes,
            pending: Vec::new(),
            pending_records: 0,
            poisoned: false,
            skip_fsync: false,
        };
        Ok((wal, recovered))
    }

    /// Buffers one record. It is not durable, and must not be acknowledged, until a
    /// [`sync`](Wal::sync) returns `Ok`.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if the record is longer than
    /// [`MAX_RECORD_BYTES`] (nothing is buffered then), and fails if the log is poisoned.
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        self.check_not_poisoned()?;
        if record.len() > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write-ahead log record of {} bytes exceeds the {MAX_RECORD_BYTES}-byte limit",
                    record.len()
                ),
            ));
        }
        encode_into(&mut self.pending, record);
        self.pending_records += 1;
        Ok(())
    }

    /// Makes every appended record durable with one write and one fsync for the whole batch
    /// (group commit). Once this returns `Ok`, those records survive any crash and may be
    /// acknowledged. With nothing pending it returns `Ok` without touching the file.
    ///
    /// On error the log is poisoned: the batch's records are indeterminate (not to be
    /// acknowledged, but they may reappear) and every later call fails. Reopen the log to
    /// continue.
    pub fn sync(&mut self) -> io::Result<()> {
        self.check_not_poisoned()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let skip_fsync = self.skip_fsync;
        let written = self
            .file
            .write_at(self.durable_bytes, &self.pending)
            .and_then(|()| if skip_fsync { Ok(()) } else { self.file.sync() });
        if let Err(e) = written {
            self.poisoned = true;
            return Err(e);
        }
        self.durable_bytes += self.pending.len() as u64;
        self.pending.clear();
        self.pending_records = 0;
        Ok(())
    }

    /// A known bug, for tests that must catch it: with `skip` set, [`sync`](Wal::sync)
    /// writes each batch but does not fsync it, and returns `Ok` as if it had, so its
    /// records get acknowledged while only the page cache holds them. A process crash
    /// loses nothing (the kernel keeps the page cache); a power loss loses every batch
    /// since the last fsync ([`Wal::open`] still fsyncs). Off by default.
    pub fn set_skip_fsync(&mut self, skip: bool) {
        self.skip_fsync = skip;
    }

    /// Length of the durable log in bytes: the file's length as of the last successful
    /// `sync` (or `open`). It does not count pending records.
    pub fn len_bytes(&self) -> u64 {
        self.durable_bytes
    }

    /// Bytes appended since the last successful `sync`, headers included. This is what the
    /// next `sync` will write.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Records appended since the last successful `sync`.
    pub fn pending_records(&self) -> usize {
        self.pending_records
    }

    fn check_not_poisoned(&self) -> io::Result<()> {
        if self.poisoned {
            return Err(io::Error::other(
                "write-ahead log is poisoned by a failed sync; reopen it to recover",
            ));
        }
        Ok(())
    }
}

/// Opens (creating it if needed) a log at `path` on the real filesystem, recovers it as
/// [`Wal::open`] does, and fsyncs the parent directory so that the file's entry is durable.
///
/// The parent directory must exist, and its own entry must already be durable.
pub fn open_file(path: &Path) -> io::Result<(Wal<std::fs::File>, Recovered)> {
    open_file_at_least(path, 0)
}

/// [`open_file`] with [`Wal::open_at_least`]'s check.
pub fn open_file_at_least(
    path: &Path,
    min_valid_bytes: u64,
) -> io::Result<(Wal<std::fs::File>, Recovered)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    sync_parent_dir(path)?;
    Wal::open_at_least(file, min_valid_bytes)
}

/// The same as [`open_file`] on turmoil's simulated filesystem of the current simulated host.
///
/// This must be called from within a turmoil host, like every turmoil filesystem call
/// (turmoil panics otherwise). `path` must be absolute, because the simulated filesystem
/// has no working directory. The parent directory must exist and, to survive a crash, be
/// durable (`turmoil::fs::shim::std::fs::sync_dir` on its own parent).
pub fn open_sim_file(
    path: &Path,
) -> io::Result<(Wal<turmoil::fs::shim::std::fs::File>, Recovered)> {
    open_sim_file_at_least(path, 0)
}

/// [`open_sim_file`] with [`Wal::open_at_least`]'s check.
pub fn open_sim_file_at_least(
    path: &Path,
    min_valid_bytes: u64,
) -> io::Result<(Wal<turmoil::fs::shim::std::fs::File>, Recovered)> {
    use turmoil::fs::shim::std::fs as sim_fs;

    let parent = match path.parent() {
        Some(parent) if path.is_absolute() => parent,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "simulated write-ahead log path must be an absolute file path, not {}",
                    path.display()
                ),
            ))
        }
    };
    let file = sim_fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .open(path)?;
    // Without this, turmoil deletes a created file at the next crash even if its data was
    // synced: the file's directory entry was never made durable.
    sim_fs::sync_dir(parent)?;
    Wal::open_at_least(file, min_valid_bytes)
}

#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        // A bare file name lives in the working directory.
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> io::Result<()> {
    // std cannot open a directory as a file elsewhere, so there is no handle to sync
    // through. The harness runs on unix; a port would need the platform's own call.
    Ok(())
}

/// CRC-32/IEEE of the length bytes followed by the payload.
fn checksum(len_le: [u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len_le);
    hasher.update(payload);
    hasher.finalize()
}

/// Appends one encoded record to `buf`. The caller has checked the length.
fn encode_into(buf: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_RECORD_BYTES);
    let len_le = (payload.len() as u32).to_le_bytes();
    buf.reserve(HEADER_BYTES + payload.len());
    buf.extend_from_slice(&len_le);
    buf.extend_from_slice(&checksum(len_le, payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Decodes the record at the start of `bytes` (which is not empty), returning its payload
/// and its encoded length.
fn decode(bytes: &[u8]) -> Result<(&[u8], usize), TailDamage> {
    let header = bytes
        .get(..HEADER_BYTES)
        .ok_or(TailDamage::TruncatedHeader)?;
    let len_le = [header[0], header[1], header[2], header[3]];
    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let len = u32::from_le_bytes(len_le);
    // `len as usize` cannot truncate: usize is at least 32 bits on every target std runs on.
    if len as usize > MAX_RECORD_BYTES {
        return Err(TailDamage::OversizedLength { len });
    }
    let end = HEADER_BYTES + len as usize;
    let payload = bytes
        .get(HEADER_BYTES..end)
        .ok_or(TailDamage::TruncatedPayload { len })?;
    if checksum(len_le, payload) != stored {
        return Err(TailDamage::ChecksumMismatch);
    }
    Ok((payload, end))
}

/// Splits a log image into its intact records and a torn tail, or finds it corrupt (see
/// the module docs and [`Wal::open_at_least`]).
fn scan(bytes: &[u8], min_valid_bytes: u64) -> Result<Recovered, Corruption> {
    let mut records = Vec::new();
    let mut at = 0;
    let damage = loop {
        let rest = &bytes[at..];
        if rest.is_empty() {
            break None;
        }
        match decode(rest) {
            Ok((payload, encoded_bytes)) => {
                records.push(payload.to_vec());
                at += encoded_bytes;
            }
            Err(damage) => break Some(damage),
        }
    };
    let next_valid = damage.and_then(|_| first_valid_record_after(bytes, at));
    if next_valid.is_some() || (at as u64) < min_valid_bytes {
        return Err(Corruption {
            offset: at as u64,
            record: records.len(),
            damage,
            next_valid_offset: next_valid.map(|n| n as u64),
            min_valid_bytes,
            file_bytes: bytes.len() as u64,
        });
    }
    Ok(Recovered {
        records,
        valid_bytes: at as u64,
        torn_bytes: (bytes.len() - at) as u64,
        damage,
    })
}

/// The first byte offset after `damaged` at which a valid record starts. Every offset is
/// tried: the damaged header's length cannot be trusted to say where the next record is.
fn first_valid_record_after(bytes: &[u8], damaged: usize) -> Option<usize> {
    (damaged + 1..bytes.len().saturating_sub(HEADER_BYTES - 1))
        .find(|&at| decode(&bytes[at..]).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::path::PathBuf;
    use std::rc::Rc;

    /// A payload that differs per index and per byte, so that a record cut or shifted by a
    /// bug cannot still compare equal.
    fn payload(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
    }

    fn encoded(records: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for record in records {
            encode_into(&mut bytes, record);
        }
        bytes
    }

    fn temp_log() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("create temp dir");
        let path = dir.path().join("kv.wal");
        (dir, path)
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).expect("stat log").len()
    }

    /// Opens a log holding `image`, checks it recovers `expect` with the tail cut off, then
    /// checks that a record appended after recovery lands right behind them.
    fn assert_recovers(path: &Path, image: &[u8], expect: &[Vec<u8>]) -> Recovered {
        std::fs::write(path, image).unwrap();
        let (mut wal, recovered) = open_file(path).unwrap();
        assert_eq!(recovered.records, expect);
        let valid = encoded(expect).len() as u64;
        assert_eq!(recovered.valid_bytes, valid);
        assert_eq!(recovered.torn_bytes, image.len() as u64 - valid);
        assert_eq!(recovered.damage.is_some(), recovered.torn_bytes > 0);
        assert_eq!(wal.len_bytes(), valid);
        assert_eq!(file_len(path), valid, "tail not cut off");

        wal.append(b"after recovery").unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, again) = open_file(path).unwrap();
        let mut expect_after = expect.to_vec();
        expect_after.push(b"after recovery".to_vec());
        assert_eq!(again.records, expect_after);
        assert_eq!(again.torn_bytes, 0);
        recovered
    }

    #[test]
    fn round_trip_across_reopen() {
        let (_dir, path) = temp_log();
        // Sizes from empty to a few hundred bytes, in batches of 1 to 16 records.
        let records: Vec<Vec<u8>> = (0..1000).map(|i| payload(i, (i * 37) % 300)).collect();

        let (mut wal, recovered) = open_file(&path).unwrap();
        assert_eq!(recovered, scan(&[], 0).unwrap());
        let (mut batch_records, mut in_batch) = (1, 0);
        for record in &records[..600] {
            wal.append(record).unwrap();
            in_batch += 1;
            if in_batch == batch_records {
                wal.sync().unwrap();
                (batch_records, in_batch) = (batch_records % 16 + 1, 0);
            }
        }
        wal.sync().unwrap();
        assert_eq!(wal.pending_records(), 0);
        assert_eq!(wal.len_bytes(), file_len(&path));
        drop(wal);

        let (mut wal, recovered) = open_file(&path).unwrap();
        assert_eq!(recovered.records, &records[..600]);
        assert_eq!(recovered.torn_bytes, 0);
        for record in &records[600..] {
            wal.append(record).unwrap();
        }
        assert_eq!(wal.pending_records(), 400);
        wal.sync().unwrap();
        drop(wal);

        let (wal, recovered) = open_file(&path).unwrap();
        assert_eq!(recovered.records, records);
        assert_eq!(recovered.damage, None);
        assert_eq!(wal.len_bytes(), encoded(&records).len() as u64);
    }

    #[test]
    fn torn_tail_at_every_offset_of_last_record_is_cut_off() {
        let (dir, _) = temp_log();
        let records: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 100)).collect();
        let full = encoded(&records);
        let last_start = full.len() - (HEADER_BYTES + 100);

        for cut in last_start..=full.len() {
            let path = dir.path().join(format!("cut-{cut}.wal"));
            let expect = if cut == full.len() {
                &records[..]
            } else {
                &records[..4]
            };
            let recovered = assert_recovers(&path, &full[..cut], expect);
            let torn = cut - last_start;
            let damage = match torn {
                0 => None,
                _ if cut == full.len() => None,
                t if t < HEADER_BYTES => Some(TailDamage::TruncatedHeader),
                _ => Some(TailDamage::TruncatedPayload { len: 100 }),
            };
            assert_eq!(recovered.damage, damage, "cut at {cut}");
        }
    }

    #[test]
    fn flipped_bit_in_any_byte_of_last_record_is_detected() {
        let (dir, _) = temp_log();
        let records: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 100)).collect();
        let full = encoded(&records);
        let last_start = full.len() - (HEADER_BYTES + 100);

        // On real files one bit per byte, rotating through the bit positions (each open
        // costs fsyncs); `every_single_bit_flip_is_detected` covers all bits in memory.
        for at in last_start..full.len() {
            let mut image = full.clone();
            image[at] ^= 1 << (at % 8);
            let path = dir.path().join(format!("flip-{at}.wal"));
            let recovered = assert_recovers(&path, &image, &records[..4]);
            assert!(recovered.damage.is_some(), "flip at {at} not detected");
        }
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let records: Vec<Vec<u8>> = (0..5).map(|i| payload(i, 100)).collect();
        let full = encoded(&records);
        let last_start = full.len() - (HEADER_BYTES + 100);
        for at in last_start..full.len() {
            for bit in 0..8 {
                let mut image = full.clone();
                image[at] ^= 1 << bit;
                let recovered = scan(&image, 0).unwrap();
                assert_eq!(recovered.records, &records[..4], "byte {at} bit {bit}");
                assert_eq!(recovered.valid_bytes, last_start as u64);
            }
        }
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        // The property the format relies on instead of a magic number (see module docs).
        assert_eq!(checksum([0; 4], &[]), 0x2144_DF1C);
        assert_eq!(
            decode(&[0; HEADER_BYTES]),
            Err(TailDamage::ChecksumMismatch)
        );

        let (dir, _) = temp_log();
        let records: Vec<Vec<u8>> = (0..3).map(|i| payload(i, 50)).collect();
        let log = encoded(&records);

        // Zeros appended after the log, as after a crash that extended the file.
        for zeros in [1, HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + 1, 4096] {
            let mut image = log.clone();
            image.resize(log.len() + zeros, 0);
            let path = dir.path().join(format!("zeros-{zeros}.wal"));
            let recovered = assert_recovers(&path, &image, &records);
            let damage = if zeros < HEADER_BYTES {
                TailDamage::TruncatedHeader
            } else {
                TailDamage::ChecksumMismatch
            };
            assert_eq!(recovered.damage, Some(damage), "{zeros} zeros");
        }

        // The last record's bytes zeroed in place (length extended, data never written),
        // whole and with only its payload zeroed.
        let last_start = log.len() - (HEADER_BYTES + 50);
        for zero_from in [last_start, last_start + HEADER_BYTES] {
            let mut image = log.clone();
            image[zero_from..].fill(0);
            let path = dir.path().join(format!("zeroed-from-{zero_from}.wal"));
            let recovered = assert_recovers(&path, &image, &records[..2]);
            assert_eq!(recovered.damage, Some(TailDamage::ChecksumMismatch));
        }
    }

    #[test]
    fn corrupt_middle_record_is_refused_and_the_file_left_alone() {
        let (_dir, path) = temp_log();
        let records: Vec<Vec<u8>> = (0..10).map(|i| payload(i, 40)).collect();
        let mut image = encoded(&records);
        let third_start = encoded(&records[..3]).len();
        let fourth_start = encoded(&records[..4]).len();
        image[third_start + HEADER_BYTES + 5] ^= 0x10;
        std::fs::write(&path, &image).unwrap();

        let err = open_file(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let c = corruption(&err).expect("a corruption error");
        assert_eq!(
            *c,
            Corruption {
                offset: third_start as u64,
                record: 3,
                damage: Some(TailDamage::ChecksumMismatch),
                next_valid_offset: Some(fourth_start as u64),
                min_valid_bytes: 0,
                file_bytes: image.len() as u64,
            }
        );
        assert!(err
            .to_string()
            .contains(&format!("byte offset {third_start} (record 3)")));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            image,
            "a refused log must not change"
        );
    }

    #[test]
    fn a_flipped_length_bit_mid_log_is_corruption_wherever_the_next_record_lands() {
        let records: Vec<Vec<u8>> = (0..6).map(|i| payload(i, 40)).collect();
        let full = encoded(&records);
        let second_start = encoded(&records[..1]).len();
        // Each length bit: the damaged header now claims a length that ends inside a later
        // record, past the end of the file, or over the limit; every one is refused.
        for bit in 0..32 {
            let mut image = full.clone();
            image[second_start + bit / 8] ^= 1 << (bit % 8);
            let c = scan(&image, 0).expect_err("a mid-log flip is corruption");
            assert_eq!((c.offset, c.record), (second_start as u64, 1), "bit {bit}");
        }
    }

    #[test]
    fn only_a_bad_record_with_nothing_valid_after_it_is_a_torn_tail() {
        let records: Vec<Vec<u8>> = (0..4).map(|i| payload(i, 40)).collect();
        let full = encoded(&records);
        let last_start = encoded(&records[..3]).len();
        // A torn last record followed by garbage and zeros: still a torn tail.
        let mut image = full[..last_start + 20].to_vec();
        image.extend_from_slice(&[0xA5; 37]);
        image.extend_from_slice(&[0; 16]);
        let recovered = scan(&image, 0).unwrap();
        assert_eq!(recovered.records, &records[..3]);
        assert_eq!(recovered.torn_bytes, (image.len() - last_start) as u64);

        // The same, with one intact record appended anywhere after the damage: corruption.
        for gap in [0usize, 1, 7, 20] {
            let mut image = full[..last_start + 20].to_vec();
            image.extend(std::iter::repeat_n(0xA5, gap));
            let valid_at = image.len();
            image.extend_from_slice(&encoded(&[b"late".to_vec()]));
            let c = scan(&image, 0).expect_err("a valid record after the damage");
            assert_eq!(c.offset, last_start as u64, "gap {gap}");
            assert_eq!(c.next_valid_offset, Some(valid_at as u64), "gap {gap}");
        }
    }

    #[test]
    fn a_log_shorter_than_its_known_length_is_refused() {
        let (_dir, path) = temp_log();
        let records: Vec<Vec<u8>> = (0..4).map(|i| payload(i, 40)).collect();
        let full = encoded(&records);
        let known = full.len() as u64;
        std::fs::write(&path, &full).unwrap();
        let (_, recovered) = open_file_at_least(&path, known).unwrap();
        assert_eq!(recovered.records, records);

        // Garbage over everything: nothing valid follows the damage, so on its own it
        // would be a torn tail of the whole file.
        let garbage: Vec<u8> = (0..full.len()).map(|i| (i * 131 % 251) as u8).collect();
        std::fs::write(&path, &garbage).unwrap();
        let alone = scan(&garbage, 0).unwrap();
        assert_eq!(alone.valid_bytes, 0);
        let err = open_file_at_least(&path, known).unwrap_err();
        let c = corruption(&err).unwrap();
        assert_eq!((c.offset, c.record, c.min_valid_bytes), (0, 0, known));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            garbage,
            "a refused log must not change"
        );

        // Cut short at a record boundary: no damage at all, and still refused.
        std::fs::write(&path, &full[..encoded(&records[..2]).len()]).unwrap();
        let err = open_file_at_least(&path, known).unwrap_err();
        assert_eq!(corruption(&err).unwrap().damage, None);
        assert!(err.to_string().contains("already held"), "{err}");
    }

    #[test]
    fn oversized_length_is_damage_and_oversized_append_is_rejected() {
        let (_dir, path) = temp_log();
        let records = vec![payload(0, 10)];
        let mut image = encoded(&records);
        let len_le = (MAX_RECORD_BYTES as u32 + 1).to_le_bytes();
        image.extend_from_slice(&len_le);
        image.extend_from_slice(&checksum(len_le, &[]).to_le_bytes());
        image.extend_from_slice(&[0xAB; 64]);
        let recovered = assert_recovers(&path, &image, &records);
        assert_eq!(
            recovered.damage,
            Some(TailDamage::OversizedLength {
                len: MAX_RECORD_BYTES as u32 + 1
            })
        );

        let (mut wal, _) = open_file(&path).unwrap();
        let err = wal.append(&vec![0; MAX_RECORD_BYTES + 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(wal.pending_records(), 0);
        // Not poisoned: a rejected record is the caller's mistake, not an I/O failure.
        wal.append(b"fits").unwrap();
        wal.sync().unwrap();
    }

    /// An in-memory [`LogFile`] that remembers what was synced and counts calls. Clones
    /// share the file, so a test can look at it while a `Wal` owns it.
    #[derive(Clone, Default)]
    struct MemFile(Rc<RefCell<MemState>>);

    #[derive(Default)]
    struct MemState {
        bytes: Vec<u8>,
        /// The file as of the last successful sync: what a crash leaves.
        durable: Vec<u8>,
        writes: usize,
        syncs: usize,
        fail_syncs: bool,
    }

    impl MemFile {
        fn with_bytes(bytes: Vec<u8>) -> Self {
            let file = MemFile::default();
            file.0.borrow_mut().durable = bytes.clone();
            file.0.borrow_mut().bytes = bytes;
            file
        }
    }

    impl LogFile for MemFile {
        fn read_all(&mut self) -> io::Result<Vec<u8>> {
            Ok(self.0.borrow().bytes.clone())
        }

        fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
            let mut state = self.0.borrow_mut();
            let (start, end) = (offset as usize, offset as usize + bytes.len());
            if state.bytes.len() < end {
                state.bytes.resize(end, 0);
            }
            state.bytes[start..end].copy_from_slice(bytes);
            state.writes += 1;
            Ok(())
        }

        fn sync(&mut self) -> io::Result<()> {
            let mut state = self.0.borrow_mut();
            if state.fail_syncs {
                return Err(io::Error::other("injected fsync failure"));
            }
            state.durable = state.bytes.clone();
            state.syncs += 1;
            Ok(())
        }

        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.0.borrow_mut().bytes.resize(len as usize, 0);
            Ok(())
        }
    }

    #[test]
    fn group_commit_is_one_write_and_one_fsync_per_batch() {
        let file = MemFile::default();
        let (mut wal, _) = Wal::open(file.clone()).unwrap();
        assert_eq!(file.0.borrow().syncs, 1, "open syncs what it recovered");

        for i in 0..64 {
            wal.append(&payload(i, 100)).unwrap();
        }
        assert_eq!(wal.pending_bytes(), 64 * (HEADER_BYTES + 100));
        assert_eq!(file.0.borrow().writes, 0, "append must not touch the file");
        wal.sync().unwrap();
        assert_eq!((file.0.borrow().writes, file.0.borrow().syncs), (1, 2));

        wal.sync().unwrap();
        assert_eq!(file.0.borrow().syncs, 2, "an empty sync must not fsync");
        assert_eq!(wal.len_bytes(), 64 * (HEADER_BYTES + 100) as u64);
    }

    #[test]
    fn with_skip_fsync_a_sync_writes_but_a_power_loss_takes_the_batch() {
        let file = MemFile::default();
        let (mut wal, _) = Wal::open(file.clone()).unwrap();
        wal.append(b"synced").unwrap();
        wal.sync().unwrap();
        wal.set_skip_fsync(true);
        wal.append(b"acknowledged, never fsynced").unwrap();
        wal.sync().unwrap();
        assert_eq!((file.0.borrow().writes, file.0.borrow().syncs), (2, 2));
        // The process sees it (a process crash keeps the page cache) ...
        let (_, seen) = Wal::open(MemFile::with_bytes(file.0.borrow().bytes.clone())).unwrap();
        assert_eq!(seen.records.len(), 2);
        // ... a power loss does not.
        let durable = file.0.borrow().durable.clone();
        let (_, recovered) = Wal::open(MemFile::with_bytes(durable)).unwrap();
        assert_eq!(recovered.records, [b"synced".to_vec()]);
    }

    #[test]
    fn failed_sync_poisons_the_log() {
        let file = MemFile::default();
        let (mut wal, _) = Wal::open(file.clone()).unwrap();
        wal.append(b"acknowledged").unwrap();
        wal.sync().unwrap();

        file.0.borrow_mut().fail_syncs = true;
        wal.append(b"indeterminate").unwrap();
        assert!(wal.sync().is_err());
        file.0.borrow_mut().fail_syncs = false;
        // Even though the file would now sync, the log refuses: the earlier failure may
        // have dropped dirty pages that a later fsync would not report.
        assert!(wal.append(b"more").is_err());
        assert!(wal.sync().is_err());
        assert_eq!(wal.len_bytes(), (HEADER_BYTES + 12) as u64);

        // A crash now keeps what was synced; reopening recovers exactly that.
        let durable = file.0.borrow().durable.clone();
        let (_, recovered) = Wal::open(MemFile::with_bytes(durable)).unwrap();
        assert_eq!(recovered.records, [b"acknowledged".to_vec()]);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// What a crash during the last batch's sync leaves after the durable prefix.
        #[derive(Clone, Debug)]
        enum Tail {
            /// The first `keep_per_mille / 1000` of the unsynced batch's bytes.
            Prefix { keep_per_mille: u16 },
            /// A prefix of the batch followed by `zeros` zero bytes.
            PrefixThenZeros { keep_per_mille: u16, zeros: usize },
            /// A prefix of the batch followed by arbitrary bytes.
            PrefixThenGarbage {
                keep_per_mille: u16,
                garbage: Vec<u8>,
            },
        }

        fn tail() -> impl Strategy<Value = Tail> {
            let keep = 0u16..=1000;
            prop_oneof![
                keep.clone()
                    .prop_map(|keep_per_mille| Tail::Prefix { keep_per_mille }),
                (keep.clone(), 1usize..64).prop_map(|(keep_per_mille, zeros)| {
                    Tail::PrefixThenZeros {
                        keep_per_mille,
                        zeros,
                    }
                }),
                (keep, proptest::collection::vec(any::<u8>(), 1..64)).prop_map(
                    |(keep_per_mille, garbage)| Tail::PrefixThenGarbage {
                        keep_per_mille,
                        garbage,
                    }
                ),
            ]
        }

        fn batches() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
            let record = proptest::collection::vec(any::<u8>(), 0..48);
            proptest::collection::vec(proptest::collection::vec(record, 1..8), 1..12)
        }

        proptest! {
            /// Every synced record survives a crash during a later batch's sync; what else
            /// survives is a prefix of that batch; and the log keeps working afterwards.
            #[test]
            fn crash_during_sync_keeps_every_synced_record(batches in batches(), tail in tail()) {
                let file = MemFile::default();
                let (mut wal, _) = Wal::open(file.clone()).unwrap();
                let (last, synced_batches) = batches.split_last().unwrap();
                let mut synced = Vec::new();
                for batch in synced_batches {
                    for record in batch {
                        wal.append(record).unwrap();
                    }
                    wal.sync().unwrap();
                    synced.extend(batch.iter().cloned());
                }
                for record in last {
                    wal.append(record).unwrap();
                }
                file.0.borrow_mut().fail_syncs = true;
                prop_assert!(wal.sync().is_err());

                let (durable, written) = {
                    let state = file.0.borrow();
                    (state.durable.clone(), state.bytes[state.durable.len()..].to_vec())
                };
                let keep = |per_mille: u16| written.len() * per_mille as usize / 1000;
                let mut image = durable.clone();
                match &tail {
                    Tail::Prefix { keep_per_mille } => {
                        image.extend_from_slice(&written[..keep(*keep_per_mille)]);
                    }
                    Tail::PrefixThenZeros { keep_per_mille, zeros } => {
                        image.extend_from_slice(&written[..keep(*keep_per_mille)]);
                        image.resize(image.len() + zeros, 0);
                    }
                    Tail::PrefixThenGarbage { keep_per_mille, garbage } => {
                        image.extend_from_slice(&written[..keep(*keep_per_mille)]);
                        image.extend_from_slice(garbage);
                    }
                }

                let reopened = MemFile::with_bytes(image.clone());
                let (mut wal, recovered) = Wal::open(reopened.clone()).unwrap();
                prop_assert!(recovered.records.len() >= synced.len());
                prop_assert_eq!(&recovered.records[..synced.len()], &synced[..]);
                let survivors = &recovered.records[synced.len()..];
                prop_assert_eq!(survivors, &last[..survivors.len()]);
                prop_assert_eq!(recovered.valid_bytes + recovered.torn_bytes, image.len() as u64);
                prop_assert_eq!(reopened.0.borrow().durable.len() as u64, recovered.valid_bytes);

                wal.append(b"next").unwrap();
                wal.sync().unwrap();
                let durable = reopened.0.borrow().durable.clone();
                let (_, again) = Wal::open(MemFile::with_bytes(durable)).unwrap();
                let mut expect = recovered.records.clone();
                expect.push(b"next".to_vec());
                prop_assert_eq!(again.records, expect);
            }
        }
    }

    /// Drives one simulated node through turmoil. On its first boot the node appends and
    /// syncs `synced`, then writes `unsynced` through a second handle without syncing, as
    /// a node that crashes after `write` and before `fsync` returns would. Later boots only
    /// open the log. `between` runs after the first boot has written; it crashes and/or
    /// bounces the host. Returns what every later boot recovered.
    fn run_sim(
        seed: u64,
        block_size: Option<u64>,
        synced: &[Vec<u8>],
        unsynced: &[Vec<u8>],
        between: &[fn(&mut turmoil::Sim<'_>)],
    ) -> Vec<Recovered> {
        const PATH: &str = "/kv.wal";
        let mut builder = turmoil::Builder::new();
        builder.rng_seed(seed);
        // Unsynced writes never become durable on their own; only `block_size` (torn
        // writes, decided by the seeded rng at crash time) lets part of one survive.
        builder.fs().sync_probability(0.0);
        if let Some(bytes) = block_size {
            builder.fs().block_size(bytes);
        }
        let mut sim = builder.build();

        let boots = Rc::new(Cell::new(0u32));
        let boot_done = Rc::new(Cell::new(false));
        let recovered = Rc::new(RefCell::new(Vec::new()));
        let (synced, unsynced) = (synced.to_vec(), unsynced.to_vec());
        {
            let (boots, boot_done, recovered) =
                (boots.clone(), boot_done.clone(), recovered.clone());
            sim.host("node", move || {
                let (boots, boot_done, recovered) =
                    (boots.clone(), boot_done.clone(), recovered.clone());
                let (synced, unsynced) = (synced.clone(), unsynced.clone());
                async move {
                    let boot = boots.get();
                    boots.set(boot + 1);
                    let (mut wal, found) = open_sim_file(Path::new(PATH))?;
                    if boot == 0 {
                        assert_eq!(found.records.len(), 0);
                        for batch in synced.chunks(3) {
                            for record in batch {
                                wal.append(record)?;
                            }
                            wal.sync()?;
                        }
                        let mut side = turmoil::fs::shim::std::fs::OpenOptions::new()
                            .write(true)
                            .open(PATH)?;
                        side.write_at(wal.len_bytes(), &encoded(&unsynced))?;
                        boot_done.set(true);
                    } else {
                        recovered.borrow_mut().push(found);
                        boot_done.set(true);
                    }
                    // Stay up, holding the log, until the test crashes or bounces us.
                    std::future::pending::<()>().await;
                    Ok(())
                }
            });
        }

        let step_until_boot_done = |sim: &mut turmoil::Sim<'_>| {
            for _ in 0..100 {
                if boot_done.replace(false) {
                    return;
                }
                sim.step().expect("simulation step");
            }
            panic!("node did not finish booting");
        };
        step_until_boot_done(&mut sim);
        for action in between {
            action(&mut sim);
            step_until_boot_done(&mut sim);
        }
        recovered.take()
    }

    fn crash_and_restart(sim: &mut turmoil::Sim<'_>) {
        sim.crash("node");
        sim.bounce("node");
    }

    fn restart_without_crash(sim: &mut turmoil::Sim<'_>) {
        sim.bounce("node");
    }

    #[test]
    fn synced_records_survive_simulated_crash() {
        let synced: Vec<Vec<u8>> = (0..10).map(|i| payload(i, 40)).collect();
        let unsynced: Vec<Vec<u8>> = (10..15).map(|i| payload(i, 40)).collect();
        let runs = run_sim(1, None, &synced, &unsynced, &[crash_and_restart]);
        // With atomic writes and sync_probability 0 the unsynced write is lost whole. The
        // file itself survives only because `open_sim_file` synced its directory entry.
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].records, synced);
        assert_eq!(runs[0].torn_bytes, 0);
    }

    #[test]
    fn torn_unsynced_write_in_simulated_crash_is_cut_off() {
        let synced: Vec<Vec<u8>> = (0..10).map(|i| payload(i, 40)).collect();
        let unsynced: Vec<Vec<u8>> = (10..20).map(|i| payload(i, 40)).collect();
        let (mut torn, mut survivors) = (0, 0);
        for seed in 0..32 {
            // 16-byte blocks: the crash keeps a random number of whole blocks of the
            // unsynced write, which mostly ends inside a 48-byte record.
            let runs = run_sim(seed, Some(16), &synced, &unsynced, &[crash_and_restart]);
            let recovered = &runs[0];
            assert_eq!(recovered.records[..synced.len()], synced, "seed {seed}");
            let extra = &recovered.records[synced.len()..];
            assert_eq!(extra, &unsynced[..extra.len()], "seed {seed}");
            torn += usize::from(recovered.torn_bytes > 0);
            survivors += usize::from(!extra.is_empty());
        }
        // The seeds are fixed, so these only guard against the test becoming vacuous.
        assert!(torn > 0, "no seed tore a record");
        assert!(survivors > 0, "no seed kept an unsynced record");
    }

    #[test]
    fn recovered_records_are_durable_before_use() {
        let synced: Vec<Vec<u8>> = (0..4).map(|i| payload(i, 40)).collect();
        let unsynced: Vec<Vec<u8>> = (4..8).map(|i| payload(i, 40)).collect();
        // A process restart keeps the unsynced write in the (simulated) page cache, so the
        // second boot replays it; `open` must make it durable before handing it out, or the
        // crash before the third boot would take back records the node already used.
        let runs = run_sim(
            7,
            None,
            &synced,
            &unsynced,
            &[restart_without_crash, crash_and_restart],
        );
        let all: Vec<Vec<u8>> = synced.iter().chain(&unsynced).cloned().collect();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].records, all);
        assert_eq!(runs[1].records, all);
    }

    /// Appends with fsync, for 100-byte records at several batch sizes. Not a timed
    /// assertion: run with
    /// `cargo test --release -p impls wal::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement, not a test"]
    fn throughput() {
        use std::time::{Duration, Instant};

        let record = payload(0, 100);
        for batch in [1usize, 16, 64] {
            let (_dir, path) = temp_log();
            let (mut wal, _) = open_file(&path).unwrap();
            let (mut records, mut syncs) = (0u64, 0u64);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                for _ in 0..batch {
                    wal.append(&record).unwrap();
                }
                wal.sync().unwrap();
                records += batch as u64;
                syncs += 1;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "batch {batch:>2}: {:>9.0} records/s, {:>6.0} syncs/s, {:>6.3} ms/sync",
                records as f64 / secs,
                syncs as f64 / secs,
                secs * 1e3 / syncs as f64,
            );
        }
    }
}

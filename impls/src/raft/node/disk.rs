//! A node's data directory: what its `Persist` effects wrote, and recovery of a
//! [`Durable`] from it.
//!
//! # Files
//!
//! - `raft.hardstate`: `currentTerm`, `votedFor` and the least length the log is known to
//!   have reached ([`HardState`]), replaced atomically and durably
//!   ([`Storage::write_file_durably`]: temporary file, fsync, rename, fsync directory).
//! - `raft.wal`: the log, in the shared checksummed write-ahead log ([`crate::sim::wal`]).
//!   Each [`Persist::Entries`] is one record (truncate from `from`, then append); a log
//!   rewritten after a snapshot starts with a [`LogRecord::Base`] naming the snapshot it
//!   continues.
//! - `raft.snapshot`: the latest snapshot, replaced atomically and durably.
//! - `kv.lock`: the directory's lock ([`Storage::lock_dir`]), held while a node runs.
//!
//! # Order and crashes
//!
//! [`DataDir::persist`] carries out a batch of persists in order, and returns only when
//! all are durable: consecutive entries share one fsync, and pending log records are
//! synced before a hard-state or snapshot write, so a crash leaves a prefix of the batch.
//! A snapshot is written to its file before the log is rewritten without the entries it
//! covers, so a crash between the two leaves a snapshot newer than the log's base; recovery
//! then does what [`Persist::Snapshot`] does (it keeps the log's entries after the snapshot
//! if the log agrees with the snapshot's last entry, else drops them), which is what the
//! interrupted persist would have left.
//!
//! # Without fsync
//!
//! [`DataDir::open_without_fsync`] is the runtime bug
//! [`RuntimeBug::SkipFsync`](super::RuntimeBug::SkipFsync): every file is written as
//! above and nothing is ever fsynced (neither files nor directories), so whatever the
//! node acknowledged lives only in the page cache until the operating system writes it
//! back. A process crash loses nothing; a power loss can lose all of it (under turmoil,
//! a crash drops every unsynced write).
//!
//! # Bounded size
//!
//! Each snapshot rewrites the log with only the entries after it (into `raft.wal.new`,
//! synced, then renamed over `raft.wal`), so the log holds the entries since the last
//! snapshot plus those rewritten by truncations since, not the node's whole history.
//!
//! # Damage
//!
//! A directory whose files contradict each other or do not decode is refused with a
//! [`Refusal`] naming the file (and the record and byte offset in the log): a torn log
//! tail after the length the hard-state file vouches for is cut off, as a crash leaves it,
//! but a log cut short before that length, or damaged before its last intact record, has
//! lost records a node acknowledged, and a node that served from it could break Raft's
//! safety. A path that exists and is not a regular file is never replaced.

use super::codec::{self, HardState, LogRecord};
use crate::raft::core::{Durable, Persist, Snapshot};
use crate::sim::net::{DirLock, Storage};
use crate::sim::wal::{self, Recovered, Wal, HEADER_BYTES};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The hard-state file's name.
pub const HARD_STATE_FILE: &str = "raft.hardstate";
/// The log's file name.
pub const WAL_FILE: &str = "raft.wal";
/// The snapshot file's name.
pub const SNAPSHOT_FILE: &str = "raft.snapshot";
/// Where a rewritten log is built before it replaces [`WAL_FILE`].
const WAL_REWRITE_FILE: &str = "raft.wal.new";
/// The most entries one log record holds when the log is rewritten.
const ENTRIES_PER_RECORD: usize = 64;

/// Why a node refused to start on its data directory: its files are damaged or
/// contradict each other, another process holds it, or a path in it is not a regular
/// file. The text names the file and what is wrong. `raft-node` exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Whether `e` is a [`Refusal`] (as opposed to an I/O failure).
pub fn is_refusal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Refusal>())
}

fn refuse(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Refusal(text))
}

/// What recovery found besides the durable state, for the node to report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryNotes {
    /// Bytes of a torn log tail that were cut off (a crash in the middle of a write).
    pub torn_bytes: u64,
    /// Whether the snapshot file was newer than the log (a crash between writing it and
    /// rewriting the log) and was applied to it.
    pub snapshot_applied: bool,
}

/// An open, locked data directory. Holds a copy of what is on disk ([`DataDir::durable`])
/// so that a snapshot can rewrite the log without reading it back.
pub struct DataDir {
    storage: Storage,
    dir: PathBuf,
    wal: AnyWal,
    durable: Durable,
    hard: HardState,
    /// False only for [`RuntimeBug::SkipFsync`](super::RuntimeBug::SkipFsync).
    fsync: bool,
    /// Every fsync this directory has asked for (files and the directory itself), for
    /// the node's `status`: how well persists are batched.
    fsyncs: Arc<AtomicU64>,
    _lock: DirLock,
}

impl fmt::Debug for DataDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataDir")
            .field("dir", &self.dir)
            .field("wal_bytes", &self.wal.len_bytes())
            .field("hard", &self.hard)
            .finish()
    }
}

impl DataDir {
    /// Creates (if needed), locks and recovers `dir`. Returns the directory and what a
    /// restart recovers; fails with a [`Refusal`] on a damaged or locked directory.
    pub fn open(storage: Storage, dir: &Path) -> io::Result<(DataDir, Durable, RecoveryNotes)> {
        DataDir::open_with(storage, dir, true)
    }

    /// [`DataDir::open`] for a node with the runtime bug
    /// [`RuntimeBug::SkipFsync`](super::RuntimeBug::SkipFsync): the same files, never
    /// fsynced (see the module docs).
    pub fn open_without_fsync(
        storage: Storage,
        dir: &Path,
    ) -> io::Result<(DataDir, Durable, RecoveryNotes)> {
        DataDir::open_with(storage, dir, false)
    }

    fn open_with(
        storage: Storage,
        dir: &Path,
        fsync: bool,
    ) -> io::Result<(DataDir, Durable, RecoveryNotes)> {
        storage
            .create_dir(dir)
            .map_err(|e| refuse(format!("data directory {}: {e}", dir.display())))?;
        let lock = storage.lock_dir(dir).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                refuse(format!("data directory {}: {e}", dir.display()))
            } else {
                e
            }
        })?;
        let hard_path = dir.join(HARD_STATE_FILE);
        let wal_path = dir.join(WAL_FILE);
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        // The temporary files beside them too: a file is replaced by writing one of them
        // and renaming it, and writing through a symlink would write somewhere else.
        let temporaries = [
            dir.join(format!("{HARD_STATE_FILE}.tmp")),
            dir.join(format!("{SNAPSHOT_FILE}.tmp")),
            dir.join(WAL_REWRITE_FILE),
        ];
        for path in [&hard_path, &wal_path, &snapshot_path]
            .into_iter()
            .chain(&temporaries)
        {
            check_regular(storage, path)?;
        }
        let hard = match storage.read_file(&hard_path)? {
            None => None,
            Some(bytes) => Some(codec::decode_hard_state(&bytes).map_err(|why| {
                refuse(format!(
                    "hard-state file {} is damaged: {why}",
                    hard_path.display()
                ))
            })?),
        };
        let snapshot = match storage.read_file(&snapshot_path)? {
            None => None,
            Some(bytes) => Some(codec::decode_snapshot(&bytes).map_err(|why| {
                refuse(format!(
                    "snapshot file {} is damaged: {why}",
                    snapshot_path.display()
                ))
            })?),
        };
        let wal_min = hard.map_or(0, |h| h.wal_min_bytes);
        let fsyncs = Arc::new(AtomicU64::new(0));
        let (wal, recovered) =
            AnyWal::open(storage, &wal_path, wal_min, fsync, &fsyncs).map_err(|e| {
                match wal::corruption(&e) {
                    Some(c) => refuse(format!("{}: {c}", wal_path.display())),
                    None => e,
                }
            })?;
        if hard.is_none() && (!recovered.records.is_empty() || snapshot.is_some()) {
            return Err(refuse(format!(
                "hard-state file {} is missing, yet the directory holds a log or a snapshot: \
                 the node's term and vote are lost",
                hard_path.display()
            )));
        }
        let hard_missing = hard.is_none();
        let hard = hard.unwrap_or_default();
        let (mut durable, snapshot_applied) = replay(&wal_path, &recovered, snapshot)?;
        if let Some(last) = durable.entries.last() {
            if last.term > hard.term {
                return Err(refuse(format!(
                    "hard-state file {} says term {}, but the log {} holds an entry of term {}",
                    hard_path.display(),
                    hard.term,
                    wal_path.display(),
                    last.term
                )));
            }
        }
        durable.term = hard.term;
        durable.voted_for = hard.voted_for;
        let notes = RecoveryNotes {
            torn_bytes: recovered.torn_bytes,
            snapshot_applied,
        };
        let mut data = DataDir {
            storage,
            dir: dir.to_path_buf(),
            wal,
            durable: durable.clone(),
            hard,
            fsync,
            fsyncs,
            _lock: lock,
        };
        if snapshot_applied {
            data.rewrite_wal()?;
        } else if hard_missing || data.hard.wal_min_bytes != data.wal.len_bytes() {
            // From now on the log is known to be at least this long (and a directory with
            // a log always has a hard-state file).
            data.write_hard_state(data.hard.term, data.hard.voted_for)?;
        }
        Ok((data, durable, notes))
    }

    /// Carries out `batch` in order and returns once all of it is durable. On error the
    /// directory may hold any prefix of the batch; the node must stop.
    pub fn persist(&mut self, batch: &[Persist]) -> io::Result<()> {
        for persist in batch {
            match persist {
                Persist::HardState { term, voted_for } => {
                    self.wal.sync()?;
                    self.write_hard_state(*term, *voted_for)?;
                    self.durable.apply(persist);
                }
                Persist::Entries { from, entries } => {
                    self.wal.append(&codec::encode_record(&LogRecord::Entries {
                        from: *from,
                        entries: entries.clone(),
                    }))?;
                    self.durable.apply(persist);
                }
                Persist::Snapshot { snapshot, .. } => {
                    self.wal.sync()?;
                    let path = self.dir.join(SNAPSHOT_FILE);
                    self.replace_file(&path, &codec::encode_snapshot(snapshot))?;
                    self.durable.apply(persist);
                    self.rewrite_wal()?;
                }
            }
        }
        self.wal.sync()
    }

    /// What a restart would recover now.
    pub fn durable(&self) -> &Durable {
        &self.durable
    }

    /// The log's durable length in bytes.
    pub fn wal_bytes(&self) -> u64 {
        self.wal.len_bytes()
    }

    /// How many fsyncs (of a file or of this directory) the node has done since it
    /// opened the directory; 0 forever without fsync
    /// ([`RuntimeBug::SkipFsync`](super::RuntimeBug::SkipFsync)).
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    fn write_hard_state(&mut self, term: u64, voted_for: Option<u8>) -> io::Result<()> {
        let hard = HardState {
            term,
            voted_for,
            wal_min_bytes: self.wal.len_bytes(),
        };
        let path = self.dir.join(HARD_STATE_FILE);
        self.replace_file(&path, &codec::encode_hard_state(&hard))?;
        self.hard = hard;
        Ok(())
    }

    /// Replaces the file at `path` atomically, and durably unless fsync is off.
    fn replace_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if self.fsync {
            // The new file, then the directory holding the rename.
            self.fsyncs.fetch_add(2, Ordering::Relaxed);
            return self.storage.write_file_durably(path, bytes);
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        match self.storage {
            Storage::Files => {
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, path)
            }
            Storage::Simulated => {
                turmoil::fs::shim::std::fs::write(&tmp, bytes)?;
                turmoil::fs::shim::std::fs::rename(&tmp, path)
            }
        }
    }

    /// Renames `from` over `to`, durably unless fsync is off.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if self.fsync {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            return self.storage.rename_durably(from, to);
        }
        match self.storage {
            Storage::Files => std::fs::rename(from, to),
            Storage::Simulated => turmoil::fs::shim::std::fs::rename(from, to),
        }
    }

    /// Replaces the log by one holding only what [`DataDir::durable`] keeps after its
    /// snapshot. The hard-state file's minimum length is lowered first: a crash before
    /// the rename leaves the old, longer log, which satisfies the lower minimum too.
    fn rewrite_wal(&mut self) -> io::Result<()> {
        let tmp = self.dir.join(WAL_REWRITE_FILE);
        let path = self.dir.join(WAL_FILE);
        check_regular(self.storage, &tmp)?;
        remove_if_exists(self.storage, &tmp)?;
        let (mut fresh, _) = AnyWal::open(self.storage, &tmp, 0, self.fsync, &self.fsyncs)?;
        let mut from = 1;
        if let Some(s) = &self.durable.snapshot {
            fresh.append(&codec::encode_record(&LogRecord::Base {
                last_index: s.last_index,
                last_term: s.last_term,
            }))?;
            from = s.last_index + 1;
        }
        for chunk in self.durable.entries.chunks(ENTRIES_PER_RECORD) {
            fresh.append(&codec::encode_record(&LogRecord::Entries {
                from,
                entries: chunk.to_vec(),
            }))?;
            from += chunk.len() as u64;
        }
        fresh.sync()?;
        let len = fresh.len_bytes();
        drop(fresh);
        let hard = HardState {
            wal_min_bytes: len.min(self.wal.len_bytes()),
            ..self.hard
        };
        self.replace_file(
            &self.dir.join(HARD_STATE_FILE),
            &codec::encode_hard_state(&hard),
        )?;
        self.hard = hard;
        self.rename(&tmp, &path)?;
        let (wal, _) = AnyWal::open(self.storage, &path, len, self.fsync, &self.fsyncs)?;
        self.wal = wal;
        if self.hard.wal_min_bytes != len {
            self.write_hard_state(self.hard.term, self.hard.voted_for)?;
        }
        Ok(())
    }
}

/// Rebuilds the log from the log's records and the snapshot file. Returns the durable
/// state (term and vote not yet set) and whether the snapshot file was newer than the log.
fn replay(
    wal_path: &Path,
    recovered: &Recovered,
    snapshot: Option<Snapshot>,
) -> io::Result<(Durable, bool)> {
    let mut durable = Durable::default();
    let mut offset = 0u64;
    let mut base: Option<(u64, u64)> = None;
    for (number, payload) in recovered.records.iter().enumerate() {
        let at = || {
            format!(
                "write-ahead log {} record {number} at byte offset {offset}",
                wal_path.display()
            )
        };
        let record = codec::decode_record(payload)
            .map_err(|e| refuse(format!("{}: does not decode: {e}", at())))?;
        match record {
            LogRecord::Base {
                last_index,
                last_term,
            } => {
                if number != 0 {
                    return Err(refuse(format!(
                        "{}: a snapshot base after the first record",
                        at()
                    )));
                }
                base = Some((last_index, last_term));
                durable.snapshot = Some(Snapshot {
                    last_index,
                    last_term,
                    data: Vec::new(),
                });
            }
            LogRecord::Entries { from, entries } => {
                let first = base.map_or(0, |b| b.0) + 1;
                let end = first + durable.entries.len() as u64;
                if from < first || from > end {
                    return Err(refuse(format!(
                        "{}: entries from index {from}, but the log before it covers \
                         indices {first} to {}",
                        at(),
                        end - 1
                    )));
                }
                durable.apply(&Persist::Entries { from, entries });
            }
        }
        offset += (HEADER_BYTES + payload.len()) as u64;
    }
    let base_index = base.map_or(0, |b| b.0);
    let snapshot_path = wal_path.with_file_name(SNAPSHOT_FILE);
    match snapshot {
        None if base.is_some() => Err(refuse(format!(
            "write-ahead log {} continues a snapshot at index {base_index}, but there is no \
             snapshot file {}",
            wal_path.display(),
            snapshot_path.display()
        ))),
        None => Ok((durable, false)),
        Some(s) if s.last_index < base_index => Err(refuse(format!(
            "snapshot file {} ends at index {}, but the write-ahead log {} continues a \
             snapshot at index {base_index}",
            snapshot_path.display(),
            s.last_index,
            wal_path.display()
        ))),
        Some(s) if Some((s.last_index, s.last_term)) == base => {
            durable.snapshot = Some(s);
            Ok((durable, false))
        }
        Some(s) if s.last_index == base_index => Err(refuse(format!(
            "snapshot file {} ends at index {} in term {}, but the write-ahead log {} \
             continues one in term {}",
            snapshot_path.display(),
            s.last_index,
            s.last_term,
            wal_path.display(),
            base.map_or(0, |b| b.1)
        ))),
        Some(s) => {
            // Written, but the log was not rewritten after it: finish that persist.
            let agrees = s.last_index > base_index
                && durable
                    .entries
                    .get((s.last_index - base_index - 1) as usize)
                    .is_some_and(|e| e.term == s.last_term);
            durable.apply(&Persist::Snapshot {
                snapshot: s,
                keep_suffix: agrees,
            });
            Ok((durable, true))
        }
    }
}

/// Refuses a path that exists and is not a regular file (a directory, a symlink, a
/// device): the node would otherwise replace or write through it.
fn check_regular(storage: Storage, path: &Path) -> io::Result<()> {
    let regular = match storage {
        Storage::Files => match std::fs::symlink_metadata(path) {
            Ok(m) => m.file_type().is_file(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        },
        Storage::Simulated => match turmoil::fs::shim::std::fs::metadata(path) {
            Ok(m) => m.is_file(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        },
    };
    if regular {
        Ok(())
    } else {
        Err(refuse(format!(
            "{} exists and is not a regular file; the node will not replace it",
            path.display()
        )))
    }
}

/// The directory `path` is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn remove_if_exists(storage: Storage, path: &Path) -> io::Result<()> {
    let removed = match storage {
        Storage::Files => std::fs::remove_file(path),
        Storage::Simulated => turmoil::fs::shim::std::fs::remove_file(path),
    };
    match removed {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A log file whose fsync can be switched off ([`DataDir::open_without_fsync`]).
struct Syncing<F> {
    file: F,
    fsync: bool,
    /// The directory's fsync count.
    count: Arc<AtomicU64>,
}

impl<F: wal::LogFile> wal::LogFile for Syncing<F> {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        self.file.read_all()
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.file.write_at(offset, bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        if self.fsync {
            self.count.fetch_add(1, Ordering::Relaxed);
            self.file.sync()
        } else {
            Ok(())
        }
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.truncate(len)
    }
}

/// The shared log on either storage.
enum AnyWal {
    File(Wal<Syncing<std::fs::File>>),
    Sim(Wal<Syncing<turmoil::fs::shim::std::fs::File>>),
}

impl AnyWal {
    /// Opens (creating it if needed) and recovers the log at `path`, as
    /// [`wal::open_file_at_least`] does, with fsyncs only if `fsync`.
    fn open(
        storage: Storage,
        path: &Path,
        min_valid_bytes: u64,
        fsync: bool,
        count: &Arc<AtomicU64>,
    ) -> io::Result<(AnyWal, Recovered)> {
        let count = Arc::clone(count);
        if fsync {
            // The directory, below, for the new file's entry.
            count.fetch_add(1, Ordering::Relaxed);
        }
        let parent = parent_of(path);
        match storage {
            Storage::Files => {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path)?;
                if fsync {
                    // The new file's directory entry, as the shared log's opener does.
                    std::fs::File::open(parent)?.sync_all()?;
                }
                let (w, r) = Wal::open_at_least(Syncing { file, fsync, count }, min_valid_bytes)?;
                Ok((AnyWal::File(w), r))
            }
            Storage::Simulated => {
                use turmoil::fs::shim::std::fs as sim_fs;
                let file = sim_fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .open(path)?;
                if fsync {
                    sim_fs::sync_dir(parent)?;
                }
                let (w, r) = Wal::open_at_least(Syncing { file, fsync, count }, min_valid_bytes)?;
                Ok((AnyWal::Sim(w), r))
            }
        }
    }

    fn append(&mut self, record: &[u8]) -> io::Result<()> {
        match self {
            AnyWal::File(w) => w.append(record),
            AnyWal::Sim(w) => w.append(record),
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        match self {
            AnyWal::File(w) => w.sync(),
            AnyWal::Sim(w) => w.sync(),
        }
    }

    fn len_bytes(&self) -> u64 {
        match self {
            AnyWal::File(w) => w.len_bytes(),
            AnyWal::Sim(w) => w.len_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::core::Entry;

    fn entry(term: u64, command: &str) -> Entry {
        Entry {
            term,
            command: command.as_bytes().to_vec(),
        }
    }

    fn entries(term: u64, from: u64, n: u64) -> Vec<Entry> {
        (from..from + n)
            .map(|i| entry(term, &format!("c{i}")))
            .collect()
    }

    fn snapshot(last_index: u64, last_term: u64) -> Snapshot {
        Snapshot {
            last_index,
            last_term,
            data: format!("state at {last_index}").into_bytes(),
        }
    }

    /// A history of persists covering every kind: votes, appends, a truncation, a
    /// compaction keeping the suffix and an installed snapshot replacing the log.
    fn history() -> Vec<Vec<Persist>> {
        vec![
            vec![Persist::HardState {
                term: 1,
                voted_for: Some(0),
            }],
            vec![Persist::Entries {
                from: 1,
                entries: entries(1, 1, 5),
            }],
            vec![
                Persist::HardState {
                    term: 2,
                    voted_for: None,
                },
                Persist::Entries {
                    from: 4,
                    entries: entries(2, 4, 3),
                },
            ],
            vec![Persist::Snapshot {
                snapshot: snapshot(4, 2),
                keep_suffix: true,
            }],
            vec![Persist::Entries {
                from: 7,
                entries: entries(2, 7, 2),
            }],
            vec![
                Persist::HardState {
                    term: 5,
                    voted_for: Some(2),
                },
                Persist::Snapshot {
                    snapshot: snapshot(12, 4),
                    keep_suffix: false,
                },
            ],
            vec![Persist::Entries {
                from: 13,
                entries: entries(5, 13, 1),
            }],
        ]
    }

    #[test]
    fn every_prefix_of_a_history_is_recovered_as_the_core_defines_it() {
        let steps = history();
        for stop in 0..=steps.len() {
            let dir = tempfile::tempdir().unwrap();
            let mut expected = Durable::default();
            {
                let (mut data, durable, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
                assert_eq!(durable, Durable::default());
                for batch in &steps[..stop] {
                    data.persist(batch).unwrap();
                    for p in batch {
                        expected.apply(p);
                    }
                    assert_eq!(data.durable(), &expected);
                }
            }
            let (_data, durable, notes) = DataDir::open(Storage::Files, dir.path()).unwrap();
            assert_eq!(durable, expected, "after {stop} batches");
            assert_eq!(notes, RecoveryNotes::default());
        }
    }

    /// Without fsync the same files are written (a process that exits loses nothing);
    /// only their durability against power loss is gone, which the turmoil tests in
    /// `impls/tests/raft_kv.rs` show.
    #[test]
    fn without_fsync_the_same_files_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Durable::default();
        {
            let (mut data, _, _) = DataDir::open_without_fsync(Storage::Files, dir.path()).unwrap();
            for batch in history() {
                data.persist(&batch).unwrap();
                for p in &batch {
                    expected.apply(p);
                }
            }
        }
        let (_data, durable, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
        assert_eq!(durable, expected);
    }

    #[test]
    fn fsyncs_are_counted_one_per_batch_of_entries_and_none_without_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let (mut data, _, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
        let at_open = data.fsyncs();
        let batch: Vec<Persist> = (1..=5)
            .map(|i| Persist::Entries {
                from: i,
                entries: vec![entry(1, "x")],
            })
            .collect();
        data.persist(&batch).unwrap();
        assert_eq!(data.fsyncs(), at_open + 1, "five appends, one fsync");
        data.persist(&[]).unwrap();
        assert_eq!(data.fsyncs(), at_open + 1, "nothing to make durable");
        data.persist(&[Persist::HardState {
            term: 2,
            voted_for: None,
        }])
        .unwrap();
        assert_eq!(data.fsyncs(), at_open + 3, "the file and its directory");
        drop(data);
        let dir = tempfile::tempdir().unwrap();
        let (mut data, _, _) = DataDir::open_without_fsync(Storage::Files, dir.path()).unwrap();
        data.persist(&batch).unwrap();
        assert_eq!(data.fsyncs(), 0);
    }

    #[test]
    fn a_snapshot_bounds_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (mut data, _, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
        data.persist(&[Persist::HardState {
            term: 1,
            voted_for: Some(0),
        }])
        .unwrap();
        let mut most = 0;
        for i in 0..200u64 {
            data.persist(&[Persist::Entries {
                from: i + 1,
                entries: vec![entry(1, &"x".repeat(100))],
            }])
            .unwrap();
            if (i + 1) % 10 == 0 {
                data.persist(&[Persist::Snapshot {
                    snapshot: snapshot(i - 2, 1),
                    keep_suffix: true,
                }])
                .unwrap();
            }
            most = most.max(data.wal_bytes());
        }
        let len = std::fs::metadata(dir.path().join(WAL_FILE)).unwrap().len();
        assert_eq!(len, data.wal_bytes());
        // Ten entries of ~120 bytes at most between snapshots, not 200.
        assert!(most < 2_000, "the log grew to {most} bytes");
        drop(data);
        let (_, durable, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
        assert_eq!(durable.snapshot.unwrap().last_index, 197);
        assert_eq!(durable.entries.len(), 3);
        assert!(!dir.path().join(WAL_REWRITE_FILE).exists());
    }

    #[test]
    fn a_snapshot_written_before_a_crash_finishes_its_persist_on_recovery() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut data, _, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
            data.persist(&history()[..3].concat()).unwrap();
        }
        // The crash: the snapshot file is written, the log not yet rewritten.
        let s = snapshot(5, 2);
        Storage::Files
            .write_file_durably(&dir.path().join(SNAPSHOT_FILE), &codec::encode_snapshot(&s))
            .unwrap();
        let (data, durable, notes) = DataDir::open(Storage::Files, dir.path()).unwrap();
        assert!(notes.snapshot_applied);
        let mut expected = Durable::default();
        for p in history()[..3].concat() {
            expected.apply(&p);
        }
        expected.apply(&Persist::Snapshot {
            snapshot: s,
            keep_suffix: true,
        });
        assert_eq!(durable, expected);
        assert_eq!(durable.entries.len(), 1, "index 6 is kept");
        drop(data);
        let (_, again, notes) = DataDir::open(Storage::Files, dir.path()).unwrap();
        assert_eq!(again, expected);
        assert!(!notes.snapshot_applied, "the log was rewritten");
    }

    fn written_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let (mut data, _, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
        for batch in &history()[..3] {
            data.persist(batch).unwrap();
        }
        dir
    }

    fn refusal(dir: &Path) -> String {
        let err = DataDir::open(Storage::Files, dir).unwrap_err();
        assert!(is_refusal(&err), "{err}");
        err.to_string()
    }

    #[test]
    fn damaged_files_are_refused_by_name() {
        let dir = written_dir();
        std::fs::write(dir.path().join(HARD_STATE_FILE), b"not a hard state").unwrap();
        let e = refusal(dir.path());
        assert!(e.contains(HARD_STATE_FILE) && e.contains("damaged"), "{e}");

        let dir = written_dir();
        std::fs::remove_file(dir.path().join(HARD_STATE_FILE)).unwrap();
        let e = refusal(dir.path());
        assert!(e.contains(HARD_STATE_FILE) && e.contains("missing"), "{e}");

        let dir = written_dir();
        std::fs::write(dir.path().join(SNAPSHOT_FILE), b"RAFTSN1\nbad").unwrap();
        let e = refusal(dir.path());
        assert!(e.contains(SNAPSHOT_FILE), "{e}");

        // A flipped byte in the first record, with intact records after it.
        let dir = written_dir();
        let wal_path = dir.path().join(WAL_FILE);
        let mut bytes = std::fs::read(&wal_path).unwrap();
        bytes[HEADER_BYTES + 2] ^= 0xff;
        std::fs::write(&wal_path, &bytes).unwrap();
        let e = refusal(dir.path());
        assert!(
            e.contains(WAL_FILE) && e.contains("byte offset 0") && e.contains("record 0"),
            "{e}"
        );
    }

    #[test]
    fn a_log_cut_short_of_what_was_vouched_for_is_refused() {
        let dir = written_dir();
        // A restart vouches for the whole log.
        drop(DataDir::open(Storage::Files, dir.path()).unwrap());
        let wal_path = dir.path().join(WAL_FILE);
        let len = std::fs::metadata(&wal_path).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&wal_path)
            .unwrap();
        f.set_len(len - 3).unwrap();
        let e = refusal(dir.path());
        assert!(
            e.contains(WAL_FILE) && e.contains(&format!("{len} bytes")),
            "{e}"
        );
    }

    #[test]
    fn a_torn_tail_past_what_was_vouched_for_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut data, _, _) = DataDir::open(Storage::Files, dir.path()).unwrap();
            data.persist(&history()[0]).unwrap();
            data.persist(&history()[1]).unwrap();
            data.persist(&[Persist::Entries {
                from: 6,
                entries: entries(1, 6, 1),
            }])
            .unwrap();
        }
        let wal_path = dir.path().join(WAL_FILE);
        let len = std::fs::metadata(&wal_path).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&wal_path)
            .unwrap();
        f.set_len(len - 2).unwrap();
        let (_, durable, notes) = DataDir::open(Storage::Files, dir.path()).unwrap();
        assert!(notes.torn_bytes > 0);
        assert_eq!(durable.entries, entries(1, 1, 5));
    }

    #[test]
    fn a_second_opener_and_a_non_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDir::open(Storage::Files, dir.path()).unwrap();
        let e = refusal(dir.path());
        assert!(e.contains("lock"), "{e}");
        drop(held);

        std::fs::create_dir(dir.path().join(SNAPSHOT_FILE)).unwrap();
        let e = refusal(dir.path());
        assert!(
            e.contains(SNAPSHOT_FILE) && e.contains("not a regular file"),
            "{e}"
        );
        std::fs::remove_dir(dir.path().join(SNAPSHOT_FILE)).unwrap();

        #[cfg(unix)]
        {
            let elsewhere = dir.path().join("elsewhere");
            std::os::unix::fs::symlink(&elsewhere, dir.path().join("raft.hardstate.tmp")).unwrap();
            let e = refusal(dir.path());
            assert!(e.contains("raft.hardstate.tmp"), "{e}");
            assert!(!elsewhere.exists());
        }
    }

    #[test]
    fn a_log_whose_term_is_ahead_of_the_hard_state_is_refused() {
        let dir = written_dir();
        let hs = HardState {
            term: 1,
            voted_for: None,
            wal_min_bytes: 0,
        };
        std::fs::write(
            dir.path().join(HARD_STATE_FILE),
            codec::encode_hard_state(&hs),
        )
        .unwrap();
        let e = refusal(dir.path());
        assert!(e.contains("term 1") && e.contains("term 2"), "{e}");
    }
}

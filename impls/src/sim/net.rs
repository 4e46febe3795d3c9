//! The node's environment: the network, the durable storage and the wall clock, each in
//! a real and a simulated flavour, so that one node implementation runs both as a process
//! on loopback TCP and inside turmoil's deterministic simulation.
//!
//! Time is not abstracted: the node uses `tokio::time` only, which turmoil drives in
//! simulation. Nothing in the node reads `std::time::Instant`.

use super::wal::{self, Recovered, Wal};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite};

/// A stream-socket network. Addresses are `"host:port"` strings.
///
/// Implementations guarantee that a connection's bytes arrive in order and intact or not
/// at all (TCP), and that `connect` and `accept` return the two halves of one connection.
/// They do not guarantee timely failure detection: the node runs its own heartbeats.
pub trait Net: Clone + Send + Sync + 'static {
    /// A bound listening socket.
    type Listener: Send + Sync + 'static;
    /// The receiving half of a connection.
    type Reader: AsyncRead + Unpin + Send + 'static;
    /// The sending half of a connection.
    type Writer: AsyncWrite + Unpin + Send + 'static;

    /// Binds a listener to `addr`.
    fn bind(&self, addr: &str) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Waits for the next incoming connection.
    fn accept(
        &self,
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Reader, Self::Writer)>> + Send;

    /// Opens a connection to `addr`. It may hang on an unreachable host; callers bound it
    /// with a timeout.
    fn connect(
        &self,
        addr: &str,
    ) -> impl Future<Output = io::Result<(Self::Reader, Self::Writer)>> + Send;

    /// Microseconds since the Unix epoch by this environment's wall clock. Only
    /// [`Bug::WallClockLww`](crate::kv::core::Bug::WallClockLww) uses it; it may go
    /// backwards.
    fn wall_clock_us(&self) -> u64;
}

/// The real network: tokio TCP sockets, with Nagle's algorithm off (the node batches
/// frames itself, and a 40 ms delayed ACK would dominate every round trip).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioNet;

impl Net for TokioNet {
    type Listener = tokio::net::TcpListener;
    type Reader = tokio::net::tcp::OwnedReadHalf;
    type Writer = tokio::net::tcp::OwnedWriteHalf;

    async fn bind(&self, addr: &str) -> io::Result<Self::Listener> {
        tokio::net::TcpListener::bind(addr).await
    }

    async fn accept(&self, listener: &Self::Listener) -> io::Result<(Self::Reader, Self::Writer)> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream.into_split())
    }

    async fn connect(&self, addr: &str) -> io::Result<(Self::Reader, Self::Writer)> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream.into_split())
    }

    fn wall_clock_us(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    }
}

/// turmoil's simulated network, for code running inside a turmoil host or client.
///
/// Addresses name simulated hosts: `"n1:7000"` connects to port 7000 of the host
/// registered as `n1`. turmoil only lets a host listen on its unspecified or loopback
/// address, so [`TurmoilNet::bind`] ignores the host part and binds `0.0.0.0` at the
/// address's port: a node can be given its own peer address (`"n1:7000"`) to listen on.
#[derive(Clone, Copy, Debug, Default)]
pub struct TurmoilNet;

impl Net for TurmoilNet {
    type Listener = turmoil::net::TcpListener;
    type Reader = turmoil::net::tcp::OwnedReadHalf;
    type Writer = turmoil::net::tcp::OwnedWriteHalf;

    async fn bind(&self, addr: &str) -> io::Result<Self::Listener> {
        let port = port_of(addr)?;
        turmoil::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port)).await
    }

    async fn accept(&self, listener: &Self::Listener) -> io::Result<(Self::Reader, Self::Writer)> {
        let (stream, _) = listener.accept().await?;
        Ok(stream.into_split())
    }

    async fn connect(&self, addr: &str) -> io::Result<(Self::Reader, Self::Writer)> {
        let stream = turmoil::net::TcpStream::connect(addr).await?;
        Ok(stream.into_split())
    }

    fn wall_clock_us(&self) -> u64 {
        // The simulated epoch advances with simulated time, identically on every run.
        turmoil::since_epoch().map_or(0, |d| d.as_micros() as u64)
    }
}

/// The port of a `"host:port"` address.
fn port_of(addr: &str) -> io::Result<u16> {
    addr.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("address {addr:?} is not of the form host:port"),
            )
        })
}

/// Where a node keeps its write-ahead log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// The real filesystem. Log writes and fsyncs run on tokio's blocking thread pool, so
    /// an fsync never stalls the network; dropping the runtime waits for one in flight.
    Files,
    /// turmoil's simulated filesystem of the current host (the path must be absolute).
    /// Writes not yet synced are lost when the host crashes. Calls run inline: the
    /// simulated filesystem never blocks, and running inline keeps the simulation
    /// deterministic.
    Simulated,
}

/// The log file's name inside a node's data directory.
pub const WAL_FILE_NAME: &str = "kv.wal";

impl Storage {
    /// The path of the log in `data_dir`.
    pub fn wal_path(data_dir: &Path) -> PathBuf {
        data_dir.join(WAL_FILE_NAME)
    }

    /// Creates `data_dir` and its missing ancestors if needed, making each new entry
    /// durable. Fails with [`io::ErrorKind::InvalidInput`] if it exists and is not a
    /// directory.
    pub fn create_dir(self, data_dir: &Path) -> io::Result<()> {
        match self {
            Storage::Files => {
                if data_dir.exists() && !data_dir.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} exists and is not a directory", data_dir.display()),
                    ));
                }
                create_durable_dir(data_dir)
            }
            Storage::Simulated => create_durable_sim_dir(data_dir),
        }
    }

    /// Opens and recovers the log in `data_dir` (which must exist), creating an empty one
    /// if there is none. Fails, changing nothing, if the log is corrupt before its last
    /// valid record or its intact records end before `min_valid_bytes` (see
    /// [`wal::corruption`] and [`Wal::open_at_least`]).
    pub(crate) fn open(
        self,
        data_dir: &Path,
        min_valid_bytes: u64,
    ) -> io::Result<(Log, Recovered)> {
        let path = Storage::wal_path(data_dir);
        match self {
            Storage::Files => {
                let (wal, recovered) = wal::open_file_at_least(&path, min_valid_bytes)?;
                Ok((Log::File(Some(wal)), recovered))
            }
            Storage::Simulated => {
                let (wal, recovered) = wal::open_sim_file_at_least(&path, min_valid_bytes)?;
                Ok((Log::Sim(wal), recovered))
            }
        }
    }

    /// Whether `path` exists.
    pub fn exists(self, path: &Path) -> bool {
        match self {
            Storage::Files => path.exists(),
            Storage::Simulated => turmoil::fs::shim::std::fs::exists(path),
        }
    }

    /// The length of the file at `path`, `None` if there is none.
    pub fn file_len(self, path: &Path) -> io::Result<Option<u64>> {
        let found = match self {
            Storage::Files => std::fs::metadata(path).map(|m| m.len()),
            Storage::Simulated => turmoil::fs::shim::std::fs::metadata(path).map(|m| m.len()),
        };
        match found {
            Ok(len) => Ok(Some(len)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The contents of the file at `path`, `None` if there is none.
    pub fn read_file(self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let read = match self {
            Storage::Files => std::fs::read(path),
            Storage::Simulated => turmoil::fs::shim::std::fs::read(path),
        };
        match read {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the file at `path` with `bytes`, atomically and durably: the bytes go to a
    /// temporary file beside it, which is fsynced and renamed over `path`, and then the
    /// directory is fsynced. A crash leaves either the old file or the new one, never a
    /// mix. The directory must exist.
    pub fn write_file_durably(self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let dir = parent_dir(path);
        match self {
            Storage::Files => {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(bytes)?;
                f.sync_all()?;
                drop(f);
                std::fs::rename(&tmp, path)?;
                std::fs::File::open(dir)?.sync_all()
            }
            Storage::Simulated => {
                use std::io::Write;
                use turmoil::fs::shim::std::fs as sim_fs;
                let mut f = sim_fs::File::create(&tmp)?;
                f.write_all(bytes)?;
                f.sync_all()?;
                drop(f);
                sim_fs::rename(&tmp, path)?;
                sim_fs::sync_dir(dir)
            }
        }
    }

    /// Renames `from` to `to` (replacing `to`) and makes the change durable by fsyncing
    /// the directory. Both must be in the same directory.
    pub fn rename_durably(self, from: &Path, to: &Path) -> io::Result<()> {
        let dir = parent_dir(from);
        match self {
            Storage::Files => {
                std::fs::rename(from, to)?;
                std::fs::File::open(dir)?.sync_all()
            }
            Storage::Simulated => {
                turmoil::fs::shim::std::fs::rename(from, to)?;
                turmoil::fs::shim::std::fs::sync_dir(dir)
            }
        }
    }

    /// Takes the exclusive lock on `data_dir` (which must exist), so that no other process
    /// or node in this process uses the directory while the returned guard lives.
    ///
    /// On the real filesystem this is an advisory `flock` on the file [`LOCK_FILE_NAME`]
    /// in the directory, which also holds the holder's process id (for the error another
    /// process gets). The kernel drops the lock when the holder exits, however it exits,
    /// so a crash never leaves a stale lock behind. Fails with
    /// [`io::ErrorKind::WouldBlock`] if the lock is held, naming the holder's pid when it
    /// can read it. Under simulation every host has its own filesystem, and there is
    /// nothing to lock.
    pub fn lock_dir(self, data_dir: &Path) -> io::Result<DirLock> {
        match self {
            Storage::Files => lock_file(&data_dir.join(LOCK_FILE_NAME)),
            Storage::Simulated => Ok(DirLock { _file: None }),
        }
    }
}

/// The lock file's name inside a node's data directory.
pub const LOCK_FILE_NAME: &str = "kv.lock";

/// The exclusive lock on a data directory ([`Storage::lock_dir`]); released when dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: Option<std::fs::File>,
}

#[cfg(unix)]
fn lock_file(path: &Path) -> io::Result<DirLock> {
    use std::io::{Read, Write};
    use std::os::unix::io::AsRawFd;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err);
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = match holder.trim().strip_prefix("pid ") {
            Some(pid) if pid.parse::<u32>().is_ok() => format!("process {pid}"),
            _ => "another process".to_string(),
        };
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "the lock {} is held by {holder}: another node is running on this directory",
                path.display()
            ),
        ));
    }
    // Who holds it, for the next process's error message; not worth an fsync (the lock
    // itself is not on disk, and a stale pid is only a less helpful message).
    file.set_len(0)?;
    file.write_all(format!("pid {}\n", std::process::id()).as_bytes())?;
    Ok(DirLock { _file: Some(file) })
}

#[cfg(not(unix))]
fn lock_file(_path: &Path) -> io::Result<DirLock> {
    // The harness runs on unix; a port would need the platform's own locking call.
    Ok(DirLock { _file: None })
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing ancestors, fsyncing each new entry's parent so that a
/// crash cannot lose the directory the log lives in.
fn create_durable_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_durable_dir(parent)?;
    }
    std::fs::create_dir(dir).or_else(|e| {
        // Another process (or a concurrent start) may have created it meanwhile.
        if dir.is_dir() {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    let parent = match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

fn create_durable_sim_dir(dir: &Path) -> io::Result<()> {
    use turmoil::fs::shim::std::fs as sim_fs;
    if sim_fs::exists(dir) {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| p.parent().is_some()) {
        create_durable_sim_dir(parent)?;
    }
    sim_fs::create_dir(dir)?;
    if let Some(parent) = dir.parent() {
        sim_fs::sync_dir(parent)?;
    }
    Ok(())
}

/// An open log on one of the two storages.
pub(crate) enum Log {
    /// `None` only while a batch is being written on the blocking pool.
    File(Option<Wal<std::fs::File>>),
    Sim(Wal<turmoil::fs::shim::std::fs::File>),
}

impl Log {
    /// Length of the durable log in bytes ([`Wal::len_bytes`]); 0 while a batch is being
    /// written on the blocking pool.
    pub(crate) fn len_bytes(&self) -> u64 {
        match self {
            Log::File(wal) => wal.as_ref().map_or(0, Wal::len_bytes),
            Log::Sim(wal) => wal.len_bytes(),
        }
    }

    /// Appends every record of `records` (`ends[i]` is where record `i` ends) and makes
    /// them durable with one sync. Returns once they are durable, or with the error that
    /// poisoned the log.
    pub(crate) async fn commit(
        &mut self,
        records: Vec<u8>,
        ends: Vec<usize>,
    ) -> io::Result<CommitBuffers> {
        match self {
            Log::File(slot) => {
                let mut wal = slot.take().ok_or_else(|| {
                    io::Error::other("write-ahead log lost by an earlier failed commit")
                })?;
                let (wal, result) = tokio::task::spawn_blocking(move || {
                    let result = append_all(&mut wal, &records, &ends).and_then(|()| wal.sync());
                    (wal, result.map(|()| CommitBuffers { records, ends }))
                })
                .await
                .map_err(|e| io::Error::other(format!("log writer thread failed: {e}")))?;
                *slot = Some(wal);
                result
            }
            Log::Sim(wal) => {
                append_all(wal, &records, &ends)?;
                wal.sync()?;
                Ok(CommitBuffers { records, ends })
            }
        }
    }
}

/// The buffers of a committed batch, handed back for reuse.
pub(crate) struct CommitBuffers {
    pub(crate) records: Vec<u8>,
    pub(crate) ends: Vec<usize>,
}

fn append_all<F: wal::LogFile>(wal: &mut Wal<F>, records: &[u8], ends: &[usize]) -> io::Result<()> {
    let mut start = 0;
    for &end in ends {
        wal.append(&records[start..end])?;
        start = end;
    }
    Ok(())
}

/// How long a simulated or real connect may take before it counts as failed.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_parsed_from_host_port_addresses() {
        assert_eq!(port_of("n1:7000").unwrap(), 7000);
        assert_eq!(port_of("127.0.0.1:1").unwrap(), 1);
        assert!(port_of("n1").is_err());
        assert!(port_of("n1:x").is_err());
    }

    #[tokio::test]
    async fn a_batch_committed_to_files_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/b");
        Storage::Files.create_dir(&data).unwrap();
        let (mut log, recovered) = Storage::Files.open(&data, 0).unwrap();
        assert!(recovered.records.is_empty());
        log.commit(b"onetwo".to_vec(), vec![3, 6]).await.unwrap();
        drop(log);
        let (_, recovered) = Storage::Files.open(&data, 3).unwrap();
        assert_eq!(recovered.records, [b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn a_locked_directory_is_refused_until_the_lock_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let held = Storage::Files.lock_dir(dir.path()).unwrap();
        let err = Storage::Files.lock_dir(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let text = err.to_string();
        assert!(text.contains(LOCK_FILE_NAME), "{text}");
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        drop(held);
        Storage::Files.lock_dir(dir.path()).unwrap();
    }

    #[test]
    fn a_file_is_replaced_durably_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(Storage::Files.read_file(&path).unwrap(), None);
        Storage::Files.write_file_durably(&path, b"one").unwrap();
        Storage::Files.write_file_durably(&path, b"two").unwrap();
        assert_eq!(Storage::Files.read_file(&path).unwrap().unwrap(), b"two");
        assert!(
            Storage::Files.create_dir(&path).is_err(),
            "a file is not a directory"
        );
    }
}

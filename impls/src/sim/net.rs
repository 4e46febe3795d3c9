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

    /// Creates `data_dir` if needed (making its entry durable), then opens and recovers the
    /// log in it.
    pub(crate) fn open(self, data_dir: &Path) -> io::Result<(Log, Recovered)> {
        let path = Storage::wal_path(data_dir);
        match self {
            Storage::Files => {
                create_durable_dir(data_dir)?;
                let (wal, recovered) = wal::open_file(&path)?;
                Ok((Log::File(Some(wal)), recovered))
            }
            Storage::Simulated => {
                create_durable_sim_dir(data_dir)?;
                let (wal, recovered) = wal::open_sim_file(&path)?;
                Ok((Log::Sim(wal), recovered))
            }
        }
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
        let (mut log, recovered) = Storage::Files.open(&data).unwrap();
        assert!(recovered.records.is_empty());
        log.commit(b"onetwo".to_vec(), vec![3, 6]).await.unwrap();
        drop(log);
        let (_, recovered) = Storage::Files.open(&data).unwrap();
        assert_eq!(recovered.records, [b"one".to_vec(), b"two".to_vec()]);
    }
}

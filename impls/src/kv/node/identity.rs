//! A data directory's identity, its lock, and what a node does with a directory at start:
//! the decisions that keep a node from forgetting its data and rejoining silently.
//!
//! # The directory
//!
//! - `kv.identity`: which node and cluster the directory belongs to, the node's current
//!   incarnation, whether its store is complete (`ready`) or still being repaired from
//!   its peers (`repairing`), and how many bytes of valid records its log held when the
//!   node last started (`log_bytes`: a log whose intact records end before that was
//!   overwritten or cut short, which the log alone would take for a torn tail). A small
//!   text file with a checksum, replaced atomically and durably (temporary file, fsync,
//!   rename, directory fsync).
//! - `kv.wal`: the write-ahead log ([`crate::sim::wal`]).
//! - `kv.lock`: the exclusive lock ([`Storage::lock_dir`]), held while a node runs.
//!
//! # Start-up decisions
//!
//! The identity file is written after the log is created and before the node serves, so
//! a node that has ever acknowledged anything has both files. What the node finds:
//!
//! | identity | log | without `--rejoin-empty` | with `--rejoin-empty` |
//! |---|---|---|---|
//! | none | none, or empty | new node: ready, incarnation 1 | rejoin (below) |
//! | none | not empty | refuse: the data's owner is unknown | rejoin |
//! | unreadable | any | refuse, naming the file | rejoin |
//! | other node or cluster | any | refuse, naming both ids | refuse |
//! | ready | none | refuse: the log is gone | rejoin |
//! | ready | corrupt before its end, or shorter than `log_bytes` | refuse, naming the offset | rejoin |
//! | ready | intact or torn tail | restart: replay, ready | rejoin |
//! | repairing | intact or torn tail | restart, still repairing | rejoin |
//! | repairing | none | refuse: the log is gone | rejoin |
//!
//! **Rejoin** moves the log aside (to `kv.wal.discarded`), starts an empty log, and
//! writes the identity as `repairing` with a new incarnation. A repairing node counts
//! towards no read quorum until its peers have repaired it (see `repair`).
//!
//! A refusal is a [`Refusal`]: the process exits with status 2, and the message names the
//! directory, the file and the way out.
//!
//! # Incarnations
//!
//! Every start writes an incarnation above every earlier one before the node serves:
//! above the identity's, and above the number of boot records in the log (a floor that
//! holds even if an older identity file were restored). A rejoining node whose identity
//! was lost cannot know its last incarnation; it coordinates no puts until its repair has
//! learned from every peer the highest incarnation of its own that they hold, and then
//! takes one above that.
//!
//! # Limit
//!
//! A directory that was removed whole looks exactly like a new node's. Nothing on the
//! node can tell them apart, so an operator who replaces a node's disk must start it
//! with `--rejoin-empty`.

use super::{NodeConfig, Refusal};
use crate::kv::NodeId;
use crate::sim::net::{DirLock, Storage, LOCK_FILE_NAME};
use crate::sim::wal;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The identity file's name inside a node's data directory.
pub const IDENTITY_FILE_NAME: &str = "kv.identity";

/// Where a rejoining node moves the log it gives up.
pub const DISCARDED_WAL_FILE_NAME: &str = "kv.wal.discarded";

/// The first line of every identity file.
const HEADER: &str = "kv-node data directory identity, format 1 (written by kv-node; do not edit)";

/// Whether a directory's store may answer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirState {
    /// The store holds everything the node acknowledged.
    Ready,
    /// The node lost its log and rejoined; it answers no reads until repaired.
    Repairing,
}

/// The contents of `kv.identity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) node: NodeId,
    pub(crate) cluster: String,
    pub(crate) incarnation: u32,
    pub(crate) state: DirState,
    pub(crate) log_bytes: u64,
}

impl Identity {
    pub(crate) fn encode(&self) -> String {
        let state = match self.state {
            DirState::Ready => "ready",
            DirState::Repairing => "repairing",
        };
        let body = format!(
            "{HEADER}\nnode {}\ncluster {}\nincarnation {}\nstate {state}\nlog_bytes {}\n",
            self.node, self.cluster, self.incarnation, self.log_bytes
        );
        let crc = crc32fast::hash(body.as_bytes());
        format!("{body}crc32 {crc:08x}\n")
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Identity, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "it is not text".to_string())?;
        let (body, last) = match text.trim_end_matches('\n').rsplit_once('\n') {
            Some((body, last)) => (format!("{body}\n"), last),
            None => return Err("it is truncated".into()),
        };
        let stored = last
            .strip_prefix("crc32 ")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or("its last line is not its checksum")?;
        if crc32fast::hash(body.as_bytes()) != stored {
            return Err("its checksum does not match".into());
        }
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err("its first line is not the identity header".into());
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| format!("its `{name}` line is missing"))
        };
        let node = field("node")?
            .parse()
            .map_err(|_| "its node id is not a number".to_string())?;
        let cluster = field("cluster")?;
        let incarnation = field("incarnation")?
            .parse()
            .map_err(|_| "its incarnation is not a number".to_string())?;
        let state = match field("state")?.as_str() {
            "ready" => DirState::Ready,
            "repairing" => DirState::Repairing,
            other => return Err(format!("its state {other:?} is not ready or repairing")),
        };
        let log_bytes = field("log_bytes")?
            .parse()
            .map_err(|_| "its log length is not a number".to_string())?;
        Ok(Identity {
            node,
            cluster,
            incarnation,
            state,
            log_bytes,
        })
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} of cluster {}, incarnation {}",
            self.node, self.cluster, self.incarnation
        )
    }
}

/// How the node starts on its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// A new node on an empty directory.
    Fresh,
    /// A restart on the directory's own log; `state` says whether a repair is unfinished,
    /// and the log must hold at least `log_bytes` of valid records.
    Restart {
        previous: u32,
        state: DirState,
        log_bytes: u64,
    },
    /// A new, empty replica replacing a lost store (`--rejoin-empty`). `previous` is the
    /// last incarnation known, 0 if none is.
    Rejoin { previous: u32 },
}

/// The directory, locked, and how to start on it.
pub(crate) struct Prepared {
    pub(crate) lock: DirLock,
    pub(crate) start: Start,
}

/// The identity file's path in `data_dir`.
pub fn identity_path(data_dir: &Path) -> PathBuf {
    data_dir.join(IDENTITY_FILE_NAME)
}

/// Creates and locks the data directory, reads its identity, and decides how to start
/// (the module's table). A rejoin moves the old log aside here. Nothing else is changed
/// before the caller writes the new identity.
pub(crate) fn prepare(config: &NodeConfig, storage: Storage) -> io::Result<Prepared> {
    let dir = &config.data_dir;
    let shown = dir.display();
    storage.create_dir(dir).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => refusal(format!("--data {shown}: {e}")),
        _ => io::Error::new(
            e.kind(),
            format!("cannot create data directory {shown}: {e}"),
        ),
    })?;
    let lock = storage.lock_dir(dir).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => refusal(format!(
            "data directory {shown} is in use: {e}. Stop that node first; two nodes must \
             never share a directory"
        )),
        _ => io::Error::new(
            e.kind(),
            format!("cannot lock {}: {e}", dir.join(LOCK_FILE_NAME).display()),
        ),
    })?;
    let id_path = identity_path(dir);
    let wal_path = Storage::wal_path(dir);
    let expected_cluster = config.cluster_id();
    let identity = match storage.read_file(&id_path)? {
        None => None,
        Some(bytes) => match Identity::decode(&bytes) {
            Ok(identity) => Some(identity),
            Err(why) if config.rejoin_empty => {
                eprintln_unless(
                    config.quiet,
                    config.id,
                    format_args!("ignoring {}: {why} (--rejoin-empty)", id_path.display()),
                );
                None
            }
            Err(why) => {
                return Err(refusal(format!(
                    "data directory {shown}: the identity file {} is unreadable: {why}. {}",
                    id_path.display(),
                    rejoin_hint(config)
                )))
            }
        },
    };
    if let Some(i) = &identity {
        if i.node != config.id || i.cluster != expected_cluster {
            let mut text = format!(
                "data directory {shown} belongs to node {} of cluster {} (its identity file {}), \
                 but this is node {} of cluster {}",
                i.node,
                i.cluster,
                id_path.display(),
                config.id,
                expected_cluster
            );
            if i.node == config.id && config.cluster.is_none() {
                text.push_str(&format!(
                    ". The cluster id is derived from the --peer list when --cluster is not \
                     given; if only the list changed, pass --cluster {}",
                    i.cluster
                ));
            }
            return Err(refusal(text));
        }
    }
    let wal_len = storage.file_len(&wal_path)?;
    let start = match (&identity, wal_len) {
        _ if config.rejoin_empty => {
            if wal_len.is_some() {
                let aside = dir.join(DISCARDED_WAL_FILE_NAME);
                storage.rename_durably(&wal_path, &aside).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot move {} aside: {e}", wal_path.display()),
                    )
                })?;
            }
            Start::Rejoin {
                previous: identity.as_ref().map_or(0, |i| i.incarnation),
            }
        }
        // A first start that crashed before its identity was written leaves an empty log.
        (None, None | Some(0)) => Start::Fresh,
        (None, Some(len)) => {
            return Err(refusal(format!(
                "data directory {shown} has a write-ahead log ({}, {len} bytes) but no identity \
                 file ({}), so nothing says whose data it is or which incarnations it used. {}",
                wal_path.display(),
                id_path.display(),
                rejoin_hint(config)
            )))
        }
        (Some(i), None) => {
            return Err(refusal(format!(
                "data directory {shown}: the identity file {} says this is {i}, but its \
                 write-ahead log {} is missing, so the writes it acknowledged are lost. \
                 Serving now would answer reads as if they had never happened. {}",
                id_path.display(),
                wal_path.display(),
                rejoin_hint(config)
            )))
        }
        (Some(i), Some(_)) => Start::Restart {
            previous: i.incarnation,
            state: i.state,
            log_bytes: i.log_bytes,
        },
    };
    Ok(Prepared { lock, start })
}

/// Wraps a corrupt log's error in a refusal that names the file and the way out.
pub(crate) fn corrupt_log(config: &NodeConfig, e: io::Error) -> io::Error {
    match wal::corruption(&e) {
        Some(c) => refusal(format!(
            "{}: {c}. The node refuses to start rather than drop acknowledged writes. {}",
            Storage::wal_path(&config.data_dir).display(),
            rejoin_hint(config)
        )),
        None => io::Error::new(
            e.kind(),
            format!(
                "cannot open {}: {e}",
                Storage::wal_path(&config.data_dir).display()
            ),
        ),
    }
}

/// Writes `identity` to `data_dir`, durably, before the node acts on it.
pub(crate) fn write(storage: Storage, data_dir: &Path, identity: &Identity) -> io::Result<()> {
    let path = identity_path(data_dir);
    storage
        .write_file_durably(&path, identity.encode().as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
}

fn rejoin_hint(config: &NodeConfig) -> String {
    format!(
        "To rejoin as a new, empty replica that its peers repair before it counts towards \
         any read quorum, start it again with --rejoin-empty (the old log, if any, is kept \
         as {})",
        config.data_dir.join(DISCARDED_WAL_FILE_NAME).display()
    )
}

fn refusal(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, Refusal(text))
}

fn eprintln_unless(quiet: bool, id: NodeId, message: fmt::Arguments<'_>) {
    if !quiet {
        eprintln!("kv-node n{id}: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            node: 3,
            cluster: "peers-0123456789abcdef".into(),
            incarnation: 7,
            state: DirState::Repairing,
            log_bytes: 1234,
        }
    }

    fn config(dir: &Path, id: NodeId) -> NodeConfig {
        let peers = [
            (1, "127.0.0.1:1".to_string()),
            (2, "127.0.0.1:2".to_string()),
        ];
        let mut c = NodeConfig::new(id, "127.0.0.1:1", peers.into(), dir);
        c.quiet = true;
        c
    }

    /// What `prepare` decides for the directory as it is, or the refusal's text.
    fn decide(c: &NodeConfig) -> Result<Start, String> {
        match prepare(c, Storage::Files) {
            Ok(p) => Ok(p.start),
            Err(e) => {
                assert!(super::super::is_refusal(&e), "not a refusal: {e}");
                Err(e.to_string())
            }
        }
    }

    fn write_identity(c: &NodeConfig, node: NodeId, incarnation: u32) {
        let i = Identity {
            node,
            cluster: c.cluster_id(),
            incarnation,
            state: DirState::Ready,
            log_bytes: 0,
        };
        write(Storage::Files, &c.data_dir, &i).unwrap();
    }

    #[test]
    fn each_state_of_a_directory_gets_its_decision() {
        let tmp = tempfile::tempdir().unwrap();
        let c = config(&tmp.path().join("d"), 1);
        let wal = Storage::wal_path(&c.data_dir);
        let mut rejoin = c.clone();
        rejoin.rejoin_empty = true;

        // Nothing, or an empty log left by a first start that crashed: a new node.
        assert_eq!(decide(&c), Ok(Start::Fresh));
        std::fs::write(&wal, b"").unwrap();
        assert_eq!(decide(&c), Ok(Start::Fresh));

        // A log with data but no identity: whose is it?
        std::fs::write(&wal, b"records").unwrap();
        let e = decide(&c).unwrap_err();
        assert!(
            e.contains("no identity file") && e.contains("--rejoin-empty"),
            "{e}"
        );

        // Identity and log: a restart.
        write_identity(&c, 1, 4);
        assert_eq!(
            decide(&c),
            Ok(Start::Restart {
                previous: 4,
                state: DirState::Ready,
                log_bytes: 0
            })
        );

        // Another node's directory, with or without --rejoin-empty.
        let other = config(&c.data_dir, 2);
        let e = decide(&other).unwrap_err();
        assert!(
            e.contains("belongs to node 1") && e.contains("this is node 2"),
            "{e}"
        );
        let mut other_rejoin = other.clone();
        other_rejoin.rejoin_empty = true;
        assert!(decide(&other_rejoin).is_err());

        // Another cluster.
        let mut elsewhere = c.clone();
        elsewhere.cluster = Some("elsewhere".into());
        let e = decide(&elsewhere).unwrap_err();
        assert!(e.contains("cluster elsewhere"), "{e}");

        // The log gone: refused; rejoining moves nothing (there is nothing) and goes on
        // from the identity's incarnation.
        std::fs::remove_file(&wal).unwrap();
        let e = decide(&c).unwrap_err();
        assert!(e.contains("missing") && e.contains("kv.wal"), "{e}");
        assert_eq!(decide(&rejoin), Ok(Start::Rejoin { previous: 4 }));

        // A log present when rejoining is moved aside, not deleted.
        std::fs::write(&wal, b"old records").unwrap();
        assert_eq!(decide(&rejoin), Ok(Start::Rejoin { previous: 4 }));
        assert!(!wal.exists());
        let aside = c.data_dir.join(DISCARDED_WAL_FILE_NAME);
        assert_eq!(std::fs::read(aside).unwrap(), b"old records");

        // An unreadable identity: refused, or ignored when rejoining.
        std::fs::write(identity_path(&c.data_dir), b"garbage").unwrap();
        let e = decide(&c).unwrap_err();
        assert!(e.contains("unreadable") && e.contains("kv.identity"), "{e}");
        assert_eq!(decide(&rejoin), Ok(Start::Rejoin { previous: 0 }));

        // A file where the directory should be.
        let not_dir = config(&tmp.path().join("d").join("kv.wal.discarded"), 1);
        assert!(decide(&not_dir).unwrap_err().contains("not a directory"));
    }

    #[test]
    fn the_derived_cluster_id_follows_the_member_list() {
        let tmp = tempfile::tempdir().unwrap();
        let a = config(tmp.path(), 1);
        let b = config(tmp.path(), 2);
        assert_eq!(
            a.cluster_id(),
            b.cluster_id(),
            "every member derives the same id"
        );
        assert!(a.cluster_id().starts_with("peers-") && a.cluster_id().len() == 22);
        let mut moved = a.clone();
        moved.peers.insert(2, "127.0.0.1:3".into());
        assert_ne!(a.cluster_id(), moved.cluster_id());
        moved.cluster = Some("named".into());
        assert_eq!(moved.cluster_id(), "named");
    }

    #[test]
    fn an_identity_round_trips_and_any_changed_byte_is_caught() {
        let text = identity().encode();
        assert_eq!(Identity::decode(text.as_bytes()), Ok(identity()));
        let bytes = text.as_bytes();
        for at in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[at] ^= 0x04;
            assert!(
                Identity::decode(&changed).is_err(),
                "a change at byte {at} went unnoticed"
            );
        }
        assert!(Identity::decode(&bytes[..bytes.len() / 2]).is_err());
        assert!(Identity::decode(b"").is_err());
    }
}

//! 6.5840 part 3D: log compaction. Every server compacts every
//! [`SNAPSHOT_INTERVAL`] applied entries, as 6.5840's `applierSnap` does.

use super::cluster_with;
use super::persistence::crash_and_restart_all;
use crate::raft::core::{Bug, Index};
use crate::raft::sim::{Cluster, SimResult};

/// Every server compacts after this many applied entries (6.5840's `SnapShotInterval`).
pub(super) const SNAPSHOT_INTERVAL: Index = 10;

/// The most entries a server may keep in storage after its snapshot. 6.5840 allows 2000
/// bytes of Raft state, some fifty of its gob-encoded entries; without compaction a
/// server keeps hundreds.
pub(super) const LOG_ENTRIES_MAX: usize = 50;

/// Snapshots while everyone is connected: no InstallSnapshot is needed.
pub(super) fn snapshot_basic(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    snapshot_common(seed, bug, false, true, false)
}

/// A follower cut off while the others compact past its log catches up by snapshot.
pub(super) fn snapshot_install(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    snapshot_common(seed, bug, true, true, false)
}

/// The same on an unreliable network.
pub(super) fn snapshot_install_unreliable(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    snapshot_common(seed, bug, true, false, false)
}

/// A follower crashed while the others compact past its log restarts and catches up.
pub(super) fn snapshot_install_crash(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    snapshot_common(seed, bug, false, true, true)
}

/// Thirty rounds: a victim (the leader's successor, or every third round the leader) is
/// cut off or crashed, and a command commits without it; some 5 to 14 commands go to a
/// server that is up, then one more commits; storage must stay small; the victim comes
/// back and a command commits everywhere.
fn snapshot_common(
    seed: u64,
    bug: Option<Bug>,
    disconnect: bool,
    reliable: bool,
    crash: bool,
) -> SimResult<()> {
    let n = 3;
    let mut c = snapshot_cluster(seed, bug, reliable);
    let x = c.random_command();
    c.one(&x, 3, true)?;
    let mut leader1 = c.check_one_leader()?;
    for round in 0..30 {
        let (mut victim, mut sender) = ((leader1 + 1) % n, leader1);
        if round % 3 == 1 {
            (victim, sender) = (leader1, (leader1 + 1) % n);
        }
        if disconnect {
            c.disconnect(victim);
            let x = c.random_command();
            c.one(&x, 2, true)?;
        }
        if crash {
            c.crash(victim);
            let x = c.random_command();
            c.one(&x, 2, true)?;
        }
        let burst = SNAPSHOT_INTERVAL / 2 + c.rng().below(SNAPSHOT_INTERVAL);
        for _ in 0..burst {
            let x = c.random_command();
            c.start(sender, &x)?;
        }
        let x = c.random_command();
        if !disconnect && !crash {
            // Everyone is caught up, so basic needs no InstallSnapshot.
            c.one(&x, 3, true)?;
        } else {
            c.one(&x, 2, true)?;
        }
        check_log_size(&mut c)?;
        if disconnect {
            c.connect(victim);
            let x = c.random_command();
            c.one(&x, 3, true)?;
            leader1 = c.check_one_leader()?;
        }
        if crash {
            c.restart(victim)?;
            let x = c.random_command();
            c.one(&x, 3, true)?;
            leader1 = c.check_one_leader()?;
        }
    }
    Ok(())
}

/// Five times, on an unreliable network: 5 to 14 commands, perhaps enough for a
/// snapshot; everyone crashes and restarts from snapshot and log tail; the next command
/// gets a later index.
pub(super) fn snapshot_all_crash(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let mut c = snapshot_cluster(seed, bug, false);
    let x = c.random_command();
    c.one(&x, 3, true)?;
    for _ in 0..5 {
        let burst = SNAPSHOT_INTERVAL / 2 + c.rng().below(SNAPSHOT_INTERVAL);
        for _ in 0..burst {
            let x = c.random_command();
            c.one(&x, 3, true)?;
        }
        let x = c.random_command();
        let index1 = c.one(&x, 3, true)?;
        crash_and_restart_all(&mut c)?;
        let x = c.random_command();
        let index2 = c.one(&x, 3, true)?;
        if index2 < index1 + 1 {
            return Err(c.fail(format!("index decreased from {index1} to {index2}")));
        }
    }
    Ok(())
}

/// Enough commands for a snapshot, everyone crashes, one command (to write state back),
/// everyone crashes again, one more command: a server that restarts must keep its
/// snapshot in what it persists next.
pub(super) fn snapshot_init(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let mut c = snapshot_cluster(seed, bug, false);
    let x = c.random_command();
    c.one(&x, 3, true)?;
    for _ in 0..SNAPSHOT_INTERVAL + 1 {
        let x = c.random_command();
        c.one(&x, 3, true)?;
    }
    crash_and_restart_all(&mut c)?;
    let x = c.random_command();
    c.one(&x, 3, true)?;
    crash_and_restart_all(&mut c)?;
    let x = c.random_command();
    c.one(&x, 3, true)?;
    Ok(())
}

fn snapshot_cluster(seed: u64, bug: Option<Bug>, reliable: bool) -> Cluster {
    cluster_with(3, seed, bug, reliable, SNAPSHOT_INTERVAL)
}

fn check_log_size(c: &mut Cluster) -> SimResult<()> {
    let largest = (0..c.servers()).map(|i| c.log_size(i)).max().unwrap_or(0);
    if largest > LOG_ENTRIES_MAX {
        return Err(c.fail(format!(
            "log size too large: {largest} entries after the snapshot (limit {LOG_ENTRIES_MAX})"
        )));
    }
    Ok(())
}

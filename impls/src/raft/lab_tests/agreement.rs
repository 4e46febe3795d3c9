//! 6.5840 part 3B: log replication.
//!
//! 6.5840's leaders append no entry of their own, so its tests expect the k-th command at
//! index k. Ours append a no-op when elected; [`Cluster::commands_through`] counts the
//! client commands up to an index, and the index checks compare that count.

use super::{cluster, ELECTION_TIMEOUT_MS};
use crate::raft::core::{Bug, Index};
use crate::raft::sim::{Cluster, SimResult};
use std::collections::BTreeMap;

/// Three commands commit on every server, as the first, second and third command, and
/// none before it is started.
pub(super) fn basic_agree(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    for k in 1..=3u64 {
        let committed = c.committed_commands();
        if committed >= k {
            return Err(c.fail(format!("command {k} committed before Start()")));
        }
        let index = c.one(&Cluster::command(k * 100), n as usize, false)?;
        let leader = c.check_one_leader()?;
        let got = c.commands_through(leader, index);
        if got != k {
            return Err(c.fail(format!("got command number {got} but expected {k}")));
        }
    }
    Ok(())
}

/// Followers fail one by one: two servers still agree; a leader alone commits nothing.
pub(super) fn follower_failure(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(101), 3, false)?;
    let leader1 = c.check_one_leader()?;
    c.disconnect((leader1 + 1) % n);
    c.one(&Cluster::command(102), 2, false)?;
    c.sleep_ms(ELECTION_TIMEOUT_MS)?;
    c.one(&Cluster::command(103), 2, false)?;
    let leader2 = c.check_one_leader()?;
    c.disconnect((leader2 + 1) % n);
    c.disconnect((leader2 + 2) % n);
    let Some((index, _)) = c.start(leader2, &Cluster::command(104))? else {
        return Err(c.fail("leader rejected Start()"));
    };
    let number = c.commands_through(leader2, index);
    if number != 4 {
        return Err(c.fail(format!("expected command number 4, got {number}")));
    }
    c.sleep_ms(2 * ELECTION_TIMEOUT_MS)?;
    c.check_no_agreement(index)
}

/// Leaders fail one by one: the others elect a new one and agree; with two of three cut
/// off, a command started everywhere commits nowhere.
pub(super) fn leader_failure(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(101), 3, false)?;
    let leader1 = c.check_one_leader()?;
    c.disconnect(leader1);
    c.one(&Cluster::command(102), 2, false)?;
    c.sleep_ms(ELECTION_TIMEOUT_MS)?;
    c.one(&Cluster::command(103), 2, false)?;
    let leader2 = c.check_one_leader()?;
    c.disconnect(leader2);
    for i in 0..n {
        c.start(i, &Cluster::command(104))?;
    }
    c.sleep_ms(2 * ELECTION_TIMEOUT_MS)?;
    // 6.5840 looks at index 4, where 104 would go after three commands; with no-ops the
    // index moves, so look for 104 at every index.
    c.check_not_committed(&Cluster::command(104))
}

/// A follower cut off while four commands commit catches up when it reconnects.
pub(super) fn fail_agree(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(101), 3, false)?;
    let leader = c.check_one_leader()?;
    c.disconnect((leader + 1) % n);
    c.one(&Cluster::command(102), 2, false)?;
    c.one(&Cluster::command(103), 2, false)?;
    c.sleep_ms(ELECTION_TIMEOUT_MS)?;
    c.one(&Cluster::command(104), 2, false)?;
    c.one(&Cluster::command(105), 2, false)?;
    c.connect((leader + 1) % n);
    c.one(&Cluster::command(106), 3, true)?;
    c.sleep_ms(ELECTION_TIMEOUT_MS)?;
    c.one(&Cluster::command(107), 3, true)?;
    Ok(())
}

/// With three of five followers cut off nothing commits; after they return, the next
/// command is the second or third, and all agree again.
pub(super) fn fail_no_agree(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(10), 5, false)?;
    let leader = c.check_one_leader()?;
    for k in 1..=3 {
        c.disconnect((leader + k) % n);
    }
    let Some((index, _)) = c.start(leader, &Cluster::command(20))? else {
        return Err(c.fail("leader rejected Start()"));
    };
    let number = c.commands_through(leader, index);
    if number != 2 {
        return Err(c.fail(format!("expected command number 2, got {number}")));
    }
    c.sleep_ms(2 * ELECTION_TIMEOUT_MS)?;
    let (got, _) = c.n_committed(index)?;
    if got > 0 {
        return Err(c.fail(format!("{got} committed but no majority")));
    }
    for k in 1..=3 {
        c.connect((leader + k) % n);
    }
    // The majority that was cut off may have elected one of its own, forgetting 20.
    let leader2 = c.check_one_leader()?;
    let Some((index2, _)) = c.start(leader2, &Cluster::command(30))? else {
        return Err(c.fail("leader2 rejected Start()"));
    };
    let number2 = c.commands_through(leader2, index2);
    if !(2..=3).contains(&number2) {
        return Err(c.fail(format!("unexpected command number {number2}")));
    }
    c.one(&Cluster::command(1000), 5, true)?;
    Ok(())
}

/// Five commands started at the same instant on the leader all commit, unless the term
/// changes meanwhile (then the attempt is retried, five attempts at most).
pub(super) fn concurrent_starts(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    'attempt: for attempt in 0..5 {
        if attempt > 0 {
            c.sleep_ms(3_000)?;
        }
        let leader = c.check_one_leader()?;
        let Some((_, term)) = c.start(leader, &Cluster::command(1))? else {
            continue;
        };
        let mut indices = Vec::new();
        for i in 0..5 {
            match c.start(leader, &Cluster::command(100 + i))? {
                Some((index, t)) if t == term => indices.push(index),
                _ => {}
            }
        }
        if (0..n).any(|j| c.term(j) != Some(term)) {
            continue;
        }
        let mut got = Vec::new();
        for index in indices {
            match c.wait(index, n as usize, Some(term))? {
                Some(command) => got.push(command),
                None => continue 'attempt,
            }
        }
        for i in 0..5 {
            if !got.contains(&Cluster::command(100 + i)) {
                return Err(c.fail(format!("command {} missing", 100 + i)));
            }
        }
        return Ok(());
    }
    Err(c.fail("term changed too often"))
}

/// A leader cut off while it takes three commands comes back after another leader
/// committed others; its entries must give way.
pub(super) fn rejoin(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(101), 3, true)?;
    let leader1 = c.check_one_leader()?;
    c.disconnect(leader1);
    for x in [102, 103, 104] {
        c.start(leader1, &Cluster::command(x))?;
    }
    c.one(&Cluster::command(103), 2, true)?;
    let leader2 = c.check_one_leader()?;
    c.disconnect(leader2);
    c.connect(leader1);
    c.one(&Cluster::command(104), 2, true)?;
    c.connect(leader2);
    c.one(&Cluster::command(105), 3, true)?;
    Ok(())
}

/// Fifty uncommitted entries on one side, fifty committed on the other, twice: the
/// leader must bring followers with long divergent tails back quickly.
pub(super) fn backup(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, true);
    let x = c.random_command();
    c.one(&x, 5, true)?;
    let leader1 = c.check_one_leader()?;
    for k in 2..=4 {
        c.disconnect((leader1 + k) % n);
    }
    for _ in 0..50 {
        let x = c.random_command();
        c.start(leader1, &x)?;
    }
    c.sleep_ms(ELECTION_TIMEOUT_MS / 2)?;
    c.disconnect(leader1);
    c.disconnect((leader1 + 1) % n);
    for k in 2..=4 {
        c.connect((leader1 + k) % n);
    }
    for _ in 0..50 {
        let x = c.random_command();
        c.one(&x, 3, true)?;
    }
    let leader2 = c.check_one_leader()?;
    let mut other = (leader1 + 2) % n;
    if leader2 == other {
        other = (leader2 + 1) % n;
    }
    c.disconnect(other);
    for _ in 0..50 {
        let x = c.random_command();
        c.start(leader2, &x)?;
    }
    c.sleep_ms(ELECTION_TIMEOUT_MS / 2)?;
    for i in 0..n {
        c.disconnect(i);
    }
    c.connect(leader1);
    c.connect((leader1 + 1) % n);
    c.connect(other);
    for _ in 0..50 {
        let x = c.random_command();
        c.one(&x, 3, true)?;
    }
    for i in 0..n {
        c.connect(i);
    }
    let x = c.random_command();
    c.one(&x, 5, true)?;
    Ok(())
}

/// RPC counts: at most 30 requests to elect the first leader; at most 3 per entry (plus
/// 9 of slack) to commit 11 entries on 3 servers; at most 60 in a second of idleness.
/// Requests are what 6.5840 counts as RPCs: votes, pre-votes, appends, snapshots.
pub(super) fn count(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.check_one_leader()?;
    let total1 = c.rpc_total();
    if !(1..=30).contains(&total1) {
        return Err(c.fail(format!(
            "too many or few RPCs ({total1}) to elect initial leader"
        )));
    }
    let iters = 10u64;
    let mut total2 = 0;
    let mut success = false;
    'attempt: for attempt in 0..5 {
        if attempt > 0 {
            c.sleep_ms(3_000)?;
        }
        let leader = c.check_one_leader()?;
        let total1 = c.rpc_total();
        let Some((starti, term)) = c.start(leader, &Cluster::command(1))? else {
            continue;
        };
        let mut commands = BTreeMap::new();
        for i in 1..iters + 2 {
            let x = c.random_command();
            match c.start(leader, &x)? {
                Some((index, t)) if t == term => {
                    if index != starti + i {
                        return Err(c.fail(format!(
                            "Start() failed: expected index {}, got {index}",
                            starti + i
                        )));
                    }
                    commands.insert(index, x);
                }
                _ => continue 'attempt,
            }
        }
        for i in 1..iters + 1 {
            let index: Index = starti + i;
            match c.wait(index, n as usize, Some(term))? {
                None => continue 'attempt,
                Some(got) if Some(&got) != commands.get(&index) => {
                    return Err(c.fail(format!("wrong value committed for index {index}")));
                }
                Some(_) => {}
            }
        }
        total2 = c.rpc_total();
        if (0..n).any(|j| c.term(j) != Some(term)) {
            continue;
        }
        let limit = (iters + 1 + 3) * 3;
        if total2 - total1 > limit {
            return Err(c.fail(format!(
                "too many RPCs ({}) for {iters} entries (limit {limit})",
                total2 - total1
            )));
        }
        success = true;
        break;
    }
    if !success {
        return Err(c.fail("term changed too often"));
    }
    c.sleep_ms(ELECTION_TIMEOUT_MS)?;
    let total3 = c.rpc_total();
    if total3 - total2 > 3 * 20 {
        return Err(c.fail(format!(
            "too many RPCs ({}) for 1 second of idleness",
            total3 - total2
        )));
    }
    Ok(())
}

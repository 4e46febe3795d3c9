//! 6.5840 part 3A: leader election.

use super::{cluster, ELECTION_TIMEOUT_MS};
use crate::raft::core::Bug;
use crate::raft::sim::SimResult;
use crate::raft::NodeId;

/// A leader is elected, every server agrees on its term, and with no failure the term
/// stays the same for two election timeouts. (6.5840 only warns when it changes; with
/// PreVote and CheckQuorum on a reliable network it must not, so here it fails.)
pub(super) fn initial_election(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let mut c = cluster(3, seed, bug, true);
    c.check_one_leader()?;
    c.sleep_ms(50)?;
    let term1 = c.check_terms()?;
    if term1 < 1 {
        return Err(c.fail(format!("term is {term1}, but should be at least 1")));
    }
    c.sleep_ms(2 * ELECTION_TIMEOUT_MS)?;
    let term2 = c.check_terms()?;
    if term1 != term2 {
        return Err(c.fail(format!(
            "term changed from {term1} to {term2} even though there were no failures"
        )));
    }
    c.check_one_leader()?;
    Ok(())
}

/// A new leader after the leader is cut off; the old one rejoining does not disturb it;
/// no leader without a quorum; one again once a quorum is back.
pub(super) fn re_election(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    let leader1 = c.check_one_leader()?;
    c.disconnect(leader1);
    c.check_one_leader()?;
    c.connect(leader1);
    let leader2 = c.check_one_leader()?;
    c.disconnect(leader2);
    c.disconnect((leader2 + 1) % n);
    c.sleep_ms(2 * ELECTION_TIMEOUT_MS)?;
    c.check_no_leader()?;
    c.connect((leader2 + 1) % n);
    c.check_one_leader()?;
    c.connect(leader2);
    c.check_one_leader()?;
    Ok(())
}

/// Seven servers; nine times, three random ones (perhaps the same) are cut off: the
/// leader survives or the rest elect one.
pub(super) fn many_elections(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 7;
    let mut c = cluster(n, seed, bug, true);
    c.check_one_leader()?;
    for _ in 1..10 {
        let cut: Vec<NodeId> = (0..3).map(|_| c.rng().below(n as u64) as NodeId).collect();
        for &i in &cut {
            c.disconnect(i);
        }
        c.check_one_leader()?;
        for &i in &cut {
            c.connect(i);
        }
    }
    c.check_one_leader()?;
    Ok(())
}

//! 6.5840 part 3C: persistence, Figure 8, unreliable networks and churn.

use super::{cluster, ELECTION_TIMEOUT_MS};
use crate::raft::core::Bug;
use crate::raft::sim::{Cluster, SimResult};
use crate::raft::NodeId;

/// Crashes and restarts everyone, then the leader, then a leader while a command commits
/// without it, then a follower: every command still commits on every server.
pub(super) fn persist1(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(11), 3, true)?;
    crash_and_restart_all(&mut c)?;
    c.one(&Cluster::command(12), 3, true)?;
    let leader1 = c.check_one_leader()?;
    c.crash(leader1);
    c.restart(leader1)?;
    c.one(&Cluster::command(13), 3, true)?;
    let leader2 = c.check_one_leader()?;
    c.crash(leader2);
    let index = c.one(&Cluster::command(14), 2, true)?;
    c.restart(leader2)?;
    // Wait for leader2 to catch up before crashing i3.
    c.wait(index, 3, None)?;
    let i3 = (c.check_one_leader()? + 1) % n;
    c.crash(i3);
    c.one(&Cluster::command(15), 2, true)?;
    c.restart(i3)?;
    c.one(&Cluster::command(16), 3, true)?;
    Ok(())
}

/// Five servers, twice: two followers crash, a command commits on three; the three
/// crash, the two restart, then one more, and a command commits on those three.
pub(super) fn persist2(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, true);
    let mut x = 1;
    for _ in 0..2 {
        c.one(&Cluster::command(10 + x), 5, true)?;
        x += 1;
        let leader1 = c.check_one_leader()?;
        c.crash((leader1 + 1) % n);
        c.crash((leader1 + 2) % n);
        c.one(&Cluster::command(10 + x), 3, true)?;
        x += 1;
        for k in [0, 3, 4] {
            c.crash((leader1 + k) % n);
        }
        c.restart((leader1 + 1) % n)?;
        c.restart((leader1 + 2) % n)?;
        c.sleep_ms(ELECTION_TIMEOUT_MS)?;
        c.restart((leader1 + 3) % n)?;
        c.one(&Cluster::command(10 + x), 3, true)?;
        x += 1;
        c.restart((leader1 + 4) % n)?;
        c.restart(leader1)?;
    }
    c.one(&Cluster::command(1000), 5, true)?;
    Ok(())
}

/// A partitioned leader and one follower crash, the leader restarts: the restarted
/// leader and the follower that was cut off commit together.
pub(super) fn persist3(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 3;
    let mut c = cluster(n, seed, bug, true);
    c.one(&Cluster::command(101), 3, true)?;
    let leader = c.check_one_leader()?;
    c.disconnect((leader + 2) % n);
    c.one(&Cluster::command(102), 2, true)?;
    c.crash(leader);
    c.crash((leader + 1) % n);
    c.connect((leader + 2) % n);
    c.restart(leader)?;
    c.one(&Cluster::command(103), 2, true)?;
    c.restart((leader + 1) % n)?;
    c.one(&Cluster::command(104), 3, true)?;
    Ok(())
}

/// Figure 8 of the paper, by brute force: a thousand times, every server is offered a
/// command, and whoever took it as leader crashes soon after (mostly within 13 ms,
/// sometimes up to half an election timeout), keeping at least three servers up when it
/// can. Then everyone restarts and must agree.
pub(super) fn figure8(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, true);
    let x = c.random_command();
    c.one(&x, 1, true)?;
    let mut up = n;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..n {
            let x = c.random_command();
            if c.start(i, &x)?.is_some() {
                leader = Some(i);
            }
        }
        random_pause(&mut c)?;
        if let Some(l) = leader {
            c.crash(l);
            up -= 1;
        }
        if up < 3 {
            let s = c.rng().below(n as u64) as NodeId;
            if !c.is_alive(s) {
                c.restart(s)?;
                up += 1;
            }
        }
    }
    for i in 0..n {
        if !c.is_alive(i) {
            c.restart(i)?;
        }
    }
    let x = c.random_command();
    c.one(&x, 5, true)?;
    Ok(())
}

/// Forty-nine rounds on an unreliable network of four commands in the background and one
/// in the foreground, each needing only one server to apply it; then the network heals
/// and everyone must agree on one more.
pub(super) fn unreliable_agree(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, false);
    for round in 1..50 {
        for j in 0..4 {
            c.spawn_one(&Cluster::command(100 * round + j), 1, true)?;
        }
        c.one(&Cluster::command(round), 1, true)?;
    }
    c.set_unreliable(false);
    c.join_calls()?;
    c.one(&Cluster::command(100), 5, true)?;
    Ok(())
}

/// Figure 8 on an unreliable network, with labrpc's long reordering after 200 rounds:
/// the leader is cut off (not crashed) half the time, at least three servers stay
/// connected when they can, and everyone agrees at the end.
pub(super) fn figure8_unreliable(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, false);
    let x = Cluster::command(c.rng().below(10_000));
    c.one(&x, 1, true)?;
    let mut up = n;
    for round in 0..1000 {
        if round == 200 {
            c.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..n {
            let x = Cluster::command(c.rng().below(10_000));
            if c.start(i, &x)?.is_some() && c.is_connected(i) {
                leader = Some(i);
            }
        }
        random_pause(&mut c)?;
        if let Some(l) = leader {
            if c.rng().below(1000) < ELECTION_TIMEOUT_MS / 2 {
                c.disconnect(l);
                up -= 1;
            }
        }
        if up < 3 {
            let s = c.rng().below(n as u64) as NodeId;
            if !c.is_connected(s) {
                c.connect(s);
                up += 1;
            }
        }
    }
    for i in 0..n {
        c.connect(i);
    }
    let x = Cluster::command(c.rng().below(10_000));
    c.one(&x, 5, true)?;
    Ok(())
}

/// Churn on a reliable network: see [`churn`].
pub(super) fn reliable_churn(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    churn(seed, bug, true)
}

/// Churn on an unreliable network: see [`churn`].
pub(super) fn unreliable_churn(seed: u64, bug: Option<Bug>) -> SimResult<()> {
    churn(seed, bug, false)
}

/// Three clients keep proposing random commands to whoever leads and note those they see
/// committed, while twenty times (every 0.7 election timeouts) a server may be cut off,
/// reconnected (restarted if down) or crashed. Then everything heals, and every command a
/// client saw committed must be in the log every server applied.
fn churn(seed: u64, bug: Option<Bug>, reliable: bool) -> SimResult<()> {
    let n = 5;
    let mut c = cluster(n, seed, bug, reliable);
    let mut clients: Vec<ChurnClient> = (0..3).map(ChurnClient::new).collect();
    for _ in 0..20 {
        if c.rng().below(1000) < 200 {
            let i = c.rng().below(n as u64) as NodeId;
            c.disconnect(i);
        }
        if c.rng().below(1000) < 500 {
            let i = c.rng().below(n as u64) as NodeId;
            if !c.is_alive(i) {
                c.restart(i)?;
            }
            c.connect(i);
        }
        if c.rng().below(1000) < 200 {
            let i = c.rng().below(n as u64) as NodeId;
            c.crash(i);
        }
        run_clients(&mut c, &mut clients, ELECTION_TIMEOUT_MS * 7 / 10)?;
    }
    run_clients(&mut c, &mut clients, ELECTION_TIMEOUT_MS)?;
    c.set_unreliable(false);
    for i in 0..n {
        if !c.is_alive(i) {
            c.restart(i)?;
        }
        c.connect(i);
    }
    // The clients stop here.
    c.sleep_ms(ELECTION_TIMEOUT_MS)?;
    let x = c.random_command();
    let last = c.one(&x, 5, true)?;
    let mut really = Vec::new();
    for index in 1..=last {
        if let Some(command) = c.wait(index, 5, None)? {
            really.push(command);
        }
    }
    for client in &clients {
        for v in &client.seen {
            if !really.contains(v) {
                return Err(c.fail(format!(
                    "client {} saw {} committed, but it is not in the log",
                    client.me,
                    crate::raft::sim::checker::show(v)
                )));
            }
        }
    }
    Ok(())
}

/// One of churn's clients, as a state machine the scenario moves on every tick.
struct ChurnClient {
    me: u64,
    /// Commands this client saw committed where its leader put them.
    seen: Vec<Vec<u8>>,
    /// The command in flight, its index, and how many backoff steps it has waited.
    waiting: Option<(Vec<u8>, crate::raft::core::Index, usize)>,
    next_at: u64,
}

impl ChurnClient {
    fn new(me: u64) -> ChurnClient {
        ChurnClient {
            me,
            seen: Vec::new(),
            waiting: None,
            next_at: 0,
        }
    }

    fn poll(&mut self, c: &mut Cluster) -> SimResult<()> {
        const BACKOFF_MS: [u64; 5] = [10, 20, 50, 100, 200];
        while c.now() >= self.next_at {
            match self.waiting.take() {
                None => {
                    // Offer the command to everyone; keep the last server that took it.
                    let x = c.random_command();
                    let mut index = None;
                    for i in 0..c.servers() {
                        if let Some((at, _)) = c.start(i, &x)? {
                            index = Some(at);
                        }
                    }
                    match index {
                        Some(at) => self.waiting = Some((x, at, 0)),
                        None => {
                            self.next_at = c.now() + c.config().ticks(79 + self.me * 17);
                            return Ok(());
                        }
                    }
                }
                Some((x, index, step)) => {
                    let (got, command) = c.n_committed(index)?;
                    if got > 0 {
                        if command.as_deref() == Some(&x[..]) {
                            self.seen.push(x);
                        }
                    } else if step < BACKOFF_MS.len() {
                        self.next_at = c.now() + c.config().ticks(BACKOFF_MS[step]);
                        self.waiting = Some((x, index, step + 1));
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs `ms` milliseconds, moving the clients on at every tick.
fn run_clients(c: &mut Cluster, clients: &mut [ChurnClient], ms: u64) -> SimResult<()> {
    for _ in 0..c.config().ticks(ms) {
        for client in clients.iter_mut() {
            client.poll(c)?;
        }
        c.run_for(1)?;
    }
    Ok(())
}

/// Crashes every server, then restarts them all.
pub(super) fn crash_and_restart_all(c: &mut Cluster) -> SimResult<()> {
    for i in 0..c.servers() {
        c.crash(i);
    }
    for i in 0..c.servers() {
        c.restart(i)?;
    }
    Ok(())
}

/// Figure 8's pause: one time in ten up to half an election timeout, else up to 13 ms.
fn random_pause(c: &mut Cluster) -> SimResult<()> {
    let ms = if c.rng().below(1000) < 100 {
        c.rng().below(ELECTION_TIMEOUT_MS / 2)
    } else {
        c.rng().below(13)
    };
    c.sleep_ms(ms)
}

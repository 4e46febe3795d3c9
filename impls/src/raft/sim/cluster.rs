//! The cluster: N servers each running the core [`Node`], the simulated network between
//! them, their storage and state machines, a logical clock, and the tester's API in
//! 6.5840's shape (`start`, `one`, `check_one_leader`, `crash`, `restart`, ...).
//!
//! Every step of every node happens inside [`Cluster`], one at a time, in an order fixed by
//! the seed: a run is a function of its [`SimConfig`] and of the calls the scenario makes.

use super::checker::{show, ApplyRecord};
use super::machine::AppliedLog;
use super::network::{LinkConfig, MessageKind, Network};
use crate::raft::core::{Bug, Config, Durable, Effect, Index, Input, Node, Role, Term};
use crate::raft::NodeId;
use crate::sansio::{check_durability_order, Core};
use crate::sim::faults::{Fault, Scheduled};
use crate::sim::SplitMix64;
use std::collections::BTreeMap;
use std::fmt;

/// A run's parameters. The seed and these fields fix the run.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// The number of servers, `0..servers`.
    pub servers: u8,
    /// Seeds the network, the scenario's random choices and the nodes' election timeouts.
    pub seed: u64,
    /// Simulated milliseconds per tick, to translate 6.5840's times (10).
    pub tick_ms: u64,
    /// The nodes' base election timeout in ticks (30: timeouts of 300 to 600 ms).
    pub election_ticks: u32,
    /// The leaders' heartbeat interval in ticks (10: ten heartbeats a second, 6.5840's
    /// limit).
    pub heartbeat_ticks: u32,
    /// The nodes campaign with a PreVote round first.
    pub pre_vote: bool,
    /// The nodes run CheckQuorum.
    pub check_quorum: bool,
    /// The most entries one AppendEntries carries (2). Small on purpose: a follower far
    /// behind then catches up over several AppendEntries, so entries of an earlier term
    /// can reach a majority before the new leader's no-op does, which is the situation of
    /// the paper's Figure 8 (with whole-log messages the no-op always travels with them).
    pub max_entries_per_message: usize,
    /// Each server compacts its log every this many applied entries (at every index that
    /// is a multiple of it); 0 never compacts.
    pub snapshot_every: Index,
    /// Whether a crash lands inside the crashing node's next step that has effects, at a
    /// random point among them, rather than between two steps.
    pub torn_crashes: bool,
    /// The bug every node is built with, if any.
    pub bug: Option<Bug>,
}

impl SimConfig {
    /// `servers` servers with the defaults above, PreVote and CheckQuorum on (the node's
    /// usual configuration), no snapshots, torn crashes, no bug.
    pub fn new(servers: u8, seed: u64) -> SimConfig {
        SimConfig {
            servers,
            seed,
            tick_ms: 10,
            election_ticks: 30,
            heartbeat_ticks: 10,
            pre_vote: true,
            check_quorum: true,
            max_entries_per_message: 2,
            snapshot_every: 0,
            torn_crashes: true,
            bug: None,
        }
    }

    /// The same, compacting every `k` applied entries.
    pub fn snapshot_every(self, k: Index) -> SimConfig {
        SimConfig {
            snapshot_every: k,
            ..self
        }
    }

    /// The same, with `bug` built into every node.
    pub fn bug(self, bug: Option<Bug>) -> SimConfig {
        SimConfig { bug, ..self }
    }

    /// Ticks in `ms` simulated milliseconds (rounded down).
    pub fn ticks(&self, ms: u64) -> u64 {
        ms / self.tick_ms
    }

    /// Server `id`'s configuration in its `incarnation`-th life: its election timeouts
    /// are drawn from entropy that mixes the seed, the id and the incarnation.
    pub fn node_config(&self, id: NodeId, incarnation: u64) -> Config {
        let mix = self.seed
            ^ (u64::from(id) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ incarnation.rotate_left(32);
        Config {
            election_ticks: self.election_ticks,
            heartbeat_ticks: self.heartbeat_ticks,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            max_entries_per_message: self.max_entries_per_message,
            entropy: SplitMix64::new(mix).next_u64(),
            bug: self.bug,
            ..Config::new(id, self.servers)
        }
    }
}

/// Why a run failed, and where to replay it from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The run's seed.
    pub seed: u64,
    /// The tick at which the failure was seen.
    pub tick: u64,
    /// What went wrong, in 6.5840's words where it has some.
    pub message: String,
    /// Every server's state when it was seen ([`Cluster::describe`]).
    pub servers: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SEED={} at tick {}: {}\n{}",
            self.seed, self.tick, self.message, self.servers
        )
    }
}

impl std::error::Error for Failure {}

/// What a scenario step returns: its value, or the run's first failure.
pub type SimResult<T> = Result<T, Failure>;

/// A simulated cluster. See the module doc.
///
/// Guarantees, checked on every step and effect and reported as the run's [`Failure`]:
/// - no two servers ever lead in the same term, even one after the other (Election
///   Safety; 6.5840's `checkOneLeader` checks it only when it samples the servers);
/// - every node's effects keep the durability order ([`check_durability_order`]);
/// - each server applies indices in order, without gaps or repeats, within one life;
/// - no two servers (nor one server in two lives) ever apply different commands at one
///   index, snapshots included (6.5840's apply error);
/// - a restored snapshot decodes, ends at its `last_index`, and does not move the state
///   machine back.
#[derive(Debug)]
pub struct Cluster {
    config: SimConfig,
    now: u64,
    /// The scenario's random choices (sleeps, commands, victims).
    rng: SplitMix64,
    /// Where torn crashes cut a step.
    crash_rng: SplitMix64,
    nodes: Vec<Option<Node>>,
    incarnation: Vec<u64>,
    /// Crashed from the tester's view; the crash lands in the node's next step with
    /// effects (see [`SimConfig::torn_crashes`]).
    dying: Vec<bool>,
    storage: Vec<Durable>,
    machines: Vec<AppliedLog>,
    record: ApplyRecord,
    network: Network,
    failure: Option<Failure>,
    /// The answer to the proposal being stepped.
    proposed: Option<(Index, Term)>,
    /// Every `one` call, running or done.
    calls: Vec<OneCall>,
    /// The first server seen leading each term.
    leaders: BTreeMap<Term, NodeId>,
}

/// A [`Cluster::one`] call in progress: its state between two ticks.
#[derive(Clone, Debug)]
struct OneCall {
    command: Vec<u8>,
    expected: usize,
    retry: bool,
    /// Gives up at this tick (10 s after it began).
    deadline: u64,
    /// The server it offered the command to last.
    starts: NodeId,
    /// The index a leader gave the command, and until when to wait for it.
    waiting: Option<(Index, u64)>,
    next_poll: u64,
    done: Option<Index>,
}

/// A call started by [`Cluster::spawn_one`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallId(usize);

/// The most messages delivered in one tick before the run is declared a message storm.
const DELIVERIES_PER_TICK_MAX: usize = 100_000;

impl Cluster {
    /// A cluster of fresh servers, all connected by a reliable network, at tick 0.
    pub fn new(config: SimConfig) -> Cluster {
        let n = config.servers as usize;
        let mut seeds = SplitMix64::new(config.seed);
        let nodes = (0..n)
            .map(|i| Some(Node::new(config.node_config(i as NodeId, 0))))
            .collect();
        Cluster {
            rng: SplitMix64::new(seeds.next_u64()),
            crash_rng: SplitMix64::new(seeds.next_u64()),
            network: Network::new(config.servers, seeds.next_u64()),
            nodes,
            incarnation: vec![0; n],
            dying: vec![false; n],
            storage: vec![Durable::default(); n],
            machines: vec![AppliedLog::new(); n],
            record: ApplyRecord::new(config.servers),
            failure: None,
            proposed: None,
            calls: Vec::new(),
            leaders: BTreeMap::new(),
            now: 0,
            config,
        }
    }

    /// A client command carrying the number `x` (6.5840's integer commands). Never empty,
    /// so never mistaken for a leader's no-op.
    pub fn command(x: u64) -> Vec<u8> {
        x.to_le_bytes().to_vec()
    }

    /// A random client command (6.5840's `rand.Int()`).
    pub fn random_command(&mut self) -> Vec<u8> {
        Cluster::command(self.rng.next_u64())
    }

    /// The run's configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The number of servers.
    pub fn servers(&self) -> u8 {
        self.config.servers
    }

    /// The current tick.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The scenario's seeded generator, for its own random choices.
    pub fn rng(&mut self) -> &mut SplitMix64 {
        &mut self.rng
    }

    /// Server `i`'s node, unless it is crashed (or crashing).
    pub fn node(&self, i: NodeId) -> Option<&Node> {
        if self.dying[i as usize] {
            return None;
        }
        self.nodes[i as usize].as_ref()
    }

    /// Whether server `i` is up (not crashed, nor crashing).
    pub fn is_alive(&self, i: NodeId) -> bool {
        self.node(i).is_some()
    }

    /// Whether server `i` is connected (6.5840's `IsConnected`); a crashed server may be.
    pub fn is_connected(&self, i: NodeId) -> bool {
        self.network.is_connected(i)
    }

    /// What server `i`'s storage holds.
    pub fn durable(&self, i: NodeId) -> &Durable {
        &self.storage[i as usize]
    }

    /// The number of log entries server `i` keeps in storage after its snapshot (6.5840's
    /// `LogSize`, in entries rather than bytes).
    pub fn log_size(&self, i: NodeId) -> usize {
        self.storage[i as usize].entries.len()
    }

    /// The first failure seen, as an error.
    pub fn check(&self) -> SimResult<()> {
        match &self.failure {
            Some(f) => Err(f.clone()),
            None => Ok(()),
        }
    }

    /// Records `message` as the run's failure (unless one came first) and returns the
    /// run's first failure: the scenario's `t.Fatalf`.
    pub fn fail(&mut self, message: impl Into<String>) -> Failure {
        if self.failure.is_none() {
            self.failure = Some(Failure {
                seed: self.config.seed,
                tick: self.now,
                message: message.into(),
                servers: self.describe(),
            });
        }
        self.failure.clone().expect("just set")
    }

    /// One line per server: up or down, connected or not, role, term, vote, commit,
    /// applied, log bounds, and its stored log's size.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for i in 0..self.config.servers {
            let link = if self.is_connected(i) {
                "connected"
            } else {
                "cut off"
            };
            let line = match &self.nodes[i as usize] {
                None => format!("server {i}: down, {link}, stored term {}", self.storage[i as usize].term),
                Some(n) => format!(
                    "server {i}: {}{:?}, {link}, term {} voted {:?}, commit {} applied {} log {}..={} (last term {}), stored entries {}",
                    if self.dying[i as usize] { "crashing " } else { "" },
                    n.role(),
                    n.term(),
                    n.voted_for(),
                    n.commit_index(),
                    n.applied_index(),
                    n.first_index(),
                    n.last_index(),
                    n.last_term(),
                    self.storage[i as usize].entries.len(),
                ),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&format!("{} messages in flight", self.network.in_flight()));
        out
    }

    // ------------------------------------------------------------------------------------
    // Stepping nodes and carrying out their effects.

    fn step(&mut self, id: NodeId, input: Input) {
        let i = id as usize;
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        let effects = node.step(input);
        if node.role() == Role::Leader {
            let term = node.term();
            let first = *self.leaders.entry(term).or_insert(id);
            if first != id {
                self.fail(format!("term {term} has 2 (>1) leaders: {first} and {id}"));
            }
        }
        if let Err(v) = check_durability_order(&effects) {
            self.fail(format!("server {id} broke the durability order: {v}"));
        }
        let cut = (self.dying[i] && !effects.is_empty())
            .then(|| self.crash_rng.below(effects.len() as u64 + 1) as usize);
        let mut compact_at = None;
        for (k, effect) in effects.into_iter().enumerate() {
            if cut == Some(k) {
                break;
            }
            if let Some(index) = self.carry_out(id, effect) {
                compact_at = Some(index);
            }
        }
        if cut.is_some() {
            self.crash_now(id);
            return;
        }
        if let Some(index) = compact_at {
            let data = self.machines[i].encode_through(index);
            self.step(id, Input::Compact { index, data });
        }
    }

    /// Carries out one effect; returns the index at which to compact, if this apply
    /// reached one.
    fn carry_out(&mut self, id: NodeId, effect: Effect) -> Option<Index> {
        let i = id as usize;
        match effect {
            Effect::Persist(p) => self.storage[i].apply(&p),
            Effect::Send { to, message } => {
                if to == id || to >= self.config.servers {
                    self.fail(format!("server {id} sent {message:?} to server {to}"));
                } else {
                    self.network.send(self.now, id, to, message);
                }
            }
            Effect::Apply { index, entry } => {
                if let Err(e) = self.machines[i].apply(index, &entry.command) {
                    self.fail(format!("server {id}: {e}"));
                    return None;
                }
                if let Err(e) = self.record.record(id, index, &entry.command) {
                    self.fail(e);
                }
                let k = self.config.snapshot_every;
                if k > 0 && index % k == 0 {
                    return Some(index);
                }
            }
            Effect::Restore(snapshot) => self.restore(id, &snapshot.data, snapshot.last_index),
            Effect::Proposed { index, term } => self.proposed = Some((index, term)),
            Effect::NotLeader { .. } => {}
            Effect::ReadReady { .. } | Effect::ReadRefused { .. } => {
                self.fail(format!("server {id} answered a read no one asked for"));
            }
        }
        None
    }

    fn restore(&mut self, id: NodeId, data: &[u8], last_index: Index) {
        let machine = match AppliedLog::decode(data) {
            Ok(m) => m,
            Err(e) => {
                self.fail(format!("server {id} restored a bad snapshot: {e}"));
                return;
            }
        };
        if machine.last_index() != last_index {
            self.fail(format!(
                "server {id} restored a snapshot of {} entries as ending at index {last_index}",
                machine.last_index()
            ));
        } else if machine.last_index() < self.machines[id as usize].last_index() {
            self.fail(format!(
                "server {id} restored a snapshot at {last_index} over a state machine at {}",
                self.machines[id as usize].last_index()
            ));
        }
        for (index, command) in machine.iter() {
            if let Err(e) = self.record.record(id, index, command) {
                self.fail(format!("in a snapshot: {e}"));
                break;
            }
        }
        self.machines[id as usize] = machine;
    }

    fn crash_now(&mut self, id: NodeId) {
        let i = id as usize;
        self.nodes[i] = None;
        self.dying[i] = false;
        self.machines[i] = AppliedLog::new();
    }

    fn deliver(&mut self) {
        let mut delivered = 0;
        while let Some(m) = self.network.pop_due(self.now) {
            delivered += 1;
            if delivered > DELIVERIES_PER_TICK_MAX {
                self.fail(format!(
                    "message storm: over {DELIVERIES_PER_TICK_MAX} deliveries in one tick"
                ));
                return;
            }
            self.step(
                m.to,
                Input::Receive {
                    from: m.from,
                    message: m.message,
                },
            );
        }
    }

    /// Runs the cluster for `ticks` ticks: in each, every node that is up (or crashing)
    /// ticks in id order, then every message due is delivered, including those sent
    /// while delivering. Stops at the first failure.
    pub fn run_for(&mut self, ticks: u64) -> SimResult<()> {
        self.check()?;
        for _ in 0..ticks {
            self.now += 1;
            for id in 0..self.config.servers {
                self.step(id, Input::Tick);
            }
            self.deliver();
            self.poll_calls();
            self.check()?;
        }
        Ok(())
    }

    /// Runs for `ms` simulated milliseconds (6.5840's `time.Sleep`).
    pub fn sleep_ms(&mut self, ms: u64) -> SimResult<()> {
        self.run_for(self.config.ticks(ms))
    }

    // ------------------------------------------------------------------------------------
    // 6.5840's tester API.

    /// Asks server `i` to append `command` (6.5840's `Start`): its index and term if it
    /// believes it leads, `None` if it does not or is down.
    pub fn start(&mut self, i: NodeId, command: &[u8]) -> SimResult<Option<(Index, Term)>> {
        self.check()?;
        let proposed = self.propose(i, command);
        self.check()?;
        Ok(proposed)
    }

    fn propose(&mut self, i: NodeId, command: &[u8]) -> Option<(Index, Term)> {
        if !self.is_alive(i) {
            return None;
        }
        self.proposed = None;
        self.step(
            i,
            Input::Propose {
                command: command.to_vec(),
            },
        );
        self.proposed.take()
    }

    /// How many servers have applied `index` and what (6.5840's `nCommitted`); fails on
    /// an apply error seen so far.
    pub fn n_committed(&self, index: Index) -> SimResult<(usize, Option<Vec<u8>>)> {
        self.check()?;
        Ok(self.record.n_committed(index))
    }

    /// Fails unless no server applied `index` (6.5840's `checkNoAgreement`).
    pub fn check_no_agreement(&mut self, index: Index) -> SimResult<()> {
        let (n, _) = self.n_committed(index)?;
        if n > 0 {
            return Err(self.fail(format!("{n} committed index {index} but no majority")));
        }
        Ok(())
    }

    /// Fails if some server applied `command` (at any index).
    pub fn check_not_committed(&mut self, command: &[u8]) -> SimResult<()> {
        self.check()?;
        if let Some(index) = self.record.index_of(command) {
            let (n, _) = self.record.n_committed(index);
            return Err(self.fail(format!(
                "{n} committed {} at index {index} but no majority",
                show(command)
            )));
        }
        Ok(())
    }

    /// 6.5840's `one`: offers `command` to the connected servers in turn until one takes it as
    /// leader, then waits up to 2 s for `expected` servers to apply it at that index;
    /// with `retry`, tries again on failure, for up to 10 s. Returns the index. Calls
    /// started with [`Cluster::spawn_one`] go on meanwhile.
    pub fn one(&mut self, command: &[u8], expected: usize, retry: bool) -> SimResult<Index> {
        let call = self.spawn_one(command, expected, retry)?;
        loop {
            if let Some(index) = self.calls[call.0].done {
                return Ok(index);
            }
            self.run_for(1)?;
        }
    }

    /// Starts [`Cluster::one`] in the background, as 6.5840's tests do in a goroutine:
    /// it makes progress at every tick from now on, whatever the scenario does, and fails
    /// the run if it fails.
    pub fn spawn_one(&mut self, command: &[u8], expected: usize, retry: bool) -> SimResult<CallId> {
        self.check()?;
        self.calls.push(OneCall {
            command: command.to_vec(),
            expected,
            retry,
            deadline: self.now + self.config.ticks(10_000),
            starts: 0,
            waiting: None,
            next_poll: self.now,
            done: None,
        });
        self.poll_calls();
        self.check()?;
        Ok(CallId(self.calls.len() - 1))
    }

    /// The index a call agreed on, once it has.
    pub fn call_result(&self, call: CallId) -> Option<Index> {
        self.calls[call.0].done
    }

    /// Runs until every call started by [`Cluster::spawn_one`] has agreed (each gives up,
    /// failing the run, after its 10 s).
    pub fn join_calls(&mut self) -> SimResult<()> {
        while self.calls.iter().any(|c| c.done.is_none()) {
            self.run_for(1)?;
        }
        Ok(())
    }

    /// Moves every pending call on by what it would do at this tick.
    fn poll_calls(&mut self) {
        let n = self.config.servers;
        for k in 0..self.calls.len() {
            while self.failure.is_none() {
                let call = &self.calls[k];
                if call.done.is_some() || self.now < call.next_poll {
                    break;
                }
                if self.now >= call.deadline {
                    let message = format!("one({}) failed to reach agreement", show(&call.command));
                    self.fail(message);
                    break;
                }
                let command = call.command.clone();
                match call.waiting {
                    None => {
                        let mut starts = call.starts;
                        let mut taken = None;
                        for _ in 0..n {
                            starts = (starts + 1) % n;
                            // 6.5840's `one` offers only to connected servers: a leader
                            // cut off would take the command and never commit it.
                            if !self.network.is_connected(starts) {
                                continue;
                            }
                            if let Some((index, _)) = self.propose(starts, &command) {
                                taken = Some(index);
                                break;
                            }
                        }
                        let now = self.now;
                        let wait = self.config.ticks(2_000);
                        let call = &mut self.calls[k];
                        call.starts = starts;
                        match taken {
                            // Look at once, as `one` does before its first 20 ms sleep.
                            Some(index) => call.waiting = Some((index, now + wait)),
                            None => {
                                call.next_poll = now + self.config.ticks(50);
                                break;
                            }
                        }
                    }
                    Some((index, until)) => {
                        let (got, applied) = self.record.n_committed(index);
                        let now = self.now;
                        let call = &mut self.calls[k];
                        if got > 0
                            && got >= call.expected
                            && applied.as_deref() == Some(&command[..])
                        {
                            call.done = Some(index);
                        } else if now < until {
                            call.next_poll = now + self.config.ticks(20);
                        } else if call.retry {
                            call.waiting = None;
                            continue;
                        } else {
                            self.fail(format!("one({}) failed to reach agreement", show(&command)));
                        }
                        break;
                    }
                }
            }
        }
    }

    /// 6.5840's `wait`: waits, backing off from 10 ms to 1 s, for `n` servers to apply
    /// `index`, and returns the command. `Ok(None)` if some server moved past `start_term`
    /// meanwhile; fails if fewer than `n` applied it in the end.
    pub fn wait(
        &mut self,
        index: Index,
        n: usize,
        start_term: Option<Term>,
    ) -> SimResult<Option<Vec<u8>>> {
        let mut sleep = 10;
        for _ in 0..30 {
            if self.n_committed(index)?.0 >= n {
                break;
            }
            self.sleep_ms(sleep)?;
            if sleep < 1000 {
                sleep *= 2;
            }
            if let Some(term) = start_term {
                let moved = (0..self.config.servers)
                    .filter_map(|i| self.node(i))
                    .any(|node| node.term() > term);
                if moved {
                    return Ok(None);
                }
            }
        }
        let (got, command) = self.n_committed(index)?;
        if got < n {
            return Err(self.fail(format!("only {got} decided for index {index}; wanted {n}")));
        }
        Ok(command)
    }

    /// 6.5840's `checkOneLeader`: up to ten times, sleeps 450 to 550 ms and looks at the
    /// connected servers that are up; fails if a term has two leaders, returns the leader
    /// of the latest term that has one, and fails if none ever appears.
    pub fn check_one_leader(&mut self) -> SimResult<NodeId> {
        for _ in 0..10 {
            let ms = 450 + self.rng.below(100);
            self.sleep_ms(ms)?;
            let mut leaders: BTreeMap<Term, Vec<NodeId>> = BTreeMap::new();
            for i in 0..self.config.servers {
                if !self.is_connected(i) {
                    continue;
                }
                if let Some(node) = self.node(i).filter(|n| n.role() == Role::Leader) {
                    leaders.entry(node.term()).or_default().push(i);
                }
            }
            if let Some((term, ids)) = leaders.iter().find(|(_, ids)| ids.len() > 1) {
                let message = format!("term {term} has {} (>1) leaders: {ids:?}", ids.len());
                return Err(self.fail(message));
            }
            if let Some((_, ids)) = leaders.last_key_value() {
                return Ok(ids[0]);
            }
        }
        Err(self.fail("expected one leader, got none"))
    }

    /// 6.5840's `checkNoLeader`: fails if a connected server that is up leads.
    pub fn check_no_leader(&mut self) -> SimResult<()> {
        self.check()?;
        let leader = (0..self.config.servers).find(|&i| {
            self.is_connected(i) && self.node(i).is_some_and(|n| n.role() == Role::Leader)
        });
        match leader {
            Some(i) => Err(self.fail(format!("expected no leader, but {i} claims to be leader"))),
            None => Ok(()),
        }
    }

    /// 6.5840's `checkTerms`: the term every connected server that is up agrees on; fails
    /// if they disagree.
    pub fn check_terms(&mut self) -> SimResult<Term> {
        self.check()?;
        let terms: Vec<(NodeId, Term)> = (0..self.config.servers)
            .filter(|&i| self.is_connected(i))
            .filter_map(|i| self.node(i).map(|n| (i, n.term())))
            .collect();
        match terms.first() {
            Some(&(_, term)) if terms.iter().all(|&(_, t)| t == term) => Ok(term),
            Some(_) => Err(self.fail(format!("servers disagree on term: {terms:?}"))),
            None => Err(self.fail("no connected server is up")),
        }
    }

    /// The number of client commands (entries that are not a leader's no-op) at indices
    /// `1..=index`, as server `i`'s log or, where it no longer holds them, the applied
    /// record says: translates Raft indices into 6.5840's, whose leaders append no no-op.
    pub fn commands_through(&self, i: NodeId, index: Index) -> Index {
        let node = self.nodes[i as usize].as_ref();
        (1..=index)
            .filter(|&j| {
                let command = self
                    .record
                    .committed(j)
                    .or_else(|| node.and_then(|n| n.entry(j)).map(|e| e.command.as_slice()));
                command.is_none_or(|c| !c.is_empty())
            })
            .count() as Index
    }

    /// How many client commands some server has applied (6.5840's indices count only
    /// those).
    pub fn committed_commands(&self) -> u64 {
        self.record.commands_committed()
    }

    /// The term server `i` is in, if it is up.
    pub fn term(&self, i: NodeId) -> Option<Term> {
        self.node(i).map(Node::term)
    }

    /// Disconnects server `i` from everyone (6.5840's `disconnect`).
    pub fn disconnect(&mut self, i: NodeId) {
        self.network.disconnect(i);
    }

    /// Reconnects server `i` (6.5840's `connect`).
    pub fn connect(&mut self, i: NodeId) {
        self.network.connect(i);
    }

    /// Cuts the servers in `side` off from the others (both ways).
    pub fn partition(&mut self, side: &[NodeId]) {
        self.network.partition(side);
    }

    /// Heals the partition.
    pub fn heal(&mut self) {
        self.network.heal();
    }

    /// Crashes server `i` (6.5840's `crash1`/`ShutdownServer`): from now on the tester
    /// sees it as down. With torn crashes the crash lands inside the node's next step that
    /// has effects, at a random point among them (the effects after it are never carried
    /// out); otherwise, and when no such step comes before [`Cluster::restart`], between
    /// steps. Its storage keeps what its carried-out persists wrote; its volatile state
    /// and state machine are lost.
    pub fn crash(&mut self, i: NodeId) {
        if self.nodes[i as usize].is_none() {
            return;
        }
        if self.config.torn_crashes {
            self.dying[i as usize] = true;
        } else {
            self.crash_now(i);
        }
    }

    /// Restarts server `i` from its storage and connects it (6.5840's `restart`): a crash
    /// still pending lands first, and a server that is up is crashed first. Its state
    /// machine restarts from the stored snapshot.
    pub fn restart(&mut self, i: NodeId) -> SimResult<()> {
        self.check()?;
        let k = i as usize;
        if self.nodes[k].is_some() {
            self.crash_now(i);
        }
        self.incarnation[k] += 1;
        let durable = self.storage[k].clone();
        if let Some(snapshot) = &durable.snapshot {
            self.restore(i, &snapshot.data, snapshot.last_index);
        }
        let config = self.config.node_config(i, self.incarnation[k]);
        self.nodes[k] = Some(Node::restart(config, durable));
        self.network.connect(i);
        self.check()
    }

    /// Whether the network is unreliable (6.5840's `setunreliable`): see
    /// [`LinkConfig::UNRELIABLE`]. Long reordering is kept as it was.
    pub fn set_unreliable(&mut self, unreliable: bool) {
        let long_reordering = self.network.link().long_reordering;
        let link = if unreliable {
            LinkConfig::UNRELIABLE
        } else {
            LinkConfig::RELIABLE
        };
        self.network.set_link(LinkConfig {
            long_reordering,
            ..link
        });
    }

    /// labrpc's long reordering on or off.
    pub fn set_long_reordering(&mut self, on: bool) {
        let link = self.network.link();
        self.network.set_link(LinkConfig {
            long_reordering: on,
            ..link
        });
    }

    /// Any other link behaviour.
    pub fn set_link(&mut self, link: LinkConfig) {
        self.network.set_link(link);
    }

    /// Requests (6.5840's RPCs) sent by every server so far.
    pub fn rpc_total(&self) -> u64 {
        (0..self.config.servers)
            .map(|i| self.network.requests_sent(i))
            .sum()
    }

    /// Messages of `kind` sent by every server so far.
    pub fn sent(&self, kind: MessageKind) -> u64 {
        (0..self.config.servers)
            .map(|i| self.network.sent(i, kind))
            .sum()
    }

    /// Injects one fault of the shared vocabulary (nodes numbered from 1, as the nemesis
    /// writes them).
    pub fn apply_fault(&mut self, fault: &Fault) -> SimResult<()> {
        let id = |n: u32| (n - 1) as NodeId;
        match fault {
            Fault::Partition(a, _) => {
                let side: Vec<NodeId> = a.iter().map(|&n| id(n)).collect();
                self.partition(&side);
            }
            Fault::Heal => self.heal(),
            Fault::Crash(n) => self.crash(id(*n)),
            Fault::Restart(n) => self.restart(id(*n))?,
            Fault::Bounce(n) => {
                self.crash(id(*n));
                self.restart(id(*n))?;
            }
            Fault::PowerLoss(ns) => ns.iter().for_each(|&n| self.crash(id(n))),
            Fault::PowerOn(ns) => {
                for &n in ns {
                    self.restart(id(n))?;
                }
            }
            // Pauses, clock skew and the abstract leader faults need the runner that
            // resolves them (`crate::sim::faults::Damage`); this cluster does not yet.
            other => return Err(self.fail(format!("the simulated cluster cannot apply {other}"))),
        }
        self.check()
    }

    /// Runs a nemesis schedule (from [`crate::sim::faults::schedule`]): each fault at its
    /// time from now, then heals the network and restarts every crashed server.
    pub fn run_schedule(&mut self, schedule: &[Scheduled]) -> SimResult<()> {
        let start = self.now;
        for s in schedule {
            let at = start + self.config.ticks(s.at.as_millis() as u64);
            self.run_for(at.saturating_sub(self.now))?;
            self.apply_fault(&s.fault)?;
        }
        self.heal();
        for i in 0..self.config.servers {
            if !self.is_alive(i) {
                self.restart(i)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::{schedule, NemesisKind};

    fn run(seed: u64) -> (String, u64, Index) {
        let mut c = Cluster::new(SimConfig::new(3, seed));
        c.check_one_leader().unwrap();
        let index = c.one(&Cluster::command(1), 3, false).unwrap();
        c.set_unreliable(true);
        for x in 2..20 {
            c.spawn_one(&Cluster::command(x), 1, true).unwrap();
        }
        c.join_calls().unwrap();
        (c.describe(), c.rpc_total(), index)
    }

    #[test]
    fn a_run_is_a_function_of_its_seed() {
        let a = run(5);
        assert_eq!(a, run(5));
        assert_ne!((a.0.clone(), a.1), (run(6).0, run(6).1));
        assert!(a.2 >= 2, "the leader's no-op comes first: {}", a.2);
    }

    #[test]
    fn a_nemesis_schedule_keeps_the_cluster_safe_and_it_recovers() {
        let kinds = [
            NemesisKind::Partition,
            NemesisKind::Crash,
            NemesisKind::Restart,
        ];
        for seed in 0..10 {
            let mut c = Cluster::new(SimConfig::new(5, seed).snapshot_every(5));
            c.one(&Cluster::command(1), 5, true).unwrap();
            let faults = schedule(seed, &kinds, 5, std::time::Duration::from_secs(8));
            assert!(!faults.is_empty());
            for x in 2..10 {
                c.spawn_one(&Cluster::command(x), 1, true).unwrap();
            }
            c.run_schedule(&faults).unwrap_or_else(|f| panic!("{f}"));
            c.join_calls().unwrap_or_else(|f| panic!("{f}"));
            c.one(&Cluster::command(100), 5, true)
                .unwrap_or_else(|f| panic!("{f}"));
        }
    }

    #[test]
    fn a_second_leader_in_a_term_and_an_apply_error_fail_the_run() {
        let mut c = Cluster::new(SimConfig::new(3, 1));
        c.check_one_leader().unwrap();
        c.record.record(0, 99, b"x").unwrap();
        let e = c.record.record(1, 99, b"y").unwrap_err();
        assert!(e.contains("apply error"), "{e}");
        let leader = (0..3)
            .find(|&i| c.node(i).unwrap().role() == Role::Leader)
            .unwrap();
        let term = c.node(leader).unwrap().term();
        // Pretend another server led this term before.
        c.leaders.insert(term, (leader + 1) % 3);
        let f = c.run_for(1).unwrap_err();
        assert!(
            f.message
                .contains(&format!("term {term} has 2 (>1) leaders")),
            "{f}"
        );
        assert_eq!(f.seed, 1);
    }
}

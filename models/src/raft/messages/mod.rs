//! The message-level Raft model: three servers, each running the implementation's own
//! sans-IO node (`impls::raft::core::Node`), over a network that loses, duplicates and
//! reorders messages, with crashes and restarts. The abstract model ([`crate::raft`])
//! checks the algorithm at the level of whole exchanges; this one checks the code the
//! runtimes run, one message at a time.
//!
//! # What is modelled
//!
//! Every protocol decision is the node's: the model only feeds it [`Input`]s through
//! [`Core::step`] and carries out the [`Effect`]s that come back, as a driver must:
//! - `Persist` is applied to the server's [`Durable`] (with [`Durable::apply`]), which is
//!   all a crash keeps: [`RaftMsgAction::Restart`] rebuilds the node with
//!   [`Node::restart`] from it, and the state machine from its snapshot;
//! - `Send` puts the message in the network, a *set* of (from, to, message): any message
//!   in it may be delivered next (reordering); [`RaftMsgAction::Drop`] loses one and
//!   [`RaftMsgAction::Duplicate`] delivers one while keeping it, each at most `drops` /
//!   `duplicates` times in a run. Two equal messages in flight are one, which loses no
//!   behaviour that a duplicate does not give back;
//! - `Apply` and `Restore` drive the server's state machine, the list of (term, command)
//!   it applied, index by index; `Proposed` and `NotLeader` answer a client the model does
//!   not have.
//!
//! The model never ticks the clock: elections are [`Input::Timeout`] (at any moment, for a
//! server that is not leading and whose term is below `max_term`), retransmission is
//! [`Input::Heartbeat`] (at any moment, for a leader). A client proposes values
//! `v1..=v{values}`, each once, in that order, to whichever server leads (values are
//! interchangeable, so the order loses nothing). A server may compact its log up to what
//! it applied (`Input::Compact`), at most `compactions` times in a run, which is what makes
//! a leader send InstallSnapshot. A step that changes nothing (a heartbeat whose messages
//! are all in flight already) is not taken.
//!
//! # Bounds and reductions
//!
//! A message-level space grows with every message that can still be delivered, so the
//! bounds are budgets per run: election timeouts (`timeouts`, and no term beyond
//! `max_term`), client values, and the environment's events (heartbeats, crashes, lost
//! and duplicated messages, compactions), each bounded on its own and all of them
//! together by `events`.
//!
//! **Dead responses are collected.** A response that its receiver can no longer use (an
//! older term's, or a vote for a server that is no longer a candidate of that term) is
//! removed from the network after every step, as if lost: see [`is_dead_response`] for
//! why that hides no behaviour. This divides the default space by about ten.
//!
//! # Properties
//!
//! Always (the names of the abstract model where it has them, then SandTable's list):
//! `ElectionSafety`, `LogMatching`, `LeaderCompleteness`, `StateMachineSafety`,
//! `LeaderAppendOnly`, `CommitIndexNeverDecreases` (within one incarnation),
//! `MatchIndexNeverDecreasesWithinTerm`, `LeaderCommitsOnlyCurrentTermByCounting`,
//! `LeaderNeverVotesForAnother` and `DurableBeforeSend` (every step's effects keep
//! [`impls::sansio::check_durability_order`]). The ones about a step rather than a state
//! are checked in the transition and recorded in [`Broken`], a history variable the
//! property reads.
//!
//! Sometimes: witnesses that the default bounds reach the states the safety properties
//! are about (see [`properties`] for which property each one feeds).
//!
//! # Symmetry
//!
//! Servers are interchangeable: [`RaftMsgState::representative`] renames them (nodes with
//! [`Node::renamed`]) to the member of the class with the least fingerprint.

mod properties;
mod symmetry;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thresholds;
mod words;

use crate::Variant;
use im::{OrdMap, OrdSet};
use impls::raft::core::{
    Bug, Config, Durable, Effect, Entry, Index, Input, Message, Node, Role, Snapshot, Term,
};
use impls::raft::NodeId;
use impls::sansio::{check_durability_order, BugSwitches, Core};
use stateright::{Model, Property};

/// A client's value: `v1`, `v2`, ... is the command `[1]`, `[2]`, ...; the empty command
/// is a leader's no-op, written as value 0.
pub type Value = u8;

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The message.
    pub message: Message,
}

/// One server: its node, what survives its crash, and its state machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Server {
    /// The protocol node, as the runtimes run it.
    pub node: Node,
    /// Everything its `Persist` effects wrote: what a restart recovers.
    pub durable: Durable,
    /// The state machine: entry `k - 1` is the (term, value) applied at index `k`.
    pub applied: Vec<(Term, Value)>,
}

/// The first time an index was committed: by whom it was learnt and what it held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Commit {
    /// The term of the entry committed at the index.
    pub entry_term: Term,
    /// The entry's value (0 for a no-op).
    pub value: Value,
    /// The current term of the server that first counted it committed: the entry was
    /// committed by the leader of this term or an earlier one.
    pub in_term: Term,
}

/// Violations of the properties about a step rather than a state, recorded by the step
/// that commits them (the first of each kind). All `None` in a correct run.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Broken {
    /// A server whose `commitIndex` went down within one incarnation: server, before,
    /// after.
    pub commit_decreased: Option<(NodeId, Index, Index)>,
    /// A leader whose `matchIndex` for a peer went down within its term: leader, peer,
    /// term, before, after.
    pub match_decreased: Option<(NodeId, NodeId, Term, Index, Index)>,
    /// A leader that advanced its `commitIndex` to an entry of an earlier term: leader,
    /// its term, the new commit index, the entry's term.
    pub commit_by_counting: Option<(NodeId, Term, Index, Term)>,
    /// A leader whose log changed other than by appending while it led the same term:
    /// leader, term, first index that changed or vanished.
    pub leader_log_rewritten: Option<(NodeId, Term, Index)>,
    /// A step whose effects send before they persist: server, index of the send, index
    /// of the persist after it.
    pub send_before_persist: Option<(NodeId, usize, usize)>,
    /// A server whose state machine was handed an index other than the next one: server,
    /// expected index, index applied.
    pub apply_out_of_order: Option<(NodeId, Index, Index)>,
}

/// The whole cluster, the network, the fault budgets spent, and history variables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftMsgState {
    /// The servers, indexed by [`NodeId`].
    pub servers: Vec<Server>,
    /// The messages in flight.
    pub network: OrdSet<Envelope>,
    // budgets spent
    /// Values proposed so far (`v1..=proposed`).
    pub proposed: u8,
    /// Election timeouts so far.
    pub timeouts: u8,
    /// Heartbeats so far.
    pub heartbeats: u8,
    /// Crashes so far.
    pub crashes: u8,
    /// Messages lost so far.
    pub drops: u8,
    /// Messages delivered twice so far.
    pub duplicates: u8,
    /// Compactions so far.
    pub compactions: u8,
    /// Heartbeats, crashes, drops, duplicates and compactions so far, together.
    pub events: u8,
    // history variables, read only by properties
    /// Every (term, server) such that the server led that term at some point.
    pub leaders: OrdSet<(Term, NodeId)>,
    /// The first entry ever counted committed at each index.
    pub committed: OrdMap<Index, Commit>,
    /// For each server that restarted with a non-zero `commitIndex`, what it had.
    pub restarted_commit: OrdMap<NodeId, Index>,
    /// Whether some step replaced an entry of a server's log by a different one.
    pub overwritten: bool,
    /// Whether some server restored its state machine from a leader's snapshot.
    pub snapshot_installed: bool,
    /// The step properties' violations.
    pub broken: Broken,
}

/// One step of the system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum RaftMsgAction {
    /// The server's election timeout elapses ([`Input::Timeout`]).
    Timeout(NodeId),
    /// The leader's heartbeat interval elapses ([`Input::Heartbeat`]).
    Heartbeat(NodeId),
    /// A client proposes the next value to the leader.
    Propose(NodeId),
    /// The network delivers the message (and forgets it).
    Deliver(Envelope),
    /// The network delivers the message and keeps a copy to deliver again.
    Duplicate(Envelope),
    /// The network loses the message.
    Drop(Envelope),
    /// The server crashes and restarts from its durable state.
    Restart(NodeId),
    /// The server snapshots its state machine and compacts its log up to what it applied.
    Compact(NodeId),
}

/// The properties each core bug breaks in this model (found by the tests at the bounds
/// of [`RaftMsgModel::for_bug`]).
const fn breaks(bug: Bug) -> &'static [&'static str] {
    match bug {
        Bug::VoteWithoutLogCheck => &["LeaderCompleteness", "StateMachineSafety"],
        Bug::CommitPreviousTerm => &[
            "LeaderCommitsOnlyCurrentTermByCounting",
            "LeaderCompleteness",
            "StateMachineSafety",
        ],
        Bug::ForgetVoteOnRestart => &["ElectionSafety"],
        Bug::SkipPrevLogCheck => &["LogMatching", "StateMachineSafety"],
        Bug::LeaderAcceptsStaleAppend => &["LeaderAppendOnly", "StateMachineSafety"],
        Bug::TruncateWithoutConflict => &["LeaderCompleteness", "StateMachineSafety"],
    }
}

/// Every core bug as a variant of this model: the core's name and summary
/// ([`Bug::switch`]), and the properties it breaks here.
pub const VARIANTS: [Variant; 6] = [
    Variant::of(
        Bug::VoteWithoutLogCheck.switch(),
        breaks(Bug::VoteWithoutLogCheck),
    ),
    Variant::of(
        Bug::CommitPreviousTerm.switch(),
        breaks(Bug::CommitPreviousTerm),
    ),
    Variant::of(
        Bug::ForgetVoteOnRestart.switch(),
        breaks(Bug::ForgetVoteOnRestart),
    ),
    Variant::of(
        Bug::SkipPrevLogCheck.switch(),
        breaks(Bug::SkipPrevLogCheck),
    ),
    Variant::of(
        Bug::LeaderAcceptsStaleAppend.switch(),
        breaks(Bug::LeaderAcceptsStaleAppend),
    ),
    Variant::of(
        Bug::TruncateWithoutConflict.switch(),
        breaks(Bug::TruncateWithoutConflict),
    ),
];

/// The core bug named `name` on the command line, if any.
pub fn bug_from_name(name: &str) -> Option<Bug> {
    Bug::ALL.iter().copied().find(|b| b.switch().name == name)
}

/// What `check all` and this crate's tests hold [`RaftMsgModel::default`] to, explored
/// depth-first with symmetry reduction ([`RaftMsgState::representative`]). Changes only
/// with the node (`impls::raft::core`) or the model's environment.
///
/// One action kind cannot fire at the default bounds, by design: `Propose`. The leaders'
/// no-ops are the entries; a client value on top of the default's faults takes the space
/// past what `check all` affords (`--values 1` with no fault at all is 439,167 states and
/// 16 s in a release build; with the default's faults it passes 3.5M states in 120 s
/// without finishing). `truncate-without-conflict`'s run turns one value on.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin {
    unique_states: 213_543,
    dead_actions: &[crate::coverage::DeadAction {
        kind: "Propose",
        reason: "values 0: the leaders' no-ops are the entries (--values 1 explores a client's value; truncate-without-conflict's run has one)",
    }],
};

/// The model and its bounds. The configuration is the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftMsgModel {
    /// Number of servers (the nodes are `0..servers`).
    pub servers: u8,
    /// No server times out into a term beyond this one.
    pub max_term: Term,
    /// Election timeouts in a run: each starts a campaign (or a CheckQuorum round at a
    /// leader).
    pub timeouts: u8,
    /// Values a client proposes in a run, each once.
    pub values: u8,
    /// Heartbeats (retransmissions by a leader) in a run. A leader sends AppendEntries by
    /// itself when it is elected, when it appends and when a follower answers; a heartbeat
    /// only retries what was lost or refused, and each one fills the network with a new
    /// message per follower, so they are bounded like faults.
    pub heartbeats: u8,
    /// Crashes (each followed at once by a restart) in a run.
    pub crashes: u8,
    /// Messages the network may lose in a run.
    pub drops: u8,
    /// Messages the network may deliver twice in a run.
    pub duplicates: u8,
    /// Log compactions in a run.
    pub compactions: u8,
    /// Heartbeats, crashes, drops, duplicates and compactions in a run, together, on top
    /// of each kind's own bound. Each kind multiplies the space on its own; a shared
    /// budget explores each of them (and, with more, their combinations) without the
    /// product.
    pub events: u8,
    /// The nodes campaign with a pre-vote round first.
    pub pre_vote: bool,
    /// The nodes run CheckQuorum (a leader that may step down times out too).
    pub check_quorum: bool,
    /// The most entries one AppendEntries carries.
    pub max_entries_per_message: usize,
    /// The core bug to build the nodes with, or `None` for the correct node.
    pub bug: Option<Bug>,
}

impl Default for RaftMsgModel {
    /// The default bounds: 3 servers, two election timeouts with terms up to 2, no client
    /// value (the leaders' no-ops are the entries), one entry per AppendEntries, and one
    /// environment event per run, which may be any of a heartbeat, a crash and restart, a
    /// lost message, a duplicated message or a compaction; without PreVote and
    /// CheckQuorum. 213,543 states, about 7 s in a release build (see [`PIN`]).
    fn default() -> Self {
        RaftMsgModel {
            servers: 3,
            max_term: 2,
            timeouts: 2,
            values: 0,
            heartbeats: 1,
            crashes: 1,
            drops: 1,
            duplicates: 1,
            compactions: 1,
            events: 1,
            pre_vote: false,
            check_quorum: false,
            max_entries_per_message: 1,
            bug: None,
        }
    }
}

/// The command of value `v` (the empty command for the no-op 0).
pub fn command(v: Value) -> Vec<u8> {
    if v == 0 {
        Vec::new()
    } else {
        vec![v]
    }
}

/// The value of a command: its one byte, or 0 for the empty no-op. Commands the model did
/// not propose do not occur.
pub fn value_of(command: &[u8]) -> Value {
    command.first().copied().unwrap_or(0)
}

/// A state machine's state as snapshot data: (term, value) per index, from index 1.
pub fn encode(applied: &[(Term, Value)]) -> Vec<u8> {
    applied.iter().flat_map(|&(t, v)| [t as u8, v]).collect()
}

/// The state machine a snapshot's data holds (inverse of [`encode`]).
pub fn decode(data: &[u8]) -> Vec<(Term, Value)> {
    data.chunks(2)
        .map(|pair| (Term::from(pair[0]), pair.get(1).copied().unwrap_or(0)))
        .collect()
}

/// The state machine a server restarts with: its snapshot's, or empty.
fn restored(durable: &Durable) -> Vec<(Term, Value)> {
    durable
        .snapshot
        .as_ref()
        .map_or_else(Vec::new, |s| decode(&s.data))
}

/// Whether `node` holds, at `index`, an entry of `term` with `value`. An index its
/// snapshot covers counts as held: a snapshot holds applied entries only, which
/// `StateMachineSafety` checks.
pub(crate) fn holds_entry(node: &Node, index: Index, term: Term, value: Value) -> bool {
    if index < node.first_index() {
        return true;
    }
    match node.entry(index) {
        Some(e) => e.term == term && value_of(&e.command) == value,
        None => false,
    }
}

impl RaftMsgModel {
    /// The bounds at which the tests and `check` catch `bug`: the default ones, plus, for
    /// `truncate-without-conflict` (whose delayed AppendEntries must be shorter than one
    /// the follower acknowledged), a client value, so that a leader's log holds two
    /// entries of its term. The registry's `variant_bounds` says the same for `check`.
    pub fn for_bug(bug: Bug) -> RaftMsgModel {
        let base = RaftMsgModel {
            bug: Some(bug),
            ..RaftMsgModel::default()
        };
        match bug {
            Bug::TruncateWithoutConflict => RaftMsgModel { values: 1, ..base },
            _ => base,
        }
    }

    /// The configuration of node `id`: the model's switches; the timing fields are
    /// irrelevant, as the model never ticks.
    pub fn config(&self, id: NodeId) -> Config {
        Config {
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            max_entries_per_message: self.max_entries_per_message,
            bug: self.bug,
            ..Config::new(id, self.servers)
        }
    }

    /// The number of servers that makes a majority.
    pub fn quorum(&self) -> usize {
        self.servers as usize / 2 + 1
    }

    /// Steps server `i` on `input` in `next` (which was `s` before the step) and carries
    /// out the effects, recording what the properties need.
    fn step(&self, s: &RaftMsgState, next: &mut RaftMsgState, i: NodeId, input: Input) {
        let id = i as usize;
        let effects = next.servers[id].node.step(input);
        record_durability_order(&mut next.broken, i, &effects);
        for effect in effects {
            self.carry_out(next, i, effect);
        }
        record_step(&s.servers[id].node, next, i);
        record_history(next);
    }

    /// Carries out one effect of server `i`'s step, as a driver does.
    fn carry_out(&self, next: &mut RaftMsgState, i: NodeId, effect: Effect) {
        let srv = &mut next.servers[i as usize];
        match effect {
            Effect::Persist(p) => srv.durable.apply(&p),
            Effect::Send { to, message } => {
                next.network.insert(Envelope {
                    from: i,
                    to,
                    message,
                });
            }
            Effect::Apply { index, entry } => {
                let expected = srv.applied.len() as Index + 1;
                if index != expected {
                    next.broken
                        .apply_out_of_order
                        .get_or_insert((i, expected, index));
                }
                let value = value_of(&entry.command);
                match (index as usize).checked_sub(1) {
                    Some(k) if k < srv.applied.len() => srv.applied[k] = (entry.term, value),
                    _ => srv.applied.push((entry.term, value)),
                }
                let in_term = srv.node.term();
                next.committed.entry(index).or_insert(Commit {
                    entry_term: entry.term,
                    value,
                    in_term,
                });
            }
            Effect::Restore(snapshot) => {
                srv.applied = decode(&snapshot.data);
                next.snapshot_installed = true;
            }
            // The model asks no reads (`Input::Read`): ReadIndex is checked by the core's
            // tests and by the Jepsen runs of the service, not here.
            Effect::Proposed { .. }
            | Effect::NotLeader { .. }
            | Effect::ReadReady { .. }
            | Effect::ReadRefused { .. } => {}
        }
    }
}

/// Records in `broken` whether server `i`'s step returned a send before a persist.
pub(crate) fn record_durability_order(broken: &mut Broken, i: NodeId, effects: &[Effect]) {
    if let Err(v) = check_durability_order(effects) {
        broken
            .send_before_persist
            .get_or_insert((i, v.send, v.persist));
    }
}

/// Records what server `i`'s step, from `before` to its node in `next`, did that the
/// step properties and witnesses judge.
pub(crate) fn record_step(before: &Node, next: &mut RaftMsgState, i: NodeId) {
    let after = &next.servers[i as usize].node;
    let broken = &mut next.broken;
    if after.commit_index() < before.commit_index() {
        broken
            .commit_decreased
            .get_or_insert((i, before.commit_index(), after.commit_index()));
    }
    let led_on = before.role() == Role::Leader
        && after.role() == Role::Leader
        && before.term() == after.term();
    if led_on {
        let term = after.term();
        for peer in 0..after.config().servers {
            let (Some(was), Some(is)) = (before.match_index(peer), after.match_index(peer)) else {
                continue;
            };
            if is < was {
                broken
                    .match_decreased
                    .get_or_insert((i, peer, term, was, is));
            }
        }
        let commit = after.commit_index();
        if commit > before.commit_index() {
            let entry_term = after.term_at(commit).unwrap_or(0);
            if entry_term != term {
                broken
                    .commit_by_counting
                    .get_or_insert((i, term, commit, entry_term));
            }
        }
        if let Some(k) = first_change(before, after) {
            broken.leader_log_rewritten.get_or_insert((i, term, k));
        }
    } else if first_change(before, after).is_some_and(|k| after.term_at(k).is_some()) {
        next.overwritten = true;
    }
    let from = before.commit_index() + 1;
    for k in from..=after.commit_index() {
        if let Some(e) = after.entry(k) {
            let commit = Commit {
                entry_term: e.term,
                value: value_of(&e.command),
                in_term: after.term(),
            };
            next.committed.entry(k).or_insert(commit);
        }
    }
}

/// The first index at which `after`'s log no longer holds what `before`'s held (a
/// different entry, or none), among the indices both have not compacted away.
pub(crate) fn first_change(before: &Node, after: &Node) -> Option<Index> {
    let from = before.first_index().max(after.first_index());
    (from..=before.last_index()).find(|&k| {
        let (Some(b), Some(a)) = (before.entry(k), after.entry(k)) else {
            return before.entry(k).is_some() && after.last_index() < k;
        };
        a != b
    })
}

/// Records every leader of every term.
fn record_history(next: &mut RaftMsgState) {
    for (id, srv) in next.servers.iter().enumerate() {
        if srv.node.role() == Role::Leader {
            next.leaders.insert((srv.node.term(), id as NodeId));
        }
    }
}

impl Model for RaftMsgModel {
    type State = RaftMsgState;
    type Action = RaftMsgAction;

    fn init_states(&self) -> Vec<RaftMsgState> {
        let servers = (0..self.servers)
            .map(|id| Server {
                node: Node::new(self.config(id)),
                durable: Durable::default(),
                applied: Vec::new(),
            })
            .collect();
        vec![RaftMsgState {
            servers,
            network: OrdSet::new(),
            proposed: 0,
            timeouts: 0,
            heartbeats: 0,
            crashes: 0,
            drops: 0,
            duplicates: 0,
            compactions: 0,
            events: 0,
            leaders: OrdSet::new(),
            committed: OrdMap::new(),
            restarted_commit: OrdMap::new(),
            overwritten: false,
            snapshot_installed: false,
            broken: Broken::default(),
        }]
    }

    fn actions(&self, s: &RaftMsgState, actions: &mut Vec<RaftMsgAction>) {
        let event = s.events < self.events;
        for (id, srv) in s.servers.iter().enumerate() {
            let i = id as NodeId;
            let node = &srv.node;
            let leads = node.role() == Role::Leader;
            let may_time_out = !leads || self.check_quorum;
            if may_time_out && node.term() < self.max_term && s.timeouts < self.timeouts {
                actions.push(RaftMsgAction::Timeout(i));
            }
            if leads && event && s.heartbeats < self.heartbeats {
                actions.push(RaftMsgAction::Heartbeat(i));
            }
            if leads && s.proposed < self.values {
                actions.push(RaftMsgAction::Propose(i));
            }
        }
        for env in &s.network {
            actions.push(RaftMsgAction::Deliver(env.clone()));
        }
        if event && s.duplicates < self.duplicates {
            for env in &s.network {
                actions.push(RaftMsgAction::Duplicate(env.clone()));
            }
        }
        if event && s.drops < self.drops {
            for env in &s.network {
                actions.push(RaftMsgAction::Drop(env.clone()));
            }
        }
        for (id, srv) in s.servers.iter().enumerate() {
            let i = id as NodeId;
            if event && s.crashes < self.crashes {
                actions.push(RaftMsgAction::Restart(i));
            }
            let snapshot = srv.node.snapshot().map_or(0, |snap| snap.last_index);
            if event && s.compactions < self.compactions && srv.node.applied_index() > snapshot {
                actions.push(RaftMsgAction::Compact(i));
            }
        }
    }

    fn next_state(&self, s: &RaftMsgState, action: RaftMsgAction) -> Option<RaftMsgState> {
        let mut next = s.clone();
        match action {
            RaftMsgAction::Timeout(i) => {
                next.timeouts += 1;
                self.step(s, &mut next, i, Input::Timeout);
            }
            RaftMsgAction::Heartbeat(i) => {
                next.heartbeats += 1;
                next.events += 1;
                self.step(s, &mut next, i, Input::Heartbeat);
            }
            RaftMsgAction::Propose(i) => {
                next.proposed += 1;
                let input = Input::Propose {
                    command: command(next.proposed),
                };
                self.step(s, &mut next, i, input);
            }
            RaftMsgAction::Deliver(env) | RaftMsgAction::Duplicate(env)
                if !s.network.contains(&env) =>
            {
                return None;
            }
            RaftMsgAction::Deliver(env) => {
                next.network.remove(&env);
                self.deliver(s, &mut next, env);
            }
            RaftMsgAction::Duplicate(env) => {
                next.duplicates += 1;
                next.events += 1;
                self.deliver(s, &mut next, env);
            }
            RaftMsgAction::Drop(env) => {
                next.network.remove(&env)?;
                next.drops += 1;
                next.events += 1;
            }
            RaftMsgAction::Restart(i) => {
                let id = i as usize;
                next.crashes += 1;
                next.events += 1;
                let commit = s.servers[id].node.commit_index();
                let srv = &mut next.servers[id];
                srv.node = Node::restart(self.config(i), srv.durable.clone());
                srv.applied = restored(&srv.durable);
                if commit > 0 {
                    next.restarted_commit.insert(i, commit);
                }
            }
            RaftMsgAction::Compact(i) => {
                let srv = &s.servers[i as usize];
                let index = srv.node.applied_index();
                let upto = (index as usize).min(srv.applied.len());
                let input = Input::Compact {
                    index,
                    data: encode(&srv.applied[..upto]),
                };
                next.compactions += 1;
                next.events += 1;
                self.step(s, &mut next, i, input);
            }
        }
        collect_dead_responses(&mut next);
        // A step that changes neither a server nor the network (a heartbeat whose
        // messages are all in flight, a duplicate the receiver ignores) is not a step of
        // the system: it would only spend a budget.
        if next.servers == s.servers && next.network == s.network {
            return None;
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::table()
    }

    /// The Explorer's name for an action, e.g. `n1 -> n2 AppendEntries{...}`.
    fn format_action(&self, action: &RaftMsgAction) -> String {
        action.to_string()
    }

    /// The Explorer's view of a step: what it does in protocol words, then the next state.
    fn format_step(&self, last: &RaftMsgState, action: RaftMsgAction) -> Option<String> {
        crate::explorer_step(self, last, action)
    }
}

impl RaftMsgModel {
    /// Delivers `env` to its receiver, already taken out of (or kept in) the network.
    fn deliver(&self, s: &RaftMsgState, next: &mut RaftMsgState, env: Envelope) {
        let input = Input::Receive {
            from: env.from,
            message: env.message,
        };
        self.step(s, next, env.to, input);
    }
}

/// Whether delivering `env` can never change its receiver again: a response of an older
/// term than the receiver's, or of its term when the receiver can no longer be the
/// candidate (for a vote) or the leader (for an acknowledgement) the response is for.
///
/// That rests on two facts of Raft that every node, buggy ones included, keeps: a term
/// never decreases, and within one term a server goes from follower to candidate to
/// leader, never back (a new candidacy is a new term; a restart comes back a follower
/// that must raise its term to campaign). A node ignores a response its role and term
/// cannot use; so once dead, a response stays dead, and losing it (which the network
/// may do anyway) removes only states that no property can tell apart.
///
/// Pre-vote responses are kept: a follower may campaign again in the same term, and
/// count a pre-vote granted to its previous round.
pub(crate) fn is_dead_response(receiver: &Node, message: &Message) -> bool {
    let (term, role) = (receiver.term(), receiver.role());
    match *message {
        Message::RequestVoteResponse {
            term: t,
            pre_vote: false,
            ..
        } => t < term || (t == term && role != Role::Candidate),
        Message::AppendEntriesResponse { term: t, .. }
        | Message::InstallSnapshotResponse { term: t, .. } => {
            t < term || (t == term && role != Role::Leader && role != Role::Candidate)
        }
        _ => false,
    }
}

/// Removes the responses in flight that can no longer change their receiver (see
/// [`is_dead_response`]).
fn collect_dead_responses(s: &mut RaftMsgState) {
    let dead: Vec<Envelope> = s
        .network
        .iter()
        .filter(|e| is_dead_response(&s.servers[e.to as usize].node, &e.message))
        .cloned()
        .collect();
    for e in dead {
        s.network.remove(&e);
    }
}

/// Entry `k`'s (term, value) in `node`'s log, if it holds the entry.
pub(crate) fn entry_at(node: &Node, k: Index) -> Option<(Term, Value)> {
    node.entry(k)
        .map(|e: &Entry| (e.term, value_of(&e.command)))
}

/// The snapshot's last index and term, if `node` has one.
pub(crate) fn snapshot_at(node: &Node) -> Option<(Index, Term)> {
    node.snapshot()
        .map(|s: &Snapshot| (s.last_index, s.last_term))
}

//! What every paper test needs: nodes configured for plain Raft, logs built from a list of
//! terms, a step that checks the durability rule on every call, ready-made messages, and
//! views of a step's effects. [`network`] adds a tiny cluster for the tests that need
//! more than one live node.
//!
//! Server ids: etcd's tests number servers from 1, ours from 0, so etcd's node 1 (the one
//! under test) is our 0, its 2 is our 1 and its 3 our 2.

pub(super) mod network;

use crate::raft::core::{
    Bug, Config, Durable, Effect, Entry, Index, Input, Message, Node, Persist, Role, Term,
};
use crate::raft::NodeId;
use crate::sansio::{check_durability_order, Core};

/// A check's verdict: `Err` says which assertion failed, with what it saw.
pub(crate) type Outcome = Result<(), String>;

/// A paper test's logic, runnable with a bug built into every node it creates.
pub(crate) type Check = fn(Option<Bug>) -> Outcome;

/// Returns `Err` with the formatted message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {{
        let holds: bool = $cond;
        if !holds {
            return Err(format!($($msg)+));
        }
    }};
}

/// Returns `Err` naming the context, the value seen and the value wanted unless they are
/// equal.
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($ctx:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err(format!(
                "{}: got {:?}, want {:?}",
                format_args!($($ctx)+),
                got,
                want
            ));
        }
    }};
}

pub(super) use {ensure, ensure_eq};

/// etcd's `newTestRaft(id, 10, 1, ...)`: an election timeout of 10 ticks (so drawn from
/// `[10, 20)`), a heartbeat every tick.
pub(super) const ELECTION_TICKS: u32 = 10;

/// The configuration etcd's paper tests assume: plain Raft, so PreVote and CheckQuorum
/// off; `bug` built in.
pub(super) fn config(id: NodeId, servers: u8, bug: Option<Bug>) -> Config {
    Config {
        election_ticks: ELECTION_TICKS,
        heartbeat_ticks: 1,
        pre_vote: false,
        check_quorum: false,
        bug,
        ..Config::new(id, servers)
    }
}

/// A fresh node (term 0, empty log) of a cluster of `servers`.
pub(super) fn fresh(id: NodeId, servers: u8, bug: Option<Bug>) -> Node {
    Node::new(config(id, servers, bug))
}

/// A node restarted from a disk holding `term`, `voted_for` and a log with `terms`.
pub(super) fn restarted(
    id: NodeId,
    servers: u8,
    bug: Option<Bug>,
    term: Term,
    voted_for: Option<NodeId>,
    terms: &[Term],
) -> Node {
    Node::restart(config(id, servers, bug), durable(term, voted_for, terms))
}

/// A disk holding `term`, `voted_for` and a log whose entries have `terms`, from index 1.
pub(super) fn durable(term: Term, voted_for: Option<NodeId>, terms: &[Term]) -> Durable {
    Durable {
        term,
        voted_for,
        snapshot: None,
        entries: log(terms).0,
    }
}

/// The entry a test puts at `index` in `term`. Its command depends on nothing else, so two
/// logs that agree on an entry's index and term hold the same entry (Log Matching), as
/// they must for the logs to be comparable.
pub(super) fn entry(index: Index, term: Term) -> Entry {
    Entry {
        term,
        command: format!("{index}@{term}").into_bytes(),
    }
}

/// A log, compared entry by entry and printed readably (`term:"command"`), so that a
/// failure shows where two logs part.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Log(pub(super) Vec<Entry>);

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(Shown)).finish()
    }
}

/// One entry as `term:"command"`.
struct Shown<'a>(&'a Entry);

impl std::fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let command = String::from_utf8_lossy(&self.0.command);
        write!(f, "{}:{command:?}", self.0.term)
    }
}

/// A log from index 1 whose entries have `terms` (etcd's `index(1).terms(...)`).
pub(super) fn log(terms: &[Term]) -> Log {
    Log(terms.iter().zip(1..).map(|(&t, i)| entry(i, t)).collect())
}

/// `entries` placed from index `from` on (etcd's `index(from).terms(...)`).
pub(super) fn entries_from(from: Index, terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .zip(from..)
        .map(|(&t, i)| entry(i, t))
        .collect()
}

/// The log the node holds now, from its first index to its last.
pub(super) fn log_of(node: &Node) -> Log {
    Log((node.first_index()..=node.last_index())
        .filter_map(|i| node.entry(i).cloned())
        .collect())
}

/// Steps `node` on `input`, failing if the effects break the durability rule (a persist
/// after a send): every test checks it on every step for free.
pub(super) fn step(node: &mut Node, input: Input) -> Result<Vec<Effect>, String> {
    let description = format!("{input:?}");
    let effects = node.step(input);
    check_durability_order(&effects)
        .map_err(|v| format!("node {} on {description}: {v}", node.id()))?;
    Ok(effects)
}

/// Steps `node` on each input in turn and returns all the effects, in order.
pub(super) fn step_all(
    node: &mut Node,
    inputs: impl IntoIterator<Item = Input>,
) -> Result<Vec<Effect>, String> {
    let mut effects = Vec::new();
    for input in inputs {
        effects.extend(step(node, input)?);
    }
    Ok(effects)
}

/// `message` arriving from `from`.
pub(super) fn receive(from: NodeId, message: Message) -> Input {
    Input::Receive { from, message }
}

/// An AppendEntries of `term` carrying `entries` after (`prev_index`, `prev_term`).
pub(super) fn append(
    term: Term,
    prev_index: Index,
    prev_term: Term,
    entries: Vec<Entry>,
    leader_commit: Index,
) -> Message {
    Message::AppendEntries {
        term,
        prev_log_index: prev_index,
        prev_log_term: prev_term,
        entries,
        leader_commit,
        round: 0,
    }
}

/// An AppendEntries of `term` with no entries: a heartbeat.
pub(super) fn heartbeat(term: Term, prev_index: Index, prev_term: Term, commit: Index) -> Message {
    append(term, prev_index, prev_term, Vec::new(), commit)
}

/// A (real, not pre-) RequestVote of `term` from a candidate whose log ends at
/// (`last_index`, `last_term`).
pub(super) fn request_vote(term: Term, last_index: Index, last_term: Term) -> Message {
    Message::RequestVote {
        term,
        last_log_index: last_index,
        last_log_term: last_term,
        pre_vote: false,
    }
}

/// A (real, not pre-) vote answer in `term`.
pub(super) fn vote(term: Term, granted: bool) -> Message {
    Message::RequestVoteResponse {
        term,
        granted,
        pre_vote: false,
    }
}

/// etcd's `acceptAndReply`: the success answer a follower would give to `message`, were
/// its log to match; `None` for anything but an AppendEntries.
pub(super) fn accepted(message: &Message) -> Option<Message> {
    match message {
        Message::AppendEntries {
            term,
            prev_log_index,
            entries,
            ..
        } => Some(Message::AppendEntriesResponse {
            term: *term,
            success: true,
            index: prev_log_index + entries.len() as Index,
            round: 0,
        }),
        _ => None,
    }
}

/// The sends among `effects`, ordered by destination (and in effect order for each one),
/// as etcd sorts `readMessages()`.
pub(super) fn sends(effects: &[Effect]) -> Vec<(NodeId, Message)> {
    let mut sends: Vec<(NodeId, Message)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect();
    sends.sort_by_key(|(to, _)| *to);
    sends
}

/// The log writes among `effects`: (first index written, entries).
pub(super) fn entry_writes(effects: &[Effect]) -> Vec<(Index, Vec<Entry>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(Persist::Entries { from, entries }) => Some((*from, entries.clone())),
            _ => None,
        })
        .collect()
}

/// The `(currentTerm, votedFor)` writes among `effects`.
pub(super) fn hard_state_writes(effects: &[Effect]) -> Vec<(Term, Option<NodeId>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(Persist::HardState { term, voted_for }) => Some((*term, *voted_for)),
            _ => None,
        })
        .collect()
}

/// Every persist among `effects`, as a driver would carry them out in order.
pub(super) fn persists(effects: &[Effect]) -> Vec<Persist> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// The entries `effects` hand to the state machine, in order.
pub(super) fn applied(effects: &[Effect]) -> Vec<(Index, Entry)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Apply { index, entry } => Some((*index, entry.clone())),
            _ => None,
        })
        .collect()
}

/// `disk` after a driver carried out every persist among `effects`.
pub(super) fn after_persists(mut disk: Durable, effects: &[Effect]) -> Durable {
    for persist in persists(effects) {
        disk.apply(&persist);
    }
    disk
}

/// Makes `node` a leader in a new term: an election timeout, then granted votes from the
/// lowest-numbered peers until it wins. Returns every effect, including the AppendEntries
/// with the new leader's no-op.
pub(super) fn elect(node: &mut Node) -> Result<Vec<Effect>, String> {
    let mut effects = step(node, Input::Timeout)?;
    let term = node.term();
    let peers: Vec<NodeId> = (0..node.config().servers)
        .filter(|&p| p != node.id())
        .collect();
    for peer in peers {
        if node.role() == Role::Leader {
            break;
        }
        effects.extend(step(node, receive(peer, vote(term, true)))?);
    }
    ensure_eq!(
        node.role(),
        Role::Leader,
        "node {} after a won election",
        node.id()
    );
    ensure_eq!(node.term(), term, "the leader's term");
    Ok(effects)
}

/// How many rounds of answers [`acknowledge`] gives at most: enough for any leader to
/// send what it holds back until an earlier AppendEntries is answered.
const ACK_ROUNDS_MAX: usize = 8;

/// etcd's `for m := range r.readMessages() { r.Step(acceptAndReply(m)) }`, repeated: answers
/// every AppendEntries among `effects` with [`accepted`] from its destination when
/// `acceptor` says so, then the AppendEntries those answers caused, and so on until the
/// leader sends no more (or [`ACK_ROUNDS_MAX`] rounds). Returns every effect of the
/// answers, in order.
pub(super) fn acknowledge(
    node: &mut Node,
    effects: &[Effect],
    acceptor: impl Fn(NodeId) -> bool,
) -> Result<Vec<Effect>, String> {
    let mut all = Vec::new();
    let mut latest = effects.to_vec();
    for _ in 0..ACK_ROUNDS_MAX {
        let answers: Vec<Input> = sends(&latest)
            .into_iter()
            .filter(|(to, _)| acceptor(*to))
            .filter_map(|(to, m)| accepted(&m).map(|a| receive(to, a)))
            .collect();
        if answers.is_empty() {
            break;
        }
        latest = step_all(node, answers)?;
        all.extend(latest.iter().cloned());
    }
    Ok(all)
}

/// Ticks `node` until it sends a RequestVote and returns how many ticks that took; fails
/// after `2 * election_ticks` ticks, beyond the longest timeout it may draw.
pub(super) fn ticks_until_campaign(node: &mut Node) -> Result<u32, String> {
    let limit = 2 * node.config().election_ticks;
    for ticks in 1..=limit {
        let effects = step(node, Input::Tick)?;
        let campaigned = sends(&effects)
            .iter()
            .any(|(_, m)| matches!(m, Message::RequestVote { .. }));
        if campaigned {
            return Ok(ticks);
        }
    }
    Err(format!(
        "node {} in term {} did not campaign within {limit} ticks",
        node.id(),
        node.term()
    ))
}

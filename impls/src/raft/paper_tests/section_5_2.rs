//! §5.2, leader election: servers start as followers, a leader's heartbeats hold its
//! authority, a follower or candidate that hears nothing for an election timeout starts a
//! new election, a server votes at most once per term, and randomised timeouts keep split
//! votes rare.

use std::collections::BTreeMap;

use super::harness::network::Network;
use super::harness::{
    acknowledge, after_persists, durable, elect, ensure, ensure_eq, fresh, hard_state_writes,
    heartbeat, receive, request_vote, restarted, sends, step, step_all, ticks_until_campaign, vote,
    Check, Outcome, ELECTION_TICKS,
};
use crate::raft::core::{Bug, Config, Input, Message, Node, Role};
use crate::raft::NodeId;

/// §5.2: "When servers start up, they begin as followers": a fresh node, and one restarted
/// from a disk that says it voted in term 5, are followers that know no leader.
pub(super) fn check_start_as_follower(bug: Option<Bug>) -> Outcome {
    let node = fresh(0, 3, bug);
    ensure_eq!(node.role(), Role::Follower, "a fresh node's role");
    ensure_eq!(node.term(), 0, "a fresh node's term");
    ensure_eq!(node.voted_for(), None, "a fresh node's vote");
    ensure_eq!(node.leader(), None, "a fresh node's leader");
    ensure_eq!(node.last_index(), 0, "a fresh node's log");

    let node = Node::restart(
        super::harness::config(0, 3, bug),
        durable(5, Some(1), &[1, 3, 5]),
    );
    ensure_eq!(node.role(), Role::Follower, "a restarted node's role");
    ensure_eq!(node.term(), 5, "a restarted node's term");
    ensure_eq!(node.voted_for(), Some(1), "a restarted node's vote");
    ensure_eq!(node.leader(), None, "a restarted node's leader");
    ensure_eq!(node.last_index(), 3, "a restarted node's log");
    Ok(())
}

/// §5.2: "When servers start up, they begin as followers."
#[test]
fn start_as_follower() {
    check_start_as_follower(None).unwrap();
}

/// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries)
/// to all followers in order to maintain their authority." A leader whose followers hold
/// its whole log sends each of them, once `heartbeat_ticks` ticks have passed and not
/// before, one AppendEntries with no entries that names its last entry and its commit
/// index.
pub(super) fn check_leader_bcast_beat(bug: Option<Bug>) -> Outcome {
    for heartbeat_ticks in [1, 3] {
        let config = Config {
            heartbeat_ticks,
            ..super::harness::config(0, 3, bug)
        };
        let mut node = Node::new(config);
        let effects = elect(&mut node)?;
        acknowledge(&mut node, &effects, |_| true)?;
        for i in 0..10 {
            let effects = step(
                &mut node,
                Input::Propose {
                    command: format!("command {i}").into_bytes(),
                },
            )?;
            acknowledge(&mut node, &effects, |_| true)?;
        }
        ensure_eq!(node.last_index(), 11, "the no-op and ten proposals");
        ensure_eq!(node.commit_index(), 11, "every entry acknowledged");

        for tick in 1..heartbeat_ticks {
            let effects = step(&mut node, Input::Tick)?;
            ensure!(
                effects.is_empty(),
                "heartbeat every {heartbeat_ticks} ticks: tick {tick} did {effects:?}"
            );
        }
        let effects = step(&mut node, Input::Tick)?;
        let beat = heartbeat(1, 11, 1, 11);
        ensure_eq!(
            effects.len(),
            2,
            "heartbeat every {heartbeat_ticks} ticks: effects of tick {heartbeat_ticks}: {effects:?}"
        );
        ensure_eq!(
            sends(&effects),
            vec![(1, beat.clone()), (2, beat)],
            "heartbeat every {heartbeat_ticks} ticks: the beats"
        );
    }
    Ok(())
}

/// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries)
/// to all followers."
#[test]
fn leader_bcast_beat() {
    check_leader_bcast_beat(None).unwrap();
}

/// The shared logic of `follower_start_new_election` and `candidate_start_new_election`: a
/// node in `role` in term 1 that hears nothing for `2 * election_ticks - 1` ticks (longer
/// than any timeout it may draw) has started one election for term 2: it is a candidate,
/// voted for itself durably before asking, and sent one RequestVote to each other server.
fn check_nonleader_start_election(role: Role, bug: Option<Bug>) -> Outcome {
    let mut node = fresh(0, 3, bug);
    match role {
        Role::Follower => step(&mut node, receive(1, heartbeat(1, 0, 0, 0)))?,
        Role::Candidate => step(&mut node, Input::Timeout)?,
        _ => return Err(format!("{role:?} is not a starting point here")),
    };
    ensure_eq!((node.role(), node.term()), (role, 1), "set-up");

    let effects = step_all(&mut node, (1..2 * ELECTION_TICKS).map(|_| Input::Tick))?;
    ensure_eq!(node.term(), 2, "{role:?}: term after the timeout");
    ensure_eq!(
        node.role(),
        Role::Candidate,
        "{role:?}: role after the timeout"
    );
    ensure_eq!(node.voted_for(), Some(0), "{role:?}: its vote");
    ensure!(
        hard_state_writes(&effects).contains(&(2, Some(0))),
        "{role:?}: the term and vote were not persisted: {effects:?}"
    );
    let request = request_vote(2, 0, 0);
    ensure_eq!(
        sends(&effects),
        vec![(1, request.clone()), (2, request)],
        "{role:?}: the requests"
    );
    Ok(())
}

/// §5.2: "If a follower receives no communication over a period of time called the
/// election timeout, then it ... begins an election": it "increments its current term and
/// transitions to candidate state", "votes for itself and issues RequestVote RPCs in
/// parallel to each of the other servers".
#[test]
fn follower_start_new_election() {
    check_follower_start_new_election(None).unwrap();
}

/// `follower_start_new_election`'s logic.
pub(super) fn check_follower_start_new_election(bug: Option<Bug>) -> Outcome {
    check_nonleader_start_election(Role::Follower, bug)
}

/// §5.2: if a candidate neither wins nor loses, "each candidate will time out and start a
/// new election by incrementing its term and initiating another round of RequestVote RPCs".
#[test]
fn candidate_start_new_election() {
    check_candidate_start_new_election(None).unwrap();
}

/// `candidate_start_new_election`'s logic.
pub(super) fn check_candidate_start_new_election(bug: Option<Bug>) -> Outcome {
    check_nonleader_start_election(Role::Candidate, bug)
}

/// How one round of votes ends for a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoundEnd {
    /// It has a majority: leader.
    Wins,
    /// A majority refused: it cannot win this term. etcd steps down to follower; the paper
    /// only says the candidate waits for the next timeout, so either role passes, as long
    /// as it is not leader.
    Loses,
    /// Neither: it is still a candidate.
    Undecided,
}

/// One round: the cluster size, the answers (`true` granted) and how the round ends.
type RoundCase = (u8, &'static [(NodeId, bool)], RoundEnd);

/// §5.2's three outcomes of a round of RequestVote RPCs. Node 0 of `servers` campaigns in
/// term 1 and receives the answers in `votes` (`true` granted): it leads exactly when a
/// majority (counting itself) granted, and stays in term 1 in every case. Then, on a real
/// cluster of 1, 3 and 5 fresh nodes, one timeout and a quiet network make node 0 the
/// leader of term 1 and everyone else its follower.
pub(super) fn check_leader_election_in_one_round_rpc(bug: Option<Bug>) -> Outcome {
    use RoundEnd::{Loses, Undecided, Wins};
    let cases: &[RoundCase] = &[
        (1, &[], Wins),
        (3, &[(1, true), (2, true)], Wins),
        (3, &[(1, true)], Wins),
        (5, &[(1, true), (2, true), (3, true), (4, true)], Wins),
        (5, &[(1, true), (2, true), (3, true)], Wins),
        (5, &[(1, true), (2, true)], Wins),
        (3, &[(1, false), (2, false)], Loses),
        (5, &[(1, false), (2, false), (3, false), (4, false)], Loses),
        (5, &[(1, true), (2, false), (3, false), (4, false)], Loses),
        (3, &[], Undecided),
        (5, &[(1, true)], Undecided),
        (5, &[(1, false), (2, false)], Undecided),
        (5, &[], Undecided),
    ];
    for (case, &(servers, votes, outcome)) in cases.iter().enumerate() {
        let mut node = fresh(0, servers, bug);
        step(&mut node, Input::Timeout)?;
        for &(from, granted) in votes {
            step(&mut node, receive(from, vote(1, granted)))?;
        }
        let role = node.role();
        let expected = match outcome {
            Wins => role == Role::Leader,
            Loses => role == Role::Follower || role == Role::Candidate,
            Undecided => role == Role::Candidate,
        };
        ensure!(
            expected,
            "case {case} ({servers} servers, votes {votes:?}): {outcome:?} expected, role {role:?}"
        );
        ensure_eq!(node.term(), 1, "case {case}: term");
    }

    for servers in [1, 3, 5] {
        let mut network = Network::new(
            (0..servers)
                .map(|id| Some(fresh(id, servers, bug)))
                .collect(),
        );
        network.step(0, Input::Timeout)?;
        network.deliver_all()?;
        for id in 0..servers {
            let node = network.node(id);
            let want_role = if id == 0 {
                Role::Leader
            } else {
                Role::Follower
            };
            ensure_eq!(
                (node.role(), node.term(), node.leader()),
                (want_role, 1, Some(0)),
                "{servers} servers, node {id}: role, term, leader"
            );
        }
    }
    Ok(())
}

/// §5.2: "A candidate wins an election if it receives votes from a majority of the servers
/// in the full cluster for the same term"; it may also lose, or the round may end with no
/// winner.
#[test]
fn leader_election_in_one_round_rpc() {
    check_leader_election_in_one_round_rpc(None).unwrap();
}

/// §5.2: "Each server will vote for at most one candidate in a given term, on a
/// first-come-first-served basis." A follower of term 1 that voted for `voted` (or nobody)
/// grants a term-1 RequestVote only to that candidate (or anyone, if it had not voted).
/// Then the restart variant: a vote survives a crash, so a restarted server (built from
/// what its persists wrote) refuses a second candidate in the same term.
pub(super) fn check_follower_vote(bug: Option<Bug>) -> Outcome {
    let cases: &[(Option<NodeId>, NodeId, bool)] = &[
        (None, 1, true),
        (None, 2, true),
        (Some(1), 1, true),
        (Some(2), 2, true),
        (Some(1), 2, false),
        (Some(2), 1, false),
    ];
    for &(voted, candidate, granted) in cases {
        let mut node = restarted(0, 3, bug, 1, voted, &[]);
        let effects = step(&mut node, receive(candidate, request_vote(1, 0, 0)))?;
        ensure_eq!(
            sends(&effects),
            vec![(candidate, vote(1, granted))],
            "voted for {voted:?} in term 1, asked by {candidate}"
        );
        let vote_now = if granted { Some(candidate) } else { voted };
        ensure_eq!(
            node.voted_for(),
            vote_now,
            "voted for {voted:?}, asked by {candidate}: vote"
        );
        if granted && voted.is_none() {
            ensure!(
                hard_state_writes(&effects).contains(&(1, Some(candidate))),
                "a new vote for {candidate} was not persisted: {effects:?}"
            );
        }
    }

    // The restart variant: vote for 1 in term 1, crash, restart from the disk, be asked by 2.
    let mut node = fresh(0, 3, bug);
    let effects = step(&mut node, receive(1, request_vote(1, 0, 0)))?;
    ensure_eq!(
        sends(&effects),
        vec![(1, vote(1, true))],
        "the first vote of term 1"
    );
    let disk = after_persists(Default::default(), &effects);
    ensure_eq!(
        (disk.term, disk.voted_for),
        (1, Some(1)),
        "what the vote wrote to disk"
    );
    ensure_eq!(
        node.durable(),
        disk,
        "what the node says a restart recovers"
    );
    let mut node = Node::restart(super::harness::config(0, 3, bug), disk);
    let effects = step(&mut node, receive(2, request_vote(1, 0, 0)))?;
    ensure_eq!(
        sends(&effects),
        vec![(2, vote(1, false))],
        "after a restart, a second candidate in term 1"
    );
    Ok(())
}

/// §5.2: "Each server will vote for at most one candidate in a given term, on a
/// first-come-first-served basis" (and, Figure 2, `votedFor` is persistent).
#[test]
fn follower_vote() {
    check_follower_vote(None).unwrap();
}

/// §5.2: "While waiting for votes, a candidate may receive an AppendEntries RPC from another
/// server claiming to be leader. If the leader's term ... is at least as large as the
/// candidate's current term, then the candidate recognizes the leader as legitimate and
/// returns to follower state." Both for an equal and a larger term.
pub(super) fn check_candidate_fallback(bug: Option<Bug>) -> Outcome {
    for term in [1, 2] {
        let mut node = fresh(0, 3, bug);
        step(&mut node, Input::Timeout)?;
        ensure_eq!((node.role(), node.term()), (Role::Candidate, 1), "set-up");
        step(&mut node, receive(1, heartbeat(term, 0, 0, 0)))?;
        ensure_eq!(
            (node.role(), node.term(), node.leader()),
            (Role::Follower, term, Some(1)),
            "a candidate of term 1 hearing a leader of term {term}: role, term, leader"
        );
    }
    Ok(())
}

/// §5.2: a candidate that hears from a leader of its term or later "returns to follower
/// state".
#[test]
fn candidate_fallback() {
    check_candidate_fallback(None).unwrap();
}

/// How many rounds the randomised-timeout tests run (etcd: `50 * et` for one node).
const ROUNDS: u64 = 500;

/// Counts how often each timeout, in ticks, was seen.
fn histogram(timeouts: &[u32]) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for &t in timeouts {
        *counts.entry(t).or_insert(0) += 1;
    }
    counts
}

/// Fails unless every timeout in `timeouts` is in `[election_ticks, 2 * election_ticks)`
/// and every value of that range occurs.
fn ensure_spread(what: &str, timeouts: &[u32]) -> Outcome {
    let counts = histogram(timeouts);
    let range = ELECTION_TICKS..2 * ELECTION_TICKS;
    ensure!(
        counts.keys().all(|t| range.contains(t)),
        "{what}: a timeout outside {range:?}: {counts:?}"
    );
    ensure!(
        range.clone().all(|t| counts.contains_key(&t)),
        "{what}: not every timeout in {range:?} occurs: {counts:?}"
    );
    Ok(())
}

/// The timeouts the randomised-timeout test measures, by kind of run: a fresh follower
/// for each entropy; one follower made to follow a new leader each round, as etcd does;
/// one candidate that times out round after round.
pub(super) fn measure_election_timeouts(
    bug: Option<Bug>,
) -> Result<Vec<(&'static str, Vec<u32>)>, String> {
    let mut by_entropy = Vec::new();
    for entropy in 0..ROUNDS {
        let mut node = Node::new(Config {
            entropy,
            ..super::harness::config(0, 3, bug)
        });
        by_entropy.push(ticks_until_campaign(&mut node)?);
    }

    let mut follower = fresh(0, 3, bug);
    let mut as_follower = Vec::new();
    for _ in 0..ROUNDS {
        let term = follower.term() + 1;
        step(&mut follower, receive(1, heartbeat(term, 0, 0, 0)))?;
        ensure_eq!(follower.role(), Role::Follower, "follower in term {term}");
        as_follower.push(ticks_until_campaign(&mut follower)?);
    }

    let mut candidate = fresh(0, 3, bug);
    step(&mut candidate, Input::Timeout)?;
    let mut as_candidate = Vec::new();
    for _ in 0..ROUNDS {
        as_candidate.push(ticks_until_campaign(&mut candidate)?);
        ensure_eq!(
            candidate.role(),
            Role::Candidate,
            "a candidate that timed out"
        );
    }
    Ok(vec![
        ("fresh followers, entropy 0..500", by_entropy),
        ("one follower, 500 terms", as_follower),
        ("one candidate, 500 terms", as_candidate),
    ])
}

/// §5.2: "Raft uses randomized election timeouts ... election timeouts are chosen randomly
/// from a fixed interval (e.g., 150–300ms)." Here `[10, 20)` ticks: over many draws every
/// value of the interval occurs, and no other.
pub(super) fn check_election_timeout_randomized(bug: Option<Bug>) -> Outcome {
    for (what, timeouts) in measure_election_timeouts(bug)? {
        ensure_spread(what, &timeouts)?;
    }
    Ok(())
}

/// §5.2: "election timeouts are chosen randomly from a fixed interval".
#[test]
fn election_timeout_randomized() {
    for (what, timeouts) in measure_election_timeouts(None).unwrap() {
        println!("{what}: timeouts {:?}", histogram(&timeouts));
    }
    check_election_timeout_randomized(None).unwrap();
}

/// The most split-prone rounds the non-conflict test allows (etcd: 0.3). With five
/// independent uniform draws from ten values the expected share is about 0.23.
const CONFLICT_SHARE_MAX: f64 = 0.3;

/// How many rounds the non-conflict test runs (etcd: 1000).
const CONFLICT_ROUNDS: u64 = 1000;

/// Ticks five nodes in lock step until at least one campaigns; returns how many campaigned
/// on that tick.
fn first_to_time_out(nodes: &mut [Node]) -> Result<usize, String> {
    for _ in 0..2 * ELECTION_TICKS {
        let mut campaigned = 0;
        for node in nodes.iter_mut() {
            let effects = step(node, Input::Tick)?;
            if sends(&effects)
                .iter()
                .any(|(_, m)| matches!(m, Message::RequestVote { .. }))
            {
                campaigned += 1;
            }
        }
        if campaigned > 0 {
            return Ok(campaigned);
        }
    }
    Err(format!(
        "nobody campaigned within {} ticks",
        2 * ELECTION_TICKS
    ))
}

/// The entropy the five fresh followers share in `round`: the round spread over the
/// 64-bit range (Fibonacci hashing), as entropy a caller draws at random would be.
/// Consecutive small numbers would make neighbouring rounds alike: the node mixes its id
/// into the entropy, so entropy 4 at server 1 draws as entropy 5 at server 0, and rounds
/// 0..1000 would share seeds in blocks of four (measured: 0.297 of them split, against
/// 0.23 for independent rounds).
fn round_entropy(round: u64) -> u64 {
    round.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The share of rounds in which more than one of five nodes timed out on the first tick
/// any did: for five fresh followers sharing an entropy (a new one each round,
/// [`round_entropy`], so only the ids tell them apart), and for five candidates timing out round after round.
pub(super) fn measure_conflicts(bug: Option<Bug>) -> Result<(f64, f64), String> {
    let servers = 5;
    let mut follower_conflicts = 0;
    for round in 0..CONFLICT_ROUNDS {
        let entropy = round_entropy(round);
        let mut nodes: Vec<Node> = (0..servers)
            .map(|id| {
                Node::new(Config {
                    entropy,
                    ..super::harness::config(id, servers, bug)
                })
            })
            .collect();
        if first_to_time_out(&mut nodes)? > 1 {
            follower_conflicts += 1;
        }
    }

    let mut candidates: Vec<Node> = (0..servers).map(|id| fresh(id, servers, bug)).collect();
    let mut candidate_conflicts = 0;
    for _ in 0..CONFLICT_ROUNDS {
        for node in candidates.iter_mut() {
            step(node, Input::Timeout)?;
        }
        if first_to_time_out(&mut candidates)? > 1 {
            candidate_conflicts += 1;
        }
    }
    let share = |n: u64| n as f64 / CONFLICT_ROUNDS as f64;
    Ok((share(follower_conflicts), share(candidate_conflicts)))
}

/// §5.2: randomised timeouts "spread out the servers so that in most cases only a single
/// server will time out; it wins the election and sends heartbeats before any other
/// servers time out." In at most 30% of rounds do two of five servers time out on the
/// same first tick.
pub(super) fn check_election_timeout_nonconflict(bug: Option<Bug>) -> Outcome {
    let (followers, candidates) = measure_conflicts(bug)?;
    ensure!(
        followers <= CONFLICT_SHARE_MAX,
        "followers: {followers} of rounds split, more than {CONFLICT_SHARE_MAX}"
    );
    ensure!(
        candidates <= CONFLICT_SHARE_MAX,
        "candidates: {candidates} of rounds split, more than {CONFLICT_SHARE_MAX}"
    );
    Ok(())
}

/// §5.2: "in most cases only a single server will time out".
#[test]
fn election_timeout_nonconflict() {
    let (followers, candidates) = measure_conflicts(None).unwrap();
    println!("split rounds: followers {followers}, candidates {candidates}");
    check_election_timeout_nonconflict(None).unwrap();
}

/// Every test of this section, by name, with its logic.
pub(super) const CHECKS: &[(&str, Check)] = &[
    ("start_as_follower", check_start_as_follower),
    ("leader_bcast_beat", check_leader_bcast_beat),
    (
        "follower_start_new_election",
        check_follower_start_new_election,
    ),
    (
        "candidate_start_new_election",
        check_candidate_start_new_election,
    ),
    (
        "leader_election_in_one_round_rpc",
        check_leader_election_in_one_round_rpc,
    ),
    ("follower_vote", check_follower_vote),
    ("candidate_fallback", check_candidate_fallback),
    (
        "election_timeout_randomized",
        check_election_timeout_randomized,
    ),
    (
        "election_timeout_nonconflict",
        check_election_timeout_nonconflict,
    ),
];

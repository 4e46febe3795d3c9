//! §5.3, log replication: a leader appends a client's command, replicates it, commits it
//! once a majority stores it, and tells the followers; a follower accepts entries only
//! after an entry that matches the leader's, replaces what conflicts, and so is brought
//! into agreement with the leader whatever its log held (Figure 7).

use super::harness::network::Network;
use super::harness::{
    acknowledge, after_persists, append, applied, durable, elect, ensure, ensure_eq, entries_from,
    entry_writes, fresh, heartbeat, log, log_of, receive, restarted, sends, step, Check, Log,
    Outcome,
};
use crate::raft::core::{Bug, Effect, Entry, Index, Input, Message, Node, Term};
use crate::raft::NodeId;

/// The command the tests propose.
fn some_data() -> Vec<u8> {
    b"some data".to_vec()
}

/// A leader of term 1 among `servers` whose no-op every follower acknowledged (etcd's
/// `commitNoopEntry`).
fn leader_with_noop_committed(servers: u8, bug: Option<Bug>) -> Result<Node, String> {
    let mut node = fresh(0, servers, bug);
    let effects = elect(&mut node)?;
    acknowledge(&mut node, &effects, |_| true)?;
    ensure_eq!(node.last_index(), 1, "the leader's no-op");
    ensure_eq!(node.commit_index(), 1, "the no-op committed");
    Ok(node)
}

/// §5.3: "The leader appends the command to its log as a new entry, then issues
/// AppendEntries RPCs in parallel to each of the other servers to replicate the entry",
/// each including "the index and term of the entry in its log that immediately precedes
/// the new entries"; the entry is written to stable storage, and not yet committed.
pub(super) fn check_leader_start_replication(bug: Option<Bug>) -> Outcome {
    let mut node = leader_with_noop_committed(3, bug)?;
    let last = node.last_index();
    let effects = step(
        &mut node,
        Input::Propose {
            command: some_data(),
        },
    )?;
    let new = Entry {
        term: 1,
        command: some_data(),
    };
    ensure_eq!(node.last_index(), last + 1, "the log after the proposal");
    ensure_eq!(node.entry(last + 1), Some(&new), "the new entry");
    ensure_eq!(
        node.commit_index(),
        last,
        "the commit index before any answer"
    );
    ensure_eq!(
        entry_writes(&effects),
        vec![(last + 1, vec![new.clone()])],
        "what the proposal wrote to stable storage"
    );
    ensure!(
        effects.contains(&Effect::Proposed {
            index: last + 1,
            term: 1
        }),
        "no Proposed effect for index {}: {effects:?}",
        last + 1
    );
    let request = append(1, last, 1, vec![new], last);
    ensure_eq!(
        sends(&effects),
        vec![(1, request.clone()), (2, request)],
        "the AppendEntries of the proposal"
    );
    Ok(())
}

/// §5.3: "When the entry has been safely replicated ... the leader applies the entry to
/// its state machine." Also: "The leader keeps track of the highest index it knows to be
/// committed, and it includes that index in future AppendEntries RPCs (including
/// heartbeats) so that the other servers eventually find out."
pub(super) fn check_leader_commit_entry(bug: Option<Bug>) -> Outcome {
    let mut node = leader_with_noop_committed(3, bug)?;
    let last = node.last_index();
    let effects = step(
        &mut node,
        Input::Propose {
            command: some_data(),
        },
    )?;
    let answered = acknowledge(&mut node, &effects, |_| true)?;
    let new = Entry {
        term: 1,
        command: some_data(),
    };
    ensure_eq!(
        node.commit_index(),
        last + 1,
        "the commit index after the answers"
    );
    ensure_eq!(
        applied(&answered),
        vec![(last + 1, new)],
        "what the leader applied"
    );
    ensure_eq!(node.applied_index(), last + 1, "the applied index");
    for (to, message) in sends(&answered) {
        if let Message::AppendEntries { leader_commit, .. } = message {
            ensure_eq!(
                leader_commit,
                last + 1,
                "an AppendEntries to {to} after the commit"
            );
        }
    }
    let beats = step(&mut node, Input::Heartbeat)?;
    let beat = heartbeat(1, last + 1, 1, last + 1);
    ensure_eq!(
        sends(&beats),
        vec![(1, beat.clone()), (2, beat)],
        "the next heartbeats"
    );
    Ok(())
}

/// §5.3: "A log entry is committed once the leader that created the entry has replicated it
/// on a majority of the servers." Node 0 leads `servers`; the listed followers accept its
/// proposal; it is committed exactly when they and the leader are a majority.
pub(super) fn check_leader_acknowledge_commit(bug: Option<Bug>) -> Outcome {
    let cases: &[(u8, &[NodeId], bool)] = &[
        (1, &[], true),
        (3, &[], false),
        (3, &[1], true),
        (3, &[1, 2], true),
        (5, &[], false),
        (5, &[1], false),
        (5, &[1, 2], true),
        (5, &[1, 2, 3], true),
        (5, &[1, 2, 3, 4], true),
    ];
    for &(servers, acceptors, committed) in cases {
        let mut node = leader_with_noop_committed(servers, bug)?;
        let last = node.last_index();
        let effects = step(
            &mut node,
            Input::Propose {
                command: some_data(),
            },
        )?;
        acknowledge(&mut node, &effects, |to| acceptors.contains(&to))?;
        ensure_eq!(
            node.commit_index() > last,
            committed,
            "{servers} servers, accepted by {acceptors:?}: committed (commit index {})",
            node.commit_index()
        );
    }
    Ok(())
}

/// §5.3: "This also commits all preceding entries in the leader's log, including entries
/// created by previous leaders," which the leader applies "in log order". A leader elected
/// in term 3 over a log of earlier terms commits its proposal, and with it applies every
/// earlier entry, its no-op and the proposal, in index order.
pub(super) fn check_leader_commit_preceding_entries(bug: Option<Bug>) -> Outcome {
    let cases: &[&[Term]] = &[&[], &[2], &[1, 2], &[1]];
    for &terms in cases {
        let mut node = restarted(0, 3, bug, 2, None, terms);
        let mut effects = elect(&mut node)?;
        effects.extend(step(
            &mut node,
            Input::Propose {
                command: some_data(),
            },
        )?);
        effects.extend(acknowledge(&mut node, &effects.clone(), |_| true)?);
        let last = terms.len() as Index;
        let mut want: Vec<(Index, Entry)> = (1..).zip(log(terms).0).collect();
        want.push((
            last + 1,
            Entry {
                term: 3,
                command: Vec::new(),
            },
        ));
        want.push((
            last + 2,
            Entry {
                term: 3,
                command: some_data(),
            },
        ));
        ensure_eq!(
            applied(&effects),
            want,
            "log terms {terms:?}: what was applied"
        );
    }
    Ok(())
}

/// §5.3: "Once a follower learns that a log entry is committed, it applies the entry to
/// its local state machine (in log order)." A follower receives entries with a commit
/// index and applies exactly those up to it.
pub(super) fn check_follower_commit_entry(bug: Option<Bug>) -> Outcome {
    let data = |s: &str| Entry {
        term: 1,
        command: s.as_bytes().to_vec(),
    };
    let cases: Vec<(Vec<Entry>, Index)> = vec![
        (vec![data("some data")], 1),
        (vec![data("some data"), data("some data2")], 2),
        (vec![data("some data2"), data("some data")], 2),
        (vec![data("some data"), data("some data2")], 1),
    ];
    for (entries, commit) in cases {
        let mut node = fresh(0, 3, bug);
        let effects = step(
            &mut node,
            receive(1, append(1, 0, 0, entries.clone(), commit)),
        )?;
        ensure_eq!(
            node.commit_index(),
            commit,
            "{:?}: commit index",
            Log(entries.clone())
        );
        let want: Vec<(Index, Entry)> = (1..)
            .zip(entries.iter().cloned())
            .take(commit as usize)
            .collect();
        ensure_eq!(
            applied(&effects),
            want,
            "{:?} committed to {commit}: applied",
            Log(entries.clone())
        );
        ensure_eq!(
            node.applied_index(),
            commit,
            "{:?}: applied index",
            Log(entries.clone())
        );
    }
    Ok(())
}

/// §5.3: "If the follower does not find an entry in its log with the same index and term,
/// then it refuses the new entries." A follower with log terms `[1, 2]` answers each
/// AppendEntries once: success with the index its log now agrees on, or refusal with the
/// index the leader should try next; a refused request changes nothing, even when it
/// carries entries, and an accepted one without entries removes nothing.
pub(super) fn check_follower_check_msg_app(bug: Option<Bug>) -> Outcome {
    // (prev_log_term, prev_log_index, entries, success, index in the answer)
    let cases: Vec<(Term, Index, Vec<Entry>, bool, Index)> = vec![
        (0, 0, vec![], true, 0),
        (1, 1, vec![], true, 1),
        (2, 2, vec![], true, 2),
        // The entry at 2 has term 2, not 1: refused; the conflicting term starts at 2.
        (1, 2, vec![], false, 2),
        // There is no entry at 3: refused; try one past the follower's last entry.
        (3, 3, vec![], false, 3),
        // As the first refusal, with an entry that must not be stored.
        (1, 2, entries_from(3, &[2]), false, 2),
    ];
    for (prev_term, prev_index, entries, success, index) in cases {
        let what = format!(
            "prev ({prev_index}, term {prev_term}) with {} entries",
            entries.len()
        );
        let disk = durable(2, None, &[1, 2]);
        let mut node = Node::restart(super::harness::config(0, 3, bug), disk.clone());
        let request = append(2, prev_index, prev_term, entries, 0);
        let effects = step(&mut node, receive(1, request))?;
        let answer = Message::AppendEntriesResponse {
            term: 2,
            success,
            index,
            round: 0,
        };
        ensure_eq!(sends(&effects), vec![(1, answer)], "{what}: the answer");
        // A refused request stores nothing, and an accepted one here brings nothing new:
        // either way the log, in memory and on disk, is what it was.
        ensure_eq!(log_of(&node), log(&[1, 2]), "{what}: the log");
        ensure_eq!(
            Log(after_persists(disk, &effects).entries),
            log(&[1, 2]),
            "{what}: the disk"
        );
    }
    Ok(())
}

/// §5.3: "If an existing entry conflicts with a new one (same index but different terms),
/// delete the existing entry and all that follow it" and append "any new entries not
/// already in the log", writing them to stable storage. Entries that agree are kept, so a
/// delayed, shorter AppendEntries never removes what a longer one added (Figure 2, receiver
/// step 3 deletes only on a conflict).
pub(super) fn check_follower_append_entries(bug: Option<Bug>) -> Outcome {
    // (prev_log_index, prev_log_term, entries, the log after, the write (from, terms))
    type Case = (
        Index,
        Term,
        Vec<Entry>,
        &'static [Term],
        Option<(Index, &'static [Term])>,
    );
    let cases: Vec<Case> = vec![
        (2, 2, entries_from(3, &[3]), &[1, 2, 3], Some((3, &[3]))),
        (
            1,
            1,
            entries_from(2, &[3, 4]),
            &[1, 3, 4],
            Some((2, &[3, 4])),
        ),
        (0, 0, entries_from(1, &[1]), &[1, 2], None),
        (0, 0, entries_from(1, &[3]), &[3], Some((1, &[3]))),
    ];
    for (prev_index, prev_term, entries, want, write) in cases {
        let what = format!(
            "log [1, 2], prev ({prev_index}, term {prev_term}), {:?}",
            Log(entries.clone())
        );
        let disk = durable(2, None, &[1, 2]);
        let mut node = Node::restart(super::harness::config(0, 3, bug), disk.clone());
        let count = entries.len() as Index;
        let effects = step(
            &mut node,
            receive(1, append(2, prev_index, prev_term, entries, 0)),
        )?;
        ensure_eq!(log_of(&node), log(want), "{what}: the log");
        ensure_eq!(
            Log(after_persists(disk, &effects).entries),
            log(want),
            "{what}: the disk"
        );
        let want_writes: Vec<(Index, Vec<Entry>)> = write
            .map(|(from, terms)| (from, entries_from(from, terms)))
            .into_iter()
            .collect();
        ensure_eq!(entry_writes(&effects), want_writes, "{what}: the writes");
        let answer = Message::AppendEntriesResponse {
            term: 2,
            success: true,
            index: prev_index + count,
            round: 0,
        };
        ensure_eq!(sends(&effects), vec![(1, answer)], "{what}: the answer");
    }

    // The delayed shorter append: the leader of term 2 sent [2] and then [2, 2] after
    // index 1; the longer arrives first, and the follower acknowledges index 3. The shorter
    // arrives late: it conflicts with nothing, so index 3 must stay.
    let disk = durable(2, None, &[1]);
    let mut node = Node::restart(super::harness::config(0, 3, bug), disk.clone());
    let longer = append(2, 1, 1, entries_from(2, &[2, 2]), 0);
    let shorter = append(2, 1, 1, entries_from(2, &[2]), 0);
    let mut effects = step(&mut node, receive(1, longer))?;
    ensure_eq!(
        sends(&effects),
        vec![(
            1,
            Message::AppendEntriesResponse {
                term: 2,
                success: true,
                index: 3,
                round: 0,
            }
        )],
        "the longer append's answer"
    );
    let late = step(&mut node, receive(1, shorter))?;
    ensure_eq!(
        sends(&late),
        vec![(
            1,
            Message::AppendEntriesResponse {
                term: 2,
                success: true,
                index: 2,
                round: 0,
            }
        )],
        "the delayed shorter append's answer"
    );
    effects.extend(late);
    ensure_eq!(
        log_of(&node),
        log(&[1, 2, 2]),
        "the log after the delayed shorter append"
    );
    ensure_eq!(
        Log(after_persists(disk, &effects).entries),
        log(&[1, 2, 2]),
        "the disk after the delayed shorter append"
    );
    Ok(())
}

/// The leader's log in Figure 7, and the six follower logs (a)–(f) that the leader of
/// term 8 may find.
const FIGURE_7_LEADER: &[Term] = &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
const FIGURE_7_FOLLOWERS: [(&str, &[Term]); 6] = [
    ("a", &[1, 1, 1, 4, 4, 5, 5, 6, 6]),
    ("b", &[1, 1, 1, 4]),
    ("c", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
    ("d", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
    ("e", &[1, 1, 1, 4, 4, 4, 4]),
    ("f", &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
];

/// How many heartbeat rounds the Figure 7 test allows for the follower to catch up.
const SYNC_ROUNDS_MAX: usize = 20;

/// §5.3 and Figure 7: "the leader handles inconsistencies by forcing the followers' logs to
/// duplicate its own"; after finding the latest entry where they agree, the follower's log
/// "is consistent with the leader's, and it will remain that way". For each follower log
/// (a)–(f): the Figure 7 leader is elected in term 9 (server 2 is dead but its vote is
/// delivered, as in etcd: (c) and (d) refuse theirs), proposes one command, and with
/// heartbeats the follower ends with the leader's log, on disk too, and the same commit
/// index and applied entries.
pub(super) fn check_leader_sync_follower_log(bug: Option<Bug>) -> Outcome {
    for (name, follower_terms) in FIGURE_7_FOLLOWERS {
        sync_figure_7_follower(name, follower_terms, bug)?;
    }
    Ok(())
}

/// One follower of Figure 7 brought into line (see [`check_leader_sync_follower_log`]).
/// Returns how many heartbeat rounds it took after the proposal, and how many messages
/// were delivered in all.
fn sync_figure_7_follower(
    name: &str,
    follower_terms: &[Term],
    bug: Option<Bug>,
) -> Result<(usize, usize), String> {
    let leader = restarted(0, 3, bug, 8, None, FIGURE_7_LEADER);
    let follower = restarted(1, 3, bug, 7, None, follower_terms);
    let mut network = Network::new(vec![Some(leader), Some(follower), None]);
    let mut delivered = 0;
    network.step(0, Input::Timeout)?;
    delivered += network.deliver_all()?;
    network.step(0, receive(2, super::harness::vote(9, true)))?;
    delivered += network.deliver_all()?;
    network.step(
        0,
        Input::Propose {
            command: some_data(),
        },
    )?;
    delivered += network.deliver_all()?;
    let synced = |n: &Network| {
        log_of(n.node(0)) == log_of(n.node(1))
            && n.node(0).commit_index() == n.node(1).commit_index()
    };
    let mut rounds = 0;
    while !synced(&network) && rounds < SYNC_ROUNDS_MAX {
        network.step(0, Input::Heartbeat)?;
        delivered += network.deliver_all()?;
        rounds += 1;
    }
    let (lead, follow) = (network.node(0), network.node(1));
    ensure_eq!(lead.term(), 9, "({name}): the leader's term");
    ensure_eq!(lead.last_index(), 12, "({name}): the leader's log length");
    ensure_eq!(
        log_of(follow),
        log_of(lead),
        "({name}): the follower's log after {rounds} heartbeats"
    );
    ensure_eq!(
        Log(network.disk(1).entries.clone()),
        Log(network.disk(0).entries.clone()),
        "({name}): the follower's disk"
    );
    ensure_eq!(
        lead.commit_index(),
        12,
        "({name}): the leader's commit index"
    );
    ensure_eq!(
        follow.commit_index(),
        12,
        "({name}): the follower's commit index"
    );
    ensure_eq!(
        network.applied(1),
        network.applied(0),
        "({name}): what the follower applied"
    );
    Ok((rounds, delivered))
}

/// §5.3, Figure 7: "the leader handles inconsistencies by forcing the followers' logs to
/// duplicate its own."
#[test]
fn leader_sync_follower_log() {
    for (name, follower_terms) in FIGURE_7_FOLLOWERS {
        let (rounds, delivered) = sync_figure_7_follower(name, follower_terms, None).unwrap();
        println!(
            "Figure 7 ({name}): in line after {rounds} heartbeat rounds, {delivered} messages"
        );
    }
    check_leader_sync_follower_log(None).unwrap();
}

/// §5.3: the leader appends a command "then issues AppendEntries RPCs in parallel".
#[test]
fn leader_start_replication() {
    check_leader_start_replication(None).unwrap();
}

/// §5.3: a safely replicated entry is applied, and the commit index goes out "in future
/// AppendEntries RPCs".
#[test]
fn leader_commit_entry() {
    check_leader_commit_entry(None).unwrap();
}

/// §5.3: "A log entry is committed once the leader that created the entry has replicated
/// it on a majority of the servers."
#[test]
fn leader_acknowledge_commit() {
    check_leader_acknowledge_commit(None).unwrap();
}

/// §5.3: committing an entry "also commits all preceding entries in the leader's log".
#[test]
fn leader_commit_preceding_entries() {
    check_leader_commit_preceding_entries(None).unwrap();
}

/// §5.3: a follower "applies the entry to its local state machine (in log order)".
#[test]
fn follower_commit_entry() {
    check_follower_commit_entry(None).unwrap();
}

/// §5.3: "If the follower does not find an entry in its log with the same index and term,
/// then it refuses the new entries."
#[test]
fn follower_check_msg_app() {
    check_follower_check_msg_app(None).unwrap();
}

/// §5.3: a conflicting entry "and all that follow it" are deleted; agreeing entries stay.
#[test]
fn follower_append_entries() {
    check_follower_append_entries(None).unwrap();
}

/// Every test of this section, by name, with its logic.
pub(super) const CHECKS: &[(&str, Check)] = &[
    ("leader_start_replication", check_leader_start_replication),
    ("leader_commit_entry", check_leader_commit_entry),
    ("leader_acknowledge_commit", check_leader_acknowledge_commit),
    (
        "leader_commit_preceding_entries",
        check_leader_commit_preceding_entries,
    ),
    ("follower_commit_entry", check_follower_commit_entry),
    ("follower_check_msg_app", check_follower_check_msg_app),
    ("follower_append_entries", check_follower_append_entries),
    ("leader_sync_follower_log", check_leader_sync_follower_log),
];

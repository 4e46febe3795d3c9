//! The state machines driven directly: the order of durable writes and sends, votes,
//! timeouts, recovery, locks, and each bug variant's misbehaviour.

use super::*;
use crate::twopc::messages::Op;
use crate::twopc::records::{CoordinatorRecord as C, ParticipantRecord as P};
use std::collections::BTreeMap;

const T0: Duration = Duration::ZERO;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn timing() -> Timing {
    Timing {
        resend: ms(10),
        vote_timeout: ms(50),
        lock_timeout: ms(20),
        query_interval: ms(10),
    }
}

fn bank() -> BTreeMap<String, i64> {
    [("alice".to_string(), 100), ("amy".to_string(), 100)].into()
}

fn coordinator(bug: Option<Bug>) -> Coordinator {
    Coordinator::recover(2, &[], timing(), bug, T0).0
}

fn participant(bug: Option<Bug>) -> Participant {
    Participant::recover(bank(), &[], timing(), bug, T0).0
}

/// Participant 0 pays 30 from alice, participant 1 receives it on alice.
fn transfer() -> BTreeMap<usize, Vec<Op>> {
    [
        (0, vec![Op::new("alice", -30)]),
        (1, vec![Op::new("alice", 30)]),
    ]
    .into()
}

fn send(to: NodeId, msg: Msg) -> Effect<C> {
    Effect::Send { to, msg }
}

fn decision(tx: TxId, d: Decision) -> Msg {
    Msg::Decision { tx, decision: d }
}

fn sent_to<R>(effects: &[Effect<R>], to: NodeId) -> Vec<Msg> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to: t, msg } if *t == to => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

const P0: NodeId = NodeId::Participant(0);
const P1: NodeId = NodeId::Participant(1);

#[test]
fn commit_is_logged_durably_before_it_is_sent_and_finishes_after_every_ack() {
    let mut c = coordinator(None);
    let e = c.begin(1, transfer(), T0).unwrap();
    assert_eq!(
        sent_to(&e, P0),
        [Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)]
        }]
    );
    assert!(c
        .on_message(0, Msg::Vote { tx: 1, yes: true }, ms(1))
        .is_empty());
    let e = c.on_message(1, Msg::Vote { tx: 1, yes: true }, ms(2));
    assert_eq!(
        e,
        [
            Effect::Log {
                record: C::Commit {
                    tx: 1,
                    participants: vec![0, 1]
                },
                durable: true
            },
            send(P0, decision(1, Decision::Commit)),
            send(P1, decision(1, Decision::Commit)),
        ]
    );
    assert!(c.on_message(0, Msg::Ack { tx: 1 }, ms(3)).is_empty());
    // A duplicate ack from the same participant does not finish the transaction.
    assert!(c.on_message(0, Msg::Ack { tx: 1 }, ms(3)).is_empty());
    let e = c.on_message(1, Msg::Ack { tx: 1 }, ms(4));
    assert_eq!(
        e,
        [
            Effect::Log {
                record: C::End { tx: 1 },
                durable: false
            },
            Effect::Finished {
                tx: 1,
                decision: Decision::Commit
            },
        ]
    );
    assert!(c.status().active.is_empty());
    assert_eq!(
        c.begin(1, transfer(), ms(5)),
        Err(BeginError::DuplicateTx(1))
    );
}

#[test]
fn a_no_vote_aborts_without_an_fsync() {
    let mut c = coordinator(None);
    c.begin(1, transfer(), T0).unwrap();
    let e = c.on_message(1, Msg::Vote { tx: 1, yes: false }, ms(1));
    assert_eq!(
        e[0],
        Effect::Log {
            record: C::Abort { tx: 1 },
            durable: false
        }
    );
    assert_eq!(sent_to(&e, P0), [decision(1, Decision::Abort)]);
    // A late yes vote changes nothing.
    assert!(c
        .on_message(0, Msg::Vote { tx: 1, yes: true }, ms(2))
        .is_empty());
    c.on_message(0, Msg::Ack { tx: 1 }, ms(3));
    let e = c.on_message(1, Msg::Ack { tx: 1 }, ms(3));
    assert_eq!(
        e,
        [Effect::Finished {
            tx: 1,
            decision: Decision::Abort
        }]
    );
}

#[test]
fn prepare_is_resent_to_silent_participants_until_the_vote_timeout_aborts() {
    let mut c = coordinator(None);
    c.begin(1, transfer(), T0).unwrap();
    c.on_message(0, Msg::Vote { tx: 1, yes: true }, ms(1));
    assert!(c.on_tick(ms(5)).is_empty());
    let e = c.on_tick(ms(10));
    assert_eq!(e.len(), 1);
    assert_eq!(sent_to(&e, P1).len(), 1, "only the silent participant");
    assert_eq!(c.next_deadline(), Some(ms(20)));
    let e = c.on_tick(ms(50));
    assert_eq!(
        e[0],
        Effect::Log {
            record: C::Abort { tx: 1 },
            durable: false
        }
    );
    // Then the decision is resent until acknowledged.
    c.on_message(0, Msg::Ack { tx: 1 }, ms(51));
    let e = c.on_tick(ms(60));
    assert_eq!(e, [send(P1, decision(1, Decision::Abort))]);
}

#[test]
fn queries_get_commit_if_logged_undecided_if_voting_and_abort_otherwise() {
    let (mut c, e) = Coordinator::recover(
        2,
        &[
            C::Commit {
                tx: 1,
                participants: vec![0, 1],
            },
            C::Commit {
                tx: 2,
                participants: vec![0],
            },
            C::End { tx: 2 },
            C::Abort { tx: 3 },
        ],
        timing(),
        None,
        T0,
    );
    // Commit without End is resent; the ended one is not.
    assert_eq!(
        e,
        [
            send(P0, decision(1, Decision::Commit)),
            send(P1, decision(1, Decision::Commit))
        ]
    );
    assert_eq!(c.status().active, [1].into());
    for tx in [1, 2, 3] {
        assert_eq!(
            c.begin(tx, transfer(), T0),
            Err(BeginError::DuplicateTx(tx))
        );
    }
    let answer = |c: &mut Coordinator, tx| sent_to(&c.on_message(0, Msg::Query { tx }, ms(1)), P0);
    assert_eq!(answer(&mut c, 2), [decision(2, Decision::Commit)]);
    assert_eq!(answer(&mut c, 3), [decision(3, Decision::Abort)]);
    // Never heard of: presumed abort.
    assert_eq!(answer(&mut c, 9), [decision(9, Decision::Abort)]);
    c.begin(4, transfer(), T0).unwrap();
    assert_eq!(answer(&mut c, 4), [Msg::Undecided { tx: 4 }]);
    assert_eq!(c.begin(5, BTreeMap::new(), T0), Err(BeginError::Empty));
    let far = [(7, vec![Op::new("x", 1)])].into();
    assert_eq!(c.begin(6, far, T0), Err(BeginError::UnknownParticipant(7)));
}

#[test]
fn a_participant_failure_aborts_only_transactions_it_did_not_vote_yes_on() {
    let mut c = coordinator(None);
    c.begin(1, transfer(), T0).unwrap();
    c.begin(2, transfer(), T0).unwrap();
    c.on_message(0, Msg::Vote { tx: 2, yes: true }, ms(1));
    let e = c.handle_participant_failure(0, ms(2));
    assert_eq!(
        e[0],
        Effect::Log {
            record: C::Abort { tx: 1 },
            durable: false
        }
    );
    assert_eq!(sent_to(&e, P0), [decision(1, Decision::Abort)]);
    // tx 2 still waits for participant 1, and commits when it votes yes.
    let e = c.on_message(1, Msg::Vote { tx: 2, yes: true }, ms(3));
    assert!(matches!(
        e[0],
        Effect::Log {
            record: C::Commit { tx: 2, .. },
            durable: true
        }
    ));
}

#[test]
fn a_participant_fsyncs_its_prepare_before_voting_and_its_decision_before_acking() {
    let mut p = participant(None);
    let e = p.on_message(
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)],
        },
        T0,
    );
    assert_eq!(
        e,
        [
            Effect::Log {
                record: P::Prepared {
                    tx: 1,
                    ops: vec![Op::new("alice", -30)]
                },
                durable: true
            },
            Effect::Send {
                to: NodeId::Coordinator,
                msg: Msg::Vote { tx: 1, yes: true }
            },
        ]
    );
    assert_eq!(p.status().locks, [("alice".to_string(), 1)].into());
    // A duplicate Prepare gets the same vote and no second record.
    let e = p.on_message(Msg::Prepare { tx: 1, ops: vec![] }, ms(1));
    assert_eq!(e.len(), 1);
    let e = p.on_message(decision(1, Decision::Commit), ms(2));
    assert_eq!(
        e,
        [
            Effect::Log {
                record: P::Decided {
                    tx: 1,
                    decision: Decision::Commit
                },
                durable: true
            },
            Effect::Send {
                to: NodeId::Coordinator,
                msg: Msg::Ack { tx: 1 }
            },
        ]
    );
    let s = p.status();
    assert_eq!(s.balances["alice"], 70);
    assert!(s.locks.is_empty() && s.in_doubt.is_empty());
    // A repeated decision is acknowledged again, and applied once.
    let e = p.on_message(decision(1, Decision::Commit), ms(3));
    assert_eq!(
        e,
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Ack { tx: 1 }
        }]
    );
    assert_eq!(p.status().balances["alice"], 70);
    assert_eq!(p.status().contradictions, 0);
}

#[test]
fn a_participant_votes_no_without_funds_or_accounts_and_logs_nothing() {
    let mut p = participant(None);
    for (tx, ops) in [
        (1, vec![Op::new("alice", -101)]),
        (2, vec![Op::new("alice", -60), Op::new("alice", -60)]),
        (3, vec![Op::new("nobody", 5)]),
        (4, vec![Op::new("alice", i64::MAX), Op::new("alice", 1)]),
    ] {
        let e = p.on_message(Msg::Prepare { tx, ops }, T0);
        assert_eq!(
            e,
            [Effect::Send {
                to: NodeId::Coordinator,
                msg: Msg::Vote { tx, yes: false }
            }],
            "tx {tx}"
        );
    }
    assert!(p.status().locks.is_empty());
    // An Abort for a transaction it voted no on is just acknowledged.
    let e = p.on_message(decision(1, Decision::Abort), ms(1));
    assert_eq!(
        e,
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Ack { tx: 1 }
        }]
    );
}

#[test]
fn a_prepare_waits_for_locked_keys_and_votes_no_at_the_lock_timeout() {
    let mut p = participant(None);
    p.on_message(
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -10)],
        },
        T0,
    );
    assert!(p
        .on_message(
            Msg::Prepare {
                tx: 2,
                ops: vec![Op::new("alice", -10)]
            },
            ms(1)
        )
        .is_empty());
    assert!(p
        .on_message(
            Msg::Prepare {
                tx: 3,
                ops: vec![Op::new("alice", 5)]
            },
            ms(1)
        )
        .is_empty());
    assert_eq!(p.status().waiting, 2);
    // tx 1 learns its outcome: the locks pass to tx 2, which prepares; tx 3 keeps waiting.
    let e = p.on_message(decision(1, Decision::Abort), ms(5));
    assert!(matches!(
        e[0],
        Effect::Log {
            record: P::Decided { tx: 1, .. },
            durable: true
        }
    ));
    assert!(e.contains(&Effect::Log {
        record: P::Prepared {
            tx: 2,
            ops: vec![Op::new("alice", -10)]
        },
        durable: true
    }));
    assert_eq!(p.status().locks["alice"], 2);
    let e = p.on_tick(ms(21));
    assert!(e.contains(&Effect::Send {
        to: NodeId::Coordinator,
        msg: Msg::Vote { tx: 3, yes: false }
    }));
    assert_eq!(p.status().waiting, 0);
}

#[test]
fn a_recovered_participant_is_in_doubt_holds_its_locks_and_asks_until_answered() {
    let records = [
        P::Prepared {
            tx: 1,
            ops: vec![Op::new("alice", -30)],
        },
        P::Decided {
            tx: 1,
            decision: Decision::Commit,
        },
        P::Prepared {
            tx: 2,
            ops: vec![Op::new("amy", 40)],
        },
        P::Prepared {
            tx: 3,
            ops: vec![Op::new("alice", 5)],
        },
        P::Decided {
            tx: 3,
            decision: Decision::Abort,
        },
    ];
    let (mut p, e) = Participant::recover(bank(), &records, timing(), None, T0);
    assert_eq!(
        e,
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Query { tx: 2 }
        }]
    );
    let s = p.status();
    assert_eq!((s.balances["alice"], s.balances["amy"]), (70, 100));
    assert_eq!(s.in_doubt, [2].into());
    assert_eq!(s.locks, [("amy".to_string(), 2)].into());
    // "Still deciding" changes nothing; the query is repeated every interval.
    assert!(p.on_message(Msg::Undecided { tx: 2 }, ms(1)).is_empty());
    assert!(p.on_tick(ms(5)).is_empty());
    assert_eq!(
        p.on_tick(ms(10)),
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Query { tx: 2 }
        }]
    );
    // Never on its own: it stays in doubt however long it waits.
    p.on_tick(ms(10_000));
    assert_eq!(p.status().in_doubt, [2].into());
    p.on_message(decision(2, Decision::Commit), ms(10_001));
    assert_eq!(p.status().balances["amy"], 140);
    assert!(p.status().locks.is_empty());
}

#[test]
fn a_commit_the_participant_never_promised_is_counted_as_a_contradiction() {
    let mut p = participant(None);
    let e = p.on_message(decision(9, Decision::Commit), T0);
    assert_eq!(
        e,
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Ack { tx: 9 }
        }]
    );
    assert_eq!(p.status().contradictions, 1);
    assert_eq!(p.status().balances, bank());
}

#[test]
fn each_bug_variant_breaks_its_rule() {
    // Commit sent before the Commit record.
    let mut c = coordinator(Some(Bug::CommitBeforeLog));
    c.begin(1, transfer(), T0).unwrap();
    c.on_message(0, Msg::Vote { tx: 1, yes: true }, T0);
    let e = c.on_message(1, Msg::Vote { tx: 1, yes: true }, T0);
    assert!(matches!(e[0], Effect::Send { .. }));
    assert!(matches!(e[2], Effect::Log { durable: true, .. }));

    // A prepared participant gives up after one query interval.
    let mut p = participant(Some(Bug::AbortAfterPrepared));
    p.on_message(
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)],
        },
        T0,
    );
    let e = p.on_tick(ms(10));
    assert_eq!(
        e,
        [Effect::Log {
            record: P::Decided {
                tx: 1,
                decision: Decision::Abort
            },
            durable: true
        }]
    );
    p.on_message(decision(1, Decision::Commit), ms(11));
    assert_eq!(p.status().contradictions, 1);

    // The prepare record is not fsynced before the vote.
    let mut p = participant(Some(Bug::SkipPrepareFsync));
    let e = p.on_message(
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)],
        },
        T0,
    );
    assert!(matches!(e[0], Effect::Log { durable: false, .. }));
    assert_eq!(
        Bug::from_name(Bug::SkipPrepareFsync.name()),
        Some(Bug::SkipPrepareFsync)
    );
}

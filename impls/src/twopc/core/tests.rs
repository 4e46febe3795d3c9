//! The state machines driven directly, through [`Core::step`]: the order of durable writes
//! and sends, votes, timeouts, recovery, locks, and each bug variant's misbehaviour. Every
//! step of the correct cores is checked against the durability rule
//! ([`check_durability_order`]); the bug variants show where the check catches a bug and
//! where it cannot.

use super::*;
use crate::sansio::{check_durability_order, Core};
use crate::twopc::messages::Op;
use crate::twopc::records::{CoordinatorRecord as C, ParticipantRecord as P};
use crate::twopc::ParticipantId;
use std::collections::BTreeMap;
use std::fmt::Debug;

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

/// Steps `core` on `input`, and fails the test if the effects break the durability rule.
fn step<K: Core>(core: &mut K, input: K::Input) -> Vec<K::Effect>
where
    K::Effect: Debug,
{
    let effects = core.step(input);
    if let Err(v) = check_durability_order(&effects) {
        panic!("{v}: {effects:?}");
    }
    effects
}

fn begin(
    c: &mut Coordinator,
    tx: TxId,
    ops: BTreeMap<ParticipantId, Vec<Op>>,
    now: Duration,
) -> Result<Vec<Effect<C>>, BeginError> {
    let effects = step(c, CoordinatorInput::Begin { tx, ops, now });
    match effects.as_slice() {
        [Effect::Rejected { tx: t, error }] if *t == tx => Err(error.clone()),
        _ => Ok(effects),
    }
}

fn from(c: &mut Coordinator, from: ParticipantId, msg: Msg, now: Duration) -> Vec<Effect<C>> {
    step(c, CoordinatorInput::Message { from, msg, now })
}

fn tick(c: &mut Coordinator, now: Duration) -> Vec<Effect<C>> {
    step(c, CoordinatorInput::Tick { now })
}

fn deliver(p: &mut Participant, msg: Msg, now: Duration) -> Vec<Effect<P>> {
    step(p, ParticipantInput::Message { msg, now })
}

fn ptick(p: &mut Participant, now: Duration) -> Vec<Effect<P>> {
    step(p, ParticipantInput::Tick { now })
}

const P0: NodeId = NodeId::Participant(0);
const P1: NodeId = NodeId::Participant(1);

#[test]
fn commit_is_logged_durably_before_it_is_sent_and_finishes_after_every_ack() {
    let mut c = coordinator(None);
    let e = begin(&mut c, 1, transfer(), T0).unwrap();
    assert_eq!(
        sent_to(&e, P0),
        [Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)]
        }]
    );
    assert!(from(&mut c, 0, Msg::Vote { tx: 1, yes: true }, ms(1)).is_empty());
    let e = from(&mut c, 1, Msg::Vote { tx: 1, yes: true }, ms(2));
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
    assert!(from(&mut c, 0, Msg::Ack { tx: 1 }, ms(3)).is_empty());
    // A duplicate ack from the same participant does not finish the transaction.
    assert!(from(&mut c, 0, Msg::Ack { tx: 1 }, ms(3)).is_empty());
    let e = from(&mut c, 1, Msg::Ack { tx: 1 }, ms(4));
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
        begin(&mut c, 1, transfer(), ms(5)),
        Err(BeginError::DuplicateTx(1))
    );
}

#[test]
fn a_no_vote_aborts_without_an_fsync() {
    let mut c = coordinator(None);
    begin(&mut c, 1, transfer(), T0).unwrap();
    let e = from(&mut c, 1, Msg::Vote { tx: 1, yes: false }, ms(1));
    assert_eq!(
        e[0],
        Effect::Log {
            record: C::Abort { tx: 1 },
            durable: false
        }
    );
    assert_eq!(sent_to(&e, P0), [decision(1, Decision::Abort)]);
    // A late yes vote changes nothing.
    assert!(from(&mut c, 0, Msg::Vote { tx: 1, yes: true }, ms(2)).is_empty());
    from(&mut c, 0, Msg::Ack { tx: 1 }, ms(3));
    let e = from(&mut c, 1, Msg::Ack { tx: 1 }, ms(3));
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
    begin(&mut c, 1, transfer(), T0).unwrap();
    from(&mut c, 0, Msg::Vote { tx: 1, yes: true }, ms(1));
    assert!(tick(&mut c, ms(5)).is_empty());
    let e = tick(&mut c, ms(10));
    assert_eq!(e.len(), 1);
    assert_eq!(sent_to(&e, P1).len(), 1, "only the silent participant");
    assert_eq!(c.next_deadline(), Some(ms(20)));
    let e = tick(&mut c, ms(50));
    assert_eq!(
        e[0],
        Effect::Log {
            record: C::Abort { tx: 1 },
            durable: false
        }
    );
    // Then the decision is resent until acknowledged.
    from(&mut c, 0, Msg::Ack { tx: 1 }, ms(51));
    let e = tick(&mut c, ms(60));
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
            begin(&mut c, tx, transfer(), T0),
            Err(BeginError::DuplicateTx(tx))
        );
    }
    let answer = |c: &mut Coordinator, tx| sent_to(&from(c, 0, Msg::Query { tx }, ms(1)), P0);
    assert_eq!(answer(&mut c, 2), [decision(2, Decision::Commit)]);
    assert_eq!(answer(&mut c, 3), [decision(3, Decision::Abort)]);
    // Never heard of: presumed abort.
    assert_eq!(answer(&mut c, 9), [decision(9, Decision::Abort)]);
    begin(&mut c, 4, transfer(), T0).unwrap();
    assert_eq!(answer(&mut c, 4), [Msg::Undecided { tx: 4 }]);
    assert_eq!(
        begin(&mut c, 5, BTreeMap::new(), T0),
        Err(BeginError::Empty)
    );
    let far = [(7, vec![Op::new("x", 1)])].into();
    assert_eq!(
        begin(&mut c, 6, far, T0),
        Err(BeginError::UnknownParticipant(7))
    );
}

#[test]
fn a_participant_failure_aborts_only_transactions_it_did_not_vote_yes_on() {
    let mut c = coordinator(None);
    begin(&mut c, 1, transfer(), T0).unwrap();
    begin(&mut c, 2, transfer(), T0).unwrap();
    from(&mut c, 0, Msg::Vote { tx: 2, yes: true }, ms(1));
    let e = step(
        &mut c,
        CoordinatorInput::ParticipantFailed {
            participant: 0,
            now: ms(2),
        },
    );
    assert_eq!(
        e[0],
        Effect::Log {
            record: C::Abort { tx: 1 },
            durable: false
        }
    );
    assert_eq!(sent_to(&e, P0), [decision(1, Decision::Abort)]);
    // tx 2 still waits for participant 1, and commits when it votes yes.
    let e = from(&mut c, 1, Msg::Vote { tx: 2, yes: true }, ms(3));
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
    let e = deliver(
        &mut p,
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
    let e = deliver(&mut p, Msg::Prepare { tx: 1, ops: vec![] }, ms(1));
    assert_eq!(e.len(), 1);
    let e = deliver(&mut p, decision(1, Decision::Commit), ms(2));
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
    let e = deliver(&mut p, decision(1, Decision::Commit), ms(3));
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
        let e = deliver(&mut p, Msg::Prepare { tx, ops }, T0);
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
    let e = deliver(&mut p, decision(1, Decision::Abort), ms(1));
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
    deliver(
        &mut p,
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -10)],
        },
        T0,
    );
    assert!(deliver(
        &mut p,
        Msg::Prepare {
            tx: 2,
            ops: vec![Op::new("alice", -10)]
        },
        ms(1)
    )
    .is_empty());
    assert!(deliver(
        &mut p,
        Msg::Prepare {
            tx: 3,
            ops: vec![Op::new("alice", 5)]
        },
        ms(1)
    )
    .is_empty());
    assert_eq!(p.status().waiting, 2);
    // tx 1 learns its outcome: the locks pass to tx 2, which prepares; tx 3 keeps waiting.
    let e = deliver(&mut p, decision(1, Decision::Abort), ms(5));
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
    let e = ptick(&mut p, ms(21));
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
    assert!(deliver(&mut p, Msg::Undecided { tx: 2 }, ms(1)).is_empty());
    assert!(ptick(&mut p, ms(5)).is_empty());
    assert_eq!(
        ptick(&mut p, ms(10)),
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Query { tx: 2 }
        }]
    );
    // Never on its own: it stays in doubt however long it waits.
    ptick(&mut p, ms(10_000));
    assert_eq!(p.status().in_doubt, [2].into());
    deliver(&mut p, decision(2, Decision::Commit), ms(10_001));
    assert_eq!(p.status().balances["amy"], 140);
    assert!(p.status().locks.is_empty());
}

#[test]
fn a_commit_the_participant_never_promised_is_counted_as_a_contradiction() {
    let mut p = participant(None);
    let e = deliver(&mut p, decision(9, Decision::Commit), T0);
    assert_eq!(
        e,
        [Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Ack { tx: 9 }
        }]
    );
    assert_eq!(p.status().contradictions, 1);
    assert!(p.contradicted(9));
    assert_eq!(p.status().balances, bank());
}

#[test]
fn each_bug_variant_breaks_its_rule() {
    // A yes vote from one participant is taken for all.
    let mut c = coordinator(Some(Bug::CommitWithoutAllVotes));
    begin(&mut c, 1, transfer(), T0).unwrap();
    let e = from(&mut c, 0, Msg::Vote { tx: 1, yes: true }, T0);
    assert_eq!(sent_to(&e, P1), [decision(1, Decision::Commit)]);

    // Commit sent before the Commit record: the one bug the durability check sees.
    let mut c = coordinator(Some(Bug::DecideBeforeLogging));
    begin(&mut c, 1, transfer(), T0).unwrap();
    from(&mut c, 0, Msg::Vote { tx: 1, yes: true }, T0);
    let e = c.step(CoordinatorInput::Message {
        from: 1,
        msg: Msg::Vote { tx: 1, yes: true },
        now: T0,
    });
    assert!(matches!(e[0], Effect::Send { .. }));
    assert!(matches!(e[2], Effect::Log { durable: true, .. }));
    assert_eq!(
        check_durability_order(&e),
        Err(crate::sansio::OrderViolation {
            send: 0,
            persist: 2
        })
    );

    // A prepared participant gives up after one query interval.
    let mut p = participant(Some(Bug::AbortAfterPrepared));
    deliver(
        &mut p,
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)],
        },
        T0,
    );
    let e = ptick(&mut p, ms(10));
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
    deliver(&mut p, decision(1, Decision::Commit), ms(11));
    assert_eq!(p.status().contradictions, 1);

    // The prepare record is not fsynced before the vote. The durability check cannot see
    // this one: nothing is persisted after the send, only nothing before it. The model and
    // the crash tests catch it by crashing the participant after its vote.
    let mut p = participant(Some(Bug::NoPrepareRecord));
    let e = deliver(
        &mut p,
        Msg::Prepare {
            tx: 1,
            ops: vec![Op::new("alice", -30)],
        },
        T0,
    );
    assert!(matches!(e[0], Effect::Log { durable: false, .. }));
    assert!(matches!(e[1], Effect::Send { .. }));
}

#[test]
fn bug_names_are_the_models_and_round_trip() {
    use crate::sansio::BugSwitches;
    let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
    assert_eq!(
        names,
        [
            "commit-without-all-votes",
            "abort-after-prepared",
            "decide-before-logging",
            "no-prepare-record"
        ]
    );
    for &bug in Bug::ALL {
        assert_eq!(Bug::from_name(bug.name()), Some(bug));
        assert_eq!(<Bug as BugSwitches>::switch(bug), Bug::switch(bug));
    }
    assert_eq!(Bug::from_name("commit-before-log"), None);
}

/// Runs transaction 1 (the transfer) between a coordinator and two participants built with
/// `bug`, delivering every message in the order sent, and returns the first step whose
/// effects break the durability rule, if any, with the outcome.
fn run_transfer(bug: Option<Bug>) -> (Option<String>, Option<Decision>) {
    let mut c = coordinator(bug);
    let mut ps = [participant(bug), participant(bug)];
    let mut violation = None;
    let mut check = |what: &str, kinds: Vec<crate::sansio::EffectKind>| {
        if let Err(v) = check_durability_order(&kinds) {
            violation.get_or_insert(format!("{what}: {v}"));
        }
    };
    let kinds = |e: &[Effect<C>]| e.iter().map(crate::sansio::Effect::kind).collect();
    let pkinds = |e: &[Effect<P>]| e.iter().map(crate::sansio::Effect::kind).collect();
    let effects = c.step(CoordinatorInput::Begin {
        tx: 1,
        ops: transfer(),
        now: T0,
    });
    check("begin", kinds(&effects));
    let mut queue: std::collections::VecDeque<(NodeId, Option<ParticipantId>, Msg)> = effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((to, None, msg)),
            _ => None,
        })
        .collect();
    let mut outcome = None;
    while let Some((to, sender, msg)) = queue.pop_front() {
        match to {
            NodeId::Coordinator => {
                let from = sender.expect("participants send to the coordinator");
                let e = c.step(CoordinatorInput::Message { from, msg, now: T0 });
                check("coordinator", kinds(&e));
                for effect in e {
                    match effect {
                        Effect::Send { to, msg } => queue.push_back((to, None, msg)),
                        Effect::Finished { decision, .. } => outcome = Some(decision),
                        _ => {}
                    }
                }
            }
            NodeId::Participant(i) => {
                let e = ps[i].step(ParticipantInput::Message { msg, now: T0 });
                check("participant", pkinds(&e));
                for effect in e {
                    if let Effect::Send { to, msg } = effect {
                        queue.push_back((to, Some(i), msg));
                    }
                }
            }
        }
    }
    (violation, outcome)
}

#[test]
fn a_whole_transaction_keeps_the_durability_rule_unless_a_bug_breaks_it() {
    use crate::sansio::BugSwitches;
    assert_eq!(run_transfer(None), (None, Some(Decision::Commit)));
    for &bug in Bug::ALL {
        let (violation, outcome) = run_transfer(Some(bug));
        assert_eq!(outcome, Some(Decision::Commit), "{bug:?}");
        // Only sending Commit before logging it breaks the order; the other bugs break
        // other rules (counting votes, deciding alone, fsyncing at all).
        assert_eq!(
            violation.is_some(),
            bug.breaks_durability_order(),
            "{bug:?}: {violation:?}"
        );
        assert_eq!(
            bug.breaks_durability_order(),
            bug == Bug::DecideBeforeLogging
        );
    }
}

#[test]
fn prepares_freed_together_log_both_records_before_any_vote() {
    let mut p = participant(None);
    let prepare = |tx, ops| Msg::Prepare { tx, ops };
    deliver(
        &mut p,
        prepare(1, vec![Op::new("alice", -1), Op::new("amy", -1)]),
        T0,
    );
    deliver(&mut p, prepare(2, vec![Op::new("alice", -1)]), T0);
    deliver(&mut p, prepare(3, vec![Op::new("amy", -1)]), T0);
    assert_eq!(p.status().waiting, 2);
    // `deliver` checks the rule; the order is spelled out here too.
    let e = deliver(&mut p, decision(1, Decision::Commit), ms(1));
    let kinds: Vec<&str> = e
        .iter()
        .map(|e| match e {
            Effect::Log { .. } => "log",
            Effect::Send { .. } => "send",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["log", "log", "log", "send", "send", "send"]);
    assert_eq!(
        e.last(),
        Some(&Effect::Send {
            to: NodeId::Coordinator,
            msg: Msg::Ack { tx: 1 }
        })
    );
    assert_eq!(p.status().in_doubt, [2, 3].into());
}

//! The controllers, step by step through [`Core::step`], on the primer's common cases and
//! races; and every step of both controllers over small states, against the workspace's
//! rules for a core.

use super::*;
use crate::sansio::{check_durability_order, BugSwitches, Core};

fn from(c: u8, msg: Msg) -> Envelope {
    Envelope {
        to: Node::Dir,
        from: Node::Cache(c),
        msg,
    }
}

fn to(c: u8, from: Node, msg: Msg) -> Envelope {
    Envelope {
        to: Node::Cache(c),
        from,
        msg,
    }
}

fn cache(me: u8, line: CacheLine, bugs: Bugs) -> CacheController {
    CacheController::new(me, line, bugs)
}

fn dir(line: DirLine) -> DirController {
    DirController::new(line, Bugs::NONE)
}

fn cache_sends(effects: &[CacheEffect]) -> Vec<Envelope> {
    effects
        .iter()
        .filter_map(|e| match e {
            CacheEffect::Send(env) => Some(*env),
            _ => None,
        })
        .collect()
}

fn completed(effects: &[CacheEffect]) -> Option<Completed> {
    effects.iter().find_map(|e| match e {
        CacheEffect::Completed(c) => Some(*c),
        _ => None,
    })
}

fn dir_sends(effects: &[DirEffect]) -> Vec<Envelope> {
    effects
        .iter()
        .filter_map(|e| match e {
            DirEffect::Send(env) => Some(*env),
            DirEffect::Stalled => None,
        })
        .collect()
}

#[test]
fn a_read_miss_gets_data_from_memory_and_becomes_a_sharer() {
    let mut c0 = cache(0, CacheLine::INVALID, Bugs::NONE);
    let effects = c0.step(CacheInput::Cpu(CpuOp::Load));
    assert_eq!(c0.line.state, CacheState::IsD);
    assert_eq!(effects, vec![CacheEffect::Send(from(0, Msg::GetS))]);
    let mut d = dir(DirLine::INITIAL);
    let sent = dir_sends(&d.step(from(0, Msg::GetS)));
    assert_eq!((d.line.state, d.line.sharers), (DirState::S, 1));
    let done = c0.step(CacheInput::Receive(sent[0]));
    assert_eq!(c0.line.state, CacheState::S);
    assert_eq!(done, vec![CacheEffect::Completed(Completed::Load(0))]);
}

#[test]
fn an_upgrade_invalidates_the_other_sharers_and_waits_for_their_acks() {
    let mut d = dir(DirLine {
        state: DirState::S,
        sharers: 0b111,
        owner: 0,
        memory: 0,
    });
    let sent = dir_sends(&d.step(from(0, Msg::GetM)));
    assert_eq!(d.line.state, DirState::M);
    assert_eq!(d.line.owner, 0);
    assert_eq!(sent.len(), 3, "data to c1, Inv to c2 and c3");
    let mut c0 = cache(
        0,
        CacheLine {
            state: CacheState::SmAd,
            value: 0,
            acks: 0,
            pending: 1,
        },
        Bugs::NONE,
    );
    // An Inv-Ack overtakes the data: the count goes negative, then the data settles it.
    c0.step(CacheInput::Receive(to(0, Node::Cache(1), Msg::InvAck)));
    assert_eq!(c0.line.acks, -1);
    c0.step(CacheInput::Receive(sent[0]));
    assert_eq!((c0.line.state, c0.line.acks), (CacheState::SmA, 1));
    let last = c0.step(CacheInput::Receive(to(0, Node::Cache(2), Msg::InvAck)));
    assert_eq!(c0.line.state, CacheState::M);
    assert_eq!(completed(&last), Some(Completed::Store(1)));
}

#[test]
fn is_d_stalls_an_inv_unless_built_with_the_race() {
    let line = CacheLine {
        state: CacheState::IsD,
        ..CacheLine::INVALID
    };
    let inv = CacheInput::Receive(to(0, Node::Dir, Msg::Inv(1)));
    let mut correct = cache(0, line, Bugs::NONE);
    assert!(!correct.takes(inv));
    assert_eq!(correct.step(inv), vec![CacheEffect::Stalled]);
    assert_eq!(correct.line, line, "a stall changes nothing");
    let mut buggy = cache(0, line, Bugs::with(Bug::AckInvInIsD));
    assert!(buggy.takes(inv));
    buggy.step(inv);
    assert_eq!(buggy.line.state, CacheState::IsD);
}

#[test]
fn the_owner_answers_a_forwarded_read_with_data_to_both() {
    let mut c0 = cache(
        0,
        CacheLine {
            state: CacheState::M,
            value: 1,
            acks: 0,
            pending: 0,
        },
        Bugs::NONE,
    );
    let sent = cache_sends(&c0.step(CacheInput::Receive(to(0, Node::Dir, Msg::FwdGetS(1)))));
    assert_eq!(c0.line.state, CacheState::S);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].msg, Msg::WriteBack(Some(1)));
    let mut d = dir(DirLine {
        state: DirState::SD,
        sharers: 0b11,
        owner: 0,
        memory: 0,
    });
    d.step(from(0, Msg::WriteBack(Some(1))));
    assert_eq!((d.line.state, d.line.memory), (DirState::S, 1));
}

#[test]
fn the_directory_stalls_requests_while_waiting_for_the_owners_data() {
    let line = DirLine {
        state: DirState::SD,
        sharers: 0b11,
        owner: 0,
        memory: 0,
    };
    let mut d = dir(line);
    assert!(!d.takes(from(2, Msg::GetS)));
    assert_eq!(d.step(from(2, Msg::GetS)), vec![DirEffect::Stalled]);
    assert_eq!(d.step(from(2, Msg::GetM)), vec![DirEffect::Stalled]);
    assert_eq!(d.line, line, "a stall changes nothing");
}

#[test]
fn each_bug_turns_on_its_own_switch_and_names_round_trip() {
    assert_eq!(Bugs::from(None), Bugs::NONE);
    assert_eq!(Bugs::NONE, Bugs::default());
    for &bug in Bug::ALL {
        assert_eq!(Bug::from_name(bug.name()), Some(bug));
        let on = Bugs::from(Some(bug));
        let flags = [
            on.no_invalidate,
            on.no_writeback,
            on.early_write,
            on.ack_inv_in_is_d,
            on.unordered_forwards,
        ];
        assert_eq!(flags.iter().filter(|&&f| f).count(), 1, "{bug:?}");
    }
    assert_eq!(Bug::from_name("no-such-bug"), None);
}

/// Every message a cache or the directory can receive, with small values and cache
/// numbers, from every plausible sender.
fn messages() -> Vec<Msg> {
    let mut msgs = vec![
        Msg::GetS,
        Msg::GetM,
        Msg::PutS,
        Msg::PutAck,
        Msg::InvAck,
        Msg::PutM(None),
        Msg::WriteBack(None),
    ];
    for v in 0..2 {
        msgs.push(Msg::PutM(Some(v)));
        msgs.push(Msg::WriteBack(Some(v)));
        for acks in 0..3 {
            for from_owner in [false, true] {
                msgs.push(Msg::Data {
                    value: v,
                    acks,
                    from_owner,
                });
            }
        }
    }
    for r in 0..3 {
        msgs.extend([Msg::FwdGetS(r), Msg::FwdGetM(r), Msg::Inv(r)]);
    }
    msgs
}

fn every_bugs() -> Vec<Bugs> {
    std::iter::once(Bugs::NONE)
        .chain(Bug::ALL.iter().map(|&b| Bugs::with(b)))
        .collect()
}

/// Steps a copy of `core` on `input` twice over and checks the rules every core keeps:
/// deterministic, durability before sends, a stall is alone and changes nothing.
fn check_step<C>(core: &C, input: C::Input, stalled: C::Effect) -> (C, Vec<C::Effect>)
where
    C: Core + Clone + PartialEq + std::fmt::Debug,
    C::Input: Clone + std::fmt::Debug,
    C::Effect: PartialEq + std::fmt::Debug,
{
    let (mut a, mut b) = (core.clone(), core.clone());
    let effects = a.step(input.clone());
    assert_eq!(
        effects,
        b.step(input.clone()),
        "deterministic: {core:?} {input:?}"
    );
    assert_eq!(a, b, "deterministic: {core:?} {input:?}");
    check_durability_order(&effects).unwrap_or_else(|v| panic!("{core:?} {input:?}: {v}"));
    if effects.contains(&stalled) {
        assert_eq!(effects, vec![stalled], "{core:?} {input:?}");
        assert_eq!(&a, core, "a stall changes nothing: {input:?}");
    }
    (a, effects)
}

#[test]
fn every_cache_step_over_small_lines_keeps_the_core_rules() {
    use CacheState::*;
    let mut steps = 0;
    for bugs in every_bugs() {
        for state in [I, S, M, IsD, ImAd, ImA, SmAd, SmA, MiA, SiA, IiA] {
            for (value, pending, acks) in
                (0..2).flat_map(|v| (0..2).flat_map(move |p| (-2..=2).map(move |a| (v, p, a))))
            {
                let core = cache(
                    1,
                    CacheLine {
                        state,
                        value,
                        acks,
                        pending,
                    },
                    bugs,
                );
                let mut inputs: Vec<CacheInput> = [CpuOp::Load, CpuOp::Store(1), CpuOp::Evict]
                    .into_iter()
                    .map(CacheInput::Cpu)
                    .collect();
                for msg in messages() {
                    for sender in [Node::Dir, Node::Cache(0), Node::Cache(2)] {
                        inputs.push(CacheInput::Receive(to(1, sender, msg)));
                    }
                }
                for input in inputs {
                    let (_, effects) = check_step(&core, input, CacheEffect::Stalled);
                    assert_eq!(core.takes(input), effects != [CacheEffect::Stalled]);
                    let completions = effects
                        .iter()
                        .filter(|e| matches!(e, CacheEffect::Completed(_)))
                        .count();
                    assert!(completions <= 1, "{core:?} {input:?}: {effects:?}");
                    steps += 1;
                }
            }
        }
    }
    assert!(steps > 100_000, "{steps} steps");
}

#[test]
fn every_directory_step_over_small_entries_keeps_the_core_rules() {
    let mut steps = 0;
    for bugs in every_bugs() {
        for state in [DirState::I, DirState::S, DirState::M, DirState::SD] {
            for sharers in 0..8u8 {
                for owner in 0..3 {
                    for memory in 0..2 {
                        let core = DirController::new(
                            DirLine {
                                state,
                                sharers,
                                owner,
                                memory,
                            },
                            bugs,
                        );
                        for msg in messages() {
                            for c in 0..3 {
                                let env = from(c, msg);
                                let (_, effects) = check_step(&core, env, DirEffect::Stalled);
                                assert_eq!(core.takes(env), effects != [DirEffect::Stalled]);
                                steps += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(steps > 100_000, "{steps} steps");
}

//! The design model in protocol words: step names, state fields and explanations for
//! counterexamples. A step is described by what the core actually did: the effects it
//! returned, in order.

use super::{members, Effects, Msg, Node, Step, TwoPcAction, TwoPcModel, TwoPcState};
use crate::{Arrow, ArrowKind, Protocol};
use impls::sansio::check_durability_order;
use impls::sansio::Core;
use impls::twopc::core::{CoordinatorTx, Effect, ParticipantTx};
use impls::twopc::records::CoordinatorRecord;
use impls::twopc::{Decision, NodeId};
use std::fmt::Display;

fn p(i: usize) -> String {
    format!("p{}", i + 1)
}

fn node(n: NodeId) -> String {
    match n {
        NodeId::Coordinator => "coord".to_string(),
        NodeId::Participant(i) => p(i),
    }
}

fn kind(m: Msg) -> String {
    match m {
        Msg::Prepare(_) => "Prepare".to_string(),
        Msg::Vote(_, yes) => format!("Vote({})", if yes { "yes" } else { "no" }),
        Msg::Decision(_, d) => d.to_string(),
        Msg::Ack(_) => "Ack".to_string(),
    }
}

fn msg(m: Msg) -> String {
    match m.receiver() {
        NodeId::Coordinator => format!("{} -> coord {}", p(m.participant()), kind(m)),
        NodeId::Participant(i) => format!("coord -> {} {}", p(i), kind(m)),
    }
}

fn set(s: super::Set, n: usize) -> String {
    let names: Vec<String> = members(s, n).map(p).collect();
    format!("[{}]", names.join(" "))
}

fn records<R: Display>(rs: &[R]) -> String {
    let names: Vec<String> = rs.iter().map(R::to_string).collect();
    format!("[{}]", names.join(", "))
}

/// What a list of effects does, in order: consecutive sends of one kind are grouped
/// (`sends Commit to p1 p2 p3`).
fn effects<R: Display>(from: NodeId, es: &[Effect<R>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut sends: Option<(String, Vec<String>)> = None;
    let flush = |sends: &mut Option<(String, Vec<String>)>, parts: &mut Vec<String>| {
        if let Some((k, to)) = sends.take() {
            parts.push(format!("sends {k} to {}", to.join(" ")));
        }
    };
    for e in es {
        match e {
            Effect::Send { to, msg } => {
                let k = match (from, *to) {
                    (NodeId::Participant(i), _) | (_, NodeId::Participant(i)) => {
                        Msg::of(i, msg).map_or_else(|| msg.kind().to_string(), kind)
                    }
                    _ => unreachable!("messages go between the coordinator and a participant"),
                };
                match &mut sends {
                    Some((prev, to_list)) if *prev == k => to_list.push(node(*to)),
                    _ => {
                        flush(&mut sends, &mut parts);
                        sends = Some((k, vec![node(*to)]));
                    }
                }
            }
            Effect::Log { record, durable } => {
                flush(&mut sends, &mut parts);
                parts.push(if *durable {
                    format!("logs {record} (fsync)")
                } else {
                    format!("logs {record} (no fsync)")
                });
            }
            Effect::Finished { decision, .. } => {
                flush(&mut sends, &mut parts);
                parts.push(format!("finishes ({decision})"));
            }
            Effect::Rejected { error, .. } => {
                flush(&mut sends, &mut parts);
                parts.push(format!("refuses: {error}"));
            }
        }
    }
    flush(&mut sends, &mut parts);
    if parts.is_empty() {
        "nothing to log or send".to_string()
    } else {
        parts.join(", ")
    }
}

fn input(step: Step) -> String {
    match step {
        Step::PrepareShort(i) => format!(
            "{} receives Prepare (its account does not cover the debit)",
            p(i)
        ),
        Step::Deliver(m) => match m {
            Msg::Vote(i, yes) => format!(
                "coord receives {}'s {} vote",
                p(i),
                if yes { "yes" } else { "no" }
            ),
            Msg::Ack(i) => format!("coord receives {}'s Ack", p(i)),
            _ => format!("{} receives {}", p(m.participant()), kind(m)),
        },
        Step::Tick(n) => format!("{}'s timer fires", node(n)),
        Step::FailureNotice(i) => format!("coord is told {} failed", p(i)),
    }
}

fn unsynced<C, R: Display>(n: &Node<C, R>) -> String {
    if n.unsynced.is_empty() {
        String::new()
    } else {
        format!("; unsynced {} lost", records(&n.unsynced))
    }
}

fn participant_tx(t: ParticipantTx) -> String {
    match t {
        ParticipantTx::Unknown => "unknown".to_string(),
        ParticipantTx::Waiting => "waiting for locks".to_string(),
        ParticipantTx::Prepared => "prepared (in doubt)".to_string(),
        ParticipantTx::Decided(Decision::Commit) => "committed".to_string(),
        ParticipantTx::Decided(Decision::Abort) => "aborted".to_string(),
    }
}

/// `es` in words, and for a mid-step crash (`crash`) only up to the point where it stops,
/// with the effect it stops before.
fn step_effects<R: Display>(
    from: NodeId,
    es: &[Effect<R>],
    crash: bool,
) -> (String, Option<String>) {
    let cut = check_durability_order(es).err().map(|v| v.persist);
    match cut.filter(|_| crash) {
        Some(c) => (effects(from, &es[..c]), Some(effects(from, &es[c..=c]))),
        None => (effects(from, es), None),
    }
}

/// A model step's effects in words: the stepping core's, then the coordinator's answers
/// to its queries.
fn done(d: &super::Done, crash: bool) -> String {
    let mut text = String::new();
    for (k, part) in d.iter().enumerate() {
        let (from, (what, cut)) = match part {
            super::Effects::Coordinator(e) => (
                NodeId::Coordinator,
                step_effects(NodeId::Coordinator, e, crash && k == 0),
            ),
            super::Effects::Participant(i, e) => {
                let me = NodeId::Participant(*i);
                (me, step_effects(me, e, crash && k == 0))
            }
        };
        if k == 0 {
            text.push_str(&what);
        } else {
            text.push_str(&format!("; coord answers: {what}"));
        }
        if let Some(cut) = cut {
            text.push_str(&format!(", then {} crashes before it {cut}", node(from)));
        }
    }
    text
}

/// The sends among `es`, the effects of node `from`'s step, as arrows. A message that
/// waits in the network is a send; a Query or Undecided is answered (or lost) at once
/// (see "Reductions" in the model's doc), so it is an exchange, or lost if its receiver
/// is down (`receiver_up` false).
fn send_arrows<R>(from: NodeId, es: &[Effect<R>], receiver_up: bool, out: &mut Vec<Arrow>) {
    for e in es {
        let Effect::Send { to, msg } = e else {
            continue;
        };
        let i = match (from, *to) {
            (NodeId::Participant(i), _) | (_, NodeId::Participant(i)) => i,
            _ => unreachable!("messages go between the coordinator and a participant"),
        };
        let arrow = match Msg::of(i, msg) {
            Some(m) => Arrow::new(node(from), node(*to), kind(m), ArrowKind::Send),
            None if receiver_up => {
                Arrow::new(node(from), node(*to), msg.kind(), ArrowKind::Exchange)
            }
            None => Arrow::new(node(from), node(*to), msg.kind(), ArrowKind::Lose),
        };
        out.push(arrow);
    }
}

/// `m` on its way from its sender to its receiver, as an arrow of `kind`.
fn msg_arrow(m: Msg, kind_of_arrow: ArrowKind) -> Arrow {
    let (from, to) = match m.receiver() {
        NodeId::Coordinator => (p(m.participant()), "coord".to_string()),
        NodeId::Participant(i) => ("coord".to_string(), p(i)),
    };
    Arrow::new(from, to, kind(m), kind_of_arrow)
}

impl TwoPcModel {
    /// What the cores do on `step` in `s`, and (for a mid-step crash) where it stops.
    fn describe_step(&self, s: &TwoPcState, step: Step, crash: bool) -> String {
        let mut n = s.clone();
        match self.take(&mut n, step, false) {
            Some(d) => format!("{}: {}", input(step), done(&d, crash)),
            None => format!("{}: not possible here", input(step)),
        }
    }
}

impl Protocol for TwoPcModel {
    fn describe_action(&self, s: &TwoPcState, action: &TwoPcAction) -> String {
        use TwoPcAction::*;
        match *action {
            Begin => match &s.coordinator.core {
                Some(c) => {
                    let e = c.clone().step(self.begin());
                    format!("coord begins: {}", effects(NodeId::Coordinator, &e))
                }
                None => "coord begins: not possible here".to_string(),
            },
            Step(step) => self.describe_step(s, step, false),
            CrashMidStep(step) => self.describe_step(s, step, true),
            CrashCoordinator => format!(
                "coord crashes (its durable log survives{})",
                unsynced(&s.coordinator)
            ),
            CoordinatorStaysDown => "coord crashes and never comes back".to_string(),
            RecoverCoordinator => {
                let has_commit = s
                    .coordinator
                    .log
                    .iter()
                    .any(|r| matches!(r, CoordinatorRecord::Commit { .. }));
                let (_, e) = self.recover_coordinator(s);
                if has_commit {
                    format!(
                        "coord recovers from its log {}: {}",
                        records(&s.coordinator.log),
                        effects(NodeId::Coordinator, &e)
                    )
                } else {
                    format!(
                        "coord recovers from its log {} with no Commit record: presumed abort",
                        records(&s.coordinator.log)
                    )
                }
            }
            Crash(i) => format!(
                "{} crashes (its durable records survive{})",
                p(i),
                unsynced(&s.participants[i])
            ),
            Recover(i) => {
                let d = self.restart(&mut s.clone(), i);
                format!(
                    "{} recovers from its records {}: {}",
                    p(i),
                    records(&s.participants[i].log),
                    done(&d, false)
                )
            }
            Drop(m) => format!("the network loses {}", msg(m)),
        }
    }

    fn fields(&self, s: &TwoPcState) -> Vec<(String, String)> {
        let n = self.participants;
        let field = |owner: &str, name: &str, value: String| (format!("{owner}.{name}"), value);
        let up = if s.gone {
            "false (for good)"
        } else if s.coordinator.core.is_some() {
            "true"
        } else {
            "false"
        };
        let tx = match s.coordinator_tx() {
            None => "-".to_string(),
            Some(CoordinatorTx::Unknown) => "unknown".to_string(),
            Some(CoordinatorTx::Preparing { yes }) => format!(
                "preparing, yes from [{}]",
                yes.iter().map(|&i| p(i)).collect::<Vec<_>>().join(" ")
            ),
            Some(CoordinatorTx::Decided { decision, acked }) => format!(
                "decided {decision}, acked by [{}]",
                acked.iter().map(|&i| p(i)).collect::<Vec<_>>().join(" ")
            ),
            Some(CoordinatorTx::Finished(d)) => format!("finished {d}"),
        };
        let mut out = vec![
            field("coord", "up", up.to_string()),
            field("coord", "tx1", tx),
            field("coord", "log", records(&s.coordinator.log)),
            field("coord", "unsynced", records(&s.coordinator.unsynced)),
        ];
        for (i, part) in s.participants[..n].iter().enumerate() {
            let owner = p(i);
            out.push(field(&owner, "up", part.core.is_some().to_string()));
            out.push(field(
                &owner,
                "account",
                if s.checked & (1 << i) == 0 {
                    "not checked yet"
                } else if s.short & (1 << i) == 0 {
                    "covers the debit"
                } else {
                    "does not cover the debit"
                }
                .to_string(),
            ));
            out.push(field(&owner, "tx1", participant_tx(s.participant_tx(i))));
            out.push(field(&owner, "log", records(&part.log)));
            out.push(field(&owner, "unsynced", records(&part.unsynced)));
        }
        let msgs: Vec<String> = s.messages().map(msg).collect();
        out.push(field(
            "network",
            "messages",
            format!("{{{}}}", msgs.join("; ")),
        ));
        let g = &s.ghost;
        out.push(field("history", "committed", set(g.committed, n)));
        out.push(field("history", "aborted", set(g.aborted, n)));
        out.push(field(
            "history",
            "acked-commit-unapplied",
            set(g.unapplied, n),
        ));
        out.push(field("history", "voted-yes", set(g.voted_yes, n)));
        out.push(field(
            "history",
            "recovered-prepared",
            set(g.recovered_prepared, n),
        ));
        out.push(field("history", "reacknowledged", set(g.reacknowledged, n)));
        out
    }

    fn explain(&self, property: &str, s: &TwoPcState) -> Vec<String> {
        let n = self.participants;
        let g = &s.ghost;
        match property {
            "Atomicity" => {
                let mut why = vec![format!("{} committed", set(g.committed, n))];
                if g.aborted != 0 {
                    why.push(format!("while {} aborted", set(g.aborted, n)));
                }
                if g.unapplied != 0 {
                    why.push(format!(
                        "while {} acknowledged Commit without applying it (its records say it \
                         never prepared)",
                        set(g.unapplied, n)
                    ));
                }
                why
            }
            "Validity" => vec![format!(
                "{} committed, but only {} ever voted yes",
                set(g.committed, n),
                set(g.voted_yes, n)
            )],
            "Stability" => {
                vec!["the coordinator decided Commit and, after a crash, Abort".to_string()]
            }
            "TimeoutAbortsPrepared" => vec![format!(
                "{} voted yes and then learnt Abort, with no crash and no no vote: the \
                 coordinator's vote timeout decided it",
                set(self.timeout_aborted_prepared(s), n)
            )],
            "PreparedSurvivesCrash" => vec![format!(
                "{} crashed after voting yes and recovered in doubt from its prepare record, \
                 still holding its promise",
                set(g.recovered_prepared, n)
            )],
            "LostAckReacknowledged" => vec![format!(
                "the network lost the acknowledgement of {}, and a repeated decision made it \
                 acknowledge again",
                set(g.reacknowledged, n)
            )],
            "EveryParticipantDecides" => {
                let mut why = Vec::new();
                for i in 0..n {
                    match s.participant_tx(i) {
                        ParticipantTx::Prepared => why.push(format!(
                            "{} voted yes and is in doubt: it may not decide alone, and only the \
                             coordinator knows the outcome",
                            p(i)
                        )),
                        ParticipantTx::Decided(_) => {}
                        t => why.push(format!("{} has not decided ({})", p(i), participant_tx(t))),
                    }
                }
                if s.gone {
                    why.push(
                        "the coordinator is down for good, so no step is left: 2PC blocks"
                            .to_string(),
                    );
                }
                why
            }
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        std::iter::once("coord".to_string())
            .chain((0..self.participants).map(p))
            .collect()
    }

    fn actor(&self, _: &TwoPcState, action: &TwoPcAction) -> Option<String> {
        use TwoPcAction::*;
        match *action {
            Begin | CrashCoordinator | CoordinatorStaysDown | RecoverCoordinator => {
                Some(node(NodeId::Coordinator))
            }
            Step(step) | CrashMidStep(step) => Some(node(step.node())),
            Crash(i) | Recover(i) => Some(p(i)),
            Drop(_) => None,
        }
    }

    /// The effects the cores return, replayed on a copy of `s` as the step itself
    /// carries them out: a delivery, then the stepping core's sends (cut where a mid-step
    /// crash stops it), then the coordinator's answers to a Query.
    fn arrows(&self, s: &TwoPcState, action: &TwoPcAction, _: &TwoPcState) -> Vec<Arrow> {
        use TwoPcAction::*;
        let mut out = Vec::new();
        let mut n = s.clone();
        let done: super::Done = match *action {
            Begin => match &s.coordinator.core {
                Some(c) => vec![Effects::Coordinator(c.clone().step(self.begin()))],
                None => Vec::new(),
            },
            Step(step) | CrashMidStep(step) => {
                match step {
                    super::Step::Deliver(m) => out.push(msg_arrow(m, ArrowKind::Deliver)),
                    super::Step::PrepareShort(i) => {
                        out.push(msg_arrow(Msg::Prepare(i), ArrowKind::Deliver))
                    }
                    super::Step::Tick(_) | super::Step::FailureNotice(_) => {}
                }
                let crash = matches!(action, CrashMidStep(_));
                self.take(&mut n, step, crash).unwrap_or_default()
            }
            RecoverCoordinator => vec![Effects::Coordinator(self.recover_coordinator(s).1)],
            Recover(i) => self.restart(&mut n, i),
            Drop(m) => {
                out.push(msg_arrow(m, ArrowKind::Lose));
                Vec::new()
            }
            CrashCoordinator | CoordinatorStaysDown | Crash(_) => Vec::new(),
        };
        let coordinator_up = s.coordinator.core.is_some();
        for part in &done {
            match part {
                Effects::Coordinator(e) => send_arrows(NodeId::Coordinator, e, true, &mut out),
                Effects::Participant(i, e) => {
                    send_arrows(NodeId::Participant(*i), e, coordinator_up, &mut out)
                }
            }
        }
        out
    }
}

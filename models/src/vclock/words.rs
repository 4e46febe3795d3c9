//! The vector-clock model in its own words: `p1 sends m1.1 {p1:1} to p2`, `p2 receives
//! m1.1 from p1 -> {p1:1, p2:1}`, each event's stamp and causal past.

use super::{Action, Kind, Message, VclockModel, VclockState, MAX_EVENTS};
use crate::{Arrow, ArrowKind, Protocol};
use impls::sansio::Core;
use impls::vclock::process::{Bug, Clock, Effect, Input, ProcessId};

/// `p1`, `p2`, ...
fn proc_name(p: ProcessId) -> String {
    format!("p{}", p + 1)
}

/// Event `k` of process `p`: `p1.2`.
fn event_name(p: ProcessId, k: u8) -> String {
    format!("p{}.{}", p + 1, k + 1)
}

/// The message sent as event `k` of `p`: `m1.2`.
fn message_name(p: ProcessId, k: u8) -> String {
    format!("m{}.{}", p + 1, k + 1)
}

/// `{p1:2, p3:1}`.
pub fn clock(c: &Clock) -> String {
    let parts: Vec<String> = c
        .counters()
        .map(|(p, n)| format!("{}:{n}", proc_name(*p)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The events in a past, by name, in order.
fn past(bits: u32) -> String {
    let names: Vec<String> = (0..32u32)
        .filter(|b| bits & (1 << b) != 0)
        .map(|b| {
            event_name(
                (b / u32::from(MAX_EVENTS)) as ProcessId,
                (b % u32::from(MAX_EVENTS)) as u8,
            )
        })
        .collect();
    format!("{{{}}}", names.join(", "))
}

fn message(m: &Message) -> String {
    format!(
        "{} {} -> {} {}",
        message_name(m.from, m.sent_as),
        proc_name(m.from),
        proc_name(m.to),
        clock(&m.stamp)
    )
}

impl VclockModel {
    /// The stamp `p`'s core gives the event `input` in `s`.
    fn stamp_after(&self, s: &VclockState, p: ProcessId, input: Input) -> Clock {
        let mut core = s.procs[p as usize].clone();
        core.step(input)
            .into_iter()
            .find_map(|e| match e {
                Effect::Stamped(c) => Some(c),
                Effect::Send { .. } => None,
            })
            .expect("every step stamps its event")
    }

    /// What the bug changes in a step of this kind, in words, if it does.
    fn bug_note(&self, action: &Action) -> &'static str {
        match (self.bug, action) {
            (Some(Bug::ReceiveWithoutMerge), Action::Receive { .. }) => " without merging",
            (Some(Bug::ReceiveWithoutIncrement), Action::Receive { .. }) => {
                " without counting the receive"
            }
            (Some(Bug::SendWithoutIncrement), Action::Send { .. }) => " without counting the send",
            _ => "",
        }
    }
}

impl Protocol for VclockModel {
    fn describe_action(&self, s: &VclockState, action: &Action) -> String {
        let note = self.bug_note(action);
        match *action {
            Action::Local(p) => format!(
                "{} does a local event {}",
                proc_name(p),
                clock(&self.stamp_after(s, p, Input::Local))
            ),
            Action::Send { from, to } => {
                let k = s.hist[from as usize].len() as u8;
                format!(
                    "{} sends {} {} to {}{note}",
                    proc_name(from),
                    message_name(from, k),
                    clock(&self.stamp_after(s, from, Input::Send { to })),
                    proc_name(to)
                )
            }
            Action::Receive { to, from, sent_as } => {
                let Some(m) = s
                    .net
                    .iter()
                    .find(|m| m.from == from && m.sent_as == sent_as && m.to == to)
                else {
                    return format!(
                        "{} receives {} (not in flight)",
                        proc_name(to),
                        message_name(from, sent_as)
                    );
                };
                let stamp = self.stamp_after(
                    s,
                    to,
                    Input::Receive {
                        from,
                        stamp: m.stamp.clone(),
                    },
                );
                format!(
                    "{} receives {} {} from {}{note} -> {}",
                    proc_name(to),
                    message_name(from, sent_as),
                    clock(&m.stamp),
                    proc_name(from),
                    clock(&stamp)
                )
            }
        }
    }

    fn fields(&self, s: &VclockState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (p, core) in s.procs.iter().enumerate() {
            let p = p as ProcessId;
            out.push((format!("{}.clock", proc_name(p)), clock(core.clock())));
            for (k, e) in s.hist[p as usize].iter().enumerate() {
                let what = match e.kind {
                    Kind::Local => "local".to_string(),
                    Kind::Send(to) => {
                        format!("send {} to {}", message_name(p, k as u8), proc_name(to))
                    }
                    Kind::Receive(from, sent_as) => {
                        format!("receive {}", message_name(from, sent_as))
                    }
                };
                out.push((
                    format!("{}.event{}", proc_name(p), k + 1),
                    format!(
                        "{what}, stamp {}, causal past {}",
                        clock(&e.stamp),
                        past(e.past)
                    ),
                ));
            }
        }
        let net: Vec<String> = s.net.iter().map(message).collect();
        out.push(("network".to_string(), format!("[{}]", net.join(", "))));
        out
    }

    fn explain(&self, property: &str, s: &VclockState) -> Vec<String> {
        match property {
            "StampIsCausalPast" => match self.miscounted(s) {
                Some((p, k, i, said, truth)) => {
                    let e = &s.hist[p as usize][k as usize];
                    vec![
                        format!(
                            "{} is stamped {}, but its causal past {} holds {truth} event(s) of {}: entry {} is {said}, not {truth}",
                            event_name(p, k),
                            clock(&e.stamp),
                            past(e.past),
                            proc_name(i),
                            proc_name(i)
                        ),
                    ]
                }
                None => vec!["every stamp counts its event's causal past".to_string()],
            },
            "OrderIsCausality" => match self.misordered(s) {
                Some(((p, k), (q, l), said, truth)) => vec![format!(
                    "{} {} against {} {}: the clocks say {said:?}, happens-before says {truth:?}",
                    event_name(p, k),
                    clock(&s.hist[p as usize][k as usize].stamp),
                    event_name(q, l),
                    clock(&s.hist[q as usize][l as usize].stamp),
                )],
                None => vec!["the clock order is happens-before".to_string()],
            },
            "ConcurrentEvents" => match self.concurrent_pair(s) {
                Some(((p, k), (q, l))) => vec![format!(
                    "{} and {} are concurrent: neither is in the other's causal past",
                    event_name(p, k),
                    event_name(q, l)
                )],
                None => Vec::new(),
            },
            "TransitiveDependency" => match self.transitive(s) {
                Some(((p, k), (q, l))) => vec![format!(
                    "{} happened before {}, and {} has heard nothing from {} directly: the dependency came through a third process",
                    event_name(p, k),
                    event_name(q, l),
                    proc_name(q),
                    proc_name(p)
                )],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.processes).map(proc_name).collect()
    }

    fn actor(&self, _s: &VclockState, action: &Action) -> Option<String> {
        Some(proc_name(match *action {
            Action::Local(p) => p,
            Action::Send { from, .. } => from,
            Action::Receive { to, .. } => to,
        }))
    }

    fn arrows(&self, before: &VclockState, action: &Action, _after: &VclockState) -> Vec<Arrow> {
        match *action {
            Action::Local(_) => Vec::new(),
            Action::Send { from, to } => vec![Arrow::new(
                proc_name(from),
                proc_name(to),
                message_name(from, before.hist[from as usize].len() as u8),
                ArrowKind::Send,
            )],
            Action::Receive { to, from, sent_as } => vec![Arrow::new(
                proc_name(from),
                proc_name(to),
                message_name(from, sent_as),
                ArrowKind::Deliver,
            )],
        }
    }
}

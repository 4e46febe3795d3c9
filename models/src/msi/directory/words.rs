//! The directory model in protocol words: the primer's state and message names.

use super::super::snooping::words::{addr, cache, many_sharers, stale_load, written_back};
use super::{DirAction, DirModel, DirModelState};
use crate::{Arrow, ArrowKind, Protocol};
use impls::msi::core::{CacheState, CpuOp, DirState, Envelope, Msg, Node};

fn node(n: Node) -> String {
    match n {
        Node::Cache(c) => cache(c as usize),
        Node::Dir => "dir".to_string(),
    }
}

fn msg(m: Msg) -> String {
    match m {
        Msg::GetS => "GetS".into(),
        Msg::GetM => "GetM".into(),
        Msg::PutS => "PutS".into(),
        Msg::PutM(Some(v)) => format!("PutM(data {v})"),
        Msg::PutM(None) => "PutM(no data)".into(),
        Msg::FwdGetS(r) => format!("Fwd-GetS(for {})", cache(r as usize)),
        Msg::FwdGetM(r) => format!("Fwd-GetM(for {})", cache(r as usize)),
        Msg::Inv(r) => format!("Inv(ack to {})", cache(r as usize)),
        Msg::PutAck => "Put-Ack".into(),
        Msg::Data {
            value,
            acks,
            from_owner,
        } => {
            if from_owner {
                format!("Data({value}, from owner)")
            } else {
                format!("Data({value}, acks {acks})")
            }
        }
        Msg::InvAck => "Inv-Ack".into(),
        Msg::WriteBack(Some(v)) => format!("Data({v}, write-back)"),
        Msg::WriteBack(None) => "write-back without data".into(),
    }
}

fn envelope(a: u8, e: Envelope) -> String {
    format!(
        "{} -> {} {} [{}]",
        node(e.from),
        node(e.to),
        msg(e.msg),
        addr(a as usize)
    )
}

impl Protocol for DirModel {
    fn describe_action(&self, s: &DirModelState, action: &DirAction) -> String {
        match *action {
            DirAction::Cpu(c, a, op) => {
                let line = s.caches[c][a];
                let what = match op {
                    CpuOp::Load if line.state.readable() => {
                        format!("loads {}: hit, returns {}", addr(a), line.value)
                    }
                    CpuOp::Load => format!("loads {}: miss, sends GetS", addr(a)),
                    CpuOp::Store(v) if line.state == CacheState::M => {
                        format!("stores {v} to {}: hit", addr(a))
                    }
                    CpuOp::Store(v) => format!("stores {v} to {}: sends GetM", addr(a)),
                    CpuOp::Evict if line.state == CacheState::M => {
                        if self.bugs().no_writeback {
                            format!("evicts {}: PutM without its data", addr(a))
                        } else {
                            format!("evicts {}: PutM with data {}", addr(a), line.value)
                        }
                    }
                    CpuOp::Evict => format!("evicts {}: PutS", addr(a)),
                };
                format!("{} {what}", cache(c))
            }
            DirAction::Deliver(a, env) => {
                let before = match env.to {
                    Node::Dir => s.dirs[a].state.name(),
                    Node::Cache(c) => s.caches[c as usize][a].state.name(),
                };
                format!("deliver {} (receiver in {before})", envelope(a as u8, env))
            }
        }
    }

    fn fields(&self, s: &DirModelState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in 0..self.caches {
            for a in 0..self.addrs {
                let line = s.caches[c][a];
                let mut shown = line.state.name().to_string();
                if line.state.readable() || line.state == CacheState::MiA {
                    shown += &format!("({})", line.value);
                }
                if line.acks != 0 {
                    shown += &format!(" acks-due={}", line.acks);
                }
                out.push((format!("{}.{}", cache(c), addr(a)), shown));
            }
        }
        for a in 0..self.addrs {
            let d = s.dirs[a];
            let sharers: Vec<String> = (0..self.caches)
                .filter(|&c| d.sharers & (1 << c) != 0)
                .map(cache)
                .collect();
            let mut shown = format!("{} memory={}", d.state.name(), d.memory);
            if d.state == DirState::M {
                shown += &format!(" owner={}", cache(d.owner as usize));
            }
            if !sharers.is_empty() {
                shown += &format!(" sharers=[{}]", sharers.join(" "));
            }
            out.push((format!("dir.{}", addr(a)), shown));
        }
        let msgs: Vec<String> = s.net.iter().map(|&(a, e)| envelope(a, e)).collect();
        out.push((
            "network.in-flight".into(),
            format!("{{{}}}", msgs.join("; ")),
        ));
        // The ordered forwarded-request network: one FIFO per cache, oldest first.
        for c in 0..self.caches {
            let queued: Vec<String> = (0..self.addrs)
                .flat_map(|a| {
                    s.forwards[c][a]
                        .iter()
                        .map(move |&m| format!("{} [{}]", msg(m), addr(a)))
                })
                .collect();
            out.push((
                format!("network.forwards-to-{}", cache(c)),
                format!("[{}]", queued.join(", ")),
            ));
        }
        for a in 0..self.addrs {
            out.push((
                format!("history.last-stored-{}", addr(a)),
                s.ghost.last_stored[a].to_string(),
            ));
        }
        out
    }

    fn explain(&self, property: &str, s: &DirModelState) -> Vec<String> {
        match property {
            "SWMR" => self
                .swmr_violation(s)
                .map(|(a, writers, readers)| {
                    let names = |v: &[usize]| {
                        v.iter()
                            .map(|&c| format!("{} ({})", cache(c), s.caches[c][a].state.name()))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    };
                    if writers.len() > 1 {
                        vec![format!("{} all hold {} in M", names(&writers), addr(a))]
                    } else {
                        vec![format!(
                            "{} may write {} while {} may read it",
                            names(&writers),
                            addr(a),
                            names(&readers)
                        )]
                    }
                })
                .unwrap_or_default(),
            "DataValue" => s.ghost.stale_load.map(stale_load).into_iter().collect(),
            "NoDeadlock" => {
                let mut why = vec!["no action is enabled, yet the system is not quiescent".into()];
                for (a, e) in self.deliverable(s) {
                    why.push(format!("stuck: {}", envelope(a as u8, e)));
                }
                why
            }
            "ManySharers" => many_sharers(self.many_sharers(s)),
            "OwnershipForwarded" => self
                .ownership_forwarded(s)
                .map(|(a, owner, req)| {
                    vec![format!(
                        "the directory forwarded {}'s GetM for {} to the owner {}",
                        cache(req as usize),
                        addr(a),
                        cache(owner)
                    )]
                })
                .unwrap_or_default(),
            "AcksOvertakeData" => self
                .acks_before_data(s)
                .map(|(c, a, acks)| {
                    vec![format!(
                        "{} counted {} Inv-Ack(s) for {} before the data said how many to expect",
                        cache(c),
                        -acks,
                        addr(a)
                    )]
                })
                .unwrap_or_default(),
            "InvalidatedWhileEvicting" => self
                .invalidated_while_evicting(s)
                .map(|(c, a)| {
                    vec![format!(
                        "{} was invalidated while it waited for the Put-Ack of its replacement of {}",
                        cache(c),
                        addr(a)
                    )]
                })
                .unwrap_or_default(),
            "DirtyDataReachesMemory" => written_back(self.written_back(s)),
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.caches)
            .map(cache)
            .chain(std::iter::once("dir".to_string()))
            .collect()
    }

    fn actor(&self, _: &DirModelState, action: &DirAction) -> Option<String> {
        match *action {
            DirAction::Cpu(c, _, _) => Some(cache(c)),
            DirAction::Deliver(_, env) => Some(node(env.to)),
        }
    }

    /// Every message waits in a network (unordered, or a forwarded-request FIFO): a send
    /// is a message that is in flight after the step and was not before, counted as a
    /// multiset; a delivery is the message the action delivers.
    fn arrows(&self, s: &DirModelState, action: &DirAction, after: &DirModelState) -> Vec<Arrow> {
        let arrow = |a: usize, e: &Envelope, kind| {
            let mut label = msg(e.msg);
            if self.addrs > 1 {
                label += &format!(" [{}]", addr(a));
            }
            Arrow::new(node(e.from), node(e.to), label, kind)
        };
        let mut out = Vec::new();
        let mut in_flight = self.in_flight(s);
        if let DirAction::Deliver(a, env) = *action {
            out.push(arrow(a, &env, ArrowKind::Deliver));
            if let Some(k) = in_flight.iter().position(|m| *m == (a, env)) {
                in_flight.remove(k);
            }
        }
        for m in self.in_flight(after) {
            match in_flight.iter().position(|x| *x == m) {
                Some(k) => {
                    in_flight.remove(k);
                }
                None => out.push(arrow(m.0, &m.1, ArrowKind::Send)),
            }
        }
        out
    }
}

impl DirModel {
    /// Every message in flight in `s`, on the unordered networks and in the forwarded-request
    /// FIFOs, with its address.
    fn in_flight(&self, s: &DirModelState) -> Vec<(usize, Envelope)> {
        let mut all: Vec<(usize, Envelope)> = s.net.iter().map(|&(a, e)| (a as usize, e)).collect();
        for c in 0..self.caches {
            for a in 0..self.addrs {
                all.extend(s.forwards[c][a].iter().map(|&msg| {
                    (
                        a,
                        Envelope {
                            to: Node::Cache(c as u8),
                            from: Node::Dir,
                            msg,
                        },
                    )
                }));
            }
        }
        all
    }
}

//! The snooping model in protocol words.

use super::{SnoopAction, SnoopModel, SnoopState, Stable};
use crate::{Arrow, ArrowKind, Protocol};

/// `c1`, `c2`, ... for caches numbered from 0.
pub(crate) fn cache(c: usize) -> String {
    format!("c{}", c + 1)
}

/// `x`, `y` for addresses 0 and 1.
/// Why a load broke DataValue, shared by both models.
pub(crate) fn stale_load(l: super::StaleLoad) -> String {
    format!(
        "{} loaded {} = {}, but the last store to {} wrote {}",
        cache(l.cache),
        addr(l.addr),
        l.got,
        addr(l.addr),
        l.expected
    )
}

/// `ManySharers`' explanation, in both protocols: the caches sharing an address in S.
pub(crate) fn many_sharers(found: Option<(usize, Vec<usize>)>) -> Vec<String> {
    found
        .map(|(a, sharers)| {
            let names: Vec<String> = sharers.iter().map(|&c| cache(c)).collect();
            vec![format!("{} share {} in S", names.join(" and "), addr(a))]
        })
        .unwrap_or_default()
}

/// `DirtyDataReachesMemory`' explanation, in both protocols: the value written back.
pub(crate) fn written_back(found: Option<(usize, u8)>) -> Vec<String> {
    found
        .map(|(a, v)| vec![format!("memory holds {}={v}, written back", addr(a))])
        .unwrap_or_default()
}

pub(crate) fn addr(a: usize) -> &'static str {
    ["x", "y"][a]
}

impl Protocol for SnoopModel {
    fn describe_action(&self, s: &SnoopState, action: &SnoopAction) -> String {
        match *action {
            SnoopAction::Load(c, a) => {
                let line = s.lines[c][a];
                if line.state == Stable::I {
                    let owner = self.others(s, c, a, Stable::M).first().copied();
                    match owner {
                        Some(o) => format!(
                            "{} loads {}: miss, BusRd; {} (M) supplies {} and drops to S{}",
                            cache(c),
                            addr(a),
                            cache(o),
                            s.lines[o][a].value,
                            if self.bug == Some(super::Bug::NoWriteback) {
                                " without writing it back"
                            } else {
                                ", writing it back"
                            }
                        ),
                        None => format!(
                            "{} loads {}: miss, BusRd; memory supplies {}",
                            cache(c),
                            addr(a),
                            s.memory[a]
                        ),
                    }
                } else {
                    format!(
                        "{} loads {}: hit in {}, returns {}",
                        cache(c),
                        addr(a),
                        line.state.name(),
                        line.value
                    )
                }
            }
            SnoopAction::Store(c, a, v) => {
                let how = match s.lines[c][a].state {
                    Stable::M => "hit in M".to_string(),
                    Stable::S => "BusUpgr".to_string(),
                    Stable::I => "BusRdX".to_string(),
                };
                let mut others: Vec<String> = self
                    .others(s, c, a, Stable::S)
                    .into_iter()
                    .chain(self.others(s, c, a, Stable::M))
                    .map(cache)
                    .collect();
                others.sort();
                let effect = if others.is_empty() || s.lines[c][a].state == Stable::M {
                    String::new()
                } else if self.bug == Some(super::Bug::NoInvalidate) {
                    let keep = if others.len() == 1 { "keeps" } else { "keep" };
                    format!(
                        "; {} {keep} their copies (no invalidation)",
                        others.join(", ")
                    )
                } else {
                    format!("; invalidates {}", others.join(", "))
                };
                format!("{} stores {v} to {}: {how}{effect}", cache(c), addr(a))
            }
            SnoopAction::Evict(c, a) => match s.lines[c][a].state {
                Stable::M if self.bug == Some(super::Bug::NoWriteback) => format!(
                    "{} evicts {} (M) without writing {} back",
                    cache(c),
                    addr(a),
                    s.lines[c][a].value
                ),
                Stable::M => format!(
                    "{} evicts {} (M), writing {} back",
                    cache(c),
                    addr(a),
                    s.lines[c][a].value
                ),
                _ => format!("{} evicts {} (S)", cache(c), addr(a)),
            },
        }
    }

    fn fields(&self, s: &SnoopState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in 0..self.caches {
            for a in 0..self.addrs {
                let line = s.lines[c][a];
                let shown = match line.state {
                    Stable::I => "I".to_string(),
                    st => format!("{}({})", st.name(), line.value),
                };
                out.push((format!("{}.{}", cache(c), addr(a)), shown));
            }
        }
        for a in 0..self.addrs {
            out.push((format!("memory.{}", addr(a)), s.memory[a].to_string()));
        }
        for a in 0..self.addrs {
            out.push((
                format!("history.last-stored-{}", addr(a)),
                s.ghost.last_stored[a].to_string(),
            ));
        }
        out
    }

    fn explain(&self, property: &str, s: &SnoopState) -> Vec<String> {
        match property {
            "SWMR" => self
                .swmr_violation(s)
                .map(|(a, m, sh)| {
                    let names = |v: &[usize]| v.iter().map(|&c| cache(c)).collect::<Vec<_>>();
                    vec![format!(
                        "{} holds {} in M while {} hold{} it{}",
                        names(&m).join(" and "),
                        addr(a),
                        names(if m.len() > 1 { &m[1..] } else { &sh }).join(" and "),
                        if sh.len() == 1 || m.len() > 1 {
                            "s"
                        } else {
                            ""
                        },
                        if m.len() > 1 { " in M too" } else { " in S" }
                    )]
                })
                .unwrap_or_default(),
            "DataValue" => s.ghost.stale_load.map(stale_load).into_iter().collect(),
            "WriteMissInvalidates" if s.ghost.write_miss_invalidated => {
                vec!["a store that missed invalidated another cache's copy".to_string()]
            }
            "ManySharers" => many_sharers(self.many_sharers(s)),
            "DirtyDataReachesMemory" => written_back(self.written_back(s)),
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.caches)
            .map(cache)
            .chain(std::iter::once("memory".to_string()))
            .collect()
    }

    fn actor(&self, _: &SnoopState, action: &SnoopAction) -> Option<String> {
        match *action {
            SnoopAction::Load(c, _) | SnoopAction::Store(c, _, _) | SnoopAction::Evict(c, _) => {
                Some(cache(c))
            }
        }
    }

    /// A bus transaction is one atomic step: each transfer of data and each invalidation
    /// it makes is an exchange between the issuing cache and another cache or memory.
    fn arrows(&self, s: &SnoopState, action: &SnoopAction, _: &SnoopState) -> Vec<Arrow> {
        let exchange = |from: String, to: String, label: String| {
            Arrow::new(from, to, label, ArrowKind::Exchange)
        };
        let mut out = Vec::new();
        match *action {
            SnoopAction::Load(c, a) if s.lines[c][a].state == Stable::I => {
                match self.others(s, c, a, Stable::M).first() {
                    Some(&o) => {
                        let value = s.lines[o][a].value;
                        out.push(exchange(
                            cache(o),
                            cache(c),
                            format!("BusRd: data {}={value}", addr(a)),
                        ));
                        if self.bug != Some(super::Bug::NoWriteback) {
                            out.push(exchange(
                                cache(o),
                                "memory".into(),
                                format!("write-back {}={value}", addr(a)),
                            ));
                        }
                    }
                    None => out.push(exchange(
                        "memory".into(),
                        cache(c),
                        format!("BusRd: data {}={}", addr(a), s.memory[a]),
                    )),
                }
            }
            SnoopAction::Store(c, a, _) if s.lines[c][a].state != Stable::M => {
                let bus = if s.lines[c][a].state == Stable::S {
                    "BusUpgr"
                } else {
                    "BusRdX"
                };
                let owners = self.others(s, c, a, Stable::M);
                let sharers = if self.bug == Some(super::Bug::NoInvalidate) {
                    Vec::new()
                } else {
                    self.others(s, c, a, Stable::S)
                };
                for o in owners.into_iter().chain(sharers) {
                    out.push(exchange(
                        cache(c),
                        cache(o),
                        format!("{bus}: invalidate {}", addr(a)),
                    ));
                }
            }
            SnoopAction::Evict(c, a)
                if s.lines[c][a].state == Stable::M
                    && self.bug != Some(super::Bug::NoWriteback) =>
            {
                out.push(exchange(
                    cache(c),
                    "memory".into(),
                    format!("write-back {}={}", addr(a), s.lines[c][a].value),
                ));
            }
            _ => {}
        }
        out
    }
}

//! Judges a recording of causal broadcast: every delivery comes after the deliveries of
//! everything that causally precedes it, and no message is delivered twice at a node.
//!
//! The truth is taken from the recording alone: a broadcast's direct predecessors are the
//! messages its origin had delivered when it broadcast (its own earlier broadcasts among
//! them), and its causal past is the closure of that relation. The vector stamps the
//! layer used are not consulted.

use super::{MsgId, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// A broadcast as recorded: its identity and what its origin had delivered by then.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sent {
    /// The message.
    pub id: MsgId,
    /// The messages delivered at its origin before it was broadcast.
    pub after: Vec<MsgId>,
}

/// A delivery as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Where.
    pub node: NodeId,
    /// What.
    pub id: MsgId,
}

/// What a run of the layer recorded, in the order things happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// Every broadcast.
    pub broadcasts: Vec<Sent>,
    /// Every delivery (a node's own broadcast is delivered to itself when sent).
    pub deliveries: Vec<Delivery>,
}

/// A delivery that breaks causal order or repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Violation {
    /// `node` delivered `id` before `missing`, which precedes it; `chain` runs from
    /// `missing` to `id`, each message delivered at the next one's origin before that one
    /// was broadcast.
    OutOfOrder {
        /// Where.
        node: NodeId,
        /// The delivery's position among all deliveries.
        at: usize,
        /// What was delivered.
        id: MsgId,
        /// A predecessor not yet delivered there.
        missing: MsgId,
        /// How `missing` precedes `id`.
        chain: Vec<MsgId>,
    },
    /// `node` delivered `id` a second time.
    Twice {
        /// Where.
        node: NodeId,
        /// The second delivery's position.
        at: usize,
        /// What.
        id: MsgId,
    },
    /// `node` delivered `id`, which nobody broadcast.
    Unknown {
        /// Where.
        node: NodeId,
        /// The delivery's position.
        at: usize,
        /// What.
        id: MsgId,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::OutOfOrder {
                node,
                at,
                id,
                missing,
                chain,
            } => {
                let chain: Vec<String> = chain.iter().map(|m| m.to_string()).collect();
                write!(
                    f,
                    "delivery {at}: n{} delivered {id} before {missing}, which precedes it ({})",
                    node + 1,
                    chain.join(" -> ")
                )
            }
            Violation::Twice { node, at, id } => {
                write!(
                    f,
                    "delivery {at}: n{} delivered {id} a second time",
                    node + 1
                )
            }
            Violation::Unknown { node, at, id } => {
                write!(
                    f,
                    "delivery {at}: n{} delivered {id}, which was never broadcast",
                    node + 1
                )
            }
        }
    }
}

/// What the checker found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Deliveries checked.
    pub deliveries: usize,
    /// Broadcasts in the recording.
    pub broadcasts: usize,
    /// Every violation, in delivery order.
    pub violations: Vec<Violation>,
}

impl Verdict {
    /// Whether every delivery respected causal order and none repeated.
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks `rec`: each node's deliveries, in order, against the causal past of each
/// message.
pub fn check(rec: &Recording) -> Verdict {
    let direct: BTreeMap<MsgId, &[MsgId]> = rec
        .broadcasts
        .iter()
        .map(|s| (s.id, s.after.as_slice()))
        .collect();
    let mut pasts: BTreeMap<MsgId, BTreeSet<MsgId>> = BTreeMap::new();
    let mut delivered: BTreeMap<NodeId, BTreeSet<MsgId>> = BTreeMap::new();
    let mut violations = Vec::new();
    for (at, d) in rec.deliveries.iter().enumerate() {
        if !direct.contains_key(&d.id) {
            violations.push(Violation::Unknown {
                node: d.node,
                at,
                id: d.id,
            });
            continue;
        }
        let past = pasts
            .entry(d.id)
            .or_insert_with(|| closure(&direct, d.id))
            .clone();
        let here = delivered.entry(d.node).or_default();
        if !here.insert(d.id) {
            violations.push(Violation::Twice {
                node: d.node,
                at,
                id: d.id,
            });
            continue;
        }
        if let Some(&missing) = past.iter().find(|p| !here.contains(p)) {
            violations.push(Violation::OutOfOrder {
                node: d.node,
                at,
                id: d.id,
                missing,
                chain: chain(&direct, missing, d.id),
            });
        }
    }
    Verdict {
        deliveries: rec.deliveries.len(),
        broadcasts: rec.broadcasts.len(),
        violations,
    }
}

/// Every message that causally precedes `id`.
fn closure(direct: &BTreeMap<MsgId, &[MsgId]>, id: MsgId) -> BTreeSet<MsgId> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<MsgId> = direct.get(&id).map_or(Vec::new(), |d| d.to_vec());
    while let Some(m) = todo.pop() {
        if seen.insert(m) {
            todo.extend(direct.get(&m).copied().unwrap_or_default());
        }
    }
    seen
}

/// The shortest chain of direct predecessors from `from` to `to`, both included.
fn chain(direct: &BTreeMap<MsgId, &[MsgId]>, from: MsgId, to: MsgId) -> Vec<MsgId> {
    let mut back: BTreeMap<MsgId, MsgId> = BTreeMap::new();
    let mut queue = VecDeque::from([to]);
    while let Some(m) = queue.pop_front() {
        if m == from {
            let mut path = vec![from];
            let mut at = from;
            while let Some(&next) = back.get(&at) {
                path.push(next);
                at = next;
            }
            return path;
        }
        for &p in direct.get(&m).copied().unwrap_or_default() {
            if p != to && !back.contains_key(&p) {
                back.insert(p, m);
                queue.push_back(p);
            }
        }
    }
    vec![from, to]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(origin: NodeId, seq: u64) -> MsgId {
        MsgId { origin, seq }
    }

    fn sent(id: MsgId, after: &[MsgId]) -> Sent {
        Sent {
            id,
            after: after.to_vec(),
        }
    }

    fn at(node: NodeId, id: MsgId) -> Delivery {
        Delivery { node, id }
    }

    /// n1 broadcasts a; n2 delivers a and broadcasts b; n3 must deliver a before b.
    fn relayed() -> Vec<Sent> {
        vec![sent(m(0, 1), &[]), sent(m(1, 1), &[m(0, 1)])]
    }

    #[test]
    fn causal_deliveries_pass() {
        let rec = Recording {
            broadcasts: relayed(),
            deliveries: vec![
                at(0, m(0, 1)),
                at(1, m(0, 1)),
                at(1, m(1, 1)),
                at(2, m(0, 1)),
                at(2, m(1, 1)),
                at(0, m(1, 1)),
            ],
        };
        let v = check(&rec);
        assert!(v.holds(), "{:?}", v.violations);
        assert_eq!((v.deliveries, v.broadcasts), (6, 2));
    }

    #[test]
    fn a_message_delivered_before_its_predecessor_fails_with_the_chain() {
        let rec = Recording {
            broadcasts: relayed(),
            deliveries: vec![
                at(0, m(0, 1)),
                at(1, m(0, 1)),
                at(1, m(1, 1)),
                at(2, m(1, 1)),
                at(2, m(0, 1)),
            ],
        };
        let v = check(&rec);
        assert_eq!(v.violations.len(), 1, "{:?}", v.violations);
        assert_eq!(
            v.violations[0].to_string(),
            "delivery 3: n3 delivered m2.1 before m1.1, which precedes it (m1.1 -> m2.1)"
        );
    }

    #[test]
    fn a_transitive_predecessor_counts_and_its_chain_is_shortest() {
        // a by n1; b by n2 after a; c by n3 after b: a precedes c through b.
        let rec = Recording {
            broadcasts: vec![
                sent(m(0, 1), &[]),
                sent(m(1, 1), &[m(0, 1)]),
                sent(m(2, 1), &[m(1, 1)]),
            ],
            deliveries: vec![at(3, m(1, 1)), at(3, m(2, 1))],
        };
        let v = check(&rec);
        assert_eq!(v.violations.len(), 2);
        let Violation::OutOfOrder { chain, .. } = &v.violations[1] else {
            panic!("{:?}", v.violations)
        };
        assert_eq!(chain, &[m(0, 1), m(1, 1), m(2, 1)]);
    }

    #[test]
    fn a_repeat_and_an_unknown_message_fail() {
        let rec = Recording {
            broadcasts: vec![sent(m(0, 1), &[])],
            deliveries: vec![at(1, m(0, 1)), at(1, m(0, 1)), at(1, m(0, 2))],
        };
        let v = check(&rec);
        assert_eq!(
            v.violations,
            vec![
                Violation::Twice {
                    node: 1,
                    at: 1,
                    id: m(0, 1)
                },
                Violation::Unknown {
                    node: 1,
                    at: 2,
                    id: m(0, 2)
                }
            ]
        );
    }

    #[test]
    fn the_origins_own_order_counts() {
        // n1's second broadcast follows its first; delivering them swapped is a violation.
        let rec = Recording {
            broadcasts: vec![sent(m(0, 1), &[]), sent(m(0, 2), &[m(0, 1)])],
            deliveries: vec![at(1, m(0, 2)), at(1, m(0, 1))],
        };
        assert!(!check(&rec).holds());
    }
}

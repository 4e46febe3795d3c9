//! The causal-broadcast layer, exhaustively: `nodes` nodes running the implementation's
//! core ([`impls::vclock::causal::Node`]), each broadcasting up to `broadcasts` messages,
//! over a network that reorders (and neither loses nor duplicates, so nothing is resent:
//! acknowledgements and ticks are left out). Relays are modelled: a node forwards each
//! broadcast the first time it receives it.
//!
//! ```text
//! Broadcast(n) == sent[n] < Broadcasts /\ step n on Broadcast; record what n had delivered
//! Receive(p)   == p \in net /\ step p.to on Receive(p); net' = net \ {p} \cup data sends
//! CausalDelivery == the recorded broadcasts and deliveries pass the layer's checker
//! ```
//!
//! The property is the same checker that judges the simulation's recordings
//! ([`impls::vclock::causal::checker`]), applied to every state.

use crate::Variant;
use impls::sansio::Core;
use impls::vclock::causal::checker::{check, Delivery, Recording, Sent, Violation};
use impls::vclock::causal::{Bug, Effect, Input, MsgId, Node, NodeId, Packet};
use stateright::{Model, Property};

/// The pinned unique states of the default bounds (3 nodes, 1 broadcast each).
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(PINNED_STATES);

/// See [`PIN`].
pub const PINNED_STATES: u64 = 33_532;

/// The layer's bug variants.
pub const VARIANTS: [Variant; 1] = [Variant::of(
    Bug::DeliverOnReceipt.switch(),
    &["CausalDelivery"],
)];

/// A data packet in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InFlight {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The message it carries.
    pub id: MsgId,
}

/// A state: the nodes' cores, the packets in flight (with the broadcasts they carry), and
/// the recording.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CausalState {
    /// Each node's core.
    pub nodes: Vec<Node<()>>,
    /// Data packets in flight, sorted.
    pub net: Vec<InFlight>,
    /// Every broadcast so far, by id, with what its origin had delivered before it.
    pub broadcasts: Vec<Sent>,
    /// Each node's deliveries, in order.
    pub delivered: Vec<Vec<MsgId>>,
    /// The broadcasts themselves (stamps), by id, for the packets to carry.
    pub messages: Vec<impls::vclock::causal::Broadcast<()>>,
}

impl CausalState {
    /// The recording the checker reads: per-node order is what it judges.
    pub fn recording(&self) -> Recording {
        Recording {
            broadcasts: self.broadcasts.clone(),
            deliveries: self
                .delivered
                .iter()
                .enumerate()
                .flat_map(|(n, ids)| {
                    ids.iter().map(move |&id| Delivery {
                        node: n as NodeId,
                        id,
                    })
                })
                .collect(),
        }
    }
}

/// A step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum CausalAction {
    /// Node `n` broadcasts its next message.
    Broadcast(NodeId),
    /// The packet arrives.
    Receive(InFlight),
}

/// The model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CausalModel {
    /// Nodes, 2..=4.
    pub nodes: NodeId,
    /// Broadcasts per node, 1..=2.
    pub broadcasts: u8,
    /// The layer's bug.
    pub bug: Option<Bug>,
}

impl Default for CausalModel {
    /// 3 nodes, 1 broadcast each.
    fn default() -> Self {
        CausalModel {
            nodes: 3,
            broadcasts: 1,
            bug: None,
        }
    }
}

impl CausalModel {
    /// The first violation of causal delivery in `s`.
    pub fn violation(&self, s: &CausalState) -> Option<Violation> {
        check(&s.recording()).violations.into_iter().next()
    }

    fn sent_by(&self, s: &CausalState, n: NodeId) -> usize {
        s.broadcasts.iter().filter(|b| b.id.origin == n).count()
    }

    /// Steps node `n` and carries out its effects in `s`.
    fn step(&self, s: &mut CausalState, n: NodeId, input: Input<()>) {
        for effect in s.nodes[usize::from(n)].step(input) {
            match effect {
                Effect::Deliver(m) => s.delivered[usize::from(n)].push(m.id),
                Effect::Send {
                    to,
                    packet: Packet::Data(m),
                } => {
                    let p = InFlight {
                        from: n,
                        to,
                        id: m.id,
                    };
                    let at = s.net.binary_search(&p).unwrap_or_else(|i| i);
                    s.net.insert(at, p);
                    if !s.messages.iter().any(|x| x.id == m.id) {
                        let at = s
                            .messages
                            .binary_search_by(|x| x.id.cmp(&m.id))
                            .unwrap_or_else(|i| i);
                        s.messages.insert(at, m);
                    }
                }
                // Nothing is lost, so nothing is resent: acknowledgements change nothing.
                Effect::Send {
                    packet: Packet::Ack(_),
                    ..
                } => {}
            }
        }
    }
}

impl Model for CausalModel {
    type State = CausalState;
    type Action = CausalAction;

    fn init_states(&self) -> Vec<CausalState> {
        vec![CausalState {
            nodes: (0..self.nodes)
                .map(|n| Node::new(n, self.nodes, self.bug))
                .collect(),
            net: Vec::new(),
            broadcasts: Vec::new(),
            delivered: vec![Vec::new(); usize::from(self.nodes)],
            messages: Vec::new(),
        }]
    }

    fn actions(&self, s: &CausalState, actions: &mut Vec<CausalAction>) {
        for n in 0..self.nodes {
            if self.sent_by(s, n) < usize::from(self.broadcasts) {
                actions.push(CausalAction::Broadcast(n));
            }
        }
        for p in &s.net {
            actions.push(CausalAction::Receive(p.clone()));
        }
    }

    fn next_state(&self, s: &CausalState, action: CausalAction) -> Option<CausalState> {
        let mut n = s.clone();
        match action {
            CausalAction::Broadcast(node) => {
                let seq = self.sent_by(s, node) as u64 + 1;
                let sent = Sent {
                    id: MsgId { origin: node, seq },
                    after: s.delivered[usize::from(node)].clone(),
                };
                let at = n
                    .broadcasts
                    .binary_search_by(|b| b.id.cmp(&sent.id))
                    .unwrap_or_else(|i| i);
                n.broadcasts.insert(at, sent);
                self.step(&mut n, node, Input::Broadcast(()));
            }
            CausalAction::Receive(p) => {
                let at = n.net.iter().position(|q| *q == p)?;
                n.net.remove(at);
                let m = n.messages.iter().find(|m| m.id == p.id)?.clone();
                self.step(
                    &mut n,
                    p.to,
                    Input::Receive {
                        from: p.from,
                        packet: Packet::Data(m),
                    },
                );
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("CausalDelivery", |m: &Self, s: &CausalState| {
                m.violation(s).is_none()
            }),
            Property::sometimes("MessageHeldBack", |_: &Self, s: &CausalState| {
                s.nodes.iter().any(|n| !n.buffered().is_empty())
            }),
            Property::sometimes(
                "EveryoneDeliveredEverything",
                |m: &Self, s: &CausalState| {
                    let all = usize::from(m.nodes) * usize::from(m.broadcasts);
                    s.delivered.iter().all(|d| d.len() == all)
                },
            ),
        ]
    }

    fn format_step(&self, last: &CausalState, action: CausalAction) -> Option<String> {
        crate::explorer_step(self, last, action)
    }
}

impl crate::Protocol for CausalModel {
    fn describe_action(&self, s: &CausalState, action: &CausalAction) -> String {
        match action {
            CausalAction::Broadcast(n) => {
                let seq = self.sent_by(s, *n) as u64 + 1;
                format!(
                    "n{} broadcasts {} (having delivered {})",
                    n + 1,
                    MsgId { origin: *n, seq },
                    list(&s.delivered[usize::from(*n)])
                )
            }
            CausalAction::Receive(p) => {
                let mut after = s.clone();
                self.step(
                    &mut after,
                    p.to,
                    Input::Receive {
                        from: p.from,
                        packet: Packet::Data(
                            s.messages
                                .iter()
                                .find(|m| m.id == p.id)
                                .cloned()
                                .expect("in flight"),
                        ),
                    },
                );
                let before = s.delivered[usize::from(p.to)].len();
                let now = &after.delivered[usize::from(p.to)][before..];
                let what = if now.is_empty() {
                    "holds it back".to_string()
                } else {
                    format!("delivers {}", list(now))
                };
                let note = if self.bug == Some(Bug::DeliverOnReceipt) {
                    " on receipt"
                } else {
                    ""
                };
                format!(
                    "n{} receives {} from n{} and {what}{note}",
                    p.to + 1,
                    p.id,
                    p.from + 1
                )
            }
        }
    }

    fn fields(&self, s: &CausalState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, node) in s.nodes.iter().enumerate() {
            out.push((format!("n{}.delivered", i + 1), list(&s.delivered[i])));
            let held: Vec<MsgId> = node.buffered().iter().map(|m| m.id).collect();
            out.push((format!("n{}.held", i + 1), list(&held)));
        }
        let net: Vec<String> = s
            .net
            .iter()
            .map(|p| format!("{} n{}->n{}", p.id, p.from + 1, p.to + 1))
            .collect();
        out.push(("network".to_string(), format!("[{}]", net.join(", "))));
        out
    }

    fn explain(&self, property: &str, s: &CausalState) -> Vec<String> {
        match (property, self.violation(s)) {
            ("CausalDelivery", Some(v)) => vec![v.to_string()],
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        (1..=self.nodes).map(|n| format!("n{n}")).collect()
    }

    fn actor(&self, _s: &CausalState, action: &CausalAction) -> Option<String> {
        Some(match action {
            CausalAction::Broadcast(n) => format!("n{}", n + 1),
            CausalAction::Receive(p) => format!("n{}", p.to + 1),
        })
    }

    fn arrows(
        &self,
        before: &CausalState,
        action: &CausalAction,
        after: &CausalState,
    ) -> Vec<crate::Arrow> {
        use crate::{Arrow, ArrowKind};
        let mut out = Vec::new();
        if let CausalAction::Receive(p) = action {
            out.push(Arrow::new(
                format!("n{}", p.from + 1),
                format!("n{}", p.to + 1),
                p.id.to_string(),
                ArrowKind::Deliver,
            ));
        }
        for p in after.net.iter().filter(|p| !before.net.contains(p)) {
            out.push(Arrow::new(
                format!("n{}", p.from + 1),
                format!("n{}", p.to + 1),
                p.id.to_string(),
                ArrowKind::Send,
            ));
        }
        out
    }
}

fn list(ids: &[MsgId]) -> String {
    let names: Vec<String> = ids.iter().map(|m| m.to_string()).collect();
    format!("[{}]", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Protocol;
    use stateright::Checker;

    #[test]
    fn the_correct_layer_delivers_causally_and_everyone_gets_everything() {
        let c = CausalModel::default()
            .checker()
            .threads(1)
            .spawn_bfs()
            .join();
        c.assert_properties();
        assert!(c.discovery("MessageHeldBack").is_some());
    }

    #[test]
    fn deliver_on_receipt_breaks_causal_delivery_in_four_steps() {
        let m = CausalModel {
            bug: Some(Bug::DeliverOnReceipt),
            ..CausalModel::default()
        };
        // Iterative deepening: the first depth with a counterexample is the shortest.
        let path = (2..12)
            .find_map(|d| {
                m.clone()
                    .checker()
                    .threads(1)
                    .target_max_depth(d)
                    .spawn_bfs()
                    .join()
                    .discovery("CausalDelivery")
            })
            .unwrap();
        let actions = path.into_actions();
        assert_eq!(actions.len(), 4, "{actions:?}");
        // n1 broadcasts a; n2 receives it and broadcasts b; n3 receives b first.
        let mut s = m.init_states().remove(0);
        for a in &actions {
            s = m.next_state(&s, a.clone()).unwrap();
        }
        let why = m.explain("CausalDelivery", &s).join("\n");
        assert!(
            why.contains("before") && why.contains("which precedes it"),
            "{why}"
        );
    }

    #[test]
    fn the_arrows_name_the_lanes() {
        let kinds = crate::testing::arrows_name_lanes(&CausalModel::default(), 5_000);
        assert!(kinds[1] > 0 && kinds[2] > 0, "{kinds:?}");
    }
}

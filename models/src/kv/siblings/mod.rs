//! An exhaustive model of the store's multi-value mode (`check kv --versioning dvv`),
//! built on the mode's own protocol core (`impls::kv::siblings`): the coordinator and
//! replica code checked here is the code the simulated Jepsen run drives.
//!
//! # What is modelled
//!
//! One key on replicas `n1..n3` (RF 3, QUORUM). Clients `c1, c2, ...` each perform up to
//! `ops` operations, one at a time, and up to `total-ops` in all: a get, or a put of a value unique to the run, either
//! blind or carrying the context of the client's last get, through any of the three
//! replicas as its coordinating replica. Each client coordinates its own requests.
//!
//! The network is a set of messages: any may be delivered next (reordering), and up to
//! `drops` requests may be lost (a lost reply is a give-up: see "Reductions"). A client may give up on a request up to
//! `give-ups` times: the request is then indeterminate, and may still land.
//!
//! | action | enabled when |
//! |---|---|
//! | `Put{client, via, with_context}` | the client is idle with operations left (`with_context`: it has read) |
//! | `Get{client}` | the client is idle with operations left |
//! | `Deliver(m)` | `m` is in flight: the replica handles it and its reply reaches the client |
//! | `Drop(m)` | `m` is in flight and fewer than `drops` were lost |
//! | `GiveUp{client}` | the client waits, and fewer than `give-ups` requests were given up |
//!
//! # Properties
//!
//! Both are the sibling checker's ([`impls::vclock::siblings::check`]) over the history
//! the clients saw, asked whenever the system is *quiescent* (no client waits and no put
//! or write is in flight), with the final read taken as the merge of the three replicas'
//! sets (what a read at ALL returns):
//! - `NoLostUpdate`: every acknowledged put is in the final read, or covered by the
//!   context of a put that may have taken effect;
//! - `NoFalseSibling`: the final read holds nothing that a put known to have landed
//!   covers, and nothing no put wrote.
//!
//! Sometimes: `SiblingsRead` (a get returns two concurrent values), `PutSupersedesWhatItRead`
//! (a put with a non-empty context is acknowledged), `ReadRepairHappens` and
//! `GivenUpPutLands` (a put its client gave up on is held by a replica anyway).
//!
//! # Reductions
//!
//! As in [`super::KvModel`]: a replica handles a request and its reply reaches the
//! coordinator in one step (delivering a reply touches only its coordinator), and a read
//! whose get has answered is removed from the network (handling it changes nothing).
//!
//! A lost reply is not an action of its own: the coordinator ignores a reply to a request
//! its client gave up on, so "the replica handles the request and its reply is lost" is
//! `GiveUp` followed by `Deliver`, which the model already explores. Without
//! `LoseReply`, the default space is 1.4 million states; with it, it did not fit in
//! 20 GB.

#[cfg(test)]
mod tests;
mod words;

use crate::Variant;
use im::{OrdSet, Vector};
use impls::kv::siblings::{
    self, values_of, Consistency, Context, Coordinator, CoordinatorEffect, CoordinatorInput, Msg,
    OpId, Outcome, Phase, Put, Replica, ReplicaEffect, ReplicaInput, Request, Siblings,
};
use impls::kv::NodeId;
use impls::sansio::Core;
use impls::vclock::dvv::DvvSet;
use impls::vclock::siblings::{check, Anomaly, Op, PutOutcome, Verdict};
use stateright::{Model, Property};

/// A value written by a put: unique to the put.
pub type Value = u8;

/// The replication factor: the key lives on `n1..n3`.
pub const RF: usize = 3;

/// A node or client index, 0-based; printed as `n1`, `c1`, ...
pub type Index = usize;

/// The node id a client's coordinator has: outside the replicas' ids.
const CLIENT_NODE: NodeId = 100;

/// A request in flight from a client's coordinator to a replica.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Envelope {
    /// The coordinating client.
    pub client: Index,
    /// The replica it is sent to.
    pub node: Index,
    /// The message: `Coordinate`, `Read` or `Write`.
    pub msg: Msg<(), Value>,
}

/// How a client's operation ended, so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Waiting.
    Pending,
    /// Answered.
    Done,
    /// Given up: it may or may not take effect.
    GaveUp,
}

/// A put, as its client saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PutRecord {
    /// The value.
    pub value: Value,
    /// The get whose context it carried.
    pub context: Option<u8>,
    /// How it ended.
    pub status: Status,
}

/// A get that answered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GetRecord {
    /// Its number, from 1.
    pub id: u8,
    /// The client.
    pub client: Index,
    /// The siblings it returned.
    pub values: Vec<Value>,
}

/// A client and the coordinator of its requests.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Client {
    /// The protocol core that runs its requests.
    pub coordinator: Coordinator<(), Value>,
    /// Operations invoked.
    pub invoked: usize,
    /// The request it waits for, and for a put its place in [`SiblingsState::puts`].
    pub pending: Option<(OpId, Option<usize>)>,
    /// Its last get's number and context.
    pub read: Option<(u8, Context)>,
}

/// The whole system plus history variables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SiblingsState {
    /// The replicas `n1..n3`.
    pub replicas: Vec<Replica<(), Value>>,
    /// The clients.
    pub clients: Vec<Client>,
    /// Requests in flight.
    pub network: OrdSet<Envelope>,
    // history variables
    /// Every put invoked, in order.
    pub puts: Vector<PutRecord>,
    /// Every get answered, in order.
    pub gets: Vector<GetRecord>,
    /// Messages lost so far.
    pub drops: u8,
    /// Requests given up so far.
    pub give_ups: u8,
    /// Whether some get repaired a replica.
    pub repaired: bool,
}

/// One step of the system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum SiblingsAction {
    /// The client puts its next value through replica `via`, with the context of its last
    /// get or blind.
    Put {
        /// The client.
        client: Index,
        /// The coordinating replica.
        via: Index,
        /// Whether the put carries the client's last context.
        with_context: bool,
    },
    /// The client gets the key's siblings.
    Get {
        /// The client.
        client: Index,
    },
    /// The replica handles a request, and its reply reaches the client.
    Deliver(Envelope),
    /// The network loses a request.
    Drop(Envelope),
    /// The client stops waiting.
    GiveUp {
        /// The client.
        client: Index,
    },
}

/// The model's bug variants: the mode's core switches.
pub const VARIANTS: [Variant; 3] = [
    Variant::of(siblings::Bug::LwwWallClock.switch(), &["NoLostUpdate"]),
    Variant::of(siblings::Bug::ClientIdClock.switch(), &["NoLostUpdate"]),
    Variant::of(siblings::Bug::PruneClock.switch(), &["NoFalseSibling"]),
];

/// What `check all` and the tests hold [`SiblingsModel::default`] to.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(PINNED_STATES);

/// See [`PIN`].
pub const PINNED_STATES: u64 = 1_370_717;

/// How far `c1`'s wall clock runs ahead, for [`siblings::Bug::LwwWallClock`].
pub const CLOCK_SKEW: u64 = 2;

/// The model and its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiblingsModel {
    /// Clients.
    pub clients: usize,
    /// Operations per client.
    pub ops: usize,
    /// Operations of all clients together: with 2 clients of 2 operations, 3 in all keeps
    /// every behaviour the properties are about (two concurrent puts read as siblings, a
    /// put that supersedes what it read) in a space 40 times smaller than 4 (1.4 million states against 58.7 million).
    pub total_ops: usize,
    /// Messages the network may lose.
    pub drops: u8,
    /// Requests clients may give up on.
    pub give_ups: u8,
    /// The bug, or `None` for the correct mode.
    pub bug: Option<siblings::Bug>,
}

impl Default for SiblingsModel {
    /// 2 clients with up to 2 operations each and 3 in all, 1 lost message, 1 request
    /// given up.
    fn default() -> Self {
        SiblingsModel {
            clients: 2,
            ops: 2,
            total_ops: 3,
            drops: 1,
            give_ups: 1,
            bug: None,
        }
    }
}

impl SiblingsModel {
    /// The value of client `c`'s `k`-th operation (0-based) if it is a put.
    pub fn value_of(&self, client: Index, k: usize) -> Value {
        (client * self.ops + k + 1) as Value
    }

    /// A value's name: `c1.2` is client 1's second operation.
    pub fn value_name(&self, v: Value) -> String {
        let i = usize::from(v) - 1;
        format!("c{}.{}", i / self.ops + 1, i % self.ops + 1)
    }

    /// Whether nothing is in flight that could still change what a read returns: no
    /// client waits, and no put or write is in the network.
    pub fn quiescent(s: &SiblingsState) -> bool {
        s.clients.iter().all(|c| c.pending.is_none())
            && s.network.iter().all(|e| matches!(e.msg, Msg::Read { .. }))
    }

    /// The merge of the replicas' sets: what a read at ALL returns.
    pub fn final_set(s: &SiblingsState) -> Option<Siblings<Value>> {
        DvvSet::sync_all(s.replicas.iter().filter_map(|r| r.get(&())))
    }

    /// The sibling checker's verdict on `s`, if it is quiescent.
    pub fn verdict(&self, s: &SiblingsState) -> Option<Verdict> {
        if !Self::quiescent(s) {
            return None;
        }
        let name = |v: &Value| self.value_name(*v);
        let mut history: Vec<Op> = s
            .gets
            .iter()
            .map(|g| Op::Get {
                id: u64::from(g.id),
                values: g.values.iter().map(name).collect(),
            })
            .collect();
        history.extend(s.puts.iter().map(|p| Op::Put {
            value: name(&p.value),
            context: p.context.map(u64::from),
            outcome: match p.status {
                Status::Done => PutOutcome::Ok,
                Status::Pending | Status::GaveUp => PutOutcome::Indefinite,
            },
        }));
        let final_read: Vec<String> = Self::final_set(s)
            .map(|set| values_of(&set).iter().map(name).collect())
            .unwrap_or_default();
        Some(check(&history, &final_read))
    }

    /// The anomalies of `s` that break `property`.
    pub fn anomalies(&self, property: &str, s: &SiblingsState) -> Vec<Anomaly> {
        let Some(verdict) = self.verdict(s) else {
            return Vec::new();
        };
        verdict
            .anomalies
            .into_iter()
            .filter(|a| match property {
                "NoLostUpdate" => matches!(a, Anomaly::LostUpdate { .. }),
                "NoFalseSibling" => !matches!(a, Anomaly::LostUpdate { .. }),
                _ => false,
            })
            .collect()
    }

    /// What client `c`'s wall clock reads: operations invoked so far, plus a skew for
    /// `c1`.
    pub(crate) fn clock(&self, s: &SiblingsState, client: Index) -> u64 {
        let invoked: usize = s.clients.iter().map(|c| c.invoked).sum();
        invoked as u64 + if client == 0 { CLOCK_SKEW } else { 0 }
    }

    fn apply(
        &self,
        s: &mut SiblingsState,
        client: Index,
        effects: Vec<CoordinatorEffect<(), Value>>,
    ) {
        for effect in effects {
            match effect {
                CoordinatorEffect::Send { to, msg } => {
                    s.network.insert(Envelope {
                        client,
                        node: to as Index,
                        msg,
                    });
                }
                CoordinatorEffect::Finished { op, outcome } => {
                    self.complete(s, client, op, outcome)
                }
                CoordinatorEffect::Started { .. }
                | CoordinatorEffect::Refused(_)
                | CoordinatorEffect::Abandoned { .. } => {}
            }
        }
    }

    fn complete(&self, s: &mut SiblingsState, client: Index, op: OpId, outcome: Outcome<Value>) {
        let Some((pending, put)) = s.clients[client].pending else {
            return;
        };
        if pending != op {
            return;
        }
        s.clients[client].pending = None;
        match outcome {
            Outcome::Written => {
                if let Some(i) = put {
                    s.puts[i].status = Status::Done;
                }
            }
            Outcome::Read {
                siblings,
                context,
                repaired,
            } => {
                s.repaired |= repaired;
                let id = s.gets.len() as u8 + 1;
                s.gets.push_back(GetRecord {
                    id,
                    client,
                    values: siblings,
                });
                s.clients[client].read = Some((id, context));
            }
        }
    }

    /// The replica handles `env`, and its reply reaches the client.
    fn handle(&self, s: &mut SiblingsState, env: Envelope) -> Option<()> {
        s.network.remove(&env)?;
        let c = env.client;
        let effects = s.replicas[env.node].step(ReplicaInput::Receive {
            from: CLIENT_NODE + c as NodeId,
            msg: env.msg,
        });
        // The store is durable as it changes: the persists have nothing left to do.
        let answer = effects.into_iter().find_map(|e| match e {
            ReplicaEffect::Send { msg, .. } => Some(msg),
            ReplicaEffect::Persist { .. } | ReplicaEffect::HintDropped { .. } => None,
        })?;
        let effects = s.clients[c].coordinator.step(CoordinatorInput::Receive {
            from: env.node as NodeId,
            msg: answer,
        });
        self.apply(s, c, effects);
        Some(())
    }

    fn collect_garbage(s: &mut SiblingsState) {
        let dead: Vec<Envelope> = s
            .network
            .iter()
            .filter(|e| match &e.msg {
                Msg::Read { op, .. } => s.clients[e.client]
                    .coordinator
                    .get(*op)
                    .is_none_or(|r| r.phase() != Phase::Query),
                _ => false,
            })
            .cloned()
            .collect();
        for e in dead {
            s.network.remove(&e);
        }
    }
}

impl Model for SiblingsModel {
    type State = SiblingsState;
    type Action = SiblingsAction;

    fn init_states(&self) -> Vec<SiblingsState> {
        vec![SiblingsState {
            replicas: (0..RF as NodeId)
                .map(|n| Replica::new(n, self.bug))
                .collect(),
            clients: (0..self.clients)
                .map(|_| Client {
                    coordinator: Coordinator::new(),
                    invoked: 0,
                    pending: None,
                    read: None,
                })
                .collect(),
            network: OrdSet::new(),
            puts: Vector::new(),
            gets: Vector::new(),
            drops: 0,
            give_ups: 0,
            repaired: false,
        }]
    }

    fn actions(&self, s: &SiblingsState, actions: &mut Vec<SiblingsAction>) {
        let invoked: usize = s.clients.iter().map(|c| c.invoked).sum();
        for (c, client) in s.clients.iter().enumerate() {
            if client.pending.is_some() || client.invoked >= self.ops || invoked >= self.total_ops {
                continue;
            }
            for via in 0..RF {
                actions.push(SiblingsAction::Put {
                    client: c,
                    via,
                    with_context: false,
                });
                if client.read.is_some() {
                    actions.push(SiblingsAction::Put {
                        client: c,
                        via,
                        with_context: true,
                    });
                }
            }
            actions.push(SiblingsAction::Get { client: c });
        }
        for env in &s.network {
            actions.push(SiblingsAction::Deliver(env.clone()));
        }
        if s.drops < self.drops {
            for env in &s.network {
                actions.push(SiblingsAction::Drop(env.clone()));
            }
        }
        if s.give_ups < self.give_ups {
            for (c, client) in s.clients.iter().enumerate() {
                if client.pending.is_some() {
                    actions.push(SiblingsAction::GiveUp { client: c });
                }
            }
        }
    }

    fn next_state(&self, s: &SiblingsState, action: SiblingsAction) -> Option<SiblingsState> {
        let mut next = s.clone();
        match action {
            SiblingsAction::Put {
                client,
                via,
                with_context,
            } => {
                let context = if with_context {
                    s.clients[client].read.as_ref()?.1.clone()
                } else {
                    Context::default()
                };
                let put = Put {
                    value: self.value_of(client, s.clients[client].invoked),
                    context,
                    client: client as u32,
                    at: self.clock(s, client),
                };
                self.invoke_put(&mut next, client, put, with_context, via);
            }
            SiblingsAction::Get { client } => self.begin(&mut next, client, Request::Get, 0, None),
            SiblingsAction::Deliver(env) => self.handle(&mut next, env)?,
            SiblingsAction::Drop(env) => {
                next.network.remove(&env)?;
                next.drops += 1;
            }
            SiblingsAction::GiveUp { client } => {
                let (op, put) = next.clients[client].pending.take()?;
                if let Some(i) = put {
                    next.puts[i].status = Status::GaveUp;
                }
                next.give_ups += 1;
                let effects = next.clients[client]
                    .coordinator
                    .step(CoordinatorInput::Abandon { op });
                self.apply(&mut next, client, effects);
            }
        }
        Self::collect_garbage(&mut next);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("NoLostUpdate", |m: &Self, s: &SiblingsState| {
                m.anomalies("NoLostUpdate", s).is_empty()
            }),
            Property::always("NoFalseSibling", |m: &Self, s: &SiblingsState| {
                m.anomalies("NoFalseSibling", s).is_empty()
            }),
            Property::sometimes("SiblingsRead", |_: &Self, s: &SiblingsState| {
                s.gets.iter().any(|g| g.values.len() >= 2)
            }),
            Property::sometimes("PutSupersedesWhatItRead", |_: &Self, s: &SiblingsState| {
                s.puts.iter().any(|p| {
                    p.status == Status::Done
                        && p.context.is_some_and(|g| {
                            s.gets.iter().any(|r| r.id == g && !r.values.is_empty())
                        })
                })
            }),
            Property::sometimes("ReadRepairHappens", |_: &Self, s: &SiblingsState| {
                s.repaired
            }),
            Property::sometimes("GivenUpPutLands", |_: &Self, s: &SiblingsState| {
                s.puts.iter().any(|p| {
                    p.status == Status::GaveUp
                        && s.replicas.iter().any(|r| {
                            r.get(&())
                                .is_some_and(|set| values_of(set).contains(&p.value))
                        })
                })
            }),
        ]
    }

    fn format_step(&self, last: &SiblingsState, action: SiblingsAction) -> Option<String> {
        crate::explorer_step(self, last, action)
    }
}

impl SiblingsModel {
    fn invoke_put(
        &self,
        s: &mut SiblingsState,
        client: Index,
        put: Put<Value>,
        with_context: bool,
        via: Index,
    ) {
        let context = if with_context {
            s.clients[client].read.as_ref().map(|(g, _)| *g)
        } else {
            None
        };
        s.puts.push_back(PutRecord {
            value: put.value,
            context,
            status: Status::Pending,
        });
        let at = s.puts.len() - 1;
        self.begin(s, client, Request::Put(put), via, Some(at));
    }

    fn begin(
        &self,
        s: &mut SiblingsState,
        client: Index,
        request: Request<Value>,
        via: Index,
        put: Option<usize>,
    ) {
        s.clients[client].invoked += 1;
        let effects = s.clients[client].coordinator.step(CoordinatorInput::Begin {
            key: (),
            request,
            replicas: (0..RF as NodeId).collect(),
            rf: RF,
            consistency: Consistency::Quorum,
            via: via as NodeId,
        });
        let op = effects
            .iter()
            .find_map(|e| match e {
                CoordinatorEffect::Started { op } => Some(*op),
                _ => None,
            })
            .expect("the key always has RF replicas and `via` is one");
        s.clients[client].pending = Some((op, put));
        self.apply(s, client, effects);
    }
}

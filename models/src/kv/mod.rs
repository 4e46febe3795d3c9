//! An exhaustive model of the quorum-replicated key-value store, built on the store's
//! own protocol core (`impls::kv::core`): the coordinator and replica code checked here is
//! the code the real `kv-node` runs, stepped through the same `impls::sansio::Core`
//! interface.
//!
//! # What is modelled
//!
//! One key, replicated on nodes `n1..n3` (RF 3; with `--nodes 4`, `n4` is a node outside
//! the replica set that can hold hints). Clients `c1, c2, ...` each perform up to `ops`
//! operations, one at a time, each a put of a value unique to the run or a get, at one
//! consistency level (QUORUM, or ONE for the `one` variant). Each client coordinates its
//! own requests: a coordinator node that crashes mid-request is, to everyone else, a
//! client that gave up, which [`KvAction::GiveUp`] covers.
//!
//! The network is a set of messages: any message may be delivered next (reordering), and
//! up to `drops` requests or replies may be lost. Up to `crashes` node crashes happen; a crashed node
//! keeps its durable store (the real node fsyncs before it acknowledges) and loses the
//! messages in flight to it, as a broken TCP connection would. A coordinator may cover a
//! crashed replica with a hint at a live fallback node, and the fallback may later hand the
//! hint over. A client may give up on a request at any time: the request is then
//! indeterminate (it may still take effect), exactly as a Jepsen `:info` operation.
//!
//! # State, actions, properties
//!
//! | action | enabled when |
//! |---|---|
//! | `Put{client}` / `Get{client}` | the client is idle and has operations left |
//! | `Deliver(m)` | request `m` is in flight (its receiver is up) |
//! | `LoseReply(m)` / `Drop(m)` | `m` is in flight and fewer than `drops` messages were lost |
//! | `Crash(n)` / `Restart(n)` | `n` is up and fewer than `crashes` crashes happened / `n` is down |
//! | `HandOff{client, op, replica, fallback}` | the request is writing, `replica` is down and has neither acknowledged nor been hinted |
//! | `DeliverHint{holder, replica}` | both are up and `holder` holds a hint for `replica` |
//! | `GiveUp{client}` | the client waits for a request |
//!
//! Always: `Linearizable` (stateright's linearizability tester, register semantics, with
//! indeterminate requests left open) and `NoLostAckedWrite` (every acknowledged put is held
//! by a quorum of replicas, or superseded there by a put that did not finish before it
//! began).
//!
//! Sometimes: witnesses that the bounds reach the behaviours the safety properties are
//! about. A change that makes the model lose one (a bound set to 0, an action that no
//! longer fires, a fault that no longer bites) fails `check` instead of letting the safety
//! properties pass vacuously:
//!
//! | witness | behaviour | safety property that depends on it |
//! |---|---|---|
//! | `ReadSeesOtherClientsWrite` | a get returns another client's put | `Linearizable` (reads that cross clients) |
//! | `ReadRepairHappens` | a get writes its value back to a stale replica | `Linearizable` (a read's value reaches a quorum) |
//! | `AckedPutMissesAReplica` | an acknowledged put lacks a replica whose write was lost or refused by a crash | `NoLostAckedWrite` (the quorum, not every replica, holds it) |
//! | `GivenUpPutLands` | a put the client gave up on is stored anyway | `Linearizable` (indeterminate operations left open) |
//! | `CrashedReplicaKeepsItsStore` | a crashed node still holds its value | `NoLostAckedWrite` (crashed replicas count: their store is durable) |
//! | `HintHeld` | a fallback holds a hint for a crashed replica | `NoLostAckedWrite` (a hint never counts towards the quorum) |
//!
//! Handing the hint over is not a witness: `DeliverHint` is enabled exactly when a hint is
//! held and its replica is up, and `check`'s action coverage refuses an action that never
//! fires, so a state predicate (no history variable, no extra states) is enough here.
//!
//! # Reductions
//!
//! Two reductions keep the state space small without hiding any violation.
//!
//! **Replies.** A node handles a request and its reply reaches the coordinator in one step
//! ([`KvAction::Deliver`]), or the reply is lost ([`KvAction::LoseReply`]). Delivering a
//! reply touches only its coordinator, so it commutes with every step elsewhere; the only
//! steps at the coordinator are other replies (whose orders are all explored) and giving
//! up (after which the reply is ignored, as if the request had arrived later). Moving a
//! reply's delivery earlier can only make an operation finish earlier, which adds
//! real-time order to the history and never removes any, so a history that is not
//! linearizable stays not linearizable; and the replicas' states are unchanged by it.
//!
//! **Dead requests.** A read request whose operation has left its read phase is removed:
//! reading changes nothing at the node and its reply would be ignored, so delivering or
//! losing it would be a no-op. Write requests are never removed: a write lands even after
//! its coordinator stopped waiting for it, which is exactly what makes an abandoned put
//! indeterminate.

mod properties;
pub mod siblings;
#[cfg(test)]
mod tests;
mod words;

use crate::Variant;
use im::{OrdMap, OrdSet};
use impls::kv::core::{
    self, Consistency, Coordinator, CoordinatorEffect, CoordinatorInput, Msg, OpId, Outcome, Phase,
    Replica, ReplicaEffect, ReplicaInput, Request,
};
use impls::kv::NodeId;
use impls::sansio::Core;
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Property};

/// A value written by a put: unique to the put, so a read names the put it saw.
pub type Value = u8;

/// The replication factor: the key lives on nodes `n1..n3`.
pub const RF: usize = 3;

/// A node or client index, 0-based; printed as `n1`, `c1`, ...
pub type Index = usize;

/// A request in flight from a coordinating client to a node. Replies are not kept in
/// flight: see "Replies" in the module doc.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Envelope {
    /// The coordinating client.
    pub client: Index,
    /// The node it is sent to.
    pub node: Index,
    /// The protocol message: a `Read` or a `Write` (the key is `()`: there is one).
    pub msg: Msg<(), Value>,
}

/// A storage node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node {
    /// Whether it is running.
    pub up: bool,
    /// Its durable store: the key's value and the hints it holds.
    pub store: Replica<(), Value>,
}

/// What a client did with one of its operations, for the properties and the trace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpStatus {
    /// Waiting for the coordinator.
    Pending,
    /// Returned: a put's `None`, or what a get read.
    Returned(Option<Value>),
    /// The client gave up: the operation may or may not take effect.
    GaveUp,
}

/// One operation a client invoked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpRecord {
    /// The request (a put carries its value).
    pub request: Request<Value>,
    /// The coordinator's id for it.
    pub op: OpId,
    /// How it ended, so far.
    pub status: OpStatus,
}

/// A client and the coordinator of its requests.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Client {
    /// The protocol core that runs the client's requests.
    pub coordinator: Coordinator<(), Value>,
    /// Every operation the client invoked, in order; the last may be pending.
    pub ops: Vec<OpRecord>,
}

impl Client {
    /// The operation the client waits for, if any.
    pub fn pending(&self) -> Option<&OpRecord> {
        self.ops.last().filter(|r| r.status == OpStatus::Pending)
    }
}

/// A put's place in real time, for `NoLostAckedWrite`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PutRecord {
    /// The client that invoked it.
    pub client: Index,
    /// The puts that had completed when it was invoked: the only ones it may overwrite.
    pub preceded_by: OrdSet<Value>,
    /// Whether the client saw it acknowledged.
    pub acked: bool,
}

/// A linearizability tester thread: (client, operation number). Each operation gets its
/// own thread so that an operation the client gave up on can stay open while the client
/// goes on.
pub type Thread = (Index, usize);

/// The whole system plus history variables.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct KvState {
    /// The storage nodes; `n1..n3` are the key's replicas.
    pub nodes: Vec<Node>,
    /// The clients.
    pub clients: Vec<Client>,
    /// Messages in flight.
    pub network: OrdSet<Envelope>,
    // history variables
    /// Every operation's invocation and return, for the `Linearizable` property.
    pub history: LinearizabilityTester<Thread, Register<Option<Value>>>,
    /// Every put invoked so far, by value.
    pub puts: OrdMap<Value, PutRecord>,
    /// Crashes so far.
    pub crashes: u8,
    /// Messages lost so far.
    pub drops: u8,
    /// Requests given up on so far.
    pub give_ups: u8,
    /// Whether some get wrote its value back to a replica before or after answering.
    pub read_repaired: bool,
}

/// One step of the system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum KvAction {
    /// The client invokes a put of the next value it owns.
    Put {
        /// The client.
        client: Index,
    },
    /// The client invokes a get.
    Get {
        /// The client.
        client: Index,
    },
    /// The node handles a request, and its reply reaches the coordinator.
    Deliver(Envelope),
    /// The node handles a request, and its reply is lost.
    LoseReply(Envelope),
    /// The network loses a request.
    Drop(Envelope),
    /// A node crashes; its store survives, messages to it are lost.
    Crash(Index),
    /// A crashed node restarts from its store.
    Restart(Index),
    /// A coordinator covers a crashed replica with a hint at a fallback node.
    HandOff {
        /// The coordinating client.
        client: Index,
        /// The request.
        op: OpId,
        /// The replica that is down.
        replica: Index,
        /// The node that will hold the hint.
        fallback: Index,
    },
    /// A node hands a hint over to the replica it was meant for (one atomic exchange).
    DeliverHint {
        /// The node holding the hint.
        holder: Index,
        /// The replica it is for.
        replica: Index,
    },
    /// The client stops waiting: its request becomes indeterminate.
    GiveUp {
        /// The client.
        client: Index,
    },
}

/// The known-bug variants of this model; each is a switch of the shared core or a
/// consistency level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// R = W = 1: requests run at consistency ONE.
    One,
    /// A get answers before its read repair is acknowledged.
    AsyncReadRepair,
    /// A put's version is its coordinator's wall clock, and `c1`'s clock runs ahead.
    WallClockLww,
    /// Hinted acknowledgements count towards the quorum.
    SloppyQuorum,
}

impl Bug {
    /// Every variant, in the order `check list` prints them.
    pub const ALL: [Bug; 4] = [
        Bug::One,
        Bug::AsyncReadRepair,
        Bug::WallClockLww,
        Bug::SloppyQuorum,
    ];

    /// The variant's name, summary and the properties it breaks. The name and summary
    /// are the core's ([`core::Bug::switch`], and [`core::CONSISTENCY_ONE`] for `one`);
    /// only the properties are the model's.
    pub const fn variant(self) -> Variant {
        match self {
            Bug::One => Variant::of(core::CONSISTENCY_ONE, &["Linearizable", "NoLostAckedWrite"]),
            Bug::AsyncReadRepair => {
                Variant::of(core::Bug::AsyncReadRepair.switch(), &["Linearizable"])
            }
            Bug::WallClockLww => Variant::of(
                core::Bug::WallClockLww.switch(),
                &["NoLostAckedWrite", "Linearizable"],
            ),
            Bug::SloppyQuorum => Variant::of(
                core::Bug::SloppyQuorum.switch(),
                &["NoLostAckedWrite", "Linearizable"],
            ),
        }
    }

    /// Looks a variant up by its command-line name.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.variant().name == name)
    }

    fn core(self) -> Option<core::Bug> {
        match self {
            Bug::One => None,
            Bug::AsyncReadRepair => Some(core::Bug::AsyncReadRepair),
            Bug::WallClockLww => Some(core::Bug::WallClockLww),
            Bug::SloppyQuorum => Some(core::Bug::SloppyQuorum),
        }
    }
}

/// What `check all` and this crate's tests hold [`KvModel::default`] to. Changes only when
/// the protocol core (`impls::kv::core`) or the model's environment or reductions change.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(181_588);

/// Every bug variant's description, for the registry and `check list`.
pub const VARIANTS: [Variant; 4] = [
    Bug::ALL[0].variant(),
    Bug::ALL[1].variant(),
    Bug::ALL[2].variant(),
    Bug::ALL[3].variant(),
];

/// The model and its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvModel {
    /// Storage nodes: 3 (the replicas) or 4 (plus one fallback).
    pub nodes: usize,
    /// Clients.
    pub clients: usize,
    /// Operations per client.
    pub ops: usize,
    /// Node crashes in a run.
    pub crashes: u8,
    /// Messages the network may lose in a run.
    pub drops: u8,
    /// Times a client may give up on a request in a run.
    pub give_ups: u8,
    /// The bug variant, or `None` for the correct protocol.
    pub bug: Option<Bug>,
}

impl Default for KvModel {
    /// The default bounds of `check kv`: 3 nodes, 2 clients with 1 operation each, 1 crash,
    /// 1 lost message, 1 abandoned request (181,588 states).
    fn default() -> Self {
        KvModel {
            nodes: 3,
            clients: 2,
            ops: 1,
            crashes: 1,
            drops: 1,
            give_ups: 1,
            bug: None,
        }
    }
}

/// How far `c1`'s wall clock runs ahead of the others under [`Bug::WallClockLww`].
pub const CLOCK_SKEW: u64 = 2;

impl KvModel {
    /// The consistency level every request uses.
    pub fn consistency(&self) -> Consistency {
        if self.bug == Some(Bug::One) {
            Consistency::One
        } else {
            Consistency::Quorum
        }
    }

    /// Replicas a put must reach and a get must read.
    pub fn required(&self) -> usize {
        self.consistency().required(RF)
    }

    /// The majority of the replicas, whatever the consistency level: what
    /// `NoLostAckedWrite` asks to hold an acknowledged write.
    pub fn quorum(&self) -> usize {
        Consistency::Quorum.required(RF)
    }

    /// The value client `c`'s `k`-th operation writes if it is a put (1-based, unique).
    pub fn value_of(&self, client: Index, k: usize) -> Value {
        (client * self.ops + k + 1) as Value
    }

    /// The client that writes `value`.
    pub fn writer_of(&self, value: Value) -> Index {
        (value as usize - 1) / self.ops
    }

    /// What client `c`'s wall clock reads when it invokes an operation (used only by
    /// [`Bug::WallClockLww`]): operations invoked so far, plus a skew for `c1`.
    fn clock(&self, s: &KvState, client: Index) -> u64 {
        let invoked: usize = s.clients.iter().map(|c| c.ops.len()).sum();
        invoked as u64 + if client == 0 { CLOCK_SKEW } else { 0 }
    }

    fn replicas(&self) -> Vec<NodeId> {
        (0..RF as NodeId).collect()
    }

    /// Where `HandOff` puts a hint for `replica`: the first live node outside the replica
    /// set, else the first live replica other than `replica` (in a 3-node cluster there is
    /// no other node).
    fn fallback(&self, s: &KvState, replica: Index) -> Option<Index> {
        let up = |n: &Index| s.nodes[*n].up && *n != replica;
        (RF..self.nodes).find(up).or_else(|| (0..RF).find(up))
    }

    /// Carries out the effects of a step of `client`'s coordinator: a send joins the
    /// network, except that a message to a node that is down is lost at once, as a send on
    /// a broken connection is; a finished request returns to the client.
    fn apply(&self, s: &mut KvState, client: Index, effects: Vec<CoordinatorEffect<(), Value>>) {
        for effect in effects {
            match effect {
                CoordinatorEffect::Send { to, msg } => {
                    let node = to as Index;
                    if s.nodes[node].up {
                        s.network.insert(Envelope { client, node, msg });
                    }
                }
                CoordinatorEffect::Finished { op, outcome } => {
                    self.complete(s, client, op, outcome)
                }
                // `invoke` reads the request's id from the effects; a refusal cannot
                // happen (it checks that too); a client that gives up does not look back
                // at the request.
                CoordinatorEffect::Started { .. }
                | CoordinatorEffect::Refused(_)
                | CoordinatorEffect::Abandoned { .. } => {}
            }
        }
    }

    /// Whether delivering `env` could still change anything: a read whose request has left
    /// its read phase changes nothing at the node, and its reply would be ignored. (A
    /// write always can: it lands even if its coordinator no longer waits for it.)
    fn is_live(s: &KvState, env: &Envelope) -> bool {
        match &env.msg {
            Msg::Read { op, .. } => s.clients[env.client]
                .coordinator
                .get(*op)
                .is_some_and(|r| r.phase() == Phase::Query),
            _ => true,
        }
    }

    fn collect_garbage(s: &mut KvState) {
        let dead: Vec<Envelope> = s
            .network
            .iter()
            .filter(|e| !Self::is_live(s, e))
            .cloned()
            .collect();
        for e in dead {
            s.network.remove(&e);
        }
    }

    /// The node handles `env`; with `reply`, its reply reaches the coordinator.
    fn handle(&self, s: &mut KvState, env: Envelope, reply: bool) -> Option<()> {
        s.network.remove(&env);
        let c = env.client;
        let from = c as NodeId;
        let effects = s.nodes[env.node]
            .store
            .step(ReplicaInput::Receive { from, msg: env.msg });
        // A store is durable as soon as it changes (the real node fsyncs before it
        // acknowledges): the persists have nothing left to do, and the reply is the send.
        let answer = effects.into_iter().find_map(|e| match e {
            ReplicaEffect::Send { msg, .. } => Some(msg),
            ReplicaEffect::Persist { .. } | ReplicaEffect::HintDropped { .. } => None,
        })?;
        if reply {
            let input = CoordinatorInput::Receive {
                from: env.node as NodeId,
                msg: answer,
            };
            let effects = s.clients[c].coordinator.step(input);
            self.apply(s, c, effects);
        }
        Some(())
    }

    fn invoke(&self, s: &mut KvState, client: Index, request: Request<Value>) {
        let k = s.clients[client].ops.len();
        let clock = self.clock(s, client);
        let reg_op = match &request {
            Request::Put(v) => {
                let preceded_by = s
                    .puts
                    .iter()
                    .filter(|(_, p)| p.acked)
                    .map(|(v, _)| *v)
                    .collect();
                s.puts.insert(
                    *v,
                    PutRecord {
                        client,
                        preceded_by,
                        acked: false,
                    },
                );
                RegisterOp::Write(Some(*v))
            }
            Request::Get => RegisterOp::Read,
        };
        let effects = s.clients[client].coordinator.step(CoordinatorInput::Begin {
            key: (),
            request: request.clone(),
            replicas: self.replicas(),
            rf: RF,
            consistency: self.consistency(),
            clock,
        });
        let op = effects
            .iter()
            .find_map(|e| match e {
                CoordinatorEffect::Started { op } => Some(*op),
                _ => None,
            })
            .expect("the key always has RF replicas");
        s.clients[client].ops.push(OpRecord {
            request,
            op,
            status: OpStatus::Pending,
        });
        s.history
            .on_invoke((client, k), reg_op)
            .expect("one operation per thread");
        self.apply(s, client, effects);
    }

    /// Completes the client's pending operation `op` with `outcome`.
    fn complete(&self, s: &mut KvState, client: Index, op: OpId, outcome: Outcome<Value>) {
        let Some(k) = s.clients[client].ops.iter().position(|r| r.op == op) else {
            return;
        };
        let record = &mut s.clients[client].ops[k];
        if record.status != OpStatus::Pending {
            return; // the client gave up on it already
        }
        let (status, ret) = match outcome {
            Outcome::Written { .. } => {
                if let Request::Put(v) = record.request {
                    if let Some(p) = s.puts.get_mut(&v) {
                        p.acked = true;
                    }
                }
                (OpStatus::Returned(None), RegisterRet::WriteOk)
            }
            Outcome::Read { value, repaired } => {
                s.read_repaired |= repaired;
                let v = value.map(|v| v.value);
                (OpStatus::Returned(v), RegisterRet::ReadOk(v))
            }
        };
        record.status = status;
        s.history
            .on_return((client, k), ret)
            .expect("the operation is in flight");
    }
}

impl Model for KvModel {
    type State = KvState;
    type Action = KvAction;

    fn init_states(&self) -> Vec<KvState> {
        let bug = self.bug.and_then(Bug::core);
        vec![KvState {
            nodes: vec![
                Node {
                    up: true,
                    store: Replica::new(),
                };
                self.nodes
            ],
            clients: (0..self.clients)
                .map(|c| Client {
                    coordinator: Coordinator::new(c as NodeId, 0, bug),
                    ops: Vec::new(),
                })
                .collect(),
            network: OrdSet::new(),
            history: LinearizabilityTester::new(Register(None)),
            puts: OrdMap::new(),
            crashes: 0,
            drops: 0,
            give_ups: 0,
            read_repaired: false,
        }]
    }

    fn actions(&self, s: &KvState, actions: &mut Vec<KvAction>) {
        for (c, client) in s.clients.iter().enumerate() {
            if client.pending().is_none() && client.ops.len() < self.ops {
                actions.push(KvAction::Put { client: c });
                actions.push(KvAction::Get { client: c });
            }
        }
        for env in &s.network {
            actions.push(KvAction::Deliver(env.clone()));
        }
        if s.drops < self.drops {
            for env in &s.network {
                actions.push(KvAction::Drop(env.clone()));
                actions.push(KvAction::LoseReply(env.clone()));
            }
        }
        for (n, node) in s.nodes.iter().enumerate() {
            if node.up && s.crashes < self.crashes {
                actions.push(KvAction::Crash(n));
            }
            if !node.up {
                actions.push(KvAction::Restart(n));
            }
        }
        for (c, client) in s.clients.iter().enumerate() {
            for (op, r) in client.coordinator.ops() {
                if r.phase() == Phase::Query {
                    continue;
                }
                for &replica in r.replicas() {
                    let n = replica as Index;
                    if s.nodes[n].up
                        || r.holders().contains(&replica)
                        || r.hinted().contains(&replica)
                    {
                        continue;
                    }
                    if let Some(fallback) = self.fallback(s, n) {
                        actions.push(KvAction::HandOff {
                            client: c,
                            op,
                            replica: n,
                            fallback,
                        });
                    }
                }
            }
        }
        for (h, holder) in s.nodes.iter().enumerate() {
            if !holder.up {
                continue;
            }
            for replica in holder.store.hinted_replicas() {
                if s.nodes[replica as Index].up {
                    actions.push(KvAction::DeliverHint {
                        holder: h,
                        replica: replica as Index,
                    });
                }
            }
        }
        for (c, client) in s.clients.iter().enumerate() {
            if client.pending().is_some() && s.give_ups < self.give_ups {
                actions.push(KvAction::GiveUp { client: c });
            }
        }
    }

    fn next_state(&self, s: &KvState, action: KvAction) -> Option<KvState> {
        let mut next = s.clone();
        match action {
            KvAction::Put { client } => {
                let v = self.value_of(client, s.clients[client].ops.len());
                self.invoke(&mut next, client, Request::Put(v));
            }
            KvAction::Get { client } => self.invoke(&mut next, client, Request::Get),
            KvAction::Deliver(env) => self.handle(&mut next, env, true)?,
            KvAction::LoseReply(env) => {
                self.handle(&mut next, env, false)?;
                next.drops += 1;
            }
            KvAction::Drop(env) => {
                next.network.remove(&env);
                next.drops += 1;
            }
            KvAction::Crash(n) => {
                next.nodes[n].up = false;
                next.crashes += 1;
                next.network = next.network.into_iter().filter(|e| e.node != n).collect();
            }
            KvAction::Restart(n) => next.nodes[n].up = true,
            KvAction::HandOff {
                client,
                op,
                replica,
                fallback,
            } => {
                let effects = next.clients[client]
                    .coordinator
                    .step(CoordinatorInput::HandOff {
                        op,
                        replica: replica as NodeId,
                        fallback: fallback as NodeId,
                    });
                self.apply(&mut next, client, effects);
            }
            KvAction::DeliverHint { holder, replica } => {
                // The stores' effects are dropped: the stores are durable as they change,
                // and the exchange is atomic, so there is no acknowledgement to send.
                for (key, value) in s.nodes[holder].store.hints_for(replica as NodeId) {
                    let version = value.version;
                    next.nodes[replica].store.step(ReplicaInput::Store {
                        key,
                        value,
                        hint_for: None,
                    });
                    next.nodes[holder].store.step(ReplicaInput::HintDelivered {
                        replica: replica as NodeId,
                        key,
                        version,
                    });
                }
            }
            KvAction::GiveUp { client } => {
                let record = next.clients[client].ops.last_mut()?;
                record.status = OpStatus::GaveUp;
                next.give_ups += 1;
                let op = record.op;
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
        properties::table()
    }

    /// The Explorer's name for an action.
    fn format_action(&self, action: &KvAction) -> String {
        format!("{action:?}")
    }

    /// The Explorer's view of a step: what it does in protocol words, then the next state.
    fn format_step(&self, last: &KvState, action: KvAction) -> Option<String> {
        crate::explorer_step(self, last, action)
    }
}

/// `true` if the history recorded in `s` has a linearization.
pub fn is_linearizable(s: &KvState) -> bool {
    s.history.is_consistent()
}

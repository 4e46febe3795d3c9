//! Protocol words: how the key-value model names its actions and fields in
//! counterexamples.

use super::properties::{
    acked_put_missing_a_replica, crashed_node_holding, given_up_put_held, hint_held,
    lost_acked_write, read_of_other_clients_write,
};
use super::{Envelope, Index, KvAction, KvModel, KvState, OpStatus, Value};
use crate::{Arrow, ArrowKind, Protocol};
use impls::kv::core::{Msg, Phase, ReplicaEffect, ReplicaInput, Request, Versioned};
use impls::kv::NodeId;
use impls::sansio::Core;

fn node(n: Index) -> String {
    format!("n{}", n + 1)
}

fn client(c: Index) -> String {
    format!("c{}", c + 1)
}

/// A value with its version, e.g. `v3@2.c1` (counter 2, chosen by c1).
fn versioned(v: &Versioned<Value>) -> String {
    format!("v{}@{}.c{}", v.value, v.version.counter, v.version.node + 1)
}

fn held(v: Option<&Versioned<Value>>) -> String {
    v.map_or_else(|| "nothing".to_string(), versioned)
}

fn message(msg: &Msg<(), Value>) -> String {
    match msg {
        Msg::Read { op, .. } => format!("Read{{op: {op}}}"),
        Msg::ReadReply { op, current } => {
            format!("ReadReply{{op: {op}, holds: {}}}", held(current.as_ref()))
        }
        Msg::Write {
            op,
            value,
            hint_for,
            ..
        } => match hint_for {
            None => format!("Write{{op: {op}, value: {}}}", versioned(value)),
            Some(r) => format!(
                "Write{{op: {op}, value: {}, hint for {}}}",
                versioned(value),
                node(*r as Index)
            ),
        },
        Msg::WriteAck { op, hint_for } => match hint_for {
            None => format!("WriteAck{{op: {op}}}"),
            Some(r) => format!("WriteAck{{op: {op}, hint for {}}}", node(*r as Index)),
        },
    }
}

fn envelope(e: &Envelope) -> String {
    format!(
        "{} -> {} {}",
        client(e.client),
        node(e.node),
        message(&e.msg)
    )
}

/// A message as an arrow's label: its kind and what identifies it, e.g. `Write op1
/// v3@2.c1`.
fn label(msg: &Msg<(), Value>) -> String {
    match msg {
        Msg::Read { op, .. } => format!("Read op{op}"),
        Msg::ReadReply { current, .. } => format!("ReadReply {}", held(current.as_ref())),
        Msg::Write {
            op,
            value,
            hint_for,
            ..
        } => match hint_for {
            None => format!("Write op{op} {}", versioned(value)),
            Some(r) => format!(
                "Write op{op} {} (hint for {})",
                versioned(value),
                node(*r as Index)
            ),
        },
        Msg::WriteAck { hint_for, .. } => match hint_for {
            None => "WriteAck".to_string(),
            Some(r) => format!("WriteAck (hint for {})", node(*r as Index)),
        },
    }
}

/// What node `e.node` answers to request `e`, if anything.
fn answer(s: &KvState, e: &Envelope) -> Option<Msg<(), Value>> {
    let mut store = s.nodes[e.node].store.clone();
    let input = ReplicaInput::Receive {
        from: e.client as NodeId,
        msg: e.msg.clone(),
    };
    store.step(input).into_iter().find_map(|e| match e {
        ReplicaEffect::Send { msg, .. } => Some(msg),
        _ => None,
    })
}

/// The reply `e` gets, in words.
fn reply(s: &KvState, e: &Envelope) -> String {
    match answer(s, e) {
        Some(answer) => format!(
            "{} -> {} {}",
            node(e.node),
            client(e.client),
            message(&answer)
        ),
        None => String::new(),
    }
}

fn request(r: &Request<Value>) -> String {
    match r {
        Request::Put(v) => format!("put(v{v})"),
        Request::Get => "get()".to_string(),
    }
}

fn show(v: Option<Value>) -> String {
    v.map_or_else(|| "nothing".to_string(), |v| format!("v{v}"))
}

impl KvModel {
    /// What the client's operation `op` is, in words.
    fn op_words(&self, s: &KvState, c: Index, op: u64) -> String {
        s.clients[c]
            .ops
            .iter()
            .find(|r| r.op == op)
            .map_or_else(|| format!("op {op}"), |r| request(&r.request))
    }

    /// What delivering `e` to a client leads to, when it finishes the request.
    fn consequence(&self, s: &KvState, e: &Envelope) -> String {
        let Some(next) = self.next_state_described(s, e) else {
            return String::new();
        };
        let c = e.client;
        let before = &s.clients[c];
        let after = &next.clients[c];
        let mut notes = Vec::new();
        for (k, r) in after.ops.iter().enumerate() {
            let was = before.ops.get(k).map(|b| &b.status);
            if was == Some(&OpStatus::Pending) {
                if let OpStatus::Returned(v) = r.status {
                    notes.push(match r.request {
                        Request::Put(_) => format!("{} returns ok", request(&r.request)),
                        Request::Get => format!("get() returns {}", show(v)),
                    });
                }
            }
        }
        if let Some(coordination) = before.coordinator.get(message_op(&e.msg)) {
            let now = after.coordinator.get(message_op(&e.msg));
            match (coordination.phase(), now.map(|n| n.phase())) {
                (Phase::Query, Some(Phase::Write)) => notes.push(format!(
                    "{} read {} replicas; writes {}",
                    client(c),
                    coordination.required(),
                    now.and_then(|n| n.value()).map_or(String::new(), versioned)
                )),
                (Phase::Query, Some(Phase::Repair)) => notes.push(format!(
                    "{} read {} replicas; repairs the stale ones with {}",
                    client(c),
                    coordination.required(),
                    now.and_then(|n| n.value()).map_or(String::new(), versioned)
                )),
                _ => {}
            }
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!(": {}", notes.join("; "))
        }
    }

    fn next_state_described(&self, s: &KvState, e: &Envelope) -> Option<KvState> {
        use stateright::Model;
        self.next_state(s, KvAction::Deliver(e.clone()))
    }
}

fn message_op(msg: &Msg<(), Value>) -> u64 {
    match msg {
        Msg::Read { op, .. }
        | Msg::ReadReply { op, .. }
        | Msg::Write { op, .. }
        | Msg::WriteAck { op, .. } => *op,
    }
}

impl Protocol for KvModel {
    fn describe_action(&self, s: &KvState, action: &KvAction) -> String {
        let level = self.consistency().name().to_uppercase();
        match action {
            KvAction::Put { client: c } => {
                let v = self.value_of(*c, s.clients[*c].ops.len());
                format!("{} invokes put(v{v}) at {level}", client(*c))
            }
            KvAction::Get { client: c } => format!("{} invokes get() at {level}", client(*c)),
            KvAction::Deliver(e) => {
                format!("{}; {}{}", envelope(e), reply(s, e), self.consequence(s, e))
            }
            KvAction::LoseReply(e) => format!(
                "{}; the network loses the reply {}",
                envelope(e),
                reply(s, e)
            ),
            KvAction::Drop(e) => format!("the network loses {}", envelope(e)),
            KvAction::Crash(n) => format!(
                "{} crashes (its log survives; messages to it are lost)",
                node(*n)
            ),
            KvAction::Restart(n) => format!("{} restarts and recovers its log", node(*n)),
            KvAction::HandOff {
                client: c,
                op,
                replica,
                fallback,
            } => format!(
                "{} covers {} (down) for {} with a hint at {}",
                client(*c),
                node(*replica),
                self.op_words(s, *c, *op),
                node(*fallback)
            ),
            KvAction::DeliverHint { holder, replica } => format!(
                "{} hands its hint over to {}",
                node(*holder),
                node(*replica)
            ),
            KvAction::GiveUp { client: c } => {
                let what = s.clients[*c]
                    .pending()
                    .map_or_else(String::new, |r| request(&r.request));
                format!(
                    "{} gives up on {what} (timeout): it stays indeterminate",
                    client(*c)
                )
            }
        }
    }

    fn fields(&self, s: &KvState) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        for (n, x) in s.nodes.iter().enumerate() {
            fields.push((format!("{}.up", node(n)), x.up.to_string()));
            fields.push((format!("{}.value", node(n)), held(x.store.get(&()))));
            let hints: Vec<String> =
                x.store
                    .hinted_replicas()
                    .into_iter()
                    .flat_map(|r| {
                        x.store.hints_for(r).into_iter().map(move |(_, v)| {
                            format!("{} for {}", versioned(&v), node(r as Index))
                        })
                    })
                    .collect();
            fields.push((
                format!("{}.hints", node(n)),
                format!("[{}]", hints.join(", ")),
            ));
        }
        for (c, x) in s.clients.iter().enumerate() {
            let ops: Vec<String> = x
                .ops
                .iter()
                .map(|r| {
                    let status = match r.status {
                        OpStatus::Pending => "pending".to_string(),
                        OpStatus::Returned(v) => match r.request {
                            Request::Put(_) => "ok".to_string(),
                            Request::Get => show(v),
                        },
                        OpStatus::GaveUp => "gave up".to_string(),
                    };
                    format!("{} -> {status}", request(&r.request))
                })
                .collect();
            fields.push((
                format!("{}.history", client(c)),
                format!("[{}]", ops.join(", ")),
            ));
            for (op, r) in x.coordinator.ops() {
                let holders: Vec<String> = r.holders().iter().map(|n| node(*n as Index)).collect();
                fields.push((
                    format!("{}.op{op}", client(c)),
                    format!(
                        "{} {:?}{} holders [{}]",
                        request(r.request()),
                        r.phase(),
                        r.value()
                            .map_or(String::new(), |v| format!(" {}", versioned(v))),
                        holders.join(", ")
                    ),
                ));
            }
        }
        let msgs: Vec<String> = s.network.iter().map(envelope).collect();
        fields.push((
            "network.requests".to_string(),
            format!("{{{}}}", msgs.join("; ")),
        ));
        fields
    }

    fn explain(&self, property: &str, s: &KvState) -> Vec<String> {
        match property {
            "Linearizable" => {
                let mut lines = vec![
                    "no order of these operations, consistent with real time, explains what the gets returned:".to_string(),
                ];
                for (c, x) in s.clients.iter().enumerate() {
                    for r in &x.ops {
                        let status = match r.status {
                            OpStatus::Pending => "pending".to_string(),
                            OpStatus::GaveUp => "gave up (may take effect)".to_string(),
                            OpStatus::Returned(v) => match r.request {
                                Request::Put(_) => "ok".to_string(),
                                Request::Get => format!("returned {}", show(v)),
                            },
                        };
                        lines.push(format!("  {}: {} {status}", client(c), request(&r.request)));
                    }
                }
                lines.push("(each client's operations are listed in order; an operation precedes every operation its client invoked later)".to_string());
                lines
            }
            "NoLostAckedWrite" => match lost_acked_write(self, s) {
                None => Vec::new(),
                Some(lost) => {
                    let mut lines = vec![format!(
                        "put(v{}) by {} was acknowledged, but only {} of the {} replicas hold it or a put allowed to overwrite it; a quorum needs {}",
                        lost.value,
                        client(self.writer_of(lost.value)),
                        lost.holders.len(),
                        lost.held.len(),
                        self.quorum()
                    )];
                    let preceded = &s.puts[&lost.value].preceded_by;
                    for (n, h) in lost.held.iter().enumerate() {
                        let why = match h {
                            Some(v) if *v == lost.value => "it".to_string(),
                            Some(v) if preceded.contains(v) => format!(
                                "v{v}, a put that completed before put(v{}) began",
                                lost.value
                            ),
                            Some(v) => format!("v{v}"),
                            None => "nothing".to_string(),
                        };
                        lines.push(format!("  {} holds {why}", node(n)));
                    }
                    lines
                }
            },
            "ReadSeesOtherClientsWrite" => read_of_other_clients_write(self, s)
                .map(|(c, v)| {
                    vec![format!(
                        "{} read v{v}, written by {}",
                        client(c),
                        client(self.writer_of(v))
                    )]
                })
                .unwrap_or_default(),
            "ReadRepairHappens" if s.read_repaired => {
                vec!["a get found a replica stale and wrote its value back to it".to_string()]
            }
            "AckedPutMissesAReplica" => acked_put_missing_a_replica(s)
                .map(|(v, n)| {
                    vec![format!(
                        "put(v{v}) was acknowledged, but {} does not hold it and no write of it to {} is in flight",
                        node(n),
                        node(n)
                    )]
                })
                .unwrap_or_default(),
            "GivenUpPutLands" => given_up_put_held(s)
                .map(|(c, v, n)| {
                    vec![format!(
                        "{} gave up on put(v{v}), yet {} holds it",
                        client(c),
                        node(n)
                    )]
                })
                .unwrap_or_default(),
            "CrashedReplicaKeepsItsStore" => crashed_node_holding(s)
                .map(|(n, v)| vec![format!("{} is down and still holds v{v}", node(n))])
                .unwrap_or_default(),
            "HintHeld" => hint_held(s)
                .map(|(h, r)| vec![format!("{} holds a hint for {}", node(h), node(r))])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn lanes(&self) -> Vec<String> {
        (0..self.clients)
            .map(client)
            .chain((0..self.nodes).map(node))
            .collect()
    }

    fn actor(&self, _: &KvState, action: &KvAction) -> Option<String> {
        match action {
            KvAction::Put { client: c }
            | KvAction::Get { client: c }
            | KvAction::HandOff { client: c, .. }
            | KvAction::GiveUp { client: c } => Some(client(*c)),
            KvAction::Deliver(e) | KvAction::LoseReply(e) => Some(node(e.node)),
            KvAction::Crash(n) | KvAction::Restart(n) => Some(node(*n)),
            KvAction::DeliverHint { holder, .. } => Some(node(*holder)),
            KvAction::Drop(_) => None,
        }
    }

    /// Requests wait in the network (a send, then a delivery or a loss); a reply reaches
    /// its coordinator in the step that handles the request (see "Replies" in the
    /// model's doc), so it is an exchange, or lost. Read requests the model removes once
    /// their operation has left its read phase (no longer deliverable, see "Dead
    /// requests") get no arrow: they were never delivered.
    fn arrows(&self, s: &KvState, action: &KvAction, after: &KvState) -> Vec<Arrow> {
        let request =
            |e: &Envelope, kind| Arrow::new(client(e.client), node(e.node), label(&e.msg), kind);
        let mut out = Vec::new();
        match action {
            KvAction::Deliver(e) | KvAction::LoseReply(e) => {
                out.push(request(e, ArrowKind::Deliver));
                if let Some(answer) = answer(s, e) {
                    let kind = match action {
                        KvAction::Deliver(_) => ArrowKind::Exchange,
                        _ => ArrowKind::Lose,
                    };
                    out.push(Arrow::new(
                        node(e.node),
                        client(e.client),
                        label(&answer),
                        kind,
                    ));
                }
            }
            KvAction::Drop(e) => out.push(request(e, ArrowKind::Lose)),
            KvAction::Crash(n) => out.extend(
                s.network
                    .iter()
                    .filter(|e| e.node == *n && !after.network.contains(e))
                    .map(|e| request(e, ArrowKind::Lose)),
            ),
            KvAction::DeliverHint { holder, replica } => {
                let hints: Vec<String> = s.nodes[*holder]
                    .store
                    .hints_for(*replica as NodeId)
                    .iter()
                    .map(|(_, v)| versioned(v))
                    .collect();
                out.push(Arrow::new(
                    node(*holder),
                    node(*replica),
                    format!("hint {}", hints.join(", ")),
                    ArrowKind::Exchange,
                ));
            }
            _ => {}
        }
        out.extend(
            after
                .network
                .iter()
                .filter(|e| !s.network.contains(e))
                .map(|e| request(e, ArrowKind::Send)),
        );
        out
    }
}

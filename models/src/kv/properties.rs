//! The properties of the key-value model, as functions that return the evidence of a
//! violation (or of an example), so that a property and its explanation share one
//! definition.

use super::{is_linearizable, Index, KvModel, KvState, OpStatus, PutRecord, Value, RF};
use impls::kv::core::{Msg, Request};
use stateright::Property;

/// The property table: name, expectation and condition, in the order reports use.
pub(super) fn table() -> Vec<Property<KvModel>> {
    vec![
        Property::always("Linearizable", |_, s| is_linearizable(s)),
        Property::always("NoLostAckedWrite", |m, s| lost_acked_write(m, s).is_none()),
        Property::sometimes("ReadSeesOtherClientsWrite", |m, s| {
            read_of_other_clients_write(m, s).is_some()
        }),
        Property::sometimes("ReadRepairHappens", |_, s: &KvState| s.read_repaired),
        Property::sometimes("AckedPutMissesAReplica", |_, s| {
            acked_put_missing_a_replica(s).is_some()
        }),
        Property::sometimes("GivenUpPutLands", |_, s| given_up_put_held(s).is_some()),
        Property::sometimes("CrashedReplicaKeepsItsStore", |_, s| {
            crashed_node_holding(s).is_some()
        }),
        Property::sometimes("HintHeld", |_, s| hint_held(s).is_some()),
    ]
}

/// What each replica holds that counts for an acknowledged put: the put itself, or a put
/// that had not completed when it began (which a linearizable store may order after it).
pub(super) struct LostWrite {
    /// The acknowledged put's value.
    pub value: Value,
    /// The replicas that hold it or a put allowed to supersede it.
    pub holders: Vec<Index>,
    /// For each replica, what it holds (`None`: nothing).
    pub held: Vec<Option<Value>>,
}

/// An acknowledged put that fewer than a quorum of replicas hold, counting a replica that
/// holds a put allowed to supersede it. Crashed replicas count: their store is durable.
pub(super) fn lost_acked_write(m: &KvModel, s: &KvState) -> Option<LostWrite> {
    let held = held(s);
    for (&value, put) in s.puts.iter().filter(|(_, p)| p.acked) {
        let holders = holders(&held, value, put);
        if holders.len() < m.quorum() {
            return Some(LostWrite {
                value,
                holders,
                held,
            });
        }
    }
    None
}

/// What each replica (`n1..n3`, never a node outside the replica set) holds.
fn held(s: &KvState) -> Vec<Option<Value>> {
    s.nodes[..RF]
        .iter()
        .map(|n| n.store.get(&()).map(|v| v.value))
        .collect()
}

/// The replicas whose `held` value counts for the put of `value`: the put itself, or a put
/// that had not completed when it began.
fn holders(held: &[Option<Value>], value: Value, put: &PutRecord) -> Vec<Index> {
    held.iter()
        .enumerate()
        .filter(|(_, h)| h.is_some_and(|h| h == value || !put.preceded_by.contains(&h)))
        .map(|(n, _)| n)
        .collect()
}

/// An acknowledged put that a replica does not count for, and never will from the put's
/// own coordinator (no write to it is in flight: it was lost, or the replica was down):
/// (value, replica). `NoLostAckedWrite` counts replicas only because of such states; if
/// every acknowledged put reached every replica, its quorum would never be tested.
pub(super) fn acked_put_missing_a_replica(s: &KvState) -> Option<(Value, Index)> {
    let held = held(s);
    s.puts
        .iter()
        .filter(|(_, p)| p.acked)
        .find_map(|(&value, put)| {
            let holders = holders(&held, value, put);
            let in_flight = |n: Index| {
                s.network.iter().any(|e| {
                    e.node == n
                        && matches!(&e.msg, Msg::Write { value: v, hint_for: None, .. } if v.value == value)
                })
            };
            (0..RF)
                .find(|&n| !holders.contains(&n) && !in_flight(n))
                .map(|n| (value, n))
        })
}

/// A put its client gave up on that a node stores anyway: (client, value, node). The
/// history leaves such a put open, and `Linearizable` must accept it taking effect.
pub(super) fn given_up_put_held(s: &KvState) -> Option<(Index, Value, Index)> {
    s.clients.iter().enumerate().find_map(|(c, client)| {
        client
            .ops
            .iter()
            .find_map(|r| match (&r.request, &r.status) {
                (Request::Put(v), OpStatus::GaveUp) => s
                    .nodes
                    .iter()
                    .position(|n| n.store.get(&()).is_some_and(|h| h.value == *v))
                    .map(|n| (c, *v, n)),
                _ => None,
            })
    })
}

/// A crashed node that still holds a value: (node, value). `NoLostAckedWrite` counts a
/// crashed replica's copy because its store is durable.
pub(super) fn crashed_node_holding(s: &KvState) -> Option<(Index, Value)> {
    s.nodes
        .iter()
        .enumerate()
        .filter(|(_, x)| !x.up)
        .find_map(|(n, x)| x.store.get(&()).map(|v| (n, v.value)))
}

/// A hint a node holds: (holder, replica it is for).
pub(super) fn hint_held(s: &KvState) -> Option<(Index, Index)> {
    s.nodes
        .iter()
        .enumerate()
        .find_map(|(h, x)| x.store.hinted_replicas().first().map(|&r| (h, r as Index)))
}

/// A get that returned a value another client wrote: (reader, value).
pub(super) fn read_of_other_clients_write(m: &KvModel, s: &KvState) -> Option<(Index, Value)> {
    s.clients.iter().enumerate().find_map(|(c, client)| {
        client
            .ops
            .iter()
            .find_map(|r| match (&r.request, &r.status) {
                (Request::Get, OpStatus::Returned(Some(v))) if m.writer_of(*v) != c => {
                    Some((c, *v))
                }
                _ => None,
            })
    })
}

//! The properties of the key-value model, as functions that return the evidence of a
//! violation (or of an example), so that a property and its explanation share one
//! definition.

use super::{is_linearizable, Index, KvModel, KvState, OpStatus, Value, RF};
use impls::kv::core::Request;
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
    let held: Vec<Option<Value>> = s.nodes[..RF]
        .iter()
        .map(|n| n.store.get(&()).map(|v| v.value))
        .collect();
    for (&value, put) in s.puts.iter().filter(|(_, p)| p.acked) {
        let holders: Vec<Index> = held
            .iter()
            .enumerate()
            .filter(|(_, h)| h.is_some_and(|h| h == value || !put.preceded_by.contains(&h)))
            .map(|(n, _)| n)
            .collect();
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

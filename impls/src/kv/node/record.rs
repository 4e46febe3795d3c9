//! The records of a node's write-ahead log, and replaying them at boot.
//!
//! The log holds everything a node must not forget across a crash:
//! - every value it stored as a replica, and every hint it accepted as a fallback (both
//!   made durable before they are acknowledged);
//! - which hints were delivered (not synced on their own: replaying a delivered hint only
//!   delivers it again, which is harmless);
//! - the memberships it adopted;
//! - one `Boot` record per start: their number is the node's incarnation, which keeps the
//!   versions its coordinator issues unique across restarts.
//!
//! Replay applies records in log order through the replica's own step
//! ([`ReplicaInput::Store`] and [`ReplicaInput::HintDelivered`]), which is idempotent and
//! keeps the highest version, so the recovered store is exactly the acknowledged state.

use crate::kv::core::{Replica, ReplicaInput, Version, Versioned};
use crate::kv::membership::Membership;
use crate::kv::wire::{self, Dec, Enc, WireError};
use crate::kv::NodeId;
use crate::sansio::Core;
use std::io;

const BOOT: u8 = 1;
const VALUE: u8 = 2;
const HINT: u8 = 3;
const HINT_DONE: u8 = 4;
const MEMBERSHIP: u8 = 5;

/// Appends a `Boot` record to `buf`.
pub(crate) fn boot(buf: &mut Vec<u8>) {
    buf.push(BOOT);
}

/// Appends the record of a write a replica stored (`hint_for: None`) or a hint it accepted.
pub(crate) fn write(
    buf: &mut Vec<u8>,
    key: &str,
    value: &Versioned<String>,
    hint_for: Option<NodeId>,
) {
    let mut e = Enc(buf);
    match hint_for {
        None => e.u8(VALUE),
        Some(r) => {
            e.u8(HINT);
            e.var(u64::from(r));
        }
    }
    e.str(key);
    e.versioned(value);
}

/// Appends the record of a delivered hint.
pub(crate) fn hint_done(buf: &mut Vec<u8>, replica: NodeId, key: &str, version: &Version) {
    let mut e = Enc(buf);
    e.u8(HINT_DONE);
    e.var(u64::from(replica));
    e.str(key);
    e.version(version);
}

/// Appends the record of an adopted membership.
pub(crate) fn membership(buf: &mut Vec<u8>, m: &Membership) {
    let mut e = Enc(buf);
    e.u8(MEMBERSHIP);
    wire::membership(&mut e, m);
}

/// What the log says about a node.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    pub(crate) replica: Replica<String, String>,
    /// The last membership adopted, if any was.
    pub(crate) membership: Option<Membership>,
    /// `Boot` records: how many times the node started before.
    pub(crate) boots: u32,
}

/// Replays `records` in order.
pub(crate) fn replay(records: &[Vec<u8>]) -> io::Result<Recovery> {
    let mut r = Recovery::default();
    for (i, record) in records.iter().enumerate() {
        apply(&mut r, record).map_err(|e| {
            // The record passed its checksum, so this is not a torn write: the log was
            // written by an incompatible version or the node has a bug. Refusing to start
            // is the only safe answer; serving a partial store would lose acknowledged data.
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("write-ahead log record {i} is intact but unreadable: {e}"),
            )
        })?;
    }
    Ok(r)
}

/// Applies one record. The replica's effects are dropped: what they ask to log is the
/// record being replayed, and a replica replaying its log sends nothing.
fn apply(r: &mut Recovery, record: &[u8]) -> Result<(), WireError> {
    let mut d = Dec::new(record);
    match d.u8()? {
        BOOT => r.boots += 1,
        VALUE => {
            let key = d.str(wire::MAX_KEY_BYTES, "key")?;
            let value = d.versioned()?;
            r.replica.step(ReplicaInput::Store {
                key,
                value,
                hint_for: None,
            });
        }
        HINT => {
            let replica = d.u32()?;
            let key = d.str(wire::MAX_KEY_BYTES, "key")?;
            let value = d.versioned()?;
            r.replica.step(ReplicaInput::Store {
                key,
                value,
                hint_for: Some(replica),
            });
        }
        HINT_DONE => {
            let replica = d.u32()?;
            let key = d.str(wire::MAX_KEY_BYTES, "key")?;
            let version = d.version()?;
            r.replica.step(ReplicaInput::HintDelivered {
                replica,
                key,
                version,
            });
        }
        MEMBERSHIP => {
            let m = wire::decode_membership(&mut d)?;
            if r.membership.as_ref().is_none_or(|held| m.supersedes(held)) {
                r.membership = Some(m);
            }
        }
        kind => return Err(WireError::Malformed(format!("{kind} is not a record kind"))),
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn v(counter: u64, value: &str) -> Versioned<String> {
        Versioned {
            version: Version {
                counter,
                node: 1,
                incarnation: 1,
            },
            value: value.into(),
        }
    }

    fn rec(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut buf = Vec::new();
        f(&mut buf);
        buf
    }

    #[test]
    fn replay_rebuilds_values_hints_membership_and_boots() {
        let m1 = Membership::initial(BTreeMap::from([(1, "a:1".into())]));
        let m2 = m1.with_node(1, 2, "b:2".into());
        let records = vec![
            rec(boot),
            rec(|b| write(b, "k", &v(2, "new"), None)),
            rec(|b| write(b, "k", &v(1, "old"), None)),
            rec(|b| write(b, "h", &v(1, "x"), Some(3))),
            rec(|b| write(b, "g", &v(1, "y"), Some(3))),
            rec(|b| hint_done(b, 3, "g", &v(1, "").version)),
            rec(|b| membership(b, &m2)),
            rec(|b| membership(b, &m1)),
            rec(boot),
        ];
        let r = replay(&records).unwrap();
        assert_eq!(r.boots, 2);
        assert_eq!(r.replica.get(&"k".to_string()).unwrap().value, "new");
        assert_eq!(r.replica.hints_for(3), vec![("h".to_string(), v(1, "x"))]);
        assert_eq!(r.membership, Some(m2));
    }

    #[test]
    fn an_unreadable_record_stops_the_node() {
        let err = replay(&[rec(boot), vec![99]]).unwrap_err();
        assert!(err
            .to_string()
            .contains("record 1 is intact but unreadable"));
    }
}

//! The tester's view of what was applied, watched from outside the servers: 6.5840's
//! `cfg.logs`, and its "apply error" check that no two servers ever apply different
//! commands at one index.

use crate::raft::core::Index;
use crate::raft::NodeId;
use std::collections::BTreeMap;

/// Every command any server applied, per server and across its restarts.
///
/// Guarantee: once [`ApplyRecord::record`] has accepted a command at an index, it refuses
/// every different command at that index, from any server, for the rest of the run.
#[derive(Clone, Debug, Default)]
pub struct ApplyRecord {
    /// The command at each index and the first server that applied it.
    first: BTreeMap<Index, (Vec<u8>, NodeId)>,
    /// Per server, every index it applied in any incarnation (or received in a snapshot).
    applied: Vec<BTreeMap<Index, Vec<u8>>>,
}

impl ApplyRecord {
    /// The record of `servers` servers that applied nothing yet.
    pub fn new(servers: u8) -> ApplyRecord {
        ApplyRecord {
            first: BTreeMap::new(),
            applied: vec![BTreeMap::new(); servers as usize],
        }
    }

    /// Notes that `server` applied `command` at `index`; the error is 6.5840's apply error
    /// when another server (or this one, before a crash) applied something else there.
    pub fn record(&mut self, server: NodeId, index: Index, command: &[u8]) -> Result<(), String> {
        match self.first.get(&index) {
            Some((other, by)) if other.as_slice() != command => {
                return Err(format!(
                    "apply error: commit index={index} server={server} {} != server={by} {}",
                    show(command),
                    show(other)
                ));
            }
            Some(_) => {}
            None => {
                self.first.insert(index, (command.to_vec(), server));
            }
        }
        self.applied[server as usize].insert(index, command.to_vec());
        Ok(())
    }

    /// How many servers have applied `index`, and the command there (6.5840's
    /// `nCommitted`).
    pub fn n_committed(&self, index: Index) -> (usize, Option<Vec<u8>>) {
        let n = self
            .applied
            .iter()
            .filter(|a| a.contains_key(&index))
            .count();
        (n, self.first.get(&index).map(|(c, _)| c.clone()))
    }

    /// The command committed at `index`, if any server applied it.
    pub fn committed(&self, index: Index) -> Option<&[u8]> {
        self.first.get(&index).map(|(c, _)| c.as_slice())
    }

    /// How many client commands (entries that are not a leader's empty no-op) any server
    /// applied.
    pub fn commands_committed(&self) -> u64 {
        self.first.values().filter(|(c, _)| !c.is_empty()).count() as u64
    }

    /// The lowest index at which some server applied `command`, if any did.
    pub fn index_of(&self, command: &[u8]) -> Option<Index> {
        self.first
            .iter()
            .find(|(_, (c, _))| c.as_slice() == command)
            .map(|(&i, _)| i)
    }

    /// The highest index any server applied.
    pub fn max_index(&self) -> Index {
        self.first.keys().next_back().copied().unwrap_or(0)
    }
}

/// A command for an error message: a client command as its number, the leader's no-op as
/// `no-op`, anything else as bytes.
pub fn show(command: &[u8]) -> String {
    match command.len() {
        0 => "no-op".to_string(),
        8 => format!(
            "{}",
            u64::from_le_bytes(command.try_into().expect("8 bytes"))
        ),
        _ => format!("{command:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_command_at_an_index_is_an_apply_error() {
        let mut r = ApplyRecord::new(3);
        r.record(0, 1, &7u64.to_le_bytes()).unwrap();
        r.record(1, 1, &7u64.to_le_bytes()).unwrap();
        assert_eq!(r.n_committed(1), (2, Some(7u64.to_le_bytes().to_vec())));
        let e = r.record(2, 1, b"").unwrap_err();
        assert!(e.contains("server=2 no-op != server=0 7"), "{e}");
        assert_eq!(r.n_committed(2), (0, None));
        assert_eq!(r.max_index(), 1);
    }
}

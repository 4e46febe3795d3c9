//! Bugs of the node runtime rather than of the protocol's core: the core and its model
//! cannot see them (they run the core, not the runtime), so only runs of the real node
//! under faults, such as `check kv --jepsen --bug skip-fsync`, can catch them.

use crate::sansio::{BugSwitch, BugSwitches};

/// A known bug of the `kv-node` runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuntimeBug {
    /// The write-ahead log's batches are written but never fsynced
    /// ([`Wal::set_skip_fsync`](crate::sim::wal::Wal::set_skip_fsync)), so writes are
    /// acknowledged from the page cache. A crash of some nodes loses nothing a quorum
    /// acknowledged (the other replicas hold it); a power loss of a majority can lose
    /// every copy at once.
    SkipFsync,
}

impl BugSwitches for RuntimeBug {
    const ALL: &'static [RuntimeBug] = &[RuntimeBug::SkipFsync];

    fn switch(self) -> BugSwitch {
        match self {
            RuntimeBug::SkipFsync => BugSwitch {
                name: "skip-fsync",
                summary:
                    "the write-ahead log is written but not fsynced before a write is acknowledged",
            },
        }
    }
}

impl RuntimeBug {
    /// The bug's name on the command line (the same as [`BugSwitches::name`]).
    pub fn name(self) -> &'static str {
        self.switch().name
    }

    /// The bug named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<RuntimeBug> {
        RuntimeBug::ALL.iter().copied().find(|b| b.name() == name)
    }
}

/// Any bug a node can run with: one of the core's, or one of the runtime's. `kv-node
/// --bug` and `check kv --jepsen --bug` take either by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeBug {
    /// A bug of the protocol's core ([`crate::kv::core::Bug`]).
    Core(crate::kv::core::Bug),
    /// A bug of the runtime around it.
    Runtime(RuntimeBug),
}

impl NodeBug {
    /// Every bug: the core's, then the runtime's.
    pub fn all() -> Vec<NodeBug> {
        let core = <crate::kv::core::Bug as BugSwitches>::ALL
            .iter()
            .map(|&b| NodeBug::Core(b));
        let runtime = RuntimeBug::ALL.iter().map(|&b| NodeBug::Runtime(b));
        core.chain(runtime).collect()
    }

    /// Its name and summary.
    pub fn switch(self) -> BugSwitch {
        match self {
            NodeBug::Core(b) => b.switch(),
            NodeBug::Runtime(b) => BugSwitches::switch(b),
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        self.switch().name
    }

    /// The bug named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<NodeBug> {
        NodeBug::all().into_iter().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_has_one_name_and_comes_back_from_it() {
        let all = NodeBug::all();
        for b in &all {
            assert_eq!(NodeBug::from_name(b.name()), Some(*b));
        }
        let mut names: Vec<&str> = all.iter().map(|b| b.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(
            NodeBug::from_name("skip-fsync"),
            Some(NodeBug::Runtime(RuntimeBug::SkipFsync))
        );
        assert_eq!(NodeBug::from_name("no-such-bug"), None);
    }
}

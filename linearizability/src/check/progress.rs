//! What a running check has done so far, shared with another thread: for a progress line,
//! and to stop the search from outside (a memory budget measured by the caller), or from
//! inside (a memory budget it measures itself, see [`Progress::limit_memory`]).
//!
//! The search writes a handful of relaxed atomics: the explored count once every few
//! thousand steps, the deepest prefix only when it grows. Reading never blocks the search.

use super::{Budget, Gauge};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Live counters of one [`check_operations`](crate::check_operations) call, and a way to
/// stop it. Pass one in [`CheckOptions::progress`](crate::CheckOptions::progress) and read
/// it from another thread with [`Progress::snapshot`].
///
/// The counters are approximate while the search runs (they are published every few
/// thousand steps) and exact once the check returns. A `Progress` serves one check: reusing
/// it for another adds to its counts, and a stop request stays in force.
#[derive(Debug, Default)]
pub struct Progress {
    partitions: AtomicUsize,
    finished: AtomicUsize,
    /// The 1-based number, in checking order, of the latest partition begun.
    current: AtomicUsize,
    current_operations: AtomicUsize,
    deepest: AtomicUsize,
    explored: AtomicUsize,
    read: AtomicUsize,
    stop: AtomicU8,
    /// The budget and gauge of [`Progress::limit_memory`].
    memory: OnceLock<(usize, Gauge)>,
    /// Polls so far, to measure memory on every [`MEASURE_EVERY`]th.
    polls: AtomicUsize,
}

/// How many polls pass between measures of memory under [`Progress::limit_memory`]:
/// a measure (reading `/proc` for `check lin`) costs tens of microseconds, a poll comes
/// every millisecond or so.
const MEASURE_EVERY: usize = 4;

/// A reading of a [`Progress`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// How many partitions the history has (0 until the check has split it).
    pub partitions: usize,
    /// The 1-based number of the latest partition the search began, in the order it checks
    /// them (smallest first); 0 before the first.
    pub partition: usize,
    /// How many partitions the search has finished.
    pub finished: usize,
    /// Operations in that partition.
    pub partition_operations: usize,
    /// The longest sequence of that partition's operations the search has linearized so
    /// far: how far into the partition it got.
    pub linearized: usize,
    /// Configurations (set of linearized operations, state) explored, over all partitions.
    pub explored: usize,
    /// The line a reader given this progress (the `_with_progress` readers) has reached,
    /// as it last said: 0 before it starts.
    pub read: usize,
}

const RUNNING: u8 = 0;
const STOP_TIME: u8 = 1;
const STOP_MEMORY: u8 = 2;

impl Progress {
    /// A fresh progress record.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// What the check has done so far.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            partitions: self.partitions.load(Ordering::Relaxed),
            partition: self.current.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
            partition_operations: self.current_operations.load(Ordering::Relaxed),
            linearized: self.deepest.load(Ordering::Relaxed),
            explored: self.explored.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
        }
    }

    /// Asks the check to give up with [`CheckResult::Unknown`](crate::CheckResult::Unknown),
    /// reporting `budget` as the one that ran out. The search notices within a few thousand
    /// steps (about a millisecond), and a reader given this progress within about a
    /// thousand lines, where it ends with a [`ReadError`](crate::ReadError) whose
    /// `stopped` says so. A verdict already reached is kept.
    pub fn stop(&self, budget: Budget) {
        let code = match budget {
            Budget::Time => STOP_TIME,
            Budget::Memory => STOP_MEMORY,
        };
        let _ = self
            .stop
            .compare_exchange(RUNNING, code, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Bounds the process's memory from within: readers and searches given this progress
    /// measure the process with `gauge` every few of their polls (every few milliseconds)
    /// and stop, as if [`Progress::stop`] had been called for [`Budget::Memory`], once it
    /// holds more than `budget` bytes. Unlike a watcher thread that calls `stop`, this does
    /// not depend on another thread being scheduled in time, which on a loaded machine it
    /// may not be. Only the first call counts.
    pub fn limit_memory(&self, budget: usize, gauge: Gauge) {
        let _ = self.memory.set((budget, gauge));
    }

    /// What readers and searches call when they poll: the budget to stop for, if the check
    /// was stopped or (see [`Progress::limit_memory`]) has just been found over its memory
    /// budget.
    pub(crate) fn poll(&self) -> Option<Budget> {
        if let Some(budget) = self.stopped() {
            return Some(budget);
        }
        let &(budget, gauge) = self.memory.get()?;
        if self.polls.fetch_add(1, Ordering::Relaxed) % MEASURE_EVERY != 0 {
            return None;
        }
        if gauge().is_some_and(|held| held > budget) {
            self.stop(Budget::Memory);
            return self.stopped();
        }
        None
    }

    /// The budget a caller stopped the check for, if it did.
    pub fn stopped(&self) -> Option<Budget> {
        match self.stop.load(Ordering::Relaxed) {
            STOP_TIME => Some(Budget::Time),
            STOP_MEMORY => Some(Budget::Memory),
            _ => None,
        }
    }

    /// A reader has reached `line`.
    pub(crate) fn read_to(&self, line: usize) {
        self.read.fetch_max(line, Ordering::Relaxed);
    }

    pub(super) fn set_partitions(&self, n: usize) {
        self.partitions.store(n, Ordering::Relaxed);
    }

    /// Partition number `k` (1-based) of `operations` operations begins.
    pub(super) fn begin(&self, k: usize, operations: usize) {
        // Latest first: with several threads, the line follows the partition begun last,
        // which (smallest first) is the largest running.
        if self.current.fetch_max(k, Ordering::Relaxed) < k {
            self.current_operations.store(operations, Ordering::Relaxed);
            self.deepest.store(0, Ordering::Relaxed);
        }
    }

    /// Partition `k` has linearized `depth` operations in a row, more than before.
    #[inline]
    pub(super) fn deeper(&self, k: usize, depth: usize) {
        if self.current.load(Ordering::Relaxed) == k {
            self.deepest.fetch_max(depth, Ordering::Relaxed);
        }
    }

    /// `n` more configurations were explored.
    #[inline]
    pub(super) fn explored(&self, n: usize) {
        self.explored.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn finish(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over() -> Option<usize> {
        Some(2_000)
    }

    fn under() -> Option<usize> {
        Some(500)
    }

    #[test]
    fn item7_a_memory_limit_is_measured_by_the_polls_themselves() {
        let p = Progress::new();
        p.limit_memory(1_000, under);
        assert!((0..100).all(|_| p.poll().is_none()));
        assert_eq!(p.stopped(), None);
        let p = Progress::new();
        p.limit_memory(1_000, over);
        let polls = (1..=100).find(|_| p.poll().is_some()).expect("stopped");
        assert!(polls <= MEASURE_EVERY, "seen after {polls} polls");
        assert_eq!(p.stopped(), Some(Budget::Memory));
        // A stop for time asked before is kept.
        let p = Progress::new();
        p.stop(Budget::Time);
        p.limit_memory(1_000, over);
        assert_eq!(p.poll(), Some(Budget::Time));
    }
}

//! What the simulator records: every load and store with its call and return times, and
//! every interval in which a core could read or write a line, both on one logical clock.
//!
//! The clock is a shared counter. A core reads it before it issues an operation and after
//! the operation completes, and whenever a line's change of state changes what the core
//! may do with it (read, write, neither), before it sends the messages of that change. A
//! time read after a receive is therefore later than any time read before the send: if
//! core A gives up M and then sends the data that lets core B enter M, A's interval ends
//! before B's begins. Two intervals that overlap on this clock overlapped in real time.

use super::super::core::CacheState;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The shared logical clock.
#[derive(Debug, Default)]
pub struct Clock(AtomicU64);

impl Clock {
    /// A time later than every time read before.
    pub fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// A processor operation as the processor saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// A load, with the value it returned (`None` if it never returned).
    Load(Option<u32>),
    /// A store of a value unique to this store.
    Store(u32),
}

/// One load or store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpRecord {
    /// The issuing core.
    pub core: usize,
    /// The address.
    pub addr: usize,
    /// What it did.
    pub kind: OpKind,
    /// Clock time before it was issued.
    pub call: u64,
    /// Clock time after it completed; `None` if the run stopped first.
    pub ret: Option<u64>,
}

/// An interval in which a core could read a line (S, M, SM^AD, SM^A) or write it (M).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Holding {
    /// The core.
    pub core: usize,
    /// The address.
    pub addr: usize,
    /// Whether this is a write (M) interval; otherwise a read interval, which includes the
    /// time in M too.
    pub writer: bool,
    /// The state the line entered when the interval began.
    pub state: CacheState,
    /// Clock time at which it began.
    pub from: u64,
    /// Clock time at which it ended; `u64::MAX` if the line was still held at the end.
    pub to: u64,
}

impl Holding {
    fn overlaps(&self, other: &Holding) -> bool {
        self.from < other.to && other.from < self.to
    }
}

/// Opens and closes one core's [`Holding`]s as its lines change state.
#[derive(Debug)]
pub(super) struct HoldingLog {
    core: usize,
    /// Per address: the open read interval and the open write interval.
    open: Vec<[Option<(u64, CacheState)>; 2]>,
    pub(super) closed: Vec<Holding>,
}

impl HoldingLog {
    pub(super) fn new(core: usize, addrs: usize) -> Self {
        HoldingLog {
            core,
            open: vec![[None, None]; addrs],
            closed: Vec::new(),
        }
    }

    /// Records that `addr` went from `old` to `new` at a time read from `clock`, if that
    /// changes what the core may do with the line.
    pub(super) fn transition(
        &mut self,
        clock: &Clock,
        addr: usize,
        old: CacheState,
        new: CacheState,
    ) {
        let may = |s: CacheState| [s.readable(), s == CacheState::M];
        let (before, after) = (may(old), may(new));
        if before == after {
            return;
        }
        let now = clock.tick();
        for (kind, (was, is)) in before.into_iter().zip(after).enumerate() {
            match (was, is) {
                (false, true) => self.open[addr][kind] = Some((now, new)),
                (true, false) => {
                    let (from, state) = self.open[addr][kind]
                        .take()
                        .expect("an interval that closes was opened");
                    self.closed.push(Holding {
                        core: self.core,
                        addr,
                        writer: kind == 1,
                        state,
                        from,
                        to: now,
                    });
                }
                _ => {}
            }
        }
    }

    /// Every interval, those still open ending at `u64::MAX`.
    pub(super) fn finish(mut self) -> Vec<Holding> {
        for (addr, open) in self.open.iter().enumerate() {
            for (kind, interval) in open.iter().enumerate() {
                if let Some((from, state)) = *interval {
                    self.closed.push(Holding {
                        core: self.core,
                        addr,
                        writer: kind == 1,
                        state,
                        from,
                        to: u64::MAX,
                    });
                }
            }
        }
        self.closed
    }
}

/// Two intervals that break SWMR: a write interval of one core and a read or write
/// interval of another, on one address, overlapping in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwmrViolation {
    /// The interval that began first.
    pub first: Holding,
    /// The interval that began while `first` was still held.
    pub second: Holding,
}

/// The earliest SWMR violation among `holdings`, if any: a sweep in order of start time
/// that keeps the intervals still open.
pub fn swmr_violation(holdings: &[Holding]) -> Option<SwmrViolation> {
    let mut sorted: Vec<&Holding> = holdings.iter().collect();
    sorted.sort_by_key(|h| (h.from, h.core));
    let addrs = holdings.iter().map(|h| h.addr + 1).max().unwrap_or(0);
    // Per address, the open intervals ordered by end time, soonest first.
    let mut open: Vec<BinaryHeap<Reverse<(u64, usize)>>> = vec![BinaryHeap::new(); addrs];
    for (i, h) in sorted.iter().enumerate() {
        let heap = &mut open[h.addr];
        while heap.peek().is_some_and(|Reverse((to, _))| *to <= h.from) {
            heap.pop();
        }
        let conflict = heap
            .iter()
            .map(|Reverse((_, j))| sorted[*j])
            .find(|other| other.core != h.core && (other.writer || h.writer) && other.overlaps(h));
        if let Some(first) = conflict {
            return Some(SwmrViolation {
                first: *first,
                second: **h,
            });
        }
        heap.push(Reverse((h.to, i)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(core: usize, writer: bool, from: u64, to: u64) -> Holding {
        Holding {
            core,
            addr: 0,
            writer,
            state: if writer { CacheState::M } else { CacheState::S },
            from,
            to,
        }
    }

    #[test]
    fn readers_may_share_and_a_writer_may_follow_them() {
        let h = [
            hold(0, false, 1, 5),
            hold(1, false, 2, 6),
            hold(2, true, 7, 9),
        ];
        assert_eq!(swmr_violation(&h), None);
    }

    #[test]
    fn a_writer_overlapping_another_cores_reader_is_caught() {
        let h = [hold(0, false, 1, 5), hold(1, true, 4, 9)];
        let v = swmr_violation(&h).expect("caught");
        assert_eq!((v.first.core, v.second.core), (0, 1));
    }

    #[test]
    fn a_core_overlapping_itself_is_not_a_violation() {
        let h = [hold(0, false, 1, 9), hold(0, true, 3, 9)];
        assert_eq!(swmr_violation(&h), None);
    }

    #[test]
    fn the_log_closes_an_m_interval_when_the_line_is_downgraded() {
        let clock = Clock::default();
        let mut log = HoldingLog::new(0, 1);
        log.transition(&clock, 0, CacheState::ImA, CacheState::M);
        log.transition(&clock, 0, CacheState::M, CacheState::S);
        log.transition(&clock, 0, CacheState::S, CacheState::I);
        let h = log.finish();
        assert_eq!(h.len(), 2);
        let write = h.iter().find(|h| h.writer).unwrap();
        let read = h.iter().find(|h| !h.writer).unwrap();
        assert_eq!((write.from, write.to), (1, 2));
        assert_eq!((read.from, read.to), (1, 3));
    }
}

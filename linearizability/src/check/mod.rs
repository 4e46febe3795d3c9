//! The search: Wing & Gong's algorithm with Lowe's memoization, one partition at a time,
//! partitions in parallel (P-compositionality, after Horn & Kroening).

mod entries;
mod memo;
mod progress;
mod search;

pub use progress::{Progress, Snapshot};

/// Measures the memory the whole process holds, in bytes (its resident set, say), or
/// `None` where it cannot: how [`CheckOptions::gauge`] and [`Progress::limit_memory`]
/// bound a process rather than the search's own tables. Called every few milliseconds at
/// most, so it may read a file such as `/proc/self/status`.
pub type Gauge = fn() -> Option<usize>;

/// The search's units of work on this thread (steps, and words of bitsets looked at), and
/// its looks at the clock within a partition, counted in this crate's tests only: a test
/// holds them to a multiple of a history's length, where a time limit would be a flaky
/// measure of the same thing.
mod work {
    #[cfg(test)]
    thread_local! {
        static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        static POLLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Counts `n` units (in tests; nothing otherwise).
    #[inline]
    pub(super) fn tally(n: usize) {
        #[cfg(test)]
        WORK.with(|w| w.set(w.get() + n));
        #[cfg(not(test))]
        let _ = n;
    }

    /// Counts one look at the clock and the stop requests from within a partition's search
    /// (in tests; nothing otherwise).
    #[inline]
    pub(super) fn polled() {
        #[cfg(test)]
        POLLS.with(|p| p.set(p.get() + 1));
    }

    /// The units counted on this thread since the last call, which starts a new count.
    #[cfg(test)]
    pub(super) fn take() -> usize {
        WORK.with(|w| w.replace(0))
    }

    /// The looks counted on this thread since the last call, which starts a new count.
    #[cfg(test)]
    pub(super) fn take_polls() -> usize {
        POLLS.with(|p| p.replace(0))
    }
}

use crate::{Model, Operation};
use search::{check_partition, Limits, Outcome};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whether a history is linearizable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Every partition has a linearization.
    Ok,
    /// Some partition has none.
    Illegal,
    /// A budget ran out before the search decided. Not evidence either way.
    Unknown,
}

/// A limit that can stop a search before it decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// [`CheckOptions::timeout`] passed.
    Time,
    /// A partition's memo table would have grown past [`CheckOptions::memory`], or the
    /// caller stopped the check for memory through [`Progress::stop`].
    Memory,
}

/// Limits on a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Give up (with [`CheckResult::Unknown`]) after this long.
    pub timeout: Option<Duration>,
    /// Give up (with [`CheckResult::Unknown`]) before one partition's table of explored
    /// configurations would take more than this many bytes, counting the old table and
    /// its replacement while the table doubles. Without a [`CheckOptions::gauge`] this
    /// bounds the table only: heap memory that states point to is not counted (for the
    /// key-value model it is most of the total), and partitions checked at once each have
    /// their own table. To bound the whole process, give a gauge, and measure it from
    /// another thread between growths and call [`Progress::stop`], as `check lin
    /// --memory` does.
    ///
    /// With or without a budget, a growth of the table that the allocator cannot serve
    /// ends the search with [`Budget::Memory`] instead of aborting the process.
    pub memory: Option<usize>,
    /// Measures the whole process's memory in bytes (its resident set, say), or `None`
    /// where it cannot. With [`CheckOptions::memory`], the search measures before each
    /// growth of a table and refuses the growth (ending with [`Budget::Memory`]) if the
    /// process as measured plus the new block would exceed the budget: a doubling table is
    /// the one allocation large enough to carry the process far past its budget between
    /// two looks from another thread. Called a few dozen times per partition.
    pub gauge: Option<Gauge>,
    /// Threads that check partitions concurrently.
    pub threads: usize,
    /// A counter of the search's progress, for a progress line that another thread reads
    /// while the check runs: the operations of every partition found linearizable, plus,
    /// for each partition being searched, the most operations it has had linearized at
    /// once (looked at every few thousand steps). It only grows, and it ends at the
    /// history's length when the history is linearizable. `None` (the default) counts
    /// nothing.
    pub placed: Option<Arc<AtomicUsize>>,
    /// Where the search reports how far it got, and where another thread may stop it.
    pub progress: Option<Arc<Progress>>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            memory: None,
            gauge: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            placed: None,
            progress: None,
        }
    }
}

/// Why a partition is not linearizable, in indices into the checked history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The operations of the failing partition.
    pub partition: Vec<usize>,
    /// The longest sequence of operations of that partition the search could linearize.
    pub longest_prefix: Vec<usize>,
    /// The operation that could not be placed after that prefix: it returned before the
    /// search found a point for it.
    pub blocked: usize,
    /// The model's state after the longest prefix, as [`Model::describe_state`] shows it.
    pub state: String,
    /// Why `blocked` cannot follow the prefix, in one sentence that starts from the
    /// prefix: "after the 42-operation prefix the state is 1; this read returned 2". The
    /// model refuses the operation in that state, and [`Model::describe_refusal`] says why.
    ///
    /// This explains the deepest point the search reached, not every order it tried:
    /// other orders fail too, each at some operation.
    pub reason: String,
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Linearizable, not, or undecided.
    pub result: CheckResult,
    /// How many partitions the model split the history into.
    pub partitions: usize,
    /// For [`CheckResult::Illegal`]: the smallest failing partition found.
    pub failure: Option<Failure>,
    /// A linearization of each partition the search found linearizable (for
    /// [`CheckResult::Ok`], of every partition), as indices into the history in the order
    /// the operations took effect, longest first. Indeterminate operations that never took
    /// effect are left out. When the result is not `Ok`, partitions the search did not
    /// finish have none.
    pub linearizations: Vec<Vec<usize>>,
    /// For [`CheckResult::Unknown`]: which budget ran out.
    pub exhausted: Option<Budget>,
    /// How many configurations (set of linearized operations, state) the search explored,
    /// over all partitions: the measure of its work.
    pub explored: usize,
}

/// Checks whether `history` is linearizable for `model`.
///
/// # Panics
///
/// If an operation returns before it is called (`ret < call`): such a history has no
/// meaning, and the readers never produce one.
///
/// The verdict does not depend on the number of threads or on timing: a budget can only
/// turn a verdict into [`CheckResult::Unknown`]. Which failing partition is reported when
/// several fail may vary between parallel runs; it is the smallest one that was searched.
pub fn check_operations<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    options: &CheckOptions,
) -> Verdict {
    if let Some((i, op)) = history
        .iter()
        .enumerate()
        .find(|(_, op)| op.ret.is_some_and(|ret| ret < op.call))
    {
        panic!(
            "operation {i} returns at {} before it is called at {}",
            op.ret.unwrap_or_default(),
            op.call
        );
    }
    let cancel = AtomicBool::new(false);
    let limits = Limits {
        deadline: options.timeout.map(|t| Instant::now() + t),
        memory: options.memory,
        gauge: options.gauge,
        cancel: &cancel,
        placed: options.placed.as_deref(),
        progress: options.progress.as_deref(),
    };
    let mut parts = model.partition(history);
    // Number each partition's operations in call order. The search linearizes roughly in
    // call order, and the memo stores the set of linearized operations compactly only
    // while it is close to a prefix of the numbering. A history recorded per process and
    // concatenated would otherwise cost a whole bitset per configuration (3.3 GB instead
    // of 141 MB for the 400,000 operations of `check msi --sim`).
    for part in &mut parts {
        part.sort_by_key(|&i| (history[i].call, i));
    }
    // Small partitions first: a violation in a small one is found (and explained) sooner.
    parts.sort_by_key(|p| p.len());
    if let Some(p) = limits.progress {
        p.set_partitions(parts.len());
    }
    let outcomes = if options.threads <= 1 || parts.len() <= 1 {
        check_in_turn(model, history, &parts, &limits)
    } else {
        check_in_parallel(model, history, &parts, &limits, options.threads)
    };
    let partitions = parts.len();
    let mut failure: Option<Failure> = None;
    let mut exhausted = None;
    let mut linearizations = Vec::with_capacity(partitions);
    let mut decided = 0;
    let mut explored = 0;
    for (outcome, configurations) in outcomes {
        explored += configurations;
        match outcome {
            Outcome::Linearizable(order) => {
                decided += 1;
                linearizations.push(order);
            }
            Outcome::Illegal(f) => {
                if failure
                    .as_ref()
                    .is_none_or(|g| f.partition.len() < g.partition.len())
                {
                    failure = Some(f);
                }
            }
            Outcome::Exhausted(budget) => exhausted = exhausted.or(Some(budget)),
            Outcome::Cancelled => {}
        }
    }
    let result = if failure.is_some() {
        exhausted = None;
        CheckResult::Illegal
    } else if decided < partitions {
        CheckResult::Unknown
    } else {
        CheckResult::Ok
    };
    linearizations.sort_by_key(|l| std::cmp::Reverse(l.len()));
    Verdict {
        result,
        partitions,
        failure,
        linearizations,
        exhausted,
        explored,
    }
}

/// Checks partitions one after another on this thread, until one fails or time runs out.
fn check_in_turn<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    parts: &[Vec<usize>],
    limits: &Limits<'_>,
) -> Vec<(Outcome, usize)> {
    let mut outcomes = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let outcome = check_partition(model, history, part, i + 1, limits);
        let stop = decides_the_rest(&outcome.0);
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    outcomes
}

/// Whether checking more partitions after `outcome` is wasted work: a failure decides the
/// history, and once the time is up every other partition would run out too. A partition
/// that ran out of memory does not stop the rest, since another may still fail.
fn decides_the_rest(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Illegal(_) | Outcome::Exhausted(Budget::Time) | Outcome::Cancelled
    )
}

/// Checks partitions on `threads` threads, each taking the next unchecked partition, until
/// all are checked or one fails.
fn check_in_parallel<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    parts: &[Vec<usize>],
    limits: &Limits<'_>,
    threads: usize,
) -> Vec<(Outcome, usize)> {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(Outcome, usize)>> = Mutex::new(Vec::with_capacity(parts.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.min(parts.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= parts.len() || limits.cancel.load(Ordering::Relaxed) {
                    return;
                }
                let outcome = check_partition(model, history, &parts[i], i + 1, limits);
                if decides_the_rest(&outcome.0) {
                    limits.cancel.store(true, Ordering::Relaxed);
                }
                outcomes.lock().expect("no panics while held").push(outcome);
            });
        }
    });
    outcomes.into_inner().expect("threads joined")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Register, RegisterOp};

    fn op(
        process: u64,
        input: RegisterOp<u8>,
        call: u64,
        ret: Option<u64>,
        output: Option<Option<u8>>,
    ) -> Operation<RegisterOp<u8>, Option<u8>> {
        Operation {
            process,
            input,
            call,
            ret,
            output,
        }
    }

    fn check(history: &[Operation<RegisterOp<u8>, Option<u8>>]) -> Verdict {
        check_operations(&Register { init: 0 }, history, &CheckOptions::default())
    }

    #[test]
    fn an_empty_history_is_linearizable() {
        assert_eq!(check(&[]).result, CheckResult::Ok);
    }

    #[test]
    fn a_read_may_see_a_concurrent_write_either_way() {
        for seen in [0, 1] {
            let h = [
                op(0, RegisterOp::Write(1), 0, Some(10), Some(None)),
                op(1, RegisterOp::Read, 2, Some(3), Some(Some(seen))),
            ];
            assert_eq!(check(&h).result, CheckResult::Ok, "read {seen}");
        }
    }

    #[test]
    fn closed_intervals_overlap_at_equal_times() {
        // The write returns at 5 and the read is called at 5: they may be concurrent, so
        // the read may still see the old value.
        let h = [
            op(0, RegisterOp::Write(1), 0, Some(5), Some(None)),
            op(1, RegisterOp::Read, 5, Some(6), Some(Some(0))),
        ];
        assert_eq!(check(&h).result, CheckResult::Ok);
        let later = [
            op(0, RegisterOp::Write(1), 0, Some(5), Some(None)),
            op(1, RegisterOp::Read, 6, Some(7), Some(Some(0))),
        ];
        assert_eq!(check(&later).result, CheckResult::Illegal);
    }

    #[test]
    fn the_placed_counter_ends_at_the_length_of_a_linearizable_history() {
        // Long enough that the search looks at the counter on the way, not only at the end.
        let h: Vec<_> = (0..20_000u64)
            .map(|i| {
                let (call, ret) = (2 * i, Some(2 * i + 1));
                match i % 2 {
                    0 => op(0, RegisterOp::Write(i as u8), call, ret, Some(None)),
                    _ => op(1, RegisterOp::Read, call, ret, Some(Some((i - 1) as u8))),
                }
            })
            .collect();
        for threads in [1, 2] {
            let placed = Arc::new(AtomicUsize::new(0));
            let options = CheckOptions {
                threads,
                placed: Some(Arc::clone(&placed)),
                ..CheckOptions::default()
            };
            let v = check_operations(&Register { init: 0 }, &h, &options);
            assert_eq!(v.result, CheckResult::Ok);
            assert_eq!(placed.load(Ordering::Relaxed), h.len(), "{threads} threads");
        }
    }

    #[test]
    fn a_stale_read_is_caught_and_explained() {
        let h = [
            op(0, RegisterOp::Write(1), 0, Some(1), Some(None)),
            op(1, RegisterOp::Read, 2, Some(3), Some(Some(0))),
        ];
        let v = check(&h);
        assert_eq!(v.result, CheckResult::Illegal);
        let f = v.failure.unwrap();
        assert_eq!(f.longest_prefix, vec![0]);
        assert_eq!(f.blocked, 1);
        assert_eq!(f.state, "1");
        assert_eq!(
            f.reason,
            "after the 1-operation prefix the state is 1; this read returned 0"
        );
    }

    #[test]
    fn a_failure_at_the_start_names_the_initial_state() {
        let v = check(&[op(1, RegisterOp::Read, 0, Some(1), Some(Some(3)))]);
        let f = v.failure.unwrap();
        assert_eq!(f.reason, "in the initial state 0, this read returned 3");
    }

    /// A kv log shipped in `testdata/porcupine/test_data/kv`, read.
    fn porcupine_kv_log(name: &str) -> Vec<Operation<crate::kv::KvOp, crate::kv::KvOutput>> {
        let path = format!(
            "{}/testdata/porcupine/test_data/kv/{name}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        crate::kv::read_kv_log(name, &text).unwrap()
    }

    #[test]
    fn progress_counts_what_the_verdict_reports_and_a_stop_gives_unknown() {
        use crate::kv::Kv;
        let h = porcupine_kv_log("c10-ok");
        let progress = Arc::new(Progress::new());
        let options = CheckOptions {
            progress: Some(progress.clone()),
            ..CheckOptions::default()
        };
        let v = check_operations(&Kv, &h, &options);
        assert_eq!(v.result, CheckResult::Ok);
        let s = progress.snapshot();
        assert_eq!(s.partitions, v.partitions);
        assert_eq!(s.finished, v.partitions);
        assert_eq!(s.explored, v.explored);
        assert!(s.partition >= 1 && s.partition <= v.partitions, "{s:?}");
        assert!(
            s.linearized >= 1 && s.linearized <= s.partition_operations,
            "{s:?}"
        );

        let stopped = Arc::new(Progress::new());
        stopped.stop(Budget::Memory);
        let options = CheckOptions {
            progress: Some(stopped),
            ..CheckOptions::default()
        };
        let v = check_operations(&crate::Whole(Kv), &h, &options);
        assert_eq!(v.result, CheckResult::Unknown);
        assert_eq!(v.exhausted, Some(Budget::Memory));
    }

    #[test]
    fn partitions_found_linearizable_keep_their_order_when_another_fails() {
        use crate::kv::Kv;
        let h = porcupine_kv_log("c10-bad");
        let options = CheckOptions {
            threads: 1,
            ..CheckOptions::default()
        };
        let v = check_operations(&Kv, &h, &options);
        assert_eq!(v.result, CheckResult::Illegal);
        let f = v.failure.unwrap();
        // Checked one at a time, smallest first: those before the failing one are decided.
        for order in &v.linearizations {
            assert!(order.iter().all(|i| !f.partition.contains(i)));
        }
        assert!(f.reason.contains("this get returned"), "{}", f.reason);
    }

    #[test]
    fn an_indeterminate_write_may_take_effect_late_or_never() {
        // The write never returned: a later read may see it, and another may not have.
        for seen in [0, 1] {
            let h = [
                op(0, RegisterOp::Write(1), 0, None, None),
                op(1, RegisterOp::Read, 10, Some(11), Some(Some(seen))),
            ];
            assert_eq!(check(&h).result, CheckResult::Ok, "read {seen}");
        }
        // But it cannot take effect before it was called.
        let h = [
            op(1, RegisterOp::Read, 0, Some(1), Some(Some(1))),
            op(0, RegisterOp::Write(1), 5, None, None),
        ];
        assert_eq!(check(&h).result, CheckResult::Illegal);
    }

    #[test]
    fn a_timeout_gives_unknown() {
        // Many concurrent writes and a read of a value nobody wrote: the search must try
        // every order before it can say Illegal, which takes far longer than a nanosecond.
        let mut h: Vec<_> = (0..60)
            .map(|i| {
                op(
                    i,
                    RegisterOp::Write((i % 5) as u8 + 1),
                    0,
                    Some(100),
                    Some(None),
                )
            })
            .collect();
        h.push(op(99, RegisterOp::Read, 200, Some(201), Some(Some(9))));
        let options = CheckOptions {
            timeout: Some(Duration::from_nanos(1)),
            // Should the deadline be missed, the search ends anyway, and says why.
            memory: Some(256 << 20),
            threads: 1,
            ..CheckOptions::default()
        };
        let v = check_operations(&Register { init: 0 }, &h, &options);
        assert_eq!(v.result, CheckResult::Unknown);
        assert_eq!(v.exhausted, Some(Budget::Time));
    }

    /// Without the pruning under test these searches would run for hours: fail instead.
    fn check_with_a_time_limit(history: &[Operation<RegisterOp<u8>, Option<u8>>]) -> Verdict {
        let options = CheckOptions {
            timeout: Some(Duration::from_secs(10)),
            ..CheckOptions::default()
        };
        check_operations(&Register { init: 0 }, history, &options)
    }

    #[test]
    fn a_memory_budget_gives_unknown() {
        let mut h: Vec<_> = (0..40)
            .map(|i| {
                op(
                    i,
                    RegisterOp::Write((i % 5) as u8 + 1),
                    0,
                    Some(100),
                    Some(None),
                )
            })
            .collect();
        h.push(op(99, RegisterOp::Read, 200, Some(201), Some(Some(9))));
        let options = CheckOptions {
            memory: Some(64 * 1024),
            ..CheckOptions::default()
        };
        let v = check_operations(&Register { init: 0 }, &h, &options);
        assert_eq!(v.result, CheckResult::Unknown);
        assert_eq!(v.exhausted, Some(Budget::Memory));
    }

    #[test]
    fn concurrent_reads_are_not_tried_in_every_order() {
        // Thirty overlapping reads of the initial value and a late write: 2^30 subsets of
        // reads if every order were tried, a few dozen configurations if a read that can
        // take effect does so at once.
        let mut h: Vec<_> = (0..30)
            .map(|i| op(i, RegisterOp::Read, 0, Some(100), Some(Some(0))))
            .collect();
        h.push(op(99, RegisterOp::Write(1), 0, Some(100), Some(None)));
        h.push(op(98, RegisterOp::Read, 101, Some(102), Some(Some(7))));
        let v = check_with_a_time_limit(&h);
        assert_eq!(v.result, CheckResult::Illegal);
        assert!(v.explored < 1000, "explored {}", v.explored);
    }

    #[test]
    fn an_indeterminate_operation_that_changes_nothing_is_not_tried() {
        // Pending writes of the value already there could take effect anywhere; doing so
        // changes nothing, so the search never has to place them.
        let mut h: Vec<_> = (0..30)
            .map(|i| op(i, RegisterOp::Write(0), 0, None, None))
            .collect();
        h.push(op(98, RegisterOp::Read, 101, Some(102), Some(Some(7))));
        let v = check_with_a_time_limit(&h);
        assert_eq!(v.result, CheckResult::Illegal);
        assert!(v.explored < 1000, "explored {}", v.explored);
    }

    #[test]
    fn a_deadline_is_kept_across_many_small_partitions() {
        use crate::kv::{Kv, KvFn, KvOp, KvOutput};
        use std::sync::Arc;
        // Thousands of keys, each a partition too small to reach the search's own look at
        // the clock: the deadline must still be kept between partitions.
        let mut h = Vec::new();
        for key in 0..20_000u64 {
            let key = Arc::new(crate::edn::Edn::Int(key as i64));
            for v in 0..3 {
                h.push(Operation {
                    process: v,
                    input: KvOp {
                        key: key.clone(),
                        f: KvFn::Append(format!("{v},")),
                    },
                    call: 0,
                    ret: Some(10),
                    output: Some(KvOutput::Done),
                });
            }
            h.push(Operation {
                process: 9,
                input: KvOp { key, f: KvFn::Get },
                call: 11,
                ret: Some(12),
                output: Some(KvOutput::Value("2,1,0,".into())),
            });
        }
        let options = CheckOptions {
            timeout: Some(Duration::from_millis(1)),
            ..CheckOptions::default()
        };
        let v = check_operations(&Kv, &h, &options);
        assert_eq!(v.result, CheckResult::Unknown);
        assert_eq!(v.exhausted, Some(Budget::Time));
    }

    /// A history of `n` operations of one process, one after another: write, read it back,
    /// write the next value, and so on.
    fn sequential(n: u64) -> Vec<Operation<RegisterOp<u8>, Option<u8>>> {
        (0..n)
            .map(|i| {
                let (call, ret) = (2 * i, Some(2 * i + 1));
                let value = (i / 2 % 256) as u8;
                match i % 2 {
                    0 => op(0, RegisterOp::Write(value), call, ret, Some(None)),
                    _ => op(0, RegisterOp::Read, call, ret, Some(Some(value))),
                }
            })
            .collect()
    }

    #[test]
    fn item7_sequential_history_is_linear() {
        // Issue item 7: 400,000 sequential operations took 1.7 s and 2,000,000 did not
        // finish in 20 s, because each step re-scanned the whole set of linearized
        // operations. Sequential is the easiest case there is: each operation is placed
        // once, at a cost that must not grow with the history's length.
        let n = 2_000_000;
        let h = sequential(n);
        let options = CheckOptions {
            threads: 1,
            ..CheckOptions::default()
        };
        work::take();
        let v = check_operations(&Register { init: 0 }, &h, &options);
        let work = work::take();
        assert_eq!(v.result, CheckResult::Ok);
        assert_eq!(v.explored, n as usize);
        assert!(
            work <= 8 * n as usize,
            "{work} units of work for {n} operations"
        );
    }

    #[test]
    fn item7_a_history_that_backtracks_at_every_level_is_linear() {
        // Groups of two overlapping writes and a later read of the first value: the search
        // places the writes in call order, meets the read's return with the wrong value,
        // records how deep it got, and backtracks to the other order. Recording the deepest
        // prefix must not cost its whole length each time, or this is quadratic too.
        let groups = 300_000u64;
        let mut h = Vec::new();
        for g in 0..groups {
            let t = 10 * g;
            let (a, b) = ((2 * g % 251) as u8 + 1, (2 * g % 251) as u8 + 2);
            h.push(op(0, RegisterOp::Write(a), t, Some(t + 3), Some(None)));
            h.push(op(1, RegisterOp::Write(b), t + 1, Some(t + 2), Some(None)));
            h.push(op(2, RegisterOp::Read, t + 4, Some(t + 5), Some(Some(a))));
        }
        let options = CheckOptions {
            threads: 1,
            ..CheckOptions::default()
        };
        work::take();
        let v = check_operations(&Register { init: 0 }, &h, &options);
        let work = work::take();
        assert_eq!(v.result, CheckResult::Ok);
        let n = h.len();
        assert!(work <= 16 * n, "{work} units of work for {n} operations");
    }

    #[test]
    #[should_panic(expected = "returns at 3 before it is called at 5")]
    fn an_operation_that_returns_before_its_call_is_refused() {
        check(&[op(0, RegisterOp::Write(1), 5, Some(3), Some(None))]);
    }
}

//! The search: Wing & Gong's algorithm with Lowe's memoization, one partition at a time,
//! partitions in parallel.

use crate::{Model, Operation};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether a history is linearizable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Every partition has a linearization.
    Ok,
    /// Some partition has none.
    Illegal,
    /// The time budget ran out before the search decided. Not evidence either way.
    Unknown,
}

/// Limits on a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Give up (with [`CheckResult::Unknown`]) after this long.
    pub timeout: Option<Duration>,
    /// Threads that check partitions concurrently.
    pub threads: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
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
    /// For [`CheckResult::Ok`]: a linearization of every partition, as indices into the
    /// history in the order the operations took effect, largest partition first.
    /// Indeterminate operations that never took effect are left out.
    pub linearizations: Vec<Vec<usize>>,
}

/// Checks whether `history` is linearizable for `model`.
pub fn check_operations<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    options: &CheckOptions,
) -> Verdict {
    let deadline = options.timeout.map(|t| Instant::now() + t);
    let mut parts = model.partition(history);
    // Small partitions first: a violation in a small one is found (and explained) sooner.
    parts.sort_by_key(|p| p.len());
    let cancel = AtomicBool::new(false);
    let next = Mutex::new(0usize);
    let outcomes: Mutex<Vec<(usize, PartitionOutcome)>> = Mutex::new(Vec::new());
    let threads = options.threads.clamp(1, parts.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("no panics while held");
                    let i = *n;
                    *n += 1;
                    i
                };
                if i >= parts.len() || cancel.load(Ordering::Relaxed) {
                    return;
                }
                let outcome = check_partition(model, history, &parts[i], deadline, &cancel);
                if matches!(outcome, Err(Some(_))) {
                    cancel.store(true, Ordering::Relaxed);
                }
                outcomes
                    .lock()
                    .expect("no panics while held")
                    .push((i, outcome));
            });
        }
    });
    let mut outcomes = outcomes.into_inner().expect("threads joined");
    outcomes.sort_by_key(|(i, _)| *i);
    let failure = outcomes
        .iter()
        .filter_map(|(_, o)| o.as_ref().err().cloned().flatten())
        .min_by_key(|f| f.partition.len());
    let result = if failure.is_some() {
        CheckResult::Illegal
    } else if outcomes.len() < parts.len() || outcomes.iter().any(|(_, o)| o.is_err()) {
        CheckResult::Unknown
    } else {
        CheckResult::Ok
    };
    let mut linearizations: Vec<Vec<usize>> = match result {
        CheckResult::Ok => outcomes.into_iter().filter_map(|(_, o)| o.ok()).collect(),
        _ => Vec::new(),
    };
    linearizations.sort_by_key(|l| std::cmp::Reverse(l.len()));
    Verdict {
        result,
        partitions: parts.len(),
        failure,
        linearizations,
    }
}

/// `Ok` with a linearization if a partition is linearizable; `Err(Some)` if not; `Err(None)` if the search was
/// cut short by the deadline or because another partition failed.
type PartitionOutcome = Result<Vec<usize>, Option<Failure>>;

/// One entry of the doubly linked list of calls and returns. Index 0 is the head.
struct Entry {
    /// The operation, as an index into the partition.
    op: usize,
    /// For a call, the index of its return entry, if it returned.
    ret: Option<usize>,
    is_call: bool,
    prev: usize,
    next: usize,
}

const NIL: usize = usize::MAX;

/// The list of calls and returns in time order, with lift/unlift to take an operation's
/// two entries out of it and put them back.
struct Entries(Vec<Entry>);

impl Entries {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Entries {
        // (time, 0 for call / 1 for return, op): at equal times calls come first, so that
        // an operation returning at t overlaps one called at t (closed intervals).
        let mut events: Vec<(u64, u8, usize)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, 0, i));
            if let Some(ret) = op.ret {
                events.push((ret, 1, i));
            }
        }
        events.sort_unstable();
        let mut entries = vec![Entry {
            op: usize::MAX,
            ret: None,
            is_call: false,
            prev: NIL,
            next: NIL,
        }];
        let mut call_entry = vec![0; ops.len()];
        for (k, &(_, kind, op)) in events.iter().enumerate() {
            let index = k + 1;
            if kind == 0 {
                call_entry[op] = index;
            } else {
                entries[call_entry[op]].ret = Some(index);
            }
            entries.push(Entry {
                op,
                ret: None,
                is_call: kind == 0,
                prev: index - 1,
                next: NIL,
            });
            entries[index - 1].next = index;
        }
        Entries(entries)
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.0[i].prev, self.0[i].next);
        self.0[prev].next = next;
        if next != NIL {
            self.0[next].prev = prev;
        }
    }

    fn relink(&mut self, i: usize) {
        let (prev, next) = (self.0[i].prev, self.0[i].next);
        self.0[prev].next = i;
        if next != NIL {
            self.0[next].prev = i;
        }
    }

    /// Takes a call and its return out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        if let Some(ret) = self.0[call].ret {
            self.unlink(ret);
        }
    }

    /// Puts back what [`Entries::lift`] took out; lifts are undone in reverse order.
    fn unlift(&mut self, call: usize) {
        if let Some(ret) = self.0[call].ret {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// A set of operations, as bits.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(n: usize) -> Bitset {
        Bitset(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// Checks one partition.
fn check_partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    deadline: Option<Instant>,
    cancel: &AtomicBool,
) -> PartitionOutcome {
    let ops: Vec<&Operation<M::Input, M::Output>> = part.iter().map(|&i| &history[i]).collect();
    let mut entries = Entries::new(&ops);
    // Operations that returned must all be linearized; the others are optional.
    let mut pending_returns = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut state = model.init();
    let mut linearized = Bitset::new(ops.len());
    let mut cache: HashSet<(Bitset, M::State)> = HashSet::new();
    // The calls lifted so far, with the state before each.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut longest: (Vec<usize>, usize) = (Vec::new(), usize::MAX);
    let mut cursor = entries.0[0].next;
    let mut steps: u64 = 0;
    while pending_returns > 0 {
        steps += 1;
        if steps % 4096 == 0
            && (cancel.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d))
        {
            return Err(None);
        }
        let entry = &entries.0[cursor];
        if entry.is_call {
            let op = entry.op;
            let next = entry.next;
            if let Some(after) = model.step(&state, &ops[op].input, ops[op].output.as_ref()) {
                linearized.set(op);
                if cache.insert((linearized.clone(), after.clone())) {
                    stack.push((cursor, std::mem::replace(&mut state, after)));
                    entries.lift(cursor);
                    if ops[op].ret.is_some() {
                        pending_returns -= 1;
                    }
                    cursor = entries.0[0].next;
                    continue;
                }
                linearized.clear(op);
            }
            cursor = next;
        } else {
            // An operation returned that no order so far could place: backtrack.
            if stack.len() >= longest.0.len() {
                let prefix = stack.iter().map(|&(c, _)| part[entries.0[c].op]).collect();
                longest = (prefix, part[entry.op]);
            }
            let Some((call, before)) = stack.pop() else {
                return Err(Some(Failure {
                    partition: part.to_vec(),
                    longest_prefix: longest.0,
                    blocked: longest.1,
                }));
            };
            let op = entries.0[call].op;
            linearized.clear(op);
            state = before;
            entries.unlift(call);
            if ops[op].ret.is_some() {
                pending_returns += 1;
            }
            cursor = entries.0[call].next;
        }
    }
    Ok(stack.iter().map(|&(c, _)| part[entries.0[c].op]).collect())
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
            threads: 1,
        };
        let v = check_operations(&Register { init: 0 }, &h, &options);
        assert_eq!(v.result, CheckResult::Unknown);
    }
}

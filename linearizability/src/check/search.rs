//! Wing & Gong's search over one partition, with Lowe's memoization.
//!
//! The search walks the list of calls and returns. At a call it tries to linearize the
//! operation now: if the model allows it and the resulting configuration is new, it lifts
//! the operation out of the list and starts again from the front. At a return it has met
//! an operation that every order tried so far failed to place, so it backtracks: the last
//! linearized operation goes back into the list and the search moves past it. The history
//! is linearizable once every operation that returned has been linearized; it is not once
//! the search backtracks with nothing left to undo.
//!
//! Two rules skip orders that cannot change the answer: a read-only operation is placed as
//! soon as it is callable and legal (`Next::Reads`), and an indeterminate operation that
//! would change nothing is never placed (`Next::Scan`). The oracle test holds both to
//! brute force.

use super::entries::{Entries, NIL};
use super::memo::{Insert, Linearized, Memo};
use super::{Budget, Failure, Gauge, Progress};
use crate::{Model, Operation};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// How a partition's search ended.
pub(super) enum Outcome {
    /// A linearization, as indices into the history in the order they took effect.
    Linearizable(Vec<usize>),
    /// No linearization exists.
    Illegal(Failure),
    /// A budget ran out first.
    Exhausted(Budget),
    /// Another partition failed or ran out of time, so this one's verdict no longer
    /// matters.
    Cancelled,
}

/// What limits one partition's search, and where it reports how far it got.
pub(super) struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub memory: Option<usize>,
    /// [`super::CheckOptions::gauge`].
    pub gauge: Option<Gauge>,
    pub cancel: &'a AtomicBool,
    /// [`super::CheckOptions::placed`].
    pub placed: Option<&'a AtomicUsize>,
    pub progress: Option<&'a Progress>,
}

impl Limits<'_> {
    /// Whether the search must stop now, and how it ends if so. Called before each
    /// partition and every [`STEPS_BETWEEN_CHECKS`] steps within one.
    fn stop(&self) -> Option<Outcome> {
        if self.cancel.load(Ordering::Relaxed) {
            return Some(Outcome::Cancelled);
        }
        if let Some(budget) = self.progress.and_then(Progress::poll) {
            return Some(Outcome::Exhausted(budget));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Outcome::Exhausted(Budget::Time));
        }
        None
    }
}

/// How many steps pass between looks at the clock and the cancel flag: often enough to
/// stop within a millisecond, rarely enough to cost nothing.
pub(super) const STEPS_BETWEEN_CHECKS: u32 = 1 << 12;

/// Searches for a linearization of `history[part]`, partition number `number` (1-based,
/// for the progress record). Also says how many configurations the search explored.
pub(super) fn check_partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    number: usize,
    limits: &Limits<'_>,
) -> (Outcome, usize) {
    // The step counter starts afresh in every partition, so a history of many small ones
    // would never look at the clock inside the search: look before each.
    if let Some(stop) = limits.stop() {
        return (stop, 0);
    }
    if let Some(p) = limits.progress {
        p.begin(number, part.len());
    }
    let mut memo = Memo::new(limits.memory, limits.gauge);
    // What this partition has added to `limits.placed` so far.
    let mut reported = Reported::default();
    let outcome = search(
        model,
        history,
        part,
        number,
        limits,
        &mut memo,
        &mut reported,
    );
    if let (Outcome::Linearizable(_), Some(placed)) = (&outcome, limits.placed) {
        placed.fetch_add(part.len() - reported.placed, Ordering::Relaxed);
    }
    if let Some(p) = limits.progress {
        p.explored(memo.len() - reported.explored);
        p.finish();
    }
    (outcome, memo.len())
}

/// What the search does next.
enum Next {
    /// It has just reached a new configuration: place a read-only operation first, if one
    /// can be placed.
    Reads,
    /// Try the call at the cursor, or backtrack at a return.
    Scan,
    /// The configuration has failed: undo the last linearized operation.
    Backtrack,
}

/// What a partition's search has already added to the shared counters, so that each
/// report adds only what is new.
#[derive(Default)]
struct Reported {
    /// To [`Limits::placed`]: the most operations linearized at once.
    placed: usize,
    /// To the progress handle: configurations explored.
    explored: usize,
}

/// The search proper. `reported` holds what was already added to the progress
/// record.
fn search<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    number: usize,
    limits: &Limits<'_>,
    memo: &mut Memo<M::State>,
    reported: &mut Reported,
) -> Outcome {
    let ops: Vec<&Operation<M::Input, M::Output>> = part.iter().map(|&i| &history[i]).collect();
    let mut entries = Entries::new(&ops);
    // Operations that returned must all be linearized; the others are optional.
    let mut pending_returns = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut state = model.init();
    let mut linearized = Linearized::new(ops.len());
    // Read-only operations that returned are placed greedily (see `Next::Reads`); the
    // scan passes over them.
    let read_only: Vec<bool> = ops
        .iter()
        .map(|op| op.ret.is_some() && model.is_read_only(&op.input, op.output.as_ref()))
        .collect();
    // The calls lifted so far, with the state before each.
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut deepest: Deepest<M::State> = Deepest::default();
    // The longest run of operations linearized so far, for the progress record.
    let mut depth_max = 0;
    let mut cursor = entries.first();
    let mut next = Next::Reads;
    let mut until_check = STEPS_BETWEEN_CHECKS;
    while pending_returns > 0 {
        super::work::tally(1);
        if stack.len() > depth_max {
            depth_max = stack.len();
            if let Some(p) = limits.progress {
                p.deeper(number, depth_max);
            }
        }
        until_check -= 1;
        if until_check == 0 {
            until_check = STEPS_BETWEEN_CHECKS;
            super::work::polled();
            if let Some(p) = limits.progress {
                p.explored(memo.len() - reported.explored);
                reported.explored = memo.len();
            }
            if let Some(stop) = limits.stop() {
                return stop;
            }
            if let Some(placed) = limits.placed.filter(|_| stack.len() > reported.placed) {
                placed.fetch_add(stack.len() - reported.placed, Ordering::Relaxed);
                reported.placed = stack.len();
            }
        }
        match next {
            // A read-only operation can always take effect at the earliest point where
            // it is both callable and legal: in any order that places it later, moving
            // it there changes no state and breaks no real-time edge (everything that
            // returned before its call is already placed). So the search places such an
            // operation as soon as it can and never tries the orders without it: if
            // every order after it fails, so does the configuration before it. The same
            // holds when the configuration after it was explored (and failed) before.
            Next::Reads => {
                next = Next::Scan;
                cursor = entries.first();
                let mut c = cursor;
                while c != NIL {
                    super::work::tally(1);
                    let entry = entries.get(c);
                    if !entry.is_call {
                        break;
                    }
                    if read_only[entry.op as usize] {
                        let op = &ops[entry.op as usize];
                        if let Some(after) = model.step(&state, &op.input, op.output.as_ref()) {
                            linearized.toggle(entry.op);
                            match memo.insert(&linearized, &after) {
                                Insert::New => {
                                    if !room_for_one(&mut stack) {
                                        return Outcome::Exhausted(Budget::Memory);
                                    }
                                    stack.push((c, std::mem::replace(&mut state, after)));
                                    entries.lift(c);
                                    pending_returns -= 1;
                                    next = Next::Reads;
                                }
                                Insert::Seen => {
                                    linearized.toggle(entry.op);
                                    next = Next::Backtrack;
                                }
                                Insert::OverBudget => return Outcome::Exhausted(Budget::Memory),
                            }
                            break;
                        }
                    }
                    c = entry.next;
                }
            }
            Next::Scan => {
                let entry = entries.get(cursor);
                if !entry.is_call {
                    // An operation returned that no order so far could place.
                    if deepest.at.is_none() || stack.len() >= deepest.prefix.len() {
                        let index = |c: u32| part[entries.get(c).op as usize];
                        deepest.record(&stack, index, part[entry.op as usize], &state);
                    }
                    next = Next::Backtrack;
                    continue;
                }
                let here = cursor;
                cursor = entry.next;
                if read_only[entry.op as usize] {
                    continue;
                }
                let op = &ops[entry.op as usize];
                let Some(after) = model.step(&state, &op.input, op.output.as_ref()) else {
                    continue;
                };
                // An operation that never returned need not take effect at all, so
                // taking effect without changing the state only removes options.
                if entry.ret == NIL && after == state {
                    continue;
                }
                linearized.toggle(entry.op);
                match memo.insert(&linearized, &after) {
                    Insert::New => {
                        if !room_for_one(&mut stack) {
                            return Outcome::Exhausted(Budget::Memory);
                        }
                        stack.push((here, std::mem::replace(&mut state, after)));
                        entries.lift(here);
                        if entry.ret != NIL {
                            pending_returns -= 1;
                        }
                        next = Next::Reads;
                    }
                    Insert::Seen => linearized.toggle(entry.op),
                    Insert::OverBudget => return Outcome::Exhausted(Budget::Memory),
                }
            }
            Next::Backtrack => {
                // Undo operations until one that was not placed greedily: the search
                // then resumes after it, in the configuration before it.
                loop {
                    let Some((call, before)) = stack.pop() else {
                        let Deepest { prefix, at, .. } = deepest;
                        let (blocked, state) =
                            at.expect("a configuration fails at a return before any is undone");
                        return Outcome::Illegal(explain(
                            model, history, part, prefix, blocked, &state,
                        ));
                    };
                    deepest.popped(stack.len());
                    let lifted = entries.get(call);
                    linearized.toggle(lifted.op);
                    state = before;
                    entries.unlift(call);
                    if lifted.ret != NIL {
                        pending_returns += 1;
                    }
                    cursor = lifted.next;
                    if !read_only[lifted.op as usize] {
                        break;
                    }
                }
                next = Next::Scan;
            }
        }
    }
    Outcome::Linearizable(
        stack
            .iter()
            .map(|&(c, _)| part[entries.get(c).op as usize])
            .collect(),
    )
}

/// Whether `v` can take one more element, growing it if needed: a failed growth is
/// `false`, where `push` would abort the process. The search's stack grows as deep as the
/// longest linearization, one state per operation.
#[inline]
fn room_for_one<T>(v: &mut Vec<T>) -> bool {
    v.len() < v.capacity() || v.try_reserve(1).is_ok()
}

/// The deepest point the search reached, for the failure report: the linearized prefix
/// (as indices into the history), the operation whose return it met, and the state after
/// the prefix.
///
/// The search records a new deepest point each time it meets a return at least as deep as
/// the last; copying the whole prefix each time made a history that backtracks once per
/// level quadratic. So the prefix is kept up to date instead: only the entries above the
/// part of the stack it still shares are copied, and each entry the search pushes is
/// copied at most once before it is popped.
struct Deepest<S> {
    prefix: Vec<usize>,
    /// How many of `prefix`'s first entries are still the bottom of the search's stack.
    shared: usize,
    /// The blocked operation and the state after the prefix, once a point is recorded.
    at: Option<(usize, S)>,
}

impl<S> Default for Deepest<S> {
    fn default() -> Self {
        Deepest {
            prefix: Vec::new(),
            shared: 0,
            at: None,
        }
    }
}

impl<S: Clone> Deepest<S> {
    /// The search's stack is now `depth` deep: entries above it are no longer shared.
    #[inline]
    fn popped(&mut self, depth: usize) {
        self.shared = self.shared.min(depth);
    }

    /// Records the point where the search's `stack` (whose calls `index` turns into
    /// history indices) met `blocked`'s return in `state`.
    fn record(
        &mut self,
        stack: &[(u32, S)],
        index: impl Fn(u32) -> usize,
        blocked: usize,
        state: &S,
    ) {
        self.prefix.truncate(self.shared);
        let new = &stack[self.shared..];
        super::work::tally(new.len());
        self.prefix.extend(new.iter().map(|&(c, _)| index(c)));
        self.shared = stack.len();
        self.at = Some((blocked, state.clone()));
    }
}

/// The failure report: the longest prefix, the operation that cannot follow it, the state
/// between them and why.
///
/// At the deepest point the search reached, it met the return of `blocked` after trying
/// every operation it could place next, `blocked` among them. The model refuses `blocked`
/// in the state after the prefix: had it allowed it, the search would have gone one step
/// deeper (or, if that configuration was seen before, had been deeper already from it) and
/// met a return there, which would be the deepest point instead.
fn explain<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    longest_prefix: Vec<usize>,
    blocked: usize,
    state: &M::State,
) -> Failure {
    let op = &history[blocked];
    let output = op.output.as_ref();
    let why = match model.step(state, &op.input, output) {
        None => model.describe_refusal(state, &op.input, output),
        // Not reached (see above); said plainly should that argument ever break.
        Some(_) => format!(
            "{} could take effect then, but no order of the operations left works after it",
            model.describe_operation(&op.input, output)
        ),
    };
    let state = model.describe_state(state);
    let reason = match longest_prefix.len() {
        0 => format!("in the initial state {state}, {why}"),
        n => format!("after the {n}-operation prefix the state is {state}; {why}"),
    };
    Failure {
        partition: part.to_vec(),
        longest_prefix,
        blocked,
        state,
        reason,
    }
}

#[cfg(test)]
mod tests {
    //! The budget path, tested where it is: a search stops when its deadline has passed,
    //! when it is cancelled, and when asked to through its progress record, and it looks
    //! often enough to stop within one poll, and rarely enough to cost nothing. (Issue item
    //! 7: `cargo mutants` found none of this tested.)

    use super::*;
    use crate::models::{Register, RegisterOp};
    use std::sync::LazyLock;
    use std::time::Duration;

    type Op = Operation<RegisterOp<u8>, Option<u8>>;

    /// `n` operations of one process, one after another: write, read it back, and so on.
    /// Each step of its search places one operation, a new configuration each.
    fn sequential(n: u64) -> Vec<Op> {
        (0..n)
            .map(|i| {
                let value = (i / 2 % 256) as u8;
                let (input, output) = match i % 2 {
                    0 => (RegisterOp::Write(value), None),
                    _ => (RegisterOp::Read, Some(value)),
                };
                Operation {
                    process: 0,
                    input,
                    call: 2 * i,
                    ret: Some(2 * i + 1),
                    output: Some(output),
                }
            })
            .collect()
    }

    fn limits(cancel: &AtomicBool) -> Limits<'_> {
        Limits {
            deadline: None,
            memory: None,
            gauge: None,
            cancel,
            placed: None,
            progress: None,
        }
    }

    fn check(h: &[Op], limits: &Limits<'_>) -> (Outcome, usize) {
        let part: Vec<usize> = (0..h.len()).collect();
        check_partition(&Register { init: 0u8 }, h, &part, 1, limits)
    }

    fn is_linearizable(o: &Outcome) -> bool {
        matches!(o, Outcome::Linearizable(_))
    }

    #[test]
    fn item7_a_deadline_that_has_passed_stops_the_search_and_one_to_come_does_not() {
        let h = sequential(10_000);
        let cancel = AtomicBool::new(false);
        let passed = Limits {
            deadline: Some(Instant::now()),
            ..limits(&cancel)
        };
        let (outcome, explored) = check(&h, &passed);
        assert!(matches!(outcome, Outcome::Exhausted(Budget::Time)));
        assert_eq!(explored, 0);
        let to_come = Limits {
            deadline: Some(Instant::now() + Duration::from_secs(3600)),
            ..limits(&cancel)
        };
        let (outcome, explored) = check(&h, &to_come);
        assert!(is_linearizable(&outcome));
        assert_eq!(explored, h.len());
    }

    #[test]
    fn item7_a_cancelled_or_stopped_search_stops() {
        let h = sequential(10_000);
        let cancel = AtomicBool::new(true);
        let (outcome, explored) = check(&h, &limits(&cancel));
        assert!(matches!(outcome, Outcome::Cancelled));
        assert_eq!(explored, 0);
        let cancel = AtomicBool::new(false);
        for budget in [Budget::Time, Budget::Memory] {
            let progress = Progress::new();
            progress.stop(budget);
            let stopped = Limits {
                progress: Some(&progress),
                ..limits(&cancel)
            };
            let (outcome, _) = check(&h, &stopped);
            assert!(matches!(outcome, Outcome::Exhausted(b) if b == budget));
        }
    }

    // What the hook below sees and does: it runs inside the search (the memo asks the
    // gauge before each growth), so it can stop the search at a known depth.
    static HOOKED: LazyLock<Progress> = LazyLock::new(Progress::new);
    static HOOK_CANCEL: AtomicBool = AtomicBool::new(false);
    static HOOK_PLACED: AtomicUsize = AtomicUsize::new(0);
    /// The depth, placed count and published explored count when the hook cancelled.
    static AT_CANCEL: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
    const CANCEL_FROM: usize = 50_000;

    /// A gauge that cancels the search at its first call from depth [`CANCEL_FROM`] on,
    /// noting what the search had published by then.
    fn cancel_at_depth() -> Option<usize> {
        let s = HOOKED.snapshot();
        if s.linearized >= CANCEL_FROM && !HOOK_CANCEL.load(Ordering::Relaxed) {
            AT_CANCEL[0].store(s.linearized, Ordering::Relaxed);
            AT_CANCEL[1].store(HOOK_PLACED.load(Ordering::Relaxed), Ordering::Relaxed);
            AT_CANCEL[2].store(s.explored, Ordering::Relaxed);
            HOOK_CANCEL.store(true, Ordering::Relaxed);
        }
        Some(0)
    }

    #[test]
    fn item7_a_cancel_during_the_search_is_seen_within_one_poll() {
        let h = sequential(300_000);
        let limits = Limits {
            // A budget no growth reaches: it only makes the memo call the gauge.
            memory: Some(usize::MAX),
            gauge: Some(cancel_at_depth),
            placed: Some(&HOOK_PLACED),
            progress: Some(&HOOKED),
            ..limits(&HOOK_CANCEL)
        };
        let (outcome, explored) = check(&h, &limits);
        let [depth, placed, published] = AT_CANCEL.each_ref().map(|a| a.load(Ordering::Relaxed));
        assert!(depth >= CANCEL_FROM, "the hook ran at depth {depth}");
        // Cancelled partway: one configuration per step, at most one poll interval of
        // steps after the cancel.
        assert!(matches!(outcome, Outcome::Cancelled), "ran to the end");
        let window = STEPS_BETWEEN_CHECKS as usize;
        assert!(
            explored > depth && explored <= depth + window,
            "cancelled at depth {depth}, stopped after {explored} configurations"
        );
        // What the search had published by then lags by at most one poll interval.
        assert!(
            placed <= depth && placed + window >= depth,
            "{placed} placed at depth {depth}"
        );
        assert!(
            published <= depth && published + window >= depth,
            "{published} published as explored at depth {depth}"
        );
    }

    #[test]
    fn item7_the_search_looks_once_per_thousands_of_steps_and_counts_exactly() {
        let n = 100_000;
        let h = sequential(n as u64);
        let cancel = AtomicBool::new(false);
        let progress = Progress::new();
        let placed = AtomicUsize::new(0);
        let watched = Limits {
            progress: Some(&progress),
            placed: Some(&placed),
            ..limits(&cancel)
        };
        super::super::work::take_polls();
        let (outcome, explored) = check(&h, &watched);
        let polls = super::super::work::take_polls();
        assert!(is_linearizable(&outcome));
        // Every STEPS_BETWEEN_CHECKS steps, between one and two per operation here: about
        // 25 to 50 looks, not one per step, nor none.
        let steps_per_poll = STEPS_BETWEEN_CHECKS as usize;
        assert!(
            polls >= n / steps_per_poll && polls <= 2 * n / steps_per_poll + 1,
            "{polls} polls for {n} operations"
        );
        // The counts published along the way add up to the final ones.
        assert_eq!(explored, n);
        assert_eq!(progress.snapshot().explored, explored);
        assert_eq!(placed.load(Ordering::Relaxed), n);
    }

    #[test]
    fn item7_the_stack_says_when_it_cannot_grow_instead_of_aborting() {
        // Elements so large that the allocator cannot give room for one: each would take
        // nearly the whole address space.
        let mut huge: Vec<[u8; (1 << 47) - 4096]> = Vec::new();
        assert!(!room_for_one(&mut huge));
        let mut small: Vec<u8> = Vec::new();
        assert!(room_for_one(&mut small));
        assert!(small.capacity() > 0);
    }

    #[test]
    fn item7_the_failure_report_is_the_deepest_point_not_the_first() {
        // Two overlapping writes, then reads of 1 and of 9. The search first places the
        // writes in call order (the register holds 2), meets the read of 1 at depth 2 and
        // backtracks; in the other order it places the read of 1 too, and fails deeper, at
        // the read of 9 after three operations: that is the point to report, with the
        // prefix in the order the search placed it.
        let op = |input, call, ret, output| Operation {
            process: call,
            input,
            call,
            ret: Some(ret),
            output: Some(output),
        };
        let h = [
            op(RegisterOp::Write(1), 0, 10, None),
            op(RegisterOp::Write(2), 1, 11, None),
            op(RegisterOp::Read, 12, 13, Some(1)),
            op(RegisterOp::Read, 14, 15, Some(9)),
        ];
        let cancel = AtomicBool::new(false);
        let (outcome, _) = check(&h, &limits(&cancel));
        let Outcome::Illegal(f) = outcome else {
            panic!("not illegal")
        };
        assert_eq!(f.longest_prefix, vec![1, 0, 2]);
        assert_eq!(f.blocked, 3);
    }
}

//! Wing & Gong's search over one partition, with Lowe's memoization.
//!
//! The search walks the list of calls and returns. At a call it tries to linearize the
//! operation now: if the model allows it and the resulting configuration is new, it lifts
//! the operation out of the list and starts again from the front. At a return it has met
//! an operation that every order tried so far failed to place, so it backtracks: the last
//! linearized operation goes back into the list and the search moves past it. The history
//! is linearizable once every operation that returned has been linearized; it is not once
//! the search backtracks with nothing left to undo.

use super::entries::{Entries, NIL};
use super::memo::{Insert, Linearized, Memo};
use super::{Budget, Failure};
use crate::{Model, Operation};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How a partition's search ended.
pub(super) enum Outcome {
    /// A linearization, as indices into the history in the order they took effect.
    Linearizable(Vec<usize>),
    /// No linearization exists.
    Illegal(Failure),
    /// A budget ran out first.
    Exhausted(Budget),
    /// Another partition failed, so this one's verdict no longer matters.
    Cancelled,
}

/// What limits one partition's search.
pub(super) struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub memory: Option<usize>,
    pub cancel: &'a AtomicBool,
}

/// How many steps pass between looks at the clock and the cancel flag: often enough to
/// stop within a millisecond, rarely enough to cost nothing.
const STEPS_BETWEEN_CHECKS: u32 = 1 << 12;

/// Searches for a linearization of `history[part]`. Also says how many configurations the
/// search explored.
pub(super) fn check_partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    limits: &Limits<'_>,
) -> (Outcome, usize) {
    let mut memo = Memo::new(limits.memory);
    let outcome = search(model, history, part, limits, &mut memo);
    (outcome, memo.len())
}

fn search<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    part: &[usize],
    limits: &Limits<'_>,
    memo: &mut Memo<M::State>,
) -> Outcome {
    let ops: Vec<&Operation<M::Input, M::Output>> = part.iter().map(|&i| &history[i]).collect();
    let mut entries = Entries::new(&ops);
    // Operations that returned must all be linearized; the others are optional.
    let mut pending_returns = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut state = model.init();
    let mut linearized = Linearized::new(ops.len());
    let read_only: Vec<bool> = ops
        .iter()
        .map(|op| op.ret.is_some() && model.is_read_only(&op.input, op.output.as_ref()))
        .collect();
    // The calls lifted so far, with the state before each and whether the call was a
    // read-only operation that returned.
    let mut stack: Vec<(u32, M::State, bool)> = Vec::new();
    // The deepest point the search reached, for the report: (prefix length, prefix,
    // blocked operation).
    let mut deepest: Option<(Vec<usize>, usize)> = None;
    let mut cursor = entries.first();
    let mut until_check = STEPS_BETWEEN_CHECKS;
    while pending_returns > 0 {
        until_check -= 1;
        if until_check == 0 {
            until_check = STEPS_BETWEEN_CHECKS;
            if limits.cancel.load(Ordering::Relaxed) {
                return Outcome::Cancelled;
            }
            if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                return Outcome::Exhausted(Budget::Time);
            }
        }
        let entry = entries.get(cursor);
        if entry.is_call {
            let op = &ops[entry.op as usize];
            let after = model
                .step(&state, &op.input, op.output.as_ref())
                // An operation that never returned need not take effect at all, so taking
                // effect without changing the state only removes options: skip it.
                .filter(|after| entry.ret != NIL || *after != state);
            if let Some(after) = after {
                linearized.toggle(entry.op);
                match memo.insert(&linearized, &after) {
                    Insert::New => {
                        let read_only = read_only[entry.op as usize];
                        stack.push((cursor, std::mem::replace(&mut state, after), read_only));
                        entries.lift(cursor);
                        if entry.ret != NIL {
                            pending_returns -= 1;
                        }
                        cursor = entries.first();
                        continue;
                    }
                    Insert::Seen => linearized.toggle(entry.op),
                    Insert::OverBudget => return Outcome::Exhausted(Budget::Memory),
                }
            }
            cursor = entry.next;
        } else {
            // An operation returned that no order so far could place: backtrack.
            if deepest
                .as_ref()
                .is_none_or(|(prefix, _)| stack.len() >= prefix.len())
            {
                let prefix = stack
                    .iter()
                    .map(|&(c, _, _)| part[entries.get(c).op as usize])
                    .collect();
                deepest = Some((prefix, part[entry.op as usize]));
            }
            // A read-only operation can always take effect at the earliest point it is
            // both callable and legal, which is where the search put it: in any order
            // that places it later, moving it there changes no state and breaks no
            // real-time edge (everything that returned before its call is already
            // placed). So when every order after it fails, so does every order from the
            // configuration before it, and the search backtracks past it at once.
            loop {
                let Some((call, before, unchanged)) = stack.pop() else {
                    let (longest_prefix, blocked) = deepest.expect("recorded just above");
                    return Outcome::Illegal(Failure {
                        partition: part.to_vec(),
                        longest_prefix,
                        blocked,
                    });
                };
                let lifted = entries.get(call);
                linearized.toggle(lifted.op);
                state = before;
                entries.unlift(call);
                if lifted.ret != NIL {
                    pending_returns += 1;
                }
                cursor = lifted.next;
                if !unchanged {
                    break;
                }
            }
        }
    }
    Outcome::Linearizable(
        stack
            .iter()
            .map(|&(c, _, _)| part[entries.get(c).op as usize])
            .collect(),
    )
}

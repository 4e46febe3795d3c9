//! The doubly linked list of calls and returns that Wing & Gong's search walks.
//!
//! Linearizing an operation lifts its call and return out of the list; backtracking puts
//! them back. Lifts are undone in reverse order, so an entry's own links still say where
//! it was, and relinking is O(1) (Knuth's dancing links).

use crate::Operation;

/// The index of the head sentinel: its `next` is the first entry still in the list.
pub(super) const HEAD: u32 = 0;
/// The end of the list.
pub(super) const NIL: u32 = u32::MAX;

/// One call or return. Kept small and flat: the search reads these in its inner loop.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    /// The operation, as an index into the partition.
    pub op: u32,
    /// For a call, its return entry, or [`NIL`] if the operation never returned. For a
    /// return, [`NIL`].
    pub ret: u32,
    pub is_call: bool,
    pub prev: u32,
    pub next: u32,
}

/// The calls and returns of one partition in time order.
pub(super) struct Entries(Vec<Entry>);

impl Entries {
    /// Orders the calls and returns of `ops` by time. At equal times calls come first, so
    /// that an operation returning at `t` overlaps one called at `t`: intervals are closed.
    pub fn new<I, O>(ops: &[&Operation<I, O>]) -> Entries {
        let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            let i = u32::try_from(i).expect("a partition has fewer than 2^32 operations");
            events.push((op.call, false, i));
            if let Some(ret) = op.ret {
                events.push((ret, true, i));
            }
        }
        events.sort_unstable();
        let mut entries = Vec::with_capacity(events.len() + 1);
        entries.push(Entry {
            op: NIL,
            ret: NIL,
            is_call: false,
            prev: NIL,
            next: NIL,
        });
        let mut call_entry = vec![HEAD; ops.len()];
        for (k, &(_, is_return, op)) in events.iter().enumerate() {
            let index = k as u32 + 1;
            if is_return {
                entries[call_entry[op as usize] as usize].ret = index;
            } else {
                call_entry[op as usize] = index;
            }
            entries.push(Entry {
                op,
                ret: NIL,
                is_call: !is_return,
                prev: index - 1,
                next: NIL,
            });
            entries[index as usize - 1].next = index;
        }
        Entries(entries)
    }

    /// The entry at `index`.
    #[inline]
    pub fn get(&self, index: u32) -> Entry {
        self.0[index as usize]
    }

    /// The first entry still in the list, or [`NIL`].
    #[inline]
    pub fn first(&self) -> u32 {
        self.0[HEAD as usize].next
    }

    fn unlink(&mut self, i: u32) {
        let Entry { prev, next, .. } = self.0[i as usize];
        self.0[prev as usize].next = next;
        if next != NIL {
            self.0[next as usize].prev = prev;
        }
    }

    fn relink(&mut self, i: u32) {
        let Entry { prev, next, .. } = self.0[i as usize];
        self.0[prev as usize].next = i;
        if next != NIL {
            self.0[next as usize].prev = i;
        }
    }

    /// Takes a call and its return out of the list.
    pub fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.0[call as usize].ret;
        if ret != NIL {
            self.unlink(ret);
        }
    }

    /// Puts back what [`Entries::lift`] took out. Lifts must be undone in reverse order.
    pub fn unlift(&mut self, call: u32) {
        let ret = self.0[call as usize].ret;
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call: u64, ret: Option<u64>) -> Operation<(), ()> {
        Operation {
            process: 0,
            input: (),
            call,
            ret,
            output: ret.map(|_| ()),
        }
    }

    fn walk(entries: &Entries) -> Vec<(u32, bool)> {
        let mut out = Vec::new();
        let mut i = entries.first();
        while i != NIL {
            let e = entries.get(i);
            out.push((e.op, e.is_call));
            i = e.next;
        }
        out
    }

    #[test]
    fn calls_come_before_returns_at_equal_times() {
        let ops = [op(0, Some(5)), op(5, Some(6))];
        let refs: Vec<_> = ops.iter().collect();
        let entries = Entries::new(&refs);
        assert_eq!(
            walk(&entries),
            vec![(0, true), (1, true), (0, false), (1, false)]
        );
    }

    #[test]
    fn unlift_restores_what_lift_removed() {
        let ops = [op(0, Some(3)), op(1, None), op(2, Some(4))];
        let refs: Vec<_> = ops.iter().collect();
        let mut entries = Entries::new(&refs);
        let before = walk(&entries);
        let first = entries.first();
        entries.lift(first);
        let second = entries.first();
        entries.lift(second);
        assert_eq!(walk(&entries), vec![(2, true), (2, false)]);
        entries.unlift(second);
        entries.unlift(first);
        assert_eq!(walk(&entries), before);
    }
}

//! Lowe's memoization: the configurations (set of linearized operations, state) the search
//! has already explored, so it never explores one twice.
//!
//! The set of linearized operations is a bitset with an incrementally kept Zobrist hash:
//! linearizing or un-linearizing an operation XORs its random key in, so hashing a
//! configuration costs one state hash, not a pass over the bits. A hash only picks a
//! bucket; every hit is confirmed by comparing the bits and the state in full, so a hash
//! collision can never prune a configuration that was not explored.
//!
//! Stored bitsets are compressed. The search linearizes operations roughly in call order,
//! so a bitset is mostly whole words of ones, then a few mixed words, then zeros. It is
//! stored as its last non-zero word's index and value, then every earlier word that is not
//! all ones, with its index: a handful of words where the plain bitset has one per 64
//! operations. A 200 000-operation history would otherwise need 25 KB per configuration.

use super::Gauge;
use hashbrown::HashTable;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hash};

/// The set of operations linearized so far, with its Zobrist hash.
///
/// Over more than [`SCANNED_WORDS`] words, it also keeps which words are not all ones and
/// which are not all zeros, so that [`Linearized::encode`] costs the size of what it
/// writes, not a pass over every word: scanning every word made each step cost O(n / 64),
/// and a sequential history of 2,000,000 operations undecidable in 20 s. A word changes
/// between those kinds only at the first and last bit of its 64, so keeping the sets
/// costs little; over fewer words, a scan costs less still.
pub(super) struct Linearized {
    words: Vec<u64>,
    keys: Vec<u64>,
    hash: u64,
    /// The kinds of words, over more than [`SCANNED_WORDS`] words.
    kinds: Option<Box<WordKinds>>,
}

/// Up to how many words [`Linearized::encode`] scans them all: a bounded cost, and the
/// size of every history the hard searches are measured on (`kv/c50-ok.txt` whole is 27
/// words).
const SCANNED_WORDS: usize = 64;

/// Which words of a [`Linearized`] are not all ones, and which are not all zeros.
struct WordKinds {
    not_full: BTreeSet<u32>,
    not_empty: BTreeSet<u32>,
}

impl Linearized {
    /// The empty set over `n` operations.
    pub fn new(n: usize) -> Linearized {
        let words = n.div_ceil(64);
        let indices = u32::try_from(words).expect("a partition has fewer than 2^32 operations");
        Linearized {
            words: vec![0; words],
            keys: (0..n as u64).map(zobrist_key).collect(),
            hash: 0,
            kinds: (words > SCANNED_WORDS).then(|| {
                Box::new(WordKinds {
                    not_full: (0..indices).collect(),
                    not_empty: BTreeSet::new(),
                })
            }),
        }
    }

    /// Adds `op` if absent, removes it if present.
    #[inline]
    pub fn toggle(&mut self, op: u32) {
        let (index, op) = (op / 64, op as usize);
        let word = &mut self.words[index as usize];
        let before = *word;
        *word ^= 1 << (op % 64);
        let after = *word;
        self.hash ^= self.keys[op];
        if let Some(kinds) = &mut self.kinds {
            if before == u64::MAX {
                kinds.not_full.insert(index);
            } else if after == u64::MAX {
                kinds.not_full.remove(&index);
            }
            if before == 0 {
                kinds.not_empty.insert(index);
            } else if after == 0 {
                kinds.not_empty.remove(&index);
            }
        }
    }

    /// Writes the compressed form described in the module docs into `out`.
    fn encode(&self, out: &mut Vec<u64>) {
        out.clear();
        let Some(kinds) = &self.kinds else {
            super::work::tally(self.words.len());
            let Some(last) = self.words.iter().rposition(|&w| w != 0) else {
                return;
            };
            out.push(last as u64);
            out.push(self.words[last]);
            for (i, &w) in self.words[..last].iter().enumerate() {
                if w != u64::MAX {
                    out.push(i as u64);
                    out.push(w);
                }
            }
            return;
        };
        super::work::tally(1);
        let Some(&last) = kinds.not_empty.last() else {
            return;
        };
        out.push(u64::from(last));
        out.push(self.words[last as usize]);
        for &i in kinds.not_full.range(..last) {
            super::work::tally(1);
            out.push(u64::from(i));
            out.push(self.words[i as usize]);
        }
    }
}

/// A fixed, well-mixed random key per operation (SplitMix64), so runs are reproducible.
fn zobrist_key(op: u64) -> u64 {
    let mut z = op.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One explored configuration: where its compressed bitset lies in the arena, and its state.
struct Slot<S> {
    hash: u64,
    start: usize,
    len: u32,
    state: S,
}

/// What [`Memo::insert`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Insert {
    /// The configuration is new, and now recorded.
    New,
    /// The configuration was explored before.
    Seen,
    /// Recording it would need more memory than the budget allows, or than the system
    /// would give; nothing was recorded.
    OverBudget,
}

/// The explored configurations.
pub(super) struct Memo<S> {
    table: HashTable<Slot<S>>,
    arena: Vec<u64>,
    scratch: Vec<u64>,
    hasher: foldhash::fast::FixedState,
    budget: Option<usize>,
    gauge: Option<Gauge>,
}

impl<S: Clone + Eq + Hash> Memo<S> {
    /// An empty memo that stops recording before its tables would take more than `budget`
    /// bytes, counting a table and its replacement while one is copied into the other
    /// (the heap memory that states point to is not counted). With a `gauge`, it also
    /// stops before a growth would take the process, as measured, past `budget`.
    pub fn new(budget: Option<usize>, gauge: Option<Gauge>) -> Memo<S> {
        Memo {
            table: HashTable::new(),
            arena: Vec::new(),
            scratch: Vec::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x6c69_6e65_6172_697a),
            budget,
            gauge,
        }
    }

    /// Records (`linearized`, `state`) unless it was recorded before. Clones `state` only
    /// when the configuration is new. Never aborts the process for memory: a growth the
    /// budget refuses, or the allocator cannot serve, is [`Insert::OverBudget`].
    pub fn insert(&mut self, linearized: &Linearized, state: &S) -> Insert {
        let hash = linearized.hash ^ self.hasher.hash_one(state);
        linearized.encode(&mut self.scratch);
        let (arena, scratch) = (&self.arena, &self.scratch);
        let found = self.table.find(hash, |slot| {
            slot.hash == hash
                && &arena[slot.start..slot.start + slot.len as usize] == scratch.as_slice()
                && slot.state == *state
        });
        if found.is_some() {
            return Insert::Seen;
        }
        if self.make_room().is_none() {
            return Insert::OverBudget;
        }
        // Room was made: neither line below allocates.
        let start = self.arena.len();
        self.arena.extend_from_slice(&self.scratch);
        self.table.insert_unique(
            hash,
            Slot {
                hash,
                start,
                len: self.scratch.len() as u32,
                state: state.clone(),
            },
            |slot| slot.hash,
        );
        Insert::New
    }

    /// How many configurations are recorded.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Grows the table and the arena, where full, to hold one more configuration of
    /// `scratch`'s size; `None` if the budget refuses a growth or the allocator fails it.
    ///
    /// These are the process's largest allocations (gigabytes in a long search), made
    /// here rather than inside `insert_unique` and `extend_from_slice` so that a growth
    /// is weighed before it happens, and so that a failed one ends the search with
    /// "unknown" instead of aborting it as an infallible allocation would.
    fn make_room(&mut self) -> Option<()> {
        if self.table.len() == self.table.capacity() {
            // hashbrown doubles its buckets (at least 4), and each bucket has a control
            // byte; it frees the old table only after moving every slot into the new one.
            let buckets = (self.table.num_buckets() * 2).max(4);
            self.admit(buckets * (std::mem::size_of::<Slot<S>>() + 1))?;
            self.table.try_reserve(1, |slot| slot.hash).ok()?;
        }
        let needed = self.arena.len() + self.scratch.len();
        if needed > self.arena.capacity() {
            let words = needed.max(self.arena.capacity() * 2).max(64);
            self.admit(words * 8)?;
            self.arena
                .try_reserve_exact(words - self.arena.len())
                .ok()?;
        }
        Some(())
    }

    /// Whether a new block of `bytes` fits the budget next to what is held now: the
    /// tables themselves, or, if the gauge says more, the whole process.
    fn admit(&self, bytes: usize) -> Option<()> {
        let Some(budget) = self.budget else {
            return Some(());
        };
        let own = self.table.allocation_size() + self.arena.capacity() * 8;
        let held = self.gauge.and_then(|g| g()).unwrap_or(0).max(own);
        (held.saturating_add(bytes) <= budget).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_configuration_is_new_once() {
        let mut memo = Memo::new(None, None);
        let mut lin = Linearized::new(200);
        assert_eq!(memo.insert(&lin, &0u8), Insert::New);
        assert_eq!(memo.insert(&lin, &0u8), Insert::Seen);
        assert_eq!(memo.insert(&lin, &1u8), Insert::New);
        lin.toggle(130);
        assert_eq!(memo.insert(&lin, &0u8), Insert::New);
        lin.toggle(130);
        assert_eq!(memo.insert(&lin, &0u8), Insert::Seen);
    }

    #[test]
    fn the_compressed_form_tells_every_bitset_apart() {
        // Every subset of a few operations spread over several words, including whole
        // words of ones, gets its own entry.
        let ops = [0u32, 1, 63, 64, 127, 128, 200];
        let mut memo = Memo::new(None, None);
        let mut lin = Linearized::new(256);
        for mask in 0u32..(1 << ops.len()) {
            for (i, &op) in ops.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    lin.toggle(op);
                }
            }
            assert_eq!(memo.insert(&lin, &()), Insert::New, "mask {mask:b}");
            for (i, &op) in ops.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    lin.toggle(op);
                }
            }
        }
        // And whole words of ones against the same bits with one missing.
        let mut full = Linearized::new(128);
        (0..128).for_each(|op| full.toggle(op));
        assert_eq!(memo.insert(&full, &()), Insert::New);
        full.toggle(5);
        assert_eq!(memo.insert(&full, &()), Insert::New);
    }

    /// The compressed form as a scan of every word writes it: the definition `encode`
    /// must keep to.
    fn encode_by_scanning(words: &[u64]) -> Vec<u64> {
        let Some(last) = words.iter().rposition(|&w| w != 0) else {
            return Vec::new();
        };
        let mut out = vec![last as u64, words[last]];
        for (i, &w) in words[..last].iter().enumerate() {
            if w != u64::MAX {
                out.extend([i as u64, w]);
            }
        }
        out
    }

    #[test]
    fn the_kept_word_sets_encode_as_a_scan_would() {
        // Toggles in a pseudo-random order, biased to fill and empty whole words, so that
        // words pass through all-zeros and all-ones both ways; over few words (scanned)
        // and many (kept in sets).
        for words in [5, SCANNED_WORDS + 6] {
            let n = 64 * words as u32;
            let mut lin = Linearized::new(n as usize);
            assert_eq!(lin.kinds.is_some(), words > SCANNED_WORDS);
            let mut out = Vec::new();
            let mut x = 0x2545_f491_4f6c_dd1du64;
            for step in 0..6 * n as usize {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let op = if step % 3 == 0 {
                    (x % u64::from(n)) as u32
                } else {
                    // Sweep whole words in order, on and off.
                    (step / 3 % n as usize) as u32
                };
                lin.toggle(op);
                lin.encode(&mut out);
                assert_eq!(out, encode_by_scanning(&lin.words), "after toggling {op}");
            }
        }
    }

    #[test]
    fn item7_a_growth_the_allocator_cannot_serve_is_refused_not_an_abort() {
        // States so large that no table of them can be allocated (four of them would not
        // fit in the address space): the first growth fails, and the memo says so where
        // `insert_unique` would have aborted the process.
        type Huge = [u8; (1 << 47) - 4096];
        let mut memo: Memo<Huge> = Memo::new(None, None);
        assert_eq!(memo.make_room(), None);
        assert_eq!(memo.len(), 0);
    }

    #[test]
    fn equal_hashes_with_different_bits_are_told_apart() {
        // Force a Zobrist collision: two sets whose keys XOR to the same hash.
        let mut a = Linearized::new(2);
        let mut b = Linearized::new(2);
        a.toggle(0);
        b.toggle(1);
        b.hash = a.hash;
        let mut memo = Memo::new(None, None);
        assert_eq!(memo.insert(&a, &()), Insert::New);
        assert_eq!(memo.insert(&b, &()), Insert::New);
    }

    /// Inserts distinct configurations until the memo refuses one; how many it took.
    fn fill(memo: &mut Memo<u64>) -> u64 {
        let lin = Linearized::new(1);
        for s in 0u64..1_000_000 {
            if memo.insert(&lin, &s) != Insert::New {
                return s;
            }
        }
        panic!("a million configurations fit");
    }

    #[test]
    fn a_budget_stops_recording_before_a_growth_would_pass_it() {
        for budget in [4096, 100_000, 1 << 20] {
            let mut memo = Memo::new(Some(budget), None);
            let recorded = fill(&mut memo);
            assert!(recorded > 0);
            let own = memo.table.allocation_size() + memo.arena.capacity() * 8;
            assert!(own <= budget, "{own} bytes held under a budget of {budget}");
            // The growth refused would have held the old table and the new one at once:
            // more than the budget, though the new one alone might fit.
            let next = memo.table.num_buckets() * 2 * (std::mem::size_of::<Slot<u64>>() + 1);
            assert!(own + next > budget, "{own} + {next} fits {budget}");
        }
    }

    static GAUGED: AtomicUsize = AtomicUsize::new(0);

    fn gauge() -> Option<usize> {
        Some(GAUGED.load(Ordering::Relaxed))
    }

    #[test]
    fn a_gauge_counts_the_rest_of_the_process() {
        // With the process measured at 900 KB, a 1 MB budget leaves room for about
        // 100 KB of tables; without the gauge, for about a megabyte.
        GAUGED.store(900_000, Ordering::Relaxed);
        let gauged = fill(&mut Memo::new(Some(1_000_000), Some(gauge)));
        let alone = fill(&mut Memo::new(Some(1_000_000), None));
        assert!(gauged > 0 && gauged * 4 <= alone, "{gauged} vs {alone}");
        // A process measured over the budget records nothing more.
        GAUGED.store(2_000_000, Ordering::Relaxed);
        assert_eq!(fill(&mut Memo::new(Some(1_000_000), Some(gauge))), 0);
    }
}

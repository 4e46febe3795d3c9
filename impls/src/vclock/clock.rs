//! Vector clocks (Fidge 1988, Mattern 1988): one counter per process, sparse, so that a
//! clock holds only the processes it has heard of.
//!
//! A clock names the events it has seen: entry `i` is how many events of process `i` are
//! in the causal past of the event it stamps, that event included. Comparing two clocks
//! entry by entry is then comparing causal pasts, which is why `a < b` exactly when `a`'s
//! event happened before `b`'s (checked exhaustively by `check vclock`).
//!
//! Each entry may carry the time it was last incremented, as Riak's clocks do. The time is
//! data the caller passes in (this module reads no clock); it takes no part in comparing,
//! equality or hashing, and serves only [`VectorClock::prune`].

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

/// How two clocks, and so the events they stamp, are related.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Causality {
    /// The first happened before the second: every entry `<=`, one `<`.
    Before,
    /// The second happened before the first.
    After,
    /// The same clock: the same event, or an event compared with itself.
    Equal,
    /// Neither saw the other: some entry is larger on each side.
    Concurrent,
}

/// One process's entry: its counter and, optionally, when it was last incremented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    counter: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<u64>,
}

/// A vector clock over processes named by `A`. An absent entry is a zero counter, so
/// `{}` and `{a: 0}` are the same clock; entries are kept only when positive.
///
/// Guarantees: [`VectorClock::compare`] is the causal order of the stamped events when the
/// clocks are kept by the rules (increment before a local event or a send; merge, then
/// increment, on a receive); [`VectorClock::merge`] is the least upper bound; equality and
/// hashing see counters only.
#[derive(Clone, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "A: Serialize + Ord + Clone",
        deserialize = "A: Deserialize<'de> + Ord + Clone"
    ),
    into = "Wire<A>",
    try_from = "Wire<A>"
)]
pub struct VectorClock<A: Ord + Clone = u32> {
    entries: BTreeMap<A, Entry>,
}

/// The wire form: a list of `[process, counter]` pairs, or `[process, counter, time]` where
/// a time is kept, in process order. Compact, and keys need not be strings.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Wire<A>(Vec<WireEntry<A>>);

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireEntry<A> {
    Timed(A, u64, u64),
    Plain(A, u64),
}

impl<A: Ord + Clone> From<VectorClock<A>> for Wire<A> {
    fn from(c: VectorClock<A>) -> Wire<A> {
        Wire(
            c.entries
                .into_iter()
                .map(|(a, e)| match e.at {
                    Some(t) => WireEntry::Timed(a, e.counter, t),
                    None => WireEntry::Plain(a, e.counter),
                })
                .collect(),
        )
    }
}

impl<A: Ord + Clone> TryFrom<Wire<A>> for VectorClock<A> {
    type Error = String;

    fn try_from(w: Wire<A>) -> Result<VectorClock<A>, String> {
        let mut entries = BTreeMap::new();
        for (i, e) in w.0.into_iter().enumerate() {
            let (a, counter, at) = match e {
                WireEntry::Timed(a, c, t) => (a, c, Some(t)),
                WireEntry::Plain(a, c) => (a, c, None),
            };
            if counter == 0 {
                return Err(format!("entry {i} has counter 0 (absent entries are zero)"));
            }
            if entries.insert(a, Entry { counter, at }).is_some() {
                return Err(format!("entry {i} names a process already listed"));
            }
        }
        Ok(VectorClock { entries })
    }
}

impl<A: Ord + Clone> Default for VectorClock<A> {
    fn default() -> Self {
        VectorClock {
            entries: BTreeMap::new(),
        }
    }
}

impl<A: Ord + Clone> PartialEq for VectorClock<A> {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((a, x), (b, y))| a == b && x.counter == y.counter)
    }
}

impl<A: Ord + Clone> Eq for VectorClock<A> {}

impl<A: Ord + Clone + Hash> Hash for VectorClock<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.entries.len());
        for (a, e) in &self.entries {
            a.hash(state);
            e.counter.hash(state);
        }
    }
}

/// The causal partial order: `None` for concurrent clocks.
impl<A: Ord + Clone> PartialOrd for VectorClock<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match self.compare(other) {
            Causality::Before => Some(Ordering::Less),
            Causality::After => Some(Ordering::Greater),
            Causality::Equal => Some(Ordering::Equal),
            Causality::Concurrent => None,
        }
    }
}

impl<A: Ord + Clone + fmt::Display> fmt::Display for VectorClock<A> {
    /// `{p1:2, p3:1}`, in process order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (a, e)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}:{}", e.counter)?;
        }
        f.write_str("}")
    }
}

impl<A: Ord + Clone + fmt::Debug> fmt::Debug for VectorClock<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(a, e)| (a, e.counter)))
            .finish()
    }
}

impl<A: Ord + Clone> FromIterator<(A, u64)> for VectorClock<A> {
    /// The clock with these counters (zeros dropped; a repeated process keeps the larger).
    fn from_iter<I: IntoIterator<Item = (A, u64)>>(iter: I) -> Self {
        let mut c = VectorClock::new();
        for (a, n) in iter {
            c.raise(a, n, None);
        }
        c
    }
}

/// How [`VectorClock::prune`] trims a clock, in Riak's bucket properties' terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunePolicy {
    /// A clock of at most this many entries is never pruned (`small_vclock`).
    pub small: usize,
    /// While a clock has more than this many entries, its oldest is dropped unless it is
    /// young (`big_vclock`).
    pub big: usize,
    /// An entry younger than this (in the caller's time unit) is never dropped
    /// (`young_vclock`).
    pub young: u64,
    /// An entry older than this is dropped once the clock exceeds `small` (`old_vclock`).
    pub old: u64,
}

impl<A: Ord + Clone> VectorClock<A> {
    /// The empty clock: no event seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// `a`'s counter: 0 if absent.
    pub fn get(&self, a: &A) -> u64 {
        self.entries.get(a).map_or(0, |e| e.counter)
    }

    /// When `a`'s entry was last incremented, if it was given a time.
    pub fn time_of(&self, a: &A) -> Option<u64> {
        self.entries.get(a).and_then(|e| e.at)
    }

    /// The processes with a positive counter, in order.
    pub fn processes(&self) -> impl Iterator<Item = &A> {
        self.entries.keys()
    }

    /// `(process, counter)` for every positive entry, in process order.
    pub fn counters(&self) -> impl Iterator<Item = (&A, u64)> {
        self.entries.iter().map(|(a, e)| (a, e.counter))
    }

    /// How many processes have a positive counter.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no event has been seen.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Counts one more event of `a`: what `a` does before each event of its own.
    pub fn increment(&mut self, a: A) {
        self.entries
            .entry(a)
            .or_insert(Entry {
                counter: 0,
                at: None,
            })
            .counter += 1;
    }

    /// [`VectorClock::increment`], noting `now` as the entry's time (for pruning).
    pub fn increment_at(&mut self, a: A, now: u64) {
        let e = self.entries.entry(a).or_insert(Entry {
            counter: 0,
            at: None,
        });
        e.counter += 1;
        e.at = Some(now);
    }

    /// Sets `a`'s counter to `n` if that is larger, with its time; on an equal counter
    /// the later time is kept.
    fn raise(&mut self, a: A, n: u64, at: Option<u64>) {
        if n == 0 {
            return;
        }
        match self.entries.get_mut(&a) {
            None => {
                self.entries.insert(a, Entry { counter: n, at });
            }
            Some(e) if n > e.counter => *e = Entry { counter: n, at },
            Some(e) if n == e.counter => e.at = e.at.max(at),
            Some(_) => {}
        }
    }

    /// Takes in everything `other` has seen: the entry-wise maximum, the least clock that
    /// descends from both. On equal counters the later time is kept.
    pub fn merge(&mut self, other: &VectorClock<A>) {
        for (a, e) in &other.entries {
            self.raise(a.clone(), e.counter, e.at);
        }
    }

    /// [`VectorClock::merge`] into a new clock.
    pub fn merged(&self, other: &VectorClock<A>) -> VectorClock<A> {
        let mut c = self.clone();
        c.merge(other);
        c
    }

    /// Whether this clock has seen everything `other` has (every entry `>=`): Riak's
    /// `descends`. A clock descends from itself.
    pub fn descends(&self, other: &VectorClock<A>) -> bool {
        other.entries.iter().all(|(a, e)| self.get(a) >= e.counter)
    }

    /// Whether this clock descends from `other` and differs from it: Riak's `dominates`.
    pub fn dominates(&self, other: &VectorClock<A>) -> bool {
        self.descends(other) && !other.descends(self)
    }

    /// How this clock's event relates to `other`'s.
    pub fn compare(&self, other: &VectorClock<A>) -> Causality {
        match (other.descends(self), self.descends(other)) {
            (true, true) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (false, false) => Causality::Concurrent,
        }
    }

    /// Whether this clock's event happened before `other`'s (`<`, strictly).
    pub fn happens_before(&self, other: &VectorClock<A>) -> bool {
        self.compare(other) == Causality::Before
    }

    /// Whether neither event happened before the other and they are not the same.
    pub fn are_concurrent(&self, other: &VectorClock<A>) -> bool {
        self.compare(other) == Causality::Concurrent
    }

    /// Riak's pruning, at time `now`: while the clock has more than `policy.small`
    /// entries, look at its oldest entry (least time; entries without a time count as
    /// oldest); stop if it is younger than `policy.young`; else drop it if the clock
    /// has more than `policy.big` entries or the entry is older than `policy.old`, and
    /// stop otherwise.
    ///
    /// Pruning forgets causality on purpose, to bound a clock's size: a pruned clock
    /// may compare as concurrent with, or before, a clock it had descended from. That
    /// loss is what the planned `prune-clock` variant of the key-value store's sibling
    /// mode is to show.
    pub fn prune(&mut self, now: u64, policy: &PrunePolicy) {
        while self.entries.len() > policy.small {
            let Some((oldest, at)) = self
                .entries
                .iter()
                .map(|(a, e)| (a.clone(), e.at.unwrap_or(0)))
                .min_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)))
            else {
                return;
            };
            let age = now.saturating_sub(at);
            if age < policy.young {
                return;
            }
            if self.entries.len() > policy.big || age > policy.old {
                self.entries.remove(&oldest);
            } else {
                return;
            }
        }
    }
}

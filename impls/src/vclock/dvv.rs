//! Dotted version vector sets (Preguiça, Baquero, Almeida, Fonte and Gonçalves, "Dotted
//! Version Vectors: Logical Clocks for Optimistic Replication", 2010; the DVVSet of Riak
//! 2.0): the siblings of one key and their causal history, in one clock whose size grows
//! with the number of servers that wrote the key, not with the number of clients.
//!
//! A set holds, per server id, a counter `n` and the values still alive from that server,
//! newest first: the value at position `i` was written as event `(id, n - i)` (its *dot*).
//! Events `1 ..= n - len(values)` are known to the set but their values were superseded.
//! Anonymous values have no dot of their own: they come from a client's put before the
//! server gave it one, or from a [`DvvSet::reconcile`].
//!
//! A client reads the values and the set's [`DvvSet::join`] (its context, a version
//! vector), and writes back a value with that context ([`DvvSet::new_with_context`]). The
//! server's [`DvvSet::update`] then supersedes exactly the values the context covers and
//! keeps the rest as siblings, and replicas converge with [`DvvSet::sync`].

use super::clock::VectorClock;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// One server id's entry: its counter and its live values, newest first.
///
/// `Ord` is structural (id, counter, values), for keeping entries in ordered containers;
/// it says nothing about causality.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry<I, V> {
    /// The server id.
    pub id: I,
    /// How many events of `id` this set knows of.
    pub counter: u64,
    /// The values of the last `values.len()` events of `id`, newest first.
    pub values: Vec<V>,
}

/// A dotted version vector set: entries sorted by id, and anonymous values.
///
/// Guarantees: [`DvvSet::sync`] is commutative on the causal history and on the live
/// values (for values without duplicates), and keeps exactly the values that neither side
/// has seen superseded; [`DvvSet::update`] gives the new value a dot that is in no
/// existing history and supersedes exactly the values its context covers. `Ord` is
/// structural, for ordered containers (a model's network, a replica's map); causality is
/// [`DvvSet::less`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "I: Serialize, V: Serialize",
    deserialize = "I: Deserialize<'de>, V: Deserialize<'de>"
))]
pub struct DvvSet<I, V> {
    entries: Vec<Entry<I, V>>,
    anonymous: Vec<V>,
}

impl<I: Ord + Clone, V: Clone + PartialEq> DvvSet<I, V> {
    /// A set with no history and `value` as its one anonymous value: a client's put with
    /// no context.
    pub fn new(value: V) -> Self {
        DvvSet {
            entries: Vec::new(),
            anonymous: vec![value],
        }
    }

    /// A set whose history is `context` (what a client read) and whose one anonymous value
    /// is `value`: a client's put with a context.
    pub fn new_with_context(context: &VectorClock<I>, value: V) -> Self {
        DvvSet {
            entries: context
                .counters()
                .map(|(id, counter)| Entry {
                    id: id.clone(),
                    counter,
                    values: Vec::new(),
                })
                .collect(),
            anonymous: vec![value],
        }
    }

    /// A set of these entries (sorted here by id; a repeated id is refused) and anonymous
    /// values, for tests and decoding.
    ///
    /// # Errors
    /// If an id repeats, or an entry holds more values than its counter.
    pub fn from_parts(mut entries: Vec<Entry<I, V>>, anonymous: Vec<V>) -> Result<Self, String> {
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        for (i, e) in entries.iter().enumerate() {
            if i > 0 && entries[i - 1].id == e.id {
                return Err(format!("entry {i} repeats an id"));
            }
            if e.values.len() as u64 > e.counter {
                return Err(format!(
                    "entry {i} holds {} values with counter {}",
                    e.values.len(),
                    e.counter
                ));
            }
        }
        Ok(DvvSet { entries, anonymous })
    }

    /// The entries, sorted by id.
    pub fn entries(&self) -> &[Entry<I, V>] {
        &self.entries
    }

    /// The anonymous values.
    pub fn anonymous(&self) -> &[V] {
        &self.anonymous
    }

    /// The causal history as a version vector: the context a client reads with the values.
    pub fn join(&self) -> VectorClock<I> {
        self.entries
            .iter()
            .map(|e| (e.id.clone(), e.counter))
            .collect()
    }

    /// Every live value: the anonymous ones, then each entry's, in id order.
    pub fn values(&self) -> Vec<V> {
        self.anonymous
            .iter()
            .chain(self.entries.iter().flat_map(|e| e.values.iter()))
            .cloned()
            .collect()
    }

    /// How many live values (siblings) the set holds.
    pub fn size(&self) -> usize {
        self.anonymous.len() + self.entries.iter().map(|e| e.values.len()).sum::<usize>()
    }

    /// The server ids of the entries, in order (with or without live values).
    pub fn ids(&self) -> Vec<I> {
        self.entries.iter().map(|e| e.id.clone()).collect()
    }

    /// Whether this set's causal history is strictly smaller than `other`'s (values
    /// aside).
    pub fn less(&self, other: &Self) -> bool {
        self.join().happens_before(&other.join())
    }

    /// Whether the two sets know the same events and hold values of the same dots (the
    /// values themselves and the anonymous values aside).
    pub fn equal(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().zip(&other.entries).all(|(a, b)| {
                a.id == b.id && a.counter == b.counter && a.values.len() == b.values.len()
            })
    }

    /// Adds the event of server `id` with `value`: `id`'s counter goes up by one and
    /// `value` becomes its newest value.
    fn event(entries: &mut Vec<Entry<I, V>>, id: I, value: V) {
        match entries.binary_search_by(|e| e.id.cmp(&id)) {
            Ok(i) => {
                entries[i].counter += 1;
                entries[i].values.insert(0, value);
            }
            Err(i) => entries.insert(
                i,
                Entry {
                    id,
                    counter: 1,
                    values: vec![value],
                },
            ),
        }
    }

    /// The set after server `id` stores the client's put `client` (from
    /// [`DvvSet::new`] or [`DvvSet::new_with_context`]) on a server that held nothing.
    ///
    /// # Panics
    /// If `client` does not hold exactly one anonymous value.
    pub fn update_fresh(client: &Self, id: I) -> Self {
        let (mut entries, value) = client.put_parts();
        Self::event(&mut entries, id, value);
        DvvSet {
            entries,
            anonymous: Vec::new(),
        }
    }

    /// The set after server `id`, holding `server`, stores the client's put `client`: the
    /// client's context is synced with the server's set, which drops the values the
    /// context covers, and the new value gets the dot `(id, n + 1)`.
    ///
    /// # Panics
    /// If `client` does not hold exactly one anonymous value.
    pub fn update(client: &Self, server: &Self, id: I) -> Self {
        let (entries, value) = client.put_parts();
        let context = DvvSet {
            entries,
            anonymous: Vec::new(),
        };
        let mut merged = Self::sync(&context, server);
        Self::event(&mut merged.entries, id, value);
        merged
    }

    fn put_parts(&self) -> (Vec<Entry<I, V>>, V) {
        assert_eq!(
            self.anonymous.len(),
            1,
            "a client's put holds exactly one new value"
        );
        (self.entries.clone(), self.anonymous[0].clone())
    }

    /// What two replicas of the key agree on: the union of their histories and the values
    /// neither has seen superseded.
    pub fn sync(a: &Self, b: &Self) -> Self {
        let anonymous = if a.less(b) {
            b.anonymous.clone()
        } else if b.less(a) {
            a.anonymous.clone()
        } else {
            let mut u = a.anonymous.clone();
            for v in &b.anonymous {
                if !u.contains(v) {
                    u.push(v.clone());
                }
            }
            u
        };
        let mut entries = Vec::with_capacity(a.entries.len().max(b.entries.len()));
        let (mut i, mut j) = (0, 0);
        while i < a.entries.len() || j < b.entries.len() {
            let order = match (a.entries.get(i), b.entries.get(j)) {
                (Some(x), Some(y)) => x.id.cmp(&y.id),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match order {
                Ordering::Less => {
                    entries.push(a.entries[i].clone());
                    i += 1;
                }
                Ordering::Greater => {
                    entries.push(b.entries[j].clone());
                    j += 1;
                }
                Ordering::Equal => {
                    entries.push(Self::sync_entry(&a.entries[i], &b.entries[j]));
                    i += 1;
                    j += 1;
                }
            }
        }
        DvvSet { entries, anonymous }
    }

    /// One id's entry from both sides: the larger counter (the first side on a tie), and
    /// of its values those the other side has not seen superseded.
    fn sync_entry(x: &Entry<I, V>, y: &Entry<I, V>) -> Entry<I, V> {
        let (w, l) = if y.counter > x.counter {
            (y, x)
        } else {
            (x, y)
        };
        // The other side has seen every event up to `l.counter`, and holds the values of
        // those above `l.counter - len(l.values)`: an event it has seen and no longer
        // holds was superseded there.
        let seen_gone = l.counter - l.values.len() as u64;
        let keep = if w.counter - w.values.len() as u64 >= seen_gone {
            w.values.len()
        } else {
            (w.counter - seen_gone) as usize
        };
        Entry {
            id: w.id.clone(),
            counter: w.counter,
            values: w.values[..keep].to_vec(),
        }
    }

    /// [`DvvSet::sync`] over a list.
    pub fn sync_all<'a>(sets: impl IntoIterator<Item = &'a Self>) -> Option<Self>
    where
        Self: 'a,
    {
        sets.into_iter().fold(None, |acc, s| {
            Some(match acc {
                None => s.clone(),
                Some(a) => Self::sync(&a, s),
            })
        })
    }

    /// The set with `f` applied to every value.
    pub fn map<W: Clone + PartialEq>(&self, f: impl Fn(&V) -> W) -> DvvSet<I, W> {
        DvvSet {
            entries: self
                .entries
                .iter()
                .map(|e| Entry {
                    id: e.id.clone(),
                    counter: e.counter,
                    values: e.values.iter().map(&f).collect(),
                })
                .collect(),
            anonymous: self.anonymous.iter().map(&f).collect(),
        }
    }

    /// Resolves the siblings into one value, `f` of all of them: the history stays, and
    /// the result is its one anonymous value.
    pub fn reconcile(&self, f: impl FnOnce(Vec<V>) -> V) -> Self {
        let winner = f(self.values());
        Self::new_with_context(&self.join(), winner)
    }

    /// The value that wins by `le` (`le(a, b)`: `a` is at most `b`) among the newest value
    /// of each entry and the anonymous values; a later candidate wins a tie (entries in id
    /// order, then the anonymous values).
    pub fn last(&self, le: impl Fn(&V, &V) -> bool) -> Option<V> {
        self.winner(le).map(|(v, _)| v)
    }

    /// Last-writer-wins by `le`: only the winner stays (see [`DvvSet::last`]), under its
    /// own dot if it has one.
    pub fn lww(&self, le: impl Fn(&V, &V) -> bool) -> Self {
        match self.winner(le) {
            None => self.clone(),
            Some((v, None)) => Self::new_with_context(&self.join(), v),
            Some((v, Some(at))) => DvvSet {
                entries: self
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| Entry {
                        id: e.id.clone(),
                        counter: e.counter,
                        values: if i == at { vec![v.clone()] } else { Vec::new() },
                    })
                    .collect(),
                anonymous: Vec::new(),
            },
        }
    }

    /// The winner and the entry it heads, if it heads one.
    fn winner(&self, le: impl Fn(&V, &V) -> bool) -> Option<(V, Option<usize>)> {
        let heads = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.values.first().map(|v| (v, Some(i))));
        let anonymous = self.anonymous.iter().map(|v| (v, None));
        heads
            .chain(anonymous)
            .fold(
                None,
                |best: Option<(&V, Option<usize>)>, (v, at)| match best {
                    Some((b, _)) if !le(b, v) => best,
                    _ => Some((v, at)),
                },
            )
            .map(|(v, at)| (v.clone(), at))
    }
}

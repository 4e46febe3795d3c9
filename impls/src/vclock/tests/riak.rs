//! The facts that riak_core's `vclock.erl` EUnit tests assert, written afresh against this
//! clock. Riak's clocks are keyed by node names and carry a timestamp per entry; here the
//! timestamps are `increment_at`'s times. Where Riak and this clock differ on purpose, the
//! test says so.

use crate::vclock::clock::{PrunePolicy, VectorClock};

type Vc = VectorClock<&'static str>;

/// A clock of `(node, counter, time)` entries.
fn timed(entries: &[(&'static str, u64, u64)]) -> Vc {
    let mut c = Vc::new();
    for &(node, counter, at) in entries {
        for _ in 0..counter {
            c.increment_at(node, at);
        }
    }
    c
}

/// `(node, counter, time)` of every entry, in node order.
fn entries(c: &Vc) -> Vec<(&'static str, u64, Option<u64>)> {
    c.counters().map(|(&n, k)| (n, k, c.time_of(&n))).collect()
}

#[test]
fn example() {
    let a = Vc::new();
    let b = Vc::new();
    let mut a1 = a.clone();
    a1.increment("a");
    let mut b1 = b.clone();
    b1.increment("b");
    assert!(a1.descends(&a));
    assert!(b1.descends(&b));
    assert!(!a1.descends(&b1));
    let mut a2 = a1.clone();
    a2.increment("a");
    let c = a2.merged(&b1);
    let mut c1 = c.clone();
    c1.increment("c");
    assert_eq!(c1, [("a", 2), ("b", 1), ("c", 1)].into_iter().collect());
    assert!(c1.descends(&a2));
    assert!(c1.descends(&b1));
    assert!(!b1.descends(&c1));
    assert!(!b1.descends(&a1));
}

#[test]
fn equals_or_dominates() {
    let mut a3 = Vc::new();
    for n in ["a", "b", "a"] {
        a3.increment_at(n, 100);
    }
    let mut b4 = a3.clone();
    b4.increment_at("b", 101);
    let mut b5 = a3.clone();
    b5.increment_at("b", 101);
    assert!(b4.dominates(&a3));
    assert!(!a3.dominates(&b4));
    assert_eq!(b4, b5);
    assert!(!b4.dominates(&b5) && !b5.dominates(&b4));
    // Riak's `equal` also compares timestamps; here a clock is its counters, so two clocks
    // that differ only in when they were incremented are equal and neither dominates.
    let mut b6 = a3.clone();
    b6.increment_at("b", 999);
    assert_eq!(b4, b6);
    assert!(!b4.dominates(&b6) && !b6.dominates(&b4));
}

#[test]
fn a_clock_descends_itself_and_the_empty_clock() {
    let c: Vc = [("a", 1)].into_iter().collect();
    assert!(c.descends(&c));
    assert!(c.descends(&Vc::new()));
    assert!(!Vc::new().descends(&c));
    assert!(!c.dominates(&c));
}

const NOW: u64 = 63_900_000_000;

fn policy(small: usize, big: usize, young: u64, old: u64) -> PrunePolicy {
    PrunePolicy {
        small,
        big,
        young,
        old,
    }
}

/// An unset property: never the reason to stop (`small`, `young`) or to drop (`big`,
/// `old`).
const UNSET: u64 = u64::MAX;

#[test]
fn prune_small() {
    let old = NOW - 32_000_000;
    let mut c = timed(&[("1", 1, old), ("2", 2, old), ("3", 3, old)]);
    let before = entries(&c);
    c.prune(NOW, &policy(4, UNSET as usize, 0, UNSET));
    assert_eq!(entries(&c), before);
}

#[test]
fn prune_young() {
    let t = NOW - 1;
    let mut c = timed(&[("1", 1, t), ("2", 2, t), ("3", 3, t)]);
    let before = entries(&c);
    c.prune(NOW, &policy(1, UNSET as usize, 1000, UNSET));
    assert_eq!(entries(&c), before);
}

#[test]
fn prune_big() {
    let t = NOW - 1000;
    let mut c = timed(&[("1", 1, t), ("2", 2, t), ("3", 3, t)]);
    c.prune(NOW, &policy(1, 2, 1, 100_000));
    assert_eq!(c.len(), 2);
    // Equal times: the node name breaks the tie, so "1" went.
    assert_eq!(c.get(&"1"), 0);
}

#[test]
fn prune_old() {
    let mut c = timed(&[
        ("1", 1, NOW - 1000),
        ("2", 2, NOW - 100_000),
        ("3", 3, NOW - 100_000),
    ]);
    c.prune(NOW, &policy(1, 2, 1, 10_000));
    assert_eq!(c.len(), 1);
    assert_eq!(c.get(&"1"), 1);
}

#[test]
fn prune_order() {
    let old = NOW - 100_000;
    let mut one = Vc::new();
    one.merge(&timed(&[("1", 1, old)]));
    one.merge(&timed(&[("2", 2, old)]));
    let mut two = Vc::new();
    two.merge(&timed(&[("2", 2, old)]));
    two.merge(&timed(&[("1", 1, old)]));
    let p = policy(1, 2, 1, 10_000);
    one.prune(NOW, &p);
    two.prune(NOW, &p);
    assert_eq!(entries(&one), entries(&two));
    assert_eq!(entries(&one), vec![("2", 2, Some(old))]);
}

#[test]
fn prune_thresholds_are_strict_where_riak_is() {
    // An age equal to `young` is not young; an age equal to `old` is not old; a clock of
    // exactly `small` or exactly `big` entries is not too big.
    let mut at_young = timed(&[("1", 1, NOW - 5), ("2", 1, NOW - 5)]);
    at_young.prune(NOW, &policy(1, 1, 5, UNSET));
    assert_eq!(at_young.len(), 1);
    let mut at_old = timed(&[("1", 1, NOW - 50), ("2", 1, NOW - 50)]);
    at_old.prune(NOW, &policy(1, 2, 1, 50));
    assert_eq!(at_old.len(), 2);
    let mut at_small = timed(&[("1", 1, 0), ("2", 1, 0)]);
    at_small.prune(NOW, &policy(2, 0, 0, 0));
    assert_eq!(at_small.len(), 2);
}

#[test]
fn accessors() {
    let c = timed(&[("1", 1, 1), ("2", 2, 2)]);
    assert_eq!(c.get(&"1"), 1);
    assert_eq!(c.time_of(&"1"), Some(1));
    assert_eq!(c.get(&"2"), 2);
    assert_eq!(c.time_of(&"2"), Some(2));
    assert_eq!(c.get(&"3"), 0);
    assert_eq!(c.time_of(&"3"), None);
    assert_eq!(c.processes().copied().collect::<Vec<_>>(), ["1", "2"]);
}

#[test]
fn merge() {
    assert!(Vc::new().merged(&Vc::new()).is_empty());
    let one = timed(&[("1", 1, 1), ("2", 2, 2), ("4", 4, 4)]);
    let two = timed(&[("3", 3, 3), ("4", 3, 3)]);
    assert_eq!(
        entries(&one.merged(&two)),
        [
            ("1", 1, Some(1)),
            ("2", 2, Some(2)),
            ("3", 3, Some(3)),
            ("4", 4, Some(4))
        ]
    );
}

#[test]
fn merge_less_left_and_less_right() {
    let five = timed(&[("5", 5, 5)]);
    let six_seven = timed(&[("6", 6, 6), ("7", 7, 7)]);
    let want = [("5", 5, Some(5)), ("6", 6, Some(6)), ("7", 7, Some(7))];
    assert_eq!(entries(&five.merged(&six_seven)), want);
    assert_eq!(entries(&six_seven.merged(&five)), want);
}

#[test]
fn merge_same_id_keeps_the_later_time_on_equal_counters() {
    let one = timed(&[("1", 1, 2), ("2", 1, 4)]);
    let two = timed(&[("1", 1, 3), ("3", 1, 5)]);
    let want = [("1", 1, Some(3)), ("2", 1, Some(4)), ("3", 1, Some(5))];
    assert_eq!(entries(&one.merged(&two)), want);
    assert_eq!(entries(&two.merged(&one)), want);
}

#[test]
fn get_entry() {
    let mut c = Vc::new();
    for n in ["a", "b", "c", "a"] {
        c.increment(n);
    }
    assert_eq!(
        (c.get(&"a"), c.get(&"b"), c.get(&"c"), c.get(&"d")),
        (2, 1, 1, 0)
    );
}

//! The facts of Riak 2.0's DVVSet tests (`dvvset.erl`) and of the DVV authors' worked
//! examples, written afresh against [`DvvSet`].

use crate::vclock::clock::VectorClock;
use crate::vclock::dvv::{DvvSet, Entry};

type Set = DvvSet<&'static str, &'static str>;

/// A set of `(id, counter, values)` entries and anonymous values.
fn parts<V: Clone + PartialEq>(
    entries: &[(&'static str, u64, &[V])],
    anonymous: &[V],
) -> DvvSet<&'static str, V> {
    DvvSet::from_parts(
        entries
            .iter()
            .map(|&(id, counter, values)| Entry {
                id,
                counter,
                values: values.to_vec(),
            })
            .collect(),
        anonymous.to_vec(),
    )
    .unwrap()
}

fn set(entries: &[(&'static str, u64, &[&'static str])], anonymous: &[&'static str]) -> Set {
    parts(entries, anonymous)
}

fn vv(entries: &[(&'static str, u64)]) -> VectorClock<&'static str> {
    entries.iter().copied().collect()
}

fn put(value: &'static str) -> Set {
    DvvSet::new(value)
}

fn put_with(context: &VectorClock<&'static str>, value: &'static str) -> Set {
    DvvSet::new_with_context(context, value)
}

#[test]
fn join() {
    let a = put("v1");
    let a1 = DvvSet::update_fresh(&a, "a");
    assert_eq!(a1, set(&[("a", 1, &["v1"])], &[]));
    let b = put_with(&a1.join(), "v2");
    assert_eq!(b, set(&[("a", 1, &[])], &["v2"]));
    let b1 = DvvSet::update(&b, &a1, "b");
    assert_eq!(a.join(), vv(&[]));
    assert_eq!(a1.join(), vv(&[("a", 1)]));
    assert_eq!(b1.join(), vv(&[("a", 1), ("b", 1)]));
    // v1 is gone: the client had read a1.
    assert_eq!(b1, set(&[("a", 1, &[]), ("b", 1, &["v2"])], &[]));
}

#[test]
fn update() {
    let a0 = DvvSet::update_fresh(&put("v1"), "a");
    assert_eq!(a0, set(&[("a", 1, &["v1"])], &[]));
    let a1 = DvvSet::update(&put_with(&a0.join(), "v2"), &a0, "a");
    assert_eq!(a1, set(&[("a", 2, &["v2"])], &[]));
    let a2 = DvvSet::update(&put_with(&a1.join(), "v3"), &a1, "b");
    assert_eq!(a2, set(&[("a", 2, &[]), ("b", 1, &["v3"])], &[]));
    // A stale context (a: 1): v2 survives as a sibling.
    let a3 = DvvSet::update(&put_with(&a0.join(), "v4"), &a1, "b");
    assert_eq!(a3, set(&[("a", 2, &["v2"]), ("b", 1, &["v4"])], &[]));
    // The same stale context at the same server: two siblings under one id.
    let a4 = DvvSet::update(&put_with(&a0.join(), "v5"), &a1, "a");
    assert_eq!(a4, set(&[("a", 3, &["v5", "v2"])], &[]));
}

#[test]
fn sync() {
    let x = set(&[("x", 1, &[])], &[]);
    let a = DvvSet::update_fresh(&put("v1"), "a");
    let y = DvvSet::update_fresh(&put("v2"), "b");
    let a1 = DvvSet::update_fresh(&put_with(&vv(&[("a", 1)]), "v2"), "a");
    let a3 = DvvSet::update_fresh(&put_with(&vv(&[("a", 2)]), "v3"), "b");
    let a4 = DvvSet::update_fresh(&put_with(&vv(&[("a", 2)]), "v3"), "c");
    let w = set(&[("a", 1, &[])], &[]);
    let z = set(&[("a", 2, &["v2", "v1"])], &[]);
    // w knows a1 without its value: v1 was superseded there.
    assert_eq!(DvvSet::sync(&w, &z), set(&[("a", 2, &["v2"])], &[]));
    assert_eq!(DvvSet::sync(&w, &z), DvvSet::sync(&z, &w));
    assert_eq!(DvvSet::sync(&a, &a1), DvvSet::sync(&a1, &a));
    let both = set(&[("a", 2, &[]), ("b", 1, &["v3"]), ("c", 1, &["v3"])], &[]);
    assert_eq!(DvvSet::sync(&a4, &a3), both);
    assert_eq!(DvvSet::sync(&a3, &a4), both);
    let ax = set(&[("a", 1, &["v1"]), ("x", 1, &[])], &[]);
    assert_eq!(DvvSet::sync(&x, &a), ax);
    assert_eq!(DvvSet::sync(&a, &x), ax);
    let ay = set(&[("a", 1, &["v1"]), ("b", 1, &["v2"])], &[]);
    assert_eq!(DvvSet::sync(&a, &y), ay);
    assert_eq!(DvvSet::sync(&y, &a), ay);
    let gt = |l: &&str, r: &&str| l > r;
    let lww = a4.lww(gt);
    assert_eq!(lww, DvvSet::sync(&a4, &lww));
}

/// Mary writes twice without reading; Peter read her first write and overwrites it.
#[test]
fn a_write_replaces_what_its_writer_read_and_nothing_else() {
    let a0 = DvvSet::update_fresh(&put("v1"), "a");
    let peter_read = a0.join();
    assert_eq!(peter_read, vv(&[("a", 1)]));
    let a1 = DvvSet::update(&put("v2"), &a0, "a");
    assert_eq!(a1, set(&[("a", 2, &["v2", "v1"])], &[]));
    let a2 = DvvSet::update(&put_with(&peter_read, "v3"), &a1, "a");
    assert_eq!(a2, set(&[("a", 3, &["v3", "v2"])], &[]));
}

#[test]
fn event() {
    let a = DvvSet::update_fresh(&put("v1"), "a");
    let again = DvvSet::update(
        &put_with(&a.join(), "v2"),
        &set(&[("a", 1, &["v1"])], &[]),
        "a",
    );
    assert_eq!(again, set(&[("a", 2, &["v2"])], &[]));
    let other = DvvSet::update(&put_with(&vv(&[]), "v2"), &a, "b");
    assert_eq!(other, set(&[("a", 1, &["v1"]), ("b", 1, &["v2"])], &[]));
}

type Num = DvvSet<&'static str, i64>;

fn nums(entries: &[(&'static str, u64, &[i64])], anonymous: &[i64]) -> Num {
    parts(entries, anonymous)
}

#[test]
fn lww_and_last_compare_only_the_newest_value_of_each_id() {
    let le = |a: &i64, b: &i64| a <= b;
    let x = nums(&[("a", 4, &[5, 2]), ("b", 1, &[]), ("c", 1, &[3])], &[]);
    let y = nums(
        &[("a", 4, &[5, 2]), ("b", 1, &[]), ("c", 1, &[3])],
        &[10, 0],
    );
    let z = nums(&[("a", 4, &[5, 2]), ("b", 1, &[1])], &[3]);
    assert_eq!(x.last(le), Some(5));
    assert_eq!(y.last(le), Some(10));
    assert_eq!(
        x.lww(le),
        nums(&[("a", 4, &[5]), ("b", 1, &[]), ("c", 1, &[])], &[])
    );
    assert_eq!(
        y.lww(le),
        nums(&[("a", 4, &[]), ("b", 1, &[]), ("c", 1, &[])], &[10])
    );
    assert_eq!(z.lww(le), nums(&[("a", 4, &[5]), ("b", 1, &[])], &[]));
    // Pairs compared by their timestamps: (7, ..340) is not a newest value.
    type Timed = DvvSet<&'static str, (i64, u64)>;
    let p: Timed = DvvSet::from_parts(
        vec![
            Entry {
                id: "a",
                counter: 4,
                values: vec![(5, 1_002_345), (7, 1_002_340)],
            },
            Entry {
                id: "b",
                counter: 1,
                values: vec![(4, 1_001_340)],
            },
        ],
        vec![(2, 1_001_140)],
    )
    .unwrap();
    let by_time = |a: &(i64, u64), b: &(i64, u64)| a.1 <= b.1;
    let won = p.lww(by_time);
    assert_eq!(won.values(), vec![(5, 1_002_345)]);
    assert_eq!(won.join(), p.join());
}

#[test]
fn reconcile_uses_every_value() {
    let x = nums(&[("a", 4, &[5, 2]), ("b", 1, &[]), ("c", 1, &[3])], &[]);
    let y = nums(
        &[("a", 4, &[5, 2]), ("b", 1, &[]), ("c", 1, &[3])],
        &[10, 0],
    );
    let sum = |v: Vec<i64>| v.iter().sum();
    let min = |v: Vec<i64>| v.into_iter().min().unwrap();
    let empty = [("a", 4, &[][..]), ("b", 1, &[]), ("c", 1, &[])];
    assert_eq!(x.reconcile(sum), nums(&empty, &[10]));
    assert_eq!(y.reconcile(sum), nums(&empty, &[20]));
    assert_eq!(x.reconcile(min).values(), vec![2]);
    assert_eq!(y.reconcile(min).values(), vec![0]);
}

#[test]
fn less_is_a_strictly_smaller_history() {
    // The first writer's id sorts after every other.
    let a = DvvSet::update_fresh(&put("v1"), "zz");
    let b = DvvSet::update_fresh(&put_with(&a.join(), "v2"), "a");
    let b2 = DvvSet::update_fresh(&put_with(&a.join(), "v2"), "b");
    let b3 = DvvSet::update_fresh(&put_with(&a.join(), "v2"), "z");
    let c = DvvSet::update(&put_with(&b.join(), "v3"), &a, "c");
    let d = DvvSet::update(&put_with(&c.join(), "v4"), &b2, "d");
    assert_eq!(
        d,
        set(
            &[
                ("a", 1, &[]),
                ("b", 1, &["v2"]),
                ("c", 1, &[]),
                ("d", 1, &["v4"]),
                ("zz", 1, &[])
            ],
            &[]
        )
    );
    for (x, y) in [(&a, &b), (&a, &c), (&b, &c), (&b, &d), (&b2, &d), (&a, &d)] {
        assert!(x.less(y), "{x:?} < {y:?}");
    }
    for (x, y) in [
        (&b2, &c),
        (&b, &b2),
        (&b2, &b),
        (&a, &a),
        (&c, &c),
        (&d, &b2),
        (&b3, &d),
    ] {
        assert!(!x.less(y), "not {x:?} < {y:?}");
    }
}

#[test]
fn equal_compares_dots_not_values() {
    let a = set(
        &[("a", 4, &["v5", "v0"]), ("b", 0, &[]), ("c", 1, &["v3"])],
        &["v0"],
    );
    let b = set(
        &[("a", 4, &["v555", "v0"]), ("b", 0, &[]), ("c", 1, &["v3"])],
        &[],
    );
    let c = set(&[("a", 4, &["v5", "v0"]), ("b", 0, &[])], &["v6", "v1"]);
    assert!(a.equal(&b) && b.equal(&a));
    assert!(!a.equal(&c) && !b.equal(&c));
}

#[test]
fn size_ids_and_values() {
    assert_eq!(put("v1").size(), 1);
    let s = set(
        &[("a", 4, &["v5", "v0"]), ("b", 0, &[]), ("c", 1, &["v3"])],
        &["v4", "v1"],
    );
    assert_eq!(s.size(), 5);
    let a = set(
        &[("a", 4, &["v0", "v5"]), ("b", 0, &[]), ("c", 1, &["v3"])],
        &["v1"],
    );
    let b = set(
        &[("a", 4, &["v0", "v555"]), ("b", 0, &[]), ("c", 1, &["v3"])],
        &[],
    );
    let c = set(&[("a", 4, &[]), ("b", 0, &[])], &["v1", "v6"]);
    assert_eq!(a.ids(), ["a", "b", "c"]);
    assert_eq!(b.ids(), ["a", "b", "c"]);
    assert_eq!(c.ids(), ["a", "b"]);
    let sorted = |s: &Set| {
        let mut v = s.values();
        v.sort_unstable();
        v
    };
    assert_eq!(sorted(&a), ["v0", "v1", "v3", "v5"]);
    assert_eq!(sorted(&b), ["v0", "v3", "v555"]);
    assert_eq!(sorted(&c), ["v1", "v6"]);
}

#[test]
fn map_keeps_the_structure() {
    let double = |v: &i64| v * 2;
    let x = nums(&[("a", 4, &[]), ("b", 0, &[]), ("c", 1, &[])], &[10]);
    assert_eq!(
        x.map(double),
        nums(&[("a", 4, &[]), ("b", 0, &[]), ("c", 1, &[])], &[20])
    );
    let y = nums(
        &[("a", 4, &[5, 0]), ("b", 0, &[]), ("c", 1, &[2])],
        &[20, 10],
    );
    assert_eq!(
        y.map(double),
        nums(
            &[("a", 4, &[10, 0]), ("b", 0, &[]), ("c", 1, &[4])],
            &[40, 20]
        )
    );
}

#[test]
fn a_malformed_set_is_refused() {
    let e = |id, counter, values: Vec<&'static str>| Entry {
        id,
        counter,
        values,
    };
    assert!(Set::from_parts(vec![e("a", 1, vec![]), e("a", 2, vec![])], vec![]).is_err());
    assert!(Set::from_parts(vec![e("a", 1, vec!["x", "y"])], vec![]).is_err());
}

/// One client writes, reads, and writes again with what it read, while another client
/// writes without reading each time in between (the DVV authors' repeated-write
/// scenario). One version vector per key, merged on every write (Riak before 2.0), keeps
/// every value as a sibling; the DVV set keeps two or three.
#[test]
fn repeated_writes_keep_two_siblings_where_one_clock_per_key_keeps_them_all() {
    // One clock per key: a put whose context covers the key's clock replaces the
    // siblings; any other put joins them; the clock counts every put.
    let mut vv_siblings: Vec<u32> = Vec::new();
    let mut vv_clock = 0u64;
    let mut vv_put = |value: u32, context: u64, siblings: &mut Vec<u32>| {
        if context >= vv_clock {
            siblings.clear();
        }
        siblings.push(value);
        vv_clock += 1;
        vv_clock
    };
    let mut dvv: Option<DvvSet<&'static str, u32>> = None;
    let mut read_vv = 0u64;
    let mut read_dvv = VectorClock::new();
    for round in 0..50u32 {
        let (mine, theirs) = (2 * round + 1, 2 * round + 2);
        // The reader writes with what it read.
        read_vv = vv_put(mine, read_vv, &mut vv_siblings);
        let client = DvvSet::new_with_context(&read_dvv, mine);
        let next = match &dvv {
            None => DvvSet::update_fresh(&client, "A"),
            Some(server) => DvvSet::update(&client, server, "A"),
        };
        read_dvv = next.join();
        dvv = Some(next);
        // Another client writes without a context.
        vv_put(theirs, 0, &mut vv_siblings);
        let server = dvv.take().unwrap();
        dvv = Some(DvvSet::update(&DvvSet::new(theirs), &server, "A"));
        assert!(dvv.as_ref().unwrap().size() <= 3, "round {round}");
    }
    // The 101st write, the reader's again.
    vv_put(101, read_vv, &mut vv_siblings);
    let last = DvvSet::update(
        &DvvSet::new_with_context(&read_dvv, 101),
        &dvv.unwrap(),
        "A",
    );
    assert_eq!(vv_siblings.len(), 101);
    let mut values = last.values();
    values.sort_unstable();
    assert_eq!(values, [100, 101]);
}

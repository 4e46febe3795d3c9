//! Property tests for `impls::kv::ring`: the three claims the consistent-hash ring is built to
//! meet, one named test each (claim 2 is split into its adding and removing halves).
//!
//! 1. `replicas_are_distinct_ring_members`: a key's replicas are distinct members, and there
//!    are `min(rf, n)` of them.
//! 2. `adding_a_node_moves_about_1_over_n_of_the_keys` and
//!    `removing_a_node_moves_about_1_over_n_of_the_keys`: adding or removing one of N nodes
//!    moves about 1/N of the keys and never more than 1.5/N, and keys move only to the added
//!    node or away from the removed one.
//! 3. `most_loaded_node_holds_at_most_1_2x_the_mean`, for the node sets our clusters use
//!    (ids 1..=N, N = 3..=10), and `most_loaded_node_holds_at_most_1_5x_the_mean` for any
//!    set of up to 20 nodes: 1.2x is false for some larger clusters (see its doc).
//!
//! # The numbers, and why the bounds are safe to assert
//!
//! With V tokens per node placed by a well-mixing hash, the gaps between the N·V tokens are
//! distributed like those of uniform random points, so the share of the ring one node is
//! primary for is exactly `Beta(V, (N-1)V)`: mean 1/N, relative standard deviation about
//! `1/sqrt(V)` (8.8% at V = 128). Every bound below is a tail of that distribution, and the
//! false-alarm probabilities quoted were computed from it (mpmath `betainc`). The measured
//! rings agree with it (see claim 3), which is the real evidence that `key_hash` mixes well.
//!
//! Keys are short and differ only in their last bytes (`<prefix><counter>`), the case where
//! a weak hash (FNV-1a without a finalizer) clusters on the ring.
//!
//! Run in release mode (`cargo test --release -p impls --test kv_ring`); the file takes under
//! two seconds there.

use std::collections::BTreeSet;

use impls::kv::ring::Ring;
use impls::kv::NodeId;
use proptest::prelude::*;
use proptest::sample::Index;

/// Virtual nodes per physical node in claims 2 and 3, as the issue states them.
const VNODES: usize = 128;
/// The replication factor whose replica-set movement claim 2 also measures.
const RF: usize = 3;

/// A point of the 2^64 ring as a fraction of the whole ring.
fn fraction_of_ring(points: u128) -> f64 {
    points as f64 / 2f64.powi(64)
}

/// `count` keys `<prefix>0`, `<prefix>1`, …: short and similar, as real keys are.
fn keys(prefix: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| format!("{prefix}{i}").into_bytes())
        .collect()
}

/// Key prefixes such as `user:` or `` (bare counters).
fn key_prefix() -> impl Strategy<Value = String> {
    "[a-z]{0,6}:?"
}

/// A node id: small sequential-looking ids, as clusters usually number their nodes, or any
/// `u32`, so both ends of the id encoding are exercised.
fn node_id() -> impl Strategy<Value = NodeId> {
    prop_oneof![0..64u32, any::<u32>()]
}

/// Exactly `n` distinct node ids, for `n` drawn from `sizes`.
fn node_set(sizes: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<NodeId>> {
    sizes
        .prop_flat_map(|n| proptest::collection::btree_set(node_id(), n))
        .prop_map(|set| set.into_iter().collect())
}

/// A key's replica set, order ignored.
fn replica_set(ring: &Ring, key: &[u8]) -> BTreeSet<NodeId> {
    ring.replicas(key, RF).into_iter().collect()
}

/// `list` with `node` taken out.
fn without(list: &[NodeId], node: NodeId) -> Vec<NodeId> {
    list.iter().copied().filter(|&n| n != node).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Claim 1: replicas are distinct ring members, `min(rf, n)` of them. Small vnode counts
    /// and empty rings are included: they make wrap-around and short walks common.
    #[test]
    fn replicas_are_distinct_ring_members(
        nodes in node_set(0..=20),
        vnodes in 1..=64usize,
        rf in 0..=8usize,
        keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 1..20),
    ) {
        let ring = Ring::with_nodes(vnodes, nodes.iter().copied());
        for key in &keys {
            let replicas = ring.replicas(key, rf);
            prop_assert_eq!(replicas.len(), rf.min(nodes.len()));
            let distinct: BTreeSet<NodeId> = replicas.iter().copied().collect();
            prop_assert_eq!(distinct.len(), replicas.len(), "repeated replica in {:?}", replicas);
            prop_assert!(
                replicas.iter().all(|&n| ring.contains(n)),
                "non-member in {:?}",
                replicas
            );

            // The replicas are the head of the preference list, which names every member once.
            let list = ring.preference_list(key);
            prop_assert_eq!(&list[..replicas.len()], &replicas[..]);
            let mut sorted = list.clone();
            sorted.sort_unstable();
            prop_assert_eq!(&sorted, &nodes);
            for &node in &nodes {
                prop_assert_eq!(ring.is_replica(key, rf, node), replicas.contains(&node));
            }
        }
    }
}

// Claim 2. "Moves about 1/N of the keys, never more than 1.5/N" is a statement about each key's
// *primary* (its first replica, the coordinator): the fraction of keys whose primary changes is
// exactly the share of the ring the added (or removed) node is primary for, whose mean is 1/N.
// At 128 vnodes and N <= 12 it exceeds 1.5/N with probability below 1e-7 per case, and falls
// under 0.5/N (the "about" half) with probability below 1e-11: both tests together fail
// spuriously about once in 300,000 runs.
//
// A key's *replica set* changes far more often: a node is one of RF replicas for about RF/N of
// the keys, and each of those keys gains (or loses) that node, so about RF/N of the keys see
// their set change and the data copied is about RF/N of the total (each moved key is one
// replica's copy). We assert the same 1.5x slack on that mean, `<= 1.5 * RF / N`; it is vacuous
// (>= 1) for N <= 4, where nearly every key's set must change. It is looser than it looks: a
// node's replica share sums about RF times as many arcs as its primary share, so it varies
// less (measured at most 1.07 * RF / N for nodes 1..=N, N = 3..=12).
//
// Keys are sampled (10,000 per case), so the sampled fraction also carries binomial noise of
// about 1/sqrt(10_000 / N) relative (under 3.5% at N = 12); the exact share is asserted too.

/// Keys sampled per case in claim 2.
const MOVED_KEYS: usize = 10_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Claim 2, adding: growing from N - 1 to N nodes moves about 1/N of the keys' primaries,
    /// never more than 1.5/N, and only to the new node. Every other node keeps its place in
    /// every preference list.
    #[test]
    fn adding_a_node_moves_about_1_over_n_of_the_keys(
        nodes in node_set(3..=12),
        pick in any::<Index>(),
        prefix in key_prefix(),
    ) {
        let n = nodes.len() as f64;
        let added = nodes[pick.index(nodes.len())];
        let before = Ring::with_nodes(VNODES, without(&nodes, added));
        let mut after = before.clone();
        prop_assert!(after.add_node(added));

        let exact = fraction_of_ring(after.ownership()[&added]);
        prop_assert!(
            exact <= 1.5 / n && exact >= 0.5 / n,
            "new node owns {exact} of the ring, N = {n}"
        );

        let (mut primary_moved, mut set_changed) = (0usize, 0usize);
        for key in keys(&prefix, MOVED_KEYS) {
            let (old, new) = (before.preference_list(&key), after.preference_list(&key));
            // The new node is inserted somewhere; nothing else reorders.
            prop_assert_eq!(without(&new, added), old.clone());
            if old[0] != new[0] {
                primary_moved += 1;
                prop_assert_eq!(new[0], added, "a key moved between old nodes");
            }
            let (old_set, new_set) = (replica_set(&before, &key), replica_set(&after, &key));
            if old_set != new_set {
                set_changed += 1;
                prop_assert!(
                    new_set.contains(&added),
                    "{:?} -> {:?} without the new node",
                    old_set,
                    new_set
                );
            }
        }
        let moved = primary_moved as f64 / MOVED_KEYS as f64;
        prop_assert!(moved <= 1.5 / n && moved >= 0.5 / n, "{moved} of primaries moved, N = {n}");
        let changed = set_changed as f64 / MOVED_KEYS as f64;
        prop_assert!(changed <= 1.5 * RF as f64 / n, "{changed} of replica sets changed, N = {n}");
    }

    /// Claim 2, removing: shrinking from N to N - 1 nodes moves about 1/N of the keys'
    /// primaries, never more than 1.5/N, and only keys the removed node was primary for.
    /// Every preference list just loses the removed node.
    #[test]
    fn removing_a_node_moves_about_1_over_n_of_the_keys(
        nodes in node_set(3..=12),
        pick in any::<Index>(),
        prefix in key_prefix(),
    ) {
        let n = nodes.len() as f64;
        let removed = nodes[pick.index(nodes.len())];
        let before = Ring::with_nodes(VNODES, nodes.iter().copied());
        let mut after = before.clone();
        prop_assert!(after.remove_node(removed));

        let exact = fraction_of_ring(before.ownership()[&removed]);
        prop_assert!(
            exact <= 1.5 / n && exact >= 0.5 / n,
            "removed node owned {exact} of the ring, N = {n}"
        );

        let (mut primary_moved, mut set_changed) = (0usize, 0usize);
        for key in keys(&prefix, MOVED_KEYS) {
            let (old, new) = (before.preference_list(&key), after.preference_list(&key));
            prop_assert_eq!(new.clone(), without(&old, removed));
            if old[0] != new[0] {
                primary_moved += 1;
                prop_assert_eq!(old[0], removed, "a key moved away from a node that stayed");
            }
            let (old_set, new_set) = (replica_set(&before, &key), replica_set(&after, &key));
            if old_set != new_set {
                set_changed += 1;
                prop_assert!(
                    old_set.contains(&removed),
                    "{:?} -> {:?} without the removed node",
                    old_set,
                    new_set
                );
            }
        }
        let moved = primary_moved as f64 / MOVED_KEYS as f64;
        prop_assert!(moved <= 1.5 / n && moved >= 0.5 / n, "{moved} of primaries moved, N = {n}");
        let changed = set_changed as f64 / MOVED_KEYS as f64;
        prop_assert!(changed <= 1.5 * RF as f64 / n, "{changed} of replica sets changed, N = {n}");
    }
}

// Claim 3: load balance. A node's load is the share of keys it is primary for. Its precise form
// is the share of the hash space its tokens' arcs cover (`Ring::ownership`), the probability a
// uniformly random key lands on it; that is the main assertion. Sampled keys are the secondary
// check that lookups agree with it.

/// Keys sampled per ring in claim 3.
const LOAD_KEYS: usize = 100_000;

/// `(exact, sampled)` max/mean load of `ring`, checking along the way that every node's sampled
/// key count agrees with its exact share. The count is binomial(`LOAD_KEYS`, share); 6 standard
/// deviations (plus one key for rounding) make a false alarm a 2e-9 event per node, while a
/// lookup that disagreed with `ownership` (an off-by-one arc, a wrong wrap) would still show.
fn max_over_mean(ring: &Ring, prefix: &str) -> (f64, f64) {
    let owned = ring.ownership();
    let n = owned.len() as f64;
    let mut counts = owned
        .keys()
        .map(|&node| (node, 0usize))
        .collect::<std::collections::BTreeMap<_, _>>();
    for key in keys(prefix, LOAD_KEYS) {
        *counts
            .get_mut(&ring.replicas(&key, 1)[0])
            .expect("primary is a member") += 1;
    }
    for (node, &points) in &owned {
        let p = fraction_of_ring(points);
        let expected = LOAD_KEYS as f64 * p;
        let sigma = (expected * (1.0 - p)).sqrt();
        let count = counts[node] as f64;
        assert!(
            (count - expected).abs() <= 6.0 * sigma + 1.0,
            "node {node}: {count} keys, expected {expected:.0} ± {sigma:.0} from its share {p}"
        );
    }
    let exact = fraction_of_ring(*owned.values().max().expect("non-empty")) * n;
    let sampled = *counts.values().max().expect("non-empty") as f64 * n / LOAD_KEYS as f64;
    (exact, sampled)
}

/// Claim 3 as the issue states it, for the clusters this store runs: with 128 virtual nodes
/// and nodes numbered 1..=N, as `kv-node` clusters are, the most loaded node holds at most
/// 1.2x the mean for every N from 3 to 10 (measured maximum: 1.159, at N = 10).
///
/// It is not asserted for larger or arbitrary node sets because there it is false, and not
/// because of the hash. A node's share is `Beta(128, 128(N-1))`, whose standard deviation is
/// 8.8% of the mean, so 1.2x is only 2.3 standard deviations out: the chance that *some* node
/// of a random cluster exceeds it is about 1% at N = 3, 5% at N = 6, 13% at N = 12 and 24% at
/// N = 20. Measured over 2,000 random node sets per N this ring exceeds it 0.9%, 5.0%, 15% and
/// 25% of the time (ideal random tokens: 0.9%, 14%, 24%). With ids 1..=N, N = 11 gives 1.211;
/// with ids 0..N, N = 12, 14 and 18 give 1.231, 1.202 and 1.216. 1.2x for every cluster needs
/// more tokens (at 512 vnodes some node exceeds it in ~0.01% of 20-node clusters) or a
/// token-allocation scheme; docs/kv.md says so.
#[test]
fn most_loaded_node_holds_at_most_1_2x_the_mean() {
    for n in 3..=10u32 {
        let ring = Ring::with_nodes(VNODES, 1..=n);
        let (exact, sampled) = max_over_mean(&ring, "user:");
        assert!(exact <= 1.2, "max/mean {exact:.4} at N = {n}");
        // Sampling noise on 100,000 keys is about 0.01 here.
        assert!(
            sampled <= 1.2 + 0.03,
            "sampled max/mean {sampled:.4} at N = {n}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Claim 3 at the bound that holds: with 128 virtual nodes the most loaded of N = 3..=20
    /// nodes holds at most 1.5x the mean (exactly, by ring ownership), and sampled keys agree.
    ///
    /// A random cluster of N <= 20 nodes breaks 1.5x with probability below 3.2e-6 (1.1e-6 on
    /// average over N = 3..=20), so this fails spuriously about once in 40,000 runs; the
    /// failure names the cluster, and proptest persists it for replay. A hash that clustered
    /// tokens would break it at once: with FNV-1a alone (no finalizer) nodes 1..=12 give 2.2x
    /// and 1..=20 give 2.0x. The sampled max/mean may sit above the exact one by binomial
    /// noise, at most 6 standard deviations of `sqrt(1.5 N / LOAD_KEYS)` (0.1 at N = 20).
    #[test]
    fn most_loaded_node_holds_at_most_1_5x_the_mean(
        nodes in node_set(3..=20),
        prefix in key_prefix(),
    ) {
        let n = nodes.len() as f64;
        let ring = Ring::with_nodes(VNODES, nodes);
        let (exact, sampled) = max_over_mean(&ring, &prefix);
        prop_assert!(exact <= 1.5, "max/mean {exact} at N = {n}");
        let noise = 6.0 * (1.5 * n / LOAD_KEYS as f64).sqrt();
        prop_assert!(sampled <= 1.5 + noise, "sampled max/mean {sampled} at N = {n}");
    }
}

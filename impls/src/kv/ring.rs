//! The consistent-hash ring: which nodes hold a key, as in Dynamo (DeCandia et al., SOSP 2007,
//! §4.2).
//!
//! Every physical node owns `vnodes_per_node` *tokens* (virtual nodes) on a 64-bit ring. A key
//! hashes to a point on the same ring, and walking clockwise from that point (the first token
//! `>= key_hash(key)`, wrapping past `u64::MAX` to 0) visits nodes in the key's *preference
//! list*. Repeated visits are skipped, so the list names each node once. The first RF nodes are
//! the key's replicas; the rest are the fallbacks that sloppy quorums and hinted handoff use
//! when a replica is down.
//!
//! # Guarantees
//!
//! - **Same ring everywhere.** The ring is a pure function of `(vnodes_per_node, node set)`:
//!   tokens come from [`key_hash`], which is defined byte for byte below, never from std's
//!   `DefaultHasher`/`RandomState` (seeded per process, and free to change between Rust
//!   releases). Two processes on different platforms and compilers that agree on the node set
//!   agree on every key's preference list, without exchanging tokens.
//! - **Order does not matter.** Adding and removing nodes in any order gives the same ring as
//!   building it from the final node set; in particular `add_node(x)` then `remove_node(x)`
//!   restores a ring `==` to the original, token collisions included (see [`Ring::add_node`]).
//! - **Minimal movement.** Adding a node only inserts it into preference lists (every other
//!   node keeps its relative order), and removing a node only deletes it from them, barring a
//!   64-bit token collision. So a key's primary changes only to the added node, or only away
//!   from the removed one; on average 1/N of the keys move, and about RF/N of the keys see
//!   their replica set change.
//! - **Balance.** With V virtual nodes a node's share of the ring is the sum of V arcs between
//!   random-looking tokens: its mean is 1/N and its relative standard deviation about
//!   `1/sqrt(V)` (9% at V = 128). Balance is therefore statistical, not guaranteed: the
//!   heaviest of N nodes sits a couple of standard deviations above the mean, and at V = 128
//!   some node of a 12-node cluster holds over 1.2x the mean share in about 13% of clusters
//!   (`tests/kv_ring.rs` has the numbers).
//!
//! # Token layout
//!
//! The token of virtual node `i` of node `n` is `key_hash(n.to_le_bytes() ++ (i as
//! u64).to_le_bytes())`: 12 bytes, the node id as a little-endian `u32` followed by the vnode
//! index as a little-endian `u64`, so it does not depend on the platform's `usize`. Changing
//! this layout or [`key_hash`] moves nearly every key, so both are part of the wire format of a
//! cluster and are pinned by tests.

use std::collections::{BTreeMap, BTreeSet};

use super::NodeId;

/// FNV-1a 64-bit offset basis (Fowler, Noll, Vo; <http://www.isthe.com/chongo/tech/comp/fnv/>).
const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime, 2^40 + 2^8 + 0xb3.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A stable 64-bit hash of a key: the same on every process, platform and Rust version.
///
/// Defined as FNV-1a (64-bit) over the bytes, followed by MurmurHash3's `fmix64` finalizer.
/// The result is part of a cluster's on-the-wire agreement (it places keys and tokens), so it
/// will not change; golden values are pinned in the tests.
///
/// Why both halves: FNV-1a is tiny and fully specified, but mixes poorly on its own. Its last
/// step multiplies by a prime with only a few bits set, so keys that differ only in their last
/// byte (`user:1`, `user:2`, …) hash to values that differ by small multiples of about 2^40:
/// they land within 2^48 of each other, far less than one token's arc, and all map to the
/// same node. Tokens suffer too: placed by FNV-1a alone, the most loaded of 12 nodes with 128
/// vnodes owns 2.2x the mean share (1.15x with the finalizer, in line with random placement).
/// `fmix64` is a bijection with full avalanche (every input bit flips each output bit with
/// probability about 1/2), so it spreads those near neighbours uniformly and cannot add
/// collisions to FNV-1a's.
///
/// Not a cryptographic hash: anyone who can choose keys can aim them at one node.
pub fn key_hash(key: &[u8]) -> u64 {
    fmix64(fnv1a64(key))
}

/// FNV-1a, 64-bit.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// MurmurHash3's 64-bit finalizer (Appleby, `fmix64` in MurmurHash3.cpp): a bijection on `u64`.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The token of virtual node `vnode` of `node`, in the layout documented at the module level.
fn vnode_token(node: NodeId, vnode: u64) -> u64 {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&node.to_le_bytes());
    bytes[4..].copy_from_slice(&vnode.to_le_bytes());
    key_hash(&bytes)
}

/// A consistent-hash ring with virtual nodes.
///
/// Invariant: the ring is a function of `vnodes_per_node` and the node set only. `tokens`
/// holds, for every token value of every member, the lowest member id that has that token, so
/// two rings with the same parameters and members compare equal however they were built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    /// Tokens per physical node; at least 1.
    vnodes_per_node: usize,
    /// The members. Kept separately from `tokens` because a member could (with probability
    /// about 2^-64 per token pair) lose every one of its tokens to collisions.
    nodes: BTreeSet<NodeId>,
    /// Token position -> owning node. A key belongs to the first token `>= key_hash(key)`.
    tokens: BTreeMap<u64, NodeId>,
}

impl Ring {
    /// An empty ring whose nodes will each own `vnodes_per_node` tokens.
    ///
    /// # Panics
    ///
    /// If `vnodes_per_node` is 0: a node without tokens would own no keys.
    pub fn new(vnodes_per_node: usize) -> Ring {
        assert!(vnodes_per_node > 0, "vnodes_per_node must be at least 1");
        Ring {
            vnodes_per_node,
            nodes: BTreeSet::new(),
            tokens: BTreeMap::new(),
        }
    }

    /// A ring holding `nodes` (duplicates are ignored). Equal to adding them one by one to
    /// [`Ring::new`] in any order.
    ///
    /// # Panics
    ///
    /// If `vnodes_per_node` is 0.
    pub fn with_nodes(vnodes_per_node: usize, nodes: impl IntoIterator<Item = NodeId>) -> Ring {
        let mut ring = Ring::new(vnodes_per_node);
        for node in nodes {
            ring.add_node(node);
        }
        ring
    }

    /// Adds `node` and its `vnodes_per_node` tokens. Returns false, changing nothing, if it is
    /// already a member.
    ///
    /// If one of its tokens equals a token already on the ring (for the whole ring, probability
    /// about `(N V)^2 / 2^65`: below 1e-9 even for 1,000 nodes of 128 vnodes), the lower node
    /// id keeps that token. The rule depends only on the two ids, so the ring stays
    /// independent of insertion order and [`Ring::remove_node`] can hand the token back.
    pub fn add_node(&mut self, node: NodeId) -> bool {
        self.add_node_with(node, vnode_token)
    }

    /// Removes `node` and its tokens. Returns false, changing nothing, if it is not a member.
    ///
    /// A token `node` held that another member also has (a collision it won) passes to the
    /// lowest such member, so the result equals the ring built without `node`.
    pub fn remove_node(&mut self, node: NodeId) -> bool {
        self.remove_node_with(node, vnode_token)
    }

    /// [`Ring::add_node`] with the token function as a parameter, so tests can force collisions.
    fn add_node_with(&mut self, node: NodeId, token: impl Fn(NodeId, u64) -> u64) -> bool {
        if !self.nodes.insert(node) {
            return false;
        }
        for vnode in 0..self.vnodes_per_node as u64 {
            let owner = self.tokens.entry(token(node, vnode)).or_insert(node);
            *owner = (*owner).min(node);
        }
        true
    }

    /// [`Ring::remove_node`] with the token function as a parameter.
    fn remove_node_with(&mut self, node: NodeId, token: impl Fn(NodeId, u64) -> u64) -> bool {
        if !self.nodes.remove(&node) {
            return false;
        }
        let vnodes = self.vnodes_per_node as u64;
        for vnode in 0..vnodes {
            let t = token(node, vnode);
            if self.tokens.get(&t) != Some(&node) {
                // Already removed (two of this node's own vnodes collided), or held by a lower
                // id that won the collision; either way nothing changes hands.
                continue;
            }
            self.tokens.remove(&t);
            // Only reachable after a 64-bit collision, so the full scan for the next-lowest
            // claimant costs nothing in practice. `nodes` iterates in ascending order, so the
            // first claimant found is the one the ordering rule picks.
            let heir = self
                .nodes
                .iter()
                .copied()
                .find(|&other| (0..vnodes).any(|v| token(other, v) == t));
            if let Some(heir) = heir {
                self.tokens.insert(t, heir);
            }
        }
        true
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: NodeId) -> bool {
        self.nodes.contains(&node)
    }

    /// The members, in ascending id order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.iter().copied()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the ring has no members (every preference list is then empty).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Tokens per physical node, as given to [`Ring::new`]; at least 1.
    pub fn vnodes_per_node(&self) -> usize {
        self.vnodes_per_node
    }

    /// Every distinct member in ring order, starting at the key's position: clockwise from the
    /// first token `>= key_hash(key)`, wrapping past the top of the ring.
    ///
    /// The first RF entries are the key's replicas (see [`Ring::replicas`]); the rest are the
    /// fallbacks hinted handoff uses, in the order to try them. Each member appears exactly
    /// once, except one that lost all of its tokens to hash collisions (never in practice).
    /// Empty if the ring is empty.
    ///
    /// Cost: the walk ends once every member has been seen, which with tokens spread at random
    /// takes about `N ln N` tokens whatever V is.
    pub fn preference_list(&self, key: &[u8]) -> Vec<NodeId> {
        self.walk(key, self.len())
    }

    /// The key's first `min(rf, len())` preference-list entries: its replicas, primary first.
    ///
    /// Distinct, all members, and a prefix of [`Ring::preference_list`]. The walk stops at the
    /// `rf`-th distinct node, so this costs about `rf` token visits, not a full list.
    pub fn replicas(&self, key: &[u8], rf: usize) -> Vec<NodeId> {
        self.walk(key, rf.min(self.len()))
    }

    /// Whether `node` is among `replicas(key, rf)`, without building more of the preference
    /// list than that.
    pub fn is_replica(&self, key: &[u8], rf: usize, node: NodeId) -> bool {
        self.contains(node) && self.walk(key, rf.min(self.len())).contains(&node)
    }

    /// The first `limit` distinct nodes clockwise from the key's position, or fewer if a whole
    /// turn of the ring finds fewer. `limit` is at most `len()`.
    fn walk(&self, key: &[u8], limit: usize) -> Vec<NodeId> {
        let mut found = Vec::with_capacity(limit);
        if limit == 0 {
            return found;
        }
        let h = key_hash(key);
        // `range(h..)` then `range(..h)` visits every token exactly once, starting at the key's
        // successor and wrapping around; `found` is tiny (RF, or N for a full list), so a linear
        // `contains` beats a set.
        for (_, &node) in self.tokens.range(h..).chain(self.tokens.range(..h)) {
            if !found.contains(&node) {
                found.push(node);
                if found.len() == limit {
                    break;
                }
            }
        }
        found
    }

    /// The exact share of the hash space each member is primary for, in points of the 2^64
    /// ring: token `t` owns the arc from its predecessor (exclusive) to `t` (inclusive), and a
    /// node owns the sum of its tokens' arcs.
    ///
    /// Every member is present (with 0 if it holds no token), and the values sum to exactly
    /// 2^64 unless the ring is empty. Divide by `2^64` for a fraction: it is the probability
    /// that a uniformly random key's primary is that node, the precise form of "load".
    pub fn ownership(&self) -> BTreeMap<NodeId, u128> {
        let mut owned: BTreeMap<NodeId, u128> = self.nodes.iter().map(|&n| (n, 0)).collect();
        let Some((&last, _)) = self.tokens.last_key_value() else {
            return owned;
        };
        if self.tokens.len() == 1 {
            // The wrapping arithmetic below would give 0: a lone token owns the whole ring.
            *owned
                .get_mut(&self.tokens[&last])
                .expect("token owner is a member") = 1 << 64;
            return owned;
        }
        let mut previous = last;
        for (&token, node) in &self.tokens {
            // For the first token this is the wrapped arc (last, u64::MAX] ∪ [0, token].
            let arc = token.wrapping_sub(previous);
            *owned.get_mut(node).expect("token owner is a member") += u128::from(arc);
            previous = token;
        }
        owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys a real client might use: short, and differing only in their last bytes.
    fn keys(count: usize) -> impl Iterator<Item = Vec<u8>> {
        (0..count).map(|i| format!("user:{i}").into_bytes())
    }

    #[test]
    fn fnv1a64_matches_published_vectors() {
        // From the FNV reference test suite (test_fnv.c, FNV-1a 64).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fmix64_matches_murmur3() {
        // 0 is a fixed point; fmix64(1) was computed independently (Python, from the C source).
        assert_eq!(fmix64(0), 0);
        assert_eq!(fmix64(1), 0xb456_bcfc_34c2_cb2c);
    }

    /// The hash places keys and tokens for a whole cluster, so a change here is a breaking
    /// change of the cluster's wire format: these values must never change.
    #[test]
    fn key_hash_is_pinned() {
        assert_eq!(key_hash(b""), GOLDEN_EMPTY);
        assert_eq!(key_hash(b"a"), GOLDEN_A);
        assert_eq!(key_hash(b"user:42"), GOLDEN_USER_42);
        assert_eq!(vnode_token(7, 3), GOLDEN_TOKEN_7_3);
    }
    // Computed independently (a few lines of Python following the definitions above).
    const GOLDEN_EMPTY: u64 = 0xefd0_1f60_ba99_2926;
    const GOLDEN_A: u64 = 0x82a2_a958_a9be_ce5b;
    const GOLDEN_USER_42: u64 = 0x9988_17be_e671_8248;
    const GOLDEN_TOKEN_7_3: u64 = 0xdd43_2082_c7b5_f551;

    #[test]
    fn token_layout_is_node_le_u32_then_vnode_le_u64() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0x0102_0304u32.to_le_bytes());
        bytes.extend_from_slice(&5u64.to_le_bytes());
        assert_eq!(vnode_token(0x0102_0304, 5), key_hash(&bytes));
    }

    #[test]
    fn same_node_set_gives_same_ring_in_any_order() {
        let forward = Ring::with_nodes(64, [1, 2, 3, 4, 5]);
        let backward = Ring::with_nodes(64, [5, 4, 3, 2, 1, 3]);
        assert_eq!(forward, backward);
        for key in keys(1_000) {
            assert_eq!(
                forward.preference_list(&key),
                backward.preference_list(&key)
            );
        }
    }

    #[test]
    fn empty_ring_has_no_replicas() {
        let ring = Ring::new(16);
        assert!(ring.is_empty());
        assert_eq!(ring.len(), 0);
        assert_eq!(ring.nodes().count(), 0);
        assert_eq!(ring.preference_list(b"k"), Vec::<NodeId>::new());
        assert_eq!(ring.replicas(b"k", 3), Vec::<NodeId>::new());
        assert!(!ring.is_replica(b"k", 3, 0));
        assert!(ring.ownership().is_empty());
    }

    #[test]
    #[should_panic(expected = "vnodes_per_node must be at least 1")]
    fn zero_vnodes_panics() {
        Ring::new(0);
    }

    #[test]
    fn membership_and_accessors() {
        let mut ring = Ring::new(8);
        assert!(ring.add_node(9));
        assert!(ring.add_node(2));
        assert!(!ring.add_node(9), "already present");
        assert!(ring.contains(9) && ring.contains(2) && !ring.contains(5));
        assert_eq!(ring.nodes().collect::<Vec<_>>(), [2, 9]);
        assert_eq!((ring.len(), ring.vnodes_per_node()), (2, 8));
        assert!(!ring.remove_node(5), "absent");
        assert!(ring.remove_node(9));
        assert_eq!(ring.nodes().collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn rf_larger_than_node_count_returns_every_node() {
        let ring = Ring::with_nodes(32, [10, 20]);
        for key in keys(200) {
            let mut replicas = ring.replicas(&key, 3);
            assert_eq!(replicas, ring.preference_list(&key));
            replicas.sort_unstable();
            assert_eq!(replicas, [10, 20]);
            assert!(ring.is_replica(&key, 3, 10) && ring.is_replica(&key, 3, 20));
            assert!(!ring.is_replica(&key, 3, 30));
        }
        assert!(ring.replicas(b"k", 0).is_empty());
        assert!(!ring.is_replica(b"k", 0, 10));
    }

    #[test]
    fn replicas_are_a_prefix_of_the_preference_list() {
        let ring = Ring::with_nodes(128, 0..10);
        for key in keys(1_000) {
            let list = ring.preference_list(&key);
            let mut sorted = list.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..10).collect::<Vec<_>>());
            for rf in 0..=12 {
                assert_eq!(ring.replicas(&key, rf), list[..rf.min(10)]);
                for node in 0..12 {
                    assert_eq!(
                        ring.is_replica(&key, rf, node),
                        list[..rf.min(10)].contains(&node)
                    );
                }
            }
        }
    }

    /// A key past the highest token wraps to the lowest one, and a key exactly on a token
    /// belongs to that token.
    #[test]
    fn preference_list_wraps_around_the_top_of_the_ring() {
        let ring = Ring::with_nodes(4, [1, 2, 3]);
        let (&highest, _) = ring.tokens.last_key_value().unwrap();
        let (_, &lowest_owner) = ring.tokens.first_key_value().unwrap();
        let expected_after = |h: u64| -> NodeId {
            let mut walk = ring.tokens.range(h..).chain(ring.tokens.range(..h));
            *walk.next().unwrap().1
        };
        let mut wrapped = 0;
        let mut exact = 0;
        for key in keys(20_000) {
            let h = key_hash(&key);
            let primary = ring.replicas(&key, 1)[0];
            assert_eq!(primary, expected_after(h));
            if h > highest {
                assert_eq!(primary, lowest_owner);
                wrapped += 1;
            }
            exact += usize::from(ring.tokens.contains_key(&h));
        }
        // 12 tokens: the arc past the highest one is about 1/13 of the ring.
        assert!(wrapped > 0, "no key landed past the highest token");
        assert_eq!(exact, 0, "a key hit a token exactly: 1 in 2^60 odds");

        // The full walk continues after wrapping, so the last nodes of a wrapped key's list
        // come from the bottom of the ring.
        let key = keys(20_000).find(|k| key_hash(k) > highest).unwrap();
        let list = ring.preference_list(&key);
        assert_eq!(list[0], lowest_owner);
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn add_then_remove_restores_the_ring() {
        let original = Ring::with_nodes(128, [3, 1, 4, 15, 9, 2, 6]);
        for extra in [0, 5, 7, 100, u32::MAX] {
            let mut ring = original.clone();
            assert!(ring.add_node(extra));
            assert_ne!(ring, original);
            assert!(ring.remove_node(extra));
            assert_eq!(ring, original);
        }
        let mut ring = original.clone();
        for node in [3, 1, 4, 15, 9, 2, 6] {
            assert!(ring.remove_node(node));
        }
        assert_eq!(ring, Ring::new(128));
    }

    /// Forces every node onto the same tokens, so each token is contested by all members: the
    /// lowest id must own them all, and removal must hand them to the next-lowest.
    #[test]
    fn colliding_tokens_go_to_the_lowest_id_in_any_order() {
        let shared = |_node: NodeId, vnode: u64| vnode.wrapping_mul(u64::MAX / 5);
        let build = |order: &[NodeId]| {
            let mut ring = Ring::new(4);
            for &n in order {
                assert!(ring.add_node_with(n, shared));
            }
            ring
        };
        let ring = build(&[7, 3, 5]);
        assert_eq!(ring, build(&[5, 3, 7]));
        assert!(ring.tokens.values().all(|&n| n == 3));

        let mut removed = ring.clone();
        assert!(removed.remove_node_with(3, shared));
        assert_eq!(removed, build(&[7, 5]));
        assert!(removed.tokens.values().all(|&n| n == 5));
        assert_eq!(removed.tokens.len(), 4);

        // 3 lost nothing to 7, so removing 7 changes only the member set.
        let mut without_7 = ring.clone();
        assert!(without_7.remove_node_with(7, shared));
        assert_eq!(without_7, build(&[3, 5]));

        // A member with no tokens left is still a member and still listed by `nodes`, but
        // appears in no preference list; the walk ends after one full turn.
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.preference_list(b"k"), [3]);
        assert_eq!(ring.ownership()[&5], 0);
    }

    /// A node's own vnodes colliding with each other must not break removal.
    #[test]
    fn self_colliding_vnodes_are_removed_once() {
        let halves = |node: NodeId, vnode: u64| u64::from(node) * 1_000 + vnode % 2;
        let mut ring = Ring::new(4);
        assert!(ring.add_node_with(1, halves));
        assert!(ring.add_node_with(2, halves));
        assert_eq!(ring.tokens.len(), 4);
        assert!(ring.remove_node_with(1, halves));
        let mut expected = Ring::new(4);
        assert!(expected.add_node_with(2, halves));
        assert_eq!(ring, expected);
    }

    #[test]
    fn ownership_sums_to_the_whole_ring() {
        let one = Ring::with_nodes(1, [42]);
        assert_eq!(one.ownership(), BTreeMap::from([(42, 1u128 << 64)]));
        for n in 1..=8 {
            let ring = Ring::with_nodes(16, 0..n);
            let owned = ring.ownership();
            assert_eq!(owned.len(), n as usize);
            assert_eq!(owned.values().sum::<u128>(), 1 << 64);
        }
    }
}

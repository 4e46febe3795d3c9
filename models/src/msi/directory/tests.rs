//! The directory model's invariants hold, its interesting states are reached, and each bug
//! variant breaks a property it claims.

use super::*;
use impls::msi::core::{CacheState, DirState};
use stateright::{Checker, HasDiscoveries};

/// The states the correct model generates (repeats included) with 3 and 2 caches, each
/// unique state once expanded: deterministic for an exhaustive run.
fn generated(caches: usize) -> usize {
    match caches {
        3 => 1_888_777,
        2 => 31_265,
        _ => unreachable!("only 3 and 2 caches are pinned"),
    }
}

/// Stops a run at twice what the correct model generates, so that a change that blows the
/// space up fails in seconds rather than exploring it all; `assert_exhausted` then fails
/// it, so every run the tests judge is exhaustive.
fn capped(caches: usize) -> stateright::CheckerBuilder<DirModel> {
    DirModel {
        caches,
        ..DirModel::default()
    }
    .checker()
    .threads(2)
    .target_state_count(2 * generated(caches))
}

/// Fails unless `checker` ran out of states before its cap.
fn assert_exhausted(checker: &impl Checker<DirModel>, caches: usize) {
    assert!(
        checker.state_count() < 2 * generated(caches),
        "{caches} caches: the run reached its cap of {} generated states (the correct model \
         generates {})",
        2 * generated(caches),
        generated(caches)
    );
}

/// With 3 caches (the default) and with 2 (which `check` also pins), every invariant
/// holds and every witness is reached.
#[test]
fn default_bounds_hold_and_reach_the_interesting_states() {
    for caches in [3, 2] {
        let checker = capped(caches).spawn_dfs().join();
        assert_exhausted(&checker, caches);
        checker.assert_properties();
    }
}

#[test]
fn every_variant_breaks_a_property_it_claims() {
    for bug in BUGS {
        let checker = DirModel {
            bug: Some(bug),
            ..DirModel::default()
        }
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
        let breaks = super::super::variant(bug).breaks;
        let found: Vec<&str> = checker.discoveries().keys().copied().collect();
        assert!(
            found.iter().any(|p| breaks.contains(p)),
            "{bug:?} was not caught: {found:?}"
        );
    }
}

#[test]
fn the_controllers_behind_core_step_give_the_pinned_state_counts() {
    // The counts `check msi --protocol directory` pins: stepping the controllers through
    // `Core::step` must explore exactly the states the free functions did.
    for (caches, unique) in [(3, 459_248), (2, 10_608)] {
        let checker = capped(caches).spawn_bfs().join();
        assert_exhausted(&checker, caches);
        assert_eq!(checker.unique_state_count(), unique, "{caches} caches");
    }
}

#[test]
fn the_directory_takes_every_bug_of_the_core_in_its_order() {
    use impls::sansio::BugSwitches;
    assert_eq!(&BUGS[..], Bug::ALL);
    assert_eq!(VARIANTS, super::super::VARIANTS);
    for (v, bug) in VARIANTS.iter().zip(BUGS) {
        assert_eq!((v.name, v.summary), (bug.name(), bug.switch().summary));
    }
}

/// The diagram's lanes, actors and arrows name only caches and the directory; every
/// message waits in a network.
#[test]
fn arrows_join_caches_and_the_directory() {
    use crate::Protocol;
    let model = DirModel::default();
    assert_eq!(model.lanes(), ["c1", "c2", "c3", "dir"]);
    let [exchanges, sends, delivers, _] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert!(sends > 0 && delivers > 0);
    assert_eq!(exchanges, 0);
}

use crate::msi::{holds, witnesses_holding};

/// A model with `caches` caches, one address and the default values, built with `bug`.
fn model(caches: usize, bug: Option<Bug>) -> DirModel {
    DirModel {
        caches,
        bug,
        ..DirModel::default()
    }
}

/// Processor `c` issues `op` on address 0, which must be enabled.
fn cpu(m: &DirModel, s: &DirModelState, c: usize, op: CpuOp) -> DirModelState {
    let action = DirAction::Cpu(c, 0, op);
    let mut enabled = Vec::new();
    m.actions(s, &mut enabled);
    assert!(enabled.contains(&action), "{action:?} is not enabled");
    m.next_state(s, action).unwrap()
}

/// The enabled delivery to `to` of a message that `is` accepts, if any.
fn delivery(m: &DirModel, s: &DirModelState, to: Node, is: fn(&Msg) -> bool) -> Option<DirAction> {
    let mut enabled = Vec::new();
    m.actions(s, &mut enabled);
    enabled
        .into_iter()
        .find(|a| matches!(a, DirAction::Deliver(_, e) if e.to == to && is(&e.msg)))
}

/// Delivers to `to` a message that `is` accepts, which must be enabled.
fn deliver(m: &DirModel, s: &DirModelState, to: Node, is: fn(&Msg) -> bool) -> DirModelState {
    let action = delivery(m, s, to, is).expect("the delivery is enabled");
    m.next_state(s, action).unwrap()
}

const C0: Node = Node::Cache(0);
const C1: Node = Node::Cache(1);

fn get_m(m: &Msg) -> bool {
    matches!(m, Msg::GetM)
}
fn get_s(m: &Msg) -> bool {
    matches!(m, Msg::GetS)
}
fn put_m(m: &Msg) -> bool {
    matches!(m, Msg::PutM(_))
}
fn data(m: &Msg) -> bool {
    matches!(m, Msg::Data { .. })
}
fn put_ack(m: &Msg) -> bool {
    matches!(m, Msg::PutAck)
}

/// c1 stores 1 and reaches M: Store, the directory grants M, the data arrives.
fn c1_owns_1(m: &DirModel) -> DirModelState {
    let s = cpu(m, &m.init_states()[0], 0, CpuOp::Store(1));
    let s = deliver(m, &s, Node::Dir, get_m);
    deliver(m, &s, C0, data)
}

/// The default model's initial state with cache `c`'s line for address `a` in `state`,
/// for each `(c, a, state)` in `lines`.
fn with_lines(m: &DirModel, lines: &[(usize, usize, CacheState)]) -> DirModelState {
    let mut s = m.init_states().remove(0);
    for &(c, a, state) in lines {
        s.caches[c][a].state = state;
    }
    s
}

/// SWMR, by name, at each boundary: a second M copy breaks it, and so does any copy the
/// processor may read (S, and the S-to-M transients SM^AD and SM^A, which still hold their
/// shared copy) beside an M copy; copies that may not be read (IS^D, IM^AD, MI^A, ...) do
/// not; one M copy alone and many readers hold; the last address is checked too.
#[test]
fn swmr_breaks_on_a_readable_copy_beside_an_m_copy() {
    use CacheState::*;
    let m = DirModel::default();
    let swmr = |lines: &[(usize, usize, CacheState)]| holds(&m, "SWMR", &with_lines(&m, lines));
    assert!(!swmr(&[(0, 0, M), (1, 0, M)]), "two writers");
    for reader in [S, SmAd, SmA] {
        assert!(!swmr(&[(0, 0, M), (2, 0, reader)]), "M beside {reader:?}");
    }
    for other in [IsD, ImAd, ImA, MiA, SiA, IiA] {
        assert!(swmr(&[(0, 0, M), (1, 0, other)]), "M beside {other:?}");
    }
    assert!(swmr(&[(1, 0, M)]), "one writer alone");
    assert!(
        swmr(&[(0, 0, S), (1, 0, SmAd), (2, 0, SmA)]),
        "readers only"
    );
    let two = DirModel {
        addrs: 2,
        ..DirModel::default()
    };
    let mut s = with_lines(&two, &[(0, 0, M), (1, 1, M)]);
    assert!(holds(&two, "SWMR", &s), "one writer per address");
    s.caches[2][1].state = S;
    assert!(
        !holds(&two, "SWMR", &s),
        "a writer and a reader of the second address"
    );
}

/// DataValue, by name: after c1 stores 1 and evicts, c2's miss reads memory. Memory has 1
/// when the eviction wrote it back (holds) and 0 under no-writeback (breaks): the two runs
/// differ only in the bug, and the stale load is the one the ghost records.
#[test]
fn data_value_breaks_on_a_stale_load_and_holds_on_a_fresh_one() {
    let run = |bug| {
        let m = model(2, bug);
        let s = cpu(&m, &c1_owns_1(&m), 0, CpuOp::Evict);
        let s = deliver(&m, &s, Node::Dir, put_m);
        let s = cpu(&m, &s, 1, CpuOp::Load);
        let s = deliver(&m, &s, Node::Dir, get_s);
        let s = deliver(&m, &s, C1, data);
        (m, s)
    };
    let (m, fresh) = run(None);
    assert!(holds(&m, "DataValue", &fresh));
    assert_eq!(fresh.caches[1][0].value, 1);
    let (m, stale) = run(Some(Bug::NoWriteback));
    assert!(!holds(&m, "DataValue", &stale));
    let recorded = stale.ghost.stale_load.unwrap();
    assert_eq!((recorded.cache, recorded.addr), (1, 0));
    assert_eq!((recorded.got, recorded.expected), (0, 1));
    // A hit completes in the processor's step; the ghost blames that processor.
    let later = cpu(&m, &stale, 1, CpuOp::Load);
    assert_eq!(
        later.ghost.stale_load, stale.ghost.stale_load,
        "the first is kept"
    );
}

/// A load that hits in S after a stale miss is stale too, and is recorded against the
/// processor that issued it when it is the first.
#[test]
fn a_stale_hit_is_blamed_on_its_processor() {
    let m = model(2, Some(Bug::NoWriteback));
    let s = cpu(&m, &c1_owns_1(&m), 0, CpuOp::Evict);
    let s = deliver(&m, &s, Node::Dir, put_m);
    let s = cpu(&m, &s, 1, CpuOp::Load);
    let s = deliver(&m, &s, Node::Dir, get_s);
    let mut s = deliver(&m, &s, C1, data);
    s.ghost.stale_load = None;
    let s = cpu(&m, &s, 1, CpuOp::Load);
    assert_eq!(s.ghost.stale_load.map(|l| l.cache), Some(1));
}

/// The unordered-forwards deadlock, built step by step: c1 owns the line, c2's GetS makes
/// the directory forward a Fwd-GetS to c1 and wait in S^D, c1 evicts, and the directory
/// acknowledges the stale PutM. With forwards ordered, the Put-Ack waits behind the
/// Fwd-GetS; without, it overtakes it and c1 (back in I) can never take the Fwd-GetS.
fn before_the_put_ack(bug: Option<Bug>) -> (DirModel, DirModelState) {
    let m = model(2, bug);
    let s = cpu(&m, &c1_owns_1(&m), 1, CpuOp::Load);
    let s = deliver(&m, &s, Node::Dir, get_s);
    let s = cpu(&m, &s, 0, CpuOp::Evict);
    let s = deliver(&m, &s, Node::Dir, put_m);
    (m, s)
}

/// NoDeadlock, by name: the stuck state breaks it, and the state one step before it (one
/// processor request still enabled) holds; a quiescent state with nothing enabled (a
/// model without caches) holds too, which is what the quiescence clause is for.
#[test]
fn no_deadlock_breaks_where_nothing_is_enabled_and_the_system_is_busy() {
    let (m, s) = before_the_put_ack(None);
    assert!(
        delivery(&m, &s, C0, put_ack).is_none(),
        "the Put-Ack is queued behind the Fwd-GetS"
    );
    assert!(holds(&m, "NoDeadlock", &s));
    let (m, s) = before_the_put_ack(Some(Bug::UnorderedForwards));
    let s = deliver(&m, &s, C0, put_ack);
    assert!(holds(&m, "NoDeadlock", &s), "c1 may still issue a load");
    let stuck = cpu(&m, &s, 0, CpuOp::Load);
    assert!(m.next_states(&stuck).is_empty());
    assert!(!holds(&m, "NoDeadlock", &stuck));
    let none = model(0, None);
    let idle = none.init_states().remove(0);
    assert!(none.next_states(&idle).is_empty());
    assert!(holds(&none, "NoDeadlock", &idle));
}

/// `quiescent` is false while anything is in flight: a message, a forwarded request, a
/// transient line, or a directory entry in S^D.
#[test]
fn quiescence_needs_every_network_empty_and_every_line_stable() {
    let m = DirModel::default();
    let init = m.init_states().remove(0);
    assert!(m.quiescent(&init));
    let mut s = init.clone();
    s.net.push((
        0,
        Envelope {
            to: Node::Dir,
            from: C0,
            msg: Msg::GetS,
        },
    ));
    assert!(!m.quiescent(&s), "a request in flight");
    let mut s = init.clone();
    s.forwards[2][0].push(Msg::PutAck);
    assert!(!m.quiescent(&s), "a forwarded request queued");
    let mut s = init.clone();
    s.caches[2][0].state = CacheState::IsD;
    assert!(!m.quiescent(&s), "a transient line");
    let mut s = init.clone();
    s.dirs[0].state = DirState::SD;
    assert!(!m.quiescent(&s), "the directory waits for data");
    let mut s = init;
    s.caches[1][0].state = CacheState::M;
    s.dirs[0].state = DirState::M;
    assert!(m.quiescent(&s), "stable lines, nothing in flight");
}

/// No witness holds in the initial state, and each is reached by the short run that shows
/// its behaviour.
#[test]
fn each_witness_is_shown_by_its_own_short_run() {
    let m = DirModel::default();
    let init = m.init_states().remove(0);
    assert_eq!(witnesses_holding(&m, &init), Vec::<&str>::new());
    let owns = c1_owns_1(&m);
    assert_eq!(witnesses_holding(&m, &owns), ["ModifiedReached"]);
    // c2 asks for M: the directory forwards the GetM to the owner c1.
    let s = cpu(&m, &owns, 1, CpuOp::Store(0));
    let s = deliver(&m, &s, Node::Dir, get_m);
    assert_eq!(
        witnesses_holding(&m, &s),
        ["ModifiedReached", "OwnershipForwarded"]
    );
    // c1 evicts: its data reaches memory.
    let s = cpu(&m, &owns, 0, CpuOp::Evict);
    let s = deliver(&m, &s, Node::Dir, put_m);
    assert_eq!(witnesses_holding(&m, &s), ["DirtyDataReachesMemory"]);
    // c1 and c2 share the line; c2 evicts (SI^A) and c1's upgrade invalidates it (II^A).
    let s = cpu(&m, &init, 0, CpuOp::Load);
    let s = deliver(&m, &s, Node::Dir, get_s);
    let s = deliver(&m, &s, C0, data);
    assert_eq!(
        witnesses_holding(&m, &s),
        Vec::<&str>::new(),
        "one sharer is not many"
    );
    let s = cpu(&m, &s, 1, CpuOp::Load);
    let s = deliver(&m, &s, Node::Dir, get_s);
    let shared = deliver(&m, &s, C1, data);
    assert_eq!(witnesses_holding(&m, &shared), ["ManySharers"]);
    let s = cpu(&m, &shared, 1, CpuOp::Evict);
    let s = cpu(&m, &s, 0, CpuOp::Store(1));
    let s = deliver(&m, &s, Node::Dir, get_m);
    let s = deliver(&m, &s, C1, |m| matches!(m, Msg::Inv(_)));
    assert_eq!(witnesses_holding(&m, &s), ["InvalidatedWhileEvicting"]);
    // Its Inv-Ack reaches c1 before the data: c1 has counted one ack too many.
    let s = deliver(&m, &s, C0, |m| matches!(m, Msg::InvAck));
    assert_eq!(
        witnesses_holding(&m, &s),
        ["AcksOvertakeData", "InvalidatedWhileEvicting"]
    );
    let s = deliver(&m, &s, C0, data);
    assert_eq!(
        witnesses_holding(&m, &s),
        [
            "ModifiedReached",
            "UpgradeInvalidatesSharers",
            "InvalidatedWhileEvicting"
        ]
    );
}

/// Under `unordered-forwards` a Fwd-GetM travels on the unordered network, and
/// `OwnershipForwarded` sees it there too, so that the witness reads the same in every
/// variant.
#[test]
fn ownership_forwarded_sees_an_unordered_fwd_get_m() {
    let m = model(2, Some(Bug::UnorderedForwards));
    let s = cpu(&m, &c1_owns_1(&m), 1, CpuOp::Store(0));
    let s = deliver(&m, &s, Node::Dir, get_m);
    assert!(s.forwards.iter().flatten().all(Vec::is_empty));
    assert!(holds(&m, "OwnershipForwarded", &s));
}

/// The ordered network carries the directory's forwarded requests (Fwd-GetS, Fwd-GetM, Inv,
/// Put-Ack) and nothing else: data from the directory is a response, and what a cache
/// sends never is. (Were data from the directory ordered too, the space would not change,
/// because a cache stalls every forwarded request while it waits for data; this pins the
/// primer's networks, which the traces name.)
#[test]
fn only_the_directorys_forwarded_requests_are_ordered() {
    let from = |from, msg| Envelope { to: C0, from, msg };
    for msg in [Msg::FwdGetS(1), Msg::FwdGetM(1), Msg::Inv(1), Msg::PutAck] {
        assert!(is_forward(&from(Node::Dir, msg)), "{msg:?}");
        assert!(!is_forward(&from(C1, msg)), "{msg:?} from a cache");
    }
    let data = Msg::Data {
        value: 0,
        acks: 0,
        from_owner: false,
    };
    for msg in [data, Msg::InvAck, Msg::WriteBack(Some(0))] {
        assert!(!is_forward(&from(Node::Dir, msg)), "{msg:?}");
    }
}

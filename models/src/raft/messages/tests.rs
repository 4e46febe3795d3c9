//! The message-level model's pinned numbers, its bug variants, its words and its symmetry.

use super::symmetry::permutations;
use super::*;
use crate::coverage::{never_fired, Counted};
use crate::Protocol;
use stateright::{Checker, Expectation, HasDiscoveries};

/// The states the correct model generates at the default bounds, each unique state once
/// expanded: the cap of [`capped`] is twice this, so that a change that blows the space up
/// fails in seconds rather than exploring it all.
const GENERATED: usize = 905_919;

/// `model`'s checker, depth-first with symmetry as `check` runs it, capped.
fn capped(model: RaftMsgModel) -> stateright::CheckerBuilder<RaftMsgModel> {
    model
        .checker()
        .threads(2)
        .symmetry_fn(RaftMsgState::representative)
        .target_state_count(2 * GENERATED)
}

/// The default bounds: every safety property holds, every witness is reached, every
/// action kind fires, and the space has the pinned size.
#[test]
fn default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
    let counted = Counted::new(RaftMsgModel::default()).expect("few enough properties");
    let checker = counted
        .clone()
        .checker()
        .threads(2)
        .symmetry_fn(RaftMsgState::representative)
        .target_state_count(2 * GENERATED)
        .spawn_dfs()
        .join();
    counted.counts().stop();
    assert!(
        checker.state_count() < 2 * GENERATED,
        "the run reached its cap: the space grew"
    );
    let table = counted.counts().table();
    let problems = PIN.problems(checker.unique_state_count() as u64, &never_fired(&table));
    assert!(problems.is_empty(), "{problems:#?}\ncoverage: {table:#?}");
    for p in RaftMsgModel::default().properties() {
        match (p.expectation, p.name) {
            (Expectation::Always, name) => checker.assert_no_discovery(name),
            (_, name) => {
                checker.assert_any_discovery(name);
            }
        }
    }
}

/// A space small enough for breadth-first search: one term, no faults. Both strategies
/// find the same states, and symmetry divides them.
#[test]
fn strategies_agree_on_the_fault_free_single_term_space() {
    let model = RaftMsgModel {
        max_term: 1,
        heartbeats: 0,
        crashes: 0,
        drops: 0,
        duplicates: 0,
        compactions: 0,
        ..RaftMsgModel::default()
    };
    let dfs = model.clone().checker().threads(2).spawn_dfs().join();
    let bfs = model.clone().checker().threads(2).spawn_bfs().join();
    let sym = capped(model).spawn_dfs().join();
    dfs.assert_no_discovery("ElectionSafety");
    bfs.assert_no_discovery("ElectionSafety");
    dfs.assert_any_discovery("EntryCommitted");
    sym.assert_no_discovery("StateMachineSafety");
    assert_eq!(dfs.unique_state_count(), bfs.unique_state_count());
    assert_eq!(
        (dfs.unique_state_count(), sym.unique_state_count()),
        (PLAIN_T1, SYMMETRIC_T1)
    );
}

/// Unique states of the fault-free, single-term space.
const PLAIN_T1: usize = 1_219;
/// The same with symmetry reduction.
const SYMMETRIC_T1: usize = 208;

/// The bugs this model catches within [`BUG_RUN_CAP`] generated states, depth-first with
/// symmetry at the bounds of [`RaftMsgModel::for_bug`]: every core bug.
const CAUGHT: [Bug; 6] = [
    Bug::VoteWithoutLogCheck,
    Bug::CommitPreviousTerm,
    Bug::ForgetVoteOnRestart,
    Bug::SkipPrevLogCheck,
    Bug::LeaderAcceptsStaleAppend,
    Bug::TruncateWithoutConflict,
];

/// Generated states after which a bug run gives up.
const BUG_RUN_CAP: usize = 1_500_000;

/// Whether `bug`'s run breaks one of the properties its variant claims.
fn assert_caught(bug: Bug) {
    let variant = VARIANTS[Bug::ALL.iter().position(|b| *b == bug).expect("a core bug")];
    assert_eq!(bug.switch().name, variant.name);
    let checker = RaftMsgModel::for_bug(bug)
        .checker()
        .threads(2)
        .symmetry_fn(RaftMsgState::representative)
        .finish_when(HasDiscoveries::AnyFailures)
        .target_state_count(BUG_RUN_CAP)
        .spawn_dfs()
        .join();
    let safety = RaftMsgModel::default().properties();
    let failed: Vec<&str> = checker
        .discoveries()
        .keys()
        .copied()
        .filter(|name| {
            safety
                .iter()
                .any(|p| p.name == *name && p.expectation == Expectation::Always)
        })
        .collect();
    assert!(
        failed.iter().any(|p| variant.breaks.contains(p)),
        "{} broke {failed:?}, none of {:?}",
        variant.name,
        variant.breaks
    );
}

/// Each of these core bugs breaks one of the properties its variant claims.
#[test]
fn every_caught_variant_breaks_a_property_it_claims() {
    for bug in CAUGHT {
        assert_caught(bug);
    }
}

/// The safety properties that no core bug breaks are named here, so that one that loses
/// its variant is a decision: each is guarded by a threshold test instead.
#[test]
fn safety_properties_without_a_variant_are_the_declared_ones() {
    let unbroken: Vec<&str> = RaftMsgModel::default()
        .properties()
        .iter()
        .filter(|p| p.expectation == Expectation::Always)
        .map(|p| p.name)
        .filter(|name| !VARIANTS.iter().any(|v| v.breaks.contains(name)))
        .collect();
    assert_eq!(
        unbroken,
        [
            "CommitIndexNeverDecreases",
            "MatchIndexNeverDecreasesWithinTerm",
            "LeaderNeverVotesForAnother",
            "DurableBeforeSend"
        ]
    );
}

#[test]
fn variant_names_are_the_cores_and_round_trip() {
    for bug in Bug::ALL {
        assert_eq!(bug_from_name(bug.switch().name), Some(*bug));
    }
    assert_eq!(bug_from_name("nosuch"), None);
}

/// Takes the first enabled action that `pick` accepts, and checks it leads somewhere.
fn take(
    model: &RaftMsgModel,
    s: &RaftMsgState,
    pick: impl Fn(&RaftMsgAction) -> bool,
) -> (RaftMsgAction, RaftMsgState) {
    let mut enabled = Vec::new();
    model.actions(s, &mut enabled);
    let action = enabled
        .into_iter()
        .find(|a| pick(a))
        .unwrap_or_else(|| panic!("no such action enabled in {s:#?}"));
    let next = model
        .next_state(s, action.clone())
        .expect("an enabled action is taken");
    (action, next)
}

/// Delivers the first message in flight from `from` to `to` whose words start with `kind`.
fn deliver(
    model: &RaftMsgModel,
    s: &RaftMsgState,
    from: NodeId,
    to: NodeId,
    kind: &str,
) -> (RaftMsgAction, RaftMsgState) {
    take(model, s, |a| match a {
        RaftMsgAction::Deliver(e) => {
            e.from == from && e.to == to && words::show_message(&e.message).starts_with(kind)
        }
        _ => false,
    })
}

/// n1 times out, n2 votes for it: n1 leads term 1 with its no-op.
fn elect_n1(model: &RaftMsgModel) -> RaftMsgState {
    let s = model.init_states().remove(0);
    let (_, s) = take(model, &s, |a| *a == RaftMsgAction::Timeout(0));
    let (_, s) = deliver(model, &s, 0, 1, "RequestVote{");
    let (_, s) = deliver(model, &s, 1, 0, "RequestVoteResponse");
    s
}

#[test]
fn an_election_and_a_commit_in_protocol_words() {
    let model = RaftMsgModel {
        values: 1,
        ..RaftMsgModel::default()
    };
    let s = model.init_states().remove(0);
    let (timeout, s1) = take(&model, &s, |a| *a == RaftMsgAction::Timeout(0));
    assert_eq!(
        model.describe_action(&s, &timeout),
        "n1 times out (follower, term 0)"
    );
    let (vote, _) = deliver(&model, &s1, 0, 1, "RequestVote{");
    assert_eq!(
        model.describe_action(&s1, &vote),
        "n1 -> n2 RequestVote{term: 1, lastLogIndex: 0, lastLogTerm: 0}"
    );
    let s = elect_n1(&model);
    assert_eq!(s.servers[0].node.role(), Role::Leader);
    assert!(s.leaders.contains(&(1, 0)));
    let fields = model.fields(&s);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no field {name}"))
    };
    assert_eq!(field("n1.role"), "leader");
    assert_eq!(field("n1.log"), "[1:noop]");
    assert!(field("network.n1->n2").contains("AppendEntries{term: 1"));
    // Propose v1, replicate it to n2 (the no-op first: one entry per message), commit.
    let (_, s) = take(&model, &s, |a| *a == RaftMsgAction::Propose(0));
    assert_eq!(model.fields(&s)[3].1, "[1:noop, 1:v1]");
    let mut s = s;
    for _ in 0..4 {
        if let Some((k, _)) = s.committed.iter().find(|(_, c)| c.value == 1) {
            assert_eq!(*k, 2);
            break;
        }
        let (_, t) = deliver(&model, &s, 0, 1, "AppendEntries{");
        let (_, t) = deliver(&model, &t, 1, 0, "AppendEntriesResponse");
        s = t;
    }
    assert_eq!(
        s.committed.get(&2),
        Some(&Commit {
            entry_term: 1,
            value: 1,
            in_term: 1
        })
    );
    assert_eq!(s.servers[0].applied, vec![(1, 0), (1, 1)]);
}

#[test]
fn a_restart_keeps_the_durable_state_and_loses_the_rest() {
    let model = RaftMsgModel {
        crashes: 1,
        ..RaftMsgModel::default()
    };
    let s = elect_n1(&model);
    let before = s.servers[0].clone();
    let (restart, s) = take(&model, &s, |a| *a == RaftMsgAction::Restart(0));
    assert!(model
        .describe_action(&elect_n1(&model), &restart)
        .starts_with(
            "n1 crashes and restarts from its durable state (term 1, votedFor n1, 1 entries)"
        ));
    let after = &s.servers[0];
    assert_eq!(after.node.role(), Role::Follower);
    assert_eq!(
        (
            after.node.term(),
            after.node.voted_for(),
            after.node.last_index()
        ),
        (
            before.node.term(),
            before.node.voted_for(),
            before.node.last_index()
        )
    );
    assert_eq!(after.durable, before.node.durable());
    assert_eq!(s.crashes, 1);
}

/// The diagram's lanes are the servers; deliveries end sends, and drops are losses.
#[test]
fn arrows_join_servers() {
    let model = RaftMsgModel {
        drops: 1,
        ..RaftMsgModel::default()
    };
    assert_eq!(model.lanes(), ["n1", "n2", "n3"]);
    let [exchanges, sends, delivers, loses] = crate::testing::arrows_name_lanes(&model, 20_000);
    assert_eq!(exchanges, 0, "every message waits in the network");
    assert!(sends > 0 && delivers > 0 && loses > 0);
}

#[test]
fn renamed_initial_states_are_initial_states() {
    let model = RaftMsgModel::default();
    let s = model.init_states().remove(0);
    for perm in permutations(3) {
        assert_eq!(s.renamed(perm), s, "{perm:?}");
    }
}

proptest::proptest! {
    /// Symmetry reduction is sound only if renaming servers changes no property's verdict
    /// and maps every state of a class to one representative. Random walks through every
    /// variant (buggy states included) check both.
    #[test]
    fn renaming_servers_preserves_properties_and_the_representative(
        variant in 0usize..=Bug::ALL.len(),
        choices in proptest::collection::vec(0usize..1000, 0..40),
        perm in 0usize..6,
    ) {
        let model = RaftMsgModel {
            bug: Bug::ALL.get(variant).copied(),
            ..RaftMsgModel::default()
        };
        let mut s = model.init_states().remove(0);
        for c in choices {
            let mut enabled = Vec::new();
            model.actions(&s, &mut enabled);
            if enabled.is_empty() {
                break;
            }
            let a = enabled.swap_remove(c % enabled.len());
            if let Some(next) = model.next_state(&s, a) {
                s = next;
            }
        }
        let renamed = s.renamed(&permutations(3)[perm]);
        proptest::prop_assert_eq!(renamed.representative(), s.representative());
        for p in model.properties() {
            proptest::prop_assert_eq!(
                (p.condition)(&model, &s),
                (p.condition)(&model, &renamed),
                "{}", p.name
            );
        }
    }
}

/// A step that changes nothing is not taken: a second heartbeat while the first one's
/// messages are all still in flight.
#[test]
fn a_step_that_changes_nothing_is_not_taken() {
    let model = RaftMsgModel {
        heartbeats: 2,
        events: 2,
        ..RaftMsgModel::default()
    };
    let s = elect_n1(&model);
    let (_, s) = take(&model, &s, |a| *a == RaftMsgAction::Heartbeat(0));
    assert_eq!(model.next_state(&s, RaftMsgAction::Heartbeat(0)), None);
}

//! The port against TLC's count, its pin, a path to a commit, the view-only fingerprint,
//! and the soundness of the symmetry reduction.

use super::state::{Acked, Body, Msg, ServerState, VanlightlyState};
use super::symmetry::permutations;
use super::{VanlightlyAction, VanlightlyRaft, PIN, TLC_STATES};
use crate::coverage::{never_fired, Counted};
use stateright::{Checker, Model};
use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

fn fingerprint(s: &VanlightlyState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

#[test]
fn one_election_one_value_without_symmetry_has_tlcs_count_breadth_first() {
    let checker = VanlightlyRaft::default()
        .checker()
        .threads(2)
        .spawn_bfs()
        .join();
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), TLC_STATES);
}

#[test]
fn one_election_one_value_without_symmetry_has_tlcs_count_depth_first() {
    // With one election the auxiliary variables are a function of the view, so the
    // count does not depend on the order of the search.
    let checker = VanlightlyRaft::default()
        .checker()
        .threads(2)
        .spawn_dfs()
        .join();
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), TLC_STATES);
}

#[test]
fn default_config_with_symmetry_explores_the_pinned_space_with_every_witness() {
    // What `check all` asserts of the default run: DFS with symmetry, as `check` runs it.
    let counted = Counted::new(VanlightlyRaft::default()).expect("few properties");
    let checker = counted
        .clone()
        .checker()
        .threads(2)
        .symmetry_fn(VanlightlyState::representative)
        .spawn_dfs()
        .join();
    counted.counts().stop();
    let table = counted.counts().table();
    let problems = PIN.problems(checker.unique_state_count() as u64, &never_fired(&table));
    assert!(problems.is_empty(), "{problems:#?}\ncoverage: {table:#?}");
    checker.assert_properties();
}

#[test]
fn the_symmetric_count_is_the_number_of_classes_in_the_whole_space() {
    // An exploration independent of stateright's: every state by fingerprint, then the
    // distinct representatives among them. The pinned symmetric count (also TLC's with
    // SYMMETRY symmServers) is the number of symmetry classes of TLC's space.
    let m = VanlightlyRaft::default();
    let mut seen = BTreeSet::new();
    let mut classes = BTreeSet::new();
    let mut queue: std::collections::VecDeque<VanlightlyState> = m.init_states().into();
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        if !seen.insert(fingerprint(&s)) {
            continue;
        }
        classes.insert(fingerprint(&s.representative()));
        m.actions(&s, &mut actions);
        queue.extend(
            actions
                .drain(..)
                .map(|a| m.next_state(&s, a).expect("enabled")),
        );
    }
    assert_eq!(seen.len(), TLC_STATES);
    assert_eq!(classes.len() as u64, PIN.unique_states);
}

/// The first enabled action that `pick` accepts, taken from `s`.
fn take(
    m: &VanlightlyRaft,
    s: &VanlightlyState,
    pick: impl Fn(&VanlightlyAction) -> bool,
) -> VanlightlyState {
    let mut actions = Vec::new();
    m.actions(s, &mut actions);
    let a = actions
        .into_iter()
        .find(|a| pick(a))
        .unwrap_or_else(|| panic!("no such action enabled in {s:#?}"));
    m.next_state(s, a)
        .expect("an enabled action has a successor")
}

fn delivers(a: &VanlightlyAction, kind: &str, dest: u8) -> bool {
    use VanlightlyAction::*;
    let kind_of: &'static str = a.into();
    match a {
        UpdateTerm(m)
        | HandleRequestVoteRequest(m)
        | HandleRequestVoteResponse(m)
        | RejectAppendEntriesRequest(m)
        | AcceptAppendEntriesRequest(m)
        | HandleAppendEntriesResponse(m) => kind_of == kind && m.dest == dest,
        _ => false,
    }
}

#[test]
fn an_election_a_request_and_one_acknowledgement_commit_the_value() {
    use VanlightlyAction::*;
    let m = VanlightlyRaft::default();
    let mut s = m.init_states().remove(0);
    s = take(&m, &s, |a| *a == RequestVote(0));
    assert_eq!(s.messages.len(), 2, "one request to each peer");
    s = take(&m, &s, |a| delivers(a, "UpdateTerm", 1));
    s = take(&m, &s, |a| delivers(a, "HandleRequestVoteRequest", 1));
    assert_eq!(s.server(1).voted_for, Some(0));
    s = take(&m, &s, |a| delivers(a, "HandleRequestVoteResponse", 0));
    s = take(&m, &s, |a| *a == BecomeLeader(0));
    assert!(crate::holds(&m, "LeaderElected", &s));
    s = take(&m, &s, |a| *a == ClientRequest(0, 0));
    assert_eq!(s.acked[0], Acked::False);
    s = take(&m, &s, |a| *a == AppendEntries(0, 1));
    s = take(&m, &s, |a| delivers(a, "AcceptAppendEntriesRequest", 1));
    assert_eq!(s.server(1).log, s.server(0).log);
    s = take(&m, &s, |a| delivers(a, "HandleAppendEntriesResponse", 0));
    assert_eq!(s.server(0).match_index[1], 1);
    assert!(!crate::holds(&m, "EntryCommitted", &s));
    s = take(&m, &s, |a| *a == AdvanceCommitIndex(0));
    assert_eq!(s.server(0).commit_index, 1);
    assert_eq!(s.acked[0], Acked::True);
    assert!(crate::holds(&m, "EntryCommitted", &s));
    for p in m.properties() {
        if p.expectation == stateright::Expectation::Always {
            assert!((p.condition)(&m, &s), "{}", p.name);
        }
    }
}

#[test]
fn an_empty_append_entries_request_is_sent_once_and_one_with_an_entry_again() {
    use VanlightlyAction::*;
    let m = VanlightlyRaft::default();
    let mut s = m.init_states().remove(0);
    s = take(&m, &s, |a| *a == RequestVote(0));
    // A leader without its election, to look at AppendEntries alone.
    s.server_mut(0).state = ServerState::Leader;
    let heartbeat = m.append_entries_request(&s, 0, 1);
    s = take(&m, &s, |a| *a == AppendEntries(0, 1));
    // Deliver it and its response: no longer pending, but the same request is refused.
    s = take(&m, &s, |a| delivers(a, "UpdateTerm", 1));
    s = take(&m, &s, |a| delivers(a, "AcceptAppendEntriesRequest", 1));
    s = take(&m, &s, |a| delivers(a, "HandleAppendEntriesResponse", 0));
    assert_eq!(
        s.messages.count(&heartbeat),
        Some(0),
        "delivered, still sent"
    );
    assert_eq!(m.append_entries_request(&s, 0, 1), heartbeat);
    let mut actions = Vec::new();
    m.actions(&s, &mut actions);
    assert!(!actions.contains(&AppendEntries(0, 1)), "{actions:?}");
    // A request with an entry goes out whenever nextIndex points at the entry again
    // (_SendNoRestriction), adding a copy.
    s = take(&m, &s, |a| *a == ClientRequest(0, 0));
    let with_entry = m.append_entries_request(&s, 0, 1);
    s = take(&m, &s, |a| *a == AppendEntries(0, 1));
    s = take(&m, &s, |a| delivers(a, "AcceptAppendEntriesRequest", 1));
    s.server_mut(0).pending_response = Default::default();
    s.server_mut(0).next_index[1] = 1;
    s = take(&m, &s, |a| *a == AppendEntries(0, 1));
    assert_eq!(s.messages.count(&with_entry), Some(1));
}

#[test]
fn the_fingerprint_is_the_views_and_ignores_the_auxiliary_variables() {
    let m = VanlightlyRaft::new(3, 2, 1, 1);
    let s = m.init_states().remove(0);
    let mut aux = s.clone();
    aux.acked[1] = Acked::True;
    aux.election_ctr = 1;
    aux.restart_ctr = 1;
    assert_eq!(fingerprint(&s), fingerprint(&aux));
    assert_ne!(s, aux, "equality still sees every variable");
    // A delivered message stays in messages' domain: the view tells it from an unsent one.
    let msg = Msg {
        term: 2,
        source: 0,
        dest: 1,
        body: Body::RequestVoteResponse { vote_granted: true },
    };
    let mut sent = s.clone();
    sent.messages.send(msg);
    let mut delivered = sent.clone();
    delivered.messages.discard(&msg);
    assert_ne!(fingerprint(&s), fingerprint(&delivered));
    assert_ne!(fingerprint(&sent), fingerprint(&delivered));
    let mut voted = s.clone();
    voted.server_mut(2).voted_for = Some(0);
    assert_ne!(fingerprint(&s), fingerprint(&voted));
}

#[test]
fn under_two_elections_the_view_merges_states_whose_acked_differs() {
    // Why counts beyond one election depend on the search order, in TLC as here: n1 leads
    // term 2 and appends v1 without sending it, n3 wins term 3 without n1's vote and
    // truncates n1's log. The same run without the ClientRequest ends in a state with the
    // same view, but in it v1 can still be requested; whichever state the search reaches
    // first stands for both.
    use VanlightlyAction::*;
    let m = VanlightlyRaft::new(3, 1, 2, 0);
    let run = |with_request: bool| {
        let mut s = m.init_states().remove(0);
        s = take(&m, &s, |a| *a == RequestVote(0));
        s = take(&m, &s, |a| delivers(a, "UpdateTerm", 1));
        s = take(&m, &s, |a| delivers(a, "HandleRequestVoteRequest", 1));
        s = take(&m, &s, |a| delivers(a, "HandleRequestVoteResponse", 0));
        s = take(&m, &s, |a| *a == BecomeLeader(0));
        if with_request {
            s = take(&m, &s, |a| *a == ClientRequest(0, 0));
        }
        s = take(&m, &s, |a| delivers(a, "UpdateTerm", 2));
        s = take(&m, &s, |a| *a == RequestVote(2));
        s = take(&m, &s, |a| delivers(a, "UpdateTerm", 1));
        s = take(&m, &s, |a| delivers(a, "HandleRequestVoteRequest", 1));
        s = take(&m, &s, |a| delivers(a, "HandleRequestVoteResponse", 2));
        s = take(&m, &s, |a| *a == BecomeLeader(2));
        s = take(&m, &s, |a| *a == AppendEntries(2, 0));
        s = take(&m, &s, |a| delivers(a, "UpdateTerm", 0));
        take(&m, &s, |a| delivers(a, "AcceptAppendEntriesRequest", 0))
    };
    let (requested, not_requested) = (run(true), run(false));
    assert!(requested.server(0).log.is_empty(), "n3 truncated v1");
    assert_eq!(fingerprint(&requested), fingerprint(&not_requested));
    assert_eq!(
        (requested.acked[0], not_requested.acked[0]),
        (Acked::False, Acked::Nil)
    );
    let can_request = |s: &VanlightlyState| {
        let mut actions = Vec::new();
        m.actions(s, &mut actions);
        actions.contains(&ClientRequest(2, 0))
    };
    assert!(!can_request(&requested) && can_request(&not_requested));
}

#[test]
fn arrows_name_the_servers_and_every_send_and_delivery_is_drawn() {
    let kinds = crate::testing::arrows_name_lanes(&VanlightlyRaft::default(), 5_000);
    assert_eq!(kinds[0], 0, "no exchanges: every message travels");
    assert!(
        kinds[1] > 0 && kinds[2] > 0,
        "sends and deliveries: {kinds:?}"
    );
}

#[test]
fn describe_and_fields_use_the_specs_names() {
    use crate::Protocol;
    let m = VanlightlyRaft::default();
    let s = m.init_states().remove(0);
    let s1 = m.next_state(&s, VanlightlyAction::RequestVote(0)).unwrap();
    let text = m.describe_action(&s, &VanlightlyAction::RequestVote(0));
    assert_eq!(text, "RequestVote(n1): candidate for term 2");
    let fields = m.fields(&s1);
    let get = |k: &str| &fields.iter().find(|(n, _)| n == k).expect(k).1;
    assert_eq!(get("n1.state"), "Candidate");
    assert_eq!(get("n1.votedFor"), "n1");
    assert_eq!(get("aux.electionCtr"), "1");
    assert!(get("net.messages").contains("RequestVoteRequest{mterm: 2"));
}

/// The state reached from `Init` by taking, at each step, the enabled action that
/// `choices` picks (modulo how many are enabled).
fn walk(m: &VanlightlyRaft, choices: &[usize]) -> VanlightlyState {
    let mut s = m.init_states().remove(0);
    for &c in choices {
        let mut enabled = Vec::new();
        m.actions(&s, &mut enabled);
        if enabled.is_empty() {
            break;
        }
        let a = enabled.swap_remove(c % enabled.len());
        s = m.next_state(&s, a).expect("enabled");
    }
    s
}

fn successor_fingerprints(m: &VanlightlyRaft, s: &VanlightlyState) -> BTreeSet<u64> {
    let mut actions = Vec::new();
    m.actions(s, &mut actions);
    actions
        .into_iter()
        .map(|a| fingerprint(&m.next_state(s, a).expect("enabled")))
        .collect()
}

proptest::proptest! {
    /// Symmetry reduction is sound only if renaming servers changes no property's verdict,
    /// maps every member of a class to one representative, and commutes with the
    /// next-state relation. Random walks under two elections, two values and a restart
    /// reach stale terms, rejections and truncations.
    #[test]
    fn renaming_servers_preserves_properties_successors_and_the_representative(
        servers in 2usize..=4,
        choices in proptest::collection::vec(0usize..1000, 0..60),
        perm in 0usize..24,
    ) {
        let m = VanlightlyRaft::new(servers, 2, 2, 1);
        let s = walk(&m, &choices);
        let perms = permutations(servers);
        let perm = &perms[perm % perms.len()];
        let renamed = s.renamed(perm);
        proptest::prop_assert_eq!(renamed.representative(), s.representative());
        for p in m.properties() {
            proptest::prop_assert_eq!(
                (p.condition)(&m, &s),
                (p.condition)(&m, &renamed),
                "{}", p.name
            );
        }
        let mut actions = Vec::new();
        m.actions(&s, &mut actions);
        let renamed_successors: BTreeSet<u64> = actions
            .into_iter()
            .map(|a| fingerprint(&m.next_state(&s, a).unwrap().renamed(perm)))
            .collect();
        proptest::prop_assert_eq!(successor_fingerprints(&m, &renamed), renamed_successors);
    }

    /// The representative is a member of the class: some renaming of the state.
    #[test]
    fn the_representative_is_a_renaming(
        choices in proptest::collection::vec(0usize..1000, 0..60),
    ) {
        let m = VanlightlyRaft::new(3, 2, 2, 1);
        let s = walk(&m, &choices);
        let rep = s.representative();
        proptest::prop_assert!(permutations(3).iter().any(|p| s.renamed(p) == rep));
    }
}

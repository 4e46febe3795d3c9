//! Threshold tests: for each invariant, hand-built states on either side of the line it
//! draws, evaluated through the model's property table by name.

use super::state::{Acked, Entry, Log, ServerState, VanlightlyState};
use super::VanlightlyRaft;
use crate::holds;
use stateright::Model;

const E1: Entry = Entry { term: 2, value: 0 };
const E2: Entry = Entry { term: 3, value: 1 };

fn model() -> VanlightlyRaft {
    VanlightlyRaft::new(3, 2, 2, 0)
}

/// The initial state with these logs and commit indexes.
fn with_logs(logs: [&[Entry]; 3], commits: [u8; 3]) -> VanlightlyState {
    let mut s = model().init_states().remove(0);
    for (i, (log, commit)) in logs.iter().zip(commits).enumerate() {
        let srv = s.server_mut(i as u8);
        srv.log = Log::of(log);
        srv.commit_index = commit;
    }
    s
}

#[test]
fn no_log_divergence_compares_logs_only_up_to_the_lower_commit_index() {
    let m = model();
    let ok = |s: &VanlightlyState| holds(&m, "NoLogDivergence", s);
    assert!(ok(&with_logs([&[E1], &[E1], &[]], [1, 1, 0])));
    assert!(
        !ok(&with_logs([&[E1], &[E2], &[]], [1, 1, 0])),
        "both committed index 1 with different entries"
    );
    assert!(
        ok(&with_logs([&[E1], &[E2], &[]], [1, 0, 0])),
        "one has not committed it: nothing to compare"
    );
    assert!(
        !ok(&with_logs([&[E1, E2], &[E1], &[E1, E1]], [2, 1, 2])),
        "n1 and n3 both committed 2 and differ there"
    );
    assert!(
        !ok(&with_logs([&[E1], &[], &[]], [1, 1, 0])),
        "a commit index past the end of a log: the spec's log[s][1] is undefined"
    );
}

#[test]
fn leader_has_all_acked_values_asks_only_the_newest_leader_for_acknowledged_values() {
    let m = model();
    let ok = |s: &VanlightlyState| holds(&m, "LeaderHasAllAckedValues", s);
    let mut s = with_logs([&[], &[E1], &[E1]], [0, 1, 1]);
    s.server_mut(0).state = ServerState::Leader;
    s.server_mut(0).current_term = 3;
    s.server_mut(1).current_term = 3;
    s.server_mut(2).current_term = 3;
    s.acked[0] = Acked::False;
    assert!(ok(&s), "not acknowledged yet");
    s.acked[0] = Acked::True;
    assert!(
        !ok(&s),
        "acknowledged, and the leader of the newest term lacks it"
    );
    s.server_mut(2).current_term = 4;
    assert!(ok(&s), "a server has passed the leader's term: it is stale");
    s.server_mut(2).current_term = 3;
    s.server_mut(0).log = Log::of(&[E1]);
    assert!(ok(&s), "the leader holds it");
    s.server_mut(0).log = Log::of(&[]);
    s.server_mut(0).state = ServerState::Candidate;
    assert!(ok(&s), "no leader");
}

#[test]
fn committed_entries_reach_majority_needs_a_quorum_holding_the_leaders_entry() {
    let m = model();
    let ok = |s: &VanlightlyState| holds(&m, "CommittedEntriesReachMajority", s);
    let led = |mut s: VanlightlyState| {
        s.server_mut(0).state = ServerState::Leader;
        s
    };
    assert!(ok(&led(with_logs([&[E1], &[E1], &[]], [1, 0, 0]))));
    assert!(
        !ok(&led(with_logs([&[E1], &[], &[]], [1, 0, 0]))),
        "only the leader holds it"
    );
    assert!(
        !ok(&led(with_logs([&[E1], &[E2], &[E2]], [1, 0, 0]))),
        "others hold a different entry at that index"
    );
    assert!(
        ok(&with_logs([&[E1], &[], &[]], [1, 0, 0])),
        "a follower's commit index asks nothing"
    );
    assert!(
        !ok(&led(with_logs([&[], &[E1], &[E1]], [1, 0, 0]))),
        "the leader's own entry at its commit index is undefined"
    );
    // Two committing leaders (of different terms): one with a quorum is enough.
    let mut two = led(with_logs([&[E1], &[E2], &[E1]], [1, 1, 0]));
    two.server_mut(1).state = ServerState::Leader;
    assert!(ok(&two));
    let mut neither = led(with_logs([&[E1], &[E2], &[]], [1, 1, 0]));
    neither.server_mut(1).state = ServerState::Leader;
    assert!(!ok(&neither));
}

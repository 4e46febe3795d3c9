//! etcd-raft's `raft_paper_test.go`, ported to our node: one test per claim of §5 of the
//! Raft paper (Ongaro and Ousterhout, "In Search of an Understandable Consensus
//! Algorithm"), each shaped as etcd's are (set up, step, check) and quoting the sentence
//! it checks. The assertions are etcd's; the code is ours, against [`crate::raft::core`].
//!
//! Translations:
//! - etcd's `MsgHup` is [`Input::Timeout`](crate::raft::core::Input::Timeout), its
//!   `tick()` is `Input::Tick`, its messages are `Effect::Send`s, and what etcd reads as
//!   unstable entries are our `Persist` effects;
//! - PreVote and CheckQuorum are off ([`harness::config`]): etcd's paper tests assume
//!   plain Raft;
//! - state etcd sets with `becomeFollower`/`loadState` we reach through the API: a restart
//!   from a [`Durable`](crate::raft::core::Durable), or the messages that lead there;
//! - where etcd draws timeouts from a global generator over many runs, we vary
//!   `Config::entropy` and the node's tick count.
//!
//! Each test's logic is a `check_*` function taking an optional [`Bug`]: the `#[test]`
//! runs it on the correct node, and [`every_bug_switch_fails_a_paper_test`] runs it with
//! each bug built in and checks that exactly the tests of [`BUGS_CAUGHT`] fail.

mod harness;
mod section_5_1;
mod section_5_2;
mod section_5_3;
mod section_5_4;

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::raft::core::Bug;
use crate::sansio::BugSwitches;
use harness::{Check, Outcome};

/// Which paper tests fail when a bug is built into the node: for each bug switch, the
/// names of the `#[test]`s that catch it. Every bug of [`Bug::ALL`] is here.
/// [`every_bug_switch_fails_a_paper_test`] checks the table both ways: each listed test
/// fails with the bug, and every other paper test passes with it.
pub(crate) const BUGS_CAUGHT: &[(Bug, &[&str])] = &[
    (Bug::VoteWithoutLogCheck, &["vote_request", "voter"]),
    (
        Bug::CommitPreviousTerm,
        &["leader_only_commits_log_from_current_term"],
    ),
    // The vote is never written, so a new candidate's own vote is not durable either.
    (
        Bug::ForgetVoteOnRestart,
        &[
            "follower_vote",
            "follower_start_new_election",
            "candidate_start_new_election",
        ],
    ),
    // Figure 7's follower (e) takes the leader's entries after a mismatching index 7.
    (
        Bug::SkipPrevLogCheck,
        &["follower_check_msg_app", "leader_sync_follower_log"],
    ),
    (
        Bug::LeaderAcceptsStaleAppend,
        &["reject_stale_term_message"],
    ),
    // A heartbeat after index 0 empties the follower's log.
    (
        Bug::TruncateWithoutConflict,
        &["follower_append_entries", "follower_check_msg_app"],
    ),
];

/// [`BUGS_CAUGHT`] with each bug by its command-line name, for the README.
pub(crate) fn bug_table() -> Vec<(&'static str, &'static [&'static str])> {
    BUGS_CAUGHT
        .iter()
        .map(|&(bug, tests)| (bug.name(), tests))
        .collect()
}

/// Every paper test, by name, with its logic.
fn all_checks() -> impl Iterator<Item = &'static (&'static str, Check)> {
    section_5_1::CHECKS
        .iter()
        .chain(section_5_2::CHECKS)
        .chain(section_5_3::CHECKS)
        .chain(section_5_4::CHECKS)
}

/// Runs a check; a panic (the node's own assertion tripping on a buggy path) counts as a
/// failure too, since the `#[test]` would fail the same way.
fn run(check: Check, bug: Option<Bug>) -> Outcome {
    catch_unwind(AssertUnwindSafe(|| check(bug))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("panicked: {message}"))
    })
}

/// The paper tests are a net for the node's known bugs: each bug switch makes exactly the
/// tests [`BUGS_CAUGHT`] names fail (so the table is the truth for the README), and every
/// bug is caught by at least one.
#[test]
fn every_bug_switch_fails_a_paper_test() {
    let mut problems = Vec::new();
    for &bug in Bug::ALL {
        let listed: BTreeSet<&str> = BUGS_CAUGHT
            .iter()
            .find(|(b, _)| *b == bug)
            .map(|(_, tests)| tests.iter().copied().collect())
            .unwrap_or_default();
        if listed.is_empty() {
            problems.push(format!(
                "{}: no paper test listed as catching it",
                bug.name()
            ));
        }
        let mut failing = BTreeSet::new();
        for &(name, check) in all_checks() {
            if let Err(why) = run(check, Some(bug)) {
                println!("{} fails {name}: {why}", bug.name());
                failing.insert(name);
            }
        }
        if failing != listed {
            problems.push(format!(
                "{}: fails {failing:?}, the table says {listed:?}",
                bug.name()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The table's names are the names of real tests, so the README cannot cite a test that
/// does not exist.
#[test]
fn bug_table_names_real_tests() {
    let names: BTreeSet<&str> = all_checks().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), 24, "one check per ported etcd test: {names:?}");
    for (bug, tests) in bug_table() {
        for test in tests {
            assert!(names.contains(test), "{bug}: no test named {test}");
        }
    }
}

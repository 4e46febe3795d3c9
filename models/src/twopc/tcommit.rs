//! A faithful port of Lamport's `TCommit` specification: the transaction commit problem
//! itself, which [`super::twophase`] implements. Resource managers only; no transaction
//! manager and no messages.
//!
//! ```text
//! Prepare(r) == rmState[r] = "working" /\ rmState' = [rmState EXCEPT ![r] = "prepared"]
//! Decide(r)  == \/ rmState[r] = "prepared" /\ canCommit
//!                  /\ rmState' = [rmState EXCEPT ![r] = "committed"]
//!               \/ rmState[r] \in {"working", "prepared"} /\ notCommitted
//!                  /\ rmState' = [rmState EXCEPT ![r] = "aborted"]
//! canCommit    == \A r \in RM : rmState[r] \in {"prepared", "committed"}
//! notCommitted == \A r \in RM : rmState[r] # "committed"
//! ```

use super::twophase::{RmState, MAX_RMS};
use stateright::{Model, Property};

/// `rmState`, one entry per resource manager.
pub type TCommitState = Vec<RmState>;

/// The spec's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum TCommitAction {
    /// `r` prepares.
    Prepare(usize),
    /// `r` commits: every manager is prepared or committed.
    Commit(usize),
    /// `r` aborts: no manager has committed.
    Abort(usize),
}

/// What `check all` and this crate's tests hold the default, three resource managers, to:
/// TLC's count for `RM = {r1, r2, r3}`. It changes only if the port stops being faithful.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(34);

/// The specification with `rms` resource managers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TCommit {
    /// How many resource managers, 1..=[`MAX_RMS`].
    pub rms: usize,
}

impl TCommit {
    /// The spec for `rms` resource managers.
    ///
    /// # Panics
    ///
    /// If `rms` is 0 or above [`MAX_RMS`].
    pub fn new(rms: usize) -> TCommit {
        assert!(
            (1..=MAX_RMS).contains(&rms),
            "TCommit takes 1 to {MAX_RMS} resource managers, not {rms}"
        );
        TCommit { rms }
    }
}

fn can_commit(s: &TCommitState) -> bool {
    s.iter()
        .all(|r| matches!(r, RmState::Prepared | RmState::Committed))
}

fn not_committed(s: &TCommitState) -> bool {
    s.iter().all(|r| *r != RmState::Committed)
}

impl Model for TCommit {
    type State = TCommitState;
    type Action = TCommitAction;

    fn init_states(&self) -> Vec<TCommitState> {
        vec![vec![RmState::Working; self.rms]]
    }

    fn actions(&self, s: &TCommitState, actions: &mut Vec<TCommitAction>) {
        let (commit, abort) = (can_commit(s), not_committed(s));
        for (r, state) in s.iter().enumerate() {
            match state {
                RmState::Working => {
                    actions.push(TCommitAction::Prepare(r));
                    if abort {
                        actions.push(TCommitAction::Abort(r));
                    }
                }
                RmState::Prepared => {
                    if commit {
                        actions.push(TCommitAction::Commit(r));
                    }
                    if abort {
                        actions.push(TCommitAction::Abort(r));
                    }
                }
                RmState::Committed | RmState::Aborted => {}
            }
        }
    }

    fn next_state(&self, s: &TCommitState, action: TCommitAction) -> Option<TCommitState> {
        let mut n = s.clone();
        match action {
            TCommitAction::Prepare(r) => n[r] = RmState::Prepared,
            TCommitAction::Commit(r) => n[r] = RmState::Committed,
            TCommitAction::Abort(r) => n[r] = RmState::Aborted,
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always(
            "TCConsistent",
            |_: &TCommit, s: &TCommitState| {
                !(s.contains(&RmState::Committed) && s.contains(&RmState::Aborted))
            },
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Checker;

    /// TLC's distinct-state counts for TCommit with 3..=8 resource managers, as the issue
    /// gives them.
    const TLC: [(usize, usize); 6] = [(3, 34), (4, 96), (5, 274), (6, 792), (7, 2_314), (8, 6_816)];

    #[test]
    fn unique_states_equal_tlcs_for_3_to_8_managers() {
        for (rms, tlc) in TLC {
            let checker = TCommit::new(rms).checker().spawn_dfs().join();
            checker.assert_properties();
            assert_eq!(checker.unique_state_count(), tlc, "{rms} resource managers");
        }
    }

    #[test]
    fn tc_consistent_breaks_on_one_commit_beside_one_abort() {
        use RmState::*;
        let m = TCommit::new(3);
        let holds = |s: Vec<RmState>| crate::holds(&m, "TCConsistent", &s);
        assert!(holds(vec![Committed, Committed, Prepared]));
        assert!(holds(vec![Aborted, Working, Prepared]));
        assert!(!holds(vec![Committed, Aborted, Prepared]));
        assert!(!holds(vec![Working, Aborted, Committed]));
    }

    #[test]
    fn commit_needs_every_manager_prepared_and_abort_needs_none_committed() {
        use RmState::*;
        assert!(can_commit(&vec![Prepared, Committed, Prepared]));
        assert!(!can_commit(&vec![Prepared, Working, Prepared]));
        assert!(!can_commit(&vec![Prepared, Aborted, Prepared]));
        assert!(not_committed(&vec![Prepared, Aborted, Working]));
        assert!(!not_committed(&vec![Prepared, Aborted, Committed]));
    }
}

//! Every model's default configuration against its [`Pin`]: the exhausted space has the
//! pinned number of unique states, every action kind fires except the declared dead ones,
//! every `always` property holds and every `sometimes` witness is reached. This is what
//! `check all` asserts of its default runs, here so that the models crate's own tests
//! (and a mutation run over them) fail on a model that silently does less.
//!
//! The test names begin with the exercise, so `cargo test -p models kv::` runs the kv
//! model's unit tests and its pin together.

use super::{never_fired, ActionCounts, Counted, DeadAction, Pin};
use crate::{Checkable, Representative};
use stateright::{Checker, Model};

/// Explores `model` exhaustively, depth-first (with `symmetry` if given), as `check`
/// does by default, and asserts all of the above. Depth-first, because breadth-first
/// keeps whole states in its queue: the kv siblings model's 1.4 million states took
/// 11.5 GB that way.
fn assert_pinned<M: Checkable>(model: M, pin: Pin, symmetry: Option<Representative<M>>) {
    let counted = Counted::new(model).expect("few enough properties to forward");
    let builder = counted.clone().checker().threads(2);
    match symmetry {
        Some(representative) => {
            let checker = builder.symmetry_fn(representative).spawn_dfs().join();
            assert_checked(&counted, &checker, pin);
        }
        None => assert_checked(&counted, &builder.spawn_dfs().join(), pin),
    }
}

fn assert_checked<M: Checkable>(
    counted: &Counted<M>,
    checker: &impl Checker<Counted<M>>,
    pin: Pin,
) {
    // Before assert_properties, which rebuilds discovery paths by taking their actions.
    counted.counts().stop();
    let table = counted.counts().table();
    let problems = pin.problems(checker.unique_state_count() as u64, &never_fired(&table));
    assert!(problems.is_empty(), "{problems:#?}\ncoverage: {table:#?}");
    checker.assert_properties();
}

mod kv {
    #[test]
    fn kv_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(crate::kv::KvModel::default(), crate::kv::PIN, None);
    }

    #[test]
    fn kv_siblings_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        use crate::kv::siblings::{SiblingsModel, PIN};
        super::assert_pinned(SiblingsModel::default(), PIN, None);
    }
}

mod raft {
    use crate::raft::{RaftModel, RaftState, PIN};

    #[test]
    fn raft_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(RaftModel::default(), PIN, Some(RaftState::representative));
    }
}

mod msi {
    use crate::msi::{directory, snooping};

    #[test]
    fn msi_snooping_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(snooping::SnoopModel::default(), snooping::PIN, None);
    }

    #[test]
    fn msi_directory_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(directory::DirModel::default(), directory::PIN, None);
    }
}

mod twopc {
    use crate::twopc::{design, tcommit, twophase};

    #[test]
    fn twopc_design_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(design::TwoPcModel::default(), design::PIN, None);
    }

    #[test]
    fn twopc_twophase_with_three_managers_explores_the_pinned_space() {
        super::assert_pinned(twophase::TwoPhase::new(3), twophase::PIN, None);
    }

    #[test]
    fn twopc_tcommit_with_three_managers_explores_the_pinned_space() {
        super::assert_pinned(tcommit::TCommit::new(3), tcommit::PIN, None);
    }
}

/// TCommit with three managers: 34 states, and both of its action kinds fire.
fn tcommit_problems(pin: Pin) -> Vec<String> {
    let counted = Counted::new(crate::twopc::tcommit::TCommit::new(3)).unwrap();
    let checker = counted.clone().checker().spawn_bfs().join();
    counted.counts().stop();
    pin.problems(
        checker.unique_state_count() as u64,
        &never_fired(&counted.counts().table()),
    )
}

#[test]
fn a_pin_names_a_changed_count_an_undeclared_dead_action_and_a_declared_one_that_fired() {
    assert_eq!(tcommit_problems(Pin::states(34)), Vec::<String>::new());
    let fewer = tcommit_problems(Pin::states(35));
    assert_eq!(fewer.len(), 1, "{fewer:?}");
    assert!(
        fewer[0].starts_with("unique states 34, but the model pins 35: the model explores less")
    );
    let more = tcommit_problems(Pin::states(33));
    assert!(more[0].contains("explores more"), "{more:?}");
    let declared = Pin {
        unique_states: 34,
        dead_actions: &[DeadAction {
            kind: "Commit",
            reason: "for the test",
        }],
    };
    let fired = tcommit_problems(declared);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(fired[0].starts_with(
        "action Commit fired, though the model's pin declares it dead (for the test)"
    ));
    let dead = Pin::states(34).problems(34, &["Abort".to_string()]);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].starts_with("dead action Abort: it never fired"));
}

#[test]
fn counts_in_problems_are_grouped_in_threes() {
    assert_eq!(super::grouped(0), "0");
    assert_eq!(super::grouped(999), "999");
    assert_eq!(super::grouped(1_000), "1,000");
    assert_eq!(super::grouped(289_412), "289,412");
    assert_eq!(super::grouped(6_659_569), "6,659,569");
    let problems = Pin::states(289_412).problems(165_257, &[]);
    assert_eq!(
        problems,
        ["unique states 165,257, but the model pins 289,412: the model explores less than it did"]
    );
}

#[test]
fn counters_add_per_kind_across_threads_and_stop_when_told() {
    let counts = std::sync::Arc::new(ActionCounts::new(&["A", "B", "C"]));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counts = counts.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    counts.enabled("A");
                    counts.fired("A");
                    counts.enabled("B");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    counts.enabled("not a kind");
    counts.stop();
    assert!(!counts.is_counting());
    let table = counts.table();
    let row = |k: &str| {
        let r = table.iter().find(|r| r.kind == k).unwrap();
        (r.enabled, r.fired)
    };
    assert_eq!(row("A"), (4000, 4000));
    assert_eq!(row("B"), (4000, 0));
    assert_eq!(row("C"), (0, 0));
    assert_eq!(never_fired(&table), ["B", "C"]);
}

#[test]
fn a_counted_model_has_the_wrapped_models_states_actions_and_properties() {
    let inner = crate::twopc::tcommit::TCommit::new(2);
    let counted = Counted::new(inner).unwrap();
    assert_eq!(counted.init_states(), inner.init_states());
    let s = &inner.init_states()[0];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    inner.actions(s, &mut a);
    counted.actions(s, &mut b);
    assert_eq!(a, b);
    let names = |p: Vec<stateright::Property<_>>| p.iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        counted
            .properties()
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>(),
        names(inner.properties())
    );
    let next = counted.next_state(s, b[0]).unwrap();
    assert_eq!(Some(next), inner.next_state(s, a[0]));
    let table = counted.counts().table();
    assert_eq!(table.iter().map(|r| r.fired).sum::<u64>(), 1);
    assert_eq!(table.iter().map(|r| r.enabled).sum::<u64>(), a.len() as u64);
}

mod vclock {
    use crate::vclock::{causal, VclockModel, PIN};

    #[test]
    fn vclock_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(VclockModel::default(), PIN, None);
    }

    #[test]
    fn vclock_causal_default_bounds_explore_the_pinned_space_with_every_action_and_witness() {
        super::assert_pinned(causal::CausalModel::default(), causal::PIN, None);
    }
}

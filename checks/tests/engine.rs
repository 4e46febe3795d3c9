//! The engine on toy models whose answers are known by hand: shortest counterexamples
//! when DFS stumbles on a long one, `eventually` counterexamples, unreached `sometimes`
//! properties, and coverage under each bound.

use checks::engine::explore::check;
use checks::engine::report::{Coverage, RunReport, Status, Verdict};
use checks::engine::{RunLabel, RunOptions, Strategy};
use models::Protocol;
use stateright::{Model, Property};
use std::collections::BTreeMap;

/// A counter from 0 that adds 5 or 1 up to `max`. With `bad` = 10, stateright's DFS
/// reaches it in six steps; the shortest way is two (+5, +5).
#[derive(Clone)]
struct Counter {
    max: u8,
    /// The value `NotBad` forbids.
    bad: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
enum Add {
    Five,
    One,
}

impl Model for Counter {
    type State = u8;
    type Action = Add;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, x: &u8, actions: &mut Vec<Add>) {
        if x + 5 <= self.max {
            actions.push(Add::Five);
        }
        if *x < self.max {
            actions.push(Add::One);
        }
    }
    fn next_state(&self, x: &u8, a: Add) -> Option<u8> {
        Some(x + if a == Add::Five { 5 } else { 1 })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("NotBad", |m: &Counter, x| *x != m.bad),
            Property::sometimes("ReachesThree", |_, x| *x == 3),
            Property::sometimes("ReachesFifty", |_, x| *x == 50),
        ]
    }
}

impl Protocol for Counter {
    fn describe_action(&self, x: &u8, a: &Add) -> String {
        format!("{x} {a:?}")
    }
    fn fields(&self, x: &u8) -> Vec<(String, String)> {
        vec![("counter.x".into(), x.to_string())]
    }
    fn explain(&self, property: &str, x: &u8) -> Vec<String> {
        vec![format!("{property}: x is {x}")]
    }
}

/// A walk that may stop early: `eventually x == 3` fails on the path that stops at 0.
#[derive(Clone)]
struct Walk;

#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
enum WalkStep {
    Inc,
    Stop,
}

impl Model for Walk {
    type State = (u8, bool);
    type Action = WalkStep;
    fn init_states(&self) -> Vec<(u8, bool)> {
        vec![(0, false)]
    }
    fn actions(&self, s: &(u8, bool), actions: &mut Vec<WalkStep>) {
        if !s.1 {
            if s.0 < 3 {
                actions.push(WalkStep::Inc);
            }
            actions.push(WalkStep::Stop);
        }
    }
    fn next_state(&self, s: &(u8, bool), a: WalkStep) -> Option<(u8, bool)> {
        Some(match a {
            WalkStep::Inc => (s.0 + 1, false),
            WalkStep::Stop => (s.0, true),
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("ReachesThree", |_, s: &(u8, bool)| {
            s.0 == 3
        })]
    }
}

impl Protocol for Walk {
    fn describe_action(&self, _: &(u8, bool), a: &WalkStep) -> String {
        format!("{a:?}")
    }
    fn fields(&self, s: &(u8, bool)) -> Vec<(String, String)> {
        vec![
            ("walk.x".into(), s.0.to_string()),
            ("walk.stopped".into(), s.1.to_string()),
        ]
    }
    fn explain(&self, _: &str, _: &(u8, bool)) -> Vec<String> {
        Vec::new()
    }
}

fn label() -> RunLabel {
    RunLabel {
        exercise: "toy".into(),
        bounds: BTreeMap::new(),
        bug: None,
    }
}

fn one_thread() -> RunOptions {
    RunOptions {
        threads: 1,
        ..RunOptions::default()
    }
}

fn status(r: &RunReport, name: &str) -> Status {
    r.properties.iter().find(|p| p.name == name).unwrap().status
}

#[test]
fn a_long_dfs_counterexample_is_shortened_to_the_shortest() {
    // What stateright's one-thread DFS finds on its own: a longer path.
    use stateright::Checker;
    let dfs = Counter { max: 20, bad: 10 }.checker().spawn_dfs().join();
    assert_eq!(dfs.discovery("NotBad").unwrap().into_actions().len(), 6);

    let r = check(Counter { max: 20, bad: 10 }, None, &label(), &one_thread()).unwrap();
    assert_eq!(r.verdict, Verdict::Fails);
    let t = r.counterexample.unwrap();
    assert_eq!((t.property.as_str(), t.length), ("NotBad", 2));
    assert!(t.shortest && t.replayed);
    assert_eq!(t.steps[0].action, "0 Five");
    assert_eq!(t.steps[1].changes[0].to, "10");
    assert_eq!(t.explanation, vec!["NotBad: x is 10"]);
}

#[test]
fn an_unreached_sometimes_fails_an_exhausted_run() {
    let r = check(Counter { max: 9, bad: 10 }, None, &label(), &one_thread()).unwrap();
    assert_eq!(r.coverage, Coverage::Exhausted);
    assert_eq!(status(&r, "NotBad"), Status::Holds);
    assert_eq!(status(&r, "ReachesThree"), Status::ExampleFound);
    assert_eq!(status(&r, "ReachesFifty"), Status::NotReached);
    assert_eq!(r.verdict, Verdict::Fails);
    assert_eq!(r.unique_states, 10);
}

#[test]
fn bounds_are_reported_as_such() {
    let depth = RunOptions {
        depth: Some(1),
        ..one_thread()
    };
    let r = check(Counter { max: 9, bad: 10 }, None, &label(), &depth).unwrap();
    assert_eq!(
        r.coverage,
        Coverage::Bounded {
            by: "depth 1".into()
        }
    );
    assert_eq!(status(&r, "NotBad"), Status::HoldsWithinBound);
    assert_eq!(r.max_depth, 1);

    // Exactly deep enough: a depth bound the space never reaches is not a cut.
    let deep = RunOptions {
        depth: Some(9),
        ..one_thread()
    };
    let r = check(Counter { max: 9, bad: 10 }, None, &label(), &deep).unwrap();
    assert_eq!(r.coverage, Coverage::Exhausted);

    let states = RunOptions {
        max_states: Some(3),
        ..one_thread()
    };
    // stateright checks the target every 1,500 states, so this small space is in fact
    // exhausted; the report still says bounded, the safe direction.
    let r = check(Counter { max: 250, bad: 255 }, None, &label(), &states).unwrap();
    assert_eq!(
        r.coverage,
        Coverage::Bounded {
            by: "state count 3".into()
        }
    );
}

#[test]
fn bfs_and_simulation_find_the_same_shortest_counterexample() {
    for strategy in [Strategy::Bfs, Strategy::Simulate] {
        let opts = RunOptions {
            strategy,
            timeout: Some(std::time::Duration::from_secs(2)),
            ..one_thread()
        };
        let r = check(Counter { max: 20, bad: 10 }, None, &label(), &opts).unwrap();
        let t = r.counterexample.expect("found");
        assert_eq!(
            (t.property.as_str(), t.length),
            ("NotBad", 2),
            "{strategy:?}"
        );
    }
}

#[test]
fn an_eventually_counterexample_is_shortened_and_replayed() {
    let r = check(Walk, None, &label(), &one_thread()).unwrap();
    assert_eq!(r.verdict, Verdict::Fails);
    let t = r.counterexample.expect("a path that stops before 3");
    assert_eq!(t.property, "ReachesThree");
    assert_eq!(t.expectation, "eventually");
    assert!(t.replayed && t.shortest);
    // The shortest run that never reaches 3 stops at once.
    assert_eq!(t.length, 1);
    assert_eq!(t.steps.last().unwrap().action, "Stop");
}

#[test]
fn action_coverage_counts_each_kind_and_an_exhausted_run_names_the_dead_one() {
    // 0..=3 by ones: One is enabled (and fires) in 0, 1 and 2; Five is never enabled.
    for strategy in [Strategy::Dfs, Strategy::Bfs] {
        let opts = RunOptions {
            strategy,
            ..one_thread()
        };
        let r = check(Counter { max: 3, bad: 100 }, None, &label(), &opts).unwrap();
        assert_eq!(r.coverage, Coverage::Exhausted);
        let table: Vec<(&str, u64, u64)> = r
            .actions
            .iter()
            .map(|a| (a.kind.as_str(), a.enabled, a.fired))
            .collect();
        assert_eq!(table, [("Five", 0, 0), ("One", 3, 3)], "{strategy:?}");
        assert_eq!(r.dead_actions, ["Five"]);
        let text = checks::engine::text::render(&r);
        assert!(
            text.contains("dead actions (never fired in the exhausted space): Five"),
            "{text}"
        );
    }
    // Both fire when the space is big enough, and none is dead.
    let r = check(Counter { max: 6, bad: 100 }, None, &label(), &one_thread()).unwrap();
    assert!(r.actions.iter().all(|a| a.fired > 0), "{:?}", r.actions);
    assert!(r.dead_actions.is_empty());
}

#[test]
fn a_bounded_run_reports_counts_but_calls_no_action_dead() {
    let opts = RunOptions {
        depth: Some(1),
        ..one_thread()
    };
    let r = check(Counter { max: 3, bad: 100 }, None, &label(), &opts).unwrap();
    assert!(
        matches!(r.coverage, Coverage::Bounded { .. }),
        "{:?}",
        r.coverage
    );
    assert!(r.dead_actions.is_empty());
    assert_eq!(
        r.actions[0].fired, 0,
        "Five never fires, but a bound hides why"
    );
}

#[test]
fn every_model_in_check_list_pins_its_default_state_count() {
    // `check all` fails a default run whose count differs from its pin (issue 16): a model
    // that silently loses behaviour still passes its safety properties, but not this.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_check"))
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut models = 0;
    for e in list.as_array().unwrap() {
        for m in e["models"].as_array().unwrap() {
            models += 1;
            assert!(
                m["pinned_states"].as_u64().is_some_and(|n| n > 0),
                "{} {}: no pinned state count",
                e["name"],
                m["name"]
            );
        }
    }
    assert!(models >= 7, "{models} models listed");
}

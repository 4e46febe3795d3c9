//! Runs a model through stateright: exploration with a progress line and honest coverage,
//! then, if a property failed, the shortest counterexample by iterative deepening, replayed
//! and confirmed before it is reported.
//!
//! Why not take stateright's trace as is: in 0.31 a BFS discovery can be overwritten by a
//! longer path, and a DFS trace is whatever branch was explored first. Iterative deepening
//! (BFS bounded to 0, 1, 2, ... steps) finds a counterexample of minimal length: the
//! first bound at which any safety property fails is the length of the shortest one.

use super::interrupt::{self, Watch};
use super::replay::{replay, replay_shortest};
use super::report::{Coverage, PropertyOutcome, RunReport, Status, Trace, Verdict, SCHEMA};
use super::shortest::{search_levels, shortest_unending, shortest_violation, Shortest};
use super::{
    expectation_name, Checkable, Progress, Representative, RunLabel, RunOptions, Strategy,
    SIMULATION_DEFAULT_TIMEOUT,
};
use anyhow::{anyhow, Result};
use models::coverage::{never_fired, Counted};
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path, Property};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// Checks `model` and reports what was established.
///
/// `symmetry` is the model's representative function, if its processes are
/// interchangeable; it is applied only when `opts.symmetry` is set and the strategy is not
/// BFS (which stateright 0.31 runs without symmetry).
///
/// With `--depth`, DFS and BFS runs use the level-by-level search of [`search_levels`]:
/// stateright's DFS marks a state seen when a long path first reaches it and then skips it
/// at the bound, so a depth-bounded DFS can miss states (and counterexamples) well within
/// the bound.
pub fn check<M>(
    model: M,
    symmetry: Option<Representative<M>>,
    label: &RunLabel,
    opts: &RunOptions,
) -> Result<RunReport>
where
    M: Checkable,
{
    let symmetry = symmetry.filter(|_| opts.symmetry && opts.strategy != Strategy::Bfs);
    let engine = match (opts.strategy, opts.depth) {
        (Strategy::Dfs | Strategy::Bfs, Some(_)) => "levels",
        _ => opts.strategy.name(),
    };
    if opts.progress {
        eprintln!(
            "{}",
            super::text::run_header(label, engine, opts, symmetry.is_some())
        );
    }
    let _watch = Watch::start();
    // Counted during the exploration only: see `coverage`.
    let model = Counted::new(model)?;
    let findings = match (opts.strategy, opts.depth) {
        (Strategy::Dfs | Strategy::Bfs, Some(depth)) => by_levels(&model, symmetry, depth, opts),
        // stateright rebuilds a discovery's path by taking its actions again: not counted.
        _ => with_stateright(&model, symmetry, label, opts, &|| model.counts().stop())?,
    };
    model.counts().stop();
    let actions = model.counts().table();
    let properties = model.properties();
    let coverage = findings.coverage.clone();
    // Only an exhausted space shows that an action can never fire; within a bound it may
    // fire deeper down.
    let dead_actions = if coverage.is_exhausted() {
        never_fired(&actions)
    } else {
        Vec::new()
    };
    let mut outcomes = Vec::new();
    for p in &properties {
        let found = findings.discovered.contains(p.name);
        let stopped = matches!(
            coverage,
            Coverage::StoppedAtViolation | Coverage::Interrupted { .. }
        );
        let status = match (&p.expectation, found) {
            (_, false) if stopped => Status::Undecided,
            (Expectation::Sometimes, true) => Status::ExampleFound,
            (Expectation::Sometimes, false) => Status::NotReached,
            (_, true) => Status::Violated,
            (_, false) if coverage.is_exhausted() => Status::Holds,
            (_, false) => Status::HoldsWithinBound,
        };
        outcomes.push(PropertyOutcome {
            name: p.name.to_string(),
            expectation: expectation_name(&p.expectation).to_string(),
            status,
        });
    }

    let shortening_started = Instant::now();
    let counterexample = match findings.failure {
        None => None,
        Some(Failure::Shortest(shortest)) => Some(replay_shortest(&model, shortest)?),
        Some(Failure::Found(name, path)) => {
            let p = properties
                .iter()
                .find(|p| p.name == name)
                .expect("a discovery names a property of this model");
            Some(shortest_counterexample(&model, symmetry, p, &path, opts)?)
        }
    };
    // The shortest counterexample may break a different property than the one the
    // exploration stumbled on first; mark it violated too.
    if let Some(trace) = &counterexample {
        for o in outcomes.iter_mut() {
            if o.name == trace.property {
                o.status = Status::Violated;
            }
        }
    }

    let verdict = if outcomes.iter().any(|o| o.status.is_failure()) {
        Verdict::Fails
    } else {
        Verdict::Holds
    };
    let wall = findings.elapsed.as_secs_f64();
    Ok(RunReport {
        schema: SCHEMA,
        exercise: label.exercise.clone(),
        bug: label.bug.clone(),
        bounds: label.bounds.clone(),
        strategy: engine.to_string(),
        threads: opts.threads,
        symmetry: symmetry.is_some(),
        coverage,
        states_generated: findings.generated,
        unique_states: findings.unique,
        max_depth: findings.max_depth,
        wall_seconds: wall,
        states_per_second: findings.generated as f64 / wall.max(1e-9),
        properties: outcomes,
        counterexample,
        shortening_seconds: shortening_started.elapsed().as_secs_f64(),
        verdict,
        expected_finding: None,
        expected_bug: None,
        actions,
        dead_actions,
    })
}

/// A failure an exploration found: either a path still to be shortened, or one already
/// proved shortest by the level search.
enum Failure<M: Model> {
    Found(&'static str, Path<M::State, M::Action>),
    Shortest(Shortest<M>),
}

/// What an exploration established, whichever engine ran it.
struct Findings<M: Model> {
    generated: usize,
    unique: usize,
    /// The deepest state checked, in steps.
    max_depth: usize,
    elapsed: Duration,
    /// Names of the properties with a discovery (an example or a counterexample).
    discovered: BTreeSet<&'static str>,
    coverage: Coverage,
    failure: Option<Failure<M>>,
}

/// A depth-bounded run by levels: exact coverage, and a violation is already shortest.
fn by_levels<M: Checkable>(
    model: &M,
    symmetry: Option<Representative<M>>,
    depth: usize,
    opts: &RunOptions,
) -> Findings<M> {
    let started = Instant::now();
    let levels = search_levels(
        model,
        symmetry,
        depth,
        opts.threads,
        opts.progress,
        "levels",
    );
    let mut discovered = levels.examples.clone();
    let coverage = if let Some(v) = &levels.violation {
        discovered.insert(v.property);
        Coverage::StoppedAtViolation
    } else if levels.interrupted {
        Coverage::Interrupted {
            after_ms: started.elapsed().as_millis() as u64,
        }
    } else if levels.cut {
        Coverage::Bounded {
            by: format!("depth {depth}"),
        }
    } else {
        Coverage::Exhausted
    };
    Findings {
        generated: levels.generated,
        unique: levels.unique,
        max_depth: levels.max_depth,
        elapsed: started.elapsed(),
        discovered,
        coverage,
        failure: levels.violation.map(Failure::Shortest),
    }
}

/// A run by one of stateright's checkers (DFS or BFS without a depth bound, simulation).
fn with_stateright<M: Checkable>(
    model: &M,
    symmetry: Option<Representative<M>>,
    label: &RunLabel,
    opts: &RunOptions,
    explored: &dyn Fn(),
) -> Result<Findings<M>> {
    let timeout = match opts.strategy {
        Strategy::Simulate if opts.timeout.is_none() && opts.max_states.is_none() => {
            Some(SIMULATION_DEFAULT_TIMEOUT)
        }
        _ => opts.timeout,
    };
    // stateright's timeout closes its shared job queue, which a lone DFS thread does not
    // look at until its own stack is empty: with a timeout, run at least two threads.
    let threads = if timeout.is_some() {
        opts.threads.max(2)
    } else {
        opts.threads
    };
    let mut builder = model
        .clone()
        .checker()
        .threads(threads)
        .finish_when(HasDiscoveries::AnyFailures);
    if let Some(representative) = symmetry {
        builder = builder.symmetry_fn(representative);
    }
    if let Some(n) = opts.max_states {
        builder = builder.target_state_count(n);
    }
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    let explored = match opts.strategy {
        Strategy::Dfs => drive(builder.spawn_dfs(), label, opts, explored)?,
        Strategy::Bfs => drive(builder.spawn_bfs(), label, opts, explored)?,
        Strategy::Simulate => {
            let budget = super::simulate::Budget {
                depth: opts.depth,
                max_states: opts.max_states,
                timeout,
            };
            let mut progress = Progress::new(opts.progress, &label.exercise);
            let walked = super::simulate::simulate(
                model,
                symmetry,
                opts.threads,
                opts.seed,
                &budget,
                &mut progress,
                explored,
            );
            Explored {
                generated: walked.generated,
                unique: walked.unique,
                max_depth: walked.max_depth,
                elapsed: walked.elapsed,
                discoveries: walked.discoveries,
                interrupted: walked.interrupted,
            }
        }
    };
    let properties = model.properties();
    let failure = properties
        .iter()
        .find(|p| p.expectation.discovery_is_failure() && explored.discoveries.contains_key(p.name))
        .map(|p| Failure::Found(p.name, explored.discoveries[p.name].clone()));
    let coverage = if failure.is_some() {
        Coverage::StoppedAtViolation
    } else if explored.interrupted {
        Coverage::Interrupted {
            after_ms: explored.elapsed.as_millis() as u64,
        }
    } else if opts.strategy == Strategy::Simulate {
        Coverage::Bounded {
            by: match timeout {
                Some(t) => format!("simulation, timeout {}s", t.as_secs_f64()),
                None => "simulation".into(),
            },
        }
    } else if let Some(t) = timeout.filter(|t| explored.elapsed + Duration::from_millis(50) >= *t) {
        Coverage::Bounded {
            by: format!("timeout {}s", t.as_secs_f64()),
        }
    } else if let Some(n) = opts.max_states.filter(|n| explored.generated >= *n) {
        // stateright checks its target every 1,500 states: a small space can be exhausted
        // and still reach the target. Saying "bounded" then errs on the safe side.
        Coverage::Bounded {
            by: format!("state count {n}"),
        }
    } else {
        Coverage::Exhausted
    };
    let max_depth = match opts.strategy {
        // The walks count steps.
        Strategy::Simulate => explored.max_depth,
        _ => explored.max_depth.saturating_sub(1),
    };
    Ok(Findings {
        generated: explored.generated,
        unique: explored.unique,
        max_depth,
        elapsed: explored.elapsed,
        discovered: explored.discoveries.keys().copied().collect(),
        coverage,
        failure,
    })
}

/// What an exploration saw.
struct Explored<M: Model> {
    generated: usize,
    unique: usize,
    /// stateright's depth: the initial state is depth 1.
    max_depth: usize,
    elapsed: Duration,
    discoveries: HashMap<&'static str, Path<M::State, M::Action>>,
    /// Ctrl-C stopped the wait; the checker's threads may still be running.
    interrupted: bool,
}

/// Waits for a spawned checker, printing progress on stderr, and collects what it found;
/// `explored` is called once the exploration is over, before the paths are rebuilt.
fn drive<M, C>(
    mut checker: C,
    label: &RunLabel,
    opts: &RunOptions,
    explored: &dyn Fn(),
) -> Result<Explored<M>>
where
    M: Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
    C: Checker<M>,
{
    let started = Instant::now();
    let handles = checker.handles();
    let mut progress = Progress::new(opts.progress, &label.exercise);
    let mut interrupted = false;
    while !handles.iter().all(|h| h.is_finished()) {
        if interrupt::interrupted() {
            // stateright has no way to stop its threads; they are left to the process's
            // exit, which follows the report.
            interrupted = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        progress.tick(started, checker.state_count(), checker.unique_state_count());
    }
    let elapsed = started.elapsed();
    progress.finish();
    if !interrupted {
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("the model checker panicked; the message above says where"))?;
        }
    }
    explored();
    Ok(Explored {
        generated: checker.state_count(),
        unique: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        elapsed,
        discoveries: checker.discoveries(),
        interrupted,
    })
}

/// Shortens the exploration's counterexample, replays the result and renders it.
///
/// Safety properties: [`shortest_violation`] searches breadth-first, level by level, for
/// the shortest path to any broken `always` property; the exploration already found one in
/// `found.len()` steps, so the search never goes deeper. `eventually` counterexamples end
/// in a terminal state: [`shortest_unending`] finds the shortest such path, breadth-first
/// over the states where the property does not hold.
/// `path` cut after its first state that breaks `property` (as it is if none does or it
/// does not replay).
fn up_to_first_break<M: Checkable>(
    model: &M,
    property: &Property<M>,
    path: &Path<M::State, M::Action>,
) -> Path<M::State, M::Action> {
    let pairs = path.clone().into_vec();
    let init = pairs[0].0.clone();
    let actions: Vec<M::Action> = pairs.iter().filter_map(|(_, a)| a.clone()).collect();
    let Some(states) = Path::from_actions(model, init.clone(), &actions).map(Path::into_states)
    else {
        return path.clone();
    };
    match states.iter().position(|s| !(property.condition)(model, s)) {
        Some(first) => {
            Path::from_actions(model, init, &actions[..first]).unwrap_or_else(|| path.clone())
        }
        None => path.clone(),
    }
}

fn shortest_counterexample<M: Checkable>(
    model: &M,
    symmetry: Option<Representative<M>>,
    property: &Property<M>,
    found: &Path<M::State, M::Action>,
    opts: &RunOptions,
) -> Result<Trace> {
    let found_steps = found.clone().into_actions().len();
    if property.expectation == Expectation::Eventually {
        // stateright's liveness path may be long; search for a shortest one within its
        // length, and fall back to it unshortened if the search finds none (stateright 0.31
        // checks eventually properties on acyclic paths only, so the two may disagree).
        return match shortest_unending(model, property.name, found_steps) {
            Some(shortest) => replay_shortest(model, shortest),
            None => replay(model, property.name, found.clone(), false),
        };
    }
    let shortest = shortest_violation(model, symmetry, found_steps, opts.threads, opts.progress);
    if interrupt::interrupted() {
        // Ctrl-C during shortening: a search cut short may hand back nothing, or a path
        // it had not finished confirming. The path the exploration found is still a real
        // counterexample, reported as not shortest, up to its first breaking state (a
        // path that two threads put together can pass through one earlier).
        if let Some(trace) = shortest.and_then(|s| replay_shortest(model, s).ok()) {
            return Ok(trace);
        }
        return replay(
            model,
            property.name,
            up_to_first_break(model, property, found),
            false,
        );
    }
    let shortest = shortest.ok_or_else(|| {
        anyhow!(
            "internal error: no counterexample to {} within {} steps, though exploration found one",
            property.name,
            found_steps
        )
    })?;
    replay_shortest(model, shortest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter that adds one or two, forever below 10; "small" holds below 3.
    #[derive(Clone)]
    struct Counter;

    #[derive(Clone, Copy, Debug, PartialEq, strum::IntoStaticStr, strum::VariantNames)]
    enum Add {
        One,
        Two,
    }

    impl Model for Counter {
        type State = u8;
        type Action = Add;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, s: &u8, actions: &mut Vec<Add>) {
            if *s < 10 {
                actions.extend([Add::One, Add::Two]);
            }
        }
        fn next_state(&self, s: &u8, a: Add) -> Option<u8> {
            Some(s + if a == Add::One { 1 } else { 2 })
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![Property::always("small", |_, s| *s < 3)]
        }
    }

    impl models::Protocol for Counter {
        fn describe_action(&self, s: &u8, a: &Add) -> String {
            format!("{a:?} to {s}")
        }
        fn fields(&self, s: &u8) -> Vec<(String, String)> {
            vec![("count".into(), s.to_string())]
        }
        fn explain(&self, _: &str, _: &u8) -> Vec<String> {
            vec![]
        }
    }

    #[test]
    fn an_interrupted_shortening_replays_the_found_path_up_to_its_first_break() {
        // Before: a found path that went on past its first breaking state was replayed
        // whole, and the replay refused it ("internal error: the replayed trace does
        // not break small"), exit 2 instead of the interrupted run's report.
        let properties = Counter.properties();
        let small = &properties[0];
        let long = Path::from_actions(&Counter, 0, &[Add::Two, Add::One, Add::One]).unwrap();
        assert!(replay(&Counter, "small", long.clone(), false).is_err());
        let cut = up_to_first_break(&Counter, small, &long);
        assert_eq!(cut.clone().into_actions(), vec![Add::Two, Add::One]);
        let trace = replay(&Counter, "small", cut, false).unwrap();
        assert_eq!(trace.steps.len(), 2);
        // A path that breaks only at its end is kept as it is.
        let exact = Path::from_actions(&Counter, 0, &[Add::One, Add::Two]).unwrap();
        assert_eq!(
            up_to_first_break(&Counter, small, &exact).into_actions(),
            vec![Add::One, Add::Two]
        );
    }
}

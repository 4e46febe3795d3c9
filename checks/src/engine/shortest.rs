//! Shortest counterexamples to safety properties, by breadth-first iterative deepening.
//!
//! The search expands the state space one level (one step) at a time and stops at the end
//! of the first level that holds a state breaking an `always` property. Every state at a
//! level is reached in exactly that many steps and no fewer, so the first such level is the
//! length of the shortest counterexample.
//!
//! Why not stateright's BFS: in 0.31 it can overwrite a discovery's path with a longer one,
//! and it ignores symmetry. Running it once per depth bound (0, 1, 2, ... steps) is correct
//! but re-explores every level each round and took over two minutes for Figure 8. This
//! search does the same rounds in one pass, uses the model's symmetry reduction (sound here
//! because the properties do not depend on process names, which is what makes the
//! reduction sound at all), expands each level on several threads, and merges the results
//! in a fixed order, so the trace printed is the same whatever the thread count.

use super::{Checkable, Representative};
use stateright::{Expectation, Model};
use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::time::Instant;

/// A shortest counterexample: the property it breaks, the initial state and the actions.
pub struct Shortest<M: Model> {
    /// The name of the property the path breaks: an `always` property broken at its end,
    /// or an `eventually` property that never holds on it, which ends in a terminal state.
    pub property: &'static str,
    /// The initial state the path starts from.
    pub init: M::State,
    /// The actions, in order.
    pub actions: Vec<M::Action>,
    /// Distinct states the search visited.
    pub states_visited: usize,
}

/// Hashes a `u64` fingerprint to itself: fingerprints are already uniformly distributed,
/// so hashing them again only costs time.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are stored; fold anything else in rather than panic.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The set of fingerprints already visited.
type Visited = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// 64-bit fingerprint of a state. SipHash with fixed keys, so runs are reproducible.
fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The index of the first `always` property `state` breaks, in the model's order.
fn first_broken<M: Model>(model: &M, state: &M::State) -> Option<usize> {
    model
        .properties()
        .iter()
        .position(|p| p.expectation == Expectation::Always && !(p.condition)(model, state))
}

/// What a level-by-level search established.
pub struct Levels<M: Model> {
    /// The shortest path to a broken `always` property, if one exists within the bound.
    pub violation: Option<Shortest<M>>,
    /// The `sometimes` properties satisfied by some state within the bound.
    pub examples: BTreeSet<&'static str>,
    /// Successor states generated, counting revisits.
    pub generated: usize,
    /// Distinct states (distinct symmetry classes with a representative).
    pub unique: usize,
    /// The deepest level that holds a state, in steps.
    pub max_depth: usize,
    /// Whether a state exists one step past the bound that the search did not visit: the
    /// bound cut the space. `false` with no violation means the space was exhausted.
    pub cut: bool,
    /// Ctrl-C stopped the search before the bound: neither exhausted nor bounded.
    pub interrupted: bool,
}

/// Searches paths of at most `max_steps` steps for the shortest one that ends in a state
/// breaking an `always` property. Among the shortest, the property listed first wins, then
/// the state reached first in breadth-first order. Returns `None` if there is none.
pub fn shortest_violation<M: Checkable>(
    model: &M,
    symmetry: Option<Representative<M>>,
    max_steps: usize,
    threads: usize,
    progress: bool,
) -> Option<Shortest<M>> {
    search_levels(model, symmetry, max_steps, threads, progress, "shortening").violation
}

/// Explores every state within `max_steps` steps, one level at a time, stopping at the end
/// of the first level where an `always` property breaks.
///
/// Unlike a depth-bounded DFS, which marks a state seen when a long path first reaches it
/// and then never expands it from a shorter path, every state here is first reached by a
/// shortest path, so "within `max_steps`" means exactly that.
pub fn search_levels<M: Checkable>(
    model: &M,
    symmetry: Option<Representative<M>>,
    max_steps: usize,
    threads: usize,
    progress: bool,
    label: &str,
) -> Levels<M> {
    let key = |s: &M::State| match symmetry {
        Some(representative) => fingerprint(&representative(s)),
        None => fingerprint(s),
    };
    let properties = model.properties();
    let inits: Vec<M::State> = model
        .init_states()
        .into_iter()
        .filter(|s| model.within_boundary(s))
        .collect();
    let mut visited: Visited = inits.iter().map(key).collect();
    let mut generated = inits.len();
    let mut examples = BTreeSet::new();
    // levels[d][i] = (index of the parent in level d-1, index of the action taken); at
    // level 0 the "parent" is the index of the initial state.
    let mut levels: Vec<Vec<(u32, u32)>> = vec![(0..inits.len() as u32).map(|i| (i, 0)).collect()];
    let mut frontier = inits.clone();
    let started = Instant::now();
    let mut depth = 0;
    let finish = |violation, examples, generated, unique, max_depth, cut| Levels {
        violation,
        examples,
        generated,
        unique,
        max_depth,
        cut,
        interrupted: false,
    };
    loop {
        if super::interrupt::interrupted() {
            return Levels {
                interrupted: true,
                ..finish(None, examples, generated, visited.len(), depth, true)
            };
        }
        let verdicts = parallel_map(&frontier, threads, |s| {
            let satisfied: Vec<usize> = properties
                .iter()
                .enumerate()
                .filter(|(_, p)| p.expectation == Expectation::Sometimes && (p.condition)(model, s))
                .map(|(i, _)| i)
                .collect();
            (first_broken(model, s), satisfied)
        });
        for (_, satisfied) in &verdicts {
            examples.extend(satisfied.iter().map(|&i| properties[i].name));
        }
        let hit = verdicts
            .iter()
            .enumerate()
            .filter_map(|(i, (p, _))| p.map(|p| (p, i)))
            .min();
        if let Some((property, index)) = hit {
            let (init, actions) = rebuild(model, &inits, &levels, index);
            let violation = Shortest {
                property: properties[property].name,
                init,
                actions,
                states_visited: visited.len(),
            };
            return finish(
                Some(violation),
                examples,
                generated,
                visited.len(),
                depth,
                false,
            );
        }
        // Three passes keep only new states in memory: fingerprint every successor (in
        // parallel), keep the first occurrence of each in breadth-first order, then rebuild
        // just those states (in parallel).
        let keyed = parallel_map(&frontier, threads, |s| {
            if super::interrupt::interrupted() {
                // Cut the level short; it is discarded below.
                return Vec::new();
            }
            let mut actions = Vec::new();
            model.actions(s, &mut actions);
            let mut out = Vec::new();
            for (a, action) in actions.into_iter().enumerate() {
                if let Some(next) = model.next_state(s, action) {
                    if model.within_boundary(&next) {
                        out.push((a as u32, key(&next)));
                    }
                }
            }
            out
        });
        if super::interrupt::interrupted() {
            return Levels {
                interrupted: true,
                ..finish(None, examples, generated, visited.len(), depth, true)
            };
        }
        if depth == max_steps {
            // One level past the bound: was anything left unvisited?
            let cut = keyed.iter().flatten().any(|(_, k)| !visited.contains(k));
            return finish(None, examples, generated, visited.len(), depth, cut);
        }
        let mut level = Vec::new();
        for (parent, successors) in keyed.into_iter().enumerate() {
            generated += successors.len();
            for (a, k) in successors {
                if visited.insert(k) {
                    level.push((parent as u32, a));
                }
            }
        }
        if level.is_empty() {
            return finish(None, examples, generated, visited.len(), depth, false);
        }
        let next_frontier = parallel_map(&level, threads, |&(parent, a)| {
            let s = &frontier[parent as usize];
            let mut actions = Vec::new();
            model.actions(s, &mut actions);
            let action = actions.swap_remove(a as usize);
            model
                .next_state(s, action)
                .expect("the action was enabled a moment ago")
        });
        levels.push(level);
        frontier = next_frontier;
        depth += 1;
        if progress && started.elapsed().as_secs() >= 2 {
            // The bound is the length of the path already found (or --depth): the
            // shortest counterexample is at most that long.
            eprintln!(
                "{label}: depth {depth} of at most {max_steps} done, {} distinct states, {:.0} s",
                super::text::count(visited.len()),
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Follows parent links from `index` in the last level back to an initial state and
/// replays the action indices forward to recover the actions themselves.
fn rebuild<M: Checkable>(
    model: &M,
    inits: &[M::State],
    levels: &[Vec<(u32, u32)>],
    mut index: usize,
) -> (M::State, Vec<M::Action>) {
    let mut action_indices = Vec::new();
    for level in levels.iter().skip(1).rev() {
        let (parent, action) = level[index];
        action_indices.push(action as usize);
        index = parent as usize;
    }
    action_indices.reverse();
    let init = inits[levels[0][index].0 as usize].clone();
    let mut state = init.clone();
    let mut actions = Vec::new();
    for a in action_indices {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let action = enabled.swap_remove(a);
        state = model
            .next_state(&state, action.clone())
            .expect("the action was enabled when the search took it");
        actions.push(action);
    }
    (init, actions)
}

/// `items.iter().map(f)` on up to `threads` threads, results in input order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() < 1024 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a shortening thread panicked"))
            .collect()
    })
}

/// Searches for the shortest path, of at most `max_steps` steps, that never satisfies the
/// `eventually` property `property` and ends in a state with no successor: a run that has
/// stopped without the property ever holding. Returns `None` if there is none.
///
/// Breadth-first over the states where the property does not hold: a path through a state
/// where it holds is no counterexample, so such states are never expanded. The first
/// terminal state found is therefore at the end of a shortest counterexample. Terminal is
/// meant as stateright means it: no successor within the model's boundary.
pub fn shortest_unending<M: Checkable>(
    model: &M,
    property: &'static str,
    max_steps: usize,
) -> Option<Shortest<M>> {
    let properties = model.properties();
    let p = properties
        .iter()
        .find(|p| p.name == property && p.expectation == Expectation::Eventually)?;
    let holds = |s: &M::State| (p.condition)(model, s);
    let inits: Vec<M::State> = model
        .init_states()
        .into_iter()
        .filter(|s| model.within_boundary(s))
        .collect();
    let mut visited: Visited = HashSet::default();
    // Every state kept, with (index of its parent, index of the action taken from it);
    // an initial state's parent is itself.
    let mut states: Vec<(M::State, usize, usize, usize)> = Vec::new();
    for s in inits.iter().filter(|s| !holds(s)) {
        if visited.insert(fingerprint(s)) {
            let i = states.len();
            states.push((s.clone(), i, 0, 0));
        }
    }
    let mut next = 0;
    while next < states.len() {
        if next % 4096 == 0 && super::interrupt::interrupted() {
            return None;
        }
        let (state, _, _, depth) = &states[next];
        let (state, depth) = (state.clone(), *depth);
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let mut terminal = true;
        for (a, action) in actions.into_iter().enumerate() {
            let Some(succ) = model.next_state(&state, action) else {
                continue;
            };
            if !model.within_boundary(&succ) {
                continue;
            }
            terminal = false;
            if depth < max_steps && !holds(&succ) && visited.insert(fingerprint(&succ)) {
                states.push((succ, next, a, depth + 1));
            }
        }
        if terminal {
            return Some(rebuild_unending(
                model,
                &states,
                next,
                property,
                visited.len(),
            ));
        }
        next += 1;
    }
    None
}

/// Follows parent links back from `index` and replays the action indices forward.
fn rebuild_unending<M: Checkable>(
    model: &M,
    states: &[(M::State, usize, usize, usize)],
    mut index: usize,
    property: &'static str,
    states_visited: usize,
) -> Shortest<M> {
    let mut action_indices = Vec::new();
    while states[index].1 != index {
        action_indices.push(states[index].2);
        index = states[index].1;
    }
    action_indices.reverse();
    let init = states[index].0.clone();
    let mut state = init.clone();
    let mut actions = Vec::new();
    for a in action_indices {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let action = enabled.swap_remove(a);
        state = model
            .next_state(&state, action.clone())
            .expect("the action was enabled when the search took it");
        actions.push(action);
    }
    Shortest {
        property,
        init,
        actions,
        states_visited,
    }
}

//! `--strategy simulate`: random walks from the initial states, never exhaustive.
//!
//! Why not stateright 0.31's simulation checker: when a chosen action changes nothing it
//! still appends the action's index to the walk, so the reported depth counts ignored
//! actions (`--depth 5` reported 11 steps), a discovery's path replays the wrong actions,
//! and it counts every visit as a unique state. Here a walk's depth is its steps, a
//! violation is the walk's own actions, and unique states are counted in a shared set of
//! fingerprints (of representatives, with symmetry).

use super::interrupt;
use super::{Checkable, Progress, Representative};
use impls::sim::rng::SplitMix64;
use stateright::{Expectation, Model, Path};
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When to stop walking.
pub(crate) struct Budget {
    /// Walks take at most this many steps.
    pub depth: Option<usize>,
    /// Stop after about this many states.
    pub max_states: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
}

/// What the walks found.
pub(crate) struct Walked<M: Model> {
    /// States visited, counting revisits.
    pub generated: usize,
    /// Distinct states (symmetry classes with a representative).
    pub unique: usize,
    /// The longest walk, in steps.
    pub max_depth: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// A path per property with a discovery: a counterexample (`always`, `eventually`) or
    /// an example (`sometimes`).
    pub discoveries: HashMap<&'static str, Path<M::State, M::Action>>,
    /// Ctrl-C stopped the walks.
    pub interrupted: bool,
}

/// Each property's first discovery: the walk's initial state and its actions.
type Found<M> = HashMap<&'static str, (<M as Model>::State, Vec<<M as Model>::Action>)>;

fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Fingerprints seen by any walk, in shards so that threads rarely wait on each other.
struct Seen(Vec<Mutex<HashSet<u64>>>);

impl Seen {
    fn new() -> Seen {
        Seen((0..64).map(|_| Mutex::new(HashSet::new())).collect())
    }
    fn insert(&self, fp: u64) {
        let shard = &self.0[(fp % 64) as usize];
        shard.lock().expect("no walk panics holding it").insert(fp);
    }
    fn len(&self) -> usize {
        self.0
            .iter()
            .map(|s| s.lock().expect("no panic").len())
            .sum()
    }
}

/// Walks `model` at random on `threads` threads, seeded by `seed` (thread `i` uses
/// `seed + i`), until a safety or liveness property fails, every property has a
/// discovery, the budget runs out, or Ctrl-C. `explored` is called when the walks are
/// over, before the discoveries' paths are rebuilt.
pub(crate) fn simulate<M: Checkable>(
    model: &M,
    symmetry: Option<Representative<M>>,
    threads: usize,
    seed: u64,
    budget: &Budget,
    progress: &mut Progress,
    explored: &dyn Fn(),
) -> Walked<M> {
    let started = Instant::now();
    let properties = model.properties();
    let generated = AtomicUsize::new(0);
    let max_depth = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let seen = Seen::new();
    let discoveries: Mutex<Found<M>> = Mutex::new(HashMap::new());
    let key = |s: &M::State| match symmetry {
        Some(representative) => fingerprint(&representative(s)),
        None => fingerprint(s),
    };
    let inits: Vec<M::State> = model.init_states();
    let out_of_budget = || {
        budget.timeout.is_some_and(|t| started.elapsed() >= t)
            || budget
                .max_states
                .is_some_and(|n| generated.load(Ordering::Relaxed) >= n)
    };
    let record = |name: &'static str, init: &M::State, actions: &[M::Action]| {
        let mut found = discoveries.lock().expect("no panic");
        found
            .entry(name)
            .or_insert_with(|| (init.clone(), actions.to_vec()));
        let failed = properties
            .iter()
            .any(|p| p.expectation != Expectation::Sometimes && found.contains_key(p.name));
        if failed || found.len() == properties.len() {
            stop.store(true, Ordering::Relaxed);
        }
    };
    let walk = |rng: &mut SplitMix64| {
        if inits.is_empty() {
            return;
        }
        let init = inits[rng.below(inits.len() as u64) as usize].clone();
        let mut state = init.clone();
        let mut actions: Vec<M::Action> = Vec::new();
        let mut on_walk = HashSet::new();
        // Which `eventually` properties have held somewhere on this walk.
        let mut held = vec![false; properties.len()];
        loop {
            if !model.within_boundary(&state) || !on_walk.insert(key(&state)) {
                return; // out of bounds, or a cycle: no verdict from this walk
            }
            seen.insert(key(&state));
            generated.fetch_add(1, Ordering::Relaxed);
            max_depth.fetch_max(actions.len(), Ordering::Relaxed);
            for (i, p) in properties.iter().enumerate() {
                let holds = (p.condition)(model, &state);
                match p.expectation {
                    Expectation::Always if !holds => return record(p.name, &init, &actions),
                    Expectation::Sometimes if holds => record(p.name, &init, &actions),
                    Expectation::Eventually if holds => held[i] = true,
                    _ => {}
                }
            }
            if budget.depth.is_some_and(|d| actions.len() >= d) {
                return;
            }
            let mut enabled = Vec::new();
            model.actions(&state, &mut enabled);
            let mut next: Vec<(M::Action, M::State)> = enabled
                .into_iter()
                .filter_map(|a| model.next_state(&state, a.clone()).map(|s| (a, s)))
                .filter(|(_, s)| model.within_boundary(s))
                .collect();
            if next.is_empty() {
                // A terminal state: an `eventually` property that never held fails here.
                for (i, p) in properties.iter().enumerate() {
                    if p.expectation == Expectation::Eventually && !held[i] {
                        record(p.name, &init, &actions);
                    }
                }
                return;
            }
            let (action, succ) = next.swap_remove(rng.below(next.len() as u64) as usize);
            actions.push(action);
            state = succ;
        }
    };
    std::thread::scope(|scope| {
        for t in 0..threads.max(1) {
            let walk = &walk;
            let stop = &stop;
            let out_of_budget = &out_of_budget;
            scope.spawn(move || {
                let mut rng = SplitMix64::new(seed.wrapping_add(t as u64));
                while !stop.load(Ordering::Relaxed) && !interrupt::interrupted() {
                    if out_of_budget() {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    walk(&mut rng);
                }
            });
        }
        while !stop.load(Ordering::Relaxed) && !interrupt::interrupted() {
            std::thread::sleep(Duration::from_millis(20));
            progress.tick(started, generated.load(Ordering::Relaxed), seen.len());
        }
    });
    progress.finish();
    // Rebuilding the paths takes their actions again.
    explored();
    let discoveries = discoveries
        .into_inner()
        .expect("no panic")
        .into_iter()
        .filter_map(|(name, (init, actions))| {
            Path::from_actions(model, init, &actions).map(|path| (name, path))
        })
        .collect();
    Walked {
        generated: generated.load(Ordering::Relaxed),
        unique: seen.len(),
        max_depth: max_depth.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        discoveries,
        interrupted: interrupt::interrupted(),
    }
}

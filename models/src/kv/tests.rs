use super::*;
use stateright::{Checker, HasDiscoveries};
use std::time::Instant;

fn explore(model: KvModel) -> (usize, Vec<&'static str>) {
    let started = Instant::now();
    let checker = model.checker().threads(2).spawn_dfs().join();
    let found: Vec<&'static str> = checker.discoveries().keys().copied().collect();
    eprintln!(
        "unique {} generated {} in {:?}: {:?}",
        checker.unique_state_count(),
        checker.state_count(),
        started.elapsed(),
        found
    );
    (checker.unique_state_count(), found)
}

#[test]
#[ignore]
fn measure() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let m = KvModel {
        nodes: env("NODES", 3),
        clients: env("CLIENTS", 2),
        ops: env("OPS", 2),
        crashes: env("CRASHES", 1) as u8,
        drops: env("DROPS", 1) as u8,
        give_ups: env("GIVEUPS", 1) as u8,
        bug: None,
    };
    explore(m.clone());
    if env("BUGS", 1) == 0 {
        return;
    }
    for bug in Bug::ALL {
        let m = KvModel {
            bug: Some(bug),
            ..KvModel::default()
        };
        let c = m
            .checker()
            .threads(2)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        eprintln!(
            "{bug:?}: {:?} after {}",
            c.discoveries().keys().collect::<Vec<_>>(),
            c.unique_state_count()
        );
    }
}

//! Small runs of the simulator: the correct protocol completes with no SWMR violation, and
//! the bug switches change what it records.

use super::record::swmr_violation;
use super::*;

fn small(bugs: Bugs) -> SimConfig {
    SimConfig {
        ops_per_core: 5_000,
        addrs: 2,
        bugs,
        ..SimConfig::default()
    }
}

#[test]
fn the_correct_protocol_finishes_and_keeps_swmr() {
    let run = run(small(Bugs::default()));
    assert_eq!(run.outcome, Outcome::Finished);
    assert_eq!(run.ops.len(), 4 * 5_000);
    assert!(run.ops.iter().all(|o| o.ret.is_some()));
    assert_eq!(swmr_violation(&run.holdings), None);
    assert!(run.holdings.iter().any(|h| h.writer), "some core reached M");
}

#[test]
fn no_invalidate_breaks_swmr_in_the_recording() {
    let run = run(small(Bugs {
        no_invalidate: true,
        ..Bugs::default()
    }));
    assert!(swmr_violation(&run.holdings).is_some());
}

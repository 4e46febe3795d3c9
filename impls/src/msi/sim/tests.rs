//! Small runs of the simulator under both schedules: the correct protocol completes with
//! no SWMR violation, the bug switches change what it records, and the deterministic
//! schedule calls a deadlock the moment no node can step.

use super::record::swmr_violation;
use super::*;
use crate::msi::core::Bug;

fn small(bugs: Bugs, schedule: Schedule) -> SimConfig {
    SimConfig {
        ops_per_core: 5_000,
        addrs: 2,
        bugs,
        schedule,
        ..SimConfig::default()
    }
}

#[test]
fn the_correct_protocol_finishes_and_keeps_swmr() {
    for schedule in Schedule::ALL {
        let run = run(small(Bugs::NONE, schedule));
        assert_eq!(run.outcome, Outcome::Finished, "{schedule:?}");
        assert_eq!(run.ops.len(), 4 * 5_000);
        assert!(run.ops.iter().all(|o| o.ret.is_some()));
        assert_eq!(swmr_violation(&run.holdings), None, "{schedule:?}");
        assert!(run.holdings.iter().any(|h| h.writer), "some core reached M");
    }
}

#[test]
fn no_invalidate_breaks_swmr_in_the_recording() {
    for schedule in Schedule::ALL {
        let run = run(small(Bugs::with(Bug::NoInvalidate), schedule));
        assert!(swmr_violation(&run.holdings).is_some(), "{schedule:?}");
    }
}

#[test]
fn a_deterministic_deadlock_is_called_at_once_with_what_it_is_stuck_on() {
    let run = run(small(
        Bugs::with(Bug::UnorderedForwards),
        Schedule::Deterministic,
    ));
    assert_eq!(run.outcome, Outcome::Deadlocked);
    assert!(
        !run.stuck.is_empty(),
        "the lost forward's victims are buffered"
    );
    assert!(
        run.elapsed < run.config.stall_timeout,
        "no watchdog: {:?}",
        run.elapsed
    );
    let unfinished = run.ops.iter().filter(|o| o.ret.is_none()).count();
    assert!(unfinished > 0, "a core was left waiting");
}

#[test]
fn the_threads_watchdog_calls_a_deadlock_after_the_stall_timeout() {
    let config = SimConfig {
        stall_timeout: Duration::from_millis(300),
        ..small(Bugs::with(Bug::UnorderedForwards), Schedule::Threads)
    };
    let run = run(config);
    assert_eq!(run.outcome, Outcome::Deadlocked);
    assert!(run.elapsed >= config.stall_timeout);
}

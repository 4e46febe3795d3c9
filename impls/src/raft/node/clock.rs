//! The node's clock and its pause switch.
//!
//! The core counts time in ticks. The driver derives them from elapsed time as this
//! node's clock measures it: real (or simulated) time scaled by
//! [`NodeConfig::clock_rate_percent`](super::NodeConfig::clock_rate_percent), so that
//! clock skew between nodes is data a test or a nemesis sets. Ticks the driver could not
//! step on time (it was paused, or busy) are all stepped before anything else it handles,
//! so a node that wakes from a pause first sees that its timers have run out (a leader's
//! lease among them) and only then serves what waited in its queue.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The lowest and highest clock rates accepted, in percent faster than real time.
pub const CLOCK_RATE_RANGE: std::ops::RangeInclusive<i32> = -90..=900;

/// Ticks of a clock that runs `rate_percent` faster than real time (slower if negative).
#[derive(Clone, Debug)]
pub(crate) struct TickClock {
    start: Instant,
    /// One tick, in nanoseconds of this node's clock.
    tick_nanos: u128,
    /// 100 + the rate: local time = real time × speed / 100.
    speed: u128,
    /// Ticks handed out so far.
    stepped: u64,
}

impl TickClock {
    /// A clock starting now. `rate_percent` must lie in [`CLOCK_RATE_RANGE`] (checked by
    /// [`NodeConfig::validate`](super::NodeConfig::validate)).
    pub(crate) fn new(tick: Duration, rate_percent: i32) -> TickClock {
        TickClock::starting_at(Instant::now(), tick, rate_percent)
    }

    fn starting_at(start: Instant, tick: Duration, rate_percent: i32) -> TickClock {
        let rate = rate_percent.clamp(*CLOCK_RATE_RANGE.start(), *CLOCK_RATE_RANGE.end());
        TickClock {
            start,
            tick_nanos: tick.as_nanos().max(1),
            speed: (100 + rate) as u128,
            stepped: 0,
        }
    }

    /// The ticks that have come due by `now` and were not yet handed out; they count as
    /// handed out once returned.
    pub(crate) fn take_due(&mut self, now: Instant) -> u64 {
        let real = now.saturating_duration_since(self.start).as_nanos();
        let local = real * self.speed / 100;
        let due = (local / self.tick_nanos) as u64;
        let new = due.saturating_sub(self.stepped);
        self.stepped = self.stepped.max(due);
        new
    }

    /// The real instant at which the next tick comes due.
    pub(crate) fn next_due(&self) -> Instant {
        let local = u128::from(self.stepped + 1) * self.tick_nanos;
        // The least real time whose scaled value reaches `local`.
        let real = (local * 100).div_ceil(self.speed);
        self.start + Duration::from_nanos(u64::try_from(real).unwrap_or(u64::MAX))
    }
}

/// A switch that stops a running node, as SIGSTOP would, and lets it go on, as SIGCONT
/// would. While paused, the node's driver handles nothing: no tick, no message, no
/// client request (they queue up, and then the sockets fill). On resume it first steps
/// every tick it missed, then what queued. Clones are handles to the same switch.
#[derive(Clone)]
pub struct PauseSwitch {
    state: Arc<watch::Sender<bool>>,
}

impl PauseSwitch {
    /// A switch, not paused.
    pub fn new() -> PauseSwitch {
        PauseSwitch {
            state: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Stops the node (at its next event; a step in progress completes).
    pub fn pause(&self) {
        self.state.send_replace(true);
    }

    /// Lets the node go on.
    pub fn resume(&self) {
        self.state.send_replace(false);
    }

    /// Whether the switch is set.
    pub fn is_paused(&self) -> bool {
        *self.state.borrow()
    }

    pub(crate) fn watch(&self) -> watch::Receiver<bool> {
        self.state.subscribe()
    }
}

impl Default for PauseSwitch {
    fn default() -> PauseSwitch {
        PauseSwitch::new()
    }
}

impl fmt::Debug for PauseSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PauseSwitch")
            .field("paused", &self.is_paused())
            .finish()
    }
}

/// Two handles are equal when they work the same switch.
impl PartialEq for PauseSwitch {
    fn eq(&self, other: &PauseSwitch) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

impl Eq for PauseSwitch {}

/// Returns at once unless `pause` is set; otherwise once it is cleared.
pub(crate) async fn wait_while_paused(pause: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = pause {
        // An error means the switch is gone, and nobody can resume the node: it stays
        // stopped, as a process nobody sends SIGCONT.
        if rx.wait_for(|paused| !*paused).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Returns once the switch changes (never without a switch).
pub(crate) async fn pause_changed(pause: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = pause {
        if rx.changed().await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_ticks_more_often_and_missed_ticks_are_handed_out_at_once() {
        let start = Instant::now();
        let tick = Duration::from_millis(10);
        let mut normal = TickClock::starting_at(start, tick, 0);
        let mut fast = TickClock::starting_at(start, tick, 25);
        let mut slow = TickClock::starting_at(start, tick, -50);
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(normal.take_due(at(9)), 0);
        assert_eq!(normal.next_due(), at(10));
        assert_eq!(normal.take_due(at(10)), 1);
        assert_eq!(normal.take_due(at(10)), 0, "handed out once");
        // 100 ms real: 125 ms on the fast clock, 50 ms on the slow one.
        assert_eq!(fast.take_due(at(100)), 12);
        assert_eq!(fast.next_due(), at(104));
        assert_eq!(slow.take_due(at(100)), 5);
        assert_eq!(slow.next_due(), at(120));
        // A pause of a second: every missed tick at once.
        assert_eq!(normal.take_due(at(1010)), 100);
        assert_eq!(normal.take_due(at(900)), 0, "time going back gives nothing");
    }

    #[tokio::test]
    async fn a_paused_switch_holds_until_resumed() {
        let switch = PauseSwitch::new();
        let mut rx = Some(switch.watch());
        wait_while_paused(&mut rx).await;
        switch.pause();
        assert!(switch.is_paused());
        assert_eq!(switch.clone(), switch);
        assert_ne!(PauseSwitch::new(), switch);
        let waiter = tokio::spawn(async move {
            wait_while_paused(&mut rx).await;
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        switch.resume();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("resumed")
            .unwrap();
    }
}

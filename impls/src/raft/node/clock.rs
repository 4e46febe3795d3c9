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
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The lowest and highest clock rates accepted, in percent faster than real time.
pub const CLOCK_RATE_RANGE: std::ops::RangeInclusive<i32> = -90..=900;

/// Ticks of a clock that runs `rate_percent` faster than real time (slower if negative).
#[derive(Clone, Debug)]
pub(crate) struct TickClock {
    /// The real instant the current rate took effect.
    start: Instant,
    /// Local nanoseconds that had passed at `start` (under earlier rates).
    local_at_start: u128,
    /// One tick, in nanoseconds of this node's clock.
    tick_nanos: u128,
    /// 100 + the rate: local time since `start` = real time since `start` × speed / 100.
    speed: u128,
    /// Ticks handed out so far.
    stepped: u64,
    /// A rate a nemesis may change while the node runs; it overrides the fixed one.
    shared: Option<ClockRate>,
}

impl TickClock {
    /// A clock starting now. `rate_percent` must lie in [`CLOCK_RATE_RANGE`] (checked by
    /// [`NodeConfig::validate`](super::NodeConfig::validate)).
    pub(crate) fn new(tick: Duration, rate_percent: i32) -> TickClock {
        TickClock::starting_at(Instant::now(), tick, rate_percent)
    }

    fn starting_at(start: Instant, tick: Duration, rate_percent: i32) -> TickClock {
        TickClock {
            start,
            local_at_start: 0,
            tick_nanos: tick.as_nanos().max(1),
            speed: speed_of(rate_percent),
            stepped: 0,
            shared: None,
        }
    }

    /// This clock, its rate from now on read from `rate` (which a nemesis may change
    /// while the node runs).
    pub(crate) fn with_shared_rate(mut self, rate: Option<ClockRate>) -> TickClock {
        if let Some(r) = &rate {
            self.speed = speed_of(r.get());
        }
        self.shared = rate;
        self
    }

    /// Local nanoseconds elapsed by `now` at the current rate.
    fn local(&self, now: Instant) -> u128 {
        let real = now.saturating_duration_since(self.start).as_nanos();
        self.local_at_start + real * self.speed / 100
    }

    /// The ticks that have come due by `now` and were not yet handed out; they count as
    /// handed out once returned. A change of the shared rate takes effect here: the time
    /// since the last call is counted at the old rate (at most one tick of the old rate
    /// late, since the driver calls this at every tick), the time after it at the new.
    pub(crate) fn take_due(&mut self, now: Instant) -> u64 {
        let local = self.local(now);
        if let Some(rate) = &self.shared {
            let speed = speed_of(rate.get());
            if speed != self.speed && now > self.start {
                self.local_at_start = local;
                self.start = now;
                self.speed = speed;
            }
        }
        let due = (local / self.tick_nanos) as u64;
        let new = due.saturating_sub(self.stepped);
        self.stepped = self.stepped.max(due);
        new
    }

    /// The real instant at which the next tick comes due.
    pub(crate) fn next_due(&self) -> Instant {
        let local = u128::from(self.stepped + 1) * self.tick_nanos;
        let ahead = local.saturating_sub(self.local_at_start);
        // The least real time whose scaled value reaches `local`.
        let real = (ahead * 100).div_ceil(self.speed);
        self.start + Duration::from_nanos(u64::try_from(real).unwrap_or(u64::MAX))
    }
}

/// 100 + the rate, clamped to [`CLOCK_RATE_RANGE`].
fn speed_of(rate_percent: i32) -> u128 {
    let rate = rate_percent.clamp(*CLOCK_RATE_RANGE.start(), *CLOCK_RATE_RANGE.end());
    (100 + rate) as u128
}

/// A clock rate that can be changed while the node runs: clock skew as a nemesis applies
/// it in a simulation. Set in [`NodeConfig::clock_rate`](super::NodeConfig::clock_rate),
/// it overrides the fixed `clock_rate_percent`; the node's clock follows a change from
/// its next tick on (ticks already counted stay counted). Rates outside
/// [`CLOCK_RATE_RANGE`] are clamped into it. Clones are handles to the same rate.
#[derive(Clone)]
pub struct ClockRate {
    percent: Arc<AtomicI32>,
}

impl ClockRate {
    /// A rate of `percent` faster than real time (slower if negative).
    pub fn new(percent: i32) -> ClockRate {
        ClockRate {
            percent: Arc::new(AtomicI32::new(percent)),
        }
    }

    /// Makes the clock run `percent` faster than real time from now on.
    pub fn set(&self, percent: i32) {
        self.percent.store(percent, Ordering::Relaxed);
    }

    /// The rate now, in percent.
    pub fn get(&self) -> i32 {
        self.percent.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for ClockRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClockRate")
            .field("percent", &self.get())
            .finish()
    }
}

/// Two handles are equal when they work the same rate.
impl PartialEq for ClockRate {
    fn eq(&self, other: &ClockRate) -> bool {
        Arc::ptr_eq(&self.percent, &other.percent)
    }
}

impl Eq for ClockRate {}

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

    #[test]
    fn a_shared_rate_changed_midway_counts_each_stretch_at_its_own_rate() {
        let start = Instant::now();
        let tick = Duration::from_millis(10);
        let rate = ClockRate::new(0);
        let mut clock = TickClock::starting_at(start, tick, 0).with_shared_rate(Some(rate.clone()));
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(clock.take_due(at(100)), 10);
        rate.set(100);
        // The change is seen at 100 ms; from there the clock runs twice as fast.
        assert_eq!(clock.take_due(at(100)), 0);
        assert_eq!(clock.next_due(), at(105));
        assert_eq!(clock.take_due(at(200)), 20);
        rate.set(-50);
        assert_eq!(clock.take_due(at(200)), 0);
        assert_eq!(clock.take_due(at(400)), 10);
        assert_eq!(clock.next_due(), at(420));
        // A shared rate overrides the fixed one from the start.
        let fixed =
            TickClock::starting_at(start, tick, 0).with_shared_rate(Some(ClockRate::new(-50)));
        assert_eq!(fixed.clone().take_due(at(100)), 5);
        assert_eq!(rate.clone(), rate);
        assert_ne!(ClockRate::new(0), rate);
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

//! The progress line of a long phase, on stderr.
//!
//! Nothing is printed in a phase's first 2 s, so short runs stay quiet. After that, on a
//! terminal, one line rewritten in place about once a second (and erased when the phase
//! ends); elsewhere (a CI log, a file), one line at about 2 s and then one every 10 s, so
//! logs stay short.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a phase runs before its first progress line.
const QUIET: Duration = Duration::from_secs(2);
/// Between two lines on a terminal, where the line is rewritten in place.
const TERMINAL_PERIOD: Duration = Duration::from_secs(1);
/// Between two lines elsewhere, where each is a line of its own.
const LOG_PERIOD: Duration = Duration::from_secs(10);
/// How often [`while_running`] offers a line.
const POLL: Duration = Duration::from_millis(100);

/// A progress line on stderr once a run has taken more than about 2 s: rewritten in place
/// on a terminal, one line every 10 s otherwise (so CI logs stay short). Each line is
/// `LABEL: TEXT`. Dropping it erases a line left on a terminal, as [`Progress::finish`]
/// does.
pub struct Progress {
    enabled: bool,
    tty: bool,
    label: String,
    /// When it was made: [`Progress::tick_with`] counts the phase's time from here.
    created: Instant,
    last: Option<Instant>,
    printed: bool,
}

impl Progress {
    /// A progress line labelled `label`, silent unless `enabled`. Its phase starts now.
    pub fn new(enabled: bool, label: &str) -> Self {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            label: label.to_string(),
            created: Instant::now(),
            last: None,
            printed: false,
        }
    }

    /// The model checker's line: states generated and unique, the rate, and the time
    /// since `started`.
    pub fn tick(&mut self, started: Instant, generated: usize, unique: usize) {
        let elapsed = started.elapsed();
        self.tick_at(elapsed, || {
            let rate = generated as f64 / elapsed.as_secs_f64();
            format!(
                "{} states, {} unique, {}/s, {:.0} s",
                super::text::count(generated),
                super::text::count(unique),
                super::text::count(rate as usize),
                elapsed.as_secs_f64()
            )
        });
    }

    /// Any line: prints `LABEL: line()` if one is due, timing the phase from when this
    /// `Progress` was made. `line` runs only when a line is printed, so it may be costly.
    /// Call it as often as convenient: it costs a clock read when no line is due.
    pub fn tick_with(&mut self, line: impl FnOnce() -> String) {
        self.tick_at(self.created.elapsed(), line);
    }

    fn tick_at(&mut self, elapsed: Duration, line: impl FnOnce() -> String) {
        let label = self.label.clone();
        self.emit(elapsed, || format!("{label}: {}", line()));
    }

    /// Prints the line `line(label, elapsed)` builds, whole, if one is due, timing the
    /// phase from `started`; for callers whose line places the label itself.
    pub(crate) fn show(&mut self, started: Instant, line: impl FnOnce(&str, Duration) -> String) {
        let elapsed = started.elapsed();
        let label = self.label.clone();
        self.emit(elapsed, || line(&label, elapsed));
    }

    /// Prints `line()` as it is, if one is due.
    fn emit(&mut self, elapsed: Duration, line: impl FnOnce() -> String) {
        if !self.enabled || elapsed < QUIET {
            return;
        }
        let period = if self.tty {
            TERMINAL_PERIOD
        } else {
            LOG_PERIOD
        };
        if self.last.is_some_and(|t| t.elapsed() < period) {
            return;
        }
        self.last = Some(Instant::now());
        let line = line();
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{line}");
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "{line}");
        }
        self.printed = true;
    }

    /// Ends the phase: erases the line on a terminal, so what follows starts on a clean
    /// line. Lines printed to a log stay.
    pub fn finish(&mut self) {
        if self.tty && self.printed {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
        self.printed = false;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Runs `work` on a thread of its own while this thread offers `progress` a line from
/// `line` ten times a second; returns what `work` returned once it has. For a phase that
/// blocks in code which cannot tick (a simulator, a benchmark, a library's search):
/// `line` reads what the work shares, typically atomic counters.
///
/// # Panics
///
/// If `work` panics (the panic is passed on).
pub fn while_running<T: Send>(
    progress: &mut Progress,
    mut line: impl FnMut() -> String,
    work: impl FnOnce() -> T + Send,
) -> T {
    std::thread::scope(|s| {
        // Dropped when the work returns or panics, which ends the wait at once.
        let (done, finished) = mpsc::channel::<()>();
        let worker = s.spawn(move || {
            let _done = done;
            work()
        });
        while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(POLL) {
            progress.tick_with(&mut line);
        }
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `n` of `total`, with thousands separators: `1,200 of 4,000`.
pub fn of(n: u64, total: u64) -> String {
    format!(
        "{} of {}",
        super::text::count(n as usize),
        super::text::count(total as usize)
    )
}

/// The whole seconds left until `end` (at least 0), counted on `now`: `3 s left`.
pub fn left(now: Duration, end: Duration) -> String {
    format!("{:.0} s left", end.saturating_sub(now).as_secs_f64().ceil())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_times_read_as_words() {
        assert_eq!(of(1_200, 4_000), "1,200 of 4,000");
        assert_eq!(
            left(Duration::from_millis(2_500), Duration::from_secs(10)),
            "8 s left"
        );
        assert_eq!(
            left(Duration::from_secs(11), Duration::from_secs(10)),
            "0 s left"
        );
    }

    #[test]
    fn while_running_returns_what_the_work_returns() {
        let mut p = Progress::new(false, "test");
        assert_eq!(while_running(&mut p, String::new, || 6 * 7), 42);
    }
}

//! The progress line of a long phase, on stderr.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress line on stderr once a run has taken more than about 2 s: rewritten in place
/// on a terminal, one line every 10 s otherwise (so CI logs stay short).
pub(crate) struct Progress {
    enabled: bool,
    tty: bool,
    label: String,
    last: Option<Instant>,
    printed: bool,
}

impl Progress {
    pub(crate) fn new(enabled: bool, label: &str) -> Self {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            label: label.to_string(),
            last: None,
            printed: false,
        }
    }

    pub(crate) fn tick(&mut self, started: Instant, generated: usize, unique: usize) {
        self.show(started, |label, elapsed| {
            let rate = generated as f64 / elapsed.as_secs_f64();
            format!(
                "{label}: {} states, {} unique, {}/s, {:.0} s",
                super::text::count(generated),
                super::text::count(unique),
                super::text::count(rate as usize),
                elapsed.as_secs_f64()
            )
        });
    }

    /// Prints the line `line(label, elapsed)` builds, if one is due: the first once the
    /// run is 2 s old, then every second on a terminal and every 10 s otherwise. `line`
    /// is called only when a line is printed.
    pub(crate) fn show(&mut self, started: Instant, line: impl FnOnce(&str, Duration) -> String) {
        let elapsed = started.elapsed();
        if !self.enabled || elapsed < Duration::from_secs(2) {
            return;
        }
        let period = if self.tty { 1 } else { 10 };
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(period))
        {
            return;
        }
        self.last = Some(Instant::now());
        let line = line(&self.label, elapsed);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        self.printed = true;
    }

    pub(crate) fn finish(&mut self) {
        if self.tty && self.printed {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

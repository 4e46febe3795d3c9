//! The thread that watches running checks: it prints their progress lines, enforces
//! `--memory` against the process's resident memory, and, while a history is read,
//! `--timeout` (the search keeps its own deadline).
//!
//! The search itself only counts (see [`linearizability::Progress`]); everything that
//! costs time (reading the clock for the line, reading `/proc`, writing to stderr) happens
//! on this thread, ten times a second. One thread serves every check of the process, so
//! that `check bench lin`, which runs thousands of short checks, does not pay for a thread
//! per check.

use crate::engine::text::count;
use crate::engine::Progress as Line;
use linearizability::{Budget, Progress};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

/// How often the watcher wakes.
const PERIOD: Duration = Duration::from_millis(100);

/// What the watcher needs to know of a check.
pub(super) struct Watch {
    /// Printed at the start of the line: the history's name.
    pub label: String,
    /// Print the progress line.
    pub line: bool,
    /// Stop the check when the process's resident memory exceeds this.
    pub memory: Option<usize>,
    /// The time budget, for "left" on the line.
    pub timeout: Option<Duration>,
    /// Stop the check (through its progress record) at this instant: what bounds reading
    /// and parsing, which have no clock of their own.
    pub deadline: Option<Instant>,
    /// Bytes of the history read so far, while it is read, for the line.
    pub read: Option<Arc<AtomicUsize>>,
}

/// A check being watched.
struct Job {
    id: u64,
    watch: Watch,
    progress: Arc<Progress>,
    started: Instant,
    line: Line,
}

impl Job {
    /// One look: stop the check if it is over its memory budget, and print the line if
    /// one is due.
    fn visit(&mut self) {
        if self.started.elapsed() < PERIOD {
            return;
        }
        let rss = resident_bytes();
        if let (Some(budget), Some(bytes)) = (self.watch.memory, rss) {
            if bytes > budget {
                self.progress.stop(Budget::Memory);
            }
        }
        // An allocation failed: whatever the budget, there is no memory to go on with.
        if crate::reserve::spent() {
            self.progress.stop(Budget::Memory);
        }
        if self.watch.deadline.is_some_and(|d| Instant::now() >= d) {
            self.progress.stop(Budget::Time);
        }
        let (progress, timeout) = (&self.progress, self.watch.timeout);
        let read = self.watch.read.as_ref().map(|r| r.load(Ordering::Relaxed));
        self.line.show(self.started, |label, elapsed| {
            describe(label, &progress.snapshot(), read, rss, elapsed, timeout)
        });
    }
}

/// The checks being watched, and the watcher's alarm clock.
struct Watcher {
    jobs: Mutex<(u64, Vec<Job>)>,
    wake: Condvar,
}

static WATCHER: LazyLock<Watcher> = LazyLock::new(|| Watcher {
    jobs: Mutex::new((0, Vec::new())),
    wake: Condvar::new(),
});

/// Watches a check until the returned guard is dropped; the guard clears a terminal's
/// progress line.
pub(super) fn watch(watch: Watch, progress: Arc<Progress>, started: Instant) -> Watching {
    static THREAD: Once = Once::new();
    THREAD.call_once(|| {
        std::thread::Builder::new()
            .name("check-lin-watch".into())
            .spawn(run)
            .expect("a thread can be started");
    });
    let mut jobs = WATCHER.jobs.lock().expect("the watcher does not panic");
    jobs.0 += 1;
    let id = jobs.0;
    let line = Line::new(watch.line, &watch.label);
    jobs.1.push(Job {
        id,
        watch,
        progress,
        started,
        line,
    });
    WATCHER.wake.notify_one();
    Watching { id }
}

/// A check being watched; dropping it ends the watch.
pub(super) struct Watching {
    id: u64,
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut jobs = WATCHER.jobs.lock().expect("the watcher does not panic");
        if let Some(k) = jobs.1.iter().position(|j| j.id == self.id) {
            jobs.1.swap_remove(k).line.finish();
        }
    }
}

/// The watcher thread: sleeps while there is nothing to watch, else looks at every check
/// each [`PERIOD`].
fn run() {
    let mut jobs = WATCHER.jobs.lock().expect("the watcher does not panic");
    loop {
        jobs = if jobs.1.is_empty() {
            WATCHER.wake.wait(jobs).expect("the watcher does not panic")
        } else {
            WATCHER
                .wake
                .wait_timeout(jobs, PERIOD)
                .expect("the watcher does not panic")
                .0
        };
        for job in &mut jobs.1 {
            job.visit();
        }
    }
}

/// The progress line: `c50-ok.txt: partition 1 of 1, 604 of 1712 operations linearized,
/// 2,313,447 states, 812 MiB, 21 s (9 s left)`; before the search, `h.edn: reading, 120
/// MiB read, ...` and then `h.edn: parsing, line 1,200,000, ...`.
fn describe(
    label: &str,
    s: &linearizability::Snapshot,
    read: Option<usize>,
    rss: Option<usize>,
    elapsed: Duration,
    timeout: Option<Duration>,
) -> String {
    let mut line = format!("{label}: ");
    if s.partitions == 0 && s.read > 0 {
        line.push_str(&format!("parsing, line {}", count(s.read)));
    } else if s.partitions == 0 && read.is_some() {
        line.push_str(&format!(
            "reading, {} MiB read",
            read.unwrap_or_default() >> 20
        ));
    } else if s.partitions > 1 {
        line.push_str(&format!(
            "partition {} of {} ({} done), ",
            s.partition, s.partitions, s.finished
        ));
    } else {
        line.push_str("partition 1 of 1, ");
    }
    if s.partitions > 0 || read.is_none() {
        line.push_str(&format!(
            "{} of {} operations linearized, {} states",
            s.linearized,
            s.partition_operations,
            count(s.explored)
        ));
    }
    if let Some(bytes) = rss {
        line.push_str(&format!(", {} MiB", bytes >> 20));
    }
    line.push_str(&format!(", {:.0} s", elapsed.as_secs_f64()));
    match timeout {
        Some(t) => line.push_str(&format!(
            " ({:.0} s left)",
            t.saturating_sub(elapsed).as_secs_f64()
        )),
        None => line.push_str(" (no time limit)"),
    }
    line
}

/// The process's resident memory, where the system says (Linux's `/proc/self/status`).
pub(crate) fn resident_bytes() -> Option<usize> {
    status_bytes("VmRSS:")
}

/// The process's peak resident memory so far, where the system says.
pub(crate) fn peak_resident_bytes() -> Option<usize> {
    status_bytes("VmHWM:")
}

/// A size in `/proc/self/status`, given in kB there.
fn status_bytes(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_partition_the_depth_and_the_time_left() {
        let s = linearizability::Snapshot {
            partitions: 1,
            partition: 1,
            finished: 0,
            partition_operations: 1712,
            linearized: 604,
            explored: 2_313_447,
            read: 0,
        };
        let line = describe(
            "c50-ok.txt",
            &s,
            Some(283_726),
            Some(812 << 20),
            Duration::from_secs(21),
            Some(Duration::from_secs(30)),
        );
        assert_eq!(
            line,
            "c50-ok.txt: partition 1 of 1, 604 of 1712 operations linearized, \
             2,313,447 states, 812 MiB, 21 s (9 s left)"
        );
    }

    #[test]
    fn before_the_search_the_line_says_how_far_reading_got() {
        let reading = linearizability::Snapshot::default();
        let line = describe(
            "h.edn",
            &reading,
            Some(120 << 20),
            Some(300 << 20),
            Duration::from_secs(3),
            None,
        );
        assert_eq!(
            line,
            "h.edn: reading, 120 MiB read, 300 MiB, 3 s (no time limit)"
        );
        let parsing = linearizability::Snapshot {
            read: 1_200_000,
            ..reading
        };
        let line = describe(
            "h.edn",
            &parsing,
            Some(120 << 20),
            None,
            Duration::from_secs(4),
            Some(Duration::from_secs(20)),
        );
        assert_eq!(line, "h.edn: parsing, line 1,200,000, 4 s (16 s left)");
    }

    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let bytes = resident_bytes().expect("/proc/self/status has VmRSS");
            assert!(bytes > 1 << 20, "{bytes}");
        }
    }
}

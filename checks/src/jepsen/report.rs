//! What a Jepsen-style run prints: the fault schedule first, then what happened
//! (faults as applied, operation counts, latencies, acknowledged writes) and the verdict,
//! as text or as one JSON document (schema `check-kv-jepsen/1`).

use super::history::{durability, Completed, Durability, Event, Func, Kind, Process};
use crate::engine::Outcome as Verdict;
use crate::lin::LinReport;
use impls::sim::faults::Scheduled;
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

/// The planned fault schedule, one line a fault, then the end of the run: `end` is when the
/// workers stop, and the final reads begin `settle` later.
pub fn schedule(schedule: &[Scheduled], end: Duration, settle: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "fault schedule ({} faults):", schedule.len());
    for s in schedule {
        let _ = writeln!(out, "  {:>7.3} s  {}", s.at.as_secs_f64(), s.fault);
    }
    let _ = writeln!(
        out,
        "  {:>7.3} s  end: repair what is still broken (heal, resume, restart); final quorum reads {:.1} s later",
        end.as_secs_f64(),
        settle.as_secs_f64()
    );
    out
}

/// What identifies a run in its report.
#[derive(Clone, Debug)]
pub struct RunMeta {
    /// The report's schema, e.g. `check-kv-jepsen/1`.
    pub schema: &'static str,
    /// The seed.
    pub seed: u64,
    /// `simulation` or `real`.
    pub mode: &'static str,
    /// The command line that replays the run.
    pub replay: String,
    /// Where the history is, or what it is called.
    pub history: String,
    /// Wall-clock seconds the run took (not the check).
    pub run_seconds: f64,
    /// The bug switch the nodes ran with, if any.
    pub bug: Option<&'static str>,
}

/// Counts of one function's outcomes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Completed `ok`.
    pub ok: usize,
    /// Definitely did not happen.
    pub fail: usize,
    /// Indefinite, or still open when the run ended.
    pub info: usize,
}

/// Latencies of the workers' `ok` operations, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Highest.
    pub max: f64,
}

/// A fault as the nemesis applied it.
#[derive(Clone, Debug, Serialize)]
pub struct Applied {
    /// Seconds since the start of the run.
    pub at: f64,
    /// The fault's name.
    pub fault: String,
    /// Who it hit.
    pub detail: String,
}

/// Everything about a run except the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The report's schema, e.g. `check-kv-jepsen/1`.
    pub schema: &'static str,
    /// The seed.
    pub seed: u64,
    /// `simulation` or `real`.
    pub mode: &'static str,
    /// The command line that replays the run.
    pub replay: String,
    /// Where the history is, or what it is called.
    pub history: String,
    /// The bug switch the nodes ran with (`null` for none): a run with one that finds
    /// nothing exits 3, never 0 ([`bug_run_verdict`]).
    pub bug: Option<&'static str>,
    /// Faults as applied.
    pub faults: Vec<Applied>,
    /// The workers' gets.
    pub get: Counts,
    /// The workers' puts.
    pub put: Counts,
    /// The workers' compare-and-sets (a cas that found another value is a `fail`).
    pub cas: Counts,
    /// The final reads' attempts.
    pub final_get: Counts,
    /// Of the workers' `ok` operations.
    pub latency_ms: Latency,
    /// The final reads against the acknowledged puts.
    pub durability: Durability,
    /// Wall-clock seconds the run took (not the check).
    pub run_seconds: f64,
}

impl Outcome {
    /// Summarises a run's events (`ops` paired from them).
    pub fn new(meta: RunMeta, events: &[Event], ops: &[Completed]) -> Outcome {
        let faults = events
            .iter()
            .filter(|e| e.process == Process::Nemesis)
            .map(|e| Applied {
                at: e.time as f64 / 1e6,
                fault: e.f.clone(),
                detail: e.value.clone().unwrap_or_default(),
            })
            .collect();
        let count = |f: Func, final_read: bool| {
            let mut c = Counts::default();
            for op in ops
                .iter()
                .filter(|o| o.f == f && o.final_read == final_read)
            {
                match op.outcome {
                    Kind::Ok => c.ok += 1,
                    Kind::Fail => c.fail += 1,
                    _ => c.info += 1,
                }
            }
            c
        };
        let mut latencies: Vec<u64> = ops
            .iter()
            .filter(|o| !o.final_read && o.outcome == Kind::Ok)
            .filter_map(|o| Some(o.completed? - o.invoked))
            .collect();
        latencies.sort_unstable();
        let at = |q: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() - 1) as f64 * q).round() as usize;
            latencies[i] as f64 / 1e3
        };
        Outcome {
            schema: meta.schema,
            seed: meta.seed,
            mode: meta.mode,
            replay: meta.replay,
            history: meta.history,
            bug: meta.bug,
            faults,
            get: count(Func::Get, false),
            put: count(Func::Put, false),
            cas: count(Func::Cas, false),
            final_get: count(Func::Get, true),
            latency_ms: Latency {
                p50: at(0.5),
                p99: at(0.99),
                max: at(1.0),
            },
            durability: durability(ops),
            run_seconds: meta.run_seconds,
        }
    }
}

/// The text report after the run.
pub fn render(o: &Outcome, lin: &LinReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "faults applied ({}):", o.faults.len());
    for f in &o.faults {
        let _ = writeln!(out, "  {:>7.3} s  {} {}", f.at, f.fault, f.detail);
    }
    let counts = |c: &Counts| format!("{} ok, {} fail, {} info", c.ok, c.fail, c.info);
    // Only a store that offers cas shows its count.
    let cas = match &o.cas {
        c if c.ok + c.fail + c.info == 0 => String::new(),
        c => format!("; cas {}", counts(c)),
    };
    let _ = writeln!(
        out,
        "operations: get {}; put {}{cas}; final reads {}",
        counts(&o.get),
        counts(&o.put),
        counts(&o.final_get)
    );
    let _ = writeln!(
        out,
        "latency of ok operations: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        o.latency_ms.p50, o.latency_ms.p99, o.latency_ms.max
    );
    let d = &o.durability;
    let _ = writeln!(
        out,
        "acknowledged puts: {}; final reads: {} keys; lost acknowledged writes: {}",
        d.acknowledged_puts,
        d.final_reads,
        d.lost.len()
    );
    for l in &d.lost {
        let _ = writeln!(
            out,
            "  lost: {} was last acknowledged as {:?}, finally read {:?}",
            l.key, l.acknowledged, l.read
        );
    }
    let _ = writeln!(
        out,
        "run took {:.2} s; history: {} ({} operations, {} keys)",
        o.run_seconds, o.history, lin.operations, lin.partitions
    );
    if let Some(f) = &lin.failure {
        let _ = writeln!(
            out,
            "smallest failing key: {} operations\nlongest linearizable prefix ({} operations; times are positions among client events):",
            f.partition_operations,
            f.longest_prefix.len()
        );
        // The operations just before the blocked one explain it; the rest is in the JSON
        // report and on the HTML page.
        const SHOWN: usize = 10;
        let skipped = f.longest_prefix.len().saturating_sub(SHOWN);
        if skipped > 0 {
            let _ = writeln!(
                out,
                "  ... {skipped} earlier operations (all of them with --format json or --html)"
            );
        }
        for op in &f.longest_prefix[skipped..] {
            let _ = writeln!(out, "  {op}");
        }
        let _ = writeln!(out, "cannot be placed after it:\n  {}", f.blocked);
        let _ = writeln!(out, "why: {}", f.reason);
    }
    let why = match lin.exhausted {
        Some(_) => ": the --timeout ran out before the search decided",
        None => "",
    };
    let _ = writeln!(
        out,
        "result: {}{why} ({:.3} s, {} configurations explored)",
        lin.verdict, lin.seconds, lin.explored
    );
    out
}

/// The JSON report: the outcome with the check's report under `check`.
pub fn json(o: &Outcome, lin: &LinReport) -> serde_json::Result<String> {
    #[derive(Serialize)]
    struct Full<'a> {
        #[serde(flatten)]
        outcome: &'a Outcome,
        check: &'a LinReport,
    }
    serde_json::to_string_pretty(&Full {
        outcome: o,
        check: lin,
    })
}

/// The verdict of a run whose nodes ran with `bug` switched on. A run that finds nothing
/// then proves nothing about the bug, since the seed may simply not have reached its code
/// path: `Holds` becomes `Unknown` (exit 3), with the line that says so. Every other
/// verdict, and any run without a bug, is left as it is.
pub fn bug_run_verdict(verdict: Verdict, bug: Option<&str>) -> (Verdict, Option<String>) {
    match (verdict, bug) {
        (Verdict::Holds, Some(bug)) => (
            Verdict::Unknown,
            Some(format!(
                "bug {bug} not caught: this run found no anomaly, which proves nothing about the bug (exit 3); other seeds, a longer --seconds or the faults that reach its code path may catch it\n"
            )),
        ),
        (verdict, _) => (verdict, None),
    }
}

#[cfg(test)]
mod bug_run_tests {
    use super::*;

    #[test]
    fn a_bug_run_that_finds_nothing_is_unknown_never_a_pass() {
        let (v, line) = bug_run_verdict(Verdict::Holds, Some("skip-fsync"));
        assert_eq!(v, Verdict::Unknown);
        assert!(line.unwrap().starts_with("bug skip-fsync not caught"));
        assert_eq!(
            bug_run_verdict(Verdict::Fails, Some("skip-fsync")).0,
            Verdict::Fails
        );
        assert_eq!(
            bug_run_verdict(Verdict::Holds, None),
            (Verdict::Holds, None)
        );
    }
}

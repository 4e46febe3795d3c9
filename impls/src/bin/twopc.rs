//! `twopc`: runs a coordinator and three banks as threads, makes random transfers between
//! them (optionally losing messages and crashing nodes), prints each transfer's outcome
//! and the final balances, and checks the invariants.
//!
//! Exits 0 if every invariant holds, 1 if one is broken, 2 on a usage error (a drop rate
//! above [`MAX_DROP_RATE`] among them), 3 if `--timeout` ran out first (nothing audited),
//! 130 on SIGINT, SIGTERM or SIGHUP.
//!
//! The temporary directory it makes when `--data-dir` is not given is removed however the
//! run ends, short of SIGKILL; a `--data-dir` is never removed.

use clap::Parser;
use impls::sim::faults::LinkFaults;
use impls::twopc::bank;
use impls::twopc::core::Timing;
use impls::twopc::faults::{Crashes, FaultPlan};
use impls::twopc::runtime::{ClusterConfig, Halt};
use impls::twopc::scenario;
use impls::twopc::NodeId;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The highest `--drop-rate` accepted. A transfer is over only when every bank in it has
/// the decision and the coordinator has its acknowledgement: two messages that must both
/// get through, tried once per resend interval (15 ms). At 0.9 that is 1 try in 100,
/// about 2.5 s a transfer, 55 s for the default 20 transfers; at 0.99 it is 1 in 10,000,
/// about 4 minutes a transfer, and the run looked hung.
const MAX_DROP_RATE: f64 = 0.9;

/// The default `--timeout`: twice what the slowest accepted run (the default 20 transfers
/// at [`MAX_DROP_RATE`]) takes on an idle machine.
const DEFAULT_TIMEOUT: &str = "120s";

/// Exit code when `--timeout` runs out: the invariants were not checked, which is neither
/// 0 (they hold) nor 1 (one is broken). `check` uses 3 for "unknown" too.
const TIMED_OUT_EXIT: u8 = 3;

/// Exit code on SIGINT, SIGTERM or SIGHUP: 128 + 2, what shells report for Ctrl-C.
const INTERRUPTED_EXIT: i32 = 130;

/// Two-phase commit demo: bank transfers across three banks, with crashes and message loss.
#[derive(Parser, Debug, Clone)]
#[command(name = "twopc")]
struct Args {
    /// Directory for the nodes' logs; it must not hold logs already, and it is kept.
    /// Default: a new temporary directory, removed at the end (also on Ctrl-C, SIGTERM
    /// and --timeout).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// How many transfers to make.
    #[arg(long, default_value_t = 20)]
    transfers: usize,
    /// Probability that the network loses each message, from 0 to 0.9 (above that a
    /// transfer takes minutes).
    #[arg(long, default_value_t = 0.0, value_parser = drop_rate)]
    drop_rate: f64,
    /// Crash the node passing every K-th crash point (restarted 20 ms later).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    crash_every: Option<u64>,
    /// Seed of the transfers and of the network's faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop (exit 3, nothing audited) if the run has not finished after this long: 90s,
    /// 2m, 500ms; a bare number is seconds.
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_TIMEOUT, value_parser = duration)]
    timeout: Duration,
}

/// `--drop-rate`: a probability no higher than [`MAX_DROP_RATE`]; the error for a higher
/// one says how long a transfer would take.
fn drop_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=MAX_DROP_RATE).contains(&rate) {
        return Ok(rate);
    }
    if !(0.0..1.0).contains(&rate) {
        return Err(format!(
            "{rate} is not a probability the demo accepts; use a rate from 0 to at most \
             {MAX_DROP_RATE}"
        ));
    }
    let resend = Timing::default().resend;
    Err(format!(
        "too lossy to finish in reasonable time: at {rate} each transfer takes about {}, \
         since it needs a decision and its acknowledgement to both get through, which \
         happens once in {:.0} tries, {} ms apart; use at most {MAX_DROP_RATE} (about {} \
         each)",
        approximate(transfer_time(rate)),
        tries(rate),
        resend.as_millis(),
        approximate(transfer_time(MAX_DROP_RATE)),
    ))
}

/// How many resends it takes, on average, for a message and its answer to both get
/// through at drop rate `rate`.
fn tries(rate: f64) -> f64 {
    1.0 / ((1.0 - rate) * (1.0 - rate))
}

/// Roughly how long one transfer takes at drop rate `rate`, mostly lost: the votes time
/// out, then the slower of its two banks needs about 1.5 times the mean number of tries.
fn transfer_time(rate: f64) -> Duration {
    let timing = Timing::default();
    timing.vote_timeout + timing.resend.mul_f64(1.5 * tries(rate))
}

/// `9 s`, or `4 minutes` from two minutes up.
fn approximate(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.0} minutes", s / 60.0)
    }
}

/// `--timeout`: `90s`, `2m`, `500ms`, or a bare number of seconds; more than zero.
fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let bad = || format!("'{s}' is not a duration; expected e.g. 90s, 2m, 500ms");
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let d = Duration::try_from_secs_f64(value * scale).map_err(|_| bad())?;
    if d.is_zero() {
        return Err(format!("'{s}' must be more than zero"));
    }
    Ok(d)
}

/// `3 s`, or `0.5 s` for a duration that is not whole seconds.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// What every way out of the run must do: halt the cluster, so that no node creates its
/// directory again, and then remove the directory if the demo made it. Shared by the
/// normal end, `--timeout`, and the signal handler, whichever comes first; the others
/// then find nothing left to do.
struct Cleanup {
    halt: Halt,
    /// The demo's own temporary directory, until it is removed.
    temporary: Mutex<Option<PathBuf>>,
}

impl Cleanup {
    /// Halts the cluster and removes the temporary directory, once; returns a warning if
    /// the directory could not be removed.
    fn finish(&self) -> Option<String> {
        let mut temporary = self
            .temporary
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.halt.halt();
        let dir = temporary.take()?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => None,
            Err(e) => Some(format!("twopc: cannot remove {}: {e}", dir.display())),
        }
    }
}

/// The progress line on stderr, for runs that take a while: nothing in the first 2 s,
/// then one line a second on a terminal and one every 10 s elsewhere (a CI log), as
/// `check`'s progress lines do. Whole lines, not rewritten in place: the transfers print
/// their own lines on stdout in between.
struct Progress {
    started: Instant,
    period: Duration,
    next: Instant,
}

impl Progress {
    const QUIET: Duration = Duration::from_secs(2);

    fn new(started: Instant) -> Progress {
        let period = if std::io::stderr().is_terminal() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(10)
        };
        Progress {
            started,
            period,
            next: started + Progress::QUIET,
        }
    }

    /// Prints `line()` if a line is due.
    fn tick(&mut self, line: impl FnOnce(Duration) -> String) {
        let now = Instant::now();
        if now >= self.next {
            self.next = now + self.period;
            eprintln!("twopc: {}", line(now - self.started));
        }
    }
}

fn main() -> ExitCode {
    // clap exits with 2 on a usage error.
    let args = Args::parse();
    let (dir, temporary) = match &args.data_dir {
        Some(dir) => {
            // Exit 1 means an invariant broke; a place that cannot hold the logs is a
            // usage error (2), like every other bad argument.
            if dir.exists() && !dir.is_dir() {
                eprintln!(
                    "twopc: --data-dir {} exists and is not a directory",
                    dir.display()
                );
                return ExitCode::from(2);
            }
            let has_logs = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
            if has_logs {
                eprintln!(
                    "twopc: {} is not empty; give a new or empty directory",
                    dir.display()
                );
                return ExitCode::from(2);
            }
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("twopc: cannot create --data-dir {}: {e}", dir.display());
                return ExitCode::from(2);
            }
            (dir.clone(), false)
        }
        None => match make_temporary_dir() {
            Ok(dir) => (dir, true),
            Err(e) => {
                eprintln!(
                    "twopc: cannot create a directory in {}: {e}",
                    std::env::temp_dir().display()
                );
                return ExitCode::from(2);
            }
        },
    };
    let cleanup = Arc::new(Cleanup {
        halt: Halt::default(),
        temporary: Mutex::new(temporary.then(|| dir.clone())),
    });
    let decided = Arc::new(AtomicUsize::new(0));
    let kept = (!temporary).then(|| format!("; the logs stay in {}", dir.display()));
    let kept = kept.unwrap_or_default();
    {
        let (cleanup, decided, kept) = (cleanup.clone(), decided.clone(), kept.clone());
        let total = args.transfers;
        // If the handler cannot be installed, a signal kills the demo as it did before:
        // the directory stays, and nothing else is lost.
        let _ = ctrlc::set_handler(move || {
            let warning = cleanup.finish();
            eprintln!(
                "\ntwopc: interrupted after {} of {total} transfers decided, nothing audited{kept}",
                decided.load(Ordering::SeqCst)
            );
            if let Some(w) = warning {
                eprintln!("{w}");
            }
            std::process::exit(INTERRUPTED_EXIT);
        });
    }
    let started = Instant::now();
    let (done, finished) = mpsc::channel();
    {
        let (args, dir, halt, decided) = (
            args.clone(),
            dir.clone(),
            cleanup.halt.clone(),
            decided.clone(),
        );
        // The run blocks in transfers that may take minutes; this thread watches the clock.
        std::thread::spawn(move || {
            let _ = done.send(run(&args, dir, halt, &decided));
        });
    }
    let mut progress = Progress::new(started);
    let code = loop {
        match finished.recv_timeout(Duration::from_millis(100)) {
            Ok(code) => break code,
            // The run panicked; its message is above.
            Err(RecvTimeoutError::Disconnected) => break ExitCode::from(101),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let elapsed = started.elapsed();
        let decided = decided.load(Ordering::SeqCst);
        if elapsed >= args.timeout {
            let warning = cleanup.finish();
            eprintln!(
                "twopc: stopped after {} (--timeout): {decided} of {} transfers decided, \
                 nothing audited; raise --timeout, or lower --transfers or --drop-rate{kept}",
                seconds(args.timeout),
                args.transfers
            );
            if let Some(w) = warning {
                eprintln!("{w}");
            }
            // The transfers still under way block their threads: end them with the process.
            std::process::exit(i32::from(TIMED_OUT_EXIT));
        }
        progress.tick(|elapsed| {
            format!(
                "{decided} of {} transfers decided, {} elapsed, --timeout {}",
                args.transfers,
                seconds(Duration::from_secs(elapsed.as_secs())),
                seconds(args.timeout)
            )
        });
    };
    if let Some(w) = cleanup.finish() {
        eprintln!("{w}");
    }
    code
}

/// A new directory `twopc-demo-PID-NANOS` in the system's temporary directory (TMPDIR),
/// private (0700) and created by this call: an existing one is an error, never adopted,
/// since it is removed at the end.
fn make_temporary_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("twopc-demo-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

fn run(args: &Args, dir: PathBuf, halt: Halt, decided: &AtomicUsize) -> ExitCode {
    let mut config = ClusterConfig::new(&dir, bank::three_banks());
    config.halt = halt;
    config.net = LinkFaults {
        drop_rate: args.drop_rate,
        max_delay: if args.drop_rate > 0.0 {
            Duration::from_millis(2)
        } else {
            Duration::ZERO
        },
        seed: args.seed,
    };
    let crashes = args.crash_every.map_or(Crashes::Never, Crashes::Every);
    let txs = bank::random_transfers(args.seed, 1, args.transfers, &config.banks);
    println!(
        "coordinator + {} banks in {}, {} transfers, drop rate {}, {}",
        config.banks.len(),
        dir.display(),
        txs.len(),
        args.drop_rate,
        match args.crash_every {
            Some(k) => format!("a crash every {k} crash points"),
            None => "no crashes".to_string(),
        }
    );
    let report = match scenario::run(
        config,
        Arc::new(FaultPlan::new(crashes)),
        &txs,
        1,
        Duration::from_secs(30),
        &|t, outcome| {
            match outcome {
                Ok(d) => println!("{t}: {d:?}"),
                Err(e) => println!("{t}: {e}"),
            }
            decided.fetch_add(1, Ordering::SeqCst);
        },
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("twopc: cannot run the cluster: {e}");
            return ExitCode::from(1);
        }
    };
    for point in &report.crashed {
        println!("crashed at {point}");
    }
    println!(
        "network: {} messages, {} lost; {} torn log bytes discarded at restarts",
        report.net.sent, report.net.dropped, report.torn_bytes
    );
    for (p, balances) in report.balances.iter().enumerate() {
        let accounts: Vec<String> = balances.iter().map(|(a, b)| format!("{a} {b}")).collect();
        println!("{}: {}", NodeId::Participant(p), accounts.join(", "));
    }
    let a = &report.audit;
    println!(
        "{} committed, {} aborted; total {} (was {})",
        a.committed, a.aborted, a.total_after, a.total_before
    );
    if a.ok() {
        println!("invariants hold: every transfer atomic, total balance unchanged, nothing acknowledged lost");
        ExitCode::SUCCESS
    } else {
        for v in &a.violations {
            println!("VIOLATION: {v}");
        }
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_rates_above_the_maximum_say_how_long_a_transfer_would_take() {
        assert_eq!(drop_rate("0.9"), Ok(0.9));
        assert_eq!(drop_rate("0"), Ok(0.0));
        let err = drop_rate("0.99").unwrap_err();
        assert!(err.contains("each transfer takes about 4 minutes"), "{err}");
        assert!(err.contains("once in 10000 tries"), "{err}");
        assert!(err.contains("use at most 0.9 (about 2 s each)"), "{err}");
        assert!(drop_rate("1").unwrap_err().contains("at most 0.9"));
        assert!(drop_rate("NaN").is_err());
    }

    #[test]
    fn timeouts_read_units() {
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(duration("0").is_err());
        assert!(duration("-1s").is_err());
        assert!(duration("soon").is_err());
        assert_eq!(seconds(Duration::from_millis(500)), "0.5 s");
    }
}

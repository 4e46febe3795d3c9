//! `twopc`: runs a coordinator and three banks as threads, makes random transfers between
//! them (optionally losing messages and crashing nodes), prints each transfer's outcome
//! and the final balances, and checks the invariants.
//!
//! Exits 0 if every invariant holds, 1 if one is broken, 2 on a usage error.

use clap::Parser;
use impls::sim::faults::LinkFaults;
use impls::twopc::bank;
use impls::twopc::faults::{Crashes, FaultPlan};
use impls::twopc::runtime::ClusterConfig;
use impls::twopc::scenario;
use impls::twopc::NodeId;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Two-phase commit demo: bank transfers across three banks, with crashes and message loss.
#[derive(Parser, Debug)]
#[command(name = "twopc")]
struct Args {
    /// Directory for the nodes' logs; it must not hold logs already. Default: a new
    /// temporary directory, removed at the end.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// How many transfers to make.
    #[arg(long, default_value_t = 20)]
    transfers: usize,
    /// Probability that the network loses each message, in [0, 1).
    #[arg(long, default_value_t = 0.0, value_parser = drop_rate)]
    drop_rate: f64,
    /// Crash the node passing every K-th crash point (restarted 20 ms later).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    crash_every: Option<u64>,
    /// Seed of the transfers and of the network's faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn drop_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not in [0, 1)"))
    }
}

fn main() -> ExitCode {
    // clap exits with 2 on a usage error.
    let args = Args::parse();
    let (dir, temporary) = match &args.data_dir {
        Some(dir) => {
            let has_logs = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
            if has_logs {
                eprintln!(
                    "twopc: {} is not empty; give a new or empty directory",
                    dir.display()
                );
                return ExitCode::from(2);
            }
            (dir.clone(), false)
        }
        None => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir =
                std::env::temp_dir().join(format!("twopc-demo-{}-{nanos}", std::process::id()));
            (dir, true)
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("twopc: cannot create {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let code = run(&args, dir.clone());
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    code
}

fn run(args: &Args, dir: PathBuf) -> ExitCode {
    let mut config = ClusterConfig::new(&dir, bank::three_banks());
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
        &|t, outcome| match outcome {
            Ok(d) => println!("{t}: {d:?}"),
            Err(e) => println!("{t}: {e}"),
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

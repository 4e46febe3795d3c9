//! `check vclock --broadcast`: runs the causal-broadcast layer
//! ([`impls::vclock::causal::sim`]) over a seeded network that loses and reorders
//! packets, with a crash-stop node, and checks its recording: every delivery after the
//! deliveries of everything that causally precedes it, nothing delivered twice, and every
//! message a live node delivered delivered by every live node.
//!
//! Exit 0 if all hold, 1 if one fails, 2 for a usage error. A run with `--bug` that finds
//! nothing exits 3: it proves nothing about the bug.

use crate::args::{format_of, Format};
use crate::engine::Outcome;
use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Command as Cli};
use impls::sansio::BugSwitches;
use impls::vclock::causal::checker::{check, Verdict};
use impls::vclock::causal::sim::{run as simulate, Config, Run};
use impls::vclock::causal::Bug;
use serde::Serialize;
use std::fmt::Write;

/// The command line of `check vclock --broadcast`.
pub fn command() -> Cli {
    let number = crate::args::number_arg;
    let d = Config::default();
    Cli::new("broadcast")
        .override_usage("check [--format F] vclock --broadcast [OPTIONS]")
        .about(
            "Run causal broadcast over a lossy, reordering simulated network with a crash-stop \
             node, and check every delivery against causal order (exit 0 holds, 1 fails, 3 a \
             --bug run that caught nothing, 2 usage error)",
        )
        .arg(number("nodes", 2..=16).default_value(d.nodes.to_string()).help("Nodes"))
        .arg(number("messages", 1..=1000).default_value(d.messages.to_string()).help("Broadcasts per node, at seeded times in the first second"))
        .arg(number("drop-percent", 0..=90).default_value(d.drop_percent.to_string()).help("Percent of packets the network loses (the layer resends until acknowledged)"))
        .arg(number("seed", 0..=u64::MAX).default_value(d.seed.to_string()).help("Seed of every choice: the same seed replays the same run"))
        .arg(
            Arg::new("no-crash")
                .long("no-crash")
                .action(ArgAction::SetTrue)
                .help("Keep every node up (by default the last node stops for good at a seeded time)"),
        )
        .arg(
            Arg::new("bug")
                .long("bug")
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(Bug::ALL.iter().map(|b| b.name())))
                .help("Run the layer with a known bug, which the checker should catch"),
        )
}

/// The JSON report.
#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    seed: u64,
    nodes: u8,
    messages: u32,
    drop_percent: u64,
    bug: Option<&'static str>,
    crashed: Option<(u8, u64)>,
    packets: u64,
    dropped: u64,
    resent: u64,
    max_buffered: usize,
    undelivered: usize,
    elapsed_ms: u64,
    check: &'a Verdict,
    verdict: &'static str,
}

/// Runs `check vclock --broadcast` on its parsed arguments.
pub fn run(m: &ArgMatches) -> Result<Outcome> {
    let number = |name: &str| crate::args::number_of(m, name);
    let bug = m.get_one::<String>("bug").and_then(|n| Bug::from_name(n));
    let config = Config {
        nodes: number("nodes") as u8,
        messages: number("messages") as u32,
        drop_percent: number("drop-percent"),
        crash: !m.get_flag("no-crash"),
        seed: number("seed"),
        bug,
    };
    let r = simulate(&config);
    let v = check(&r.recording);
    let outcome = if !v.holds() || r.undelivered > 0 {
        Outcome::Fails
    } else if bug.is_some() {
        Outcome::Unknown
    } else {
        Outcome::Holds
    };
    let verdict = match outcome {
        Outcome::Fails => "fails",
        Outcome::Unknown => "bug not caught",
        _ => "holds",
    };
    match format_of(m) {
        Format::Json => {
            let report = Report {
                schema: "check-vclock-broadcast/1",
                seed: config.seed,
                nodes: config.nodes,
                messages: config.messages,
                drop_percent: config.drop_percent,
                bug: bug.map(|b| b.name()),
                crashed: r.crashed,
                packets: r.packets,
                dropped: r.dropped,
                resent: r.resent,
                max_buffered: r.max_buffered,
                undelivered: r.undelivered,
                elapsed_ms: r.elapsed_ms,
                check: &v,
                verdict,
            };
            crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
        }
        Format::Text => crate::output::print(render(&config, &r, &v, outcome))?,
    }
    Ok(outcome)
}

fn render(c: &Config, r: &Run, v: &Verdict, outcome: Outcome) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "causal broadcast: {} nodes, {} broadcasts each, {} % loss, seed {}, bug {}",
        c.nodes,
        c.messages,
        c.drop_percent,
        c.seed,
        c.bug.map_or("none", |b| b.name())
    );
    let _ = writeln!(
        out,
        "replay: check vclock --broadcast --nodes {} --messages {} --drop-percent {} --seed {}{}{}",
        c.nodes,
        c.messages,
        c.drop_percent,
        c.seed,
        if c.crash { "" } else { " --no-crash" },
        c.bug.map_or(String::new(), |b| format!(" --bug {}", b.name()))
    );
    if let Some((n, at)) = r.crashed {
        let _ = writeln!(out, "n{} crashed (stopped for good) at {at} ms", n + 1);
    }
    let _ = writeln!(
        out,
        "network: {} packets, {} lost, {} resent; at most {} message(s) held back at a node; settled at {} ms",
        r.packets, r.dropped, r.resent, r.max_buffered, r.elapsed_ms
    );
    let _ = writeln!(
        out,
        "checked {} deliveries of {} broadcasts",
        v.deliveries, v.broadcasts
    );
    for violation in v.violations.iter().take(10) {
        let _ = writeln!(out, "  {violation}");
    }
    if v.violations.len() > 10 {
        let _ = writeln!(out, "  ... and {} more", v.violations.len() - 10);
    }
    if r.undelivered > 0 {
        let _ = writeln!(
            out,
            "{} message(s) delivered by a live node and not by every live node",
            r.undelivered
        );
    }
    let _ = writeln!(
        out,
        "result: {}",
        match outcome {
            Outcome::Fails if !v.holds() => "FAILS: a delivery broke causal order".to_string(),
            Outcome::Fails => "FAILS: live nodes did not all deliver the same messages".to_string(),
            Outcome::Unknown => format!(
                "bug {} not caught: this run found no anomaly, which proves nothing about the bug (exit 3)",
                c.bug.map_or("", |b| b.name())
            ),
            _ => "causal order holds, nothing delivered twice, every live node delivered every message".to_string(),
        }
    );
    out
}

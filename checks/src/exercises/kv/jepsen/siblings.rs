//! `check kv --jepsen --versioning dvv`: the Jepsen-style run of the store's multi-value
//! mode ([`impls::kv::siblings::sim`]) on a deterministic simulated cluster, with
//! partitions, crashes and restarts, and each key's history checked for lost updates and
//! false siblings ([`impls::vclock::siblings::check`]) against a final read at ALL.
//!
//! Linearizability is the wrong question for a multi-value register, so this run does
//! not ask it. Exit 0 holds, 1 an anomaly, 3 a `--bug` run that caught nothing or a key
//! whose final read never answered, 2 usage error.

use super::Params;
use crate::args::Format;
use crate::engine::Outcome;
use crate::pending::PendingFile;
use anyhow::{bail, Result};
use impls::kv::siblings::sim::{run as simulate, Config, Run};
use impls::kv::siblings::Bug;
use impls::sansio::BugSwitches;
use impls::sim::faults::NemesisKind;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// The faults the simulated multi-value cluster can suffer: it has no pauses (a paused
/// node and a slow network look alike to its clients) and no leader.
pub const NEMESES: [NemesisKind; 4] = [
    NemesisKind::Partition,
    NemesisKind::Crash,
    NemesisKind::Restart,
    NemesisKind::PowerLoss,
];

/// The bug names `--versioning dvv` takes.
pub fn bug_names() -> Vec<&'static str> {
    Bug::ALL.iter().map(|b| b.name()).collect()
}

/// Runs the multi-value mode as `p` says (its bug named by `bug`), writing the histories
/// as JSON to `history` and a page to `html` if asked.
pub fn run(
    p: &Params,
    bug: Option<&str>,
    history: Option<&PathBuf>,
    html: Option<&PathBuf>,
    format: Format,
) -> Result<Outcome> {
    if p.real {
        bail!(
            "--versioning dvv runs on the simulated cluster only: the kv-node binary keeps one \
             versioned value per key, not sibling sets"
        );
    }
    if let Some(k) = p.nemesis.iter().find(|k| !NEMESES.contains(k)) {
        bail!(
            "--versioning dvv does not offer the {} fault; it offers {}",
            k.name(),
            NEMESES.map(|k| k.name()).join(", ")
        );
    }
    let bug = match bug {
        None => None,
        Some(name) => Some(Bug::from_name(name).ok_or_else(|| {
            anyhow::anyhow!(
                "--bug {name} is not a bug of --versioning dvv; its bugs are {}",
                bug_names().join(", ")
            )
        })?),
    };
    let history_file = history
        .map(|path| PendingFile::create(path, "--history"))
        .transpose()?;
    let html_file = html
        .map(|path| PendingFile::create(path, "--html"))
        .transpose()?;
    let config = Config {
        nodes: p.nodes,
        clients: p.clients as u32,
        keys: p.keys as u32,
        seconds: p.seconds.as_secs(),
        drop_percent: Config::default().drop_percent,
        nemesis: p.nemesis.clone(),
        seed: p.seed,
        bug,
        consistency: p.consistency,
    };
    let replay = replay(&config);
    // Before the run, as the default mode does: whatever happens next, the seed and the
    // replay line are on screen (beside a JSON report, on stderr).
    let head = format!("SEED={}\nreplay: {replay}\n", config.seed);
    match format {
        Format::Text => crate::output::print(head)?,
        Format::Json => eprint!("{head}"),
    }
    let r = simulate(&config);
    let outcome = if r.keys.iter().any(|k| !k.verdict.holds()) {
        Outcome::Fails
    } else if bug.is_some() || !r.unread.is_empty() {
        Outcome::Unknown
    } else {
        Outcome::Holds
    };
    if let Some(file) = history_file {
        file.commit(&serde_json::to_string_pretty(&histories(&r))?)?;
    }
    if let Some(file) = html_file {
        file.commit(&page(&config, &r, &replay, outcome))?;
    }
    match format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&Report {
                schema: "check-kv-siblings-jepsen/1",
                seed: config.seed,
                mode: "simulation",
                versioning: "dvv",
                replay: replay.clone(),
                bug: bug.map(|b| b.name()),
                faults: faults(&r),
                counts: r.counts,
                max_siblings: r.max_siblings,
                keys: histories(&r),
                unread: r.unread.clone(),
                verdict: verdict_word(outcome),
            })?
        )?,
        Format::Text => crate::output::print(render(&config, &r, outcome))?,
    }
    Ok(outcome)
}

fn verdict_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Fails => "fails",
        Outcome::Unknown => "unknown",
        _ => "holds",
    }
}

/// The command line that replays the run.
fn replay(c: &Config) -> String {
    let nemesis: Vec<&str> = c.nemesis.iter().map(|k| k.name()).collect();
    let mut line = format!(
        "check kv --jepsen --versioning dvv --seed {} --nodes {} --clients {} --seconds {} --keys {} --nemesis {} --consistency {}",
        c.seed,
        c.nodes,
        c.clients,
        c.seconds,
        c.keys,
        if nemesis.is_empty() { "none".to_string() } else { nemesis.join(",") },
        c.consistency.name()
    );
    if let Some(bug) = c.bug {
        line.push_str(&format!(" --bug {}", bug.name()));
    }
    line
}

fn faults(r: &Run) -> Vec<String> {
    r.faults
        .iter()
        .map(|(at, f)| format!("{at} ms {f}"))
        .collect()
}

/// One key in the JSON report and the `--history` file.
#[derive(Serialize)]
struct KeyReport<'a> {
    key: &'a str,
    history: &'a [impls::vclock::siblings::Op],
    final_read: &'a [String],
    check: &'a impls::vclock::siblings::Verdict,
}

fn histories(r: &Run) -> Vec<KeyReport<'_>> {
    r.keys
        .iter()
        .map(|k| KeyReport {
            key: &k.key,
            history: &k.history,
            final_read: &k.final_read,
            check: &k.verdict,
        })
        .collect()
}

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    seed: u64,
    mode: &'static str,
    versioning: &'static str,
    replay: String,
    bug: Option<&'static str>,
    faults: Vec<String>,
    counts: impls::kv::siblings::sim::Counts,
    max_siblings: usize,
    keys: Vec<KeyReport<'a>>,
    unread: Vec<String>,
    verdict: &'static str,
}

fn render(c: &Config, r: &Run, outcome: Outcome) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mode=simulation versioning=dvv nodes={} clients={} seconds={} keys={} consistency={} bug={}",
        c.nodes,
        c.clients,
        c.seconds,
        c.keys,
        c.consistency.name(),
        c.bug.map_or("none", |b| b.name())
    );
    let _ = writeln!(out, "faults: {}", faults(r).join("; "));
    let n = &r.counts;
    let _ = writeln!(
        out,
        "puts: {} ok, {} failed, {} indefinite; gets: {} ok, {} failed; {} read repairs; hints: {} sent, {} handed over; at most {} siblings in one get",
        n.puts_ok,
        n.puts_failed,
        n.puts_indefinite,
        n.gets_ok,
        n.gets_failed,
        n.read_repairs,
        n.hints_sent,
        n.hints_delivered,
        r.max_siblings
    );
    for k in &r.keys {
        let _ = writeln!(
            out,
            "{}: {} operations, final read [{}]: {}",
            k.key,
            k.history.len(),
            k.final_read.join(", "),
            if k.verdict.holds() {
                "no lost update, no false sibling".to_string()
            } else {
                format!("{} anomalies", k.verdict.anomalies.len())
            }
        );
        for a in k.verdict.anomalies.iter().take(5) {
            let _ = writeln!(out, "  {a}");
        }
        if k.verdict.anomalies.len() > 5 {
            let _ = writeln!(out, "  ... and {} more", k.verdict.anomalies.len() - 5);
        }
    }
    for key in &r.unread {
        let _ = writeln!(out, "{key}: the final read never answered");
    }
    let _ = writeln!(
        out,
        "result: {}",
        match outcome {
            Outcome::Fails => "FAILS: an update was lost or a superseded value kept".to_string(),
            Outcome::Unknown if !r.unread.is_empty() => {
                "unknown: some key's final read never answered (exit 3)".to_string()
            }
            Outcome::Unknown => format!(
                "bug {} not caught: this run found no anomaly, which proves nothing about the bug (exit 3)",
                c.bug.map_or("", |b| b.name())
            ),
            _ => "every acknowledged put survived or was superseded by a put that read it, and no superseded value came back".to_string(),
        }
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A self-contained page: the run, then each key with its anomalies and its history.
fn page(c: &Config, r: &Run, replay: &str, outcome: Outcome) -> String {
    let mut body = format!(
        "<h1>kv --jepsen --versioning dvv: {}</h1>\n<p><code>{}</code></p>\n<p>{}</p>\n",
        verdict_word(outcome),
        escape(replay),
        escape(&faults(r).join("; "))
    );
    for k in &r.keys {
        let _ = write!(
            body,
            "<h2>{} &mdash; {}</h2>\n<p>final read: [{}]</p>\n",
            escape(&k.key),
            if k.verdict.holds() { "holds" } else { "fails" },
            escape(&k.final_read.join(", "))
        );
        if !k.verdict.holds() {
            body.push_str("<ul class=bad>\n");
            for a in &k.verdict.anomalies {
                let _ = writeln!(body, "<li>{}</li>", escape(&a.to_string()));
            }
            body.push_str("</ul>\n");
        }
        body.push_str("<table><tr><th>#</th><th>operation</th></tr>\n");
        for (i, op) in k.history.iter().enumerate() {
            let text = match op {
                impls::vclock::siblings::Op::Get { id, values } => {
                    format!("get g{id} &rarr; [{}]", escape(&values.join(", ")))
                }
                impls::vclock::siblings::Op::Put {
                    value,
                    context,
                    outcome,
                } => format!(
                    "put {} ({}) &rarr; {outcome:?}",
                    escape(value),
                    context.map_or("blind".to_string(), |g| format!("after g{g}"))
                ),
            };
            let _ = writeln!(body, "<tr><td>{}</td><td>{text}</td></tr>", i + 1);
        }
        body.push_str("</table>\n");
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=utf-8><title>kv dvv seed {}</title>\n<style>body{{font-family:sans-serif;max-width:60em;margin:auto}} .bad{{color:#b00}} td,th{{padding:0 .6em;text-align:left}}</style></head>\n<body>\n{body}</body></html>\n",
        c.seed
    )
}

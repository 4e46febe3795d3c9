//! `check raft --validate FILE...`: trace validation. Each file is one node's trace,
//! recorded by `raft-node --trace FILE` (or `NodeConfig::trace`; the format is
//! `impls::raft::node::trace`), and every recorded transition must be a step of the
//! message-level model (`models::raft::messages`), which runs the same core: the model
//! steps the node on an input and carries out its effects (a persist updates the durable
//! state, a send puts a message in the network, an apply feeds the state machine).
//!
//! # What is checked
//!
//! For every node, from each start record on:
//! - **Restart**: a restarted node recovered exactly what the persists its runtime
//!   reported durable add up to ([`Durable::apply`](impls::raft::core::Durable::apply)),
//!   or that plus a prefix of the persists of a step the crash cut short. Less is a
//!   skipped fsync or a lost write (`RecoveredDurable`). The node restarts as the model's
//!   `Restart` does: [`Node::restart`](impls::raft::core::Node::restart) on what it
//!   recovered.
//! - **Sequence**: records of an incarnation are numbered without gaps (`RecordSequence`).
//! - **Idle ticks**: each tick the runtime recorded as idle has no effect and changes no
//!   variable in the model either (`IdleTick`).
//! - **State before**: the state the runtime recorded before a step is the model's state
//!   after the step before (`StateBefore`; the variables that differ are named).
//! - **Receipts**: a message a node stepped on was sent, to it, by its sender (the same
//!   term and content), according to the sender's trace (`MessageSent`). A send that a
//!   crash cut from the sender's trace is recovered by re-stepping the cut step.
//! - **The step's effects**: the core is re-stepped on the recorded input (the model's
//!   transition: `Deliver`, `Timeout`, `Heartbeat`, `Propose`, `Compact`; a tick is one
//!   of the first three or only moves the clock), and what the runtime carried out must
//!   be: applies at or below the model's `commitIndex` after the step
//!   (`ApplyAfterCommit`); every persist durable before any send, apply or client answer
//!   after it (`DurableBeforeSend`); exactly the model's effects (`Effects`); persists and
//!   applies in the model's order (`EffectOrder`).
//!
//! Each node's replay stops at its first disagreement, reported with the node, its
//! `file:line`, the state before, the step (the model's action name and the step in
//! words), what the runtime did, what the model's step does, and the rule that
//! disagreed. A crash may leave a torn last line (ignored, and said) and a step with no
//! performed record (its effects count as possibly carried out). Nodes are named by id as
//! `raft-node` names them: `n0`, `n1`, ...
//!
//! Exit codes: 0 every trace agrees with the model, 1 a disagreement, 2 an input error
//! (a missing, empty or malformed file, named with the line).

pub mod page;
mod read;
mod replay;
mod words;

use crate::args::{format_of, Format};
use crate::engine::text::count;
use crate::engine::Outcome;
use anyhow::{bail, Result};
use clap::{Arg, ArgAction, ArgMatches, Command as Cli};
use impls::raft::NodeId;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// A disagreement between a trace and the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The node whose trace disagrees.
    pub node: NodeId,
    /// Its trace file.
    pub file: String,
    /// The line of the record that disagrees (1-based).
    pub line: usize,
    /// `file:line`.
    pub at: String,
    /// The rule that disagreed: `RecoveredDurable`, `RecordSequence`, `IdleTick`,
    /// `StateBefore`, `MessageSent`, `ApplyAfterCommit`, `DurableBeforeSend`, `Effects`
    /// or `EffectOrder` (see the module documentation).
    pub rule: &'static str,
    /// What disagreed, in protocol words.
    pub why: String,
    /// The model's name for the step's action (`Deliver`, `Timeout`, `Restart`, ...), or
    /// empty where the record is not a step.
    pub action: String,
    /// The step the runtime took, in words.
    pub step: String,
    /// The node's state before the step, variable by variable.
    pub state_before: Vec<String>,
    /// What the runtime carried out, in order (for a step's effects).
    pub performed: Vec<String>,
    /// What the model's step does, in order (for a step's effects).
    pub model: Vec<String>,
}

/// What validation established about one node's trace.
#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    /// The node.
    pub node: NodeId,
    /// Its trace file.
    pub file: String,
    /// Starts: the first and every restart.
    pub starts: u64,
    /// Steps checked.
    pub steps: u64,
    /// Idle ticks checked.
    pub idle_ticks: u64,
    /// Messages received that were matched to their sender's send.
    pub receipts_matched: u64,
    /// Messages received from nodes whose trace was not given (not checked).
    pub receipts_unchecked: u64,
    /// Lines of steps a crash cut before the runtime recorded what it carried out.
    pub cut_steps: Vec<usize>,
    /// The torn last line a crash left, ignored.
    pub torn_last_line: Option<usize>,
    /// Bytes of torn lines the node cut off when it restarted.
    pub torn_bytes_cut: u64,
    /// Whether the trace agrees with the model (up to its end).
    pub agrees: bool,
}

/// The verdict on a set of traces.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// One summary per trace, in the order given.
    pub nodes: Vec<NodeSummary>,
    /// Each disagreeing node's first disagreement, in the order the traces were given.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether every trace agrees with the model.
    pub fn agrees(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The command line of `check raft --validate`.
pub fn command() -> Cli {
    Cli::new("validate")
        .override_usage("check [--format F] raft --validate FILE...")
        .about(
            "Trace validation: checks that every step a running Raft node recorded \
             (raft-node --trace FILE) is a step of the message-level model from the state \
             before it, that restarts recover what was reported durable, and that every \
             message received was sent (exit 0 agrees, 1 a disagreement, 2 an input error)",
        )
        .arg(
            Arg::new("files")
                .value_name("FILE")
                .num_args(1..)
                .required(true)
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(PathBuf))
                .help("One trace per node (JSON Lines, as raft-node --trace writes them)"),
        )
        .arg(
            Arg::new("html")
                .long("html")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Write an HTML page of the validation: each node's summary, and each disagreement with the runtime's effects beside the model's"),
        )
}

/// Runs `check raft --validate`.
pub fn run(m: &ArgMatches) -> Result<Outcome> {
    let files: Vec<PathBuf> = m
        .get_many::<PathBuf>("files")
        .map(|f| f.cloned().collect())
        .unwrap_or_default();
    let page = m
        .get_one::<PathBuf>("html")
        .map(|path| crate::pending::PendingFile::create(path, "--html"))
        .transpose()?;
    let verdict = validate(&files)?;
    if let Some(page) = page {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        page.commit(&page::html(&verdict, &names.join(" ")))?;
    }
    match format_of(m) {
        Format::Text => crate::output::print(text(&verdict))?,
        Format::Json => crate::output::print(format!("{}\n", json(&verdict)))?,
    }
    Ok(Outcome::holds_if(verdict.agrees()))
}

/// Validates the traces at `paths`, one per node. `Err` is an input error naming the file
/// (and line): missing, empty, malformed, two traces of one node, or a record the core
/// cannot take.
pub fn validate(paths: &[PathBuf]) -> Result<Verdict> {
    if paths.is_empty() {
        bail!("--validate needs at least one trace file");
    }
    let mut traces = Vec::new();
    let mut seen: HashMap<NodeId, PathBuf> = HashMap::new();
    for path in paths {
        let trace = read::read(path)?;
        if let Some(other) = seen.insert(trace.node, path.clone()) {
            bail!(
                "{} and {} are both traces of n{}: give one trace per node",
                other.display(),
                path.display(),
                trace.node
            );
        }
        traces.push(trace);
    }
    let sends = replay::Sends::of(&traces);
    let mut replayed = Vec::new();
    for trace in &traces {
        replayed.push(replay::replay(trace, &sends).map_err(anyhow::Error::msg)?);
    }
    // Receipts only a sender's cut step could explain, now that its steps are known.
    let possibly: HashMap<NodeId, _> = replayed
        .iter()
        .map(|r| (r.node, r.possibly_sent.clone()))
        .collect();
    for r in &mut replayed {
        let to = r.node;
        for p in std::mem::take(&mut r.pending) {
            let explained = possibly
                .get(&p.from)
                .is_some_and(|s| s.contains(&(to, p.message.clone())));
            if explained {
                r.receipts_matched += 1;
            } else if r.finding.as_ref().is_none_or(|f| p.finding.line < f.line) {
                r.finding = Some(p.finding);
            }
        }
    }
    let nodes = traces
        .iter()
        .zip(&replayed)
        .map(|(t, r)| NodeSummary {
            node: t.node,
            file: t.path.display().to_string(),
            starts: r.starts,
            steps: r.steps,
            idle_ticks: r.idle_ticks,
            receipts_matched: r.receipts_matched,
            receipts_unchecked: r.receipts_unchecked,
            cut_steps: r.cut_steps.clone(),
            torn_last_line: t.torn_last_line,
            torn_bytes_cut: r.torn_bytes_cut,
            agrees: r.finding.is_none(),
        })
        .collect();
    let findings = replayed.into_iter().filter_map(|r| r.finding).collect();
    Ok(Verdict { nodes, findings })
}

/// The report for people.
pub fn text(v: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "raft trace validation: {} trace(s)", v.nodes.len());
    for n in &v.nodes {
        let mut notes = Vec::new();
        if let Some(line) = n.torn_last_line {
            notes.push(format!(
                "a torn last line (line {line}) ignored: a crash cut its write"
            ));
        }
        if n.torn_bytes_cut > 0 {
            notes.push(format!(
                "{} bytes of torn lines cut at restarts",
                n.torn_bytes_cut
            ));
        }
        if !n.cut_steps.is_empty() {
            let lines: Vec<String> = n.cut_steps.iter().map(ToString::to_string).collect();
            notes.push(format!(
                "step(s) at line {} cut by a crash before their effects were recorded",
                lines.join(", ")
            ));
        }
        if n.receipts_unchecked > 0 {
            notes.push(format!(
                "{} receipt(s) from nodes without a trace not checked",
                count(n.receipts_unchecked as usize)
            ));
        }
        let verdict = if n.agrees {
            "agrees with the model"
        } else {
            "DISAGREES with the model"
        };
        let _ = writeln!(
            out,
            "  n{} ({}): {} start(s), {} steps and {} idle ticks checked, {} receipts matched to their sends: {verdict}",
            n.node,
            n.file,
            n.starts,
            count(n.steps as usize),
            count(n.idle_ticks as usize),
            count(n.receipts_matched as usize),
        );
        for note in notes {
            let _ = writeln!(out, "      {note}");
        }
    }
    for f in &v.findings {
        let _ = writeln!(out, "disagreement in n{}'s trace at {} ({})", f.node, f.at, f.rule);
        if !f.step.is_empty() {
            let _ = writeln!(out, "  step ({}): {}", f.action, f.step);
        }
        let _ = writeln!(out, "  state before: {}", f.state_before.join(", "));
        for (title, list) in [("runtime did", &f.performed), ("model's step", &f.model)] {
            if list.is_empty() && f.performed.is_empty() && f.model.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {title}:");
            if list.is_empty() {
                let _ = writeln!(out, "    (nothing)");
            }
            for (i, e) in list.iter().enumerate() {
                let _ = writeln!(out, "    {}. {e}", i + 1);
            }
        }
        let _ = writeln!(out, "  disagrees: {}", f.why);
    }
    let _ = writeln!(
        out,
        "{}",
        if v.agrees() {
            "verdict: every trace agrees with the message-level model"
        } else {
            "verdict: the runtime disagrees with the message-level model"
        }
    );
    out
}

/// The report as JSON (schema `raft-validate/1`).
pub fn json(v: &Verdict) -> String {
    serde_json::json!({
        "schema": "raft-validate/1",
        "agrees": v.agrees(),
        "nodes": v.nodes,
        "findings": v.findings,
    })
    .to_string()
}

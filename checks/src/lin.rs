//! `check lin FILE --model NAME`: is a recorded history linearizable?
//!
//! Exit codes: 0 linearizable, 1 not, 3 unknown (the time budget ran out), 2 input error
//! (a missing file, a malformed line: the message names the file and line).

use crate::args::Format;
use anyhow::{bail, Context, Result};
use linearizability::etcd::{read_etcd_log, Etcd};
use linearizability::kv::{read_kv_log, Kv};
use linearizability::{check_operations, CheckOptions, CheckResult, Model, Operation, Verdict};
use serde::Serialize;
use std::fmt::Debug;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The sequential specifications `check lin` knows, by name.
pub const MODELS: [&str; 2] = ["etcd", "kv"];

/// The history formats `check lin` reads, by name.
pub const INPUTS: [&str; 2] = ["etcd-log", "kv-log"];

/// What `check lin` was asked to do.
#[derive(Clone, Debug)]
pub struct LinArgs {
    /// The history file.
    pub file: std::path::PathBuf,
    /// One of [`MODELS`].
    pub model: String,
    /// One of [`INPUTS`], or `None` to detect it from the file.
    pub input: Option<String>,
    /// Give up with "unknown" after this long.
    pub timeout: Option<Duration>,
    /// Output format.
    pub format: Format,
}

#[derive(Serialize)]
struct LinReport {
    file: String,
    model: String,
    input: String,
    operations: usize,
    partitions: usize,
    verdict: &'static str,
    seconds: f64,
    failure: Option<LinFailure>,
}

#[derive(Serialize)]
struct LinFailure {
    partition_operations: usize,
    longest_prefix: Vec<String>,
    blocked: String,
}

/// Runs `check lin`.
pub fn run(args: &LinArgs) -> Result<ExitCode> {
    let name = args.file.display().to_string();
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {name}"))?;
    let input = match &args.input {
        Some(i) => i.clone(),
        None => detect(&text).with_context(|| {
            format!(
                "{name}: cannot tell the format from its first line; pass --input {}",
                INPUTS.join("|")
            )
        })?,
    };
    let options = CheckOptions {
        timeout: args.timeout,
        ..CheckOptions::default()
    };
    let report = match (args.model.as_str(), input.as_str()) {
        ("etcd", "etcd-log") => {
            report(&Etcd, &read_etcd_log(&name, &text)?, &options, args, &input)
        }
        ("kv", "kv-log") => report(&Kv, &read_kv_log(&name, &text)?, &options, args, &input),
        (model, input) => bail!(
            "model {model} cannot read {input} histories; etcd reads etcd-log, kv reads kv-log"
        ),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", render(&report)),
    }
    Ok(ExitCode::from(match report.verdict {
        "linearizable" => 0,
        "not linearizable" => 1,
        _ => 3,
    }))
}

/// Guesses the format from the first non-blank line.
fn detect(text: &str) -> Option<String> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    if first.contains("jepsen.util - ") {
        Some("etcd-log".into())
    } else if first.trim_start().starts_with('{') && first.contains(":key") {
        Some("kv-log".into())
    } else {
        None
    }
}

fn describe<I: Debug, O: Debug>(i: usize, op: &Operation<I, O>) -> String {
    let ret = op.ret.map_or("never".to_string(), |t| t.to_string());
    let output = op
        .output
        .as_ref()
        .map_or("unknown".to_string(), |o| format!("{o:?}"));
    format!(
        "#{i} process {} {:?} -> {output} (called {}, returned {ret})",
        op.process, op.input, op.call
    )
}

fn report<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    options: &CheckOptions,
    args: &LinArgs,
    input: &str,
) -> LinReport {
    let started = Instant::now();
    let Verdict {
        result,
        partitions,
        failure,
        ..
    } = check_operations(model, ops, options);
    LinReport {
        file: args.file.display().to_string(),
        model: args.model.clone(),
        input: input.to_string(),
        operations: ops.len(),
        partitions,
        verdict: match result {
            CheckResult::Ok => "linearizable",
            CheckResult::Illegal => "not linearizable",
            CheckResult::Unknown => "unknown",
        },
        seconds: started.elapsed().as_secs_f64(),
        failure: failure.map(|f| LinFailure {
            partition_operations: f.partition.len(),
            longest_prefix: f
                .longest_prefix
                .iter()
                .map(|&i| describe(i, &ops[i]))
                .collect(),
            blocked: describe(f.blocked, &ops[f.blocked]),
        }),
    }
}

fn render(r: &LinReport) -> String {
    let mut out = format!(
        "{}: {} operations, {} partition{}, model {}, input {}\n",
        r.file,
        r.operations,
        r.partitions,
        if r.partitions == 1 { "" } else { "s" },
        r.model,
        r.input
    );
    if let Some(f) = &r.failure {
        out.push_str(&format!(
            "smallest failing partition: {} operations\nlongest linearizable prefix ({} operations):\n",
            f.partition_operations,
            f.longest_prefix.len()
        ));
        for op in &f.longest_prefix {
            out.push_str(&format!("  {op}\n"));
        }
        out.push_str(&format!("cannot be placed after it:\n  {}\n", f.blocked));
    }
    out.push_str(&format!("result: {} ({:.3} s)\n", r.verdict, r.seconds));
    out
}

//! `check bench lin DIR`: how long the linearizability check takes on every history in a
//! folder, in one run, so numbers can be compared with other checkers'.

use super::models as lin_models;
use super::{is_empty, read_history, Input, LinArgs, LinVerdict, Session};
use crate::args::Format;
use crate::engine::Outcome;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;

use std::time::Instant;

/// What `check bench lin` was asked to do.
#[derive(Clone, Debug)]
pub struct BenchLinArgs {
    /// The folder of histories.
    pub dir: PathBuf,
    /// The model, or `None` to choose by format (etcd logs: etcd, kv logs: kv).
    pub model: Option<String>,
    /// The model's initial value, as EDN text.
    pub init: Option<String>,
    /// Check each file this many times; the median is reported.
    pub runs: usize,
    /// Check each history whole instead of in the model's independent parts.
    pub no_partition: bool,
    /// Give up on a history (verdict unknown) after this long.
    pub timeout: Option<std::time::Duration>,
    /// Output format.
    pub format: Format,
}

#[derive(Serialize)]
struct FileTiming {
    file: String,
    model: String,
    operations: usize,
    verdict: LinVerdict,
    read_seconds: f64,
    check_seconds: f64,
}

#[derive(Serialize)]
struct BenchReport {
    schema: &'static str,
    dir: String,
    runs: usize,
    files: Vec<FileTiming>,
    total_read_seconds: f64,
    total_check_seconds: f64,
}

/// Runs `check bench lin`. Exits 0 once every file was checked; an unreadable file or
/// one with no model is an input error (exit 2).
pub fn lin(args: &BenchLinArgs) -> Result<Outcome> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot read the folder {}", args.dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.is_file());
    paths.sort();
    if paths.is_empty() {
        bail!("{}: no files to check", args.dir.display());
    }
    // Without --model, the folder's model is the one its first recognisable file implies:
    // an empty history (etcd_095.log) implies none, but is checked like its neighbours.
    let folder_model = match &args.model {
        Some(m) => Some(m.clone()),
        None => paths.iter().find_map(|p| {
            let text = read_history(p).ok()?;
            implied_model(Input::detect(&text)?)
        }),
    };
    let mut files = Vec::new();
    for path in paths {
        files.push(time_file(args, folder_model.as_deref(), path)?);
        if args.format == Format::Text {
            let t = files.last().expect("just pushed");
            crate::outln!(
                "{:<28} {:>6} ops  {:<16}  read {:>8.3} ms  check {:>8.3} ms",
                t.file,
                t.operations,
                t.verdict,
                t.read_seconds * 1e3,
                t.check_seconds * 1e3
            )?;
        }
    }
    let report = BenchReport {
        schema: "check-bench-lin/1",
        dir: args.dir.display().to_string(),
        runs: args.runs,
        total_read_seconds: files.iter().map(|f| f.read_seconds).sum(),
        total_check_seconds: files.iter().map(|f| f.check_seconds).sum(),
        files,
    };
    match args.format {
        Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => crate::outln!(
            "total: {} files, check {:.1} ms, read {:.1} ms (median of {} runs per file)",
            report.files.len(),
            report.total_check_seconds * 1e3,
            report.total_read_seconds * 1e3,
            args.runs
        )?,
    }
    Ok(Outcome::Holds)
}

/// Reads and checks one file `args.runs` times; the medians of the read and check times.
fn time_file(args: &BenchLinArgs, folder_model: Option<&str>, file: PathBuf) -> Result<FileTiming> {
    let name = file.display().to_string();
    let text = read_history(&file)?;
    let detected = if is_empty(&text) {
        None
    } else {
        Some(Input::detect(&text).with_context(|| {
            let line = super::first_content_line(&text).map_or(1, |(n, _)| n);
            format!("{name}:{line}: cannot tell the format from this line")
        })?)
    };
    let model = match (&args.model, detected.and_then(implied_model), folder_model) {
        (Some(m), _, _) => m.clone(),
        (None, Some(m), _) => m,
        (None, None, Some(m)) => m.to_string(),
        (None, None, None) => bail!("{name}: pass --model, no model is implied by the format"),
    };
    let input = detected.unwrap_or_else(|| Input::default_for(&model));
    let spec = lin_models::find(&model).expect("clap checked the name");
    let lin_args = LinArgs {
        file: file.clone(),
        model,
        input: Some(input),
        init: args.init.clone(),
        timeout: args.timeout,
        memory: None,
        no_partition: args.no_partition,
        html: None,
        format: args.format,
    };
    let (mut reads, mut checks) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..args.runs {
        let started = Instant::now();
        let report = (spec.run)(&lin_args, input, text.clone(), &Session::new())?;
        let total = started.elapsed().as_secs_f64();
        reads.push(total - report.seconds);
        checks.push(report.seconds);
        last = Some(report);
    }
    let report = last.expect("at least one run");
    Ok(FileTiming {
        file: file
            .file_name()
            .map_or(name.clone(), |n| n.to_string_lossy().into_owned()),
        model: report.model,
        operations: report.operations,
        verdict: report.verdict,
        read_seconds: median(&mut reads),
        check_seconds: median(&mut checks),
    })
}

/// The model a format implies: Porcupine's logs come with their models.
fn implied_model(input: Input) -> Option<String> {
    match input {
        Input::EtcdLog => Some("etcd".into()),
        Input::KvLog => Some("kv".into()),
        _ => None,
    }
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

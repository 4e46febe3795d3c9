//! `check lin FILE --model NAME`: is a recorded history linearizable?
//!
//! Exit codes: 0 linearizable, 1 not, 3 unknown (`--timeout` or `--memory` ran out), 2 input error
//! (a missing file, a malformed line: the message names the file and line).

pub mod bench;
pub mod models;

use crate::args::Format;
use crate::engine::Outcome;
use crate::pending::PendingFile;
use anyhow::{bail, Context, Result};
use linearizability::visualize::{render_html, Page, PageOp, PageVerdict, MAX_PAGE_OPS};
use linearizability::{
    check_operations, Budget, CheckOptions, CheckResult, Model, Operation, Verdict, Whole,
};
use models as lin_models;
use serde::Serialize;
use std::path::PathBuf;

use std::time::{Duration, Instant};

/// A history format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Jepsen/Knossos EDN: one vector of op maps, or one map per line.
    Edn,
    /// Porcupine's etcd logs: `INFO jepsen.util - 0 :invoke :read nil`.
    EtcdLog,
    /// Porcupine's kv logs: EDN, one map per line, with a `:key`.
    KvLog,
    /// Our JSON Lines format (see docs/linearizability.md).
    Jsonl,
}

impl Input {
    /// Every format, by its name on the command line.
    pub const ALL: [(&'static str, Input); 4] = [
        ("edn", Input::Edn),
        ("etcd-log", Input::EtcdLog),
        ("kv-log", Input::KvLog),
        ("jsonl", Input::Jsonl),
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        Input::ALL
            .iter()
            .find(|(_, i)| *i == self)
            .map(|(n, _)| *n)
            .expect("every format is listed")
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Input> {
        Input::ALL.iter().find(|(n, _)| *n == name).map(|(_, i)| *i)
    }

    /// The format a model's histories usually come in: what an empty file is read as.
    pub fn default_for(model: &str) -> Input {
        match model {
            "etcd" => Input::EtcdLog,
            "kv" => Input::KvLog,
            _ => Input::Edn,
        }
    }

    /// Guesses the format from the first line that is neither blank nor an EDN comment.
    pub fn detect(text: &str) -> Option<Input> {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';'))?;
        // JSON objects start with a quoted key; EDN maps with a keyword. A JSON line that
        // is malformed further on is still JSON Lines, so its error comes from that reader.
        let json = first
            .strip_prefix('{')
            .is_some_and(|rest| rest.trim_start().starts_with('"'));
        if first.contains("jepsen.util - ") {
            Some(Input::EtcdLog)
        } else if json {
            Some(Input::Jsonl)
        } else if first.starts_with('{') && first.contains(":key ") {
            Some(Input::KvLog)
        } else if first.starts_with(['{', '[', '(', '#']) {
            Some(Input::Edn)
        } else {
            None
        }
    }
}

/// Whether a history file has no events at all (nothing but blank and comment lines).
pub fn is_empty(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with(';'))
}

/// Reads a history file, without a byte-order mark if it has one.
pub fn read_history(path: &std::path::Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// What `check lin` was asked to do.
#[derive(Clone, Debug)]
pub struct LinArgs {
    /// The history file.
    pub file: PathBuf,
    /// A model in [`lin_models::LIN_MODELS`].
    pub model: String,
    /// The history format, or `None` to detect it from the file.
    pub input: Option<Input>,
    /// The model's initial value, as EDN text.
    pub init: Option<String>,
    /// Give up with "unknown" after this long.
    pub timeout: Option<Duration>,
    /// Give up with "unknown" when a partition's search table would need more bytes.
    pub memory: Option<usize>,
    /// Check the history whole instead of in the model's independent parts.
    pub no_partition: bool,
    /// Write an HTML page of the result here.
    pub html: Option<PathBuf>,
    /// Output format.
    pub format: Format,
}

impl LinArgs {
    /// The file's name as given, for messages.
    pub fn name(&self) -> String {
        self.file.display().to_string()
    }

    /// What [`check_history`] needs of these arguments.
    pub fn settings(&self) -> CheckSettings {
        CheckSettings {
            name: self.name(),
            model: self.model.clone(),
            timeout: self.timeout,
            memory: self.memory,
            no_partition: self.no_partition,
            page: self.html.is_some(),
        }
    }
}

/// How to check one history that has been read: what to call it, the budgets, and
/// whether to render a page. The library entry point for a caller that holds a history
/// (a Jepsen-style run) rather than a file name on a command line.
#[derive(Clone, Debug, Default)]
pub struct CheckSettings {
    /// The history's name in messages and reports (a file, or the run that recorded it).
    pub name: String,
    /// The model's name in reports.
    pub model: String,
    /// Give up with "unknown" after this long.
    pub timeout: Option<Duration>,
    /// Give up with "unknown" when a partition's search table would need more bytes.
    pub memory: Option<usize>,
    /// Check the history whole instead of in the model's independent parts.
    pub no_partition: bool,
    /// Render the HTML page into [`LinReport::page`].
    pub page: bool,
}

/// Whether a history is linearizable, as printed and in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LinVerdict {
    /// A linearization exists.
    #[serde(rename = "linearizable")]
    Linearizable,
    /// None exists.
    #[serde(rename = "not linearizable")]
    NotLinearizable,
    /// A budget ran out first.
    #[serde(rename = "unknown")]
    Unknown,
}

impl LinVerdict {
    /// The verdict of a search result.
    pub fn of(result: CheckResult) -> LinVerdict {
        match result {
            CheckResult::Ok => LinVerdict::Linearizable,
            CheckResult::Illegal => LinVerdict::NotLinearizable,
            CheckResult::Unknown => LinVerdict::Unknown,
        }
    }

    /// Its words: `linearizable`, `not linearizable`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            LinVerdict::Linearizable => "linearizable",
            LinVerdict::NotLinearizable => "not linearizable",
            LinVerdict::Unknown => "unknown",
        }
    }

    /// The run's outcome: holds, fails, or unknown.
    pub fn outcome(self) -> Outcome {
        match self {
            LinVerdict::Linearizable => Outcome::Holds,
            LinVerdict::NotLinearizable => Outcome::Fails,
            LinVerdict::Unknown => Outcome::Unknown,
        }
    }
}

impl std::fmt::Display for LinVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of checking one history, as printed (text) or serialized (JSON, schema
/// `check-lin/1`).
#[derive(Serialize)]
pub struct LinReport {
    /// Always `check-lin/1`.
    pub schema: &'static str,
    /// The history file.
    pub file: String,
    /// The model.
    pub model: String,
    /// The format it was read as.
    pub input: &'static str,
    /// Operations read (failed ones excluded).
    pub operations: usize,
    /// Independent parts the model split the history into.
    pub partitions: usize,
    /// Linearizable, not, or unknown.
    pub verdict: LinVerdict,
    /// For `unknown`: the budget that ran out, `time` or `memory`.
    pub exhausted: Option<&'static str>,
    /// Configurations (set of linearized operations, state) the search explored.
    pub explored: usize,
    /// Time spent in the search, in seconds (reading excluded).
    pub seconds: f64,
    /// Why not, for `not linearizable`.
    pub failure: Option<LinFailure>,
    /// The HTML page, when one was asked for.
    #[serde(skip)]
    pub page: Option<String>,
}

/// A violation, in protocol words.
#[derive(Serialize)]
pub struct LinFailure {
    /// Operations in the smallest failing partition.
    pub partition_operations: usize,
    /// The longest linearizable prefix of that partition the search found.
    pub longest_prefix: Vec<String>,
    /// The operation that cannot be placed after that prefix.
    pub blocked: String,
}

/// Runs `check lin`.
pub fn run(args: &LinArgs) -> Result<Outcome> {
    let name = args.name();
    let Some(model) = lin_models::find(&args.model) else {
        bail!(
            "unknown model {}; the models are {}",
            args.model,
            lin_models::names().join(", ")
        );
    };
    // Created before the check, so an unwritable place fails at once, not after it.
    let pending = args
        .html
        .as_deref()
        .map(|p| {
            crate::pending::refuse_input(p, "--html", &args.file)?;
            PendingFile::create(p, "--html")
        })
        .transpose()?;
    let text = read_history(&args.file)?;
    let input = match args.input {
        Some(i) => i,
        None if is_empty(&text) => Input::default_for(&args.model),
        None => Input::detect(&text).with_context(|| {
            format!(
                "{name}: cannot tell the format from its first line; pass --input {}",
                Input::ALL.map(|(n, _)| n).join("|")
            )
        })?,
    };
    let mut report = (model.run)(args, input, &text)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", render(&report)),
    }
    if let (Some(file), Some(page)) = (pending, report.page.take()) {
        file.commit(&page)?;
    }
    Ok(report.verdict.outcome())
}

/// Checks a history that has been read, and renders the page if `args` asks for one.
pub fn check_history<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    args: &CheckSettings,
    input: Input,
) -> Result<LinReport> {
    let options = CheckOptions {
        timeout: args.timeout,
        memory: args.memory,
        ..CheckOptions::default()
    };
    let started = Instant::now();
    let verdict = if args.no_partition {
        check_operations(&Whole(model), ops, &options)
    } else {
        check_operations(model, ops, &options)
    };
    let seconds = started.elapsed().as_secs_f64();
    let describe = |i: usize| describe(model, i, &ops[i]);
    let report = LinReport {
        schema: "check-lin/1",
        file: args.name.clone(),
        model: args.model.clone(),
        input: input.name(),
        operations: ops.len(),
        partitions: verdict.partitions,
        verdict: LinVerdict::of(verdict.result),
        exhausted: verdict.exhausted.map(|b| match b {
            Budget::Time => "time",
            Budget::Memory => "memory",
        }),
        explored: verdict.explored,
        seconds,
        failure: verdict.failure.as_ref().map(|f| LinFailure {
            partition_operations: f.partition.len(),
            longest_prefix: f.longest_prefix.iter().map(|&i| describe(i)).collect(),
            blocked: describe(f.blocked),
        }),
        page: None,
    };
    let page = args
        .page
        .then(|| render_html(&page(model, ops, &verdict, &report)));
    Ok(LinReport { page, ..report })
}

fn describe<M: Model>(model: &M, i: usize, op: &Operation<M::Input, M::Output>) -> String {
    let ret = op.ret.map_or("never".to_string(), |t| t.to_string());
    format!(
        "#{i} process {}: {} (called {}, returned {ret})",
        op.process,
        model.describe_operation(&op.input, op.output.as_ref()),
        op.call
    )
}

/// The page: the failing partition with the longest prefix and the blocked operation, or
/// the largest partition with its linearization, or (unknown) the whole history.
fn page<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    verdict: &Verdict,
    report: &LinReport,
) -> Page {
    let (shown, order, blocked): (Vec<usize>, Vec<usize>, Option<usize>) =
        match (&verdict.failure, verdict.linearizations.first()) {
            (Some(f), _) => (
                f.partition.clone(),
                f.longest_prefix.clone(),
                Some(f.blocked),
            ),
            (None, Some(order)) => {
                let part = model
                    .partition(ops)
                    .into_iter()
                    .find(|p| order.first().is_none_or(|first| p.contains(first)))
                    .unwrap_or_default();
                (part, order.clone(), None)
            }
            (None, None) => ((0..ops.len()).collect(), Vec::new(), None),
        };
    let positions: std::collections::HashMap<usize, usize> =
        shown.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let position = |i: usize| positions.get(&i).copied();
    let mut state = model.init();
    let mut states = Vec::new();
    for (step, &i) in order.iter().enumerate() {
        let op = &ops[i];
        state = model
            .step(&state, &op.input, op.output.as_ref())
            .expect("the checker's linearization replays");
        // Describing a large state costs time, and the page lists only so many steps.
        states.push(if step < MAX_PAGE_OPS {
            model.describe_state(&state)
        } else {
            String::new()
        });
    }
    Page {
        title: report.file.clone(),
        summary: format!(
            "model {}, {} operations, {} partition{}{}",
            report.model,
            report.operations,
            report.partitions,
            if report.partitions == 1 { "" } else { "s" },
            if report.partitions > 1 {
                format!(", showing one of {} operations", shown.len())
            } else {
                String::new()
            }
        ),
        verdict: match verdict.result {
            CheckResult::Ok => PageVerdict::Linearizable,
            CheckResult::Illegal => PageVerdict::NotLinearizable,
            CheckResult::Unknown => PageVerdict::Unknown,
        },
        ops: shown
            .iter()
            .map(|&i| PageOp {
                process: ops[i].process,
                call: ops[i].call,
                ret: ops[i].ret,
                label: model.describe_operation(&ops[i].input, ops[i].output.as_ref()),
            })
            .collect(),
        order: order.iter().filter_map(|&i| position(i)).collect(),
        states,
        blocked: blocked.and_then(position),
        omitted: ops.len() - shown.len(),
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
        // The operations just before the blocked one explain it; the full prefix is in
        // the JSON report and on the HTML page.
        const SHOWN: usize = 10;
        let skipped = f.longest_prefix.len().saturating_sub(SHOWN);
        if skipped > 0 {
            out.push_str(&format!(
                "  ... {skipped} earlier operations (all of them with --format json or --html)\n"
            ));
        }
        for op in &f.longest_prefix[skipped..] {
            out.push_str(&format!("  {op}\n"));
        }
        out.push_str(&format!("cannot be placed after it:\n  {}\n", f.blocked));
    }
    let why = match r.exhausted {
        Some("time") => ": the --timeout ran out before the search decided",
        Some(_) => ": the search table would have outgrown --memory",
        None => "",
    };
    out.push_str(&format!(
        "result: {}{why} ({:.3} s, {} configurations explored)\n",
        r.verdict, r.seconds, r.explored
    ));
    out
}

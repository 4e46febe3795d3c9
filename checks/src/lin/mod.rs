//! `check lin FILE --model NAME`: is a recorded history linearizable?
//!
//! Exit codes: 0 linearizable, 1 not, 3 unknown (`--timeout` or `--memory` ran out), 2 input error
//! (a missing file, a malformed line: the message names the file and line).
//!
//! Both budgets have defaults ([`TIMEOUT_DEFAULT`], [`MEMORY_DEFAULT`]), so a history the
//! search cannot decide ends with "unknown" instead of running until the machine runs out
//! of memory. The budgets cover the whole check, reading included: a FIFO nobody writes to
//! or a file that takes long to parse ends with "unknown" at the deadline, and a history
//! too large for the memory budget is refused before it is read. A check that takes more
//! than 2 s prints a progress line on stderr.

pub mod bench;
pub mod models;
mod read;
mod watch;

use crate::args::Format;
use crate::engine::Outcome;
use crate::pending::PendingFile;
use anyhow::{bail, Context, Result};
use linearizability::visualize::{
    drawn_range, render_html, Page, PageOp, PagePart, PageVerdict, MAX_PAGE_OPS, MAX_PAGE_TOTAL_OPS,
};
use linearizability::{
    check_operations, Budget, CheckOptions, CheckResult, Model, Operation, Progress, ReadError,
    Verdict, Whole,
};
use models as lin_models;
use read::bytes_text;
use serde::Serialize;
use std::cmp::Reverse;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `check lin --timeout` when none is given. Every shipped history that can be decided is
/// decided in about a second (the slowest, `kv/c10-bad.txt --no-partition`, in 1.1 s), so
/// this leaves a wide margin for larger histories while a search that cannot finish
/// (`kv/c50-ok.txt --no-partition`) says "unknown" within half a minute.
pub const TIMEOUT_DEFAULT: &str = "30s";

/// `check lin --memory` when none is given: the process's resident memory at which the
/// check gives up. Half a minute of the hardest shipped search needs about 1.2 GB.
pub const MEMORY_DEFAULT: &str = "2GiB";

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
        let (_, first) = first_content_line(text)?;
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

/// The first line that is neither blank nor a `;` comment, trimmed, with its 1-based
/// number: the line [`Input::detect`] reads the format from.
pub fn first_content_line(text: &str) -> Option<(usize, &str)> {
    text.lines()
        .map(str::trim)
        .enumerate()
        .find(|(_, l)| !l.is_empty() && !l.starts_with(';'))
        .map(|(i, l)| (i + 1, l))
}

/// Whether a history file has no events at all (nothing but blank and comment lines).
pub fn is_empty(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with(';'))
}

/// Reads a history file whole, without a byte-order mark if it has one. Text that is not
/// UTF-8 is an error naming the line, column and byte where it stops being UTF-8.
pub fn read_history(path: &std::path::Path) -> Result<String> {
    match read::read_history(path, &read::Bounds::NONE)? {
        read::Read::Text(text) => Ok(text),
        read::Read::Stopped { .. } => unreachable!("nothing stops an unbounded read"),
    }
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
    /// Give up with "unknown" after this long; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Give up with "unknown" when the process's resident memory exceeds this many bytes;
    /// `None` for no limit. See [`CheckSettings::memory`].
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

    /// What [`check_history`] needs of these arguments, for a history read as `input`.
    pub fn settings(&self, input: Input) -> CheckSettings {
        CheckSettings {
            name: self.name(),
            model: self.model.clone(),
            timeout: self.timeout,
            memory: self.memory,
            no_partition: self.no_partition,
            page: self.html.is_some(),
            progress: true,
            // JSON Lines histories are the ones `check kv --jepsen --history` writes, whose
            // final reads run as processes from 2^32 on (no worker gets that far).
            final_reads_from: (input == Input::Jsonl).then_some(1 << 32),
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
    /// Give up with "unknown" when the process's resident memory exceeds this many bytes
    /// (read from `/proc` ten times a second; where the system does not say, when one
    /// partition's search table would outgrow it). The search table alone is held to the
    /// same bound, so that doubling it cannot overshoot between two readings.
    pub memory: Option<usize>,
    /// Check the history whole instead of in the model's independent parts.
    pub no_partition: bool,
    /// Render the HTML page into [`LinReport::page`].
    pub page: bool,
    /// Print a progress line on stderr while a check takes longer than 2 s.
    pub progress: bool,
    /// Process numbers from this one on are final reads (a Jepsen-style run's reads of
    /// every key after the faults healed); the page names them so.
    pub final_reads_from: Option<u64>,
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
    /// The format it was read as; `null` if reading stopped before the format was known.
    pub input: Option<&'static str>,
    /// Operations read (failed ones excluded).
    pub operations: usize,
    /// Independent parts the model split the history into.
    pub partitions: usize,
    /// Linearizable, not, or unknown.
    pub verdict: LinVerdict,
    /// For `unknown`: the budget that ran out, `time` or `memory`.
    pub exhausted: Option<&'static str>,
    /// The budgets the check ran under.
    pub budget: LinBudget,
    /// Configurations (set of linearized operations, state) the search explored.
    pub explored: usize,
    /// Time spent in the search, in seconds (reading excluded).
    pub seconds: f64,
    /// When a budget ran out before the history was read: how far reading got ("12MiB of
    /// 200MiB read", "parsed up to line 1000 of 4000"). `null` once it was read.
    pub stopped_reading: Option<String>,
    /// The process's peak resident memory when the report was made, in bytes, where the
    /// system says (`VmHWM` on Linux): what `--memory` held the check to.
    pub peak_memory_bytes: Option<usize>,
    /// Why not, for `not linearizable`.
    pub failure: Option<LinFailure>,
    /// The HTML page, when one was asked for.
    #[serde(skip)]
    pub page: Option<String>,
}

/// The budgets of a check; `null` means no limit.
#[derive(Clone, Copy, Serialize)]
pub struct LinBudget {
    /// `--timeout`, in seconds.
    pub timeout_seconds: Option<f64>,
    /// `--memory`, in bytes.
    pub memory_bytes: Option<usize>,
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
    /// The model's state after the prefix.
    pub state: String,
    /// Why the operation cannot follow the prefix: "after the 42-operation prefix the
    /// state is 1; this read returned 2".
    pub reason: String,
}

/// A check under way: the progress record that reading and the search share, where the
/// watcher asks either to stop for a budget, and when the check began, since the time
/// budget covers reading and the search together.
#[derive(Clone, Debug)]
pub struct Session {
    /// Shared by the readers and the search.
    pub progress: Arc<Progress>,
    /// When the check began: the time budget counts from here.
    pub started: Instant,
    /// Whether a watcher already watches `progress` (then [`check_history_in`] starts
    /// none of its own).
    pub watched: bool,
}

impl Session {
    /// A check beginning now, not yet watched.
    pub fn new() -> Session {
        Session {
            progress: Arc::new(Progress::new()),
            started: Instant::now(),
            watched: false,
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// Runs `check lin`.
pub fn run(args: &LinArgs) -> Result<Outcome> {
    let session = Session {
        watched: true,
        ..Session::new()
    };
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
    // The readers and the search measure the process themselves every few milliseconds,
    // and the watcher every 100 ms: on a loaded machine it may be late.
    if let Some(budget) = args.memory {
        session.progress.limit_memory(budget, gauge);
    }
    // One watcher for the whole check: it stops reading as it stops the search.
    let read_so_far = Arc::new(AtomicUsize::new(0));
    let deadline = args.timeout.map(|t| session.started + t);
    let watching = watch::watch(
        watch::Watch {
            label: label(&name),
            line: true,
            memory: args.memory,
            timeout: args.timeout,
            deadline,
            read: Some(read_so_far.clone()),
        },
        session.progress.clone(),
        session.started,
    );
    let bounds = read::Bounds {
        cap: read::cap(args.memory),
        memory: args.memory,
        deadline,
        progress: Some(&session.progress),
        read: Some(&read_so_far),
    };
    let text = match read::read_history(&args.file, &bounds)? {
        read::Read::Text(text) => text,
        read::Read::Stopped { budget, how_far } => {
            drop(watching);
            return report_stop(args, None, budget, how_far);
        }
    };
    let input = match args.input {
        Some(i) => i,
        None if is_empty(&text) => Input::default_for(&args.model),
        None => Input::detect(&text).with_context(|| {
            let (line, first) = first_content_line(&text).unwrap_or((1, ""));
            format!(
                "{name}:{line}: cannot tell the format from this line ({}); pass --input {}",
                linearizability::excerpt(first),
                Input::ALL.map(|(n, _)| n).join("|")
            )
        })?,
    };
    // For the message should parsing be stopped: "line 1000 of 4000".
    let lines = text.bytes().filter(|&b| b == b'\n').count()
        + usize::from(!text.is_empty() && !text.ends_with('\n'));
    let result = (model.run)(args, input, text, &session);
    drop(watching);
    let mut report = match result {
        Ok(report) => report,
        Err(e) => match e.downcast_ref::<ReadError>() {
            Some(ReadError {
                stopped: Some(budget),
                line,
                ..
            }) => {
                let how_far = format!("parsed up to line {line} of {lines}");
                return report_stop(args, Some(input), *budget, how_far);
            }
            _ => return Err(e),
        },
    };
    match args.format {
        Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => crate::output::print(format_args!("{}", render(&report)))?,
    }
    if let (Some(file), Some(page)) = (pending, report.page.take()) {
        file.commit(&page)?;
    }
    Ok(report.verdict.outcome())
}

/// Reports a check that a budget stopped before its history was read: "unknown", and
/// how far reading got. The `--html` page, if asked for, is not written: there is nothing
/// to draw.
fn report_stop(
    args: &LinArgs,
    input: Option<Input>,
    budget: Budget,
    how_far: String,
) -> Result<Outcome> {
    let report = LinReport {
        schema: "check-lin/1",
        file: args.name(),
        model: args.model.clone(),
        input: input.or(args.input).map(Input::name),
        operations: 0,
        partitions: 0,
        verdict: LinVerdict::Unknown,
        exhausted: Some(budget_name(budget)),
        budget: LinBudget {
            timeout_seconds: args.timeout.map(|t| t.as_secs_f64()),
            memory_bytes: args.memory,
        },
        explored: 0,
        seconds: 0.0,
        stopped_reading: Some(how_far),
        peak_memory_bytes: watch::peak_resident_bytes(),
        failure: None,
        page: None,
    };
    match args.format {
        Format::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        Format::Text => crate::output::print(format_args!("{}", render(&report)))?,
    }
    Ok(Outcome::Unknown)
}

/// `time` or `memory`, as reports name a budget.
fn budget_name(budget: Budget) -> &'static str {
    match budget {
        Budget::Time => "time",
        Budget::Memory => "memory",
    }
}

/// The history's file name, without its folder, as the progress line shows it.
fn label(name: &str) -> String {
    std::path::Path::new(name)
        .file_name()
        .map_or(name.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Checks a history that has been read, and renders the page if `args` asks for one.
pub fn check_history<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    args: &CheckSettings,
    input: Input,
) -> Result<LinReport> {
    check_history_in(model, ops, args, input, &Session::new())
}

/// [`check_history`] as part of `session`: the time budget counts from the session's
/// start, and the search reports to (and is stopped through) the session's progress.
pub fn check_history_in<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    args: &CheckSettings,
    input: Input,
    session: &Session,
) -> Result<LinReport> {
    let progress = session.progress.clone();
    if let Some(budget) = args.memory {
        progress.limit_memory(budget, gauge);
    }
    let options = CheckOptions {
        // What reading left of the budget.
        timeout: args
            .timeout
            .map(|t| t.saturating_sub(session.started.elapsed())),
        memory: args.memory,
        gauge: Some(gauge),
        progress: Some(progress.clone()),
        ..CheckOptions::default()
    };
    let started = Instant::now();
    let watching = (!session.watched && (args.progress || args.memory.is_some())).then(|| {
        let watch = watch::Watch {
            label: label(&args.name),
            line: args.progress,
            memory: args.memory,
            timeout: args.timeout,
            deadline: None,
            read: None,
        };
        watch::watch(watch, progress.clone(), session.started)
    });
    let verdict = if args.no_partition {
        check_operations(&Whole(model), ops, &options)
    } else {
        check_operations(model, ops, &options)
    };
    drop(watching);
    let seconds = started.elapsed().as_secs_f64();
    let describe = |i: usize| describe(model, i, &ops[i]);
    let report = LinReport {
        schema: "check-lin/1",
        file: args.name.clone(),
        model: args.model.clone(),
        input: Some(input.name()),
        operations: ops.len(),
        partitions: verdict.partitions,
        verdict: LinVerdict::of(verdict.result),
        exhausted: verdict.exhausted.map(budget_name),
        budget: LinBudget {
            timeout_seconds: args.timeout.map(|t| t.as_secs_f64()),
            memory_bytes: args.memory,
        },
        explored: verdict.explored,
        seconds,
        stopped_reading: None,
        peak_memory_bytes: watch::peak_resident_bytes(),
        failure: verdict.failure.as_ref().map(|f| LinFailure {
            partition_operations: f.partition.len(),
            longest_prefix: f.longest_prefix.iter().map(|&i| describe(i)).collect(),
            blocked: describe(f.blocked),
            state: f.state.clone(),
            reason: f.reason.clone(),
        }),
        page: None,
    };
    let page = args.page.then(|| {
        let from = args.final_reads_from;
        render_html(&if args.no_partition {
            page(&Whole(model), ops, &verdict, &report, from)
        } else {
            page(model, ops, &verdict, &report, from)
        })
    });
    Ok(LinReport { page, ..report })
}

/// The search's measure of the process before it grows a table (see
/// [`CheckOptions::gauge`]): its resident memory, or, once an allocation has failed, more
/// than any budget, so that nothing grows any more.
fn gauge() -> Option<usize> {
    if crate::reserve::spent() {
        return Some(usize::MAX);
    }
    watch::resident_bytes()
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

/// The page: every partition the page has room for, the failing one first (or, for a
/// linearizable history, the largest), each with what the check found for it.
fn page<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    verdict: &Verdict,
    report: &LinReport,
    final_reads_from: Option<u64>,
) -> Page {
    let mut parts = model.partition(ops);
    for part in &mut parts {
        part.sort_unstable();
    }
    let mut part_of = vec![usize::MAX; ops.len()];
    for (k, part) in parts.iter().enumerate() {
        for &i in part {
            part_of[i] = k;
        }
    }
    let mut linearized: Vec<Option<&Vec<usize>>> = vec![None; parts.len()];
    for order in &verdict.linearizations {
        if let Some(&first) = order.first() {
            linearized[part_of[first]] = Some(order);
        }
    }
    let failing = verdict.failure.as_ref().map(|f| part_of[f.blocked]);
    let lead = failing.or_else(|| (0..parts.len()).max_by_key(|&k| (parts[k].len(), Reverse(k))));
    let mut sequence: Vec<usize> = (0..parts.len()).filter(|&k| Some(k) != lead).collect();
    sequence.splice(0..0, lead);
    // Choose the parts before describing any state: a history of many keys has more than
    // a page can draw.
    let (mut chosen, mut drawn, mut omitted) = (Vec::new(), 0, 0);
    for k in sequence {
        let n = parts[k].len().min(MAX_PAGE_OPS);
        if !chosen.is_empty() && drawn + n > MAX_PAGE_TOTAL_OPS {
            omitted += parts[k].len();
            continue;
        }
        drawn += n;
        chosen.push(k);
    }
    let initial = model.describe_state(&model.init());
    let page_parts = chosen
        .into_iter()
        .map(|k| {
            let part = &parts[k];
            let position = |i: usize| part.binary_search(&i).ok();
            let (verdict_of_part, order, blocked, reason) = match (&verdict.failure, linearized[k])
            {
                (Some(f), _) if failing == Some(k) => (
                    PageVerdict::NotLinearizable,
                    f.longest_prefix.clone(),
                    Some(f.blocked),
                    Some(f.reason.clone()),
                ),
                (_, Some(order)) => (PageVerdict::Linearizable, order.clone(), None, None),
                // A part whose operations all may never have taken effect has an empty
                // linearization; with an Ok verdict, every part without one is such.
                _ if verdict.result == CheckResult::Ok => {
                    (PageVerdict::Linearizable, Vec::new(), None, None)
                }
                _ => (PageVerdict::Unknown, Vec::new(), None, None),
            };
            let order: Vec<usize> = order.iter().filter_map(|&i| position(i)).collect();
            let blocked = blocked.and_then(position);
            PagePart {
                name: model.describe_partition(ops, part),
                verdict: verdict_of_part,
                states: page_states(model, ops, part, &order, blocked),
                ops: part
                    .iter()
                    .map(|&i| PageOp {
                        process: ops[i].process,
                        call: ops[i].call,
                        ret: ops[i].ret,
                        label: model.describe_operation(&ops[i].input, ops[i].output.as_ref()),
                    })
                    .collect(),
                order,
                initial: initial.clone(),
                blocked,
                reason,
            }
        })
        .collect();
    let process_names = final_reads_from
        .map(|from| {
            ops.iter()
                .filter(|op| op.process >= from)
                .map(|op| (op.process, "final reads".to_string()))
                .collect()
        })
        .unwrap_or_default();
    Page {
        title: report.file.clone(),
        summary: format!(
            "model {}, {} operations, {} partition{}",
            report.model,
            report.operations,
            report.partitions,
            if report.partitions == 1 { "" } else { "s" },
        ),
        verdict: match verdict.result {
            CheckResult::Ok => PageVerdict::Linearizable,
            CheckResult::Illegal => PageVerdict::NotLinearizable,
            CheckResult::Unknown => PageVerdict::Unknown,
        },
        parts: page_parts,
        process_names,
        omitted,
    }
}

/// The states after each step of `order` (positions in `part`), described where the page
/// shows them: around the operations it draws, and after the last step. Describing every
/// state of a long order would cost more than the check.
fn page_states<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    order: &[usize],
    blocked: Option<usize>,
) -> Vec<String> {
    let drawn = drawn_range(part.len(), blocked);
    let shown = |step: usize| order.get(step).is_some_and(|p| drawn.contains(p));
    let mut state = model.init();
    let mut states = Vec::with_capacity(order.len());
    for (step, &p) in order.iter().enumerate() {
        let op = &ops[part[p]];
        state = model
            .step(&state, &op.input, op.output.as_ref())
            .expect("the checker's linearization replays");
        let needed = shown(step) || shown(step + 1) || step + 1 == order.len();
        states.push(if needed {
            model.describe_state(&state)
        } else {
            String::new()
        });
    }
    states
}

fn render(r: &LinReport) -> String {
    let mut out = match (&r.stopped_reading, r.input) {
        (Some(how_far), _) => format!(
            "{}: not read to its end ({how_far}), model {}\n",
            r.file, r.model
        ),
        (None, input) => format!(
            "{}: {} operations, {} partition{}, model {}, input {}\n",
            r.file,
            r.operations,
            r.partitions,
            if r.partitions == 1 { "" } else { "s" },
            r.model,
            input.unwrap_or("unknown")
        ),
    };
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
        out.push_str(&format!("why: {}\n", f.reason));
    }
    let before = if r.stopped_reading.is_some() {
        "before the history was read"
    } else {
        "before the search decided"
    };
    let why = match (r.exhausted, r.budget.timeout_seconds, r.budget.memory_bytes) {
        (Some("time"), Some(t), _) => format!(
            ": the time budget ran out (--timeout {}) {before}; \
             give more with --timeout, or --timeout none",
            seconds_text(t)
        ),
        (Some("memory"), _, Some(m)) => format!(
            ": the memory budget ran out (--memory {}) {before}; \
             give more with --memory, or --memory none",
            bytes_text(m)
        ),
        (Some("memory"), _, None) => format!(
            ": the system ran out of memory (an allocation failed) {before}; \
             a --memory budget ends such a check before the system runs out"
        ),
        (Some(b), _, _) => format!(": the {b} budget ran out {before}"),
        _ => String::new(),
    };
    if r.stopped_reading.is_some() {
        out.push_str(&format!("result: {}{why}\n", r.verdict));
    } else {
        out.push_str(&format!(
            "result: {}{why} ({:.3} s, {} configurations explored)\n",
            r.verdict, r.seconds, r.explored
        ));
    }
    out
}

/// `30s`, `1.5s`, `250ms`: a duration as `--timeout` takes it.
fn seconds_text(t: f64) -> String {
    if t < 1.0 {
        format!("{:.0}ms", t * 1e3)
    } else {
        format!("{}s", (t * 1e3).round() / 1e3)
    }
}

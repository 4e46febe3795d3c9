//! Reading a trace file: one [`Record`] per line, checked for what makes a trace a trace
//! before any step is replayed. Every error here is an input error (exit 2) naming the
//! file and the line.

use anyhow::{bail, Context, Result};
use impls::raft::node::trace::{Event, Record};
use impls::raft::NodeId;
use std::path::{Path, PathBuf};

/// One record and where it is.
#[derive(Clone, Debug)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The record.
    pub record: Record,
}

/// One node's trace, as read.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The file, as named on the command line.
    pub path: PathBuf,
    /// The node that wrote it (every record names it).
    pub node: NodeId,
    /// Every record, in file order. The first is a start record.
    pub lines: Vec<Line>,
    /// A last line that a crash cut short (no newline, not a record): its number.
    pub torn_last_line: Option<usize>,
}

impl Trace {
    /// `file:line`, as reports name a position.
    pub fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.path.display())
    }
}

/// Reads and checks the trace at `path`. A missing, unreadable or empty file, a line that
/// is not a record (other than a torn last line), a first record that is not a start, a
/// record of another node, or a start record whose configuration no node can have, is an
/// error naming the file and line.
pub fn read(path: &Path) -> Result<Trace> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read trace {}", path.display()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("trace {} is empty: a trace has at least its node's start record", path.display());
    }
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let mut pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if ends_with_newline {
        pieces.pop();
    }
    let last = pieces.len();
    let mut lines = Vec::with_capacity(pieces.len());
    let mut torn_last_line = None;
    for (i, text) in pieces.iter().enumerate() {
        let number = i + 1;
        match serde_json::from_slice::<Record>(text) {
            Ok(record) => lines.push(Line { number, record }),
            Err(_) if number == last && !ends_with_newline => torn_last_line = Some(number),
            Err(e) => bail!(
                "{}:{number}: not a trace record: {e}",
                path.display()
            ),
        }
    }
    let Some(first) = lines.first() else {
        bail!(
            "trace {} holds no record, only a torn line: a trace has at least its node's start record",
            path.display()
        );
    };
    let Event::Start { config, .. } = &first.record.event else {
        bail!(
            "{}:{}: a trace begins with its node's start record, not a {} record",
            path.display(),
            first.number,
            kind(&first.record.event)
        );
    };
    let node = first.record.node;
    if config.id != node {
        bail!(
            "{}:{}: the start record of n{node} configures node {}",
            path.display(),
            first.number,
            config.id
        );
    }
    for line in &lines {
        let r = &line.record;
        let at = || format!("{}:{}", path.display(), line.number);
        if r.node != node {
            bail!("{}: a record of n{} in the trace of n{node}", at(), r.node);
        }
        if let Event::Start { config, .. } = &r.event {
            if config.id != node || config.servers == 0 || config.id >= config.servers {
                bail!(
                    "{}: the start record's configuration is node {} of {} servers, which is not n{node} of a cluster",
                    at(),
                    config.id,
                    config.servers
                );
            }
        }
    }
    Ok(Trace {
        path: path.to_path_buf(),
        node,
        lines,
        torn_last_line,
    })
}

/// A record's kind as the format names it.
pub fn kind(event: &Event) -> &'static str {
    match event {
        Event::Start { .. } => "start",
        Event::Ticks { .. } => "ticks",
        Event::Step { .. } => "step",
        Event::Performed { .. } => "performed",
    }
}

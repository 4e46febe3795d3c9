//! Operations, the unit of a history, and the error every history reader returns.

use crate::{Budget, Progress};
use std::fmt;

/// One operation of a history.
///
/// `call <= ret` when `ret` is `Some`. See the crate docs for what `None` means in `ret`
/// and in `output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The process (client) that issued it. A process has at most one operation pending.
    pub process: u64,
    /// What was asked of the object.
    pub input: I,
    /// When it was called.
    pub call: u64,
    /// When it returned, or `None` if it never did (indeterminate).
    pub ret: Option<u64>,
    /// What it returned, or `None` if that is unknown.
    pub output: Option<O>,
}

/// A line of a history that could not be read, or where reading was stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// The file, as the caller named it.
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
    /// `Some` when nothing was wrong with the history so far, but the reader stopped at
    /// `line` because the caller asked it to through [`Progress::stop`], for this budget:
    /// the history is undecided, not malformed.
    pub stopped: Option<Budget>,
}

impl ReadError {
    /// An error at `line` of `file`.
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> ReadError {
        ReadError {
            file: file.to_string(),
            line,
            message: message.into(),
            stopped: None,
        }
    }
}

/// How many lines or values a reader takes between looks at its [`Progress`]: few enough
/// that a stop request is seen within about a millisecond, many enough to cost nothing.
const POLL_EVERY: usize = 1 << 10;

/// What readers given a [`Progress`] do every so often: say how far they got, and stop
/// with a [`ReadError`] whose `stopped` is set if they were asked to.
pub(crate) struct Poll<'a> {
    progress: Option<&'a Progress>,
    file: &'a str,
    until: usize,
}

impl<'a> Poll<'a> {
    /// Polls `progress`, if any, on behalf of the reader of `file`.
    pub fn new(progress: Option<&'a Progress>, file: &'a str) -> Poll<'a> {
        Poll {
            progress,
            file,
            until: 1,
        }
    }

    /// The reader is at `line`; every [`POLL_EVERY`] calls, publish it and look whether
    /// a stop was requested.
    #[inline]
    pub fn at(&mut self, line: usize) -> Result<(), ReadError> {
        self.until -= 1;
        if self.until > 0 {
            return Ok(());
        }
        self.until = POLL_EVERY;
        let Some(progress) = self.progress else {
            return Ok(());
        };
        progress.read_to(line);
        match progress.poll() {
            None => Ok(()),
            Some(budget) => Err(ReadError {
                stopped: Some(budget),
                ..ReadError::new(
                    self.file,
                    line,
                    format!(
                        "reading stopped here: the {} budget ran out",
                        match budget {
                            Budget::Time => "time",
                            Budget::Memory => "memory",
                        }
                    ),
                )
            }),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ReadError {}

/// How many characters of an input fragment an error message shows: enough to recognise
/// the fragment, few enough that a message stays one screen line whatever the input.
pub const EXCERPT_CHARS: usize = 80;

/// `fragment`'s text for an error message: its first [`EXCERPT_CHARS`] characters, then
/// `…` if there were more. Control characters (newlines, escape sequences) are escaped,
/// so the excerpt is one line and cannot rewrite the terminal; the escapes count towards
/// the bound. The result is at most `EXCERPT_CHARS + 1` characters.
///
/// Formatting stops at the bound, so an excerpt of a 5 MB value costs no more than one of
/// a short value. Every message that echoes its input goes through here (issue 15, item
/// 11: a 5 MB line was echoed whole).
pub fn excerpt(fragment: impl fmt::Display) -> String {
    /// Collects characters until the bound, then refuses more, which stops `fragment`'s
    /// formatting early.
    struct Bounded {
        text: String,
        chars: usize,
        cut: bool,
    }
    impl fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                // Quotes and backslashes stay as they are: fragments are often quoted
                // already, and escaping them again would only garble them.
                let escaped = c.is_control().then(|| c.escape_debug());
                for e in escaped
                    .into_iter()
                    .flatten()
                    .chain((!c.is_control()).then_some(c))
                {
                    if self.chars == EXCERPT_CHARS {
                        self.cut = true;
                        return Err(fmt::Error);
                    }
                    self.text.push(e);
                    self.chars += 1;
                }
            }
            Ok(())
        }
    }
    let mut out = Bounded {
        text: String::new(),
        chars: 0,
        cut: false,
    };
    // An error here is ours, from the bound (a `Display` may only fail when its writer
    // does), and what was written so far is the excerpt.
    let _ = fmt::write(&mut out, format_args!("{fragment}"));
    if out.cut {
        out.text.push('…');
    }
    out.text
}

/// Builds a history from a stream of invocations and completions, as every reader needs:
/// an invocation opens an operation for its process, a completion closes it. Errors are
/// messages for the reader to wrap with its file and line.
#[derive(Debug)]
pub struct HistoryBuilder<I, O> {
    ops: Vec<Operation<I, O>>,
    failed: Vec<bool>,
    pending: std::collections::HashMap<u64, usize>,
}

impl<I, O> Default for HistoryBuilder<I, O> {
    fn default() -> Self {
        HistoryBuilder {
            ops: Vec::new(),
            failed: Vec::new(),
            pending: std::collections::HashMap::new(),
        }
    }
}

impl<I, O> HistoryBuilder<I, O> {
    /// An empty builder with room for about `operations` operations, allocated once if the
    /// allocator has it (see [`crate::events`]' readers): a large history's builder grown
    /// by doubling would jump past a memory budget between two looks.
    pub fn with_capacity(operations: usize) -> Self {
        let mut builder = HistoryBuilder::default();
        let _ = builder.ops.try_reserve_exact(operations);
        let _ = builder.failed.try_reserve_exact(operations);
        builder
    }

    /// Opens an operation. A process has at most one operation open at a time.
    pub fn invoke(&mut self, process: u64, input: I, time: u64) -> Result<(), String> {
        if self.pending.contains_key(&process) {
            return Err(format!(
                "process {process} invokes while its previous operation is pending"
            ));
        }
        self.pending.insert(process, self.ops.len());
        self.ops.push(Operation {
            process,
            input,
            call: time,
            ret: None,
            output: None,
        });
        self.failed.push(false);
        Ok(())
    }

    /// The input of the process's open operation, to interpret its completion.
    pub fn open_input(&self, process: u64) -> Result<&I, String> {
        self.pending
            .get(&process)
            .map(|&i| &self.ops[i].input)
            .ok_or_else(|| format!("process {process} completes an operation it never invoked"))
    }

    fn close(&mut self, process: u64) -> Result<usize, String> {
        self.open_input(process)?;
        Ok(self.pending.remove(&process).expect("checked above"))
    }

    /// The operation returned at `time`; `output` is `None` if its value is unknown.
    pub fn ok(&mut self, process: u64, time: u64, output: Option<O>) -> Result<(), String> {
        let i = self.close(process)?;
        self.ops[i].ret = Some(time);
        self.ops[i].output = output;
        Ok(())
    }

    /// The operation failed: it did not happen, and is left out of the history.
    pub fn fail(&mut self, process: u64) -> Result<(), String> {
        let i = self.close(process)?;
        self.failed[i] = true;
        Ok(())
    }

    /// The operation's outcome is unknown: it stays open, and may take effect at any time
    /// after its call, or never. The process invokes nothing after it.
    pub fn info(&mut self, process: u64) -> Result<(), String> {
        self.close(process).map(|_| ())
    }

    /// The history, in invocation order. Operations still open are indeterminate.
    pub fn finish(self) -> Vec<Operation<I, O>> {
        self.ops
            .into_iter()
            .zip(self.failed)
            .filter(|(_, failed)| !failed)
            .map(|(op, _)| op)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_drops_failures_keeps_indeterminate_operations_open_and_rejects_misuse() {
        let mut h: HistoryBuilder<&str, u8> = HistoryBuilder::default();
        h.invoke(0, "a", 0).unwrap();
        h.invoke(1, "b", 1).unwrap();
        h.invoke(2, "c", 2).unwrap();
        assert!(h.invoke(0, "again", 3).unwrap_err().contains("pending"));
        h.fail(1).unwrap();
        h.info(2).unwrap();
        h.ok(0, 4, Some(7)).unwrap();
        assert!(h.ok(5, 5, None).unwrap_err().contains("never invoked"));
        let ops = h.finish();
        assert_eq!(
            ops.iter().map(|o| o.input).collect::<Vec<_>>(),
            vec!["a", "c"]
        );
        assert_eq!((ops[0].ret, ops[0].output), (Some(4), Some(7)));
        assert_eq!((ops[1].ret, ops[1].output), (None, None));
    }

    #[test]
    fn an_excerpt_is_cut_at_the_bound_with_an_ellipsis_and_stays_on_one_line() {
        assert_eq!(excerpt("short"), "short");
        let exact = "x".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long = format!("{exact}y");
        assert_eq!(excerpt(&long), format!("{exact}…"));
        // Characters, not bytes: a multi-byte character is never split.
        let wide = "é".repeat(EXCERPT_CHARS + 5);
        assert_eq!(excerpt(&wide), format!("{}…", "é".repeat(EXCERPT_CHARS)));
        assert_eq!(excerpt("a\nb\u{1b}[31m\"c\""), "a\\nb\\u{1b}[31m\"c\"");
        // The bound holds whatever the escapes add.
        let controls = "\u{1}".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&controls).chars().count(), EXCERPT_CHARS + 1);
    }
}

//! Operations, the unit of a history, and the error every history reader returns.

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

/// A line of a history that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// The file, as the caller named it.
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ReadError {}

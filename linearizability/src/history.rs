//! Operations, the unit of a history.

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

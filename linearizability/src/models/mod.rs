//! Built-in sequential specifications. Each reads its operations from Jepsen-style
//! histories ([`crate::events::ReadOp`]) with Knossos's conventions; the function names
//! they accept are listed on each type.
//!
//! To add your own, implement [`crate::Model`] (and [`crate::events::ReadOp`] to read it
//! from EDN or JSON Lines histories) on a type of your own: nothing here is special.

mod multi_register;
mod mutex;
mod queue;
mod register;
mod set;

pub use multi_register::{MultiRegister, TxnOp};
pub use mutex::{Mutex, MutexOp};
pub use queue::{FifoQueue, QueueOp};
pub use register::{CasOp, CasOutput, CasRegister, Register, RegisterOp};
pub use set::{Set, SetOp};

use crate::edn::Edn;
use crate::excerpt;

/// The error for an operation a model does not know.
fn unknown_f(model: &str, f: &str, known: &str) -> String {
    format!(
        "{model} has no operation {}; its operations are {known}",
        excerpt(f)
    )
}

/// A read's observation: unknown if it did not return or, by Knossos's convention,
/// returned `nil`.
fn observed(value: &Edn, returned: bool) -> Option<&Edn> {
    (returned && *value != Edn::Nil).then_some(value)
}

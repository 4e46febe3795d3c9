//! A lock (Knossos's `mutex`).

use super::unknown_f;
use crate::events::{RawOp, ReadOp};
use crate::Model;

/// An operation on a mutex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexOp {
    /// Take the lock; legal only while it is free.
    Acquire,
    /// Give it back; legal only while it is held.
    Release,
}

/// A lock that is held or free, starting free unless `held`. It does not track who holds
/// it: two acquires without a release between them are illegal, whoever made them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutex {
    /// Whether the lock is held before any operation.
    pub held: bool,
}

impl Model for Mutex {
    /// Whether the lock is held.
    type State = bool;
    type Input = MutexOp;
    type Output = ();

    fn init(&self) -> bool {
        self.held
    }

    fn describe_operation(&self, op: &MutexOp, _: Option<&()>) -> String {
        match op {
            MutexOp::Acquire => "acquire".into(),
            MutexOp::Release => "release".into(),
        }
    }

    fn describe_state(&self, held: &bool) -> String {
        if *held { "held" } else { "free" }.into()
    }

    fn step(&self, held: &bool, op: &MutexOp, _: Option<&()>) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }
}

/// Reads `acquire` and `release`.
impl ReadOp for Mutex {
    fn read_op(&self, op: &RawOp<'_>) -> Result<(MutexOp, Option<()>), String> {
        let input = match op.f {
            "acquire" => MutexOp::Acquire,
            "release" => MutexOp::Release,
            f => return Err(unknown_f("mutex", f, "acquire and release")),
        };
        Ok((input, op.returned.then_some(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutex_alternates() {
        let m = Mutex::default();
        assert_eq!(m.step(&false, &MutexOp::Acquire, None), Some(true));
        assert_eq!(m.step(&true, &MutexOp::Acquire, None), None);
        assert_eq!(m.step(&true, &MutexOp::Release, None), Some(false));
        assert_eq!(m.step(&false, &MutexOp::Release, None), None);
    }
}

//! What every Jepsen-style workload does the same way, whatever the store: recording an
//! operation as an invocation and a completion, Jepsen's rule for processes after an
//! indefinite outcome, the process numbers of the final reads, and the pause between a
//! worker's operations.

use super::history::{Func, Kind, Recorder};
use impls::sim::SplitMix64;
use std::future::Future;
use std::time::Duration;

/// How an operation ended, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// It took effect; a read carries the value it returned.
    Ok(Option<String>),
    /// It definitely did not take effect; the error in the store's words.
    Fail(String),
    /// It may or may not have taken effect; the error in the store's words.
    Info(String),
}

impl Completion {
    /// The history's kind for this completion.
    pub fn kind(&self) -> Kind {
        match self {
            Completion::Ok(_) => Kind::Ok,
            Completion::Fail(_) => Kind::Fail,
            Completion::Info(_) => Kind::Info,
        }
    }
}

/// One worker's Jepsen process. After an indefinite outcome the old process may still be
/// in flight, as far as a checker knows, so the worker carries on as a new process:
/// worker `w` of `n` is process `w`, then `w + n`, `w + 2n`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Process {
    id: u64,
    workers: u64,
}

impl Process {
    /// Worker `worker`'s first process, among `workers` workers.
    pub fn new(worker: u64, workers: u64) -> Process {
        Process {
            id: worker,
            workers,
        }
    }

    /// The process number to record now.
    pub fn id(self) -> u64 {
        self.id
    }

    /// Moves to a new process if `completion` was indefinite.
    pub fn after(&mut self, completion: &Completion) {
        if completion.kind() == Kind::Info {
            self.id += self.workers;
        }
    }
}

/// The first process id of the final reads: above every process a worker can take (a
/// worker takes at most one new id per operation, and no run issues 2^32 of them).
pub fn final_process(workers: u64) -> u64 {
    workers << 32
}

/// Records `f` on `key` by `process`: the invocation (with the value written, if any),
/// then runs `call`, then records its completion (with the value read, if any).
/// Returns the completion.
pub async fn record<Fut>(
    rec: &Recorder,
    process: u64,
    f: Func,
    key: &str,
    written: Option<String>,
    call: Fut,
) -> Completion
where
    Fut: Future<Output = Completion>,
{
    rec.client(process, Kind::Invoke, f, key, written.clone(), None);
    let completion = call.await;
    let (value, error) = match &completion {
        Completion::Ok(read) => (read.clone().or(written), None),
        Completion::Fail(e) | Completion::Info(e) => (written, Some(e.clone())),
    };
    rec.client(process, completion.kind(), f, key, value, error);
    completion
}

/// Records a cas of `key` from `expected` to `new` by `process`, as [`record`] does.
pub async fn record_cas<Fut>(
    rec: &Recorder,
    process: u64,
    key: &str,
    expected: &str,
    new: &str,
    call: Fut,
) -> Completion
where
    Fut: Future<Output = Completion>,
{
    rec.cas(process, Kind::Invoke, key, expected, new, None);
    let completion = call.await;
    let error = match &completion {
        Completion::Ok(_) => None,
        Completion::Fail(e) | Completion::Info(e) => Some(e.clone()),
    };
    rec.cas(process, completion.kind(), key, expected, new, error);
    completion
}

/// A worker's own generator: seeded per worker, so the operations one worker chooses do
/// not depend on the others'.
pub fn worker_rng(seed: u64, worker: u64) -> SplitMix64 {
    SplitMix64(seed ^ (worker + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A pause between a worker's operations: uniform in `0..=max`. Short pauses make
/// operations on a key overlap often, which is what gives a weak store the chance to
/// disagree.
pub fn think(rng: &mut SplitMix64, max: Duration) -> Duration {
    Duration::from_micros(rng.next_u64() % (max.as_micros() as u64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indefinite_outcome_moves_the_worker_to_a_new_process() {
        let mut p = Process::new(2, 10);
        p.after(&Completion::Ok(None));
        p.after(&Completion::Fail("refused".into()));
        assert_eq!(p.id(), 2);
        p.after(&Completion::Info("timed out".into()));
        assert_eq!(p.id(), 12);
        assert!(final_process(10) > 12 + 10 * 1_000_000);
    }
}

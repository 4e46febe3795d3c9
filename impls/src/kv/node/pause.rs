//! Pausing a node from outside, as SIGSTOP and SIGCONT pause a process: for a simulation,
//! where the node runs as a turmoil host in the test's own process and no signal can
//! stop it alone.
//!
//! Every task of a node runs behind the node's [`PauseHandle`] (its
//! [`NodeConfig::pause`](super::NodeConfig::pause)). While it is paused, no task of the node
//! is polled: no timer is observed, no frame is read or written, no record is committed.
//! Time goes on meanwhile, so on [`resume`](PauseHandle::resume) every timer that
//! expired fires at once and the node acts on stale views of its peers, as a process
//! does after SIGCONT. What peers sent it waits in its sockets.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A switch that pauses and resumes one node. Clones share the switch.
#[derive(Clone, Default)]
pub struct PauseHandle(Arc<Switch>);

#[derive(Default)]
struct Switch {
    paused: AtomicBool,
    /// The tasks that found the node paused, to wake on resume.
    waiting: Mutex<Vec<Waker>>,
}

impl PauseHandle {
    /// A new switch, not paused.
    pub fn new() -> PauseHandle {
        PauseHandle::default()
    }

    /// Stops the node: from the next time each of its tasks would run, none runs.
    pub fn pause(&self) {
        self.0.paused.store(true, Ordering::SeqCst);
    }

    /// Lets the node go on: every task that found it paused is woken.
    pub fn resume(&self) {
        let mut waiting = self.0.waiting.lock().unwrap_or_else(|e| e.into_inner());
        self.0.paused.store(false, Ordering::SeqCst);
        for w in waiting.drain(..) {
            w.wake();
        }
    }

    /// Whether the node is paused.
    pub fn is_paused(&self) -> bool {
        self.0.paused.load(Ordering::SeqCst)
    }

    /// True, with the task registered for waking on resume, if the node is paused.
    fn hold(&self, cx: &Context<'_>) -> bool {
        if !self.is_paused() {
            return false;
        }
        let mut waiting = self.0.waiting.lock().unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock: a resume in between has already drained.
        if !self.is_paused() {
            return false;
        }
        if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.push(cx.waker().clone());
        }
        true
    }

    /// `task`, run only while the node is not paused.
    pub(crate) fn gate<F: Future>(&self, task: F) -> Gated<F> {
        Gated {
            handle: self.clone(),
            task: Box::pin(task),
        }
    }
}

impl fmt::Debug for PauseHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PauseHandle")
            .field("paused", &self.is_paused())
            .finish()
    }
}

/// Two handles are equal when they are the same switch.
impl PartialEq for PauseHandle {
    fn eq(&self, other: &PauseHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PauseHandle {}

/// A task behind a [`PauseHandle`].
pub(crate) struct Gated<F> {
    handle: PauseHandle,
    task: Pin<Box<F>>,
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if self.handle.hold(cx) {
            return Poll::Pending;
        }
        self.task.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_paused_task_does_nothing_until_resumed_and_then_sees_stale_timers() {
        let handle = PauseHandle::new();
        let ticks = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = Arc::clone(&ticks);
        let task = tokio::spawn(handle.gate(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(10));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                interval.tick().await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }));
        tokio::time::sleep(Duration::from_millis(55)).await;
        let before = ticks.load(Ordering::SeqCst);
        assert!((5..=7).contains(&before), "{before}");
        handle.pause();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            ticks.load(Ordering::SeqCst) <= before + 1,
            "ran while paused"
        );
        assert!(handle.is_paused());
        handle.resume();
        tokio::time::sleep(Duration::from_millis(1)).await;
        // Every tick missed while paused fires at once on resume.
        assert!(ticks.load(Ordering::SeqCst) >= before + 9);
        task.abort();
    }

    #[test]
    fn clones_are_the_same_switch() {
        let a = PauseHandle::new();
        let b = a.clone();
        b.pause();
        assert!(a.is_paused());
        assert_eq!(a, b);
        assert_ne!(a, PauseHandle::new());
    }
}

//! Two-phase commit (exercise 7).
//!
//! [`twophase`] and [`tcommit`] are faithful ports of Lamport's TLA+ `TwoPhase` and
//! `TCommit` specifications; their unique-state counts equal TLC's, which is evidence that
//! the checker and the ports are right. [`design`] is the model of this project's own
//! design: it runs the implementation's protocol core (`impls::twopc::core`) in an
//! environment of durable logs, a lossy network, crashes and timeouts, with four known
//! bugs.

pub mod design;
mod spec_words;
pub mod tcommit;
pub mod twophase;

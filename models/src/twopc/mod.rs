//! Two-phase commit (exercise 7).
//!
//! [`twophase`] and [`tcommit`] are faithful ports of Lamport's TLA+ `TwoPhase` and
//! `TCommit` specifications; their unique-state counts equal TLC's, which is evidence that
//! the checker and the ports are right. [`design`] is the model of this project's own
//! coordinator: durable logs, crashes, presumed-abort recovery, timeouts and four known bugs.

pub mod design;
mod spec_words;
pub mod tcommit;
pub mod twophase;

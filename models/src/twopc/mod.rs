//! Two-phase commit (exercise 7).
//!
//! [`twophase`] and [`tcommit`] are faithful ports of Lamport's TLA+ `TwoPhase` and
//! `TCommit` specifications; their unique-state counts equal TLC's, which is evidence that
//! the checker and the ports are right. The model of this project's own design (durable
//! logs, crashes, recovery, timeouts) is still to come.

pub mod tcommit;
pub mod twophase;

//! Two-phase commit (exercise 7).
//!
//! [`twophase`] is a faithful port of Lamport's TLA+ `TwoPhase` specification, whose state
//! counts are compared with TLC's. The model of this project's own design (durable logs,
//! crashes, recovery, timeouts) is still to come.

pub mod twophase;

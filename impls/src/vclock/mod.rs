//! Exercise 2: vector clocks, and what they are for.
//!
//! - [`clock`]: [`clock::VectorClock`], a sparse clock with increment, merge and the
//!   four-way causal comparison, Riak's `descends`/`dominates` and pruning, and a compact
//!   serde form;
//! - [`dvv`]: dotted version vector sets, Riak 2.0's siblings-with-causality per key;
//! - [`process`]: a process keeping a clock by the rules, as a sans-IO core with the bug
//!   switches `check vclock` catches;
//! - [`causal`]: causal broadcast over vector stamps, its simulation and its checker;
//! - [`siblings`]: the checker of what clients of a multi-value register saw (no lost
//!   update, no false sibling).
//!
//! `models::vclock` checks the clock against happens-before exhaustively; `docs/vclock.md`
//! is the exercise's page.

pub mod causal;
pub mod clock;
pub mod dvv;
pub mod process;
pub mod siblings;

#[cfg(test)]
mod tests;

//! Exercise 2: vector clocks, and what they are for.
//!
//! - [`clock`]: [`clock::VectorClock`], a sparse clock with increment, merge and the
//!   four-way causal comparison, Riak's `descends`/`dominates` and pruning, and a compact
//!   serde form;
//! - [`dvv`]: dotted version vector sets, Riak 2.0's siblings-with-causality per key;
//! - [`process`]: a process keeping a clock by the rules, as a sans-IO core with the bug
//!   switches `check vclock` catches.
//!
//! `models::vclock` checks the clock against happens-before exhaustively; `docs/vclock.md`
//! is the exercise's page.

pub mod causal;
pub mod clock;
pub mod dvv;
pub mod process;

#[cfg(test)]
mod tests;

//! MSI cache coherence (exercise 5): the directory protocol of Sorin, Hill and Wood's
//! *A Primer on Memory Consistency and Cache Coherence*, chapter 8.
//!
//! [`core`] holds the cache and directory controllers as pure transition functions. The
//! same functions are driven by `models::msi::directory`, which explores every interleaving
//! of a few caches over the primer's networks, and by [`sim`], which runs them as a thread
//! per core and a directory thread over channels and records what the cores observe, for
//! `check msi --sim` to check.

pub mod core;
pub mod sim;

//! MSI cache coherence (exercise 5): the directory protocol of Sorin, Hill and Wood's
//! *A Primer on Memory Consistency and Cache Coherence*, chapter 8, as a sans-IO core.
//!
//! [`core`] holds the cache and directory controllers as pure transition functions. The
//! same functions are driven by `models::msi::directory`, which explores every interleaving
//! of a few caches over an unordered network.

pub mod core;
pub mod sim;

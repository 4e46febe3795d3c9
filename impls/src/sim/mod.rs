//! What every exercise's runtime and simulation share: the seeded generator, the
//! checksummed write-ahead log, the network and storage environment (real, or turmoil's
//! deterministic simulation), and the fault vocabulary that nemeses and fault layers speak.
//!
//! Nothing here knows an exercise. `kv` runs its nodes on [`net`] and logs to [`wal`];
//! `twopc` logs to [`wal`] and injects [`faults::LinkFaults`] into its in-process network;
//! `msi`'s simulator and every Jepsen-style run draw from [`rng::SplitMix64`].

pub mod faults;
pub mod net;
pub mod rng;
pub mod wal;

pub use rng::SplitMix64;

//! The directory MSI protocol as two sans-IO controllers for one address, in the
//! workspace's one shape ([`crate::sansio::Core`]): a [`CacheController`] steps on the
//! processor's requests and on messages, a [`DirController`] on messages, and each returns
//! the messages to send and the memory operation it completed, or [`CacheEffect::Stalled`]
//! / [`DirEffect::Stalled`] when the input must wait (a *stall*: the message stays in the
//! network, the processor's request stays pending). The directory model and the simulator
//! both step these controllers; the transition tables behind them are private.
//!
//! The known bugs are named here too, once: [`Bug`], with [`Bugs`] the switches a
//! controller (or a driver's network) reads.
//!
//! Nothing here does I/O. As in the primer's baseline protocol, requests and responses may
//! be delivered in any order, which is what the transient states exist for; forwarded
//! requests (Fwd-GetS, Fwd-GetM, Inv, Put-Ack) must arrive at each cache in the order the
//! directory sent them, or a Put-Ack can overtake a Fwd-GetS to a cache in MI^A.
//!
//! # States (primer Tables 8.1 and 8.2)
//!
//! A cache line is stable (I, S, M) or transient, named by where it comes from, where it
//! goes and what it waits for: `IS_D` waits for data; `IM_AD` and `SM_AD` for data and
//! invalidation acks; `IM_A` and `SM_A` for the remaining acks; `MI_A`, `SI_A` and `II_A`
//! for the directory's Put-Ack after a replacement. The directory entry is I, S (with
//! sharers), M (with an owner) or `S_D`: a Fwd-GetS was sent to the owner and the
//! directory waits for the owner's copy of the data.

mod bug;
mod cache;
mod controller;
mod directory;
#[cfg(test)]
mod tests;

pub use bug::Bug;
pub use cache::{CacheLine, CacheState, Completed, CpuOp};
pub use controller::{CacheController, CacheEffect, CacheInput, DirController, DirEffect};
pub use directory::{DirLine, DirState};

/// A line's data: `u8` in the models, where small values keep the state space small;
/// `u32` in the simulator, where every store writes a value of its own so that the
/// linearizability checker can tell stores apart.
pub trait Value: Copy + Eq + Ord + std::hash::Hash + std::fmt::Debug + Send + 'static {
    /// The value memory holds at the start, and a line without data holds.
    const ZERO: Self;
}

impl Value for u8 {
    const ZERO: u8 = 0;
}

impl Value for u32 {
    const ZERO: u32 = 0;
}

/// A node of the system: a cache (numbered from 0) or the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// Cache `c`.
    Cache(u8),
    /// The directory (with memory).
    Dir,
}

/// A coherence message, for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg<V = u8> {
    /// Request to the directory: a read-only copy.
    GetS,
    /// Request to the directory: a writable copy.
    GetM,
    /// Request to the directory: the sender drops its shared copy.
    PutS,
    /// Request to the directory: the sender writes back its modified copy (`None` when a
    /// buggy cache drops the data).
    PutM(Option<V>),
    /// Forwarded by the directory to the owner: send the data to `req`, keep a shared copy.
    FwdGetS(u8),
    /// Forwarded by the directory to the owner: send the data to `req`, invalidate.
    FwdGetM(u8),
    /// Forwarded by the directory to a sharer: invalidate and acknowledge to `req`.
    Inv(u8),
    /// The directory's acknowledgement of a PutS or PutM.
    PutAck,
    /// Data for a requester. `acks` is the number of Inv-Acks it must still collect (always
    /// 0 from an owner).
    Data {
        /// The line's value.
        value: V,
        /// Inv-Acks the requester must collect before it may write.
        acks: u8,
        /// Sent by the previous owner rather than by the directory.
        from_owner: bool,
    },
    /// A sharer's acknowledgement of an Inv, sent to the requester.
    InvAck,
    /// The previous owner's copy of the data, sent to the directory on a Fwd-GetS (`None`
    /// when a buggy cache drops it).
    WriteBack(Option<V>),
}

/// A message in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Envelope<V = u8> {
    /// The receiver.
    pub to: Node,
    /// The sender.
    pub from: Node,
    /// The message.
    pub msg: Msg<V>,
}

/// The switches of the known bugs ([`Bug`]); all off ([`Bugs::NONE`], the `Default`) is
/// the correct protocol. The controllers read the first four; the fifth is the network's,
/// which the drivers read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bugs {
    /// The directory grants M without invalidating the sharers (and asks for no acks).
    pub no_invalidate: bool,
    /// An owner that gives up M (Fwd-GetS, replacement) does not send its data back.
    pub no_writeback: bool,
    /// A requester writes as soon as data arrives, before its Inv-Acks.
    pub early_write: bool,
    /// A cache in `IS_D` acknowledges an Inv at once instead of stalling it; the data in
    /// flight then makes it a sharer the directory no longer knows about.
    pub ack_inv_in_is_d: bool,
    /// Forwarded requests lose their point-to-point order: the driver's network delivers
    /// them in any order (the controllers do not read this switch).
    pub unordered_forwards: bool,
}

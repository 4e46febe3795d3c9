//! Concrete implementations of the exercises: sans-IO protocol cores and the runtimes
//! that drive them over sockets and durable files. The first implementation arrives with
//! the message-level Raft and the key-value store issues; this crate exists so that the
//! workspace has its final shape.
#![deny(missing_docs)]

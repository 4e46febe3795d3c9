//! The directory: one thread running [`dir_receive`] for every address, with memory.

use super::network::{Inbox, Net, Packet};
use crate::msi::core::{dir_receive, Bugs, DirLine};
use std::time::Duration;

/// What the directory hands back when the run stops.
#[derive(Debug)]
pub(super) struct DirNodeResult {
    pub(super) lines: Vec<DirLine<u32>>,
    pub(super) buffered: Vec<Packet>,
}

/// Serves requests and write-backs until the run stops. A request the directory cannot
/// take yet (in S^D it waits for the owner's data) stays buffered.
pub(super) fn run(addrs: usize, mut inbox: Inbox, net: Net, bugs: Bugs) -> DirNodeResult {
    let mut lines = vec![DirLine::INITIAL; addrs];
    while !inbox.stopped() {
        inbox.deliver(|p| {
            let Some(step) = dir_receive(lines[p.addr], p.env, bugs) else {
                return false;
            };
            lines[p.addr] = step.line;
            for env in step.send {
                net.send(p.addr, env);
            }
            true
        });
        inbox.wait(Duration::from_millis(200));
    }
    DirNodeResult {
        lines,
        buffered: inbox.buffered(),
    }
}

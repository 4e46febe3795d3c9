//! A core: a processor thread issuing loads, stores and evictions, and the cache
//! controller of [`cache_cpu`] and [`cache_receive`] serving its lines.
//!
//! The processor is blocking, as the primer's is: one memory operation at a time, and the
//! next one issues only when this one completes. While it waits it serves every message
//! the controller can take, including forwarded requests for other lines.

use super::network::{Inbox, Net, Packet};
use super::record::{Clock, HoldingLog, OpKind, OpRecord};
use super::{Mix, Shared};
use crate::msi::core::{cache_cpu, cache_receive, Bugs, CacheLine, Completed, CpuOp, Envelope};
use crate::sim::SplitMix64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long a core blocks on its channel before it looks again. Stops arrive as messages,
/// so this only bounds how long a lost wake-up could cost.
const WAIT: Duration = Duration::from_millis(200);

/// What a core hands back when the run stops.
#[derive(Debug)]
pub(super) struct CacheNodeResult {
    pub(super) ops: Vec<OpRecord>,
    pub(super) log: HoldingLog,
    pub(super) lines: Vec<CacheLine<u32>>,
    pub(super) buffered: Vec<Packet>,
}

pub(super) struct CacheNode {
    me: usize,
    lines: Vec<CacheLine<u32>>,
    inbox: Inbox,
    net: Net,
    shared: Arc<Shared>,
    bugs: Bugs,
    log: HoldingLog,
    ops: Vec<OpRecord>,
}

/// One step of the controller applied to a line: log the change, then send.
fn apply(
    line: &mut CacheLine<u32>,
    log: &mut HoldingLog,
    clock: &Clock,
    net: &Net,
    addr: usize,
    next: CacheLine<u32>,
    send: Vec<Envelope<u32>>,
) {
    log.transition(clock, addr, line.state, next.state);
    *line = next;
    for env in send {
        net.send(addr, env);
    }
}

impl CacheNode {
    pub(super) fn new(
        me: usize,
        addrs: usize,
        inbox: Inbox,
        net: Net,
        shared: Arc<Shared>,
        bugs: Bugs,
    ) -> Self {
        CacheNode {
            me,
            lines: vec![CacheLine::INVALID; addrs],
            inbox,
            net,
            shared,
            bugs,
            log: HoldingLog::new(me, addrs),
            ops: Vec::new(),
        }
    }

    /// Issues `count` loads and stores (and evictions besides) drawn from `mix`, then serves other cores until the run
    /// stops.
    pub(super) fn run(mut self, count: u64, mix: Mix, seed: u64) -> CacheNodeResult {
        let mut rng = SplitMix64(seed);
        let mut issued = 0;
        // A run stopped by the watchdog ends the loop too (the drain below reads the Stop).
        while issued < count && !self.inbox.stopped() {
            let addr = (rng.next_u64() % self.lines.len() as u64) as usize;
            let roll = rng.next_u64() % 100;
            let op = if roll < mix.evict_percent {
                CpuOp::Evict
            } else if roll < mix.evict_percent + mix.store_percent {
                // Unique per store, and never the initial 0.
                CpuOp::Store(((self.me as u32 + 1) << 24) | (issued as u32 + 1))
            } else {
                CpuOp::Load
            };
            if op != CpuOp::Evict {
                issued += 1;
            }
            if !self.perform(addr, op) {
                break;
            }
            self.inbox.drain();
            self.serve();
        }
        self.shared.cores_done.fetch_add(1, Ordering::SeqCst);
        while !self.inbox.stopped() {
            if self.inbox.wait(WAIT) {
                self.serve();
            }
        }
        CacheNodeResult {
            ops: self.ops,
            log: self.log,
            buffered: self.inbox.buffered(),
            lines: self.lines,
        }
    }

    /// Delivers every buffered message the controller takes. Returns the memory operation
    /// one of them completed, if any.
    fn serve(&mut self) -> Option<Completed<u32>> {
        let mut completed = None;
        let (me, bugs) = (self.me as u8, self.bugs);
        let (lines, log, net, clock) = (
            &mut self.lines,
            &mut self.log,
            &self.net,
            &self.shared.clock,
        );
        self.inbox.deliver(|p| {
            let Some(step) = cache_receive(lines[p.addr], me, p.env, bugs) else {
                return false;
            };
            apply(
                &mut lines[p.addr],
                log,
                clock,
                net,
                p.addr,
                step.line,
                step.send,
            );
            if step.completed.is_some() {
                completed = step.completed;
            }
            true
        });
        completed
    }

    /// Waits for a message and serves what the controller takes: the memory operation it
    /// completed, if any. `None` once the run stopped.
    fn wait_and_serve(&mut self) -> Option<Option<Completed<u32>>> {
        if self.inbox.stopped() {
            return None;
        }
        self.inbox.wait(WAIT);
        if self.inbox.stopped() {
            return None;
        }
        Some(self.serve())
    }

    /// Runs one processor operation to completion. False if the run stopped first (the
    /// operation is then recorded without a return).
    fn perform(&mut self, addr: usize, op: CpuOp<u32>) -> bool {
        let call = self.shared.clock.tick();
        loop {
            let line = self.lines[addr];
            let Some(step) = cache_cpu(line, self.me as u8, op, self.bugs) else {
                // Nothing to evict, or a transient state the request must wait out.
                if op == CpuOp::Evict && line.state.is_stable() {
                    return true;
                }
                if self.wait_and_serve().is_none() {
                    return self.give_up(addr, op, call);
                }
                continue;
            };
            let completed = step.completed;
            apply(
                &mut self.lines[addr],
                &mut self.log,
                &self.shared.clock,
                &self.net,
                addr,
                step.line,
                step.send,
            );
            if op == CpuOp::Evict {
                return true;
            }
            let mut completed = completed.or_else(|| self.serve());
            while completed.is_none() {
                match self.wait_and_serve() {
                    Some(c) => completed = c,
                    None => return self.give_up(addr, op, call),
                }
            }
            let ret = self.shared.clock.tick();
            let kind = match completed.expect("the loop ends on a completion") {
                Completed::Load(v) => OpKind::Load(Some(v)),
                Completed::Store(v) => OpKind::Store(v),
            };
            self.record(addr, kind, call, Some(ret));
            return true;
        }
    }

    fn give_up(&mut self, addr: usize, op: CpuOp<u32>, call: u64) -> bool {
        match op {
            CpuOp::Load => self.record(addr, OpKind::Load(None), call, None),
            CpuOp::Store(v) => self.record(addr, OpKind::Store(v), call, None),
            CpuOp::Evict => {}
        }
        false
    }

    fn record(&mut self, addr: usize, kind: OpKind, call: u64, ret: Option<u64>) {
        if ret.is_some() {
            self.shared.completed.fetch_add(1, Ordering::Relaxed);
        }
        self.ops.push(OpRecord {
            core: self.me,
            addr,
            kind,
            call,
            ret,
        });
    }
}

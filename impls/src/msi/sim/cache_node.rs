//! A core: a processor issuing loads, stores and evictions, and a [`CacheController`] per
//! address serving its lines, stepped through [`Core::step`].
//!
//! The processor is blocking, as the primer's is: one memory operation at a time, and the
//! next one issues only when this one completes. While it waits the node keeps taking
//! every message its controllers can take, including forwarded requests for other lines.

use super::actor::{draw, Actor, Step};
use super::network::{Buffer, Packet, Slot};
use super::record::{Clock, HoldingLog, OpKind, OpRecord};
use super::Mix;
use crate::msi::core::{
    Bugs, CacheController, CacheEffect, CacheInput, CacheLine, CacheState, Completed, CpuOp,
};
use crate::sansio::Core;
use crate::sim::SplitMix64;

/// What a core hands back when the run stops.
#[derive(Debug)]
pub(super) struct CacheNodeResult {
    pub(super) ops: Vec<OpRecord>,
    pub(super) log: HoldingLog,
    pub(super) lines: Vec<CacheLine<u32>>,
    pub(super) buffered: Vec<Packet>,
}

/// The operations a core still has to issue, drawn from its own generator so that a seed
/// fixes the workload in both schedules.
#[derive(Debug)]
struct Workload {
    rng: SplitMix64,
    mix: Mix,
    /// Loads and stores to issue (evictions not counted).
    count: u64,
    /// Loads and stores issued so far.
    issued: u64,
}

/// The processor's operation in progress.
#[derive(Clone, Copy, Debug)]
struct Pending {
    addr: usize,
    op: CpuOp<u32>,
    /// Clock time before it was issued.
    call: u64,
    /// Whether the controller has taken it (it then waits for a completion); if not, the
    /// line is in a transient state the request must wait out.
    taken: bool,
}

/// One thing a core may try in a step.
#[derive(Clone, Copy, Debug)]
enum Choice {
    Deliver(Slot),
    Processor,
}

pub(super) struct CacheNode {
    me: usize,
    controllers: Vec<CacheController<u32>>,
    inbox: Buffer,
    work: Workload,
    pending: Option<Pending>,
    log: HoldingLog,
    ops: Vec<OpRecord>,
    /// Scratch space for the choices, kept to save an allocation per step.
    choices: Vec<Choice>,
}

impl CacheNode {
    pub(super) fn new(
        me: usize,
        addrs: usize,
        count: u64,
        mix: Mix,
        seed: u64,
        bugs: Bugs,
    ) -> Self {
        CacheNode {
            me,
            controllers: vec![CacheController::new(me as u8, CacheLine::INVALID, bugs); addrs],
            inbox: Buffer::new(addrs, !bugs.unordered_forwards),
            work: Workload {
                rng: SplitMix64(seed),
                mix,
                count,
                issued: 0,
            },
            pending: None,
            log: HoldingLog::new(me, addrs),
            ops: Vec::new(),
            choices: Vec::new(),
        }
    }

    /// What the core recorded. A load or store still in progress is recorded without a
    /// return: the run stopped first.
    pub(super) fn finish(mut self) -> CacheNodeResult {
        if let Some(p) = self.pending.take() {
            match p.op {
                CpuOp::Load => self.record(p.addr, OpKind::Load(None), p.call, None),
                CpuOp::Store(v) => self.record(p.addr, OpKind::Store(v), p.call, None),
                CpuOp::Evict => {}
            }
        }
        CacheNodeResult {
            ops: self.ops,
            log: self.log,
            lines: self.controllers.iter().map(|c| c.line).collect(),
            buffered: self.inbox.buffered(),
        }
    }

    /// Whether the processor has something it may try: a new operation to issue, or one
    /// the controller has not taken yet.
    fn processor_may_try(&self) -> bool {
        match self.pending {
            None => self.work.issued < self.work.count,
            Some(p) => !p.taken,
        }
    }

    /// Draws the next operation from the workload and reads its call time.
    fn issue(&mut self, clock: &Clock) -> Pending {
        let w = &mut self.work;
        let addr = (w.rng.next_u64() % self.controllers.len() as u64) as usize;
        let roll = w.rng.next_u64() % 100;
        let op = if roll < w.mix.evict_percent {
            CpuOp::Evict
        } else if roll < w.mix.evict_percent + w.mix.store_percent {
            // Unique per store, and never the initial 0.
            CpuOp::Store(((self.me as u32 + 1) << 24) | (w.issued as u32 + 1))
        } else {
            CpuOp::Load
        };
        if op != CpuOp::Evict {
            w.issued += 1;
        }
        Pending {
            addr,
            op,
            call: clock.tick(),
            taken: false,
        }
    }

    /// Issues the next operation, or retries the one not taken yet. `None`: a retry that
    /// stalled again, which is no step (issuing is one even when it stalls: it read the
    /// clock).
    fn processor(&mut self, clock: &Clock, out: &mut Vec<Packet>) -> Option<Step> {
        let (pending, issuing) = match self.pending {
            Some(p) => (p, false),
            None => (self.issue(clock), true),
        };
        self.pending = Some(pending);
        let controller = &mut self.controllers[pending.addr];
        let before = controller.line.state;
        let effects = controller.step(CacheInput::Cpu(pending.op));
        if effects == [CacheEffect::Stalled] {
            if pending.op == CpuOp::Evict && before.is_stable() {
                // Nothing to evict: the eviction is over.
                self.pending = None;
                return Some(Step::Moved);
            }
            // A transient state the request must wait out.
            return issuing.then_some(Step::Moved);
        }
        self.pending = match pending.op {
            // An eviction completes nothing the processor waits for.
            CpuOp::Evict => None,
            _ => Some(Pending {
                taken: true,
                ..pending
            }),
        };
        Some(self.apply(pending.addr, before, effects, clock, out))
    }

    /// Carries out a controller's effects on `addr`, whose line was in `before`: logs the
    /// change of state (reading the clock before any message leaves), sends, and records a
    /// completed load or store.
    fn apply(
        &mut self,
        addr: usize,
        before: CacheState,
        effects: Vec<CacheEffect<u32>>,
        clock: &Clock,
        out: &mut Vec<Packet>,
    ) -> Step {
        let after = self.controllers[addr].line.state;
        self.log.transition(clock, addr, before, after);
        let mut completed = None;
        for effect in effects {
            match effect {
                CacheEffect::Send(env) => out.push(Packet { addr, env }),
                CacheEffect::Completed(c) => completed = Some(c),
                CacheEffect::Stalled => {}
            }
        }
        // Only the operation the processor waits for can complete (a blocking processor
        // has one), but a completion with nothing taken is ignored rather than trusted.
        let Some(done) = completed else {
            return Step::Moved;
        };
        let Some(p) = self.pending.filter(|p| p.taken) else {
            return Step::Moved;
        };
        self.pending = None;
        let ret = clock.tick();
        let kind = match done {
            Completed::Load(v) => OpKind::Load(Some(v)),
            Completed::Store(v) => OpKind::Store(v),
        };
        self.record(p.addr, kind, p.call, Some(ret));
        Step::Completed
    }

    fn record(&mut self, addr: usize, kind: OpKind, call: u64, ret: Option<u64>) {
        self.ops.push(OpRecord {
            core: self.me,
            addr,
            kind,
            call,
            ret,
        });
    }
}

impl Actor for CacheNode {
    fn receive(&mut self, p: Packet) {
        self.inbox.push(p);
    }

    fn step(&mut self, rng: &mut SplitMix64, clock: &Clock, out: &mut Vec<Packet>) -> Step {
        let mut choices = std::mem::take(&mut self.choices);
        choices.clear();
        choices.extend(self.inbox.deliverable().map(Choice::Deliver));
        if self.processor_may_try() {
            choices.push(Choice::Processor);
        }
        let mut result = Step::Idle;
        while let Some(choice) = draw(rng, &mut choices) {
            let taken = match choice {
                Choice::Processor => self.processor(clock, out),
                Choice::Deliver(slot) => {
                    let p = self.inbox.get(slot);
                    let controller = &mut self.controllers[p.addr];
                    let before = controller.line.state;
                    let effects = controller.step(CacheInput::Receive(p.env));
                    (effects != [CacheEffect::Stalled]).then(|| {
                        self.inbox.remove(slot);
                        self.apply(p.addr, before, effects, clock, out)
                    })
                }
            };
            if let Some(step) = taken {
                result = step;
                break;
            }
        }
        self.choices = choices;
        result
    }

    fn done(&self) -> bool {
        self.pending.is_none() && self.work.issued >= self.work.count
    }
}

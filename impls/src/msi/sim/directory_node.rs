//! The directory: a [`DirController`] for every address, with memory, stepped through
//! [`Core::step`] on one buffered request or response at a time.

use super::actor::{draw, Actor, Step};
use super::network::{Buffer, Packet, Slot};
use super::record::Clock;
use crate::msi::core::{Bugs, DirController, DirEffect, DirLine};
use crate::sansio::Core;
use crate::sim::SplitMix64;

pub(super) struct DirNode {
    controllers: Vec<DirController<u32>>,
    inbox: Buffer,
    /// Scratch space for the deliverable slots, kept to save an allocation per step.
    slots: Vec<Slot>,
}

impl DirNode {
    pub(super) fn new(addrs: usize, bugs: Bugs) -> Self {
        DirNode {
            controllers: vec![DirController::new(DirLine::INITIAL, bugs); addrs],
            // Nothing forwarded is addressed to the directory: the queues stay empty.
            inbox: Buffer::new(addrs, true),
            slots: Vec::new(),
        }
    }

    /// The entries, and the messages still buffered (a request stalled in S^D).
    pub(super) fn finish(self) -> (Vec<DirLine<u32>>, Vec<Packet>) {
        let lines = self.controllers.iter().map(|c| c.line).collect();
        (lines, self.inbox.buffered())
    }
}

impl Actor for DirNode {
    fn receive(&mut self, p: Packet) {
        self.inbox.push(p);
    }

    fn step(&mut self, rng: &mut SplitMix64, _clock: &Clock, out: &mut Vec<Packet>) -> Step {
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        slots.extend(self.inbox.deliverable());
        let mut result = Step::Idle;
        while let Some(slot) = draw(rng, &mut slots) {
            let p = self.inbox.get(slot);
            let effects = self.controllers[p.addr].step(p.env);
            if effects == [DirEffect::Stalled] {
                continue;
            }
            self.inbox.remove(slot);
            out.extend(effects.into_iter().filter_map(|e| match e {
                DirEffect::Send(env) => Some(Packet { addr: p.addr, env }),
                DirEffect::Stalled => None,
            }));
            result = Step::Moved;
            break;
        }
        self.slots = slots;
        result
    }

    fn done(&self) -> bool {
        true
    }
}

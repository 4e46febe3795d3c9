//! Vector clocks against happens-before, exhaustively: processes that do local events,
//! sends and receives over a network that reorders, each process keeping its clock with
//! the implementation's own core ([`impls::vclock::process::Process`]), and ghost state
//! that records each event's true causal past, against which the clocks are judged.
//!
//! ```text
//! VARIABLES clock, hist, net          \* hist and the pasts in net are ghost state
//! Local(p)      == clock' = Inc(clock[p], p) /\ hist[p]' = Append(hist[p], <<"local", clock'[p], Past(p) \cup {e}>>)
//! Send(p, q)    == ... /\ net' = net \cup {<<p, q, clock'[p], Past(p) \cup {e}>>}
//! Receive(p, m) == m \in net /\ m.to = p /\ clock'[p] = Inc(Merge(clock[p], m.clock), p)
//!                  /\ hist[p]' = Append(..., Past(p) \cup m.past \cup {e}) /\ net' = net \ {m}
//! Next == \E p : Len(hist[p]) < Events /\ (Local(p) \/ \E q # p : Send(p, q) \/ \E m : Receive(p, m))
//! StampIsCausalPast  == \A e : \A i : VC(e)[i] = Cardinality({f \in Past(e) : f.proc = i})
//! OrderIsCausality   == \A e, f : (VC(e) < VC(f) <=> e \in Past(f) /\ e # f) /\ (VC(e) = VC(f) <=> e = f)
//! ```
//!
//! An event's past includes the event itself, so `VC(e)[i]` counts the events of `i`
//! that happened before `e`, or are `e`. The network delivers each message once, in any
//! order; it neither loses nor duplicates (a lost message is one never received, which
//! the bounded runs already include; a duplicate would be a second receive event of the
//! same stamp, which adds nothing to what a clock must get right).
//!
//! Processes are numbered from 0 here and named `p1`, `p2`, ... in the words.

pub mod causal;
mod words;

#[cfg(test)]
mod tests;

use crate::Variant;
use impls::sansio::{BugSwitches, Core};
use impls::vclock::clock::Causality;
use impls::vclock::process::{Bug, Clock, Effect, Input, Process, ProcessId};
use stateright::{Model, Property};

/// The most events a process may take: an event's id is `p * MAX_EVENTS + k`, a bit of a
/// `u32` past.
pub const MAX_EVENTS: u8 = 4;

/// The most processes.
pub const MAX_PROCESSES: u8 = 4;

/// What `check all` holds the default bounds (3 processes, 3 events each) to. See
/// `docs/vclock.md` for the comparison with the TLA+ model's 549,508.
pub const PIN: crate::coverage::Pin = crate::coverage::Pin::states(PINNED_STATES);

/// The unique states of the default bounds.
pub const PINNED_STATES: u64 = 869_040;

/// The bug variants and the properties each breaks.
pub const VARIANTS: [Variant; 4] = [
    Variant::of(
        Bug::ReceiveWithoutMerge.switch(),
        &["StampIsCausalPast", "OrderIsCausality"],
    ),
    Variant::of(
        Bug::ReceiveWithoutIncrement.switch(),
        &["StampIsCausalPast"],
    ),
    Variant::of(Bug::SendWithoutIncrement.switch(), &["StampIsCausalPast"]),
    Variant::of(
        Bug::HappensBeforeAllowsEqual.switch(),
        &["OrderIsCausality"],
    ),
];

/// The set of events, as bits `p * MAX_EVENTS + k`.
pub type Events = u32;

fn event_bit(p: ProcessId, k: u8) -> Events {
    1 << (u32::from(p) * u32::from(MAX_EVENTS) + u32::from(k))
}

/// What an event was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Something inside the process.
    Local,
    /// A send to the process.
    Send(ProcessId),
    /// A receive of the message sent as event `k` of process `p`.
    Receive(ProcessId, u8),
}

/// One event in a process's history (ghost state, but for the stamp, which the process
/// computed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// What it was.
    pub kind: Kind,
    /// The clock the process stamped it with.
    pub stamp: Clock,
    /// Its true causal past, itself included.
    pub past: Events,
    /// The processes this one had received a message from, directly, by then.
    pub heard_from: u8,
}

/// A message in the network, ordered by sender, send and receiver (unique per message).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// The sender.
    pub from: ProcessId,
    /// The send's index among the sender's events.
    pub sent_as: u8,
    /// The receiver.
    pub to: ProcessId,
    /// The clock it carries.
    pub stamp: Clock,
    /// The causal past of its send (ghost).
    pub past: Events,
}

impl Ord for Message {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.from, self.sent_as, self.to).cmp(&(other.from, other.sent_as, other.to))
    }
}

impl PartialOrd for Message {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// One state: each process's core and history, and the messages in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VclockState {
    /// Each process's clock-keeping core.
    pub procs: Vec<Process>,
    /// Each process's events, in order.
    pub hist: Vec<Vec<Event>>,
    /// Messages sent and not yet received, in order (a set: each is unique by sender and
    /// index).
    pub net: Vec<Message>,
}

impl VclockState {
    /// The causal past of `p`'s latest event (empty before its first).
    fn past_of(&self, p: ProcessId) -> Events {
        self.hist[p as usize].last().map_or(0, |e| e.past)
    }

    fn heard_from(&self, p: ProcessId) -> u8 {
        self.hist[p as usize].last().map_or(0, |e| e.heard_from)
    }

    /// Every event, with its process and index.
    pub fn events(&self) -> impl Iterator<Item = (ProcessId, u8, &Event)> {
        self.hist.iter().enumerate().flat_map(|(p, h)| {
            h.iter()
                .enumerate()
                .map(move |(k, e)| (p as ProcessId, k as u8, e))
        })
    }
}

/// A step of one process.
#[derive(Clone, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantNames)]
pub enum Action {
    /// Process `p` does a local event.
    Local(ProcessId),
    /// Process `from` sends a message to `to`.
    Send {
        /// The sender.
        from: ProcessId,
        /// The receiver.
        to: ProcessId,
    },
    /// Process `to` receives the message `from` sent as its event `sent_as`.
    Receive {
        /// The receiver.
        to: ProcessId,
        /// The sender.
        from: ProcessId,
        /// The send's index among the sender's events.
        sent_as: u8,
    },
}

/// The model: `processes` processes of at most `events` events each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VclockModel {
    /// Processes, 2..=[`MAX_PROCESSES`].
    pub processes: u8,
    /// Events per process, 1..=[`MAX_EVENTS`].
    pub events: u8,
    /// The bug the processes are built with.
    pub bug: Option<Bug>,
}

impl Default for VclockModel {
    /// `check vclock`'s default bounds: 3 processes, 3 events each.
    fn default() -> Self {
        VclockModel {
            processes: 3,
            events: 3,
            bug: None,
        }
    }
}

/// What happens-before says of events `a` and `b` (with pasts `pa`, `pb` and bits `ba`,
/// `bb`): the truth the clocks are judged against.
pub fn truth(ba: Events, pa: Events, bb: Events, pb: Events) -> Causality {
    if ba == bb {
        Causality::Equal
    } else if pb & ba != 0 {
        Causality::Before
    } else if pa & bb != 0 {
        Causality::After
    } else {
        Causality::Concurrent
    }
}

impl VclockModel {
    /// The variant named `name`'s bug.
    pub fn bug_named(name: &str) -> Option<Bug> {
        Bug::from_name(name)
    }

    fn room(&self, s: &VclockState, p: ProcessId) -> bool {
        s.hist[p as usize].len() < usize::from(self.events)
    }

    /// The first event whose stamp does not count its causal past, and the process whose
    /// entry is wrong: `(p, k, i, stamp[i], true count)`.
    pub fn miscounted(&self, s: &VclockState) -> Option<(ProcessId, u8, ProcessId, u64, u64)> {
        for (p, k, e) in s.events() {
            for i in 0..self.processes {
                let mask: Events =
                    ((1u32 << MAX_EVENTS) - 1) << (u32::from(i) * u32::from(MAX_EVENTS));
                let truth = u64::from((e.past & mask).count_ones());
                let said = e.stamp.get(&i);
                if said != truth {
                    return Some((p, k, i, said, truth));
                }
            }
        }
        None
    }

    /// The first pair of events whose stamps' comparison (by the processes' comparison)
    /// differs from happens-before: `((p, k), (q, l), said, truth)`.
    #[allow(clippy::type_complexity)]
    pub fn misordered(
        &self,
        s: &VclockState,
    ) -> Option<((ProcessId, u8), (ProcessId, u8), Causality, Causality)> {
        for (p, k, e) in s.events() {
            for (q, l, f) in s.events() {
                let said = impls::vclock::process::compare(self.bug, &e.stamp, &f.stamp);
                let truth = truth(event_bit(p, k), e.past, event_bit(q, l), f.past);
                if said != truth {
                    return Some(((p, k), (q, l), said, truth));
                }
            }
        }
        None
    }

    /// Two concurrent events, by happens-before.
    pub fn concurrent_pair(&self, s: &VclockState) -> Option<((ProcessId, u8), (ProcessId, u8))> {
        for (p, k, e) in s.events() {
            for (q, l, f) in s.events() {
                if (p, k) < (q, l)
                    && truth(event_bit(p, k), e.past, event_bit(q, l), f.past)
                        == Causality::Concurrent
                {
                    return Some(((p, k), (q, l)));
                }
            }
        }
        None
    }

    /// An event of one process in the past of another's event, which never heard from
    /// the first directly: a dependency that came through a third process.
    pub fn transitive(&self, s: &VclockState) -> Option<((ProcessId, u8), (ProcessId, u8))> {
        for (q, l, f) in s.events() {
            for (p, k, _) in s.events() {
                if p != q && f.past & event_bit(p, k) != 0 && f.heard_from & (1 << p) == 0 {
                    return Some(((p, k), (q, l)));
                }
            }
        }
        None
    }

    /// Steps process `p`'s core on `input` in `n` and records the event.
    fn record(
        &self,
        n: &mut VclockState,
        p: ProcessId,
        input: Input,
        kind: Kind,
        past: Events,
        heard: u8,
    ) {
        let k = n.hist[p as usize].len() as u8;
        let effects = n.procs[p as usize].step(input);
        let mut stamp = None;
        for effect in effects {
            match effect {
                Effect::Stamped(c) => stamp = Some(c),
                Effect::Send { to, stamp } => {
                    let m = Message {
                        from: p,
                        sent_as: k,
                        to,
                        stamp,
                        past: past | event_bit(p, k),
                    };
                    let at = n.net.binary_search(&m).unwrap_or_else(|i| i);
                    n.net.insert(at, m);
                }
            }
        }
        n.hist[p as usize].push(Event {
            kind,
            stamp: stamp.expect("every step stamps its event"),
            past: past | event_bit(p, k),
            heard_from: heard,
        });
    }
}

impl Model for VclockModel {
    type State = VclockState;
    type Action = Action;

    fn init_states(&self) -> Vec<VclockState> {
        vec![VclockState {
            procs: (0..self.processes)
                .map(|p| Process::new(p, self.bug))
                .collect(),
            hist: vec![Vec::new(); usize::from(self.processes)],
            net: Vec::new(),
        }]
    }

    fn actions(&self, s: &VclockState, actions: &mut Vec<Action>) {
        for p in 0..self.processes {
            if !self.room(s, p) {
                continue;
            }
            actions.push(Action::Local(p));
            for q in (0..self.processes).filter(|&q| q != p) {
                actions.push(Action::Send { from: p, to: q });
            }
            for m in s.net.iter().filter(|m| m.to == p) {
                actions.push(Action::Receive {
                    to: p,
                    from: m.from,
                    sent_as: m.sent_as,
                });
            }
        }
    }

    fn next_state(&self, s: &VclockState, action: Action) -> Option<VclockState> {
        let mut n = s.clone();
        match action {
            Action::Local(p) => self.record(
                &mut n,
                p,
                Input::Local,
                Kind::Local,
                s.past_of(p),
                s.heard_from(p),
            ),
            Action::Send { from, to } => self.record(
                &mut n,
                from,
                Input::Send { to },
                Kind::Send(to),
                s.past_of(from),
                s.heard_from(from),
            ),
            Action::Receive { to, from, sent_as } => {
                let at = n
                    .net
                    .iter()
                    .position(|m| m.from == from && m.sent_as == sent_as && m.to == to)?;
                let m = n.net.remove(at);
                self.record(
                    &mut n,
                    to,
                    Input::Receive {
                        from,
                        stamp: m.stamp,
                    },
                    Kind::Receive(from, sent_as),
                    s.past_of(to) | m.past,
                    s.heard_from(to) | (1 << from),
                );
            }
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("StampIsCausalPast", |m: &Self, s| m.miscounted(s).is_none()),
            Property::always("OrderIsCausality", |m: &Self, s| m.misordered(s).is_none()),
            Property::sometimes("ConcurrentEvents", |m: &Self, s| {
                m.concurrent_pair(s).is_some()
            }),
            Property::sometimes("TransitiveDependency", |m: &Self, s| {
                m.transitive(s).is_some()
            }),
        ]
    }

    fn format_step(&self, last: &VclockState, action: Action) -> Option<String> {
        crate::explorer_step(self, last, action)
    }
}

/// The variant of `bug`.
pub fn variant(bug: Bug) -> Variant {
    *VARIANTS
        .iter()
        .find(|v| v.name == bug.name())
        .expect("every bug is a variant")
}

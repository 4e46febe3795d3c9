//! Replaying one node's trace against the message-level model's transition: every
//! recorded step is re-stepped on the core from the model's state, and what the runtime
//! carried out is compared with what the model's step does (see the parent module for
//! the rules).

use super::read::{Line, Trace};
use super::words;
use super::Finding;
use impls::raft::core::{Config, Durable, Effect, Input, Message, Node, Persist};
use impls::raft::node::trace::{Event, StateView};
use impls::raft::NodeId;
use impls::sansio::Core;
use std::collections::{HashMap, HashSet};

/// Every message each node's trace says it sent: sender -> (receiver, message).
#[derive(Default)]
pub struct Sends {
    sent: HashMap<NodeId, HashSet<(NodeId, Message)>>,
    /// Senders whose trace has a step a crash cut before its performed record: what that
    /// step sent is known only once the sender is replayed.
    cut: HashSet<NodeId>,
}

impl Sends {
    /// The sends of every trace in `traces`.
    pub fn of(traces: &[Trace]) -> Sends {
        let mut s = Sends::default();
        for t in traces {
            let set = s.sent.entry(t.node).or_default();
            for (i, line) in t.lines.iter().enumerate() {
                match &line.record.event {
                    Event::Performed { actions } => {
                        for a in actions {
                            if let Effect::Send { to, message } = a {
                                set.insert((*to, message.clone()));
                            }
                        }
                    }
                    Event::Step { .. } => {
                        let next = t.lines.get(i + 1).map(|l| &l.record.event);
                        if matches!(next, None | Some(Event::Start { .. })) {
                            s.cut.insert(t.node);
                        }
                    }
                    _ => {}
                }
            }
        }
        s
    }
}

/// A receipt only a step that a crash cut short in the sender's trace can explain.
#[derive(Clone, Debug)]
pub struct Pending {
    /// The sender.
    pub from: NodeId,
    /// The message.
    pub message: Message,
    /// The finding to report if the sender's cut steps did not send it either.
    pub finding: Finding,
}

/// What replaying one trace established.
pub struct Replayed {
    /// The node.
    pub node: NodeId,
    /// Starts (the first and every restart).
    pub starts: u64,
    /// Steps checked (each with its performed record).
    pub steps: u64,
    /// Idle ticks checked.
    pub idle_ticks: u64,
    /// Receipts matched to their sender's send.
    pub receipts_matched: u64,
    /// Receipts from a node whose trace was not given.
    pub receipts_unchecked: u64,
    /// Lines of steps a crash cut before the runtime recorded what it carried out.
    pub cut_steps: Vec<usize>,
    /// Bytes of torn lines the node cut off its trace when it restarted.
    pub torn_bytes_cut: u64,
    /// The first disagreement, if any.
    pub finding: Option<Finding>,
    /// What the cut steps' model steps send (receiver, message): they may have left.
    pub possibly_sent: HashSet<(NodeId, Message)>,
    /// Receipts left for the senders' cut steps to explain.
    pub pending: Vec<Pending>,
}

/// A check's result: the disagreement, boxed, as it is rare and large.
type Checked = Result<(), Box<Finding>>;

/// A recorded step whose performed record has not been read yet.
struct Open {
    line: usize,
    input: Input,
    before: Node,
    effects: Vec<Effect>,
}

struct Replay<'a> {
    trace: &'a Trace,
    sends: &'a Sends,
    out: Replayed,
    config: Config,
    node: Node,
    /// What the persists the runtime reported durable add up to.
    durable: Durable,
    open: Option<Open>,
    seq: u64,
}

/// The model's configuration for a node recorded with `recorded`: the same, without the
/// core's bug switches. The model is the correct protocol, so a step that a switched-on
/// bug takes where the correct core would not is a disagreement, like any other.
pub fn model_config(recorded: &Config) -> Config {
    let mut c = recorded.clone();
    c.bug = None;
    c.timing_bug = None;
    c
}

/// Replays `trace`, matching its receipts against `sends`. Stops at the first
/// disagreement. `Err` is an input error: a record the core cannot take (it panicked).
pub fn replay(trace: &Trace, sends: &Sends) -> Result<Replayed, String> {
    let Event::Start {
        config, durable, ..
    } = &trace.lines[0].record.event
    else {
        unreachable!("read() checks that a trace begins with a start record")
    };
    let mut r = Replay {
        trace,
        sends,
        out: Replayed {
            node: trace.node,
            starts: 0,
            steps: 0,
            idle_ticks: 0,
            receipts_matched: 0,
            receipts_unchecked: 0,
            cut_steps: Vec::new(),
            torn_bytes_cut: 0,
            finding: None,
            possibly_sent: HashSet::new(),
            pending: Vec::new(),
        },
        config: model_config(config),
        node: Node::restart(model_config(config), durable.clone()),
        durable: durable.clone(),
        open: None,
        seq: 0,
    };
    for line in &trace.lines {
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.record(line)));
        match stepped {
            Ok(Ok(())) => {}
            Ok(Err(finding)) => {
                r.out.finding = Some(*finding);
                return Ok(r.out);
            }
            Err(_) => {
                return Err(format!(
                    "{}: the core panicked on this record: the trace holds a state or input the node cannot have",
                    trace.at(line.number)
                ))
            }
        }
    }
    if let Some(open) = r.open.take() {
        r.cut(open);
    }
    Ok(r.out)
}

impl Replay<'_> {
    fn id(&self) -> NodeId {
        self.trace.node
    }

    /// A finding at `line` with no step attached yet.
    fn finding(&self, line: usize, rule: &'static str, why: String) -> Box<Finding> {
        Box::new(Finding {
            node: self.id(),
            file: self.trace.path.display().to_string(),
            line,
            at: self.trace.at(line),
            rule,
            why,
            action: String::new(),
            step: String::new(),
            state_before: words::state(&self.node),
            performed: Vec::new(),
            model: Vec::new(),
        })
    }

    fn record(&mut self, line: &Line) -> Checked {
        let r = &line.record;
        if let Event::Start {
            config,
            durable,
            torn_tail_bytes,
        } = &r.event
        {
            return self.start(line.number, r.seq, config, durable, *torn_tail_bytes);
        }
        if r.seq != self.seq + 1 {
            let why = if r.seq > self.seq + 1 {
                format!(
                    "the record's seq is {} where {} comes next: {} record(s) of this incarnation are missing",
                    r.seq,
                    self.seq + 1,
                    r.seq - self.seq - 1
                )
            } else {
                format!(
                    "the record's seq is {} where {} comes next: records are repeated or out of order",
                    r.seq,
                    self.seq + 1
                )
            };
            return Err(self.finding(line.number, "RecordSequence", why));
        }
        self.seq = r.seq;
        match &r.event {
            Event::Start { .. } => unreachable!("handled above"),
            Event::Ticks { count } => {
                self.no_open_step(line.number)?;
                self.idle_ticks(line.number, *count)
            }
            Event::Step { input, before } => {
                self.no_open_step(line.number)?;
                self.step(line.number, input, before)
            }
            Event::Performed { actions } => {
                let Some(open) = self.open.take() else {
                    let why = "a performed record with no step record before it".to_string();
                    return Err(self.finding(line.number, "RecordSequence", why));
                };
                self.performed(line.number, &open, actions)?;
                for a in actions {
                    if let Effect::Persist(p) = a {
                        self.durable.apply(p);
                    }
                }
                self.out.steps += 1;
                Ok(())
            }
        }
    }

    /// The model's `Restart`: the node comes back from what it recovered, which must be
    /// what its reported-durable persists add up to.
    fn start(
        &mut self,
        line: usize,
        seq: u64,
        config: &Config,
        recovered: &Durable,
        torn: u64,
    ) -> Checked {
        if seq != 0 {
            let why = format!("a start record's seq is 0, not {seq}");
            return Err(self.finding(line, "RecordSequence", why));
        }
        let cut = self.open.take();
        if self.out.starts > 0 {
            self.recovered(line, recovered, cut.as_ref())?;
        }
        if let Some(open) = cut {
            self.cut(open);
        }
        self.out.starts += 1;
        self.out.torn_bytes_cut += torn;
        self.config = model_config(config);
        self.node = Node::restart(model_config(config), recovered.clone());
        self.durable = recovered.clone();
        self.seq = 0;
        Ok(())
    }

    /// Checks the durable state a restart recovered against the persists the runtime
    /// reported durable before the crash; a step the crash cut may have made a prefix of
    /// its own persists durable too.
    fn recovered(
        &self,
        line: usize,
        recovered: &Durable,
        cut: Option<&Open>,
    ) -> Checked {
        let mut candidate = self.durable.clone();
        if *recovered == candidate {
            return Ok(());
        }
        let cut_persists: Vec<&Persist> = cut
            .map(|o| {
                o.effects
                    .iter()
                    .filter_map(|e| match e {
                        Effect::Persist(p) => Some(p),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for p in &cut_persists {
            candidate.apply(p);
            if *recovered == candidate {
                return Ok(());
            }
        }
        let why = format!(
            "the node recovered {}, but the persists the runtime reported durable before the crash add up to {}{}: a write the runtime reported durable was lost (an fsync skipped, or a write lost)",
            words::durable(recovered),
            words::durable(&self.durable),
            if cut_persists.is_empty() {
                String::new()
            } else {
                format!(
                    " (or that plus a prefix of the {} persist(s) of the step the crash cut)",
                    cut_persists.len()
                )
            }
        );
        let mut f = self.finding(line, "RecoveredDurable", why);
        f.action = "Restart".into();
        f.step = format!("{} crashes and restarts from its durable state", words::name(self.id()));
        Err(f)
    }

    /// A step the crash cut before its performed record: what its model step sends may
    /// have left.
    fn cut(&mut self, open: Open) {
        self.out.cut_steps.push(open.line);
        for e in open.effects {
            if let Effect::Send { to, message } = e {
                self.out.possibly_sent.insert((to, message));
            }
        }
    }

    fn no_open_step(&self, line: usize) -> Checked {
        match &self.open {
            Some(open) => {
                let why = format!(
                    "the step at line {} has no performed record, yet the trace goes on without a restart",
                    open.line
                );
                Err(self.finding(line, "RecordSequence", why))
            }
            None => Ok(()),
        }
    }

    /// `count` ticks the runtime recorded as idle: each must have no effect and leave the
    /// view as it was in the model too.
    fn idle_ticks(&mut self, line: usize, count: u64) -> Checked {
        for k in 1..=count {
            let before_node = self.node.clone();
            let before = StateView::of(&self.node);
            let effects = self.node.step(Input::Tick);
            let after = StateView::of(&self.node);
            if !effects.is_empty() || after != before {
                let (action, step) =
                    words::action(self.id(), &Input::Tick, &before_node, &self.node, &effects);
                let changed: Vec<String> = before
                    .differences(&after)
                    .iter()
                    .map(|d| format!("{} {} -> {}", d.variable, d.left, d.right))
                    .collect();
                let why = format!(
                    "the runtime recorded {count} idle ticks, but at tick {k} of them the model's node {}{}",
                    if effects.is_empty() {
                        "changes state".to_string()
                    } else {
                        format!("has {} effect(s)", effects.len())
                    },
                    if changed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", changed.join(", "))
                    }
                );
                let mut f = self.finding(line, "IdleTick", why);
                f.state_before = words::state(&before_node);
                f.action = action.into();
                f.step = step;
                f.model = effects.iter().map(words::effect).collect();
                return Err(f);
            }
        }
        self.out.idle_ticks += count;
        Ok(())
    }

    fn step(&mut self, line: usize, input: &Input, before: &StateView) -> Checked {
        let model = StateView::of(&self.node);
        let diffs = before.differences(&model);
        let named = |f: &mut Finding, node: &Node, r: &Self| {
            let (after, effects) = stepped(node, input);
            let (action, step) = words::action(r.id(), input, node, &after, &effects);
            f.action = action.into();
            f.step = step;
        };
        if !diffs.is_empty() {
            let listed: Vec<String> = diffs
                .iter()
                .map(|d| format!("{} is {} in the trace, {} in the model", d.variable, d.left, d.right))
                .collect();
            let why = format!(
                "the state before this step is not the model's state after the previous one: {}",
                listed.join("; ")
            );
            let mut f = self.finding(line, "StateBefore", why);
            named(&mut f, &self.node, self);
            return Err(f);
        }
        if let Input::Receive { from, message } = input {
            if let Err(mut f) = self.receipt(line, *from, message) {
                named(&mut f, &self.node, self);
                return Err(f);
            }
        }
        let before_node = self.node.clone();
        let effects = self.node.step(input.clone());
        self.open = Some(Open {
            line,
            input: input.clone(),
            before: before_node,
            effects,
        });
        Ok(())
    }

    /// "Every message a node received was sent by its sender": the same message (term and
    /// content), to this node, in the sender's trace.
    fn receipt(&mut self, line: usize, from: NodeId, message: &Message) -> Checked {
        let Some(sent) = self.sends.sent.get(&from) else {
            self.out.receipts_unchecked += 1;
            return Ok(());
        };
        let key = (self.id(), message.clone());
        if sent.contains(&key) {
            self.out.receipts_matched += 1;
            return Ok(());
        }
        let closest = sent
            .iter()
            .filter(|(to, m)| {
                *to == self.id()
                    && std::mem::discriminant(m) == std::mem::discriminant(message)
                    && m.term() == message.term()
            })
            .map(|(_, m)| words::message(m))
            .min();
        let why = format!(
            "{} received {} from {}, which {}'s trace never sent to it{}",
            words::name(self.id()),
            words::message(message),
            words::name(from),
            words::name(from),
            match closest {
                Some(m) => format!(" (in term {} it sent, e.g., {m})", message.term()),
                None => format!(
                    " (it sent it no message of that kind in term {})",
                    message.term()
                ),
            }
        );
        let f = self.finding(line, "MessageSent", why);
        if self.sends.cut.contains(&from) {
            self.out.pending.push(Pending {
                from,
                message: message.clone(),
                finding: *f,
            });
            return Ok(());
        }
        Err(f)
    }

    /// Compares what the runtime carried out for `open` with the model's step.
    fn performed(&self, line: usize, open: &Open, actions: &[Effect]) -> Checked {
        let fail = |rule: &'static str, why: String| -> Box<Finding> {
            let mut f = self.finding(line, rule, why);
            f.state_before = words::state(&open.before);
            let (action, step) =
                words::action(self.id(), &open.input, &open.before, &self.node, &open.effects);
            f.action = action.into();
            f.step = format!("{step} (step recorded at line {})", open.line);
            f.performed = actions.iter().map(words::effect).collect();
            f.model = open.effects.iter().map(words::effect).collect();
            f
        };
        // Apply before commit: only committed entries reach the state machine.
        let commit = self.node.commit_index();
        if let Some(index) = actions.iter().find_map(|a| match a {
            Effect::Apply { index, .. } if *index > commit => Some(*index),
            _ => None,
        }) {
            return Err(fail(
                "ApplyAfterCommit",
                format!(
                    "the runtime applied index {index}, but the model's commitIndex after this step is {commit}: an entry reached the state machine before it was committed"
                ),
            ));
        }
        // DurableBeforeSend: nothing a step does leaves before its persists are durable.
        if let Some(first) = actions.iter().position(|a| !matches!(a, Effect::Persist(_))) {
            if let Some(late) = actions[first..]
                .iter()
                .position(|a| matches!(a, Effect::Persist(_)))
            {
                let late = first + late;
                return Err(fail(
                    "DurableBeforeSend",
                    format!(
                        "the runtime carried out \"{}\" (action {}) before \"{}\" (action {}) was durable; the model makes every persist of a step durable before any send, apply or reply that follows it",
                        words::effect(&actions[first]),
                        first + 1,
                        words::effect(&actions[late]),
                        late + 1
                    ),
                ));
            }
        }
        // The same effects: a multiset comparison.
        let mut unmatched: Vec<&Effect> = open.effects.iter().collect();
        let mut extra = Vec::new();
        for a in actions {
            match unmatched.iter().position(|e| *e == a) {
                Some(i) => {
                    unmatched.swap_remove(i);
                }
                None => extra.push(a),
            }
        }
        if !unmatched.is_empty() || !extra.is_empty() {
            let mut parts = Vec::new();
            if !unmatched.is_empty() {
                let missing: Vec<String> = unmatched.iter().map(|e| words::effect(e)).collect();
                parts.push(format!(
                    "the model's step does what the runtime did not: {}",
                    missing.join("; ")
                ));
            }
            if !extra.is_empty() {
                let extra: Vec<String> = extra.iter().map(|e| words::effect(e)).collect();
                parts.push(format!(
                    "the runtime did what the model's step does not: {}",
                    extra.join("; ")
                ));
            }
            return Err(fail("Effects", parts.join("; ")));
        }
        // Persists and applies in the model's order (sends may go in any order: the
        // network reorders them anyway).
        for (kind, pick) in [
            ("persists", (|e: &&Effect| matches!(e, Effect::Persist(_))) as fn(&&Effect) -> bool),
            ("applies", |e: &&Effect| matches!(e, Effect::Apply { .. })),
        ] {
            let ran: Vec<&Effect> = actions.iter().filter(pick).collect();
            let model: Vec<&Effect> = open.effects.iter().filter(pick).collect();
            if ran != model {
                return Err(fail(
                    "EffectOrder",
                    format!("the runtime carried out the step's {kind} in another order than the model's"),
                ));
            }
        }
        Ok(())
    }
}

/// A copy of `node` stepped on `input`, and its effects: for naming a step that was
/// not taken.
fn stepped(node: &Node, input: &Input) -> (Node, Vec<Effect>) {
    let mut copy = node.clone();
    let effects = copy.step(input.clone());
    (copy, effects)
}

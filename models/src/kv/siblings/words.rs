//! The multi-value model in its own words: `c1 puts c1.1 through n2 (blind)`, `n2 makes
//! c1.1 its event: {n2:1 [c1.1]}`, `c2 reads [c1.1, c2.1] with context {n1:1, n2:1}`.

use super::{Envelope, SiblingsAction, SiblingsModel, SiblingsState, Status, Value};
use crate::{Arrow, ArrowKind, Protocol};
use impls::kv::siblings::{Actor, Bug, Context, Msg, Siblings};

fn actor(a: &Actor) -> String {
    match a {
        Actor::Replica(n) => format!("n{}", n + 1),
        Actor::Client(c) => format!("c{}", c + 1),
    }
}

impl SiblingsModel {
    fn names(&self, values: &[Value]) -> String {
        let names: Vec<String> = values.iter().map(|v| self.value_name(*v)).collect();
        format!("[{}]", names.join(", "))
    }

    /// `{n1:2 [c1.2], n2:1 []}`, with anonymous values after a `+`.
    pub fn set(&self, set: &Siblings<Value>) -> String {
        let mut parts: Vec<String> = set
            .entries()
            .iter()
            .map(|e| {
                let values: Vec<Value> = e.values.iter().map(|s| s.value).collect();
                format!("{}:{} {}", actor(&e.id), e.counter, self.names(&values))
            })
            .collect();
        if !set.anonymous().is_empty() {
            let values: Vec<Value> = set.anonymous().iter().map(|s| s.value).collect();
            parts.push(format!("+{}", self.names(&values)));
        }
        format!("{{{}}}", parts.join(", "))
    }

    fn context(c: &Context) -> String {
        let parts: Vec<String> = c
            .counters()
            .map(|(a, n)| format!("{}:{n}", actor(&a)))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    fn message(&self, msg: &Msg<(), Value>) -> String {
        match msg {
            Msg::Coordinate { put, .. } => {
                let ctx = if put.context.is_empty() {
                    "blind".to_string()
                } else {
                    format!("context {}", Self::context(&put.context))
                };
                format!("Coordinate {} ({ctx})", self.value_name(put.value))
            }
            Msg::Coordinated { set, .. } => format!("Coordinated {}", self.set(set)),
            Msg::Read { .. } => "Read".to_string(),
            Msg::ReadReply { set, .. } => match set {
                Some(set) => format!("ReadReply {}", self.set(set)),
                None => "ReadReply nothing".to_string(),
            },
            Msg::Write { set, .. } => format!("Write {}", self.set(set)),
            Msg::WriteAck { .. } => "WriteAck".to_string(),
        }
    }

    fn label(msg: &Msg<(), Value>) -> &'static str {
        match msg {
            Msg::Coordinate { .. } => "Coordinate",
            Msg::Coordinated { .. } => "Coordinated",
            Msg::Read { .. } => "Read",
            Msg::ReadReply { .. } => "ReadReply",
            Msg::Write { .. } => "Write",
            Msg::WriteAck { .. } => "WriteAck",
        }
    }

    fn held(&self, s: &SiblingsState, node: usize) -> String {
        match s.replicas[node].get(&()) {
            Some(set) => self.set(set),
            None => "nothing".to_string(),
        }
    }

    /// What the client saw finish in the step from `s` to `after`, if anything.
    fn outcome(&self, s: &SiblingsState, after: &SiblingsState, client: usize) -> String {
        let was = &s.clients[client];
        let now = &after.clients[client];
        if was.pending.is_none() || now.pending.is_some() {
            return String::new();
        }
        if after.gets.len() > s.gets.len() {
            let g = after.gets.last().expect("a get answered");
            let ctx = now
                .read
                .as_ref()
                .map(|(_, c)| Self::context(c))
                .unwrap_or_default();
            return format!(
                "; c{} reads {} with context {ctx} (get g{})",
                client + 1,
                self.names(&g.values),
                g.id
            );
        }
        match was.pending {
            Some((_, Some(i))) => format!(
                "; c{}'s put of {} is acknowledged",
                client + 1,
                self.value_name(after.puts[i].value)
            ),
            _ => String::new(),
        }
    }

    fn deliver(&self, s: &SiblingsState, env: &Envelope) -> String {
        let Some(after) = self.step_of(s, env) else {
            return format!("n{} handles {}", env.node + 1, self.message(&env.msg));
        };
        let what = match &env.msg {
            Msg::Coordinate { put, .. } => format!(
                "n{} makes {} its event{}: {}",
                env.node + 1,
                self.value_name(put.value),
                match self.bug {
                    Some(Bug::ClientIdClock) => format!(" named by c{}", env.client + 1),
                    Some(Bug::PruneClock) => " and prunes the clock to one entry".to_string(),
                    Some(Bug::LwwWallClock) => " and keeps only the latest stamp".to_string(),
                    None => String::new(),
                },
                self.held(&after, env.node)
            ),
            Msg::Write { set, .. } => format!(
                "n{} merges {} from c{}{}: {} -> {}",
                env.node + 1,
                self.set(set),
                env.client + 1,
                if self.bug == Some(Bug::LwwWallClock) {
                    " keeping only the latest stamp"
                } else {
                    ""
                },
                self.held(s, env.node),
                self.held(&after, env.node)
            ),
            Msg::Read { .. } => format!(
                "n{} answers c{}'s read: {}",
                env.node + 1,
                env.client + 1,
                self.held(s, env.node)
            ),
            other => format!("n{} handles {}", env.node + 1, self.message(other)),
        };
        format!("{what}{}", self.outcome(s, &after, env.client))
    }

    fn step_of(&self, s: &SiblingsState, env: &Envelope) -> Option<SiblingsState> {
        use stateright::Model;
        self.next_state(s, SiblingsAction::Deliver(env.clone()))
    }
}

impl Protocol for SiblingsModel {
    fn describe_action(&self, s: &SiblingsState, action: &SiblingsAction) -> String {
        match action {
            SiblingsAction::Put {
                client,
                via,
                with_context,
            } => {
                let value = self.value_name(self.value_of(*client, s.clients[*client].invoked));
                let ctx = match (&s.clients[*client].read, with_context) {
                    (Some((g, c)), true) => {
                        format!("with the context of g{g} {}", Self::context(c))
                    }
                    _ => "blind".to_string(),
                };
                let stamp = if self.bug == Some(Bug::LwwWallClock) {
                    format!(
                        ", stamped {} by c{}'s clock",
                        self.clock(s, *client),
                        client + 1
                    )
                } else {
                    String::new()
                };
                format!(
                    "c{} puts {value} through n{} ({ctx}{stamp})",
                    client + 1,
                    via + 1
                )
            }
            SiblingsAction::Get { client } => format!("c{} gets", client + 1),
            SiblingsAction::Deliver(env) => self.deliver(s, env),
            SiblingsAction::Drop(env) => format!(
                "the network loses c{}'s {} to n{}",
                env.client + 1,
                self.message(&env.msg),
                env.node + 1
            ),
            SiblingsAction::GiveUp { client } => {
                format!(
                    "c{} gives up on its request (it may still land)",
                    client + 1
                )
            }
        }
    }

    fn fields(&self, s: &SiblingsState) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in 0..s.replicas.len() {
            out.push((format!("n{}.set", n + 1), self.held(s, n)));
        }
        for (c, client) in s.clients.iter().enumerate() {
            let read = match &client.read {
                Some((g, ctx)) => format!("g{g} {}", Self::context(ctx)),
                None => "none".to_string(),
            };
            out.push((format!("c{}.read", c + 1), read));
        }
        let puts: Vec<String> = s
            .puts
            .iter()
            .map(|p| {
                let status = match p.status {
                    Status::Pending => "pending",
                    Status::Done => "ok",
                    Status::GaveUp => "given up",
                };
                let ctx = p
                    .context
                    .map_or("blind".to_string(), |g| format!("after g{g}"));
                format!("{} {ctx} {status}", self.value_name(p.value))
            })
            .collect();
        out.push(("puts".to_string(), format!("[{}]", puts.join("; "))));
        let gets: Vec<String> = s
            .gets
            .iter()
            .map(|g| format!("g{} c{} {}", g.id, g.client + 1, self.names(&g.values)))
            .collect();
        out.push(("gets".to_string(), format!("[{}]", gets.join("; "))));
        let net: Vec<String> = s
            .network
            .iter()
            .map(|e| {
                format!(
                    "c{}->n{} {}",
                    e.client + 1,
                    e.node + 1,
                    self.message(&e.msg)
                )
            })
            .collect();
        out.push(("network".to_string(), format!("[{}]", net.join(", "))));
        out
    }

    fn explain(&self, property: &str, s: &SiblingsState) -> Vec<String> {
        let mut out: Vec<String> = self
            .anomalies(property, s)
            .iter()
            .map(|a| a.to_string())
            .collect();
        if !out.is_empty() {
            let merged = Self::final_set(s).map_or("nothing".to_string(), |set| self.set(&set));
            out.push(format!("the replicas merged (a read at ALL): {merged}"));
        }
        out
    }

    fn lanes(&self) -> Vec<String> {
        let clients = (1..=self.clients).map(|c| format!("c{c}"));
        clients.chain((1..=3).map(|n| format!("n{n}"))).collect()
    }

    fn actor(&self, _s: &SiblingsState, action: &SiblingsAction) -> Option<String> {
        match action {
            SiblingsAction::Put { client, .. }
            | SiblingsAction::Get { client }
            | SiblingsAction::GiveUp { client } => Some(format!("c{}", client + 1)),
            SiblingsAction::Deliver(env) => Some(format!("n{}", env.node + 1)),
            SiblingsAction::Drop(_) => None,
        }
    }

    fn arrows(
        &self,
        before: &SiblingsState,
        action: &SiblingsAction,
        after: &SiblingsState,
    ) -> Vec<Arrow> {
        let lane = |e: &Envelope| (format!("c{}", e.client + 1), format!("n{}", e.node + 1));
        let mut out = Vec::new();
        match action {
            SiblingsAction::Deliver(env) => {
                let (c, n) = lane(env);
                out.push(Arrow::new(
                    c.clone(),
                    n.clone(),
                    Self::label(&env.msg),
                    ArrowKind::Deliver,
                ));
                let reply = match env.msg {
                    Msg::Coordinate { .. } => "Coordinated",
                    Msg::Read { .. } => "ReadReply",
                    _ => "WriteAck",
                };
                out.push(Arrow::new(n, c, reply, ArrowKind::Exchange));
            }
            SiblingsAction::Drop(env) => {
                let (c, n) = lane(env);
                out.push(Arrow::new(c, n, Self::label(&env.msg), ArrowKind::Lose));
            }
            _ => {}
        }
        for e in after.network.iter().filter(|e| !before.network.contains(e)) {
            let (c, n) = lane(e);
            out.push(Arrow::new(c, n, Self::label(&e.msg), ArrowKind::Send));
        }
        out
    }
}

//! The design model in protocol words: step names, state fields and explanations for
//! counterexamples.

use super::{members, Decision, Msg, PState, Phase, TwoPcAction, TwoPcModel, TwoPcState};
use crate::Protocol;

fn p(i: usize) -> String {
    format!("p{}", i + 1)
}

fn decision(d: Decision) -> &'static str {
    match d {
        Decision::Commit => "Commit",
        Decision::Abort => "Abort",
    }
}

fn msg(m: Msg) -> String {
    match m {
        Msg::Prepare(i) => format!("coord -> {} Prepare", p(i)),
        Msg::Vote(i, yes) => format!("{} -> coord Vote({})", p(i), if yes { "yes" } else { "no" }),
        Msg::Decision(i, d) => format!("coord -> {} {}", p(i), decision(d)),
        Msg::Ack(i) => format!("{} -> coord Ack", p(i)),
    }
}

fn set(s: super::Set, n: usize) -> String {
    let names: Vec<String> = members(s, n).map(p).collect();
    format!("[{}]", names.join(" "))
}

fn pstate(s: PState) -> &'static str {
    match s {
        PState::Working => "working",
        PState::Prepared => "prepared",
        PState::Committed => "committed",
        PState::Aborted => "aborted",
    }
}

impl Protocol for TwoPcModel {
    fn describe_action(&self, s: &TwoPcState, action: &TwoPcAction) -> String {
        use TwoPcAction::*;
        match *action {
            Begin => "coord begins: sends Prepare to every participant".to_string(),
            Vote(i, true) => format!(
                "{} receives Prepare, writes its prepare record, votes yes",
                p(i)
            ),
            Vote(i, false) => format!("{} receives Prepare, votes no and aborts", p(i)),
            CountYes(i) => format!("coord receives {}'s yes vote", p(i)),
            Decide(Decision::Commit) => {
                if self.bug == Some(super::Bug::DecideBeforeLogging) {
                    "coord decides Commit and sends it (the Commit record is not yet durable)"
                        .to_string()
                } else {
                    "coord logs Commit (fsync), then sends Commit to every participant".to_string()
                }
            }
            Decide(Decision::Abort) => {
                "coord decides Abort (a no vote or a timeout) and sends it".to_string()
            }
            LogCommit => "coord's Commit record becomes durable".to_string(),
            Resend(i) => format!(
                "coord resends {} to {}",
                match s.coordinator.phase {
                    Phase::Decided(d) => decision(d),
                    _ => "?",
                },
                p(i)
            ),
            Learn(i) => {
                let part = s.participants[i];
                if matches!(part.state, PState::Working | PState::Prepared) {
                    let d = if s.has(Msg::Decision(i, Decision::Commit)) {
                        Decision::Commit
                    } else {
                        Decision::Abort
                    };
                    format!(
                        "{} receives {}, records and applies it, acks",
                        p(i),
                        decision(d)
                    )
                } else {
                    format!("{} receives the decision again and acks again", p(i))
                }
            }
            CountAck(i) => format!("coord receives {}'s ack", p(i)),
            Timeout(i) => format!("{} times out waiting and aborts on its own", p(i)),
            CrashCoordinator => "coord crashes (its log survives)".to_string(),
            CoordinatorStaysDown => "coord crashes and never comes back".to_string(),
            RecoverCoordinator => match s.coordinator.log {
                Some(d) => format!("coord recovers {} from its log and resends it", decision(d)),
                None => "coord recovers with no Commit record: presumed abort".to_string(),
            },
            Crash(i) if self.bug == Some(super::Bug::NoPrepareRecord) => {
                format!(
                    "{} crashes (its decision record survives, its prepare record does not)",
                    p(i)
                )
            }
            Crash(i) => format!("{} crashes (its records survive)", p(i)),
            Recover(i) => format!("{} recovers from its records", p(i)),
            Drop(m) => format!("the network loses {}", msg(m)),
        }
    }

    fn fields(&self, s: &TwoPcState) -> Vec<(String, String)> {
        let n = self.participants;
        let c = &s.coordinator;
        let phase = match c.phase {
            Phase::Init => "init".to_string(),
            Phase::Preparing => "preparing".to_string(),
            Phase::Decided(d) => format!("decided {}", decision(d)),
        };
        let field = |owner: &str, name: &str, value: String| (format!("{owner}.{name}"), value);
        let mut out = vec![
            field(
                "coord",
                "up",
                if c.gone {
                    "false (for good)"
                } else if c.up {
                    "true"
                } else {
                    "false"
                }
                .to_string(),
            ),
            field("coord", "log", c.log.map_or("none", decision).to_string()),
            field("coord", "phase", phase),
            field("coord", "yes", set(c.yes, n)),
            field("coord", "acked", set(c.acked, n)),
        ];
        for (i, part) in s.participants[..n].iter().enumerate() {
            let owner = p(i);
            out.push(field(&owner, "up", part.up.to_string()));
            out.push(field(&owner, "state", pstate(part.state).to_string()));
            out.push(field(&owner, "prepare-record", part.prepared.to_string()));
            out.push(field(
                &owner,
                "decision-record",
                part.decided.map_or("none", decision).to_string(),
            ));
        }
        let msgs: Vec<String> = s.messages().map(msg).collect();
        out.push(field(
            "network",
            "messages",
            format!("{{{}}}", msgs.join("; ")),
        ));
        let g = &s.ghost;
        out.push(field("history", "committed", set(g.committed, n)));
        out.push(field("history", "aborted", set(g.aborted, n)));
        out.push(field("history", "voted-yes", set(g.voted_yes, n)));
        out
    }

    fn explain(&self, property: &str, s: &TwoPcState) -> Vec<String> {
        let n = self.participants;
        let g = &s.ghost;
        match property {
            "Atomicity" => vec![format!(
                "{} committed while {} aborted",
                set(g.committed, n),
                set(g.aborted, n)
            )],
            "Validity" => vec![format!(
                "{} committed, but only {} ever voted yes",
                set(g.committed, n),
                set(g.voted_yes, n)
            )],
            "Stability" => {
                vec!["the coordinator decided Commit and, after a crash, Abort".to_string()]
            }
            "EveryParticipantDecides" => {
                let mut why = Vec::new();
                for (i, part) in s.participants[..n].iter().enumerate() {
                    if part.decided.is_some() {
                        continue;
                    }
                    why.push(if part.prepared {
                        format!(
                            "{} voted yes and is in doubt: it may not decide alone, and only the \
                             coordinator knows the outcome",
                            p(i)
                        )
                    } else {
                        format!("{} has not decided", p(i))
                    });
                }
                if s.coordinator.gone {
                    why.push(
                        "the coordinator is down for good, so no step is left: 2PC blocks"
                            .to_string(),
                    );
                }
                why
            }
            _ => Vec::new(),
        }
    }
}

//! [`TwoPhase`] and [`TCommit`] in the spec's own words, for counterexamples and the
//! Explorer: actions as the TLA+ module names them, variables as it names them.

use super::tcommit::{TCommit, TCommitAction, TCommitState};
use super::twophase::{tc_consistent, TmState, TwoPhase, TwoPhaseAction, TwoPhaseState};
use crate::Protocol;

fn rm(r: usize) -> String {
    format!("r{}", r + 1)
}

fn bits(set: u16, n: usize) -> String {
    let names: Vec<String> = (0..n).filter(|r| set & (1 << r) != 0).map(rm).collect();
    format!("{{{}}}", names.join(", "))
}

impl Protocol for TwoPhase {
    fn describe_action(&self, _: &TwoPhaseState, action: &TwoPhaseAction) -> String {
        use TwoPhaseAction::*;
        match *action {
            TmRcvPrepared(r) => format!("TMRcvPrepared({})", rm(r)),
            TmCommit => "TMCommit".to_string(),
            TmAbort => "TMAbort".to_string(),
            RmPrepare(r) => format!("RMPrepare({})", rm(r)),
            RmChooseToAbort(r) => format!("RMChooseToAbort({})", rm(r)),
            RmRcvCommitMsg(r) => format!("RMRcvCommitMsg({})", rm(r)),
            RmRcvAbortMsg(r) => format!("RMRcvAbortMsg({})", rm(r)),
        }
    }

    fn fields(&self, s: &TwoPhaseState) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = (0..self.rms)
            .map(|r| {
                (
                    format!("rmState.{}", rm(r)),
                    s.rm_state(r).name().to_string(),
                )
            })
            .collect();
        let tm = match s.tm {
            TmState::Init => "init",
            TmState::Committed => "committed",
            TmState::Aborted => "aborted",
        };
        out.push(("tm.tmState".to_string(), tm.to_string()));
        out.push(("tm.tmPrepared".to_string(), bits(s.tm_prepared, self.rms)));
        let mut msgs: Vec<String> = (0..self.rms)
            .filter(|r| s.prepared_msgs & (1 << r) != 0)
            .map(|r| format!("Prepared({})", rm(r)))
            .collect();
        if s.commit_msg {
            msgs.push("Commit".to_string());
        }
        if s.abort_msg {
            msgs.push("Abort".to_string());
        }
        out.push(("net.msgs".to_string(), format!("{{{}}}", msgs.join(", "))));
        out
    }

    fn explain(&self, property: &str, s: &TwoPhaseState) -> Vec<String> {
        if property == "TCConsistent" && !tc_consistent(self, s) {
            return vec!["one resource manager committed and another aborted".to_string()];
        }
        Vec::new()
    }
}

impl Protocol for TCommit {
    fn describe_action(&self, _: &TCommitState, action: &TCommitAction) -> String {
        match *action {
            TCommitAction::Prepare(r) => format!("Prepare({})", rm(r)),
            TCommitAction::Commit(r) => format!("Decide({}): commit", rm(r)),
            TCommitAction::Abort(r) => format!("Decide({}): abort", rm(r)),
        }
    }

    fn fields(&self, s: &TCommitState) -> Vec<(String, String)> {
        s.iter()
            .enumerate()
            .map(|(r, st)| (format!("rmState.{}", rm(r)), st.name().to_string()))
            .collect()
    }

    fn explain(&self, _: &str, _: &TCommitState) -> Vec<String> {
        Vec::new()
    }
}

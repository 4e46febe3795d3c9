//! The one typed outcome of every run, and the one place it becomes an exit code.

use std::process::ExitCode;

/// What a run established. Every command (`check <exercise>`, `check all`, `check lin`,
/// each exercise's modes) ends in one of these; a usage, input or internal error is an
/// `Err` instead, which `main` turns into exit code 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked holds (exit 0).
    Holds,
    /// A property failed, a `sometimes` property was not reached, a history is not
    /// linearizable, or a gate run did not come out as expected (exit 1).
    Fails,
    /// Undecided: a budget ran out before the question was answered (exit 3).
    Unknown,
    /// A known limitation was shown, as the run exists to show it (exit 0).
    ExpectedFinding,
    /// Ctrl-C stopped the run before it decided anything (exit 130, as shells report a
    /// SIGINT); what it covered was reported.
    Interrupted,
}

impl Outcome {
    /// `Holds` if `ok`, else `Fails`.
    pub fn holds_if(ok: bool) -> Outcome {
        if ok {
            Outcome::Holds
        } else {
            Outcome::Fails
        }
    }

    /// The documented exit code: 0 holds or an expected finding, 1 fails, 3 unknown, 130
    /// interrupted.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Holds | Outcome::ExpectedFinding => 0,
            Outcome::Fails => 1,
            Outcome::Unknown => 3,
            Outcome::Interrupted => super::interrupt::INTERRUPTED_EXIT,
        })
    }
}

/// The exit code of a usage, input or internal error.
pub const ERROR_EXIT: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_documented_exit_code() {
        let code = |o: Outcome| format!("{:?}", o.exit_code());
        assert_eq!(code(Outcome::Holds), format!("{:?}", ExitCode::from(0)));
        assert_eq!(
            code(Outcome::ExpectedFinding),
            format!("{:?}", ExitCode::from(0))
        );
        assert_eq!(code(Outcome::Fails), format!("{:?}", ExitCode::from(1)));
        assert_eq!(code(Outcome::Unknown), format!("{:?}", ExitCode::from(3)));
        assert_eq!(
            code(Outcome::Interrupted),
            format!("{:?}", ExitCode::from(130))
        );
    }
}

//! Errors a client of the store sees, coded like Maelstrom's
//! (<https://github.com/jepsen-io/maelstrom/blob/main/doc/protocol.md#errors>).
//!
//! Every error says whether it is *definite*: a definite error guarantees that the request
//! did not and will not take effect, while an indefinite one (a put that timed out after
//! its write was sent, a connection lost after the request left) may have taken effect, now
//! or later. A checker must treat an indefinitely failed put as concurrent with everything
//! after it. Gets never change what later reads return, so a failed get is always definite.

use std::fmt;

/// The kind of failure, numbered as in Maelstrom's protocol so that histories read the
/// same way as Maelstrom's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// 0: the request did not complete in time. Definite only if the coordinator knows
    /// nothing was written (see [`KvError::definite`]).
    Timeout,
    /// 1: an admin request named a node that is not a member of the cluster. Definite.
    NodeNotFound,
    /// 10: the request is not supported by this node. Definite.
    NotSupported,
    /// 11: too few replicas are reachable, or the node is not a member of the cluster, so
    /// the request was refused before anything was sent. Definite.
    TemporarilyUnavailable,
    /// 12: the request could not be decoded or breaks a limit (key or value too long).
    /// Definite.
    MalformedRequest,
    /// 13: the node failed while handling the request, or the connection was lost; the
    /// request may have taken effect unless [`KvError::definite`] says otherwise.
    Crash,
    /// 14: the request was aborted before it could take effect. Definite.
    Abort,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::Timeout,
        ErrorCode::NodeNotFound,
        ErrorCode::NotSupported,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::MalformedRequest,
        ErrorCode::Crash,
        ErrorCode::Abort,
    ];

    /// The code's number in Maelstrom's table.
    pub fn number(self) -> u32 {
        match self {
            ErrorCode::Timeout => 0,
            ErrorCode::NodeNotFound => 1,
            ErrorCode::NotSupported => 10,
            ErrorCode::TemporarilyUnavailable => 11,
            ErrorCode::MalformedRequest => 12,
            ErrorCode::Crash => 13,
            ErrorCode::Abort => 14,
        }
    }

    /// The code with this number, if it is one of ours.
    pub fn from_number(number: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.number() == number)
    }

    /// The code's name in Maelstrom's table (`timeout`, `temporarily-unavailable`, …).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Timeout => "timeout",
            ErrorCode::NodeNotFound => "node-not-found",
            ErrorCode::NotSupported => "not-supported",
            ErrorCode::TemporarilyUnavailable => "temporarily-unavailable",
            ErrorCode::MalformedRequest => "malformed-request",
            ErrorCode::Crash => "crash",
            ErrorCode::Abort => "abort",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.name(), self.number())
    }
}

/// A failed request: what went wrong, and whether it may still have taken effect.
///
/// Equality compares all three fields, so tests can `assert_eq!` on errors.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvError {
    code: ErrorCode,
    text: String,
    definite: bool,
}

impl KvError {
    /// An error with an explicit `definite` flag.
    pub fn new(code: ErrorCode, text: impl Into<String>, definite: bool) -> KvError {
        KvError {
            code,
            text: text.into(),
            definite,
        }
    }

    /// A definite [`ErrorCode::TemporarilyUnavailable`]: nothing was done.
    pub fn unavailable(text: impl Into<String>) -> KvError {
        KvError::new(ErrorCode::TemporarilyUnavailable, text, true)
    }

    /// A definite [`ErrorCode::MalformedRequest`].
    pub fn malformed(text: impl Into<String>) -> KvError {
        KvError::new(ErrorCode::MalformedRequest, text, true)
    }

    /// The kind of failure.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// A human-readable account of what happened, naming the node, key or limit involved.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True if the request certainly did not take effect and never will; false if it may
    /// have (only puts fail indefinitely).
    pub fn definite(&self) -> bool {
        self.definite
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let certainty = if self.definite {
            "definite: the request did not take effect"
        } else {
            "indefinite: the request may have taken effect"
        };
        write!(f, "{}: {} ({certainty})", self.code, self.text)
    }
}

impl std::error::Error for KvError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_numbers() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_number(code.number()), Some(code));
        }
        assert_eq!(ErrorCode::from_number(2), None);
    }

    #[test]
    fn display_says_whether_the_request_may_have_taken_effect() {
        let e = KvError::new(ErrorCode::Timeout, "put timed out", false);
        assert_eq!(
            e.to_string(),
            "timeout (code 0): put timed out (indefinite: the request may have taken effect)"
        );
        assert!(KvError::unavailable("x").definite());
    }
}

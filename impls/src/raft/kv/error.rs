//! The errors a client of `raft-kv` sees. As in the kv store ([`crate::kv::KvError`]),
//! every error says whether it is *definite*: the request did not take effect and never
//! will; or *indefinite*: it may have taken effect, now or later (a checker must treat
//! it as concurrent with everything after it).

use std::fmt;

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No node took the request in the time allowed: every attempt was refused before it
    /// was proposed (`not-leader`, an unreachable node, a proposal another entry
    /// replaced).
    Unavailable,
    /// The cas did not apply: the key held `current` (`None`: absent). Definite.
    CasMismatch {
        /// The key's value when the cas was applied.
        current: Option<String>,
    },
    /// The client's session had expired from the table; see [`super::machine`].
    SessionExpired,
    /// The request was not answered in the time allowed.
    Timeout,
    /// A connection failed after the request was sent.
    ConnectionLost,
    /// The request breaks a limit or does not parse (said by the client or the node).
    /// Definite.
    Invalid,
    /// A node answered something this client does not understand.
    Protocol,
}

impl ErrorKind {
    /// The kind's name, as the CLI prints it.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::CasMismatch { .. } => "cas-mismatch",
            ErrorKind::SessionExpired => "session-expired",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionLost => "connection-lost",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// A failed request: what went wrong, what happened, and whether it may have taken
/// effect.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    text: String,
    definite: bool,
}

impl Error {
    /// An error with an explicit verdict.
    pub fn new(kind: ErrorKind, text: impl Into<String>, definite: bool) -> Error {
        Error {
            kind,
            text: text.into(),
            definite,
        }
    }

    /// A definite [`ErrorKind::Invalid`].
    pub fn invalid(text: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, text, true)
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// A human-readable account naming the node or limit involved.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True if the request certainly did not take effect and never will; false if it may
    /// have. Reads are always definite: they change nothing.
    pub fn is_definite(&self) -> bool {
        self.definite
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.definite {
            "definite: it did not take effect"
        } else {
            "indefinite: it may have taken effect"
        };
        write!(f, "{}: {} ({verdict})", self.kind.name(), self.text)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_kind_and_the_verdict() {
        let e = Error::new(ErrorKind::Timeout, "no answer from n1", false);
        assert_eq!(
            e.to_string(),
            "timeout: no answer from n1 (indefinite: it may have taken effect)"
        );
        assert!(Error::invalid("x").is_definite());
        let cas = ErrorKind::CasMismatch { current: None };
        assert_eq!(cas.name(), "cas-mismatch");
    }
}

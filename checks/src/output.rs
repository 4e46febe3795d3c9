//! Standard output that cannot panic, and the shape of an error.
//!
//! `print!` panics when the write fails: `check twopc > /dev/full` or `check all | head`
//! used to end in exit 101 with a backtrace. Every report goes through [`print`] instead:
//! a closed pipe ends the process quietly, as a Unix filter ends on SIGPIPE, and any
//! other failure (a full disk) is an ordinary error that `main` reports with exit 2.
//!
//! [`error_json`] and [`cut_lines`] shape what `main` prints on exit 2: one JSON object on
//! stdout when JSON was asked for, and no line so long that it buries the message.

use anyhow::{Context, Result};
use std::fmt::Display;
use std::io::{ErrorKind, Write};

/// The reader of standard output went away (EPIPE). [`print`] returns it so the caller
/// can stop at once; `main` then ends quietly through [`exit_on_closed_pipe`].
#[derive(Debug)]
pub struct ClosedPipe;

impl Display for ClosedPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for ClosedPipe {}

/// Writes `text` to standard output and flushes it. `Err` is [`ClosedPipe`] when the
/// reader has gone, or an error naming standard output and the cause (such as "No space
/// left on device"); nothing here panics.
pub fn print(text: impl Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let written = write!(out, "{text}").and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(ClosedPipe.into()),
        r => r.context("cannot write to standard output"),
    }
}

/// [`print`] with a newline, formatted like `println!`.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::print("\n") };
    ($($arg:tt)*) => { $crate::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// If `e` is a [`ClosedPipe`], ends the process as a filter killed by SIGPIPE ends (the
/// shell reports 141), after removing half-written output files; otherwise returns.
pub fn exit_on_closed_pipe(e: &anyhow::Error) {
    if e.downcast_ref::<ClosedPipe>().is_none() {
        return;
    }
    crate::pending::remove_all();
    // SAFETY: restoring a signal's default disposition and raising it is async-signal
    // safe and touches no Rust state; the process ends here.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Only reached if the signal is blocked: the same status a shell would show.
    std::process::exit(128 + libc::SIGPIPE);
}

/// The longest line an error message keeps; the rest is cut with an ellipsis, so an
/// error that echoes a 5 MB input line stays readable.
pub const MAX_ERROR_LINE: usize = 300;

/// `text` with every line longer than [`MAX_ERROR_LINE`] characters cut to that length
/// and ended with `…`, noting how many characters were left out.
pub fn cut_lines(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let len = line.chars().count();
            if len <= MAX_ERROR_LINE {
                return line.to_string();
            }
            let kept: String = line.chars().take(MAX_ERROR_LINE).collect();
            format!("{kept}… ({} more characters)", len - MAX_ERROR_LINE)
        })
        .collect();
    lines.join("\n")
}

/// The JSON object printed on stdout for an exit-2 error when `--format json` was asked
/// for (schema `check-error/1`), so a CI step that parses stdout always gets JSON.
pub fn error_json(message: &str, exit_code: u8) -> String {
    serde_json::json!({
        "schema": "check-error/1",
        "verdict": "error",
        "exit_code": exit_code,
        "error": message,
    })
    .to_string()
}

/// Whether a raw command line asks for JSON output (`--format json` or `--format=json`,
/// the last one winning), for errors raised before the line could be parsed.
pub fn asks_for_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> bool {
    let mut json = false;
    let mut args = args.iter().map(|a| a.as_ref().to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--format" {
            json = args.next().is_some_and(|v| v == "json");
        } else if let Some(v) = arg.strip_prefix("--format=") {
            json = v == "json";
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_with_an_ellipsis_and_short_ones_kept() {
        let long = "x".repeat(MAX_ERROR_LINE + 50);
        let cut = cut_lines(&format!("error: bad value\n{long}\nend"));
        let lines: Vec<&str> = cut.lines().collect();
        assert_eq!(lines[0], "error: bad value");
        assert!(lines[1].starts_with(&"x".repeat(MAX_ERROR_LINE)));
        assert!(lines[1].ends_with("… (50 more characters)"), "{}", lines[1]);
        assert_eq!(lines[2], "end");
        assert_eq!(cut_lines("short"), "short");
    }

    #[test]
    fn json_is_detected_in_either_spelling_and_the_last_flag_wins() {
        assert!(asks_for_json(&["check", "raft", "--format", "json"]));
        assert!(asks_for_json(&["check", "--format=json", "raft"]));
        assert!(!asks_for_json(&[
            "check",
            "--format=json",
            "--format",
            "text"
        ]));
        assert!(!asks_for_json(&["check", "lin", "--", "--format=json"]));
        assert!(!asks_for_json(&["check", "raft"]));
    }

    #[test]
    fn the_error_object_carries_message_and_code() {
        let v: serde_json::Value = serde_json::from_str(&error_json("bad \"x\"", 2)).unwrap();
        assert_eq!(v["schema"], "check-error/1");
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["error"], "bad \"x\"");
    }
}

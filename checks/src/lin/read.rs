//! Reading a history file under `check lin`'s budgets.
//!
//! The time budget covers reading as it covers the search, and the memory budget bounds
//! what reading may hold. A regular file too large for the memory budget is refused before
//! a byte is read, naming its size. Anything else (a FIFO such as `<(cmd)`, a character
//! device such as `/dev/zero`, a socket) is read as a stream, on a thread of its own,
//! since a read from it can block for ever: the check waits for it only until the
//! deadline, and stops it once it has read more than a history may take.

use anyhow::{anyhow, bail, Context, Result};
use linearizability::{Budget, Progress};
use std::io::Read as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// What reading a history gave.
#[derive(Debug)]
pub(crate) enum Read {
    /// The whole history, as text, without its byte-order mark if it had one.
    Text(String),
    /// A budget ran out before the end: `how_far` says how much was read, in words
    /// ("12 MiB of 200 MiB read").
    Stopped { budget: Budget, how_far: String },
}

/// How a read is bounded and where it says how far it got.
pub(crate) struct Bounds<'a> {
    /// The most bytes the history may take, from [`cap`]; `None` for no limit.
    pub cap: Option<usize>,
    /// The memory budget the cap comes from, for messages.
    pub memory: Option<usize>,
    /// When the time budget runs out.
    pub deadline: Option<Instant>,
    /// Where another thread (the watcher, for `--memory`) may ask the read to stop.
    pub progress: Option<&'a Progress>,
    /// Bytes read so far, for the progress line.
    pub read: Option<&'a AtomicUsize>,
}

impl Bounds<'_> {
    /// No limits: read the whole file, however long it takes.
    pub const NONE: Bounds<'static> = Bounds {
        cap: None,
        memory: None,
        deadline: None,
        progress: None,
        read: None,
    };
}

/// The most bytes a history's text may take under a memory budget of `memory`: half of it.
///
/// The text is held while it is parsed, and what is parsed from it (every operation, with
/// its values) takes at least as much again in every format (between two and ten times
/// as much, measured on the shipped histories), so a text over half the budget cannot be
/// checked within it: refusing it up front saves reading it to find out.
pub(crate) fn cap(memory: Option<usize>) -> Option<usize> {
    memory.map(|m| m / 2)
}

/// How often the thread that waits for a stream looks at the clock and at stop requests.
const WAIT: Duration = Duration::from_millis(20);

/// How much a stream is read at a time: the reader looks for a stop request between reads.
const CHUNK: usize = 1 << 20;

/// Reads the history at `path` within `bounds`.
///
/// Errors (exit 2) are a file that cannot be opened or read, one larger than the cap (its
/// size and the budget named), and text that is not UTF-8 (the line, column and byte
/// named). A budget that runs out first is [`Read::Stopped`], not an error: the history
/// was not found wanting, only not read.
pub(crate) fn read_history(path: &Path, bounds: &Bounds<'_>) -> Result<Read> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {name}"))?;
    // A regular file says its size; a stream's is known only once it ends.
    let size = meta.is_file().then_some(meta.len());
    if let (Some(size), Some(cap)) = (size, bounds.cap) {
        if size > cap as u64 {
            bail!(
                "{name} is {} ({size} bytes), more than {}",
                bytes_text(size as usize),
                cap_text(cap, bounds.memory),
            );
        }
    }
    let bytes = if meta.is_file() && bounds.deadline.is_none() {
        // Nothing to wait for: read here.
        read_bytes(path, size, bounds.read, &AtomicBool::new(false), bounds)?
    } else {
        read_on_a_thread(path, size, bounds)?
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(stopped) => return Ok(stopped),
    };
    text(&name, bytes).map(Read::Text)
}

/// The bytes of a history, or (`Err`) where a budget stopped the read.
type Bytes = Result<Vec<u8>, Read>;

/// Reads on a thread of its own, so that a read that blocks (a FIFO nobody writes to)
/// cannot hold the check past its deadline: this thread waits for it until then. On a
/// stop, the reader is told to stop too; if it is blocked, it is left blocked, and the
/// process ends soon after.
fn read_on_a_thread(path: &Path, size: Option<u64>, bounds: &Bounds<'_>) -> Result<Bytes> {
    let (tx, rx) = mpsc::sync_channel(1);
    let stop = Arc::new(AtomicBool::new(false));
    let read = Arc::new(AtomicUsize::new(0));
    let thread = {
        let (path, stop, read) = (path.to_path_buf(), stop.clone(), read.clone());
        // The reader sees the cap; the deadline and stop requests are this thread's to
        // watch, and it passes them on through `stop`.
        let (cap, memory) = (bounds.cap, bounds.memory);
        std::thread::Builder::new()
            .name("check-lin-read".into())
            .spawn(move || {
                let bounds = Bounds {
                    cap,
                    memory,
                    ..Bounds::NONE
                };
                let _ = tx.send(read_bytes(&path, size, Some(&read), &stop, &bounds));
            })
            .context("cannot start a thread to read the history")?
    };
    loop {
        let wait = bounds.deadline.map_or(WAIT, |d| {
            d.saturating_duration_since(Instant::now()).min(WAIT)
        });
        let result = rx.recv_timeout(wait);
        if let Some(shared) = bounds.read {
            shared.store(read.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        match result {
            Ok(bytes) => {
                let _ = thread.join();
                return bytes;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(anyhow!("the thread reading {} failed", path.display()))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let late = bounds.deadline.is_some_and(|d| Instant::now() >= d);
                let budget = if late {
                    Some(Budget::Time)
                } else {
                    bounds.progress.and_then(Progress::stopped)
                };
                if let Some(budget) = budget {
                    stop.store(true, Ordering::Relaxed);
                    let how_far = how_far(read.load(Ordering::Relaxed), size);
                    return Ok(Err(Read::Stopped { budget, how_far }));
                }
            }
        }
    }
}

/// "12 MiB of 200 MiB read", or "12 MiB read" from a stream, "nothing read" at all.
fn how_far(read: usize, size: Option<u64>) -> String {
    match (read, size) {
        (0, None) => "nothing read".to_string(),
        (n, None) => format!("{} read", bytes_text(n)),
        (n, Some(size)) => format!("{} of {} read", bytes_text(n), bytes_text(size as usize)),
    }
}

/// Reads every byte at `path`, looking at `stop` (and at `bounds.progress` and the
/// deadline) between chunks, and saying how far it got in `read`. `size` is a regular
/// file's length. More than `bounds.cap` bytes is an error; so is a growth of the buffer
/// that the allocator cannot serve, where an infallible one would abort the process.
fn read_bytes(
    path: &Path,
    size: Option<u64>,
    read: Option<&AtomicUsize>,
    stop: &AtomicBool,
    bounds: &Bounds<'_>,
) -> Result<Bytes> {
    let cap = bounds.cap;
    let name = path.display().to_string();
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {name}"))?;
    let mut buf: Vec<u8> = Vec::new();
    let limit = cap.map_or(usize::MAX, |c| c.saturating_add(1));
    // The buffer is allocated once, where its final size can be known: a regular file's
    // length (and one more byte, so that the read that finds the end needs no growth), or
    // for a stream the cap. Growing it by doubling would hold the old and the new buffer
    // at once, half as much again as the text; addresses reserved and not yet written
    // cost no memory.
    let once = match size {
        Some(size) => Some(
            usize::try_from(size)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        ),
        None => cap.map(|c| c.saturating_add(1)),
    };
    if let Some(once) = once {
        buf.try_reserve_exact(once.min(limit))
            .map_err(|_| anyhow!("cannot hold {name} in memory ({} bytes)", once - 1))?;
    }
    loop {
        // A stop through `stop` comes from a thread that has already reported why.
        let late =
            stop.load(Ordering::Relaxed) || bounds.deadline.is_some_and(|d| Instant::now() >= d);
        let budget = if late {
            Some(Budget::Time)
        } else {
            bounds.progress.and_then(Progress::stopped)
        };
        if let Some(budget) = budget {
            return Ok(Err(Read::Stopped {
                budget,
                how_far: how_far(buf.len(), size),
            }));
        }
        if buf.len() == buf.capacity() {
            // Only a stream read with no cap, or a file that grew, gets here; `len` is
            // at most `cap` (more was refused below), so there is room before `limit`.
            let more = buf.capacity().max(CHUNK).min(limit - buf.len());
            buf.try_reserve_exact(more).map_err(|_| {
                anyhow!(
                    "cannot hold {name} in memory: {} read, and no memory for more",
                    bytes_text(buf.len())
                )
            })?;
        }
        let start = buf.len();
        let room = (buf.capacity() - start).min(CHUNK);
        buf.resize(start + room, 0);
        let n = loop {
            match file.read(&mut buf[start..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {name}"));
            }
        };
        buf.truncate(start + n);
        if let Some(read) = read {
            read.store(buf.len(), Ordering::Relaxed);
        }
        if n == 0 {
            return Ok(Ok(buf));
        }
        if let Some(cap) = cap {
            if buf.len() > cap {
                bail!(
                    "{name}: not at its end after {} read, more than {}",
                    bytes_text(cap),
                    cap_text(cap, bounds.memory),
                );
            }
        }
    }
}

/// The bytes as text: an error naming the line, the column and the byte where they stop
/// being UTF-8. Without the byte-order mark, if there is one.
fn text(name: &str, bytes: Vec<u8>) -> Result<String> {
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => bail!("{}", utf8_error(name, e.as_bytes(), e.utf8_error())),
    };
    if text.starts_with('\u{feff}') {
        // In place: a copy of a large history would double what reading holds.
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// `h.edn:3:17: not UTF-8: byte 0xff (byte 112 of the file) ...`: where valid UTF-8 ends,
/// as a line and a column in characters, both 1-based, and the byte offset (0-based).
fn utf8_error(name: &str, bytes: &[u8], e: std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let before = &bytes[..at];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // Everything before `at` is valid UTF-8, so this cannot fail.
    let column = 1 + std::str::from_utf8(&before[line_start..]).map_or(0, |s| s.chars().count());
    let what = match e.error_len() {
        Some(len) => format!(
            "the byte{} {} cannot {} a UTF-8 character",
            if len == 1 { "" } else { "s" },
            bytes[at..at + len]
                .iter()
                .map(|b| format!("0x{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            if bytes[at] & 0xc0 == 0x80 {
                "begin"
            } else {
                "form"
            },
        ),
        None => "the file ends in the middle of a UTF-8 character".to_string(),
    };
    format!(
        "{name}:{line}:{column}: not UTF-8 text: {what} (byte {at} of the file); \
         a history must be UTF-8"
    )
}

/// "the 1GiB a history may take under --memory 2GiB (...); give more ...": what the cap
/// is, where it comes from, and what to do, for the messages that refuse a history.
fn cap_text(cap: usize, memory: Option<usize>) -> String {
    let budget = match memory {
        Some(m) => format!("--memory {}", bytes_text(m)),
        None => "the memory budget".to_string(),
    };
    format!(
        "the {} a history may take under {budget} (half the budget: the operations read \
         from a history take at least as much memory again); give more with --memory, or \
         --memory none",
        bytes_text(cap)
    )
}

/// `2GiB`, `512MiB`, `1.5GiB`, `64KiB`: a size as `--memory` takes it.
pub(crate) fn bytes_text(b: usize) -> String {
    let units = [("GiB", 1usize << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in units {
        if b >= size {
            let v = b as f64 / size as f64;
            return format!("{}{unit}", (v * 100.0).round() / 100.0);
        }
    }
    format!("{b}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(bytes: &[u8]) -> String {
        let e = std::str::from_utf8(bytes).unwrap_err();
        utf8_error("h.edn", bytes, e)
    }

    #[test]
    fn item11_invalid_utf8_names_the_line_the_column_and_the_byte() {
        let bytes = b"{:a 1}\n{:b \"caf\xc3\xa9 \xff\"}\n";
        assert_eq!(
            error_of(bytes),
            "h.edn:2:11: not UTF-8 text: the byte 0xff cannot form a UTF-8 character \
             (byte 18 of the file); a history must be UTF-8"
        );
        // A continuation byte with nothing before it, on the first line.
        assert!(error_of(b"ab\x80")
            .starts_with("h.edn:1:3: not UTF-8 text: the byte 0x80 cannot begin"));
        // A character cut off by the end of the file.
        assert!(error_of(b"x\n\xe2\x82")
            .contains("h.edn:2:1: not UTF-8 text: the file ends in the middle"));
    }

    #[test]
    fn a_byte_order_mark_is_dropped_in_place() {
        let t = text("h", "\u{feff}{:a 1}".as_bytes().to_vec()).unwrap();
        assert_eq!(t, "{:a 1}");
    }

    #[test]
    fn how_far_says_what_was_read_of_what() {
        assert_eq!(how_far(0, None), "nothing read");
        assert_eq!(how_far(3 << 20, None), "3MiB read");
        assert_eq!(how_far(3 << 20, Some(12 << 20)), "3MiB of 12MiB read");
    }
}

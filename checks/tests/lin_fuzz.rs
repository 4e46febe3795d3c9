//! `check lin` on randomly mutated histories (issue 15, "Must show", and item 11).
//!
//! The mutations are `linearizability/tests/reader_fuzz.rs`'s (shared through `#[path]`),
//! but here the bytes are written to a file as they are, invalid UTF-8 included, and the
//! real binary reads them. For each file:
//!
//! - `check lin` exits 0, 1, 2 or 3: never a signal, never a panic's 101;
//! - on text the library's reader refuses, it exits 2 and prints that error, which names
//!   the file and the line; on text the reader accepts, it does not exit 2;
//! - on bytes that are not UTF-8 it exits 2 and names the file (and, once reading names
//!   the line there too, that line: `item11_invalid_utf8_names_line_cli`).

mod common;
#[path = "../../linearizability/tests/fuzzing/mod.rs"]
mod fuzzing;

use fuzzing::{mutated, Format, Mutated, TOKENS};
use linearizability::edn::Edn;
use linearizability::etcd::{read_etcd_log, Etcd};
use linearizability::events::{
    history_from_events, read_edn_events, read_jsonl_events, Event, ReadOp,
};
use linearizability::kv::Kv;
use linearizability::models::{CasRegister, FifoQueue, MultiRegister, Mutex, Register, Set};
use linearizability::{ReadError, EXCERPT_CHARS};
use proptest::prelude::*;
use proptest::sample::Index;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Output;

const ALL: &[Format] = &[Format::Edn, Format::Jsonl, Format::KvLog, Format::EtcdLog];

const MODELS: &[&str] = &[
    "register",
    "cas-register",
    "multi-register",
    "mutex",
    "set",
    "fifo-queue",
    "etcd",
    "kv",
];

/// 200 files, or `PROPTEST_CASES` for a longer soak.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

/// Runs `check lin path --model model --input format --timeout 5s`.
fn check_lin(path: &Path, model: &str, format: Format) -> Output {
    common::check(&[
        "lin",
        path.to_str().unwrap(),
        "--model",
        model,
        "--input",
        format.input(),
        "--timeout",
        "5s",
    ])
}

/// The model a case is checked against: mostly its seed's, sometimes another that reads
/// the same format (only etcd reads etcd logs), so that every model's reading of
/// operations meets every history.
fn model_for(case: &Mutated, other: &Index, use_other: bool) -> &'static str {
    if use_other && case.seed.format != Format::EtcdLog {
        MODELS[other.index(MODELS.len())]
    } else {
        case.seed.model
    }
}

/// `events` read as operations of `model`, as `check lin` reads them with no `--init`.
fn read_ops<M: ReadOp>(model: &M, name: &str, events: &[Event]) -> Result<(), ReadError> {
    history_from_events(model, name, events).map(|_| ())
}

/// What the library's readers say of `text` as `check lin --model model --input format`
/// reads it: `Err` with the error `check lin` must print.
fn library_read(model: &str, format: Format, name: &str, text: &str) -> Result<(), ReadError> {
    if format == Format::EtcdLog {
        assert_eq!(model, "etcd", "only etcd reads etcd logs");
        return read_etcd_log(name, text).map(|_| ());
    }
    let events = match format {
        Format::Jsonl => read_jsonl_events(name, text)?,
        _ => read_edn_events(name, text)?,
    };
    match model {
        "register" => read_ops(&Register { init: Edn::Nil }, name, &events),
        "cas-register" => read_ops(&CasRegister { init: Edn::Nil }, name, &events),
        "multi-register" => read_ops(&MultiRegister::default(), name, &events),
        "mutex" => read_ops(&Mutex::default(), name, &events),
        "set" => read_ops(&Set::default(), name, &events),
        "fifo-queue" => read_ops(&FifoQueue::default(), name, &events),
        "etcd" => read_ops(&Etcd, name, &events),
        "kv" => read_ops(&Kv, name, &events),
        other => panic!("no model {other}"),
    }
}

/// The exit code; a run killed by a signal (a stack overflow's SIGSEGV, an abort) or
/// ended by a panic (101) fails.
fn exit_code(o: &Output) -> Result<i32, TestCaseError> {
    match o.status.code() {
        Some(code @ 0..=3) => Ok(code),
        code => Err(TestCaseError::fail(format!(
            "exit {code:?}, signal {:?}: {}",
            o.status.signal(),
            common::stderr(o)
        ))),
    }
}

/// The file's extension for its format, as a user would name it.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Edn => "edn",
        Format::Jsonl => "jsonl",
        Format::KvLog => "txt",
        Format::EtcdLog => "log",
    }
}

#[test]
fn check_lin_on_mutated_histories_exits_0_to_3_and_names_the_line_of_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let strategy = (mutated(ALL), any::<Index>(), prop::bool::weighted(0.2));
    proptest!(config(cases()), |((case, other, use_other) in strategy)| {
        let model = model_for(&case, &other, use_other);
        let format = case.seed.format;
        let path = dir.path().join(format!("history.{}", extension(format)));
        std::fs::write(&path, &case.bytes).unwrap();
        let o = check_lin(&path, model, format);
        let code = exit_code(&o)?;
        let stderr = common::stderr(&o);
        let name = path.display().to_string();
        match std::str::from_utf8(&case.bytes) {
            Ok(text) => {
                // `check lin` reads files without a byte-order mark.
                let text = text.strip_prefix('\u{feff}').unwrap_or(text);
                match library_read(model, format, &name, text) {
                    Err(e) => {
                        prop_assert_eq!(code, 2, "{}", stderr);
                        prop_assert!(
                            stderr.contains(&e.to_string()),
                            "expected {}, got {}",
                            e,
                            stderr
                        );
                    }
                    Ok(()) => prop_assert_ne!(code, 2, "{}", stderr),
                }
            }
            Err(_) => {
                prop_assert_eq!(code, 2, "{}", stderr);
                prop_assert!(stderr.contains(&name), "{}", stderr);
            }
        }
    });
}

/// A mutated seed with an invalid UTF-8 sequence inserted, and the line it is on.
fn with_invalid_utf8() -> impl Strategy<Value = (Mutated, usize)> {
    let invalid: Vec<&'static [u8]> = TOKENS
        .iter()
        .copied()
        .filter(|t| std::str::from_utf8(t).is_err())
        .collect();
    (mutated(ALL), any::<Index>(), prop::sample::select(invalid)).prop_map(
        |(mut case, at, bytes)| {
            let at = at.index(case.bytes.len() + 1);
            case.bytes.splice(at..at, bytes.iter().copied());
            let valid = std::str::from_utf8(&case.bytes).unwrap_err().valid_up_to();
            let line = 1 + case.bytes[..valid].iter().filter(|&&b| b == b'\n').count();
            (case, line)
        },
    )
}

#[test]
fn item11_invalid_utf8_names_line_cli() {
    let dir = tempfile::tempdir().unwrap();
    proptest!(config(cases() / 4), |((case, line) in with_invalid_utf8())| {
        let format = case.seed.format;
        let path = dir.path().join(format!("history.{}", extension(format)));
        std::fs::write(&path, &case.bytes).unwrap();
        let o = check_lin(&path, case.seed.model, format);
        let stderr = common::stderr(&o);
        prop_assert_eq!(exit_code(&o)?, 2, "{}", stderr);
        let name = path.display().to_string();
        prop_assert!(
            stderr.contains(&format!("{name}:{line}")) || stderr.contains(&format!("line {line}")),
            "the first invalid byte is on line {}: {}",
            line,
            stderr
        );
    });
}

#[test]
fn item11_oversized_error_is_cut_cli() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.edn");
    let f = "f".repeat(5 << 20);
    std::fs::write(
        &path,
        format!("{{:process 0, :type :invoke, :f :read}}\n{{:process 0, :type :ok, :f :{f}}}\n"),
    )
    .unwrap();
    let o = check_lin(&path, "register", Format::Edn);
    let stderr = common::stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(stderr.len() < 1000, "{} bytes of stderr", stderr.len());
    assert!(
        stderr.contains(&format!("{}:2: ", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "completes {}… but invoked read",
            "f".repeat(EXCERPT_CHARS)
        )),
        "{stderr}"
    );
}

#[test]
fn item11_oversized_init_is_cut_cli() {
    // The longest argument Linux passes is 128 KiB; 100,000 characters of it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.edn");
    std::fs::write(&path, "").unwrap();
    let held = "h".repeat(100_000);
    let unclosed = format!("[{}", "1 ".repeat(50_000));
    for (model, init) in [("mutex", &held), ("register", &unclosed)] {
        let o = common::check(&[
            "lin",
            path.to_str().unwrap(),
            "--model",
            model,
            "--init",
            init,
        ]);
        let stderr = common::stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            &stderr[..stderr.len().min(500)]
        );
        assert!(stderr.len() < 500, "{} bytes of stderr", stderr.len());
        assert!(stderr.contains("…"), "{stderr}");
    }
}

#[test]
fn item11_undetectable_format_names_line_cli() {
    // Without --input, `check lin` guesses the format from the first line that is neither
    // blank nor a comment; when it cannot, it says so, naming the file but not the line.
    let dir = tempfile::tempdir().unwrap();
    let skipped = prop::collection::vec(prop::sample::select(vec!["\n", "; a comment\n"]), 0..3);
    let word = prop::sample::select(vec!["hello ", "INFO jepsen ", "x{ ", "\"process\" "]);
    proptest!(config(cases() / 4), |(case in mutated(ALL), skipped in skipped, word in word)| {
        let line = skipped.len() + 1;
        let mut bytes = format!("{}{word}", skipped.concat()).into_bytes();
        bytes.extend_from_slice(&case.bytes);
        // An etcd log is told by `jepsen.util - ` anywhere in its first line, which a
        // word before it does not hide.
        let first = bytes.split(|&b| b == b'\n').nth(line - 1).unwrap_or_default();
        if String::from_utf8_lossy(first).contains("jepsen.util - ") {
            return Ok(());
        }
        // Invalid UTF-8 is refused first, naming its own line (tested above).
        if std::str::from_utf8(&bytes).is_err() {
            return Ok(());
        }
        let path = dir.path().join(format!("history.{}", extension(case.seed.format)));
        std::fs::write(&path, &bytes).unwrap();
        let o = common::check(&["lin", path.to_str().unwrap(), "--model", case.seed.model]);
        let stderr = common::stderr(&o);
        prop_assert_eq!(exit_code(&o)?, 2, "{}", stderr);
        let name = path.display().to_string();
        prop_assert!(
            stderr.contains(&format!("{name}:{line}")) || stderr.contains(&format!("line {line}")),
            "the format cannot be told from line {}: {}",
            line,
            stderr
        );
    });
}

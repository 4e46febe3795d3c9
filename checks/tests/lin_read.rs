//! `check lin` reading its history under its budgets (issue item 7) and naming where a
//! history stops being UTF-8 (item 11). Each run here ends by itself within its
//! `--timeout`; [`bounded`] only stops a run that would otherwise hang the suite, as the
//! checker before these fixes did.

mod common;
use common::{check, stderr, stdout};
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `check ARGS`, killing it if it is still running after a minute: a run that
/// ignores its budget fails the test instead of hanging it.
fn bounded(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_check"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the check binary runs");
    let started = Instant::now();
    while child
        .try_wait()
        .expect("the child can be waited for")
        .is_none()
    {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().expect("the child can be killed");
            let o = child.wait_with_output().expect("the child ends");
            panic!(
                "check {args:?} ignored its budget and was killed after a minute\n{}{}",
                stdout(&o),
                stderr(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the child ends")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// A sequential register history of `n` operations, one map per line, as EDN.
fn register_history(n: usize) -> String {
    let mut text = String::with_capacity(n * 100);
    for i in 0..n {
        let (f, invoked, value) = if i % 2 == 0 {
            ("write", i.to_string(), i)
        } else {
            ("read", "nil".to_string(), i - 1)
        };
        text.push_str(&format!(
            "{{:process 0, :type :invoke, :f :{f}, :value {invoked}}}\n\
             {{:process 0, :type :ok, :f :{f}, :value {value}}}\n"
        ));
    }
    text
}

#[test]
fn item7_dev_zero_is_refused_or_bounded() {
    // Before: /dev/zero was read whole with no bound, to 19 GB and the OOM killer. Now a
    // stream is read only up to what the memory budget lets a history take (half of it)...
    let o = bounded(&[
        "lin",
        "/dev/zero",
        "--model",
        "register",
        "--memory",
        "256MiB",
        "--timeout",
        "50s",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{}{err}", stdout(&o));
    assert!(
        err.contains(
            "/dev/zero: not at its end after 128MiB read, more than the 128MiB a history may \
             take under --memory 256MiB"
        ) && err.contains("give more with --memory"),
        "{err}"
    );
    // ... and no longer than the time budget: whichever runs out first ends it.
    let o = bounded(&[
        "--format",
        "json",
        "lin",
        "/dev/zero",
        "--model",
        "register",
        "--timeout",
        "1s",
    ]);
    match o.status.code() {
        Some(3) => {
            let v = json(&o);
            assert_eq!(v["exhausted"], "time");
            assert!(
                v["stopped_reading"].as_str().unwrap().ends_with(" read"),
                "{v}"
            );
        }
        Some(2) => assert!(
            stderr(&o).contains("not at its end after"),
            "{}",
            stderr(&o)
        ),
        other => panic!("exit {other:?}: {}{}", stdout(&o), stderr(&o)),
    }
}

/// Makes a FIFO at `path` with mkfifo(1).
fn mkfifo(path: &std::path::Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}

#[test]
fn item7_fifo_honours_timeout() {
    // Before: a FIFO nobody writes to blocked the check for ever, whatever its --timeout.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("history.edn");
    mkfifo(&fifo);
    let o = bounded(&[
        "lin",
        fifo.to_str().unwrap(),
        "--model",
        "register",
        "--timeout",
        "1s",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{}", stderr(&o));
    assert!(
        out.contains("history.edn: not read to its end (nothing read), model register"),
        "{out}"
    );
    assert!(
        out.contains(
            "result: unknown: the time budget ran out (--timeout 1s) before the history was read"
        ),
        "{out}"
    );
    // A FIFO someone writes to, as `check lin <(cmd)` reads one, is read and checked.
    let written = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(written, register_history(1000)));
    let o = bounded(&[
        "lin",
        fifo.to_str().unwrap(),
        "--model",
        "register",
        "--timeout",
        "30s",
    ]);
    writer.join().unwrap().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("1000 operations"), "{}", stdout(&o));
}

#[test]
fn item7_a_file_larger_than_the_memory_budget_is_refused_up_front() {
    // A sparse file: 3 GiB long, no disk used. Before, it was read whole (3 GiB of memory
    // and counting) before any budget applied.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.edn");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let o = bounded(&[
        "--format",
        "json",
        "lin",
        path.to_str().unwrap(),
        "--model",
        "register",
        "--memory",
        "1GiB",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "huge.edn is 3GiB (3221225472 bytes), more than the 512MiB a history may take \
             under --memory 1GiB (half the budget"
        ),
        "{err}"
    );
    assert!(
        err.contains("give more with --memory, or --memory none"),
        "{err}"
    );
    // Refused, not read: stdout has only the error object that --format json asks for.
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(v["schema"], "check-error/1");
    assert!(v["error"].as_str().unwrap().contains("huge.edn is 3GiB"));
}

#[test]
fn item7_the_deadline_covers_parsing() {
    // Before: the deadline began when the search did, so a history that took long to
    // read and parse ran past --timeout by that long (a 200 MB file took 40 s under
    // --timeout 20s). Now a check that runs out of time while reading or parsing says
    // "unknown", and how far it got.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.edn");
    std::fs::write(&path, register_history(300_000)).unwrap();
    let o = bounded(&[
        "--format",
        "json",
        "lin",
        path.to_str().unwrap(),
        "--model",
        "register",
        "--timeout",
        "100ms",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["verdict"], "unknown");
    assert_eq!(v["exhausted"], "time");
    let how_far = v["stopped_reading"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        how_far.starts_with("parsed up to line ") || how_far.ends_with(" read"),
        "{how_far}"
    );
    assert_eq!(v["explored"], 0);
}

#[test]
fn item11_invalid_utf8_names_line() {
    // Before: "cannot read h.edn: stream did not contain valid UTF-8", with no line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.edn");
    std::fs::write(
        &path,
        b"{:process 0, :type :invoke, :f :write, :value 1}\n\
          {:process 0, :type :ok, :f :write, :value \"caf\xc3\xa9 \xff\"}\n",
    )
    .unwrap();
    let o = check(&["lin", path.to_str().unwrap(), "--model", "register"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "h.edn:2:49: not UTF-8 text: the byte 0xff cannot form a UTF-8 character \
             (byte 98 of the file)"
        ),
        "{err}"
    );
}

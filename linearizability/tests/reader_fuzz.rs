//! Every history reader against random byte mutations of the shipped histories, and EDN
//! against JSON Lines on the same histories.
//!
//! For each reader (EDN events, JSON Lines events, kv logs, etcd logs, and every model's
//! reading of operations from events), on seeds from `testdata/` after one to four
//! mutations (bit flips, inserted brackets, quotes, `#_`, newlines, numbers at the edges
//! of the number rule, deleted and duplicated ranges, splices from other seeds):
//!
//! - the reader returns, without panicking;
//! - every error names the file and a line of the input (1 to lines + 1: the line after
//!   the last is where an unclosed EDN value is noticed);
//! - the line-based readers (JSON Lines, etcd logs) name the first line that is wrong:
//!   the lines before it read, and it does not;
//! - every error message is one line of at most [`MAX_MESSAGE_CHARS`] characters,
//!   whatever the input echoed (item 11: a 5 MB line was echoed whole).
//!
//! And one history written in EDN and in JSON Lines reads as the same events and gets the
//! same verdict, for generated histories of every model and for mutated seeds that still
//! read.
//!
//! The default run is 11,000 cases in a few seconds (release); `PROPTEST_CASES=N` runs N
//! cases of each property instead, for a longer soak.

mod fuzzing;

use fuzzing::{json, jsonl_of_ops, mutated, mutated_gently, Format, Json, Mutated};
use linearizability::edn::{parse_all, parse_ops, Edn};
use linearizability::etcd::{read_etcd_log, Etcd};
use linearizability::events::{
    history_from_events, read_edn_events, read_jsonl_events, Event, ReadOp,
};
use linearizability::kv::{read_kv_log, Kv};
use linearizability::models::{CasRegister, FifoQueue, MultiRegister, Mutex, Register, Set};
use linearizability::{check_operations, CheckOptions, CheckResult, ReadError, EXCERPT_CHARS};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// The file name the readers are given, to be found in every error.
const NAME: &str = "fuzz/history.txt";

/// The longest an error message may be: the longest fixed text (an etcd log line's
/// expected form) with two excerpts of input, and room to spare. Without the excerpts'
/// bound a message grew with the input.
const MAX_MESSAGE_CHARS: usize = 400;

/// `default` cases, or `PROPTEST_CASES` for a longer soak.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs `test` on `cases` values of `strategy`, shrinking and recording a failure as the
/// `proptest!` macro does (in `reader_fuzz.proptest-regressions`, replayed first on the
/// next run); a runner of our own so that a test can count what its cases reached.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = ProptestConfig {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    };
    let start = Instant::now();
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {cases} cases in {:.2?}", start.elapsed());
}

/// What every reader error must be: about `NAME`, on a line of `text`, one bounded line.
fn check_error(e: &ReadError, text: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.file.as_str(), NAME);
    let lines = text.lines().count();
    prop_assert!(
        (1..=lines + 1).contains(&e.line),
        "line {} of a {}-line input: {}",
        e.line,
        lines,
        e
    );
    prop_assert!(
        e.message.chars().count() <= MAX_MESSAGE_CHARS,
        "a message of {} characters: {}…",
        e.message.chars().count(),
        e.message.chars().take(200).collect::<String>()
    );
    // A newline in a message would read as the start of another `file:line:` report.
    prop_assert!(
        !e.message.contains(['\n', '\r']),
        "a message of several lines: {:?}",
        e.message
    );
    let prefix = format!("{NAME}:{}: ", e.line);
    prop_assert!(e.to_string().starts_with(&prefix));
    Ok(())
}

/// Reads `events` as operations of `model`; an error must pass [`check_error`].
fn read_ops<M: ReadOp>(model: &M, events: &[Event], text: &str) -> Result<(), TestCaseError> {
    match history_from_events(model, NAME, events) {
        Ok(_) => Ok(()),
        Err(e) => check_error(&e, text),
    }
}

/// Every model's reading of operations from events (each model's `read_op`).
fn read_ops_of_every_model(events: &[Event], text: &str) -> Result<(), TestCaseError> {
    read_ops(&Register { init: Edn::Nil }, events, text)?;
    read_ops(&CasRegister { init: Edn::Nil }, events, text)?;
    read_ops(&MultiRegister::default(), events, text)?;
    read_ops(&Mutex::default(), events, text)?;
    read_ops(&Set::default(), events, text)?;
    read_ops(&FifoQueue::default(), events, text)?;
    read_ops(&Etcd, events, text)?;
    read_ops(&Kv, events, text)
}

/// The first `n` lines of `text`, as they are written there. (Ending each with a new
/// `\n` would change a line that ends in a bare `\r`: `"{\r"` is one line with a `\r`, but
/// `"{\r\n"` is the line `{`.)
fn first_lines(text: &str, n: usize) -> String {
    text.split_inclusive('\n').take(n).collect()
}

/// For a reader that reads line by line: `e`, its error on `text`, names the first line
/// that is wrong. The lines before it read, and with that line added the same error
/// comes back.
fn first_wrong_line<T>(
    read: impl Fn(&str) -> Result<T, ReadError>,
    e: &ReadError,
    text: &str,
) -> Result<(), TestCaseError> {
    let before = first_lines(text, e.line - 1);
    prop_assert!(
        read(&before).is_ok(),
        "{e}, but the lines before it do not read: {:?}",
        read(&before).err()
    );
    let through = first_lines(text, e.line);
    let again = read(&through).err();
    prop_assert_eq!(again.as_ref(), Some(e));
    Ok(())
}

#[test]
fn edn_reader_survives_mutated_histories() {
    fuzz(
        "edn",
        cases(3000),
        mutated(&[Format::Edn, Format::KvLog]),
        |case: Mutated| {
            let text = case.text();
            if let Err((line, message)) = parse_all(&text) {
                check_error(&ReadError::new(NAME, line, message), &text)?;
            }
            match read_edn_events(NAME, &text) {
                Ok(events) => read_ops_of_every_model(&events, &text),
                Err(e) => check_error(&e, &text),
            }
        },
    );
}

#[test]
fn jsonl_reader_survives_mutated_histories() {
    fuzz(
        "jsonl",
        cases(2500),
        mutated(&[Format::Jsonl]),
        |case: Mutated| {
            let text = case.text();
            match read_jsonl_events(NAME, &text) {
                Ok(events) => read_ops_of_every_model(&events, &text),
                Err(e) => {
                    check_error(&e, &text)?;
                    first_wrong_line(|t| read_jsonl_events(NAME, t), &e, &text)
                }
            }
        },
    );
}

#[test]
fn kv_log_reader_survives_mutated_histories() {
    fuzz(
        "kv-log",
        cases(1500),
        mutated(&[Format::KvLog, Format::Edn]),
        |case: Mutated| {
            let text = case.text();
            match read_kv_log(NAME, &text) {
                Ok(_) => Ok(()),
                Err(e) => check_error(&e, &text),
            }
        },
    );
}

#[test]
fn etcd_log_reader_survives_mutated_histories() {
    fuzz(
        "etcd-log",
        cases(2000),
        mutated(&[Format::EtcdLog]),
        |case: Mutated| {
            let text = case.text();
            match read_etcd_log(NAME, &text) {
                Ok(_) => Ok(()),
                Err(e) => {
                    check_error(&e, &text)?;
                    first_wrong_line(|t| read_etcd_log(NAME, t), &e, &text)
                }
            }
        },
    );
}

/// An event without the line it was read from, which differs between layouts.
fn unplaced(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .cloned()
        .map(|e| Event { line: 0, ..e })
        .collect()
}

/// The search, single-threaded so that thousands of small checks do not each start
/// threads, with a budget so that a pathological case is `Unknown` instead of a hang.
fn options() -> CheckOptions {
    CheckOptions {
        timeout: Some(Duration::from_secs(2)),
        threads: 1,
        ..CheckOptions::default()
    }
}

/// The same events, once read from EDN and once from JSON Lines, read as the same
/// operations of `model` (or both fail to) and get the same verdict. Returns whether
/// verdicts were compared.
fn same_verdict<M: ReadOp>(
    model: &M,
    from_edn: &[Event],
    from_jsonl: &[Event],
) -> Result<bool, TestCaseError> {
    let (a, b) = match (
        history_from_events(model, NAME, from_edn),
        history_from_events(model, NAME, from_jsonl),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(_), Err(_)) => return Ok(false),
        (a, b) => {
            return Err(TestCaseError::fail(format!(
                "EDN reads as {:?}, JSON Lines as {:?}",
                a.map(|ops| ops.len()),
                b.map(|ops| ops.len())
            )))
        }
    };
    prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let (x, y) = (
        check_operations(model, &a, &options()).result,
        check_operations(model, &b, &options()).result,
    );
    if x == CheckResult::Unknown || y == CheckResult::Unknown {
        return Ok(false);
    }
    prop_assert_eq!(x, y);
    Ok(true)
}

/// [`same_verdict`] for the model `check lin` calls `model`, with its default initial
/// value.
fn same_verdict_for(
    model: &str,
    from_edn: &[Event],
    from_jsonl: &[Event],
) -> Result<bool, TestCaseError> {
    match model {
        "register" => same_verdict(&Register { init: Edn::Nil }, from_edn, from_jsonl),
        "cas-register" => same_verdict(&CasRegister { init: Edn::Nil }, from_edn, from_jsonl),
        "multi-register" => same_verdict(&MultiRegister::default(), from_edn, from_jsonl),
        "mutex" => same_verdict(&Mutex::default(), from_edn, from_jsonl),
        "set" => same_verdict(&Set::default(), from_edn, from_jsonl),
        "fifo-queue" => same_verdict(&FifoQueue::default(), from_edn, from_jsonl),
        "etcd" => same_verdict(&Etcd, from_edn, from_jsonl),
        "kv" => same_verdict(&Kv, from_edn, from_jsonl),
        other => panic!("no model {other}"),
    }
}

/// One operation of a generated history: its function, the key it acts on (kv), the
/// value it is invoked with and the value it returns.
#[derive(Clone, Debug)]
struct GenOp {
    f: &'static str,
    key: Option<Edn>,
    invoke: Edn,
    ok: Edn,
}

impl GenOp {
    fn new(f: &'static str, invoke: Edn, ok: Edn) -> GenOp {
        GenOp {
            f,
            key: None,
            invoke,
            ok,
        }
    }
}

/// Values JSON can write too: small integers, an integer beyond 64 bits, a float, a
/// string, nil.
fn value() -> impl Strategy<Value = Edn> {
    prop_oneof![
        8 => (0i64..3).prop_map(Edn::Int),
        1 => Just(Edn::Symbol("18446744073709551616".into())),
        1 => Just(Edn::Symbol("0.5".into())),
        1 => Just(Edn::Str("x".into())),
        1 => Just(Edn::Nil),
    ]
}

fn int() -> impl Strategy<Value = Edn> {
    (0i64..3).prop_map(Edn::Int)
}

fn pair(a: Edn, b: Edn) -> Edn {
    Edn::Seq(vec![a, b])
}

/// The operations of the model `check lin` names `model`, with JSON-writable values.
fn gen_op(model: &'static str) -> BoxedStrategy<GenOp> {
    fn read(v: Edn) -> GenOp {
        GenOp::new("read", Edn::Nil, v)
    }
    match model {
        "register" => prop_oneof![
            value().prop_map(read),
            value().prop_map(|v| GenOp::new("write", v.clone(), v)),
        ]
        .boxed(),
        "cas-register" | "etcd" => {
            let v = if model == "etcd" {
                prop_oneof![4 => int(), 1 => Just(Edn::Nil)].boxed()
            } else {
                value().boxed()
            };
            let w = if model == "etcd" {
                int().boxed()
            } else {
                value().boxed()
            };
            let (c1, c2) = if model == "etcd" {
                (int().boxed(), int().boxed())
            } else {
                (value().boxed(), value().boxed())
            };
            prop_oneof![
                v.prop_map(read),
                w.prop_map(|v| GenOp::new("write", v.clone(), v)),
                (c1, c2).prop_map(|(a, b)| GenOp::new(
                    "cas",
                    pair(a.clone(), b.clone()),
                    pair(a, b)
                )),
            ]
            .boxed()
        }
        "multi-register" => {
            let key = prop_oneof![Just(Edn::Str("x".into())), Just(Edn::Str("y".into()))];
            let step = (prop::bool::ANY, key, value()).prop_map(|(is_read, k, v)| {
                let f = Edn::Str(if is_read { "read" } else { "write" }.into());
                let invoked = if is_read { Edn::Nil } else { v.clone() };
                (
                    Edn::Seq(vec![f.clone(), k.clone(), invoked]),
                    Edn::Seq(vec![f, k, v]),
                )
            });
            prop::collection::vec(step, 1..3)
                .prop_map(|steps| {
                    let (invoke, ok): (Vec<Edn>, Vec<Edn>) = steps.into_iter().unzip();
                    GenOp::new("txn", Edn::Seq(invoke), Edn::Seq(ok))
                })
                .boxed()
        }
        "mutex" => prop_oneof![
            Just(GenOp::new("acquire", Edn::Nil, Edn::Nil)),
            Just(GenOp::new("release", Edn::Nil, Edn::Nil)),
        ]
        .boxed(),
        "set" => prop_oneof![
            value().prop_map(|v| GenOp::new("add", v.clone(), v)),
            prop::collection::vec(value(), 0..3).prop_map(|xs| read(Edn::Seq(xs))),
        ]
        .boxed(),
        "fifo-queue" => prop_oneof![
            value().prop_map(|v| GenOp::new("enqueue", v.clone(), v)),
            value().prop_map(|v| GenOp::new("dequeue", Edn::Nil, v)),
        ]
        .boxed(),
        "kv" => {
            let key = prop_oneof![Just(Edn::Str("a".into())), Just(Edn::Str("b".into()))];
            let text =
                prop_oneof![Just(""), Just("1"), Just("11")].prop_map(|s| Edn::Str(s.into()));
            (key, 0u8..3, text)
                .prop_map(|(key, kind, v)| {
                    let op = match kind {
                        0 => GenOp::new("get", Edn::Nil, v),
                        1 => GenOp::new("put", v.clone(), v),
                        _ => GenOp::new("append", v.clone(), v),
                    };
                    GenOp {
                        key: Some(key),
                        ..op
                    }
                })
                .boxed()
        }
        other => panic!("no model {other}"),
    }
}

/// How a generated operation ended.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Ok,
    Fail,
    Info,
    Never,
}

/// A generated history: the model, and the same events as EDN and as JSON Lines.
#[derive(Clone, Debug)]
struct TwoWays {
    model: &'static str,
    edn: String,
    jsonl: String,
}

/// A random history of one model: each process does one operation, invoked and
/// completed at random points, so invocations overlap; some fail, some end in `info`,
/// some never end; a nemesis event or two fall anywhere. The EDN is one map per line or
/// one vector, at random.
fn two_ways() -> impl Strategy<Value = TwoWays> {
    let model = prop::sample::select(vec![
        "register",
        "cas-register",
        "multi-register",
        "mutex",
        "set",
        "fifo-queue",
        "etcd",
        "kv",
    ]);
    model.prop_flat_map(|model| {
        let ending = prop_oneof![
            6 => Just(Ending::Ok),
            1 => Just(Ending::Fail),
            1 => Just(Ending::Info),
            1 => Just(Ending::Never),
        ];
        let op = (gen_op(model), ending, 0u32..100, 0u32..100);
        (
            prop::collection::vec(op, 0..8),
            prop::collection::vec(0u32..200, 0..3),
            prop::bool::ANY,
        )
            .prop_map(move |(ops, nemesis, vector)| {
                // (sort key, process or None for the nemesis, completion?)
                let mut events: Vec<(u32, Option<usize>, bool)> = Vec::new();
                for (p, (_, ending, start, len)) in ops.iter().enumerate() {
                    events.push((*start, Some(p), false));
                    if !matches!(ending, Ending::Never) {
                        events.push((start + len + 1, Some(p), true));
                    }
                }
                events.extend(nemesis.iter().map(|&t| (t, None, false)));
                events.sort();
                let (mut edn, mut jsonl) = (Vec::new(), String::new());
                for (_, p, completes) in events {
                    let Some(p) = p else {
                        edn.push("{:process :nemesis, :type :info, :f :start, :value nil}".into());
                        jsonl.push_str(
                            "{\"process\": \"nemesis\", \"type\": \"info\", \"f\": \"start\", \"value\": null}\n",
                        );
                        continue;
                    };
                    let (op, ending, _, _) = &ops[p];
                    let (kind, value) = match (completes, ending) {
                        (false, _) => ("invoke", &op.invoke),
                        (true, Ending::Ok) => ("ok", &op.ok),
                        (true, Ending::Fail) => ("fail", &op.invoke),
                        (true, _) => ("info", &op.invoke),
                    };
                    let key = op.key.as_ref();
                    edn.push(format!(
                        "{{:process {p}, :type :{kind}, :f :{}{}, :value {value}}}",
                        op.f,
                        key.map_or(String::new(), |k| format!(", :key {k}"))
                    ));
                    jsonl.push_str(&format!(
                        "{{\"process\": {p}, \"type\": \"{kind}\", \"f\": \"{}\"{}, \"value\": {}}}\n",
                        op.f,
                        key.map_or(String::new(), |k| format!(
                            ", \"key\": {}",
                            json(k, Json::Exact).unwrap()
                        )),
                        json(value, Json::Exact).expect("generated values have a JSON form")
                    ));
                }
                let edn = if vector {
                    format!("[{}]\n", edn.join("\n "))
                } else {
                    edn.iter().map(|l| format!("{l}\n")).collect()
                };
                TwoWays { model, edn, jsonl }
            })
    })
}

#[test]
fn edn_and_jsonl_give_generated_histories_the_same_verdict() {
    let compared = Cell::new(0u32);
    let n = cases(1000);
    fuzz("edn = jsonl, generated", n, two_ways(), |h: TwoWays| {
        let from_edn =
            read_edn_events(NAME, &h.edn).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from_jsonl =
            read_jsonl_events(NAME, &h.jsonl).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(unplaced(&from_edn), unplaced(&from_jsonl));
        let both_read = same_verdict_for(h.model, &from_edn, &from_jsonl)?;
        compared.set(compared.get() + u32::from(both_read));
        Ok(())
    });
    // Generated histories are valid, so nearly all are compared (the rest ran out of
    // the search's budget).
    assert!(
        compared.get() >= n * 9 / 10,
        "{} of {n} compared",
        compared.get()
    );
}

#[test]
fn edn_and_jsonl_give_mutated_histories_that_still_read_the_same_verdict() {
    let compared = Cell::new(0u32);
    let n = cases(1000);
    fuzz(
        "edn = jsonl, mutated",
        n,
        mutated_gently(&[Format::Edn, Format::KvLog]),
        |case: Mutated| {
            let text = case.text();
            // Both readers read the same values: any map that parses is converted, and
            // JSON Lines must accept exactly the events EDN accepts.
            let Ok(ops) = parse_ops(&text) else {
                return Ok(());
            };
            // Keywords and symbols as values have no JSON form: that is not the same
            // history in JSON Lines.
            let Some(written) = jsonl_of_ops(&ops) else {
                return Ok(());
            };
            let (from_edn, from_jsonl) = match (
                read_edn_events(NAME, &text),
                read_jsonl_events(NAME, &written),
            ) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(_), Err(_)) => return Ok(()),
                (a, b) => {
                    return Err(TestCaseError::fail(format!(
                        "EDN reads as {:?}, the same history in JSON Lines as {:?}:\n{written}",
                        a.map(|events| events.len()),
                        b.map(|events| events.len())
                    )))
                }
            };
            prop_assert_eq!(unplaced(&from_edn), unplaced(&from_jsonl));
            let both_read = same_verdict_for(case.seed.model, &from_edn, &from_jsonl)?;
            compared.set(compared.get() + u32::from(both_read));
            Ok(())
        },
    );
    // About a fifth of the cases are compared (the rest no longer read, in either format
    // alike); if far fewer were, this would test little.
    assert!(
        compared.get() >= n / 8,
        "{} of {n} compared",
        compared.get()
    );
    eprintln!("edn = jsonl, mutated: {} of {n} compared", compared.get());
}

#[test]
fn reader_fuzz_found_a_float_beyond_f64_read_differently_by_edn_and_jsonl() {
    // Both infinite, as Clojure and JavaScript read them: the read saw what was written.
    // EDN kept each as its text (`1e400` is not `1e+400`: not linearizable) while serde_json
    // wrote both as `1e+400` (linearizable).
    let edn = "{:process 0 :type :invoke :f :write :value 1e400}\n\
               {:process 0 :type :ok :f :write :value 1e400}\n\
               {:process 0 :type :invoke :f :read :value nil}\n\
               {:process 0 :type :ok :f :read :value 1e+400}\n";
    let jsonl = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1e400}\n\
                 {\"process\": 0, \"type\": \"ok\", \"f\": \"write\", \"value\": 1e400}\n\
                 {\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}\n\
                 {\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"value\": 1e+400}\n";
    let model = Register { init: Edn::Nil };
    for events in [
        read_edn_events(NAME, edn).unwrap(),
        read_jsonl_events(NAME, jsonl).unwrap(),
    ] {
        assert_eq!(events[1].value, Edn::Symbol("##Inf".into()));
        let ops = history_from_events(&model, NAME, &events).unwrap();
        assert_eq!(
            check_operations(&model, &ops, &options()).result,
            CheckResult::Ok
        );
    }
}

/// `message` is short, and holds a run of `filler` (the echoed input) cut to at most
/// [`EXCERPT_CHARS`] and followed by an ellipsis.
fn assert_cut(message: &str, filler: char) {
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS,
        "a message of {} characters: {}…",
        message.chars().count(),
        message.chars().take(200).collect::<String>()
    );
    let run = message
        .split(|c| c != filler)
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!((1..=EXCERPT_CHARS).contains(&run), "{message}");
    assert!(
        message.contains(&format!("{}…", filler.to_string().repeat(run))),
        "{message}"
    );
}

#[test]
fn item11_oversized_error_is_cut() {
    const BIG: usize = 5 << 20;
    let huge = |c: char| c.to_string().repeat(BIG);
    let edn = |text: &str| read_edn_events(NAME, text).unwrap_err().message;
    let events = |text: &str| read_edn_events(NAME, text).unwrap();
    let register = |text: &str| {
        history_from_events(&Register { init: Edn::Nil }, NAME, &events(text))
            .unwrap_err()
            .message
    };
    // The EDN reader: a number, a process, a type, an event that is not a map.
    assert_cut(
        &edn(&format!(
            "{{:process 0 :type :invoke :f :write :value 0{}}}",
            huge('0')
        )),
        '0',
    );
    assert_cut(
        &edn(&format!(
            "{{:process \"{}\" :type :invoke :f :read}}",
            huge('p')
        )),
        'p',
    );
    assert_cut(
        &edn(&format!("{{:process 0 :type :{} :f :read}}", huge('t'))),
        't',
    );
    assert_cut(&edn(&format!("[[{}]]", huge('v'))), 'v');
    // Every model's reading of an operation: its function and its value.
    assert_cut(
        &register(&format!("{{:process 0 :type :invoke :f :{}}}", huge('f'))),
        'f',
    );
    let cas = format!(
        "{{:process 0 :type :invoke :f :cas :value \"{}\"}}",
        huge('c')
    );
    assert_cut(
        &history_from_events(&CasRegister { init: Edn::Nil }, NAME, &events(&cas))
            .unwrap_err()
            .message,
        'c',
    );
    // Pairing: a completion of another function than the invocation's.
    assert_cut(
        &register(&format!(
            "{{:process 0 :type :invoke :f :read}}\n{{:process 0 :type :ok :f :{}}}",
            huge('g')
        )),
        'g',
    );
    // JSON Lines: a key twice, a type.
    let k = huge('k');
    assert_cut(
        &read_jsonl_events(NAME, &format!("{{\"{k}\": 1, \"{k}\": 2}}"))
            .unwrap_err()
            .message,
        'k',
    );
    assert_cut(
        &read_jsonl_events(
            NAME,
            &format!(
                "{{\"process\": 0, \"type\": \"{}\", \"f\": \"read\"}}",
                huge('t')
            ),
        )
        .unwrap_err()
        .message,
        't',
    );
    // kv logs: a put of something that is not a string.
    assert_cut(
        &read_kv_log(
            NAME,
            &format!(
                "{{:process 0 :type :invoke :f :put :key \"a\" :value {}}}",
                huge('s')
            ),
        )
        .unwrap_err()
        .message,
        's',
    );
    // etcd logs: a process, a write's value, a function, a type.
    let etcd = |line: String| read_etcd_log(NAME, &line).unwrap_err().message;
    assert_cut(
        &etcd(format!(
            "INFO  jepsen.util - {} :invoke :read nil",
            huge('p')
        )),
        'p',
    );
    assert_cut(
        &etcd(format!(
            "INFO  jepsen.util - 0 :invoke :write {}",
            huge('w')
        )),
        'w',
    );
    assert_cut(
        &etcd(format!("INFO  jepsen.util - 0 :invoke :{} nil", huge('f'))),
        'f',
    );
    assert_cut(
        &etcd(format!("INFO  jepsen.util - 0 :{} :read nil", huge('t'))),
        't',
    );
}

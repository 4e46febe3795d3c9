//! The checker against a brute-force oracle that tries every order real time allows.
//!
//! Random small histories (with indeterminate operations, whose return and output are
//! unknown) must get the oracle's verdict; histories recorded from a real sequential
//! execution, with each operation's interval stretched at random around the moment it
//! took effect, must all be linearizable.

use linearizability::edn::Edn;
use linearizability::etcd::{Etcd, EtcdOp, EtcdOutput};
use linearizability::events::{history_from_events, read_jsonl_events};
use linearizability::kv::{Kv, KvFn, KvOp, KvOutput};
use linearizability::models::{
    CasOp, CasOutput, CasRegister, FifoQueue, MultiRegister, Mutex, MutexOp, QueueOp, Register,
    RegisterOp, Set, SetOp, TxnOp,
};
use linearizability::{check_operations, CheckOptions, CheckResult, Model, Operation};
use proptest::prelude::*;

/// Whether some order of the operations respects real time (a before b if a returned
/// before b was called), places every operation that returned, and is legal for `model`.
/// Operations that never returned may be placed anywhere after their call, or left out.
fn oracle<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> bool {
    fn search<M: Model>(
        model: &M,
        history: &[Operation<M::Input, M::Output>],
        placed: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        let unplaced_returned = history
            .iter()
            .zip(placed.iter())
            .any(|(op, &p)| !p && op.ret.is_some());
        if !unplaced_returned {
            return true;
        }
        for (i, op) in history.iter().enumerate() {
            if placed[i] {
                continue;
            }
            // `op` may go next only if no unplaced operation had to come before it.
            let blocked = history
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && !placed[j] && other.ret.is_some_and(|r| r < op.call));
            if blocked {
                continue;
            }
            if let Some(next) = model.step(state, &op.input, op.output.as_ref()) {
                placed[i] = true;
                let found = search(model, history, placed, &next);
                placed[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    search(
        model,
        history,
        &mut vec![false; history.len()],
        &model.init(),
    )
}

/// The checker's verdict; when it says linearizable, its linearizations are checked too.
fn verdict<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> bool {
    let v = check_operations(model, history, &CheckOptions::default());
    assert_ne!(v.result, CheckResult::Unknown);
    if v.result == CheckResult::Ok {
        assert_valid_linearizations(model, history, &v.linearizations);
    }
    if let Some(f) = &v.failure {
        // The explanation holds: the prefix replays, and the model refuses the blocked
        // operation after it.
        let mut state = model.init();
        for &i in &f.longest_prefix {
            let op = &history[i];
            state = model
                .step(&state, &op.input, op.output.as_ref())
                .unwrap_or_else(|| panic!("the longest prefix does not replay at {i}"));
        }
        let b = &history[f.blocked];
        assert!(
            model.step(&state, &b.input, b.output.as_ref()).is_none(),
            "the model allows the blocked operation {} after the prefix",
            f.blocked
        );
        assert_eq!(f.state, model.describe_state(&state));
    }
    v.result == CheckResult::Ok
}

/// Every operation that returned is placed exactly once, in some partition's order; each
/// order respects real time and replays legally through `model` from its initial state.
/// (Partitions share no state, so each replays on its own.)
fn assert_valid_linearizations<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    orders: &[Vec<usize>],
) {
    let mut seen = vec![false; history.len()];
    for order in orders {
        let mut state = model.init();
        for (k, &i) in order.iter().enumerate() {
            assert!(!seen[i], "operation {i} placed twice in {orders:?}");
            seen[i] = true;
            for &later in &order[k + 1..] {
                assert!(
                    history[later].ret.is_none_or(|r| r >= history[i].call),
                    "{later} returned before {i} was called but is placed after it: {order:?}"
                );
            }
            let op = &history[i];
            state = model
                .step(&state, &op.input, op.output.as_ref())
                .unwrap_or_else(|| panic!("step {k} (operation {i}) is illegal in {order:?}"));
        }
    }
    for (i, op) in history.iter().enumerate() {
        assert!(
            op.ret.is_none() || seen[i],
            "returned operation {i} not placed: {orders:?}"
        );
    }
}

/// (call, length, returned?) for an interval, and a value.
fn interval() -> impl Strategy<Value = (u64, u64, bool)> {
    (0u64..20, 0u64..8, prop::bool::weighted(0.85))
}

fn register_history() -> impl Strategy<Value = Vec<Operation<RegisterOp<u8>, Option<u8>>>> {
    prop::collection::vec((interval(), prop::bool::ANY, 0u8..3), 0..7).prop_map(|ops| {
        ops.into_iter()
            .enumerate()
            .map(|(p, ((call, len, returned), is_write, v))| Operation {
                process: p as u64,
                input: if is_write {
                    RegisterOp::Write(v)
                } else {
                    RegisterOp::Read
                },
                call,
                ret: returned.then_some(call + len),
                output: match (returned, is_write) {
                    (false, _) => None,
                    (true, true) => Some(None),
                    (true, false) => Some(Some(v)),
                },
            })
            .collect()
    })
}

fn cas_history() -> impl Strategy<Value = Vec<Operation<CasOp<u8>, CasOutput<u8>>>> {
    prop::collection::vec((interval(), 0u8..3, 0u8..3, 0u8..3, prop::bool::ANY), 0..7).prop_map(
        |ops| {
            ops.into_iter()
                .enumerate()
                .map(|(p, ((call, len, returned), kind, a, b, ok))| {
                    let (input, output) = match kind {
                        0 => (CasOp::Read, CasOutput::Value(a)),
                        1 => (CasOp::Write(a), CasOutput::Done),
                        _ => (CasOp::Cas { from: a, to: b }, CasOutput::Swapped(ok)),
                    };
                    Operation {
                        process: p as u64,
                        input,
                        call,
                        ret: returned.then_some(call + len),
                        output: returned.then_some(output),
                    }
                })
                .collect()
        },
    )
}

/// A sequential execution: operation i takes effect at time 10 * i + 5 and its interval
/// is stretched around that moment; some operations lose their return.
fn sequential_register_history() -> impl Strategy<Value = Vec<Operation<RegisterOp<u8>, Option<u8>>>>
{
    prop::collection::vec(
        (
            prop::bool::ANY,
            0u8..4,
            0u64..30,
            0u64..30,
            prop::bool::weighted(0.9),
        ),
        0..40,
    )
    .prop_map(|ops| {
        let mut value = 0u8;
        ops.into_iter()
            .enumerate()
            .map(|(i, (is_write, v, before, after, returned))| {
                let at = 10 * i as u64 + 40;
                let output = if is_write {
                    value = v;
                    None
                } else {
                    Some(value)
                };
                Operation {
                    process: i as u64,
                    input: if is_write {
                        RegisterOp::Write(v)
                    } else {
                        RegisterOp::Read
                    },
                    call: at - before,
                    ret: returned.then_some(at + after),
                    output: returned.then_some(output),
                }
            })
            .collect()
    })
}

/// Random small histories of any model: each process does one operation from `op`, over a
/// random interval; some never return (their output is then unknown).
fn random_history<I: std::fmt::Debug, O: std::fmt::Debug>(
    op: impl Strategy<Value = (I, O)>,
) -> impl Strategy<Value = Vec<Operation<I, O>>> {
    prop::collection::vec((interval(), op), 0..7).prop_map(|ops| {
        ops.into_iter()
            .enumerate()
            .map(|(p, ((call, len, returned), (input, output)))| Operation {
                process: p as u64,
                input,
                call,
                ret: returned.then_some(call + len),
                output: returned.then_some(output),
            })
            .collect()
    })
}

fn small_value() -> impl Strategy<Value = Edn> {
    (0i64..3).prop_map(Edn::Int)
}

fn mutex_op() -> impl Strategy<Value = (MutexOp, ())> {
    prop_oneof![Just((MutexOp::Acquire, ())), Just((MutexOp::Release, ()))]
}

fn queue_op() -> impl Strategy<Value = (QueueOp, Option<Edn>)> {
    prop_oneof![
        small_value().prop_map(|x| (QueueOp::Enqueue(x), None)),
        prop_oneof![Just(Edn::Nil), small_value()].prop_map(|x| (QueueOp::Dequeue, Some(x))),
    ]
}

fn set_op() -> impl Strategy<Value = (SetOp, Option<im::OrdSet<Edn>>)> {
    prop_oneof![
        small_value().prop_map(|x| (SetOp::Add(x), None)),
        prop::collection::vec(small_value(), 0..3)
            .prop_map(|xs| (SetOp::Read, Some(xs.into_iter().collect()))),
    ]
}

fn txn_op() -> impl Strategy<Value = (Vec<TxnOp>, ())> {
    let key = prop_oneof![
        Just(Edn::Keyword("x".into())),
        Just(Edn::Keyword("y".into()))
    ];
    let step = (
        key,
        small_value(),
        prop::bool::ANY,
        prop::bool::weighted(0.2),
    )
        .prop_map(|(k, v, read, unknown)| match (read, unknown) {
            (true, true) => TxnOp::Read(k, None),
            (true, false) => TxnOp::Read(k, Some(v)),
            (false, _) => TxnOp::Write(k, v),
        });
    prop::collection::vec(step, 1..3).prop_map(|txn| (txn, ()))
}

/// Two keys, so that the partition by key is exercised against the unpartitioned oracle.
fn kv_op() -> impl Strategy<Value = (KvOp, KvOutput)> {
    let key = prop_oneof![Just(Edn::Str("a".into())), Just(Edn::Str("b".into()))];
    let text = prop_oneof![
        Just(String::new()),
        Just("1".to_string()),
        Just("11".to_string())
    ];
    (key, 0u8..3, text).prop_map(|(key, kind, v)| {
        let key = std::sync::Arc::new(key);
        match kind {
            0 => (KvOp { key, f: KvFn::Get }, KvOutput::Value(v)),
            1 => (
                KvOp {
                    key,
                    f: KvFn::Put(v),
                },
                KvOutput::Done,
            ),
            _ => (
                KvOp {
                    key,
                    f: KvFn::Append(v),
                },
                KvOutput::Done,
            ),
        }
    })
}

fn etcd_op() -> impl Strategy<Value = (EtcdOp, EtcdOutput)> {
    (0u8..3, 0i64..3, 0i64..3, prop::bool::ANY).prop_map(|(kind, a, b, ok)| match kind {
        0 => (EtcdOp::Read, EtcdOutput::Read((a > 0).then_some(a))),
        1 => (EtcdOp::Write(a), EtcdOutput::Written),
        _ => (EtcdOp::Cas { from: a, to: b }, EtcdOutput::Cas(ok)),
    })
}

/// How an operation of a generated event history ended.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Ok,
    Fail,
    Info,
    Never,
}

/// A JSON Lines history of compare-and-set register operations, one per process, whose
/// events are shuffled into a random real-time order; and the same history as the oracle
/// sees it, worked out independently of the reader: fail operations removed, info and
/// never-completed ones without a return, times the events' positions.
#[allow(clippy::type_complexity)]
fn event_history() -> impl Strategy<Value = (String, Vec<Operation<CasOp<Edn>, CasOutput<Edn>>>)> {
    let op = (
        0u8..3,
        0i64..3,
        0i64..3,
        prop_oneof![
            6 => Just(Ending::Ok),
            1 => Just(Ending::Fail),
            1 => Just(Ending::Info),
            1 => Just(Ending::Never),
        ],
        0u32..100,
        0u32..100,
    );
    prop::collection::vec(op, 0..7).prop_map(|ops| {
        // Each op's invocation and completion get random sort keys; the completion sorts
        // after the invocation.
        let mut events: Vec<(u32, usize, bool)> = Vec::new();
        for (p, &(_, _, _, ending, start, len)) in ops.iter().enumerate() {
            events.push((start, p, false));
            if !matches!(ending, Ending::Never) {
                events.push((start + len + 1, p, true));
            }
        }
        events.sort();
        let mut lines = String::new();
        let mut call = vec![0u64; ops.len()];
        let mut ret = vec![None; ops.len()];
        for (position, &(_, p, completes)) in events.iter().enumerate() {
            let (kind, a, b, ending, _, _) = ops[p];
            let (f, value) = match kind {
                0 => (
                    "read",
                    if completes {
                        a.to_string()
                    } else {
                        "null".into()
                    },
                ),
                1 => ("write", a.to_string()),
                _ => ("cas", format!("[{a}, {b}]")),
            };
            let t = match (completes, ending) {
                (false, _) => "invoke",
                (true, Ending::Ok) => "ok",
                (true, Ending::Fail) => "fail",
                (true, _) => "info",
            };
            lines.push_str(&format!(
                "{{\"process\": {p}, \"type\": \"{t}\", \"f\": \"{f}\", \"value\": {value}}}\n"
            ));
            let time = position as u64 + 1;
            if !completes {
                call[p] = time;
            } else if matches!(ending, Ending::Ok) {
                ret[p] = Some(time);
            }
        }
        let mut expected: Vec<_> = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| !matches!(op.3, Ending::Fail))
            .map(|(p, &(kind, a, b, _, _, _))| {
                let (a, b) = (Edn::Int(a), Edn::Int(b));
                let (input, output) = match kind {
                    0 => (CasOp::Read, CasOutput::Value(a)),
                    1 => (CasOp::Write(a), CasOutput::Done),
                    _ => (CasOp::Cas { from: a, to: b }, CasOutput::Swapped(true)),
                };
                Operation {
                    process: p as u64,
                    input,
                    call: call[p],
                    ret: ret[p],
                    output: ret[p].map(|_| output),
                }
            })
            .collect();
        // The reader lists operations in invocation order.
        expected.sort_by_key(|op| op.call);
        (lines, expected)
    })
}

/// 2000 cases per property, or `PROPTEST_CASES` for a longer soak.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn histories_with_fail_and_info_read_from_jsonl_match_the_oracle(
        (jsonl, expected) in event_history()
    ) {
        let model = CasRegister { init: Edn::Int(0) };
        let events = read_jsonl_events("h.jsonl", &jsonl).unwrap();
        let ops = history_from_events(&model, "h.jsonl", &events).unwrap();
        prop_assert_eq!(&ops, &expected, "{}", jsonl);
        prop_assert_eq!(verdict(&model, &ops), oracle(&model, &expected), "{}", jsonl);
    }

    #[test]
    fn register_verdicts_match_the_oracle(history in register_history()) {
        let model = Register { init: 0u8 };
        prop_assert_eq!(verdict(&model, &history), oracle(&model, &history), "{:?}", history);
    }

    #[test]
    fn cas_register_verdicts_match_the_oracle(history in cas_history()) {
        let model = CasRegister { init: 0u8 };
        prop_assert_eq!(verdict(&model, &history), oracle(&model, &history), "{:?}", history);
    }

    #[test]
    fn mutex_verdicts_match_the_oracle(history in random_history(mutex_op())) {
        let model = Mutex::default();
        prop_assert_eq!(verdict(&model, &history), oracle(&model, &history), "{:?}", history);
    }

    #[test]
    fn fifo_queue_verdicts_match_the_oracle(history in random_history(queue_op())) {
        let model = FifoQueue { init: vec![Edn::Int(1)] };
        prop_assert_eq!(verdict(&model, &history), oracle(&model, &history), "{:?}", history);
    }

    #[test]
    fn set_verdicts_match_the_oracle(history in random_history(set_op())) {
        let model = Set::default();
        prop_assert_eq!(verdict(&model, &history), oracle(&model, &history), "{:?}", history);
    }

    #[test]
    fn multi_register_verdicts_match_the_oracle(history in random_history(txn_op())) {
        let model = MultiRegister::default();
        prop_assert_eq!(verdict(&model, &history), oracle(&model, &history), "{:?}", history);
    }

    #[test]
    fn kv_verdicts_partitioned_by_key_match_the_unpartitioned_oracle(
        history in random_history(kv_op())
    ) {
        prop_assert_eq!(verdict(&Kv, &history), oracle(&Kv, &history), "{:?}", history);
    }

    #[test]
    fn etcd_verdicts_match_the_oracle(history in random_history(etcd_op())) {
        prop_assert_eq!(verdict(&Etcd, &history), oracle(&Etcd, &history), "{:?}", history);
    }

    #[test]
    fn histories_of_a_sequential_execution_are_linearizable(history in sequential_register_history()) {
        prop_assert!(verdict(&Register { init: 0u8 }, &history), "{:?}", history);
    }
}

/// The generators must produce both verdicts, or the comparison above proves little.
#[test]
fn random_histories_cover_both_verdicts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ok, mut illegal) = (0, 0);
    for _ in 0..500 {
        let h = register_history().new_tree(&mut runner).unwrap().current();
        if oracle(&Register { init: 0u8 }, &h) {
            ok += 1;
        } else {
            illegal += 1;
        }
    }
    assert!(ok > 50 && illegal > 50, "ok {ok}, illegal {illegal}");
}

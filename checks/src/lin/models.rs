//! The sequential specifications `check lin` knows, by name, with how each takes `--init`
//! and which history formats it reads. To add one, implement
//! [`linearizability::Model`] and [`linearizability::events::ReadOp`] for it and add a row
//! to [`LIN_MODELS`].

use super::{check_history_in, Input, LinArgs, LinReport, Session};
use anyhow::{bail, Result};
use linearizability::edn::{parse_all, Edn};
use linearizability::etcd::{read_etcd_log_with_progress, Etcd};
use linearizability::events::{
    history_from_events_with_progress, read_edn_events_with_progress,
    read_jsonl_events_with_progress, ReadOp,
};
use linearizability::excerpt;
use linearizability::kv::Kv;
use linearizability::models::{CasRegister, FifoQueue, MultiRegister, Mutex, Register, Set};

/// A specification `check lin` can check against.
pub struct LinModel {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line for `--help`: operations, initial value and semantics.
    pub summary: &'static str,
    /// Reads the history in `text` and checks it, as part of the session: the text is
    /// dropped once parsed, and a budget that runs out while parsing ends it with a
    /// [`linearizability::ReadError`] whose `stopped` is set.
    pub run: fn(&LinArgs, Input, String, &Session) -> Result<LinReport>,
}

/// Every specification, in the order `--help` lists them.
pub const LIN_MODELS: &[LinModel] = &[
    LinModel {
        name: "register",
        summary: "read, write; --init any value (default nil)",
        run: |a, input, text, session| {
            generic(&Register { init: init_any(a)? }, a, input, text, session)
        },
    },
    LinModel {
        name: "cas-register",
        summary: "read, write, cas [from to]; --init any value (default nil)",
        run: |a, input, text, session| {
            generic(&CasRegister { init: init_any(a)? }, a, input, text, session)
        },
    },
    LinModel {
        name: "multi-register",
        summary: "txn [[:read k v] [:write k v]]; --init a map such as {:x 0 :y 0} (default {})",
        run: |a, input, text, session| {
            let init = match init_value(a)? {
                None => Default::default(),
                Some(Edn::Map(entries)) => entries.into_iter().collect(),
                Some(other) => bail!(
                    "--init for multi-register must be a map such as {{:x 0 :y 0}}, not {}",
                    excerpt(other)
                ),
            };
            generic(&MultiRegister { init }, a, input, text, session)
        },
    },
    LinModel {
        name: "mutex",
        summary: "acquire, release; --init free or held (default free)",
        run: |a, input, text, session| {
            let held = match init_value(a)? {
                None => false,
                Some(v) => match v.name() {
                    Some("free") => false,
                    Some("held") => true,
                    _ => bail!("--init for mutex must be free or held, not {}", excerpt(v)),
                },
            };
            generic(&Mutex { held }, a, input, text, session)
        },
    },
    LinModel {
        name: "set",
        summary: "add x, read #{...}; --init a vector or set (default empty)",
        run: |a, input, text, session| {
            let init = match init_value(a)? {
                None => Default::default(),
                Some(v) => match v.items() {
                    Some(items) => items.iter().cloned().collect(),
                    None => {
                        bail!(
                            "--init for set must be a vector or set such as #{{1 2}}, not {}",
                            excerpt(v)
                        )
                    }
                },
            };
            generic(&Set { init }, a, input, text, session)
        },
    },
    LinModel {
        name: "fifo-queue",
        summary: "enqueue x, dequeue -> x; --init a vector, front first (default empty)",
        run: |a, input, text, session| {
            let init = match init_value(a)? {
                None => Vec::new(),
                Some(Edn::Seq(items)) => items,
                Some(v) => bail!(
                    "--init for fifo-queue must be a vector such as [1 2], not {}",
                    excerpt(v)
                ),
            };
            generic(&FifoQueue { init }, a, input, text, session)
        },
    },
    LinModel {
        name: "etcd",
        summary: "Porcupine's etcd: read (nil = absent), write, cas; starts absent",
        run: |a, input, text, session| {
            no_init(a)?;
            match input {
                Input::EtcdLog => {
                    let progress = Some(&*session.progress);
                    let ops = read_etcd_log_with_progress(&a.name(), &text, progress)?;
                    drop(text);
                    check_history_in(&Etcd, &ops, &a.settings(input), input, session)
                }
                _ => generic(&Etcd, a, input, text, session),
            }
        },
    },
    LinModel {
        name: "kv",
        summary: "Porcupine's kv: get, put, append on string registers per :key, starting \"\"",
        run: |a, input, text, session| {
            no_init(a)?;
            generic(&Kv, a, input, text, session)
        },
    },
];

/// Finds a model by name.
pub fn find(name: &str) -> Option<&'static LinModel> {
    LIN_MODELS.iter().find(|m| m.name == name)
}

/// The names of every model.
pub fn names() -> Vec<&'static str> {
    LIN_MODELS.iter().map(|m| m.name).collect()
}

/// Reads an EDN or JSON Lines history and checks it against `model`. What each step has
/// read is dropped before the next, so that the search does not hold the text too.
fn generic<M: ReadOp>(
    model: &M,
    args: &LinArgs,
    input: Input,
    text: String,
    session: &Session,
) -> Result<LinReport> {
    let name = args.name();
    let progress = Some(&*session.progress);
    let events = match input {
        Input::Edn | Input::KvLog => read_edn_events_with_progress(&name, &text, progress)?,
        Input::Jsonl => read_jsonl_events_with_progress(&name, &text, progress)?,
        Input::EtcdLog => bail!(
            "model {} cannot read etcd-log histories (only etcd can); pass --input edn or jsonl if {name} is one",
            args.model
        ),
    };
    drop(text);
    let history = history_from_events_with_progress(model, &name, &events, progress)?;
    drop(events);
    check_history_in(model, &history, &args.settings(input), input, session)
}

/// `--init` parsed as one EDN value, if given.
fn init_value(args: &LinArgs) -> Result<Option<Edn>> {
    let Some(text) = &args.init else {
        return Ok(None);
    };
    match parse_all(text) {
        Ok(values) if values.len() == 1 => Ok(values.into_iter().next()),
        Ok(_) => bail!(
            "--init {}: expected one EDN value, such as 0, nil or {{:x 0}}",
            excerpt(format_args!("{text:?}"))
        ),
        Err((_, message)) => bail!("--init {}: {message}", excerpt(format_args!("{text:?}"))),
    }
}

fn init_any(args: &LinArgs) -> Result<Edn> {
    Ok(init_value(args)?.unwrap_or(Edn::Nil))
}

fn no_init(args: &LinArgs) -> Result<()> {
    if args.init.is_some() {
        bail!(
            "model {} has a fixed initial state; --init is not supported",
            args.model
        );
    }
    Ok(())
}

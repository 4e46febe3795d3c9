//! What the reader fuzz tests share: seed histories cut from `testdata/`, random byte
//! mutations of them, and a writer of events as JSON Lines.
//!
//! `linearizability/tests/reader_fuzz.rs` uses this to drive the readers directly, and
//! `checks/tests/lin_fuzz.rs` (through `#[path]`) to drive `check lin`, so both fuzz the
//! same inputs. (`cargo fuzz` needs a nightly toolchain with cargo-fuzz, which the CI does
//! not have; proptest runs on stable, shrinks what it finds, and replays it from the
//! `.proptest-regressions` file.)
#![allow(dead_code)]

use linearizability::edn::Edn;
use linearizability::events::{read_edn_events, Event, EventKind};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::OnceLock;

/// The shipped histories, wherever the including test crate lives.
const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../linearizability/testdata");

/// A history format, as `check lin --input` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Knossos EDN: one vector or list of maps, or one map per line.
    Edn,
    /// JSON Lines, one object per line.
    Jsonl,
    /// Porcupine's kv logs: EDN, one map per line, with a `:key`.
    KvLog,
    /// Porcupine's etcd logs.
    EtcdLog,
}

impl Format {
    /// The name `check lin --input` takes.
    pub fn input(self) -> &'static str {
        match self {
            Format::Edn => "edn",
            Format::Jsonl => "jsonl",
            Format::KvLog => "kv-log",
            Format::EtcdLog => "etcd-log",
        }
    }
}

/// A small, valid history to mutate: small so that thousands of cases run in seconds.
pub struct Seed {
    /// Where it came from.
    pub name: String,
    /// How it is written.
    pub format: Format,
    /// The `check lin` model its operations are for.
    pub model: &'static str,
    /// The history.
    pub text: String,
}

fn testdata(path: &str) -> String {
    std::fs::read_to_string(format!("{TESTDATA}/{path}"))
        .unwrap_or_else(|e| panic!("{TESTDATA}/{path}: {e}"))
}

/// The first `n` lines of a history that is one EDN vector, cut after the last line that
/// ends a map and closed again, so that the prefix is still a valid history.
fn edn_prefix(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().take(n).collect();
    let end = lines
        .iter()
        .rposition(|l| l.trim_end().ends_with('}'))
        .expect("a map ends in the prefix");
    format!("{}]\n", lines[..=end].join("\n"))
}

/// The first `n` lines of a line-based history.
fn line_prefix(text: &str, n: usize) -> String {
    let mut s: String = text.lines().take(n).collect::<Vec<_>>().join("\n");
    s.push('\n');
    s
}

/// Every seed: whole small Knossos files, prefixes of larger ones and of Porcupine's logs,
/// and the EDN ones again as JSON Lines.
pub fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let cas = "knossos/data/cas-register";
        let mut seeds = Vec::new();
        for file in [
            "bad/immediate-failure.edn",
            "bad/rethink-fail-minimal.edn",
            "bad/bad-analysis.edn",
            "good/cas-register-bug.edn",
        ] {
            seeds.push(Seed {
                name: format!("{cas}/{file}"),
                format: Format::Edn,
                model: "cas-register",
                text: testdata(&format!("{cas}/{file}")),
            });
        }
        for (file, lines) in [("good/memstress3-0.edn", 40), ("bad/cas-failure.edn", 40)] {
            seeds.push(Seed {
                name: format!("{cas}/{file} (first {lines} lines)"),
                format: Format::Edn,
                model: "cas-register",
                text: edn_prefix(&testdata(&format!("{cas}/{file}")), lines),
            });
        }
        let multi = "knossos/data/multi-register/good/multi-register.edn";
        seeds.push(Seed {
            name: format!("{multi} (first 60 lines)"),
            format: Format::Edn,
            model: "multi-register",
            text: edn_prefix(&testdata(multi), 60),
        });
        for file in ["c01-ok.txt", "c01-bad.txt"] {
            let path = format!("porcupine/test_data/kv/{file}");
            seeds.push(Seed {
                name: format!("{path} (first 40 lines)"),
                format: Format::KvLog,
                model: "kv",
                text: line_prefix(&testdata(&path), 40),
            });
        }
        for file in ["etcd_002.log", "etcd_067.log"] {
            let path = format!("porcupine/test_data/jepsen/{file}");
            seeds.push(Seed {
                name: format!("{path} (first 40 lines)"),
                format: Format::EtcdLog,
                model: "etcd",
                text: line_prefix(&testdata(&path), 40),
            });
        }
        let jsonl: Vec<Seed> = seeds
            .iter()
            .filter(|s| s.format == Format::Edn || s.format == Format::KvLog)
            .map(|s| {
                let events = read_edn_events(&s.name, &s.text).expect("the seeds are valid");
                Seed {
                    name: format!("{} as JSON Lines", s.name),
                    format: Format::Jsonl,
                    model: s.model,
                    // Keywords become strings: a seed need not be the same history, only a
                    // plausible one (the multi-register's `[:read :x 1]` steps read alike).
                    text: jsonl(&events, Json::Lossy).expect("lossy conversion always works"),
                }
            })
            .collect();
        seeds.extend(jsonl);
        seeds
    })
}

/// The seeds written in one of `formats`.
pub fn seeds_in(formats: &[Format]) -> Vec<&'static Seed> {
    seeds()
        .iter()
        .filter(|s| formats.contains(&s.format))
        .collect()
}

/// Fragments that mean something to some reader: brackets, quotes, discards, newlines,
/// field names and types, numbers at the edges of the number rule, a byte-order mark,
/// characters outside ASCII, and bytes that are not UTF-8.
pub const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b"\"",
    b"#_",
    b"#",
    b"#{",
    b"##",
    b"#inst ",
    b"\n",
    b"\r\n",
    b"\r",
    b";",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\\u00",
    b" ",
    b"\t",
    b"nil",
    b"null",
    b"true",
    b":nemesis",
    b"\"nemesis\"",
    b":invoke",
    b":ok",
    b":fail",
    b":info",
    b":read",
    b":write",
    b":cas",
    b":txn",
    b"-1",
    b"0",
    b"010",
    b"-0",
    b"1N",
    b"1.5M",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"1e400",
    b"0.1",
    b"[1 2]",
    b"[[:read :x 1]]",
    b"\"process\": ",
    b"\"type\": ",
    b"\"f\": ",
    b"\"value\": ",
    b"\"key\": ",
    b":process ",
    b":type ",
    b":f ",
    b":value ",
    b":key ",
    b"jepsen.util - ",
    b"INFO  ",
    "\u{feff}".as_bytes(),
    "é".as_bytes(),
    "\u{2028}".as_bytes(),
    b"\0",
    b"\x1b[31m",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf0\x9f",
];

/// Words that fit where a field's value goes, by field (process, type, function, value):
/// replacing one with another of its kind mostly leaves a history that still reads,
/// with other operations, pairings and verdicts.
pub const WORDS: [&[&str]; 4] = [
    &["0", "1", "2", "3", "4", "101", ":nemesis"],
    &[":invoke", ":ok", ":fail", ":info"],
    &[":read", ":write", ":cas"],
    &[
        "nil",
        "0",
        "1",
        "2",
        "3",
        "-1",
        "[1 2]",
        "[0 1]",
        "[2 3]",
        "18446744073709551616",
        "0.5",
        "1e400",
        "1e+400",
        "\"x\"",
    ],
];

/// One change to a file's bytes. Positions are [`Index`]es, scaled to the file's length
/// when applied, so that a mutation means something whatever it follows.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Flip one bit of a byte.
    Flip(Index, u8),
    /// Insert one of [`TOKENS`].
    Token(Index, Index),
    /// Insert arbitrary bytes.
    Bytes(Index, Vec<u8>),
    /// Delete up to this many bytes.
    Delete(Index, usize),
    /// Copy up to this many bytes to another place.
    Duplicate(Index, usize, Index),
    /// Insert up to this many bytes from another seed.
    Splice(Index, Index, Index, usize),
    /// Cut the file short.
    Truncate(Index),
    /// Swap two lines.
    SwapLines(Index, Index),
    /// Delete a line.
    DeleteLine(Index),
    /// Copy a line to another place.
    DuplicateLine(Index, Index),
    /// Replace a word (a run of characters other than spaces, commas and brackets) with
    /// any of [`WORDS`].
    Word(Index, Index),
    /// Replace the first word of a field's value (after `:process`, `:type`, `:f` or
    /// `:value`) with one of [`WORDS`] for that field.
    Field(Index, Index),
    /// Give a field a second value in its map: insert `:f :write ` (say) before the
    /// field's name, with one of [`WORDS`] for that field; with `true`, name the field
    /// with a string, `"f" :write `.
    RepeatField(Index, Index, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<Index>;
    prop_oneof![
        3 => (at(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        6 => (at(), at()).prop_map(|(i, t)| Mutation::Token(i, t)),
        2 => (at(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(i, b)| Mutation::Bytes(i, b)),
        3 => (at(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (at(), 1usize..80, at()).prop_map(|(i, n, to)| Mutation::Duplicate(i, n, to)),
        2 => (at(), at(), at(), 1usize..120)
            .prop_map(|(i, s, from, n)| Mutation::Splice(i, s, from, n)),
        1 => at().prop_map(Mutation::Truncate),
        1 => (at(), at()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (at(), at()).prop_map(|(a, b)| Mutation::Word(a, b)),
        3 => gentle_mutation(),
    ]
}

/// Mutations that keep the syntax: whole lines moved, deleted or copied, and words
/// replaced with others of their kind.
fn gentle_mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<Index>;
    prop_oneof![
        1 => (at(), at()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => at().prop_map(Mutation::DeleteLine),
        1 => (at(), at()).prop_map(|(a, b)| Mutation::DuplicateLine(a, b)),
        6 => (at(), at()).prop_map(|(a, b)| Mutation::Field(a, b)),
        1 => (at(), at(), any::<bool>()).prop_map(|(a, b, s)| Mutation::RepeatField(a, b, s)),
    ]
}

/// `bytes` with `m` applied.
pub fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    // An insertion point: any of len + 1 places.
    let place = |i: &Index, len: usize| i.index(len + 1);
    match m {
        Mutation::Flip(i, bit) => {
            if !bytes.is_empty() {
                let at = i.index(bytes.len());
                bytes[at] ^= 1 << bit;
            }
        }
        Mutation::Token(i, t) => {
            let at = place(i, bytes.len());
            bytes.splice(at..at, t.get(TOKENS).iter().copied());
        }
        Mutation::Bytes(i, b) => {
            let at = place(i, bytes.len());
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = place(i, bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Duplicate(i, n, to) => {
            let at = place(i, bytes.len());
            let copy = bytes[at..(at + n).min(bytes.len())].to_vec();
            let to = place(to, bytes.len());
            bytes.splice(to..to, copy);
        }
        Mutation::Splice(i, seed, from, n) => {
            let other = seed.get(seeds()).text.as_bytes();
            let from = place(from, other.len());
            let at = place(i, bytes.len());
            bytes.splice(
                at..at,
                other[from..(from + n).min(other.len())].iter().copied(),
            );
        }
        Mutation::Truncate(i) => {
            let at = place(i, bytes.len());
            bytes.truncate(at);
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            bytes = lines.join(&b'\n');
        }
        Mutation::DeleteLine(i) => {
            let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
            lines.remove(i.index(lines.len()));
            bytes = lines.join(&b'\n');
        }
        Mutation::DuplicateLine(i, to) => {
            let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
            let line = lines[i.index(lines.len())];
            lines.insert(to.index(lines.len() + 1), line);
            bytes = lines.join(&b'\n');
        }
        Mutation::Word(i, w) => {
            let words = words(&bytes);
            if !words.is_empty() {
                let (start, end) = words[i.index(words.len())];
                let all: Vec<&str> = WORDS.concat();
                bytes.splice(start..end, w.get(&all).bytes());
            }
        }
        Mutation::Field(i, w) | Mutation::RepeatField(i, w, _) => {
            const FIELDS: [&[u8]; 4] = [b":process", b":type", b":f", b":value"];
            let words = words(&bytes);
            // (the field's name, its value's first word, which field it is)
            let values: Vec<(Span, Span, usize)> = words
                .windows(2)
                .filter_map(|p| {
                    let field = FIELDS.iter().position(|f| *f == &bytes[p[0].0..p[0].1])?;
                    Some((p[0], p[1], field))
                })
                .collect();
            if !values.is_empty() {
                let (name, (start, end), field) = values[i.index(values.len())];
                let word = w.get(WORDS[field]);
                if matches!(m, Mutation::Field(..)) {
                    bytes.splice(start..end, word.bytes());
                } else {
                    let spelled = String::from_utf8_lossy(FIELDS[field]);
                    let spelled = match m {
                        Mutation::RepeatField(_, _, true) => format!("\"{}\"", &spelled[1..]),
                        _ => spelled.into_owned(),
                    };
                    let pair = format!("{spelled} {word} ");
                    bytes.splice(name.0..name.0, pair.into_bytes());
                }
            }
        }
    }
    bytes
}

/// Where a word starts and where it ends, in bytes.
type Span = (usize, usize);

/// Where each word of `bytes` starts and ends: runs of bytes other than whitespace,
/// commas and brackets.
fn words(bytes: &[u8]) -> Vec<Span> {
    let delimiter = |b: u8| b.is_ascii_whitespace() || b",{}[]()".contains(&b);
    let mut words = Vec::new();
    let mut start = None;
    for (k, &b) in bytes.iter().enumerate() {
        match (start, delimiter(b)) {
            (None, false) => start = Some(k),
            (Some(s), true) => {
                words.push((s, k));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, bytes.len()));
    }
    words
}

/// A seed after a few mutations.
#[derive(Clone)]
pub struct Mutated {
    /// The seed it started from.
    pub seed: &'static Seed,
    /// What was done to it, in order.
    pub mutations: Vec<Mutation>,
    /// The result, which need not be UTF-8.
    pub bytes: Vec<u8>,
}

impl Mutated {
    /// The result as text, each invalid UTF-8 sequence replaced by U+FFFD: the readers
    /// take `&str`; invalid UTF-8 is `check lin`'s to report, and `lin_fuzz.rs` tests it.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// What proptest prints for a failing case: where it came from, and the text.
impl std::fmt::Debug for Mutated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} after {:?}:\n{}",
            self.seed.name,
            self.mutations,
            String::from_utf8_lossy(&self.bytes)
        )
    }
}

/// One of the seeds in `formats`, after one to four mutations. Proptest shrinks a failure
/// to fewer mutations, so what it reports is close to the smallest change that fails.
pub fn mutated(formats: &'static [Format]) -> impl Strategy<Value = Mutated> {
    mutated_by(seeds_in(formats), mutation().boxed(), 1..5)
}

/// One of the EDN seeds in `formats` that JSON Lines can write exactly, after one or two
/// mutations that keep the syntax, so that many results still read: for properties of
/// histories that read in both formats.
pub fn mutated_gently(formats: &'static [Format]) -> impl Strategy<Value = Mutated> {
    let seeds = seeds_in(formats)
        .into_iter()
        .filter(|s| {
            let events = read_edn_events(&s.name, &s.text).expect("the seeds are valid");
            jsonl(&events, Json::Exact).is_some()
        })
        .collect();
    mutated_by(seeds, gentle_mutation().boxed(), 1..3)
}

fn mutated_by(
    seeds: Vec<&'static Seed>,
    mutation: BoxedStrategy<Mutation>,
    how_many: std::ops::Range<usize>,
) -> impl Strategy<Value = Mutated> {
    (any::<Index>(), prop::collection::vec(mutation, how_many)).prop_map(
        move |(seed, mutations)| {
            let seed = *seed.get(&seeds);
            let bytes = mutations.iter().fold(seed.text.as_bytes().to_vec(), apply);
            Mutated {
                seed,
                mutations,
                bytes,
            }
        },
    )
}

/// How [`json`] treats EDN values that JSON has no form for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Json {
    /// Refuse them, so that the JSON reads back as the same value.
    Exact,
    /// Write keywords, symbols and sets as strings and arrays.
    Lossy,
}

/// `value` as JSON text that reads back (through the JSON Lines reader) as `value`, or
/// `None` if there is no such text in [`Json::Exact`] mode: keywords, sets, maps with keys
/// that are not strings, and symbols that are not numbers have no JSON form.
pub fn json(value: &Edn, mode: Json) -> Option<String> {
    let lossy = mode == Json::Lossy;
    Some(match value {
        Edn::Nil => "null".into(),
        Edn::Bool(b) => b.to_string(),
        Edn::Int(i) => i.to_string(),
        Edn::Str(s) => serde_json::to_string(s).unwrap(),
        // Numbers beyond i64 and floats are symbols of their text, which JSON reads by
        // the same number rule.
        Edn::Symbol(s)
            if serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| v.is_number()) =>
        {
            s.clone()
        }
        Edn::Keyword(s) | Edn::Symbol(s) if lossy => serde_json::to_string(s).unwrap(),
        Edn::Set(items) if lossy => array(items, mode)?,
        Edn::Keyword(_) | Edn::Symbol(_) | Edn::Set(_) => return None,
        Edn::Seq(items) => array(items, mode)?,
        Edn::Map(entries) => {
            let mut fields = Vec::new();
            let mut names = std::collections::HashSet::new();
            for (k, v) in entries {
                let key = match k {
                    Edn::Str(s) => s.clone(),
                    _ if lossy => k.name().map_or_else(|| k.to_string(), str::to_string),
                    _ => return None,
                };
                // The JSON Lines reader refuses an object with a key twice, which EDN
                // keys that name one string (`:a` and `"a"`) would make: leave it out.
                if !names.insert(key.clone()) {
                    continue;
                }
                fields.push(format!(
                    "{}: {}",
                    serde_json::to_string(&key).unwrap(),
                    json(v, mode)?
                ));
            }
            if fields.len() != entries.len() && !lossy {
                return None;
            }
            format!("{{{}}}", fields.join(", "))
        }
    })
}

fn array(items: &[Edn], mode: Json) -> Option<String> {
    let items: Option<Vec<String>> = items.iter().map(|x| json(x, mode)).collect();
    Some(format!("[{}]", items?.join(", ")))
}

/// `events` as JSON Lines, one object per line, with the fields the JSON Lines reader
/// reads; `None` if some value has no exact JSON form (see [`json`]).
pub fn jsonl(events: &[Event], mode: Json) -> Option<String> {
    let mut out = String::new();
    for e in events {
        let process = e
            .process
            .map_or_else(|| "\"nemesis\"".to_string(), |p| p.to_string());
        let kind = match e.kind {
            EventKind::Invoke => "invoke",
            EventKind::Ok => "ok",
            EventKind::Fail => "fail",
            EventKind::Info => "info",
        };
        let key = match &e.key {
            Some(k) => format!(", \"key\": {}", json(k, mode)?),
            None => String::new(),
        };
        out.push_str(&format!(
            "{{\"process\": {process}, \"type\": \"{kind}\", \"f\": {}{key}, \"value\": {}}}\n",
            serde_json::to_string(&e.f).unwrap(),
            json(&e.value, mode)?
        ));
    }
    Some(out)
}

/// The operations of an EDN history (`parse_ops`'s values) as JSON Lines, one object per
/// value, as an EDN history would be written as JSON Lines by hand: keyword keys become
/// strings, as do keywords and symbols where the readers only read their names (the
/// `process`, `type` and `f` fields); every other value must have an exact JSON form
/// ([`json`]). `None` if one does not. Keys are written as they come, so a map with a key
/// twice (or `:a` and `"a"`) becomes an object with a key twice, which the JSON Lines
/// reader refuses: the EDN reader must refuse it too.
///
/// Converting the values rather than the events means both readers see the same fields,
/// duplicates and extra keys included, so they must also agree on refusing an event.
pub fn jsonl_of_ops(ops: &[(usize, Edn)]) -> Option<String> {
    let mut out = String::new();
    for (_, op) in ops {
        let line = match op {
            Edn::Map(entries) => {
                let mut fields = Vec::new();
                for (k, v) in entries {
                    let name = match k {
                        Edn::Keyword(s) | Edn::Str(s) => s.clone(),
                        _ => return None,
                    };
                    let by_name = matches!(name.as_str(), "process" | "type" | "f");
                    let value = match v {
                        Edn::Keyword(s) | Edn::Symbol(s)
                            if by_name && json(v, Json::Exact).is_none() =>
                        {
                            serde_json::to_string(s).unwrap()
                        }
                        _ => json(v, Json::Exact)?,
                    };
                    fields.push(format!(
                        "{}: {value}",
                        serde_json::to_string(&name).unwrap()
                    ));
                }
                format!("{{{}}}", fields.join(", "))
            }
            other => json(other, Json::Exact)?,
        };
        out.push_str(&line);
        out.push('\n');
    }
    Some(out)
}

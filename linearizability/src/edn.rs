//! A small reader for the subset of EDN that Jepsen histories use: `nil`, booleans,
//! integers, strings, keywords, symbols, vectors, lists, maps and sets. Commas are
//! whitespace; `;` starts a comment to the end of the line; `#_` discards the next value;
//! any other tag (`#inst "…"`, `#jepsen.history.Op{…}`) is dropped and its value kept.
//! Characters (`\a`) and `##Inf` read as symbols that spell them, so each compares equal
//! to itself. Numbers follow one rule, shared with JSON Lines: integers are exact at any
//! size, floats are doubles kept as symbols of their shortest form (`1.0` and `1.00` are
//! one value, `1e400` is `##Inf`), and `1N` is the integer 1. A map with a key twice is an
//! error, as in Clojure. Nesting deeper than 200 levels is an error.
//!
//! [`Edn`] is also the value type of the generic history formats: JSON values convert to
//! it (see [`crate::events`]).

use crate::excerpt;
use std::fmt;

/// An EDN value. Values are ordered and hashable so that models can keep them in sets,
/// maps and states. `Debug` prints the EDN text, as `Display` does, so that reports built
/// from `Debug` forms stay readable.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edn {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string, unescaped.
    Str(String),
    /// A keyword, without its colon: `:ok` is `Keyword("ok")`.
    Keyword(String),
    /// A bare symbol.
    Symbol(String),
    /// `[...]` or `(...)`.
    Seq(Vec<Edn>),
    /// `{...}`, sorted by key, so maps with the same entries compare equal whatever
    /// order they were written in.
    Map(Vec<(Edn, Edn)>),
    /// `#{...}`, sorted and without duplicates, so equal sets compare equal.
    Set(Vec<Edn>),
}

impl Edn {
    /// The value under keyword `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(name) if name == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The name a keyword, string or symbol spells: `:read`, `"read"` and `read` are all
    /// `read`. JSON has no keywords, so readers of both formats compare names this way.
    pub fn name(&self) -> Option<&str> {
        match self {
            Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a vector, list or set.
    pub fn items(&self) -> Option<&[Edn]> {
        match self {
            Edn::Seq(items) | Edn::Set(items) => Some(items),
            _ => None,
        }
    }

    /// Makes a map from entries in any order.
    pub fn map(mut entries: Vec<(Edn, Edn)>) -> Edn {
        entries.sort();
        Edn::Map(entries)
    }

    /// Makes a set from any elements.
    pub fn set(mut items: Vec<Edn>) -> Edn {
        items.sort();
        items.dedup();
        Edn::Set(items)
    }
}

impl fmt::Debug for Edn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Edn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edn::Nil => write!(f, "nil"),
            Edn::Bool(b) => write!(f, "{b}"),
            Edn::Int(i) => write!(f, "{i}"),
            Edn::Str(s) => write!(f, "{s:?}"),
            Edn::Keyword(k) => write!(f, ":{k}"),
            Edn::Symbol(s) => write!(f, "{s}"),
            Edn::Seq(items) => {
                write!(f, "[")?;
                for (i, x) in items.iter().enumerate() {
                    write!(f, "{}{x}", if i > 0 { " " } else { "" })?;
                }
                write!(f, "]")
            }
            Edn::Set(items) => {
                write!(f, "#{{")?;
                for (i, x) in items.iter().enumerate() {
                    write!(f, "{}{x}", if i > 0 { " " } else { "" })?;
                }
                write!(f, "}}")
            }
            Edn::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    write!(f, "{}{k} {v}", if i > 0 { ", " } else { "" })?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Parses every value in `text`, in order. Errors give the 1-based line and what was
/// expected there.
pub fn parse_all(text: &str) -> Result<Vec<Edn>, (usize, String)> {
    let mut p = Parser::new(text);
    let mut out = Vec::new();
    loop {
        p.skip()?;
        if p.peek().is_none() {
            return Ok(out);
        }
        out.push(p.value()?);
    }
}

/// The operations of a Jepsen history file, each with the line it starts on: the elements
/// of a file that is one vector or list, or else every top-level value (one map per line).
pub fn parse_ops(text: &str) -> Result<Vec<(usize, Edn)>, (usize, String)> {
    let mut out = Vec::new();
    for_each_op(
        text,
        |line, value| {
            out.push((line, value));
            Ok(())
        },
        |e| e,
    )?;
    Ok(out)
}

/// Calls `each` with every operation of a Jepsen history file, in order, as
/// [`parse_ops`] finds them, without holding them all: a reader that converts each as it
/// comes needs a fraction of the memory. Stops at the first error, whether `each`'s or a
/// syntax error (which `syntax` turns into an `E`).
pub(crate) fn for_each_op<E>(
    text: &str,
    mut each: impl FnMut(usize, Edn) -> Result<(), E>,
    syntax: impl Fn((usize, String)) -> E,
) -> Result<(), E> {
    let mut p = Parser::new(text);
    p.skip().map_err(&syntax)?;
    let close = match p.peek() {
        Some('[') => Some(']'),
        Some('(') => Some(')'),
        _ => None,
    };
    if let Some(close) = close {
        let opened = p.line;
        p.bump();
        loop {
            p.skip().map_err(&syntax)?;
            match p.peek() {
                Some(c) if c == close => {
                    p.bump();
                    break;
                }
                None => return Err(syntax(unclosed(close, opened))),
                Some(_) => {
                    let line = p.line;
                    each(line, p.value().map_err(&syntax)?)?;
                }
            }
        }
        p.skip().map_err(&syntax)?;
        if p.peek().is_some() {
            return p.error("end of input after the history").map_err(syntax);
        }
        return Ok(());
    }
    loop {
        p.skip().map_err(&syntax)?;
        if p.peek().is_none() {
            return Ok(());
        }
        let line = p.line;
        each(line, p.value().map_err(&syntax)?)?;
    }
}

/// How deeply collections may nest. Histories nest a few levels; the limit turns a
/// pathological file into an error instead of a stack overflow.
const MAX_DEPTH: usize = 200;

/// The error for a bracket or quote that is never closed: reported on the line that
/// opened it, since the end of the input, where the parser notices, is usually far from
/// the mistake.
fn unclosed(close: char, opened: usize) -> (usize, String) {
    (
        opened,
        format!("expected `{close}` to close what this line opened, found end of input"),
    )
}

/// Reads a number token the same way for EDN and JSON, so that one history gets one
/// verdict whichever format records it. `Ok(None)` if `t` is not a number.
///
/// - Integers are exact at any size: within `i64` they are [`Edn::Int`]; beyond it, a
///   [`Edn::Symbol`] of their digits (sign `-` only, no `N`), equal only to the same
///   integer. `1N` (EDN's big-integer suffix) is the integer 1.
/// - Floats are IEEE-754 doubles, as Clojure's and JavaScript's readers make them: `1.0`,
///   `1.00` and `1e0` are one value, and so are `0.3` and `0.30000000000000001`. A float is
///   a symbol of the double's shortest form (`100.0`), so it never equals an integer, as in
///   Clojure (`(= 1 1.0)` is false). EDN's `M` suffix is read the same way.
/// - A float beyond the largest double is infinite, as Clojure and JavaScript read it:
///   `1e400`, `1e+400`, `2e400` and `##Inf` are one value (`##-Inf` for negative ones).
/// - A leading zero (`010`) is an error, as in EDN's and JSON's grammars: it is not 10.
pub(crate) fn number(t: &str) -> Result<Option<Edn>, String> {
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !unsigned.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(None);
    }
    let negative = t.starts_with('-');
    let integer = unsigned.strip_suffix('N').unwrap_or(unsigned);
    if integer.bytes().all(|b| b.is_ascii_digit()) {
        if integer.len() > 1 && integer.starts_with('0') {
            let trimmed = integer.trim_start_matches('0');
            return Err(format!(
                "the integer {} has a leading zero, which EDN and JSON do not allow (write {})",
                excerpt(t),
                excerpt(format_args!(
                    "{}{}",
                    if negative { "-" } else { "" },
                    if trimmed.is_empty() { "0" } else { trimmed }
                ))
            ));
        }
        let signed = format!("{}{integer}", if negative { "-" } else { "" });
        return Ok(Some(match signed.parse::<i64>() {
            Ok(i) => Edn::Int(i),
            // -0 never reaches here (it parses); any other size is kept exactly.
            Err(_) => Edn::Symbol(signed),
        }));
    }
    let decimal = unsigned.strip_suffix('M').unwrap_or(unsigned);
    let digits_before = decimal.bytes().take_while(u8::is_ascii_digit).count();
    if digits_before > 1 && decimal.starts_with('0') {
        return Err(format!(
            "the number {} has a leading zero, which EDN and JSON do not allow",
            excerpt(t)
        ));
    }
    match decimal.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            let f = if negative { -f } else { f };
            // -0.0 and 0.0 are equal doubles: one value.
            let f = if f == 0.0 { 0.0 } else { f };
            Ok(Some(Edn::Symbol(format!("{f:?}"))))
        }
        // Kept as its text, `1e400` was not `1e+400`, and JSON Lines (whose parser writes
        // exponents with a sign) disagreed with EDN on the same history.
        Ok(f) if f.is_infinite() => Ok(Some(Edn::Symbol(
            if negative { "##-Inf" } else { "##Inf" }.into(),
        ))),
        _ => Ok(None),
    }
}

/// A reader over the text itself, by byte offset: a history of hundreds of megabytes is
/// read in place rather than copied into a vector of `char`s four times its size.
struct Parser<'a> {
    text: &'a str,
    /// The byte offset of the next character.
    pos: usize,
    line: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            // A byte-order mark is not part of the text.
            text: text.trim_start_matches('\u{feff}'),
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    /// The character at byte offset `at`, which is always on a character boundary.
    #[inline]
    fn char_at(&self, at: usize) -> Option<char> {
        match self.text.as_bytes().get(at) {
            Some(&b) if b.is_ascii() => Some(b as char),
            Some(_) => self.text[at..].chars().next(),
            None => None,
        }
    }

    fn peek(&self) -> Option<char> {
        self.char_at(self.pos)
    }

    fn peek2(&self) -> Option<char> {
        let c = self.peek()?;
        self.char_at(self.pos + c.len_utf8())
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Skips whitespace, commas, comments and discarded (`#_`) values.
    ///
    /// Discards are counted, not recursed into: `#_ #_ a b` discards `a` and `b`, and fifty
    /// thousand `#_` in a row cost a counter, not fifty thousand stack frames.
    fn skip(&mut self) -> Result<(), (usize, String)> {
        let mut discards = 0usize;
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c.is_whitespace() || c == ',' {
                self.bump();
            } else if c == '#' && self.peek2() == Some('_') {
                self.bump();
                self.bump();
                discards += 1;
            } else if discards > 0 {
                // A value starts here (not a discard), so `value`'s own skip returns at
                // once: the recursion is one frame deep, nesting bounded as usual.
                self.value()?;
                discards -= 1;
            } else {
                break;
            }
        }
        if discards > 0 {
            return self.error("a value after `#_`");
        }
        Ok(())
    }

    fn error<T>(&self, what: &str) -> Result<T, (usize, String)> {
        let found = match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "end of input".to_string(),
        };
        Err((self.line, format!("expected {what}, found {found}")))
    }

    fn value(&mut self) -> Result<Edn, (usize, String)> {
        self.skip()?;
        if self.depth >= MAX_DEPTH {
            return Err((self.line, format!("values nest more than {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        let value = self.value_here();
        self.depth -= 1;
        value
    }

    fn value_here(&mut self) -> Result<Edn, (usize, String)> {
        match self.peek() {
            None => self.error("a value"),
            Some('[') => {
                self.bump();
                Ok(Edn::Seq(self.items_until(']')?))
            }
            Some('(') => {
                self.bump();
                Ok(Edn::Seq(self.items_until(')')?))
            }
            Some('{') => {
                let opened = self.line;
                self.bump();
                let items = self.items_until('}')?;
                if items.len() % 2 != 0 {
                    return Err((opened, "a map needs a value after every key".into()));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    entries.push((k, v));
                }
                let map = Edn::map(entries);
                // Keeping one of the values would pick silently (the smaller, once
                // sorted), and the JSON Lines reader refuses the same object.
                if let Edn::Map(sorted) = &map {
                    if let Some(twice) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
                        return Err((
                            opened,
                            format!(
                                "the key {} appears twice in the map this line opens",
                                excerpt(&twice[0].0)
                            ),
                        ));
                    }
                }
                Ok(map)
            }
            Some('#') => {
                self.bump();
                match self.peek() {
                    Some('{') => {
                        self.bump();
                        Ok(Edn::set(self.items_until('}')?))
                    }
                    // `##Inf`, `##NaN`: symbolic numbers, kept as symbols.
                    Some('#') => {
                        self.bump();
                        Ok(Edn::Symbol(format!("##{}", self.token())))
                    }
                    _ => {
                        // A tag such as `#inst`: its name says how to read the value,
                        // which we keep as it is.
                        if self.token().is_empty() {
                            return self.error("a tag, `{` or `_` after `#`");
                        }
                        self.value()
                    }
                }
            }
            Some('"') => self.string(),
            Some('\\') => {
                // A character: `\a`, `\(`, `\newline`, `\u0041`. Kept as a symbol that
                // spells it, so it compares equal to itself and to nothing else.
                self.bump();
                let Some(first) = self.bump() else {
                    return self.error("a character after `\\`");
                };
                Ok(Edn::Symbol(format!("\\{first}{}", self.token())))
            }
            Some(c @ (']' | ')' | '}')) => Err((self.line, format!("unexpected `{c}`"))),
            Some(_) => {
                let token = self.token();
                if token.is_empty() {
                    return self.error("a value");
                }
                Ok(match token.as_str() {
                    "nil" => Edn::Nil,
                    "true" => Edn::Bool(true),
                    "false" => Edn::Bool(false),
                    t if t.starts_with(':') => Edn::Keyword(t[1..].to_string()),
                    t => match number(t) {
                        Ok(Some(n)) => n,
                        Ok(None) => Edn::Symbol(t.to_string()),
                        Err(e) => return Err((self.line, e)),
                    },
                })
            }
        }
    }

    /// Values up to and including `close`.
    fn items_until(&mut self, close: char) -> Result<Vec<Edn>, (usize, String)> {
        let opened = self.line;
        let mut items = Vec::new();
        loop {
            self.skip()?;
            match self.peek() {
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                None => return Err(unclosed(close, opened)),
                Some(c @ (']' | ')' | '}')) => {
                    return Err((self.line, format!("expected `{close}`, found `{c}`")))
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    /// A string, from its opening quote.
    fn string(&mut self) -> Result<Edn, (usize, String)> {
        let opened = self.line;
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(unclosed('"', opened)),
                Some('"') => return Ok(Edn::Str(s)),
                Some('\\') => {
                    // The line of the backslash: the escaped character may be a newline.
                    let at = self.line;
                    match self.bump() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some('b') => s.push('\u{8}'),
                        Some('f') => s.push('\u{c}'),
                        Some(c @ ('"' | '\\' | '/')) => s.push(c),
                        Some('u') => s.push(self.unicode_escape(at)?),
                        Some(c) => {
                            return Err((
                                at,
                                format!("unknown escape in a string: `\\` followed by {c:?}"),
                            ))
                        }
                        None => return Err(unclosed('"', opened)),
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// The four hex digits of a `\u` escape, after the `u`, and for a UTF-16 high
    /// surrogate the `\uXXXX` low surrogate that must follow: Clojure's strings are
    /// UTF-16, so `"\uD83D\uDE00"` is one character, as in JSON. `at` is the escape's line.
    fn unicode_escape(&mut self, at: usize) -> Result<char, (usize, String)> {
        let hex = |p: &mut Parser| -> Result<u32, (usize, String)> {
            let digits: String = (0..4).filter_map(|_| p.bump()).collect();
            // `from_str_radix` alone would take `+041`.
            match digits.len() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
                true => Ok(u32::from_str_radix(&digits, 16).expect("four hex digits")),
                false => Err((
                    at,
                    format!("expected 4 hex digits after \\u, found {digits:?}"),
                )),
            }
        };
        let unit = hex(self)?;
        let code = match unit {
            0xD800..=0xDBFF => {
                let low = match (self.bump(), self.bump()) {
                    (Some('\\'), Some('u')) => hex(self)?,
                    _ => 0,
                };
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err((
                        at,
                        format!("\\u{unit:04X} (a high surrogate) must be followed by a \\u low surrogate"),
                    ));
                }
                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err((
                    at,
                    format!("\\u{unit:04X} is a low surrogate without a high one before it"),
                ))
            }
            _ => unit,
        };
        Ok(char::from_u32(code).expect("not a surrogate"))
    }

    /// The characters up to the next delimiter.
    fn token(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !",;[](){}\"\\".contains(c))
        {
            self.bump();
        }
        self.text[start..self.pos].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jepsen_ops() {
        let v = parse_all("; a comment\n[{:process 0, :type :ok, :f :cas, :value [1 2]}\n {:key \"a\\\"b\" :value nil}]")
            .unwrap();
        let Edn::Seq(ops) = &v[0] else { panic!() };
        assert_eq!(ops[0].get("process"), Some(&Edn::Int(0)));
        assert_eq!(ops[0].get("type"), Some(&Edn::Keyword("ok".into())));
        assert_eq!(
            ops[0].get("value"),
            Some(&Edn::Seq(vec![Edn::Int(1), Edn::Int(2)]))
        );
        assert_eq!(ops[1].get("key"), Some(&Edn::Str("a\"b".into())));
        assert_eq!(ops[1].get("value"), Some(&Edn::Nil));
    }

    #[test]
    fn ops_come_with_their_lines_in_either_layout() {
        let whole = parse_ops("; c\n[{:a 1}\n {:a 2}]\n").unwrap();
        assert_eq!(
            whole.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![2, 3]
        );
        let lines = parse_ops("{:a 1}\n\n{:a 2}\n").unwrap();
        assert_eq!(
            lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(parse_ops("[{:a 1}] {:a 2}").unwrap_err().0, 1);
    }

    #[test]
    fn sets_tags_and_discards() {
        let v = parse_all("#{3 1 #_ 9 1} #inst \"2020\" #jepsen.history.Op{:f :read}").unwrap();
        assert_eq!(v[0], Edn::Set(vec![Edn::Int(1), Edn::Int(3)]));
        assert_eq!(v[1], Edn::Str("2020".into()));
        assert_eq!(v[2].get("f").and_then(Edn::name), Some("read"));
    }

    #[test]
    fn maps_compare_by_content_and_strings_unescape() {
        let v = parse_all(r#"{:a 1 :b 2} {:b 2, :a 1} "a\rb\u0041\"\\" \( 1N"#).unwrap();
        assert_eq!(v[0], v[1]);
        assert_eq!(v[2], Edn::Str("a\rbA\"\\".into()));
        assert_eq!(v[3], Edn::Symbol("\\(".into()));
        assert_eq!(v[4], Edn::Int(1));
        assert!(parse_all(r#""\q""#)
            .unwrap_err()
            .1
            .contains("unknown escape"));
        // UTF-16 surrogate pairs, as Clojure's and JSON's strings have them.
        assert_eq!(
            parse_all(r#""\uD83D\uDE00\u00e9""#).unwrap(),
            vec![Edn::Str("😀é".into())]
        );
        assert!(parse_all(r#""\uD83D x""#)
            .unwrap_err()
            .1
            .contains("high surrogate"));
        assert!(parse_all(r#""\uDE00""#)
            .unwrap_err()
            .1
            .contains("low surrogate"));
        assert!(parse_all(r#""\u+041""#)
            .unwrap_err()
            .1
            .contains("4 hex digits"));
    }

    #[test]
    fn discards_may_end_a_collection_and_nesting_is_bounded() {
        assert_eq!(
            parse_all("[1 #_ {:x 1}] #_ 2").unwrap(),
            vec![Edn::Seq(vec![Edn::Int(1)])]
        );
        let deep = "[".repeat(100_000);
        assert!(parse_all(&deep).unwrap_err().1.contains("nest more than"));
        assert!(parse_ops(&deep).unwrap_err().1.contains("nest more than"));
    }

    #[test]
    fn issue_15_item_5_a_long_run_of_discards_does_not_overflow_the_stack() {
        let discards = "#_ ".repeat(50_000);
        let err = parse_all(&discards).unwrap_err();
        assert!(err.1.contains("a value after `#_`"), "{err:?}");
        let values = " 1".repeat(50_000);
        assert_eq!(
            parse_all(&format!("{discards}{values} 7")).unwrap(),
            vec![Edn::Int(7)]
        );
        assert_eq!(
            parse_all("[#_ #_ 1 2 3] #_ ; a comment\n 4 5").unwrap(),
            vec![Edn::Seq(vec![Edn::Int(3)]), Edn::Int(5)]
        );
        assert!(parse_all("[1 #_]").is_err());
    }

    #[test]
    fn issue_15_item_1_numbers_follow_one_rule() {
        let one = |t: &str| parse_all(t).unwrap().remove(0);
        // Integers are exact at any size.
        assert_ne!(one("18446744073709551616"), one("18446744073709551617"));
        assert_eq!(one("18446744073709551616"), one("18446744073709551616N"));
        assert_eq!(one("1N"), Edn::Int(1));
        assert_eq!(one("-9223372036854775808"), Edn::Int(i64::MIN));
        // Floats are doubles; an integer is never a float.
        assert_eq!(one("1.0"), one("1.00"));
        assert_eq!(one("1e2"), one("100.0"));
        assert_eq!(one("0.3"), one("0.30000000000000001"));
        assert_eq!(one("-0.0"), one("0.0"));
        assert_ne!(one("1.0"), one("1"));
        assert_ne!(one("0.1"), one("0.2"));
        // Leading zeros are refused, not read as decimal.
        assert!(parse_all("010").unwrap_err().1.contains("leading zero"));
        assert!(parse_all("[1 -007]")
            .unwrap_err()
            .1
            .contains("leading zero"));
        assert_eq!(one("0"), Edn::Int(0));
        assert_eq!(one("0.5"), Edn::Symbol("0.5".into()));
        // Beyond the largest double: infinite, one value however it is written.
        assert_eq!(one("1e400"), Edn::Symbol("##Inf".into()));
        assert_eq!(one("1e400"), one("1e+400"));
        assert_eq!(one("2e400"), one("##Inf"));
        assert_eq!(one("-1e400"), one("##-Inf"));
        assert_eq!(one("1e-400"), one("0.0"));
        // Not numbers.
        assert_eq!(one("-"), Edn::Symbol("-".into()));
        assert_eq!(one("+inc"), Edn::Symbol("+inc".into()));
    }

    #[test]
    fn reader_fuzz_found_a_map_with_a_key_twice_read_as_one_of_its_values() {
        let e = parse_all("[{:a 1}\n {:value 2\n  :value 1}]").unwrap_err();
        assert_eq!(e.0, 2, "{e:?}");
        assert!(e.1.contains("the key :value appears twice"), "{e:?}");
        // Equal keys however written: 1.0 and 1.00 are one number.
        assert!(parse_all("{1.0 :a 1.00 :b}").is_err());
        assert_eq!(parse_all("{:a 1 :b 1}").unwrap().len(), 1);
    }

    #[test]
    fn reader_fuzz_found_an_escaped_newline_made_a_two_line_error_on_the_next_line() {
        let e = parse_all("[\"a\\\nb\"]").unwrap_err();
        assert_eq!(e.0, 1, "{e:?}");
        assert!(!e.1.contains('\n'), "{e:?}");
        assert!(e.1.contains(r"followed by '\n'"), "{e:?}");
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse_all("\"abc\n\n\n").unwrap_err().0, 1);
        assert_eq!(parse_all("{:a 1\n :b}").unwrap_err().0, 1);
        assert!(parse_all("{:a}")
            .unwrap_err()
            .1
            .contains("value after every key"));
        assert!(parse_all("[1 2)")
            .unwrap_err()
            .1
            .contains("expected `]`, found `)`"));
        assert_eq!(parse_all("{:a 1}\n{:b").unwrap_err().0, 2);
        assert!(parse_all("[1 2").unwrap_err().1.contains("expected `]`"));
        assert_eq!(parse_all("{:a 1}\n{:b [1\n\n").unwrap_err().0, 2);
    }
}

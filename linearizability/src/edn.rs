//! A small reader for the subset of EDN that Jepsen histories use: `nil`, booleans,
//! integers, strings, keywords, symbols, vectors, lists, maps and sets. Commas are
//! whitespace; `;` starts a comment to the end of the line; `#_` discards the next value;
//! any other tag (`#inst "…"`, `#jepsen.history.Op{…}`) is dropped and its value kept.
//! Anything else that is not a delimiter (a float, a character) reads as a symbol, so it
//! still compares equal to itself.
//!
//! [`Edn`] is also the value type of the generic history formats: JSON values convert to
//! it (see [`crate::events`]).

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
    /// `{...}`, in file order.
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
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut out = Vec::new();
    loop {
        p.skip_space();
        if p.pos >= p.chars.len() {
            return Ok(out);
        }
        out.push(p.value()?);
    }
}

/// The operations of a Jepsen history file, each with the line it starts on: the elements
/// of a file that is one vector or list, or else every top-level value (one map per line).
pub fn parse_ops(text: &str) -> Result<Vec<(usize, Edn)>, (usize, String)> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut out = Vec::new();
    p.skip_space();
    let close = match p.peek() {
        Some('[') => Some(']'),
        Some('(') => Some(')'),
        _ => None,
    };
    if let Some(close) = close {
        p.bump();
        loop {
            p.skip_space();
            match p.peek() {
                Some(c) if c == close => {
                    p.bump();
                    break;
                }
                None => return p.error(&format!("`{close}` to end the history")),
                Some(_) => out.push((p.line, p.value()?)),
            }
        }
        p.skip_space();
        if p.peek().is_some() {
            return p.error("end of input after the history");
        }
        return Ok(out);
    }
    loop {
        p.skip_space();
        if p.peek().is_none() {
            return Ok(out);
        }
        out.push((p.line, p.value()?));
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c.is_whitespace() || c == ',' {
                self.bump();
            } else {
                break;
            }
        }
    }

    fn error<T>(&self, what: &str) -> Result<T, (usize, String)> {
        let found = match self.peek() {
            Some(c) => format!("`{c}`"),
            None => "end of input".to_string(),
        };
        Err((self.line, format!("expected {what}, found {found}")))
    }

    fn value(&mut self) -> Result<Edn, (usize, String)> {
        self.skip_space();
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
                self.bump();
                let items = self.items_until('}')?;
                if items.len() % 2 != 0 {
                    return Err((self.line, "a map needs a value after every key".into()));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    entries.push((k, v));
                }
                Ok(Edn::Map(entries))
            }
            Some('#') => {
                self.bump();
                match self.peek() {
                    Some('{') => {
                        self.bump();
                        Ok(Edn::set(self.items_until('}')?))
                    }
                    Some('_') => {
                        self.bump();
                        self.value()?;
                        self.value()
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
                    t => match t.parse::<i64>() {
                        Ok(i) => Edn::Int(i),
                        Err(_) => Edn::Symbol(t.to_string()),
                    },
                })
            }
        }
    }

    /// Values up to and including `close`.
    fn items_until(&mut self, close: char) -> Result<Vec<Edn>, (usize, String)> {
        // An unclosed bracket is reported where it was opened: the end of the input, where
        // the parser notices, is usually far from the mistake.
        let opened = self.line;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                None => {
                    return Err((
                        opened,
                        format!(
                            "expected `{close}` to close what this line opened, found end of input"
                        ),
                    ))
                }
                Some(c @ (']' | ')' | '}')) => {
                    return Err((self.line, format!("expected `{close}`, found `{c}`")))
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    /// A string, after its opening quote.
    fn string(&mut self) -> Result<Edn, (usize, String)> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return self.error("a closing `\"`"),
                Some('"') => return Ok(Edn::Str(s)),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c) => s.push(c),
                    None => return self.error("an escaped character"),
                },
                Some(c) => s.push(c),
            }
        }
    }

    /// The characters up to the next delimiter.
    fn token(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !",;[](){}\"#".contains(c))
        {
            self.bump();
        }
        self.chars[start..self.pos].iter().collect()
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
    fn errors_name_the_line() {
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

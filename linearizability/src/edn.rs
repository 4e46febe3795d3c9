//! A small reader for the subset of EDN that Jepsen histories use: `nil`, booleans,
//! integers, strings, keywords, symbols, vectors, lists and maps. Commas are whitespace;
//! `;` starts a comment to the end of the line.

use std::fmt;

/// An EDN value.
#[derive(Clone, Debug, PartialEq, Eq)]
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
            Some('[') | Some('(') => {
                let close = if self.bump() == Some('[') { ']' } else { ')' };
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some(close) {
                        self.bump();
                        return Ok(Edn::Seq(items));
                    }
                    if self.peek().is_none() {
                        return self.error(&format!("`{close}`"));
                    }
                    items.push(self.value()?);
                }
            }
            Some('{') => {
                self.bump();
                let mut entries = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek() == Some('}') {
                        self.bump();
                        return Ok(Edn::Map(entries));
                    }
                    if self.peek().is_none() {
                        return self.error("`}`");
                    }
                    let k = self.value()?;
                    self.skip_space();
                    if matches!(self.peek(), Some('}') | None) {
                        return self.error("a value after the key");
                    }
                    let v = self.value()?;
                    entries.push((k, v));
                }
            }
            Some('"') => {
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
            Some(_) => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !",;[](){}\"".contains(c))
                {
                    self.bump();
                }
                let token: String = self.chars[start..self.pos].iter().collect();
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
    fn errors_name_the_line() {
        assert_eq!(parse_all("{:a 1}\n{:b").unwrap_err().0, 2);
        assert!(parse_all("[1 2").unwrap_err().1.contains("expected `]`"));
    }
}

//! How a field's value changed, element by element, when the field holds a collection.
//!
//! Field values are the strings each model's `Protocol::fields` renders, so a collection
//! is recognised by its text. The forms the models use:
//!
//! | form | example | read as |
//! |---|---|---|
//! | `[a, b]`, `[a; b]`, `[p1 p2]` | a log `[1,2]`, records, `voted-yes [p1 p2]` | a list: order matters |
//! | `{a; b}`, `{a, b}` | messages in flight | a multiset |
//! | `a; b` | raft's `term 1: n1; term 2: n2` | a multiset |
//! | `k:v k:v` | raft's `matchIndex n2:0 n3:1` | a multiset of pairs |
//!
//! Inside brackets, elements are split at top-level `;`, else at top-level `,`, else at
//! spaces when every word is a process name such as `p1` or a `k:v` pair (so that
//! `[v1@1.c1 for n2]` stays one element). Nested brackets and parentheses are never split.
//! `-` and the empty string are the empty collection.
//!
//! A field is a collection only if every value it takes in the trace has the same form
//! ([`shape`]), so a scalar that happens to contain a `;` once is not mistaken for one, and
//! a value with one element (`term 1: n1`) is read as a collection when the field's
//! other values show it to be one. A list change is shown element by element only when
//! one value extends the other (`[1] -> [1, 2]` is `+2`); any other list change, and any
//! change of a scalar, stays `from -> to`.

use std::collections::HashMap;

/// How the values of one field are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Not a collection: a change is `from -> to`.
    Scalar,
    /// Bracketed and ordered: a change is `+` the appended or `-` the dropped tail, when
    /// one value is a prefix of the other.
    List,
    /// Unordered, with repeats counted: a change is the elements added and removed.
    Set,
}

/// The form of one value, before the field's other values are considered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// `-` or empty: an empty collection, or a scalar's "none".
    Empty,
    /// `[...]`.
    Bracketed,
    /// `{...}`.
    Braced,
    /// `k:v k:v ...`.
    Pairs,
    /// Has a top-level `; `.
    Semicolons,
    /// Anything else.
    Plain,
}

fn form(v: &str) -> Form {
    if is_empty(v) {
        Form::Empty
    } else if enclosed(v, '[', ']').is_some() {
        Form::Bracketed
    } else if enclosed(v, '{', '}').is_some() {
        Form::Braced
    } else if v.split(' ').all(is_pair) {
        Form::Pairs
    } else if split_top(v, ';').len() > 1 {
        Form::Semicolons
    } else {
        Form::Plain
    }
}

fn is_empty(v: &str) -> bool {
    v.is_empty() || v == "-"
}

/// `k:v` with no spaces, separators or brackets on either side, e.g. `n2:0`.
fn is_pair(word: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    word.split_once(':')
        .is_some_and(|(k, v)| plain(k) && plain(v))
}

/// A process name such as `n1`, `p2`, `c3`: letters then digits.
fn is_name(word: &str) -> bool {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    digits.len() < word.len() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// The text between `open` at the start of `v` and its matching `close` at the very end,
/// or `None` if `v` is not one such group (`[a] [b]` is not).
fn enclosed(v: &str, open: char, close: char) -> Option<&str> {
    if !v.starts_with(open) || !v.ends_with(close) {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in v.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (i + c.len_utf8() == v.len()).then(|| &v[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `s` split at each `sep` outside brackets and parentheses, each part trimmed; no parts
/// for a blank `s`.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

/// The elements between a collection's brackets.
fn items(inner: &str) -> Vec<&str> {
    for sep in [';', ','] {
        let parts = split_top(inner, sep);
        if parts.len() > 1 {
            return parts;
        }
    }
    let words: Vec<&str> = inner.split_whitespace().collect();
    if words.len() > 1 && words.iter().all(|w| is_name(w) || is_pair(w)) {
        return words;
    }
    split_top(inner, ';')
}

/// The elements of `v`, a value of a field of `shape` other than [`Shape::Scalar`].
fn elements(v: &str) -> Vec<&str> {
    match form(v) {
        Form::Empty => Vec::new(),
        Form::Bracketed => items(enclosed(v, '[', ']').unwrap_or_default()),
        Form::Braced => items(enclosed(v, '{', '}').unwrap_or_default()),
        Form::Pairs => v.split(' ').collect(),
        Form::Semicolons | Form::Plain => split_top(v, ';'),
    }
}

/// The shape of a field that takes `values` over a trace (its value in every state).
///
/// A list if every value that is not empty (`-`) is bracketed; a set if every such value
/// is braced, or every one is `k:v` pairs, or every one is a `;`-separated sequence (one
/// element, without a `;`, allowed) and at least one has two elements; a scalar
/// otherwise, and when every value is empty.
pub fn shape<'a>(values: impl IntoIterator<Item = &'a str>) -> Shape {
    let forms: Vec<Form> = values
        .into_iter()
        .map(form)
        .filter(|f| *f != Form::Empty)
        .collect();
    let all = |f: Form| !forms.is_empty() && forms.iter().all(|g| *g == f);
    // Semicolon-separated, where a value without a `;` is one element.
    let sequence = forms
        .iter()
        .all(|f| matches!(f, Form::Semicolons | Form::Plain))
        && forms.contains(&Form::Semicolons);
    if all(Form::Bracketed) {
        Shape::List
    } else if all(Form::Braced) || all(Form::Pairs) || sequence {
        Shape::Set
    } else {
        Shape::Scalar
    }
}

/// The elements a change from `from` to `to` added and removed, for a field of `shape`:
/// `Some((added, removed))` when the change is best shown element by element, `None`
/// when it stays `from -> to` (a scalar, a list that neither value extends, or a set
/// whose elements did not change).
///
/// Guarantee: for a set, removing `removed` from `from`'s elements and adding `added`
/// gives `to`'s elements as a multiset; for a list, `to`'s elements are `from`'s followed
/// by `added`, or `from`'s without the trailing `removed`.
pub fn delta(shape: Shape, from: &str, to: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (old, new) = (elements(from), elements(to));
    let owned = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match shape {
        Shape::Scalar => None,
        Shape::List if new.len() > old.len() && new.starts_with(&old) => {
            Some((owned(&new[old.len()..]), Vec::new()))
        }
        Shape::List if old.len() > new.len() && old.starts_with(&new) => {
            Some((Vec::new(), owned(&old[new.len()..])))
        }
        Shape::List => None,
        Shape::Set => {
            let mut left: HashMap<&str, usize> = HashMap::new();
            for x in &new {
                *left.entry(x).or_default() += 1;
            }
            let mut removed = Vec::new();
            for x in &old {
                match left.get_mut(x) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => removed.push(x.to_string()),
                }
            }
            let mut kept: HashMap<&str, usize> = HashMap::new();
            for x in &old {
                *kept.entry(x).or_default() += 1;
            }
            let mut added = Vec::new();
            for x in &new {
                match kept.get_mut(x) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => added.push(x.to_string()),
                }
            }
            (!added.is_empty() || !removed.is_empty()).then_some((added, removed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The change as the text report shows it: `-a +b`, or `from -> to`.
    fn shown(values: &[&str], from: &str, to: &str) -> String {
        match delta(shape(values.iter().copied()), from, to) {
            Some((added, removed)) => {
                let mut parts: Vec<String> = removed.iter().map(|r| format!("-{r}")).collect();
                parts.extend(added.iter().map(|a| format!("+{a}")));
                parts.join(" ")
            }
            None => format!("{from} -> {to}"),
        }
    }

    #[test]
    fn braced_sets_show_added_and_removed_messages() {
        let vals = ["{}", "{A; B; C}", "{A; B; C; D}", "{B; C; D}"];
        assert_eq!(shown(&vals, "{A; B; C}", "{A; B; C; D}"), "+D");
        assert_eq!(shown(&vals, "{A; B; C; D}", "{B; C; D}"), "-A");
        assert_eq!(shown(&vals, "{}", "{A; B; C}"), "+A +B +C");
        assert_eq!(
            shown(
                &["{}", "{coord -> p1 Prepare; coord -> p2 Prepare}"],
                "{coord -> p1 Prepare; coord -> p2 Prepare}",
                "{coord -> p2 Prepare}"
            ),
            "-coord -> p1 Prepare"
        );
    }

    #[test]
    fn braces_inside_elements_are_not_split() {
        let from = "{c1 -> n1 Write{op: 1, value: v1@1.c1}; c1 -> n2 Read{op: 1}}";
        let to = "{c1 -> n2 Read{op: 1}}";
        assert_eq!(
            shown(&[from, to], from, to),
            "-c1 -> n1 Write{op: 1, value: v1@1.c1}"
        );
    }

    #[test]
    fn multisets_count_repeats() {
        let vals = ["{A; A}", "{A; A; A}", "{A}"];
        assert_eq!(shown(&vals, "{A; A}", "{A; A; A}"), "+A");
        assert_eq!(shown(&vals, "{A; A; A}", "{A}"), "-A -A");
    }

    #[test]
    fn semicolon_histories_are_sets_even_with_one_element() {
        let vals = [
            "-",
            "term 1: n1",
            "term 1: n1; term 2: n2",
            "term 1: n1; term 2: n2; term 3: n1",
        ];
        assert_eq!(
            shown(&vals, "term 1: n1", "term 1: n1; term 2: n2"),
            "+term 2: n2"
        );
        assert_eq!(shown(&vals, "-", "term 1: n1"), "+term 1: n1");
    }

    #[test]
    fn a_field_that_never_has_two_elements_is_a_scalar() {
        let vals = ["-", "index 1: term-1 entry (in term 3)"];
        assert_eq!(shape(vals), Shape::Scalar);
        assert_eq!(
            shown(&vals, "-", "index 1: term-1 entry (in term 3)"),
            "- -> index 1: term-1 entry (in term 3)"
        );
    }

    #[test]
    fn pairs_are_a_map_like_set() {
        let vals = ["-", "n2:0 n3:0", "n2:0 n3:1"];
        assert_eq!(shape(vals), Shape::Set);
        assert_eq!(shown(&vals, "n2:0 n3:0", "n2:0 n3:1"), "-n3:0 +n3:1");
        assert_eq!(shown(&vals, "-", "n2:0 n3:0"), "+n2:0 +n3:0");
        assert_eq!(shown(&vals, "n2:0 n3:1", "-"), "-n2:0 -n3:1");
    }

    #[test]
    fn lists_show_appends_and_truncations_only() {
        let vals = ["[]", "[1]", "[1,2]", "[1,3]"];
        assert_eq!(shape(vals), Shape::List);
        assert_eq!(shown(&vals, "[]", "[1]"), "+1");
        assert_eq!(shown(&vals, "[1]", "[1,2]"), "+2");
        assert_eq!(shown(&vals, "[1,2]", "[1]"), "-2");
        // Neither extends the other: the whole values.
        assert_eq!(shown(&vals, "[1,2]", "[1,3]"), "[1,2] -> [1,3]");
        assert_eq!(shown(&vals, "[2]", "[1,2]"), "[2] -> [1,2]");
    }

    #[test]
    fn space_separated_names_in_brackets_are_elements() {
        let vals = ["[]", "[p1]", "[p1 p2]", "[p1 p2 p3]"];
        assert_eq!(shown(&vals, "[p1]", "[p1 p2]"), "+p2");
        assert_eq!(shown(&vals, "[]", "[p1]"), "+p1");
    }

    #[test]
    fn words_that_are_not_names_stay_one_element() {
        let vals = [
            "[]",
            "[v1@1.c1 for n2]",
            "[put(v1) -> pending]",
            "[put(v1) -> ok]",
        ];
        assert_eq!(shown(&vals, "[]", "[v1@1.c1 for n2]"), "+v1@1.c1 for n2");
        assert_eq!(
            shown(&vals, "[]", "[put(v1) -> pending]"),
            "+put(v1) -> pending"
        );
        // A changed element is not an append.
        assert_eq!(
            shown(&vals, "[put(v1) -> pending]", "[put(v1) -> ok]"),
            "[put(v1) -> pending] -> [put(v1) -> ok]"
        );
    }

    #[test]
    fn scalars_stay_from_to() {
        for vals in [
            vec!["0", "1", "2"],
            vec!["-", "n1", "n2"],
            vec!["follower", "candidate"],
            vec!["preparing, yes from []", "decided Commit, acked by [p1 p2]"],
            vec!["S memory=0 sharers=[c1 c2]", "M memory=0 owner=c1"],
            vec!["false (for good)", "true"],
            vec!["M(1)", "I"],
        ] {
            assert_eq!(shape(vals.iter().copied()), Shape::Scalar, "{vals:?}");
        }
        assert_eq!(shown(&["0", "1"], "0", "1"), "0 -> 1");
    }

    #[test]
    fn mixed_forms_are_scalars() {
        assert_eq!(shape(["[a]", "{b}"]), Shape::Scalar);
        assert_eq!(shape(["[a] [b]", "[c]"]), Shape::Scalar);
        assert_eq!(shape(["a; b", "n1:0 n2:0"]), Shape::Scalar);
        assert_eq!(shape(["-", ""]), Shape::Scalar);
    }

    #[test]
    fn a_reordered_set_is_a_whole_change() {
        let vals = ["{A; B}", "{B; A}"];
        assert_eq!(shown(&vals, "{A; B}", "{B; A}"), "{A; B} -> {B; A}");
    }

    #[test]
    fn unbalanced_text_is_not_a_collection() {
        assert_eq!(enclosed("[a", '[', ']'), None);
        assert_eq!(enclosed("a]", '[', ']'), None);
        assert_eq!(enclosed("[a]]", '[', ']'), None);
        assert_eq!(enclosed("[[a]]", '[', ']'), Some("[a]"));
        assert_eq!(shape(["[a", "[a]]"]), Shape::Scalar);
    }

    quickcheck::quickcheck! {
        /// A set delta applied to the old elements gives the new ones, as multisets.
        fn set_deltas_turn_old_into_new(old: Vec<u8>, new: Vec<u8>) -> bool {
            let show = |xs: &[u8]| {
                let items: Vec<String> = xs.iter().map(|x| format!("m{}", x % 5)).collect();
                format!("{{{}}}", items.join("; "))
            };
            let (from, to) = (show(&old), show(&new));
            let sorted = |v: Vec<String>| { let mut v = v; v.sort(); v };
            let want = sorted(elements(&to).iter().map(|s| s.to_string()).collect());
            match delta(Shape::Set, &from, &to) {
                None => sorted(elements(&from).iter().map(|s| s.to_string()).collect()) == want,
                Some((added, removed)) => {
                    let mut got: Vec<String> = elements(&from).iter().map(|s| s.to_string()).collect();
                    for r in &removed {
                        match got.iter().position(|g| g == r) {
                            Some(k) => { got.remove(k); }
                            None => return false,
                        }
                    }
                    got.extend(added);
                    sorted(got) == want
                }
            }
        }

        /// A list delta is an append or a truncation of the old elements.
        fn list_deltas_extend_or_truncate(old: Vec<u8>, new: Vec<u8>) -> bool {
            let show = |xs: &[u8]| {
                let items: Vec<String> = xs.iter().map(|x| (x % 3).to_string()).collect();
                format!("[{}]", items.join(","))
            };
            let (from, to) = (show(&old), show(&new));
            let (o, n) = (elements(&from), elements(&to));
            match delta(Shape::List, &from, &to) {
                None => !(n.starts_with(&o) || o.starts_with(&n)) || o == n,
                Some((added, removed)) => {
                    let mut got: Vec<String> = o.iter().map(|s| s.to_string()).collect();
                    got.truncate(o.len() - removed.len());
                    got.extend(added);
                    got == n.iter().map(|s| s.to_string()).collect::<Vec<_>>()
                }
            }
        }
    }
}

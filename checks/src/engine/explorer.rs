//! stateright's Explorer, speaking the CLI's protocol words and opened at the CLI's
//! counterexample.
//!
//! The Explorer labels actions with their `Debug` form (`Timeout(0)`, 0-based ids) and
//! shows states as Rust structs. [`Worded`] wraps a model so that each action carries its
//! [`models::Protocol::describe_action`] line and each step shows the changed state as the
//! report's fields: the same words as `check`'s trace. The Explorer addresses a path as
//! `#/steps/<initial state index>/<action index>/...`; [`explorer_path`] gives that
//! address for a trace, so `check ... --explore ADDR` can print a link that opens at it.

use super::Checkable;
use anyhow::{anyhow, Result};
use models::wrap::{check_forwardable, forwarded, Wrapper};
use stateright::{Model, Property};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// An action with its description in protocol words. Two are equal when their actions
/// are: the words are a label, not part of the model.
#[derive(Clone)]
pub struct WordedAction<A> {
    action: A,
    words: Arc<str>,
}

impl<A: PartialEq> PartialEq for WordedAction<A> {
    fn eq(&self, other: &Self) -> bool {
        self.action == other.action
    }
}

impl<A> fmt::Debug for WordedAction<A> {
    // The Explorer prints actions with `Debug`: print the protocol words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words)
    }
}

/// A model whose actions and steps read as the CLI's trace does. Its states, enabled
/// actions (in the same order) and properties are the wrapped model's, so a path's
/// indices address the same states in both.
#[derive(Clone)]
pub struct Worded<M: Model> {
    inner: M,
    properties: Arc<Vec<Property<M>>>,
}

impl<M: Checkable> Worded<M> {
    /// Wraps `model`.
    ///
    /// # Errors
    /// If the model has more properties than the wrapper can forward.
    pub fn new(model: M) -> Result<Self> {
        let properties = model.properties();
        check_forwardable(&properties)?;
        Ok(Worded {
            inner: model,
            properties: Arc::new(properties),
        })
    }
}

impl<M: Checkable> Wrapper for Worded<M> {
    type Inner = M;
    fn inner(&self) -> &M {
        &self.inner
    }
    fn inner_properties(&self) -> &[Property<M>] {
        &self.properties
    }
}

impl<M: Checkable> Model for Worded<M> {
    type State = M::State;
    type Action = WordedAction<M::Action>;

    fn init_states(&self) -> Vec<M::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &M::State, actions: &mut Vec<Self::Action>) {
        let mut inner = Vec::new();
        self.inner.actions(state, &mut inner);
        actions.extend(inner.into_iter().map(|action| WordedAction {
            words: self.inner.describe_action(state, &action).into(),
            action,
        }));
    }

    fn next_state(&self, last: &M::State, action: Self::Action) -> Option<M::State> {
        self.inner.next_state(last, action.action)
    }

    fn format_step(&self, last: &M::State, action: Self::Action) -> Option<String> {
        // The state after the step as the report's fields, changed ones marked.
        let before = self.inner.fields(last);
        let next = self.inner.next_state(last, action.action)?;
        let lines: Vec<String> = self
            .inner
            .fields(&next)
            .into_iter()
            .map(|(name, value)| {
                let changed = !before.iter().any(|(n, v)| *n == name && *v == value);
                format!("{} {name} = {value}", if changed { "*" } else { " " })
            })
            .collect();
        Some(lines.join("\n"))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        forwarded(self)
    }

    fn within_boundary(&self, state: &M::State) -> bool {
        self.inner.within_boundary(state)
    }
}

/// The Explorer's address of the path from `init` through `actions`, as
/// `<initial state index>/<action index>/...`: each index is the position in the model's
/// (deterministic) `init_states` and `actions` lists. `None` if the path is not one of
/// the model's.
pub fn explorer_path<M: Checkable>(
    model: &M,
    init: &M::State,
    actions: &[M::Action],
) -> Option<String> {
    let mut parts = vec![model.init_states().iter().position(|s| s == init)?];
    let mut state = init.clone();
    for action in actions {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        parts.push(enabled.iter().position(|a| a == action)?);
        state = model.next_state(&state, action.clone())?;
    }
    let parts: Vec<String> = parts.iter().map(usize::to_string).collect();
    Some(parts.join("/"))
}

/// The URL that opens the Explorer on `addr` at `path` (from [`explorer_path`]).
pub fn url(addr: SocketAddr, path: Option<&str>) -> String {
    match path {
        Some(p) => format!("http://{addr}/#/steps/{p}"),
        None => format!("http://{addr}/"),
    }
}

/// Checks that `addr` can be bound, so that a bad address fails before a long check
/// rather than after it (stateright panics when it cannot bind).
pub fn can_serve(addr: SocketAddr) -> Result<()> {
    drop(
        std::net::TcpListener::bind(addr)
            .map_err(|e| anyhow!("cannot serve the Explorer on {addr}: {e}"))?,
    );
    Ok(())
}

/// Serves the Explorer for `model` on `addr`, in protocol words, and never returns unless
/// the address cannot be bound.
pub fn serve<M: Checkable>(model: M, addr: SocketAddr, threads: usize) -> Result<()> {
    let worded = Worded::new(model)?;
    can_serve(addr)?;
    worded.checker().threads(threads).serve(addr);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Expectation;

    /// A counter that may step by one or two, up to 4.
    #[derive(Clone)]
    struct Counter;

    /// Add one or two.
    #[derive(Clone, Copy, Debug, PartialEq, strum::IntoStaticStr, strum::VariantNames)]
    enum Add {
        One,
        Two,
    }

    impl Add {
        fn n(self) -> u8 {
            match self {
                Add::One => 1,
                Add::Two => 2,
            }
        }
    }

    impl Model for Counter {
        type State = u8;
        type Action = Add;
        fn init_states(&self) -> Vec<u8> {
            vec![0, 10]
        }
        fn actions(&self, s: &u8, actions: &mut Vec<Add>) {
            if *s < 4 {
                actions.extend([Add::One, Add::Two]);
            }
        }
        fn next_state(&self, s: &u8, a: Add) -> Option<u8> {
            Some(s + a.n())
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("small", |_, s| *s < 12),
                Property::sometimes("three", |_, s| *s == 3),
            ]
        }
    }

    impl models::Protocol for Counter {
        fn describe_action(&self, s: &u8, a: &Add) -> String {
            format!("add {} to {s}", a.n())
        }
        fn fields(&self, s: &u8) -> Vec<(String, String)> {
            vec![("count".into(), s.to_string())]
        }
        fn explain(&self, _: &str, _: &u8) -> Vec<String> {
            vec![]
        }
    }

    #[test]
    fn a_path_is_addressed_by_its_indices() {
        assert_eq!(
            explorer_path(&Counter, &0, &[Add::Two, Add::One]).as_deref(),
            Some("0/1/0")
        );
        assert_eq!(explorer_path(&Counter, &10, &[]).as_deref(), Some("1"));
        assert_eq!(explorer_path(&Counter, &5, &[]), None);
        assert_eq!(explorer_path(&Counter, &4, &[Add::One]), None);
    }

    #[test]
    fn the_worded_model_speaks_protocol_words_and_keeps_the_properties() {
        let w = Worded::new(Counter).unwrap();
        let mut actions = Vec::new();
        w.actions(&1, &mut actions);
        let labels: Vec<String> = actions.iter().map(|a| format!("{a:?}")).collect();
        assert_eq!(labels, ["add 1 to 1", "add 2 to 1"]);
        let step = w.format_step(&1, actions[1].clone()).unwrap();
        assert_eq!(step, "* count = 3");
        let props = w.properties();
        assert_eq!(props[0].name, "small");
        assert_eq!(props[1].expectation, Expectation::Sometimes);
        assert!((props[0].condition)(&w, &11));
        assert!(!(props[0].condition)(&w, &12));
        assert!((props[1].condition)(&w, &3));
    }
}

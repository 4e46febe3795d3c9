//! Turning a counterexample path into a [`Trace`]: replay it from its actions, confirm it
//! breaks the property exactly at its end, and name every step and changed field in the
//! model's protocol words.

use super::delta::{self, Shape};
use super::report::{Change, Field, Step, Trace};
use super::shortest::Shortest;
use super::{expectation_name, Checkable};
use anyhow::{anyhow, bail, Result};
use stateright::{Expectation, Path};
use std::collections::HashMap;

/// Replays a shortest counterexample found by the level search and renders it.
pub fn replay_shortest<M: Checkable>(model: &M, shortest: Shortest<M>) -> Result<Trace> {
    let path = Path::from_actions(model, shortest.init, &shortest.actions)
        .ok_or_else(|| anyhow!("internal error: the shortest counterexample does not replay"))?;
    replay(model, shortest.property, path, true)
}

/// Rebuilds `path` from its initial state and actions, confirms that it breaks `property`
/// at its last state and at no earlier one, and renders it.
pub fn replay<M>(
    model: &M,
    property: &'static str,
    path: Path<M::State, M::Action>,
    shortest: bool,
) -> Result<Trace>
where
    M: Checkable,
{
    let pairs = path.into_vec();
    let init = pairs[0].0.clone();
    let actions: Vec<M::Action> = pairs.iter().filter_map(|(_, a)| a.clone()).collect();
    let replayed = Path::from_actions(model, init, &actions).ok_or_else(|| {
        anyhow!("internal error: the counterexample to {property} does not replay: a step is not enabled")
    })?;
    let states = replayed.into_states();
    let properties = model.properties();
    let p = properties
        .iter()
        .find(|p| p.name == property)
        .expect("the property comes from this model");
    let holds_at = |s: &M::State| (p.condition)(model, s);
    let last = states.last().expect("a path has a state");
    let confirmed = match p.expectation {
        // A safety counterexample breaks the property at its end and nowhere before.
        Expectation::Always => !holds_at(last) && states[..states.len() - 1].iter().all(&holds_at),
        // A liveness counterexample never satisfies the property and cannot continue.
        Expectation::Eventually => {
            states.iter().all(|s| !holds_at(s))
                && model
                    .next_states(last)
                    .iter()
                    .all(|s| !model.within_boundary(s))
        }
        Expectation::Sometimes => false,
    };
    if !confirmed {
        bail!("internal error: the replayed trace does not break {property}");
    }

    let explorer_path = super::explorer::explorer_path(model, &states[0], &actions);
    let fields: Vec<Vec<(String, String)>> = states.iter().map(|s| model.fields(s)).collect();
    let shapes = shapes(&fields);
    let mut steps = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        steps.push(Step {
            number: i + 1,
            action: model.describe_action(&states[i], action),
            changes: diff(&fields[i], &fields[i + 1], &shapes),
            actor: model.actor(&states[i], action),
            arrows: model.arrows(&states[i], action, &states[i + 1]),
        });
    }
    let also_violated = properties
        .iter()
        .filter(|q| q.name != property && q.expectation == Expectation::Always)
        .filter(|q| !(q.condition)(model, last))
        .map(|q| q.name.to_string())
        .collect();
    Ok(Trace {
        property: property.to_string(),
        expectation: expectation_name(&p.expectation).to_string(),
        length: actions.len(),
        shortest,
        replayed: true,
        lanes: model.lanes(),
        initial_state: to_fields(fields[0].clone()),
        steps,
        final_state: to_fields(fields[fields.len() - 1].clone()),
        explanation: model.explain(property, last),
        also_violated,
        explorer_path,
    })
}

fn to_fields(pairs: Vec<(String, String)>) -> Vec<Field> {
    pairs
        .into_iter()
        .map(|(name, value)| Field { name, value })
        .collect()
}

/// Each field's [`Shape`], from the values it takes in every state of the trace.
fn shapes(states: &[Vec<(String, String)>]) -> HashMap<String, Shape> {
    let mut values: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, value) in states.iter().flatten() {
        values.entry(name).or_default().push(value);
    }
    values
        .into_iter()
        .map(|(name, vs)| (name.to_string(), delta::shape(vs)))
        .collect()
}

/// A change of field `field` from `from` to `to`, element by element if its shape says so.
fn change(field: &str, from: &str, to: &str, shapes: &HashMap<String, Shape>) -> Change {
    let shape = shapes.get(field).copied().unwrap_or(Shape::Scalar);
    let (added, removed) = match delta::delta(shape, from, to) {
        Some((a, r)) => (Some(a), Some(r)),
        None => (None, None),
    };
    Change {
        field: field.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        added,
        removed,
    }
}

/// The fields whose values differ, in `after`'s order. A field present on one side only
/// shows `-` on the other.
fn diff(
    before: &[(String, String)],
    after: &[(String, String)],
    shapes: &HashMap<String, Shape>,
) -> Vec<Change> {
    let old: HashMap<&str, &str> = before
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let new: HashMap<&str, &str> = after
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut changes: Vec<Change> = after
        .iter()
        .filter(|(k, v)| old.get(k.as_str()) != Some(&v.as_str()))
        .map(|(k, v)| change(k, old.get(k.as_str()).unwrap_or(&"-"), v, shapes))
        .collect();
    changes.extend(
        before
            .iter()
            .filter(|(k, _)| !new.contains_key(k.as_str()))
            .map(|(k, v)| change(k, v, "-", shapes)),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(xs: &[(&str, &str)]) -> Vec<(String, String)> {
        xs.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn diff_reports_changed_added_and_removed_fields() {
        let before = pairs(&[("a", "1"), ("b", "2"), ("gone", "x")]);
        let after = pairs(&[("a", "1"), ("b", "3"), ("new", "y")]);
        let changes: Vec<_> = diff(&before, &after, &HashMap::new())
            .into_iter()
            .map(|c| (c.field, c.from, c.to))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("b".into(), "2".into(), "3".into()),
                ("new".into(), "-".into(), "y".into()),
                ("gone".into(), "x".into(), "-".into()),
            ]
        );
    }

    #[test]
    fn diff_shows_collection_fields_element_by_element() {
        let states = vec![
            pairs(&[("history.leaders", "-"), ("n1.currentTerm", "0")]),
            pairs(&[("history.leaders", "term 1: n1"), ("n1.currentTerm", "1")]),
            pairs(&[
                ("history.leaders", "term 1: n1; term 2: n2"),
                ("n1.currentTerm", "2"),
            ]),
        ];
        let shapes = shapes(&states);
        let changes = diff(&states[1], &states[2], &shapes);
        assert_eq!(changes[0].field, "history.leaders");
        assert_eq!(changes[0].added, Some(vec!["term 2: n2".to_string()]));
        assert_eq!(changes[0].removed, Some(vec![]));
        assert_eq!(
            changes[0].to, "term 1: n1; term 2: n2",
            "from and to are kept"
        );
        assert_eq!(changes[1].field, "n1.currentTerm");
        assert_eq!(
            (changes[1].added.clone(), changes[1].removed.clone()),
            (None, None)
        );
    }

    quickcheck::quickcheck! {
        /// Applying the changes to `before` gives `after`, whatever the two hold.
        fn diff_changes_turn_before_into_after(before: Vec<(u8, u8)>, after: Vec<(u8, u8)>) -> bool {
            // Field names are unique within a state.
            let unique = |v: Vec<(u8, u8)>| {
                let map: std::collections::BTreeMap<String, String> = v
                    .into_iter()
                    .map(|(k, v)| (format!("f{k}"), v.to_string()))
                    .collect();
                map.into_iter().collect::<Vec<_>>()
            };
            let (before, after) = (unique(before), unique(after));
            let mut state: HashMap<String, String> = before.iter().cloned().collect();
            for c in diff(&before, &after, &HashMap::new()) {
                if c.to == "-" {
                    state.remove(&c.field);
                } else {
                    state.insert(c.field, c.to);
                }
            }
            state == after.into_iter().collect::<HashMap<_, _>>()
        }
    }
}

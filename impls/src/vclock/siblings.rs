//! A checker for what clients of a multi-value register saw: the right question for a
//! store that keeps concurrent writes as siblings, where linearizability is the wrong one.
//!
//! A history is puts and gets on one key. A get returns the sibling values and an opaque
//! context; a put carries the context of the get its client read (or none), and so
//! supersedes exactly what that context covers: the values that get returned, and,
//! transitively, what their own puts superseded. Values are unique per put.
//!
//! Two properties, over the history and its final read:
//! - **no lost update**: every put known to have taken effect (acknowledged, or seen by
//!   a read) is in the final read, or covered, through a chain of contexts, by a value in
//!   the final read (every link of which was returned by a get, so it landed: a put that
//!   may never have landed excuses nothing);
//! - **no false sibling**: the final read holds nothing that a put known to have taken
//!   effect (acknowledged, or seen by a read) covers, and nothing that was never put or
//!   whose put definitely failed. With the first, the final read is exactly the
//!   acknowledged puts that nothing supersedes (plus indefinite puts that landed).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How a put ended, as its client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PutOutcome {
    /// Acknowledged: it took effect.
    Ok,
    /// It definitely did not take effect.
    Failed,
    /// Unknown (a timeout): it may have taken effect.
    Indefinite,
}

/// One operation of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// A get, numbered `id`, that returned `values` (and a context a later put may carry).
    Get {
        /// Its number, which puts name as their context.
        id: u64,
        /// The siblings it returned.
        values: Vec<String>,
    },
    /// A put of `value` carrying the context of get `context` (none for a blind write).
    Put {
        /// The value, unique in the history.
        value: String,
        /// The get whose context it carried.
        context: Option<u64>,
        /// How it ended.
        outcome: PutOutcome,
    },
}

/// A finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Anomaly {
    /// A put known to have taken effect is neither in the final read nor covered by a
    /// value in it.
    LostUpdate {
        /// The put's value.
        value: String,
        /// What the final read returned.
        final_read: Vec<String>,
    },
    /// The final read holds `value`, which the put of `by` covers through `chain` (each
    /// value covered by the next: `by`'s context returned the last but one, ...).
    FalseSibling {
        /// The sibling that should have been superseded.
        value: String,
        /// The put that superseded it.
        by: String,
        /// `value`, then each put whose context covered the previous, up to `by`.
        chain: Vec<String>,
    },
    /// The final read holds a value no put wrote, or whose put definitely failed.
    Phantom {
        /// The value.
        value: String,
    },
    /// A put names a context no get in the history returned.
    UnknownContext {
        /// The put's value.
        value: String,
        /// The get it names.
        context: u64,
    },
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::LostUpdate { value, final_read } => write!(
                f,
                "lost update: the put of {value}, which took effect, is not in the final read [{}] and nothing there covers it",
                final_read.join(", ")
            ),
            Anomaly::FalseSibling { value, by, chain } => write!(
                f,
                "false sibling: the final read holds {value}, which the put of {by} superseded ({})",
                chain.join(" <- ")
            ),
            Anomaly::Phantom { value } => write!(
                f,
                "the final read holds {value}, which no put that may have taken effect wrote"
            ),
            Anomaly::UnknownContext { value, context } => write!(
                f,
                "the put of {value} carries the context of get {context}, which is not in the history"
            ),
        }
    }
}

/// The checker's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Puts in the history.
    pub puts: usize,
    /// Acknowledged puts.
    pub acknowledged: usize,
    /// Every anomaly found.
    pub anomalies: Vec<Anomaly>,
}

impl Verdict {
    /// Whether no update was lost and no sibling is false.
    pub fn holds(&self) -> bool {
        self.anomalies.is_empty()
    }
}

/// Checks `history` against its `final_read` (the siblings a read after every put ended
/// returned).
pub fn check(history: &[Op], final_read: &[String]) -> Verdict {
    let gets: BTreeMap<u64, &Vec<String>> = history
        .iter()
        .filter_map(|op| match op {
            Op::Get { id, values } => Some((*id, values)),
            Op::Put { .. } => None,
        })
        .collect();
    let puts: Vec<(&String, Option<u64>, PutOutcome)> = history
        .iter()
        .filter_map(|op| match op {
            Op::Put {
                value,
                context,
                outcome,
            } => Some((value, *context, *outcome)),
            Op::Get { .. } => None,
        })
        .collect();
    let by_value: BTreeMap<&String, (Option<u64>, PutOutcome)> =
        puts.iter().map(|&(v, c, o)| (v, (c, o))).collect();
    let mut anomalies = Vec::new();
    // What each put's context covers directly: the values its get returned.
    let mut direct: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
    for &(value, context, _) in &puts {
        let covered = match context {
            None => Vec::new(),
            Some(g) => match gets.get(&g) {
                Some(values) => values.iter().collect(),
                None => {
                    anomalies.push(Anomaly::UnknownContext {
                        value: value.clone(),
                        context: g,
                    });
                    Vec::new()
                }
            },
        };
        direct.insert(value, covered);
    }
    // The puts known to have taken effect: acknowledged, or seen by a read. Only these
    // must survive, and only these can make a value in the final read a false sibling:
    // an indefinite put that nobody saw may never have landed, and then what its context
    // covers rightly stays.
    let seen: BTreeSet<&String> = gets
        .values()
        .flat_map(|values| values.iter())
        .chain(final_read)
        .collect();
    let landed: Vec<&String> = puts
        .iter()
        .filter(|&&(v, _, o)| {
            o == PutOutcome::Ok || (o == PutOutcome::Indefinite && seen.contains(v))
        })
        .map(|&(v, _, _)| v)
        .collect();
    // A landed value missing from the final read is excused only by a value in the final
    // read that covers it: every link of such a chain was returned by a get, so it
    // landed. (A put that may never have landed excuses nothing.)
    let in_final: BTreeSet<&String> = final_read.iter().collect();
    for &v in &landed {
        let covered = final_read
            .iter()
            .any(|f| f != v && chain(&direct, f, v).is_some());
        if !in_final.contains(v) && !covered {
            anomalies.push(Anomaly::LostUpdate {
                value: v.clone(),
                final_read: final_read.to_vec(),
            });
        }
    }
    let acknowledged = puts.iter().filter(|(_, _, o)| *o == PutOutcome::Ok).count();
    let superseded_by = |value: &String| -> Option<Vec<String>> {
        landed
            .iter()
            .filter(|&&by| by != value)
            .find_map(|&by| chain(&direct, by, value))
    };
    for v in final_read {
        match by_value.get(v) {
            None | Some((_, PutOutcome::Failed)) => {
                anomalies.push(Anomaly::Phantom { value: v.clone() })
            }
            Some(_) => {
                if let Some(c) = superseded_by(v) {
                    anomalies.push(Anomaly::FalseSibling {
                        value: v.clone(),
                        by: c.last().cloned().unwrap_or_default(),
                        chain: c,
                    });
                }
            }
        }
    }
    Verdict {
        puts: puts.len(),
        acknowledged,
        anomalies,
    }
}

/// The chain by which the put of `by` covers `value`: `value`, then each put whose
/// context covered the previous, ending at `by`; `None` if it does not.
fn chain(
    direct: &BTreeMap<&String, Vec<&String>>,
    by: &String,
    value: &String,
) -> Option<Vec<String>> {
    // Breadth-first from `by` down through what each context covered.
    let mut back: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([by]);
    let mut seen = BTreeSet::from([by]);
    while let Some(at) = queue.pop_front() {
        for &next in direct.get(at).map_or(&[][..], |v| v.as_slice()) {
            if seen.insert(next) {
                back.insert(next, at);
                if next == value {
                    let mut path = vec![value.clone()];
                    let mut cur = value;
                    while let Some(&up) = back.get(cur) {
                        path.push(up.clone());
                        cur = up;
                    }
                    return Some(path);
                }
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(id: u64, values: &[&str]) -> Op {
        Op::Get {
            id,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn put(value: &str, context: Option<u64>, outcome: PutOutcome) -> Op {
        Op::Put {
            value: value.to_string(),
            context,
            outcome,
        }
    }

    fn read(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    use PutOutcome::{Failed, Indefinite, Ok};

    /// Two blind writes are siblings; a write with the context of a read of both
    /// supersedes both.
    #[test]
    fn concurrent_puts_are_siblings_until_a_put_that_read_them() {
        let h = [
            put("a", None, Ok),
            put("b", None, Ok),
            get(1, &["a", "b"]),
            put("c", Some(1), Ok),
        ];
        assert!(check(&h, &read(&["c"])).holds());
        // Without c, both stay.
        assert!(check(&h[..3], &read(&["a", "b"])).holds());
    }

    /// `a` acknowledged, read by get 1, and a put of `value` with that context that timed
    /// out (indefinite).
    fn read_then_put_timing_out(value: &str) -> Vec<Op> {
        vec![
            put("a", None, Ok),
            get(1, &["a"]),
            put(value, Some(1), Indefinite),
        ]
    }

    /// A put that may never have landed excuses no missing value: `a` was acknowledged,
    /// and the put of `c` that read it timed out and was never seen. (Before this rule,
    /// any put that did not definitely fail excused what its context covered, and this
    /// history passed.) A value seen by a get must survive too.
    #[test]
    fn an_unseen_indefinite_put_does_not_excuse_a_lost_update() {
        let h = read_then_put_timing_out("c");
        let v = check(&h, &read(&[]));
        assert!(
            matches!(&v.anomalies[..], [Anomaly::LostUpdate { value, .. }] if value == "a"),
            "{v:?}"
        );
        // `c` seen by a read and then gone is lost too; seen and in the final read, it
        // excuses `a`.
        let seen = [h.as_slice(), &[get(2, &["c"])]].concat();
        let lost_c = check(&seen, &read(&["a"]));
        assert!(
            lost_c
                .anomalies
                .iter()
                .any(|a| matches!(a, Anomaly::LostUpdate { value, .. } if value == "c")),
            "{lost_c:?}"
        );
        assert!(check(&seen, &read(&["c"])).holds());
    }

    /// An indefinite put that nobody saw may never have landed: the value its context
    /// covers staying in the final read is not a false sibling. (Before this rule, every
    /// put that was not a definite failure counted, and this history failed.)
    #[test]
    fn a_value_covered_only_by_an_unseen_indefinite_put_is_no_false_sibling() {
        let h = read_then_put_timing_out("b");
        assert!(check(&h, &read(&["a"])).holds());
        // Once a read saw `b`, it landed, and `a` beside it is a false sibling.
        let seen = [h.as_slice(), &[get(2, &["b"])]].concat();
        assert!(!check(&seen, &read(&["a", "b"])).holds());
    }

    #[test]
    fn last_writer_wins_losing_a_concurrent_put_is_a_lost_update() {
        let h = [put("a", None, Ok), put("b", None, Ok)];
        let v = check(&h, &read(&["b"]));
        assert_eq!(
            v.anomalies,
            vec![Anomaly::LostUpdate {
                value: "a".into(),
                final_read: read(&["b"])
            }]
        );
        assert!(v.anomalies[0]
            .to_string()
            .starts_with("lost update: the put of a, which took effect"));
    }

    #[test]
    fn a_value_kept_beside_the_put_that_read_it_is_a_false_sibling() {
        // c read a; a must not come back as c's sibling.
        let h = [put("a", None, Ok), get(1, &["a"]), put("c", Some(1), Ok)];
        let v = check(&h, &read(&["a", "c"]));
        assert_eq!(
            v.anomalies,
            vec![Anomaly::FalseSibling {
                value: "a".into(),
                by: "c".into(),
                chain: read(&["a", "c"])
            }]
        );
    }

    #[test]
    fn a_superseded_value_stays_superseded_after_its_superseder_is_superseded() {
        // b read a; c read b. a was superseded by b for good, though b is gone too.
        let h = [
            put("a", None, Ok),
            get(1, &["a"]),
            put("b", Some(1), Ok),
            get(2, &["b"]),
            put("c", Some(2), Ok),
        ];
        assert!(check(&h, &read(&["c"])).holds());
        let v = check(&h, &read(&["a", "c"]));
        assert_eq!(
            v.anomalies[0].to_string(),
            "false sibling: the final read holds a, which the put of b superseded (a <- b)"
        );
    }

    #[test]
    fn a_failed_put_supersedes_nothing_and_an_indefinite_one_may() {
        let h = [
            put("a", None, Ok),
            get(1, &["a"]),
            put("c", Some(1), Failed),
        ];
        // The failed c covers nothing: a must stay.
        assert!(!check(&h, &read(&[])).holds());
        assert!(check(&h, &read(&["a"])).holds());
        // c in the final read although it failed: a phantom.
        assert_eq!(
            check(&h, &read(&["a", "c"])).anomalies,
            vec![Anomaly::Phantom { value: "c".into() }]
        );
        // An indefinite c may have landed and superseded a.
        let h = [
            put("a", None, Ok),
            get(1, &["a"]),
            put("c", Some(1), Indefinite),
        ];
        assert!(check(&h, &read(&["c"])).holds());
    }

    #[test]
    fn a_stale_context_keeps_the_newer_value_as_a_sibling() {
        // x read a, then b superseded a, then x writes with the stale context: b stays.
        let h = [
            put("a", None, Ok),
            get(1, &["a"]),
            get(2, &["a"]),
            put("b", Some(2), Ok),
            put("x", Some(1), Ok),
        ];
        assert!(check(&h, &read(&["b", "x"])).holds());
        // Dropping b there loses it.
        assert!(matches!(
            check(&h, &read(&["x"])).anomalies[..],
            [Anomaly::LostUpdate { .. }]
        ));
    }

    #[test]
    fn a_put_naming_an_unknown_context_and_a_value_never_put_are_reported() {
        let h = [put("a", Some(9), Ok)];
        let v = check(&h, &read(&["a", "z"]));
        assert_eq!(
            v.anomalies,
            vec![
                Anomaly::UnknownContext {
                    value: "a".into(),
                    context: 9
                },
                Anomaly::Phantom { value: "z".into() }
            ]
        );
    }
}

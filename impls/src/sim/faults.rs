//! The fault vocabulary every exercise's runs speak: the nemesis kinds a Jepsen-style run
//! may inject (`--nemesis partition,crash,restart`), the faults themselves, the schedule of
//! them drawn from the seed before the run starts (so the schedule is printed first and
//! replays exactly), and [`LinkFaults`], the loss and delay of an in-process network.

use super::SplitMix64;
use std::fmt;
use std::time::Duration;

/// A kind of fault `--nemesis` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NemesisKind {
    /// Cut the nodes into two sides (random halves, or one node alone), then heal.
    Partition,
    /// Kill a node: unsynced writes are lost, and it stays down until restarted.
    Crash,
    /// Start a crashed node again on its data; without `crash`, kill a node and start it
    /// again at once.
    Restart,
}

impl NemesisKind {
    /// Every kind, by its name on the command line.
    pub const ALL: [(&'static str, NemesisKind); 3] = [
        ("partition", NemesisKind::Partition),
        ("crash", NemesisKind::Crash),
        ("restart", NemesisKind::Restart),
    ];

    /// The kind's name on the command line.
    pub fn name(self) -> &'static str {
        NemesisKind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .expect("every kind is listed")
    }

    /// Parses a comma-separated list such as `partition,crash`; `none` is the empty list.
    /// The error names the bad entry and the valid ones.
    pub fn parse_list(list: &str) -> Result<Vec<NemesisKind>, String> {
        const NAMES: &str = "partition, crash, restart, comma-separated, or none alone";
        let names: Vec<&str> = list.split(',').map(str::trim).collect();
        // An empty name (`--nemesis ,,`, `crash,`) is a typo, not a request for no faults:
        // a run that silently injects none proves less than the user asked for.
        if names.iter().any(|n| n.is_empty()) {
            return Err(format!("'{list}' has an empty nemesis name; give {NAMES}"));
        }
        if names.contains(&"none") {
            return match names.len() {
                1 => Ok(Vec::new()),
                _ => Err(format!(
                    "'none' cannot be combined with other nemeses; give {NAMES}"
                )),
            };
        }
        let mut kinds = Vec::new();
        for name in names {
            let kind = NemesisKind::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| *k)
                .ok_or_else(|| {
                    format!("unknown nemesis '{name}'; the nemeses are partition, crash, restart (or none)")
                })?;
            kinds.push(kind);
        }
        kinds.sort();
        kinds.dedup();
        Ok(kinds)
    }
}

/// One fault, on nodes numbered from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Messages between the two sides are dropped, both ways; each side still talks
    /// within itself, and clients reach every node.
    Partition(Vec<u32>, Vec<u32>),
    /// The partition is healed.
    Heal,
    /// The node is killed.
    Crash(u32),
    /// The crashed node is started again on its data.
    Restart(u32),
    /// The node is killed and started again at once.
    Bounce(u32),
}

impl Fault {
    /// Jepsen's name of the fault, the `f` of its nemesis event.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Partition(..) => "partition",
            Fault::Heal => "heal",
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Bounce(_) => "bounce",
        }
    }

    /// Who it acts on, e.g. `n1 n2 | n3 n4 n5`.
    pub fn detail(&self) -> String {
        let names = |ns: &[u32]| {
            ns.iter()
                .map(|n| format!("n{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Fault::Partition(a, b) => format!("{} | {}", names(a), names(b)),
            Fault::Heal => "all links".to_string(),
            Fault::Crash(n) | Fault::Restart(n) | Fault::Bounce(n) => format!("n{n}"),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name(), self.detail())
    }
}

/// A fault and when the nemesis injects it, from the start of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    /// When.
    pub at: Duration,
    /// What.
    pub fault: Fault,
}

/// The schedule for a run of `duration` on `nodes` nodes: faults one at a time, each held
/// for 0.4 to 1.5 s, with 0.2 to 0.8 s of calm between them, starting 0.3 to 0.8 s in
/// (after the nodes connected). Every partition is healed and every crash restarted
/// (with `restart`) before the next fault; with `crash` alone, crashed nodes stay down
/// until the end, at most a minority of them. Nothing is scheduled in the last 0.2 s;
/// the run heals and restarts everything when `duration` ends.
pub fn schedule(
    seed: u64,
    kinds: &[NemesisKind],
    nodes: u32,
    duration: Duration,
) -> Vec<Scheduled> {
    // Its own stream, so that changing the workload does not move the faults.
    let mut rng = SplitMix64(seed ^ 0x6E65_6D65_7369_7321);
    let between = |rng: &mut SplitMix64, lo: u64, hi: u64| {
        Duration::from_millis(lo + rng.next_u64() % (hi - lo + 1))
    };
    let has = |k| kinds.contains(&k);
    let mut out = Vec::new();
    let mut down: Vec<u32> = Vec::new();
    let mut t = between(&mut rng, 300, 800);
    let end = duration.saturating_sub(Duration::from_millis(200));
    while t < end {
        let hold = between(&mut rng, 400, 1500);
        let until = (t + hold).min(end);
        let mut choices = Vec::new();
        if has(NemesisKind::Partition) {
            choices.push(NemesisKind::Partition);
        }
        if has(NemesisKind::Crash) && (down.len() as u32) < (nodes - 1) / 2 {
            choices.push(NemesisKind::Crash);
        }
        if has(NemesisKind::Restart) && !has(NemesisKind::Crash) {
            choices.push(NemesisKind::Restart);
        }
        if choices.is_empty() {
            break;
        }
        let up: Vec<u32> = (1..=nodes).filter(|n| !down.contains(n)).collect();
        let pick = rng.next_u64();
        let node = up[(rng.next_u64() % up.len() as u64) as usize];
        match choices[(pick % choices.len() as u64) as usize] {
            NemesisKind::Partition => {
                let (a, b) = split(&mut rng, nodes);
                out.push(Scheduled {
                    at: t,
                    fault: Fault::Partition(a, b),
                });
                out.push(Scheduled {
                    at: until,
                    fault: Fault::Heal,
                });
            }
            NemesisKind::Crash => {
                out.push(Scheduled {
                    at: t,
                    fault: Fault::Crash(node),
                });
                if has(NemesisKind::Restart) {
                    out.push(Scheduled {
                        at: until,
                        fault: Fault::Restart(node),
                    });
                } else {
                    down.push(node);
                }
            }
            NemesisKind::Restart => {
                out.push(Scheduled {
                    at: t,
                    fault: Fault::Bounce(node),
                });
            }
        }
        t = until + between(&mut rng, 200, 800);
    }
    out
}

/// Half the time one node alone against the rest, else a random split into halves.
fn split(rng: &mut SplitMix64, nodes: u32) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<u32> = (1..=nodes).collect();
    // Fisher-Yates.
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let cut = if rng.next_u64() % 2 == 0 {
        1
    } else {
        order.len() / 2
    };
    let mut a = order[..cut].to_vec();
    let mut b = order[cut..].to_vec();
    a.sort_unstable();
    b.sort_unstable();
    (a, b)
}

/// How a simulated link misbehaves: loss and delay, seeded.
///
/// Guarantee: for one seed, the sequence of decisions (lose this message, delay that one by
/// so much) is the same on every run; which message meets which decision depends on the
/// order the runtime sends them in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkFaults {
    /// Probability that a message is lost, in `0.0..1.0`.
    pub drop_rate: f64,
    /// Each message that is not lost is delayed uniformly in `0..=max_delay`; zero
    /// delivers at once, in order.
    pub max_delay: Duration,
    /// Seed of the generator that picks losses and delays.
    pub seed: u64,
}

impl Default for LinkFaults {
    /// A reliable network: no loss, no delay.
    fn default() -> Self {
        LinkFaults {
            drop_rate: 0.0,
            max_delay: Duration::ZERO,
            seed: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_unknown_names_are_refused() {
        assert_eq!(
            NemesisKind::parse_list("restart,partition").unwrap(),
            vec![NemesisKind::Partition, NemesisKind::Restart]
        );
        assert_eq!(NemesisKind::parse_list("none").unwrap(), vec![]);
        assert!(NemesisKind::parse_list("partition,flood")
            .unwrap_err()
            .contains("'flood'"));
    }

    #[test]
    fn issue_15_item_11_an_empty_nemesis_name_is_an_error_not_none() {
        for list in [",,", "", "crash,", ",partition", "crash,,restart", " , "] {
            let e = NemesisKind::parse_list(list).unwrap_err();
            assert!(e.contains("empty nemesis name"), "{list:?}: {e}");
        }
        let e = NemesisKind::parse_list("none,crash").unwrap_err();
        assert!(e.contains("'none' cannot be combined"), "{e}");
        assert_eq!(NemesisKind::parse_list(" none ").unwrap(), vec![]);
    }

    #[test]
    fn a_schedule_is_a_function_of_its_seed_and_heals_what_it_breaks() {
        let kinds = [
            NemesisKind::Partition,
            NemesisKind::Crash,
            NemesisKind::Restart,
        ];
        let a = schedule(7, &kinds, 5, Duration::from_secs(10));
        assert_eq!(a, schedule(7, &kinds, 5, Duration::from_secs(10)));
        assert_ne!(a, schedule(8, &kinds, 5, Duration::from_secs(10)));
        assert!(a.len() >= 4, "{a:?}");
        let partitions = a.iter().filter(|s| s.fault.name() == "partition").count();
        let heals = a.iter().filter(|s| s.fault == Fault::Heal).count();
        let crashes = a.iter().filter(|s| s.fault.name() == "crash").count();
        let restarts = a.iter().filter(|s| s.fault.name() == "restart").count();
        assert_eq!((partitions, crashes), (heals, restarts));
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn crash_alone_leaves_a_majority_up() {
        let a = schedule(3, &[NemesisKind::Crash], 5, Duration::from_secs(30));
        assert_eq!(a.len(), 2, "{a:?}");
    }
}

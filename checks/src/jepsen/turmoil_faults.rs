//! The nemesis's faults on turmoil hosts named `n1`, `n2`, ...: what every exercise's
//! simulation does the same way. Pauses and clock skews act on the exercise's own
//! switches, so they stay with the exercise.

use impls::sim::faults::Fault;

/// Applies `fault` to the hosts if it is a network or process fault: partitions and
/// heals (`cut` is the partition in force, which a heal repairs), crashes, restarts,
/// bounces, power loss and power-on (every host in the same step, before any runs
/// again: the same instant). Returns `false`, doing nothing, for any other fault.
pub fn apply(
    sim: &mut turmoil::Sim<'_>,
    fault: &Fault,
    cut: Option<&(Vec<u32>, Vec<u32>)>,
) -> bool {
    let host = |n: &u32| format!("n{n}");
    match fault {
        Fault::Partition(a, b) => {
            for x in a {
                for y in b {
                    sim.partition(host(x), host(y));
                }
            }
        }
        Fault::Heal => {
            if let Some((a, b)) = cut {
                for x in a {
                    for y in b {
                        sim.repair(host(x), host(y));
                    }
                }
            }
        }
        Fault::Crash(n) => sim.crash(host(n)),
        // turmoil restarts a crashed host with a bounce.
        Fault::Restart(n) => sim.bounce(host(n)),
        Fault::Bounce(n) => {
            sim.crash(host(n));
            sim.bounce(host(n));
        }
        Fault::PowerLoss(ns) => ns.iter().for_each(|n| sim.crash(host(n))),
        Fault::PowerOn(ns) => ns.iter().for_each(|n| sim.bounce(host(n))),
        _ => return false,
    }
    true
}

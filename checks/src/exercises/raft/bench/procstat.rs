//! CPU time of a process from `/proc/PID/stat`: what the server processes spent, read
//! before and after a measured phase.

use std::time::Duration;

/// The user plus system CPU time in one `/proc/PID/stat` line, in clock ticks
/// (`utime` and `stime`, fields 14 and 15 of proc(5)). The command name (field 2) is in
/// parentheses and may hold spaces or parentheses itself, so fields are counted from the
/// last `)`. `None` for a line that does not have those fields as numbers.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (field 3) ... utime is field 14, the 12th from here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux unless configured
/// otherwise).
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// The CPU time (user + system) process `pid` has used so far, or `None` if it cannot
/// be read (not Linux, or the process is gone).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = cpu_ticks(&stat)?;
    let per_second = ticks_per_second();
    Some(Duration::from_secs(ticks / per_second) + Duration::from_secs_f64((ticks % per_second) as f64 / per_second as f64))
}

/// The CPU time of all of `pids` together; `None` if any cannot be read.
pub fn total_cpu_time(pids: &[u32]) -> Option<Duration> {
    pids.iter().map(|&p| cpu_time(p)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_fields_14_and_15() {
        let line = "4242 (etcd) S 1 4242 4242 0 -1 4194560 2000 0 0 0 731 269 0 0 20 0 12 0 100 0 0";
        assert_eq!(cpu_ticks(line), Some(1000));
    }

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "7 (a) b (c d) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 0 0";
        assert_eq!(cpu_ticks(line), Some(11));
    }

    #[test]
    fn a_short_or_garbled_line_is_none() {
        assert_eq!(cpu_ticks(""), None);
        assert_eq!(cpu_ticks("1 (x) S 1 2 3"), None);
        assert_eq!(cpu_ticks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 seven 6 0"), None);
        assert_eq!(cpu_ticks("no parenthesis at all 1 2 3 4 5 6 7 8 9 10 11 12 13"), None);
    }

    #[test]
    fn this_process_has_used_some_cpu_and_it_grows() {
        let me = std::process::id();
        let before = cpu_time(me).expect("readable on Linux");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let after = cpu_time(me).unwrap();
        assert!(after > before, "{before:?} then {after:?}");
        assert_eq!(total_cpu_time(&[me, u32::MAX]), None);
    }
}

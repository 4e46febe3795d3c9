//! Ctrl-C (SIGINT, or SIGTERM as a CI timeout sends) during a model-checking run: the run stops where it is and reports what it
//! covered, marked "interrupted: not exhaustive", instead of vanishing with nothing said.
//!
//! The first SIGINT during a [`Watch`] sets a flag that the exploration and shortening
//! loops poll; they return what they have, the report is printed as usual (text or JSON),
//! and the process exits with [`INTERRUPTED_EXIT`]. A second SIGINT, or one outside any
//! watched phase, exits at once with the same code, as a shell expects of Ctrl-C; before
//! it does, it kills the child processes and removes the temporary directories and files
//! the run registered (see `crate::reaper`), since no destructor runs then. SIGTERM and
//! SIGHUP are handled the same way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// The exit code of a run stopped by SIGINT: 128 + 2, what shells report for Ctrl-C, so a
/// script that runs `check` stops too.
pub const INTERRUPTED_EXIT: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How many [`Watch`] guards are alive: a SIGINT with none exits at once.
static WATCHERS: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// Installs the SIGINT handler (once per process). Without it, Ctrl-C kills the process
/// as it would by default.
pub fn install() {
    INSTALL.call_once(|| {
        // If the handler cannot be installed, Ctrl-C keeps its default effect: the run
        // ends without a summary, which is what it did before; nothing else depends on it.
        let _ = ctrlc::set_handler(|| {
            let watched = WATCHERS.load(Ordering::SeqCst) > 0;
            if !watched || INTERRUPTED.swap(true, Ordering::SeqCst) {
                // Destructors do not run on exit: kill the child processes (the `--real`
                // nodes) and remove their directories, and half-written reports, here.
                // Namespaces first: removing them takes a few `ip` runs, and a node the
                // nemesis starts meanwhile must fail to enter its namespace rather than
                // recreate its data directory after the reaper removed it.
                crate::jepsen::netns::clean_up();
                crate::reaper::clean_up();
                crate::pending::remove_all();
                std::process::exit(i32::from(INTERRUPTED_EXIT));
            }
            eprintln!(
                "\ninterrupted: reporting the coverage so far (Ctrl-C again to quit at once)"
            );
        });
    });
}

/// Whether SIGINT has asked the current run to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Marks a phase that polls [`interrupted`] and reports on its own when it is set; while
/// one is alive, the first SIGINT only sets the flag.
pub struct Watch(());

impl Watch {
    /// Starts watching; the phase ends when the guard is dropped.
    pub fn start() -> Watch {
        WATCHERS.fetch_add(1, Ordering::SeqCst);
        Watch(())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        WATCHERS.fetch_sub(1, Ordering::SeqCst);
    }
}

//! Child processes and temporary directories that do not outlive this process.
//!
//! `check kv --jepsen --real` runs its nodes as child processes, each writing into a
//! temporary directory. They are released three ways, one per way the run can end:
//!
//! - normally, or by a panic: dropping a [`Child`] kills and reaps the process, dropping a
//!   [`TempDir`] removes the directory;
//! - by a signal that ends the process at once (SIGINT, SIGTERM or SIGHUP outside a
//!   watched phase, or a second one): destructors do not run on `process::exit`, so the
//!   interrupt handler calls [`clean_up`], which kills and reaps every registered child
//!   and then removes every registered directory;
//! - by SIGKILL, which nothing in this process can see: each child asked the kernel, before
//!   it ran anything, to SIGKILL it when its parent dies (`PR_SET_PDEATHSIG`). The
//!   directory is left then; there is nobody to remove it.
//!
//! The children stay in this process's group: a terminal's Ctrl-C or `timeout`'s signal
//! to the group reaches them too, and stops them as it stops `check`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// The pid of every [`Child`] not yet reaped. A pid enters it under the lock, in the same
/// critical section as the fork, and leaves it in the same one as the reaping, so that
/// [`clean_up`] never misses a child nor signals a pid that may have been reused.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The path of every [`TempDir`] not yet removed.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The lock, even if a thread panicked holding it: the lists stay consistent, as each
/// change is a single push or retain.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Kills (SIGKILL) and reaps every registered child, then removes every registered
/// directory: for a signal handler that is about to call `process::exit`. Blocks while
/// another thread is starting or reaping a child, which takes milliseconds.
pub(crate) fn clean_up() {
    let mut children = lock(&CHILDREN);
    for &pid in children.iter() {
        // SAFETY: kill(2) has no memory effects, and the pid is a child of ours not yet
        // reaped (see CHILDREN), so it names no other process.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
    for &pid in children.iter() {
        // Reaped, so dead: it writes nothing more into the directories removed below.
        // SAFETY: as above; a null status pointer is allowed.
        unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0) };
    }
    // Whoever owns their `std::process::Child` must not wait for them again; nobody will,
    // since the process is exiting, but forgetting them keeps that true.
    children.clear();
    let mut dirs = lock(&DIRS);
    for dir in dirs.drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A spawn request for the spawner thread: the command, and where to send the child.
type Spawn = (Command, Sender<io::Result<std::process::Child>>);

/// The one thread that forks every [`Child`]. PR_SET_PDEATHSIG fires when the *thread*
/// that forked a child exits, not the process; this thread never exits, so the signal
/// comes when the process dies and not when, say, the thread that asked for a restart
/// finishes.
fn spawner() -> &'static Sender<Spawn> {
    static SPAWNER: OnceLock<Sender<Spawn>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<Spawn>();
        std::thread::Builder::new()
            .name("reaper-spawner".into())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    let _ = reply.send(spawn_registered(&mut command));
                }
            })
            .expect("cannot start the thread that starts child processes");
        requests
    })
}

/// Forks `command` with the death signal set, and registers it in the same critical
/// section.
fn spawn_registered(command: &mut Command) -> io::Result<std::process::Child> {
    die_with_parent(command);
    let mut children = lock(&CHILDREN);
    let child = command.spawn()?;
    children.push(child.id());
    Ok(child)
}

/// Makes the child ask the kernel for SIGKILL when its parent dies.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls are allowed: prctl and
    // getppid are system calls, and the error is built without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between the fork and the prctl, and then no signal
            // will ever come: the child must not run on its own.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Elsewhere there is no death signal: a SIGKILL of `check` leaves the children running.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// A child process that does not outlive this process: it is killed (SIGKILL) and reaped
/// when dropped, by [`clean_up`] when a signal ends the process at once, and by the kernel
/// when this process dies of SIGKILL (on Linux).
pub(crate) struct Child {
    /// `None` once killed and reaped.
    child: Option<std::process::Child>,
}

impl Child {
    /// Starts `command` (its stdio as configured). From any thread: the fork happens on a
    /// thread that lives as long as the process, so the child's death signal is tied to
    /// the process, not to the calling thread.
    pub(crate) fn spawn(command: Command) -> io::Result<Child> {
        let (reply, answer) = mpsc::channel();
        spawner()
            .send((command, reply))
            .map_err(|_| io::Error::other("the spawner thread is gone"))?;
        let child = answer
            .recv()
            .map_err(|_| io::Error::other("the spawner thread is gone"))??;
        Ok(Child { child: Some(child) })
    }

    /// The child's pid, while it is not yet killed and reaped: for signals such as
    /// SIGSTOP, which leave it registered, and for reading its `/proc` entry (CPU time in
    /// `check bench raft`).
    pub(crate) fn id(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// The child's exit status if it has exited (and is now reaped), without waiting.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let Some(child) = &mut self.child else {
            return Ok(None);
        };
        // Reaped and forgotten in one critical section: a reaped pid may be reused.
        let mut children = lock(&CHILDREN);
        let status = child.try_wait()?;
        if status.is_some() {
            let pid = child.id();
            children.retain(|&p| p != pid);
        }
        Ok(status)
    }

    /// SIGKILL, then waits until it is dead and reaped (so its port and files are free
    /// when this returns). Does nothing the second time.
    pub(crate) fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut children = lock(&CHILDREN);
        let pid = child.id();
        // Only a registered pid is ours still: after clean_up, it is dead and reaped.
        if children.contains(&pid) {
            // An error means it has already exited; reaping it is all that is left.
            let _ = child.kill();
            let _ = child.wait();
            children.retain(|&p| p != pid);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A temporary directory that does not outlive this process: removed, with everything in
/// it, when dropped, and by [`clean_up`] when a signal ends the process at once. Created
/// in the system's temporary directory (`TMPDIR`).
pub(crate) struct TempDir {
    /// `None` once removed.
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, private (0700) directory named `PREFIX` and random characters.
    pub(crate) fn new(prefix: &str) -> io::Result<TempDir> {
        let mut dirs = lock(&DIRS);
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let path = dir.path().to_path_buf();
        dirs.push(path.clone());
        Ok(TempDir {
            dir: Some(dir),
            path,
        })
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Under the lock, so that clean_up does not remove it at the same time.
        let mut dirs = lock(&DIRS);
        dirs.retain(|p| p != &self.path);
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_child_is_killed_and_forgotten() {
        let mut command = Command::new("sleep");
        command.arg("60");
        let mut child = Child::spawn(command).unwrap();
        let pid = child.child.as_ref().unwrap().id();
        assert!(lock(&CHILDREN).contains(&pid));
        assert!(child.try_wait().unwrap().is_none());
        drop(child);
        assert!(!lock(&CHILDREN).contains(&pid));
        // Reaped: the pid is no longer a child of ours.
        // SAFETY: waitpid on a pid that is not our child only returns an error.
        let rc = unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG) };
        assert_eq!(rc, -1);
    }

    #[test]
    fn a_dropped_dir_is_removed_and_forgotten() {
        let dir = TempDir::new("reaper-test-").unwrap();
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("f"), "x").unwrap();
        assert!(lock(&DIRS).contains(&path));
        drop(dir);
        assert!(!path.exists());
        assert!(!lock(&DIRS).contains(&path));
    }
}

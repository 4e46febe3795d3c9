//! `check`: model-checks the protocol exercises. See `check --help`, the README and docs/check.md.

use checks::engine::outcome::ERROR_EXIT;
use std::process::ExitCode;

// Model checking clones and drops millions of small states; glibc's malloc spent a third
// of the run in allocation and free (measured with perf), mimalloc much less. Its reserve
// lets a check that runs out of memory say "unknown" instead of aborting.
#[global_allocator]
static ALLOCATOR: checks::reserve::Reserved = checks::reserve::Reserved;

fn main() -> ExitCode {
    checks::reserve::install();
    checks::engine::interrupt::install();
    let cmd = match checks::args::parse() {
        Ok(cmd) => cmd,
        Err(e) => e.exit(),
    };
    match checks::run::run(cmd) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(ERROR_EXIT)
        }
    }
}

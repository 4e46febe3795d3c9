//! `check`: model-checks the protocol exercises. See `check --help`, the README and docs/check.md.

use checks::engine::outcome::ERROR_EXIT;
use checks::output;
use std::process::ExitCode;

// Model checking clones and drops millions of small states; glibc's malloc spent a third
// of the run in allocation and free (measured with perf), mimalloc much less. Its reserve
// lets a check that runs out of memory say "unknown" instead of aborting.
#[global_allocator]
static ALLOCATOR: checks::reserve::Reserved = checks::reserve::Reserved;

fn main() -> ExitCode {
    checks::reserve::install();
    checks::engine::interrupt::install();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Decided from the raw line, so that an error clap raises before parsing finishes is
    // JSON too when JSON was asked for.
    let json = output::asks_for_json(&args);
    let cmd = match checks::args::parse_from(&args) {
        Ok(cmd) => cmd,
        Err(e) if e.exit_code() != i32::from(ERROR_EXIT) => e.exit(), // --help, --version
        Err(e) => return usage_error(&e, json),
    };
    match checks::run::run(cmd) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            output::exit_on_closed_pipe(&e);
            let message = output::cut_lines(&format!("{e:#}"));
            eprintln!("error: {message}");
            if json {
                // Ignored: if stdout fails too, stderr already has the message.
                let _ = output::print(format_args!(
                    "{}\n",
                    output::error_json(&message, ERROR_EXIT)
                ));
            }
            ExitCode::from(ERROR_EXIT)
        }
    }
}

/// A command line clap or the resolver refused: its message on stderr (coloured on a
/// terminal, long lines cut) and, with `--format json`, an error object on stdout.
fn usage_error(e: &clap::Error, json: bool) -> ExitCode {
    let plain = e.to_string();
    let cut = output::cut_lines(&plain);
    if cut == plain {
        let _ = e.print();
    } else {
        eprintln!("{cut}");
    }
    if json {
        let message = cut.trim_end().trim_start_matches("error: ");
        let _ = output::print(format_args!(
            "{}\n",
            output::error_json(message, ERROR_EXIT)
        ));
    }
    ExitCode::from(ERROR_EXIT)
}

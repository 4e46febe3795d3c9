//! `check`: model-checks the protocol exercises. See `check --help` and the README.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cmd = match checks::args::parse() {
        Ok(cmd) => cmd,
        Err(e) => e.exit(),
    };
    match checks::run::run(cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! The subcommands: one `match` over the parsed [`Command`], generic over the exercises.

use crate::args::{Command, Format};
use crate::engine::Outcome;
use crate::engine::{explorer, html, text};
use crate::pending::PendingFile;
use anyhow::Result;

/// Runs a command to its [`Outcome`]; `Err` is a usage, input or internal error, which
/// `main` reports with exit code 2.
pub fn run(cmd: Command) -> Result<Outcome> {
    match cmd {
        Command::List { format } => crate::list::list(format),
        Command::All { format, threads } => crate::gate::all(format, threads),
        Command::Lin(args) => crate::lin::run(&args),
        Command::BenchLin(args) => crate::lin::bench::lin(&args),
        Command::Mode { mode, matches } => (mode.run)(&matches),
        Command::Check {
            exercise,
            selection,
            opts,
            format,
            trace_out,
            html: page_out,
            explore,
        } => {
            if let Some(addr) = explore {
                // Before the check, so a bad address fails at once.
                explorer::can_serve(addr)?;
            }
            // Created before the run, so an unwritable place fails in a second, not after it.
            let pending = trace_out
                .as_deref()
                .map(|p| PendingFile::create(p, "--trace-out"))
                .transpose()?;
            let page = page_out
                .as_deref()
                .map(|p| PendingFile::create(p, "--html"))
                .transpose()?;
            let report = selection.check(exercise, &opts)?;
            let json = serde_json::to_string_pretty(&report)?;
            // The files first: a closed stdout ends the process, and must not cost them.
            if let Some(file) = pending {
                file.commit(&json)?;
            }
            if let Some(file) = page {
                file.commit(&html::render(&report))?;
            }
            match format {
                Format::Text => crate::output::print(text::render(&report))?,
                Format::Json => crate::outln!("{json}")?,
            }
            if let Some(addr) = explore {
                // The check ran first, so the Explorer opens at what it found.
                let trace = report.counterexample.as_ref();
                let path = trace.and_then(|t| t.explorer_path.as_deref());
                match trace {
                    Some(t) if path.is_some() => eprintln!(
                        "Explorer: {} opens at the counterexample to {} ({} steps); Ctrl-C to stop",
                        explorer::url(addr, path),
                        t.property,
                        t.length
                    ),
                    _ => eprintln!("Explorer: {} (Ctrl-C to stop)", explorer::url(addr, None)),
                }
                (selection.model.explore)(&selection, addr, opts.threads)?;
            }
            Ok(report.outcome())
        }
    }
}

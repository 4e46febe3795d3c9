//! Output files that appear whole or not at all.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The temporary files of every [`PendingFile`] not yet committed or dropped, so that a
/// signal that ends the process at once can remove them ([`remove_all`]): destructors do
/// not run on `process::exit`.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn forget(tmp: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        pending.retain(|p| p != tmp);
    }
}

/// Removes every pending temporary file; called just before the process exits on a signal,
/// so that an interrupted run leaves no `.check-report-*` file behind.
pub fn remove_all() {
    // try_lock: the signal may have arrived while this thread held the lock; then leave
    // the files rather than deadlock the exit.
    if let Ok(pending) = PENDING.try_lock() {
        for p in pending.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Refuses an output path that exists and is not a regular file (a device such as
/// `/dev/null`, a symbolic link, a FIFO, a directory): renaming over it would replace it,
/// for everyone, with a regular file.
fn refuse_special(path: &Path, flag: &str) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(()); // absent: created whole by the rename
    };
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        return Ok(());
    } else {
        "not a regular file (a device, FIFO or socket)"
    };
    bail!(
        "{flag} {}: is {what}; it would be replaced by a regular file, so it is refused (name a new or a regular file)",
        path.display()
    )
}

/// Refuses an output path that is the same file as `input` (say `--html` naming the
/// history being checked), which the rename would overwrite.
pub fn refuse_input(path: &Path, flag: &str, input: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(out), Ok(inp)) = (std::fs::metadata(path), std::fs::metadata(input)) {
            if out.dev() == inp.dev() && out.ino() == inp.ino() {
                bail!(
                    "{flag} {}: is the input file {}; it would be overwritten, so it is refused",
                    path.display(),
                    input.display()
                );
            }
        }
    }
    Ok(())
}

/// A report file being written: a uniquely named temporary file beside the target, renamed
/// over it once complete, so a reader never sees half a report and two runs writing the
/// same path cannot interleave.
pub struct PendingFile {
    flag: &'static str,
    path: PathBuf,
    /// `None` once committed.
    tmp: Option<tempfile::NamedTempFile>,
}

impl PendingFile {
    /// Creates the temporary file beside `path`; errors name `flag`, the option that
    /// asked for the file.
    pub fn create(path: &Path, flag: &'static str) -> Result<PendingFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        refuse_special(path, flag)?;
        let tmp = tempfile::Builder::new()
            .prefix(".check-report-")
            .tempfile_in(dir)
            // tempfile's error names its own random file name, which means nothing to the
            // user: keep the operating system's reason only.
            .map_err(|e| {
                // tempfile adds ` at path "<its temporary name>"` to the reason.
                let reason = e.to_string();
                let reason = reason.split(" at path ").next().unwrap_or_default();
                std::io::Error::new(e.kind(), reason.to_string())
            })
            .with_context(|| {
                format!(
                    "{flag} {}: cannot create a file in {}",
                    path.display(),
                    dir.display()
                )
            })?;
        if let Ok(mut pending) = PENDING.lock() {
            pending.push(tmp.path().to_path_buf());
        }
        Ok(PendingFile {
            flag,
            path: path.to_path_buf(),
            tmp: Some(tmp),
        })
    }

    /// Writes `content` and a newline, syncs, and renames the file into place.
    pub fn commit(mut self, content: &str) -> Result<()> {
        let context = || format!("{} {}", self.flag, self.path.display());
        let mut tmp = self.tmp.take().expect("a pending file is committed once");
        let tmp_path = tmp.path().to_path_buf();
        // Whatever happens below, the temporary file is tempfile's to remove, not ours.
        forget(&tmp_path);
        let f = tmp.as_file_mut();
        f.write_all(content.as_bytes()).with_context(context)?;
        f.write_all(b"\n").with_context(context)?;
        // Temporary files are private (0600); a report is an ordinary file that others
        // may read, as if it had been created directly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o644))
                .with_context(context)?;
        }
        f.sync_all().with_context(context)?;
        // Checked again: the path may have changed kind since the run started.
        refuse_special(&self.path, self.flag)?;
        tmp.persist(&self.path)
            .map_err(|e| e.error)
            .with_context(context)?;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Not committed: tempfile removes the file; stop tracking it.
        if let Some(tmp) = &self.tmp {
            forget(tmp.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 14): the error named tempfile's internal `.check-report-XXXXXX`.
    #[test]
    fn an_uncreatable_file_is_named_without_the_temporary_one() {
        let err = PendingFile::create(Path::new("/nonexistent-dir/x.json"), "--trace-out")
            .err()
            .expect("no such directory");
        let text = format!("{err:#}");
        assert!(
            text.contains("--trace-out /nonexistent-dir/x.json"),
            "{text}"
        );
        assert!(!text.contains(".check-report-"), "{text}");
    }
}

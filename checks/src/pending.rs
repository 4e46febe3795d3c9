//! Output files that appear whole or not at all.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A report file being written: a uniquely named temporary file beside the target, renamed
/// over it once complete, so a reader never sees half a report and two runs writing the
/// same path cannot interleave.
pub struct PendingFile {
    flag: &'static str,
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl PendingFile {
    /// Creates the temporary file beside `path`; errors name `flag`, the option that
    /// asked for the file.
    pub fn create(path: &Path, flag: &'static str) -> Result<PendingFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if path.is_dir() {
            bail!("{flag} {}: is a directory", path.display());
        }
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
        Ok(PendingFile {
            flag,
            path: path.to_path_buf(),
            tmp,
        })
    }

    /// Writes `content` and a newline, syncs, and renames the file into place.
    pub fn commit(mut self, content: &str) -> Result<()> {
        let context = || format!("{} {}", self.flag, self.path.display());
        let f = self.tmp.as_file_mut();
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
        self.tmp
            .persist(&self.path)
            .map_err(|e| e.error)
            .with_context(context)?;
        Ok(())
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

//! `SECRET_FILE`: values delivered as files in a private directory, the
//! child getting each file's path. This module writes values it is handed
//! (it reads none) and removes what it wrote.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, OsReason};
use crate::secret::SecretValue;

/// Where and how the files are written.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// `--secrets-dir`, else `$RUNTIME_DIRECTORY`, else `/run/psc-exec`.
    pub dir: PathBuf,
    /// `--file-mode`: 0o400 or 0o440.
    pub mode: u32,
    /// `--file-owner` (root only).
    pub owner: Option<(u32, u32)>,
}

impl FileOptions {
    /// The directory: the flag, else `RUNTIME_DIRECTORY` (systemd's, removed
    /// when the service stops; the first of a colon-separated list), else
    /// `/run/psc-exec`.
    #[must_use]
    pub fn directory(flag: Option<&Path>) -> PathBuf {
        if let Some(dir) = flag {
            return dir.to_owned();
        }
        match std::env::var_os("RUNTIME_DIRECTORY") {
            Some(dirs) if !dirs.is_empty() => {
                let first = dirs
                    .to_string_lossy()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                PathBuf::from(first)
            }
            _ => PathBuf::from("/run/psc-exec"),
        }
    }
}

/// The files of one run: written, and removed on failure or when the
/// child is gone (`--init`).
#[derive(Debug)]
pub struct Files {
    options: FileOptions,
    written: Vec<PathBuf>,
    /// Compute the paths, write nothing (`--check`).
    dry: bool,
}

impl Files {
    /// Files to write under `options`; `dry` only names them.
    #[must_use]
    pub fn new(options: FileOptions, dry: bool) -> Self {
        Self {
            options,
            written: Vec::new(),
            dry,
        }
    }

    /// The path the file of `var` gets.
    #[must_use]
    pub fn target(&self, var: &str) -> PathBuf {
        self.options.dir.join(var)
    }

    /// Stage every `(variable, value)`: each written and synced into a new
    /// temporary file beside its target, none renamed yet. A failure
    /// leaves every target as it was (the temporaries are removed), so a
    /// re-resolution under `--watch` that fails never touches the files of
    /// the child still running. [`Files::commit`] puts them in place;
    /// a [`Staged`] dropped uncommitted removes its temporaries.
    ///
    /// # Errors
    /// An unsafe directory, a file that exists and is not ours, a failed
    /// write: each names the variable or directory.
    pub fn stage(&self, values: &[(String, SecretValue)]) -> Result<Staged, Error> {
        let mut staged = Staged {
            dir: self.options.dir.clone(),
            files: Vec::with_capacity(values.len()),
        };
        if self.dry || values.is_empty() {
            return Ok(staged);
        }
        prepare_directory(&staged.dir)?;
        self.write_temporaries(values, &mut staged)?;
        Ok(staged)
    }

    /// Rename each staged file over its target (after the child they
    /// replace is gone, under `--watch`), and remember it for
    /// [`Files::remove_all`].
    ///
    /// # Errors
    /// A rename that failed, naming the variable; what was staged and not
    /// renamed is removed.
    pub fn commit(&mut self, mut staged: Staged) -> Result<(), Error> {
        let dir = staged.dir.clone();
        let count = staged.files.len();
        let mut pending = std::mem::take(&mut staged.files).into_iter();
        while let Some((var, temporary)) = pending.next() {
            let target = self.target(&var);
            if let Err(e) = std::fs::rename(&temporary, &target) {
                let _ = std::fs::remove_file(&temporary);
                // The ones not reached go back to `staged`, whose drop
                // removes them.
                staged.files.extend(pending);
                return Err(write_failure(&var, &dir, &e));
            }
            self.written.push(target);
        }
        if count > 0 {
            if let Ok(dir) = std::fs::File::open(&dir) {
                let _ = dir.sync_all();
            }
            tracing::debug!(files = count, dir = %dir.display(), "wrote the secret files");
        }
        Ok(())
    }

    /// Each value into its own new temporary file (`staged` gets each
    /// path as soon as the file exists), written and synced. The name has
    /// a random part: as PID 1 every run would otherwise use the same one,
    /// and a temporary left on a disk by a killed run would refuse the
    /// next (`create_new`).
    fn write_temporaries(
        &self,
        values: &[(String, SecretValue)],
        staged: &mut Staged,
    ) -> Result<(), Error> {
        let dir = staged.dir.clone();
        for (var, value) in values {
            let target = self.target(var);
            self.check_target(var, &target)?;
            let temporary = dir.join(format!(".{var}.{:016x}.tmp", fastrand::u64(..)));
            let fail = |e: std::io::Error| write_failure(var, &dir, &e);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(self.options.mode)
                .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
                .open(&temporary)
                .map_err(fail)?;
            staged.files.push((var.clone(), temporary));
            file.write_all(value.expose().as_bytes()).map_err(fail)?;
            if let Some((uid, gid)) = self.options.owner {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(fail)?;
            }
            file.sync_all().map_err(fail)?;
        }
        Ok(())
    }

    /// A target that exists must be ours from an earlier run: a regular
    /// file with one link, owned by the user the files are written for.
    fn check_target(&self, var: &str, target: &Path) -> Result<(), Error> {
        let Ok(meta) = std::fs::symlink_metadata(target) else {
            return Ok(());
        };
        let owner = self.options.owner.map_or_else(euid, |(uid, _)| uid);
        if !meta.file_type().is_file() || meta.nlink() != 1 || meta.uid() != owner {
            return Err(Error::Other(format!(
                "refusing to replace {} for {var}: it exists and is not a file psc-exec wrote (a symlink, a directory, another user's or a hard link)",
                target.display()
            )));
        }
        Ok(())
    }

    /// Remove every file this run wrote (best effort).
    pub fn remove_all(&mut self) {
        for path in self.written.drain(..) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Files written to temporaries, waiting for [`Files::commit`]; dropped
/// uncommitted, they are removed.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    /// (variable, temporary file).
    files: Vec<(String, PathBuf)>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (_, temporary) in self.files.drain(..) {
            let _ = std::fs::remove_file(temporary);
        }
    }
}

fn write_failure(var: &str, dir: &Path, error: &std::io::Error) -> Error {
    Error::Other(format!(
        "cannot write the file of {var} in {}: {}",
        dir.display(),
        OsReason(error)
    ))
}

/// This process's effective user.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { nix::libc::geteuid() }
}

/// Create the directory 0700 when missing; refuse a symlink, a directory of
/// another user, or one that others can write to.
fn prepare_directory(dir: &Path) -> Result<(), Error> {
    let refuse = |why: &str| Error::Other(format!("secrets directory {}: {why}", dir.display()));
    match std::fs::symlink_metadata(dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| refuse(&format!("cannot create it: {}", OsReason(&e))))?;
            // The mode given to mkdir is masked by the umask: set it whole.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| refuse(&OsReason(&e).to_string()))?;
            Ok(())
        }
        Err(error) => Err(refuse(&OsReason(&error).to_string())),
        Ok(meta) if meta.file_type().is_symlink() => Err(refuse("is a symlink")),
        Ok(meta) if !meta.is_dir() => Err(refuse("is not a directory")),
        Ok(meta) if meta.uid() != euid() => Err(refuse("belongs to another user")),
        Ok(meta) if meta.mode() & 0o022 != 0 => {
            Err(refuse("others can write to it (group- or world-writable)"))
        }
        Ok(_) => Ok(()),
    }
}

/// Whether `dir` (or, when it does not exist yet, its parent) is on a
/// tmpfs, where the files never reach a disk.
#[must_use]
pub fn on_tmpfs(dir: &Path) -> bool {
    let probe = if dir.exists() {
        dir
    } else {
        dir.parent().unwrap_or(dir)
    };
    nix::sys::statfs::statfs(probe)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
}

/// `UID:GID` for `--file-owner`.
///
/// # Errors
/// Not two numbers.
pub fn parse_owner(text: &str) -> Result<(u32, u32), String> {
    let (uid, gid) = text.split_once(':').ok_or("expected UID:GID (numbers)")?;
    let number = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| "expected UID:GID (numbers)".to_owned())
    };
    Ok((number(uid)?, number(gid)?))
}

/// `0400` or `0440` for `--file-mode`.
///
/// # Errors
/// Any other mode: nothing wider is allowed.
pub fn parse_mode(text: &str) -> Result<u32, String> {
    match text.trim_start_matches("0o") {
        "0400" | "400" => Ok(0o400),
        "0440" | "440" => Ok(0o440),
        _ => Err("0400 or 0440 (nothing wider)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_owners() {
        assert_eq!(parse_mode("0400"), Ok(0o400));
        assert_eq!(parse_mode("0440"), Ok(0o440));
        assert!(parse_mode("0644").is_err());
        assert_eq!(parse_owner("1000:1001"), Ok((1000, 1001)));
        assert!(parse_owner("app:app").is_err());
    }

    /// A rename that fails removes every temporary not yet renamed, the
    /// failing one and those after it.
    #[test]
    fn a_failed_commit_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        let mut files = Files::new(
            FileOptions {
                dir: secrets.clone(),
                mode: 0o400,
                owner: None,
            },
            false,
        );
        let values: Vec<(String, SecretValue)> = ["A", "B", "C"]
            .iter()
            .map(|var| {
                (
                    (*var).to_owned(),
                    SecretValue::new(format!("value of {var}")),
                )
            })
            .collect();
        let staged = files.stage(&values).unwrap();
        // B's target became a directory since: a file cannot replace it.
        std::fs::create_dir(secrets.join("B")).unwrap();
        assert!(files.commit(staged).is_err());
        let mut left: Vec<String> = std::fs::read_dir(&secrets)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["A", "B"]);
        assert_eq!(
            std::fs::read_to_string(secrets.join("A")).unwrap(),
            "value of A"
        );
        files.remove_all();
        assert!(!secrets.join("A").exists());
    }
}

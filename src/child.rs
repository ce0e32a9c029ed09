//! The child: building its environment from the scan and the fetched
//! values, and replacing this process with it.
//!
//! It reads values only to copy them into the environment handed to
//! `execve` (and, with `--expand-args`, into the arguments); the values
//! module is the other reader (see its doc for the whole list).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::cli::OnMissing;
use crate::error::{Error, OsReason, UnresolvedVar};
use crate::files::{Files, Staged};
use crate::resolve::Fetches;
use crate::scan::{Scan, Var};
use crate::secret::SecretValue;
use crate::values::{self, PathVars, VarFailure};

/// The environment the child starts with, in the parent's order: each
/// entry `NAME=value` and its terminating NUL, ready for `execve`. The
/// bytes are wiped when it is dropped (it holds the resolved values).
/// Its `SECRET_FILE` files are staged, not yet in place: the caller
/// commits them ([`ChildEnv::commit_files`]) just before the child starts.
pub struct ChildEnv {
    entries: Vec<Vec<u8>>,
    files: Option<Staged>,
}

impl std::fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChildEnv({} variables, values redacted)",
            self.entries.len()
        )
    }
}

impl Drop for ChildEnv {
    fn drop(&mut self) {
        for entry in &mut self.entries {
            zeroize::Zeroize::zeroize(entry);
        }
    }
}

/// `name=value` and a NUL, as `execve` takes it.
fn entry(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(name.len() + value.len() + 2);
    entry.extend_from_slice(name);
    entry.push(b'=');
    entry.extend_from_slice(value);
    entry.push(0);
    entry
}

fn bare(raw: &OsString) -> Vec<u8> {
    let mut entry = raw.as_bytes().to_vec();
    entry.push(0);
    entry
}

impl ChildEnv {
    /// The environment of a scan without references: every variable as it was.
    #[must_use]
    pub fn unchanged(scan: Scan) -> Self {
        let entries = scan
            .vars
            .iter()
            .map(|var| match var {
                Var::Plain(name, value) => entry(name.as_bytes(), value.as_bytes()),
                Var::Secret(secret) => entry(secret.name.as_bytes(), secret.original.as_bytes()),
                Var::Template(template) => {
                    entry(template.name.as_bytes(), template.original.as_bytes())
                }
                Var::Bare(raw) => bare(raw),
            })
            .collect();
        Self {
            entries,
            files: None,
        }
    }

    /// Put each fetched value in place of its reference, then add the
    /// variables of the paths (and of a baked file) the environment does
    /// not set itself.
    ///
    /// # Errors
    /// As [`resolve_vars`].
    pub fn build(
        scan: Scan,
        fetches: &Fetches,
        on_missing: OnMissing,
        paths: PathVars,
        files: &Files,
    ) -> Result<Self, Error> {
        let resolved = resolve_vars(scan, fetches, on_missing)?;
        // Every value is in hand: only now are files staged (all or none).
        let contents: Vec<(String, SecretValue)> = resolved
            .iter()
            .filter_map(|var| match var {
                Resolved::File { name, value } => {
                    Some((name.clone(), SecretValue::new(value.expose().to_owned())))
                }
                _ => None,
            })
            .collect();
        let staged = files.stage(&contents)?;
        drop(contents);
        let mut entries: Vec<Vec<u8>> = resolved
            .iter()
            .map(|var| match var {
                Resolved::Plain(name, value) => entry(name.as_bytes(), value.as_bytes()),
                Resolved::Bare(raw) => bare(raw),
                Resolved::Kept(name, original) => entry(name.as_bytes(), original.as_bytes()),
                Resolved::Secret { name, value } => {
                    entry(name.as_bytes(), value.expose().as_bytes())
                }
                Resolved::File { name, .. } => {
                    entry(name.as_bytes(), files.target(name).as_os_str().as_bytes())
                }
            })
            .collect();
        entries.extend(
            paths
                .vars
                .iter()
                .filter(|var| !var.shadowed)
                .map(|var| entry(var.name.as_bytes(), var.value().expose().as_bytes())),
        );
        // The baked file's, after the paths': a name both set takes the
        // baked value (the launch marks that path variable shadowed).
        entries.extend(
            paths
                .baked
                .iter()
                .filter(|var| !var.shadowed)
                .map(|var| entry(var.name.as_bytes(), var.value().expose().as_bytes())),
        );
        Ok(Self {
            entries,
            files: Some(staged),
        })
    }

    /// `argv` with `${NAME}` replaced from this environment (`--expand-args`).
    ///
    /// # Errors
    /// A name this environment does not have.
    pub fn expand_args(&self, argv: &[OsString]) -> Result<Vec<OsString>, Error> {
        expand_args(argv, &self.entries)
    }

    /// Refuse what `execve` would refuse for its size (E2BIG), so the error
    /// names the variables (and `--check` can say it too). Linux takes at
    /// most `MAX_ARG_STRLEN` (32 pages, 128 KiB) per string and at most
    /// `sysconf(_SC_ARG_MAX)` (a quarter of the stack limit) for every
    /// string and its pointer together (fs/exec.c: `copy_strings`,
    /// `bprm_stack_limits`).
    ///
    /// # Errors
    /// [`Error::TooLarge`] naming the total and the largest variables.
    pub fn check_size(&self, argv: &[OsString]) -> Result<(), Error> {
        check_exec_size(argv, self.entries.iter().map(Vec::len)).map_err(|why| self.too_large(why))
    }

    fn too_large(&self, why: String) -> Error {
        let mut sizes: Vec<(usize, String)> = self
            .entries
            .iter()
            .map(|e| {
                let name = e.split(|&b| b == b'=' || b == 0).next().unwrap_or_default();
                (e.len() - 1, String::from_utf8_lossy(name).into_owned())
            })
            .collect();
        sizes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let largest: Vec<String> = sizes
            .iter()
            .take(3)
            .map(|(size, name)| format!("{name} ({})", bytes_text(*size)))
            .collect();
        Error::TooLarge(format!("{why}; largest: {}", largest.join(", ")))
    }

    /// A `Command` that runs `argv` with exactly this environment, in this
    /// order: `before_exec` runs in the new process first (after std's own
    /// set-up: process group, SIGPIPE), then the environment is put in
    /// place and `execvp` searches the child's PATH, as env(1) does. The
    /// child starts with an empty signal mask and the default SIGPIPE
    /// action: std does not reset an inherited mask (the child inherits it
    /// since rust-lang/rust#101077); this clears it, and so does not
    /// restore the mask psc-exec was started with: env(1) would pass that
    /// on, tini restores it, and a service started with signals blocked by
    /// accident is worse off than one started clean.
    ///
    /// std never sees the environment, so it makes no copies of the values.
    #[must_use]
    pub fn command(self, argv: &[OsString], before_exec: fn() -> std::io::Result<()>) -> Command {
        let (program, _) = argv.split_first().expect("a command");
        let exec = Exec::new(argv, self);
        let mut command = Command::new(program);
        // SAFETY: only async-signal-safe calls (sigprocmask, signal,
        // execvp) on memory prepared before the fork, plus `before_exec`,
        // which callers keep to such calls too.
        unsafe {
            command.pre_exec(move || {
                before_exec()?;
                nix::sys::signal::SigSet::empty()
                    .thread_set_mask()
                    .map_err(std::io::Error::from)?;
                nix::sys::signal::signal(
                    nix::sys::signal::Signal::SIGPIPE,
                    nix::sys::signal::SigHandler::SigDfl,
                )
                .map_err(std::io::Error::from)?;
                Err(exec.exec())
            });
        }
        command
    }
}

/// What `execvp` needs, prepared before any fork: NUL-terminated strings and
/// the NULL-terminated pointer arrays into them.
struct Exec {
    /// Owns what `env_ptrs` points into (and wipes it when dropped).
    _env: ChildEnv,
    argv: Vec<Vec<u8>>,
    env_ptrs: Vec<*const std::ffi::c_char>,
    argv_ptrs: Vec<*const std::ffi::c_char>,
}

// SAFETY: the pointers point into buffers `Exec` owns and never changes;
// std's `pre_exec` requires Send + Sync although the closure runs only in
// the forked child (or this process, right before exec).
unsafe impl Send for Exec {}
// SAFETY: as above.
unsafe impl Sync for Exec {}

impl Exec {
    fn new(argv: &[OsString], env: ChildEnv) -> Self {
        let argv: Vec<Vec<u8>> = argv
            .iter()
            .map(|a| {
                let mut arg = a.as_bytes().to_vec();
                arg.push(0);
                arg
            })
            .collect();
        let pointers = |strings: &[Vec<u8>]| {
            strings
                .iter()
                .map(|s| s.as_ptr().cast())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        Self {
            env_ptrs: pointers(&env.entries),
            argv_ptrs: pointers(&argv),
            _env: env,
            argv,
        }
    }

    /// Put the child's environment in place and exec; returns only on
    /// failure, with the environment as it was.
    fn exec(&self) -> std::io::Error {
        unsafe extern "C" {
            static mut environ: *const *const std::ffi::c_char;
        }
        // SAFETY: single-threaded here (a forked child, or psc-exec about to
        // be replaced); the arrays are NULL-terminated and outlive the call.
        unsafe {
            let saved = environ;
            environ = self.env_ptrs.as_ptr();
            nix::libc::execvp(self.argv_ptrs[0], self.argv_ptrs.as_ptr());
            let error = std::io::Error::last_os_error();
            environ = saved;
            error
        }
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        // The environment wipes itself (ChildEnv's Drop).
        for arg in &mut self.argv {
            zeroize::Zeroize::zeroize(arg);
        }
    }
}

/// Whether `argv` and environment entries of these sizes (each with its
/// NUL) fit what `execve` takes; why not, if they do not.
pub(crate) fn check_exec_size(
    argv: &[OsString],
    entries: impl Iterator<Item = usize>,
) -> Result<(), String> {
    // MAX_ARG_STRLEN: PAGE_SIZE * 32 in include/uapi/linux/binfmts.h.
    const MAX_ARG_STRLEN: usize = 32 * 4096;
    let pointer = std::mem::size_of::<*const u8>();
    let mut total = 0;
    for size in argv.iter().map(|a| a.len() + 1).chain(entries) {
        if size > MAX_ARG_STRLEN {
            return Err(format!(
                "environment too large to start the command: one variable is {}, \
                 over Linux's limit of 128 KiB per variable",
                bytes_text(size - 1)
            ));
        }
        total += size + pointer;
    }
    // SAFETY: sysconf only reads a system setting.
    let limit = unsafe { nix::libc::sysconf(nix::libc::_SC_ARG_MAX) };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if total > limit {
        return Err(format!(
            "environment too large to start the command: {} of arguments and \
             environment, over the system's limit of {} (ARG_MAX)",
            bytes_text(total),
            bytes_text(limit)
        ));
    }
    Ok(())
}

/// A byte count as a person reads it: `980 B`, `60.0 KiB`, `2.3 MiB`.
#[allow(clippy::cast_precision_loss)]
fn bytes_text(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// A variable of the scan after resolution.
#[derive(Debug)]
pub enum Resolved {
    /// Not a reference: as it was.
    Plain(OsString, OsString),
    /// An environment entry without `=`, as it was.
    Bare(OsString),
    /// A reference that did not resolve, kept as it was (`--on-missing keep`).
    Kept(String, OsString),
    /// A reference (or template) and its value.
    Secret {
        /// The variable.
        name: String,
        /// Its value.
        value: SecretValue,
    },
    /// A `SECRET_FILE` reference and its value, for a file.
    File {
        /// The variable.
        name: String,
        /// The file's content.
        value: SecretValue,
    },
}

/// Resolve every variable of the scan, in order, applying `on_missing` to
/// references that did not resolve (with `unset` they are left out).
///
/// # Errors
/// With `OnMissing::Fail`, one error naming every unresolved variable; a
/// failed call (recorded with `keep_going`) always fails.
pub fn resolve_vars(
    scan: Scan,
    fetches: &Fetches,
    on_missing: OnMissing,
) -> Result<Vec<Resolved>, Error> {
    let mut vars = Vec::with_capacity(scan.vars.len());
    let mut unresolved = Vec::new();
    for var in scan.vars {
        let (name, original, file, value) = match var {
            Var::Plain(name, value) => {
                vars.push(Resolved::Plain(name, value));
                continue;
            }
            Var::Bare(raw) => {
                vars.push(Resolved::Bare(raw));
                continue;
            }
            Var::Secret(secret) => {
                let value = values::value_for(&secret, fetches)
                    .map_err(|failure| (secret.reference.as_str().to_owned(), failure));
                (secret.name, secret.original, secret.file, value)
            }
            Var::Template(template) => {
                let value = values::template_value(&template, fetches);
                (template.name, template.original, false, value)
            }
        };
        match value {
            Ok(value) if file => vars.push(Resolved::File { name, value }),
            Ok(value) => vars.push(Resolved::Secret { name, value }),
            Err((_, VarFailure::Call(error))) => return Err(Error::Other(error.to_string())),
            Err((reference, VarFailure::Unresolved(reason))) => {
                unresolved.push(UnresolvedVar {
                    var: name.clone(),
                    reference,
                    reason,
                });
                if on_missing == OnMissing::Keep {
                    vars.push(Resolved::Kept(name, original));
                }
            }
        }
    }
    if !unresolved.is_empty() {
        unresolved.sort_by(|a, b| a.var.cmp(&b.var));
        let error = Error::Unresolved(unresolved);
        match on_missing {
            OnMissing::Fail => return Err(error),
            OnMissing::Keep => warn(&format!("{error} (kept as they were)")),
            OnMissing::Unset => warn(&format!("{error} (removed from the environment)")),
        }
    }
    Ok(vars)
}

/// A warning for the user: one line, with the running program's name.
pub fn warn(message: &str) {
    let program = std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "psc-exec".to_owned());
    crate::error::report(&program, &format!("warning: {message}"));
}

/// Replace this process with `argv` (execve semantics: same PID, no shell).
/// Returns only on failure.
#[must_use]
pub fn exec(argv: &[OsString], env: ChildEnv) -> Error {
    let path = env.path();
    let error = env.command(argv, || Ok(())).exec();
    exec_error(&argv[0], &error, path.as_deref())
}

impl ChildEnv {
    /// Put the staged `SECRET_FILE` files in place, recorded in `files`
    /// for removal when the child is gone.
    ///
    /// # Errors
    /// A rename that failed.
    pub fn commit_files(&mut self, files: &mut Files) -> Result<(), Error> {
        match self.files.take() {
            Some(staged) => files.commit(staged),
            None => Ok(()),
        }
    }

    /// The child's `PATH`, which `execvp` searches.
    #[must_use]
    pub fn path(&self) -> Option<OsString> {
        self.entries.iter().rev().find_map(|e| {
            e.strip_prefix(b"PATH=")
                .map(|v| OsString::from_vec(v[..v.len() - 1].to_vec()))
        })
    }
}

/// Map a failed exec or spawn to env(1)'s exit codes: 127 not found, 126
/// otherwise. `path` is the child's PATH: when the command exists but its
/// script's interpreter does not, the kernel says ENOENT too, and the
/// message says which is missing.
#[must_use]
pub fn exec_error(
    program: &std::ffi::OsStr,
    error: &std::io::Error,
    path: Option<&std::ffi::OsStr>,
) -> Error {
    let found = find_program(program, path);
    let program = program.to_string_lossy().into_owned();
    if error.kind() == std::io::ErrorKind::NotFound {
        match found.as_deref().and_then(interpreter_of) {
            Some(interpreter) => Error::InterpreterNotFound {
                program,
                interpreter,
            },
            None => Error::CommandNotFound(program),
        }
    } else {
        Error::NotExecutable {
            program,
            reason: OsReason(error).to_string(),
        }
    }
}

/// Where `execvp` would find `program`: itself when it has a `/`, else the
/// first regular file of that name in `path` (glibc's default when unset).
fn find_program(
    program: &std::ffi::OsStr,
    path: Option<&std::ffi::OsStr>,
) -> Option<std::path::PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Some(program.into());
    }
    let path = path.unwrap_or(std::ffi::OsStr::new("/bin:/usr/bin"));
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The interpreter named by a script's `#!` line, when it does not exist.
fn interpreter_of(script: &std::path::Path) -> Option<String> {
    use std::io::Read as _;
    let mut head = [0_u8; 256];
    let read = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..read].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let interpreter = line
        .split(|b| b.is_ascii_whitespace())
        .find(|w| !w.is_empty())?;
    let interpreter = std::ffi::OsStr::from_bytes(interpreter);
    (!std::path::Path::new(interpreter).exists())
        .then(|| interpreter.to_string_lossy().into_owned())
}

/// The value of `VAR=` in `entries` for `--expand-args`.
fn lookup<'a>(entries: &'a [Vec<u8>], name: &str) -> Option<&'a [u8]> {
    entries.iter().rev().find_map(|entry| {
        let rest = entry.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
        Some(&rest[..rest.len().saturating_sub(1)])
    })
}

/// `${NAME}` in each argument but the first replaced from `entries`; `$${`
/// is a literal `${`.
///
/// # Errors
/// A name the environment does not have, or a `${` never closed.
fn expand_args(argv: &[OsString], entries: &[Vec<u8>]) -> Result<Vec<OsString>, Error> {
    let mut out = Vec::with_capacity(argv.len());
    for (i, arg) in argv.iter().enumerate() {
        if i == 0 {
            out.push(arg.clone());
            continue;
        }
        let bytes = arg.as_bytes();
        let mut expanded = Vec::with_capacity(bytes.len());
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at..].starts_with(b"$${") {
                expanded.extend_from_slice(b"${");
                at += 3;
            } else if bytes[at..].starts_with(b"${") {
                let Some(end) = bytes[at + 2..].iter().position(|&b| b == b'}') else {
                    return Err(Error::Usage(format!(
                        "--expand-args: argument {i} has a '${{' never closed"
                    )));
                };
                let name = String::from_utf8_lossy(&bytes[at + 2..at + 2 + end]).into_owned();
                let value = lookup(entries, &name).ok_or_else(|| {
                    Error::Usage(format!(
                        "--expand-args: ${{{name}}} in argument {i}: no such variable"
                    ))
                })?;
                expanded.extend_from_slice(value);
                at += 2 + end + 1;
            } else {
                expanded.push(bytes[at]);
                at += 1;
            }
        }
        out.push(OsString::from_vec(expanded));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_over_the_kernel_limits_are_refused() {
        let argv = [OsString::from("true")];
        assert!(check_exec_size(&argv, [10, 20].into_iter()).is_ok());
        let one = check_exec_size(&argv, [200 * 1024].into_iter()).unwrap_err();
        assert!(one.contains("128 KiB per variable"), "{one}");
        let many = check_exec_size(&argv, std::iter::repeat_n(60 * 1024, 100)).unwrap_err();
        assert!(many.contains("ARG_MAX"), "{many}");
    }

    #[test]
    fn the_error_names_the_largest_variables() {
        let env = ChildEnv {
            entries: vec![
                entry(b"SMALL", b"x"),
                entry(b"BIG", &[b'a'; 3000]),
                bare(&"JUNK".into()),
            ],
            files: None,
        };
        let Error::TooLarge(text) = env.too_large("too large".into()) else {
            panic!("not TooLarge");
        };
        assert_eq!(
            text,
            "too large; largest: BIG (2.9 KiB), SMALL (7 B), JUNK (4 B)"
        );
    }

    #[test]
    fn arguments_expand_exact_names_only() {
        let entries = vec![b"A=alpha\0".to_vec(), b"B=\0".to_vec()];
        let argv: Vec<OsString> = ["${A}", "x${A}y", "$${A}", "$A", "${B}|"]
            .iter()
            .map(OsString::from)
            .collect();
        let got = expand_args(&argv, &entries).unwrap();
        assert_eq!(
            got,
            ["${A}", "xalphay", "${A}", "$A", "|"].map(OsString::from)
        );
        assert!(expand_args(&["c".into(), "${NOPE}".into()], &entries).is_err());
        assert!(expand_args(&["c".into(), "${A".into()], &entries).is_err());
    }
}

//! The child: building its environment from the scan and the fetched
//! values, and replacing this process with it.
//!
//! This is the only module that reads secret values, and only to copy them
//! into the environment handed to `execve`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::cli::OnMissing;
use crate::error::{Error, OsReason, UnresolvedVar};
use crate::resolve::{self, Fetches, VarFailure};
use crate::scan::{Scan, SecretVar, Var};
use crate::secret::SecretValue;

/// The environment the child starts with, in the parent's order.
pub struct ChildEnv {
    vars: Vec<(OsString, OsString)>,
}

impl std::fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChildEnv({} variables, values redacted)",
            self.vars.len()
        )
    }
}

impl ChildEnv {
    /// The environment of a scan without references: every variable as it was.
    #[must_use]
    pub fn unchanged(scan: Scan) -> Self {
        let vars = scan
            .vars
            .into_iter()
            .map(|var| match var {
                Var::Plain(name, value) => (name, value),
                Var::Secret(secret) => (OsString::from(secret.name), secret.original),
            })
            .collect();
        Self { vars }
    }

    /// Put each fetched value in place of its reference.
    ///
    /// # Errors
    /// As [`resolve_vars`].
    pub fn build(scan: Scan, fetches: &Fetches, on_missing: OnMissing) -> Result<Self, Error> {
        let vars = resolve_vars(scan, fetches, on_missing)?
            .into_iter()
            .map(|var| match var {
                Resolved::Plain(name, value) => (name, value),
                Resolved::Kept(secret) => (OsString::from(secret.name), secret.original),
                Resolved::Secret { name, value } => {
                    (OsString::from(name), OsString::from(value.expose()))
                }
            })
            .collect();
        Ok(Self { vars })
    }

    /// A `Command` for `argv` with exactly this environment. The PATH
    /// searched is the child's, as in env(1). The child starts with an
    /// empty signal mask and the default SIGPIPE action, whatever psc-exec
    /// inherited or set (`--init` blocks every signal in the parent).
    ///
    /// # Panics
    /// When `argv` is empty (the CLI requires a command).
    #[must_use]
    pub fn command(self, argv: &[OsString]) -> Command {
        let (program, args) = argv.split_first().expect("a command");
        let mut command = Command::new(program);
        command.args(args).env_clear().envs(self.vars);
        // SAFETY: pthread_sigmask and signal are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                nix::sys::signal::SigSet::empty()
                    .thread_set_mask()
                    .map_err(std::io::Error::from)?;
                nix::sys::signal::signal(
                    nix::sys::signal::Signal::SIGPIPE,
                    nix::sys::signal::SigHandler::SigDfl,
                )
                .map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        command
    }
}

/// A variable of the scan after resolution.
#[derive(Debug)]
pub enum Resolved {
    /// Not a reference: as it was.
    Plain(OsString, OsString),
    /// A reference that did not resolve, kept as it was (`--on-missing keep`).
    Kept(SecretVar),
    /// A reference and its value.
    Secret {
        /// The variable.
        name: String,
        /// Its value.
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
        let secret = match var {
            Var::Plain(name, value) => {
                vars.push(Resolved::Plain(name, value));
                continue;
            }
            Var::Secret(secret) => secret,
        };
        match resolve::value_for(&secret, fetches) {
            Ok(value) => vars.push(Resolved::Secret {
                name: secret.name,
                value,
            }),
            Err(VarFailure::Call(error)) => return Err(Error::Other(error.to_string())),
            Err(VarFailure::Unresolved(reason)) => {
                unresolved.push(UnresolvedVar {
                    var: secret.name.clone(),
                    reference: secret.reference.as_str().to_owned(),
                    reason,
                });
                if on_missing == OnMissing::Keep {
                    vars.push(Resolved::Kept(secret));
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
    eprintln!("{program}: warning: {message}");
}

/// Replace this process with `argv` (execve semantics: same PID, no shell).
/// std resets the signal mask and SIGPIPE for the new program. Returns only
/// on failure.
#[must_use]
pub fn exec(argv: &[OsString], env: ChildEnv) -> Error {
    let error = env.command(argv).exec();
    exec_error(&argv[0], &error)
}

/// Map a failed exec or spawn to env(1)'s exit codes: 127 not found, 126
/// otherwise.
#[must_use]
pub fn exec_error(program: &std::ffi::OsStr, error: &std::io::Error) -> Error {
    let program = program.to_string_lossy().into_owned();
    if error.kind() == std::io::ErrorKind::NotFound {
        Error::CommandNotFound(program)
    } else {
        Error::NotExecutable {
            program,
            reason: OsReason(error).to_string(),
        }
    }
}

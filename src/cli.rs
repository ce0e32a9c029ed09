//! Command-line interface of `psc-exec` (clap derive). The doc comments are
//! the `--help` text.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// What `--version` prints after the program's name, for `psc-exec` and
/// `psc`: the version and the target triple the binary was built for
/// (`0.1.0 (x86_64-unknown-linux-musl)`), from `build.rs`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PSC_EXEC_TARGET"),
    ")"
);

/// Resolve `SECRET` references from AWS Parameter Store, then exec COMMAND.
///
/// Every environment variable whose value is `SECRET <reference>` is replaced
/// by the decrypted parameter; all other variables pass through untouched.
/// psc-exec then replaces itself with COMMAND (same PID, no shell). With no
/// references in the environment it makes no AWS call at all.
///
/// References: a parameter name (`prod.billing.db_url`, `/app/prod/db_url`),
/// optionally with a version or label selector (`/app/db_url:3`,
/// `/app/db_url:live`), a parameter ARN, or a Secrets Manager secret
/// (`/aws/reference/secretsmanager/prod/db`); append `#key` to take one key
/// of a JSON value.
///
/// Exit status: 125 when psc-exec fails (nothing is started), 126 when
/// COMMAND cannot be executed, 127 when it is not found, otherwise COMMAND's.
#[derive(Debug, Parser)]
#[command(
    name = "psc-exec",
    version = VERSION,
    after_help = "Examples:
  DB_URL='SECRET prod.billing.db_url' psc-exec -- node server.js
  ENTRYPOINT [\"psc-exec\", \"--init\", \"--\"]             (Dockerfile: psc-exec is PID 1)
  ExecStart=/usr/local/bin/psc-exec -- /srv/app/bin/server (systemd)
  psc-exec --on-missing keep -- ./run-tests              (tolerate missing parameters)
  psc-exec --check --format json                         (deploy pipeline: would every reference resolve?)"
)]
pub struct Cli {
    /// What to do when a parameter does not exist: `fail` (exit 125 naming
    /// every missing one), `keep` (leave the variable as it was, with a
    /// warning) or `unset` (remove the variable from COMMAND's environment).
    #[arg(
        long,
        value_enum,
        env = "PSC_EXEC_ON_MISSING",
        default_value = "fail",
        help_heading = "Resolution"
    )]
    pub on_missing: OnMissing,

    /// Give up when resolution (retries included) takes longer than this,
    /// e.g. `30s`, `2m`.
    #[arg(long, env = "PSC_EXEC_TIMEOUT", default_value = "60s", value_parser = parse_duration, help_heading = "Resolution")]
    pub timeout: Duration,

    /// Attempts per GetParameters call, the first included. Throttling, 5xx
    /// and connection errors are retried with exponential backoff and full
    /// jitter; access and validation errors fail at once. Defaults to
    /// `AWS_MAX_ATTEMPTS` when that is set, else 30 (the deadline is the
    /// real bound).
    #[arg(long, env = "PSC_EXEC_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Resolution")]
    pub max_attempts: Option<u32>,

    /// Time limit for one attempt, so a stalled connection is retried
    /// instead of eating the whole timeout.
    #[arg(long, env = "PSC_EXEC_ATTEMPT_TIMEOUT", default_value = "5s", value_parser = parse_duration, help_heading = "Resolution")]
    pub attempt_timeout: Duration,

    /// Wait a random time up to this long before the first call, to spread
    /// a fleet's start over time (rolling restarts), e.g. `5s`.
    #[arg(long, env = "PSC_EXEC_SPLAY", value_parser = parse_duration, help_heading = "Resolution")]
    pub splay: Option<Duration>,

    /// AWS region (default: the SDK's chain: AWS_REGION, profile, IMDS).
    #[arg(long, help_heading = "Resolution")]
    pub region: Option<String>,

    /// Trust only the CA certificates in this PEM file for the calls,
    /// instead of the system's (`SSL_CERT_FILE` / `SSL_CERT_DIR` are then
    /// ignored). For psc-exec alone: COMMAND's environment is unchanged.
    /// AWS endpoints chain to the five Amazon Trust Services roots (Amazon
    /// Root CA 1-4, Starfield Services Root G2); a file of those loads in
    /// a fraction of the time of a system bundle.
    #[arg(
        long,
        env = "PSC_EXEC_CA_BUNDLE",
        value_name = "FILE",
        help_heading = "Resolution"
    )]
    pub ca_bundle: Option<std::path::PathBuf>,

    /// Run COMMAND as a child and stay as its parent, a correct PID 1 for
    /// containers (like tini): forward every signal to it, reap every
    /// process that exits (orphans included), and exit with its status
    /// (128+N when killed by signal N). Without it, psc-exec execs.
    #[arg(long, help_heading = "Process")]
    pub init: bool,

    /// With `--init`, send forwarded signals to the child's whole process
    /// group instead of the child alone.
    #[arg(long, requires = "init", help_heading = "Process")]
    pub signal_group: bool,

    /// Resolve everything exactly as a launch would, print one row per
    /// reference variable (variable, reference, type, version, status: ok,
    /// missing, denied, bad key) and exit: 0 when every reference would
    /// resolve, 125 otherwise. Never prints a value. COMMAND is optional and
    /// not run.
    #[arg(long, help_heading = "Check")]
    pub check: bool,

    /// Output of `--check`: `table` or `json`.
    #[arg(
        long,
        value_enum,
        default_value = "table",
        requires = "check",
        help_heading = "Check"
    )]
    pub format: crate::check::Format,

    /// More logging on stderr: -v info, -vv debug, -vvv trace.
    /// `PSC_EXEC_LOG` (a tracing filter such as `debug`) wins over it.
    /// Logs name variables and parameters, never values.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// The command to run, and its arguments (passed verbatim, no shell).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// What to do with a variable whose parameter does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnMissing {
    /// Exit 125 before starting anything, naming every missing parameter.
    Fail,
    /// Leave the variable as it was (`SECRET ...`), with a warning.
    Keep,
    /// Remove the variable from the child's environment, with a warning.
    Unset,
}

/// Parse a duration such as `500ms`, `30s` or `2m`.
///
/// # Errors
/// When the text is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 500ms, 30s, 2m)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_takes_everything_after_it() {
        let cli =
            Cli::try_parse_from(["psc-exec", "-v", "node", "-v", "--on-missing", "x"]).unwrap();
        assert_eq!(cli.verbose, 1);
        assert_eq!(cli.command, ["node", "-v", "--on-missing", "x"]);
        let cli = Cli::try_parse_from(["psc-exec", "--", "--weird"]).unwrap();
        assert_eq!(cli.command, ["--weird"]);
    }
}

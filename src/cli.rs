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
/// COMMAND cannot be executed, 127 when it is not found, 75 when `--watch
/// --on-change exit` stopped it after a change, otherwise COMMAND's.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "psc-exec",
    version = VERSION,
    after_help = "Examples:
  DB_URL='SECRET prod.billing.db_url' psc-exec -- node server.js
  ENTRYPOINT [\"psc-exec\", \"--init\", \"--\"]             (Dockerfile: psc-exec is PID 1)
  ExecStart=/usr/local/bin/psc-exec -- /srv/app/bin/server (systemd)
  PSC_EXEC_PATH=/app/common,/app/prod psc-exec -- node server.js (every parameter under both paths)
  psc-exec --baked secret-baker-secrets.json -- node server.js (values baked at deploy: KMS only)
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
    #[arg(long, env = "PSC_EXEC_TIMEOUT", default_value = "60s", value_parser = parse_limit, help_heading = "Resolution")]
    pub timeout: Duration,

    /// Attempts per GetParameters call, the first included. Throttling, 5xx
    /// and connection errors are retried with exponential backoff and
    /// jitter; access and validation errors fail at once. Defaults to
    /// `AWS_MAX_ATTEMPTS` when that is set, else 30 (the deadline is the
    /// real bound).
    #[arg(long, env = "PSC_EXEC_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Resolution")]
    pub max_attempts: Option<u32>,

    /// Time limit for one attempt, so a stalled connection is retried
    /// instead of eating the whole timeout.
    #[arg(long, env = "PSC_EXEC_ATTEMPT_TIMEOUT", default_value = "5s", value_parser = parse_limit, help_heading = "Resolution")]
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

    /// Load every parameter under PATH into the environment (repeatable;
    /// `PSC_EXEC_PATH` takes a comma-separated list). The variable is the
    /// parameter's name after PATH, case kept; a variable already in the
    /// environment wins (with a warning), and a later path wins over an
    /// earlier one. A path may not set `LD_*` or `PSC_EXEC_*`.
    #[arg(
        long,
        env = "PSC_EXEC_PATH",
        value_name = "PATH",
        value_delimiter = ',',
        help_heading = "Paths"
    )]
    pub path: Vec<String>,

    /// With `--path`, every level below PATH too; deeper levels join with
    /// `_` (`/app/prod/db/url` -> `db_url`).
    #[arg(long, help_heading = "Paths")]
    pub recursive: bool,

    /// How parameter names become variable names: `keep` (as they are;
    /// anything that is not a variable name is an error) or `upper`
    /// (chamber's: upper-case, `-` and `.` to `_`).
    #[arg(long, value_enum, default_value = "keep", help_heading = "Paths")]
    pub path_names: crate::paths::PathNames,

    /// Decrypt every entry of FILE into the environment: a
    /// serverless-secret-baker file (`secret-baker-secrets.json`, as `psc
    /// bake` writes it), `{"NAME":{"ciphertext":..,"arn":..}}`. Each is one
    /// KMS Decrypt under the context `{"PARAMETER_ARN": arn}` in the ARN's
    /// region; no Parameter Store call. The values are those baked at
    /// deploy. A variable already in the environment wins (with a
    /// warning); a baked variable wins over a `--path` one.
    #[arg(
        long,
        env = "PSC_EXEC_BAKED",
        value_name = "FILE",
        help_heading = "Baked"
    )]
    pub baked: Option<std::path::PathBuf>,

    /// Directory for `SECRET_FILE` variables' files (default:
    /// `$RUNTIME_DIRECTORY`, else `/run/psc-exec`). Created 0700 when
    /// missing; refused when it is a symlink, another user's, or writable
    /// by others.
    #[arg(
        long,
        env = "PSC_EXEC_SECRETS_DIR",
        value_name = "DIR",
        help_heading = "Files"
    )]
    pub secrets_dir: Option<std::path::PathBuf>,

    /// Mode of the files: `0400` (default) or `0440`, nothing wider.
    #[arg(long, default_value = "0400", value_parser = crate::files::parse_mode, value_name = "MODE", help_heading = "Files")]
    pub file_mode: u32,

    /// Owner of the files, `UID:GID` (root only), for images whose command
    /// drops privileges.
    #[arg(long, value_parser = crate::files::parse_owner, value_name = "UID:GID", help_heading = "Files")]
    pub file_owner: Option<(u32, u32)>,

    /// Replace `${NAME}` in COMMAND's arguments (never the program) with
    /// the variable's final value; `$${` is a literal `${`. The values are
    /// then visible in `/proc/<pid>/cmdline` to every user of the host:
    /// prefer the environment or files.
    #[arg(long, help_heading = "Process")]
    pub expand_args: bool,

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

    /// With `--init`: every INTERVAL (+-20% jitter) ask Parameter Store
    /// for the versions of everything resolved (`WithDecryption=false`: no
    /// value, no KMS call); on a change resolve everything again and, if
    /// that succeeds, act per `--on-change`. References pinned to a
    /// version (`:3`) are never polled. Every poll spends calls from the
    /// 40 per second an account and region share (see the README).
    #[arg(long, env = "PSC_EXEC_WATCH", value_name = "INTERVAL", value_parser = parse_limit, help_heading = "Watch")]
    pub watch: Option<Duration>,

    /// With `--watch`, poll Secrets Manager references too (each poll is a
    /// billed GetSecretValue; the value's SHA-256 digest is compared).
    #[arg(long, requires = "watch", help_heading = "Watch")]
    pub watch_secretsmanager: bool,

    /// With `--watch`, what a change does: `restart` the child with the new
    /// environment, or `exit` 75 (EX_TEMPFAIL) after stopping it, so the
    /// orchestrator starts a fresh task.
    #[arg(
        long,
        value_enum,
        default_value = "restart",
        requires = "watch",
        help_heading = "Watch"
    )]
    pub on_change: OnChange,

    /// With `--watch`, the signal that stops the child on a change (to its
    /// group with `--signal-group`): a name (`TERM`, `SIGINT`) or a number.
    #[arg(long, default_value = "TERM", value_parser = parse_signal, value_name = "SIGNAL", requires = "watch", help_heading = "Watch")]
    pub restart_signal: i32,

    /// With `--watch`, how long the child has to exit after
    /// `--restart-signal` before it gets SIGKILL.
    #[arg(long, default_value = "30s", value_parser = parse_limit, value_name = "DURATION", requires = "watch", help_heading = "Watch")]
    pub restart_timeout: Duration,

    /// With `--watch`, wait a random time up to this long after a change
    /// resolved before acting on it, so a fleet does not restart at once.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", requires = "watch", help_heading = "Watch")]
    pub restart_splay: Option<Duration>,

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

/// What `--watch` does when a parameter changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnChange {
    /// Stop the child and start it again with the new environment.
    Restart,
    /// Stop the child and exit 75 (EX_TEMPFAIL).
    Exit,
}

impl Cli {
    /// What clap makes of `psc-exec [--] COMMAND [ARGS...]` when no option
    /// is given, without building clap's parser (a third of the
    /// instructions of a launch without references): the defaults, and
    /// COMMAND. None for any other command line (an option, or no
    /// COMMAND), and the caller must not ask when a `PSC_EXEC_` variable
    /// could set an option. A test holds it to clap's answer.
    #[must_use]
    pub fn plain(args: &[OsString]) -> Option<Self> {
        let command = match args.get(1)?.as_encoded_bytes() {
            b"--" => &args[2..],
            first if first.starts_with(b"-") => return None,
            _ => &args[1..],
        };
        if command.is_empty() {
            return None;
        }
        Some(Self {
            on_missing: OnMissing::Fail,
            timeout: Duration::from_secs(60),
            max_attempts: None,
            attempt_timeout: Duration::from_secs(5),
            splay: None,
            region: None,
            ca_bundle: None,
            path: Vec::new(),
            recursive: false,
            path_names: crate::paths::PathNames::Keep,
            baked: None,
            secrets_dir: None,
            file_mode: 0o400,
            file_owner: None,
            expand_args: false,
            init: false,
            signal_group: false,
            watch: None,
            watch_secretsmanager: false,
            on_change: OnChange::Restart,
            restart_signal: nix::sys::signal::Signal::SIGTERM as i32,
            restart_timeout: Duration::from_secs(30),
            restart_splay: None,
            check: false,
            format: crate::check::Format::Table,
            verbose: 0,
            command: command.to_vec(),
        })
    }
}

/// A signal for `--restart-signal`: `TERM`, `SIGTERM` or `15`.
///
/// # Errors
/// Not a signal this system knows, or one that cannot be sent (0).
pub fn parse_signal(text: &str) -> Result<i32, String> {
    use std::str::FromStr as _;
    let wrong = || format!("{text}: not a signal (examples: TERM, SIGINT, 15)");
    if let Ok(number) = text.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(number)
            .map(|s| s as i32)
            .map_err(|_| wrong());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    nix::sys::signal::Signal::from_str(&name)
        .map(|s| s as i32)
        .map_err(|_| wrong())
}

/// The longest duration any option takes: far beyond any start-up, and
/// far from where adding it to the clock could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Parse a duration such as `500ms`, `30s` or `2m`, at most a day.
///
/// # Errors
/// When the text is not a duration, or is longer than [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 500ms, 30s, 2m)"))?;
    if duration > MAX_DURATION {
        return Err("longer than the maximum of 24h".into());
    }
    Ok(duration)
}

/// A time limit: a duration as [`parse_duration`], and not zero (a zero
/// limit could only fail, and would blame Parameter Store for it).
///
/// # Errors
/// As [`parse_duration`], and for zero.
pub fn parse_limit(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err("a time limit must be longer than zero".into()),
        limit => Ok(limit),
    }
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
    fn time_limits_are_positive_and_bounded() {
        assert_eq!(parse_limit("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_limit("24h"), Ok(MAX_DURATION));
        assert!(parse_limit("0s").unwrap_err().contains("longer than zero"));
        assert!(parse_limit("0ms").is_err());
        assert!(parse_limit("25h").unwrap_err().contains("24h"));
        assert!(parse_duration("584542046090y").unwrap_err().contains("24h"));
        assert_eq!(
            parse_duration("0s"),
            Ok(Duration::ZERO),
            "--splay 0s: no splay"
        );
    }

    #[test]
    fn restart_signals_by_name_or_number() {
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("sigint"), Ok(2));
        assert_eq!(parse_signal("SIGUSR1"), Ok(10));
        assert_eq!(parse_signal("9"), Ok(9));
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("NOPE").is_err());
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

    #[test]
    fn a_plain_command_line_is_what_clap_makes_of_it() {
        // The variables clap reads are all PSC_EXEC_ ones, none set here.
        for name in Cli::command().get_arguments().filter_map(|a| a.get_env()) {
            assert!(
                name.as_encoded_bytes().starts_with(b"PSC_EXEC_"),
                "{name:?}"
            );
            assert_eq!(std::env::var_os(name), None, "{name:?}");
        }
        let args = |list: &[&str]| -> Vec<OsString> { list.iter().map(OsString::from).collect() };
        for list in [
            &["psc-exec", "--", "node", "server.js"][..],
            &["psc-exec", "node", "-v", "--init", "--", "x"],
            &["psc-exec", "--", "--weird", "--"],
            &["psc-exec", "--", "-"],
            &["psc-exec", "--", "--", "x"],
            &["psc-exec", "x", "--", "--y"],
            &["psc-exec", "true"],
        ] {
            let args = args(list);
            let plain = Cli::plain(&args).expect("a plain command line");
            let clap = Cli::try_parse_from(&args).unwrap();
            assert_eq!(format!("{plain:?}"), format!("{clap:?}"), "{list:?}");
        }
        let not_utf8 = vec![
            OsString::from("psc-exec"),
            std::os::unix::ffi::OsStringExt::from_vec(b"/bin/\xff".to_vec()),
        ];
        assert_eq!(
            format!("{:?}", Cli::plain(&not_utf8)),
            format!("{:?}", Cli::try_parse_from(&not_utf8).ok())
        );
        // Options, or no command: clap's to parse.
        for list in [
            &["psc-exec"][..],
            &["psc-exec", "--"],
            &["psc-exec", "-v", "node"],
            &["psc-exec", "--init", "--", "node"],
            &["psc-exec", "--check"],
            &["psc-exec", "-"],
        ] {
            assert!(Cli::plain(&args(list)).is_none(), "{list:?}");
        }
    }
}

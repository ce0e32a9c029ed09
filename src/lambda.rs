//! psc-exec as an AWS Lambda exec wrapper (`AWS_LAMBDA_EXEC_WRAPPER=/opt/bin/psc-exec`).
//!
//! A managed runtime starts the wrapper with its own full command line, the
//! interpreter first (`psc-exec /var/lang/bin/node --expose-gc ...`), and
//! sets `AWS_LAMBDA_RUNTIME_API` in the environment. That variable is how
//! psc-exec knows it runs in Lambda; it then changes three things:
//!
//! - `--timeout` defaults to 8 s and `--attempt-timeout` to 2 s: the init
//!   phase, wrapper included, has 10 s, and a failure psc-exec reports
//!   itself (one line in the function's log, exit 125) is worth more than
//!   Lambda's own "init timed out". A value given on the command line or in
//!   `PSC_EXEC_TIMEOUT` / `PSC_EXEC_ATTEMPT_TIMEOUT` still wins.
//! - `--init` (and with it `--watch`) is ignored with a warning: the
//!   runtime is not PID 1 of a container, and staying its parent would
//!   only put a process between Lambda and the runtime.
//! - Nothing else: COMMAND is the runtime's argv from its first element on,
//!   passed byte for byte (clap's trailing arguments, as everywhere).
//!
//! Parsing only: no I/O but the warning on stderr.

use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// Set by the Lambda runtime in every function's environment.
pub const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// The default `--timeout` in Lambda: 2 s short of the init phase's 10 s.
pub const TIMEOUT: Duration = Duration::from_secs(8);

/// The default `--attempt-timeout` in Lambda: a stalled connection is
/// retried at least three times within [`TIMEOUT`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether psc-exec runs as a Lambda exec wrapper.
#[must_use]
pub fn detected() -> bool {
    std::env::var_os(RUNTIME_API).is_some()
}

/// Parse psc-exec's command line (`Cli::try_parse`), with Lambda's
/// defaults when [`detected`].
///
/// # Errors
/// clap's, for usage errors, `--help` and `--version`.
pub fn parse_cli() -> Result<Cli, clap::Error> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let in_lambda = detected();
    // Most launches: `psc-exec -- COMMAND`, every option at its default.
    let options_in_environment =
        std::env::vars_os().any(|(name, _)| name.as_encoded_bytes().starts_with(b"PSC_EXEC_"));
    if !options_in_environment && let Some(cli) = Cli::plain(&args) {
        return Ok(with_lambda_defaults(cli, in_lambda));
    }
    parse_from(args, in_lambda)
}

/// `cli` (every option at its default) as [`parse_from`] would adjust it.
fn with_lambda_defaults(mut cli: Cli, in_lambda: bool) -> Cli {
    if in_lambda {
        cli.timeout = TIMEOUT;
        cli.attempt_timeout = ATTEMPT_TIMEOUT;
    }
    cli
}

/// [`parse_cli`] with the arguments and the detection given.
///
/// # Errors
/// clap's, for usage errors, `--help` and `--version`.
pub fn parse_from(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
    in_lambda: bool,
) -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if in_lambda {
        let defaulted = |id: &str| matches.value_source(id) == Some(ValueSource::DefaultValue);
        if defaulted("timeout") {
            cli.timeout = TIMEOUT;
        }
        if defaulted("attempt_timeout") {
            cli.attempt_timeout = ATTEMPT_TIMEOUT;
        }
        if cli.init {
            crate::child::warn(&format!(
                "--init is ignored in AWS Lambda ({RUNTIME_API} is set): the runtime is exec'd"
            ));
            cli.init = false;
            cli.signal_group = false;
        }
        if cli.watch.is_some() {
            crate::child::warn(&format!(
                "--watch is ignored in AWS Lambda ({RUNTIME_API} is set): the runtime is exec'd, so nothing could restart it"
            ));
            cli.watch = None;
        }
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], in_lambda: bool) -> Cli {
        parse_from(
            std::iter::once("psc-exec").chain(args.iter().copied()),
            in_lambda,
        )
        .unwrap()
    }

    #[test]
    fn lambda_shortens_the_default_timeouts_only() {
        let cli = parse(&["node", "index.js"], true);
        assert_eq!(
            (cli.timeout, cli.attempt_timeout),
            (TIMEOUT, ATTEMPT_TIMEOUT)
        );
        let cli = parse(&["node", "index.js"], false);
        assert_eq!(
            (cli.timeout, cli.attempt_timeout),
            (Duration::from_secs(60), Duration::from_secs(5))
        );
        let cli = parse(
            &["--timeout", "3s", "--attempt-timeout", "1s", "node"],
            true,
        );
        assert_eq!(
            (cli.timeout, cli.attempt_timeout),
            (Duration::from_secs(3), Duration::from_secs(1))
        );
    }

    #[test]
    fn lambda_ignores_init() {
        let cli = parse(&["--init", "--signal-group", "node"], true);
        assert!(!cli.init && !cli.signal_group);
        let cli = parse(&["--init", "--watch", "5m", "node"], true);
        assert!(!cli.init && cli.watch.is_none());
        let cli = parse(&["--init", "--signal-group", "node"], false);
        assert!(cli.init && cli.signal_group);
    }

    #[test]
    fn a_plain_command_line_gets_the_same_lambda_defaults() {
        for in_lambda in [true, false] {
            let args: Vec<std::ffi::OsString> =
                ["psc-exec", "/var/lang/bin/node", "/var/runtime/index.mjs"]
                    .map(Into::into)
                    .to_vec();
            let plain = with_lambda_defaults(Cli::plain(&args).unwrap(), in_lambda);
            let parsed = parse_from(args, in_lambda).unwrap();
            assert_eq!(format!("{plain:?}"), format!("{parsed:?}"));
        }
    }

    #[test]
    fn the_runtime_command_line_is_the_command() {
        let argv = [
            "/var/lang/bin/node",
            "--expose-gc",
            "--max-http-header-size",
            "81920",
            "/var/runtime/index.mjs",
        ];
        assert_eq!(parse(&argv, true).command, argv);
    }
}

//! psc-exec: hand secrets from AWS Systems Manager Parameter Store to a
//! process through its environment.
//!
//! Operators put references instead of secrets into a service's environment
//! (`DB_URL="SECRET prod.billing.db_url"`). `psc-exec -- CMD` finds every such
//! variable ([`scan`]), resolves them all with batched, concurrent
//! `GetParameters` calls ([`resolve`]), builds the child's environment with
//! the values in place and replaces itself with the child ([`child`]).
//!
//! Data flows one way: scan -> resolve -> child. Parsing never does I/O;
//! resolution never touches the process; only the child module reads values.
//!
//! Exit codes follow env(1): 125 when psc-exec fails, 126 when the command
//! cannot be executed, 127 when it is not found, otherwise the command's.

pub mod aws;
pub mod check;
pub mod child;
pub mod cli;
pub mod error;
pub mod init;
pub mod reference;
pub mod resolve;
pub mod scan;
pub mod secret;

pub use error::Error;

use tracing_subscriber::filter::{LevelFilter, Targets};

/// The logging filter: `verbose` (the count of `-v`) sets this crate's
/// level: warn, info, debug, trace; other crates (the SDK) only show
/// errors. The variable `env_var`, when set to a valid filter, wins: a
/// level (`debug`) or `target=level` pairs (`warn,aws_config=debug`).
///
/// `Targets` rather than `EnvFilter`: the same directives for our needs,
/// without the regex engine in the binary.
#[must_use]
pub fn log_filter(env_var: &str, verbose: u8) -> Targets {
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    std::env::var(env_var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            Targets::new()
                .with_default(LevelFilter::ERROR)
                .with_target("psc_exec", level)
                .with_target("psc", level)
        })
}

/// Set up logging to stderr with [`log_filter`]. The writer is stderr,
/// unbuffered: exec runs no destructors, so a buffered writer would lose
/// the last lines.
pub fn init_logging(env_var: &str, verbose: u8) {
    let filter = log_filter(env_var, verbose);
    use tracing_subscriber::prelude::*;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .init();
}

/// Stop the AWS SDK from ever logging response bodies: at trace level it
/// would print decrypted values if `LOG_SENSITIVE_BODIES=true` were set.
/// Call it after the environment has been scanned (the child still gets the
/// variable) and before any thread is started.
pub fn forbid_sensitive_logging() {
    if std::env::var_os("LOG_SENSITIVE_BODIES").is_some() {
        // SAFETY: called from main before the runtime or any other thread
        // exists, so nothing reads the environment concurrently.
        unsafe { std::env::remove_var("LOG_SENSITIVE_BODIES") };
    }
}

/// Print panics as one line instead of a trace and exit 125 (they are
/// bugs, but a user still gets one clear line and the documented code;
/// this also holds with `panic = "abort"`, which the release build uses).
pub fn install_panic_hook(program: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("{program}: internal error: {message}");
        std::process::exit(i32::from(error::EXIT_FAILURE));
    }));
}

/// A tokio runtime on this thread: resolution is I/O bound, and a single
/// thread keeps start-up cheap and the process single-threaded at exec.
///
/// # Errors
/// When the runtime cannot be built.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

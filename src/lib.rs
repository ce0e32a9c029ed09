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

use tracing_subscriber::EnvFilter;

/// Set up logging to stderr.
///
/// `verbose` (the count of `-v`) sets this crate's level: warn, info, debug,
/// trace; other crates (the SDK) only show errors. The variable `env_var`, when set, is a
/// full tracing filter and wins. The writer is stderr, unbuffered: exec runs
/// no destructors, so a buffered writer would lose the last lines.
pub fn init_logging(env_var: &str, verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var(env_var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("error,psc_exec={level},psc={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
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

/// Print panics as one line instead of a trace (they are bugs, but a user
/// still gets one clear line and exit 125).
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

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

pub mod admin;
pub mod aws;
pub mod check;
pub mod child;
pub mod cli;
pub mod error;
pub mod init;
pub mod lambda;
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

/// Set up logging to stderr with [`log_filter`] and [`log_subscriber`].
pub fn init_logging(env_var: &str, verbose: u8) {
    let subscriber = log_subscriber(log_filter(env_var, verbose), std::io::stderr);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Plain lines to `writer` (stderr: unbuffered, since exec runs no
/// destructors and a buffered writer would lose the last lines), with
/// `filter`, minus the SDK orchestrator's trace events whatever the filter
/// says: they print whole requests and responses, and a PutParameter
/// request holds its value.
///
/// The cap is one more static directive, not a per-event filter function:
/// every SDK callsite is then decided once, not at each call.
pub fn log_subscriber<W>(filter: Targets, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::prelude::*;
    const ORCHESTRATOR: &str = "aws_smithy_runtime::client::orchestrator";
    let allowed = [
        LevelFilter::TRACE,
        LevelFilter::DEBUG,
        LevelFilter::INFO,
        LevelFilter::WARN,
        LevelFilter::ERROR,
    ]
    .into_iter()
    .find(|level| {
        level
            .into_level()
            .is_some_and(|level| filter.would_enable(ORCHESTRATOR, &level))
    })
    .unwrap_or(LevelFilter::OFF);
    let filter = filter.with_target(ORCHESTRATOR, allowed.min(LevelFilter::DEBUG));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .with_filter(filter);
    tracing_subscriber::registry().with(layer)
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

/// Print panics as one line instead of a trace and exit with `code` (they
/// are bugs, but a user still gets one clear line and the documented code;
/// this also holds with `panic = "abort"`, which the release build uses).
pub fn install_panic_hook(program: &'static str, code: u8) {
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        let message = error::one_line(&message);
        eprintln!("{program}: internal error: {message}");
        std::process::exit(i32::from(code));
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

/// A table: the header, then the rows, each column but the last padded to
/// its widest cell (in characters) and two spaces; trailing blanks trimmed.
pub(crate) fn aligned<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let header = header.map(str::to_owned);
    let mut widths = [0_usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = std::fmt::Write::write_fmt(&mut line, format_args!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn request_bodies_are_never_logged_whatever_the_filter() {
        for filter in [
            "trace",
            "aws_smithy_runtime=trace,other=trace",
            "other=trace,aws_smithy_runtime::client::orchestrator=trace",
        ] {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = super::log_subscriber(filter.parse().unwrap(), move || writer.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(
                    target: "aws_smithy_runtime::client::orchestrator",
                    request = "body with SENTINEL-1",
                    "transmitting request"
                );
                tracing::trace!(
                    target: "aws_smithy_runtime::client::orchestrator::http",
                    response = "SENTINEL-2",
                    "read HTTP response body"
                );
                tracing::debug!(
                    target: "aws_smithy_runtime::client::orchestrator",
                    "beginning attempt #1"
                );
                tracing::trace!(target: "other", "still traced");
            });
            let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            assert!(!logged.contains("SENTINEL"), "{filter}: {logged}");
            assert!(
                logged.contains("beginning attempt #1"),
                "{filter}: {logged}"
            );
            assert!(logged.contains("still traced"), "{filter}: {logged}");
        }
    }

    #[test]
    fn verbosity_and_the_environment_set_the_filter() {
        use tracing_subscriber::filter::LevelFilter;
        let filter = super::log_filter("PSC_TEST_UNSET_LOG_VARIABLE", 2);
        assert!(filter.would_enable("psc_exec::resolve", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("psc_exec::resolve", &tracing::Level::TRACE));
        assert!(!filter.would_enable("aws_config", &tracing::Level::WARN));
        assert_eq!(
            super::log_filter("PSC_TEST_UNSET_LOG_VARIABLE", 0).default_level(),
            Some(LevelFilter::ERROR)
        );
    }
}

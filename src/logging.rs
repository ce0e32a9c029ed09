//! Logging: one place. Lines to stderr, unbuffered (exec runs no
//! destructors), best effort, at the level `-v` or `PSC_EXEC_LOG`/`PSC_LOG`
//! asks for, and never anything of a value: names, counts and timings only,
//! with the SDK's body-describing trace events capped whatever the filter.

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

/// Targets whose trace events describe a request's body, whatever the
/// filter says: the orchestrator prints whole requests and responses (a
/// PutParameter request holds its value); the SigV4 signer prints the
/// request it signs (its body too with `LOG_SIGNABLE_BODY=true`, else the
/// body's length), the canonical request (whose last line is the body's
/// unsalted SHA-256) and the string to sign; the HTTP layers print body
/// and chunk lengths. Each is capped at debug, where none of them logs a
/// body, a hash or a length (aws-sigv4 1.4 logs only at trace;
/// aws-smithy-runtime 1.11's debug events name attempts, delays and
/// endpoints).
const BODY_TRACING_TARGETS: [&str; 8] = [
    "aws_smithy_runtime::client::orchestrator",
    "aws_smithy_runtime::client::http",
    "aws_sigv4",
    "aws_runtime::auth",
    "aws_runtime::content_encoding",
    "hyper",
    "hyper_util",
    "hyper_rustls",
];

/// Plain lines to `writer` (stderr: unbuffered, since exec runs no
/// destructors and a buffered writer would lose the last lines), with
/// `filter`, minus the trace events of `BODY_TRACING_TARGETS` whatever
/// the filter says.
///
/// The cap is one more static directive per target, not a per-event filter
/// function: every SDK callsite is then decided once, not at each call.
pub fn log_subscriber<W>(filter: Targets, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::prelude::*;
    let mut capped = filter.clone();
    for target in BODY_TRACING_TARGETS {
        // The most the filter lets through for this target, at most debug.
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
                .is_some_and(|level| filter.would_enable(target, &level))
        })
        .unwrap_or(LevelFilter::OFF);
        capped = capped.with_target(target, allowed.min(LevelFilter::DEBUG));
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        // A failed write would otherwise be reported with eprintln!, which
        // panics when stderr is broken: log lines are best effort.
        .log_internal_errors(false)
        .with_filter(capped);
    tracing_subscriber::registry().with(layer)
}

/// Stop the AWS SDK from ever logging bodies: at trace level it would
/// print decrypted values with `LOG_SENSITIVE_BODIES=true`, and the body
/// of a request it signs (PutParameter's holds the value) with
/// `LOG_SIGNABLE_BODY=true` (aws-sigv4 reads it at each signing). Call it
/// after the environment has been scanned (the child still gets the
/// variables) and before any thread is started.
pub fn forbid_sensitive_logging() {
    for variable in ["LOG_SENSITIVE_BODIES", "LOG_SIGNABLE_BODY"] {
        if std::env::var_os(variable).is_some() {
            // SAFETY: called from main before the runtime or any other
            // thread exists, so nothing reads the environment concurrently.
            unsafe { std::env::remove_var(variable) };
        }
    }
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
            "other=trace,aws_sigv4=trace,aws_smithy_runtime=trace,hyper_util=trace",
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
                tracing::trace!(
                    target: "aws_sigv4::http_request::sign",
                    canonical_request = "POST / ... SENTINEL-3",
                    "calculated signing parameters"
                );
                tracing::trace!(
                    target: "aws_smithy_runtime::client::http::body::minimum_throughput",
                    "received data: SENTINEL-4"
                );
                tracing::trace!(target: "hyper_util::client::legacy", "SENTINEL-5");
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

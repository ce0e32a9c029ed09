//! psc-exec: parse, scan, resolve on a current-thread runtime, exec.
//! Every error maps to one line on stderr and a documented exit code.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use psc_exec::check::{self, Format};
use psc_exec::child::{self, ChildEnv};
use psc_exec::cli::Cli;
use psc_exec::error::{EXIT_FAILURE, Error};
use psc_exec::resolve::{self, Fetches, Settings};
use psc_exec::scan::Scan;
use psc_exec::{aws, init, scan};

fn main() -> ExitCode {
    psc_exec::install_panic_hook("psc-exec", EXIT_FAILURE);
    // Lambda's defaults when AWS_LAMBDA_RUNTIME_API is set (src/lambda.rs).
    let cli = match psc_exec::lambda::parse_cli() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("psc-exec: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// clap prints help and version itself (exit 0); a usage error is one line
/// and exit 125, like env(1).
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let line = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid usage")
        .trim_start_matches("error: ");
    eprintln!("psc-exec: {line} (see psc-exec --help)");
    ExitCode::from(EXIT_FAILURE)
}

/// Returns the exit code when psc-exec itself decides it (`--check`); a
/// launch returns only on failure.
fn run(cli: Cli) -> Result<u8, Error> {
    if cli.command.is_empty() && !cli.check {
        return Err(Error::Usage(
            "no command given (usage: psc-exec [OPTIONS] -- COMMAND [ARGS...])".into(),
        ));
    }
    let scan = scan::scan(std::env::vars_os()).map_err(Error::InvalidReferences)?;
    psc_exec::forbid_sensitive_logging();
    psc_exec::init_logging("PSC_EXEC_LOG", cli.verbose);
    for miss in &scan.near_misses {
        child::warn(&format!(
            "{} looks like a reference but is passed through unchanged: {}",
            miss.name, miss.why
        ));
    }

    if cli.check {
        return check(&cli, &scan);
    }
    if cli.init {
        // Before the runtime exists: its threads inherit the blocked mask.
        init::block_signals()?;
    }
    let env = if scan.has_secrets() {
        let fetches = fetch(&cli, &scan, false)?;
        ChildEnv::build(scan, &fetches, cli.on_missing)?
    } else {
        // Local development: no references, no AWS configuration, no network.
        tracing::debug!("no references");
        ChildEnv::unchanged(scan)
    };
    if cli.init {
        return init::run(&cli.command, env, cli.signal_group);
    }
    Err(child::exec(&cli.command, env))
}

fn check(cli: &Cli, scan: &Scan) -> Result<u8, Error> {
    let fetches = if scan.has_secrets() {
        fetch(cli, scan, true)?
    } else {
        Fetches::default()
    };
    let rows = check::rows(scan, &fetches)?;
    drop(fetches);
    let text = match cli.format {
        Format::Table => check::table(&rows),
        Format::Json => check::json(&rows),
    };
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    // A closed pipe (`psc-exec --check | head`) is not a failure of the check.
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Other(format!("cannot write the check: {error}")));
    }
    match check::failure_summary(&rows) {
        None => Ok(0),
        Some(summary) => {
            eprintln!("psc-exec: {summary}");
            Ok(EXIT_FAILURE)
        }
    }
}

/// Resolve every reference of the scan on a runtime that is gone when this
/// returns.
fn fetch(cli: &Cli, scan: &Scan, keep_going: bool) -> Result<Fetches, Error> {
    let references: Vec<_> = scan.secrets().map(|s| s.reference.clone()).collect();
    tracing::info!(
        variables = references.len(),
        names = ?scan.secrets().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "resolving references"
    );
    aws::choose_ca_certificates(cli.ca_bundle.as_deref())?;
    let runtime = psc_exec::runtime()?;
    let fetched = runtime.block_on(async {
        let max_attempts = aws::max_attempts(cli.max_attempts)?;
        if let Some(splay) = cli.splay {
            let ceiling = u64::try_from(splay.as_millis()).unwrap_or(u64::MAX);
            let pause = Duration::from_millis(fastrand::u64(0..=ceiling));
            tracing::debug!(pause_ms = pause.as_millis(), "splay");
            tokio::time::sleep(pause).await;
        }
        let settings = Settings {
            max_attempts,
            timeout: cli.timeout,
            attempt_timeout: cli.attempt_timeout,
            keep_going,
            ..Settings::default()
        };
        let resolution = resolve::resolve(&references, cli.region.as_deref(), &settings);
        if cli.init {
            tokio::select! {
                fetched = resolution => fetched,
                signum = init::stop_requested() => Err(Error::Stopped(signum)),
            }
        } else {
            resolution.await
        }
    });
    if cli.init {
        // --init keeps running: give the runtime's threads a moment to end.
        // One stuck in a DNS lookup is not waited for (it would outlast
        // --timeout); it has every signal blocked, as this thread had when
        // it was started, so it can never take one meant for sigwait.
        runtime.shutdown_timeout(Duration::from_millis(100));
    } else {
        // exec (or exit) ends every thread anyway: don't wait for them.
        runtime.shutdown_background();
    }
    fetched
}

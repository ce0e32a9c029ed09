//! psc-exec: parse -> [`psc_exec::launch::run`] -> exit code. Every error
//! maps to one line on stderr and a documented exit code.

use std::process::ExitCode;

use psc_exec::error::{EXIT_FAILURE, report, usage_line};

fn main() -> ExitCode {
    psc_exec::install_panic_hook("psc-exec", EXIT_FAILURE);
    // Cli::try_parse, with Lambda's defaults when run as its exec wrapper.
    let cli = match psc_exec::lambda::parse_cli() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    match psc_exec::launch::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            report("psc-exec", &error.to_string());
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
    report(
        "psc-exec",
        &format!("{} (see psc-exec --help)", usage_line(error)),
    );
    ExitCode::from(EXIT_FAILURE)
}

//! psc: the companion CLI. Parse, run, map every failure to one line on
//! stderr and a documented exit code (0 success, 1 failure, 2 usage error).
//! The commands live in `psc_exec::admin`.

use std::process::ExitCode;

use clap::Parser;
use psc_exec::admin::{self, EXIT_FAILURE, EXIT_USAGE, cli::Cli};

fn main() -> ExitCode {
    psc_exec::install_panic_hook("psc", EXIT_FAILURE);
    // psc reads and writes values: no core dump, no ptrace by the same user.
    psc_exec::forbid_core_dumps();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    // A panic never gets here: the hook prints one line and exits 1.
    match admin::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // `file diff` reports a difference by its status alone.
            let message = failure.to_string();
            if !message.is_empty() {
                psc_exec::error::report("psc", &message);
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

const COMMANDS: [&str; 9] = [
    "set",
    "set-file",
    "get",
    "delete",
    "ls",
    "ll",
    "decrypt-env",
    "import-env",
    "file",
];

/// clap prints help and version itself (exit 0); `psc` alone prints the
/// help on stderr (exit 2); any other usage error is one line, exit 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            return ExitCode::from(EXIT_USAGE);
        }
        _ => {}
    }
    let line = psc_exec::error::usage_line(error);
    let command = std::env::args_os()
        .skip(1)
        .filter_map(|a| a.into_string().ok())
        .find(|a| COMMANDS.contains(&a.as_str()))
        .map_or_else(|| "psc".to_owned(), |c| format!("psc {c}"));
    if command == "psc set" && error.kind() == ErrorKind::UnknownArgument {
        // `psc set NAME correct horse -battery`: clap would quote `-b`, a
        // piece of the value. A mistyped long option is still shown.
        let shown = match error.get(clap::error::ContextKind::InvalidArg) {
            Some(clap::error::ContextValue::String(arg)) if arg.starts_with("--") => Some(arg),
            _ => None,
        };
        if shown.is_none() {
            psc_exec::error::report(
                "psc",
                "unexpected argument (not shown: it may be part of the value); \
                 quote a value that has spaces, or leave it out and type it at the prompt \
                 (see psc set --help)",
            );
            return ExitCode::from(EXIT_USAGE);
        }
    }
    psc_exec::error::report("psc", &format!("{line} (see {command} --help)"));
    if command == "psc decrypt-env" {
        // Its output is sourced or eval'd: stop that script too.
        use std::io::Write as _;
        let _ = std::io::stdout().write_all(admin::STOP_SOURCING_SHELL.as_bytes());
    }
    ExitCode::from(EXIT_USAGE)
}

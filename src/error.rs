//! Errors of psc-exec and psc, and their exit codes.
//!
//! Every message is one line naming what failed and which variables or
//! parameters; none ever carries a value.

use std::fmt;

use crate::scan::InvalidVar;

/// env(1)'s convention: the launcher itself failed (usage errors included).
pub const EXIT_FAILURE: u8 = 125;
/// The command was found but could not be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// Why a reference did not resolve to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Parameter Store listed it in `InvalidParameters`.
    NotFound,
    /// The value is a JSON object without that key.
    KeyNotFound(String),
    /// The reference has a `#key` but the value is not a JSON object.
    NotJsonObject(String),
    /// The value holds a NUL byte, which no environment variable can.
    ContainsNul,
}

impl Unresolved {
    fn heading(&self) -> &'static str {
        match self {
            Self::NotFound => "parameters not found",
            Self::KeyNotFound(_) => "JSON key not found",
            Self::NotJsonObject(_) => "value is not a JSON object",
            Self::ContainsNul => {
                "value contains a NUL byte (not possible in an environment variable)"
            }
        }
    }
}

/// A variable whose reference did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedVar {
    /// The variable.
    pub var: String,
    /// The reference as written.
    pub reference: String,
    /// Why.
    pub reason: Unresolved,
}

/// The class of a failed call to AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsFailure {
    /// `AccessDeniedException`: IAM does not allow `ssm:GetParameters`.
    AccessDenied,
    /// The parameter's KMS key cannot be used (`InvalidKeyId`, KMS access errors).
    Kms,
    /// Throttled until the attempts or the deadline ran out.
    Throttled,
    /// 5xx, connection or timeout errors until the attempts or the deadline ran out.
    Transient,
    /// Credentials could not be found or were rejected.
    Credentials,
    /// The endpoint's TLS certificate was refused (not trusted, expired,
    /// for another name): no retry can change that.
    Certificate,
    /// The response could not be understood.
    BadResponse,
    /// The parameter does not exist (an error code, where a call fails for
    /// it rather than listing it as invalid).
    NotFound,
    /// Any other error AWS returned, by its code.
    Other(String),
}

/// Everything that can make psc-exec or psc fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line.
    #[error("{0}")]
    Usage(String),
    /// Invalid configuration (flags, environment, AWS settings).
    #[error("configuration error: {0}")]
    Config(String),
    /// References that are not valid, caught before any call.
    #[error("invalid reference: {}", invalid_list(.0))]
    InvalidReferences(Vec<InvalidVar>),
    /// References that did not resolve.
    #[error("{}", unresolved_list(.0))]
    Unresolved(Vec<UnresolvedVar>),
    /// A call to AWS failed.
    #[error("{}", aws_message(.failure, .names, .detail))]
    Aws {
        /// The class of failure.
        failure: AwsFailure,
        /// The parameters the failed call asked for.
        names: Vec<String>,
        /// Attempts and time spent, or the service's own message.
        detail: String,
    },
    /// The command does not exist.
    #[error("command not found: {0}")]
    CommandNotFound(String),
    /// The command is a script whose interpreter does not exist.
    #[error("cannot execute {program}: its interpreter {interpreter} was not found")]
    InterpreterNotFound {
        /// The command.
        program: String,
        /// The interpreter its `#!` line names.
        interpreter: String,
    },
    /// The resolved environment is too large for `execve`.
    #[error("{0}")]
    TooLarge(String),
    /// The command exists but cannot be executed.
    #[error("cannot execute {program}: {reason}")]
    NotExecutable {
        /// The command.
        program: String,
        /// The operating system's reason.
        reason: String,
    },
    /// `--init` was told to stop (SIGTERM, ...) before the command started.
    #[error("stopped by {} before the command was started", signal_name(*.0))]
    Stopped(i32),
    /// Any other failure, already phrased.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// The documented exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::CommandNotFound(_) | Self::InterpreterNotFound { .. } => EXIT_NOT_FOUND,
            Self::NotExecutable { .. } => EXIT_NOT_EXECUTABLE,
            // What a shell reports for a death by that signal.
            Self::Stopped(signum) => u8::try_from(128 + signum).unwrap_or(EXIT_FAILURE),
            _ => EXIT_FAILURE,
        }
    }
}

fn signal_name(signum: i32) -> String {
    nix::sys::signal::Signal::try_from(signum)
        .map_or_else(|_| format!("signal {signum}"), |s| s.as_str().to_owned())
}

fn invalid_list(invalid: &[InvalidVar]) -> String {
    let items: Vec<String> = invalid
        .iter()
        .map(|v| format!("{}: {}", v.name, v.error))
        .collect();
    items.join("; ")
}

fn unresolved_list(unresolved: &[UnresolvedVar]) -> String {
    let mut groups: Vec<(&'static str, Vec<String>)> = Vec::new();
    for item in unresolved {
        let entry = match &item.reason {
            Unresolved::NotFound | Unresolved::ContainsNul => {
                format!("{} -> {}", item.var, item.reference)
            }
            Unresolved::KeyNotFound(key) | Unresolved::NotJsonObject(key) => {
                format!("key '{key}' in {} -> {}", item.var, item.reference)
            }
        };
        let heading = item.reason.heading();
        match groups.iter_mut().find(|(h, _)| *h == heading) {
            Some((_, entries)) => entries.push(entry),
            None => groups.push((heading, vec![entry])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(heading, entries)| format!("{heading}: {}", entries.join(", ")))
        .collect();
    parts.join("; ")
}

fn aws_message(failure: &AwsFailure, names: &[String], detail: &str) -> String {
    let names = names.join(", ");
    let with_detail = |s: String| {
        if detail.is_empty() {
            s
        } else {
            format!("{s} ({detail})")
        }
    };
    match failure {
        AwsFailure::AccessDenied => {
            with_detail(format!("access denied to ssm:GetParameters for {names}"))
        }
        AwsFailure::Kms => with_detail(format!("KMS key not accessible for {names}")),
        AwsFailure::Throttled => format!("throttled: {detail}; parameters: {names}"),
        AwsFailure::Transient => {
            format!("Parameter Store unavailable: {detail}; parameters: {names}")
        }
        AwsFailure::Credentials => format!("no usable AWS credentials: {detail}"),
        AwsFailure::Certificate if crate::http::no_roots() => format!(
            "TLS certificate of the endpoint refused: no CA certificates found (install \
             the system's bundle, e.g. the ca-certificates package, set SSL_CERT_FILE, or \
             pass --ca-bundle): {detail}; parameters: {names}"
        ),
        AwsFailure::Certificate => format!(
            "TLS certificate of the endpoint refused (CA certificates: the system's, \
             or --ca-bundle): {detail}; parameters: {names}"
        ),
        AwsFailure::BadResponse => with_detail(format!(
            "malformed response from Parameter Store for {names}"
        )),
        AwsFailure::NotFound => format!("parameter not found: {names}"),
        AwsFailure::Other(code) => {
            with_detail(format!("{code} from ssm:GetParameters for {names}"))
        }
    }
}

/// Error codes with which AWS says "slow down": worth another try later.
pub(crate) const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "Throttling",
    "ThrottledException",
];

/// Error codes with which AWS refuses the credentials themselves.
pub(crate) const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
];

/// Write `program: message` and a newline to stderr, best effort: a
/// stderr that is full, closed or failing drops the line instead of
/// panicking (`eprintln!` panics, and a second panic in the panic hook
/// aborts with a core dump of whatever the process holds). Control
/// characters are escaped, so a name or a service's message cannot act on
/// the terminal.
pub fn report(program: &str, message: &str) {
    use std::io::Write as _;
    let line = format!("{program}: {}\n", escape_controls(message));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Control characters escaped (`\n`, `\u{1b}`), everything else as is.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A clap usage error as one line: clap spreads its message over lines
/// (the missing arguments, the possible values, a tip); keep them all.
#[must_use]
pub fn usage_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let mut line = String::new();
    for part in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            line.push_str(if part.starts_with("tip:") { "; " } else { " " });
        }
        line.push_str(part.trim_start_matches("error: "));
    }
    if line.is_empty() {
        line.push_str("invalid usage");
    }
    line
}

/// A duration as a person reads it: `850ms`, `1.9s`, `28s`, `2m 5s`.
#[must_use]
pub fn duration_text(duration: std::time::Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 10_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else if ms < 60_000 {
        format!("{}s", (ms + 500) / 1000)
    } else {
        let secs = (ms + 500) / 1000;
        match secs % 60 {
            0 => format!("{}m", secs / 60),
            rest => format!("{}m {rest}s", secs / 60),
        }
    }
}

/// Text on one line: every run of whitespace (newlines included) becomes
/// one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A one-line rendering of an I/O error without Rust's `(os error N)` suffix.
pub(crate) struct OsReason<'a>(pub &'a std::io::Error);

impl fmt::Display for OsReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text);
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        for (ms, text) in [
            (0, "0ms"),
            (850, "850ms"),
            (1_882, "1.9s"),
            (5_000, "5.0s"),
            (28_400, "28s"),
            (60_000, "1m"),
            (125_000, "2m 5s"),
        ] {
            assert_eq!(super::duration_text(Duration::from_millis(ms)), text);
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            super::escape_controls("a\u{1b}[31mb\nc\u{7}"),
            "a\\u{1b}[31mb\\nc\\u{7}"
        );
    }
}

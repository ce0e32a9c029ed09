//! Credentials that could not be had, as one line that says what to do.
//!
//! The SDK reports a failed credentials chain as a failed request (psc
//! would say "connection failed") and words it for SDK developers. Here
//! [`explaining`] wraps the default chain: when it fails because an IAM
//! Identity Center (SSO) session has expired or was never started, because
//! a profile's `credential_process` failed, or because there are no
//! credentials anywhere, the wrapper fails with a [`Problem`] that says
//! what to do (`run aws sso login --profile dev`). [`failure`] finds the
//! credentials error among a failed call's causes and phrases it, for
//! psc-exec's and psc's classifiers alike; a [`Problem`] is never worth
//! another attempt.
//!
//! This module reads the profile files only after the chain has failed,
//! and touches nothing else.

use std::error::Error as StdError;

use crate::call::{cause, causes};
use std::fmt;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

/// A credentials failure phrased for the user: what happened, what to do.
#[derive(Debug)]
pub(crate) struct Problem(String);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Problem {}

/// A failed call's credentials error, as the classifiers report it.
#[derive(Debug)]
pub(crate) struct Failure {
    /// One line, without a leading "no usable AWS credentials".
    pub(crate) message: String,
    /// Whether another attempt may do better (a provider that timed out
    /// or could not reach its endpoint), never for a [`Problem`].
    pub(crate) retryable: bool,
}

/// The credentials failure among `error`'s causes, if the call failed for
/// want of credentials.
pub(crate) fn failure(error: &(dyn StdError + 'static)) -> Option<Failure> {
    let credentials = cause::<CredentialsError>(error)?;
    if let Some(problem) = cause::<Problem>(credentials) {
        return Some(Failure {
            message: problem.0.clone(),
            retryable: false,
        });
    }
    // A provider that timed out or failed (IMDS, the ECS endpoint, the SSO
    // portal out of reach) may do better next time; a bad configuration
    // will not.
    let retryable = matches!(
        credentials,
        CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_)
    );
    Some(Failure {
        message: causes(credentials),
        retryable,
    })
}

/// `chain` (the SDK's default credentials chain), failing with a
/// [`Problem`] where the failure has a remedy to name.
#[must_use]
pub(crate) fn explaining(chain: SharedCredentialsProvider) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Explaining(chain))
}

#[derive(Debug)]
struct Explaining(SharedCredentialsProvider);

impl ProvideCredentials for Explaining {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match self.0.provide_credentials().await {
                Ok(credentials) => Ok(credentials),
                Err(error) => Err(explain(error).await),
            }
        })
    }
}

/// Where a profile's credentials come from, when that has a remedy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `sso_session` (an `[sso-session]` section) or the legacy `sso_start_url`.
    Sso,
    /// `credential_process`.
    Process,
}

async fn explain(error: CredentialsError) -> CredentialsError {
    let problem = match &error {
        // Every provider of the chain came up empty.
        CredentialsError::CredentialsNotLoaded(_) => {
            "no AWS credentials found (environment, profile files, web identity, \
             container or instance role): set AWS_PROFILE to a configured profile, or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                .to_owned()
        }
        // The profile's own provider failed. An SSO portal out of reach is
        // the network's doing: leave that as it is, worth another try.
        CredentialsError::ProviderError(_)
            if cause::<aws_sdk_ssm::error::ConnectorError>(&error).is_none() =>
        {
            match profile_source().await {
                Some((profile, Source::Sso)) => format!(
                    "the IAM Identity Center (SSO) session of profile {profile} has expired \
                     or was never started: run aws sso login --profile {profile}"
                ),
                Some((profile, Source::Process)) => format!(
                    "the credential_process of profile {profile} failed (run it yourself to \
                     see why): {}",
                    shown(&innermost(&error))
                ),
                None => return error,
            }
        }
        _ => return error,
    };
    tracing::debug!(error = %causes(&error), "credentials chain failed");
    CredentialsError::invalid_configuration(Problem(problem))
}

/// The selected profile (`AWS_PROFILE`, else `default`), or the profile
/// its `source_profile` chain starts from, when that one gets its
/// credentials from SSO or a process.
async fn profile_source() -> Option<(String, Source)> {
    use aws_types::os_shim_internal::{Env, Fs};
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        None,
    )
    .await
    .ok()?;
    let mut name = profiles.selected_profile().to_owned();
    // A role chain is a few profiles long; the SDK itself refuses a loop.
    for _ in 0..16 {
        let profile = profiles.get_profile(&name)?;
        if profile.get("sso_session").is_some() || profile.get("sso_start_url").is_some() {
            return Some((name, Source::Sso));
        }
        if profile.get("credential_process").is_some() {
            return Some((name, Source::Process));
        }
        name = profile.get("source_profile")?.to_owned();
    }
    None
}

/// The deepest cause's text: for a failed process, the SDK's account of it
/// (exit status and the process's stderr).
fn innermost(error: &(dyn StdError + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// Text from another program (a credential helper's stderr) on one line,
/// control characters escaped, at most 300 characters.
fn shown(text: &str) -> String {
    const MAX: usize = 300;
    let line = crate::error::one_line(text);
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", crate::error::escape_controls(&line[..cut])),
        None => crate::error::escape_controls(&line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_found_under_the_credentials_error_and_never_retried() {
        let error = CredentialsError::invalid_configuration(Problem("do this".into()));
        let outer: Box<dyn StdError + Send + Sync> = Box::new(error);
        let found = failure(outer.as_ref()).expect("a credentials failure");
        assert_eq!(found.message, "do this");
        assert!(!found.retryable);
        let timed_out = CredentialsError::provider_timed_out(std::time::Duration::from_secs(1));
        assert!(failure(&timed_out).expect("credentials").retryable);
        let io = std::io::Error::other("plain network error");
        assert!(failure(&io).is_none());
    }

    #[test]
    fn helper_text_is_one_short_line_without_control_characters() {
        assert_eq!(
            shown("exit 1.\nStderr: bad\x1b[2J"),
            "exit 1. Stderr: bad\\u{1b}[2J"
        );
        let long = "x".repeat(400);
        assert_eq!(shown(&long), format!("{}...", "x".repeat(300)));
    }
}

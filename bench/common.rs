//! What both benchmarks share.

use std::process::Command;

/// A clean environment for psc-exec aimed at `endpoint`: dummy static
/// credentials, a region, no profile files, no IMDS, nothing of the
/// caller's own AWS set-up.
pub fn clean_aws_env<'a>(command: &'a mut Command, endpoint: &str) -> &'a mut Command {
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

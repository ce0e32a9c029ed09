//! Loading the AWS configuration: done only when there is something to
//! resolve, so a run without references pays nothing.

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::error::Error;

/// Attempts when neither the flag nor `AWS_MAX_ATTEMPTS` says otherwise.
///
/// High on purpose: the deadline (`--timeout`) is the real bound. In the
/// fleet benchmark (200 processes at once against 40 calls/s) 10 attempts
/// left 18 of 200 processes throttled out while the rest finished within
/// 1.13x the floor; waiting is what a starting service needs.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 30;

/// Check the SDK's retry variables ourselves: aws-config panics on an
/// invalid `AWS_MAX_ATTEMPTS` or `AWS_RETRY_MODE`. Returns the
/// `AWS_MAX_ATTEMPTS` value, which our own retry loop honours.
///
/// # Errors
/// A configuration error naming the variable.
pub fn check_retry_env() -> Result<Option<u32>, Error> {
    if let Some(mode) = std::env::var_os("AWS_RETRY_MODE") {
        let ok = mode.to_str().map(str::trim).is_some_and(|m| {
            m.eq_ignore_ascii_case("standard") || m.eq_ignore_ascii_case("adaptive")
        });
        if !ok {
            return Err(Error::Config(
                "AWS_RETRY_MODE must be 'standard' or 'adaptive'".into(),
            ));
        }
    }
    match std::env::var_os("AWS_MAX_ATTEMPTS") {
        None => Ok(None),
        Some(value) => match value
            .to_str()
            .map(str::trim)
            .and_then(|v| v.parse::<u32>().ok())
        {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(Error::Config(
                "AWS_MAX_ATTEMPTS must be a whole number of at least 1".into(),
            )),
        },
    }
}

/// Attempts per call: `flag` (`--max-attempts`) when given, else
/// `AWS_MAX_ATTEMPTS`, else [`DEFAULT_MAX_ATTEMPTS`].
///
/// # Errors
/// Invalid retry settings in the environment (see [`check_retry_env`]).
pub fn max_attempts(flag: Option<u32>) -> Result<u32, Error> {
    match flag {
        Some(n) => Ok(n),
        None => Ok(check_retry_env()?.unwrap_or(DEFAULT_MAX_ATTEMPTS)),
    }
}

/// Choose the CA certificates the calls trust: `bundle` alone when given
/// (`--ca-bundle`), else as [`crate::http`] chooses from the environment
/// (`SSL_CERT_DIR`, `SSL_CERT_FILE`, else the system's bundle file). The
/// environment is only read, never changed: the command's is its own.
///
/// # Errors
/// A `bundle` that cannot be read, or holds no PEM certificate, before any
/// call is made.
pub fn choose_ca_certificates(bundle: Option<&std::path::Path>) -> Result<(), Error> {
    let Some(bundle) = bundle else {
        return Ok(());
    };
    // Checked now: a wrong file is one clear line, not a refused
    // certificate later. Read once: these are the certificates trusted.
    let wrong = |why: String| Error::Config(format!("--ca-bundle {}: {why}", bundle.display()));
    let (certificates, undecodable) = crate::http::bundle_certificates(bundle)
        .map_err(|e| wrong(crate::error::OsReason(&e).to_string()))?;
    if certificates.is_empty() {
        return Err(wrong("no PEM certificate in it".into()));
    }
    tracing::debug!(
        file = %bundle.display(),
        certificates = certificates.len(),
        undecodable,
        "CA certificates from --ca-bundle only"
    );
    crate::http::trust_only(certificates);
    Ok(())
}

/// Whether the environment holds static credentials, which the default
/// chain would pick first.
fn env_credentials_present() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY")
}

/// The HTTPS client of every call (psc-exec, `--init`, psc, and the
/// credential providers the configuration builds): [`crate::http`]'s,
/// rustls on *ring*, with the CA certificates chosen by
/// [`choose_ca_certificates`].
///
/// Not the SDK's default (`default-https-client`, rustls on AWS-LC): AWS-LC
/// seeds its random generator from CPU timing jitter on the first handshake
/// of a process, 18-19 ms of CPU here, more than the rest of a launch
/// together. *ring* seeds from `getrandom`, as BoringSSL and OpenSSL do. The
/// jitter source can only be left out of AWS-LC by an environment variable
/// at build time (`AWS_LC_SYS_NO_JITTER_ENTROPY`), which `cargo install`
/// does not carry. Not the SDK's client on ring either: it decodes the CA
/// bundle at a fraction of the speed (see [`crate::http`]). The figures
/// are in the README (Performance).
#[must_use]
pub fn https_client() -> aws_sdk_ssm::config::SharedHttpClient {
    crate::http::client()
}

/// Load the shared configuration: credentials chain, region, endpoint.
///
/// # Errors
/// Invalid retry settings or endpoint, or no region anywhere.
pub async fn load_config(region: Option<&str>) -> Result<SdkConfig, Error> {
    let config = load_config_any_region(region).await?;
    if config.region().is_none() {
        return Err(no_region());
    }
    Ok(config)
}

/// The error for a configuration without a region.
#[must_use]
pub fn no_region() -> Error {
    Error::Config("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or pass --region".into())
}

/// The endpoint variables the SDK reads for SSM, in its order of precedence.
const ENDPOINT_VARIABLES: [&str; 2] = ["AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL"];

/// The variable for KMS's endpoint, checked when `--baked` calls KMS.
const KMS_ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_KMS";

/// Check the endpoint variables ourselves: the SDK takes any text and
/// fails each request with a dispatch error that would read as an outage.
/// An endpoint is an absolute `http` or `https` URL with a host.
///
/// # Errors
/// A configuration error naming the variable.
pub fn check_endpoint_env() -> Result<(), Error> {
    check_endpoint_variables(&ENDPOINT_VARIABLES)
}

/// [`check_endpoint_env`] for KMS's own endpoint variable (`--baked`).
///
/// # Errors
/// A configuration error naming the variable.
pub fn check_kms_endpoint_env() -> Result<(), Error> {
    check_endpoint_variables(&[KMS_ENDPOINT_VARIABLE])
}

fn check_endpoint_variables(variables: &[&str]) -> Result<(), Error> {
    for &variable in variables {
        let Some(value) = std::env::var_os(variable) else {
            continue;
        };
        let ok = value
            .to_str()
            .and_then(|v| v.parse::<http::Uri>().ok())
            .is_some_and(|uri| {
                matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some_and(|h| !h.is_empty())
            });
        if !ok {
            return Err(Error::Config(format!(
                "{variable} is not an http(s) URL with a host (e.g. https://ssm.eu-west-1.amazonaws.com)"
            )));
        }
    }
    Ok(())
}

/// [`load_config`], also when no region is configured: references that are
/// all ARNs carry their regions.
///
/// # Errors
/// Invalid retry settings or endpoint.
pub async fn load_config_any_region(region: Option<&str>) -> Result<SdkConfig, Error> {
    check_endpoint_env()?;
    check_retry_env()?;
    // Setting the retry config here keeps aws-config from parsing (and
    // panicking on) the retry settings itself; retries are ours.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let from_env = env_credentials_present();
    if from_env {
        // The default chain tries the environment first anyway; naming the
        // provider skips building the rest of the chain (an STS client for
        // web identity, the ECS and IMDS clients), about 5 ms of start-up.
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    let mut config = loader.load().await;
    if !from_env && let Some(chain) = config.credentials_provider() {
        // The default chain (profiles with keys, credential_process or
        // IAM Identity Center, web identity, container and instance
        // roles), failing with a line that says what to do.
        config = config
            .into_builder()
            .credentials_provider(crate::credentials::explaining(chain))
            .build();
    }
    Ok(config)
}

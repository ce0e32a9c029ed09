//! psyml's encryption, through KMS: the psyml key's ARN (DescribeKey on
//! its alias), Encrypt and Decrypt under the encryption context
//! `{"Client": "psyml", "Name": <name as written in the file>}`, the
//! ciphertext as standard padded base64 (psyml's `awsutils.py`). Errors
//! are sorted by type and code into one line that never carries a value.
//!
//! Only the network: no file, no terminal.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_kms::primitives::Blob;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::admin::Failure;
use crate::secret::SecretValue;

/// The encryption context's `Client`, as psyml writes it.
const CLIENT: &str = "psyml";
/// The SDK's default, as for psc's SSM calls.
const DEFAULT_ATTEMPTS: u32 = 3;

/// A KMS client in the psyml key's region, with the same retries and
/// time limits as psc's SSM client.
///
/// # Errors
/// Configuration errors.
pub async fn client(region: &str) -> Result<Client, Failure> {
    let config = crate::aws::load_config(Some(region)).await?;
    let attempts = crate::aws::check_retry_env()?.unwrap_or(DEFAULT_ATTEMPTS);
    let conf = aws_sdk_kms::config::Builder::from(&config)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    Ok(Client::from_conf(conf))
}

/// The ARN of the key the alias points at now (psyml encrypts under the
/// ARN, and `encrypted_with` records it).
///
/// # Errors
/// The alias does not exist, or the call failed.
pub async fn key_arn(client: &Client, alias: &str) -> Result<String, Failure> {
    let output = client
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .map_err(|error| match error.as_service_error() {
            Some(DescribeKeyError::NotFoundException(_)) => Failure::Failed(format!(
                "the psyml key does not exist in {} (set PSYML_KEY_ALIAS and PSYML_KEY_REGION, or --key-alias and --key-region): {alias}",
                region_of(client)
            )),
            _ => failure("DescribeKey", alias, error),
        })?;
    let arn = output
        .key_metadata
        .map(|m| m.arn)
        .unwrap_or_default()
        .unwrap_or_default();
    if arn.is_empty() {
        return Err(Failure::Failed(format!(
            "kms:DescribeKey returned no key ARN: {alias}"
        )));
    }
    tracing::debug!(alias, arn, "psyml key");
    Ok(arn)
}

fn region_of(client: &Client) -> String {
    client
        .config()
        .region()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Encrypt `value` for parameter `name` (as written in the file) under
/// `key_arn`; returns psyml's base64 text.
///
/// # Errors
/// The call failed.
pub async fn encrypt(
    client: &Client,
    key_arn: &str,
    name: &str,
    value: &SecretValue,
) -> Result<String, Failure> {
    let output = client
        .encrypt()
        .key_id(key_arn)
        .plaintext(Blob::new(value.expose().as_bytes()))
        .encryption_context("Client", CLIENT)
        .encryption_context("Name", name)
        .send()
        .await
        .map_err(|e| failure("Encrypt", name, e))?;
    let blob = output
        .ciphertext_blob
        .ok_or_else(|| Failure::Failed(format!("kms:Encrypt returned no ciphertext: {name}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(blob.as_ref()))
}

/// Decrypt the base64 `ciphertext` of parameter `name`.
///
/// # Errors
/// Not base64, a ciphertext made for another name (KMS checks the
/// encryption context), not UTF-8, or the call failed.
pub async fn decrypt(
    client: &Client,
    name: &str,
    ciphertext: &str,
) -> Result<SecretValue, Failure> {
    let blob = base64::engine::general_purpose::STANDARD
        .decode(ciphertext.as_bytes())
        .map_err(|_| Failure::Usage(format!("the securestring value is not base64: {name}")))?;
    let output = client
        .decrypt()
        .ciphertext_blob(Blob::new(blob))
        .encryption_context("Client", CLIENT)
        .encryption_context("Name", name)
        .send()
        .await
        .map_err(|error| match error.as_service_error() {
            Some(DecryptError::InvalidCiphertextException(_)) => Failure::Failed(format!(
                "cannot decrypt: the ciphertext does not match its encryption context (encrypted under another name, or damaged): {name}"
            )),
            Some(DecryptError::IncorrectKeyException(_)) => Failure::Failed(format!(
                "cannot decrypt: the ciphertext was made with another key: {name}"
            )),
            _ => failure("Decrypt", name, error),
        })?;
    let plaintext = Zeroizing::new(output.plaintext.map(Blob::into_inner).unwrap_or_default());
    let text = std::str::from_utf8(&plaintext)
        .map_err(|_| Failure::Failed(format!("the decrypted value is not UTF-8: {name}")))?;
    Ok(SecretValue::new(text.to_owned()))
}

/// Sort a KMS error into a one-line message with psc-exec's one
/// classifier. The service's own message is shown only for access and
/// credential errors (it names the key and the action, never a value).
fn failure<E>(operation: &str, subject: &str, error: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = crate::call::classify(error);
    let action = format!("kms:{operation}");
    let text = match &failure.class {
        crate::error::AwsFailure::Other(code)
            if matches!(
                code.as_str(),
                "DisabledException" | "KMSInvalidStateException" | "KeyUnavailableException"
            ) =>
        {
            format!("the psyml key is not usable ({code}) for {action}: {subject}")
        }
        _ => crate::admin::ssm::worded("KMS", &action, subject, &failure, false),
    };
    Failure::Failed(text)
}

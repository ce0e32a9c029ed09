//! psc's calls to Parameter Store besides reading values (which goes
//! through the library's `resolve`): PutParameter, AddTagsToResource,
//! DeleteParameters and DescribeParameters, with errors sorted by type and
//! code into one-line messages that never carry a value.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types::{
    ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging,
    Tag,
};

use super::Failure;
use super::name::Selection;
use crate::secret::SecretValue;

/// `DeleteParameters` takes at most 10 names per call.
pub const DELETE_BATCH: usize = 10;
/// `DescribeParameters` returns at most 50 parameters per page.
pub const DESCRIBE_PAGE: i32 = 50;
/// The most `DescribeParameters` pages one listing follows. A region holds
/// at most 110,000 parameters (10,000 Standard and 100,000 Advanced: the
/// Systems Manager User Guide, "Managing parameter tiers"), 2,200 full pages of [`DESCRIBE_PAGE`]; pages may come back
/// part full, so the bound is over twice that. More is an endpoint that
/// never ends, not a listing.
pub const MAX_PAGES: usize = 5_000;
/// The SDK's own default: these calls are interactive, and a quick clear
/// failure beats a long wait.
const DEFAULT_ATTEMPTS: u32 = 3;

/// A client for the configured (or given) region, with the SDK's standard
/// retries (throttling, 5xx, connection errors) and time limits. Returns
/// the region too, for the name length rule.
///
/// # Errors
/// Configuration errors (no region, invalid retry settings).
pub async fn client(region: Option<&str>) -> Result<(Client, String), Failure> {
    let config = crate::aws::load_config(region).await?;
    let attempts = crate::aws::check_retry_env()?.unwrap_or(DEFAULT_ATTEMPTS);
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let conf = aws_sdk_ssm::config::Builder::from(&config)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    Ok((Client::from_conf(conf), region))
}

/// What `set` and `set-file` store, apart from the value.
#[derive(Debug)]
pub struct PutRequest<'a> {
    /// The parameter.
    pub name: &'a str,
    /// The type; `None`: SecureString when new, unchanged when overwritten.
    pub kind: Option<ParameterType>,
    /// The description, if given.
    pub description: Option<&'a str>,
    /// The KMS key, if given.
    pub key_id: Option<&'a str>,
    /// The tier, if given.
    pub tier: Option<ParameterTier>,
    /// Replace an existing parameter.
    pub overwrite: bool,
    /// Tags to put on the parameter.
    pub tags: Vec<Tag>,
}

/// Store a value; returns the new version.
///
/// Without --overwrite: one PutParameter (tags included). With it, when the
/// type is given and there are no tags: one PutParameter with Overwrite.
/// Otherwise the parameter is first created as if new (so a new one gets
/// SecureString and the tags in the same call); only if it exists is it
/// overwritten without a type (it keeps its own) and the tags are added
/// with AddTagsToResource, as PutParameter refuses tags with Overwrite.
///
/// # Errors
/// The parameter exists (without --overwrite), or the call failed.
pub async fn put(
    client: &Client,
    request: &PutRequest<'_>,
    value: &SecretValue,
) -> Result<i64, Failure> {
    let names = [request.name.to_owned()];
    let single_overwrite = request.overwrite && request.kind.is_some() && request.tags.is_empty();
    if !single_overwrite {
        let created = client
            .put_parameter()
            .name(request.name)
            .value(value.expose())
            .r#type(request.kind.clone().unwrap_or(ParameterType::SecureString))
            .set_description(request.description.map(str::to_owned))
            .set_key_id(request.key_id.map(str::to_owned))
            .set_tier(request.tier.clone())
            .set_tags((!request.tags.is_empty()).then(|| request.tags.clone()))
            .overwrite(false)
            .send()
            .await;
        match created {
            Ok(output) => {
                tracing::debug!(name = request.name, version = output.version, "created");
                return Ok(output.version);
            }
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(PutParameterError::ParameterAlreadyExists(_))
                ) =>
            {
                if !request.overwrite {
                    return Err(Failure::Failed(format!(
                        "parameter already exists (pass --overwrite to replace it): {}",
                        request.name
                    )));
                }
                tracing::debug!(name = request.name, "exists; overwriting");
            }
            Err(error) => return Err(put_failure(error, &names)),
        }
    }
    let output = client
        .put_parameter()
        .name(request.name)
        .value(value.expose())
        .set_type(request.kind.clone())
        .set_description(request.description.map(str::to_owned))
        .set_key_id(request.key_id.map(str::to_owned))
        .set_tier(request.tier.clone())
        .overwrite(true)
        .send()
        .await
        .map_err(|e| put_failure(e, &names))?;
    tracing::debug!(name = request.name, version = output.version, "overwritten");
    if !request.tags.is_empty() {
        client
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(request.name)
            .set_tags(Some(request.tags.clone()))
            .send()
            .await
            .map_err(|e| {
                let failure = failure("AddTagsToResource", &names, e, true);
                Failure::Failed(format!(
                    "{failure} (the value was stored as version {})",
                    output.version
                ))
            })?;
    }
    Ok(output.version)
}

/// PutParameter's own errors, by type. The service's message is left out
/// (except for access errors): a validation message could quote the value.
fn put_failure(error: SdkError<PutParameterError, HttpResponse>, names: &[String]) -> Failure {
    let name = names.join(", ");
    let what = match error.as_service_error() {
        Some(PutParameterError::ParameterLimitExceeded(_)) => {
            "too many parameters in this account and region (the Standard tier holds 10,000; --tier Advanced holds more)"
        }
        Some(PutParameterError::ParameterMaxVersionLimitExceeded(_)) => {
            "the parameter has 100 versions and the oldest has a label (move the label, then retry)"
        }
        Some(PutParameterError::HierarchyLevelLimitExceededException(_)) => {
            "more than 15 levels in the name"
        }
        Some(PutParameterError::HierarchyTypeMismatchException(_)) => {
            "Parameter Store refused to change this parameter's type (HierarchyTypeMismatchException)"
        }
        Some(PutParameterError::InvalidKeyId(_)) => {
            "the KMS key (--key-id, or a psc file's kmskey) is not usable"
        }
        Some(PutParameterError::TooManyUpdates(_)) => {
            "too many updates to this parameter at once; try again"
        }
        Some(PutParameterError::UnsupportedParameterType(_)) => "unsupported parameter type",
        Some(PutParameterError::ParameterPatternMismatchException(_)) => {
            "the value does not match the parameter's allowed pattern"
        }
        _ => return failure("PutParameter", names, error, false),
    };
    Failure::Failed(format!("{what}: {name}"))
}

/// What a DeleteParameters run did.
#[derive(Debug, Default)]
pub struct Deleted {
    /// Names deleted.
    pub deleted: Vec<String>,
    /// Names that did not exist.
    pub missing: Vec<String>,
}

/// Delete `names`, ten per call.
///
/// # Errors
/// A failed call; the names of earlier batches may be deleted already, and
/// the message says which.
pub async fn delete(client: &Client, names: &[String]) -> Result<Deleted, Failure> {
    let mut outcome = Deleted::default();
    for batch in names.chunks(DELETE_BATCH) {
        let output = client
            .delete_parameters()
            .set_names(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| {
                let failure = failure("DeleteParameters", batch, e, true);
                if outcome.deleted.is_empty() {
                    failure
                } else {
                    Failure::Failed(format!(
                        "{failure} (already deleted: {})",
                        outcome.deleted.join(", ")
                    ))
                }
            })?;
        outcome
            .deleted
            .extend(output.deleted_parameters.unwrap_or_default());
        outcome
            .missing
            .extend(output.invalid_parameters.unwrap_or_default());
    }
    Ok(outcome)
}

/// Every parameter's metadata under the selection, all pages; never values.
///
/// # Errors
/// A failed call.
pub async fn describe(
    client: &Client,
    selection: &Selection,
    recursive: bool,
) -> Result<Vec<ParameterMetadata>, Failure> {
    let filter = match selection {
        Selection::Path(path) if path == "/" && recursive => None,
        Selection::Path(path) => Some(
            ParameterStringFilter::builder()
                .key("Path")
                .option(if recursive { "Recursive" } else { "OneLevel" })
                .values(path)
                .build(),
        ),
        Selection::Prefix(prefix) => Some(
            ParameterStringFilter::builder()
                .key("Name")
                .option("BeginsWith")
                .values(prefix)
                .build(),
        ),
    };
    let filter = filter
        .transpose()
        .map_err(|e| Failure::Failed(format!("cannot build the listing filter: {e}")))?;
    let subject = [match selection {
        Selection::Path(path) | Selection::Prefix(path) => path.clone(),
    }];
    // Pages are followed by hand: the SDK's paginator stops without a word
    // when a token comes back twice in a row (a partial list that looks
    // whole), and follows new tokens forever.
    let filters = filter.map(|f| vec![f]);
    let mut parameters = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut token: Option<String> = None;
    let mut calls = 0_usize;
    loop {
        if calls == MAX_PAGES {
            return Err(Failure::Failed(format!(
                "DescribeParameters gave a next page after {MAX_PAGES} pages; \
                 stopped rather than list forever: {}",
                subject[0]
            )));
        }
        let page = client
            .describe_parameters()
            .set_parameter_filters(filters.clone())
            .max_results(DESCRIBE_PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| failure("DescribeParameters", &subject, e, true))?;
        calls += 1;
        parameters.extend(page.parameters.unwrap_or_default());
        match page.next_token.filter(|t| !t.is_empty()) {
            None => break,
            Some(next) if !seen.insert(next.clone()) => {
                return Err(Failure::Failed(format!(
                    "DescribeParameters gave a page token it had given before \
                     (page {calls}); stopped rather than list forever or in part: {}",
                    subject[0]
                )));
            }
            Some(next) => token = Some(next),
        }
    }
    tracing::debug!(calls, parameters = parameters.len(), "DescribeParameters");
    Ok(parameters)
}

/// Sort any SDK error of `ssm:operation` into a one-line message, with
/// psc-exec's one classifier (by type and error code, never by text).
/// `service_message`: whether the service's own message may be shown (never
/// for calls that carry a value, except access errors).
pub fn failure<E>(
    operation: &str,
    names: &[String],
    error: SdkError<E, HttpResponse>,
    service_message: bool,
) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Failure::Failed(worded(
        "Parameter Store",
        &format!("ssm:{operation}"),
        &names.join(", "),
        &crate::call::classify(error),
        service_message,
    ))
}

/// psc's words for a classified failure of `action` (`ssm:PutParameter`)
/// on `subject`, a service's (`Parameter Store`, `KMS`).
pub(crate) fn worded(
    service: &str,
    action: &str,
    subject: &str,
    failure: &crate::call::Failure,
    service_message: bool,
) -> String {
    use crate::error::AwsFailure;
    let detail = &failure.detail;
    match &failure.class {
        AwsFailure::Credentials => format!("no usable AWS credentials: {detail}"),
        AwsFailure::AccessDenied => format!("access denied to {action} ({detail}): {subject}"),
        AwsFailure::Kms => format!("KMS error ({detail}): {subject}"),
        AwsFailure::Throttled => {
            format!("throttled by {service} ({detail}, retries exhausted): {subject}")
        }
        AwsFailure::Transient => {
            format!("cannot reach {service} for {action} ({detail}): {subject}")
        }
        AwsFailure::Certificate => {
            format!("TLS certificate of the {service} endpoint refused ({detail}): {subject}")
        }
        AwsFailure::BadResponse => format!("malformed response to {action} ({detail}): {subject}"),
        AwsFailure::NotFound => format!("not found ({detail}) for {action}: {subject}"),
        AwsFailure::Other(code) => {
            // `detail` is `Code: message` for an AWS error; the message
            // only where it may be shown.
            match detail.strip_prefix(&format!("{code}: ")) {
                Some(message) if service_message => {
                    format!("{code} from {action} ({message}): {subject}")
                }
                _ if detail == code || detail.starts_with(&format!("{code}: ")) => {
                    format!("{code} from {action}: {subject}")
                }
                // Not an AWS error code: a request that could not be built
                // or sent, in the SDK's words (never a body).
                _ => format!("{action} failed ({code}: {detail}): {subject}"),
            }
        }
    }
}

/// A parameter read with its value, by `get_by_path`.
#[derive(Debug)]
pub struct Stored {
    /// The name.
    pub name: String,
    /// Its type, as Parameter Store spells it.
    pub kind: String,
    /// Its value (decrypted; a StringList comma-joined).
    pub value: SecretValue,
}

/// Every parameter below `path` (every level), with its decrypted value,
/// following NextToken to the last page (a page may be short, even empty,
/// and still have a next one). `path` is `/` or has no trailing `/`.
///
/// # Errors
/// A failed call.
pub async fn get_by_path(client: &Client, path: &str) -> Result<Vec<Stored>, Failure> {
    let subject = [path.to_owned()];
    let mut pages = client
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .max_results(10)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    let mut calls = 0_usize;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| failure("GetParametersByPath", &subject, e, true))?;
        calls += 1;
        for parameter in page.parameters.unwrap_or_default() {
            out.push(Stored {
                name: parameter.name.unwrap_or_default(),
                kind: parameter
                    .r#type
                    .as_ref()
                    .map_or("", ParameterType::as_str)
                    .to_owned(),
                value: SecretValue::new(parameter.value.unwrap_or_default()),
            });
        }
    }
    tracing::debug!(calls, parameters = out.len(), "GetParametersByPath");
    Ok(out)
}

/// A parameter's tags, as key and value pairs.
///
/// # Errors
/// A failed call.
pub async fn list_tags(client: &Client, name: &str) -> Result<Vec<(String, String)>, Failure> {
    let output = client
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(|e| failure("ListTagsForResource", &[name.to_owned()], e, true))?;
    Ok(output
        .tag_list
        .unwrap_or_default()
        .into_iter()
        .map(|tag| (tag.key, tag.value))
        .collect())
}

/// Add (or update) tags on a parameter.
///
/// # Errors
/// A failed call.
pub async fn add_tags(client: &Client, name: &str, tags: Vec<Tag>) -> Result<(), Failure> {
    client
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| failure("AddTagsToResource", &[name.to_owned()], e, true))?;
    Ok(())
}

/// Remove tags from a parameter, by key.
///
/// # Errors
/// A failed call.
pub async fn remove_tags(client: &Client, name: &str, keys: Vec<String>) -> Result<(), Failure> {
    client
        .remove_tags_from_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map_err(|e| failure("RemoveTagsFromResource", &[name.to_owned()], e, true))?;
    Ok(())
}

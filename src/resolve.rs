//! Resolution: the requests of a launch ([`crate::plan`], paths, baked
//! entries) run concurrently (`call`), their answers matched back
//! (`answer`) into [`Fetches`], which [`crate::values`] turns into what the
//! child gets.
//!
//! This module talks to Parameter Store and KMS and never touches the
//! process or reads a value (a decrypted baked value is only checked to be
//! UTF-8, as the SDK checks Parameter Store's JSON).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::baked::BakedEntry;
use crate::call;
use crate::error::{AwsFailure, Error};
use crate::paths::PathRequest;
use crate::plan::{Batch, plan, width};
use crate::reference::Reference;
use crate::secret::SecretValue;

/// How resolution behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Deadline for the whole resolution, retries included.
    pub timeout: Duration,
    /// Deadline for one attempt, so one stalled connection cannot eat the whole timeout.
    pub attempt_timeout: Duration,
    /// Record failed calls per reference instead of stopping at the first (`--check`).
    pub keep_going: bool,
    /// Ask for decrypted values (`WithDecryption`): off only for
    /// `--watch`'s polls, which want names and versions.
    pub with_decryption: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            // Ten calls in flight: 100 references in one round. Against
            // Parameter Store a round (tens of ms) costs far more than the
            // handshake of one more connection (about 1 ms of CPU).
            concurrency: 10,
            max_attempts: crate::aws::DEFAULT_MAX_ATTEMPTS,
            timeout: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(5),
            keep_going: false,
            with_decryption: true,
        }
    }
}

/// A fetched parameter: its value and what `--check` shows of it.
#[derive(Debug)]
pub struct Fetched {
    /// The decrypted value: read only through [`crate::values`].
    value: SecretValue,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// The version returned.
    pub version: i64,
    /// When this version was stored, if the response said.
    pub last_modified: Option<aws_sdk_ssm::primitives::DateTime>,
}

impl Fetched {
    pub(crate) fn new(
        value: SecretValue,
        kind: String,
        version: i64,
        last_modified: Option<aws_sdk_ssm::primitives::DateTime>,
    ) -> Self {
        Self {
            value,
            kind,
            version,
            last_modified,
        }
    }

    /// The value, for [`crate::values`] alone.
    pub(crate) fn value(&self) -> &SecretValue {
        &self.value
    }

    /// [`Self::last_modified`] in RFC 3339; formatted only when shown.
    #[must_use]
    pub fn last_modified_text(&self) -> Option<String> {
        self.last_modified.and_then(|d| {
            d.fmt(aws_sdk_ssm::primitives::DateTimeFormat::DateTime)
                .ok()
        })
    }
}

/// What became of one fetched reference.
#[derive(Debug)]
pub enum Fetch {
    /// Parameter Store returned it.
    Found(Fetched),
    /// Parameter Store listed it in `InvalidParameters`.
    Missing,
    /// Its call failed (only recorded with `keep_going`).
    Failed(Arc<Error>),
}

/// What became of one `--path`.
#[derive(Debug)]
pub enum PathFetch {
    /// Every parameter under it, by name (possibly none).
    Found(Vec<(String, Fetched)>),
    /// Its calls failed (only recorded with `keep_going`).
    Failed(Arc<Error>),
}

/// What became of one baked entry.
#[derive(Debug)]
pub enum BakedFetch {
    /// KMS decrypted it: the value, read only through [`crate::values`].
    Found(SecretValue),
    /// Its Decrypt failed (only recorded with `keep_going`): the class of
    /// the failure and its cause (KMS's error code first).
    Failed(AwsFailure, String),
}

/// The error for a baked entry that could not be decrypted: a launch's,
/// and `--check`'s when the failure is not one of its rows.
pub(crate) fn baked_error(entry: &BakedEntry, detail: &str) -> Error {
    Error::Other(format!(
        "cannot decrypt baked {} (kms:Decrypt, PARAMETER_ARN {}): {detail}",
        entry.name, entry.arn
    ))
}

/// The outcome of all calls: references keyed by the name requested (the
/// reference without its `#key`), paths in the order asked, baked entries
/// in the file's order.
#[derive(Debug, Default)]
pub struct Fetches {
    results: HashMap<String, Fetch>,
    paths: Vec<(PathRequest, PathFetch)>,
    baked: Vec<(BakedEntry, BakedFetch)>,
    /// Calls made, retries included.
    pub calls: usize,
}

impl Fetches {
    /// The outcome for a reference (its `#key` is ignored).
    #[must_use]
    pub fn get(&self, reference: &Reference) -> Option<&Fetch> {
        self.results.get(reference.request_name())
    }

    /// The outcome of each `--path`, in the order asked.
    #[must_use]
    pub fn paths(&self) -> &[(PathRequest, PathFetch)] {
        &self.paths
    }

    /// The outcome of each baked entry, in the file's order.
    #[must_use]
    pub fn baked(&self) -> &[(BakedEntry, BakedFetch)] {
        &self.baked
    }
}

/// One unit of work: a `GetParameters` batch, a whole path, or a baked
/// entry's KMS `Decrypt`.
enum Job {
    Batch(Batch),
    Path(usize, PathRequest),
    Baked(usize, BakedEntry),
}

enum Outcome {
    Batch(BatchOutcome),
    Path(
        usize,
        PathRequest,
        usize,
        Result<Vec<(String, Fetched)>, Error>,
    ),
    Baked(
        usize,
        BakedEntry,
        usize,
        Result<SecretValue, (AwsFailure, String)>,
    ),
}

/// A baked entry's KMS `Decrypt`: its value moved unread, or the one-line
/// error naming the variable and KMS's error code.
async fn call_baked(
    client: &aws_sdk_kms::Client,
    entry: &BakedEntry,
    settings: &Settings,
    deadline: Instant,
) -> (usize, Result<SecretValue, (AwsFailure, String)>) {
    let called = call::decrypt(client, entry, settings, deadline).await;
    let result = match called.result {
        // A value psc-exec hands on as text, like every Parameter Store
        // value (whose API carries UTF-8 JSON strings): a plaintext that is
        // not UTF-8 was not made by Parameter Store, and is refused rather
        // than altered.
        Ok(plaintext) => std::str::from_utf8(&plaintext)
            .map(|text| SecretValue::new(text.to_owned()))
            .map_err(|_| {
                (
                    AwsFailure::BadResponse,
                    "the value is not UTF-8 (not a Parameter Store value)".to_owned(),
                )
            }),
        Err(Error::Aws {
            failure, detail, ..
        }) => {
            // KMS says no more than the code when the context does not
            // match: say what it means here.
            let detail = match &failure {
                AwsFailure::Other(code) if code == "InvalidCiphertextException" => {
                    format!("{detail} (the ciphertext was not made for this arn, or is damaged)")
                }
                _ => detail,
            };
            Err((failure, detail))
        }
        Err(other) => Err((AwsFailure::Other("error".into()), other.to_string())),
    };
    (called.attempts, result)
}

/// Every parameter under a path, its values moved unread.
async fn call_path(
    client: &Client,
    request: &PathRequest,
    settings: &Settings,
    deadline: Instant,
) -> (usize, Result<Vec<(String, Fetched)>, Error>) {
    let called =
        call::get_parameters_by_path(client, &request.path, request.recursive, settings, deadline)
            .await;
    let result = called.result.and_then(|parameters| {
        parameters
            .into_iter()
            .map(|p| {
                let bad = |what: &str| Error::Aws {
                    failure: AwsFailure::BadResponse,
                    names: vec![request.path.clone()],
                    detail: format!("a parameter {what}"),
                };
                let name = p.name.ok_or_else(|| bad("without a name"))?;
                let value = p
                    .value
                    .ok_or_else(|| bad(&format!("{name} without a value")))?;
                let fetched = Fetched::new(
                    SecretValue::new(value),
                    p.r#type
                        .map_or_else(|| "unknown".to_owned(), |t| t.as_str().to_owned()),
                    p.version,
                    p.last_modified_date,
                );
                Ok((name, fetched))
            })
            .collect()
    });
    (called.attempts, result)
}

/// Load the AWS configuration, plan the calls for `references` and run
/// them: everything between the scan and the child.
///
/// # Errors
/// Configuration errors, and failed calls unless `settings.keep_going`.
pub async fn resolve(
    references: &[Reference],
    paths: &[PathRequest],
    baked: &[BakedEntry],
    region: Option<&str>,
    settings: &Settings,
) -> Result<Fetches, Error> {
    let deadline = Instant::now() + settings.timeout;
    if !baked.is_empty() {
        crate::aws::check_kms_endpoint_env()?;
    }
    let config =
        tokio::time::timeout_at(deadline.into(), crate::aws::load_config_any_region(region))
            .await
            .map_err(|_| {
                Error::Config(format!(
                    "loading the AWS configuration took longer than --timeout ({})",
                    crate::error::duration_text(settings.timeout)
                ))
            })??;
    let default_region = config.region().map(ToString::to_string).unwrap_or_default();
    let batches = plan(references, &default_region);
    // Only names and paths need the configured region: an ARN (a baked
    // entry's too) carries its own.
    if default_region.is_empty()
        && (!paths.is_empty() || batches.iter().any(|b| b.region.is_none()))
    {
        return Err(crate::aws::no_region());
    }
    let jobs = batches
        .into_iter()
        .map(Job::Batch)
        .chain(
            paths
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, p)| Job::Path(i, p)),
        )
        .chain(
            baked
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, e)| Job::Baked(i, e)),
        )
        .collect();
    fetch(&config, jobs, settings, deadline).await
}

/// Run the planned jobs, at most `settings.concurrency` at once, all of
/// it (retries included) before `deadline`.
///
/// # Errors
/// The first failed call, unless `settings.keep_going` is set.
async fn fetch(
    config: &SdkConfig,
    jobs: Vec<Job>,
    settings: &Settings,
    deadline: Instant,
) -> Result<Fetches, Error> {
    let started = Instant::now();
    let mut clients: HashMap<Option<String>, Client> = HashMap::new();
    let mut kms_clients: HashMap<String, aws_sdk_kms::Client> = HashMap::new();
    let job_count = jobs.len();
    let width = width(job_count, settings.concurrency);
    let permits = Arc::new(Semaphore::new(width));
    let mut tasks = JoinSet::new();
    let mut path_count = 0;
    let mut baked_count = 0;
    for job in jobs {
        if let Job::Baked(index, entry) = job {
            // Every entry at once, sharing the calls in flight with the
            // rest: the same limit, retries, deadline and logging.
            let client = kms_clients
                .entry(entry.region.clone())
                .or_insert_with(|| call::kms_client_for(config, &entry.region))
                .clone();
            let permits = Arc::clone(&permits);
            let settings = settings.clone();
            baked_count += 1;
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let (calls, result) = call_baked(&client, &entry, &settings, deadline).await;
                Outcome::Baked(index, entry, calls, result)
            });
            continue;
        }
        let region = match &job {
            Job::Batch(batch) => batch.region.clone(),
            Job::Path(..) | Job::Baked(..) => None,
        };
        let client = clients
            .entry(region.clone())
            .or_insert_with(|| call::client_for(config, region.as_deref()))
            .clone();
        let permits = Arc::clone(&permits);
        let settings = settings.clone();
        path_count += usize::from(matches!(job, Job::Path(..)));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            match job {
                Job::Batch(batch) => {
                    Outcome::Batch(call_batch(&client, batch, &settings, deadline).await)
                }
                Job::Path(index, request) => {
                    let (calls, result) = call_path(&client, &request, &settings, deadline).await;
                    Outcome::Path(index, request, calls, result)
                }
                Job::Baked(..) => unreachable!("spawned above"),
            }
        });
    }
    let mut fetches = Fetches::default();
    let mut paths: Vec<Option<(PathRequest, PathFetch)>> = (0..path_count).map(|_| None).collect();
    let mut baked: Vec<Option<(BakedEntry, BakedFetch)>> = (0..baked_count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.map_err(|e| Error::Other(format!("resolution task failed: {e}")))?;
        let outcome = match outcome {
            Outcome::Batch(outcome) => outcome,
            Outcome::Path(index, request, calls, result) => {
                fetches.calls += calls;
                let fetch = match result {
                    Ok(found) => PathFetch::Found(found),
                    Err(error) if settings.keep_going => PathFetch::Failed(Arc::new(error)),
                    Err(error) => return Err(error),
                };
                paths[index] = Some((request, fetch));
                continue;
            }
            Outcome::Baked(index, entry, calls, result) => {
                fetches.calls += calls;
                let fetch = match result {
                    Ok(value) => BakedFetch::Found(value),
                    Err((failure, detail)) if settings.keep_going => {
                        BakedFetch::Failed(failure, detail)
                    }
                    Err((_, detail)) => return Err(baked_error(&entry, &detail)),
                };
                baked[index] = Some((entry, fetch));
                continue;
            }
        };
        fetches.calls += outcome.calls;
        match outcome.result {
            Ok(results) => fetches.results.extend(
                results
                    .into_iter()
                    .map(|(reference, fetch)| (reference.into_request_name(), fetch)),
            ),
            Err(error) if settings.keep_going => {
                let error = Arc::new(error);
                for reference in outcome.refs {
                    fetches.results.insert(
                        reference.request_name().to_owned(),
                        Fetch::Failed(Arc::clone(&error)),
                    );
                }
            }
            // Dropping the JoinSet aborts the calls still in flight.
            Err(error) => return Err(error),
        }
    }
    tracing::info!(
        references = fetches.results.len(),
        paths = path_count,
        baked = baked_count,
        jobs = job_count,
        calls = fetches.calls,
        elapsed_ms = started.elapsed().as_millis(),
        "resolved"
    );
    fetches.paths = paths.into_iter().flatten().collect();
    fetches.baked = baked.into_iter().flatten().collect();
    Ok(fetches)
}

struct BatchOutcome {
    refs: Vec<Reference>,
    calls: usize,
    result: Result<Vec<(Reference, Fetch)>, Error>,
}

/// One batch, and the cases where a whole call fails for one name.
///
/// moto fails a whole GetParameters call with `ParameterNotFound` when one
/// Secrets Manager reference in it does not exist (AWS lists it in
/// `InvalidParameters`). Rather than read the name out of the message, ask
/// for each name alone: a lone `ParameterNotFound` is that name missing.
/// The same is done when access to one name (or its KMS key) is denied,
/// so the error (or `--check`'s report) names the culprit rather than
/// every name of its call. This costs extra calls only when something is
/// wrong.
/// One `GetParameters` call for a batch, with retries, its answer matched
/// back to the batch's references.
async fn call_with_retries(
    client: &Client,
    batch: Batch,
    settings: &Settings,
    deadline: Instant,
) -> BatchOutcome {
    let names: Vec<String> = batch
        .refs
        .iter()
        .map(|r| r.request_name().to_owned())
        .collect();
    let called = call::get_parameters(client, &names, settings, deadline).await;
    BatchOutcome {
        result: called
            .result
            .and_then(|output| crate::answer::match_response(&batch.refs, output)),
        refs: batch.refs,
        calls: called.attempts,
    }
}

async fn call_batch(
    client: &Client,
    batch: Batch,
    settings: &Settings,
    deadline: Instant,
) -> BatchOutcome {
    let outcome = call_with_retries(client, batch, settings, deadline).await;
    let split = match &outcome.result {
        Err(error) if is_not_found(error) => true,
        // AWS fails the whole call for one denied name: ask for each alone,
        // so the error names the culprit, not its neighbours.
        Err(Error::Aws {
            failure: AwsFailure::AccessDenied | AwsFailure::Kms,
            ..
        }) => true,
        _ => false,
    };
    if !split {
        return outcome;
    }
    let mut calls = outcome.calls;
    let mut results = Vec::with_capacity(outcome.refs.len());
    if outcome.refs.len() == 1 {
        let fetch = match outcome.result {
            Err(error) if is_not_found(&error) => Fetch::Missing,
            Err(error) => Fetch::Failed(Arc::new(error)),
            Ok(_) => unreachable!("only failures are split"),
        };
        results.push((outcome.refs[0].clone(), fetch));
    } else {
        tracing::debug!(
            names = outcome.refs.len(),
            "a whole call failed for one name; asking for each name alone"
        );
        // A launch names every denied parameter of the call in one error.
        let mut denied: Option<(AwsFailure, Vec<String>, String)> = None;
        for reference in &outcome.refs {
            let single = Batch {
                region: None,
                refs: vec![reference.clone()],
            };
            let alone = call_with_retries(client, single, settings, deadline).await;
            calls += alone.calls;
            match alone.result {
                Ok(found) => results.extend(found),
                Err(error) if is_not_found(&error) => {
                    results.push((reference.clone(), Fetch::Missing));
                }
                Err(error) if settings.keep_going => {
                    results.push((reference.clone(), Fetch::Failed(Arc::new(error))));
                }
                Err(Error::Aws {
                    failure: failure @ (AwsFailure::AccessDenied | AwsFailure::Kms),
                    names,
                    detail,
                }) => match &mut denied {
                    Some((first, all, _)) if *first == failure => all.extend(names),
                    Some(_) => {}
                    None => denied = Some((failure, names, detail)),
                },
                Err(error) => {
                    return BatchOutcome {
                        refs: outcome.refs,
                        calls,
                        result: Err(error),
                    };
                }
            }
        }
        if let Some((failure, names, detail)) = denied {
            return BatchOutcome {
                refs: outcome.refs,
                calls,
                result: Err(Error::Aws {
                    failure,
                    names,
                    detail,
                }),
            };
        }
    }
    BatchOutcome {
        refs: outcome.refs,
        calls,
        result: Ok(results),
    }
}

fn is_not_found(error: &Error) -> bool {
    matches!(
        error,
        Error::Aws {
            failure: AwsFailure::NotFound,
            ..
        }
    )
}

//! Resolution: batching references into `GetParameters` calls, running them
//! concurrently with retries, and mapping the answers back by name.
//!
//! This module talks to Parameter Store and never touches the process: it
//! returns [`Fetches`], which the child module turns into an environment.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameters::{GetParametersError, GetParametersOutput};
use aws_sdk_ssm::types::Parameter;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::{AwsFailure, CREDENTIAL_CODES, Error, THROTTLING_CODES, Unresolved, one_line};
use crate::reference::{Reference, Target};
use crate::scan::SecretVar;
use crate::secret::SecretValue;

/// `GetParameters` takes at most 10 names per call.
pub const BATCH_SIZE: usize = 10;

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
        }
    }
}

/// One `GetParameters` call's worth of references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The region for this call; `None` is the configured region.
    pub region: Option<String>,
    /// At most [`BATCH_SIZE`] references, no two with the same identity.
    pub refs: Vec<Reference>,
}

/// Plan the calls: deduplicate, group by region, and split into batches of
/// at most ten where no two requests share an identity (a response names a
/// parameter without its selector, so two forms of one name in one call
/// could not be told apart).
///
/// For `n` requests in a region whose most repeated identity has `k` forms,
/// this makes `max(ceil(n / 10), k)` calls, which is the least possible.
#[must_use]
pub fn plan<'a, I>(refs: I, default_region: &str) -> Vec<Batch>
where
    I: IntoIterator<Item = &'a Reference>,
{
    // BTreeMaps keep the plan deterministic.
    let mut by_region: BTreeMap<Option<String>, BTreeMap<String, Reference>> = BTreeMap::new();
    for reference in refs {
        let fetched = reference.without_key();
        let region = fetched
            .region()
            .filter(|r| *r != default_region)
            .map(str::to_owned);
        by_region
            .entry(region)
            .or_default()
            .entry(fetched.request_name().to_owned())
            .or_insert(fetched);
    }
    let mut batches = Vec::new();
    for (region, unique) in by_region {
        let mut requests: Vec<Reference> = unique.into_values().collect();
        // Members of one identity are contiguous, so dealing the list out
        // round-robin puts each of them in a different batch.
        requests.sort_by(|a, b| a.identity().cmp(b.identity()));
        let mut largest = 0;
        let mut run = 0;
        for (i, r) in requests.iter().enumerate() {
            run = if i > 0 && requests[i - 1].identity() == r.identity() {
                run + 1
            } else {
                1
            };
            largest = largest.max(run);
        }
        let count = requests.len().div_ceil(BATCH_SIZE).max(largest);
        let mut dealt: Vec<Vec<Reference>> = vec![Vec::new(); count];
        for (i, r) in requests.into_iter().enumerate() {
            dealt[i % count].push(r);
        }
        batches.extend(dealt.into_iter().map(|refs| Batch {
            region: region.clone(),
            refs,
        }));
    }
    batches
}

/// A fetched parameter: its value and what `--check` shows of it.
#[derive(Debug)]
pub struct Fetched {
    /// The decrypted value.
    pub value: SecretValue,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// The version returned.
    pub version: i64,
    /// When this version was stored, if the response said.
    pub last_modified: Option<aws_sdk_ssm::primitives::DateTime>,
}

impl Fetched {
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

/// The outcome of all calls, keyed by the name requested (the reference
/// without its `#key`).
#[derive(Debug, Default)]
pub struct Fetches {
    results: HashMap<String, Fetch>,
    /// Calls made, retries included.
    pub calls: usize,
}

impl Fetches {
    /// The outcome for a reference (its `#key` is ignored).
    #[must_use]
    pub fn get(&self, reference: &Reference) -> Option<&Fetch> {
        self.results.get(reference.request_name())
    }
}

/// Load the AWS configuration, plan the calls for `references` and run
/// them: everything between the scan and the child.
///
/// # Errors
/// Configuration errors, and failed calls unless `settings.keep_going`.
pub async fn resolve(
    references: &[Reference],
    region: Option<&str>,
    settings: &Settings,
) -> Result<Fetches, Error> {
    let deadline = Instant::now() + settings.timeout;
    let config = tokio::time::timeout_at(deadline.into(), crate::aws::load_config(region))
        .await
        .map_err(|_| {
            Error::Config(format!(
                "loading the AWS configuration took longer than --timeout ({})",
                humantime::format_duration(settings.timeout)
            ))
        })??;
    let default_region = config.region().map(ToString::to_string).unwrap_or_default();
    let batches = plan(references, &default_region);
    fetch(&config, batches, settings, deadline).await
}

/// How many calls to keep in flight: all of them up to `max`; above it, as
/// few as finish `calls` in the same number of rounds as `max` would, so
/// the rounds are filled evenly. Each call in flight holds a connection of
/// its own, and every new connection costs a TCP and TLS handshake: 11
/// calls with at most 10 in flight take two rounds either way, on 6
/// connections rather than 10.
#[must_use]
pub fn width(calls: usize, max: usize) -> usize {
    let max = max.max(1);
    let rounds = calls.div_ceil(max).max(1);
    calls.div_ceil(rounds).max(1)
}

/// Run the planned batches, at most `settings.concurrency` at once, all of
/// it (retries included) before `deadline`.
///
/// # Errors
/// The first failed call, unless `settings.keep_going` is set.
pub async fn fetch(
    config: &SdkConfig,
    batches: Vec<Batch>,
    settings: &Settings,
    deadline: Instant,
) -> Result<Fetches, Error> {
    let started = Instant::now();
    let mut clients: HashMap<Option<String>, Client> = HashMap::new();
    let batch_count = batches.len();
    let width = width(batch_count, settings.concurrency);
    let permits = Arc::new(Semaphore::new(width));
    let mut tasks = JoinSet::new();
    for batch in batches {
        let client = clients
            .entry(batch.region.clone())
            .or_insert_with(|| client_for(config, batch.region.as_deref()))
            .clone();
        let permits = Arc::clone(&permits);
        let settings = settings.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            call_batch(&client, batch, &settings, deadline).await
        });
    }
    let mut fetches = Fetches::default();
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.map_err(|e| Error::Other(format!("resolution task failed: {e}")))?;
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
        batches = batch_count,
        calls = fetches.calls,
        elapsed_ms = started.elapsed().as_millis(),
        "resolved"
    );
    Ok(fetches)
}

/// A client for the given region (or the configured one), with the SDK's own
/// retries off: ours are bounded by the overall deadline.
#[must_use]
pub fn client_for(config: &SdkConfig, region: Option<&str>) -> Client {
    let mut builder = aws_sdk_ssm::config::Builder::from(config)
        .retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(region) = region {
        builder = builder.region(aws_config::Region::new(region.to_owned()));
    }
    Client::from_conf(builder.build())
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
/// For `--check` (`keep_going`) the same is done when access to one name
/// (or its KMS key) is denied, so the report names the culprit rather than
/// every name of its call. This costs extra calls only when something is
/// wrong.
async fn call_batch(
    client: &Client,
    batch: Batch,
    settings: &Settings,
    deadline: Instant,
) -> BatchOutcome {
    let outcome = call_with_retries(client, batch, settings, deadline).await;
    let split = match &outcome.result {
        Err(error) if is_not_found(error) => true,
        Err(Error::Aws {
            failure: AwsFailure::AccessDenied | AwsFailure::Kms,
            ..
        }) => settings.keep_going,
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
                Err(error) => {
                    return BatchOutcome {
                        refs: outcome.refs,
                        calls,
                        result: Err(error),
                    };
                }
            }
        }
    }
    BatchOutcome {
        refs: outcome.refs,
        calls,
        result: Ok(results),
    }
}

fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Aws { failure: AwsFailure::Other(code), .. } if code == "ParameterNotFound")
}

/// Exponential backoff with equal jitter: after failed attempt n, a pause
/// between half and all of a ceiling of 500 ms x 2^(n-1), capped at 2.5 s.
///
/// Tuned on the fleet benchmark (50, 100, 200 launches x 3 calls against
/// 40 calls/s, bench/fleet.rs): the earlier full jitter under a 200 ms
/// ceiling doubling to 5 s left the slowest of 50 launches at 1.5-2.5x the
/// throttle floor, because a launch could sleep up to 5 s just as the
/// throttle cleared. The lower cap bounds that tail; the half-ceiling
/// minimum keeps a fleet's retries from coming back early, so it made
/// fewer calls than before at each of those sizes (see the README).
fn backoff(attempt: u32) -> Duration {
    const BASE_MS: u64 = 500;
    const CAP_MS: u64 = 2_500;
    let ceiling = BASE_MS
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(CAP_MS);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
}

/// The least time worth starting an attempt with: a local round trip takes
/// milliseconds, a regional one tens of them.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

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
    let started = Instant::now();
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let limit = remaining.min(settings.attempt_timeout);
        let request = client
            .get_parameters()
            .set_names(Some(names.clone()))
            .with_decryption(true)
            .send();
        let failure = match tokio::time::timeout(limit, request).await {
            Ok(Ok(output)) => break match_response(&batch.refs, output),
            Ok(Err(error)) => classify(error),
            Err(_) => Failure {
                class: AwsFailure::Transient,
                retryable: true,
                detail: format!("no answer within {}", humantime::format_duration(limit)),
            },
        };
        tracing::debug!(
            attempt,
            names = names.len(),
            class = ?failure.class,
            "GetParameters failed"
        );
        let pause = backoff(attempt);
        let out_of_attempts = attempt >= settings.max_attempts;
        // Retry only if an attempt still has time to be answered after the
        // pause: one squeezed into the last instant (timers round up) could
        // only time out, and would report that instead of the real cause.
        let out_of_time = Instant::now() + pause + MIN_ATTEMPT >= deadline;
        if !failure.retryable || out_of_attempts || out_of_time {
            let detail = if failure.retryable {
                let why = if out_of_attempts {
                    "gave up"
                } else {
                    "deadline reached"
                };
                format!(
                    "{why} after {attempt} attempt{} over {:.1}s: {}",
                    if attempt == 1 { "" } else { "s" },
                    started.elapsed().as_secs_f64(),
                    failure.detail
                )
            } else {
                failure.detail
            };
            break Err(Error::Aws {
                failure: failure.class,
                names: names.clone(),
                detail,
            });
        }
        tokio::time::sleep(pause).await;
    };
    tracing::debug!(
        names = ?names,
        attempts = attempt,
        elapsed_ms = started.elapsed().as_millis(),
        ok = result.is_ok(),
        "GetParameters"
    );
    BatchOutcome {
        refs: batch.refs,
        calls: attempt as usize,
        result,
    }
}

struct Failure {
    class: AwsFailure,
    retryable: bool,
    detail: String,
}

/// Sort an SDK error into a class, by type and error code, never by text.
fn classify(
    error: SdkError<GetParametersError, aws_sdk_ssm::config::http::HttpResponse>,
) -> Failure {
    use aws_credential_types::provider::error::CredentialsError;
    let transient = |detail: &str| Failure {
        class: AwsFailure::Transient,
        retryable: true,
        detail: detail.to_owned(),
    };
    // Credentials come first: the SDK reports a failed credentials chain as
    // a dispatch failure, which would otherwise look like a network error.
    if let Some(credentials) = cause::<CredentialsError>(&error) {
        // A provider that timed out or failed (IMDS, ECS endpoint) may do
        // better next time; no credentials at all, or a bad configuration,
        // will not.
        let retryable = matches!(
            credentials,
            CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_)
        );
        return Failure {
            class: AwsFailure::Credentials,
            retryable,
            detail: causes(credentials),
        };
    }
    if matches!(error, SdkError::ConstructionFailure(_)) {
        // The request could not be built (a bad region or endpoint, say).
        return Failure {
            class: AwsFailure::Other("invalid request configuration".into()),
            retryable: false,
            detail: causes(&error),
        };
    }
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let err = service.into_err();
            if err.code().is_none() && status < 300 {
                // A success status whose body could not be parsed (cut
                // short, or not JSON): never quote it, it may hold values.
                return Failure {
                    class: AwsFailure::BadResponse,
                    retryable: true,
                    detail: format!("HTTP {status}, body is not a GetParameters response"),
                };
            }
            let code = err.code().unwrap_or("UnknownError").to_owned();
            let message = err.message().unwrap_or_default().to_owned();
            let (class, retryable) = match code.as_str() {
                c if THROTTLING_CODES.contains(&c) => (AwsFailure::Throttled, true),
                "AccessDeniedException" => (AwsFailure::AccessDenied, false),
                c if CREDENTIAL_CODES.contains(&c) => (AwsFailure::Credentials, false),
                _ if matches!(err, GetParametersError::InvalidKeyId(_))
                    || code.starts_with("KMS") =>
                {
                    (AwsFailure::Kms, false)
                }
                _ if status == 429 => (AwsFailure::Throttled, true),
                _ if matches!(err, GetParametersError::InternalServerError(_)) || status >= 500 => {
                    (AwsFailure::Transient, true)
                }
                _ => (AwsFailure::Other(code.clone()), false),
            };
            let detail = match (&class, message.is_empty()) {
                (AwsFailure::Throttled | AwsFailure::Transient, _) => {
                    format!("{code} (HTTP {status})")
                }
                (_, true) => code,
                (_, false) => format!("{code}: {}", one_line(&message)),
            };
            Failure {
                class,
                retryable,
                detail,
            }
        }
        SdkError::TimeoutError(_) => transient("timed out"),
        SdkError::DispatchFailure(failure) => {
            // The connector's own words (refused, DNS, TLS trust): they
            // name hosts and causes, never a value.
            let connector = failure.as_connector_error();
            let text = connector.map(|e| causes(e)).unwrap_or_default();
            let what = if failure.is_timeout() {
                "connection timed out"
            } else {
                "connection failed"
            };
            let detail = if text.is_empty() {
                what.to_owned()
            } else {
                format!("{what} ({text})")
            };
            // rustls refused the endpoint's certificate: no retry changes that.
            if let Some(rustls::Error::InvalidCertificate(_)) =
                connector.and_then(|e| cause::<rustls::Error>(e))
            {
                return Failure {
                    class: AwsFailure::Certificate,
                    retryable: false,
                    detail,
                };
            }
            Failure {
                class: if failure.is_user() {
                    AwsFailure::Other("request failed".into())
                } else {
                    AwsFailure::Transient
                },
                retryable: !failure.is_user(),
                detail,
            }
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            if status == 429 {
                Failure {
                    class: AwsFailure::Throttled,
                    retryable: true,
                    detail: "HTTP 429".into(),
                }
            } else if status >= 500 {
                transient(&format!("HTTP {status}"))
            } else {
                // Never include the body: it could hold values. A body cut
                // short is usually the network's doing: worth another try.
                Failure {
                    class: AwsFailure::BadResponse,
                    retryable: true,
                    detail: format!(
                        "HTTP {status}, body could not be read as a GetParameters response"
                    ),
                }
            }
        }
        other => Failure {
            class: AwsFailure::Other("request failed".into()),
            retryable: false,
            detail: one_line(&format!(
                "{}",
                aws_sdk_ssm::error::DisplayErrorContext(&other)
            )),
        },
    }
}

/// The first error of type `T` among an error's causes: its sources, and
/// the payloads of `io::Error`s on the way (whose `source()` skips the
/// payload itself).
fn cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        next = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// An error and its sources, by their `Display` only (never `Debug`), on one
/// line, skipping a source whose text its parent already quotes.
fn causes(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = one_line(&error.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}

/// The identity a name in a response stands for (see [`Reference::identity`]).
fn identity_of(name: &str) -> String {
    Reference::parse(name).map_or_else(|_| name.to_owned(), |r| r.identity().to_owned())
}

/// Map a response back to the requests, by name (never by position).
fn match_response(
    refs: &[Reference],
    output: GetParametersOutput,
) -> Result<Vec<(Reference, Fetch)>, Error> {
    let bad = |detail: String| Error::Aws {
        failure: AwsFailure::BadResponse,
        names: refs.iter().map(|r| r.request_name().to_owned()).collect(),
        detail,
    };
    let mut slots: Vec<Option<Fetch>> = refs.iter().map(|_| None).collect();
    let arn_matches =
        |wanted: &str, got: &str| got == wanted || got.starts_with(&format!("{wanted}:"));
    let find = |name: &str, arn: Option<&str>| -> Option<usize> {
        refs.iter()
            .position(|r| match r.target() {
                Target::Arn { arn: wanted, .. } => {
                    arn.is_some_and(|a| arn_matches(wanted, a)) || name == wanted
                }
                _ => false,
            })
            .or_else(|| {
                refs.iter()
                    .position(|r| r.request_name() == name || r.base_name() == name)
            })
            .or_else(|| {
                let identity = identity_of(name);
                refs.iter().position(|r| r.identity() == identity)
            })
            // An ARN request is only ever answered by that ARN: a response
            // that names another (another account's parameter of the same
            // name) is not its answer, whatever its name says.
            .filter(|&i| match (refs[i].target(), arn) {
                (Target::Arn { arn: wanted, .. }, Some(got)) => arn_matches(wanted, got),
                _ => true,
            })
    };
    for parameter in output.parameters.unwrap_or_default() {
        let Parameter {
            name,
            r#type,
            value,
            version,
            arn,
            last_modified_date,
            ..
        } = parameter;
        let Some(name) = name else {
            return Err(bad("a parameter without a name".into()));
        };
        let Some(index) = find(&name, arn.as_deref()) else {
            tracing::debug!(%name, "ignoring a parameter that was not asked for");
            continue;
        };
        let Some(value) = value else {
            return Err(bad(format!("{name} came back without a value")));
        };
        if slots[index].is_some() {
            return Err(bad(format!("{name} came back twice")));
        }
        // A version selector names the version: any other is the wrong
        // value, whatever the response says it is. (Parameter versions
        // start at 1; a Secrets Manager reference reports 0.)
        let wanted = refs[index].selector().and_then(|s| s.parse::<i64>().ok());
        if let Some(wanted) = wanted
            && version != wanted
            && !matches!(refs[index].target(), Target::SecretsManager(_))
        {
            return Err(bad(format!(
                "{} came back as version {version}",
                refs[index].request_name()
            )));
        }
        slots[index] = Some(Fetch::Found(Fetched {
            value: SecretValue::new(value),
            kind: r#type.map_or_else(|| "unknown".to_owned(), |t| t.as_str().to_owned()),
            version,
            last_modified: last_modified_date,
        }));
    }
    for name in output.invalid_parameters.unwrap_or_default() {
        if let Some(index) = find(&name, None) {
            slots[index].get_or_insert(Fetch::Missing);
        }
    }
    let mut results = Vec::with_capacity(refs.len());
    for (reference, slot) in refs.iter().zip(slots) {
        let Some(fetch) = slot else {
            return Err(bad(format!(
                "{} is neither in Parameters nor in InvalidParameters",
                reference.request_name()
            )));
        };
        results.push((reference.clone(), fetch));
    }
    Ok(results)
}

/// The value for one variable: the fetched value, or one key of it.
///
/// # Errors
/// Why the variable has no value: a missing parameter or key, or the failed
/// call (recorded with `keep_going`).
pub fn value_for(var: &SecretVar, fetches: &Fetches) -> Result<SecretValue, VarFailure> {
    let value = match fetches.get(&var.reference) {
        None | Some(Fetch::Missing) => return Err(VarFailure::Unresolved(Unresolved::NotFound)),
        Some(Fetch::Failed(error)) => return Err(VarFailure::Call(Arc::clone(error))),
        Some(Fetch::Found(fetched)) => match var.reference.key() {
            None => SecretValue::new(fetched.value.expose().to_owned()),
            Some(key) => extract_key(&fetched.value, key).map_err(VarFailure::Unresolved)?,
        },
    };
    // execve cannot pass it: caught here, so the launch and --check agree.
    if value.expose().contains('\0') {
        return Err(VarFailure::Unresolved(Unresolved::ContainsNul));
    }
    Ok(value)
}

/// Why a variable has no value.
#[derive(Debug, Clone)]
pub enum VarFailure {
    /// Missing parameter or key.
    Unresolved(Unresolved),
    /// Its call failed.
    Call(Arc<Error>),
}

/// One top-level key of a JSON object: a string as-is, any other JSON value
/// as its compact JSON text.
///
/// # Errors
/// The value is not a JSON object, or has no such key.
pub fn extract_key(value: &SecretValue, key: &str) -> Result<SecretValue, Unresolved> {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(value.expose()) else {
        return Err(Unresolved::NotJsonObject(key.to_owned()));
    };
    match object.remove(key) {
        None => Err(Unresolved::KeyNotFound(key.to_owned())),
        Some(serde_json::Value::String(text)) => Ok(SecretValue::new(text)),
        Some(other) => Ok(SecretValue::new(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(texts: &[&str]) -> Vec<Reference> {
        texts.iter().map(|t| Reference::parse(t).unwrap()).collect()
    }

    #[test]
    fn width_runs_all_calls_at_once_up_to_the_cap_then_fills_rounds_evenly() {
        let cases = [
            (0, 10, 1),
            (1, 10, 1),
            (9, 10, 9),
            (10, 10, 10),
            (11, 10, 6),
            (20, 10, 10),
            (21, 10, 7),
            (100, 10, 10),
            (10, 1, 1),
            (10, 0, 1),
        ];
        for (calls, max, expected) in cases {
            let got = width(calls, max);
            assert_eq!(got, expected, "{calls} calls, at most {max}");
            if calls > 0 {
                assert_eq!(
                    calls.div_ceil(got),
                    calls.div_ceil(max.max(1)),
                    "same rounds"
                );
            }
        }
    }

    #[test]
    fn plan_makes_ceil_n_over_ten_calls() {
        for n in [1_usize, 9, 10, 11, 31, 100, 1000] {
            let texts: Vec<String> = (0..n).map(|i| format!("/p/n{i}")).collect();
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let batches = plan(&refs(&texts), "us-east-1");
            assert_eq!(batches.len(), n.div_ceil(10), "n = {n}");
            assert!(
                batches
                    .iter()
                    .all(|b| !b.refs.is_empty() && b.refs.len() <= 10)
            );
            assert_eq!(batches.iter().map(|b| b.refs.len()).sum::<usize>(), n);
        }
    }

    #[test]
    fn plan_deduplicates_and_ignores_keys() {
        let batches = plan(&refs(&["/a", "/a", "/a#k", "/b#x", "/b#y"]), "us-east-1");
        assert_eq!(batches.len(), 1);
        let names = batches[0]
            .refs
            .iter()
            .map(Reference::request_name)
            .collect::<Vec<_>>();
        assert_eq!(names, ["/a", "/b"]);
    }

    #[test]
    fn plan_never_puts_two_forms_of_one_name_in_a_call() {
        let batches = plan(
            &refs(&[
                "/x/a",
                "/x/a:1",
                "/x/a:live",
                "/b",
                "a",
                "/aws/reference/secretsmanager/a",
            ]),
            "us-east-1",
        );
        // "/x/a" has 3 forms; "/b" and "b" are one parameter, and the secret
        // "a" shares its identity with the parameter "a".
        assert_eq!(batches.len(), 3);
        for batch in &batches {
            let mut identities: Vec<&str> = batch.refs.iter().map(Reference::identity).collect();
            let before = identities.len();
            identities.sort();
            identities.dedup();
            assert_eq!(identities.len(), before, "{batch:?}");
        }
        let total: usize = batches.iter().map(|b| b.refs.len()).sum();
        assert_eq!(total, 6);
        let five = plan(
            &refs(&[
                "/a",
                "a:1",
                "/a:2",
                "a:3",
                "/aws/reference/secretsmanager/a",
            ]),
            "r",
        );
        assert_eq!(five.len(), 5, "'/a' and 'a' are one parameter");
    }

    #[test]
    fn plan_groups_arns_by_region() {
        let batches = plan(
            &refs(&[
                "/local",
                "arn:aws:ssm:us-east-1:111122223333:parameter/same",
                "arn:aws:ssm:eu-west-1:111122223333:parameter/other",
            ]),
            "us-east-1",
        );
        let regions: Vec<Option<&str>> = batches.iter().map(|b| b.region.as_deref()).collect();
        assert_eq!(regions, [None, Some("eu-west-1")]);
        assert_eq!(batches[0].refs.len(), 2);
    }

    #[test]
    fn extracts_keys() {
        let value = SecretValue::new(
            r#"{"user":"admin","port":5432,"nested":{"b":1,"a":[true,null]}}"#.into(),
        );
        assert_eq!(extract_key(&value, "user").unwrap().expose(), "admin");
        assert_eq!(extract_key(&value, "port").unwrap().expose(), "5432");
        assert_eq!(
            extract_key(&value, "nested").unwrap().expose(),
            r#"{"b":1,"a":[true,null]}"#
        );
        assert_eq!(
            extract_key(&value, "missing").unwrap_err(),
            Unresolved::KeyNotFound("missing".into())
        );
        assert_eq!(
            extract_key(&SecretValue::new("[1]".into()), "k").unwrap_err(),
            Unresolved::NotJsonObject("k".into())
        );
    }
}

//! Calls: making requests to Parameter Store (and KMS, for baked
//! ciphertexts) with retries, a per-attempt
//! limit and an overall deadline, and sorting failures into classes. This
//! module knows names, not references, and never touches the process; the
//! bodies it receives hold values, which it hands on unread.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::error::{AwsFailure, CREDENTIAL_CODES, Error, THROTTLING_CODES, one_line};
use crate::resolve::Settings;

type HttpResponse = aws_sdk_ssm::config::http::HttpResponse;

/// The largest response body read: what ten values can need at worst. A
/// GetParameters answer holds at most 10 values of at most 64 KiB (Secrets
/// Manager's limit; Parameter Store's is 8 KiB), and JSON can spell a byte
/// in 6 (`\u0001`): 3.75 MiB, plus names and fields. A hostile or broken
/// endpoint cannot make psc-exec buffer more.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Caps every response body at [`MAX_RESPONSE_BYTES`]: reading more fails
/// the call (not retried: the same endpoint would answer the same).
#[derive(Debug)]
struct BodyCap;

impl aws_sdk_ssm::config::Intercept for BodyCap {
    fn name(&self) -> &'static str {
        "BodyCap"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_sdk_ssm::config::interceptors::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        _: &aws_sdk_ssm::config::RuntimeComponents,
        _: &mut aws_sdk_ssm::config::ConfigBag,
    ) -> Result<(), aws_sdk_ssm::error::BoxError> {
        use aws_smithy_types::body::SdkBody;
        let body = std::mem::replace(context.response_mut().body_mut(), SdkBody::taken());
        *context.response_mut().body_mut() = body.map(|body| {
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_RESPONSE_BYTES))
        });
        Ok(())
    }
}

/// A client for the given region (or the configured one), with the SDK's own
/// retries off (ours are bounded by the overall deadline) and response
/// bodies capped at [`MAX_RESPONSE_BYTES`].
#[must_use]
pub fn client_for(config: &SdkConfig, region: Option<&str>) -> Client {
    let mut builder = aws_sdk_ssm::config::Builder::from(config)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .interceptor(BodyCap);
    if let Some(region) = region {
        builder = builder.region(aws_config::Region::new(region.to_owned()));
    }
    Client::from_conf(builder.build())
}

/// A KMS client for `region` (a baked entry's, from its ARN), set up like
/// [`client_for`]'s: the SDK's retries off, response bodies capped.
#[must_use]
pub fn kms_client_for(config: &SdkConfig, region: &str) -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::config::Builder::from(config)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .interceptor(BodyCap)
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

/// Exponential backoff with equal jitter: after failed attempt n, a pause
/// between half and all of a ceiling that doubles from a base, capped at
/// 2.5 s. The base is 1 s when the call was throttled and 500 ms for other
/// retryable failures (5xx, connection errors, timeouts), which are not a
/// sign of contention; the AWS SDK for JavaScript v3 also retries
/// throttling from a larger base (`THROTTLING_RETRY_DELAY_BASE = 500`
/// against `DEFAULT_RETRY_DELAY_BASE = 100`, in
/// `@aws-sdk/middleware-retry/src/constants.ts`).
///
/// Tuned on the fleet benchmark (50, 100, 200 launches x 3 calls against a
/// token bucket of 40 calls/s, bench/fleet.rs) and a simulation of it
/// (README, "A fleet starting at once"): a fleet that starts together is
/// throttled together and retries in waves; the slowest launch ends with
/// the last wave after the throttle clears, so the cap bounds the tail,
/// the half-ceiling minimum keeps retries from coming back early, and the
/// 1 s base for throttling spends fewer calls on the first waves.
fn backoff(attempt: u32, class: &AwsFailure) -> Duration {
    const CAP_MS: u64 = 2_500;
    let base_ms: u64 = if *class == AwsFailure::Throttled {
        1_000
    } else {
        500
    };
    let ceiling = base_ms
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(CAP_MS);
    Duration::from_millis(fastrand::u64(ceiling / 2..=ceiling))
}

/// The least time worth starting an attempt with: a local round trip takes
/// milliseconds, a regional one tens of them.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// What a call with retries came to: its result and the attempts made.
pub(crate) struct Attempted<T> {
    /// The answer, or the error after the last attempt.
    pub(crate) result: Result<T, Error>,
    /// Calls made, retries included.
    pub(crate) attempts: usize,
}

/// Make one call (`what`, for the logs) for `names` with `attempt`, retrying
/// what is worth retrying with [`backoff`], each attempt limited to
/// `settings.attempt_timeout`, all of it before `deadline`. Any operation:
/// the errors are sorted by [`classify`].
pub(crate) async fn with_retries<T, E, F, Fut>(
    what: &'static str,
    names: &[String],
    settings: &Settings,
    deadline: Instant,
    mut attempt: F,
) -> Attempted<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let started = Instant::now();
    let mut attempts = 0;
    let result = loop {
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let limit = remaining.min(settings.attempt_timeout);
        let failure = match tokio::time::timeout(limit, attempt()).await {
            Ok(Ok(output)) => break Ok(output),
            Ok(Err(error)) => classify(error),
            Err(_) => Failure {
                class: AwsFailure::Transient,
                retryable: true,
                detail: format!(
                    "timed out: no answer within {}",
                    crate::error::duration_text(limit)
                ),
            },
        };
        tracing::debug!(
            call = what,
            attempt = attempts,
            names = names.len(),
            class = ?failure.class,
            "call failed"
        );
        let pause = backoff(attempts, &failure.class);
        let out_of_attempts = attempts >= settings.max_attempts;
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
                    "{why} after {attempts} attempt{} over {}: {}",
                    if attempts == 1 { "" } else { "s" },
                    crate::error::duration_text(started.elapsed()),
                    failure.detail
                )
            } else {
                failure.detail
            };
            break Err(Error::Aws {
                failure: failure.class,
                names: names.to_vec(),
                detail,
            });
        }
        tokio::time::sleep(pause).await;
    };
    tracing::debug!(
        call = what,
        names = ?names,
        attempts,
        elapsed_ms = started.elapsed().as_millis(),
        ok = result.is_ok(),
        "call"
    );
    Attempted {
        result,
        attempts: attempts as usize,
    }
}

/// `GetParameters` for `names` (at most ten), decrypted unless
/// `settings.with_decryption` is off (`--watch`'s polls), with retries.
pub(crate) async fn get_parameters(
    client: &Client,
    names: &[String],
    settings: &Settings,
    deadline: Instant,
) -> Attempted<aws_sdk_ssm::operation::get_parameters::GetParametersOutput> {
    with_retries("GetParameters", names, settings, deadline, || {
        client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(settings.with_decryption)
            .send()
    })
    .await
}

/// KMS `Decrypt` of a baked entry's ciphertext under the encryption
/// context Parameter Store used, `{"PARAMETER_ARN": arn}`, with retries.
/// The plaintext is handed on unread.
pub(crate) async fn decrypt(
    client: &aws_sdk_kms::Client,
    entry: &crate::baked::BakedEntry,
    settings: &Settings,
    deadline: Instant,
) -> Attempted<zeroize::Zeroizing<Vec<u8>>> {
    let names = [entry.name.clone()];
    let called = with_retries("Decrypt", &names, settings, deadline, || {
        client
            .decrypt()
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(entry.ciphertext.clone()))
            .encryption_context("PARAMETER_ARN", entry.arn.clone())
            .send()
    })
    .await;
    Attempted {
        result: called.result.map(|output| {
            zeroize::Zeroizing::new(
                output
                    .plaintext
                    .map(aws_sdk_kms::primitives::Blob::into_inner)
                    .unwrap_or_default(),
            )
        }),
        attempts: called.attempts,
    }
}

/// The most pages one path may take: 200,000 parameters at 10 a page, past
/// the 100,000 an account and region can hold. More is an endpoint that
/// never stops.
const MAX_PAGES: usize = 20_000;

/// Every parameter under `path` (`GetParametersByPath`, decrypted as
/// [`get_parameters`], 10 a page), following `NextToken` to the end: a page may hold fewer than 10,
/// even none, before the last. Each page is retried like any call, all of
/// them within the one deadline. A token seen before, or more than
/// [`MAX_PAGES`] pages, is an error, never a silently shorter list.
pub(crate) async fn get_parameters_by_path(
    client: &Client,
    path: &str,
    recursive: bool,
    settings: &Settings,
    deadline: Instant,
) -> Attempted<Vec<aws_sdk_ssm::types::Parameter>> {
    let names = [path.to_owned()];
    let mut parameters = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    let mut attempts = 0;
    let mut pages = 0;
    loop {
        let page = with_retries("GetParametersByPath", &names, settings, deadline, || {
            client
                .get_parameters_by_path()
                .path(path)
                .recursive(recursive)
                .with_decryption(settings.with_decryption)
                .max_results(10)
                .set_next_token(token.clone())
                .send()
        })
        .await;
        attempts += page.attempts;
        pages += 1;
        let output = match page.result {
            Ok(output) => output,
            Err(error) => {
                return Attempted {
                    result: Err(error),
                    attempts,
                };
            }
        };
        parameters.extend(output.parameters.unwrap_or_default());
        let Some(next) = output.next_token else {
            break;
        };
        if !seen.insert(next.clone()) || pages >= MAX_PAGES {
            return Attempted {
                result: Err(Error::Aws {
                    failure: AwsFailure::BadResponse,
                    names: names.to_vec(),
                    detail: format!(
                        "GetParametersByPath did not end (a NextToken repeated, or over {MAX_PAGES} pages)"
                    ),
                }),
                attempts,
            };
        }
        token = Some(next);
    }
    tracing::debug!(path, pages, parameters = parameters.len(), "listed");
    Attempted {
        result: Ok(parameters),
        attempts,
    }
}

/// Error codes with which Parameter Store says a parameter (or the path,
/// version or label asked for) does not exist.
const NOT_FOUND_CODES: &[&str] = &["ParameterNotFound", "ParameterVersionNotFound"];

/// A failed attempt, sorted.
pub(crate) struct Failure {
    /// What kind of failure.
    pub(crate) class: AwsFailure,
    /// Whether another attempt could do better.
    pub(crate) retryable: bool,
    /// Its cause in words (never a body, never a value).
    pub(crate) detail: String,
}

/// Sort an SDK error of any operation into a class, by type and error
/// code (AWS's structured `__type`), never by message text.
pub(crate) fn classify<E>(error: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transient = |detail: &str| Failure {
        class: AwsFailure::Transient,
        retryable: true,
        detail: detail.to_owned(),
    };
    // Credentials come first: the SDK reports a failed credentials chain as
    // a dispatch failure, which would otherwise look like a network error.
    if let Some(credentials) = crate::credentials::failure(&error) {
        return Failure {
            class: AwsFailure::Credentials,
            retryable: credentials.retryable,
            detail: credentials.message,
        };
    }
    if cause::<http_body_util::LengthLimitError>(&error).is_some() {
        return Failure {
            class: AwsFailure::BadResponse,
            retryable: false,
            detail: format!(
                "response larger than {} MiB",
                MAX_RESPONSE_BYTES / (1024 * 1024)
            ),
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
                    detail: format!("HTTP {status}, body is not the response expected"),
                };
            }
            let Some(code) = err.code().map(str::to_owned) else {
                // Not an AWS error body (a proxy's HTML page, say): the
                // status is all there is to tell; never quote the body.
                let retryable = status == 429 || status >= 500;
                return Failure {
                    class: if retryable {
                        AwsFailure::Transient
                    } else {
                        AwsFailure::Other(format!("HTTP {status}"))
                    },
                    retryable,
                    detail: format!("HTTP {status}, the body is not an AWS error response"),
                };
            };
            let message = err.message().unwrap_or_default().to_owned();
            let (class, retryable) = match code.as_str() {
                c if THROTTLING_CODES.contains(&c) => (AwsFailure::Throttled, true),
                "AccessDeniedException" => (AwsFailure::AccessDenied, false),
                c if CREDENTIAL_CODES.contains(&c) => (AwsFailure::Credentials, false),
                c if NOT_FOUND_CODES.contains(&c) => (AwsFailure::NotFound, false),
                // KMS's own outage (KMSInternalException, HTTP 500) is
                // retried like any 5xx; its other errors are the key's.
                c if c.starts_with("KMS") && status >= 500 => (AwsFailure::Transient, true),
                c if c == "InvalidKeyId" || c.starts_with("KMS") => (AwsFailure::Kms, false),
                _ if status == 429 => (AwsFailure::Throttled, true),
                _ if code == "InternalServerError" || status >= 500 => {
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
                        "HTTP {status}, body could not be read as the response expected"
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
pub(crate) fn cause<'a, T: std::error::Error + 'static>(
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
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
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

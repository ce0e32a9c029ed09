//! A small SSM-compatible HTTP endpoint (awsJson1.1 `AmazonSSM.GetParameters`)
//! whose behaviour each test scripts: AWS-shaped answers from a store,
//! throttling with a token bucket, 5xx, delays, stalls, resets, malformed
//! bodies, AccessDenied, InvalidKeyId. It counts calls.
//!
//! moto stays the endpoint for functional tests; this one is for what moto
//! cannot do, and for answers shaped like real AWS's (sorted, `Selector`,
//! ARNs, Secrets Manager names returned whole).

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// What the endpoint does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answer with this status and body.
    Respond { status: u16, body: String },
    /// Wait, then do the inner action.
    Delay(Duration, Box<Action>),
    /// Read the request and never answer (the connection stays open).
    Stall,
    /// Send the status, headers (with the full `Content-Length`) and the
    /// first `sent` bytes of `body`, then nothing more: a stall in the body.
    StallBody {
        status: u16,
        body: String,
        sent: usize,
    },
    /// Close the connection with a TCP reset, without answering.
    Reset,
}

/// A request as the script sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// 0-based, in arrival order.
    pub index: usize,
    /// `X-Amz-Target`.
    pub target: String,
    /// `Names` of a GetParameters request.
    pub names: Vec<String>,
    /// `WithDecryption`.
    pub with_decryption: bool,
    /// The region the request was signed for (from `Authorization`).
    pub region: String,
    /// The whole JSON body (for endpoints that answer more than
    /// GetParameters, such as kms_ssm.rs).
    pub body: Value,
}

pub type Script = Arc<dyn Fn(&Call) -> Action + Send + Sync>;

/// The running endpoint; stopped on drop.
pub struct FakeSsm {
    pub port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    count: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSsm {
    /// For tests: two worker threads, every call recorded.
    pub fn start(script: impl Fn(&Call) -> Action + Send + Sync + 'static) -> Self {
        Self::launch(Arc::new(script), true)
    }

    /// For benchmarks: one thread (the other core is left to the process
    /// measured) and nothing kept of a call but the count.
    pub fn start_lean(script: impl Fn(&Call) -> Action + Send + Sync + 'static) -> Self {
        Self::launch(Arc::new(script), false)
    }

    fn launch(script: Script, record: bool) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel();
        let most_in_flight = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let recorder = Recorder {
            connections: Arc::clone(&connections),
            calls: record.then(|| Arc::clone(&calls)),
            count: Arc::clone(&count),
            in_flight: Arc::new(AtomicUsize::new(0)),
            most_in_flight: Arc::clone(&most_in_flight),
        };
        let thread = std::thread::spawn(move || {
            let runtime = if record {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            }
            .expect("runtime");
            runtime.block_on(serve(script, recorder, port_tx, shutdown_rx));
            runtime.shutdown_background();
        });
        let port = port_rx.recv().expect("fake endpoint port");
        Self {
            port,
            calls,
            count,
            most_in_flight,
            connections,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests received so far.
    pub fn calls(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// The most requests that were ever being answered at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The requests received so far (none with [`Self::start_lean`]).
    pub fn recorded(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for FakeSsm {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where calls are counted, and kept when tests want them.
#[derive(Clone)]
struct Recorder {
    calls: Option<Arc<Mutex<Vec<Call>>>>,
    connections: Arc<AtomicUsize>,
    count: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

/// Counts a request as in flight until its response (headers, at least)
/// is handed over, or the request is dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(recorder: &Recorder) -> Self {
        let now = recorder.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        recorder.most_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(Arc::clone(&recorder.in_flight))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(
    script: Script,
    recorder: Recorder,
    port_tx: std::sync::mpsc::Sender<u16>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    // A backlog a fleet cannot overflow: tokio's `bind` listens with 128,
    // fewer than the connections 50 launches open at once, and a dropped
    // SYN costs its client a one-second retransmission.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let listener = socket.listen(4096).expect("listen");
    port_tx
        .send(listener.local_addr().expect("addr").port())
        .expect("send port");
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = &mut shutdown => return,
        };
        recorder.connections.fetch_add(1, Ordering::SeqCst);
        let fd = stream.as_raw_fd();
        let script = Arc::clone(&script);
        let recorder = recorder.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let script = Arc::clone(&script);
                let recorder = recorder.clone();
                async move {
                    let _in_flight = InFlight::enter(&recorder);
                    let region = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split("Credential=").nth(1))
                        .and_then(|scope| scope.split('/').nth(2))
                        .unwrap_or("")
                        .to_owned();
                    let target = request
                        .headers()
                        .get("x-amz-target")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let call = Call {
                        index: recorder.count.fetch_add(1, Ordering::SeqCst),
                        target,
                        names: parsed["Names"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|n| n.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        with_decryption: parsed["WithDecryption"].as_bool().unwrap_or(false),
                        region,
                        body: parsed,
                    };
                    if let Some(calls) = &recorder.calls {
                        calls.lock().unwrap().push(call.clone());
                    }
                    let mut action = script(&call);
                    loop {
                        match action {
                            Action::Delay(pause, inner) => {
                                tokio::time::sleep(pause).await;
                                action = *inner;
                            }
                            Action::Stall => std::future::pending::<()>().await,
                            Action::Reset => {
                                // SO_LINGER 0: closing sends RST instead of FIN.
                                // SAFETY: the fd belongs to this connection, which
                                // is alive while its service runs.
                                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                                let _ = nix::sys::socket::setsockopt(
                                    &fd,
                                    nix::sys::socket::sockopt::Linger,
                                    &nix::libc::linger {
                                        l_onoff: 1,
                                        l_linger: 0,
                                    },
                                );
                                return Err("reset".to_owned());
                            }
                            Action::Respond { status, body } => {
                                let response = Response::builder()
                                    .status(status)
                                    .header("content-type", "application/x-amz-json-1.1")
                                    .header("x-amzn-requestid", format!("fake-{}", call.index))
                                    .body(Full::new(Bytes::from(body)).boxed())
                                    .expect("response");
                                return Ok::<_, String>(response);
                            }
                            Action::StallBody { status, body, sent } => {
                                let response = Response::builder()
                                    .status(status)
                                    .header("content-type", "application/x-amz-json-1.1")
                                    .header("content-length", body.len())
                                    .body(
                                        PartThenStall(Some(Bytes::from(body).slice(..sent)))
                                            .boxed(),
                                    )
                                    .expect("response");
                                return Ok(response);
                            }
                        }
                    }
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A body that yields its one chunk, then never ends.
struct PartThenStall(Option<Bytes>);

impl hyper::body::Body for PartThenStall {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match self.0.take() {
            Some(part) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(part)))),
            None => std::task::Poll::Pending,
        }
    }
}

/// An awsJson1.1 error response.
pub fn aws_error(status: u16, code: &str, message: &str) -> Action {
    Action::Respond {
        status,
        body: json!({"__type": format!("com.amazonaws.ssm#{code}"), "message": message})
            .to_string(),
    }
}

pub fn throttled() -> Action {
    aws_error(400, "ThrottlingException", "Rate exceeded")
}

pub fn server_error() -> Action {
    aws_error(
        500,
        "InternalServerError",
        "We encountered an internal error",
    )
}

/// A token bucket shared by every connection: `rate` tokens a second, at
/// most `burst` stored. Over the rate, ThrottlingException, like SSM.
pub struct TokenBucket {
    state: Mutex<(f64, Instant)>,
    rate: f64,
    burst: f64,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            state: Mutex::new((burst, Instant::now())),
            rate,
            burst,
        }
    }

    pub fn take(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
    }
}

/// One stored parameter of the AWS-shaped store.
#[derive(Debug, Clone)]
pub struct Stored {
    pub value: String,
    pub kind: &'static str,
    pub version: i64,
    pub labels: Vec<String>,
}

/// Parameters by name, with their versions, answering like AWS does:
/// `Parameters` sorted by name, `Name` without the selector and the selector
/// in `Selector`, `ARN` filled in, Secrets Manager references returned under
/// the whole reference path with `SourceResult`, unknown names, versions and
/// labels in `InvalidParameters`.
#[derive(Debug, Clone, Default)]
pub struct AwsStore {
    /// name -> versions (oldest first).
    pub parameters: BTreeMap<String, Vec<Stored>>,
    /// Secrets Manager secret id -> current value.
    pub secrets: BTreeMap<String, String>,
    pub account: String,
    pub region: String,
}

impl AwsStore {
    pub fn new() -> Self {
        Self {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            ..Self::default()
        }
    }

    pub fn put(&mut self, name: &str, value: &str) -> &mut Self {
        let versions = self.parameters.entry(name.to_owned()).or_default();
        let version = versions.len() as i64 + 1;
        versions.push(Stored {
            value: value.to_owned(),
            kind: "SecureString",
            version,
            labels: Vec::new(),
        });
        self
    }

    pub fn label(&mut self, name: &str, version: i64, label: &str) -> &mut Self {
        let versions = self.parameters.get_mut(name).expect("parameter");
        for v in versions.iter_mut() {
            v.labels.retain(|l| l != label);
        }
        versions[(version - 1) as usize]
            .labels
            .push(label.to_owned());
        self
    }

    fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:ssm:{}:{}:parameter/{}",
            self.region,
            self.account,
            name.trim_start_matches('/')
        )
    }

    /// The answer to one GetParameters call.
    pub fn answer(&self, names: &[String]) -> Action {
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        for requested in names {
            match self.lookup(requested) {
                Some(parameter) => found.push(parameter),
                None => invalid.push(Value::String(requested.clone())),
            }
        }
        found.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
        Action::Respond {
            status: 200,
            body: json!({"Parameters": found, "InvalidParameters": invalid}).to_string(),
        }
    }

    fn lookup(&self, requested: &str) -> Option<Value> {
        let (body, selector) = split_selector(requested);
        let by_arn = body.starts_with("arn:");
        let name = if by_arn {
            let path = body.split_once(":parameter/")?.1;
            if path.contains('/') {
                format!("/{path}")
            } else {
                path.to_owned()
            }
        } else {
            body.to_owned()
        };
        // `/flat` (one level) is stored as `flat`.
        let name = match name.strip_prefix('/') {
            Some(rest) if !rest.contains('/') && !by_arn => rest.to_owned(),
            _ => name,
        };
        if let Some(id) = name.strip_prefix("/aws/reference/secretsmanager/") {
            let value = self.secrets.get(id)?;
            return Some(json!({
                "Name": name,
                "Type": "SecureString",
                "Value": value,
                "Version": 0,
                "SourceResult": json!({"Name": id, "SecretString": value}).to_string(),
                "LastModifiedDate": 1.7e9,
                "ARN": format!("arn:aws:secretsmanager:{}:{}:secret:{id}", self.region, self.account),
                "DataType": "text",
            }));
        }
        let versions = self.parameters.get(&name)?;
        let stored = match selector {
            None => versions.last()?,
            Some(s) if s.chars().all(|c| c.is_ascii_digit()) => {
                versions.iter().find(|v| v.version.to_string() == s)?
            }
            Some(label) => versions
                .iter()
                .find(|v| v.labels.iter().any(|l| l == label))?,
        };
        let mut parameter = json!({
            "Name": name,
            "Type": stored.kind,
            "Value": stored.value,
            "Version": stored.version,
            "LastModifiedDate": 1.7e9,
            "ARN": self.arn(&name),
            "DataType": "text",
        });
        if let Some(selector) = selector {
            parameter["Selector"] = Value::String(format!(":{selector}"));
        }
        Some(parameter)
    }
}

fn split_selector(requested: &str) -> (&str, Option<&str>) {
    if requested.starts_with("arn:") {
        // arn:partition:ssm:region:account:parameter/name[:selector]
        let parts: Vec<&str> = requested.splitn(7, ':').collect();
        if parts.len() == 7 {
            let cut = requested.len() - parts[6].len() - 1;
            return (&requested[..cut], Some(parts[6]));
        }
        return (requested, None);
    }
    match requested.split_once(':') {
        Some((name, selector)) => (name, Some(selector)),
        None => (requested, None),
    }
}

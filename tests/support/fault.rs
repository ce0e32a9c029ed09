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
}

pub type Script = Arc<dyn Fn(&Call) -> Action + Send + Sync>;

/// The running endpoint; stopped on drop.
pub struct FakeSsm {
    pub port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSsm {
    pub fn start(script: impl Fn(&Call) -> Action + Send + Sync + 'static) -> Self {
        let script: Script = Arc::new(script);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel();
        let thread_calls = Arc::clone(&calls);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(serve(script, thread_calls, port_tx, shutdown_rx));
            runtime.shutdown_background();
        });
        let port = port_rx.recv().expect("fake endpoint port");
        Self {
            port,
            calls,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests received so far.
    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

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

async fn serve(
    script: Script,
    calls: Arc<Mutex<Vec<Call>>>,
    port_tx: std::sync::mpsc::Sender<u16>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    port_tx
        .send(listener.local_addr().expect("addr").port())
        .expect("send port");
    let counter = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = &mut shutdown => return,
        };
        let fd = stream.as_raw_fd();
        let script = Arc::clone(&script);
        let calls = Arc::clone(&calls);
        let counter = Arc::clone(&counter);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let script = Arc::clone(&script);
                let calls = Arc::clone(&calls);
                let counter = Arc::clone(&counter);
                async move {
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
                        index: counter.fetch_add(1, Ordering::SeqCst),
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
                    };
                    calls.lock().unwrap().push(call.clone());
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
                                    .body(Full::new(Bytes::from(body)))
                                    .expect("response");
                                return Ok::<_, String>(response);
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

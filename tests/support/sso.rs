//! A small IAM Identity Center portal: the `sso` API's GetRoleCredentials
//! (`GET /federation/credentials?role_name=..&account_id=..`, the access
//! token in `x-amz-sso_bearer_token`), reached with `AWS_ENDPOINT_URL_SSO`.
//! It hands out role credentials for one access token and answers any
//! other with 401 `UnauthorizedException`, as the portal does for an
//! expired or unknown token. Every request is recorded.
//!
//! [`write_cached_token`] writes what `aws sso login` leaves behind:
//! `~/.aws/sso/cache/<sha1 of the session name or start URL>.json`
//! (aws-config's `sso/cache.rs`: `accessToken` and `expiresAt` required).

use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

/// The access key id of the credentials the portal hands out: a request
/// signed with it got its credentials here.
pub const ACCESS_KEY_ID: &str = "ASIASSOPORTALTEST";

/// One GetRoleCredentials request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoCall {
    pub path: String,
    pub role_name: String,
    pub account_id: String,
    pub token: String,
}

/// The running portal; stopped on drop.
pub struct FakeSso {
    pub port: u16,
    calls: Arc<Mutex<Vec<SsoCall>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSso {
    /// A portal that accepts `valid_token` only.
    pub fn start(valid_token: &str) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&calls);
        let valid = valid_token.to_owned();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, mut shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                port_tx
                    .send(listener.local_addr().expect("addr").port())
                    .expect("send port");
                loop {
                    let (stream, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                        _ = &mut shutdown_rx => return,
                    };
                    let recorded = Arc::clone(&recorded);
                    let valid = valid.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<Incoming>| {
                            let call = call_of(&request);
                            recorded.lock().unwrap().push(call.clone());
                            let valid = valid.clone();
                            async move { Ok::<_, String>(answer(&call, &valid)) }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        let port = port_rx.recv().expect("portal port");
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

    /// The requests received so far.
    pub fn calls(&self) -> Vec<SsoCall> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for FakeSso {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn call_of(request: &Request<Incoming>) -> SsoCall {
    let query = request.uri().query().unwrap_or("");
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    SsoCall {
        path: request.uri().path().to_owned(),
        role_name: param("role_name"),
        account_id: param("account_id"),
        token: request
            .headers()
            .get("x-amz-sso_bearer_token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    }
}

fn answer(call: &SsoCall, valid: &str) -> Response<Full<Bytes>> {
    let (status, error_type, body) = if call.path != "/federation/credentials" {
        (
            404,
            Some("ResourceNotFoundException"),
            json!({"message": "not found"}),
        )
    } else if call.token != valid {
        (
            401,
            Some("UnauthorizedException"),
            json!({"message": "Session token not found or invalid"}),
        )
    } else {
        // An hour from now, in milliseconds since the epoch.
        let expiration = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis()
            + 3_600_000;
        (
            200,
            None,
            json!({"roleCredentials": {
                "accessKeyId": ACCESS_KEY_ID,
                "secretAccessKey": "portal-secret",
                "sessionToken": "portal-session",
                "expiration": expiration,
            }}),
        )
    };
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(error_type) = error_type {
        response = response.header("x-amzn-errortype", error_type);
    }
    response
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

/// Write the token cache `aws sso login` leaves for `identifier` (the
/// `sso_session` name, or the legacy profile's `sso_start_url`) under
/// `home`, expiring at `expires_at` (RFC 3339).
pub fn write_cached_token(home: &Path, identifier: &str, token: &str, expires_at: &str) {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(identifier.as_bytes());
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let dir = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&dir).expect("cache dir");
    std::fs::write(
        dir.join(format!("{name}.json")),
        json!({
            "accessToken": token,
            "expiresAt": expires_at,
            "region": "us-east-1",
            "startUrl": "https://d-0000000000.awsapps.com/start",
        })
        .to_string(),
    )
    .expect("write cached token");
}

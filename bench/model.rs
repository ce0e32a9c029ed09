//! A model of in-region Parameter Store for the HTTPS benchmark: a test CA
//! (root -> intermediate -> leaf, made with `openssl` for each run), an
//! SSM-compatible endpoint over TLS (1.3 and 1.2) or plain HTTP that takes
//! a set time per call, and a delay line in front of it for the network.
//!
//! This kernel has no `netem`, so the network is a proxy: every chunk read
//! from one side is written to the other one-way-delay later (one thread
//! per direction reads, one writes at the due time), and data from the
//! client is not delivered before connect + one round trip + one way, which
//! charges the TCP handshake (the client's `connect` returns at once on
//! loopback; on a network its first byte leaves one round trip later).
//!
//! The endpoint counts calls and completed TLS handshakes; every listener
//! here has a backlog of 4096, more than a launch (or a fleet) connects at
//! once.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Listen backlog: beyond what one launch or a fleet connects at once
/// (std and tokio listen with 128).
pub const BACKLOG: i32 = 4096;

/// A test CA made by `openssl`: root (RSA 2048) -> intermediate (RSA 2048)
/// -> leaf for 127.0.0.1 (ECDSA P-256, so the endpoint's own signing stays
/// cheap; the client checks two RSA signatures in the chain and one ECDSA
/// signature in the handshake).
pub struct TestCa {
    /// The root certificate alone (PEM).
    pub root: PathBuf,
    /// Leaf then intermediate, as the endpoint sends them.
    chain: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (the HTTPS benchmark makes its CA with it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TestCa {
    pub fn make(dir: &Path) -> Self {
        std::fs::write(
            dir.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .expect("write ca.ext");
        std::fs::write(
            dir.join("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .expect("write leaf.ext");
        #[rustfmt::skip]
        let steps: [&[&str]; 6] = [
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem",
              "-days", "2", "-subj", "/CN=psc-exec bench root",
              "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr",
              "-subj", "/CN=psc-exec bench intermediate"],
            &["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "2",
              "-days", "2", "-extfile", "ca.ext", "-out", "int.pem"],
            &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
            &["x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", "3",
              "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem"],
            &["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"],
        ];
        for step in steps {
            openssl(dir, step);
        }
        let chain = dir.join("chain.pem");
        let mut pem = std::fs::read(dir.join("leaf.pem")).expect("leaf.pem");
        pem.extend(std::fs::read(dir.join("int.pem")).expect("int.pem"));
        std::fs::write(&chain, pem).expect("chain.pem");
        Self {
            root: dir.join("root.pem"),
            chain,
            key: dir.join("leaf.key"),
        }
    }

    /// A server configuration offering `versions`, no ALPN (HTTP/1.1).
    pub fn server_config(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<rustls::ServerConfig> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.chain)
            .expect("chain.pem")
            .collect::<Result<_, _>>()
            .expect("parse chain.pem");
        let key = PrivateKeyDer::from_pem_file(&self.key).expect("leaf.key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
        Arc::new(config)
    }
}

/// Bind 127.0.0.1 on a free port with [`BACKLOG`].
pub fn listen() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    // Listening again on a listening socket sets the new backlog (Linux).
    // SAFETY: a valid socket descriptor we own.
    let rc = unsafe { nix::libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), BACKLOG) };
    assert_eq!(rc, 0, "listen");
    listener
}

/// The answer to one `GetParameters` call, from the names asked.
pub type Answer = Arc<dyn Fn(&[String]) -> String + Send + Sync>;

/// The SSM-compatible endpoint: every call answered `delay` after its
/// request arrived, over TLS when given a configuration.
pub struct Endpoint {
    pub port: u16,
    calls: Arc<AtomicUsize>,
    handshakes: Arc<AtomicUsize>,
}

impl Endpoint {
    pub fn start(tls: Option<Arc<rustls::ServerConfig>>, delay: Duration, answer: Answer) -> Self {
        let listener = listen();
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let calls = Arc::new(AtomicUsize::new(0));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let (c, h) = (Arc::clone(&calls), Arc::clone(&handshakes));
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(serve(listener, tls, delay, answer, c, h));
        });
        Self {
            port,
            calls,
            handshakes,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    delay: Duration,
    answer: Answer,
    calls: Arc<AtomicUsize>,
    handshakes: Arc<AtomicUsize>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, answer, calls, handshakes) = (
            acceptor.clone(),
            Arc::clone(&answer),
            Arc::clone(&calls),
            Arc::clone(&handshakes),
        );
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let (answer, calls) = (Arc::clone(&answer), Arc::clone(&calls));
                async move {
                    let arrived = tokio::time::Instant::now();
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let parsed: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or_default();
                    let names: Vec<String> = parsed["Names"]
                        .as_array()
                        .map(|names| {
                            names
                                .iter()
                                .filter_map(|n| n.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    calls.fetch_add(1, Ordering::SeqCst);
                    let body = answer(&names);
                    tokio::time::sleep_until(arrived + delay).await;
                    Ok::<_, std::convert::Infallible>(
                        Response::builder()
                            .status(200)
                            .header("content-type", "application/x-amz-json-1.1")
                            .header("x-amzn-requestid", "bench")
                            .body(Full::new(Bytes::from(body)))
                            .expect("response"),
                    )
                }
            });
            match acceptor {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    handshakes.fetch_add(1, Ordering::SeqCst);
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                None => {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

/// The network: a proxy to `127.0.0.1:upstream` delivering every chunk
/// `one_way` after it was read, the client's first bytes no earlier than
/// connect + one round trip + one way.
pub struct DelayLine {
    pub port: u16,
}

impl DelayLine {
    pub fn start(upstream: u16, one_way: Duration) -> Self {
        let listener = listen();
        let port = listener.local_addr().expect("addr").port();
        let upstream = SocketAddr::from(([127, 0, 0, 1], upstream));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let opened = Instant::now();
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                pump(client, server, one_way, opened + 2 * one_way);
                pump(s2, c2, one_way, opened);
            }
        });
        Self { port }
    }
}

/// One direction of the delay line.
fn pump(mut from: TcpStream, mut to: TcpStream, one_way: Duration, not_before: Instant) {
    let (tx, rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = from.read(&mut buffer);
            let due = Instant::now().max(not_before) + one_way;
            match read {
                Ok(0) | Err(_) => {
                    let _ = tx.send((due, None));
                    return;
                }
                Ok(n) => {
                    if tx.send((due, Some(buffer[..n].to_vec()))).is_err() {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            match chunk {
                Some(chunk) => {
                    if to.write_all(&chunk).is_err() {
                        let _ = to.shutdown(Shutdown::Both);
                        return;
                    }
                }
                None => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
            }
        }
    });
}

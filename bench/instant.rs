//! The benchmark's "local instant endpoint": answers GetParameters from
//! memory over HTTP/1.1 keep-alive, on one thread that polls its sockets
//! without ever sleeping while a row that uses it is measured. A sleeping
//! server (the tests' tokio endpoint) adds its own wake-up latency to every
//! request, tens of microseconds on a VM; polling keeps that out of the
//! figure, which is psc-exec's own cost.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The body of the answer to a GetParameters call for these names.
pub type Answer = dyn Fn(&[String]) -> String + Send;

pub struct InstantSsm {
    port: u16,
    calls: Arc<AtomicUsize>,
    spin: Arc<AtomicBool>,
    spinning: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// While it lives, the endpoint polls without sleeping.
pub struct Spinning<'a>(&'a InstantSsm);

impl Drop for Spinning<'_> {
    fn drop(&mut self) {
        self.0.spin.store(false, Ordering::SeqCst);
    }
}

impl InstantSsm {
    pub fn start(answer: Box<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let calls = Arc::new(AtomicUsize::new(0));
        let spin = Arc::new(AtomicBool::new(false));
        let spinning = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (calls, spin, spinning, stop) = (
                Arc::clone(&calls),
                Arc::clone(&spin),
                Arc::clone(&spinning),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || serve(&listener, &*answer, &calls, &spin, &spinning, &stop))
        };
        Self {
            port,
            calls,
            spin,
            spinning,
            stop,
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests answered so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Poll without sleeping until the guard is dropped; returns once the
    /// server is polling.
    pub fn spinning(&self) -> Spinning<'_> {
        self.spin.store(true, Ordering::SeqCst);
        while !self.spinning.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        Spinning(self)
    }
}

impl Drop for InstantSsm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: &TcpListener,
    answer: &Answer,
    calls: &AtomicUsize,
    spin: &AtomicBool,
    spinning: &AtomicBool,
    stop: &AtomicBool,
) {
    // Responses by request body: after the first time, an answer is a copy.
    let mut answers: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut connections: Vec<(TcpStream, Vec<u8>)> = Vec::new();
    let mut chunk = vec![0_u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let polling = spin.load(Ordering::SeqCst);
        spinning.store(polling, Ordering::SeqCst);
        let mut progress = false;
        while let Ok((stream, _)) = listener.accept() {
            stream.set_nonblocking(true).expect("nonblocking");
            stream.set_nodelay(true).expect("nodelay");
            connections.push((stream, Vec::new()));
            progress = true;
        }
        connections.retain_mut(|(stream, buffer)| {
            match stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    buffer.extend_from_slice(&chunk[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
            while let Some(body) = take_request(buffer) {
                let response = answers.entry(body).or_insert_with_key(|body| {
                    let request: serde_json::Value =
                        serde_json::from_slice(body).unwrap_or_default();
                    let names: Vec<String> = request["Names"]
                        .as_array()
                        .map(|names| {
                            names
                                .iter()
                                .filter_map(|n| n.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    let body = answer(&names);
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\n\
                         x-amzn-requestid: instant\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                });
                calls.fetch_add(1, Ordering::SeqCst);
                if write_all(stream, response).is_err() {
                    return false;
                }
            }
            true
        });
        if !progress {
            if polling {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

/// A whole request at the front of `buffer`: remove it, return its body.
fn take_request(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let start = end + 4;
    if buffer.len() < start + length {
        return None;
    }
    let body = buffer[start..start + length].to_vec();
    buffer.drain(..start + length);
    Some(body)
}

/// Write all of `bytes` to a non-blocking stream.
fn write_all(stream: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

//! Start-up cost of psc-exec, with its baselines measured in the same run.
//!
//! Rows: `env true` vs `psc-exec -- true` (no references: no AWS at all);
//! N = 1, 10, 100, 1000 references against a local endpoint that answers
//! at once (what psc-exec itself costs); N = 10 against moto_server next to
//! a single `curl` POST of the same GetParameters request (the round trip
//! is the floor). Each row: wall time median/min/max over RUNS runs, calls
//! per run, peak resident memory (the child's `ru_maxrss` via wait4).
//!
//! Run: `scripts/bench` (release build, pinned moto), or
//! `cargo bench --bench startup`. Environment: BENCH_RUNS (30),
//! PSC_EXEC_BIN (default: the binary cargo built), PSC_TEST_MOTO_SERVER.

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/fault.rs"]
mod fault;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fault::{AwsStore, FakeSsm};

struct Row {
    name: String,
    times: Vec<Duration>,
    calls: Option<f64>,
    rss_kib: i64,
}

/// Run a command to completion; wall time and peak RSS of the process tree
/// it waited for (wait4 reports the child's own maximum).
fn measure(command: &mut Command) -> (Duration, i64) {
    let started = Instant::now();
    let child = command.spawn().expect("spawn");
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 on our own child.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { nix::libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let elapsed = started.elapsed();
    assert_eq!(rc, pid, "wait4");
    assert!(
        nix::libc::WIFEXITED(status) && nix::libc::WEXITSTATUS(status) == 0,
        "{command:?} failed: status {status:#x}"
    );
    std::mem::forget(child);
    (elapsed, usage.ru_maxrss)
}

fn row(
    name: impl Into<String>,
    runs: usize,
    mut make: impl FnMut() -> Command,
    calls: impl Fn() -> usize,
) -> Row {
    // One warm-up run: page cache, moto's first-request costs.
    measure(&mut make());
    let before = calls();
    let mut times = Vec::with_capacity(runs);
    let mut rss = 0;
    for _ in 0..runs {
        let (elapsed, maxrss) = measure(&mut make());
        times.push(elapsed);
        rss = rss.max(maxrss);
    }
    times.sort();
    let made = calls() - before;
    Row {
        name: name.into(),
        times,
        calls: (made > 0).then(|| made as f64 / runs as f64),
        rss_kib: rss,
    }
}

fn psc_exec(binary: &PathBuf, endpoint: &str, n: usize) -> Command {
    let mut command = Command::new(binary);
    common::clean_aws_env(&mut command, endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for i in 0..n {
        command.env(format!("P{i:04}"), format!("SECRET /bench/p{i:04}"));
    }
    command.args(["--", "true"]);
    command
}

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Option<Moto> {
    let program = std::env::var_os("PSC_TEST_MOTO_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("moto_server"))
                .find(|p| p.is_file())
        })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut command = Command::new(program);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env(
            "MOTO_RECORDER_FILEPATH",
            std::env::temp_dir().join(format!("psc-bench-{port}.jsonl")),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
    let mut child = command.spawn().ok()?;
    let stderr = child.stderr.take()?;
    let mut lines = BufReader::new(stderr).lines();
    let banner = format!("Running on http://127.0.0.1:{port}");
    loop {
        let line = lines.next()?.ok()?;
        if line.contains(&banner) {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Some(Moto { child, port })
}

/// One HTTP/1.1 request to moto; returns the whole response.
fn http(port: u16, method: &str, path: &str, headers: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

/// An awsJson1.1 call; moto routes by the credential scope's service.
fn json_post(port: u16, target: &str, service: &str, body: &str) -> String {
    let headers = format!(
        "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: {target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n"
    );
    http(port, "POST", "/", &headers, body)
}

fn moto_calls(port: u16) -> usize {
    http(port, "GET", "/moto-api/recorder/download-recording", "", "")
        .lines()
        .filter(|l| l.contains("AmazonSSM.GetParameters"))
        .count()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and a benchmark is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!(
            "startup: a benchmark; run it with `cargo bench --bench startup` (or scripts/bench)"
        );
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let binary = PathBuf::from(
        std::env::var_os("PSC_EXEC_BIN")
            .unwrap_or_else(|| OsString::from(env!("CARGO_BIN_EXE_psc-exec"))),
    );
    let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);

    let mut store = AwsStore::new();
    for i in 0..1000 {
        store.put(
            &format!("/bench/p{i:04}"),
            &format!("value-{i:04}-{}", "x".repeat(40)),
        );
    }
    let fast = FakeSsm::start(move |call| store.answer(&call.names));
    let fast_endpoint = fast.endpoint();
    let mut rows = Vec::new();

    rows.push(row(
        "env true",
        runs,
        || {
            let mut c = Command::new("env");
            c.arg("true");
            c
        },
        || 0,
    ));
    rows.push(row(
        "psc-exec -- true (no references)",
        runs,
        || psc_exec(&binary, "http://127.0.0.1:9", 0),
        || 0,
    ));
    for n in [1, 10, 100, 1000] {
        rows.push(row(
            format!("psc-exec, N={n}, local instant endpoint"),
            runs,
            || psc_exec(&binary, &fast_endpoint, n),
            || fast.calls(),
        ));
    }
    // What two start-up fixes save, measured by undoing them from outside:
    // the CA directory read file by file, and the whole credentials chain
    // built because the credentials come from a profile file.
    rows.push(row(
        "  N=10, SSL_CERT_DIR=/etc/ssl/certs (every CA file read)",
        runs,
        || {
            let mut c = psc_exec(&binary, &fast_endpoint, 10);
            c.env("SSL_CERT_DIR", "/etc/ssl/certs");
            c
        },
        || fast.calls(),
    ));
    let profile =
        std::env::temp_dir().join(format!("psc-bench-credentials-{}", std::process::id()));
    std::fs::write(
        &profile,
        "[default]\naws_access_key_id = bench\naws_secret_access_key = bench\n",
    )
    .expect("credentials file");
    rows.push(row(
        "  N=10, credentials from a profile (full chain)",
        runs,
        || {
            let mut c = psc_exec(&binary, &fast_endpoint, 10);
            c.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .env("AWS_SHARED_CREDENTIALS_FILE", &profile);
            c
        },
        || fast.calls(),
    ));
    let _ = std::fs::remove_file(&profile);

    match start_moto() {
        Some(moto) => {
            for i in 0..10 {
                json_post(
                    moto.port,
                    "AmazonSSM.PutParameter",
                    "ssm",
                    &format!(
                        r#"{{"Name":"/bench/p{i:04}","Value":"value-{i:04}","Type":"SecureString","Overwrite":true}}"#
                    ),
                );
            }
            http(
                moto.port,
                "POST",
                "/moto-api/recorder/start-recording",
                "",
                "",
            );
            let endpoint = format!("http://127.0.0.1:{}", moto.port);
            let names: Vec<String> = (0..10).map(|i| format!("\"/bench/p{i:04}\"")).collect();
            let body = format!(r#"{{"Names":[{}],"WithDecryption":true}}"#, names.join(","));
            let port = moto.port;
            rows.push(row("curl POST GetParameters (10 names) to moto", runs, || {
                let mut c = Command::new("curl");
                c.args(["-s", "-o", "/dev/null", "-X", "POST",
                    "-H", "Content-Type: application/x-amz-json-1.1",
                    "-H", "X-Amz-Target: AmazonSSM.GetParameters",
                    "-H", "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0",
                    "--data", &body, &endpoint]);
                c
            }, || moto_calls(port)));
            rows.push(row(
                "psc-exec, N=10, moto_server",
                runs,
                || psc_exec(&binary, &format!("http://127.0.0.1:{port}"), 10),
                || moto_calls(port),
            ));
        }
        None => eprintln!("SKIPPED the moto rows: moto_server not found (run scripts/bench)"),
    }

    println!(
        "psc-exec start-up benchmark: {runs} runs per row, binary {} ({:.2} MiB)",
        binary.display(),
        size as f64 / 1048576.0
    );
    println!(
        "{:<56} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "command", "median", "min", "max", "calls", "peak RSS"
    );
    for r in &rows {
        let ms = |d: Duration| format!("{:.2}ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<56} {:>9} {:>9} {:>9} {:>7} {:>6.1}MiB",
            r.name,
            ms(r.times[r.times.len() / 2]),
            ms(r.times[0]),
            ms(*r.times.last().unwrap()),
            r.calls
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.0}")),
            r.rss_kib as f64 / 1024.0
        );
    }
}

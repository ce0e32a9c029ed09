//! Start-up cost of psc-exec, with its baselines measured in the same run.
//!
//! Rows: `env true` vs `psc-exec -- true` (no references: no AWS at all);
//! N = 1, 10, 100, 1000 references against a local endpoint that answers
//! at once (bench/instant.rs: what psc-exec itself costs), and N = 10, 100
//! against the tests' endpoint (tokio, its wake-ups included); N = 10
//! against moto_server next to a single `curl` POST of the same
//! GetParameters request (the round trip is the floor). Each row: wall time median/min/max over RUNS runs, median
//! CPU time (user + system: whether a row waits or computes), calls per
//! run, peak resident memory (the child's `ru_maxrss` via wait4). Rows are
//! measured round-robin, so the ratios the summary prints (the issue's
//! targets) compare runs made side by side.
//!
//! Run: `scripts/bench` (release build, pinned moto), or
//! `cargo bench --bench startup`. Environment: BENCH_RUNS (40),
//! PSC_EXEC_BIN (default: the binary cargo built), PSC_TEST_MOTO_SERVER.

// The benchmark reports its progress on stderr.
#![allow(clippy::print_stderr)]

mod common;
#[path = "../tests/support/mod.rs"]
mod support;
use support::fault;
mod instant;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fault::{Action, AwsStore, FakeSsm};
use instant::InstantSsm;

struct Row {
    name: String,
    times: Vec<Duration>,
    calls: Option<f64>,
    /// CPU time (user + system) of each run, sorted.
    cpu: Vec<Duration>,
    rss_kib: i64,
}

/// Run a command to completion; wall time, CPU time (user + system) and
/// peak RSS of the process it waited for (wait4 reports its own figures).
fn measure(command: &mut Command) -> (Duration, Duration, i64) {
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
    let time = |t: nix::libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (
        elapsed,
        time(usage.ru_utime) + time(usage.ru_stime),
        usage.ru_maxrss,
    )
}

/// One row of the table: how to start a run, and the calls it made.
struct Spec<'a> {
    name: String,
    make: Box<dyn FnMut() -> Command + 'a>,
    calls: Box<dyn Fn() -> usize + 'a>,
    /// Runs against the instant endpoint, which polls while they run.
    instant: bool,
}

impl Spec<'_> {
    fn on_instant(mut self) -> Self {
        self.instant = true;
        self
    }
}

fn spec<'a>(
    name: impl Into<String>,
    make: impl FnMut() -> Command + 'a,
    calls: impl Fn() -> usize + 'a,
) -> Spec<'a> {
    Spec {
        name: name.into(),
        make: Box::new(make),
        calls: Box::new(calls),
        instant: false,
    }
}

/// Measure every row `runs` times, round-robin: one run of each row, then
/// the next round. Whatever else the machine does (a neighbour's load, a
/// frequency change) then weighs on every row alike, so the ratios between
/// rows hold even when the absolute figures drift.
fn measure_rows(mut specs: Vec<Spec<'_>>, runs: usize, instant: &InstantSsm) -> Vec<Row> {
    let run = |spec: &mut Spec<'_>| {
        let _polling = spec.instant.then(|| instant.spinning());
        measure(&mut (spec.make)())
    };
    // One warm-up run each: page cache, moto's first-request costs.
    for spec in &mut specs {
        run(spec);
    }
    let mut rows: Vec<Row> = specs
        .iter()
        .map(|spec| Row {
            name: spec.name.clone(),
            times: Vec::with_capacity(runs),
            calls: None,
            cpu: Vec::with_capacity(runs),
            rss_kib: 0,
        })
        .collect();
    let mut made = vec![0; specs.len()];
    for _ in 0..runs {
        for (i, spec) in specs.iter_mut().enumerate() {
            let before = (spec.calls)();
            let (elapsed, used, maxrss) = run(spec);
            made[i] += (spec.calls)() - before;
            let row = &mut rows[i];
            row.times.push(elapsed);
            row.cpu.push(used);
            row.rss_kib = row.rss_kib.max(maxrss);
        }
    }
    for (row, made) in rows.iter_mut().zip(made) {
        row.times.sort();
        row.cpu.sort();
        row.calls = (made > 0).then(|| made as f64 / runs as f64);
    }
    rows
}

/// This process's peak resident memory. A child forked from it starts with
/// the parent's pages counted, so the peak RSS `wait4` reports for a child
/// is never below what this process held when it forked: the floor of the
/// RSS column.
fn own_peak_rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
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
        .unwrap_or(40);
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
    // The local instant endpoint (bench/instant.rs), and for comparison the
    // tests' own endpoint (tokio, asleep between requests) answering the
    // same from memory.
    let answers: Mutex<HashMap<Vec<String>, Action>> = Mutex::new(HashMap::new());
    let answer = move |names: &[String]| match store.answer(names) {
        Action::Respond { body, .. } => body,
        other => unreachable!("{other:?}"),
    };
    let tokio_answer = answer.clone();
    let fast = InstantSsm::start(Box::new(answer));
    let sleeping = FakeSsm::start_lean(move |call| {
        answers
            .lock()
            .unwrap()
            .entry(call.names.clone())
            .or_insert_with(|| Action::Respond {
                status: 200,
                body: tokio_answer(&call.names),
            })
            .clone()
    });
    let sleeping_endpoint = &sleeping.endpoint();
    let sleeping_calls = || sleeping.calls();
    let fast_endpoint = &fast.endpoint();
    let fast_calls = || fast.calls();
    let binary = &binary;
    let profile =
        std::env::temp_dir().join(format!("psc-bench-credentials-{}", std::process::id()));
    std::fs::write(
        &profile,
        "[default]\naws_access_key_id = bench\naws_secret_access_key = bench\n",
    )
    .expect("credentials file");

    // The five roots Amazon Trust Services recommends for a custom trust
    // store: AWS endpoints chain to them. What the system bundle costs.
    let ats_roots = [
        "Amazon_Root_CA_1.pem",
        "Amazon_Root_CA_2.pem",
        "Amazon_Root_CA_3.pem",
        "Amazon_Root_CA_4.pem",
        "Starfield_Services_Root_Certificate_Authority_-_G2.pem",
    ]
    .iter()
    .map(|file| std::fs::read(std::path::Path::new("/etc/ssl/certs").join(file)))
    .collect::<Result<Vec<_>, _>>()
    .ok()
    .map(|pems| {
        let path = std::env::temp_dir().join(format!("psc-bench-ats-{}.pem", std::process::id()));
        std::fs::write(&path, pems.concat()).expect("ATS bundle");
        path
    });

    let moto = support::moto_available().then(support::Moto::start);
    let mut specs = vec![
        spec(
            "env true",
            || {
                let mut c = Command::new("env");
                c.arg("true");
                c
            },
            || 0,
        ),
        spec(
            "psc-exec -- true (no references)",
            || psc_exec(binary, "http://127.0.0.1:9", 0),
            || 0,
        ),
    ];
    for n in [1, 10, 100, 1000] {
        specs.push(
            spec(
                format!("psc-exec, N={n}, local instant endpoint"),
                move || psc_exec(binary, fast_endpoint, n),
                fast_calls,
            )
            .on_instant(),
        );
    }
    for n in [10, 100] {
        specs.push(spec(
            format!("  N={n}, the tests' endpoint (tokio, sleeps when idle)"),
            move || psc_exec(binary, sleeping_endpoint, n),
            sleeping_calls,
        ));
    }
    // What two start-up fixes save, measured by undoing them from outside:
    // the CA directory read file by file, and the whole credentials chain
    // built because the credentials come from a profile file.
    specs.push(
        spec(
            "  N=10, SSL_CERT_DIR=/etc/ssl/certs (every CA file read)",
            || {
                let mut c = psc_exec(binary, fast_endpoint, 10);
                c.env("SSL_CERT_DIR", "/etc/ssl/certs");
                c
            },
            fast_calls,
        )
        .on_instant(),
    );
    match &ats_roots {
        Some(bundle) => specs.push(
            spec(
                "  N=10, --ca-bundle of the 5 Amazon Trust Services roots",
                move || {
                    let mut c = psc_exec(binary, fast_endpoint, 10);
                    c.env("PSC_EXEC_CA_BUNDLE", bundle);
                    c
                },
                fast_calls,
            )
            .on_instant(),
        ),
        None => eprintln!("SKIPPED the ATS row: the Amazon roots are not in /etc/ssl/certs"),
    }
    specs.push(
        spec(
            "  N=10, credentials from a profile (full chain)",
            || {
                let mut c = psc_exec(binary, fast_endpoint, 10);
                c.env_remove("AWS_ACCESS_KEY_ID")
                    .env_remove("AWS_SECRET_ACCESS_KEY")
                    .env("AWS_SHARED_CREDENTIALS_FILE", &profile);
                c
            },
            fast_calls,
        )
        .on_instant(),
    );

    match &moto {
        Some(moto) => {
            for i in 0..10 {
                moto.json_call(
                    "ssm",
                    "AmazonSSM.PutParameter",
                    &serde_json::json!({
                    "Name": format!("/bench/p{i:04}"), "Value": format!("value-{i:04}"),
                    "Type": "SecureString", "Overwrite": true}),
                );
            }
            moto.start_recording();
            let port = moto.port;
            let endpoint = format!("http://127.0.0.1:{port}");
            let names: Vec<String> = (0..10).map(|i| format!("\"/bench/p{i:04}\"")).collect();
            let body = format!(r#"{{"Names":[{}],"WithDecryption":true}}"#, names.join(","));
            let curl_endpoint = endpoint.clone();
            specs.push(spec("curl POST GetParameters (10 names) to moto", move || {
                let mut c = Command::new("curl");
                c.args(["-s", "-o", "/dev/null", "-X", "POST",
                    "-H", "Content-Type: application/x-amz-json-1.1",
                    "-H", "X-Amz-Target: AmazonSSM.GetParameters",
                    "-H", "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0",
                    "--data", &body, &curl_endpoint]);
                c
            }, move || moto.count_calls("AmazonSSM.GetParameters")));
            specs.push(spec(
                "psc-exec, N=10, moto_server",
                move || psc_exec(binary, &endpoint, 10),
                move || moto.count_calls("AmazonSSM.GetParameters"),
            ));
        }
        None => eprintln!("SKIPPED the moto rows: moto_server not found (run scripts/bench)"),
    }
    let rows = measure_rows(specs, runs, &fast);
    let floor_kib = own_peak_rss_kib();
    let _ = std::fs::remove_file(&profile);
    if let Some(bundle) = &ats_roots {
        let _ = std::fs::remove_file(bundle);
    }

    println!(
        "psc-exec start-up benchmark: {runs} runs per row, round-robin; binary {} ({:.2} MiB)",
        binary.display(),
        size as f64 / 1048576.0
    );
    println!(
        "(peak RSS: a row at or below {:.1} MiB, this benchmark's own peak, may show the benchmark's pages: a forked child starts with them)",
        floor_kib as f64 / 1024.0
    );
    println!(
        "{:<56} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}",
        "command", "median", "min", "max", "CPU", "calls", "peak RSS"
    );
    for r in &rows {
        let ms = |d: Duration| format!("{:.2}ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<56} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6.1}MiB",
            r.name,
            ms(r.times[r.times.len() / 2]),
            ms(r.times[0]),
            ms(*r.times.last().unwrap()),
            ms(r.cpu[r.cpu.len() / 2]),
            r.calls
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.0}")),
            r.rss_kib as f64 / 1024.0
        );
    }
    let median = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .map(|r| r.times[r.times.len() / 2].as_secs_f64() * 1000.0)
    };
    println!();
    if let (Some(env), Some(none)) = (
        median("env true"),
        median("psc-exec -- true (no references)"),
    ) {
        println!(
            "no references over env true: {:+.2} ms (target: at most +1 ms)",
            none - env
        );
    }
    if let (Some(ten), Some(hundred)) = (
        median("psc-exec, N=10, local instant endpoint"),
        median("psc-exec, N=100, local instant endpoint"),
    ) {
        println!(
            "N=100 / N=10, local instant endpoint: {:.2}x (target: at most 1.5x)",
            hundred / ten
        );
    }
    if let (Some(ten), Some(hundred)) = (
        median("  N=10, the tests' endpoint (tokio, sleeps when idle)"),
        median("  N=100, the tests' endpoint (tokio, sleeps when idle)"),
    ) {
        println!(
            "N=100 / N=10, the tests' endpoint: {:.2}x (its wake-ups included)",
            hundred / ten
        );
    }
    if let (Some(curl), Some(ours)) = (
        median("curl POST GetParameters (10 names) to moto"),
        median("psc-exec, N=10, moto_server"),
    ) {
        println!(
            "N=10 against moto / one curl POST: {:.2}x (target: at most 1.2x)",
            ours / curl
        );
    }
}

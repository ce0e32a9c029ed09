//! psc-exec over HTTPS against a model of in-region Parameter Store, with
//! its floor (one `curl` request through the same model) and its peer
//! (fnox, where installed) measured in the same run.
//!
//! The model (bench/model.rs): a test CA made for the run (root ->
//! intermediate -> leaf), an endpoint answering every call SERVER_MS after
//! it arrived, over TLS 1.3 (and 1.2 for one row) or plain HTTP, behind a
//! delay line adding RTT_MS per round trip (TCP handshake included). The
//! floor of one HTTPS request is 3 round trips (TCP, TLS 1.3, the request)
//! plus the server's time; plain HTTP, 2 round trips plus the server's
//! time.
//!
//! Every command is started by a small runner (bench/runner.c, built here
//! with `cc`) with a clean environment, so wall time, CPU (user + system)
//! and peak RSS are the command's own, not this benchmark's. Rows are
//! measured round-robin, so the ratios compare runs made side by side.
//! Each row's warm-up run checks the values its child got (the first and
//! the last reference) and fails the benchmark on any difference.
//!
//! Run: `scripts/bench` (release build), or `cargo bench --bench https`.
//! Environment: BENCH_RUNS (20), RTT_MS (2), SERVER_MS (15), PSC_EXEC_BIN
//! (default: the binary cargo built), FNOX_BIN (default: `fnox` on PATH;
//! its rows are left out when there is none), PSC_EXEC_ALT
//! (`label=path,...`: other builds of psc-exec measured beside it),
//! PSC_EXEC_STATIC (the static musl release build, as `scripts/release`
//! and the image ship it: its rows are left out when unset),
//! BENCH_NOREF_RUNS (300: the no-reference launches, measured apart,
//! round-robin, since a fraction of a millisecond needs many runs).

// The benchmark reports its progress on stderr.
#![allow(clippy::print_stderr)]

mod common;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/fault.rs"]
mod fault;
mod model;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fault::{Action, AwsStore};
use model::{DelayLine, Endpoint, TestCa};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the runner reports for one run.
struct Run {
    wall: Duration,
    cpu: Duration,
    rss_kib: u64,
}

/// Build bench/runner.c (static when the C library allows it).
fn build_runner(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/runner.c");
    let runner = dir.join("runner");
    for flags in [&["-O2", "-static"][..], &["-O2"][..]] {
        let built = Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(&runner)
            .arg(&source)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if built {
            return runner;
        }
    }
    panic!("cannot build bench/runner.c with cc");
}

/// Where to count what a row made.
#[derive(Clone, Copy)]
enum Counted<'a> {
    Nothing,
    At(&'a Endpoint),
}

impl Counted<'_> {
    fn now(self) -> (usize, usize) {
        match self {
            Counted::Nothing => (0, 0),
            Counted::At(endpoint) => (endpoint.calls(), endpoint.handshakes()),
        }
    }
}

/// A command line and its whole environment.
type Invocation = (Vec<String>, Vec<(String, String)>);

struct Row<'a> {
    name: String,
    /// The command and its whole environment (the runner passes it on).
    argv: Vec<String>,
    env: Vec<(String, String)>,
    /// For the warm-up run: the same with a child that checks its values.
    check: Option<Invocation>,
    dir: Option<PathBuf>,
    counted: Counted<'a>,
    runs: Vec<Run>,
    calls: usize,
    handshakes: usize,
}

impl Row<'_> {
    fn wall(&self, at: usize) -> f64 {
        let mut w: Vec<f64> = self.runs.iter().map(|r| ms(r.wall)).collect();
        w.sort_by(f64::total_cmp);
        w[at.min(w.len() - 1)]
    }
    fn median(&self) -> f64 {
        self.wall(self.runs.len() / 2)
    }
    fn cpu(&self) -> f64 {
        let mut c: Vec<f64> = self.runs.iter().map(|r| ms(r.cpu)).collect();
        c.sort_by(f64::total_cmp);
        c[c.len() / 2]
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run(
    runner: &Path,
    argv: &[String],
    env: &[(String, String)],
    dir: Option<&Path>,
    name: &str,
) -> Run {
    let mut command = Command::new(runner);
    command
        .args(argv)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.output().expect("run the runner");
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<u64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split(' ')
        .filter_map(|f| f.parse().ok())
        .collect();
    assert!(
        output.status.success() && fields.len() == 4,
        "{name}: runner said {text:?}"
    );
    assert_eq!(fields[3], 0, "{name}: exited {}", fields[3]);
    Run {
        wall: Duration::from_nanos(fields[0]),
        cpu: Duration::from_micros(fields[1]),
        rss_kib: fields[2],
    }
}

fn value(i: usize) -> String {
    format!("value-{i:04}-{}", "x".repeat(40))
}

/// A child that exits 0 only when the first and the last of `n`
/// references arrived with their values.
fn checking_child(n: usize) -> Vec<String> {
    let last = n - 1;
    vec![
        "sh".into(),
        "-c".into(),
        format!(
            "test \"$P0000\" = {} && test \"$P{last:04}\" = {}",
            value(0),
            value(last)
        ),
    ]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it, and a benchmark is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("https: a benchmark; run it with `cargo bench --bench https` (or scripts/bench)");
        return;
    }
    let runs = setting("BENCH_RUNS", 20) as usize;
    let rtt = Duration::from_micros(setting("RTT_MS", 2) * 1000);
    let server = Duration::from_millis(setting("SERVER_MS", 15));
    let binary =
        std::env::var("PSC_EXEC_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_psc-exec").to_owned());
    let static_binary = std::env::var("PSC_EXEC_STATIC")
        .ok()
        .filter(|p| Path::new(p).is_file());
    let fnox = std::env::var("FNOX_BIN").ok().or_else(|| {
        Command::new("sh")
            .args(["-c", "command -v fnox"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let runner = build_runner(dir.path());
    let ca = TestCa::make(dir.path());
    // The system's trust plus the test root: what a launch parses when
    // nothing says otherwise (Debian's bundle, about 144 roots).
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let trust = dir.path().join("trust.pem");
    let mut pem = std::fs::read(system).unwrap_or_default();
    pem.extend(std::fs::read(&ca.root).expect("root.pem"));
    std::fs::write(&trust, pem).expect("trust.pem");
    // --ca-bundle: the five Amazon Trust Services roots plus the test
    // root, the README's advice for AWS endpoints.
    let small = dir.path().join("aws-roots.pem");
    let mut pem = Vec::new();
    for file in [
        "Amazon_Root_CA_1.pem",
        "Amazon_Root_CA_2.pem",
        "Amazon_Root_CA_3.pem",
        "Amazon_Root_CA_4.pem",
        "Starfield_Services_Root_Certificate_Authority_-_G2.pem",
    ] {
        pem.extend(std::fs::read(Path::new("/etc/ssl/certs").join(file)).unwrap_or_default());
    }
    pem.extend(std::fs::read(&ca.root).expect("root.pem"));
    std::fs::write(&small, pem).expect("aws-roots.pem");

    let mut store = AwsStore::new();
    for i in 0..100 {
        store.put(&format!("/bench/p{i:04}"), &value(i));
    }
    let answer: model::Answer = Arc::new(move |names: &[String]| match store.answer(names) {
        Action::Respond { body, .. } => body,
        other => unreachable!("{other:?}"),
    });
    let one_way = rtt / 2;
    let tls13 = Endpoint::start(
        Some(ca.server_config(&[&rustls::version::TLS13, &rustls::version::TLS12])),
        server,
        Arc::clone(&answer),
    );
    let tls12 = Endpoint::start(
        Some(ca.server_config(&[&rustls::version::TLS12])),
        server,
        Arc::clone(&answer),
    );
    let plain = Endpoint::start(None, server, Arc::clone(&answer));
    let https = format!(
        "https://127.0.0.1:{}",
        DelayLine::start(tls13.port, one_way).port
    );
    let https12 = format!(
        "https://127.0.0.1:{}",
        DelayLine::start(tls12.port, one_way).port
    );
    let http = format!(
        "http://127.0.0.1:{}",
        DelayLine::start(plain.port, one_way).port
    );

    let path = ("PATH".to_owned(), "/usr/bin:/bin".to_owned());
    let aws_env = |endpoint: &str| -> Vec<(String, String)> {
        let mut command = Command::new("x");
        common::clean_aws_env(&mut command, endpoint);
        let mut env: Vec<(String, String)> = command
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned())))
            .collect();
        env.push(("SSL_CERT_FILE".into(), trust.display().to_string()));
        env
    };
    let references = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("P{i:04}"), format!("SECRET /bench/p{i:04}")))
            .collect()
    };
    let row = |name: String, argv: Vec<String>, env: Vec<(String, String)>, counted| Row {
        name,
        argv,
        env,
        check: None,
        dir: None,
        counted,
        runs: Vec::with_capacity(runs),
        calls: 0,
        handshakes: 0,
    };
    let psc_exec = |name: String, endpoint: &str, n: usize, flags: &[&str], counted| {
        let mut env = aws_env(endpoint);
        env.extend(references(n));
        let mut argv = vec![binary.clone()];
        argv.extend(flags.iter().map(|f| (*f).to_owned()));
        argv.push("--".into());
        let mut checked = argv.clone();
        argv.push("true".into());
        checked.extend(checking_child(n));
        let mut row = row(name, argv, env.clone(), counted);
        row.check = Some((checked, env));
        row
    };
    let curl = |name: String, endpoint: &str, counted| {
        let names: Vec<String> = (0..10).map(|i| format!("\"/bench/p{i:04}\"")).collect();
        let body = format!(r#"{{"Names":[{}],"WithDecryption":true}}"#, names.join(","));
        let argv: Vec<String> = [
            // The test root alone: the floor is the network and the
            // server, not OpenSSL parsing the system's bundle.
            "curl", "-sS", "-o", "/dev/null", "--fail", "--cacert",
            &ca.root.display().to_string(), "-X", "POST",
            "-H", "Content-Type: application/x-amz-json-1.1",
            "-H", "X-Amz-Target: AmazonSSM.GetParameters",
            "-H", "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0",
            "--data", &body, endpoint,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        row(name, argv, vec![path.clone()], counted)
    };

    // The launches without references are measured apart, below.
    let mut rows = vec![
        curl(
            "curl, one GetParameters over HTTPS (the floor)".into(),
            &https,
            Counted::At(&tls13),
        ),
        curl(
            "curl, one GetParameters over HTTP".into(),
            &http,
            Counted::At(&plain),
        ),
    ];
    for n in [1, 10, 30, 100] {
        rows.push(psc_exec(
            format!("psc-exec, N={n}, HTTPS"),
            &https,
            n,
            &[],
            Counted::At(&tls13),
        ));
    }
    for n in [1, 10, 30, 100] {
        rows.push(psc_exec(
            format!("psc-exec, N={n}, HTTP"),
            &http,
            n,
            &[],
            Counted::At(&plain),
        ));
    }
    let small_flag = format!("--ca-bundle={}", small.display());
    rows.push(psc_exec(
        "psc-exec, N=10, HTTPS, --ca-bundle (5 AWS roots + test root)".into(),
        &https,
        10,
        &[&small_flag],
        Counted::At(&tls13),
    ));
    rows.push(psc_exec(
        "psc-exec, N=10, HTTPS, TLS 1.2 only endpoint".into(),
        &https12,
        10,
        &[],
        Counted::At(&tls12),
    ));
    rows.push(psc_exec(
        "psc-exec --init, N=100, HTTPS".into(),
        &https,
        100,
        &["--init"],
        Counted::At(&tls13),
    ));
    // Other builds side by side (PSC_EXEC_ALT="label=path,..."): the
    // figures behind the choice of TLS crypto in the README; and the
    // static release build.
    let mut alternatives: Vec<(String, String)> = std::env::var("PSC_EXEC_ALT")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(label, path)| (label.to_owned(), path.to_owned()))
        .collect();
    if let Some(path) = &static_binary {
        alternatives.push(("static release build".into(), path.clone()));
    }
    for (label, path) in &alternatives {
        for n in [10, 100] {
            let mut r = psc_exec(
                format!("psc-exec ({label}), N={n}, HTTPS"),
                &https,
                n,
                &[],
                Counted::At(&tls13),
            );
            r.argv[0].clone_from(path);
            if let Some((argv, _)) = &mut r.check {
                argv[0].clone_from(path);
            }
            rows.push(r);
        }
    }
    if let Some(fnox) = &fnox {
        for n in [1, 10, 30, 100] {
            let config = dir.path().join(format!("fnox-{n}"));
            std::fs::create_dir_all(&config).expect("fnox dir");
            let mut toml = String::from(
                "[providers]\nps = { type = \"aws-ps\", region = \"us-east-1\", prefix = \"/bench/\" }\n\n[secrets]\n",
            );
            for i in 0..n {
                toml.push_str(&format!(
                    "P{i:04} = {{ provider = \"ps\", value = \"p{i:04}\" }}\n"
                ));
            }
            std::fs::write(config.join("fnox.toml"), toml).expect("fnox.toml");
            let mut env = aws_env(&https);
            env.push(("HOME".into(), config.display().to_string()));
            env.push(("FNOX_NON_INTERACTIVE".into(), "true".into()));
            // Without its daemon: every launch resolves, as psc-exec's do.
            let fnox_exec = [
                fnox.clone(),
                "exec".into(),
                "--no-daemon".into(),
                "--".into(),
            ];
            let mut argv = fnox_exec.to_vec();
            argv.push("true".into());
            let mut checked = fnox_exec.to_vec();
            checked.extend(checking_child(n));
            let mut r = row(
                format!("fnox, N={n}, HTTPS"),
                argv,
                env.clone(),
                Counted::At(&tls13),
            );
            r.check = Some((checked, env));
            r.dir = Some(config);
            rows.push(r);
        }
    } else {
        eprintln!("fnox not found (FNOX_BIN or PATH): its rows are left out");
    }

    // Warm-up: each row once, checking the values where there are some.
    for r in &rows {
        let (argv, env) = r.check.clone().unwrap_or((r.argv.clone(), r.env.clone()));
        run(&runner, &argv, &env, r.dir.as_deref(), &r.name);
    }
    for _ in 0..runs {
        for r in &mut rows {
            let before = r.counted.now();
            let measured = run(&runner, &r.argv, &r.env, r.dir.as_deref(), &r.name);
            let after = r.counted.now();
            r.calls += after.0 - before.0;
            r.handshakes += after.1 - before.1;
            r.runs.push(measured);
        }
    }

    // No references, apart: a fraction of a millisecond takes many runs.
    let noref_runs = setting("BENCH_NOREF_RUNS", 300) as usize;
    let mut noref = vec![
        row(
            "true (no launcher)".into(),
            vec!["/bin/true".into()],
            vec![path.clone()],
            Counted::Nothing,
        ),
        row(
            "env true".into(),
            vec!["env".into(), "true".into()],
            vec![path.clone()],
            Counted::Nothing,
        ),
        row(
            "psc-exec -- true".into(),
            vec![binary.clone(), "--".into(), "true".into()],
            vec![path.clone()],
            Counted::Nothing,
        ),
    ];
    for (label, path_to) in &alternatives {
        noref.push(row(
            format!("psc-exec ({label}) -- true"),
            vec![path_to.clone(), "--".into(), "true".into()],
            vec![path.clone()],
            Counted::Nothing,
        ));
    }
    for _ in 0..noref_runs {
        for r in &mut noref {
            let measured = run(&runner, &r.argv, &r.env, None, &r.name);
            r.runs.push(measured);
        }
    }

    let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "psc-exec over HTTPS: {runs} runs per row, round-robin; binary {binary} ({:.2} MiB)",
        size as f64 / 1048576.0
    );
    println!(
        "model: {:.1} ms round trip ({:.1} ms each way, TCP handshake charged at connect), {:.0} ms server time per call; \
         floors: HTTPS 3 round trips + server = {:.1} ms, HTTP 2 round trips + server = {:.1} ms",
        ms(rtt),
        ms(one_way),
        ms(server),
        ms(3 * rtt + server),
        ms(2 * rtt + server)
    );
    println!(
        "{:<62} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10} {:>9}",
        "command", "median", "min", "max", "CPU", "calls", "handshakes", "peak RSS"
    );
    for r in &rows {
        let per_run = |count: usize| match r.counted {
            Counted::Nothing => "-".to_owned(),
            Counted::At(_) => {
                let per = count as f64 / runs as f64;
                if per.fract() == 0.0 {
                    format!("{per:.0}")
                } else {
                    format!("{per:.2}")
                }
            }
        };
        println!(
            "{:<62} {:>6.2}ms {:>6.2}ms {:>6.2}ms {:>6.2}ms {:>6} {:>10} {:>6.1}MiB",
            r.name,
            r.median(),
            r.wall(0),
            r.wall(usize::MAX),
            r.cpu(),
            per_run(r.calls),
            per_run(r.handshakes),
            r.runs.iter().map(|r| r.rss_kib).max().unwrap_or(0) as f64 / 1024.0
        );
    }
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    let curl = find("curl, one GetParameters over HTTPS (the floor)").expect("curl row");
    println!();
    println!(
        "calibration: curl over HTTPS {:.2} ms (floor {:.1} ms), over HTTP {:.2} ms (floor {:.1} ms)",
        curl.median(),
        ms(3 * rtt + server),
        find("curl, one GetParameters over HTTP").map_or(0.0, Row::median),
        ms(2 * rtt + server)
    );
    println!();
    println!("no references, {noref_runs} runs per row, round-robin (the runner, PATH only):");
    println!(
        "{:<62} {:>8} {:>8} {:>8} {:>8}",
        "command", "median", "min", "max", "CPU"
    );
    for r in &noref {
        println!(
            "{:<62} {:>6.2}ms {:>6.2}ms {:>6.2}ms {:>6.2}ms",
            r.name,
            r.median(),
            r.wall(0),
            r.wall(usize::MAX),
            r.cpu()
        );
    }
    let env_true = noref[1].median();
    for r in &noref[2..] {
        println!(
            "{} over env true: {:+.2} ms (target: at most +0.3 ms)",
            r.name,
            r.median() - env_true
        );
    }
    let mut builds = vec![(String::new(), binary.clone())];
    if let Some(path) = &static_binary {
        builds.push((" (static release build)".into(), path.clone()));
    }
    for (label, _) in &builds {
        let (Some(ten), Some(hundred)) = (
            find(&format!("psc-exec{label}, N=10, HTTPS")),
            find(&format!("psc-exec{label}, N=100, HTTPS")),
        ) else {
            continue;
        };
        println!(
            "psc-exec{label}: N=10 over HTTPS / one curl request: {:.2}x (target: at most 1.15x)",
            ten.median() / curl.median()
        );
        println!(
            "psc-exec{label}: CPU at N=10 over HTTPS: {:.2} ms (target: at most 5 ms)",
            ten.cpu()
        );
        println!(
            "psc-exec{label}: N=100 / N=10 over HTTPS: {:.2}x (target: at most 1.15x)",
            hundred.median() / ten.median()
        );
    }
    for n in [1, 10, 30, 100] {
        if let (Some(ours), Some(theirs)) = (
            find(&format!("psc-exec, N={n}, HTTPS")),
            find(&format!("fnox, N={n}, HTTPS")),
        ) {
            println!(
                "N={n} against fnox: {:.2}x (target: at most 0.8x)",
                ours.median() / theirs.median()
            );
        }
    }
}

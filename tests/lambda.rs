//! psc-exec as an AWS Lambda exec wrapper: with `AWS_LAMBDA_RUNTIME_API`
//! set, a fake runtime (a script standing in for the interpreter the
//! runtime names in argv[1]) gets its argv byte for byte, the resolved
//! environment and the same PID; `--init` is ignored with a warning; a
//! stalled endpoint fails within the init phase's 10 s on the Lambda
//! defaults (8 s, 2 s per attempt), and explicit settings still win.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use support::fault::{Action, FakeSsm};
use support::{Moto, cmd, contains, parse_env0, prefix, run};

const SENTINEL: &str = "SENTINEL-lambda-41c9";
const RUNTIME_API: &str = "127.0.0.1:9001";

/// A fake runtime: records its argv (NUL-separated), environment (`env -0`)
/// and PID in `dir`, then exits 7.
fn fake_runtime(dir: &std::path::Path) -> std::path::PathBuf {
    let script = dir.join("fake-runtime");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" >'{d}/argv'\nenv -0 >'{d}/env'\necho $$ >'{d}/pid'\nexit 7\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn the_runtime_gets_its_argv_byte_for_byte_the_secret_and_our_pid() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("lambda");
    moto.put(&format!("{p}/db_url"), SENTINEL);
    let dir = tempfile::tempdir().unwrap();
    let runtime = fake_runtime(dir.path());
    // What a managed runtime passes: the interpreter, then its own flags;
    // here with a space, an empty argument, a `--` and a non-UTF-8 byte.
    let argv: Vec<OsString> = vec![
        runtime.clone().into_os_string(),
        "--expose-gc".into(),
        "--max-http-header-size".into(),
        "81920".into(),
        "/var/runtime/index.mjs".into(),
        "two words".into(),
        "".into(),
        "--".into(),
        OsString::from_vec(b"caf\xe9".to_vec()),
    ];
    let mut command = cmd("psc-exec", &moto.endpoint());
    command
        .env("AWS_LAMBDA_RUNTIME_API", RUNTIME_API)
        .env("DB_URL", format!("SECRET {p}/db_url"))
        .env("PSC_EXEC_LOG", "trace")
        .arg("--init")
        .args(&argv)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn");
    let pid = child.id();
    let out = support::Run(child.wait_with_output().expect("wait"));
    out.assert_code(7);

    let recorded = std::fs::read(dir.path().join("argv")).unwrap();
    let mut expected = Vec::new();
    for arg in &argv {
        expected.extend_from_slice(arg.as_bytes());
        expected.push(0);
    }
    assert_eq!(recorded, expected, "{out}");
    let env = parse_env0(&std::fs::read(dir.path().join("env")).unwrap());
    assert_eq!(env.get(&OsString::from("DB_URL")), Some(&SENTINEL.into()));
    assert_eq!(
        env.get(&OsString::from("AWS_LAMBDA_RUNTIME_API")),
        Some(&RUNTIME_API.into())
    );
    // exec'd, not supervised: --init was ignored.
    let runtime_pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    assert_eq!(runtime_pid.trim(), pid.to_string(), "{out}");
    let warnings: Vec<_> = out
        .stderr()
        .lines()
        .filter(|l| l.starts_with("psc-exec: "))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        warnings,
        [
            "psc-exec: warning: --init is ignored in AWS Lambda (AWS_LAMBDA_RUNTIME_API is set): the runtime is exec'd"
        ],
        "{out}"
    );
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()), "{out}");
    assert!(!contains(&out.0.stdout, SENTINEL.as_bytes()), "{out}");
}

/// Run psc-exec against a stalling endpoint; returns the run, the time it
/// took and the number of calls.
fn stalled(lambda: bool, env: &[(&str, &str)]) -> (support::Run, Duration, usize) {
    let fake = FakeSsm::start(|_| Action::Stall);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let mut command = cmd("psc-exec", &fake.endpoint());
    command.env("DB_URL", "SECRET /app/db_url");
    if lambda {
        command.env("AWS_LAMBDA_RUNTIME_API", RUNTIME_API);
    }
    command.envs(env.iter().copied());
    command.arg("touch").arg(&marker);
    let started = Instant::now();
    let out = run(&mut command);
    let elapsed = started.elapsed();
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(!marker.exists(), "the runtime started\n{out}");
    (out, elapsed, fake.calls())
}

#[test]
fn a_stalled_endpoint_fails_within_the_init_phase() {
    let (out, elapsed, calls) = stalled(true, &[]);
    // Within the Lambda deadline (8 s), well inside the init phase's 10 s.
    // It may stop short of 8 s: a retry starts only when its pause and an
    // attempt still fit before the deadline. Three 2 s attempts at least.
    assert!(
        elapsed >= Duration::from_secs(6) && elapsed < Duration::from_millis(8800),
        "took {elapsed:?}\n{out}"
    );
    assert!(
        out.stderr()
            .starts_with("psc-exec: Parameter Store unavailable: "),
        "{out}"
    );
    // 2 s per attempt: at least three attempts fit in 8 s with the backoff
    // between them, at most four.
    assert!((3..=4).contains(&calls), "{calls} calls\n{out}");
}

#[test]
fn explicit_timeouts_win_over_the_lambda_defaults() {
    let (out, elapsed, calls) = stalled(
        true,
        &[
            ("PSC_EXEC_TIMEOUT", "1500ms"),
            ("PSC_EXEC_ATTEMPT_TIMEOUT", "1m"),
        ],
    );
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(3),
        "took {elapsed:?}\n{out}"
    );
    assert!(
        out.stderr().contains("deadline reached after 1 attempt "),
        "{out}"
    );
    assert_eq!(calls, 1, "{out}");
}

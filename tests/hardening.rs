//! What an adversarial pass found (issue 18), each shown by the real
//! binaries: values that could leak (a broken stderr, core dumps, memory of
//! the `--init` supervisor), a wrong value (`#key` numbers), failures blamed
//! on the wrong cause, and the environment handed over exactly.

mod support;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::fault::{Action, AwsStore, FakeSsm, aws_error};
use support::{Moto, cmd, contains, prefix, run};

fn devfull() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

/// A pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> std::os::fd::OwnedFd {
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    writer
}

#[test]
fn a_broken_stderr_drops_warnings_and_the_launch_goes_on() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("broken-stderr");
    moto.put(&format!("{p}/a"), "SENTINEL-stderr-1");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    for stderr in [Stdio::from(devfull()), Stdio::from(closed_pipe())] {
        let _ = std::fs::remove_file(&marker);
        let status = cmd("psc-exec", &moto.endpoint())
            .env("A", format!("SECRET {p}/a"))
            .env("M", format!("SECRET {p}/missing"))
            .env("MY-VAR", "SECRET x")
            .env("PSC_EXEC_LOG", "trace")
            .env("MARKER", &marker)
            .args(["--on-missing", "unset", "--", "sh", "-c"])
            .arg(r#"[ "$A" = SENTINEL-stderr-1 ] && touch "$MARKER""#)
            .stderr(stderr)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "{status:?}");
        assert!(marker.exists(), "the child did not run");
    }
    // An error that cannot be written is still exit 125, never an abort.
    for stderr in [Stdio::from(devfull()), Stdio::from(closed_pipe())] {
        let status = cmd("psc-exec", &moto.endpoint())
            .env("M", format!("SECRET {p}/missing"))
            .args(["--", "true"])
            .stderr(stderr)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(125), "{status:?}");
    }
    // --check, psc get and psc decrypt-env alike.
    let status = cmd("psc-exec", &moto.endpoint())
        .env("M", format!("SECRET {p}/missing"))
        .arg("--check")
        .stdout(Stdio::null())
        .stderr(devfull())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(125));
    let status = cmd("psc", &moto.endpoint())
        .args(["get", &format!("{p}/missing")])
        .stderr(devfull())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let out = cmd("psc", &moto.endpoint())
        .args(["-vvv", "get", &format!("{p}/a")])
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"SENTINEL-stderr-1");
    let status = cmd("psc", &moto.endpoint())
        .env("A", format!("SECRET {p}/a"))
        .arg("decrypt-env")
        .stdout(Stdio::null())
        .stderr(devfull())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The uid that owns `/proc/<pid>`'s files: root's for an undumpable
/// process, whatever user it runs as.
fn proc_owner(pid: u32) -> u32 {
    std::fs::metadata(format!("/proc/{pid}/mem")).unwrap().uid()
}

/// Wait (bounded) until `done` holds; a condition, not a pause.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn processes_holding_values_are_undumpable_and_their_commands_are_not() {
    // Tells an undumpable process by /proc ownership: needs root to run
    // psc-exec as another user.
    if !support::root() {
        return;
    }
    let stalled = FakeSsm::start(|_| Action::Stall);
    for (program, args) in [
        ("psc-exec", vec!["--", "true"]),
        ("psc", vec!["get", "/app/db_url"]),
    ] {
        let mut child = cmd(program, &stalled.endpoint())
            .env("A", "SECRET /app/db_url")
            .args(&args)
            .uid(65534)
            .gid(65534)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let before = stalled.calls();
        wait_for("the call", || stalled.calls() > before);
        assert_eq!(proc_owner(child.id()), 0, "{program} is dumpable");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // The command exec'd by psc-exec is dumpable again (PR_GET_DUMPABLE = 3).
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("dumpable");
    moto.put(&format!("{p}/a"), "x");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET {p}/a"))
        .args(["--", "python3", "-c"])
        .arg("import ctypes; print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"));
    out.assert_code(0);
    assert_eq!(out.stdout(), "1\n");
}

#[test]
fn the_init_supervisor_keeps_no_value_once_the_child_started() {
    require_moto!();
    if !support::root() {
        return;
    }
    let moto = Moto::shared();
    let p = prefix("init-memory");
    moto.put(&format!("{p}/plain"), "SENTINEL-mem-plain-4e1f");
    // The child gets one key; the other never leaves the response body.
    moto.put(
        &format!("{p}/json"),
        r#"{"user":"SENTINEL-mem-user-9a2c","password":"SENTINEL-mem-unsent-77d0"}"#,
    );
    let mut child = cmd("psc-exec", &moto.endpoint())
        .env("PLAIN", format!("SECRET {p}/plain"))
        .env("USER_NAME", format!("SECRET {p}/json#user"))
        .env("PSC_EXEC_LOG", "trace")
        .args(["--init", "--", "sh", "-c"])
        // The values are not in psc-exec's own arguments: the child prints one.
        .arg(r#"printf '%s\n' "$PLAIN"; read line"#)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready, "SENTINEL-mem-plain-4e1f\n");
    let memory = support::memory_of(child.id());
    assert!(memory.len() > 100_000, "read {} bytes", memory.len());
    for sentinel in [
        "SENTINEL-mem-plain-4e1f",
        "SENTINEL-mem-user-9a2c",
        "SENTINEL-mem-unsent-77d0",
    ] {
        assert!(
            !contains(&memory, sentinel.as_bytes()),
            "{sentinel} is in the supervisor's memory"
        );
    }
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!contains(&out.stderr, b"SENTINEL"));
}

#[test]
fn key_numbers_reach_the_child_as_stored() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("numbers");
    moto.put(
        &format!("{p}/n"),
        r#"{"big":12345678901234567890123,"exp":1e3,"dec":1.50,"huge":1e400,"obj":{"a": 1.0, "b":[2.50]}}"#,
    );
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("BIG", format!("SECRET {p}/n#big"))
        .env("EXP", format!("SECRET {p}/n#exp"))
        .env("DEC", format!("SECRET {p}/n#dec"))
        .env("HUGE", format!("SECRET {p}/n#huge"))
        .env("OBJ", format!("SECRET {p}/n#obj"))
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    for (name, value) in [
        ("BIG", "12345678901234567890123"),
        ("EXP", "1e3"),
        ("DEC", "1.50"),
        ("HUGE", "1e400"),
        ("OBJ", r#"{"a":1.0,"b":[2.50]}"#),
    ] {
        assert_eq!(env[&OsString::from(name)], OsString::from(value), "{name}");
    }
}

#[test]
fn an_endpoint_that_is_not_a_url_is_a_configuration_error_at_once() {
    for variable in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM"] {
        let started = Instant::now();
        let out = run(cmd("psc-exec", "http://127.0.0.1:9")
            .env(variable, "not a url")
            .env("A", "SECRET /a")
            .args(["--", "true"]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        assert!(out.stderr().contains(variable), "{out}");
        assert!(started.elapsed() < Duration::from_secs(5), "{out}");
    }
}

#[test]
fn zero_and_absurd_durations_are_usage_errors() {
    let tripwire = support::Tripwire::new();
    for args in [
        ["--attempt-timeout", "0s"],
        ["--timeout", "0s"],
        ["--timeout", "584542046090y"],
        ["--splay", "1000d"],
    ] {
        let out = run(cmd("psc-exec", &tripwire.endpoint())
            .env("A", "SECRET /a")
            .args(args)
            .args(["--", "true"]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        assert!(out.stderr().contains(args[0]), "{out}");
    }
    tripwire.assert_untouched();
}

#[test]
fn an_environment_too_large_to_exec_is_refused_before_exec() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("too-large");
    let big = "x".repeat(60 * 1024);
    let mut vars = Vec::new();
    for i in 0..40 {
        moto.put(&format!("{p}/v{i:02}"), &big);
        vars.push((format!("V{i:02}"), format!("SECRET {p}/v{i:02}")));
    }
    let out = run(cmd("psc-exec", &moto.endpoint())
        .envs(vars.clone())
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("ARG_MAX"), "{out}");
    assert!(out.stderr().contains("largest: V00 (60.0 KiB)"), "{out}");
    let check = run(cmd("psc-exec", &moto.endpoint())
        .envs(vars)
        .args(["--check", "--", "true"]));
    check.assert_code(125);
    assert!(check.stderr().contains("ARG_MAX"), "{check}");
    // One value over Linux's 128 KiB per string.
    moto.put(&format!("{p}/huge"), &"y".repeat(130 * 1024));
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("HUGE", format!("SECRET {p}/huge"))
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("128 KiB per variable"), "{out}");
    assert!(out.stderr().contains("HUGE (130.0 KiB)"), "{out}");
}

#[test]
fn arn_references_need_no_configured_region() {
    let mut store = AwsStore::new();
    store.put("/app/db_url", "SENTINEL-arn-region");
    let fake = FakeSsm::start(move |call| store.answer(&call.names));
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env_remove("AWS_REGION")
        .env(
            "DB",
            "SECRET arn:aws:ssm:us-east-1:111122223333:parameter/app/db_url",
        )
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    assert_eq!(
        out.env0()[&OsString::from("DB")],
        OsString::from("SENTINEL-arn-region")
    );
    assert_eq!(fake.recorded()[0].region, "us-east-1");
    // A name beside the ARN still needs one.
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env_remove("AWS_REGION")
        .env(
            "DB",
            "SECRET arn:aws:ssm:us-east-1:111122223333:parameter/app/db_url",
        )
        .env("OTHER", "SECRET /app/db_url")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("no AWS region"), "{out}");
    // An empty level in an ARN is refused before any call.
    let tripwire = support::Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env(
            "DB",
            "SECRET arn:aws:ssm:us-east-1:111122223333:parameter//x",
        )
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("DB"), "{out}");
    tripwire.assert_untouched();
}

#[test]
fn a_launch_names_the_one_denied_parameter() {
    let mut store = AwsStore::new();
    for i in 0..7 {
        store.put(&format!("/app/p{i}"), "v");
    }
    let fake = FakeSsm::start(move |call| {
        if call.names.iter().any(|n| n == "/app/p3") {
            aws_error(
                400,
                "AccessDeniedException",
                "User: arn:aws:sts::111122223333:assumed-role/app is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:111122223333:parameter/app/p3",
            )
        } else {
            store.answer(&call.names)
        }
    });
    let mut command = cmd("psc-exec", &fake.endpoint());
    for i in 0..7 {
        command.env(format!("P{i}"), format!("SECRET /app/p{i}"));
    }
    let out = run(command.args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    let line = out.stderr();
    assert!(
        line.starts_with("psc-exec: access denied to ssm:GetParameters for /app/p3 ("),
        "{out}"
    );
    for i in [0, 1, 2, 4, 5, 6] {
        assert!(!line.contains(&format!("for /app/p{i}")), "{out}");
        assert!(!line.contains(&format!("/app/p{i},")), "{out}");
    }
}

#[test]
fn messages_say_what_a_person_needs() {
    // A stalled endpoint: timed out, durations a person reads.
    let stalled = FakeSsm::start(|_| Action::Stall);
    let out = run(cmd("psc-exec", &stalled.endpoint())
        .env("A", "SECRET /a")
        .args([
            "--timeout",
            "2s",
            "--attempt-timeout",
            "900ms",
            "--",
            "true",
        ]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    let line = out.stderr();
    // The last attempt may be cut short by the deadline: some ms under 900.
    let within = line
        .split("timed out: no answer within ")
        .nth(1)
        .unwrap_or_default();
    let digits: String = within.chars().take_while(char::is_ascii_digit).collect();
    assert!(
        within.starts_with(&format!("{digits}ms;"))
            && digits.parse::<u32>().is_ok_and(|ms| ms <= 900),
        "{out}"
    );
    let nanos = line.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        w.starts_with(|c: char| c.is_ascii_digit()) && (w.ends_with("ns") || w.ends_with("us"))
    });
    assert!(!nanos, "{out}");

    // clap's missing argument is named.
    let out = run(cmd("psc-exec", &stalled.endpoint()).args(["--format", "json", "--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("--check"), "{out}");

    // A script whose interpreter is missing.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script");
    std::fs::write(&script, "#!/nonexistent/interpreter -x\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(cmd("psc-exec", &stalled.endpoint()).arg(&script));
    out.assert_code(127).assert_one_line_error("psc-exec");
    assert!(
        out.stderr()
            .contains("its interpreter /nonexistent/interpreter was not found"),
        "{out}"
    );

    // A 403 that is not an AWS error: its status, not "UnknownError".
    let html = FakeSsm::start(|_| Action::Respond {
        status: 403,
        body: "<html><body>Forbidden by proxy</body></html>".into(),
    });
    let out = run(cmd("psc-exec", &html.endpoint())
        .env("A", "SECRET /a")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("HTTP 403"), "{out}");
    assert!(!out.stderr().contains("UnknownError"), "{out}");
    assert!(!out.stderr().contains("Forbidden by proxy"), "{out}");
    assert_eq!(html.calls(), 1, "not retried");

    // Control bytes from a service message and a variable name are escaped.
    let evil = FakeSsm::start(|_| aws_error(400, "AccessDeniedException", "no\u{1b}[2J\u{7}way"));
    let out = run(cmd("psc-exec", &evil.endpoint())
        .env("A", "SECRET /a")
        .env("EVIL\u{1b}[31m-X", "SECRET /b")
        .args(["--", "true"]));
    out.assert_code(125);
    let stderr = out.stderr();
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{out}"
    );
    assert!(stderr.contains("no\\u{1b}[2J\\u{7}way"), "{out}");
    assert!(stderr.contains("EVIL\\u{1b}[31m-X"), "{out}");
}

#[test]
fn near_misses_get_a_warning_naming_them() {
    let tripwire = support::Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env("NBSP", "SECRET\u{a0}/x")
        .env("ZWSP", "SECRET\u{200b}/x")
        .env("LOWER", "secret /x")
        .env("COLON", "SECRET:/x")
        .env("FINE", "SECRETARY")
        .args(["--", "true"]));
    out.assert_code(0);
    let stderr = out.stderr();
    for name in ["NBSP", "ZWSP", "LOWER", "COLON"] {
        assert!(
            stderr.lines().any(
                |l| l.starts_with(&format!("psc-exec: warning: {name} looks like a reference"))
            ),
            "{name}\n{out}"
        );
    }
    assert!(!stderr.contains("FINE"), "{out}");
    assert_eq!(stderr.lines().count(), 4, "{out}");
    tripwire.assert_untouched();
}

/// Start `program` with exactly `entries` as its environment (entries
/// without `=` included, which `Command` cannot make).
fn exec_with_raw_env(program: &std::path::Path, args: &[&str], entries: &[&[u8]]) -> support::Run {
    let cstrings: Vec<std::ffi::CString> = entries
        .iter()
        .map(|e| std::ffi::CString::new(e.to_vec()).unwrap())
        .collect();
    let program_c = std::ffi::CString::new(program.as_os_str().to_owned().into_vec()).unwrap();
    let argv_c: Vec<std::ffi::CString> = std::iter::once(program_c.clone())
        .chain(args.iter().map(|a| std::ffi::CString::new(*a).unwrap()))
        .collect();
    struct Raw(Vec<*const std::ffi::c_char>, Vec<*const std::ffi::c_char>);
    // SAFETY: read only in the forked child.
    unsafe impl Send for Raw {}
    // SAFETY: as above.
    unsafe impl Sync for Raw {}
    let raw = Raw(
        cstrings
            .iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect(),
        argv_c
            .iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect(),
    );
    let mut command = Command::new(program);
    // SAFETY: execve on memory prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            let raw = &raw;
            nix::libc::execve(raw.1[0], raw.1.as_ptr(), raw.0.as_ptr());
            Err(std::io::Error::last_os_error())
        });
    }
    let out = support::run(command.stdin(Stdio::null()));
    drop((cstrings, argv_c, program_c));
    out
}

#[test]
fn the_child_gets_the_environment_in_order_with_every_entry() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("order");
    moto.put(&format!("{p}/s"), "resolved");
    let endpoint = format!("AWS_ENDPOINT_URL={}", moto.endpoint());
    let reference = format!("MIDDLE=SECRET {p}/s");
    let entries: Vec<&[u8]> = vec![
        b"ZED=last-letter",
        b"JUNK_WITHOUT_EQUALS",
        reference.as_bytes(),
        b"ALPHA=1",
        b"ALPHA=2",
        b"PATH=/usr/local/bin:/usr/bin:/bin",
        endpoint.as_bytes(),
        b"AWS_ACCESS_KEY_ID=test",
        b"AWS_SECRET_ACCESS_KEY=test",
        b"AWS_REGION=us-east-1",
        b"AWS_EC2_METADATA_DISABLED=true",
    ];
    let out = exec_with_raw_env(
        &support::bin("psc-exec"),
        &["--", "/usr/bin/env", "-0"],
        &entries,
    );
    out.assert_code(0);
    let got: Vec<&[u8]> = out
        .0
        .stdout
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .collect();
    let mut expected = entries.clone();
    expected[2] = b"MIDDLE=resolved";
    assert_eq!(
        got.iter()
            .map(|e| String::from_utf8_lossy(e))
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|e| String::from_utf8_lossy(e))
            .collect::<Vec<_>>()
    );
    // Without references too (the zero-cost path).
    let plain: Vec<&[u8]> = vec![b"B=1", b"BARE", b"A=2", b"B=3"];
    let out = exec_with_raw_env(
        &support::bin("psc-exec"),
        &["--", "/usr/bin/env", "-0"],
        &plain,
    );
    out.assert_code(0);
    let got: Vec<&[u8]> = out
        .0
        .stdout
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .collect();
    assert_eq!(got, plain);
}

#[test]
fn a_response_body_over_the_cap_is_refused_not_retried() {
    let huge = format!(
        r#"{{"Parameters":[{{"Name":"/a","Type":"SecureString","Value":"{}","Version":1}}],"InvalidParameters":[]}}"#,
        "z".repeat(5 * 1024 * 1024)
    );
    let fake = FakeSsm::start(move |_| Action::Respond {
        status: 200,
        body: huge.clone(),
    });
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("A", "SECRET /a")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("larger than 4 MiB"), "{out}");
    assert_eq!(fake.calls(), 1, "{out}");
}

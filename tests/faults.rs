//! Faults moto cannot produce, from the scriptable endpoint in
//! tests/support/fault.rs: each either succeeds after retries with an exact
//! call count, or fails with exit 125 within the deadline (+10%), naming the
//! cause, without ever starting the child.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::fault::{Action, AwsStore, FakeSsm, TokenBucket, aws_error, server_error, throttled};
use support::{cmd, contains, run};

const SENTINEL: &str = "SENTINEL-fault-7b7b";

fn store() -> AwsStore {
    let mut store = AwsStore::new();
    store.put("/app/db_url", SENTINEL).put("/app/user", "admin");
    store
}

/// An endpoint that does `faults[i]` for call i, then answers like AWS.
fn scripted(faults: Vec<Action>) -> FakeSsm {
    let store = store();
    FakeSsm::start(move |call| {
        faults
            .get(call.index)
            .cloned()
            .unwrap_or_else(|| store.answer(&call.names))
    })
}

/// Launch with two references; the child proves what it got in its exit code.
fn launch(fake: &FakeSsm, args: &[&str]) -> (support::Run, Duration, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("child-ran");
    let started = Instant::now();
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("DB_URL", "SECRET /app/db_url")
        .env("DB_USER", "SECRET /app/user")
        .env("PSC_EXEC_LOG", "trace")
        .env("MARKER", &marker)
        .args(args)
        .args(["--", "sh", "-c"])
        .arg(format!(
            r#"touch "$MARKER"; [ "$DB_URL" = "{SENTINEL}" ] && [ "$DB_USER" = admin ]"#
        )));
    let elapsed = started.elapsed();
    assert!(!contains(&out.0.stdout, SENTINEL.as_bytes()), "{out}");
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()), "{out}");
    (out, elapsed, dir)
}

#[track_caller]
fn assert_succeeded(fake: &FakeSsm, args: &[&str], calls: usize) {
    let (out, _, dir) = launch(fake, args);
    out.assert_code(0);
    assert!(dir.path().join("child-ran").exists());
    assert_eq!(fake.calls(), calls, "{out}");
}

/// Exit 125, child never started, within the deadline + 10%; returns the
/// error line (the last line of stderr: the rest is trace logging).
#[track_caller]
fn assert_failed(fake: &FakeSsm, args: &[&str], deadline: Duration) -> String {
    let (out, elapsed, dir) = launch(fake, args);
    out.assert_code(125);
    assert!(
        !dir.path().join("child-ran").exists(),
        "the child started\n{out}"
    );
    assert!(elapsed <= deadline.mul_f64(1.1), "took {elapsed:?}\n{out}");
    let line = out.stderr().lines().last().unwrap_or_default().to_owned();
    assert!(line.starts_with("psc-exec: "), "{out}");
    line
}

#[test]
fn throttling_is_retried_until_it_passes() {
    let fake = scripted(vec![
        throttled(),
        throttled(),
        aws_error(400, "TooManyRequestsException", "slow down"),
    ]);
    assert_succeeded(&fake, &[], 4);
    let fake = scripted(vec![Action::Respond {
        status: 429,
        body: String::new(),
    }]);
    assert_succeeded(&fake, &[], 2);
}

#[test]
fn throttling_gives_up_after_max_attempts() {
    let fake = FakeSsm::start(|_| throttled());
    let line = assert_failed(&fake, &["--max-attempts", "3"], Duration::from_secs(60));
    assert_eq!(fake.calls(), 3);
    assert!(
        line.starts_with("psc-exec: throttled: gave up after 3 attempts over "),
        "{line}"
    );
    assert!(line.contains("/app/db_url"), "{line}");
    // The environment variable does the same.
    let fake = FakeSsm::start(|_| throttled());
    let (out, _, _) = {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let out = run(cmd("psc-exec", &fake.endpoint())
            .env("DB_URL", "SECRET /app/db_url")
            .env("PSC_EXEC_MAX_ATTEMPTS", "2")
            .args(["--", "true"]));
        (out, started.elapsed(), dir)
    };
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(fake.calls(), 2);
}

#[test]
fn throttling_until_the_deadline_fails_within_it() {
    let fake = FakeSsm::start(|_| throttled());
    let line = assert_failed(
        &fake,
        &["--timeout", "4s", "--max-attempts", "1000"],
        Duration::from_secs(4),
    );
    assert!(
        line.starts_with("psc-exec: throttled: deadline reached after "),
        "{line}"
    );
    // Pauses after throttling: 0.5-1 s, then 1-2 s: a third call by 3 s.
    assert!(fake.calls() >= 3, "retried: {}", fake.calls());
}

#[test]
fn server_errors_are_retried() {
    let fake = scripted(vec![
        server_error(),
        aws_error(503, "ServiceUnavailable", "busy"),
    ]);
    assert_succeeded(&fake, &[], 3);
    let fake = FakeSsm::start(|_| server_error());
    let line = assert_failed(&fake, &["--max-attempts", "4"], Duration::from_secs(60));
    assert_eq!(fake.calls(), 4);
    assert!(
        line.starts_with("psc-exec: Parameter Store unavailable: gave up after 4 attempts"),
        "{line}"
    );
}

/// A fraction of 500s (every other call) costs retries, never a failure.
#[test]
fn a_fraction_of_server_errors_costs_only_retries() {
    let store = store();
    let fake = FakeSsm::start(move |call| {
        if call.index % 2 == 0 {
            server_error()
        } else {
            store.answer(&call.names)
        }
    });
    for run_index in 0..3 {
        let (out, _, _) = launch(&fake, &[]);
        out.assert_code(0);
        assert_eq!(fake.calls(), 2 * (run_index + 1));
    }
}

#[test]
fn a_slow_answer_within_the_attempt_timeout_is_waited_for() {
    let store = store();
    let fake = FakeSsm::start(move |call| {
        Action::Delay(
            Duration::from_millis(300),
            Box::new(store.answer(&call.names)),
        )
    });
    assert_succeeded(&fake, &["--attempt-timeout", "5s"], 1);
}

#[test]
fn calls_run_concurrently_on_as_few_connections_as_their_rounds_need() {
    // Every answer takes a second, so the calls sent together are seen in
    // flight together. Up to 10 run at once (100 references in one round);
    // 11 calls take two rounds either way, so they go 6 at a time, on 6
    // connections, not 10.
    for (n, calls, width) in [(10, 1, 1), (100, 10, 10), (110, 11, 6)] {
        let mut store = AwsStore::new();
        for i in 0..n {
            store.put(&format!("/c/p{i:03}"), &format!("v{i}"));
        }
        let fake = FakeSsm::start(move |call| {
            Action::Delay(Duration::from_secs(1), Box::new(store.answer(&call.names)))
        });
        let mut command = cmd("psc-exec", &fake.endpoint());
        for i in 0..n {
            command.env(format!("P{i:03}"), format!("SECRET /c/p{i:03}"));
        }
        let last = n - 1;
        run(command.args([
            "--",
            "sh",
            "-c",
            &format!("test \"$P000\" = v0 && test \"$P{last:03}\" = v{last}"),
        ]))
        .assert_code(0);
        assert_eq!(fake.calls(), calls, "N={n}");
        assert_eq!(fake.most_in_flight(), width, "N={n}");
        assert_eq!(fake.connections(), width, "N={n}");
    }
}

#[test]
fn a_stalled_connection_is_abandoned_and_retried() {
    let fake = scripted(vec![Action::Stall]);
    assert_succeeded(&fake, &["--attempt-timeout", "300ms"], 2);
    let fake = scripted(vec![Action::Delay(
        Duration::from_secs(30),
        Box::new(server_error()),
    )]);
    assert_succeeded(&fake, &["--attempt-timeout", "300ms"], 2);
}

#[test]
fn a_body_that_stalls_after_the_headers_is_abandoned_and_retried() {
    // The per-attempt timeout covers the body, not only the headers: an
    // answer that stops half-way is abandoned and retried.
    let store = store();
    let fake = FakeSsm::start(move |call| {
        let answer = store.answer(&call.names);
        match answer {
            Action::Respond { status, body } if call.index == 0 => Action::StallBody {
                status,
                sent: body.len() / 2,
                body,
            },
            answer => answer,
        }
    });
    assert_succeeded(
        &fake,
        &["--attempt-timeout", "300ms", "--timeout", "10s"],
        2,
    );
}

#[test]
fn stalls_until_the_deadline_fail_within_it() {
    let fake = FakeSsm::start(|_| Action::Stall);
    let line = assert_failed(
        &fake,
        &["--timeout", "2s", "--attempt-timeout", "500ms"],
        Duration::from_secs(2),
    );
    assert!(
        line.starts_with("psc-exec: Parameter Store unavailable: "),
        "{line}"
    );
    assert!(line.contains("no answer within"), "{line}");
    // One stalled call may take the whole deadline when no attempt timeout is shorter.
    let fake = FakeSsm::start(|_| Action::Stall);
    let line = assert_failed(
        &fake,
        &["--timeout", "1500ms", "--attempt-timeout", "1m"],
        Duration::from_millis(1500),
    );
    assert!(line.contains("deadline reached after 1 attempt "), "{line}");
    assert_eq!(fake.calls(), 1);
}

#[test]
fn a_reset_connection_is_retried() {
    let fake = scripted(vec![Action::Reset]);
    assert_succeeded(&fake, &[], 2);
    let fake = FakeSsm::start(|_| Action::Reset);
    let line = assert_failed(&fake, &["--max-attempts", "3"], Duration::from_secs(60));
    assert!(
        line.starts_with("psc-exec: Parameter Store unavailable: gave up after 3 attempts"),
        "{line}"
    );
    assert_eq!(fake.calls(), 3);
}

#[test]
fn truncated_or_malformed_bodies_are_retried_then_reported() {
    let truncated = Action::Respond {
        status: 200,
        body: format!(r#"{{"Parameters":[{{"Name":"/app/db_url","Value":"{SENTINEL}"#),
    };
    let fake = scripted(vec![truncated.clone()]);
    assert_succeeded(&fake, &[], 2);
    let fake = FakeSsm::start(move |_| truncated.clone());
    let line = assert_failed(&fake, &["--max-attempts", "2"], Duration::from_secs(60));
    assert!(
        line.contains("malformed response from Parameter Store"),
        "{line}"
    );
    assert_eq!(fake.calls(), 2);
    let garbage = Action::Respond {
        status: 200,
        body: "<html>proxy error</html>".into(),
    };
    let fake = FakeSsm::start(move |_| garbage.clone());
    let line = assert_failed(&fake, &["--max-attempts", "2"], Duration::from_secs(60));
    assert!(line.contains("malformed response"), "{line}");
}

/// A response that parses but is not a complete answer is not retried: it
/// would not get better. Nothing half-done: the child never starts.
#[test]
fn well_formed_responses_missing_fields_fail_at_once() {
    for (body, says) in [
        (
            r#"{"Parameters":[{"Name":"/app/db_url","Type":"SecureString","Version":1},{"Name":"/app/user","Value":"admin"}]}"#,
            "/app/db_url came back without a value",
        ),
        (
            r#"{"Parameters":[{"Name":"/app/user","Value":"admin"}]}"#,
            "/app/db_url is neither in Parameters nor in InvalidParameters",
        ),
        (
            r#"{"Parameters":[{"Value":"x"}]}"#,
            "a parameter without a name",
        ),
        (r#"{}"#, "neither in Parameters nor in InvalidParameters"),
    ] {
        let fake = FakeSsm::start(move |_| Action::Respond {
            status: 200,
            body: body.to_owned(),
        });
        let line = assert_failed(&fake, &[], Duration::from_secs(60));
        assert!(
            line.contains("malformed response from Parameter Store"),
            "{line}"
        );
        assert!(line.contains(says), "{line}");
        assert_eq!(fake.calls(), 1);
    }
}

#[test]
fn access_denied_fails_at_once_naming_the_parameters() {
    let fake = FakeSsm::start(|_| {
        aws_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::111122223333:assumed-role/app/i-0 is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:111122223333:parameter/app/db_url because no identity-based policy allows the ssm:GetParameters action",
        )
    });
    let line = assert_failed(&fake, &[], Duration::from_secs(60));
    assert!(
        line.starts_with("psc-exec: access denied to ssm:GetParameters for "),
        "{line}"
    );
    assert!(
        line.contains("/app/db_url") && line.contains("/app/user"),
        "{line}"
    );
    assert_eq!(
        fake.calls(),
        3,
        "the call, then each name alone to name the denied"
    );
}

#[test]
fn kms_errors_fail_at_once() {
    for code in ["InvalidKeyId", "KMSAccessDeniedException"] {
        let fake = FakeSsm::start(move |_| aws_error(400, code, "The key is not accessible"));
        let line = assert_failed(&fake, &[], Duration::from_secs(60));
        assert!(
            line.starts_with("psc-exec: KMS key not accessible for "),
            "{line}"
        );
        assert!(
            line.contains("/app/db_url") && line.contains("/app/user"),
            "{line}"
        );
        assert_eq!(fake.calls(), 3, "the call, then each name alone");
    }
}

#[test]
fn validation_errors_fail_at_once() {
    let fake =
        FakeSsm::start(|_| aws_error(400, "ValidationException", "1 validation error detected"));
    let line = assert_failed(&fake, &[], Duration::from_secs(60));
    assert!(
        line.starts_with("psc-exec: ValidationException from ssm:GetParameters for "),
        "{line}"
    );
    assert_eq!(fake.calls(), 1);
}

/// A token bucket at 5 calls/s: 12 references in 2 calls, 6 launches at
/// once; all start with the right values.
#[test]
fn a_token_bucket_throttle_is_absorbed() {
    let mut store = AwsStore::new();
    for i in 0..12 {
        store.put(&format!("/tb/p{i}"), &format!("v{i}"));
    }
    let bucket = Arc::new(TokenBucket::new(5.0, 2.0));
    let fake = FakeSsm::start(move |call| {
        if bucket.take() {
            store.answer(&call.names)
        } else {
            throttled()
        }
    });
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut command = cmd("psc-exec", &fake.endpoint());
            for i in 0..12 {
                command.env(format!("P{i}"), format!("SECRET /tb/p{i}"));
            }
            command.args(["--", "sh", "-c", r#"[ "$P0" = v0 ] && [ "$P11" = v11 ]"#]);
            command.spawn().unwrap()
        })
        .collect();
    for mut child in children {
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
    let ok_calls = 6 * 2;
    assert!(
        fake.calls() > ok_calls,
        "some calls were throttled: {}",
        fake.calls()
    );
}

/// --splay waits before the first call; with 0 it does not.
#[test]
fn splay_is_accepted_and_bounded() {
    let fake = scripted(vec![]);
    assert_succeeded(&fake, &["--splay", "200ms"], 1);
    let (out, _, _) = {
        let dir = tempfile::tempdir().unwrap();
        let out = run(cmd("psc-exec", &fake.endpoint()).args(["--splay", "soon", "--", "true"]));
        (out, (), dir)
    };
    out.assert_code(125).assert_one_line_error("psc-exec");
}

/// A response that gives another version than the selector asked for is
/// the wrong value: refused, never passed on.
#[test]
fn a_version_other_than_the_one_asked_for_is_refused() {
    let fake = FakeSsm::start(|_| Action::Respond {
        status: 200,
        body: format!(
            r#"{{"Parameters":[{{"Name":"/app/db_url","Type":"SecureString","Value":"{SENTINEL}","Version":5,"Selector":":3"}}],"InvalidParameters":[]}}"#
        ),
    });
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("child-ran");
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("DB_URL", "SECRET /app/db_url:3")
        .args(["-vvv", "--", "touch"])
        .arg(&marker));
    out.assert_code(125);
    assert!(!marker.exists());
    let line = out.stderr().lines().last().unwrap_or_default().to_owned();
    assert!(
        line.contains("/app/db_url:3 came back as version 5"),
        "{out}"
    );
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()), "{out}");
    assert_eq!(fake.calls(), 1);
}

/// No credentials anywhere: one line at once, not retried for the whole
/// deadline as if the network were down, and no call made.
#[test]
fn missing_credentials_fail_at_once() {
    let fake = scripted(vec![]);
    let started = Instant::now();
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("DB_URL", "SECRET /app/db_url")
        .args(["--timeout", "30s", "--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr()
            .starts_with("psc-exec: no usable AWS credentials: "),
        "{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "retried: {:?}",
        started.elapsed()
    );
    assert_eq!(fake.calls(), 0);
}

/// A value with a NUL byte cannot be passed to execve: exit 125 naming the
/// variable (not 126 blaming the command), and --check says so too.
#[test]
fn a_value_with_a_nul_byte_is_refused_by_launch_and_check() {
    let mut store = AwsStore::new();
    store
        .put("/app/nul", "ab\u{0}cd")
        .put("/app/json", r#"{"k":"x\u0000y"}"#);
    let fake = FakeSsm::start(move |call| store.answer(&call.names));
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("NUL", "SECRET /app/nul")
        .env("NUL_KEY", "SECRET /app/json#k")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(
        out.stderr(),
        "psc-exec: value contains a NUL byte (not possible in an environment variable): NUL -> /app/nul, NUL_KEY -> /app/json#k\n"
    );
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("NUL", "SECRET /app/nul")
        .args(["--check"]));
    out.assert_code(125);
    assert!(
        out.stdout().contains("bad value (contains a NUL byte)"),
        "{out}"
    );
}

//! Credentials AWS CLI users have: a profile's `credential_process`, and
//! IAM Identity Center (SSO) profiles in both forms (`sso_session` with an
//! `[sso-session]` section, and the legacy `sso_start_url`), for psc-exec
//! and psc, against moto and a local portal (`support::sso`). Failures
//! that need the user (an expired SSO session, a failing process, no
//! credentials at all) are one line saying what to do, at once, never
//! retried and never blamed on the network.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::sso::{ACCESS_KEY_ID, FakeSso, SsoCall, write_cached_token};
use support::{Moto, cmd, prefix, run};

const ACCOUNT: &str = "111122223333";
const ROLE: &str = "Reader";
const START_URL: &str = "https://d-0000000000.awsapps.com/start";
const VALID_TOKEN: &str = "valid-access-token";
/// Far enough in the future for the SDK to use the token as it is.
const LATER: &str = "2099-01-01T00:00:00Z";
const EARLIER: &str = "2020-01-01T00:00:00Z";

/// A home directory with `.aws/config` (and an empty credentials file).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(dir.path().join(".aws/config"), config).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), "").unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `program` (psc-exec or psc) with this home's profile `profile` and
    /// no credentials in the environment.
    fn command(&self, program: &str, endpoint: &str, profile: &str) -> Command {
        let mut command = cmd(program, endpoint);
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("HOME", self.path())
            .env("AWS_CONFIG_FILE", self.path().join(".aws/config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path().join(".aws/credentials"),
            )
            .env("AWS_PROFILE", profile);
        command
    }

    /// A credential_process script that counts its runs in `runs` and
    /// prints `body` (or fails with `stderr` and status 3 when `fail`).
    fn script(&self, fail: bool) -> (PathBuf, PathBuf) {
        let script = self.path().join("helper.sh");
        let runs = self.path().join("runs");
        let body = if fail {
            "echo 'helper: session expired, run helper login' >&2\nexit 3\n".to_owned()
        } else {
            "printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSTEST\", \
             \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-session\"}'\n"
                .to_owned()
        };
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho run >> '{}'\n{body}", runs.display()),
        )
        .unwrap();
        let mut permissions = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&script, permissions).unwrap();
        (script, runs)
    }
}

fn runs(file: &Path) -> usize {
    std::fs::read_to_string(file).map_or(0, |s| s.lines().count())
}

/// The access key id of every SSM request moto recorded.
fn signing_keys(moto: &Moto) -> Vec<String> {
    let body = support::http(moto.port, "GET", "/moto-api/recorder/download-recording");
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let authorization = v["headers"]["Authorization"].as_str()?;
            let scope = authorization.split("Credential=").nth(1)?;
            Some(scope.split('/').next()?.to_owned())
        })
        .collect()
}

fn legacy_sso_config(profile: &str) -> String {
    format!(
        "[profile {profile}]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n\
         sso_account_id = {ACCOUNT}\nsso_role_name = {ROLE}\nregion = us-east-1\n"
    )
}

fn session_sso_config(profile: &str, session: &str) -> String {
    format!(
        "[profile {profile}]\nsso_session = {session}\nsso_account_id = {ACCOUNT}\n\
         sso_role_name = {ROLE}\nregion = us-east-1\n\n\
         [sso-session {session}]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
    )
}

/// psc-exec and psc with `command`'s environment: psc-exec hands the value
/// to its child, psc get prints it.
fn launch_and_get(home: &Home, endpoint: &str, profile: &str, name: &str) -> [support::Run; 2] {
    let launched = run(home
        .command("psc-exec", endpoint, profile)
        .env("S", format!("SECRET {name}"))
        .args(["--", "sh", "-c", "printf %s \"$S\""]));
    let got = run(home.command("psc", endpoint, profile).args(["get", name]));
    [launched, got]
}

#[test]
fn credential_process_profiles_work() {
    require_moto!();
    let moto = Moto::start();
    let name = format!("{}/db", prefix("process"));
    moto.put(&name, "process-value");
    let home = Home::new("");
    let (script, runs_file) = home.script(false);
    std::fs::write(
        home.path().join(".aws/config"),
        format!(
            "[profile helper]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    )
    .unwrap();
    moto.start_recording();
    let [launched, got] = launch_and_get(&home, &moto.endpoint(), "helper", &name);
    launched.assert_code(0);
    assert_eq!(launched.stdout(), "process-value", "{launched}");
    assert_eq!(launched.stderr(), "", "{launched}");
    got.assert_code(0);
    assert_eq!(got.stdout(), "process-value", "{got}");
    assert_eq!(runs(&runs_file), 2, "one run per process");
    assert_eq!(
        signing_keys(&moto),
        ["AKIAPROCESSTEST", "AKIAPROCESSTEST"],
        "both calls signed with the process's credentials"
    );
}

#[test]
fn a_failing_credential_process_is_one_line_at_once() {
    let tripwire = support::Tripwire::new();
    let home = Home::new("");
    let (script, runs_file) = home.script(true);
    std::fs::write(
        home.path().join(".aws/config"),
        format!(
            "[profile helper]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    )
    .unwrap();
    let expected = "no usable AWS credentials: the credential_process of profile helper \
                    failed (run it yourself to see why): Error retrieving credentials: \
                    external process exited with code exit status: 3. \
                    Stderr: helper: session expired, run helper login";
    let started = Instant::now();
    let out = run(home
        .command("psc-exec", &tripwire.endpoint(), "helper")
        .env("S", "SECRET /app/db")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(out.stderr(), format!("psc-exec: {expected}\n"));
    assert_eq!(runs(&runs_file), 1, "never retried\n{out}");
    let out = run(home
        .command("psc", &tripwire.endpoint(), "helper")
        .args(["get", "/app/db"]));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(out.stderr(), format!("psc: {expected}\n"));
    assert_eq!(runs(&runs_file), 2, "never retried\n{out}");
    let out = run(home
        .command("psc", &tripwire.endpoint(), "helper")
        .args(["ls", "/app"]));
    out.assert_code(1);
    assert_eq!(out.stderr(), format!("psc: {expected}\n"));
    assert_eq!(runs(&runs_file), 3, "never retried\n{out}");
    assert!(started.elapsed() < Duration::from_secs(10), "at once");
    tripwire.assert_untouched();
}

#[test]
fn sso_profiles_work_in_both_forms() {
    require_moto!();
    let moto = Moto::start();
    let name = format!("{}/db", prefix("sso"));
    moto.put(&name, "sso-value");
    let portal = FakeSso::start(VALID_TOKEN);
    moto.start_recording();
    for (round, (config, identifier)) in [
        (session_sso_config("dev", "corp"), "corp"),
        (legacy_sso_config("dev"), START_URL),
    ]
    .into_iter()
    .enumerate()
    {
        let home = Home::new(&config);
        write_cached_token(home.path(), identifier, VALID_TOKEN, LATER);
        let before = portal.calls().len();
        let mut commands = [
            home.command("psc-exec", &moto.endpoint(), "dev"),
            home.command("psc", &moto.endpoint(), "dev"),
        ];
        for command in &mut commands {
            command.env("AWS_ENDPOINT_URL_SSO", portal.endpoint());
        }
        let [mut launch, mut get] = commands;
        let launched = run(launch.env("S", format!("SECRET {name}")).args([
            "--",
            "sh",
            "-c",
            "printf %s \"$S\"",
        ]));
        launched.assert_code(0);
        assert_eq!(launched.stdout(), "sso-value", "{identifier}: {launched}");
        assert_eq!(launched.stderr(), "", "{launched}");
        let got = run(get.args(["get", &name]));
        got.assert_code(0);
        assert_eq!(got.stdout(), "sso-value", "{identifier}: {got}");
        let expected = SsoCall {
            path: "/federation/credentials".into(),
            role_name: ROLE.into(),
            account_id: ACCOUNT.into(),
            token: VALID_TOKEN.into(),
        };
        assert_eq!(portal.calls()[before..], [expected.clone(), expected]);
        assert_eq!(
            signing_keys(&moto),
            vec![ACCESS_KEY_ID; 2 * (round + 1)],
            "every call signed with the portal's credentials"
        );
    }
}

#[test]
fn an_expired_sso_session_says_to_log_in_at_once() {
    let tripwire = support::Tripwire::new();
    let portal = FakeSso::start(VALID_TOKEN);
    let login = "no usable AWS credentials: the IAM Identity Center (SSO) session of \
                 profile dev has expired or was never started: run aws sso login --profile dev";
    // (form, what the cache holds, portal calls each run makes): an expired
    // token of an sso-session is refused by the SDK itself; the legacy form
    // sends whatever token it has, and the portal refuses it (401).
    let cases = [
        (
            session_sso_config("dev", "corp"),
            Some(("corp", VALID_TOKEN, EARLIER)),
            0,
        ),
        (session_sso_config("dev", "corp"), None, 0),
        (
            legacy_sso_config("dev"),
            Some((START_URL, "stale-token", EARLIER)),
            1,
        ),
        (legacy_sso_config("dev"), None, 0),
    ];
    for (config, cache, calls) in cases {
        let home = Home::new(&config);
        if let Some((identifier, token, expires)) = cache {
            write_cached_token(home.path(), identifier, token, expires);
        }
        for (program, code) in [("psc-exec", 125), ("psc", 1)] {
            let before = portal.calls().len();
            let started = Instant::now();
            let mut command = home.command(program, &tripwire.endpoint(), "dev");
            command.env("AWS_ENDPOINT_URL_SSO", portal.endpoint());
            let out = if program == "psc" {
                run(command.args(["get", "/app/db"]))
            } else {
                run(command.env("S", "SECRET /app/db").args(["--", "true"]))
            };
            out.assert_code(code).assert_one_line_error(program);
            assert_eq!(out.stderr(), format!("{program}: {login}\n"), "{cache:?}");
            assert_eq!(
                portal.calls().len() - before,
                calls,
                "{cache:?}: never retried"
            );
            assert!(started.elapsed() < Duration::from_secs(10), "at once");
        }
    }
    tripwire.assert_untouched();
}

#[test]
fn no_credentials_at_all_is_one_line_at_once() {
    let tripwire = support::Tripwire::new();
    let home = Home::new("");
    let expected = "no usable AWS credentials: no AWS credentials found (environment, \
                    profile files, web identity, container or instance role): set \
                    AWS_PROFILE to a configured profile, or AWS_ACCESS_KEY_ID and \
                    AWS_SECRET_ACCESS_KEY";
    let mut launch = home.command("psc-exec", &tripwire.endpoint(), "default");
    launch.env_remove("AWS_PROFILE");
    let out = run(launch.env("S", "SECRET /app/db").args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(out.stderr(), format!("psc-exec: {expected}\n"));
    for args in [
        &["get", "/app/db"][..],
        &["ls", "/app"],
        &["set", "/app/db", "v"],
    ] {
        let mut command = home.command("psc", &tripwire.endpoint(), "default");
        command.env_remove("AWS_PROFILE");
        let out = run(command.args(args));
        out.assert_code(1).assert_one_line_error("psc");
        assert_eq!(out.stderr(), format!("psc: {expected}\n"), "{args:?}");
    }
    tripwire.assert_untouched();
}

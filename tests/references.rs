//! Every reference form, against moto where moto can answer and against
//! AWS-shaped answers from the local endpoint where moto differs from AWS
//! (sorted results, `Selector`, Secrets Manager names returned whole, ARNs).

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;

use support::fault::{AwsStore, FakeSsm};
use support::{Moto, cmd, contains, prefix, run};

fn env_of(out: &support::Run) -> BTreeMap<String, String> {
    out.env0()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

#[test]
fn version_and_label_selectors_follow_the_label() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("selectors");
    let name = format!("{p}/db");
    for value in ["v1", "v2", "v3"] {
        moto.put(&name, value);
    }
    moto.label(&name, 1, "live");
    let launch = || {
        run(cmd("psc-exec", &moto.endpoint())
            .env("LATEST", format!("SECRET {name}"))
            .env("FIRST", format!("SECRET {name}:1"))
            .env("SECOND", format!("SECRET {name}:2"))
            .env("LIVE", format!("SECRET {name}:live"))
            .args(["--", "env", "-0"]))
    };
    let out = launch();
    out.assert_code(0);
    let env = env_of(&out);
    assert_eq!(
        [&env["LATEST"], &env["FIRST"], &env["SECOND"], &env["LIVE"]],
        ["v3", "v1", "v2", "v1"]
    );
    moto.label(&name, 3, "live");
    let out = launch();
    out.assert_code(0);
    assert_eq!(env_of(&out)["LIVE"], "v3", "the label moved");

    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("NINTH", format!("SECRET {name}:9"))
        .env("NOLABEL", format!("SECRET {name}:gone"))
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr().contains(&format!("NINTH -> {name}:9")),
        "{out}"
    );
    assert!(
        out.stderr().contains(&format!("NOLABEL -> {name}:gone")),
        "{out}"
    );
}

#[test]
fn secrets_manager_references_with_keys_and_stages() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("sm");
    let id = format!("{}/db", p.trim_start_matches('/'));
    moto.create_secret(&id, r#"{"user":"admin","password":"old-pw","port":5432}"#);
    moto.put_secret_value(
        &id,
        r#"{"user":"admin","password":"new-pw","port":5433,"nested":{"b":[1,2],"a":"x"}}"#,
    );
    let sm = format!("/aws/reference/secretsmanager/{id}");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("WHOLE", format!("SECRET {sm}"))
        .env("PASSWORD", format!("SECRET {sm}#password"))
        .env("PORT", format!("SECRET {sm}#port"))
        .env("NESTED", format!("SECRET {sm}#nested"))
        .env("OLD_PASSWORD", format!("SECRET {sm}:AWSPREVIOUS#password"))
        .env("CURRENT", format!("SECRET {sm}:AWSCURRENT#password"))
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = env_of(&out);
    assert_eq!(
        env["WHOLE"],
        r#"{"user":"admin","password":"new-pw","port":5433,"nested":{"b":[1,2],"a":"x"}}"#
    );
    assert_eq!(env["PASSWORD"], "new-pw");
    assert_eq!(env["PORT"], "5433");
    assert_eq!(env["NESTED"], r#"{"b":[1,2],"a":"x"}"#);
    assert_eq!(env["OLD_PASSWORD"], "old-pw");
    assert_eq!(env["CURRENT"], "new-pw");

    // A missing secret fails the whole call on moto: still named alone.
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("GOOD", format!("SECRET {sm}#user"))
        .env(
            "GONE",
            format!("SECRET /aws/reference/secretsmanager/{id}-nope"),
        )
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(
        out.stderr(),
        format!(
            "psc-exec: parameters not found: GONE -> /aws/reference/secretsmanager/{id}-nope\n"
        )
    );
}

#[test]
fn json_key_failures_name_the_key_and_the_variable() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("keys");
    moto.put(&format!("{p}/json"), r#"{"user":"admin"}"#);
    moto.put(&format!("{p}/plain"), "SENTINEL-not-json");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("NO_KEY", format!("SECRET {p}/json#password"))
        .env("NOT_JSON", format!("SECRET {p}/plain#user"))
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(
        out.stderr(),
        format!(
            "psc-exec: value is not a JSON object: key 'user' in NOT_JSON -> {p}/plain#user; \
             JSON key not found: key 'password' in NO_KEY -> {p}/json#password\n"
        )
    );
    assert!(!out.stderr().contains("SENTINEL"));
    // --on-missing applies to keys too.
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("NO_KEY", format!("SECRET {p}/json#password"))
        .args(["--on-missing", "unset", "--", "env", "-0"]));
    out.assert_code(0);
    assert!(!env_of(&out).contains_key("NO_KEY"));
}

/// 25 variables of every form, 20 distinct fetches, one name in 3 forms:
/// the minimum is max(ceil(20 / 10), 3) = 3 calls; duplicates cost nothing.
#[test]
fn a_mix_of_every_form_in_the_minimum_number_of_calls() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("mix");
    let id = format!("{}/sec", p.trim_start_matches('/'));
    moto.create_secret(&id, r#"{"user":"old-user"}"#);
    moto.put_secret_value(&id, r#"{"user":"new-user"}"#);
    let sm = format!("/aws/reference/secretsmanager/{id}");
    for v in ["ver-1", "ver-2", "ver-3"] {
        moto.put(&format!("{p}/ver"), v);
    }
    moto.label(&format!("{p}/ver"), 2, "live");
    let mut expected = BTreeMap::new();
    let mut command = cmd("psc-exec", &moto.endpoint());
    for i in 1..=15 {
        let value = if i <= 2 {
            format!(r#"{{"user":"u{i}","port":{i}00,"nested":{{"k":[{i}]}}}}"#)
        } else {
            format!("value-{i}")
        };
        moto.put(&format!("{p}/p{i:02}"), &value);
        command.env(format!("P{i:02}"), format!("SECRET {p}/p{i:02}"));
        expected.insert(format!("P{i:02}"), value);
    }
    for (var, reference, value) in [
        ("VER", format!("{p}/ver"), "ver-3"),
        ("VER_1", format!("{p}/ver:1"), "ver-1"),
        ("VER_LIVE", format!("{p}/ver:live"), "ver-2"),
        ("SM", sm.clone(), r#"{"user":"new-user"}"#),
        (
            "SM_PREV",
            format!("{sm}:AWSPREVIOUS"),
            r#"{"user":"old-user"}"#,
        ),
        ("SM_USER", format!("{sm}#user"), "new-user"),
        ("SM_PREV_USER", format!("{sm}:AWSPREVIOUS#user"), "old-user"),
        ("P01_USER", format!("{p}/p01#user"), "u1"),
        ("P02_PORT", format!("{p}/p02#port"), "200"),
        ("P02_NESTED", format!("{p}/p02#nested"), r#"{"k":[2]}"#),
    ] {
        command.env(var, format!("SECRET {reference}"));
        expected.insert(var.to_owned(), value.to_owned());
    }
    assert_eq!(expected.len(), 25);
    moto.start_recording();
    let out = run(command.args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = env_of(&out);
    for (var, value) in &expected {
        assert_eq!(env.get(var), Some(value), "{var}");
    }
    let calls = moto.recorded_names();
    assert_eq!(calls.len(), 3, "{calls:?}");
    let mut requested: Vec<&String> = calls.iter().flatten().collect();
    assert_eq!(requested.len(), 20, "each fetch once: {calls:?}");
    requested.sort();
    requested.dedup();
    assert_eq!(requested.len(), 20, "no name asked twice: {calls:?}");
}

#[test]
fn duplicate_references_are_fetched_once() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("dup");
    moto.put(&format!("{p}/shared"), "same");
    moto.put(&format!("{p}/json"), r#"{"a":"1","b":"2"}"#);
    let mut command = cmd("psc-exec", &moto.endpoint());
    for i in 0..12 {
        command.env(format!("SHARED_{i}"), format!("SECRET {p}/shared"));
    }
    command
        .env("SPACED", format!("SECRET   {p}/shared  "))
        .env("A", format!("SECRET {p}/json#a"))
        .env("B", format!("SECRET {p}/json#b"));
    moto.start_recording();
    let out = run(command.args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = env_of(&out);
    assert_eq!(env["SHARED_11"], "same");
    assert_eq!(env["SPACED"], "same");
    assert_eq!((env["A"].as_str(), env["B"].as_str()), ("1", "2"));
    let mut names = moto.recorded_names();
    assert_eq!(names.len(), 1);
    names[0].sort();
    assert_eq!(names[0], [format!("{p}/json"), format!("{p}/shared")]);
}

/// AWS lists results alphabetically with `Selector` apart from `Name`, and
/// Secrets Manager references under the whole reference path.
#[test]
fn aws_shaped_answers_are_mapped_by_name_not_position() {
    let mut store = AwsStore::new();
    store
        .put("/app/zeta", "z")
        .put("/app/alpha", "a")
        .put("/app/mid", "m1")
        .put("/app/mid", "m2")
        .label("/app/mid", 1, "live")
        .put("flat", "f");
    store
        .secrets
        .insert("prod/db".into(), r#"{"password":"pw"}"#.into());
    let fake = FakeSsm::start(move |call| store.answer(&call.names));
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("Z", "SECRET /app/zeta")
        .env("A", "SECRET /app/alpha")
        .env("MID", "SECRET /app/mid:live")
        .env("FLAT", "SECRET /flat")
        .env(
            "SM",
            "SECRET /aws/reference/secretsmanager/prod/db#password",
        )
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = env_of(&out);
    assert_eq!(
        [&env["Z"], &env["A"], &env["MID"], &env["FLAT"], &env["SM"]],
        ["z", "a", "m1", "f", "pw"]
    );
    assert_eq!(fake.calls(), 1);

    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("GONE", "SECRET /app/mid:7")
        .args(["--", "true"]));
    out.assert_code(125);
    assert_eq!(
        out.stderr(),
        "psc-exec: parameters not found: GONE -> /app/mid:7\n"
    );
}

/// ARN requests go to the ARN's region, in a call of their own; the answer
/// is matched through its `ARN` field.
#[test]
fn arn_references_are_asked_in_their_region() {
    let mut store = AwsStore::new();
    store
        .put("/app/local", "local")
        .put("/shared/db", "cross-account");
    let fake = FakeSsm::start(move |call| {
        let mut store = store.clone();
        store.region.clone_from(&call.region);
        store.account = "444455556666".into();
        store.answer(&call.names)
    });
    let arn = "arn:aws:ssm:eu-west-1:444455556666:parameter/shared/db";
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("LOCAL", "SECRET /app/local")
        .env("REMOTE", format!("SECRET {arn}"))
        .env(
            "SAME_REGION",
            "SECRET arn:aws:ssm:us-east-1:444455556666:parameter/shared/db:1",
        )
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = env_of(&out);
    assert_eq!(env["LOCAL"], "local");
    assert_eq!(env["REMOTE"], "cross-account");
    assert_eq!(env["SAME_REGION"], "cross-account");
    let mut calls: Vec<(String, Vec<String>)> = fake
        .recorded()
        .into_iter()
        .map(|c| (c.region, c.names))
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        [
            ("eu-west-1".to_owned(), vec![arn.to_owned()]),
            (
                "us-east-1".to_owned(),
                vec![
                    "/app/local".to_owned(),
                    "arn:aws:ssm:us-east-1:444455556666:parameter/shared/db:1".to_owned()
                ]
            ),
        ]
    );
}

#[test]
fn check_reports_every_reference_without_values() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("check");
    let sentinel = "SENTINEL-check-9f8e7d";
    moto.put(&format!("{p}/db"), sentinel);
    moto.put(&format!("{p}/db"), &format!("{sentinel}-v2"));
    moto.put_typed(
        &format!("{p}/list"),
        "a,b",
        aws_sdk_ssm::types::ParameterType::StringList,
    );
    moto.put(&format!("{p}/json"), &format!(r#"{{"user":"{sentinel}"}}"#));

    let good = |command: &mut std::process::Command| {
        command
            .env("DB_URL", format!("SECRET {p}/db"))
            .env("DB_OLD", format!("SECRET {p}/db:1"))
            .env("LIST", format!("SECRET {p}/list"))
            .env("USER_NAME", format!("SECRET {p}/json#user"))
            .env("PLAIN", "not a reference");
    };
    let mut command = cmd("psc-exec", &moto.endpoint());
    good(&mut command);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let out = run(command
        .args(["-vvv", "--check", "--", "touch"])
        .arg(&marker));
    out.assert_code(0);
    assert!(!marker.exists(), "--check must not run the command");
    assert_eq!(
        out.stdout(),
        format!(
            "VARIABLE   REFERENCE{pad}  TYPE          VERSION  STATUS\n\
             DB_OLD     {p}/db:1{pad2}  SecureString  1        ok\n\
             DB_URL     {p}/db{pad3}  SecureString  2        ok\n\
             LIST       {p}/list{pad4}  StringList    1        ok\n\
             USER_NAME  {p}/json#user  SecureString  1        ok\n",
            pad = " ".repeat(p.len() + 10 - 9),
            pad2 = " ".repeat(5),
            pad3 = " ".repeat(7),
            pad4 = " ".repeat(5),
        )
    );
    assert!(!contains(&out.0.stdout, sentinel.as_bytes()));
    assert!(!contains(&out.0.stderr, sentinel.as_bytes()), "{out}");

    let mut command = cmd("psc-exec", &moto.endpoint());
    good(&mut command);
    command
        .env("GONE", format!("SECRET {p}/gone"))
        .env("BAD_KEY", format!("SECRET {p}/json#password"))
        .env("PSC_EXEC_LOG", "trace");
    let out = run(command.args(["--check", "--format", "json"]));
    out.assert_code(125);
    let last = out.stderr().lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with("psc-exec: check failed: 2 of 6 references"),
        "{out}"
    );
    let rows: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let statuses = check_statuses(&rows);
    assert_eq!(
        statuses,
        [
            ("BAD_KEY", "bad key"),
            ("DB_OLD", "ok"),
            ("DB_URL", "ok"),
            ("GONE", "missing"),
            ("LIST", "ok"),
            ("USER_NAME", "ok"),
        ]
    );
    assert_eq!(rows[2]["type"], "SecureString");
    assert_eq!(rows[2]["version"], 2);
    assert_eq!(rows[3]["version"], serde_json::Value::Null);
    assert!(out.stderr().contains("GONE"), "{out}");
    assert!(!contains(&out.0.stdout, sentinel.as_bytes()));
    assert!(!contains(&out.0.stderr, sentinel.as_bytes()));

    // No references: no network, an empty report, success.
    let tripwire = support::Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint()).args(["--check", "--format", "json"]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "[]\n");
    tripwire.assert_untouched();
    let _ = OsString::new();
}

#[test]
fn check_reports_denied_parameters() {
    let fake = FakeSsm::start(|_| {
        support::fault::aws_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::111122223333:assumed-role/app is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:111122223333:parameter/app/db",
        )
    });
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("DB", "SECRET /app/db")
        .args(["--check"]));
    out.assert_code(125);
    assert_eq!(
        out.stdout(),
        "VARIABLE  REFERENCE  TYPE  VERSION  STATUS\nDB        /app/db    -     -        denied\n"
    );
    assert_eq!(fake.calls(), 1, "access denied is not retried");
}

#[test]
fn malformed_references_fail_before_any_call() {
    let tripwire = support::Tripwire::new();
    for (var, reference, says) in [
        ("A", "/app/db:", "empty selector"),
        ("B", "/app/db#", "no key"),
        ("C", "arn:aws:ssm:eu-west-1:12345:parameter/x", "ARN"),
        ("D", "arn:aws:ssm:eu-west-1:111122223333:param/x", "ARN"),
        ("E", "/app/d b", "whitespace"),
        ("F", "/app/db:1:2", "selector"),
    ] {
        let out = run(cmd("psc-exec", &tripwire.endpoint())
            .env(var, format!("SECRET {reference}"))
            .args(["--check"]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        assert!(out.stderr().contains(&format!("{var}: ")), "{out}");
        assert!(out.stderr().contains(says), "{out}");
    }
    tripwire.assert_untouched();
}

/// A response whose ARN names another account's parameter is not the answer
/// to an ARN request, even with the same name: refused, never passed on.
#[test]
fn an_answer_for_another_arn_is_refused() {
    let fake = FakeSsm::start(|_| {
        support::fault::Action::Respond {
        status: 200,
        body: r#"{"Parameters":[{"Name":"/app/db","Type":"SecureString","Value":"WRONG-ACCOUNT","Version":1,"ARN":"arn:aws:ssm:us-east-1:111111111111:parameter/app/db"}],"InvalidParameters":[]}"#.into(),
    }
    });
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env(
            "X",
            "SECRET arn:aws:ssm:us-east-1:222222222222:parameter/app/db",
        )
        .args(["--", "env", "-0"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr()
            .contains("neither in Parameters nor in InvalidParameters"),
        "{out}"
    );
    assert!(!out.stdout().contains("WRONG-ACCOUNT"));
}

/// --check with one denied name among others: the call fails for all of
/// them, so each is asked alone and only the culprit is reported denied.
#[test]
fn check_names_the_denied_parameter_not_its_whole_call() {
    let mut store = AwsStore::new();
    store.put("/app/open", "o").put("/app/also-open", "a");
    let fake = FakeSsm::start(move |call| {
        if call.names.iter().any(|n| n == "/app/secret") {
            support::fault::aws_error(
                400,
                "AccessDeniedException",
                "not authorized to perform: ssm:GetParameters",
            )
        } else {
            store.answer(&call.names)
        }
    });
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("OPEN", "SECRET /app/open")
        .env("ALSO", "SECRET /app/also-open")
        .env("SECRET_ONE", "SECRET /app/secret")
        .args(["--check", "--format", "json"]));
    out.assert_code(125);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let statuses = check_statuses(&rows);
    assert_eq!(
        statuses,
        [("ALSO", "ok"), ("OPEN", "ok"), ("SECRET_ONE", "denied")]
    );
    assert_eq!(fake.calls(), 4, "one call, then each of the three alone");
    // A launch names the culprit too, at the same cost.
    let fake_calls_before = fake.calls();
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("OPEN", "SECRET /app/open")
        .env("SECRET_ONE", "SECRET /app/secret")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr()
            .starts_with("psc-exec: access denied to ssm:GetParameters for /app/secret ("),
        "{out}"
    );
    assert_eq!(fake.calls() - fake_calls_before, 3);
}

/// (variable, status) of each `--check --format json` row, in order.
fn check_statuses(rows: &serde_json::Value) -> Vec<(&str, &str)> {
    rows.as_array()
        .expect("a JSON array")
        .iter()
        .map(|r| {
            (
                r["variable"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect()
}

//! `--path`: every parameter under a path into the environment, against
//! moto (names, values, pages, precedence, refusals, `--check`) and the
//! fault endpoint (throttling in the middle of pagination).

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;

use serde_json::json;
use support::fault::{Action, FakeSsm, throttled};
use support::{Moto, cmd, contains, prefix, run};

const SENTINEL: &str = "SENTINEL-path-5c3e";

/// The child's environment as text, for the names given.
fn values(env: &BTreeMap<OsString, OsString>, names: &[&str]) -> Vec<Option<String>> {
    names
        .iter()
        .map(|n| {
            env.get(&OsString::from(n))
                .map(|v| v.to_string_lossy().into_owned())
        })
        .collect()
}

/// 23 parameters directly under `{p}/app`, one two levels deeper.
fn seed(moto: &Moto, p: &str) {
    for i in 0..23 {
        moto.put(
            &format!("{p}/app/v{i:02}"),
            &format!("value {i} with spaces"),
        );
    }
    moto.put(&format!("{p}/app/db/url"), SENTINEL);
}

#[test]
fn a_path_loads_every_parameter_under_it_in_the_fewest_pages() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("path");
    seed(&moto, &p);
    moto.start_recording();
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PSC_EXEC_LOG", "trace")
        .args(["--path", &format!("{p}/app"), "--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    for i in 0..23 {
        assert_eq!(
            env[&OsString::from(format!("v{i:02}"))],
            OsString::from(format!("value {i} with spaces"))
        );
    }
    assert!(
        !env.contains_key(&OsString::from("db_url")),
        "not recursive"
    );
    // moto pages by 10: 10, 10, 3.
    assert_eq!(moto.count_calls("AmazonSSM.GetParametersByPath"), 3);
    assert_eq!(moto.count_calls("AmazonSSM.GetParameters"), 0);
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()));

    let before = moto.count_calls("AmazonSSM.GetParametersByPath");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PSC_EXEC_LOG", "trace")
        .env("PSC_EXEC_PATH", format!("{p}/app"))
        .args(["--recursive", "-vvv", "--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    assert_eq!(env[&OsString::from("db_url")], OsString::from(SENTINEL));
    assert_eq!(
        env.keys()
            .filter(|k| k.to_string_lossy().starts_with('v'))
            .count(),
        23
    );
    assert_eq!(
        moto.count_calls("AmazonSSM.GetParametersByPath") - before,
        3,
        "24 in 3 pages"
    );
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()), "{out}");
    assert!(!contains(&out.0.stdout[..0], SENTINEL.as_bytes()));
}

#[test]
fn ten_parameters_take_two_pages_on_moto() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("ten");
    for i in 0..10 {
        moto.put(&format!("{p}/x/k{i}"), "v");
    }
    moto.start_recording();
    let out =
        run(cmd("psc-exec", &moto.endpoint()).args(["--path", &format!("{p}/x"), "--", "true"]));
    out.assert_code(0);
    // moto returns a NextToken after exactly 10, then an empty last page.
    assert_eq!(moto.count_calls("AmazonSSM.GetParametersByPath"), 2);
}

#[test]
fn the_environment_wins_and_a_later_path_wins_over_an_earlier_one() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("precedence");
    moto.put(&format!("{p}/common/region_name"), "common");
    moto.put(&format!("{p}/common/shared"), "from common");
    moto.put(&format!("{p}/common/only_common"), "c");
    moto.put(&format!("{p}/prod/shared"), "from prod");
    moto.put(&format!("{p}/prod/region_name"), "prod");
    moto.put(&format!("{p}/prod/from_ref"), "ref target");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PSC_EXEC_PATH", format!("{p}/common,{p}/prod"))
        .env("region_name", "mine")
        .env("REF", format!("SECRET {p}/prod/from_ref"))
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    assert_eq!(
        values(
            &env,
            &["region_name", "shared", "only_common", "REF", "from_ref"]
        ),
        [
            Some("mine".into()),
            Some("from prod".into()),
            Some("c".into()),
            Some("ref target".into()),
            Some("ref target".into()),
        ]
    );
    assert!(
        out.stderr().contains(&format!(
            "psc-exec: warning: region_name is set in the environment, which wins over {p}/prod/region_name"
        )),
        "{out}"
    );
}

#[test]
fn values_from_a_path_are_literal() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("literal");
    moto.put(
        &format!("{p}/svc/looks_like_a_reference"),
        "SECRET /not/resolved",
    );
    let out = run(cmd("psc-exec", &moto.endpoint()).args([
        "--path",
        &format!("{p}/svc"),
        "--",
        "env",
        "-0",
    ]));
    out.assert_code(0);
    assert_eq!(
        out.env0()[&OsString::from("looks_like_a_reference")],
        OsString::from("SECRET /not/resolved")
    );
}

#[test]
fn names_that_cannot_be_variables_are_refused_unless_mapped() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("names");
    moto.put(&format!("{p}/svc/db-url"), "x");
    moto.put(&format!("{p}/svc/Api.Key"), "y");
    let out =
        run(cmd("psc-exec", &moto.endpoint()).args(["--path", &format!("{p}/svc"), "--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains(&format!("{p}/svc/db-url")), "{out}");
    let out = run(cmd("psc-exec", &moto.endpoint()).args([
        "--path",
        &format!("{p}/svc"),
        "--path-names",
        "upper",
        "--",
        "env",
        "-0",
    ]));
    out.assert_code(0);
    assert_eq!(
        values(&out.env0(), &["DB_URL", "API_KEY"]),
        [Some("x".into()), Some("y".into())]
    );
    // Two parameters mapping to one name: an error naming both.
    moto.put(&format!("{p}/svc/db.url"), "z");
    let out = run(cmd("psc-exec", &moto.endpoint()).args([
        "--path",
        &format!("{p}/svc"),
        "--path-names",
        "upper",
        "--",
        "true",
    ]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr().contains(&format!(
            "{p}/svc/db-url and {p}/svc/db.url both map to DB_URL"
        )),
        "{out}"
    );
}

#[test]
fn a_path_may_not_set_the_loader_or_psc_exec() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("preload");
    moto.put(&format!("{p}/svc/LD_PRELOAD"), "/tmp/evil.so");
    moto.put(&format!("{p}/svc/fine"), "ok");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .args(["--path", &format!("{p}/svc"), "--", "touch"])
        .arg(&marker));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr().contains(&format!("{p}/svc/LD_PRELOAD")),
        "{out}"
    );
    assert!(!marker.exists());
}

#[test]
fn an_empty_path_is_a_failure_unless_told_otherwise() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("empty");
    let out = run(cmd("psc-exec", &moto.endpoint()).args([
        "--path",
        &format!("{p}/nothing"),
        "--",
        "true",
    ]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        out.stderr()
            .contains(&format!("no parameter under --path {p}/nothing")),
        "{out}"
    );
    let out = run(cmd("psc-exec", &moto.endpoint()).args([
        "--on-missing",
        "keep",
        "--path",
        &format!("{p}/nothing"),
        "--",
        "true",
    ]));
    out.assert_code(0);
    assert!(
        out.stderr().contains("warning: no parameter under --path"),
        "{out}"
    );
}

#[test]
fn check_lists_what_a_path_would_set() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("check");
    moto.put(&format!("{p}/svc/a"), SENTINEL);
    moto.put(&format!("{p}/svc/b"), SENTINEL);
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("b", "mine")
        .env("PSC_EXEC_LOG", "trace")
        .args([
            "--check",
            "--format",
            "json",
            "--path",
            &format!("{p}/svc"),
            "--path",
            &format!("{p}/none"),
        ]));
    out.assert_code(125);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let rows: Vec<serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!([
                r["variable"],
                r["reference"],
                r["type"],
                r["version"],
                r["status"],
                r["path"]
            ])
        })
        .collect();
    assert_eq!(
        rows,
        [
            json!([
                "a",
                format!("{p}/svc/a"),
                "SecureString",
                1,
                "ok",
                format!("{p}/svc")
            ]),
            json!([
                "b",
                format!("{p}/svc/b"),
                "SecureString",
                1,
                "shadowed",
                format!("{p}/svc")
            ]),
            json!([
                "-",
                format!("{p}/none"),
                null,
                null,
                "missing",
                format!("{p}/none")
            ]),
        ]
    );
    assert!(!contains(&out.0.stdout, SENTINEL.as_bytes()));
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()));
    let table =
        run(cmd("psc-exec", &moto.endpoint()).args(["--check", "--path", &format!("{p}/svc")]));
    table.assert_code(0);
    assert!(table.stdout().contains("ok (from --path"), "{table}");
}

#[test]
fn throttling_in_the_middle_of_pagination_is_retried() {
    let page = |names: &[&str], next: Option<&str>| {
        Action::Respond {
        status: 200,
        body: json!({
            "Parameters": names.iter().map(|n| json!({
                "Name": format!("/svc/{n}"), "Type": "SecureString", "Value": format!("v-{n}"), "Version": 1,
                "ARN": format!("arn:aws:ssm:us-east-1:111122223333:parameter/svc/{n}"),
            })).collect::<Vec<_>>(),
            "NextToken": next,
        })
        .to_string(),
    }
    };
    let pages = [
        page(&["a", "b"], Some("t1")),
        throttled(),
        page(&[], Some("t2")),
        page(&["c"], None),
    ];
    let fake = FakeSsm::start(move |call| {
        assert_eq!(call.target, "AmazonSSM.GetParametersByPath");
        pages[call.index.min(3)].clone()
    });
    let out = run(cmd("psc-exec", &fake.endpoint()).args(["--path", "/svc", "--", "env", "-0"]));
    out.assert_code(0);
    assert_eq!(
        values(&out.env0(), &["a", "b", "c"]),
        [Some("v-a".into()), Some("v-b".into()), Some("v-c".into())]
    );
    assert_eq!(fake.calls(), 4, "{out}");
    // An endpoint that repeats its token is an error, not a shorter list.
    let endless = FakeSsm::start(move |_| page(&["a"], Some("same")));
    let out = run(cmd("psc-exec", &endless.endpoint()).args(["--path", "/svc", "--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("did not end"), "{out}");
    assert_eq!(endless.calls(), 2);
}

#[test]
fn no_reference_and_no_path_touch_nothing() {
    let tripwire = support::Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env_remove("AWS_REGION")
        .args(["--", "true"]));
    out.assert_code(0);
    tripwire.assert_untouched();
}

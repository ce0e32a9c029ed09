//! Baked secrets: `psc bake` writes serverless-secret-baker's file and
//! `psc-exec --baked` decrypts it with KMS alone. KMS is moto's (it
//! enforces the encryption context); Parameter Store is
//! `support::kms_ssm`, which stores SecureStrings as AWS does (KMS Encrypt
//! under `{"PARAMETER_ARN": arn}`), routed with `AWS_ENDPOINT_URL_SSM`
//! while `AWS_ENDPOINT_URL` points at moto.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use support::kms_ssm::{KmsSsm, arn};
use support::{Moto, Tripwire, cmd, contains, run};

const SENTINEL: &str = "SENTINEL-baked-7f3a";

/// A command for `program` with KMS at moto and SSM at `ssm`.
fn command(program: &str, moto: &Moto, ssm: &KmsSsm) -> Command {
    let mut command = cmd(program, &moto.endpoint());
    command.env("AWS_ENDPOINT_URL_SSM", ssm.endpoint());
    command
}

/// `psc bake --out OUT ARGS...`.
fn bake(moto: &Moto, ssm: &KmsSsm, out: &Path, args: &[&str]) -> support::Run {
    run(command("psc", moto, ssm)
        .args(["bake", "--out"])
        .arg(out)
        .args(args))
}

/// `psc-exec --baked FILE -- env -0`: the child's environment.
fn launch_env(moto: &Moto, ssm: &KmsSsm, file: &Path) -> BTreeMap<OsString, OsString> {
    let result = run(command("psc-exec", moto, ssm)
        .arg("--baked")
        .arg(file)
        .args(["--", "env", "-0"]));
    result.assert_code(0);
    assert_eq!(result.stderr(), "", "{result}");
    result.env0()
}

/// The plugin's file, as its `JSON.stringify` writes it: compact, keys in
/// order, `ciphertext` before `arn`.
fn plugin_file(entries: &[(&str, &str, &str)]) -> String {
    let items: Vec<String> = entries
        .iter()
        .map(|(name, ciphertext, arn)| {
            format!(r#""{name}":{{"ciphertext":"{ciphertext}","arn":"{arn}"}}"#)
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn value(env: &BTreeMap<OsString, OsString>, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt as _;
    env.get(&OsString::from(name))
        .map(|v| v.as_bytes().to_vec())
}

/// A child that leaves `marker` behind if it ever starts.
fn marker_child(marker: &Path) -> Vec<OsString> {
    vec![
        "--".into(),
        "sh".into(),
        "-c".into(),
        "touch \"$0\"".into(),
        marker.as_os_str().to_owned(),
    ]
}

#[test]
fn bake_then_run_gives_byte_exact_utf8_values() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    let emoji = "🔑 ключ ✓ \"q\" \\ end\n";
    ssm.put_secure("/svc/prod/db_password", "pässwörd");
    ssm.put_secure("/svc/prod/api_key", emoji);
    ssm.put_secure("TOKEN", "t0ken");
    ssm.put_secure("/svc/prod/token", "bare-t0ken");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("secret-baker-secrets.json");
    let result = bake(
        moto,
        &ssm,
        &out,
        &[
            "DB_PASSWORD=/svc/prod/db_password",
            "API_KEY=/svc/prod/api_key",
            "TOKEN",
            // The issue's own example: a bare path is its own key, as the
            // plugin writes it.
            "/svc/prod/token",
        ],
    );
    result.assert_code(0);
    assert_eq!(result.stdout(), "", "{result}");
    assert_eq!(
        result.stderr(),
        "psc: warning: /svc/prod/token is not a shell variable name: psc-exec will set it as it is, for programs that read it by name (write NAME=/svc/prod/token to name it)\n"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text,
        plugin_file(&[
            (
                "DB_PASSWORD",
                &ssm.ciphertext("/svc/prod/db_password", 1),
                &arn("/svc/prod/db_password")
            ),
            (
                "API_KEY",
                &ssm.ciphertext("/svc/prod/api_key", 1),
                &arn("/svc/prod/api_key")
            ),
            ("TOKEN", &ssm.ciphertext("TOKEN", 1), &arn("TOKEN")),
            (
                "/svc/prod/token",
                &ssm.ciphertext("/svc/prod/token", 1),
                &arn("/svc/prod/token")
            ),
        ])
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(files_in(dir.path()), ["secret-baker-secrets.json"]);

    let env = launch_env(moto, &ssm, &out);
    assert_eq!(
        value(&env, "DB_PASSWORD").unwrap(),
        "pässwörd".as_bytes(),
        "UTF-8 bytes exactly (the plugin's Node example would decode ASCII)"
    );
    assert_eq!(value(&env, "API_KEY").unwrap(), emoji.as_bytes());
    assert_eq!(value(&env, "TOKEN").unwrap(), b"t0ken");
    assert_eq!(value(&env, "/svc/prod/token").unwrap(), b"bare-t0ken");
}

#[test]
fn a_selector_bakes_that_version() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    ssm.put_secure("/svc/key", "first");
    ssm.put_secure("/svc/key", "second");
    ssm.put_secure("/svc/key", "third");
    ssm.label("/svc/key", 2, "live");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baked.json");
    // --from: the same forms, one per line, after the arguments.
    let list = dir.path().join("secrets.list");
    std::fs::write(
        &list,
        "# pinned\nLIVE=/svc/key:live\n\n  LATEST=/svc/key  \n",
    )
    .unwrap();
    bake(
        moto,
        &ssm,
        &out,
        &["V1=/svc/key:1", "--from", list.to_str().unwrap()],
    )
    .assert_code(0);
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
        &std::fs::read_to_string(&out).unwrap(),
    )
    .unwrap()
    .keys()
    .cloned()
    .collect();
    assert_eq!(
        keys,
        ["V1", "LIVE", "LATEST"],
        "arguments first, then --from, in order"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file["V1"]["ciphertext"], ssm.ciphertext("/svc/key", 1));
    // The ARN without the selector: the encryption context Parameter Store used.
    assert_eq!(file["V1"]["arn"], arn("/svc/key"));
    assert_eq!(file["LIVE"]["ciphertext"], ssm.ciphertext("/svc/key", 2));
    let env = launch_env(moto, &ssm, &out);
    assert_eq!(value(&env, "V1").unwrap(), b"first");
    assert_eq!(value(&env, "LIVE").unwrap(), b"second");
    assert_eq!(value(&env, "LATEST").unwrap(), b"third");
}

#[test]
fn an_edited_arn_fails_with_125_and_starts_nothing() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    ssm.put_secure("/svc/db", "db-value");
    ssm.put_secure("/svc/other", "other-value");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    bake(moto, &ssm, &file, &["DB=/svc/db", "OTHER=/svc/other"]).assert_code(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen(&arn("/svc/db"), &arn("/svc/other"), 1);
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let marker = dir.path().join("started");
    let result = run(command("psc-exec", moto, &ssm)
        .arg("--baked")
        .arg(&file)
        .args(marker_child(&marker)));
    result.assert_code(125).assert_one_line_error("psc-exec");
    let stderr = result.stderr();
    assert!(stderr.contains("cannot decrypt baked DB "), "{result}");
    assert!(stderr.contains("InvalidCiphertextException"), "{result}");
    assert!(!marker.exists(), "the child must not start");

    // --check: the same, per variable, never a value.
    let result = run(command("psc-exec", moto, &ssm)
        .arg("--baked")
        .arg(&file)
        .args(["--check", "--format", "json"]));
    result.assert_code(125);
    let rows: serde_json::Value = serde_json::from_str(&result.stdout()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{result}");
    assert_eq!(rows[0]["variable"], "DB");
    assert_eq!(rows[0]["status"], "cannot decrypt");
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("InvalidCiphertextException"),
        "{result}"
    );
    assert_eq!(rows[0]["baked"], true);
    assert_eq!(rows[1]["variable"], "OTHER");
    assert_eq!(rows[1]["status"], "ok");
    assert_eq!(rows[1]["reference"], arn("/svc/other"));
    assert!(!result.stdout().contains("value"), "{result}");
}

#[test]
fn plaintext_advanced_and_missing_parameters_are_refused_and_nothing_is_written() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    ssm.put_secure("/svc/ok", "fine");
    ssm.put_plain("/svc/plain", SENTINEL, "String");
    ssm.put_plain("/svc/list", "a,b", "StringList");
    ssm.put_advanced("/svc/big", "large");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baked.json");
    for (args, expected) in [
        (
            vec!["OK=/svc/ok", "PLAIN=/svc/plain", "LIST=/svc/list"],
            "psc: not a SecureString, would be baked as plaintext (nothing written): PLAIN -> /svc/plain (String), LIST -> /svc/list (StringList)\n",
        ),
        (
            vec!["OK=/svc/ok", "BIG=/svc/big"],
            "psc: Advanced-tier SecureString: Parameter Store encrypts those with envelope encryption, which a KMS Decrypt cannot open (nothing written): BIG -> /svc/big\n",
        ),
        (
            vec!["OK=/svc/ok", "GONE=/svc/gone", "OLD=/svc/ok:7"],
            "psc: parameters not found (nothing written): /svc/gone, /svc/ok:7\n",
        ),
    ] {
        let result = bake(moto, &ssm, &out, &args);
        result.assert_code(1);
        assert_eq!(result.stderr(), expected, "{result}");
        assert_eq!(
            files_in(dir.path()),
            Vec::<String>::new(),
            "no file, no temporary"
        );
    }
    // An existing file is left as it was.
    std::fs::write(&out, "previous").unwrap();
    bake(moto, &ssm, &out, &["PLAIN=/svc/plain"]).assert_code(1);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    assert_eq!(files_in(dir.path()), ["baked.json"]);
    // Replaced whole when everything is bakeable.
    bake(moto, &ssm, &out, &["OK=/svc/ok"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        plugin_file(&[("OK", &ssm.ciphertext("/svc/ok", 1), &arn("/svc/ok"))])
    );
    assert_eq!(files_in(dir.path()), ["baked.json"]);
}

#[test]
fn bake_usage_errors_make_no_call() {
    let tripwire = Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baked.json");
    std::fs::write(dir.path().join("list"), "A=/svc/a\n\n# comment\nA=/svc/b\n").unwrap();
    for (args, expected) in [
        (vec!["=/svc/a"], "'' is not a variable name"),
        (vec!["X=/svc/a#key"], "a #key cannot be baked"),
        (vec![], "nothing to bake"),
        (vec!["--from", "list"], "A is named twice"),
    ] {
        let result = run(cmd("psc", &tripwire.endpoint())
            .current_dir(dir.path())
            .args(["bake", "--out"])
            .arg(&out)
            .args(&args));
        result.assert_code(2).assert_one_line_error("psc");
        assert!(result.stderr().contains(expected), "{args:?}: {result}");
    }
    assert!(!out.exists());
    tripwire.assert_untouched();
}

#[test]
fn the_calls_are_getparameters_without_decryption_then_only_kms_decrypt() {
    require_moto!();
    // A server of this test's own: its recording counts KMS calls.
    let moto = Moto::start();
    let ssm = KmsSsm::start(&moto.endpoint());
    let mut args = Vec::new();
    for i in 0..12 {
        ssm.put_secure(&format!("/svc/p{i:02}"), &format!("value-{i:02}"));
        args.push(format!("V{i:02}=/svc/p{i:02}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baked.json");
    moto.start_recording();
    moto.reset_recording();
    bake(&moto, &ssm, &out, &args).assert_code(0);
    assert_eq!(
        moto.recorded_targets(),
        Vec::<String>::new(),
        "bake never decrypts"
    );
    let calls = ssm.recorded();
    let get: Vec<_> = calls
        .iter()
        .filter(|c| c.target == "AmazonSSM.GetParameters")
        .collect();
    assert_eq!(get.len(), 2, "12 names: GetParameters by 10");
    assert!(
        get.iter()
            .all(|c| !c.with_decryption && c.names.len() <= 10)
    );
    assert_eq!(get.iter().map(|c| c.names.len()).sum::<usize>(), 12);
    let describe: Vec<_> = calls
        .iter()
        .filter(|c| c.target == "AmazonSSM.DescribeParameters")
        .collect();
    assert_eq!(describe.len(), 2, "the tier, 10 names a call");
    assert_eq!(calls.len(), 4, "{calls:?}");

    let env = launch_env(&moto, &ssm, &out);
    for i in 0..12 {
        assert_eq!(
            value(&env, &format!("V{i:02}")).unwrap(),
            format!("value-{i:02}").as_bytes()
        );
    }
    assert_eq!(ssm.recorded().len(), 4, "no Parameter Store call at launch");
    let recording = moto.recording();
    assert_eq!(recording.len(), 12, "{recording:?}");
    let mut contexts: Vec<String> = recording
        .iter()
        .map(|(target, body)| {
            assert_eq!(target, "TrentService.Decrypt");
            let context = &body["EncryptionContext"];
            assert_eq!(context.as_object().unwrap().len(), 1, "{body}");
            context["PARAMETER_ARN"].as_str().unwrap().to_owned()
        })
        .collect();
    contexts.sort();
    let expected: Vec<String> = (0..12).map(|i| arn(&format!("/svc/p{i:02}"))).collect();
    assert_eq!(contexts, expected);
}

#[test]
fn a_file_in_the_plugins_own_format_is_read_and_bake_writes_the_same_bytes() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    // The plugin's README: a bare `MY_SECRET` (the name is the parameter)
    // and `CUSTOM_SECRET: /a/custom/secret/path`.
    ssm.put_secure("MY_SECRET", "mine");
    ssm.put_secure("/a/custom/secret/path", "custom");
    let fixture = plugin_file(&[
        (
            "MY_SECRET",
            &ssm.ciphertext("MY_SECRET", 1),
            &arn("MY_SECRET"),
        ),
        (
            "CUSTOM_SECRET",
            &ssm.ciphertext("/a/custom/secret/path", 1),
            &arn("/a/custom/secret/path"),
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("secret-baker-secrets.json");
    std::fs::write(&plugin, &fixture).unwrap();
    let env = launch_env(moto, &ssm, &plugin);
    assert_eq!(value(&env, "MY_SECRET").unwrap(), b"mine");
    assert_eq!(value(&env, "CUSTOM_SECRET").unwrap(), b"custom");

    let ours = dir.path().join("ours.json");
    bake(
        moto,
        &ssm,
        &ours,
        &["MY_SECRET", "CUSTOM_SECRET=/a/custom/secret/path"],
    )
    .assert_code(0);
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), fixture);
}

#[test]
fn values_stay_out_of_logs_at_the_highest_verbosity() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    ssm.put_secure("/svc/sentinel", SENTINEL);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    let result = run(command("psc", moto, &ssm)
        .env("PSC_LOG", "trace")
        .args(["-vvv", "bake", "--out"])
        .arg(&file)
        .arg("S=/svc/sentinel"));
    result.assert_code(0);
    assert!(!result.stderr().is_empty(), "trace logging is on");
    let encoded = base64::engine::general_purpose::STANDARD.encode(SENTINEL);
    for text in [
        result.stdout(),
        result.stderr(),
        std::fs::read_to_string(&file).unwrap(),
    ] {
        assert!(!text.contains(SENTINEL), "{text}");
        assert!(!text.contains(&encoded), "{text}");
    }

    // PSC_EXEC_BAKED, the flag's variable, at trace level.
    let result = run(command("psc-exec", moto, &ssm)
        .env("PSC_EXEC_BAKED", &file)
        .env("PSC_EXEC_LOG", "trace")
        .args(["-vvv", "--", "printenv", "S"]));
    result.assert_code(0);
    assert_eq!(result.stdout(), format!("{SENTINEL}\n"));
    let stderr = result.stderr();
    assert!(stderr.contains("Decrypt"), "trace logging is on: {result}");
    assert!(
        !contains(stderr.as_bytes(), SENTINEL.as_bytes()),
        "{result}"
    );
    assert!(!stderr.contains(&encoded), "{result}");

    let result = run(command("psc-exec", moto, &ssm)
        .env("PSC_EXEC_LOG", "trace")
        .arg("--baked")
        .arg(&file)
        .args(["-vvv", "--check"]));
    result.assert_code(0);
    assert!(result.stdout().contains("S "), "{result}");
    assert!(!result.stdout().contains(SENTINEL), "{result}");
    assert!(!result.stderr().contains(SENTINEL), "{result}");
}

#[test]
fn the_environment_wins_and_references_and_paths_work_in_the_same_run() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    ssm.put_secure("/svc/overridden", "baked-overridden");
    ssm.put_secure("/svc/shared", "baked-shared");
    ssm.put_secure("/svc/only", "baked-only");
    ssm.put_secure("/svc/ref", "from-reference");
    ssm.put_secure("/svc/path/SHARED", "path-shared");
    ssm.put_secure("/svc/path/FROM_PATH", "path-only");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    bake(
        moto,
        &ssm,
        &file,
        &[
            "OVERRIDDEN=/svc/overridden",
            "SHARED=/svc/shared",
            "ONLY=/svc/only",
        ],
    )
    .assert_code(0);
    let result = run(command("psc-exec", moto, &ssm)
        .env("OVERRIDDEN", "from-env")
        .env("REF", "SECRET /svc/ref")
        .args(["--path", "/svc/path", "--baked"])
        .arg(&file)
        .args(["--", "env", "-0"]));
    result.assert_code(0);
    let env = result.env0();
    assert_eq!(value(&env, "OVERRIDDEN").unwrap(), b"from-env");
    assert_eq!(value(&env, "SHARED").unwrap(), b"baked-shared");
    assert_eq!(value(&env, "ONLY").unwrap(), b"baked-only");
    assert_eq!(value(&env, "REF").unwrap(), b"from-reference");
    assert_eq!(value(&env, "FROM_PATH").unwrap(), b"path-only");
    let shown = file.display();
    assert_eq!(
        result.stderr(),
        format!(
            "psc-exec: warning: OVERRIDDEN is set in the environment, which wins over the baked {} (--baked {shown})\n\
             psc-exec: warning: --baked {shown} sets SHARED, which wins over /svc/path/SHARED (from --path /svc/path)\n",
            arn("/svc/overridden")
        ),
        "{result}"
    );
}

#[test]
fn a_value_that_is_not_utf8_is_refused() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    let blob = ssm.encrypt(&[0x66, 0xff, 0xfe], &arn("/svc/binary"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    std::fs::write(&file, plugin_file(&[("BIN", &blob, &arn("/svc/binary"))])).unwrap();
    let marker = dir.path().join("started");
    let result = run(command("psc-exec", moto, &ssm)
        .arg("--baked")
        .arg(&file)
        .args(marker_child(&marker)));
    result.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        result.stderr().contains("cannot decrypt baked BIN ")
            && result.stderr().contains("not UTF-8"),
        "{result}"
    );
    assert!(!marker.exists());
}

#[test]
fn a_file_not_in_the_plugins_format_is_one_clear_line_and_no_call() {
    let tripwire = Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let arn = arn("/svc/a");
    let cases: Vec<(String, String)> = vec![
        ("{\"A\": ".into(), "not JSON (EOF while parsing".into()),
        (
            "[1]".into(),
            "the top level is an array, not an object of NAME: {\"ciphertext\", \"arn\"}\n".into(),
        ),
        (
            r#"{"A":{"ciphertext":"AQID"}}"#.into(),
            "A: \"arn\" is missing\n".into(),
        ),
        (
            format!(r#"{{"A":{{"ciphertext":["AQID"],"arn":"{arn}"}}}}"#),
            "A: \"ciphertext\" is an array, not a string\n".into(),
        ),
        (
            r#"{"A":{"ciphertext":"AQID","arn":42}}"#.into(),
            "A: \"arn\" is a number, not a string\n".into(),
        ),
        (
            format!(r#"{{"A=B":{{"ciphertext":"AQID","arn":"{arn}"}}}}"#),
            "A=B: not a variable name (empty, or holding '=' or a NUL byte)\n".into(),
        ),
        (
            format!(r#"{{"LD_PRELOAD":{{"ciphertext":"AQID","arn":"{arn}"}}}}"#),
            "LD_PRELOAD: may not be set from a baked file".into(),
        ),
    ];
    for (i, (content, expected)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&file, content).unwrap();
        let marker = dir.path().join("started");
        let mut command = cmd("psc-exec", &tripwire.endpoint());
        command
            .env("AWS_ENDPOINT_URL_SSM", tripwire.endpoint())
            .arg("--baked")
            .arg(&file)
            .args(marker_child(&marker));
        let result = run(&mut command);
        result.assert_code(125).assert_one_line_error("psc-exec");
        let stderr = result.stderr();
        assert!(
            stderr.starts_with(&format!(
                "psc-exec: configuration error: --baked {}: {expected}",
                file.display()
            )),
            "{content}: {result}"
        );
        assert!(!marker.exists());
    }
    let missing: PathBuf = dir.path().join("missing.json");
    let result = run(cmd("psc-exec", &tripwire.endpoint())
        .arg("--baked")
        .arg(&missing)
        .args(["--", "true"]));
    result.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        result.stderr().contains("No such file or directory"),
        "{result}"
    );
    tripwire.assert_untouched();
}

/// KMS errors moto does not produce (a disabled key, access denied,
/// throttling), from the fault endpoint standing in for KMS: retried like
/// Parameter Store calls, or exit 125 naming the variable and the code.
#[test]
fn kms_errors_are_retried_or_named_like_parameter_store_errors() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use support::fault::{Action, FakeSsm, aws_error, throttled};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    std::fs::write(
        &file,
        plugin_file(&[("A", "AQID", &arn("/svc/a")), ("B", "BAUG", EU_ARN)]),
    )
    .unwrap();
    let tripwire = Tripwire::new();
    let launch = |kms: &FakeSsm, child: Vec<OsString>| {
        // No region configured: each ARN names its own.
        run(cmd("psc-exec", &tripwire.endpoint())
            .env_remove("AWS_REGION")
            .env("AWS_ENDPOINT_URL_KMS", kms.endpoint())
            .arg("--baked")
            .arg(&file)
            .args(child))
    };
    let plaintext = |text: &str| Action::Respond {
        status: 200,
        body: json_text(text),
    };

    // Throttled twice, then answered: retried with the usual backoff.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let kms = FakeSsm::start(move |call| {
        assert_eq!(call.target, "TrentService.Decrypt");
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            throttled()
        } else {
            plaintext("ok")
        }
    });
    let result = launch(
        &kms,
        vec!["--".into(), "printenv".into(), "A".into(), "B".into()],
    );
    result.assert_code(0);
    assert_eq!(result.stdout(), "ok\nok\n");
    assert_eq!(kms.calls(), 4, "two throttled, two answered");

    // KMS's own outage (KMSInternalException, HTTP 500) is retried too.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let kms_down = FakeSsm::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) < 1 {
            aws_error(500, "KMSInternalException", "internal error")
        } else {
            plaintext("ok")
        }
    });
    let result = launch(
        &kms_down,
        vec!["--".into(), "printenv".into(), "A".into(), "B".into()],
    );
    result.assert_code(0);
    assert_eq!(result.stdout(), "ok\nok\n");
    assert_eq!(kms_down.calls(), 3, "one failed with a 500 and retried");
    for call in kms.recorded() {
        let expected = if call.body["EncryptionContext"]["PARAMETER_ARN"] == EU_ARN {
            "eu-west-1"
        } else {
            "us-east-1"
        };
        assert_eq!(call.region, expected, "the ARN's region signs the call");
    }

    for (code, expected) in [
        ("DisabledException", "DisabledException"),
        ("AccessDeniedException", "AccessDeniedException"),
        ("KMSInvalidStateException", "KMSInvalidStateException"),
    ] {
        let kms = FakeSsm::start(move |call| {
            if call.body["EncryptionContext"]["PARAMETER_ARN"] == arn("/svc/a") {
                aws_error(400, code, "key arn:aws:kms:us-east-1:123456789012:key/k")
            } else {
                plaintext("ok")
            }
        });
        let marker = dir.path().join("started");
        let result = launch(&kms, marker_child(&marker));
        result.assert_code(125).assert_one_line_error("psc-exec");
        assert!(
            result
                .stderr()
                .starts_with("psc-exec: cannot decrypt baked A (kms:Decrypt, PARAMETER_ARN "),
            "{result}"
        );
        assert!(result.stderr().contains(expected), "{result}");
        assert!(!marker.exists());
        let for_a = kms
            .recorded()
            .iter()
            .filter(|c| c.body["EncryptionContext"]["PARAMETER_ARN"] == arn("/svc/a"))
            .count();
        assert_eq!(for_a, 1, "not retried");
    }
    tripwire.assert_untouched();
}

/// A parameter in another region than the others.
const EU_ARN: &str = "arn:aws:ssm:eu-west-1:123456789012:parameter/svc/b";

fn json_text(plaintext: &str) -> String {
    format!(
        r#"{{"KeyId":"arn:aws:kms:us-east-1:123456789012:key/k","Plaintext":"{}"}}"#,
        base64::engine::general_purpose::STANDARD.encode(plaintext)
    )
}

/// What the Serverless provider's `getParameter` stub answers: the
/// parameter as `GetParameter` returns it with `WithDecryption=false`.
fn get_parameter_answer(ssm: &KmsSsm, name: &str, version: i64) -> serde_json::Value {
    serde_json::json!({
        "Name": name.split(':').next().unwrap(),
        "Type": "SecureString",
        "Value": ssm.ciphertext(name.split(':').next().unwrap(), version),
        "Version": version,
        "ARN": arn(name.split(':').next().unwrap()),
        "DataType": "text",
    })
}

/// The plugin's own `index.js` (tests/fixtures/serverless-secret-baker),
/// run by node with a stub provider: the file it writes is read by
/// psc-exec, and `psc bake` writes the same bytes for the same secrets.
#[test]
fn the_plugins_own_code_and_bake_write_the_same_file() {
    require_moto!();
    let node = require!(support::tool(
        "node",
        support::find_program("node"),
        "apt-get install nodejs"
    ));
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    ssm.put_secure("MY_SECRET", "mine-ü");
    ssm.put_secure("/a/custom/secret/path", "custom");
    ssm.put_secure("/a/pinned", "pinned-1");
    ssm.put_secure("/a/pinned", "pinned-2");
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serverless-secret-baker");
    std::fs::copy(fixture.join("index.js"), dir.path().join("index.js")).unwrap();
    // The one dependency the plugin loads: bluebird's promisifyAll and
    // Promise, enough for writeSecretToFile.
    let bluebird = dir.path().join("node_modules/bluebird");
    std::fs::create_dir_all(&bluebird).unwrap();
    std::fs::write(
        bluebird.join("index.js"),
        "const util = require('util');\n\
         Promise.promisifyAll = (o) => { for (const k of Object.keys(o)) \
         if (typeof o[k] === 'function' && !k.endsWith('Sync')) o[k + 'Async'] = util.promisify(o[k]); return o; };\n\
         module.exports = Promise;\n",
    )
    .unwrap();
    let answers = serde_json::json!({
        "MY_SECRET": get_parameter_answer(&ssm, "MY_SECRET", 1),
        "/a/custom/secret/path": get_parameter_answer(&ssm, "/a/custom/secret/path", 1),
        "/a/pinned:1": get_parameter_answer(&ssm, "/a/pinned:1", 1),
    });
    // The plugin's README's mixed style: a bare name and {name, path}.
    let config = serde_json::json!([
        "MY_SECRET",
        {"name": "CUSTOM_SECRET", "path": "/a/custom/secret/path"},
        {"name": "PINNED", "path": "/a/pinned:1"},
    ]);
    let driver = r#"
const Plugin = require('./index.js');
const answers = JSON.parse(process.env.SSM_ANSWERS);
const serverless = {
  service: { custom: { secretBaker: JSON.parse(process.env.SECRET_BAKER) }, package: {} },
  cli: { log() {} },
  classes: { Error },
  getProvider: () => ({
    request: (service, method, params) => {
      if (service !== 'SSM' || method !== 'getParameter' || params.WithDecryption !== false) {
        throw new Error('unexpected call ' + method);
      }
      const found = answers[params.Name];
      return found
        ? Promise.resolve({ Parameter: found })
        : Promise.reject(Object.assign(new Error('ParameterNotFound'), { statusCode: 400 }));
    },
  }),
};
new Plugin(serverless, {}).writeSecretToFile().then(
  () => {},
  (e) => { console.error(String(e)); process.exit(1); },
);
"#;
    let output = Command::new(node)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("SSM_ANSWERS", answers.to_string())
        .env("SECRET_BAKER", config.to_string())
        .args(["-e", driver])
        .output()
        .expect("node");
    assert!(
        output.status.success(),
        "node: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("secret-baker-secrets.json")).unwrap();
    assert_eq!(
        written,
        plugin_file(&[
            (
                "MY_SECRET",
                &ssm.ciphertext("MY_SECRET", 1),
                &arn("MY_SECRET")
            ),
            (
                "CUSTOM_SECRET",
                &ssm.ciphertext("/a/custom/secret/path", 1),
                &arn("/a/custom/secret/path")
            ),
            ("PINNED", &ssm.ciphertext("/a/pinned", 1), &arn("/a/pinned")),
        ]),
        "the plugin writes what plugin_file() models"
    );

    let env = launch_env(moto, &ssm, &dir.path().join("secret-baker-secrets.json"));
    assert_eq!(value(&env, "MY_SECRET").unwrap(), "mine-ü".as_bytes());
    assert_eq!(value(&env, "CUSTOM_SECRET").unwrap(), b"custom");
    assert_eq!(value(&env, "PINNED").unwrap(), b"pinned-1");

    let ours = dir.path().join("ours.json");
    bake(
        moto,
        &ssm,
        &ours,
        &[
            "MY_SECRET",
            "CUSTOM_SECRET=/a/custom/secret/path",
            "PINNED=/a/pinned:1",
        ],
    )
    .assert_code(0);
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), written);
}

/// A malformed `AWS_ENDPOINT_URL_KMS` is a configuration error at once
/// when there is something to decrypt, and none of psc-exec's business
/// otherwise (another tool's setting).
#[test]
fn a_malformed_kms_endpoint_fails_baked_launches_only() {
    let tripwire = Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    std::fs::write(&file, plugin_file(&[("A", "AQID", &arn("/svc/a"))])).unwrap();
    let marker = dir.path().join("started");
    let result = run(cmd("psc-exec", &tripwire.endpoint())
        .env("AWS_ENDPOINT_URL_KMS", "not a url")
        .arg("--baked")
        .arg(&file)
        .args(marker_child(&marker)));
    result.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        result
            .stderr()
            .contains("AWS_ENDPOINT_URL_KMS is not an http(s) URL"),
        "{result}"
    );
    assert!(!marker.exists());
    tripwire.assert_untouched();

    require_moto!();
    let moto = Moto::shared();
    moto.put("/baked-kms-endpoint/a", "plain-a");
    let result = run(cmd("psc-exec", &moto.endpoint())
        .env("AWS_ENDPOINT_URL_KMS", "not a url")
        .env("A", "SECRET /baked-kms-endpoint/a")
        .args(["--", "printenv", "A"]));
    result.assert_code(0);
    assert_eq!(result.stdout(), "plain-a\n");
}

/// `--check` lists what KMS refused as rows, but a Decrypt that could not
/// be made (KMS unreachable) stops it with the launch's one line, naming
/// the variable and the parameter's ARN.
#[test]
fn check_stops_at_a_decrypt_that_could_not_be_made() {
    require_moto!();
    let moto = Moto::shared();
    let ssm = KmsSsm::start(&moto.endpoint());
    let blob = ssm.encrypt(b"v", &arn("/svc/unreachable"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baked.json");
    std::fs::write(
        &file,
        plugin_file(&[("A", &blob, &arn("/svc/unreachable"))]),
    )
    .unwrap();
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let result = run(command("psc-exec", moto, &ssm)
        .env("AWS_ENDPOINT_URL_KMS", &closed)
        .args(["--check", "--max-attempts", "1", "--baked"])
        .arg(&file));
    result.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        result.stderr().starts_with(&format!(
            "psc-exec: cannot decrypt baked A (kms:Decrypt, PARAMETER_ARN {}): ",
            arn("/svc/unreachable")
        )),
        "{result}"
    );
    assert_eq!(result.stdout(), "", "{result}");
}

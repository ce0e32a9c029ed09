//! `psc file` against moto's Parameter Store and KMS, with psyml itself
//! (PyPI `psyml==0.2.2`, installed beside moto by `scripts/test`) as the
//! reference implementation of the format and its encryption.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_ssm::types::ParameterType;
use base64::Engine as _;
use serde_json::{Value, json};
use support::{Moto, REGION, Run, cmd, run};

/// psyml's default key region and alias (its `settings.py`).
const KEY_REGION: &str = "ap-southeast-2";
const ALIAS: &str = "alias/psyml";

/// psyml, beside moto_server (`scripts/test` installs both in `.venv`).
fn psyml_program() -> Option<PathBuf> {
    let found = support::moto_program()
        .and_then(|moto| moto.parent().map(|dir| dir.join("psyml")))
        .filter(|p| p.is_file());
    support::tool(
        "psyml",
        found,
        "scripts/test installs psyml==0.2.2 in .venv",
    )
}

/// The venv's python, for PyYAML as an independent reader.
fn python(psyml: &Path) -> PathBuf {
    psyml.with_file_name("python3")
}

/// A KMS call to moto in `region` (awsJson1.1; moto routes by the
/// credential scope).
fn kms(moto: &Moto, region: &str, action: &str, body: &Value) -> Value {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", moto.port)).expect("connect");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.{action}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{region}/kms/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        port = moto.port,
        len = body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    assert!(head.contains(" 200 "), "{action}: {head}\n{body}");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// A new symmetric key in psyml's region; returns its ARN.
fn create_key(moto: &Moto) -> String {
    let out = kms(moto, KEY_REGION, "CreateKey", &json!({}));
    out["KeyMetadata"]["Arn"].as_str().expect("arn").to_owned()
}

/// The psyml alias, pointing at a new key; returns the key's ARN.
fn psyml_key(moto: &Moto) -> String {
    let arn = create_key(moto);
    kms(
        moto,
        KEY_REGION,
        "CreateAlias",
        &json!({"AliasName": ALIAS, "TargetKeyId": arn}),
    );
    arn
}

/// Every request recorded since the last reset: target and JSON body.
fn recorded(moto: &Moto) -> Vec<(String, Value)> {
    moto.recording()
}

fn reset_recording(moto: &Moto) {
    moto.reset_recording();
}

fn targets(calls: &[(String, Value)]) -> Vec<&str> {
    calls.iter().map(|(t, _)| t.as_str()).collect()
}

/// A recording server with the psyml key; recording starts after set-up.
fn start() -> (Moto, String) {
    let moto = Moto::start();
    let arn = psyml_key(&moto);
    moto.start_recording();
    reset_recording(&moto);
    (moto, arn)
}

fn psc(moto: &Moto) -> Command {
    cmd("psc", &moto.endpoint())
}

fn psyml(program: &Path, moto: &Moto) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/psc-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/psc-test-credentials",
        )
        .stdin(std::process::Stdio::null());
    command
}

/// `text` read by PyYAML (psyml's reader), as JSON.
fn pyyaml(psyml: &Path, text: &str) -> Value {
    use std::io::Write;
    let mut child = Command::new(python(psyml))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyYAML failed on:\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[track_caller]
fn ok(run: &Run) -> String {
    run.assert_code(0);
    run.stdout()
}

/// Values that test the quoting both ways: quotes, a newline, `$`,
/// backslashes, non-ASCII, a leading space, YAML indicators.
const PLAIN: &str = r#"path: /apps/PREFIX
region: us-east-1
kmskey: alias/superman
tags: {cost_center: team17, project: superman}
parameters:
  - name: api_version
    description: The version of the API endpoint, not a secret.
    type: String
    value: 2
  - name: api_token
    description: The token used to communicate with the API endpoint
    type: SecureString
    value: 5a5468-786448467a59-326436
  - name: db/password
    description: 'quotes: "and" it''s'
    type: SecureString
    value: "it's a \"pass\"\nword $HOME `x` \\ caf\u00e9 #1"
  - name: tricky-one
    description: ''
    type: SecureString
    value: ' - leading: space'
"#;

fn plain(prefix: &str) -> String {
    PLAIN.replace("/apps/PREFIX", prefix)
}

/// The parameters of a decrypted file as PyYAML reads them.
fn parameters_of(json: &Value) -> Vec<(String, String, String, String)> {
    json["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = |k: &str| match &p[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                text("name"),
                text("description"),
                text("type"),
                text("value"),
            )
        })
        .collect()
}

#[test]
fn psyml_and_psc_read_each_others_encrypted_files() {
    require_moto!();
    let psyml_bin = require!(psyml_program());
    let (moto, arn) = start();
    let dir = tempfile::tempdir().unwrap();
    let source = write(dir.path(), "plain.yml", &plain("/apps/interop"));
    let expected = pyyaml(&psyml_bin, &plain("/apps/interop"));
    let expected_parameters = parameters_of(&expected);

    // psyml encrypts; psc decrypts to the same parameters.
    let by_psyml = run(psyml(&psyml_bin, &moto).arg("encrypt").arg(&source));
    let by_psyml = ok(&by_psyml);
    let psyml_file = write(dir.path(), "psyml.enc.yml", &by_psyml);
    let decrypted = ok(&run(psc(&moto).args(["file", "decrypt"]).arg(&psyml_file)));
    let read = pyyaml(&psyml_bin, &decrypted);
    assert_eq!(parameters_of(&read), expected_parameters, "{decrypted}");
    assert_eq!(read["path"], "/apps/interop/");
    assert_eq!(read["tags"], expected["tags"]);
    assert!(read.get("encrypted_with").is_none(), "{decrypted}");

    // psc encrypts; psyml decrypts to the same parameters.
    reset_recording(&moto);
    let by_psc = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&source)));
    let psc_file = write(dir.path(), "psc.enc.yml", &by_psc);
    let calls = recorded(&moto);
    assert_eq!(
        targets(&calls),
        [
            "TrentService.DescribeKey",
            "TrentService.Encrypt",
            "TrentService.Encrypt",
            "TrentService.Encrypt"
        ]
    );
    assert_eq!(calls[0].1["KeyId"], ALIAS);
    for ((_, body), name) in calls[1..]
        .iter()
        .zip(["api_token", "db/password", "tricky-one"])
    {
        assert_eq!(body["KeyId"], arn.as_str());
        assert_eq!(
            body["EncryptionContext"],
            json!({"Client": "psyml", "Name": name})
        );
    }
    let encrypted = pyyaml(&psyml_bin, &by_psc);
    assert_eq!(encrypted["encrypted_with"], arn.as_str());
    let types: Vec<String> = parameters_of(&encrypted).into_iter().map(|p| p.2).collect();
    assert_eq!(
        types,
        ["string", "securestring", "securestring", "securestring"]
    );
    assert!(!by_psc.contains("5a5468-786448467a59-326436"), "{by_psc}");
    let by_psyml = ok(&run(psyml(&psyml_bin, &moto).arg("decrypt").arg(&psc_file)));
    assert_eq!(
        parameters_of(&pyyaml(&psyml_bin, &by_psyml)),
        expected_parameters
    );

    // psc's decryption: Decrypt with the context, no call for plain values.
    reset_recording(&moto);
    ok(&run(psc(&moto).args(["file", "decrypt"]).arg(&psc_file)));
    let calls = recorded(&moto);
    assert_eq!(targets(&calls), ["TrentService.Decrypt"; 3]);
    for ((_, body), name) in calls.iter().zip(["api_token", "db/password", "tricky-one"]) {
        assert_eq!(
            body["EncryptionContext"],
            json!({"Client": "psyml", "Name": name})
        );
    }
    // Written as psyml writes: for a file PyYAML lays out without folding
    // or escaping, the very same bytes (psyml's print() adds a blank line).
    let simple = write(
        dir.path(),
        "simple.yml",
        &plain("/apps/interop")[..plain("/apps/interop")
            .find("  - name: db/password")
            .unwrap()],
    );
    let by_psyml = ok(&run(psyml(&psyml_bin, &moto).arg("encrypt").arg(&simple)));
    let simple_encrypted = write(dir.path(), "simple.enc.yml", &by_psyml);
    let by_psc = ok(&run(psc(&moto)
        .args(["file", "decrypt"])
        .arg(&simple_encrypted)));
    let by_psyml = ok(&run(psyml(&psyml_bin, &moto)
        .arg("decrypt")
        .arg(&simple_encrypted)));
    assert_eq!(format!("{by_psc}\n"), by_psyml);

    reset_recording(&moto);
    let again = ok(&run(psc(&moto).args(["file", "decrypt"]).arg(&source)));
    assert_eq!(
        parameters_of(&pyyaml(&psyml_bin, &again)),
        expected_parameters
    );
    assert_eq!(recorded(&moto).len(), 0, "a plaintext file costs no call");
}

#[test]
fn encrypt_keeps_ciphertexts_and_rewrites_in_place() {
    require_moto!();
    let (moto, arn) = start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.yml", &plain("/apps/inplace"));
    let first = ok(&run(psc(&moto)
        .args(["file", "encrypt", "--in-place"])
        .arg(&file)));
    assert_eq!(first, "");
    let encrypted = std::fs::read_to_string(&file).unwrap();
    assert!(
        encrypted.contains(&format!("encrypted_with: {arn}\n")),
        "{encrypted}"
    );
    // The directory holds the file alone: the temporary file was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // An encrypted file: byte for byte, no call at all.
    reset_recording(&moto);
    let second = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&file)));
    assert_eq!(second, encrypted);
    assert_eq!(recorded(&moto).len(), 0);

    // A plaintext secret added to it: only that one is encrypted, and the
    // earlier ciphertexts are kept as they were.
    let added = encrypted.replace(
        "parameters:\n",
        "parameters:\n- name: added\n  description: new\n  value: fresh-value\n  type: SecureString\n",
    );
    std::fs::write(&file, &added).unwrap();
    reset_recording(&moto);
    let third = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&file)));
    assert_eq!(
        targets(&recorded(&moto)),
        ["TrentService.DescribeKey", "TrentService.Encrypt"]
    );
    for line in encrypted.lines().filter(|l| l.contains("value: ")) {
        assert!(third.contains(line), "{line} not kept in\n{third}");
    }

    // decrypt --in-place gives the plaintext back.
    ok(&run(psc(&moto).args(["file", "decrypt", "-i"]).arg(&file)));
    let back = std::fs::read_to_string(&file).unwrap();
    assert!(
        back.contains("value: fresh-value\n  type: SecureString\n"),
        "{back}"
    );
    assert!(
        back.contains("value: 5a5468-786448467a59-326436\n"),
        "{back}"
    );
    assert!(!back.contains("encrypted_with"), "{back}");
}

#[test]
fn refresh_reencrypts_under_the_new_key_or_has_nothing_to_do() {
    require_moto!();
    let psyml_bin = require!(psyml_program());
    let (moto, old) = start();
    let dir = tempfile::tempdir().unwrap();
    let source = write(dir.path(), "plain.yml", &plain("/apps/refresh"));
    let encrypted = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&source)));
    let file = write(dir.path(), "enc.yml", &encrypted);

    let same = run(psc(&moto).args(["file", "refresh"]).arg(&file));
    same.assert_code(1).assert_one_line_error("psc");
    assert!(same.stderr().contains("nothing to do"), "{same}");

    let new = create_key(&moto);
    kms(
        &moto,
        KEY_REGION,
        "UpdateAlias",
        &json!({"AliasName": ALIAS, "TargetKeyId": new}),
    );
    reset_recording(&moto);
    ok(&run(psc(&moto)
        .args(["file", "refresh", "--in-place"])
        .arg(&file)));
    let refreshed = std::fs::read_to_string(&file).unwrap();
    assert!(
        refreshed.contains(&format!("encrypted_with: {new}\n")),
        "{refreshed}"
    );
    assert!(!refreshed.contains(&old));
    let calls = recorded(&moto);
    let encrypts: Vec<&Value> = calls
        .iter()
        .filter(|(t, _)| t == "TrentService.Encrypt")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(encrypts.len(), 3);
    assert!(encrypts.iter().all(|b| b["KeyId"] == new.as_str()));
    // psyml reads the result.
    let by_psyml = ok(&run(psyml(&psyml_bin, &moto).arg("decrypt").arg(&file)));
    assert_eq!(
        parameters_of(&pyyaml(&psyml_bin, &by_psyml)),
        parameters_of(&pyyaml(&psyml_bin, &plain("/apps/refresh")))
    );
}

#[test]
fn a_renamed_parameter_was_encrypted_under_another_name() {
    require_moto!();
    let (moto, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let source = write(dir.path(), "plain.yml", &plain("/apps/renamed"));
    let encrypted = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&source)));
    let file = write(
        dir.path(),
        "enc.yml",
        &encrypted.replace("name: api_token", "name: api_key"),
    );
    let out = run(psc(&moto).args(["file", "decrypt"]).arg(&file));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        "psc: cannot decrypt: the ciphertext does not match its encryption context (encrypted under another name, or damaged): api_key\n"
    );
    assert_eq!(out.stdout(), "");
}

#[test]
fn save_sends_the_type_and_key_and_nuke_deletes_the_listed_only() {
    require_moto!();
    let (moto, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let prefix = "/apps/save";
    let source = write(dir.path(), "plain.yml", &plain(prefix));
    let encrypted = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&source)));
    let file = write(dir.path(), "enc.yml", &encrypted);
    moto.put_typed(&format!("{prefix}/other"), "x", ParameterType::String);

    reset_recording(&moto);
    let out = ok(&run(psc(&moto).args(["file", "save"]).arg(&file)));
    assert_eq!(
        out,
        format!(
            "saved {prefix}/api_version (version 1)\nsaved {prefix}/api_token (version 1)\n\
             saved {prefix}/db/password (version 1)\nsaved {prefix}/tricky-one (version 1)\n"
        )
    );
    let puts: Vec<Value> = recorded(&moto)
        .into_iter()
        .filter(|(t, _)| t == "AmazonSSM.PutParameter")
        .map(|(_, b)| b)
        .collect();
    assert_eq!(puts.len(), 4);
    assert_eq!(puts[0]["Type"], "String");
    assert!(puts[0].get("KeyId").is_none());
    for put in &puts[1..] {
        assert_eq!(put["Type"], "SecureString");
        assert_eq!(put["KeyId"], "alias/superman");
    }
    let client = moto.client();
    let stored = support::block_on(async {
        client
            .get_parameter()
            .name(format!("{prefix}/db/password"))
            .with_decryption(true)
            .send()
            .await
            .unwrap()
    });
    let parameter = stored.parameter.unwrap();
    assert_eq!(
        parameter.value.as_deref(),
        Some("it's a \"pass\"\nword $HOME `x` \\ caf\u{e9} #1")
    );
    assert_eq!(parameter.r#type, Some(ParameterType::SecureString));
    let tags = support::block_on(async {
        client
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(format!("{prefix}/api_version"))
            .send()
            .await
            .unwrap()
    });
    let mut tags: Vec<(String, String)> = tags
        .tag_list
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("cost_center".to_owned(), "team17".to_owned()),
            ("project".to_owned(), "superman".to_owned())
        ]
    );

    // Saving again overwrites: version 2.
    let again = ok(&run(psc(&moto).args(["file", "save"]).arg(&file)));
    assert!(
        again.contains(&format!("saved {prefix}/api_token (version 2)\n")),
        "{again}"
    );

    // nuke: the listed ones go, `other` stays; a second nuke reports them.
    let out = ok(&run(psc(&moto).args(["file", "nuke"]).arg(&file)));
    assert_eq!(
        out,
        format!(
            "deleted {prefix}/api_version\ndeleted {prefix}/api_token\n\
             deleted {prefix}/db/password\ndeleted {prefix}/tricky-one\n"
        )
    );
    assert_eq!(listed(&moto, prefix), [format!("{prefix}/other")]);
    let out = run(psc(&moto).args(["file", "nuke"]).arg(&file));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        format!(
            "psc: parameters not found: {prefix}/api_version, {prefix}/api_token, {prefix}/db/password, {prefix}/tricky-one\n"
        )
    );
}

/// Every name below `prefix`, sorted.
fn listed(moto: &Moto, prefix: &str) -> Vec<String> {
    let client = moto.client();
    let mut names: Vec<String> = support::block_on(async {
        let mut out = Vec::new();
        let mut pages = client
            .get_parameters_by_path()
            .path(prefix)
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for p in page.unwrap().parameters.unwrap_or_default() {
                out.push(p.name.unwrap_or_default());
            }
        }
        out
    });
    names.sort();
    names
}

#[test]
fn export_is_restored_exactly_by_bash_dash_and_zsh() {
    require_moto!();
    let (moto, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let source = write(dir.path(), "plain.yml", &plain("/apps/export"));
    let encrypted = ok(&run(psc(&moto).args(["file", "encrypt"]).arg(&source)));
    let file = write(dir.path(), "enc.yml", &encrypted);
    let out = ok(&run(psc(&moto).args(["file", "export"]).arg(&file)));
    assert!(
        out.starts_with("export API_VERSION='2'\nexport API_TOKEN='5a5468-786448467a59-326436'\n"),
        "{out}"
    );
    let expected = [
        ("API_VERSION", "2"),
        ("API_TOKEN", "5a5468-786448467a59-326436"),
        (
            "DB_PASSWORD",
            "it's a \"pass\"\nword $HOME `x` \\ caf\u{e9} #1",
        ),
        ("TRICKY_ONE", " - leading: space"),
    ];
    let mut shells = 0;
    for shell in ["bash", "dash", "zsh"] {
        let found = support::find_program(shell);
        let Some(program) = support::tool(shell, found, "apt-get install bash dash zsh") else {
            continue;
        };
        shells += 1;
        let output = Command::new(program)
            .arg("-c")
            .arg(format!("{out}env -0"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let env = support::parse_env0(&output.stdout);
        for (name, value) in expected {
            assert_eq!(
                env.get(std::ffi::OsStr::new(name)).and_then(|v| v.to_str()),
                Some(value),
                "{shell}: {name}"
            );
        }
    }
    assert!(shells >= 2);

    // A name that is still not a shell identifier: exit 2, no call.
    let bad = write(
        dir.path(),
        "bad.yml",
        &plain("/apps/export").replace("name: tricky-one", "name: 1tricky.one"),
    );
    reset_recording(&moto);
    let out = run(psc(&moto).args(["file", "export"]).arg(&bad));
    out.assert_code(2).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        format!(
            "psc: {}: parameter 1tricky.one: its variable name 1TRICKY.ONE is not a shell identifier\n",
            bad.display()
        )
    );
    assert_eq!(recorded(&moto).len(), 0);
}

/// A file under `prefix` with `count` numbered String parameters besides
/// the ones given.
fn big_file(prefix: &str, count: usize, extra: &str, tags: &str) -> String {
    let mut text =
        format!("path: {prefix}/\nregion: us-east-1\nkmskey: alias/superman\n{tags}parameters:\n");
    for i in 0..count {
        text.push_str(&format!(
            "- name: n{i:02}\n  description: number {i}\n  type: String\n  value: {i}\n"
        ));
    }
    text.push_str(extra);
    text
}

#[test]
fn diff_and_sync_converge() {
    require_moto!();
    let (moto, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let prefix = "/apps/sync";
    // More than 10 parameters (GetParametersByPath pages by 10), integers,
    // a list, a SecureString, and `db` that is a leaf and a prefix.
    let extra = "\
- name: db
  description: leaf
  type: SecureString
  value: db-secret
- name: db/host
  description: below the leaf
  type: String
  value: db.example
- name: hosts
  description: a list
  type: StringList
  value: [a.example, b.example, 3]
";
    let text = big_file(prefix, 12, extra, "tags: {team: t1}\n");
    let file = write(dir.path(), "f.yml", &text);
    // The path itself as a parameter, and one beside the path: neither is
    // under the path, so neither is listed.
    moto.put_typed(prefix, "leaf", ParameterType::String);
    moto.put_typed(&format!("{prefix}x/beside"), "b", ParameterType::String);

    reset_recording(&moto);
    let out = run(psc(&moto).args(["file", "diff"]).arg(&file));
    out.assert_code(1);
    assert_eq!(out.stderr(), "");
    let mut expected: Vec<String> = (0..12).map(|i| format!("+ {prefix}/n{i:02}\n")).collect();
    expected.extend([
        format!("+ {prefix}/db\n"),
        format!("+ {prefix}/db/host\n"),
        format!("+ {prefix}/hosts\n"),
    ]);
    expected.sort();
    assert_eq!(out.stdout(), expected.concat());
    assert_eq!(
        targets(&recorded(&moto)),
        [
            "AmazonSSM.GetParametersByPath",
            "AmazonSSM.DescribeParameters"
        ]
    );

    // --dry-run changes nothing.
    let dry = ok(&run(psc(&moto)
        .args(["file", "sync", "--dry-run"])
        .arg(&file)));
    assert_eq!(dry, expected.concat());
    assert_eq!(listed(&moto, prefix), Vec::<String>::new());

    let synced = ok(&run(psc(&moto).args(["file", "sync"]).arg(&file)));
    assert_eq!(synced, expected.concat());
    reset_recording(&moto);
    let out = run(psc(&moto).args(["file", "diff"]).arg(&file));
    assert_eq!(
        (out.code(), out.stdout()),
        (Some(0), String::new()),
        "{out}"
    );
    let calls = recorded(&moto);
    let pages = calls
        .iter()
        .filter(|(t, _)| t == "AmazonSSM.GetParametersByPath")
        .count();
    assert!(pages >= 2, "{pages} pages for 15 parameters");
    assert_eq!(
        calls
            .iter()
            .filter(|(t, _)| t == "AmazonSSM.ListTagsForResource")
            .count(),
        15
    );

    // Store-side changes: a value, a type, a description, a tag, the key,
    // and an extra parameter.
    let client = moto.client();
    support::block_on(async {
        client
            .put_parameter()
            .name(format!("{prefix}/n00"))
            .value("changed")
            .r#type(ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .unwrap();
        client
            .put_parameter()
            .name(format!("{prefix}/n01"))
            .value("1")
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
        client
            .put_parameter()
            .name(format!("{prefix}/n02"))
            .value("2")
            .description("other words")
            .overwrite(true)
            .send()
            .await
            .unwrap();
        client
            .add_tags_to_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(format!("{prefix}/n03"))
            .tags(
                aws_sdk_ssm::types::Tag::builder()
                    .key("stray")
                    .value("x")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        client
            .put_parameter()
            .name(format!("{prefix}/db"))
            .value("db-secret")
            .key_id("alias/other")
            .overwrite(true)
            .send()
            .await
            .unwrap();
    });
    moto.put_typed(&format!("{prefix}/db/extra"), "e", ParameterType::String);
    let changed = format!(
        "~ {prefix}/db (key)\n- {prefix}/db/extra\n~ {prefix}/n00 (value)\n~ {prefix}/n01 (type)\n\
         ~ {prefix}/n02 (description)\n~ {prefix}/n03 (tags)\n"
    );
    let out = run(psc(&moto).args(["file", "diff"]).arg(&file));
    assert_eq!(
        (out.code(), out.stdout()),
        (Some(1), changed.clone()),
        "{out}"
    );

    // A file-side change: a new tag on every parameter, a type change, an
    // addition.
    let edited = big_file(
        prefix,
        12,
        &extra.replace(
            "type: String\n  value: db.example",
            "type: SecureString\n  value: db.example",
        ),
        "tags: {team: t1, owner: me}\n",
    ) + "- name: added\n  description: ''\n  type: String\n  value: 0\n";
    std::fs::write(&file, &edited).unwrap();
    let out = run(psc(&moto).args(["file", "diff"]).arg(&file));
    out.assert_code(1);
    let lines = out.stdout();
    assert!(lines.contains(&format!("+ {prefix}/added\n")), "{lines}");
    assert!(
        lines.contains(&format!("~ {prefix}/db/host (type, tags)\n")),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("~ {prefix}/n00 (value, tags)\n")),
        "{lines}"
    );
    assert!(
        lines.contains(&format!("~ {prefix}/n05 (tags)\n")),
        "{lines}"
    );

    // sync without --delete keeps the extra; with it, removes it.
    ok(&run(psc(&moto).args(["file", "sync"]).arg(&file)));
    let out = run(psc(&moto).args(["file", "diff"]).arg(&file));
    assert_eq!(
        (out.code(), out.stdout()),
        (Some(1), format!("- {prefix}/db/extra\n")),
        "{out}"
    );
    let out = ok(&run(psc(&moto)
        .args(["file", "sync", "--delete"])
        .arg(&file)));
    assert_eq!(out, format!("- {prefix}/db/extra\n"));
    let out = run(psc(&moto).args(["file", "diff"]).arg(&file));
    assert_eq!(
        (out.code(), out.stdout()),
        (Some(0), String::new()),
        "{out}"
    );
    // The tags follow the file exactly (stray removed, owner added).
    let tags = support::block_on(async {
        client
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(format!("{prefix}/n03"))
            .send()
            .await
            .unwrap()
    });
    let mut tags: Vec<String> = tags
        .tag_list
        .unwrap_or_default()
        .into_iter()
        .map(|t| format!("{}={}", t.key, t.value))
        .collect();
    tags.sort();
    assert_eq!(tags, ["owner=me", "team=t1"]);
    // The path's own parameter and the one beside it are untouched.
    assert_eq!(
        listed(&moto, &format!("{prefix}x")),
        [format!("{prefix}x/beside")]
    );
    assert!(support::block_on(async { client.get_parameter().name(prefix).send().await }).is_ok());
    // Lists and integers as Parameter Store holds them.
    let hosts = support::block_on(async {
        client
            .get_parameter()
            .name(format!("{prefix}/hosts"))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(
        hosts.parameter.unwrap().value.as_deref(),
        Some("a.example,b.example,3")
    );
}

/// Files every command refuses before any call.
fn bad_files(prefix: &str) -> Vec<(&'static str, String, &'static str)> {
    let good = plain(prefix);
    vec![
        ("not-yaml", "path: [\n".to_owned(), "line 2: not valid YAML"),
        (
            "list",
            "- a\n".to_owned(),
            "line 1: the file must be a mapping",
        ),
        (
            "missing",
            good.replace("kmskey: alias/superman\n", ""),
            "missing required key kmskey",
        ),
        (
            "unknown",
            good.replace("region:", "extra: 1\nregion:"),
            "unknown key extra in the file",
        ),
        (
            "bool",
            good.replace("value: 2", "value: yes"),
            "parameter api_version (line 9): the value is a plain scalar that YAML 1.1 reads as a boolean",
        ),
        (
            "null",
            good.replace("value: 2", "value: null"),
            "reads as null",
        ),
        (
            "octal",
            good.replace("value: 2", "value: 0755"),
            "reads as an integer written another way",
        ),
        (
            "float",
            good.replace("value: 2", "value: 1.10"),
            "reads as a floating-point number",
        ),
        (
            "date",
            good.replace("value: 2", "value: 2024-01-31"),
            "reads as a date",
        ),
        (
            "mapping",
            good.replace("value: 2", "value: {a: b}"),
            "the value is a mapping",
        ),
        (
            "list-value",
            good.replace("value: 2", "value: [a]"),
            "only type StringList takes one",
        ),
        (
            "type",
            good.replace("type: String\n", "type: Binary\n"),
            "type Binary is not one of",
        ),
        (
            "name",
            good.replace("name: api_version", "name: bad name"),
            "invalid parameter name",
        ),
        (
            "twice",
            good.replace("name: api_token", "name: api_version"),
            "listed twice",
        ),
        (
            "cipher",
            good.replace(
                "type: SecureString\n    value: 5a",
                "type: securestring\n    value: 5a",
            ),
            "base64 of a KMS ciphertext",
        ),
        (
            "field",
            good.replace("    type: String\n", "    type: String\n    note: x\n"),
            "unknown key note in a parameter",
        ),
        (
            "tag",
            good.replace("cost_center: team17", "'aws:x': team17"),
            "reserved",
        ),
        (
            "size",
            good.replace("value: 2", &format!("value: {}", "x".repeat(4097))),
            "value too large",
        ),
    ]
}

#[test]
fn bad_files_are_refused_by_every_command_with_no_call() {
    require_moto!();
    let (moto, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 8] = [
        &["encrypt"],
        &["decrypt"],
        &["refresh"],
        &["save"],
        &["nuke"],
        &["export"],
        &["diff"],
        &["sync", "--delete"],
    ];
    for (label, text, expected) in bad_files("/apps/bad") {
        let path = write(dir.path(), &format!("{label}.yml"), &text);
        for command in commands {
            let out = run(psc(&moto).arg("file").args(command).arg(&path));
            out.assert_code(2).assert_one_line_error("psc");
            let stderr = out.stderr();
            assert!(
                stderr.starts_with(&format!("psc: {}: ", path.display()))
                    && stderr.contains(expected),
                "{label} {command:?}: {expected:?} not in {stderr:?}"
            );
            assert!(!stderr.contains("5a5468"), "{stderr}");
            assert_eq!(out.stdout(), "");
        }
    }
    assert_eq!(recorded(&moto).len(), 0);
    // Nothing half saved: the 9th parameter is bad, so none is stored.
    let ninth_bad = big_file(
        "/apps/bad",
        8,
        "- name: ninth\n  description: d\n  type: String\n  value: on\n",
        "",
    );
    let path = write(dir.path(), "ninth.yml", &ninth_bad);
    let out = run(psc(&moto).args(["file", "save"]).arg(&path));
    out.assert_code(2).assert_one_line_error("psc");
    assert!(
        out.stderr().contains("parameter ninth (line 40): "),
        "{out}"
    );
    assert_eq!(recorded(&moto).len(), 0);
    // The file's region is the region: a different --region is refused.
    let path = write(dir.path(), "good.yml", &plain("/apps/bad"));
    let out = run(psc(&moto)
        .args(["file", "diff", "--region", "eu-west-1"])
        .arg(&path));
    out.assert_code(2).assert_one_line_error("psc");
    assert_eq!(recorded(&moto).len(), 0);
}

#[test]
fn sentinel_never_leaks_at_trace() {
    require_moto!();
    let psyml_bin = require!(psyml_program());
    let (moto, _) = start();
    let dir = tempfile::tempdir().unwrap();
    let sentinel = "SENTINEL-file-7f3a9c";
    let base64 = base64::engine::general_purpose::STANDARD.encode(sentinel);
    let text = format!(
        "path: /apps/sentinel\nregion: us-east-1\nkmskey: alias/superman\nparameters:\n\
         - name: secret\n  description: d\n  type: SecureString\n  value: {sentinel}\n\
         - name: list\n  description: d\n  type: StringList\n  value: [{sentinel}, b]\n"
    );
    let file = write(dir.path(), "f.yml", &text);
    let traced = |args: &[&str]| {
        let mut command = psc(&moto);
        command
            .env("PSC_LOG", "trace")
            .arg("-vvv")
            .arg("file")
            .args(args)
            .arg(&file);
        run(&mut command)
    };
    let clean = |label: &str, out: &Run| {
        let all = format!("{}{}", out.stdout(), out.stderr());
        assert!(
            out.stderr().contains("TRACE") || out.stderr().contains("DEBUG"),
            "{label}: no logs\n{out}"
        );
        assert!(!all.contains(sentinel), "{label}\n{out}");
        assert!(
            !all.contains(&base64[..16]),
            "{label}: base64 of the value\n{out}"
        );
    };
    // encrypt: nothing on stdout or stderr, nor in the file it writes.
    let out = traced(&["encrypt", "--in-place"]);
    out.assert_code(0);
    clean("encrypt", &out);
    let encrypted = std::fs::read_to_string(&file).unwrap();
    // The StringList is not a secret: it stays, the SecureString does not.
    assert_eq!(encrypted.matches(sentinel).count(), 1, "{encrypted}");
    assert!(
        !encrypted.contains(&format!("value: {sentinel}")),
        "{encrypted}"
    );
    for args in [&["save"][..], &["diff"], &["sync", "--delete"]] {
        let out = traced(args);
        assert!(matches!(out.code(), Some(0 | 1)), "{args:?}\n{out}");
        clean(&format!("{args:?}"), &out);
    }
    // sync of a changed value.
    let client = moto.client();
    support::block_on(async {
        client
            .put_parameter()
            .name("/apps/sentinel/secret")
            .value("other")
            .overwrite(true)
            .send()
            .await
            .unwrap();
    });
    let out = traced(&["sync"]);
    out.assert_code(0);
    assert_eq!(out.stdout(), "~ /apps/sentinel/secret (value)\n");
    clean("sync", &out);
    // refresh under a new key.
    let new = create_key(&moto);
    kms(
        &moto,
        KEY_REGION,
        "UpdateAlias",
        &json!({"AliasName": ALIAS, "TargetKeyId": new}),
    );
    let out = traced(&["refresh", "--in-place"]);
    out.assert_code(0);
    clean("refresh", &out);
    let out = traced(&["nuke"]);
    out.assert_code(0);
    clean("nuke", &out);
    // The file still holds the value (the StringList, which psyml does not
    // know, taken out for it).
    let decrypted = ok(&run(psc(&moto).args(["file", "decrypt"]).arg(&file)));
    assert!(
        decrypted.contains(&format!("value: {sentinel}\n  type: SecureString\n")),
        "{decrypted}"
    );
    let encrypted = std::fs::read_to_string(&file).unwrap();
    let without_list = &encrypted[..encrypted.find("- name: list").unwrap()];
    let psyml_file = write(dir.path(), "psyml.yml", without_list);
    let by_psyml = ok(&run(psyml(&psyml_bin, &moto)
        .arg("decrypt")
        .arg(&psyml_file)));
    assert!(by_psyml.contains(sentinel), "{by_psyml}");
}

/// The variable PSYML_KEY_ALIAS (as psyml reads it) chooses the key.
#[test]
fn key_alias_and_region_come_from_psyml_variables_or_flags() {
    require_moto!();
    let (moto, _) = start();
    let other = create_key(&moto);
    kms(
        &moto,
        KEY_REGION,
        "CreateAlias",
        &json!({"AliasName": "alias/team17", "TargetKeyId": other}),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.yml", &plain("/apps/alias"));
    let out = ok(&run(psc(&moto)
        .env("PSYML_KEY_ALIAS", "alias/team17")
        .args(["file", "encrypt"])
        .arg(&file)));
    assert!(out.contains(&format!("encrypted_with: {other}\n")), "{out}");
    let out = ok(&run(psc(&moto)
        .args(["file", "encrypt", "--key-alias", "alias/team17"])
        .arg(&file)));
    assert!(out.contains(&format!("encrypted_with: {other}\n")), "{out}");
    // No such alias in that region: one line naming it.
    let out = run(psc(&moto)
        .args(["file", "encrypt", "--key-region", "eu-west-1"])
        .arg(&file));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        "psc: the psyml key does not exist in eu-west-1 (set PSYML_KEY_ALIAS and PSYML_KEY_REGION, or --key-alias and --key-region): alias/psyml\n"
    );
}

#[test]
fn help_has_examples_everywhere() {
    let tripwire = support::Tripwire::new();
    for command in [
        "", "encrypt", "decrypt", "refresh", "save", "nuke", "export", "diff", "sync",
    ] {
        let mut psc = cmd("psc", &tripwire.endpoint());
        psc.arg("file");
        if !command.is_empty() {
            psc.arg(command);
        }
        let out = run(psc.arg("--help"));
        out.assert_code(0);
        assert!(out.stdout().contains("\nExamples:\n"), "{command}\n{out}");
    }
    // `psc file` alone is a usage error; so is an unknown command.
    let out = run(cmd("psc", &tripwire.endpoint()).arg("file"));
    out.assert_code(2);
    let out = run(cmd("psc", &tripwire.endpoint()).args(["file", "push", "f.yml"]));
    out.assert_code(2).assert_one_line_error("psc");
    tripwire.assert_untouched();
}

#[test]
fn diff_exits_2_on_trouble_as_diff_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.yml", &plain("/apps/trouble"));
    // Nothing listens there: the connection is refused at once.
    let endpoint = format!("http://127.0.0.1:{}", support::free_port());
    let out = run(cmd("psc", &endpoint)
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["file", "diff"])
        .arg(&file));
    out.assert_code(2).assert_one_line_error("psc");
    // The connector's own words follow, e.g. "(io error: ... Connection refused)".
    let line = out.stderr();
    assert!(
        line.starts_with(
            "psc: cannot reach Parameter Store for ssm:GetParametersByPath (connection failed"
        ) && line.contains("Connection refused")
            && line.ends_with("): /apps/trouble\n"),
        "{out}"
    );
    assert_eq!(out.stdout(), "");
}

/// KMS failures moto cannot produce, from the fault endpoint (routed with
/// `AWS_ENDPOINT_URL_KMS`): one line naming the parameter, never a value.
#[test]
fn kms_errors_are_one_line_naming_the_parameter() {
    use support::fault::{Action, FakeSsm, aws_error};
    let kms_endpoint = FakeSsm::start(|call| match call.target.as_str() {
        "TrentService.DescribeKey" => Action::Respond {
            status: 200,
            body: json!({"KeyMetadata": {
                "KeyId": "k",
                "Arn": "arn:aws:kms:ap-southeast-2:123456789012:key/k"
            }})
            .to_string(),
        },
        "TrentService.Encrypt" => aws_error(400, "DisabledException", "key is disabled"),
        _ => aws_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: kms:Decrypt",
        ),
    });
    let nowhere = support::Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "plain.yml", &plain("/apps/kmsfault"));
    let sealed = write(
        dir.path(),
        "sealed.yml",
        &plain("/apps/kmsfault").replace(
            "type: SecureString\n    value: 5a5468-786448467a59-326436",
            "type: securestring\n    value: AQIDBA==",
        ),
    );
    let psc = || {
        let mut command = cmd("psc", &nowhere.endpoint());
        command
            .env("AWS_ENDPOINT_URL_KMS", kms_endpoint.endpoint())
            .env("AWS_MAX_ATTEMPTS", "1");
        command
    };
    let out = run(psc().args(["file", "encrypt"]).arg(&file));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        "psc: the psyml key is not usable (DisabledException) for kms:Encrypt: api_token\n"
    );
    assert_eq!(out.stdout(), "");
    let out = run(psc().args(["file", "decrypt"]).arg(&sealed));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        "psc: access denied to kms:Decrypt (AccessDeniedException: User: arn:aws:iam::123456789012:user/dev is not authorized to perform: kms:Decrypt): api_token\n"
    );
    assert_eq!(out.stdout(), "");
    // save decrypts before its first SSM call: nothing reaches Parameter
    // Store; diff says trouble with 2.
    let out = run(psc().args(["file", "save"]).arg(&sealed));
    out.assert_code(1).assert_one_line_error("psc");
    let out = run(psc().args(["file", "diff"]).arg(&sealed));
    out.assert_code(2).assert_one_line_error("psc");
    nowhere.assert_untouched();
}

/// psc writes values that PyYAML reads back exactly: 300 generated values
/// with quotes, backslashes, line breaks, tabs, leading and trailing
/// blanks, YAML indicators and non-ASCII, through `psc file decrypt`.
#[test]
fn written_values_read_back_the_same_in_pyyaml() {
    use proptest::strategy::{Strategy as _, ValueTree as _};
    use proptest::test_runner::TestRunner;
    let psyml_bin = require!(psyml_program());
    let mut runner = TestRunner::deterministic();
    let strategy = "[ -~\n\t'\"\\\\\u{e9}\u{20ac}\u{1f600}]{1,30}|[-?:,#&*!|>%@` '\"]{1,6}|(yes|no|on|null|~|0755|1.10|2024-01-31|0x1f|\\.inf|=|<<|-)";
    let values: Vec<String> = (0..300)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let mut text = "path: /apps/gen\nregion: us-east-1\nkmskey: k\nparameters:\n".to_owned();
    for (i, value) in values.iter().enumerate() {
        text.push_str(&format!(
            "- name: v{i:03}\n  description: d\n  type: String\n  value: {}\n",
            serde_json::to_string(value).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "gen.yml", &text);
    let nowhere = support::Tripwire::new();
    let written = ok(&run(cmd("psc", &nowhere.endpoint())
        .args(["file", "decrypt"])
        .arg(&file)));
    let read = parameters_of(&pyyaml(&psyml_bin, &written));
    assert_eq!(read.len(), values.len());
    for ((name, _, _, got), want) in read.iter().zip(&values) {
        assert_eq!(got, want, "{name}");
    }
    // And psc reads its own output back to the same bytes.
    let again = write(dir.path(), "again.yml", &written);
    let rewritten = ok(&run(cmd("psc", &nowhere.endpoint())
        .args(["file", "decrypt"])
        .arg(&again)));
    assert_eq!(rewritten, written);
    nowhere.assert_untouched();
}

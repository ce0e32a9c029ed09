//! psc end to end: the real binary against moto_server, the shells that
//! source `decrypt-env`, the aws CLI, and a pseudo-terminal (script(1)) for
//! the prompts.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType, ResourceTypeForTagging};
use psc_exec::admin::quote::quote;
use support::{
    Moto, Tripwire, aws_cli, block_on, cmd, contains, find_program, parse_env0, prefix, run,
};

fn psc(moto: &Moto) -> Command {
    cmd("psc", &moto.endpoint())
}

/// Values that break naive quoting, splitting or newline handling.
fn tricky_values() -> Vec<(&'static str, String)> {
    let mut big = String::new();
    let pattern = "ab'\"$`\\\n✓ {x}";
    while big.len() < 4096 {
        for c in pattern.chars() {
            if big.len() + c.len_utf8() <= 4096 {
                big.push(c);
            } else if big.len() < 4096 {
                big.push('x');
            }
        }
    }
    assert_eq!(big.len(), 4096);
    vec![
        ("spaces", "  leading and trailing  ".into()),
        ("quotes", r#"it's "quoted" `back` \ slash"#.into()),
        (
            "subst",
            "$(touch pwned) ${HOME} `touch pwned2` $'x' $((1+1))".into(),
        ),
        ("newlines", "line one\nline two\n".into()),
        ("trailing", "ends with newlines\n\n\n".into()),
        ("leading", "\n\nstarts with newlines".into()),
        ("crlf", "windows\r\nline\r\n".into()),
        ("unicode", "pässwörd ✓ 秘密 🔑".into()),
        ("hyphen", "-n".into()),
        ("flag", "--overwrite".into()),
        ("single", "'".into()),
        ("doubled", "''".into()),
        ("glob", "* ? [a] ~ {a,b} !x !! ^y".into()),
        ("tabs", "tab\there\u{b}vtab\u{c}".into()),
        ("control", "\u{1}\u{2}\u{1b}[31mred\u{7f}".into()),
        ("equals", "a=b=c".into()),
        ("json", r#"{"user":"admin","password":"p@ss'w\"rd"}"#.into()),
        ("backslash_end", "ends with a backslash\\".into()),
        ("big", big),
    ]
}

fn stored(moto: &Moto, name: &str) -> (String, ParameterType, i64) {
    let client = moto.client();
    block_on(async {
        let parameter = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {name}: {e:?}"))
            .parameter
            .expect("parameter");
        (
            parameter.value.expect("value"),
            parameter.r#type.expect("type"),
            parameter.version,
        )
    })
}

fn exists(moto: &Moto, name: &str) -> bool {
    let client = moto.client();
    block_on(async {
        let out = client.get_parameters().names(name).send().await.unwrap();
        !out.parameters.unwrap_or_default().is_empty()
    })
}

fn with_stdin(command: &mut Command, input: &[u8]) -> support::Run {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // psc may stop reading early (too large): a broken pipe is fine.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    support::Run(output)
}

#[test]
fn set_and_get_round_trip_every_type_and_tricky_value() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("round-trip");
    for (kind, expected_type) in [
        ("String", ParameterType::String),
        ("StringList", ParameterType::StringList),
        ("SecureString", ParameterType::SecureString),
    ] {
        for (label, value) in tricky_values() {
            // As an argument (after `--`, so `--overwrite` is a value) ...
            let by_arg = format!("{p}/{kind}/arg/{label}");
            let out = run(psc(moto)
                .args(["set", "--type", kind, &by_arg, "--"])
                .arg(&value));
            out.assert_code(0);
            assert_eq!(out.stdout(), "1\n", "{label}");
            assert_eq!(out.stderr(), "", "{label}");
            // ... and on stdin, byte for byte.
            let by_stdin = format!("{p}/{kind}/stdin/{label}");
            let out = with_stdin(
                psc(moto).args(["set", "--type", kind, &by_stdin]),
                value.as_bytes(),
            );
            out.assert_code(0);
            assert_eq!(out.stdout(), "1\n", "{label}");
            for name in [&by_arg, &by_stdin] {
                let (stored_value, stored_type, version) = stored(moto, name);
                assert_eq!(stored_value, value, "{name}");
                assert_eq!(stored_type, expected_type, "{name}");
                assert_eq!(version, 1);
                let out = run(psc(moto).args(["get", name]));
                out.assert_code(0);
                assert_eq!(out.0.stdout, value.as_bytes(), "{name}");
                assert_eq!(out.stderr(), "");
            }
        }
    }
    // SecureString is the default type.
    let name = format!("{p}/default-type");
    run(psc(moto).args(["set", &name, "v"])).assert_code(0);
    assert_eq!(stored(moto, &name).1, ParameterType::SecureString);
}

#[test]
fn overwrite_bumps_the_version_and_keeps_the_type() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("overwrite");
    let name = format!("{p}/level");
    let out = run(psc(moto).args(["set", "--type", "String", &name, "one"]));
    assert_eq!(out.stdout(), "1\n");

    let out = run(psc(moto).args(["set", &name, "two"]));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        format!("psc: parameter already exists (pass --overwrite to replace it): {name}\n")
    );
    assert_eq!(out.stdout(), "");
    assert_eq!(
        stored(moto, &name),
        ("one".into(), ParameterType::String, 1)
    );

    // Without --type the existing type stays.
    let out = run(psc(moto).args(["set", "--overwrite", &name, "two"]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "2\n");
    assert_eq!(
        stored(moto, &name),
        ("two".into(), ParameterType::String, 2)
    );

    // With --type it changes.
    let out = run(psc(moto).args(["set", "--overwrite", "--type", "SecureString", &name, "3"]));
    assert_eq!(out.stdout(), "3\n");
    assert_eq!(
        stored(moto, &name),
        ("3".into(), ParameterType::SecureString, 3)
    );

    // Old versions stay readable through a selector.
    let out = run(psc(moto).args(["get", &format!("{name}:1")]));
    assert_eq!(out.stdout(), "one");

    // --overwrite on a name that does not exist creates a SecureString.
    let fresh = format!("{p}/fresh");
    let out = run(psc(moto).args(["set", "--overwrite", &fresh, "new"]));
    assert_eq!(out.stdout(), "1\n");
    assert_eq!(
        stored(moto, &fresh),
        ("new".into(), ParameterType::SecureString, 1)
    );
}

#[test]
fn tags_description_tier_and_key() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("metadata");
    let name = format!("{p}/tagged");
    let out = run(psc(moto).args([
        "set",
        "--tag",
        "team=billing",
        "--tag",
        "note=a b:c/d=e",
        "--description",
        "the main database",
        "--tier",
        "Advanced",
        "--key-id",
        "alias/custom",
        &name,
        "v",
    ]));
    out.assert_code(0);
    let tags = |moto: &Moto| -> BTreeMap<String, String> {
        let client = moto.client();
        block_on(async {
            client
                .list_tags_for_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(&name)
                .send()
                .await
                .unwrap()
                .tag_list
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect()
        })
    };
    assert_eq!(
        tags(moto),
        BTreeMap::from([
            ("note".into(), "a b:c/d=e".into()),
            ("team".into(), "billing".into())
        ])
    );
    // PutParameter refuses tags with Overwrite: psc adds them separately.
    let out = run(psc(moto).args([
        "set",
        "--overwrite",
        "--tag",
        "team=payments",
        "--tag",
        "env=prod",
        &name,
        "v2",
    ]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "2\n");
    assert_eq!(
        tags(moto),
        BTreeMap::from([
            ("env".into(), "prod".into()),
            ("note".into(), "a b:c/d=e".into()),
            ("team".into(), "payments".into())
        ])
    );
    let out = run(psc(moto).args(["ll", &p]));
    out.assert_code(0);
    let line = out.stdout().lines().nth(1).unwrap_or_default().to_owned();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0], name, "{out}");
    assert_eq!(fields[1..3], ["SecureString", "2"], "{out}");
    assert_eq!(fields[4], "Advanced", "{out}");
    assert!(line.ends_with("  the main database"), "{out}");
    let client = moto.client();
    let key = block_on(async {
        client
            .describe_parameters()
            .parameter_filters(
                ParameterStringFilter::builder()
                    .key("Name")
                    .values(&name)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .parameters
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.name.as_deref() == Some(name.as_str()))
            .and_then(|m| m.key_id)
    });
    assert_eq!(key.as_deref(), Some("alias/custom"));
}

/// Every rule is checked before any call: the tripwire endpoint is never
/// contacted, the exit status is 2 and the line names the rule and name.
#[test]
fn names_and_options_are_checked_before_any_call() {
    let tripwire = Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("value");
    std::fs::write(&file, "v").unwrap();
    let file = file.to_str().unwrap();
    let long = format!("/{}", "n".repeat(1000));
    let deep = format!("/{}", vec!["l"; 16].join("/"));
    for (args, expected) in [
        (
            vec!["set", "awsKey", "v"],
            "psc: invalid parameter name (begins with 'aws' or 'ssm', which are reserved in any case): awsKey",
        ),
        (
            vec!["set", "/SSM/x", "v"],
            "psc: invalid parameter name (begins with 'aws' or 'ssm', which are reserved in any case): /SSM/x",
        ),
        (
            vec!["set", "/app/db url", "v"],
            "psc: invalid parameter name (contains a space; allowed are a-z A-Z 0-9 _ . - and / between levels): /app/db url",
        ),
        (
            vec!["set", "/app/db:3", "v"],
            "psc: invalid parameter name (contains ':'; allowed are a-z A-Z 0-9 _ . - and / between levels): /app/db:3",
        ),
        (
            vec!["set", "app/db", "v"],
            "psc: invalid parameter name (a name with '/' levels must start with '/'): app/db",
        ),
        (
            vec!["set", &deep, "v"],
            &format!("psc: invalid parameter name (16 levels, more than 15): {deep}"),
        ),
        (
            vec!["set-file", "/app//db", file],
            "psc: invalid parameter name (empty level ('//')): /app//db",
        ),
        (
            vec!["delete", "--yes", "/ok", "aws.x", "/b c"],
            "psc: invalid parameter names: aws.x (begins with 'aws' or 'ssm', which are reserved in any case), /b c (contains a space; allowed are a-z A-Z 0-9 _ . - and / between levels)",
        ),
        (
            vec!["ls", "app/prod"],
            "psc: invalid path (a path must start with '/'): app/prod",
        ),
        (
            vec!["ll", "/aws/service"],
            "psc: invalid path (begins with 'aws' or 'ssm', which are reserved in any case): /aws/service",
        ),
        (
            vec!["get", "/app/db url"],
            "psc: invalid reference (parameter name contains whitespace: allowed are a-z A-Z 0-9 _ . - /): /app/db url",
        ),
        (
            vec!["set", "--type", "String", "--key-id", "alias/k", "/a", "v"],
            "psc: --key-id applies to SecureString parameters only",
        ),
        (
            vec!["delete", "/a"],
            "psc: refusing to delete without confirmation: stdin is not a terminal (pass --yes)",
        ),
    ] {
        let out = run(cmd("psc", &tripwire.endpoint()).args(&args));
        out.assert_code(2).assert_one_line_error("psc");
        assert_eq!(out.stderr(), format!("{expected}\n"), "{args:?}");
        assert_eq!(out.stdout(), "");
    }
    // The length limit counts the ARN, so it is checked once the region is
    // known, still before any call: 45 + 1000 characters in us-east-1 ...
    let out = run(cmd("psc", &tripwire.endpoint()).args(["set", &long, "v"]));
    out.assert_code(2).assert_one_line_error("psc");
    assert!(
        out.stderr()
            .contains("(1045 characters with the ARN prefix in us-east-1, more than 1011)"),
        "{out}"
    );
    // Options clap checks itself: one line, exit 2.
    for args in [
        &["set", "/a", "v", "--tag", "novalue"][..],
        &["set", "/a", "v", "--tag", "aws:x=1"],
        &["set", "/a", "v", "--type", "Binary"],
        &["set", "/a", "v", "--tier", "Premium"],
        &["ls", "--json"],
        &["get"],
        &["delete"],
        &["frobnicate"],
    ] {
        let out = run(cmd("psc", &tripwire.endpoint()).args(args));
        out.assert_code(2).assert_one_line_error("psc");
        assert!(out.stderr().contains("--help)"), "{out}");
    }
    tripwire.assert_untouched();
}

#[test]
fn size_limits_are_checked_before_any_call() {
    let tripwire = Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge");
    std::fs::write(&huge, vec![b'x'; 100_000]).unwrap();
    let huge = huge.to_str().unwrap();
    let sentinel = "SIZE-SENTINEL";
    let standard_over = format!("{sentinel}{}", "x".repeat(4097 - sentinel.len()));
    let advanced_over = format!("{sentinel}{}", "x".repeat(8193 - sentinel.len()));
    let cases: Vec<(Vec<&str>, &str, String)> = vec![
        (
            vec!["set", "/app/big"],
            standard_over.as_str(),
            "psc: value too large for the Standard tier (4097 bytes, limit 4096; pass --tier Advanced for up to 8192 bytes): /app/big".into(),
        ),
        (
            vec!["set", "--tier", "Standard", "/app/big", "-"],
            standard_over.as_str(),
            "psc: value too large for the Standard tier (4097 bytes, limit 4096; pass --tier Advanced for up to 8192 bytes): /app/big".into(),
        ),
        // stdin is read no further than one byte past the largest limit.
        (
            vec!["set", "--tier", "Advanced", "/app/big"],
            advanced_over.as_str(),
            "psc: value too large for Parameter Store (more than 8192 bytes, limit 8192 in the Advanced tier): /app/big".into(),
        ),
        (
            vec!["set", "/app/big"],
            advanced_over.as_str(),
            "psc: value too large for Parameter Store (more than 8192 bytes, limit 8192 in the Advanced tier): /app/big".into(),
        ),
        (
            vec!["set-file", "--tier", "Intelligent-Tiering", "/app/big", huge],
            "",
            format!("psc: value too large for Parameter Store (more than 8192 bytes, limit 8192 in the Advanced tier): {huge}"),
        ),
        (
            vec!["set", "/app/empty"],
            "",
            "psc: empty value (Parameter Store needs at least 1 character): /app/empty".into(),
        ),
        (
            vec!["set", "/app/empty", ""],
            "",
            "psc: empty value (Parameter Store needs at least 1 character): /app/empty".into(),
        ),
    ];
    for (args, input, expected) in cases {
        let out = with_stdin(
            cmd("psc", &tripwire.endpoint()).args(&args),
            input.as_bytes(),
        );
        out.assert_code(1).assert_one_line_error("psc");
        assert_eq!(out.stderr(), format!("{expected}\n"), "{args:?}");
        assert!(!contains(&out.0.stderr, sentinel.as_bytes()));
    }
    // Given as an argument, the size is exact.
    let out = run(cmd("psc", &tripwire.endpoint()).args(["set", "/app/big", &standard_over]));
    out.assert_code(1).assert_one_line_error("psc");
    assert!(
        out.stderr()
            .contains("(4097 bytes, limit 4096; pass --tier Advanced"),
        "{out}"
    );
    assert!(!out.stderr().contains(sentinel), "{out}");
    let out = run(cmd("psc", &tripwire.endpoint()).args([
        "set",
        "--tier",
        "Advanced",
        "/app/big",
        &advanced_over,
    ]));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        "psc: value too large for Parameter Store (8193 bytes, limit 8192 in the Advanced tier): /app/big\n"
    );
    tripwire.assert_untouched();
}

#[test]
fn values_at_the_limits_are_stored() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("limits");
    for (tier, size) in [
        (None, 4096),
        (Some("Standard"), 4096),
        (Some("Advanced"), 4097),
        (Some("Advanced"), 8192),
        (Some("Intelligent-Tiering"), 8192),
    ] {
        let name = format!("{p}/{}-{size}", tier.unwrap_or("none"));
        let value = "v".repeat(size);
        let mut command = psc(moto);
        command.arg("set");
        if let Some(tier) = tier {
            command.args(["--tier", tier]);
        }
        let out = with_stdin(command.arg(&name), value.as_bytes());
        out.assert_code(0);
        assert_eq!(stored(moto, &name).0.len(), size);
    }
}

#[test]
fn set_file_is_byte_exact() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("set-file");
    let dir = tempfile::tempdir().unwrap();
    // Every ASCII byte but NUL, multi-byte UTF-8, CRLF and trailing
    // newlines: all of it is text Parameter Store stores.
    let mut bytes: Vec<u8> = (1_u8..=0x7f).collect();
    bytes.extend_from_slice("é ✓ 秘密 🔑 \u{feff}\r\n\n\n".as_bytes());
    let path = dir.path().join("value.txt");
    std::fs::write(&path, &bytes).unwrap();
    let name = format!("{p}/text");
    let out = run(psc(moto).arg("set-file").arg(&name).arg(&path));
    out.assert_code(0);
    assert_eq!(out.stdout(), "1\n");
    let out = run(psc(moto).args(["get", &name]));
    assert_eq!(out.0.stdout, bytes);
    assert_eq!(stored(moto, &name).0.as_bytes(), bytes);

    // A PEM file round-trips with its final newline, and overwrites.
    let pem = b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
    let pem_path = dir.path().join("key.pem");
    std::fs::write(&pem_path, pem).unwrap();
    let out = run(psc(moto)
        .args(["set-file", "--overwrite"])
        .arg(&name)
        .arg(&pem_path));
    assert_eq!(out.stdout(), "2\n", "{out}");
    let out = run(psc(moto).args(["get", &name]));
    assert_eq!(out.0.stdout, pem);
}

#[test]
fn set_file_refuses_what_parameter_store_cannot_store() {
    let tripwire = Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("key.der");
    std::fs::write(&binary, b"\x30\x82\x01\xff\xfe binary").unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing");
    for (path, expected) in [
        (
            &binary,
            "value is not valid UTF-8 (Parameter Store stores text: base64-encode binary data first)",
        ),
        (
            &empty,
            "empty value (Parameter Store needs at least 1 character)",
        ),
    ] {
        let out = run(cmd("psc", &tripwire.endpoint())
            .args(["set-file", "/app/key"])
            .arg(path));
        out.assert_code(1).assert_one_line_error("psc");
        assert_eq!(
            out.stderr(),
            format!("psc: {expected}: {}\n", path.display())
        );
    }
    let out = run(cmd("psc", &tripwire.endpoint())
        .args(["set-file", "/app/key"])
        .arg(&missing));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        format!(
            "psc: cannot read {}: No such file or directory\n",
            missing.display()
        )
    );
    let out = run(cmd("psc", &tripwire.endpoint())
        .args(["set-file", "/app/key"])
        .arg(dir.path()));
    out.assert_code(1).assert_one_line_error("psc");
    // Non-UTF-8 on stdin is refused the same way.
    let out = with_stdin(
        cmd("psc", &tripwire.endpoint()).args(["set", "/app/key"]),
        b"\xff\xfe",
    );
    out.assert_code(1).assert_one_line_error("psc");
    assert!(out.stderr().contains("not valid UTF-8"), "{out}");
    tripwire.assert_untouched();
}

#[test]
fn get_reads_every_reference_form() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("get");
    let json = format!("{p}/json");
    moto.put(&json, r#"{"user":"admin","port":5432,"password":"p'w"}"#);
    let plain = format!("{p}/plain");
    moto.put(&plain, "first");
    run(psc(moto).args(["set", "--overwrite", &plain, "second"])).assert_code(0);

    for (reference, expected) in [
        (format!("{json}#password"), "p'w"),
        (format!("{json}#port"), "5432"),
        (format!("{plain}:1"), "first"),
        (format!("{plain}:2"), "second"),
        (plain.clone(), "second"),
    ] {
        let out = run(psc(moto).args(["get", &reference]));
        out.assert_code(0);
        assert_eq!(out.stdout(), expected, "{reference}");
    }

    let out = run(psc(moto).args(["get", "--json", &format!("{json}#user")]));
    out.assert_code(0);
    let stdout = out.stdout();
    assert!(
        stdout.ends_with("}\n") && stdout.lines().count() == 1,
        "{out}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let keys: Vec<&str> = parsed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["name", "type", "version", "value", "last_modified"]);
    assert_eq!(parsed["name"], json.as_str());
    assert_eq!(parsed["type"], "SecureString");
    assert_eq!(parsed["version"], 1);
    assert_eq!(parsed["value"], "admin");
    assert!(
        parsed["last_modified"].as_str().unwrap().starts_with("20"),
        "{out}"
    );

    for (reference, expected) in [
        (
            format!("{p}/missing"),
            format!("parameter not found: {p}/missing"),
        ),
        (
            format!("{plain}:7"),
            format!("parameter not found: {plain}:7"),
        ),
        (
            format!("{json}#nope"),
            format!("JSON key 'nope' not found: {json}#nope"),
        ),
        (
            format!("{plain}#k"),
            format!("value is not a JSON object, so it has no key 'k': {plain}#k"),
        ),
    ] {
        let out = run(psc(moto).args(["get", &reference]));
        out.assert_code(1).assert_one_line_error("psc");
        assert_eq!(out.stderr(), format!("psc: {expected}\n"));
        assert_eq!(out.stdout(), "");
    }
}

/// script(1) runs a command on a pseudo-terminal: stdin, stdout and stderr
/// are all that terminal. Its output arrives on our pipe as it comes.
struct Pty {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    chunks: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Pty {
    /// `None` (with a message) when script(1) is not installed.
    fn start(base: &Command) -> Option<Self> {
        let script = support::tool(
            "script",
            find_program("script"),
            "script(1) gives a terminal: apt-get install bsdutils",
        )?;
        // `exec`: script's shell becomes the command, so signals and the
        // exit status are the command's own.
        let mut line = format!(
            "exec {}",
            quote(&base.get_program().to_string_lossy()).as_str()
        );
        for arg in base.get_args() {
            line.push(' ');
            line.push_str(&quote(&arg.to_string_lossy()));
        }
        let mut command = Command::new(script);
        support::copy_env_of(base, &mut command);
        command
            .args(["-q", "-e", "-E", "always", "-c"])
            .arg(&line)
            .arg("/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("spawn script");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout");
        let (tx, chunks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            loop {
                match stdout.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buffer[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Some(Self {
            child,
            stdin,
            chunks,
            seen: Vec::new(),
        })
    }

    /// Wait until the output so far contains `text` (a deadline only for
    /// failing, never for synchronising).
    fn expect(&mut self, text: &str) {
        while !contains(&self.seen, text.as_bytes()) {
            match self.chunks.recv_timeout(Duration::from_secs(30)) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!(
                    "waiting for {text:?}; seen {:?}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Everything written, and the exit status of the command.
    fn finish(mut self) -> (Vec<u8>, Option<i32>) {
        while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_secs(30)) {
            self.seen.extend(chunk);
        }
        let status = self.child.wait().unwrap();
        drop(self.stdin.take());
        (self.seen, status.code())
    }
}

/// Give `to` exactly the environment `from` was given (`cmd` clears it).
#[test]
fn get_adds_a_newline_only_on_a_terminal() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("tty-newline");
    moto.put(&format!("{p}/bare"), "no newline");
    moto.put(&format!("{p}/ends"), "has newline\n");
    // On a terminal: one newline after a value without one, none otherwise
    // (the terminal turns "\n" into "\r\n").
    for (name, expected) in [
        ("bare", &b"no newline\r\n"[..]),
        ("ends", b"has newline\r\n"),
    ] {
        let mut base = psc(moto);
        base.args(["get", &format!("{p}/{name}")]);
        let Some(pty) = Pty::start(&base) else {
            return;
        };
        let (seen, code) = pty.finish();
        assert_eq!(code, Some(0));
        assert_eq!(seen, expected, "{:?}", String::from_utf8_lossy(&seen));
    }
    // Into a pipe: exactly the stored bytes.
    let out = run(psc(moto).args(["get", &format!("{p}/bare")]));
    assert_eq!(out.0.stdout, b"no newline");
    let out = run(psc(moto).args(["get", &format!("{p}/ends")]));
    assert_eq!(out.0.stdout, b"has newline\n");
}

#[test]
fn set_prompts_twice_without_echo_on_a_terminal() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("prompt");
    let name = format!("{p}/typed");
    let mut base = psc(moto);
    base.args(["set", &name]);
    let Some(mut pty) = Pty::start(&base) else {
        return;
    };
    pty.expect(&format!("Value for {name} (input hidden): "));
    pty.send(b"typed s3cret value\n");
    pty.expect("Repeat the value: ");
    pty.send(b"typed s3cret value\n");
    let (seen, code) = pty.finish();
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(code, Some(0), "{seen}");
    assert!(!seen.contains("s3cret"), "echoed: {seen:?}");
    assert!(seen.ends_with("1\r\n"), "{seen:?}");
    assert_eq!(stored(moto, &name).0, "typed s3cret value");

    // Two different answers store nothing.
    let other = format!("{p}/mismatch");
    let mut base = psc(moto);
    base.args(["set", &other]);
    let mut pty = Pty::start(&base).expect("script");
    pty.expect("(input hidden): ");
    pty.send(b"one\n");
    pty.expect("Repeat the value: ");
    pty.send(b"two\n");
    let (seen, code) = pty.finish();
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(code, Some(1), "{seen}");
    assert!(
        seen.contains(&format!(
            "psc: the two values entered differ; nothing stored: {other}"
        )),
        "{seen:?}"
    );
    assert!(!exists(moto, &other));

    // Ctrl-C at the prompt: exit 130, and the terminal's echo is back on
    // (the shell after psc echoes again).
    let third = format!("{p}/interrupted");
    // sh catches SIGINT itself (a trap resets to the default in psc), so
    // it lives on to report psc's status and the terminal's echo flag.
    let mut base = Command::new("sh");
    base.arg("-c").arg(format!(
        "trap 'true' INT; {} set {}; echo \"status $?\"; stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo",
        quote(&support::bin("psc").to_string_lossy()).as_str(),
        quote(&third).as_str()
    ));
    support::copy_env_of(&psc(moto), &mut base);
    let mut pty = Pty::start(&base).expect("script");
    pty.expect("(input hidden): ");
    pty.send(b"\x03");
    let (seen, code) = pty.finish();
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(code, Some(0), "{seen}");
    assert!(
        seen.contains("\r\npsc: interrupted; nothing stored\r\n"),
        "{seen:?}"
    );
    assert!(seen.contains("status 130"), "{seen:?}");
    assert!(seen.contains("\necho\r\n"), "echo not restored: {seen:?}");
    assert!(!exists(moto, &third));
}

#[test]
fn delete_confirms_on_a_terminal() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("confirm");
    let (a, b) = (format!("{p}/a"), format!("{p}/b"));
    moto.put(&a, "x");
    moto.put(&b, "x");
    let mut base = psc(moto);
    base.args(["delete", &a, &b]);
    let Some(mut pty) = Pty::start(&base) else {
        return;
    };
    pty.expect(&format!("Delete 2 parameters: {a}, {b}? [y/N] "));
    pty.send(b"n\n");
    let (seen, code) = pty.finish();
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&seen));
    assert!(contains(&seen, b"psc: not confirmed; nothing deleted"));
    assert!(exists(moto, &a) && exists(moto, &b));

    let mut pty = Pty::start(&base).expect("script");
    pty.expect("? [y/N] ");
    pty.send(b"yes\n");
    let (seen, code) = pty.finish();
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(code, Some(0), "{seen}");
    assert!(
        seen.contains(&format!("deleted {a}\r\ndeleted {b}\r\n")),
        "{seen:?}"
    );
    assert!(!exists(moto, &a) && !exists(moto, &b));
}

#[test]
fn delete_reports_names_that_did_not_exist() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("delete");
    let names: Vec<String> = (0..12).map(|i| format!("{p}/n{i:02}")).collect();
    for name in &names {
        moto.put(name, "x");
    }
    moto.start_recording();
    // 11 existing, 2 missing, 1 repeated: 13 distinct names, 2 calls.
    let mut command = psc(&moto);
    command.args(["delete", "--yes"]);
    command.args(&names[..11]);
    command
        .arg(format!("{p}/gone1"))
        .arg(&names[0])
        .arg(format!("{p}/gone2"));
    let out = run(&mut command);
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        format!("psc: parameters not found: {p}/gone1, {p}/gone2\n")
    );
    let expected: String = names[..11]
        .iter()
        .map(|n| format!("deleted {n}\n"))
        .collect();
    assert_eq!(out.stdout(), expected);
    assert_eq!(moto.count_calls("AmazonSSM.DeleteParameters"), 2);
    for name in &names[..11] {
        assert!(!exists(&moto, name), "{name}");
    }
    assert!(exists(&moto, &names[11]));

    // All present: exit 0; one missing alone: singular.
    let out = run(psc(&moto).args(["delete", "-y", &names[11]]));
    out.assert_code(0);
    assert_eq!(out.stdout(), format!("deleted {}\n", names[11]));
    assert_eq!(out.stderr(), "");
    let out = run(psc(&moto).args(["delete", "-y", &names[11]]));
    out.assert_code(1);
    assert_eq!(out.stdout(), "");
    assert_eq!(
        out.stderr(),
        format!("psc: parameter not found: {}\n", names[11])
    );
}

#[test]
fn ls_and_ll_paginate_and_never_fetch_values() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("listing");
    let many: Vec<String> = (0..60).map(|i| format!("{p}/many/p{i:02}")).collect();
    for name in &many {
        moto.put(name, "SECRET-VALUE-NEVER-LISTED");
    }
    moto.put(&format!("{p}/many/sub/x"), "SECRET-VALUE-NEVER-LISTED");
    moto.put(
        &format!("{p}/many/sub/deeper/y"),
        "SECRET-VALUE-NEVER-LISTED",
    );
    moto.put(&format!("{p}/other/z"), "SECRET-VALUE-NEVER-LISTED");
    moto.start_recording();

    let one_level: String = many.iter().map(|n| format!("{n}\n")).collect();
    for path in [format!("{p}/many"), format!("{p}/many/")] {
        let out = run(psc(&moto).args(["ls", &path]));
        out.assert_code(0);
        assert_eq!(out.stdout(), one_level);
        assert_eq!(out.stderr(), "");
    }
    let mut recursive = many.clone();
    recursive.push(format!("{p}/many/sub/deeper/y"));
    recursive.push(format!("{p}/many/sub/x"));
    recursive.sort();
    let out = run(psc(&moto).args(["ls", "-r", &format!("{p}/many")]));
    out.assert_code(0);
    assert_eq!(
        out.stdout(),
        recursive
            .iter()
            .map(|n| format!("{n}\n"))
            .collect::<String>()
    );
    let out = run(psc(&moto).args(["ls", &format!("{p}/many/sub")]));
    assert_eq!(out.stdout(), format!("{p}/many/sub/x\n"));
    let out = run(psc(&moto).args(["ls", &format!("{p}/nothing-here")]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "");

    let out = run(psc(&moto).args(["ll", "--recursive", &format!("{p}/many")]));
    out.assert_code(0);
    let lines: Vec<String> = out.stdout().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 63, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME",
            "TYPE",
            "VERSION",
            "LAST",
            "MODIFIED",
            "TIER",
            "DESCRIPTION"
        ]
    );
    for (line, name) in lines[1..].iter().zip(&recursive) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], name);
        assert_eq!(fields[1..3], ["SecureString", "1"]);
        assert!(fields[3].ends_with('Z') && fields[3].len() == 20, "{line}");
        assert_eq!(fields[4], "Standard");
        assert_eq!(fields.len(), 5, "{line}");
    }
    let targets = moto.recorded_targets();
    assert!(
        targets.iter().all(|t| t == "AmazonSSM.DescribeParameters"),
        "{targets:?}"
    );
    // 61 or 62 parameters at moto's 10 per page: several pages per listing.
    assert!(targets.len() >= 2 * 7 + 7, "{}", targets.len());
    assert!(!contains(&out.0.stdout, b"SECRET-VALUE"));
}

#[test]
fn ls_lists_the_top_level_and_name_prefixes() {
    require_moto!();
    let moto = Moto::start();
    // (AWS stores `/solo` as `solo`; moto keeps the slash, so it is not used.)
    for name in ["svc.alpha", "svc.beta", "other.gamma", "solo", "/deep/x"] {
        moto.put(name, "v");
    }
    let out = run(psc(&moto).args(["ls", "svc."]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "svc.alpha\nsvc.beta\n");
    let out = run(psc(&moto).arg("ls"));
    out.assert_code(0);
    assert_eq!(out.stdout(), "other.gamma\nsolo\nsvc.alpha\nsvc.beta\n");
    let out = run(psc(&moto).args(["ls", "-r"]));
    assert_eq!(
        out.stdout(),
        "/deep/x\nother.gamma\nsolo\nsvc.alpha\nsvc.beta\n"
    );
    let out = run(psc(&moto).args(["ls", "-r", "/"]));
    assert_eq!(
        out.stdout(),
        "/deep/x\nother.gamma\nsolo\nsvc.alpha\nsvc.beta\n"
    );
}

/// Variables holding references to every tricky value, and the values.
fn reference_env(moto: &Moto, p: &str) -> Vec<(String, String, String)> {
    tricky_values()
        .into_iter()
        .map(|(label, value)| {
            let name = format!("{p}/{label}");
            moto.put(&name, &value);
            let var = format!("V_{}", label.to_uppercase());
            (var, format!("SECRET {name}"), value)
        })
        .collect()
}

#[test]
fn decrypt_env_is_restored_exactly_by_bash_dash_and_zsh() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("decrypt-env");
    let vars = reference_env(moto, &p);
    let dir = tempfile::tempdir().unwrap();
    let psc_bin = quote(&support::bin("psc").to_string_lossy()).to_string();
    let mut ran = 0;
    for (shell, forms) in [
        (
            "bash",
            &["source <(PSC decrypt-env)", "eval \"$(PSC decrypt-env)\""][..],
        ),
        ("dash", &["eval \"$(PSC decrypt-env)\""]),
        (
            "zsh",
            &["source <(PSC decrypt-env)", "eval \"$(PSC decrypt-env)\""],
        ),
    ] {
        let Some(program) =
            support::tool(shell, find_program(shell), "apt-get install bash dash zsh")
        else {
            continue;
        };
        for form in forms {
            let mut command = Command::new(&program);
            command
                .current_dir(dir.path())
                .arg("-c")
                .arg(format!("{} && env -0", form.replace("PSC", &psc_bin)));
            support::copy_env_of(&psc(moto), &mut command);
            for (var, reference, _) in &vars {
                command.env(var, reference);
            }
            let out = run(&mut command);
            out.assert_code(0);
            assert_eq!(out.stderr(), "", "{shell}: {form}");
            let env = parse_env0(&out.0.stdout);
            for (var, _, value) in &vars {
                assert_eq!(
                    env.get(&OsString::from(var)).map(|v| v.as_encoded_bytes()),
                    Some(value.as_bytes()),
                    "{shell}: {form}: {var}"
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 3);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a command in a value ran"
    );
}

#[test]
fn decrypt_env_output_and_on_missing() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("decrypt-env-missing");
    moto.put(&format!("{p}/one"), "it's");
    moto.put(&format!("{p}/json"), r#"{"k":"v$x"}"#);
    let base = || {
        let mut command = psc(moto);
        command
            .env("VAR1", format!("SECRET {p}/one"))
            .env("VAR2", format!("SECRET {p}/json#k"))
            .env("VAR3", format!("SECRET {p}/missing"))
            .env("PLAIN", "not a reference")
            .arg("decrypt-env");
        command
    };
    let out = run(&mut base());
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        format!("psc: parameters not found: VAR3 -> {p}/missing\n")
    );
    assert_eq!(
        out.stdout(),
        "# psc decrypt-env failed (see its error on stderr): stop here\ncase $- in *i*) false ;; *) exit 1 ;; esac\n",
        "no value is printed unless all resolved: only what stops the shell"
    );

    let out = run(base().args(["--on-missing", "keep"]));
    out.assert_code(0);
    let exports = "export VAR1='it'\\''s'\nexport VAR2='v$x'\n";
    assert_eq!(out.stdout(), exports);
    assert_eq!(
        out.stderr(),
        format!("psc: warning: parameters not found: VAR3 -> {p}/missing (kept as they were)\n")
    );

    let out = run(base().args(["--on-missing", "unset"]));
    out.assert_code(0);
    assert_eq!(out.stdout(), format!("{exports}unset VAR3\n"));
    assert!(out.stderr().starts_with("psc: warning: "), "{out}");
}

#[test]
fn decrypt_env_checks_before_any_call() {
    let tripwire = Tripwire::new();
    // No references: nothing printed, no configuration, no network.
    let out = run(cmd("psc", &tripwire.endpoint())
        .env_remove("AWS_REGION")
        .env("LOG_LEVEL", "debug")
        .arg("decrypt-env"));
    out.assert_code(0);
    assert_eq!(out.stdout(), "");
    assert_eq!(out.stderr(), "");
    // Invalid references, as psc-exec reports them.
    let out = run(cmd("psc", &tripwire.endpoint())
        .env("SPACED", "SECRET /app/db url")
        .arg("decrypt-env"));
    out.assert_code(2).assert_one_line_error("psc");
    assert!(out.stderr().contains("invalid reference: SPACED:"), "{out}");
    // A variable a shell cannot assign.
    let out = run(cmd("psc", &tripwire.endpoint())
        .env("1ABC", "SECRET /app/db")
        .env("OK", "SECRET /app/ok")
        .arg("decrypt-env"));
    out.assert_code(2).assert_one_line_error("psc");
    assert_eq!(
        out.stderr(),
        "psc: variables a shell cannot assign (a name must not start with a digit): 1ABC\n"
    );
    tripwire.assert_untouched();
}

#[test]
fn the_aws_cli_reads_what_psc_stores_and_psc_reads_what_it_stores() {
    require_moto!();
    let Some(aws) = aws_cli() else {
        return;
    };
    let moto = Moto::shared();
    let p = prefix("aws-cli");
    let values: Vec<(&str, String)> = tricky_values()
        .into_iter()
        .filter(|(label, _)| {
            ["quotes", "newlines", "unicode", "control", "big", "flag"].contains(label)
        })
        .collect();
    for (label, value) in &values {
        // psc -> aws
        let name = format!("{p}/from-psc/{label}");
        let out = with_stdin(psc(moto).args(["set", &name]), value.as_bytes());
        out.assert_code(0);
        let out = run(support::aws_command(&aws, &moto.endpoint()).args([
            "ssm",
            "get-parameter",
            "--with-decryption",
            "--name",
            &name,
        ]));
        out.assert_code(0);
        let parsed: serde_json::Value = serde_json::from_slice(&out.0.stdout).unwrap();
        assert_eq!(parsed["Parameter"]["Value"], value.as_str(), "{label}");
        assert_eq!(parsed["Parameter"]["Type"], "SecureString", "{label}");

        // aws -> psc (the JSON input keeps the value exact; a plain
        // --value would be read as a URL if it looked like one).
        let name = format!("{p}/from-aws/{label}");
        let input = serde_json::json!({
            "Name": name,
            "Value": value,
            "Type": "SecureString",
        });
        let out = run(support::aws_command(&aws, &moto.endpoint())
            .args(["ssm", "put-parameter", "--cli-input-json"])
            .arg(input.to_string()));
        out.assert_code(0);
        let out = run(psc(moto).args(["get", &name]));
        out.assert_code(0);
        assert_eq!(out.0.stdout, value.as_bytes(), "{label}");
    }
}

/// A sentinel value at the highest verbosity with every SDK log on: it
/// appears only where the command's job is to print it (stdout of `get`
/// and `decrypt-env`).
#[test]
fn sentinel_never_leaks_at_trace() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("sentinel");
    let sentinel = format!("SENTINEL-{}-c0ffee", std::process::id());
    let name = format!("{p}/secret");
    let traced = |command: &mut Command| {
        command
            .env("PSC_LOG", "trace")
            .env("LOG_SENSITIVE_BODIES", "true")
            .env("RUST_LOG", "trace")
            .arg("-vvv");
    };
    // `stdout_may_hold_it`: get and decrypt-env print it. Every command
    // checked with `clean` made calls, so SDK trace lines must be there.
    let clean = |out: &support::Run, stdout_may_hold_it: bool| {
        assert!(
            !contains(&out.0.stderr, sentinel.as_bytes()),
            "stderr leaked\n{out}"
        );
        if !stdout_may_hold_it {
            assert!(
                !contains(&out.0.stdout, sentinel.as_bytes()),
                "stdout leaked\n{out}"
            );
        }
        assert!(
            out.stderr().contains(" TRACE "),
            "trace logging is on\n{out}"
        );
    };

    // set: by argument and by stdin, created and overwritten.
    let mut command = psc(moto);
    traced(&mut command);
    let out = run(command.args(["set", &name, &sentinel]));
    out.assert_code(0);
    clean(&out, false);
    let mut command = psc(moto);
    traced(&mut command);
    let out = with_stdin(
        command.args(["set", "--overwrite", "--tag", "a=b", &name]),
        sentinel.as_bytes(),
    );
    out.assert_code(0);
    clean(&out, false);
    // Error paths: exists, invalid name, too large, bad file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad");
    std::fs::write(&file, [sentinel.as_bytes(), b"\xff"].concat()).unwrap();
    for (args, input, code) in [
        (vec!["set", name.as_str(), sentinel.as_str()], "", 1),
        (vec!["set", name.as_str()], sentinel.as_str(), 1),
        (vec!["set", "aws-bad", sentinel.as_str()], "", 2),
        (
            vec!["set", "--type", "Binary", "/a", sentinel.as_str()],
            "",
            2,
        ),
        (
            vec!["set-file", name.as_str(), file.to_str().unwrap()],
            "",
            1,
        ),
    ] {
        let mut command = psc(moto);
        traced(&mut command);
        let out = with_stdin(command.args(&args), input.as_bytes());
        out.assert_code(code);
        assert!(
            !contains(&out.0.stderr, sentinel.as_bytes()),
            "{args:?}\n{out}"
        );
        assert!(
            !contains(&out.0.stdout, sentinel.as_bytes()),
            "{args:?}\n{out}"
        );
    }
    let big = format!("{sentinel}{}", "x".repeat(5000));
    let mut command = psc(moto);
    traced(&mut command);
    let out = with_stdin(command.args(["set", "--overwrite", &name]), big.as_bytes());
    out.assert_code(1);
    assert!(!contains(&out.0.stderr, sentinel.as_bytes()), "{out}");

    // ls, ll: never values.
    for list in ["ls", "ll"] {
        let mut command = psc(moto);
        traced(&mut command);
        let out = run(command.args([list, "-r", &p]));
        out.assert_code(0);
        assert!(out.stdout().contains(&name), "{out}");
        clean(&out, false);
    }

    // get: on stdout only.
    let mut command = psc(moto);
    traced(&mut command);
    let out = run(command.args(["get", &name]));
    out.assert_code(0);
    assert_eq!(out.stdout(), sentinel);
    clean(&out, true);
    let mut command = psc(moto);
    traced(&mut command);
    let out = run(command.args(["get", "--json", &name]));
    out.assert_code(0);
    clean(&out, true);

    // decrypt-env: on stdout when it succeeds, nowhere when it fails.
    let mut command = psc(moto);
    traced(&mut command);
    command.env("S", format!("SECRET {name}"));
    let out = run(command.arg("decrypt-env"));
    out.assert_code(0);
    assert_eq!(out.stdout(), format!("export S='{sentinel}'\n"));
    clean(&out, true);
    let mut command = psc(moto);
    traced(&mut command);
    command
        .env("S", format!("SECRET {name}"))
        .env("M", format!("SECRET {p}/missing"));
    let out = run(command.arg("decrypt-env"));
    out.assert_code(1);
    clean(&out, false);

    // delete: names only.
    let mut command = psc(moto);
    traced(&mut command);
    let out = run(command.args(["delete", "--yes", &name]));
    out.assert_code(0);
    clean(&out, false);
}

#[test]
fn help_has_examples_everywhere() {
    let tripwire = Tripwire::new();
    for args in [
        &["--help"][..],
        &["set", "--help"],
        &["set-file", "--help"],
        &["get", "--help"],
        &["delete", "--help"],
        &["ls", "--help"],
        &["ll", "--help"],
        &["decrypt-env", "--help"],
    ] {
        let out = run(cmd("psc", &tripwire.endpoint()).args(args));
        out.assert_code(0);
        assert!(out.stdout().contains("\nExamples:\n"), "{args:?}\n{out}");
    }
    let out = run(cmd("psc", &tripwire.endpoint()).args(["get", "--help"]));
    let help = out
        .stdout()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(help.contains("only when stdout is a terminal"), "{out}");
    assert!(
        help.contains("into a pipe or a file nothing is added"),
        "{out}"
    );
    let out = run(cmd("psc", &tripwire.endpoint()).args(["decrypt-env", "--help"]));
    assert!(out.stdout().contains("Prefer psc-exec"), "{out}");
    let out = run(cmd("psc", &tripwire.endpoint()).arg("--help"));
    assert!(
        out.stdout().contains("Exit status: 0 success; 1 failure"),
        "{out}"
    );
    // `psc` alone: the help on stderr, exit 2.
    let out = run(&mut cmd("psc", &tripwire.endpoint()));
    out.assert_code(2);
    assert!(out.stderr().contains("Usage: psc"), "{out}");
    tripwire.assert_untouched();
}

#[test]
fn configuration_errors_are_one_line() {
    let tripwire = Tripwire::new();
    let out = run(cmd("psc", &tripwire.endpoint())
        .env_remove("AWS_REGION")
        .args(["ls"]));
    out.assert_code(1).assert_one_line_error("psc");
    assert!(out.stderr().contains("no AWS region"), "{out}");
    let out = run(cmd("psc", &tripwire.endpoint())
        .env("AWS_MAX_ATTEMPTS", "0")
        .args(["get", "/app/x"]));
    out.assert_code(1).assert_one_line_error("psc");
    assert!(out.stderr().contains("AWS_MAX_ATTEMPTS"), "{out}");
    tripwire.assert_untouched();
}

#[test]
fn unreachable_endpoint_is_one_line_naming_the_parameter() {
    // A port nobody listens on: connection refused, retried, then one line.
    let port = support::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run(cmd("psc", &endpoint).env("AWS_MAX_ATTEMPTS", "1").args([
        "set",
        "/app/unreachable",
        "v",
    ]));
    out.assert_code(1).assert_one_line_error("psc");
    // The connector's own words follow, e.g. "(io error: ... Connection refused)".
    let line = out.stderr();
    assert!(
        line.starts_with(
            "psc: cannot reach Parameter Store for ssm:PutParameter (connection failed"
        ) && line.contains("Connection refused")
            && line.ends_with("): /app/unreachable\n"),
        "{out}"
    );
    let out = run(cmd("psc", &endpoint)
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["ls", "/app"]));
    out.assert_code(1).assert_one_line_error("psc");
    // The connector's own words follow, e.g. "(io error: ... Connection refused)".
    let line = out.stderr();
    assert!(
        line.starts_with(
            "psc: cannot reach Parameter Store for ssm:DescribeParameters (connection failed"
        ) && line.contains("Connection refused")
            && line.ends_with("): /app\n"),
        "{out}"
    );
}

#[test]
fn invalid_references_are_usage_errors_in_get_and_decrypt_env() {
    let tripwire = Tripwire::new();
    for reference in [
        "/app/db url",
        "/app//x",
        "arn:aws:ssm:us-east-1:1:parameter//x",
    ] {
        let out = run(cmd("psc", &tripwire.endpoint()).args(["get", reference]));
        out.assert_code(2).assert_one_line_error("psc");
        let out = run(cmd("psc", &tripwire.endpoint())
            .env("BAD", format!("SECRET {reference}"))
            .arg("decrypt-env"));
        out.assert_code(2).assert_one_line_error("psc");
        assert!(
            out.stderr().starts_with("psc: invalid reference: BAD: "),
            "{out}"
        );
    }
    tripwire.assert_untouched();
}

#[test]
fn set_never_echoes_words_of_an_unquoted_value() {
    let tripwire = Tripwire::new();
    let words = ["correct", "horse", "battery", "staple"];
    for (args, shown) in [
        (
            vec!["set", "/app/pass", "correct", "horse", "battery", "staple"],
            "3 unexpected arguments",
        ),
        (
            vec!["set", "/app/pass", "correct", "horse"],
            "1 unexpected argument ",
        ),
        (
            vec![
                "set",
                "--overwrite",
                "/app/pass",
                "correct",
                "horse",
                "battery",
            ],
            "2 unexpected arguments",
        ),
        // clap would quote `-b`, a piece of the value.
        (
            vec!["set", "/app/pass", "correct", "-battery", "staple"],
            "unexpected argument (not shown",
        ),
    ] {
        let out = run(cmd("psc", &tripwire.endpoint()).args(&args));
        out.assert_code(2).assert_one_line_error("psc");
        assert!(out.stderr().contains(shown), "{args:?}\n{out}");
        for word in &words[1..] {
            assert!(!out.stderr().contains(&word[1..]), "{word} echoed\n{out}");
        }
        assert!(!out.stderr().contains("'-b"), "{out}");
    }
    // A mistyped long option is still named.
    let out = run(cmd("psc", &tripwire.endpoint()).args(["set", "--overwirte", "/app/pass", "v"]));
    out.assert_code(2).assert_one_line_error("psc");
    assert!(out.stderr().contains("--overwirte"), "{out}");
    tripwire.assert_untouched();
}

/// A DescribeParameters page naming `name`, with `next` as its NextToken.
fn describe_page(name: &str, next: Option<&str>) -> support::fault::Action {
    let mut body = serde_json::json!({"Parameters": [{
        "Name": name, "Type": "SecureString", "Version": 1, "Tier": "Standard",
    }]});
    if let Some(next) = next {
        body["NextToken"] = next.into();
    }
    support::fault::Action::Respond {
        status: 200,
        body: body.to_string(),
    }
}

#[test]
fn listing_refuses_repeated_and_endless_page_tokens() {
    use support::fault::FakeSsm;
    // The same token twice in a row (the SDK's paginator would stop there
    // without a word), and two tokens taking turns.
    for (tokens, calls) in [(vec!["same", "same"], 2), (vec!["a", "b", "a"], 3)] {
        for list in ["ls", "ll"] {
            let script = tokens.clone();
            let fake = FakeSsm::start(move |call| {
                describe_page(
                    &format!("/app/p{}", call.index),
                    script.get(call.index).copied(),
                )
            });
            let out = run(cmd("psc", &fake.endpoint()).args([list, "-r", "/app"]));
            out.assert_code(1).assert_one_line_error("psc");
            assert_eq!(out.stdout(), "", "no partial list\n{out}");
            assert_eq!(
                out.stderr(),
                format!(
                    "psc: DescribeParameters gave a page token it had given before (page {calls}); \
                     stopped rather than list forever or in part: /app\n"
                )
            );
            assert_eq!(fake.calls(), calls, "{tokens:?}");
        }
    }
    // A new token every time: stopped at 5,000 pages.
    let fake = FakeSsm::start(|call| describe_page("/app/p", Some(&format!("t{}", call.index))));
    let out = run(cmd("psc", &fake.endpoint()).args(["ls", "-r", "/app"]));
    out.assert_code(1).assert_one_line_error("psc");
    assert_eq!(out.stdout(), "", "no partial list\n{out}");
    assert_eq!(
        out.stderr(),
        "psc: DescribeParameters gave a next page after 5000 pages; \
         stopped rather than list forever: /app\n"
    );
    assert_eq!(fake.calls(), 5000);
}

//! `SECRET_FILE` (values as files), `SECRET_TEMPLATE` (values inside larger
//! values) and `--expand-args`, with real files and processes against moto.

mod support;

use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

use support::{Moto, cmd, contains, prefix, run};

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nSENTINEL-file-91ab\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";

fn secrets_dir(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("secrets")
}

#[test]
fn a_file_holds_the_exact_bytes_and_the_child_gets_its_path() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("file");
    moto.put(&format!("{p}/tls_key"), PEM);
    moto.put(&format!("{p}/db_password"), "SENTINEL-file-pw");
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(&dir);
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PSC_EXEC_LOG", "trace")
        .env("TLS_KEY", format!("SECRET_FILE {p}/tls_key"))
        // The `_FILE` convention of many images.
        .env("DB_PASSWORD_FILE", format!("SECRET_FILE {p}/db_password"))
        .args(["--secrets-dir"])
        .arg(&secrets)
        .args(["--", "sh", "-c"])
        .arg(
            r#"cat "$TLS_KEY"; printf '|%s|' "$(cat "$DB_PASSWORD_FILE")"; if tr '\0' '\n' < /proc/self/environ | grep -q SENTINEL; then echo LEAKED; fi"#,
        ));
    out.assert_code(0);
    assert_eq!(out.stdout(), format!("{PEM}|SENTINEL-file-pw|"));
    assert!(!contains(&out.0.stderr, b"SENTINEL"), "{out}");
    let key = secrets.join("TLS_KEY");
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o400);
    // SAFETY: geteuid cannot fail.
    assert_eq!(meta.uid(), unsafe { nix::libc::geteuid() });
    assert_eq!(std::fs::read(&key).unwrap(), PEM.as_bytes());
    assert_eq!(std::fs::metadata(&secrets).unwrap().mode() & 0o777, 0o700);
    // Without --init the files stay (nobody is left to remove them); a
    // second run replaces its own files.
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("TLS_KEY", format!("SECRET_FILE {p}/tls_key"))
        .args(["--secrets-dir"])
        .arg(&secrets)
        .args(["--file-mode", "0440", "--", "true"]));
    out.assert_code(0);
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o440);
}

#[test]
fn unsafe_targets_are_refused_and_left_untouched() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("file-unsafe");
    moto.put(&format!("{p}/k"), "SENTINEL-file-unsafe");
    let dir = tempfile::tempdir().unwrap();
    let launch = |secrets: &std::path::Path| {
        run(cmd("psc-exec", &moto.endpoint())
            .env("KEY", format!("SECRET_FILE {p}/k"))
            .arg("--secrets-dir")
            .arg(secrets)
            .args(["--", "true"]))
    };
    // A symlink planted at the target.
    let secrets = dir.path().join("planted");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, secrets.join("KEY")).unwrap();
    let out = launch(&secrets);
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("refusing to replace"), "{out}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        std::fs::symlink_metadata(secrets.join("KEY"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A refusal after an earlier file was written: that file goes too
    // (A is written before KEY).
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET_FILE {p}/k"))
        .env("KEY", format!("SECRET_FILE {p}/k"))
        .arg("--secrets-dir")
        .arg(&secrets)
        .args(["--", "true"]));
    out.assert_code(125);
    assert!(!secrets.join("A").exists(), "{out}");
    let left: Vec<_> = std::fs::read_dir(&secrets)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("KEY")],
        "only the planted link"
    );
    // A world-writable directory.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = launch(&open);
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("others can write to it"), "{out}");
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
    // A symlink as the directory.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&secrets, &link).unwrap();
    let out = launch(&link);
    out.assert_code(125);
    assert!(out.stderr().contains("is a symlink"), "{out}");
    // Another user's file at the target (root can make one).
    if support::root() {
        let foreign = dir.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(foreign.join("KEY"), "theirs").unwrap();
        std::os::unix::fs::chown(foreign.join("KEY"), Some(65534), Some(65534)).unwrap();
        let out = launch(&foreign);
        out.assert_code(125);
        assert_eq!(
            std::fs::read_to_string(foreign.join("KEY")).unwrap(),
            "theirs"
        );
    }
}

#[test]
fn a_missing_reference_leaves_no_file_behind() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("file-missing");
    moto.put(&format!("{p}/a"), "a");
    moto.put(&format!("{p}/c"), "c");
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(&dir);
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET_FILE {p}/a"))
        .env("B", format!("SECRET_FILE {p}/missing"))
        .env("C", format!("SECRET_FILE {p}/c"))
        .arg("--secrets-dir")
        .arg(&secrets)
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains(&format!("B -> {p}/missing")), "{out}");
    let left = std::fs::read_dir(&secrets)
        .map(Iterator::count)
        .unwrap_or(0);
    assert_eq!(left, 0);
    // A command that cannot be started: nothing started, nothing left.
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET_FILE {p}/a"))
        .arg("--secrets-dir")
        .arg(&secrets)
        .args(["--", "/nonexistent/command"]));
    out.assert_code(127);
    assert_eq!(std::fs::read_dir(&secrets).unwrap().count(), 0);
}

#[test]
fn init_removes_the_files_when_the_child_exits_or_is_stopped() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("file-init");
    moto.put(&format!("{p}/a"), "SENTINEL-file-init");
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(&dir);
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET_FILE {p}/a"))
        .arg("--secrets-dir")
        .arg(&secrets)
        .args([
            "--init",
            "--",
            "sh",
            "-c",
            r#"test "$(cat "$A")" = SENTINEL-file-init"#,
        ]));
    out.assert_code(0);
    assert_eq!(std::fs::read_dir(&secrets).unwrap().count(), 0);
    // SIGTERM to psc-exec: forwarded, the child ends, the files go.
    let mut child = cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET_FILE {p}/a"))
        .arg("--secrets-dir")
        .arg(&secrets)
        .args(["--init", "--", "sh", "-c", "echo started; exec sleep 60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "started\n");
    assert_eq!(std::fs::read_dir(&secrets).unwrap().count(), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert_eq!(std::fs::read_dir(&secrets).unwrap().count(), 0);
}

#[test]
fn file_owner_as_root() {
    require_moto!();
    if !support::root() {
        return;
    }
    let moto = Moto::shared();
    let p = prefix("file-owner");
    moto.put(&format!("{p}/a"), "x");
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(&dir);
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET_FILE {p}/a"))
        .arg("--secrets-dir")
        .arg(&secrets)
        .args(["--file-owner", "65534:65534", "--", "true"]));
    out.assert_code(0);
    let meta = std::fs::metadata(secrets.join("A")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (65534, 65534, 0o400)
    );
}

#[test]
fn templates_compose_values_in_one_fetch() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("template");
    moto.put(&format!("{p}/pw"), "p@ss:w/rd%");
    moto.put(&format!("{p}/api"), r#"{"key":"K-SENTINEL-tpl"}"#);
    moto.start_recording();
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PSC_EXEC_LOG", "trace")
        .env(
            "DB_URL",
            format!("SECRET_TEMPLATE postgres://app:{{{{ {p}/pw | url }}}}@db:5432/app?raw={{{{{p}/pw}}}}"),
        )
        .env("JAVA_OPTS", format!("SECRET_TEMPLATE -Dapi.key={{{{ {p}/api#key }}}} {{{{ \"{{{{\" }}}}x}}}}"))
        .env("PLAIN_PW", format!("SECRET {p}/pw"))
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    assert_eq!(
        env[&OsString::from("DB_URL")],
        OsString::from("postgres://app:p%40ss%3Aw%2Frd%25@db:5432/app?raw=p@ss:w/rd%")
    );
    assert_eq!(
        env[&OsString::from("JAVA_OPTS")],
        OsString::from("-Dapi.key=K-SENTINEL-tpl {{x}}")
    );
    assert_eq!(
        env[&OsString::from("PLAIN_PW")],
        OsString::from("p@ss:w/rd%")
    );
    // Two placeholders of one parameter, a #key and a plain reference: one call.
    assert_eq!(moto.count_calls("AmazonSSM.GetParameters"), 1);
    assert!(!contains(&out.0.stderr, b"SENTINEL"), "{out}");
}

#[test]
fn malformed_templates_are_refused_before_any_call() {
    let tripwire = support::Tripwire::new();
    for (template, expected) in [
        ("x {{ /a", "never closed"),
        ("x {{ }}", "empty placeholder"),
        ("{{ /a | upper }}", "unknown function"),
    ] {
        let out = run(cmd("psc-exec", &tripwire.endpoint())
            .env("T", format!("SECRET_TEMPLATE {template}"))
            .args(["--", "true"]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        assert!(
            out.stderr().contains("T: template: ") && out.stderr().contains(expected),
            "{out}"
        );
    }
    tripwire.assert_untouched();
}

#[test]
fn check_shows_files_and_one_row_per_placeholder() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("file-check");
    moto.put(&format!("{p}/a"), "SENTINEL-file-check");
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_dir(&dir);
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("F", format!("SECRET_FILE {p}/a"))
        .env(
            "T",
            format!("SECRET_TEMPLATE {{{{ {p}/a }}}}-{{{{ {p}/gone }}}}"),
        )
        .arg("--secrets-dir")
        .arg(&secrets)
        .args(["--check", "--format", "json"]));
    out.assert_code(125);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let rows: Vec<(String, String, Option<String>)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["variable"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["file"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "F".to_owned(),
                "ok".to_owned(),
                Some(secrets.join("F").display().to_string())
            ),
            ("T{1}".to_owned(), "ok".to_owned(), None),
            ("T{2}".to_owned(), "missing".to_owned(), None),
        ]
    );
    assert!(!secrets.exists(), "--check writes nothing");
    assert!(out.stderr().contains("is not on a tmpfs"), "{out}");
    assert!(!contains(&out.0.stdout, b"SENTINEL") && !contains(&out.0.stderr, b"SENTINEL"));
}

#[test]
fn expand_args_only_when_asked() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("expand");
    moto.put(&format!("{p}/pw"), "hunter2");
    let script = r#"tr '\0' ' ' < /proc/self/cmdline"#;
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PW", format!("SECRET {p}/pw"))
        .args(["--", "sh", "-c", script, "sh", "--password=${PW}", "$${PW}"]));
    out.assert_code(0);
    assert!(
        out.stdout().ends_with("sh --password=${PW} $${PW} "),
        "{out}"
    );
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PW", format!("SECRET {p}/pw"))
        .args([
            "--expand-args",
            "--",
            "sh",
            "-c",
            script,
            "sh",
            "--password=${PW}",
            "$${PW}",
        ]));
    out.assert_code(0);
    assert!(
        out.stdout().ends_with("sh --password=hunter2 ${PW} "),
        "{out}"
    );
    assert!(out.stderr().contains("visible to every user"), "{out}");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("PW", format!("SECRET {p}/pw"))
        .args(["--expand-args", "--", "echo", "${NOPE}"]));
    out.assert_code(125);
    assert!(out.stderr().contains("${NOPE}"), "{out}");
}

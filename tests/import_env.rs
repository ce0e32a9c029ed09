//! `psc import-env` (a dotenv file into one SecureString per variable under
//! a path, read back by `psc-exec --path`), and `psc decrypt-env`'s failure
//! output stopping the shell that sources it.

mod support;

use std::ffi::OsString;
use std::process::Command;

use support::{Moto, cmd, contains, find_program, prefix, run};

const SENTINEL: &str = "SENTINEL-import-d41c";

fn dotenv(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(".env");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_dotenv_form_round_trips_through_a_path() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("import");
    let dir = tempfile::tempdir().unwrap();
    let file = dotenv(
        &dir,
        &format!(
            "# service settings\n\nexport DB_URL=postgres://app:{SENTINEL}@db:5432/app\nsingle='$NOT_EXPANDED \"q\" \\n'\nDOUBLE=\"a\\nb \\\"c\\\" \\\\\"\nPEM=\"-----BEGIN KEY-----\nabc\n-----END KEY-----\"\nSPACES=  lead and trail  \n"
        ),
    );
    let out = run(cmd("psc", &moto.endpoint())
        .env("PSC_LOG", "trace")
        .env("LOG_SIGNABLE_BODY", "true")
        .env("LOG_SENSITIVE_BODIES", "true")
        .args(["-vvv", "import-env", "--path", &format!("{p}/dev")])
        .arg(&file));
    out.assert_code(0);
    assert_eq!(
        out.stdout(),
        ["DB_URL", "single", "DOUBLE", "PEM", "SPACES"]
            .map(|k| format!("{p}/dev/{k}\n"))
            .concat()
    );
    assert!(!contains(&out.0.stderr, SENTINEL.as_bytes()), "{out}");
    let out = run(cmd("psc-exec", &moto.endpoint()).args([
        "--path",
        &format!("{p}/dev"),
        "--",
        "env",
        "-0",
    ]));
    out.assert_code(0);
    let env = out.env0();
    for (name, value) in [
        ("DB_URL", format!("postgres://app:{SENTINEL}@db:5432/app")),
        ("single", "$NOT_EXPANDED \"q\" \\n".to_owned()),
        ("DOUBLE", "a\nb \"c\" \\".to_owned()),
        (
            "PEM",
            "-----BEGIN KEY-----\nabc\n-----END KEY-----".to_owned(),
        ),
        ("SPACES", "  lead and trail  ".to_owned()),
    ] {
        assert_eq!(env[&OsString::from(name)], OsString::from(&value), "{name}");
    }
    // Stored as SecureStrings (read independently of psc).
    let client = moto.client();
    let kind = support::block_on(async {
        client
            .get_parameter()
            .name(format!("{p}/dev/DB_URL"))
            .send()
            .await
            .unwrap()
            .parameter
            .unwrap()
            .r#type
            .unwrap()
    });
    assert_eq!(kind, aws_sdk_ssm::types::ParameterType::SecureString);
}

#[test]
fn a_bad_file_writes_nothing() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("import-bad");
    let dir = tempfile::tempdir().unwrap();
    moto.start_recording();
    for (text, expected) in [
        ("A=1\nB=2\nA=3\n", "line 3: A again (first on line 1)"),
        (
            "GOOD=1\nBAD-NAME=2\n",
            "line 2: BAD-NAME is not a variable name",
        ),
        ("GOOD=1\nEMPTY=\n", "line 2: EMPTY is empty"),
        ("GOOD=1\nREF=${HOME}/x\n", "line 2: $NAME is not expanded"),
        ("GOOD=1\nOPEN='never closed\n", "line 2: ' is never closed"),
    ] {
        let file = dotenv(&dir, text);
        let out = run(cmd("psc", &moto.endpoint())
            .args(["import-env", "--path", &format!("{p}/x")])
            .arg(&file));
        out.assert_code(2).assert_one_line_error("psc");
        assert!(out.stderr().contains(expected), "{text:?}\n{out}");
    }
    // A value over Parameter Store's limit is found before any write too.
    let file = dotenv(&dir, &format!("OK=1\nBIG={}\n", "x".repeat(5000)));
    let out = run(cmd("psc", &moto.endpoint())
        .args(["import-env", "--path", &format!("{p}/x")])
        .arg(&file));
    out.assert_code(2);
    assert!(out.stderr().contains("line 2: BIG"), "{out}");
    // Existing parameters need --overwrite: nothing written when refused.
    moto.put(&format!("{p}/y/B"), "old");
    let file = dotenv(&dir, "A=new-a\nB=new-b\n");
    let out = run(cmd("psc", &moto.endpoint())
        .args(["import-env", "--path", &format!("{p}/y")])
        .arg(&file));
    out.assert_code(1).assert_one_line_error("psc");
    assert!(out.stderr().contains(&format!("{p}/y/B")), "{out}");
    assert_eq!(
        moto.count_calls("AmazonSSM.PutParameter"),
        1,
        "only the seed"
    );
    // --dry-run: the names, and no call at all.
    let calls_before = moto.recorded_targets().len();
    let out = run(cmd("psc", &moto.endpoint())
        .args(["import-env", "--dry-run", "--path", &format!("{p}/y")])
        .arg(&file));
    out.assert_code(0);
    assert_eq!(out.stdout(), format!("{p}/y/A\n{p}/y/B\n"));
    assert_eq!(moto.recorded_targets().len(), calls_before);
    // --overwrite replaces.
    let out = run(cmd("psc", &moto.endpoint())
        .args(["import-env", "--overwrite", "--path", &format!("{p}/y")])
        .arg(&file));
    out.assert_code(0);
    let get = run(cmd("psc", &moto.endpoint()).args(["get", &format!("{p}/y/B")]));
    assert_eq!(get.stdout(), "new-b");
}

/// Each shell, once as a script (it must stop) and once interactive (it
/// must go on with a failed status).
#[test]
fn a_failed_decrypt_env_stops_the_script_that_sources_it() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("decrypt-fail");
    let psc = support::bin("psc");
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "dash", "zsh"] {
        let Some(program) =
            support::tool(shell, find_program(shell), "apt-get install bash dash zsh")
        else {
            continue;
        };
        let forms: &[&str] = if shell == "dash" {
            &["eval \"$(PSC decrypt-env)\""]
        } else {
            &["eval \"$(PSC decrypt-env)\"", "source <(PSC decrypt-env)"]
        };
        for form in forms {
            let line = form.replace("PSC", &psc.to_string_lossy());
            for interactive in [false, true] {
                let mut command = Command::new(&program);
                support::copy_env_of(&cmd("psc", &moto.endpoint()), &mut command);
                command
                    .env("HOME", home.path())
                    .env("MISSING", format!("SECRET {p}/missing"))
                    .arg(if interactive { "-ic" } else { "-c" })
                    .arg(format!("{line}; echo \"went on with $?\""));
                let out = run(&mut command);
                if interactive {
                    assert_eq!(
                        out.stdout(),
                        "went on with 1\n",
                        "{shell} -i: {form}\n{out}"
                    );
                } else {
                    out.assert_code(1);
                    assert_eq!(out.stdout(), "", "{shell}: {form}\n{out}");
                }
                assert!(
                    out.stderr().contains("psc: parameters not found"),
                    "{shell}: {out}"
                );
            }
        }
    }
}

#[test]
fn a_decrypt_env_usage_error_stops_the_script_too() {
    let Some(bash) = support::tool("bash", find_program("bash"), "apt-get install bash") else {
        return;
    };
    let psc = support::bin("psc");
    let mut command = Command::new(bash);
    support::copy_env_of(&cmd("psc", "http://127.0.0.1:9"), &mut command);
    command.arg("-c").arg(format!(
        "eval \"$({} decrypt-env --no-such-flag)\"; echo went on",
        psc.to_string_lossy()
    ));
    let out = run(&mut command);
    out.assert_code(1);
    assert_eq!(out.stdout(), "", "{out}");
}

#[test]
fn the_original_psc_debug_flag_is_verbose_logging() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("debug-flag");
    let out = run(cmd("psc", &moto.endpoint()).args([
        "set",
        "--debug",
        "--type",
        "String",
        &format!("{p}/x"),
        "v",
    ]));
    out.assert_code(0);
    assert!(out.stderr().contains("DEBUG"), "{out}");
}

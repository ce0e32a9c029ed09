//! Nothing of a value reaches the log at the highest verbosity, whatever
//! the SDK's own variables say: `LOG_SIGNABLE_BODY=true` would make the
//! SigV4 signer print the body it signs (a PutParameter request holds the
//! value), `LOG_SENSITIVE_BODIES=true` the bodies of sensitive answers;
//! and the signer's and HTTP layers' trace events (canonical request,
//! string to sign, the body's SHA-256, its length) are kept out of the log
//! whatever the filter says.

mod support;

use std::process::Command;

use sha2::Digest as _;
use support::{Moto, cmd, contains, prefix, run};

fn sentinel(test: &str) -> String {
    format!("SENTINEL-{test}-{}-5eed", std::process::id())
}

/// Both ways to ask for trace: `-vvv` (our own crate's events; the SDK's
/// stay at errors), and the variable too (which wins: every target at
/// trace, the SDK's included).
fn traced(command: &mut Command, variable: &str, everything: bool) {
    command
        .env("LOG_SIGNABLE_BODY", "true")
        .env("LOG_SENSITIVE_BODIES", "true")
        .env("RUST_LOG", "trace")
        .arg("-vvv");
    if everything {
        command.env(variable, "trace");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value, its SHA-256 and anything shaped like a SHA-256 (a body
/// hash, the hash of a canonical request, a signature) are nowhere in
/// `text`; neither is a content length.
#[track_caller]
fn clean(text: &[u8], value: &str, out: &support::Run) {
    assert!(!contains(text, value.as_bytes()), "the value leaked\n{out}");
    // As the signer's `Debug` of a body shows it: a list of byte values.
    let listed = format!("{:?}", value.as_bytes());
    let listed = listed.trim_start_matches('[').trim_end_matches(']');
    assert!(
        !contains(text, listed.as_bytes()),
        "the value leaked as bytes\n{out}"
    );
    let digest = hex(&sha2::Sha256::digest(value.as_bytes()));
    assert!(
        !contains(text, digest.as_bytes()),
        "its SHA-256 leaked\n{out}"
    );
    let text = String::from_utf8_lossy(text);
    let hash_like = text
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() >= 64);
    assert_eq!(hash_like, None, "a hash-like string was logged\n{out}");
    let lower = text.to_ascii_lowercase();
    for word in ["content-length", "canonical", "string_to_sign", "signable"] {
        assert!(!lower.contains(word), "{word} was logged\n{out}");
    }
}

#[test]
fn psc_set_and_set_file_log_no_body_at_trace() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("bodylog");
    let value = sentinel("set");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("value.txt");
    std::fs::write(&file, &value).unwrap();
    for everything in [false, true] {
        let name = format!("{p}/by-{}", if everything { "variable" } else { "flag" });
        let runs = [
            vec!["set".to_owned(), name.clone(), value.clone()],
            vec![
                "set".to_owned(),
                "--overwrite".to_owned(),
                "--tag".to_owned(),
                "a=b".to_owned(),
                name.clone(),
                value.clone(),
            ],
            vec![
                "set-file".to_owned(),
                "--overwrite".to_owned(),
                name.clone(),
                file.display().to_string(),
            ],
        ];
        for args in runs {
            let mut command = cmd("psc", &moto.endpoint());
            traced(&mut command, "PSC_LOG", everything);
            let out = run(command.args(&args));
            out.assert_code(0);
            if everything {
                assert!(out.stderr().contains(" TRACE "), "trace is on\n{out}");
                assert!(
                    out.stderr().contains("PutParameter"),
                    "the SDK's own events are logged\n{out}"
                );
            }
            clean(&out.0.stderr, &value, &out);
            clean(&out.0.stdout, &value, &out);
        }
        let got = run(cmd("psc", &moto.endpoint()).args(["get", &name]));
        assert_eq!(got.stdout(), value, "stored\n{got}");
    }
}

#[test]
fn psc_exec_logs_no_body_at_trace_and_the_child_keeps_the_variables() {
    require_moto!();
    let moto = Moto::shared();
    let name = format!("{}/db", prefix("bodylog-exec"));
    let value = sentinel("exec");
    moto.put(&name, &value);
    for everything in [false, true] {
        let mut command = cmd("psc-exec", &moto.endpoint());
        traced(&mut command, "PSC_EXEC_LOG", everything);
        let out = run(command.env("S", format!("SECRET {name}")).args([
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$S\" \"$LOG_SIGNABLE_BODY\" \"$LOG_SENSITIVE_BODIES\"",
        ]));
        out.assert_code(0);
        assert_eq!(out.stdout(), format!("{value}|true|true"), "{out}");
        if everything {
            assert!(out.stderr().contains(" TRACE "), "trace is on\n{out}");
        }
        clean(&out.0.stderr, &value, &out);
    }
}

//! psc-exec end to end: the real binary against moto_server.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;

use support::{Moto, Tripwire, cmd, contains, prefix, run};

fn psc_exec(moto: &Moto) -> std::process::Command {
    cmd("psc-exec", &moto.endpoint())
}

/// The seed's example: VAR3 is not stored.
#[test]
fn missing_parameter_fails_closed_and_keep_passes_it_through() {
    require_moto!();
    let moto = Moto::shared();
    // The issue's own names; no other test uses `staging.test.`.
    for (name, value) in [
        ("staging.test.VAR1", "value one"),
        ("staging.test.VAR2", "two 'quoted'"),
        ("staging.test.VAR4", "four\nlines"),
        (
            "staging.myservice.db_url",
            "mongodb://admin:pw@db:27017/app",
        ),
    ] {
        moto.put(name, value);
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("child-ran");
    let with_env = |command: &mut std::process::Command| {
        command
            .env("VAR1", "SECRET staging.test.VAR1")
            .env("VAR2", "SECRET staging.test.VAR2")
            .env("VAR3", "SECRET staging.test.VAR3")
            .env("VAR4", "SECRET staging.test.VAR4")
            .env("LOG_LEVEL", "debug")
            .env("DB_URL", "SECRET staging.myservice.db_url");
    };

    let mut failing = psc_exec(moto);
    with_env(&mut failing);
    failing.args(["--", "touch"]).arg(&marker);
    let out = run(&mut failing);
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert_eq!(
        out.stderr(),
        "psc-exec: parameters not found: VAR3 -> staging.test.VAR3\n"
    );
    assert!(!marker.exists(), "the child ran");

    let mut keeping = psc_exec(moto);
    with_env(&mut keeping);
    keeping.args(["--on-missing", "keep", "--", "env", "-0"]);
    let out = run(&mut keeping);
    out.assert_code(0);
    let env = out.env0();
    let get = |k: &str| env.get(&OsString::from(k)).cloned().unwrap_or_default();
    assert_eq!(get("VAR1"), "value one");
    assert_eq!(get("VAR2"), "two 'quoted'");
    assert_eq!(get("VAR3"), "SECRET staging.test.VAR3");
    assert_eq!(get("VAR4"), "four\nlines");
    assert_eq!(get("LOG_LEVEL"), "debug");
    assert_eq!(get("DB_URL"), "mongodb://admin:pw@db:27017/app");
    assert_eq!(
        out.stderr(),
        "psc-exec: warning: parameters not found: VAR3 -> staging.test.VAR3 (kept as they were)\n"
    );

    // The same through the environment variable, and `unset`.
    let mut unsetting = psc_exec(moto);
    with_env(&mut unsetting);
    unsetting
        .env("PSC_EXEC_ON_MISSING", "unset")
        .args(["env", "-0"]);
    let out = run(&mut unsetting);
    out.assert_code(0);
    let env = out.env0();
    assert!(!env.contains_key(&OsString::from("VAR3")), "{out}");
    assert_eq!(env[&OsString::from("VAR1")], "value one");
}

#[test]
fn every_missing_parameter_is_named_in_one_line() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("many-missing");
    moto.put(&format!("{p}/here"), "x");
    let out = run(psc_exec(moto)
        .env("A_HERE", format!("SECRET {p}/here"))
        .env("B_GONE", format!("SECRET {p}/gone"))
        .env("C_GONE", format!("SECRET  {p}/also-gone:3 "))
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    let stderr = out.stderr();
    assert!(stderr.contains(&format!("B_GONE -> {p}/gone")), "{out}");
    assert!(
        stderr.contains(&format!("C_GONE -> {p}/also-gone:3")),
        "{out}"
    );
    assert!(!stderr.contains("A_HERE"), "{out}");
}

#[test]
fn values_reach_the_child_byte_exact() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("exact");
    let big: String = (0..4096)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let values = [
        ("SPACES", "  leading and trailing  "),
        ("QUOTES", r#"it's "quoted" `back`"#),
        ("SUBST", "$(touch pwned) ${HOME} `touch pwned2`"),
        ("NEWLINE", "line one\nline two\n"),
        ("EQUALS", "a=b=c"),
        ("UNICODE", "pässwörd ✓ 秘密 🔑"),
        ("BIG", big.as_str()),
    ];
    let mut command = psc_exec(moto);
    for (var, value) in values {
        let name = format!("{p}/{}", var.to_lowercase());
        moto.put(&name, value);
        command.env(var, format!("SECRET {name}"));
    }
    // A StringList comes through as SSM returns it: comma-joined.
    moto.put_typed(
        &format!("{p}/list"),
        "a,b , c",
        aws_sdk_ssm::types::ParameterType::StringList,
    );
    command.env("LIST", format!("SECRET {p}/list"));
    let dir = tempfile::tempdir().unwrap();
    command
        .current_dir(dir.path())
        .env(
            "PLAIN_RAW",
            OsString::from_vec(b"\xff\xfe not utf-8 = ok".to_vec()),
        )
        .args(["--", "env", "-0"]);
    let out = run(&mut command);
    out.assert_code(0);
    let env = out.env0();
    for (var, value) in values {
        assert_eq!(
            env.get(&OsString::from(var)).map(|v| v.as_encoded_bytes()),
            Some(value.as_bytes()),
            "{var}"
        );
    }
    assert_eq!(env[&OsString::from("LIST")], "a,b , c");
    assert_eq!(
        env[&OsString::from("PLAIN_RAW")].as_encoded_bytes(),
        b"\xff\xfe not utf-8 = ok"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file appeared"
    );
}

/// 35 variables, 31 distinct references: exactly ceil(31/10) = 4 calls.
#[test]
fn distinct_references_cost_ceil_n_over_ten_calls() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("batch");
    let mut command = psc_exec(&moto);
    for i in 0..31 {
        moto.put(&format!("{p}/p{i:02}"), &format!("value-{i}"));
    }
    for i in 0..35 {
        command.env(format!("VAR_{i:02}"), format!("SECRET {p}/p{:02}", i % 31));
    }
    moto.start_recording();
    let out = run(command.args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    for i in 0..35 {
        assert_eq!(
            env[&OsString::from(format!("VAR_{i:02}"))],
            format!("value-{}", i % 31).as_str()
        );
    }
    assert_eq!(moto.count_calls("AmazonSSM.GetParameters"), 4);
    assert_eq!(moto.recorded_targets().len(), 4, "no other calls");
}

#[test]
fn the_child_replaces_psc_exec() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("pid");
    moto.put(&format!("{p}/v"), "x");
    let child = psc_exec(moto)
        .env("V", format!("SECRET {p}/v"))
        .args(["sh", "-c", "echo $$; exit 42"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        pid.to_string()
    );
    assert_eq!(output.status.code(), Some(42));

    let out =
        run(psc_exec(moto)
            .env("V", format!("SECRET {p}/v"))
            .args(["sh", "-c", "kill -TERM $$"]));
    assert_eq!(out.0.status.signal(), Some(15), "{out}");
}

#[test]
fn exit_codes_for_commands_that_cannot_run() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("exec-errors");
    moto.put(&format!("{p}/v"), "x");
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("script.sh");
    std::fs::write(&not_executable, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    for with_reference in [false, true] {
        let mut base = psc_exec(moto);
        if with_reference {
            base.env("V", format!("SECRET {p}/v"));
        }
        let out = run(support::cmd_copy(&base).args(["--", "no-such-command-psc"]));
        out.assert_code(127).assert_one_line_error("psc-exec");
        assert!(out.stderr().contains("no-such-command-psc"), "{out}");
        let out = run(support::cmd_copy(&base).arg("--").arg(&not_executable));
        out.assert_code(126).assert_one_line_error("psc-exec");
        let out = run(support::cmd_copy(&base).arg("--").arg(dir.path()));
        out.assert_code(126).assert_one_line_error("psc-exec");
    }
}

#[test]
fn usage_errors_exit_125_with_one_line() {
    let tripwire = Tripwire::new();
    for args in [
        &[][..],
        &["--no-such-flag", "true"],
        &["--on-missing", "maybe", "true"],
        &["--timeout", "soon", "true"],
    ] {
        let out = run(cmd("psc-exec", &tripwire.endpoint()).args(args));
        out.assert_code(125).assert_one_line_error("psc-exec");
    }
    let out = run(cmd("psc-exec", &tripwire.endpoint()).arg("--help"));
    out.assert_code(0);
    assert!(out.stdout().contains("Examples:"), "{out}");
    tripwire.assert_untouched();
}

/// Works without `--`, and options after the command belong to it.
#[test]
fn command_without_double_dash_keeps_its_own_flags() {
    let tripwire = Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint()).args([
        "sh",
        "-c",
        "echo \"$0 $1\"",
        "-v",
        "--on-missing",
    ]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "-v --on-missing\n");
}

/// No references: no configuration, no connection, exec at once, even with
/// no credentials, no region and settings that would make aws-config panic.
#[test]
fn no_references_touch_no_network() {
    let tripwire = Tripwire::new();
    let raw = OsString::from_vec(b"caf\xe9 SECRET".to_vec());
    let out = run(std::process::Command::new(support::bin("psc-exec"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_ENDPOINT_URL", tripwire.endpoint())
        .env("AWS_MAX_ATTEMPTS", "not-a-number")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("LOG_LEVEL", "debug")
        .env("NOT_A_REF", "SECRETS are fine")
        .env("DASHED-NAME", "SECRET looks.like.one")
        .env("RAW", &raw)
        .args(["-vvv", "--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    assert_eq!(env.len(), 8, "{out}");
    assert_eq!(env[&OsString::from("NOT_A_REF")], "SECRETS are fine");
    assert_eq!(env[&OsString::from("DASHED-NAME")], "SECRET looks.like.one");
    assert_eq!(env[&OsString::from("RAW")], raw);
    tripwire.assert_untouched();
}

/// What the no-reference start-up of a glibc build (`cargo build`, `cargo
/// install`) rests on (build.rs, `pow` in src/lib.rs; README, "No
/// references: what the path pays"): both binaries load libc alone (no
/// libgcc_s, no libm), and psc-exec is linked at a fixed address unless
/// the build asked for a PIE.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_glibc_build_loads_libc_alone_and_psc_exec_is_not_relocated() {
    const ET_EXEC: u16 = 2;
    const ET_DYN: u16 = 3;
    let pie = option_env!("PSC_EXEC_PIE").is_some_and(|v| !v.is_empty() && v != "0");
    let Some(readelf) = support::tool(
        "readelf",
        support::find_program("readelf"),
        "install binutils",
    ) else {
        return;
    };
    for (name, elf_type) in [
        ("psc-exec", if pie { ET_DYN } else { ET_EXEC }),
        ("psc", ET_DYN),
    ] {
        let path = support::bin(name);
        let header = std::fs::read(&path).unwrap();
        assert_eq!(
            u16::from_le_bytes([header[16], header[17]]),
            elf_type,
            "{name}: ELF type (2: fixed address, 3: position-independent)"
        );
        // The dynamic section's NEEDED entries and the undefined symbols.
        let out = run(std::process::Command::new(&readelf)
            .args(["-d", "--dyn-syms", "-W"])
            .arg(&path));
        out.assert_code(0);
        let dynamic = out.stdout();
        let needed: Vec<&str> = dynamic
            .lines()
            .filter(|line| line.contains("(NEEDED)"))
            .filter_map(|line| line.split('[').nth(1)?.strip_suffix(']'))
            .collect();
        assert!(needed.contains(&"libc.so.6"), "{name}: {needed:?}");
        // libgcc_s stays where the linker has no libgcc_eh.a (build.rs).
        // GNU ld (not rustc's default lld on x86_64) keeps libm in a build
        // without LTO for references in sections it drops later; nothing
        // is imported from it either way (below).
        let gcc_eh = option_env!("PSC_EXEC_GCC_EH").is_some();
        assert!(
            needed.iter().all(|lib| *lib == "libc.so.6"
                || lib.starts_with("ld-linux")
                || (!gcc_eh && lib.starts_with("libgcc_s"))
                || (cfg!(debug_assertions) && *lib == "libm.so.6")),
            "{name} loads more than libc (and the loader it runs under): {needed:?}"
        );
        let imported: Vec<&str> = dynamic
            .lines()
            .filter(|line| line.contains(" UND "))
            .filter_map(|line| line.split_whitespace().nth(7))
            .map(|symbol| symbol.split('@').next().unwrap_or(symbol))
            .collect();
        assert!(imported.contains(&"malloc"), "{name}: {imported:?}");
        assert!(!imported.contains(&"pow"), "{name} imports pow");
    }
}

/// Invalid references are reported before any call, all in one line.
#[test]
fn invalid_references_fail_before_any_call() {
    let tripwire = Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env("GOOD", "SECRET /app/db")
        .env("SPACED", "SECRET /app/db url")
        .env("EMPTY", "SECRET    ")
        .env("SELECTOR", "SECRET /app/db:")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    let stderr = out.stderr();
    for var in ["SPACED", "EMPTY", "SELECTOR"] {
        assert!(stderr.contains(var), "{out}");
    }
    assert!(!stderr.contains("GOOD"), "{out}");
    tripwire.assert_untouched();
}

/// The PATH searched is the child's: here it is itself a resolved secret.
#[test]
fn command_is_looked_up_in_the_childs_path() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("path");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("only-in-secret-path");
    std::fs::write(&script, "#!/bin/sh\necho found\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    moto.put(
        &format!("{p}/path"),
        &format!("{}:/usr/bin:/bin", dir.path().display()),
    );
    let out = run(psc_exec(moto)
        .env("PATH", format!("SECRET {p}/path"))
        .args(["--", "only-in-secret-path"]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "found\n");
}

/// A sentinel value at the highest verbosity appears only in the child.
#[test]
fn sentinel_value_never_leaves_the_child() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("sentinel");
    let sentinel = format!("SENTINEL-{}-c0ffee", std::process::id());
    moto.put(&format!("{p}/secret"), &sentinel);
    moto.put(
        &format!("{p}/json"),
        &format!(r#"{{"password":"{sentinel}-json"}}"#),
    );
    let dir = tempfile::tempdir().unwrap();
    let child_saw = dir.path().join("child-env");
    for verbosity in [&["-vvv"][..], &[][..]] {
        for log in ["trace", ""] {
            let mut command = psc_exec(moto);
            command
                .env("DB_PASSWORD", format!("SECRET {p}/secret"))
                .env("JSON_PASSWORD", format!("SECRET {p}/json#password"))
                .env("MISSING", format!("SECRET {p}/missing"))
                .env("LOG_SENSITIVE_BODIES", "true")
                .env("RUST_LOG", "trace")
                .env("PSC_EXEC_LOG", log)
                .args(verbosity)
                .args(["--on-missing", "keep", "--", "sh", "-c", "env > \"$0\""])
                .arg(&child_saw);
            let out = run(&mut command);
            out.assert_code(0);
            assert!(
                !contains(&out.0.stdout, sentinel.as_bytes()),
                "stdout leaked\n{out}"
            );
            assert!(
                !contains(&out.0.stderr, sentinel.as_bytes()),
                "stderr leaked\n{out}"
            );
            if log == "trace" {
                assert!(
                    out.stderr().contains("GetParameters"),
                    "trace logging is on\n{out}"
                );
            }
            let seen = std::fs::read_to_string(&child_saw).unwrap();
            assert!(
                seen.contains(&format!("DB_PASSWORD={sentinel}\n")),
                "{seen}"
            );
            assert!(
                seen.contains(&format!("JSON_PASSWORD={sentinel}-json\n")),
                "{seen}"
            );
        }
    }
}

/// A bad AWS_MAX_ATTEMPTS is a configuration error, not a panic.
#[test]
fn invalid_sdk_retry_settings_are_a_clear_error() {
    let tripwire = Tripwire::new();
    for (var, value) in [
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_MAX_ATTEMPTS", "many"),
        ("AWS_RETRY_MODE", "eager"),
    ] {
        let out = run(cmd("psc-exec", &tripwire.endpoint())
            .env(var, value)
            .env("V", "SECRET /app/v")
            .args(["--", "true"]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        assert!(out.stderr().contains(var), "{out}");
        assert!(!out.stderr().contains("panicked"), "{out}");
    }
    tripwire.assert_untouched();
}

/// The child starts with an empty signal mask and SIGPIPE at its default,
/// whatever psc-exec inherited; other ignored signals (nohup's SIGHUP) stay.
#[test]
fn child_gets_a_clean_signal_mask_and_default_sigpipe() {
    use nix::sys::signal::{SigHandler, SigSet, Signal, signal};
    use std::os::unix::process::CommandExt;
    let tripwire = Tripwire::new();
    let mut command = cmd("psc-exec", &tripwire.endpoint());
    // Builtins only: a forked grep could read the status while dash blocks
    // every signal around its vfork.
    command.args([
        "--",
        "sh",
        "-c",
        "while read -r line; do case $line in SigBlk*|SigIgn*) echo \"$line\";; esac; done < /proc/$$/status",
    ]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set = SigSet::empty();
            set.add(Signal::SIGUSR1);
            set.add(Signal::SIGTERM);
            set.thread_block().map_err(std::io::Error::from)?;
            signal(Signal::SIGPIPE, SigHandler::SigIgn).map_err(std::io::Error::from)?;
            signal(Signal::SIGHUP, SigHandler::SigIgn).map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let out = run(&mut command);
    out.assert_code(0);
    let field = |name: &str| {
        let line = out
            .stdout()
            .lines()
            .find(|l| l.starts_with(name))
            .map(str::to_owned);
        u64::from_str_radix(line.expect(name).split('\t').nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(field("SigBlk:"), 0, "{out}");
    let ignored = field("SigIgn:");
    let bit = |sig: Signal| 1u64 << (sig as i32 - 1);
    assert_eq!(
        ignored & bit(Signal::SIGPIPE),
        0,
        "SIGPIPE still ignored\n{out}"
    );
    assert_ne!(
        ignored & bit(Signal::SIGHUP),
        0,
        "SIGHUP's SIG_IGN must be inherited\n{out}"
    );
}

/// Values that look like references but are not taken as one pass through
/// unchanged, each with a warning naming the variable (never the value).
#[test]
fn near_miss_references_are_passed_through_with_a_warning() {
    let tripwire = Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env("MY-VAR", "SECRET /app/db")
        .env("LEADING", " SECRET /app/db")
        .env("TABBED", "SECRET\t/app/db")
        .env("PLURAL", "SECRETS are fine")
        .env("BARE", "SECRET")
        .args(["--", "env", "-0"]));
    out.assert_code(0);
    let env = out.env0();
    assert_eq!(env[&OsString::from("MY-VAR")], "SECRET /app/db");
    assert_eq!(env[&OsString::from("LEADING")], " SECRET /app/db");
    assert_eq!(env[&OsString::from("TABBED")], "SECRET\t/app/db");
    let stderr = out.stderr();
    let mut warned: Vec<&str> = stderr
        .lines()
        .map(|l| {
            assert!(l.starts_with("psc-exec: warning: "), "{out}");
            assert!(!l.contains("/app/db"), "{out}");
            l.split_whitespace().nth(2).unwrap_or_default()
        })
        .collect();
    warned.sort_unstable();
    assert_eq!(warned, ["LEADING", "MY-VAR", "TABBED"]);
    tripwire.assert_untouched();
}

/// A child process killed (and reaped) when the test ends, even by a panic.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A self-signed certificate for 127.0.0.1 (its own CA), made by openssl:
/// returns (certificate, key).
fn self_signed(
    openssl: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let out = run(std::process::Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj"])
        .arg(format!("/O=psc-exec tests/CN={name}"))
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        // An end-entity certificate trusted as itself (webpki refuses a CA
        // certificate as the server's).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    out.assert_code(0);
    (cert, key)
}

/// `--ca-bundle`: psc-exec trusts that file alone (`SSL_CERT_DIR` is
/// ignored), a file it cannot read is one line before any call, and the
/// command's environment does not change. Against a real TLS server
/// (`openssl s_server`) with a self-signed certificate: untrusted, the
/// handshake fails (`UnknownIssuer`); trusted, it passes and the call then
/// times out (s_server does not answer a POST).
#[test]
fn ca_bundle_is_the_only_trust_and_stays_with_psc_exec() {
    let openssl = require!(support::tool(
        "openssl",
        support::find_program("openssl"),
        "apt-get install openssl"
    ));
    let dir = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = self_signed(&openssl, dir.path(), "server");
    let (other_cert, _) = self_signed(&openssl, dir.path(), "other");
    let (server, port) = tls_server(&openssl, &server_cert, &server_key, None);

    let attempt = |configure: &dyn Fn(&mut std::process::Command)| {
        let mut command = cmd("psc-exec", &format!("https://127.0.0.1:{port}"));
        command.env("DB_URL", "SECRET /app/db_url").args([
            "--max-attempts",
            "1",
            "--attempt-timeout",
            "500ms",
        ]);
        configure(&mut command);
        let out = run(command.args(["--", "true"]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        out.stderr()
    };
    // Refused at once: a certificate no retry can change.
    let untrusted = "psc-exec: TLS certificate of the endpoint refused (CA certificates: \
                     the system's, or --ca-bundle): connection failed (io error: client \
                     error (Connect): invalid peer certificate: UnknownIssuer); \
                     parameters: /app/db_url\n";
    let trusted = "no answer within 500ms";
    // The system's roots do not include it.
    let err = attempt(&|_| {});
    assert_eq!(err, untrusted);
    // The flag, and its variable, make it trusted.
    let err = attempt(&|c| {
        c.arg("--ca-bundle").arg(&server_cert);
    });
    assert!(
        err.contains(trusted) && !err.contains("certificate"),
        "{err}"
    );
    let err = attempt(&|c| {
        c.env("PSC_EXEC_CA_BUNDLE", &server_cert);
    });
    assert!(err.contains(trusted), "{err}");
    // SSL_CERT_DIR alone trusts it (every file there is read) ...
    let cert_dir = dir.path().join("certs");
    std::fs::create_dir(&cert_dir).unwrap();
    std::fs::copy(&server_cert, cert_dir.join("server.pem")).unwrap();
    let err = attempt(&|c| {
        c.env("SSL_CERT_DIR", &cert_dir);
    });
    assert!(err.contains(trusted), "{err}");
    // ... but not next to --ca-bundle, which is the only trust.
    let err = attempt(&|c| {
        c.env("SSL_CERT_DIR", &cert_dir)
            .arg("--ca-bundle")
            .arg(&other_cert);
    });
    assert_eq!(err, untrusted);
    drop(server);

    // A bundle that cannot be read, or holds no certificate: one line, no
    // call.
    let tripwire = Tripwire::new();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let missing = std::path::Path::new("/nonexistent/ca.pem");
    for (bundle, why) in [
        (missing, "No such file or directory"),
        (empty.as_path(), "no PEM certificate in it"),
        (server_key.as_path(), "no PEM certificate in it"),
        (dir.path(), "Is a directory"),
    ] {
        let out = run(cmd("psc-exec", &tripwire.endpoint())
            .env("DB_URL", "SECRET /app/db_url")
            .arg("--ca-bundle")
            .arg(bundle)
            .args(["--", "true"]));
        out.assert_code(125);
        assert_eq!(
            out.stderr(),
            format!(
                "psc-exec: configuration error: --ca-bundle {}: {why}\n",
                bundle.display()
            )
        );
    }
    tripwire.assert_untouched();

    // The command's environment is its own: no SSL_CERT_FILE appears, the
    // SSL_CERT_DIR it was given stays.
    let mut store = support::fault::AwsStore::new();
    store.put("/app/db_url", "postgres://db");
    let fake = support::fault::FakeSsm::start(move |call| store.answer(&call.names));
    let out = run(cmd("psc-exec", &fake.endpoint())
        .env("DB_URL", "SECRET /app/db_url")
        .env("SSL_CERT_DIR", "/etc/ssl/certs")
        .arg("--ca-bundle")
        .arg(&other_cert)
        .args([
            "--",
            "sh",
            "-c",
            "echo \"$DB_URL|${SSL_CERT_FILE-unset}|$SSL_CERT_DIR\"",
        ]));
    out.assert_code(0);
    assert_eq!(out.stdout(), "postgres://db|unset|/etc/ssl/certs\n");
}

/// A CA chain made by openssl in `dir`: root -> intermediate -> a leaf for
/// 127.0.0.1. Returns the paths of (root, intermediate, leaf, leaf key).
fn chain(openssl: &std::path::Path, dir: &std::path::Path) -> [std::path::PathBuf; 4] {
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    for step in [
        format!("req -x509 {ec} -keyout root.key -out root.pem -days 2 -subj /O=psc-exec_tests/CN=chain_root -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"),
        format!("req {ec} -keyout int.key -out int.csr -subj /O=psc-exec_tests/CN=chain_intermediate"),
        "x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem -days 2 -extfile ca.ext".to_owned(),
        format!("req {ec} -keyout leaf.key -out leaf.csr -subj /O=psc-exec_tests/CN=127.0.0.1"),
        "x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out leaf.pem -days 2 -extfile leaf.ext".to_owned(),
    ] {
        run(std::process::Command::new(openssl)
            .args(step.split(' '))
            .current_dir(dir))
        .assert_code(0);
    }
    ["root.pem", "int.pem", "leaf.pem", "leaf.key"].map(|name| dir.join(name))
}

/// `openssl s_server` on a free port with `leaf` and `key`, sending
/// `intermediate` after the leaf when given; returns the port.
fn tls_server(
    openssl: &std::path::Path,
    leaf: &std::path::Path,
    key: &std::path::Path,
    intermediate: Option<&std::path::Path>,
) -> (KillOnDrop, u16) {
    let port = support::free_port();
    let mut command = std::process::Command::new(openssl);
    command
        .args(["s_server", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(leaf)
        .arg("-key")
        .arg(key);
    if let Some(intermediate) = intermediate {
        command.arg("-cert_chain").arg(intermediate);
    }
    let mut server = KillOnDrop(
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server"),
    );
    // s_server prints ACCEPT once it listens.
    let stdout = server.0.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.contains("ACCEPT"))),
        "s_server did not start"
    );
    std::thread::spawn(move || lines.for_each(drop));
    (server, port)
}

/// A chain of two (root -> intermediate -> leaf) checked against a system
/// bundle with the chain's CA added at its end, as an image adds its
/// company CA: trusted by its root or by its intermediate (an anchor
/// too), refused without either, and refused when the server leaves the
/// intermediate out. (The trust anchors are parsed only for the issuers a
/// chain names: http.rs `LazyRoots`.)
#[test]
fn a_chain_is_checked_against_the_bundle_it_was_added_to() {
    let openssl = require!(support::tool(
        "openssl",
        support::find_program("openssl"),
        "apt-get install openssl"
    ));
    let system = std::fs::read("/etc/ssl/certs/ca-certificates.crt")
        .expect("Debian's CA bundle (ca-certificates)");
    let dir = tempfile::tempdir().unwrap();
    let [root, intermediate, leaf, key] = chain(&openssl, dir.path());
    let bundle = |name: &str, extra: Option<&std::path::Path>| {
        let path = dir.path().join(name);
        let mut pem = system.clone();
        if let Some(extra) = extra {
            pem.extend(std::fs::read(extra).unwrap());
        }
        std::fs::write(&path, pem).unwrap();
        path
    };
    let with_root = bundle("with-root.pem", Some(&root));
    let with_intermediate = bundle("with-intermediate.pem", Some(&intermediate));
    let system_only = bundle("system.pem", None);
    let untrusted = "TLS certificate of the endpoint refused (CA certificates: the system's, \
                     or --ca-bundle): connection failed (io error: client error (Connect): \
                     invalid peer certificate: UnknownIssuer); parameters: /app/db_url\n";
    let trusted = "no answer within 500ms";
    let attempt = |port: u16, bundle: &std::path::Path| {
        let out = run(cmd("psc-exec", &format!("https://127.0.0.1:{port}"))
            .env("DB_URL", "SECRET /app/db_url")
            .env("SSL_CERT_FILE", bundle)
            .args([
                "--max-attempts",
                "1",
                "--attempt-timeout",
                "500ms",
                "--",
                "true",
            ]));
        out.assert_code(125).assert_one_line_error("psc-exec");
        out.stderr()
    };
    let (server, port) = tls_server(&openssl, &leaf, &key, Some(&intermediate));
    for trusting in [&with_root, &with_intermediate] {
        let err = attempt(port, trusting);
        assert!(
            err.contains(trusted) && !err.contains("certificate"),
            "{err}"
        );
    }
    assert_eq!(
        attempt(port, &system_only),
        format!("psc-exec: {untrusted}")
    );
    drop(server);
    let (_server, port) = tls_server(&openssl, &leaf, &key, None);
    assert_eq!(attempt(port, &with_root), format!("psc-exec: {untrusted}"));
    let err = attempt(port, &with_intermediate);
    assert!(err.contains(trusted), "{err}");
    // A bundle whose one certificate section is no certificate: as if
    // there were none.
    let junk = dir.path().join("junk.pem");
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nAQIDBA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = attempt(port, &junk);
    assert!(
        err.starts_with(
            "psc-exec: TLS certificate of the endpoint refused: no CA certificates found"
        ),
        "{err}"
    );
}

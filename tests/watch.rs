//! `psc-exec --init --watch`: a changed parameter reaches a restarted child
//! (or ends psc-exec with 75), with real processes against moto and, for
//! a denied re-resolution, the fault endpoint.
//!
//! The child is a shell script that appends `start <pid> <values...>` to a
//! log once its trap is set, and `sig <pid> TERM` for every TERM it gets;
//! the tests wait on that log with a bounded poll loop.

mod support;

use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::fault::{AwsStore, FakeSsm, aws_error};
use support::{Moto, Tripwire, cmd, contains, prefix, run};

/// The child: records its start (after its traps are set) and each TERM
/// or INT; exits after `$STOP_AFTER` of them (0: never). Its `sleep`
/// ignores both, so only the shell decides.
const CHILD: &str = r#"
log="$D/log"; n=0
got() { n=$((n+1)); echo "sig $$ $1" >> "$log"; if [ "$STOP_AFTER" -gt 0 ] && [ "$n" -ge "$STOP_AFTER" ]; then kill -9 $s 2>/dev/null; exit 0; fi; }
trap 'got TERM' TERM
trap 'got INT' INT
(trap '' TERM INT; exec sleep 1000) & s=$!
echo "start $$ ${VALUE-} ${F:+$(cat "$F")} ${ADDED-}" >> "$log"
while kill -0 $s 2>/dev/null; do wait $s; done
"#;

/// A psc-exec under test, its output in files; killed if the test fails.
struct Watcher {
    child: Child,
    dir: tempfile::TempDir,
}

impl Watcher {
    fn start(mut command: Command, stop_after: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        command
            .env("D", dir.path())
            .env("STOP_AFTER", stop_after.to_string())
            .args(["sh", "-c", CHILD])
            .stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
        let child = command.spawn().expect("spawn psc-exec");
        Self { child, dir }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).unwrap())
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn log(&self) -> String {
        self.read("log")
    }

    fn stderr(&self) -> String {
        self.read("stderr")
    }

    /// `start` lines: (pid, the rest).
    fn starts(&self) -> Vec<(i32, String)> {
        self.log()
            .lines()
            .filter_map(|l| l.strip_prefix("start "))
            .map(|l| {
                let (pid, rest) = l.split_once(' ').unwrap();
                let rest: Vec<&str> = rest.split_whitespace().collect();
                (pid.parse().unwrap(), rest.join(" "))
            })
            .collect()
    }

    /// How many TERMs `pid` recorded.
    fn terms(&self, pid: i32) -> usize {
        self.signals(pid, "TERM")
    }

    /// How many `signal`s `pid` recorded.
    fn signals(&self, pid: i32, signal: &str) -> usize {
        let line = format!("sig {pid} {signal}");
        self.log().lines().filter(|l| *l == line).count()
    }

    /// Wait until `done` holds (at most 30 s, polling every 20 ms).
    fn wait_for(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\nlog:\n{}\nstderr:\n{}",
                self.log(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for psc-exec's exit (at most 30 s); its code.
    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "psc-exec did not exit\nlog:\n{}\nstderr:\n{}",
                self.log(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM psc-exec (forwarded; the child exits 0) and its code.
    fn stop(&mut self) -> i32 {
        kill(self.pid(), Signal::SIGTERM).unwrap();
        self.exit_code()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // A failed test: take the whole tree down (psc-exec forwards
            // TERM, then KILL for what is left).
            let _ = kill(self.pid(), Signal::SIGTERM);
            std::thread::sleep(Duration::from_millis(200));
            for (pid, _) in self.starts() {
                let _ = nix::sys::signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether any process is left in process group `pgid`.
fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid pgrp ...: comm may hold spaces, split after ')'.
        let Some((_, after)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
    })
}

fn psc_exec(endpoint: &str, args: &[&str]) -> Command {
    let mut command = cmd("psc-exec", endpoint);
    command.arg("--init").args(args).arg("--");
    command
}

#[test]
fn watch_needs_init() {
    let tripwire = Tripwire::new();
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env("X", "SECRET /x")
        .args(["--watch", "1s", "--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(out.stderr().contains("--watch needs --init"), "{out}");
    let out = run(cmd("psc-exec", &tripwire.endpoint())
        .env("X", "SECRET /x")
        .env("PSC_EXEC_WATCH", "1s")
        .args(["--", "true"]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    let out = run(cmd("psc-exec", &tripwire.endpoint()).args([
        "--init",
        "--on-change",
        "exit",
        "--",
        "true",
    ]));
    out.assert_code(125).assert_one_line_error("psc-exec");
    tripwire.assert_untouched();
}

#[test]
fn check_watch_lists_polled_and_pinned_references() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("check");
    moto.put(&format!("{p}/a"), "va");
    moto.put(&format!("{p}/b"), "vb");
    moto.label(&format!("{p}/b"), 1, "live");
    moto.put(&format!("{p}/dir/x"), "vx");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET {p}/a"))
        .env("B", format!("SECRET {p}/b:1"))
        .env("C", format!("SECRET {p}/b:live"))
        .args(["--check", "--watch", "5m", "--path"])
        .arg(format!("{p}/dir")));
    out.assert_code(0);
    let watch = out.stdout().split_once("\n\n").unwrap().1.to_owned();
    let lines: Vec<String> = watch
        .lines()
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "WATCH REFERENCE".to_owned(),
            format!("polled {p}/a"),
            format!("polled {p}/b:live"),
            "polled --path".to_owned(),
            format!("pinned {p}/b:1"),
        ],
        "{out}"
    );
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("A", format!("SECRET {p}/a"))
        .env("B", format!("SECRET {p}/b:1"))
        .env("C", format!("SECRET {p}/b:live"))
        .env("S", "SECRET /aws/reference/secretsmanager/nope")
        .args(["--check", "--format", "json", "--watch", "5m", "--path"])
        .arg(format!("{p}/dir")));
    out.assert_code(125);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    let words: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["variable"].as_str().unwrap(),
                r["watch"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        words,
        [
            "A polled",
            "B pinned",
            "C polled",
            "S not polled",
            "x polled"
        ],
        "{out}"
    );
}

/// One restart, end to end: the new child has the new value (in its
/// environment and its file), the old one got exactly one TERM; polls
/// carry `WithDecryption=false` and never name the pinned reference; at
/// trace level the values appear only in the child's output.
#[test]
fn a_new_version_restarts_the_child_with_it_and_values_stay_in_the_child() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("restart");
    let name = format!("{p}/db");
    let pinned = format!("{p}/pinned");
    moto.put(&name, "SENTINEL-old-7f1");
    moto.put(&pinned, "SENTINEL-pinned-c3");
    moto.start_recording();
    let secrets = tempfile::tempdir().unwrap();
    let mut command = cmd("psc-exec", &moto.endpoint());
    command
        .args(["--init", "--watch", "1s", "--secrets-dir"])
        .arg(secrets.path().join("s"))
        .arg("--")
        .env("PSC_EXEC_LOG", "trace")
        .env("VALUE", format!("SECRET {name}"))
        .env("F", format!("SECRET_FILE {name}"))
        .env("PIN", format!("SECRET {pinned}:1"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the first child", |w| w.starts().len() == 1);
    moto.put(&name, "SENTINEL-new-9d2");
    watcher.wait_for("the second child", |w| w.starts().len() == 2);
    let starts = watcher.starts();
    assert_eq!(starts[0].1, "SENTINEL-old-7f1 SENTINEL-old-7f1");
    assert_eq!(starts[1].1, "SENTINEL-new-9d2 SENTINEL-new-9d2");
    assert_eq!(watcher.terms(starts[0].0), 1, "{}", watcher.log());
    assert_eq!(watcher.terms(starts[1].0), 0);
    assert!(!group_alive(starts[0].0), "the old child's group is gone");
    assert_eq!(watcher.stop(), 0, "{}", watcher.stderr());
    assert_eq!(watcher.terms(starts[1].0), 1);
    assert_eq!(watcher.starts().len(), 2);

    let stderr = watcher.stderr();
    assert!(!stderr.contains("SENTINEL"), "{stderr}");
    assert!(
        stderr.contains("watching"),
        "the calls per minute: {stderr}"
    );
    assert!(
        stderr.contains("warning: --watch 1.0s: polling more often than every minute"),
        "{stderr}"
    );
    // The files are gone with the last child.
    assert!(!secrets.path().join("s/F").exists());

    let calls: Vec<(bool, Vec<String>)> = moto
        .recording()
        .into_iter()
        .filter(|(target, _)| target == "AmazonSSM.GetParameters")
        .map(|(_, body)| {
            let names = body["Names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect();
            (body["WithDecryption"].as_bool() == Some(true), names)
        })
        .collect();
    let polls: Vec<&Vec<String>> = calls.iter().filter(|(d, _)| !d).map(|(_, n)| n).collect();
    let decrypted: Vec<&Vec<String>> = calls.iter().filter(|(d, _)| *d).map(|(_, n)| n).collect();
    assert!(!polls.is_empty());
    for names in &polls {
        assert_eq!(
            names.as_slice(),
            std::slice::from_ref(&name),
            "a poll asks for the unpinned name only"
        );
    }
    // The launch and the one re-resolution: the pinned reference with them.
    assert_eq!(decrypted.len(), 2, "{calls:?}");
    for names in decrypted {
        let mut names = names.clone();
        names.sort();
        assert_eq!(names, [name.clone(), format!("{pinned}:1")]);
    }
}

#[test]
fn on_change_exit_stops_the_child_with_the_restart_signal_and_exits_75() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("exit");
    let name = format!("{p}/db");
    moto.put(&name, "v1");
    let mut command = psc_exec(
        &moto.endpoint(),
        &[
            "--watch",
            "1s",
            "--on-change",
            "exit",
            "--restart-signal",
            "INT",
        ],
    );
    command.env("VALUE", format!("SECRET {name}"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    moto.put(&name, "v2");
    assert_eq!(watcher.exit_code(), 75, "{}", watcher.stderr());
    let starts = watcher.starts();
    assert_eq!(starts.len(), 1, "nothing new started");
    assert_eq!(
        watcher.signals(starts[0].0, "INT"),
        1,
        "--restart-signal INT"
    );
    assert_eq!(watcher.terms(starts[0].0), 0);
}

#[test]
fn a_child_ignoring_the_restart_signal_is_killed_after_the_timeout() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("ignore");
    let name = format!("{p}/db");
    moto.put(&name, "v1");
    let secrets = tempfile::tempdir().unwrap();
    let dir = secrets.path().join("s");
    let dir_flag = format!("--secrets-dir={}", dir.display());
    let mut command = psc_exec(
        &moto.endpoint(),
        &[
            "--watch",
            "1s",
            "--restart-timeout",
            "3s",
            "--signal-group",
            &dir_flag,
        ],
    );
    command
        .env("VALUE", format!("SECRET {name}"))
        .env("F", format!("SECRET_FILE {name}"));
    // STOP_AFTER 0: TERM is recorded and ignored.
    let mut watcher = Watcher::start(command, 0);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    let old = watcher.starts()[0].0;
    moto.put(&name, "v2");
    watcher.wait_for("the restart signal", |w| w.terms(old) == 1);
    // The old child still runs (it ignores TERM until the KILL): its file
    // is still its own; the new one replaces it only once it is gone.
    assert_eq!(std::fs::read_to_string(dir.join("F")).unwrap(), "v1");
    assert_eq!(watcher.starts().len(), 1);
    watcher.wait_for("the next child", |w| w.starts().len() == 2);
    assert_eq!(watcher.starts()[1].1, "v2 v2");
    assert_eq!(std::fs::read_to_string(dir.join("F")).unwrap(), "v2");
    assert_eq!(watcher.terms(old), 1);
    assert!(!group_alive(old), "SIGKILL took the old group");
    assert_eq!(
        watcher
            .stderr()
            .matches("did not exit within --restart-timeout after SIGTERM: sending SIGKILL")
            .count(),
        1,
        "{}",
        watcher.stderr()
    );
    // The new child ignores TERM too: KILL it, psc-exec ends with 137.
    let new = watcher.starts()[1].0;
    nix::sys::signal::killpg(Pid::from_raw(new), Signal::SIGKILL).unwrap();
    assert_eq!(watcher.exit_code(), 137);
}

#[test]
fn sigterm_during_a_restart_ends_143_with_no_orphan() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("stop");
    let name = format!("{p}/db");
    moto.put(&name, "v1");
    let mut command = psc_exec(&moto.endpoint(), &["--watch", "1s"]);
    command.env("VALUE", format!("SECRET {name}"));
    // The child outlives the restart's TERM and exits on the second.
    let mut watcher = Watcher::start(command, 2);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    let old = watcher.starts()[0].0;
    moto.put(&name, "v2");
    watcher.wait_for("the restart's TERM", |w| w.terms(old) == 1);
    assert_eq!(watcher.stop(), 143, "{}", watcher.stderr());
    assert_eq!(watcher.terms(old), 2);
    assert_eq!(watcher.starts().len(), 1, "no new child");
    assert!(!group_alive(old), "no orphan");
}

#[test]
fn a_parameter_added_under_a_watched_path_restarts_the_child() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("path");
    moto.put(&format!("{p}/VALUE"), "v1");
    let mut command = cmd("psc-exec", &moto.endpoint());
    command
        .args(["--init", "--watch", "1s", "--path"])
        .arg(&p)
        .arg("--");
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    assert_eq!(watcher.starts()[0].1, "v1");
    moto.put(&format!("{p}/ADDED"), "new");
    watcher.wait_for("the next child", |w| w.starts().len() == 2);
    assert_eq!(watcher.starts()[1].1, "v1 new");
    assert_eq!(watcher.terms(watcher.starts()[0].0), 1);
    assert_eq!(watcher.stop(), 0);
}

/// A change whose re-resolution is denied: the child keeps running, one
/// error line for each attempt, each attempt one decrypted call.
#[test]
fn a_denied_re_resolution_keeps_the_child_with_one_error_per_interval() {
    let store = Arc::new(Mutex::new(AwsStore::new()));
    store.lock().unwrap().put("/app/db", "v1");
    let shared = Arc::clone(&store);
    let fake = FakeSsm::start(move |call| {
        let store = shared.lock().unwrap();
        let changed = store.parameters["/app/db"].len() > 1;
        if call.with_decryption && changed {
            aws_error(
                400,
                "AccessDeniedException",
                "User: arn:aws:sts::111122223333:assumed-role/app is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:111122223333:parameter/app/db",
            )
        } else {
            store.answer(&call.names)
        }
    });
    // 2 s: psc-exec is stopped long before the next poll, so no
    // re-resolution is left between its call and its line.
    let mut command = psc_exec(&fake.endpoint(), &["--watch", "2s"]);
    command.env("VALUE", "SECRET /app/db");
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    let before = fake.recorded().len();
    store.lock().unwrap().put("/app/db", "v2");
    let failed = |w: &Watcher| {
        w.stderr()
            .lines()
            .filter(|l| l.contains("resolving again failed"))
            .count()
    };
    watcher.wait_for("two failed re-resolutions", |w| failed(w) >= 2);
    assert_eq!(watcher.stop(), 0);
    let stderr = watcher.stderr();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("resolving again failed"))
        .collect();
    let denied_calls = fake.recorded()[before..]
        .iter()
        .filter(|c| c.with_decryption)
        .count();
    assert_eq!(errors.len(), denied_calls, "{stderr}");
    for line in &errors {
        assert!(
            line.starts_with("psc-exec: --watch: /app/db changed"),
            "{line}"
        );
        assert!(
            line.contains("access denied") || line.contains("AccessDenied"),
            "{line}"
        );
    }
    let starts = watcher.starts();
    assert_eq!(starts.len(), 1, "the child was kept");
    assert_eq!(starts[0].1, "v1");
    assert_eq!(watcher.terms(starts[0].0), 1, "only the final stop");
    assert!(!contains(stderr.as_bytes(), b"v2"));
}

/// A label moved to another version is a change (the version it points
/// to is compared), and so is a new Secrets Manager value with
/// `--watch-secretsmanager` (compared by digest).
#[test]
fn a_moved_label_and_a_new_secret_value_restart_the_child() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("label");
    let name = format!("{p}/db");
    moto.put(&name, "l1");
    moto.put(&name, "l2");
    moto.label(&name, 1, "live");
    let id = format!("{}/sm", p.trim_start_matches('/'));
    moto.create_secret(&id, "sm-first-a1");
    let mut command = psc_exec(
        &moto.endpoint(),
        &["--watch", "1s", "--watch-secretsmanager"],
    );
    command
        .env(
            "VALUE",
            format!("SECRET /aws/reference/secretsmanager/{id}"),
        )
        .env("ADDED", format!("SECRET {name}:live"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    assert_eq!(watcher.starts()[0].1, "sm-first-a1 l1");
    moto.label(&name, 2, "live");
    watcher.wait_for("the second child", |w| w.starts().len() == 2);
    assert_eq!(watcher.starts()[1].1, "sm-first-a1 l2");
    moto.put_secret_value(&id, "sm-second-b2");
    watcher.wait_for("the third child", |w| w.starts().len() == 3);
    let starts = watcher.starts();
    assert_eq!(starts[2].1, "sm-second-b2 l2");
    assert_eq!(watcher.terms(starts[0].0), 1);
    assert_eq!(watcher.terms(starts[1].0), 1);
    assert_eq!(watcher.stop(), 0);
    assert!(
        !watcher.stderr().contains("sm-second-b2"),
        "{}",
        watcher.stderr()
    );
}

/// After a poll (whose answer, on moto, holds the value in its fake
/// ciphertext) and a restart, the supervisor's memory holds neither the old
/// value nor the new one, nor a `#key` the child never got.
#[test]
fn the_watching_supervisor_keeps_no_value_across_a_restart() {
    require_moto!();
    if !support::root() {
        return;
    }
    let moto = Moto::shared();
    let p = prefix("memory");
    let name = format!("{p}/db");
    moto.put(
        &name,
        r#"{"user":"SENTINEL-wm-old-5b1","unsent":"SENTINEL-wm-unsent-0c4"}"#,
    );
    // 3 s: the memory is read well before the next poll, whose answer
    // holds moto's fake ciphertext (the value itself) for a moment.
    let mut command = psc_exec(&moto.endpoint(), &["--watch", "3s"]);
    command.env("VALUE", format!("SECRET {name}#user"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    moto.put(
        &name,
        r#"{"user":"SENTINEL-wm-new-e83","unsent":"SENTINEL-wm-unsent-0c4"}"#,
    );
    watcher.wait_for("the next child", |w| w.starts().len() == 2);
    assert_eq!(watcher.starts()[1].1, "SENTINEL-wm-new-e83");
    let memory = support::memory_of(watcher.child.id());
    assert!(memory.len() > 100_000, "read {} bytes", memory.len());
    for sentinel in [
        "SENTINEL-wm-old-5b1",
        "SENTINEL-wm-new-e83",
        "SENTINEL-wm-unsent-0c4",
    ] {
        assert!(
            !contains(&memory, sentinel.as_bytes()),
            "{sentinel} is in the supervisor's memory"
        );
    }
    assert_eq!(watcher.stop(), 0);
}

/// psc-exec as PID 1 of a PID namespace (a container's place): the watch
/// thread's wake-up (a SIGCHLD to itself) reaches the supervisor there too.
#[test]
fn a_restart_works_with_psc_exec_as_pid_1() {
    require_moto!();
    let unshare = require!(support::tool(
        "unshare",
        support::find_program("unshare"),
        "apt-get install util-linux"
    ));
    let probe = Command::new(&unshare)
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .env_clear()
        .output()
        .expect("run unshare");
    if !probe.status.success() {
        support::skip("unshare --pid --fork fails here");
        return;
    }
    let moto = Moto::shared();
    let p = prefix("pid1");
    let name = format!("{p}/db");
    moto.put(&name, "v1");
    let mut command = support::cmd_program(Command::new(&unshare), &moto.endpoint());
    command
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(support::bin("psc-exec"))
        .args(["--init", "--watch", "1s", "--"])
        .env("VALUE", format!("SECRET {name}"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    assert_eq!(watcher.starts()[0].1, "v1");
    // psc-exec is unshare's child, and PID 1 in its namespace.
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", watcher.child.id()))
            .unwrap();
    let outer: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{outer}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "{nspid}");
    let old = watcher.starts()[0].0;
    moto.put(&name, "v2");
    watcher.wait_for("the next child", |w| w.starts().len() == 2);
    assert_eq!(watcher.starts()[1].1, "v2");
    assert_eq!(watcher.terms(old), 1);
    // TERM to psc-exec, forwarded to the new child.
    kill(Pid::from_raw(outer), Signal::SIGTERM).unwrap();
    assert_eq!(watcher.exit_code(), 0, "{}", watcher.stderr());
    assert_eq!(watcher.terms(watcher.starts()[1].0), 1);
}

/// The polls run on their own thread: with a poll hanging on a stalled
/// endpoint, a SIGTERM still reaches the child at once and psc-exec ends
/// with its status.
#[test]
fn signals_are_answered_while_a_poll_hangs() {
    let mut store = AwsStore::new();
    store.put("/app/db", "v1");
    let fake = FakeSsm::start(move |call| {
        if call.with_decryption {
            store.answer(&call.names)
        } else {
            support::fault::Action::Stall
        }
    });
    let mut command = psc_exec(&fake.endpoint(), &["--watch", "1s"]);
    command.env("VALUE", "SECRET /app/db");
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    watcher.wait_for("a poll under way", |_| {
        fake.recorded().iter().any(|c| !c.with_decryption)
    });
    let asked = Instant::now();
    assert_eq!(watcher.stop(), 0, "{}", watcher.stderr());
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(watcher.terms(watcher.starts()[0].0), 1);
}

/// A re-resolution whose files cannot all be written (here a target
/// replaced by a symlink) leaves every file of the running child as it
/// was: new values go to temporaries, renamed only when all are written.
#[test]
fn a_failed_file_write_on_a_change_keeps_the_running_childs_files() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("files");
    let name = format!("{p}/db");
    moto.put(&name, "old");
    let secrets = tempfile::tempdir().unwrap();
    let dir = secrets.path().join("s");
    let mut command = cmd("psc-exec", &moto.endpoint());
    command
        .args(["--init", "--watch", "1s", "--secrets-dir"])
        .arg(&dir)
        .arg("--")
        .env("VALUE", format!("SECRET {name}"))
        // Written in this order: F first, then Z.
        .env("F", format!("SECRET_FILE {name}"))
        .env("Z", format!("SECRET_FILE {name}"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    assert_eq!(watcher.starts()[0].1, "old old");
    std::fs::remove_file(dir.join("Z")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.join("Z")).unwrap();
    moto.put(&name, "new");
    watcher.wait_for("the refusal", |w| {
        w.stderr().contains("refusing to replace")
    });
    assert_eq!(std::fs::read_to_string(dir.join("F")).unwrap(), "old");
    assert_eq!(watcher.starts().len(), 1, "{}", watcher.stderr());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(watcher.stop(), 0, "{}", watcher.stderr());
}

/// A parameter deleted since the launch makes the re-resolution fail,
/// whatever `--on-missing` said at the launch: the running child stays.
#[test]
fn a_deleted_parameter_keeps_the_running_child_even_with_on_missing_keep() {
    require_moto!();
    let moto = Moto::start();
    let p = prefix("deleted");
    let name = format!("{p}/db");
    let other = format!("{p}/other");
    moto.put(&name, "v1");
    moto.put(&other, "o1");
    let mut command = psc_exec(&moto.endpoint(), &["--watch", "1s", "--on-missing", "keep"]);
    command
        .env("VALUE", format!("SECRET {name}"))
        .env("OTHER", format!("SECRET {other}"));
    let mut watcher = Watcher::start(command, 1);
    watcher.wait_for("the child", |w| w.starts().len() == 1);
    assert_eq!(watcher.starts()[0].1, "v1");
    let client = moto.client();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.delete_parameter().name(&other).send())
        .unwrap();
    moto.put(&name, "v2");
    watcher.wait_for("the failed re-resolution", |w| {
        w.stderr().contains("resolving again failed")
    });
    assert_eq!(watcher.starts().len(), 1, "{}", watcher.stderr());
    assert!(watcher.stderr().contains(&other), "{}", watcher.stderr());
    assert_eq!(watcher.stop(), 0, "{}", watcher.stderr());
}

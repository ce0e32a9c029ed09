//! `psc-exec --init`: signals forwarded, orphans reaped, exit status
//! propagated; compared side by side with tini.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{Moto, Tripwire, cmd, contains, prefix, run};

/// A launcher under test: psc-exec --init, or tini in the same role.
#[derive(Clone, Copy, Debug)]
enum Init {
    PscExec,
    Tini,
}

fn tini() -> Option<std::path::PathBuf> {
    ["/usr/bin/tini", "/usr/local/bin/tini", "/sbin/tini"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
}

/// The launchers to compare: tini joins when installed (CI installs it).
fn inits() -> Vec<Init> {
    if support::tool("tini", tini(), "the tini half: apt-get install tini").is_some() {
        vec![Init::PscExec, Init::Tini]
    } else {
        vec![Init::PscExec]
    }
}

fn launcher(init: Init, endpoint: &str, extra: &[&str], script: &str) -> Command {
    let mut command = match init {
        Init::PscExec => {
            let mut c = cmd("psc-exec", endpoint);
            c.arg("--init").args(extra).arg("--");
            c
        }
        Init::Tini => {
            // A clean environment, run by tini (-s: subreaper, -g: group).
            let mut c = Command::new(tini().unwrap());
            c.env_clear().env("PATH", "/usr/bin:/bin").arg("-s");
            if extra.contains(&"--signal-group") {
                c.arg("-g");
            }
            c.arg("--");
            c
        }
    };
    command
        .args(["sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Start, and wait for the child's "ready" line (its traps are set).
fn start_ready(mut command: Command) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = command.spawn().expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    (child, stdout)
}

fn rest(mut stdout: BufReader<std::process::ChildStdout>) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    text
}

const TRAP_ALL: &str = r#"
for s in TERM INT HUP USR1 USR2 QUIT WINCH; do trap "echo got $s; exit 0" $s; done
echo ready
while :; do sleep 0.02; done
"#;

#[test]
fn forwarded_signals_reach_the_child() {
    let tripwire = Tripwire::new();
    for init in inits() {
        for signal in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGQUIT,
            Signal::SIGWINCH,
        ] {
            let (child, stdout) = start_ready(launcher(init, &tripwire.endpoint(), &[], TRAP_ALL));
            kill(Pid::from_raw(child.id() as i32), signal).unwrap();
            let status = child.wait_with_output().unwrap().status;
            let name = signal.as_str().trim_start_matches("SIG");
            assert_eq!(rest(stdout), format!("got {name}\n"), "{init:?} {signal}");
            assert_eq!(status.code(), Some(0), "{init:?} {signal}");
        }
    }
    tripwire.assert_untouched();
}

#[test]
fn term_to_a_child_without_a_trap_exits_143() {
    for init in inits() {
        let (child, _stdout) = start_ready(launcher(
            init,
            "http://127.0.0.1:9",
            &[],
            "echo ready; while :; do sleep 0.02; done",
        ));
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        let status = child.wait_with_output().unwrap().status;
        assert_eq!(status.code(), Some(143), "{init:?}");
    }
}

#[test]
fn exit_codes_and_deaths_by_signal_propagate() {
    for init in inits() {
        for (script, code) in [
            ("exit 0", 0),
            ("exit 1", 1),
            ("exit 42", 42),
            ("kill -KILL $$", 137),
            ("kill -TERM $$", 143),
        ] {
            let out = run(&mut launcher(init, "http://127.0.0.1:9", &[], script));
            assert_eq!(out.code(), Some(code), "{init:?} {script}\n{out}");
            assert_eq!(
                out.0.status.signal(),
                None,
                "the launcher exits, it is not killed"
            );
        }
    }
}

/// The child starts a grandchild and leaves it orphaned; the grandchild is
/// re-parented to the launcher (a subreaper), which must reap it. The child
/// waits until the orphan's /proc entry is gone (reaped) and only then exits
/// with 7; an unreaped zombie keeps its entry, and the child exits 99.
#[test]
fn orphans_are_reaped() {
    let script = r#"
        ( sh -c 'echo $$ > "$0"; exit 0' "$ORPHAN_PID" & )
        while [ ! -s "$ORPHAN_PID" ]; do sleep 0.01; done
        orphan=$(cat "$ORPHAN_PID")
        i=0
        while [ -e /proc/$orphan ]; do
            i=$((i+1)); [ $i -gt 500 ] && { grep State /proc/$orphan/status; exit 99; }
            sleep 0.01
        done
        exit 7
    "#;
    for init in inits() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = launcher(init, "http://127.0.0.1:9", &[], script);
        command.env("ORPHAN_PID", dir.path().join("orphan.pid"));
        let out = run(&mut command);
        assert_eq!(out.code(), Some(7), "{init:?}\n{out}");
    }
}

/// No zombie is left under the launcher while it runs: the child makes
/// three short-lived orphans, then reports zombies whose parent is the
/// launcher ($PPID).
#[test]
fn no_zombie_stays_under_the_launcher() {
    let script = r#"
        for i in 1 2 3; do ( sh -c 'exit 0' & ); done
        i=0
        while :; do
            zombies=$(grep -l "^PPid:[[:space:]]*$PPID$" /proc/[0-9]*/status 2>/dev/null | xargs -r grep -l "^State:[[:space:]]*Z" | wc -l)
            children=$(grep -l "^PPid:[[:space:]]*$PPID$" /proc/[0-9]*/status 2>/dev/null | wc -l)
            # Only this shell (and its grep pipeline) remain under the launcher.
            [ "$zombies" -eq 0 ] && [ "$children" -le 1 ] && break
            i=$((i+1)); [ $i -gt 500 ] && { echo "zombies=$zombies children=$children"; exit 99; }
            sleep 0.01
        done
        exit 5
    "#;
    for init in inits() {
        let out = run(&mut launcher(init, "http://127.0.0.1:9", &[], script));
        assert_eq!(out.code(), Some(5), "{init:?}\n{out}");
    }
}

/// --signal-group reaches the whole group; without it, only the child.
#[test]
fn signal_group_reaches_grandchildren() {
    let script = r#"
        trap 'wait; echo child got TERM; exit 3' TERM
        sh -c 'trap "echo grandchild got TERM; exit 0" TERM; echo ready; while :; do sleep 0.02; done' &
        while :; do sleep 0.02; done
    "#;
    for init in inits() {
        let (child, stdout) = start_ready(launcher(
            init,
            "http://127.0.0.1:9",
            &["--signal-group"],
            script,
        ));
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        let status = child.wait_with_output().unwrap().status;
        assert_eq!(
            rest(stdout),
            "grandchild got TERM\nchild got TERM\n",
            "{init:?}"
        );
        assert_eq!(status.code(), Some(3), "{init:?}");
    }
}

#[test]
fn init_resolves_references_and_keeps_no_values() {
    require_moto!();
    let moto = Moto::shared();
    let p = prefix("init");
    let sentinel = "SENTINEL-init-5a5a5a";
    moto.put(&format!("{p}/secret"), sentinel);
    let mut command = cmd("psc-exec", &moto.endpoint());
    command
        .env("DB_PASSWORD", format!("SECRET {p}/secret"))
        .env("PSC_EXEC_LOG", "trace")
        .args(["-vvv", "--init", "--", "sh", "-c"])
        .arg(
            r#"
            [ "$DB_PASSWORD" = "SENTINEL-init-5a5a5a" ] || exit 1
            # The launcher's own environment holds the reference, not the value.
            tr '\0' '\n' < /proc/$PPID/environ | grep -q "^DB_PASSWORD=SECRET " || exit 2
            ! grep -q SENTINEL /proc/$PPID/environ || exit 3
            [ "$(cat /proc/$PPID/comm)" = "psc-exec" ] || exit 4
            # One thread left in the launcher: no runtime thread can take a
            # signal meant for its sigwait.
            [ "$(ls /proc/$PPID/task | wc -l)" -eq 1 ] || exit 5
            exit 0
        "#,
        );
    let out = run(&mut command);
    out.assert_code(0);
    assert!(!contains(&out.0.stdout, sentinel.as_bytes()), "{out}");
    assert!(!contains(&out.0.stderr, sentinel.as_bytes()), "{out}");

    // A missing parameter: 125 before anything starts.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let out = run(cmd("psc-exec", &moto.endpoint())
        .env("GONE", format!("SECRET {p}/gone"))
        .args(["--init", "--", "touch"])
        .arg(&marker));
    out.assert_code(125).assert_one_line_error("psc-exec");
    assert!(!marker.exists());
    let out = run(cmd("psc-exec", &moto.endpoint()).args(["--init", "--", "no-such-command-psc"]));
    out.assert_code(127).assert_one_line_error("psc-exec");
}

/// An inherited SIGCHLD=SIG_IGN would let the kernel reap the child behind
/// our back (tini then hangs); psc-exec restores the default first.
#[test]
fn an_inherited_ignored_sigchld_does_not_hang_init() {
    use nix::sys::signal::{SigHandler, signal};
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("timeout");
    command
        .arg("10")
        .arg(support::bin("psc-exec"))
        .args(["--init", "--", "sh", "-c", "exit 3"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    // SAFETY: signal() is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            signal(Signal::SIGCHLD, SigHandler::SigIgn).map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let out = run(&mut command);
    assert_eq!(out.code(), Some(3), "124 means it hung\n{out}");
}

/// SIGTERM while the references resolve (a stalled endpoint): psc-exec
/// --init stops at once with 143 and starts nothing, instead of dropping
/// the signal as PID 1 would or waiting for --timeout.
#[test]
fn term_while_resolving_stops_init_before_anything_starts() {
    use support::fault::{Action, FakeSsm};
    let fake = FakeSsm::start(|_| Action::Stall);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let child = cmd("psc-exec", &fake.endpoint())
        .env("DB", "SECRET /app/db")
        .args([
            "--init",
            "--timeout",
            "60s",
            "--attempt-timeout",
            "60s",
            "--",
            "touch",
        ])
        .arg(&marker)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The request has arrived: psc-exec is waiting on it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while fake.calls() == 0 {
        assert!(std::time::Instant::now() < deadline, "no call arrived");
        std::thread::yield_now();
    }
    let started = std::time::Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = support::Run(child.wait_with_output().unwrap());
    assert_eq!(out.code(), Some(143), "{out}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        out.stderr(),
        "psc-exec: stopped by SIGTERM before the command was started\n"
    );
    assert!(!marker.exists());
}

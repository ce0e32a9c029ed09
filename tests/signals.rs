//! `--init`'s signals before the child exists: a stop during `--splay` ends
//! psc-exec at once (143), and a signal such as SIGUSR1 that arrives while
//! resolving is not handed to the child the instant it starts.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::cmd;
use support::fault::{AwsStore, FakeSsm};

/// Wait (bounded) until `pid` has blocked its signals: from then on a
/// signal waits for psc-exec instead of acting by default.
fn wait_until_blocked(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let blocked = status
            .lines()
            .find_map(|l| l.strip_prefix("SigBlk:"))
            .map(str::trim)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or(0);
        if blocked != 0 {
            return;
        }
        assert!(Instant::now() < deadline, "signals never blocked");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_stop_during_the_splay_ends_psc_exec_at_once() {
    let tripwire = support::Tripwire::new();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let child = cmd("psc-exec", &tripwire.endpoint())
        .env("A", "SECRET /a")
        .args(["--init", "--splay", "30s", "--", "touch"])
        .arg(&marker)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_blocked(child.id());
    let sent = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert!(!marker.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped by SIGTERM"));
    tripwire.assert_untouched();
}

#[test]
fn a_signal_during_resolution_is_not_forwarded_to_the_new_child() {
    let mut store = AwsStore::new();
    store.put("/app/a", "v");
    let (answer_tx, answer_rx) = std::sync::mpsc::channel::<()>();
    let answer_rx = std::sync::Mutex::new(answer_rx);
    let (called_tx, called_rx) = std::sync::mpsc::channel::<()>();
    let called_tx = std::sync::Mutex::new(called_tx);
    // The endpoint answers only when the test says so.
    let fake = FakeSsm::start(move |call| {
        let _ = called_tx.lock().unwrap().send(());
        let _ = answer_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(20));
        store.answer(&call.names)
    });
    // The child has no handler: a SIGUSR1 forwarded at its start kills it.
    // It waits for the test to close its stdin, then exits 7.
    let mut child = cmd("psc-exec", &fake.endpoint())
        .env("A", "SECRET /app/a")
        .args([
            "--init",
            "--",
            "sh",
            "-c",
            "echo started; read line; exit 7",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_blocked(child.id());
    called_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    answer_tx.send(()).unwrap();
    let mut started = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut started,
    )
    .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(started, "started\n", "{out:?}");
    assert_eq!(out.status.code(), Some(7), "{out:?}");
}

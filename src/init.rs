//! `--init`: psc-exec as a correct PID 1 (what tini or `docker run --init`
//! do), so one binary is the whole entrypoint.
//!
//! The parent blocks every catchable signal before resolution ([`SignalGuard`]),
//! so none can slip between start-up and the wait loop; it then takes signals
//! synchronously with `sigwait`: SIGCHLD means reap, anything else is
//! forwarded to the child (or its process group). The child starts in its
//! own process group with an empty mask and SIGPIPE at its default: std
//! resets SIGPIPE but not an inherited mask (rust-lang/rust#101077), so
//! `ChildEnv::command`'s `pre_exec` clears the mask. When not PID 1, psc-exec registers as a child subreaper so
//! orphaned grandchildren are re-parented to it and reaped.
//!
//! With `--watch` ([`crate::watch`]) the child can be replaced: a thread
//! of the watch sends the next child ([`NextChild`]) and wakes this loop
//! with a SIGCHLD; the loop sends `--restart-signal`, waits for the child
//! with `sigtimedwait` (SIGKILL after `--restart-timeout`), still
//! forwarding every signal, then starts the next child (or exits 75 with
//! `--on-change exit`). A stop signal meanwhile cancels the restart: the
//! child is stopped and psc-exec exits 128+N. This module reads no value:
//! the next child's environment arrives built.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SigHandler, SigSet, Signal, signal};
use nix::unistd::Pid;

use crate::child::{self, ChildEnv};
use crate::error::Error;
use crate::files::Files;

/// Signals that are synchronous faults of this process, not messages for
/// the child: leave them unblocked (as tini does).
const SYNCHRONOUS: [Signal; 7] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

/// `--init`'s signals, from before resolution to the end: every catchable
/// signal blocked, answering "was a stop requested", handed to [`run`].
#[derive(Debug)]
pub struct SignalGuard {
    blocked: SigSet,
}

impl SignalGuard {
    /// Block every catchable signal (faults, SIGTTIN and SIGTTOU aside),
    /// ignore SIGTTIN and SIGTTOU, reset SIGCHLD. Call it before any other
    /// thread exists: threads started later (the runtime's) inherit the mask.
    ///
    /// # Errors
    /// When the signal mask or dispositions cannot be set.
    pub fn block() -> Result<Self, Error> {
        Ok(Self {
            blocked: block_signals()?,
        })
    }

    /// A stop signal (TERM, INT, HUP, QUIT) waiting for this process, if any.
    #[must_use]
    pub fn stop_pending(&self) -> Option<i32> {
        stop_signal_pending()
    }

    /// Resolves when a stop signal is pending: checked every 50 ms while the
    /// references resolve (and during `--splay`), so `docker stop` does not
    /// wait for `--timeout`.
    pub async fn stopped(&self) -> i32 {
        loop {
            if let Some(signum) = self.stop_pending() {
                return signum;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Take and drop every other signal that arrived before the child
    /// exists (USR1, USR2, ALRM, ...): forwarded the instant the child
    /// starts, before it could install a handler, its default action would
    /// kill it. Stop signals and SIGCHLD stay pending.
    fn discard_pending(&self) {
        let mut others = self.blocked;
        for sig in STOP {
            others.remove(sig);
        }
        others.remove(Signal::SIGCHLD);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        loop {
            // SAFETY: a valid set, no info wanted, a zero timeout.
            let signum = unsafe {
                libc::sigtimedwait(others.as_ref(), std::ptr::null_mut(), &raw const zero)
            };
            if signum <= 0 {
                break;
            }
            tracing::debug!(signal = signum, "dropped: arrived before the child existed");
        }
    }
}

/// Block every catchable signal on this thread (and so on every thread it
/// starts later, such as the resolution runtime's), ignore SIGTTIN and
/// SIGTTOU, and make sure SIGCHLD is not inherited as ignored (the kernel
/// would then reap the child itself and never tell us). Called before
/// resolution, so a signal that arrives meanwhile waits instead of being
/// dropped (PID 1 has no default actions) or killing a runtime thread.
fn block_signals() -> Result<SigSet, Error> {
    let mut blocked = SigSet::all();
    for sig in SYNCHRONOUS {
        blocked.remove(sig);
    }
    // SIGTTIN/SIGTTOU are ignored, not waited for: psc-exec must not be
    // stopped when it hands the terminal to the child (tini does the same).
    blocked.remove(Signal::SIGTTIN);
    blocked.remove(Signal::SIGTTOU);
    blocked
        .thread_block()
        .map_err(|e| Error::Other(format!("cannot block signals: {e}")))?;
    for (sig, handler) in [
        (Signal::SIGTTIN, SigHandler::SigIgn),
        (Signal::SIGTTOU, SigHandler::SigIgn),
        (Signal::SIGCHLD, SigHandler::SigDfl),
    ] {
        // SAFETY: SIG_IGN and SIG_DFL install no handler code.
        unsafe { signal(sig, handler) }
            .map_err(|e| Error::Other(format!("cannot set the action of {sig}: {e}")))?;
    }
    Ok(blocked)
}

/// Signals that mean "stop" before there is a child to forward them to.
const STOP: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// A stop signal waiting (blocked) for this process, if any.
fn stop_signal_pending() -> Option<i32> {
    let mut pending = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the set it is given.
    if unsafe { libc::sigpending(pending.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: initialised by the successful sigpending above.
    let pending = unsafe { pending.assume_init() };
    STOP.into_iter()
        .map(|sig| sig as i32)
        // SAFETY: sigismember reads a valid set.
        .find(|&signum| unsafe { libc::sigismember(&raw const pending, signum) } == 1)
}

/// `--on-change exit`'s status: EX_TEMPFAIL (sysexits.h), "try again
/// later", so the orchestrator replaces the task.
pub const EXIT_TEMPFAIL: u8 = 75;

/// The child to start after a change: its environment, built (its files
/// staged), and its arguments.
pub struct NextChild {
    /// The environment (the new values).
    pub env: ChildEnv,
    /// The command, its `${NAME}`s expanded anew with `--expand-args`.
    pub argv: Vec<OsString>,
}

/// `--watch`'s side of the supervisor: where the next children come from
/// and how the running one is stopped.
#[derive(Debug)]
pub struct Restarts {
    /// Each change that resolved again, in order.
    pub next: mpsc::Receiver<NextChild>,
    /// `--on-change exit`: stop the child and exit 75 instead.
    pub exit: bool,
    /// `--restart-signal`.
    pub signal: i32,
    /// `--restart-timeout`: then SIGKILL.
    pub timeout: Duration,
}

/// Wake the supervisor's loop (from the watch's thread): a SIGCHLD to
/// this process, taken by the loop's `sigwait` like any other (every
/// other thread has it blocked). The loop reaps on it and then looks for
/// a next child; a SIGCHLD with nothing to reap is harmless. As PID 1 too:
/// the kernel drops a signal to a namespace's init only when it is not
/// blocked ("Blocked signals are never ignored", `sig_ignored` in
/// kernel/signal.c), and it is blocked here (`tests/watch.rs` restarts a
/// child under psc-exec as PID 1).
pub fn wake() {
    // SAFETY: kill(2) on our own PID with a plain signal number.
    unsafe { libc::kill(libc::getpid(), libc::SIGCHLD) };
}

/// Start `argv` as a child with `env`, forward signals to it, reap every
/// child, and return the main child's exit code (128+N when killed by
/// signal N). With `restarts`, replace the child when a next one comes.
///
/// # Errors
/// The command cannot be started (126/127), or signal set-up failed (125).
pub fn run(
    argv: Vec<OsString>,
    env: ChildEnv,
    signal_group: bool,
    guard: SignalGuard,
    mut files: Files,
    restarts: Option<Restarts>,
) -> Result<u8, Error> {
    // The files are removed whatever happens next: the child gone, or
    // stopped before it started.
    let result = supervise_child(
        argv,
        env,
        signal_group,
        &guard,
        &mut files,
        restarts.as_ref(),
    );
    files.remove_all();
    result
}

fn supervise_child(
    argv: Vec<OsString>,
    env: ChildEnv,
    signal_group: bool,
    guard: &SignalGuard,
    files: &mut Files,
    restarts: Option<&Restarts>,
) -> Result<u8, Error> {
    if let Some(signum) = guard.stop_pending() {
        // Stopped while resolving: start nothing.
        return Err(Error::Stopped(signum));
    }
    guard.discard_pending();
    let blocked = guard.blocked;
    if std::process::id() != 1 {
        // Orphans of the child are re-parented to us, so we can reap them.
        if let Err(error) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!(%error, "cannot become a child subreaper");
        }
    }

    let pid = spawn(argv, env)?;
    tracing::debug!(pid = pid.as_raw(), signal_group, "started the child");
    supervise(pid, &blocked, signal_group, files, restarts)
}

/// Start `argv` with `env` in a process group of its own. Both are
/// dropped here (the arguments may hold values, with `--expand-args`).
fn spawn(argv: Vec<OsString>, env: ChildEnv) -> Result<Pid, Error> {
    let path = env.path();
    let program = argv[0].clone();
    let mut command = env.command(&argv, take_terminal);
    command.process_group(0);
    let spawned = command.spawn();
    // The command (and with it the resolved environment, wiped on drop) is
    // gone from here on: the values live only in the child. The freed
    // memory is wiped too (the crate's global allocator).
    drop(command);
    drop(argv);
    let child = spawned.map_err(|e| child::exec_error(&program, &e, path.as_deref()))?;
    Ok(Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX)))
}

/// In the child, before exec: like tini, the child's group gets the
/// terminal, if there is one. Only async-signal-safe calls.
fn take_terminal() -> std::io::Result<()> {
    // SAFETY: SIG_IGN and SIG_DFL install no handler code.
    let _ = unsafe { signal(Signal::SIGTTOU, SigHandler::SigIgn) };
    // SAFETY: tcsetpgrp/getpgrp on fd 0; failure (no terminal) is fine.
    let _ = unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp()) };
    // SAFETY: as above.
    let _ = unsafe { signal(Signal::SIGTTOU, SigHandler::SigDfl) };
    // SAFETY: as above.
    let _ = unsafe { signal(Signal::SIGTTIN, SigHandler::SigDfl) };
    Ok(())
}

/// What comes after a child told to stop by `--watch`.
enum After {
    /// Start this one (`--on-change restart`).
    Restart(NextChild),
    /// Exit 75 (`--on-change exit`).
    Exit,
    /// A stop signal came meanwhile: exit 128+N.
    Stop(i32),
}

/// A child being stopped by `--watch`.
struct Stopping {
    /// When it gets SIGKILL (`None`: it has had it).
    kill_at: Option<Instant>,
    after: After,
}

fn supervise(
    mut pid: Pid,
    blocked: &SigSet,
    signal_group: bool,
    files: &mut Files,
    restarts: Option<&Restarts>,
) -> Result<u8, Error> {
    let target = |pid: Pid| {
        if signal_group {
            -pid.as_raw()
        } else {
            pid.as_raw()
        }
    };
    let mut stopping: Option<Stopping> = None;
    // A stop signal forwarded: no restart may follow it.
    let mut stop_requested = false;
    loop {
        let kill_at = stopping.as_ref().and_then(|s| s.kill_at);
        let Some(signum) = wait_signal(blocked, kill_at)? else {
            // --restart-timeout is over and the child is still there.
            child::warn(&format!(
                "the child did not exit within --restart-timeout after {}: sending SIGKILL",
                restarts.map_or_else(String::new, |r| signal_name(r.signal))
            ));
            send(target(pid), libc::SIGKILL);
            if let Some(stopping) = &mut stopping {
                stopping.kill_at = None;
            }
            continue;
        };
        if signum == libc::SIGCHLD {
            if let Some(code) = reap(pid)? {
                match stopping.take() {
                    None => return Ok(code),
                    Some(Stopping { after, .. }) => match after {
                        After::Stop(signum) => {
                            return Ok(u8::try_from(128 + signum).unwrap_or(u8::MAX));
                        }
                        After::Exit => {
                            tracing::info!("--on-change exit: the child is gone, exiting 75");
                            return Ok(EXIT_TEMPFAIL);
                        }
                        After::Restart(next) => {
                            // The old child is gone: its files are
                            // replaced only now.
                            let NextChild { mut env, argv } = next;
                            env.commit_files(files)?;
                            pid = spawn(argv, env)?;
                            tracing::info!(pid = pid.as_raw(), "restarted the child");
                        }
                    },
                }
            }
            if let Some(restarts) = restarts {
                while let Ok(next) = restarts.next.try_recv() {
                    if stop_requested {
                        // Stopping for good: the new environment is dropped.
                        continue;
                    }
                    match &mut stopping {
                        // Already stopping it: the newest environment wins.
                        Some(Stopping {
                            after: after @ After::Restart(_),
                            ..
                        }) => *after = After::Restart(next),
                        Some(_) => {}
                        None => {
                            tracing::info!(
                                pid = pid.as_raw(),
                                signal = restarts.signal,
                                "a parameter changed: stopping the child"
                            );
                            send(target(pid), restarts.signal);
                            stopping = Some(Stopping {
                                kill_at: Some(Instant::now() + restarts.timeout),
                                after: if restarts.exit {
                                    After::Exit
                                } else {
                                    After::Restart(next)
                                },
                            });
                        }
                    }
                }
            }
            continue;
        }
        if STOP.iter().any(|s| *s as i32 == signum) {
            stop_requested = true;
            if let Some(stopping) = &mut stopping {
                // A restart under way becomes a stop: nothing new starts.
                stopping.after = After::Stop(signum);
            }
        }
        tracing::debug!(signal = signum, target = target(pid), "forwarding");
        send(target(pid), signum);
    }
}

/// The next signal for this thread; `None` once `until` has passed.
fn wait_signal(blocked: &SigSet, until: Option<Instant>) -> Result<Option<i32>, Error> {
    loop {
        let Some(until) = until else {
            let mut signum: libc::c_int = 0;
            // SAFETY: `blocked` is a valid sigset and `signum` a valid out pointer.
            let rc = unsafe { libc::sigwait(blocked.as_ref(), &raw mut signum) };
            match rc {
                0 => return Ok(Some(signum)),
                libc::EINTR => continue,
                rc => {
                    return Err(Error::Other(format!(
                        "sigwait failed: {}",
                        Errno::from_raw(rc)
                    )));
                }
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let timeout = libc::timespec {
            // Not `libc::time_t` by name: deprecated on musl (its width
            // changed in musl 1.2.0). A wait is at most --restart-timeout,
            // far below i32::MAX seconds.
            tv_sec: left.as_secs().try_into().unwrap_or(i32::MAX.into()),
            tv_nsec: libc::c_long::from(left.subsec_nanos().cast_signed()),
        };
        // SAFETY: a valid set, no info wanted, a valid timeout.
        let signum = unsafe {
            libc::sigtimedwait(blocked.as_ref(), std::ptr::null_mut(), &raw const timeout)
        };
        if signum > 0 {
            return Ok(Some(signum));
        }
        match Errno::last() {
            Errno::EAGAIN => return Ok(None),
            Errno::EINTR => {}
            errno => return Err(Error::Other(format!("sigtimedwait failed: {errno}"))),
        }
    }
}

/// kill(2) `target` (a PID, or a group when negative) with `signum`.
fn send(target: i32, signum: i32) {
    // SAFETY: kill(2) with a plain pid and signal number.
    let rc = unsafe { libc::kill(target, signum) };
    if rc != 0 {
        let errno = Errno::last();
        // ESRCH: the child is already gone; its SIGCHLD is on the way.
        if errno != Errno::ESRCH {
            tracing::warn!(signal = signum, %errno, "cannot forward signal");
        }
    }
}

fn signal_name(signum: i32) -> String {
    Signal::try_from(signum).map_or_else(|_| format!("signal {signum}"), |s| s.as_str().to_owned())
}

/// Reap every exited child; the main child's exit code once it is gone.
///
/// libc's waitpid rather than nix's: nix cannot represent a death by a
/// real-time signal, and the status must not be lost once reaped.
fn reap(main: Pid) -> Result<Option<u8>, Error> {
    let mut code = None;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid with a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &raw mut status, libc::WNOHANG) };
        if pid == 0 {
            return Ok(code);
        }
        if pid < 0 {
            match Errno::last() {
                Errno::ECHILD => return Ok(code),
                Errno::EINTR => continue,
                errno => return Err(Error::Other(format!("waitpid failed: {errno}"))),
            }
        }
        let exit = if libc::WIFEXITED(status) {
            Some(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Some(128 + libc::WTERMSIG(status))
        } else {
            None
        };
        tracing::debug!(pid, ?exit, "reaped");
        if pid == main.as_raw() {
            code = exit.map(|c| u8::try_from(c & 0xff).unwrap_or(u8::MAX));
        }
    }
}

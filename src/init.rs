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

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

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

/// Start `argv` as a child with `env`, forward signals to it, reap every
/// child, and return the main child's exit code (128+N when killed by
/// signal N).
///
/// # Errors
/// The command cannot be started (126/127), or signal set-up failed (125).
pub fn run(
    argv: &[OsString],
    env: ChildEnv,
    signal_group: bool,
    guard: SignalGuard,
    mut files: Files,
) -> Result<u8, Error> {
    // The files are removed whatever happens next: the child gone, or
    // stopped before it started.
    let result = supervise_child(argv, env, signal_group, &guard);
    files.remove_all();
    result
}

fn supervise_child(
    argv: &[OsString],
    env: ChildEnv,
    signal_group: bool,
    guard: &SignalGuard,
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

    let path = env.path();
    let mut command = env.command(argv, take_terminal);
    command.process_group(0);
    let spawned = command.spawn();
    // The command (and with it the resolved environment, wiped on drop) is
    // gone from here on: the values live only in the child.
    drop(command);
    let child = spawned.map_err(|e| child::exec_error(&argv[0], &e, path.as_deref()))?;
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    tracing::debug!(pid = pid.as_raw(), signal_group, "started the child");
    supervise(pid, &blocked, signal_group)
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

fn supervise(pid: Pid, blocked: &SigSet, signal_group: bool) -> Result<u8, Error> {
    loop {
        let mut signum: libc::c_int = 0;
        // SAFETY: `blocked` is a valid sigset and `signum` a valid out pointer.
        let rc = unsafe { libc::sigwait(blocked.as_ref(), &raw mut signum) };
        if rc != 0 {
            if rc == libc::EINTR {
                continue;
            }
            return Err(Error::Other(format!(
                "sigwait failed: {}",
                Errno::from_raw(rc)
            )));
        }
        if signum == libc::SIGCHLD {
            if let Some(code) = reap(pid)? {
                return Ok(code);
            }
            continue;
        }
        let target = if signal_group {
            -pid.as_raw()
        } else {
            pid.as_raw()
        };
        tracing::debug!(signal = signum, target, "forwarding");
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

//! Prompts on the terminal: a value typed without echo, and a yes/no
//! confirmation.
//!
//! The hidden prompt is done by hand with termios rather than with a
//! password crate for two reasons: echo is turned off *before* the prompt
//! is shown, so nothing typed after the prompt appears can be echoed, and
//! Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT) during the prompt restores the
//! terminal before psc dies of the signal, instead of leaving the shell
//! without echo. The handler does the restoring itself, then re-raises the
//! signal: no flag is checked around `read`, so a signal that arrives
//! just before it cannot be missed.

use std::io::{BufRead, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::OnceLock;

use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use rustix::termios::{self, LocalModes, OptionalActions, Termios};
use zeroize::Zeroizing;

/// Why no value was read.
#[derive(Debug)]
pub enum PromptError {
    /// End of input before anything was typed.
    Eof,
    /// The terminal could not be read or set up.
    Io(std::io::Error),
}

impl From<std::io::Error> for PromptError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<rustix::io::Errno> for PromptError {
    fn from(error: rustix::io::Errno) -> Self {
        Self::Io(error.into())
    }
}

impl From<nix::errno::Errno> for PromptError {
    fn from(error: nix::errno::Errno) -> Self {
        Self::Io(error.into())
    }
}

/// The terminal's settings before the prompt, for the signal handler.
static SAVED: OnceLock<Termios> = OnceLock::new();

const SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Put the terminal back, say why psc stops, and die of the signal with
/// its default action (so the shell sees 130 for Ctrl-C). Everything here
/// is async-signal-safe: an atomic load, tcsetattr, write, sigaction and
/// raise.
extern "C" fn restore_and_die(number: nix::libc::c_int) {
    // SAFETY: stdin and stderr stay open for the life of the process.
    let (stdin, stderr) = unsafe { (BorrowedFd::borrow_raw(0), BorrowedFd::borrow_raw(2)) };
    if let Some(original) = SAVED.get() {
        let _ = termios::tcsetattr(stdin, OptionalActions::Now, original);
    }
    let _ = rustix::io::write(stderr, b"\npsc: interrupted; nothing stored\n");
    if let Ok(signal) = Signal::try_from(number) {
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: restores the default action, which is async-signal-safe.
        let _ = unsafe { signal::sigaction(signal, &default) };
        // Delivered when this handler returns.
        let _ = signal::raise(signal);
    }
}

/// The handlers above while the terminal is changed; the previous ones
/// come back on drop.
struct SignalGuard(Vec<(Signal, SigAction)>);

impl SignalGuard {
    fn install() -> Result<Self, PromptError> {
        let action = SigAction::new(
            SigHandler::Handler(restore_and_die),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        let mut previous = Vec::with_capacity(SIGNALS.len());
        for signal in SIGNALS {
            // SAFETY: the handler only makes async-signal-safe calls.
            let old = unsafe { signal::sigaction(signal, &action) }?;
            previous.push((signal, old));
        }
        Ok(Self(previous))
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (signal, old) in self.0.drain(..) {
            // SAFETY: puts back the handler that was there before.
            let _ = unsafe { signal::sigaction(signal, &old) };
        }
    }
}

/// Show `prompt` on stderr and read one line from the terminal on stdin
/// without echo. The newline is not part of the result.
///
/// # Errors
/// End of input, or the terminal failed.
pub fn read_hidden(prompt: &str) -> Result<Zeroizing<Vec<u8>>, PromptError> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let original = termios::tcgetattr(fd)?;
    let saved = SAVED.get_or_init(|| original.clone());
    let mut hidden = saved.clone();
    hidden.local_modes.remove(LocalModes::ECHO);
    // Still show the newline when Enter is pressed.
    hidden.local_modes.insert(LocalModes::ECHONL);
    let guard = SignalGuard::install()?;
    // TCSAFLUSH, as getpass(3): input typed before the prompt is dropped.
    termios::tcsetattr(fd, OptionalActions::Flush, &hidden)?;
    let result = read_line(fd, prompt);
    let restored = termios::tcsetattr(fd, OptionalActions::Now, saved);
    drop(guard);
    restored?;
    let mut line = result?;
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.is_empty() {
        let _ = std::io::stderr().write_all(b"\n");
        return Err(PromptError::Eof);
    }
    Ok(line)
}

fn read_line(fd: BorrowedFd<'_>, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PromptError> {
    let mut stderr = std::io::stderr();
    stderr.write_all(prompt.as_bytes())?;
    stderr.flush()?;
    let mut line = Zeroizing::new(Vec::new());
    let mut buffer = Zeroizing::new([0_u8; 512]);
    loop {
        match rustix::io::read(fd, &mut buffer[..]) {
            Ok(0) => return Ok(line),
            Ok(n) => {
                line.extend_from_slice(&buffer[..n]);
                if line.last() == Some(&b'\n') {
                    return Ok(line);
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Ask a yes/no question on stderr and read the answer from stdin; only
/// `y` or `yes` (any case) is a yes, end of input is a no.
///
/// # Errors
/// When stdin cannot be read.
pub fn confirm(question: &str) -> std::io::Result<bool> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer)? == 0 {
        let _ = std::io::stderr().write_all(b"\n");
        return Ok(false);
    }
    let answer = answer.trim();
    Ok(answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes"))
}

//! psc-exec: hand secrets from AWS Systems Manager Parameter Store to a
//! process through its environment.
//!
//! Operators put references instead of secrets into a service's environment
//! (`DB_URL="SECRET prod.billing.db_url"`), or name whole paths (`--path`).
//! `psc-exec -- CMD` ([`launch`]) finds every reference ([`scan`],
//! [`reference`](mod@reference)) and path ([`paths`]), reads a baked file
//! ([`baked`], KMS ciphertexts as serverless-secret-baker and `psc bake`
//! write them), plans the calls ([`plan`]), makes
//! them concurrently with retries ([`resolve`] over the private `call`
//! module, answers matched back by the private `answer` module), turns what
//! was fetched into values ([`values`]), builds the child's environment and
//! replaces itself with the child ([`child`]), or supervises it ([`init`]),
//! restarting it when a poll sees a parameter change (`--watch`, [`watch`]).
//!
//! Data flows one way: environment -> requests -> calls -> answers ->
//! values -> child. Parsing and planning never do I/O; calling never
//! touches the process.
//!
//! Who reads a value (the whole list): [`values`] (taking a `#key`, mapping
//! a path, checking a baked value); [`check`], through [`values`], for a status (never shown); the
//! [`child`] module, copying values into the environment handed to
//! `execve`; psc's `get` and `decrypt-env`, whose job is to print one, and
//! its `set`, `set-file` and `import-env`, which send one. ([`watch`]
//! compares versions, and Secrets Manager values by a digest [`values`]
//! computes.) Every value
//! lives in a [`secret::SecretValue`] (redacted `Debug`, no `Display`,
//! wiped on drop).
//!
//! Exit codes follow env(1): 125 when psc-exec fails, 126 when the command
//! cannot be executed, 127 when it is not found, otherwise the command's.

// The docs are built with --document-private-items (scripts/test): the
// front page links the internal modules it describes.
#![allow(rustdoc::private_intra_doc_links)]

pub mod admin;
mod answer;
pub mod aws;
mod baked;
mod call;
mod check;
mod child;
pub mod cli;
mod credentials;
pub mod error;
mod files;
mod http;
mod init;
pub mod lambda;
pub mod launch;
mod logging;
mod paths;
mod plan;
mod reference;
mod resolve;
mod scan;
mod secret;
mod template;
mod values;
mod watch;

pub use error::Error;
pub use logging::{forbid_sensitive_logging, init_logging, log_filter, log_subscriber};

/// Every allocation is wiped when it is freed (see [`wipe`]).
#[global_allocator]
static ALLOCATOR: wipe::Wiping = wipe::Wiping;

mod wipe {
    //! An allocator that zeroes memory before returning it to the system.
    //!
    //! Values pass through buffers psc-exec does not own (the HTTP response
    //! body, the JSON parser's strings, std's copies): zeroing every freed
    //! block leaves none of them behind in a process that lives on after
    //! resolution (`--init`), whatever code freed it. It reads no value.

    use std::alloc::{GlobalAlloc, Layout, System};

    /// [`System`], zeroing each block before it is freed.
    pub(crate) struct Wiping;

    // SAFETY: every call is forwarded to `System` with the same layout; the
    // only addition writes zeroes inside a block that is still allocated.
    unsafe impl GlobalAlloc for Wiping {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as the caller promised for `layout`.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as the caller promised for `layout`.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes.
            unsafe { std::ptr::write_bytes(ptr, 0, layout.size()) };
            // A store right before free() is dead to the optimiser: make
            // the block look used so the zeroing stays.
            std::hint::black_box(ptr);
            // SAFETY: as the caller promised.
            unsafe { System.dealloc(ptr, layout) }
        }

        // `realloc` is the trait's default: a new block, a copy, and a
        // `dealloc` (which wipes) of the old one; System's in-place realloc
        // could leave the old bytes behind when it moves a block.
    }
}

/// Make this process undumpable (`PR_SET_DUMPABLE` 0) while it holds
/// values: no core file, and no ptrace attach or `/proc/<pid>/mem` read by
/// the same user. A command started by exec is dumpable again (the kernel
/// resets the flag on exec), so it costs the child nothing.
pub fn forbid_core_dumps() {
    if let Err(error) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(%error, "cannot make the process undumpable");
    }
}

/// Print panics as one line instead of a trace and exit with `code` (they
/// are bugs, but a user still gets one clear line and the documented code;
/// this also holds with `panic = "abort"`, which the release build uses).
pub fn install_panic_hook(program: &'static str, code: u8) {
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        let message = error::one_line(&message);
        error::report(program, &format!("internal error: {message}"));
        std::process::exit(i32::from(code));
    }));
}

/// A tokio runtime on this thread: resolution is I/O bound, and a single
/// thread keeps start-up cheap and the process single-threaded at exec.
///
/// # Errors
/// When the runtime cannot be built.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    runtime_for(1)
}

/// A tokio runtime for `calls` calls at once: [`runtime`] for one call;
/// for more, worker threads up to the machine's CPUs (at most 4), since
/// each call's TLS handshake and signing is CPU work that one thread
/// would do in turn (the README's Performance section has the figures).
///
/// # Errors
/// When the runtime cannot be built.
pub fn runtime_for(calls: usize) -> Result<tokio::runtime::Runtime, Error> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(4)
        .min(calls);
    let mut builder = if workers > 1 {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the async runtime: {e}")))
}

/// A table: the header, then the rows, each column but the last padded to
/// its widest cell (in characters) and two spaces; trailing blanks trimmed.
pub(crate) fn aligned<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let header = header.map(str::to_owned);
    let mut widths = [0_usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = std::fmt::Write::write_fmt(&mut line, format_args!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod pow {
    //! `pow` for glibc builds, from the `libm` crate (a pure-Rust port of
    //! musl's), defined in the executable so that the link resolves it here
    //! and, with `--as-needed` (rustc's default), leaves `libm.so.6` out:
    //! `pow` was the only function psc-exec imported from it (tokio's
    //! scheduler statistics and the SDK's standard retry strategy call
    //! `f64::powf`), and loading that library cost every launch about
    //! 0.07 ms (README, "No references: what the path pays").
    //! `tests/launcher.rs` holds the binaries to libc alone (build.rs asks
    //! the linker for this `pow` first). It reads no value.

    /// C's `double pow(double, double)`.
    #[unsafe(no_mangle)]
    pub extern "C" fn pow(x: f64, y: f64) -> f64 {
        libm::pow(x, y)
    }

    #[cfg(test)]
    mod tests {
        /// The same answers as glibc's `pow` (Python's `math.pow` here),
        /// directly and through `f64::powf`. (That `powf` reaches this `pow`
        /// in the binaries is what tests/launcher.rs shows: no libm.)
        #[test]
        fn pow_answers_as_glibcs() {
            for (x, y, glibc) in [
                (2.0, 10.0, 1024.0),
                (2.0, 0.5, std::f64::consts::SQRT_2),
                (1.5, 3.7, 4.482679184808753),
                (10.0, -3.25, 0.0005623413251903491),
            ] {
                assert_eq!(super::pow(x, y).to_bits(), f64::to_bits(glibc), "{x}^{y}");
                assert_eq!(
                    std::hint::black_box(x).powf(y).to_bits(),
                    f64::to_bits(glibc)
                );
            }
            assert!(super::pow(-1.0, 0.5).is_nan());
        }
    }
}

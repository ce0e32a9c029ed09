//! Records the target triple, so that `--version` can say which build it
//! is (`psc-exec 0.1.0 (aarch64-unknown-linux-musl)`): Cargo gives build
//! scripts `TARGET`, not the crate itself.
//!
//! For glibc targets (`cargo build`, `cargo install`), it also takes what
//! the dynamic loader charged every launch of psc-exec with nothing to
//! resolve (README, "No references: what the path pays"; the static
//! release builds have no loader and need none of this):
//! - psc-exec is linked at a fixed address (`-no-pie`): a position-
//!   independent psc-exec had 14 500 relative relocations applied at
//!   every start, and the pages they write copied. `PSC_EXEC_PIE=1` at
//!   build time keeps it position-independent. psc is left as it is.
//! - the unwinder std refers to comes from gcc's `libgcc_eh.a`, as with
//!   `gcc -static-libgcc`, so `libgcc_s.so.1` is not loaded at every start:
//!   the crate's own native libraries come before std's `-lgcc_s` on the
//!   link line, and with `--as-needed` (rustc's default) a shared library
//!   that nothing still needs is dropped. Only when the linker finds the
//!   archive; otherwise the link is as before.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let target = var("TARGET");
    println!("cargo:rustc-env=PSC_EXEC_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PSC_EXEC_PIE");
    // A static glibc build (`-C target-feature=+crt-static`) has no loader
    // to spare, links gcc_eh itself, and `-no-pie` beside its `-static-pie`
    // makes a binary that crashes at start.
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|features| features.split(',').any(|f| f == "crt-static"));
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" || crt_static {
        return;
    }
    let pie = std::env::var("PSC_EXEC_PIE").is_ok_and(|v| !v.is_empty() && v != "0");
    if !pie {
        // After rustc's own `-pie`: the driver takes the last of the two.
        println!("cargo:rustc-link-arg-bin=psc-exec=-no-pie");
    }
    // `pow` from this crate (src/lib.rs), not libm, with GNU ld too: asked
    // for before any archive is read, as GNU ld reads each one once, in
    // order, and tokio's reference to it comes after this crate's rlib
    // (lld and LTO builds find it either way).
    println!("cargo:rustc-link-arg-bins=-Wl,-u,pow");
    if let Some(archive) = libgcc_eh(&target) {
        println!("cargo:rerun-if-changed={}", archive.display());
        if let Some(dir) = archive.parent() {
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
        // Not bundled into the rlib: named on each final link instead.
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
        // For tests/launcher.rs: without it, libgcc_s stays.
        println!("cargo:rustc-env=PSC_EXEC_GCC_EH=1");
    }
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}

/// The linker's `libgcc_eh.a`: the configured linker
/// (Cargo passes it as `RUSTC_LINKER`), else `cc` for a native build. gcc
/// and clang print the archive's path for `-print-file-name`, or the bare
/// name when they have none.
fn libgcc_eh(target: &str) -> Option<PathBuf> {
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let linker = match std::env::var("RUSTC_LINKER") {
        Ok(linker) => linker,
        Err(_) if std::env::var("HOST").as_deref() == Ok(target) => "cc".to_owned(),
        Err(_) => return None,
    };
    let output = Command::new(linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    (output.status.success() && path.is_absolute() && path.is_file()).then_some(path)
}

//! Records the target triple, so that `--version` can say which build it
//! is (`psc-exec 0.1.0 (aarch64-unknown-linux-musl)`): Cargo gives build
//! scripts `TARGET`, not the crate itself.

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=PSC_EXEC_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}

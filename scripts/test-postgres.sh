#!/usr/bin/env bash
# Runs the test suite against a real PostgreSQL: one throwaway cluster per
# run (initdb into a temp dir, a free 127.0.0.1 port, its unix socket in the
# temp dir), stopped and removed on exit. Every TestServer creates its own
# database t_<random> on it (tests/common/mod.rs). Arguments go to
# `cargo nextest run` (e.g. `scripts/test-postgres.sh --test events`).
#
# Needs Debian's PostgreSQL server binaries (apt-get install postgresql);
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BINDIR)" >&2
  exit 2
fi

tmp=$(mktemp -d /tmp/afisha-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$tmp"
  as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap stop EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$tmp/data" -U afisha --auth=trust \
  --encoding=UTF8 --no-locale >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
# A test cluster: durability off (nothing here outlives the run), enough
# connections for parallel test processes (each server pools up to 16).
"${as_owner[@]}" "$bindir/pg_ctl" -D "$tmp/data" -w -l "$tmp/server.log" \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c max_connections=400 \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
  || { cat "$tmp/server.log" >&2; exit 1; }

export AFISHA_TEST_DB=postgres
export AFISHA_TEST_PG_URL="postgres://afisha@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
cargo nextest run "$@"

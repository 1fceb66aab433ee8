#!/usr/bin/env bash
# A throwaway PostgreSQL cluster from Debian's server binaries, for the
# tests (scripts/test-postgres.sh) and the benchmark (scripts/bench.py):
#
#   scripts/pg-cluster.sh start DIR [-c name=value ...]
#       initdb into DIR/data (trust auth, superuser `afisha`), start it on a
#       free 127.0.0.1 port with its unix socket in DIR and the given server
#       options, and print its URL: postgres://afisha@127.0.0.1:PORT/postgres
#   scripts/pg-cluster.sh stop DIR
#       stop it (immediate: nothing in it is kept) and remove DIR.
#
# Needs Debian's PostgreSQL server binaries (apt-get install postgresql, or
# set PG_BINDIR); PostgreSQL refuses to run as root, so as root the cluster
# runs as the `postgres` user (DIR is given to it; its parent must be
# enterable by it, e.g. a fresh `mktemp -d` under /tmp).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR [-c name=value ...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BINDIR)" >&2
  exit 2
fi
as_owner=()
if [ "$(id -u)" = 0 ]; then
  as_owner=(runuser -u postgres --)
fi

case $cmd in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U afisha --auth=trust \
      --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $*" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
    echo "postgres://afisha@127.0.0.1:$port/postgres"
    ;;
  stop)
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) usage ;;
esac

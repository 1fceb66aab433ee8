#!/usr/bin/env bash
# Runs the test suite against a real PostgreSQL: one throwaway cluster per
# run (scripts/pg-cluster.sh: initdb into a temp dir, a free 127.0.0.1 port,
# its unix socket in the temp dir), stopped and removed on exit. Every
# TestServer creates its own database t_<random> on it
# (tests/common/mod.rs). Arguments go to `cargo nextest run` (e.g.
# `scripts/test-postgres.sh --test events`).
#
# Needs Debian's PostgreSQL server binaries (apt-get install postgresql);
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d /tmp/afisha-pg.XXXXXX)
trap 'scripts/pg-cluster.sh stop "$tmp"' EXIT

# A test cluster: durability off (nothing here outlives the run), enough
# connections for parallel test processes (each server pools up to 16).
url=$(scripts/pg-cluster.sh start "$tmp" -c max_connections=400 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off)

export AFISHA_TEST_DB=postgres
export AFISHA_TEST_PG_URL="$url"
cargo nextest run "$@"

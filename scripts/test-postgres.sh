#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the test suite and prints its URL.
# Usage: eval "$(scripts/test-postgres.sh)"   → exports RINGBOOK_TEST_POSTGRES_URL
# Needs Debian's postgresql package (apt-get install -y postgresql). Safe to run twice.
set -euo pipefail
PORT=${RINGBOOK_TEST_PG_PORT:-54329}
DIR=${RINGBOOK_TEST_PG_DIR:-/tmp/ringbook-test-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$BIN" ]; then
  echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2
  exit 1
fi
# PostgreSQL refuses to run as root: run it as the package's postgres user.
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); else AS=(); fi
if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    "${AS[@]}" "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null
fi
echo "export RINGBOOK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"

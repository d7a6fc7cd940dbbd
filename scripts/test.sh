#!/usr/bin/env bash
# Runs every parley test against real peers: it starts PostgreSQL when it is not running,
# (once the Matrix adapter is in the workspace) installs and starts Synapse, then runs the
# whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  echo "test.sh: starting PostgreSQL" >&2
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  else
    echo "test.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2
    exit 1
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    sleep 1
  done
  echo "test.sh: PostgreSQL did not start on 127.0.0.1:5432" >&2
  exit 1
}

ensure_postgres
if [ -x scripts/synapse.sh ]; then
  scripts/synapse.sh install
fi
exec cargo test --workspace "$@"

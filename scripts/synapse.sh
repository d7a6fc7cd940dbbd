#!/usr/bin/env bash
# A throw-away Synapse homeserver for parley's Matrix tests: loopback only, SQLite,
# rate limits raised, users registered through the shared-secret admin API.
#
#   scripts/synapse.sh install               venv in $PARLEY_SYNAPSE_VENV (default .synapse/venv)
#   scripts/synapse.sh start [DIR]           configure DIR once (free port), start, wait for /health,
#                                            print the base URL (also written to DIR/base_url)
#   scripts/synapse.sh stop [DIR]            stop it (waits for the process to exit)
#   scripts/synapse.sh register DIR USER PASSWORD [admin]
#                                            register a user, print its user id
#   scripts/synapse.sh status [DIR]          exit 0 when it is running
#
# DIR defaults to .synapse/server. With PARLEY_SYNAPSE_WATCH_PID set, `start` also stops the
# server when that process exits (the Rust test harness passes its own pid). Every command is idempotent: `install` and `start` do
# nothing when already done, `stop` does nothing when stopped. The same DIR keeps its port,
# database and signing key across stop/start, so a test can simulate an outage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PARLEY_SYNAPSE_VENV:-$ROOT/.synapse/venv}"
PY="$VENV/bin/python"
cmd="${1:-}"
shift || true

die() { echo "synapse.sh: $*" >&2; exit 1; }

install() {
    if [ -x "$PY" ] && "$PY" -c 'import synapse' 2>/dev/null; then
        return 0
    fi
    mkdir -p "$(dirname "$VENV")"
    # A lock so that parallel test binaries do not install twice into the same venv.
    exec 9>"$(dirname "$VENV")/.install.lock"
    flock 9
    if [ -x "$PY" ] && "$PY" -c 'import synapse' 2>/dev/null; then
        return 0
    fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check matrix-synapse >&2
    "$PY" -c 'import synapse' || die "matrix-synapse did not install"
}

abs_dir() {
    local d="${1:-$ROOT/.synapse/server}"
    mkdir -p "$d"
    (cd "$d" && pwd)
}

configure() {
    local dir="$1"
    [ -f "$dir/homeserver.yaml" ] && return 0
    local port
    port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    (cd "$dir" && "$PY" -m synapse.app.homeserver --server-name localhost \
        --config-path "$dir/homeserver.generated.yaml" --data-directory "$dir" \
        --generate-config --report-stats=no >/dev/null)
    "$PY" - "$dir" "$port" <<'PY'
import secrets, sys, yaml
d, port = sys.argv[1], int(sys.argv[2])
with open(f"{d}/homeserver.generated.yaml") as f:
    c = yaml.safe_load(f)
big = {"per_second": 100000, "burst_count": 100000}
c.update({
    "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http",
                   "tls": False, "x_forwarded": False,
                   "resources": [{"names": ["client"], "compress": False}]}],
    "database": {"name": "sqlite3", "args": {"database": f"{d}/homeserver.db"}},
    "pid_file": f"{d}/homeserver.pid",
    "media_store_path": f"{d}/media_store",
    "registration_shared_secret": secrets.token_hex(32),
    "enable_registration": False,
    "report_stats": False,
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "presence": {"enabled": False},
    "url_preview_enabled": False,
    "rc_message": big, "rc_registration": big, "rc_registration_token_validity": big,
    "rc_login": {"address": big, "account": big, "failed_attempts": big},
    "rc_admin_redaction": big,
    "rc_joins": {"local": big, "remote": big}, "rc_joins_per_room": big,
    "rc_3pid_validation": big,
    "rc_invites": {"per_room": big, "per_user": big, "per_issuer": big},
    "rc_third_party_invite": big, "rc_media_create": big, "rc_key_requests": big,
    "rc_room_creation": big, "rc_reports": big, "rc_presence": {"per_user": big},
    "rc_delayed_event_mgmt": big,
    "rc_federation": {"window_size": 1000, "sleep_limit": 100000, "sleep_delay": 0,
                      "reject_limit": 100000, "concurrent": 100000},
})
with open(f"{d}/homeserver.yaml", "w") as f:
    yaml.safe_dump(c, f)
with open(f"{d}/base_url", "w") as f:
    f.write(f"http://127.0.0.1:{port}\n")
with open(f"{d}/shared_secret", "w") as f:
    f.write(c["registration_shared_secret"])
PY
    # Quieter logs: WARNING and up, into the server directory.
    sed -i 's/level: INFO/level: WARNING/' "$dir"/*.log.config 2>/dev/null || true
}

running() {
    local dir="$1"
    [ -f "$dir/run.pid" ] && kill -0 "$(cat "$dir/run.pid")" 2>/dev/null
}

healthy() {
    "$PY" - "$(cat "$1/base_url")" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

start() {
    install
    local dir
    dir="$(abs_dir "${1:-}")"
    configure "$dir"
    if ! running "$dir"; then
        # setsid: its own session, so that a test's Ctrl-C does not kill it half-way;
        # `stop` (or the test harness) ends it by pid.
        setsid "$PY" -m synapse.app.homeserver -c "$dir/homeserver.yaml" \
            >>"$dir/stdout.log" 2>&1 </dev/null &
        local pid=$!
        echo "$pid" >"$dir/run.pid"
        # Tests pass their own pid: if the test process dies without stopping the server
        # (killed, aborted), the server follows within a second instead of leaking.
        if [ -n "${PARLEY_SYNAPSE_WATCH_PID:-}" ]; then
            setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -TERM "$2" 2>/dev/null' \
                _ "$PARLEY_SYNAPSE_WATCH_PID" "$pid" >/dev/null 2>&1 </dev/null &
        fi
    fi
    for _ in $(seq 1 600); do
        if healthy "$dir"; then
            cat "$dir/base_url"
            return 0
        fi
        running "$dir" || { tail -n 30 "$dir/stdout.log" >&2; die "synapse exited during start"; }
        sleep 0.1
    done
    die "synapse did not answer /health within 60 s"
}

stop() {
    local dir
    dir="$(abs_dir "${1:-}")"
    running "$dir" || { rm -f "$dir/run.pid"; return 0; }
    local pid
    pid="$(cat "$dir/run.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/run.pid"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/run.pid"
}

register() {
    [ $# -ge 3 ] || die "usage: register DIR USER PASSWORD [admin]"
    local dir
    dir="$(abs_dir "$1")"
    "$PY" - "$(cat "$dir/base_url")" "$(cat "$dir/shared_secret")" "$2" "$3" "${4:-}" <<'PY'
import hashlib, hmac, json, sys, urllib.request
base, secret, user, password, admin = sys.argv[1:6]
admin = admin == "admin"
url = base + "/_synapse/admin/v1/register"
with urllib.request.urlopen(url, timeout=10) as r:
    nonce = json.load(r)["nonce"]
mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(),
                         b"admin" if admin else b"notadmin"]))
body = json.dumps({"nonce": nonce, "username": user, "password": password,
                   "admin": admin, "mac": mac.hexdigest()}).encode()
req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    print(json.load(r)["user_id"])
PY
}

case "$cmd" in
    install) install ;;
    start) start "${1:-}" ;;
    stop) stop "${1:-}" ;;
    status) running "$(abs_dir "${1:-}")" ;;
    register) register "$@" ;;
    *) die "usage: $0 install | start [DIR] | stop [DIR] | status [DIR] | register DIR USER PASSWORD [admin]" ;;
esac

# Sourced by scripts/test and scripts/sseguard: makes .venv hold this checkout's package and its
# dependencies, reinstalling only when pyproject.toml changed, so both commands work on a fresh machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SSEGUARD_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "sseguard: creating virtualenv in $VENV" >&2
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.sseguard-installed"
want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "sseguard: installing dependencies (first run or pyproject.toml changed)" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]" >&2
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"

# The system tools the whole test suite drives, installed here and not by the tests: Debian's
# Chromium (browser tests), PostgreSQL (the request log's tests start a throwaway server of
# their own from its binaries, tests/postgres.py) and redis-server (the shared-state tests start
# their own, on a free port, nothing persisted), with apt-get as root or with passwordless sudo,
# and the Node clients with Claude Code's native binary (npm ci, tests/clients/node_env.py).
# Called by scripts/test.
sseguard_apt_install() {  # PACKAGE WHAT-FOR
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    if command -v apt-get >/dev/null 2>&1 && { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }; then
        echo "sseguard: installing $1 for $2 (apt-get, a few minutes)" >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >&2
    else
        echo "sseguard: $2 need $1: apt-get install $1 (scripts/test --quick runs without it)" >&2
        return 1
    fi
}

sseguard_test_tools() {
    if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        sseguard_apt_install chromium "the browser tests" || return 1
    fi
    # Debian keeps initdb and pg_ctl off PATH, in /usr/lib/postgresql/VERSION/bin.
    if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
        sseguard_apt_install postgresql "the PostgreSQL request log tests" || return 1
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        sseguard_apt_install redis-server "the shared-state tests" || return 1
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "sseguard: the client tests need Node 20+ and npm: apt-get install nodejs npm," \
            "or from nodejs.org (scripts/test --quick runs without them)" >&2
        return 1
    fi
    "$VENV/bin/python" "$ROOT/tests/clients/node_env.py" >/dev/null
}

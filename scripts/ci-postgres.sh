# shellcheck shell=bash
# A throwaway PostgreSQL server for the ledger tests (tests/jobs).
#
# Source it from .ci/run (bash, `set -euo pipefail` is fine):
#
#     source scripts/ci-postgres.sh
#     ci_postgres_start          # installs PostgreSQL if missing, starts it, exports the URL
#     trap ci_postgres_stop EXIT # or call ci_postgres_stop from your own EXIT trap
#
# ci_postgres_start initialises a cluster in a fresh temporary directory, starts it on a free
# loopback port (127.0.0.1 only, trust auth: nothing else can reach it), creates the database
# `tuner_test` and exports
#
#     TUNER_TEST_POSTGRES_URL=postgresql+psycopg://tuner@127.0.0.1:<port>/tuner_test
#
# ci_postgres_stop stops the server and deletes the directory; it is safe to call twice.
# PostgreSQL refuses to run as root, so when we are root the cluster belongs to the `postgres`
# user (created by the Debian package) or, failing that, `nobody`.

ci_postgres__log() {
    printf 'ci-postgres: %s\n' "$*" >&2
}

# The directory holding initdb/pg_ctl: pg_config's answer, the Debian layout, or PATH.
ci_postgres__bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

ci_postgres__install() {
    if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        ci_postgres__log "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
        return 1
    fi
    ci_postgres__log "installing PostgreSQL with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# Runs a command as the cluster's owner (ourselves unless we are root).
ci_postgres__as_owner() {
    if [[ "$(id -u)" -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$CI_POSTGRES_OWNER" -- "$@"
    else
        su -s /bin/sh "$CI_POSTGRES_OWNER" -c "$(printf '%q ' "$@")"
    fi
}

ci_postgres__free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ci_postgres_start() {
    local bindir port
    if ! bindir="$(ci_postgres__bindir)"; then
        ci_postgres__install
        bindir="$(ci_postgres__bindir)"
    fi
    CI_POSTGRES_OWNER="$(id -un)"
    if [[ "$(id -u)" -eq 0 ]]; then
        if id postgres >/dev/null 2>&1; then CI_POSTGRES_OWNER=postgres; else CI_POSTGRES_OWNER=nobody; fi
    fi
    CI_POSTGRES_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tuner-ci-postgres.XXXXXX")"
    CI_POSTGRES_BINDIR="$bindir"
    export CI_POSTGRES_DIR CI_POSTGRES_BINDIR CI_POSTGRES_OWNER
    if [[ "$(id -u)" -eq 0 ]]; then
        chown "$CI_POSTGRES_OWNER" "$CI_POSTGRES_DIR"
    fi
    # --no-sync and fsync=off: a test cluster that is deleted at exit needs no durability.
    ci_postgres__as_owner "$bindir/initdb" -D "$CI_POSTGRES_DIR/data" -U tuner --auth=trust \
        -E UTF8 --no-locale --no-sync >"$CI_POSTGRES_DIR/initdb.log" 2>&1 || {
        cat "$CI_POSTGRES_DIR/initdb.log" >&2
        return 1
    }
    port="$(ci_postgres__free_port)"
    ci_postgres__as_owner "$bindir/pg_ctl" -D "$CI_POSTGRES_DIR/data" -l "$CI_POSTGRES_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $CI_POSTGRES_DIR -c fsync=off -c max_connections=200" \
        start >/dev/null || {
        cat "$CI_POSTGRES_DIR/server.log" >&2
        return 1
    }
    ci_postgres__as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U tuner tuner_test
    export TUNER_TEST_POSTGRES_URL="postgresql+psycopg://tuner@127.0.0.1:$port/tuner_test"
    ci_postgres__log "PostgreSQL ready: $TUNER_TEST_POSTGRES_URL"
}

ci_postgres_stop() {
    if [[ -n "${CI_POSTGRES_DIR:-}" && -d "$CI_POSTGRES_DIR" ]]; then
        ci_postgres__as_owner "$CI_POSTGRES_BINDIR/pg_ctl" -D "$CI_POSTGRES_DIR/data" -m immediate -w \
            stop >/dev/null 2>&1 || true
        rm -rf "$CI_POSTGRES_DIR"
    fi
    CI_POSTGRES_DIR=""
}

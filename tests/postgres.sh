#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and the benchmark.
#
#   tests/postgres.sh start DIR   creates a cluster in DIR (replacing one
#                                 there), starts it on a Unix socket (in
#                                 DIR, or a short folder under /tmp when
#                                 DIR's path is too long for a socket; no
#                                 TCP port), creates database `credit`, and
#                                 prints its URL
#   tests/postgres.sh stop DIR    stops it (nothing if it is not running)
#   tests/postgres.sh url DIR     prints the URL again
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# `postgres` user and every server command runs through `runuser`. Needs
# Debian's `postgresql` package (initdb, pg_ctl).
set -euo pipefail

cmd=${1:?usage: tests/postgres.sh start|stop|url DIR}
dir=${2:?usage: tests/postgres.sh start|stop|url DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir() {
    if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$newest" ] || { echo "PostgreSQL not found: apt-get install postgresql" >&2; exit 2; }
    echo "$newest"
}

as_server() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

url() {
    echo "postgresql://postgres@/credit?host=$(cat "$dir/socket-dir")"
}

case "$cmd" in
start)
    bin=$(bindir)
    "$0" stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir/data"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        if ! as_server test -w "$dir"; then
            echo "the postgres user cannot reach $dir (a parent folder is closed to it); open it with chmod o+x" >&2
            exit 2
        fi
    fi
    # A Unix socket's path has at most 107 bytes.
    sockets=$dir
    if [ ${#dir} -gt 80 ]; then
        sockets=$(mktemp -d /tmp/credit-pg.XXXXXX)
        [ "$(id -u)" = 0 ] && chown postgres "$sockets"
    fi
    echo "$sockets" >"$dir/socket-dir"
    as_server "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log"
    # Durable as in production (fsync on); room for the tests' connections.
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w \
        -o "-k $sockets -c listen_addresses= -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
    as_server "$bin/createdb" -h "$sockets" -U postgres credit
    url
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_server "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    if [ -f "$dir/socket-dir" ] && [ "$(cat "$dir/socket-dir")" != "$dir" ]; then
        rm -rf "$(cat "$dir/socket-dir")"
    fi
    ;;
url)
    url
    ;;
*)
    echo "usage: tests/postgres.sh start|stop|url DIR" >&2
    exit 2
    ;;
esac

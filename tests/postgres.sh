#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and the benchmark.
#
#   tests/postgres.sh start DIR   creates a cluster in DIR (replacing one
#                                 there), starts it on a Unix socket (no TCP
#                                 port), creates database `credit`, and
#                                 prints its URL
#   tests/postgres.sh stop DIR    stops it (nothing if it is not running)
#   tests/postgres.sh url DIR     prints the URL again
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# `postgres` user and every server command runs through `runuser`. When that
# user cannot reach DIR (a parent folder closed to others), or DIR's path is
# too long for a socket (107 bytes), the cluster goes to a folder under /tmp
# instead, named in DIR/cluster-dir. Needs Debian's `postgresql` package.
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

cluster() {
    cat "$dir/cluster-dir"
}

url() {
    echo "postgresql://postgres@/credit?host=$(cluster)"
}

stop() {
    [ -f "$dir/cluster-dir" ] || return 0
    local c
    c=$(cluster)
    if [ -f "$c/data/postmaster.pid" ]; then
        as_server "$(bindir)/pg_ctl" -D "$c/data" -m fast -w stop >/dev/null
    fi
    if [ "$c" != "$dir" ]; then
        rm -rf "$c"
    fi
}

case "$cmd" in
start)
    bin=$(bindir)
    stop || true
    cluster=$dir
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        if ! as_server test -w "$dir"; then
            cluster=""
        fi
    fi
    if [ -z "$cluster" ] || [ ${#cluster} -gt 80 ]; then
        cluster=$(mktemp -d /tmp/credit-pg.XXXXXX)
        [ "$(id -u)" = 0 ] && chown postgres "$cluster"
    fi
    echo "$cluster" >"$dir/cluster-dir"
    rm -rf "$cluster/data"
    as_server "$bin/initdb" -D "$cluster/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log"
    # Durable as in production (fsync on); room for the tests' connections.
    as_server "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/data/server.log" -w \
        -o "-k $cluster -c listen_addresses= -c max_connections=200 -c shared_buffers=256MB" start >/dev/null
    as_server "$bin/createdb" -h "$cluster" -U postgres credit
    url
    ;;
stop)
    stop
    ;;
url)
    url
    ;;
*)
    echo "usage: tests/postgres.sh start|stop|url DIR" >&2
    exit 2
    ;;
esac

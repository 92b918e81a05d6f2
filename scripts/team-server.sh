#!/usr/bin/env bash
# A shared MLflow tracking server backed by PostgreSQL, on this machine and on loopback only:
# the team-server setup in miniature, for trying it and for its test.
#
#   scripts/team-server.sh start DIR [MLFLOW_PORT]   # prints the tracking URI when it answers
#   scripts/team-server.sh stop DIR
#
# DIR holds the server's logs, its artifact folder and its pid files. PostgreSQL (Debian's
# `postgresql`; `make postgres` installs it) gets a throwaway cluster listening on 127.0.0.1
# with trust authentication; MLflow serves artifacts itself (--artifacts-destination), so jobs
# need no access to DIR. Both bind 127.0.0.1 only. Python comes from .venv (or $PYTHON_BIN).
set -euo pipefail

cmd=${1:-} dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
    echo "usage: $0 start DIR [MLFLOW_PORT] | stop DIR" >&2
    exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PYTHON_BIN:-$here/.venv/bin}

free_port() {
    "$bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
as_pg() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop() {
    if [[ -f "$dir/mlflow.pid" ]]; then
        # `mlflow server` runs workers in its process group: stop them all.
        kill -TERM -- "-$(cat "$dir/mlflow.pid")" 2>/dev/null || true
        rm -f "$dir/mlflow.pid"
    fi
    if [[ -f "$dir/pgroot" ]]; then
        pgroot=$(cat "$dir/pgroot")
        pgbin=$(cat "$dir/pgbin")
        as_pg "$pgbin/pg_ctl" -D "$pgroot/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$pgroot" "$dir/pgroot" "$dir/pgbin"
    fi
}

case "$cmd" in
stop)
    stop
    exit 0
    ;;
start) ;;
*)
    echo "usage: $0 start DIR [MLFLOW_PORT] | stop DIR" >&2
    exit 2
    ;;
esac

initdb=$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1 || true)
if [[ -z "$initdb" ]]; then
    echo "team-server: PostgreSQL is not installed; run: make postgres" >&2
    exit 3
fi
pgbin=$(dirname "$initdb")
trap 'stop' ERR

# The cluster lives outside DIR: the postgres user must be able to reach it.
pgroot=$(mktemp -d /tmp/ctdc-risk-pg.XXXXXX)
echo "$pgroot" >"$dir/pgroot"
echo "$pgbin" >"$dir/pgbin"
if [[ "$(id -u)" -eq 0 ]]; then chown postgres: "$pgroot"; fi
pg_port=$(free_port)
as_pg "$pgbin/initdb" -D "$pgroot/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
as_pg "$pgbin/pg_ctl" -D "$pgroot/data" -l "$pgroot/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pgroot" >/dev/null
as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres mlflow

port=${3:-$(free_port)}
mkdir -p "$dir/artifacts"
# MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: no job runner. MLflow 3 otherwise starts seven huey
# consumer processes for its GenAI jobs (prompt optimisation, scorers), which tracking studies
# never use; each imports MLflow (about 3 CPU-seconds) and keeps running beside the server.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$bin/mlflow" server \
    --backend-store-uri "postgresql://postgres@127.0.0.1:$pg_port/mlflow" \
    --artifacts-destination "$dir/artifacts" \
    --host 127.0.0.1 --port "$port" --workers 2 \
    >"$dir/mlflow.log" 2>&1 </dev/null &
echo $! >"$dir/mlflow.pid"

for _ in $(seq 1 240); do
    if "$bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/health', timeout=2)" 2>/dev/null; then
        echo "http://127.0.0.1:$port"
        exit 0
    fi
    if ! kill -0 "$(cat "$dir/mlflow.pid")" 2>/dev/null; then
        echo "team-server: mlflow server exited; see $dir/mlflow.log" >&2
        stop
        exit 1
    fi
    sleep 0.5
done
echo "team-server: mlflow server did not answer within 120 s; see $dir/mlflow.log" >&2
stop
exit 1

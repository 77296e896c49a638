#!/usr/bin/env bash
# End-to-end suite: real PostgreSQL, Redis, gunicorn and a Celery worker, everything on 127.0.0.1.
#
# Run by `make test-integration` (which `.ci/run` calls after `make test`). On a fresh Debian
# machine, as root, it installs PostgreSQL and Redis with apt, starts private instances in a temporary
# directory on free ports, runs build.sh (pip install, collectstatic, migrate), starts the Procfile's
# `web` and `worker` commands verbatim, waits for /ready/ and runs `pytest -m integration` against the
# live server. Whatever happens, everything it started is stopped on exit; on failure the last lines
# of each log are printed. A second run cleans up after a first one that was killed.
#
# Knobs: INTEGRATION_KEEP=1 keeps the state directory (logs, data) after the run;
#        PYTEST_ARGS="-k kill" passes extra arguments to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
STARTED_AT=$(date +%s)
export PATH="$ROOT/.venv/bin:$PATH"
STATE_PARENT="${TMPDIR:-/tmp}"
STATE_PREFIX="leadscore-it."
LOG_TAIL_LINES=60

log() { printf '[integration %4ss] %s\n' "$(($(date +%s) - STARTED_AT))" "$*"; }
die() { log "ERROR: $*"; exit 1; }

# --- Only one run at a time on a machine (a second one would clean up the first) -----------------
exec 9>"$STATE_PARENT/${STATE_PREFIX}lock"
flock -w 60 9 || die "another integration run holds $STATE_PARENT/${STATE_PREFIX}lock"

# Children close fd 9 (`9>&-`), so a process that outlives a killed run never holds the lock.

# --- Process helpers ------------------------------------------------------------------------------
# Every long-running process is started as the leader of its own process group (setsid), so it and
# its children (gunicorn and celery workers) can be stopped together. Pid files hold the leader's pid.

# is_ours PID PATTERN: the pid is alive and its command line matches (guards against pid reuse).
# While a process is in execve, /proc/PID/cmdline reads empty (seen here 1 time in 2 right after
# start, and it failed CI once), as it does for a zombie: an empty read is looked at again for up
# to a second before it counts as "not ours". No pipe to `grep -q`, which pipefail would turn into a
# failure whenever grep exits before the writer has finished.
is_ours() {
  local pid=$1 pattern=$2 cmdline="" i
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  for ((i = 0; i < 20; i++)); do
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [ -n "$cmdline" ] && break
    sleep 0.05
  done
  [[ "$cmdline" == *"$pattern"* ]]
}

# stop_group PIDFILE PATTERN: TERM the group, wait up to 15 s, then KILL whatever is left of it.
stop_group() {
  local pidfile=$1 pattern=$2 pid i
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if is_ours "$pid" "$pattern"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 75; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

pg_bin_dir() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }

# as_pg CMD...: PostgreSQL refuses to run as root, so root runs it as the `postgres` user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# stop_state DIR: stop whatever a run with this state directory started.
stop_state() {
  local dir=$1 pidfile
  stop_group "$dir/pytest.pid" "pytest"
  # worker.pid is the Procfile worker; the suite may start more (worker-*.pid).
  for pidfile in "$dir"/worker*.pid "$dir"/beat.pid; do
    stop_group "$pidfile" "celery"
  done
  stop_group "$dir/web.pid" "gunicorn"
  if [ -s "$dir/redis.pid" ]; then
    local rpid
    rpid=$(cat "$dir/redis.pid")
    if is_ours "$rpid" "redis-server"; then
      kill -TERM "$rpid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$rpid" 2>/dev/null || true
    fi
  fi
  if [ -s "$dir/pg/data/postmaster.pid" ] && [ -n "$(pg_bin_dir)" ]; then
    as_pg "$(pg_bin_dir)/pg_ctl" -D "$dir/pg/data" -m fast -w -t 20 stop >/dev/null 2>&1 \
      || as_pg "$(pg_bin_dir)/pg_ctl" -D "$dir/pg/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
  fi
}

# --- Left-overs of an earlier run that was killed -------------------------------------------------
for stale in "$STATE_PARENT/$STATE_PREFIX"*/; do
  [ -d "$stale" ] || continue
  log "cleaning up an earlier run: $stale"
  stop_state "${stale%/}"
  rm -rf "${stale%/}"
done

# --- PostgreSQL and Redis -------------------------------------------------------------------------
need=()
{ [ -n "$(pg_bin_dir)" ] && [ -x "$(pg_bin_dir)/initdb" ]; } || need+=(postgresql)
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || need+=(redis-server)
if ((${#need[@]})); then
  [ "$(id -u)" = 0 ] || die "${need[*]} missing and not root: apt-get install ${need[*]}"
  log "installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq >/dev/null
  timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
PG_BIN="$(pg_bin_dir)"
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"

STATE="$(mktemp -d "$STATE_PARENT/${STATE_PREFIX}XXXXXX")"
chmod 755 "$STATE"
LOGS="$STATE/logs"
mkdir -p "$LOGS" "$STATE/redis" "$STATE/data" "$STATE/metrics" "$STATE/static" "$STATE/pg/sock"
STATUS=1

dump_logs() {
  local f
  for f in "$LOGS"/web.log "$LOGS"/worker*.log "$LOGS"/beat.log "$LOGS"/redis.log "$STATE"/pg/postgres.log; do
    [ -s "$f" ] || continue
    echo "----- last $LOG_TAIL_LINES lines of $f -----"
    tail -n "$LOG_TAIL_LINES" "$f"
  done
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ "$STATUS" = 0 ] || [ "$rc" != 0 ] || rc=1
  if [ "$rc" != 0 ]; then
    log "FAILED (exit $rc)"
    dump_logs || true
  fi
  log "stopping gunicorn, worker, beat, redis, postgres"
  stop_state "$STATE"
  if [ "$rc" != 0 ] || [ "${INTEGRATION_KEEP:-0}" = 1 ]; then
    log "state kept in $STATE (removed by the next run)"
  else
    rm -rf "$STATE"
  fi
  log "done in $(($(date +%s) - STARTED_AT)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port PREFERRED: the preferred port when it is free on 127.0.0.1, else any free one.
free_port() {
  python - "$1" <<'PY'
import socket, sys
for port in (int(sys.argv[1]), 0):
    with socket.socket() as s:
        # Like the servers, ignore connections of an earlier run lingering in TIME_WAIT.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
}
PG_PORT=$(free_port 55432)
REDIS_PORT=$(free_port 56379)
WEB_PORT=$(free_port 58000)
[ "$PG_PORT" != "$REDIS_PORT" ] && [ "$REDIS_PORT" != "$WEB_PORT" ] && [ "$PG_PORT" != "$WEB_PORT" ] \
  || die "could not find three distinct free ports"

log "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT"
PG_DATA="$STATE/pg/data"
PG_PASSWORD="$(python -c 'import secrets; print(secrets.token_hex(16))')"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE/pg"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  -E UTF8 --no-locale --no-sync >"$LOGS/initdb.log" 2>&1 || { cat "$LOGS/initdb.log"; die "initdb failed"; }
# Durability is not under test: fsync off keeps the suite fast.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$STATE/pg/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $STATE/pg/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null 9>&-
as_pg "$PG_BIN/psql" -h "$STATE/pg/sock" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE ROLE leadscore LOGIN PASSWORD '$PG_PASSWORD'" \
  -c "CREATE DATABASE leadscore OWNER leadscore" >/dev/null

log "Redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT"
REDIS_ARGS=(--bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --daemonize yes
  --dir "$STATE/redis" --pidfile "$STATE/redis.pid" --logfile "$LOGS/redis.log")
redis-server "${REDIS_ARGS[@]}" 9>&-
for ((i = 0; i < 100; i++)); do
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || die "redis did not start"
# --daemonize writes the pid file a moment after it answers; wait for it so cleanup can find it.
for ((i = 0; i < 50; i++)); do [ -s "$STATE/redis.pid" ] && break; sleep 0.1; done

# --- The application's environment (what a deployment sets) ---------------------------------------
export DEBUG=0
SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
export SECRET_KEY
METRICS_TOKEN="$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"
export METRICS_TOKEN
export ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL="postgres://leadscore:$PG_PASSWORD@127.0.0.1:$PG_PORT/leadscore"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export CACHE_URL="redis://127.0.0.1:$REDIS_PORT/1"
# A killed worker's unacknowledged task goes back to the queue after this many seconds.
export CELERY_VISIBILITY_TIMEOUT=15
# A killed worker's import or chunk is taken over by beat's jobs sweep once its lease ran out.
export JOB_LEASE_SECONDS=6
export CELERY_TASK_ALWAYS_EAGER=0
export JOB_WAIT_SECONDS=1
export SCORE_CHUNK_SIZE=250
export INTENT_PROVIDER=local
# The suite's webhook receivers listen on 127.0.0.1; the sweep runs often so retries come quickly.
export WEBHOOK_ALLOW_PRIVATE=1
export AUTOMATION_SWEEP_SECONDS=2
export AUTOMATION_LEASE_SECONDS=8
export OPENAI_API_KEY=
export SECURE_COOKIES=0
export SECURE_SSL_REDIRECT=0
export CORS_ALLOWED_ORIGINS=https://app.example.test
export THROTTLE_UPLOAD=12/hour
export THROTTLE_SCORE=60/hour
export DATA_DIR="$STATE/data"
export STATIC_ROOT="$STATE/static"
export PROMETHEUS_MULTIPROC_DIR="$STATE/metrics"
export LOG_LEVEL=INFO
export PORT="$WEB_PORT"
export GUNICORN_BIND="127.0.0.1:$WEB_PORT"
export WEB_CONCURRENCY=2
export GUNICORN_THREADS=4
export PYTHON=python

log "build.sh (pip install, collectstatic, migrate)"
./build.sh >"$LOGS/build.log" 2>&1 || { tail -n "$LOG_TAIL_LINES" "$LOGS/build.log"; die "build.sh failed"; }

# --- Web and worker: the Procfile's commands, verbatim ---------------------------------------------
procfile_cmd() { sed -n "s/^$1:[[:space:]]*//p" Procfile | head -n 1; }
WEB_CMD="$(procfile_cmd web)"
WORKER_CMD="$(procfile_cmd worker)"
[ -n "$WEB_CMD" ] && [ -n "$WORKER_CMD" ] || die "Procfile lacks a web or worker line"

# start_group NAME CMD: run CMD through bash as the leader of a new process group, logging to a file.
start_group() {
  local name=$1 cmd=$2
  setsid bash -c "exec $cmd" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/$name.pid"
  # The suite kills the worker on purpose; disowned, its end isn't reported as "Killed" here.
  disown $!
}
log "web:    $WEB_CMD  (http://127.0.0.1:$WEB_PORT)"
start_group web "$WEB_CMD"
# Workers get a DATA_DIR of their own, as on another machine: nothing reaches them through the web
# process's disk (uploads wait in PostgreSQL, UPLOAD_STORAGE's default there).
WORKER_DATA_DIR="$STATE/worker-data"
mkdir -p "$WORKER_DATA_DIR"
WORKER_CMD_HERE="env DATA_DIR=$WORKER_DATA_DIR $WORKER_CMD"
log "worker: $WORKER_CMD  (DATA_DIR=$WORKER_DATA_DIR)"
start_group worker "$WORKER_CMD_HERE"
BEAT_CMD="$(procfile_cmd beat)"
[ -n "$BEAT_CMD" ] || die "Procfile lacks a beat line"
mkdir -p "$STATE/beat-data"
log "beat:   $BEAT_CMD"
start_group beat "env DATA_DIR=$STATE/beat-data $BEAT_CMD"

READY_URL="http://127.0.0.1:$WEB_PORT/ready/"
ready=0
for ((i = 0; i < 120; i++)); do
  is_ours "$(cat "$STATE/web.pid")" gunicorn || die "gunicorn exited during start-up"
  is_ours "$(cat "$STATE/worker.pid")" celery || die "the Celery worker exited during start-up"
  if python - "$READY_URL" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PY
    ready=1
    break
  fi
  sleep 0.5
done
[ "$ready" = 1 ] || die "$READY_URL did not answer 200 within 60 s"
for ((i = 0; i < 120; i++)); do
  grep -q "ready\." "$LOGS/worker.log" && break
  sleep 0.5
done
grep -q "ready\." "$LOGS/worker.log" || die "the Celery worker did not report ready within 60 s"
log "web and worker ready"

# --- The suite --------------------------------------------------------------------------------------
export LEADSCORE_URL="http://127.0.0.1:$WEB_PORT"
export INTEGRATION_STATE="$STATE"
export INTEGRATION_LOGS="$LOGS"
export INTEGRATION_WORKER_CMD="$WORKER_CMD_HERE"
export INTEGRATION_WORKER_PIDFILE="$STATE/worker.pid"
export INTEGRATION_REDIS_PORT="$REDIS_PORT"
# The outage test stops Redis and starts it again with the same arguments (as JSON: one is empty).
INTEGRATION_REDIS_ARGS="$(python -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${REDIS_ARGS[@]}")"
export INTEGRATION_REDIS_ARGS
# Test processes and the subprocesses they start use the production settings, like the server.
export DJANGO_SETTINGS_MODULE=main.settings
log "pytest -m integration"
# In the background with a pid file, so a later run can stop it if this script is killed.
# shellcheck disable=SC2086
timeout 900 python -m pytest -m integration leads/tests/integration --ds=main.settings -p no:randomly \
  ${PYTEST_ARGS:-} 9>&- &
echo $! >"$STATE/pytest.pid"
wait "$(cat "$STATE/pytest.pid")"
rm -f "$STATE/pytest.pid"
STATUS=0
log "integration suite passed"

#!/usr/bin/env bash
# Fuzz the API from its own schema (/swagger.json) with schemathesis, against gunicorn on 127.0.0.1
# with the embedded defaults in a scratch folder. Fails on any 5xx and on any response the schema
# does not describe (status code, content type, body). Bounded and reproducible: a fixed seed,
# deterministic generation and a few examples per operation (SCHEMATHESIS_EXAMPLES, default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DEBUG=0 SECRET_KEY="schemathesis-$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz" ALLOWED_HOSTS=127.0.0.1
export SECURE_COOKIES=0 DATA_DIR="$work/data" STATIC_ROOT="$work/static" PROMETHEUS_MULTIPROC_DIR="$work/metrics"
export DATABASE_URL="" CELERY_BROKER_URL="" CACHE_URL="" INTENT_PROVIDER=local OPENAI_API_KEY=""
# No worker: jobs run inside the request, so every request finishes its work before the next.
export CELERY_TASK_ALWAYS_EAGER=1 JOB_WAIT_SECONDS=5 THROTTLE_UPLOAD=100000/hour THROTTLE_SCORE=100000/hour
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$BIN/python" manage.py migrate --noinput --verbosity 0
token=$("$BIN/python" manage.py create_workspace fuzz fuzzer 2>/dev/null | tail -n 1)

GUNICORN_BIND=127.0.0.1:$port WEB_CONCURRENCY=2 "$BIN/gunicorn" main.wsgi --config main/gunicorn.conf.py \
  --log-level warning >"$work/server.log" 2>&1 &
server=$!

started=$(date +%s)
status=0
"$BIN/schemathesis" --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/swagger.json" --wait-for-schema 60 \
  --header "Authorization: Token $token" \
  --phases examples,coverage,fuzzing --mode positive \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-15}" --seed 20261201 --generation-deterministic \
  --workers 2 --request-timeout 30 --no-color \
  --report junit --report-dir "$work/report" || status=$?
echo "schemathesis: $(grep -c ' HTTP/1.1" ' "$work/server.log" || true) requests in $(($(date +%s) - started)) s, exit $status"
if [[ $status -ne 0 ]]; then
  echo "--- server log (last 80 lines but access lines)"; grep -v ' HTTP/1.1" ' "$work/server.log" | tail -n 80
fi
exit "$status"

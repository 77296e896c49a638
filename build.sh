#!/usr/bin/env bash
# Build step for platforms like Render ("Build Command: ./build.sh"): install the pinned
# dependencies, collect static files for WhiteNoise, apply migrations. Production settings come
# from the environment (DEBUG=0 needs SECRET_KEY and ALLOWED_HOSTS, see .env.example).
# The integration suite (.ci/integration.sh) runs this very file against PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python}"

"$PYTHON" -m pip install --disable-pip-version-check --no-input --quiet -r requirements.txt
"$PYTHON" manage.py collectstatic --noinput --verbosity 0
"$PYTHON" manage.py migrate --noinput

# syntax=docker/dockerfile:1
# Leadscore: one image for the web process (gunicorn) and the Celery worker (same image, other command).
#   docker build -t leadscore .
#   docker run --env-file .env -p 8000:8000 leadscore          # web
#   docker run --env-file .env leadscore celery -A main worker --loglevel=INFO
#   docker run --env-file .env leadscore celery -A main beat --scheduler django_celery_beat.schedulers:DatabaseScheduler
# docker-compose.yml wires it to PostgreSQL and Redis. Settings come from the environment (.env.example).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# An unprivileged user owns only the data directory; the code stays root-owned and read-only to it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies first, so a code change doesn't reinstall them. Every package is pinned in
# requirements.txt and ships wheels (psycopg[binary]), so no compiler is needed.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# Static files are collected at build time with throwaway settings that pass the DEBUG=0 startup
# check; nothing here reaches the running container (SECRET_KEY comes from its environment).
RUN DEBUG=0 \
    SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q leads main \
    && mkdir -p /app/var/metrics \
    && chown -R app:app /app/var
# /app/var (DATA_DIR) is the only writable folder: the metrics files, and an upload while it is
# imported (with PostgreSQL it waits in the database, so web and worker need not share a disk).
# docker-compose mounts one named volume there for both, so /metrics adds up their counters (a new
# volume starts as a copy of this directory, metrics/ included: prometheus_client needs it to exist).

USER app
EXPOSE 8000

# slim has no curl: probe /health/ with the standard library. The Host header is the first
# ALLOWED_HOSTS entry, so the probe passes Django's host check in production too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import os, urllib.request as u; h = next((x.strip().lstrip('.') for x in os.environ.get('ALLOWED_HOSTS', '').split(',') if x.strip() not in ('', '*')), 'localhost'); u.urlopen(u.Request('http://127.0.0.1:%s/health/' % os.environ.get('PORT', '8000'), headers={'Host': h}), timeout=4)"]

# The same command as the Procfile's web line; main/gunicorn.conf.py reads PORT, WEB_CONCURRENCY, ...
CMD ["gunicorn", "main.wsgi", "--config", "main/gunicorn.conf.py"]

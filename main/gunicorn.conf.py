"""Gunicorn settings for every deployment (Dockerfile, docker-compose, Procfile), read from the environment.

`gunicorn main.wsgi --config main/gunicorn.conf.py` is the one web command line; only these variables
change between platforms:

- `PORT` (8000) and `GUNICORN_BIND` (default `0.0.0.0:$PORT`; the integration suite binds 127.0.0.1).
- `WEB_CONCURRENCY` worker processes (default 2 × CPUs + 1, at most 8) and `GUNICORN_THREADS` (4) each.
  Threads suit this app: a request mostly waits on the database, or on a job within JOB_WAIT_SECONDS.
- `GUNICORN_TIMEOUT` (120 s): a request blocked longer than this has its worker restarted. It must
  exceed JOB_WAIT_SECONDS plus the time to receive the largest upload.
- `FORWARDED_ALLOW_IPS`: proxies whose X-Forwarded-* headers are trusted (gunicorn's own default).

/metrics adds the counters of all worker processes up through prometheus_client's multiprocess
mode: unless PROMETHEUS_MULTIPROC_DIR is set, a fresh directory is made for this master.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "").strip() or f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then so a slow leak can't grow forever; jitter keeps them from restarting together.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Refuse absurd request lines and headers early (the upload size limit is the app's, before the body is read).
limit_request_line = 8190
limit_request_fields = 100
# The heartbeat file on a container's overlay filesystem can stall workers; /dev/shm is memory.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# gunicorn 25+ opens a control socket under $HOME by default: in the image $HOME (/app) isn't the app
# user's to write, and several servers on one host (tests, benchmarks) would share one path.
control_socket_disable = True

# Logs go to stdout/stderr (12-factor); the access log never includes headers, so tokens stay out of it.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
capture_output = False

_OWN_METRICS_DIR = ""
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Set before the workers import prometheus_client (the app is loaded in each worker, not here).
    _OWN_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="leadscore-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Tell prometheus_client a worker is gone (its counters stay; its live gauges are dropped)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics directory this master made (a shared PROMETHEUS_MULTIPROC_DIR is left alone)."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)

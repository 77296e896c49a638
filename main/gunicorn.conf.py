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

Uploads larger than FILE_UPLOAD_MAX_MEMORY_SIZE are spooled to a folder of each worker's own,
DATA_DIR/tmp/uploads/<host>-<pid>: a worker killed mid-upload (SIGKILL, the timeout, the OOM
killer) can't remove its temporary file, so the master removes the folder when the worker is gone,
and at start the folders of this host's dead processes.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

# The same .env the settings read (DATA_DIR, WEB_CONCURRENCY...); the environment wins over it.
load_dotenv(Path(__file__).resolve().parent.parent / ".env")


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


_UPLOAD_TMP_ROOT = (Path(os.environ.get("DATA_DIR", "").strip() or Path(__file__).resolve().parent.parent / "var")
                    / "tmp" / "uploads")
_HOST = socket.gethostname()


def _upload_tmp_dir(pid: int) -> Path:
    return _UPLOAD_TMP_ROOT / f"{_HOST}-{pid}"


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def on_starting(server: Any) -> None:
    """Remove the upload folders that workers of an earlier server on this host left (it was killed)."""
    for folder in _UPLOAD_TMP_ROOT.glob(f"{_HOST}-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if not pid.isdecimal() or not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def post_fork(server: Any, worker: Any) -> None:
    """Give this worker its own folder for spooled uploads (read by settings.FILE_UPLOAD_TEMP_DIR)."""
    folder = _upload_tmp_dir(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["FILE_UPLOAD_TEMP_DIR"] = str(folder)


def post_worker_init(worker: Any) -> None:
    """With SQLite, checkpoint the WAL from a thread of this worker, not inside commits (see
    main/wal_checkpoint.py). After the app is loaded: the thread reads the database settings."""
    from main.wal_checkpoint import checkpointer_start

    checkpointer_start()


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: remove its spooled uploads, and tell prometheus_client (its counters stay;
    its live gauges are dropped)."""
    shutil.rmtree(_upload_tmp_dir(worker.pid), ignore_errors=True)
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics directory this master made (a shared PROMETHEUS_MULTIPROC_DIR is left alone)."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)

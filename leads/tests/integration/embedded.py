"""The embedded default (`make run`: SQLite, the filesystem broker, no servers) started beside the
suite's PostgreSQL + Redis stack, in a DATA_DIR of its own, for the cases that differ there: a
broker that forgets what a killed worker had fetched, throttle counters in the database, spooled
uploads on the local disk.

Every process gets the same environment, whose DATA_DIR names it: `leftovers()` finds whatever still
runs from it, however it was started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leads.tests.integration.conftest import ROOT, Api, group_alive

# What a shell on a laptop has; everything else comes from .env (copied from .env.example), as for `make run`.
_KEPT = {"PATH", "HOME", "LANG", "LC_ALL", "USER", "LOGNAME", "SHELL", "TERM"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"Procfile has no {name} line")


def embedded_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key in _KEPT}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    tmp = data_dir / "system-tmp"  # TMPDIR: what the stack leaves in "/tmp" is seen here
    tmp.mkdir(parents=True, exist_ok=True)
    env.update(DATA_DIR=str(data_dir), PORT=str(port), TMPDIR=str(tmp), DEBUG="1", INTENT_PROVIDER="local",
               PYTHONUNBUFFERED="1", **extra)
    return env


def leftovers(data_dir: Path) -> list[int]:
    """Pids of live processes started with this DATA_DIR (zombies don't count)."""
    marker = f"DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        except OSError:
            continue
        found.append(int(entry.name))
    return found


class Embedded:
    """web, worker and beat: the Procfile's commands, each the leader of its own process group."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = embedded_env(data_dir, self.port, **env)
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.starts = 0

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=180)
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def tenant_api(self, label: str) -> Api:
        token = self.manage("create_workspace", f"{label}-ws", f"{label}-user").strip().splitlines()[-1].strip()
        return Api(self.base_url, token)

    def start(self, name: str, command: str, *, ready: str) -> Path:
        self.starts += 1
        log = self.logs / f"{name}-{self.starts}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=self.env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes[name] = process
        deadline = time.monotonic() + 90
        while ready.encode() not in log.read_bytes():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not get ready within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        return log

    def start_web(self) -> Path:
        env_bind = f"env GUNICORN_BIND=127.0.0.1:{self.port} WEB_CONCURRENCY=2 "
        return self.start("web", env_bind + procfile_command("web"), ready="Booting worker")

    def start_worker(self) -> Path:
        return self.start("worker", "env WORKER_CONCURRENCY=2 " + procfile_command("worker"), ready=" ready.")

    def start_all(self) -> None:
        self.manage("migrate", "--noinput")
        self.start_web()
        self.start_worker()
        self.start("beat", procfile_command("beat"), ready="Starting")
        deadline = time.monotonic() + 60
        while not (self._listening() and Api(self.base_url).get("/health/").status == 200):
            assert time.monotonic() < deadline, "the embedded web server did not answer /health/"
            time.sleep(0.3)

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def kill(self, name: str) -> None:
        """SIGKILL the process group: no shutdown of any kind."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while group_alive(process.pid):
            assert time.monotonic() < deadline, f"{name} survived SIGKILL"
            time.sleep(0.05)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        for pid in leftovers(self.data_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

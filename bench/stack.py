"""The server under test: gunicorn + a Celery worker on a fresh DATA_DIR, started as `make run` does.

Each `Stack` owns a temporary data directory (SQLite file, filesystem broker, uploads) and two
process groups. `stop()` always kills both groups and is called from `finally` blocks, so a failed
or interrupted benchmark leaves no process behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Api, BenchError

# Not resolve(): a copy of the repo with a symlinked bench/ must run its own code.
REPO = Path(__file__).absolute().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
START_TIMEOUT = 90.0


# `make run`'s commands, used when the Makefile can't be read; `run_commands` prefers the Makefile's.
DEFAULT_WORKER = "$(BIN)/celery -A main worker --loglevel=INFO --concurrency=2 --pool=prefork"
DEFAULT_WEB = ("$(BIN)/gunicorn main.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --timeout 120 "
               "--access-logfile -")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class RunCommands:
    worker: list[str]
    web: list[str]
    worker_env: dict[str, str] = field(default_factory=dict)
    web_env: dict[str, str] = field(default_factory=dict)
    from_makefile: bool = False


def _makefile_recipe() -> str:
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n?)+)", makefile, re.M)
    return recipe.group(1).replace("\\\n", " ") if recipe else ""


def run_commands(port: int, data_dir: Path) -> RunCommands:
    """The worker and web commands (argv and per-command environment) of the Makefile's `run` target.

    Understands what the recipe uses: `export NAME=value;`, `NAME=value command` prefixes, `$(BIN)`,
    `$(PORT)` and `$(CURDIR)`; paths under the repo's `var/` are moved into `data_dir`. The web
    command always gets `--bind 127.0.0.1:<port>` (a command-line bind beats a config file's).
    """
    substitutions = {"$(PORT)": str(port), "$(CURDIR)/var": str(data_dir), "$(CURDIR)": str(REPO), "$$": "$"}

    def expand(text: str) -> str:
        for old, new in substitutions.items():
            text = text.replace(old, new)
        return text

    shared: dict[str, str] = {}
    worker = web = None
    try:
        recipe = _makefile_recipe()
    except OSError:
        recipe = ""
    for part in re.split(r"\s&\s|;|&&|\n", recipe):
        part = part.strip().lstrip("@").strip()
        if not part or part.startswith("#"):
            continue
        try:  # splitting on ";" can cut an echo's quoted text in two: such a piece is not a command
            tokens = shlex.split(expand(part))
        except ValueError:
            continue
        if tokens[0] == "export":
            for token in tokens[1:]:
                if _ASSIGNMENT.match(token):
                    name, value = token.split("=", 1)
                    shared[name] = value
            continue
        env: dict[str, str] = {}
        while tokens and _ASSIGNMENT.match(tokens[0]):
            name, value = tokens.pop(0).split("=", 1)
            env[name] = value
        if not tokens:
            continue
        # Values the shell would expand ($PATH, $$metrics) are the recipe's plumbing, not settings.
        env = {name: value for name, value in env.items() if "$" not in value}
        if tokens[:1] == ["exec"]:
            tokens = tokens[1:]
        if tokens and tokens[0] == "$(BIN)/honcho":  # the Procfile's lines, with the recipe's environment
            procfile = _procfile()
            env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(data_dir / "metrics"))  # what the recipe makes
            worker = (shlex.split(procfile["worker"]), dict(env))
            web = (shlex.split(procfile["web"]), dict(env))
        elif tokens and tokens[0] == "$(BIN)/celery" and "worker" in tokens:
            worker = (tokens, env)
        elif tokens and tokens[0] == "$(BIN)/gunicorn":
            web = (tokens, env)
    from_makefile = worker is not None and web is not None
    if worker is None:
        worker = (shlex.split(expand(DEFAULT_WORKER)), {})
    if web is None:
        web = (shlex.split(expand(DEFAULT_WEB)), {})
    for argv, _ in (worker, web):
        argv[0] = _tool(argv[0].replace("$(BIN)/", ""))
    web_argv = web[0]
    for flag in ("--bind", "-b"):
        while flag in web_argv:
            index = web_argv.index(flag)
            del web_argv[index:index + 2]
    web_argv += ["--bind", f"{HOST}:{port}"]
    web_env = {**shared, **web[1], "GUNICORN_BIND": f"{HOST}:{port}"}
    return RunCommands(worker=worker[0], web=web_argv, worker_env={**shared, **worker[1]}, web_env=web_env,
                       from_makefile=from_makefile)


def _procfile() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _tool(name: str) -> str:
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def kill_group(process: subprocess.Popen[bytes], *, grace: float = 3.0) -> None:
    """SIGTERM the leader (it stops its own workers), then SIGKILL the whole group after `grace` seconds."""
    if process.poll() is None:
        try:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):  # whatever is left of the group
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


class Stack:
    """One web + worker pair with its own data directory and environment."""

    def __init__(self, data_dir: Path, *, name: str = "bench", debug: bool = True,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.debug = debug
        self.data_dir = data_dir
        self.port = free_port()
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.commands: dict[str, str] = {}
        self.env = self._environment(env or {})

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        # Everything that decides the deployment is set explicitly: the repo's .env (loaded by
        # settings without overriding) must not point the benchmark at another database or broker.
        env.update({
            "DEBUG": "1",
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": f"sqlite:///{self.data_dir / 'leadscore.sqlite3'}",
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "INTENT_PROVIDER": "local",
            "OPENAI_API_KEY": "",
            "OPENAI_BASE_URL": "",
            "LOG_LEVEL": "WARNING",
            # The benchmark uploads and scores more often than a person would.
            "THROTTLE_UPLOAD": "100000/hour",
            "THROTTLE_SCORE": "100000/hour",
            "PORT": str(self.port),
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "PYTHONUNBUFFERED": "1",
            "TMPDIR": str(self.data_dir / "tmp"),  # uploads spooled to disk stay inside the data dir
            # The automations phase's webhook receiver listens on 127.0.0.1, which webhooks refuse otherwise.
            "WEBHOOK_ALLOW_PRIVATE": "1",
        })
        if not self.debug:
            env.update({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1,localhost",
                        "SECURE_COOKIES": "0", "SECURE_SSL_REDIRECT": "0"})
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 300.0) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            raise BenchError(f"manage.py {' '.join(args)} failed: {result.stderr.decode()[-2000:]}")
        return result.stdout.decode()

    def start(self) -> Stack:
        (self.data_dir / "tmp").mkdir(parents=True, exist_ok=True)
        # The filesystem broker's folders (main.celery.ensure_broker_folders makes them too, when called).
        for folder in ("broker/queue", "broker/control"):
            (self.data_dir / folder).mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        # The exact commands of `make run`.
        commands = run_commands(self.port, self.data_dir)
        for variable in ("PROMETHEUS_MULTIPROC_DIR",):  # directories the recipe wants to exist
            for env in (commands.worker_env, commands.web_env):
                if variable in env:
                    Path(env[variable]).mkdir(parents=True, exist_ok=True)
        shown = {"web": commands.web, "worker": commands.worker}
        self.commands = {
            name: " ".join(argv[1:]).replace(f"{HOST}:{self.port}", f"{HOST}:<free port>")
            .replace(str(self.data_dir), "$DATA_DIR")
            for name, argv in shown.items()
        }
        self.commands["from_makefile"] = "yes" if commands.from_makefile else "no (Makefile not understood)"
        self.worker = subprocess.Popen(
            commands.worker, cwd=REPO, env={**self.env, **commands.worker_env},
            stdout=(logs / "worker.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.web = subprocess.Popen(
            commands.web, cwd=REPO, env={**self.env, **commands.web_env},
            stdout=(logs / "web.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_ready(logs)
        return self

    def _wait_ready(self, logs: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        probe = Api(HOST, self.port, token="-", timeout=5)
        web_ready = worker_ready = False
        while time.monotonic() < deadline and not (web_ready and worker_ready):
            for process, log in ((self.web, "web.log"), (self.worker, "worker.log")):
                if process is not None and process.poll() is not None:
                    raise BenchError(f"{log} process exited: {(logs / log).read_text(errors='replace')[-3000:]}")
            if not web_ready:
                with contextlib.suppress(OSError):
                    web_ready = probe.get("/ready/").status == 200
            if not worker_ready:
                worker_ready = " ready." in (logs / "worker.log").read_text(errors="replace")
            time.sleep(0.2)
        if not (web_ready and worker_ready):
            raise BenchError(f"server not ready after {START_TIMEOUT:.0f} s (web={web_ready}, worker={worker_ready})")

    def workspace(self, name: str) -> Api:
        """Create a workspace and user, and return a client holding its token."""
        token = self.manage("create_workspace", name, name).strip().splitlines()[-1].strip()
        return Api(HOST, self.port, token)

    def log_tails(self, chars: int = 3000) -> str:
        """The end of the web and worker logs, for a failure message."""
        parts = []
        for name in ("worker.log", "web.log"):
            path = self.data_dir / "logs" / name
            if path.exists():
                # Without gunicorn's access lines: the errors are what a failure report needs.
                text = "\n".join(line for line in path.read_text(errors="replace").splitlines()
                                 if '" 200 ' not in line and '" 201 ' not in line)
                parts.append(f"--- {name} (last {chars} characters) ---\n{text[-chars:]}")
        return "\n".join(parts)

    @property
    def roots(self) -> list[int]:
        return [p.pid for p in (self.web, self.worker) if p is not None]

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None:
                kill_group(process)

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

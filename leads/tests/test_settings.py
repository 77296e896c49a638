"""Production settings refuse to start insecure: checked in a fresh interpreter, as a server would start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _import_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DATA_DIR"}}
    # Every variable the check reads is set explicitly: a .env (make run writes one) never overrides them.
    return subprocess.run([sys.executable, "-c", "import main.settings"], cwd=REPO, capture_output=True, text=True,
                          env={**clean, "DATA_DIR": str(tmp_path), "DEBUG": "0", **env}, timeout=60, check=False)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "", "ALLOWED_HOSTS": "api.example.com"}, "SECRET_KEY is missing or insecure"),
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "api.example.com"}, "SECRET_KEY is missing or insecure"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 40, "ALLOWED_HOSTS": "api.example.com"},
         "SECRET_KEY is missing or insecure"),
        ({"SECRET_KEY": "q8Xv2" * 10, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
    ],
    ids=["missing-key", "short-key", "insecure-prefix", "no-hosts"],
)
def test_debug_off_refuses_insecure_settings(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = _import_settings(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_debug_off_starts_with_real_settings(tmp_path: Path) -> None:
    result = _import_settings(tmp_path, SECRET_KEY="q8Xv2-k3Lm9-Zp4Rt-7wYb1-Nc6Hd-Fj0Ge",
                              ALLOWED_HOSTS="api.example.com")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("blank", ["", "  "], ids=["empty", "spaces"])
def test_a_blank_metrics_folder_means_one_process_and_writes_nothing(tmp_path: Path, blank: str) -> None:
    """`.env.example` has `PROMETHEUS_MULTIPROC_DIR=`: a manage.py run must not leave counter_<pid>.db files behind."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATA_DIR"}}
    script = ("import django, os; django.setup(); from leads.metrics import JOBS; "
              "JOBS.labels(kind='import', status='succeeded').inc(); "
              "print('multiprocess' if os.environ.get('PROMETHEUS_MULTIPROC_DIR') is not None else 'single')")
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); {script}"], cwd=workdir,
        capture_output=True, text=True, timeout=60, check=False,
        env={**clean, "DJANGO_SETTINGS_MODULE": "main.settings", "DATA_DIR": str(tmp_path / "data"), "DEBUG": "1",
             "PROMETHEUS_MULTIPROC_DIR": blank})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "single"
    assert sorted(p.name for p in workdir.iterdir()) == []
    assert not list(REPO.glob("*_[0-9]*.db"))

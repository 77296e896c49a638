"""With DEBUG off, the admin and the docs need the static manifest that `make run` collects."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

ROOT = Path(settings.BASE_DIR)
MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.mark.django_db
def test_make_static_serves_admin_and_docs_with_debug_off(tmp_path: Path) -> None:
    static_root = tmp_path / "static"
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "static-test-" + "0123456789abcdefghijklmnop",
           "ALLOWED_HOSTS": "testserver",
           "STATIC_ROOT": str(static_root), "DATA_DIR": str(tmp_path / "data")}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py's own settings, as under `make run`
    done = subprocess.run(["make", "-s", "static"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (static_root / "staticfiles.json").is_file()
    with override_settings(DEBUG=False, STATIC_ROOT=static_root, STORAGES=MANIFEST_STORAGES):
        client = Client()
        for path in ("/admin/login/", "/swagger/", "/redoc/"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.content[:300])
            assert b"/static/" in response.content

"""UPLOAD_STORAGE=database: the upload waits in the database, so a worker on another machine (its
own MEDIA_ROOT, none of the web process's files) imports it all, and nothing is left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from leads.models import Job, Lead, UploadPart, Workspace
from leads.services import upload_store
from leads.services.imports import FILE_GONE, import_job_create, import_job_run

CSV = "name,role,company,industry,location,linkedin_bio,Phone\n" + "".join(
    f"Lead {i},CEO,Company {i},SaaS,Paris,\"Bio, with a comma {i}\",+33 {i}\n" for i in range(200))


@pytest.fixture
def web_media(settings: Any, tmp_path: Path) -> Path:
    settings.UPLOAD_STORAGE = "database"
    settings.MEDIA_ROOT = tmp_path / "web"
    return settings.MEDIA_ROOT


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.django_db
def test_a_worker_on_another_machine_imports_the_upload(settings: Any, tmp_path: Path, web_media: Path,
                                                        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_store, "PART_BYTES", 1000)  # several parts, and rows cut across them
    job = import_job_create(workspace=workspace, user=None, upload=ContentFile(CSV.encode(), name="leads.csv"),
                            filename="leads.csv")
    parts = list(UploadPart.objects.filter(job=job).order_by("index").values_list("data", flat=True))
    assert len(parts) == job.params["parts"] == -(-len(CSV.encode()) // 1000)
    assert b"".join(bytes(p) for p in parts) == CSV.encode()
    assert files_under(web_media) == []  # the web process keeps no copy

    settings.MEDIA_ROOT = tmp_path / "worker"
    seen: list[list[str]] = []  # the files on each disk while the import runs
    import_job_run(job.pk, progress=lambda _: seen.append([p.parent.parent.name for p in
                                                           files_under(tmp_path / "worker") + files_under(web_media)]))
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("succeeded", 200, 0), job.message
    assert seen and all(names == ["worker"] for names in seen[:-1]), seen  # the worker's own disk only
    assert Lead.objects.get(workspace=workspace, name="Lead 7").attributes == {"Phone": "+33 7"}
    assert UploadPart.objects.filter(job=job).count() == 0
    assert files_under(tmp_path / "worker") == []


@pytest.mark.django_db
def test_an_import_whose_parts_are_gone_fails_with_a_sentence(web_media: Path, workspace: Workspace) -> None:
    job = import_job_create(workspace=workspace, user=None, upload=ContentFile(CSV.encode(), name="leads.csv"),
                            filename="leads.csv")
    UploadPart.objects.filter(job=job, index=0).delete()
    import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message, job.processed) == ("failed", FILE_GONE, 0)
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_a_worker_killed_while_fetching_leaves_no_truncated_file(settings: Any, tmp_path: Path, web_media: Path,
                                                                 workspace: Workspace) -> None:
    job = import_job_create(workspace=workspace, user=None, upload=ContentFile(CSV.encode(), name="leads.csv"),
                            filename="leads.csv")
    settings.MEDIA_ROOT = tmp_path / "worker"
    target = Path(settings.MEDIA_ROOT) / "imports" / Path(job.params["path"]).name
    target.parent.mkdir(parents=True)
    target.with_name(target.name + ".part").write_bytes(CSV.encode()[:100])  # what the killed fetch left
    import_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created) == ("succeeded", 200)
    assert files_under(tmp_path / "worker") == []


@pytest.mark.django_db
def test_the_import_command_runs_in_place_and_stores_nothing(web_media: Path, workspace: Workspace) -> None:
    job = import_job_create(workspace=workspace, user=None, upload=ContentFile(CSV.encode(), name="leads.csv"),
                            filename="leads.csv", inline=True)
    assert "storage" not in job.params and UploadPart.objects.count() == 0
    import_job_run(job.pk)
    assert Job.objects.get(pk=job.pk).created == 200
    assert files_under(web_media) == []


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "filesystem"),
    ({"DATABASE_URL": "postgres://u:p@127.0.0.1:1/db"}, "database"),
    ({"DATABASE_URL": "postgres://u:p@127.0.0.1:1/db", "UPLOAD_STORAGE": "filesystem"}, "filesystem"),
    ({"UPLOAD_STORAGE": "database"}, "database"),
])
def test_the_default_follows_the_database(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    """SQLite means one machine, so the file can stay on disk; PostgreSQL may mean several."""
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; import django; django.setup();"
                               " print(settings.UPLOAD_STORAGE)"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "main.settings", "DEBUG": "1",
             "DATA_DIR": str(tmp_path), "DATABASE_URL": "", "UPLOAD_STORAGE": "", **env},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_an_unknown_storage_is_refused(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", "import main.settings"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DATA_DIR": str(tmp_path),
                                 "UPLOAD_STORAGE": "s3"})
    assert result.returncode != 0
    assert "UPLOAD_STORAGE must be 'filesystem' or 'database'" in result.stderr

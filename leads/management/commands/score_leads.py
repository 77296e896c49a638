"""`manage.py score_leads --workspace NAME [--offer ID] [--rescore]`: a scoring run from the shell.

It starts the same job the API starts; with a worker running the chunks go to it, otherwise
(`--inline`) this process scores them itself. A progress bar follows the job either way.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings
from tqdm import tqdm

from leads import selectors
from leads.exceptions import LeadsError
from leads.models import Job, Workspace
from leads.services.scoring import score_job_start


class Command(BaseCommand):
    help = "Score the workspace's leads against an offer (default: its latest offer), with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--offer", type=int)
        parser.add_argument("--rescore", action="store_true", help="Score again leads that already have a score.")
        parser.add_argument("--inline", action="store_true", help="Score in this process instead of the workers.")
        parser.add_argument("--timeout", type=float, default=24 * 3600, help="Stop following the job after this.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(name=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace named {options['workspace']!r}.")
        try:
            offer = selectors.offer_for_request(workspace=workspace, offer_id=options["offer"])
        except LeadsError as exc:
            raise CommandError(exc.message) from exc
        inline = override_settings(CELERY_TASK_ALWAYS_EAGER=True) if options["inline"] else nullcontext()
        with inline:
            start = score_job_start(workspace=workspace, user=None, offer=offer, rescore=options["rescore"])
        job = start.job
        if not start.started:
            self.stderr.write(f"A run for this offer is already going: following job {job.pk}.")
        deadline = time.monotonic() + options["timeout"]
        with tqdm(total=job.total, unit="lead", desc=f"job {job.pk}") as bar:
            while True:
                job.refresh_from_db()
                bar.update(job.processed - bar.n)
                if job.is_finished or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        self.stdout.write(f"Job {job.pk} {job.status}: {job.message}")
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"Job {job.pk} ended {job.status}.")


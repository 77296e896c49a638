"""A worker killed with SIGKILL mid-run loses nothing and writes nothing twice.

Each run is big enough to take several seconds (30,000 leads in chunks of SCORE_CHUNK_SIZE=250). Once
some chunks are written, a worker's whole process group is SIGKILLed: no warm shutdown, and the
chunks it held stay unacknowledged in Redis. Two ways back, both checked:

- restart: a new worker re-queues the unwritten chunks of running jobs at start (`worker_ready`);
- no restart, another worker still running: Redis hands the unacknowledged chunks back after
  CELERY_VISIBILITY_TIMEOUT, or beat's jobs sweep queues them again once the dead worker's lease
  (JOB_LEASE_SECONDS) has run out, whichever comes first, and the survivor runs them.

Chunk writes are idempotent, so either way the job finishes with every lead scored exactly once.

An import is one task: killed mid-file and restarted at once, the new worker finds the job still
leased by the dead one, and Redis's redelivery too; beat's jobs sweep queues it again once the lease
(JOB_LEASE_SECONDS) has run out, and it resumes after its last committed batch.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import pytest

from leads.tests.integration.conftest import Api, Tenant, Workers, create_offer, import_leads, leads_csv, table

pytestmark = pytest.mark.integration

LEADS = 30_000
CHUNK_SIZE = int(os.environ.get("SCORE_CHUNK_SIZE") or 2000)
VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT") or 3600)
LEASE_SECONDS = float(os.environ.get("JOB_LEASE_SECONDS") or 60)
CATCH_TIMEOUT = 60  # seconds to see a run part-way
FINISH_TIMEOUT = 240


@pytest.fixture(scope="module")
def tenant(make_tenant) -> Tenant:
    tenant = make_tenant("kill")
    import_leads(tenant.api, LEADS, tag="kill")
    return tenant


def _start_run_and_catch_it_part_way(api: Api, offer_id: int) -> int:
    # rescore=true: a chunk written twice would add a second Score row rather than be skipped.
    reply = api.post("/api/leads/score/", {"offer": offer_id, "rescore": True})
    assert reply.status == 202, f"the run finished within the wait budget; make it bigger: {reply}"
    job_id = reply.json()["id"]
    deadline = time.monotonic() + CATCH_TIMEOUT
    while api.get(f"/api/jobs/{job_id}/").json()["processed"] == 0:
        assert time.monotonic() < deadline, f"no chunk was written within {CATCH_TIMEOUT} s"
        time.sleep(0.02)
    return job_id


def _assert_part_way(api: Api, job_id: int) -> dict[str, Any]:
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "running" and 0 < job["processed"] < LEADS, \
        f"the run finished before the worker was killed; make it bigger: {job}"
    return job


def _assert_scored_exactly_once(api: Api, pg: Any, job: dict[str, Any], offer_id: int) -> None:
    assert job["status"] == "succeeded", job
    assert (job["total"], job["processed"], job["failed"], job["skipped"]) == (LEADS, LEADS, 0, 0), job
    scores, chunks = table("Score"), table("JobChunk")
    with pg.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {scores} WHERE job_id = %s", [job["id"]])
        assert cur.fetchone()[0] == LEADS, "a chunk was written twice, or not at all"
        cur.execute(f"SELECT count(*), count(DISTINCT lead_id) FROM {scores} WHERE offer_id = %s AND is_current",
                    [offer_id])
        assert cur.fetchone() == (LEADS, LEADS)
        cur.execute(f"SELECT count(*) FROM {scores} WHERE offer_id = %s", [offer_id])
        assert cur.fetchone()[0] == LEADS, "a lead was scored more than once"
        cur.execute(f"SELECT count(*), count(*) FILTER (WHERE done), sum(scored), sum(failed) FROM {chunks} "
                    f"WHERE job_id = %s", [job["id"]])
        total_chunks, done_chunks, scored, failed = cur.fetchone()
        assert total_chunks == done_chunks == math.ceil(LEADS / CHUNK_SIZE)
        assert (scored, failed) == (LEADS, 0)
    results = api.get("/api/leads/results/", offer=offer_id, page_size=1)
    assert results.json()["count"] == LEADS


def test_restarted_worker_finishes_the_job(tenant: Tenant, live, workers: Workers, pg) -> None:
    """SIGKILL the only worker mid-run; a new one re-queues the unwritten chunks and finishes the job."""
    api = tenant.api
    offer = create_offer(api, name="Restart drill")
    job_id = _start_run_and_catch_it_part_way(api, offer["id"])
    workers.kill()
    at_kill = _assert_part_way(api, job_id)

    # Nothing moves while no worker runs, and the killed worker's tasks are still unacknowledged.
    import redis

    assert redis.Redis(host="127.0.0.1", port=live.redis_port).hlen("unacked") > 0
    time.sleep(1.0)
    assert api.get(f"/api/jobs/{job_id}/").json()["processed"] == at_kill["processed"]

    log = workers.start()
    job = api.wait_job(job_id, timeout=FINISH_TIMEOUT)
    assert "Re-queued" in log.read_text(), "the new worker did not re-queue the unfinished chunks at start"
    _assert_scored_exactly_once(api, pg, job, offer["id"])


def test_surviving_worker_gets_the_dead_workers_chunks_after_the_visibility_timeout(
        tenant: Tenant, workers: Workers, pg) -> None:
    """With two workers, SIGKILL one mid-run and start none: Redis redelivers its chunks to the other."""
    assert VISIBILITY_TIMEOUT <= 60, "run with a low CELERY_VISIBILITY_TIMEOUT (the script sets 15 s)"
    api = tenant.api
    workers.start("worker-survivor", "--hostname survivor@%h")
    try:
        offer = create_offer(api, name="Survivor drill")
        job_id = _start_run_and_catch_it_part_way(api, offer["id"])
        workers.kill()
        killed_at = time.monotonic()
        _assert_part_way(api, job_id)

        job = api.wait_job(job_id, timeout=VISIBILITY_TIMEOUT + FINISH_TIMEOUT)
        waited = time.monotonic() - killed_at
        # The survivor alone needs a few seconds for the rest; the chunks the dead worker held only
        # come back once their lease or their visibility timeout has passed.
        held_for = min(VISIBILITY_TIMEOUT, LEASE_SECONDS)
        assert waited >= held_for * 0.7, f"finished {waited:.1f} s after the kill: no take-over needed?"
        _assert_scored_exactly_once(api, pg, job, offer["id"])
    finally:
        if not workers.alive():
            workers.start()  # the Procfile worker again, for the tests that follow
        workers.stop("worker-survivor")


IMPORT_ROWS = 150_000


def test_an_import_killed_mid_file_resumes_when_the_worker_comes_back_at_once(
        make_tenant, workers: Workers, pg) -> None:
    """SIGKILL the only worker part-way through an import and start it again at once: the job is
    taken over after its lease and every row is stored exactly once."""
    tenant = make_tenant("killimport")
    api = tenant.api
    reply = api.upload("/api/leads/upload/", "big.csv", leads_csv(IMPORT_ROWS, tag="killimport"))
    assert reply.status == 202, f"the import finished within the wait budget; make it bigger: {reply}"
    job_id = reply.json()["id"]
    deadline = time.monotonic() + CATCH_TIMEOUT
    while (job := api.get(f"/api/jobs/{job_id}/").json())["processed"] == 0:
        assert time.monotonic() < deadline, f"no batch was written within {CATCH_TIMEOUT} s: {job}"
        time.sleep(0.02)
    workers.kill()
    at_kill = api.get(f"/api/jobs/{job_id}/").json()
    assert at_kill["status"] == "running" and at_kill["processed"] < IMPORT_ROWS, \
        f"the import finished before the worker was killed; make it bigger: {at_kill}"
    workers.start()

    job = api.wait_job(job_id, timeout=FINISH_TIMEOUT)
    assert job["status"] == "succeeded", job
    assert (job["processed"], job["created"], job["updated"], job["failed"]) == (IMPORT_ROWS, IMPORT_ROWS, 0, 0), job
    with pg.cursor() as cur:
        cur.execute(f"SELECT count(*), count(DISTINCT email) FROM {table('Lead')} l "
                    f"JOIN {table('Workspace')} w ON w.id = l.workspace_id WHERE w.name = %s", [tenant.workspace])
        assert cur.fetchone() == (IMPORT_ROWS, IMPORT_ROWS)
        cur.execute(f"SELECT count(*) FROM {table('UploadPart')} WHERE job_id = %s", [job_id])
        assert cur.fetchone()[0] == 0, "the finished import left its upload in the database"

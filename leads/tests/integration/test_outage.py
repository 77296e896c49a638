"""Redis goes away and comes back: /ready/ reports it, and web and worker carry on without a restart."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time

import pytest

from leads.tests.integration.conftest import create_offer, import_leads, score

pytestmark = pytest.mark.integration

TIMEOUT = 60


def _wait(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)


def test_broker_outage_is_reported_and_survived(live, make_tenant) -> None:
    """/ready/ answers 503 naming the broker while Redis is down, 200 again after, and jobs run again."""
    import redis

    broker = redis.Redis(host="127.0.0.1", port=live.redis_port, socket_timeout=5)

    def pings() -> bool:
        try:
            return bool(broker.ping())
        except redis.RedisError:
            return False

    # This Redis keeps nothing on disk: stop it only when no task is queued or in flight.
    _wait(lambda: not broker.llen("celery") and not broker.hlen("unacked"), "an idle queue")
    tenant = make_tenant("outage")
    create_offer(tenant.api)
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
        broker.shutdown(nosave=True)
    try:
        _wait(lambda: not pings(), "Redis to stop")
        ready = live.api().get("/ready/")
        assert ready.status == 503, ready
        assert ready.json() == {"status": "unavailable", "checks": {"database": "ok", "broker": "down"}}
        assert live.api().get("/health/").status == 200
    finally:
        subprocess.run(["redis-server", *json.loads(os.environ["INTEGRATION_REDIS_ARGS"])], check=True,
                       timeout=30, close_fds=True)
        _wait(pings, "Redis to start again")

    _wait(lambda: live.api().get("/ready/").status == 200, "/ready/ to answer 200 again")
    import_leads(tenant.api, 50, tag="outage")
    job = score(tenant.api)
    assert job["status"] == "succeeded" and job["processed"] == 50, job

"""Two workspaces upload and score at the same time; each sees only its own data, the other's ids are 404."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from leads.tests.integration.conftest import Tenant, create_offer, import_leads, score

pytestmark = pytest.mark.integration

LEADS = 1500


def _journey(tenant: Tenant, tag: str) -> dict[str, Any]:
    offer = create_offer(tenant.api, name=f"{tag} offer")
    upload_job = import_leads(tenant.api, LEADS, tag=tag)
    score_job = score(tenant.api, offer=offer["id"])
    results = tenant.api.get("/api/leads/results/", offer=offer["id"], page_size=1000)
    assert results.status == 200, results
    leads = tenant.api.get("/api/leads/", page_size=1000)
    assert leads.status == 200, leads
    return {"offer": offer, "upload_job": upload_job, "score_job": score_job, "results": results.json(),
            "leads": leads.json()}


@pytest.fixture(scope="module")
def pair(make_tenant) -> tuple[Tenant, dict, Tenant, dict]:
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(_journey, alpha, "alpha"), pool.submit(_journey, beta, "beta")
        return alpha, a.result(timeout=600), beta, b.result(timeout=600)


def test_concurrent_runs_each_score_their_own_leads(pair) -> None:
    """Both jobs succeed with exactly their workspace's leads."""
    _, a, _, b = pair
    for run, tag in ((a, "alpha"), (b, "beta")):
        assert run["score_job"]["status"] == "succeeded", run["score_job"]
        assert run["score_job"]["total"] == run["score_job"]["processed"] == LEADS
        assert run["results"]["count"] == LEADS and run["leads"]["count"] == LEADS
        assert all(item["company"].startswith(tag.title()) for item in run["results"]["results"])
        assert all(item["company"].startswith(tag.title()) for item in run["leads"]["results"])


def test_lists_hold_only_own_objects(pair) -> None:
    """Offers, leads and jobs listed by one user never include the other's."""
    alpha, a, beta, b = pair
    for tenant, mine, theirs in ((alpha, a, b), (beta, b, a)):
        offers = {o["id"] for o in tenant.api.get("/api/offer/").json()["results"]}
        assert offers == {mine["offer"]["id"]}
        jobs = {j["id"] for j in tenant.api.get("/api/jobs/", page_size=100).json()["results"]}
        assert jobs == {mine["upload_job"]["id"], mine["score_job"]["id"]}
        lead_ids = {lead["id"] for lead in mine["leads"]["results"]}
        assert not lead_ids & {lead["id"] for lead in theirs["leads"]["results"]}


@pytest.mark.parametrize("path", ["/api/offer/{offer}/", "/api/leads/{lead}/", "/api/jobs/{score_job}/",
                                  "/api/jobs/{upload_job}/", "/api/leads/results/?offer={offer}",
                                  "/api/leads/export_csv/?offer={offer}"])
def test_other_workspace_ids_answer_404(pair, path: str) -> None:
    """Reading another workspace's object is 404 in the error envelope, never 403."""
    alpha, a, beta, b = pair
    for tenant, theirs in ((alpha, b), (beta, a)):
        ids = {"offer": theirs["offer"]["id"], "lead": theirs["leads"]["results"][0]["id"],
               "score_job": theirs["score_job"]["id"], "upload_job": theirs["upload_job"]["id"]}
        reply = tenant.api.get(path.format(**ids))
        assert reply.status == 404, reply
        assert reply.json()["code"] in {"not_found", "unknown_offer"}, reply


def test_other_workspace_ids_cannot_be_written(pair) -> None:
    """Changing, deleting, cancelling or scoring with the other's ids fails as if they never existed."""
    alpha, a, beta, b = pair
    api = alpha.api
    their_lead = b["leads"]["results"][0]["id"]
    assert api.request("PATCH", f"/api/leads/{their_lead}/", json_body={"role": "CEO"}).status == 404
    assert api.request("DELETE", f"/api/leads/{their_lead}/").status == 404
    assert api.request("DELETE", f"/api/offer/{b['offer']['id']}/").status == 404
    assert api.post(f"/api/jobs/{b['score_job']['id']}/cancel/").status == 404
    scored = api.post("/api/leads/score/", {"offer": b["offer"]["id"]})
    assert scored.status in (400, 404), scored
    with_leads = api.post("/api/leads/score/", {"offer": a["offer"]["id"], "leads": [their_lead]})
    assert with_leads.status in (400, 404), with_leads
    # The other's data is untouched.
    still = beta.api.get(f"/api/leads/{their_lead}/")
    assert still.status == 200 and still.json()["role"] == b["leads"]["results"][0]["role"], still


def test_workspace_header_cannot_reach_beyond_memberships(pair) -> None:
    """X-Workspace naming the other's workspace is refused, not obeyed."""
    alpha, _, beta, _ = pair
    for header in (beta.workspace, "999999999"):
        reply = alpha.api.request("GET", "/api/leads/", headers={"X-Workspace": header})
        assert reply.status == 403 and reply.json()["code"] == "unknown_workspace", reply

"""Scoring with the openai provider against the local test server: failures stay unscored, the cache
saves repeat calls, and token usage lands on the job."""

from __future__ import annotations

import pytest

from leads.models import IntentCacheEntry, Offer, Score, Workspace
from leads.services.scoring import score_job_start
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory
from leads.tests.llm_server import LLMServer, Reply


@pytest.fixture
def offer(workspace: Workspace) -> Offer:
    return OfferFactory(workspace=workspace, ideal_use_cases=["B2B SaaS"])


@pytest.mark.django_db
def test_usage_is_recorded_and_the_cache_saves_repeat_calls(workspace: Workspace, offer: Offer,
                                                             openai_settings: LLMServer) -> None:
    LeadFactory.create_batch(3, workspace=workspace)
    job = score_job_start(workspace=workspace, user=None, offer=offer).job
    assert (job.status, job.processed, job.failed, job.ai_requests) == ("succeeded", 3, 0, 3)
    assert job.prompt_tokens > 0 and job.completion_tokens > 0
    assert IntentCacheEntry.objects.count() == 3
    assert set(Score.objects.values_list("provider", "model")) == {("openai", "judge")}

    again = score_job_start(workspace=workspace, user=None, offer=offer, rescore=True).job
    assert (again.status, again.processed, again.ai_requests) == ("succeeded", 3, 0)
    assert len(openai_settings.completions) == 3  # nothing paid twice


@pytest.mark.django_db
def test_the_cache_is_never_shared_between_workspaces(workspace: Workspace, offer: Offer, other_tenant: Tenant,
                                                      openai_settings: LLMServer) -> None:
    """The same lead for the same offer in another workspace is asked again: a free, token-less
    answer would tell that workspace that someone else had scored this person."""
    fields = {"name": "Dana Reyes", "role": "VP Sales", "company": "Brightwave", "industry": "Software",
              "location": "Austin", "linkedin_bio": "Scaling outbound at a B2B SaaS company"}
    LeadFactory(workspace=workspace, **fields)
    twin_offer = OfferFactory(workspace=other_tenant.workspace, name=offer.name, value_props=offer.value_props,
                              ideal_use_cases=offer.ideal_use_cases, adjacent_industries=offer.adjacent_industries)
    LeadFactory(workspace=other_tenant.workspace, **fields)

    first = score_job_start(workspace=workspace, user=None, offer=offer).job
    second = score_job_start(workspace=other_tenant.workspace, user=None, offer=twin_offer).job
    assert (first.ai_requests, second.ai_requests) == (1, 1)
    assert second.prompt_tokens == first.prompt_tokens > 0
    assert len(openai_settings.completions) == 2
    assert IntentCacheEntry.objects.count() == 2


@pytest.mark.django_db
def test_a_lead_the_ai_cannot_classify_is_failed_and_left_unscored(workspace: Workspace, offer: Offer,
                                                                    openai_settings: LLMServer) -> None:
    good = LeadFactory(workspace=workspace, linkedin_bio="Scaling the sales team")
    bad = LeadFactory(workspace=workspace, linkedin_bio="FAILME please")
    openai_settings.script(*[Reply(status=500)] * 2, when="FAILME")  # every attempt: 1 try + 1 retry
    job = score_job_start(workspace=workspace, user=None, offer=offer).job
    assert (job.status, job.processed, job.failed) == ("succeeded", 2, 1)
    assert job.errors == [{"lead": bad.pk, "reason": job.errors[0]["reason"]}]
    assert "500" in job.errors[0]["reason"] or "server" in job.errors[0]["reason"].lower()
    assert list(Score.objects.values_list("lead_id", flat=True)) == [good.pk]
    assert "could not be classified" in job.message

    # A later run picks the failed lead up.
    retry = score_job_start(workspace=workspace, user=None, offer=offer).job
    assert (retry.total, retry.failed) == (1, 0)
    assert Score.objects.filter(lead=bad, is_current=True).count() == 1

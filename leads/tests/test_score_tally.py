"""The score tally (leads/score_tally.py) against a plain COUNT of current scores, after every kind of
write: first scores, a rescore, a lead whose score moves, a stage set by hand, a lead deleted, an
offer deleted; and the counts the results endpoint and the distribution read from it."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count

from leads.models import Lead, Offer, Score
from leads.score_tally import TABLE, TRIGGERS
from leads.tests.conftest import Tenant, four_factor_offer
from leads.tests.factories import LeadFactory

# Four-factor leads (leads/scoring/templates.py): scores 100, 60, 0, 15, 55 and intents across all three.
LEADS = [
    {"industry": "Software", "attributes": {"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}},
    {"industry": "Retail", "attributes": {"budget": "20k", "company_size": "150", "urgency": "diese Woche"}},
    {"industry": "", "attributes": {}},
    {"industry": "Retail", "attributes": {"budget": "5000"}},
    {"industry": "Banking", "attributes": {"budget": "12k", "company_size": "51-200", "urgency": "this month"}},
]


def _tally() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT offer_id, stage, intent, score, n FROM {TABLE} WHERE n <> 0")
        return Counter({tuple(row[:4]): row[4] for row in cursor.fetchall()})


def _counted() -> Counter:
    rows = (Score.objects.filter(is_current=True).order_by().values_list("offer_id", "stage", "intent", "score")
            .annotate(n=Count("*")))
    return Counter({tuple(row[:4]): row[4] for row in rows})


def _score(tenant: Tenant, offer: Offer, *, rescore: bool = False) -> None:
    response = tenant.client.post("/api/leads/score/", {"offer": offer.pk, "rescore": rescore}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_the_tally_and_its_triggers_exist_after_every_migration() -> None:
    """A later migration that rebuilds leads_score (or leads_offer) on SQLite drops their triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [f"{TABLE}%"])
        assert {name for (name,) in cursor.fetchall()} == set(TRIGGERS)
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [TABLE])
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_the_tally_follows_every_write_to_the_scores(tenant: Tenant) -> None:
    offer = four_factor_offer(tenant)[1]
    other = four_factor_offer(tenant, model_name="Four again")[1]
    leads = [LeadFactory(workspace=tenant.workspace, **fields) for fields in LEADS]
    assert _tally() == _counted() == Counter()

    _score(tenant, offer)
    _score(tenant, other)
    assert sum(_tally().values()) == 2 * len(LEADS)
    assert _tally() == _counted()

    _score(tenant, offer, rescore=True)  # every old row retired, a new one each
    assert Score.objects.filter(offer=offer).count() == 2 * len(LEADS)
    assert _tally() == _counted()

    blank = leads[2]
    response = tenant.client.patch(f"/api/leads/{blank.pk}/", LEADS[0], format="json")
    assert response.status_code == 200, response.content
    _score(tenant, offer)  # the changed lead is stale: its score moves from 0 to 100
    assert Score.objects.get(lead=blank, offer=offer, is_current=True).score == 100
    assert _tally() == _counted()

    response = tenant.client.post("/api/lead-scores/set_stage/", {"lead_id": leads[3].pk, "offer": offer.pk,
                                                                   "stage": "sql"}, format="json")
    assert response.status_code == 200, response.content
    assert _tally() == _counted()
    assert _tally()[(offer.pk, "sql", "Low", 15)] == 1

    assert tenant.client.delete(f"/api/leads/{leads[0].pk}/").status_code == 204  # with its history
    assert not Lead.objects.filter(pk=leads[0].pk).exists()
    assert _tally() == _counted()
    assert sum(n for key, n in _tally().items() if key[0] == offer.pk) == len(LEADS) - 1

    assert tenant.client.delete(f"/api/offer/{other.pk}/").status_code == 204
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE offer_id = %s", [other.pk])
        assert cursor.fetchone()[0] == 0
    assert _tally() == _counted()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "&intent=High", "&intent=Low", "&min_score=50", "&max_score=20",
                                   "&min_score=10&max_score=60", "&stage=mql", "&stage=", "&intent=Medium&stage=mql"])
def test_results_count_from_the_tally_is_the_rows_listed(tenant: Tenant, query: str) -> None:
    offer = four_factor_offer(tenant)[1]
    for fields in LEADS * 3:
        LeadFactory(workspace=tenant.workspace, **fields)
    _score(tenant, offer)
    _score(tenant, offer, rescore=True)  # history rows, which no count may include
    response = tenant.client.get(f"/api/leads/results/?offer={offer.pk}&page_size=100{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    # The same filters counted by the database itself.
    filters = dict(part.split("=") for part in query.split("&") if part)
    scores = Score.objects.filter(offer=offer, is_current=True)
    if "intent" in filters:
        scores = scores.filter(intent=filters["intent"])
    if "stage" in filters:
        scores = scores.filter(stage=filters["stage"])
    if "min_score" in filters:
        scores = scores.filter(score__gte=int(filters["min_score"]))
    if "max_score" in filters:
        scores = scores.filter(score__lte=int(filters["max_score"]))
    assert body["count"] == scores.count()
    assert query == "" or body["count"] < 15

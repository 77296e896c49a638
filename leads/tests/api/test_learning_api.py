"""Outcomes and learned models over HTTP: recording outcomes, refusing to train on too little,
training on leads with a known signal, scoring with the learned part (probability, factors, points
a person can add up), backtests, and workspaces kept apart."""

from __future__ import annotations

import random
from typing import Any

import pytest

from leads.models import Lead, Offer, Outcome, Score, ScoringModel, TrainedModel
from leads.services.learned_models import learned_blend
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

SIGNAL_INDUSTRY = "Pharmaceutical Distribution"
OTHER_INDUSTRIES = ("Retail", "Construction", "Media", "Education")


def _leads_with_a_signal(tenant: Tenant, n: int = 400, seed: int = 7) -> list[tuple[Lead, bool]]:
    """Leads whose industry and lead source decide most of the outcome; the rest is noise."""
    rng = random.Random(seed)
    made = []
    for i in range(n):
        signal = rng.random() < 0.4
        referral = rng.random() < 0.3
        lead = LeadFactory(workspace=tenant.workspace, name=f"Lead {i}", company=f"Co {i}",
                           industry=SIGNAL_INDUSTRY if signal else rng.choice(OTHER_INDUSTRIES),
                           attributes={"Lead Source": "Referral" if referral else rng.choice(["Ads", "Search"]),
                                       "shoe_size": str(rng.randint(36, 46))})
        p_win = 0.1 + 0.6 * signal + 0.2 * referral
        made.append((lead, rng.random() < p_win))
    return made


def _record(tenant: Tenant, leads: list[tuple[Lead, bool]]) -> None:
    response = tenant.client.post("/api/outcomes/", [{"lead": lead.pk, "outcome": "won" if won else "lost"}
                                                     for lead, won in leads], format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["accepted"] == len(leads)


def test_outcomes_need_authentication(anon_client: Any) -> None:
    assert anon_client.post("/api/outcomes/", {"lead": 1, "outcome": "won"}, format="json").status_code == 401
    assert anon_client.post("/api/models/train/", {}, format="json").status_code == 401
    assert anon_client.get("/api/models/").status_code == 401


@pytest.mark.django_db
def test_one_outcome_and_a_list_that_stores_nothing(tenant: Tenant) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    one = tenant.client.post("/api/outcomes/", {"lead": lead.pk, "outcome": "Closed Won", "value": "900"},
                             format="json")
    assert one.status_code == 201
    assert one.json() == {"accepted": 1, "rejected": 0, "errors": [], "errors_truncated": False, "leads": 1}
    bad = tenant.client.post("/api/outcomes/", [{"lead": lead.pk, "outcome": "maybe"}], format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_outcomes"
    assert bad.json()["details"]["errors"][0]["index"] == 0
    assert tenant.client.post("/api/outcomes/", "won", format="json").status_code == 400


@pytest.mark.django_db
def test_training_with_too_few_outcomes_says_how_many_more(tenant: Tenant) -> None:
    leads = [LeadFactory(workspace=tenant.workspace) for _ in range(70)]
    _record(tenant, [(lead, i < 12) for i, lead in enumerate(leads)])
    response = tenant.client.post("/api/models/train/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "not_enough_outcomes"
    assert (body["details"]["won"], body["details"]["lost"], body["details"]["needed_won"],
            body["details"]["needed_lost"]) == (12, 58, 38, 0)
    assert "38 more won" in body["error"]
    assert not TrainedModel.objects.exists()


@pytest.mark.django_db
def test_training_recovers_a_known_signal_and_scoring_uses_it(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant)
    _record(tenant, leads)

    response = tenant.client.post("/api/models/train/", {}, format="json")
    assert response.status_code == 200, response.json()
    job = response.json()
    assert (job["kind"], job["status"]) == ("train", "succeeded")
    listed = tenant.client.get("/api/models/").json()["results"]
    assert len(listed) == 1
    model = tenant.client.get(f"/api/models/{listed[0]['id']}/").json()
    assert model["n_won"] + model["n_lost"] == len(leads) == model["n_outcomes"]
    assert model["n_won"] == sum(won for _, won in leads)
    assert model["cv_auc"] > 0.75 and model["holdout_auc"] > 0.7, model
    assert len(model["cv_folds"]) == 5
    assert model["blend"] == learned_blend(len(leads))
    top = [factor["feature"] for factor in model["top_factors"][:3]]
    assert any("industry" in feature for feature in top), model["top_factors"]
    assert not any("shoe" in feature for feature in top)

    default = ScoringModel.objects.get(workspace=tenant.workspace, is_default=True)
    assert tenant.client.patch(f"/api/scoring-models/{default.pk}/", {"learned_weight": 40},
                               format="json").status_code == 200
    scored = tenant.client.post("/api/leads/score/", {"offer": offer.pk}, format="json")
    assert scored.status_code == 200, scored.json()
    results = {r["id"]: r for r in tenant.client.get(
        f"/api/leads/results/?offer={offer.pk}&page_size=500").json()["results"]}
    by_industry: dict[bool, list[float]] = {True: [], False: []}
    for lead, _ in leads:
        result = results[lead.pk]
        probability = result["conversion_probability"]
        assert 0 < probability < 1
        by_industry[lead.industry == SIGNAL_INDUSTRY].append(probability)
        components = {c["part"]: c for c in result["score_breakdown"]["components"]}
        learned = components["learned"]
        assert learned["points"] == round(learned["probability"] * 40 * learned["blend"])
        assert result["score"] == min(sum(c["points"] for c in components.values()), 100)
        assert set(result["factors"]) == {"up", "down"}
    signal_mean = sum(by_industry[True]) / len(by_industry[True])
    other_mean = sum(by_industry[False]) / len(by_industry[False])
    assert signal_mean > other_mean + 0.3
    a_signal_lead = next(lead for lead, _ in leads if lead.industry == SIGNAL_INDUSTRY)
    up = results[a_signal_lead.pk]["factors"]["up"]
    assert up and "industry" in up[0]["feature"] and up[0]["value"] == SIGNAL_INDUSTRY
    assert "Learned:" in results[a_signal_lead.pk]["reasoning"]


@pytest.mark.django_db
def test_factors_are_worked_out_on_read_from_the_model_that_scored(tenant: Tenant,
                                                                  django_assert_max_num_queries: Any) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant, n=300)
    _record(tenant, leads)
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    default = ScoringModel.objects.get(workspace=tenant.workspace, is_default=True)
    tenant.client.patch(f"/api/scoring-models/{default.pk}/", {"learned_weight": 30}, format="json")
    assert tenant.client.post("/api/leads/score/", {"offer": offer.pk}, format="json").status_code == 200

    score = Score.objects.filter(offer=offer, is_current=True).order_by("pk").first()
    learned = next(c for c in score.score_breakdown["components"] if c["part"] == "learned")
    assert "factors" not in learned  # a million scores don't store what a page can work out
    trained = TrainedModel.objects.get(pk=learned["trained_model"]["id"])
    # What the engine would have said at scoring time, from the same model, facts and rule hits.
    from leads.scoring.learned import featurize, predict
    from leads.services.learned_models import learned_part_of
    from leads.services.scoring import ALL_FACT_COLUMNS, facts_from_row
    row = Lead.objects.filter(pk=score.lead_id).values_list("pk", *ALL_FACT_COLUMNS).get()
    fired = [hit["label"] for c in score.score_breakdown["components"] if c["part"] == "rules" for hit in c["rules"]]
    expected = predict(learned_part_of(trained).model, featurize(facts_from_row(row, ALL_FACT_COLUMNS,
                                                                               score.created_at), fired))
    assert expected.probability == pytest.approx(score.conversion_probability, abs=1e-4)
    one = tenant.client.get(f"/api/lead-scores/history/?lead_id={score.lead_id}&offer={offer.pk}").json()
    shown = next(item for item in one["results"] if item["id"] == score.pk)["factors"]
    def as_json(factors: Any) -> list[dict[str, Any]]:
        return [{"feature": f.feature, "value": f.value, "effect": round(f.effect, 3)} for f in factors]
    assert shown == {"up": as_json(expected.up), "down": as_json(expected.down)}

    # A page of results works the factors out in one batch: the same queries for 10 leads as for 200.
    with django_assert_max_num_queries(12) as small:
        page = tenant.client.get(f"/api/leads/results/?offer={offer.pk}&page_size=10")
    with django_assert_max_num_queries(len(small.captured_queries)):
        big = tenant.client.get(f"/api/leads/results/?offer={offer.pk}&page_size=200").json()["results"]
    assert page.status_code == 200 and len(big) == 200
    assert all(result["factors"] and (result["factors"]["up"] or result["factors"]["down"]) for result in big)

    trained.delete()  # the version that scored is gone: no factors rather than another model's
    assert tenant.client.get(f"/api/leads/results/?offer={offer.pk}").json()["results"][0]["factors"] is None


@pytest.mark.django_db
def test_without_a_learned_weight_scores_carry_no_probability(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant, n=200)
    _record(tenant, leads)
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    assert tenant.client.post("/api/leads/score/", {"offer": offer.pk}, format="json").status_code == 200
    assert set(Score.objects.filter(offer=offer).values_list("conversion_probability", flat=True)) == {None}
    result = tenant.client.get(f"/api/leads/results/?offer={offer.pk}").json()["results"][0]
    assert (result["conversion_probability"], result["factors"]) == (None, None)


@pytest.mark.django_db
def test_a_new_model_makes_learned_scores_stale_and_rescores_them(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant, n=200)
    default = ScoringModel.objects.get(workspace=tenant.workspace, is_default=True) if ScoringModel.objects.filter(
        workspace=tenant.workspace).exists() else None
    if default is None:
        tenant.client.get("/api/scoring-models/")
        default = ScoringModel.objects.get(workspace=tenant.workspace, is_default=True)
    tenant.client.patch(f"/api/scoring-models/{default.pk}/", {"learned_weight": 30}, format="json")
    assert tenant.client.post("/api/leads/score/", {"offer": offer.pk}, format="json").status_code == 200
    assert set(Score.objects.filter(offer=offer, is_current=True).values_list("conversion_probability",
                                                                              flat=True)) == {None}
    _record(tenant, leads)
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    current = Score.objects.filter(offer=offer, is_current=True)
    assert current.count() == len(leads)
    assert None not in set(current.values_list("conversion_probability", flat=True))
    assert set(current.values_list("cause", flat=True)) == {"outcome"}


@pytest.mark.django_db
def test_backtest_reports_auc_buckets_intents_and_lift_side_by_side(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant, n=300)
    _record(tenant, leads)
    tenant.client.get("/api/scoring-models/")
    default = ScoringModel.objects.get(workspace=tenant.workspace, is_default=True)
    before = tenant.client.post(f"/api/scoring-models/{default.pk}/backtest/", {"offer": offer.pk}, format="json")
    assert before.status_code == 200, before.json()
    body = before.json()
    assert (body["leads"], body["won"]) == (len(leads), sum(won for _, won in leads))
    assert sum(bucket["leads"] for bucket in body["buckets"]) == len(leads)
    assert sum(v["leads"] for v in body["intents"].values()) == len(leads)
    assert body["learned"] is None
    # A proposed rule that reads the signal predicts wins better than the default's rules.
    proposed = tenant.client.post(f"/api/scoring-models/{default.pk}/backtest/", {
        "offer": offer.pk, "settings": {"ai_enabled": False},
        "rules": [{"name": "Pharma", "field_name": "industry", "operator": "contains", "value": "pharma",
                   "points": 40}]}, format="json").json()
    assert proposed["auc"] > 0.7 and proposed["auc"] > (body["auc"] or 0)
    assert proposed["top_decile"]["lift"] > 1.3
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    side = tenant.client.post(f"/api/scoring-models/{default.pk}/backtest/", {"offer": offer.pk},
                              format="json").json()
    assert side["learned"]["cv_auc"] > 0.7
    assert side["learned"]["auc_on_these_leads"] > side["rules_only_auc"] - 0.01
    assert Outcome.objects.count() == len(leads)  # a backtest stores nothing
    assert not Score.objects.filter(offer=offer).exists()


@pytest.mark.django_db
def test_workspaces_never_share_outcomes_or_models(tenant: Tenant, other_tenant: Tenant) -> None:
    leads = _leads_with_a_signal(tenant, n=200)
    _record(tenant, leads)
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    model_id = TrainedModel.objects.get().pk
    assert other_tenant.client.get(f"/api/models/{model_id}/").status_code == 404
    assert other_tenant.client.get("/api/models/").json()["results"] == []
    refused = other_tenant.client.post("/api/models/train/", {}, format="json")
    assert refused.status_code == 400 and refused.json()["details"]["won"] == 0
    theirs = other_tenant.client.post("/api/outcomes/", {"lead": leads[0][0].pk, "outcome": "won"}, format="json")
    assert theirs.status_code == 400
    other_offer = Offer.objects.create(workspace=other_tenant.workspace, name="Theirs")
    assert tenant.client.post("/api/models/train/", {"offer": other_offer.pk}, format="json").status_code == 404


@pytest.mark.django_db
def test_a_training_whose_worker_died_is_replaced(tenant: Tenant) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import Job
    from leads.services.training_jobs import STALE_TRAINING, TRAINING_STALE

    _record(tenant, _leads_with_a_signal(tenant, n=200))
    dead = Job.objects.create(workspace=tenant.workspace, kind=Job.Kind.TRAIN, status=Job.Status.RUNNING)
    Job.objects.filter(pk=dead.pk).update(updated_at=timezone.now() - TRAINING_STALE - timedelta(minutes=1))
    response = tenant.client.post("/api/models/train/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] != dead.pk and response.json()["status"] == "succeeded"
    dead.refresh_from_db()
    assert (dead.status, dead.message) == ("failed", STALE_TRAINING)
    # A training that is still going (recently changed) is returned instead of a second one.
    going = Job.objects.create(workspace=tenant.workspace, kind=Job.Kind.TRAIN, status=Job.Status.RUNNING)
    again = tenant.client.post("/api/models/train/", {}, format="json")
    assert again.status_code == 202 and again.json()["id"] == going.pk


@pytest.mark.django_db
def test_a_new_model_rescores_only_what_it_changes(tenant: Tenant) -> None:
    """Offers under a model without a learned part, and leads never scored, are left alone."""
    learned_offer = OfferFactory(workspace=tenant.workspace)
    plain_offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant, n=200)
    tenant.client.get("/api/scoring-models/")
    learned = tenant.client.post("/api/scoring-models/", {"name": "With outcomes", "template": "default",
                                                         "learned_weight": 25}, format="json").json()
    tenant.client.patch(f"/api/offer/{learned_offer.pk}/", {"scoring_model": learned["id"]}, format="json")
    scored = [lead.pk for lead, _ in leads[:150]]
    for offer in (learned_offer, plain_offer):
        assert tenant.client.post("/api/leads/score/", {"offer": offer.pk, "leads": scored},
                                  format="json").status_code == 200
    _record(tenant, leads)
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    learned_scores = Score.objects.filter(offer=learned_offer, is_current=True)
    assert learned_scores.count() == 150  # the 50 never scored stay unscored
    assert set(learned_scores.values_list("cause", flat=True)) == {"outcome"}
    assert set(Score.objects.filter(offer=plain_offer, is_current=True).values_list("cause", flat=True)) == {"upload"}

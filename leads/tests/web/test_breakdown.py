"""The breakdown a person adds up: parts, rules, capped groups and the clamp, from real scores."""

from __future__ import annotations

import pytest

from leads.services import scoring_models
from leads.services.scoring import lead_score_now
from leads.tests.factories import LeadFactory
from leads.tests.web.conftest import Site
from leads.web.breakdown import breakdown_of

pytestmark = pytest.mark.django_db


def test_a_capped_rule_layer_shows_what_it_was_capped_from(site: Site) -> None:
    model = scoring_models.scoring_model_default(workspace=site.workspace)
    scoring_models.scoring_model_update(model=model, user=None, data={
        "rule_max": 25, "group_caps": {"demographic": {"max_points": 15}}})
    lead = LeadFactory(workspace=site.workspace, role="CEO", industry="B2B SaaS", email="ceo@example.com")
    score = lead_score_now(lead=lead, offer=site.offer)
    shown = breakdown_of(score.score_breakdown, score.score)
    rules = next(part for part in shown.parts if part.key == "rules")
    raw = sum(points for _label, points, _group in rules.items)
    groups = {group: (points, capped) for group, points, capped in rules.groups}
    assert groups["demographic"][1] == 30 and groups["demographic"][0] == 15  # decision maker 20 + profile 10
    assert rules.points == 25 and rules.capped_from == sum(points for points, _ in groups.values())
    assert raw == 50
    assert shown.total == sum(part.points for part in shown.parts)
    assert min(max(shown.total, 0), 100) == score.score


def test_a_total_over_100_is_held_at_100(site: Site) -> None:
    model = scoring_models.scoring_model_default(workspace=site.workspace)
    every_verdict = {"High": 90, "Medium": 90, "Low": 90}
    scoring_models.scoring_model_update(model=model, user=None, data={"rule_max": 100, "ai_points": every_verdict})
    lead = LeadFactory(workspace=site.workspace, role="CEO", industry="B2B SaaS", email="ceo2@example.com")
    score = lead_score_now(lead=lead, offer=site.offer)
    shown = breakdown_of(score.score_breakdown, score.score)
    assert shown.total > 100 and shown.score == 100 and shown.capped_from == shown.total


def test_a_knockout_is_named() -> None:
    shown = breakdown_of({"components": [{"part": "rules", "points": 0, "rules": [], "groups": []}],
                          "knockout": {"rule_id": 3, "label": "Competitor", "group": "firmographic"}}, 0)
    assert shown.knockout == "Competitor" and shown.total == 0


def test_engagement_types_are_listed() -> None:
    shown = breakdown_of({"components": [
        {"part": "rules", "points": 10, "rules": [{"label": "A", "points": 10, "group": "demographic"}], "groups": []},
        {"part": "engagement", "points": 20, "capped_from": 26,
         "types": [{"type": "email_open", "events": 3, "points": 14},
                   {"type": "page_view", "events": 4, "points": 12}]},
    ]}, 30)
    engagement = shown.parts[1]
    assert engagement.items == [("email open", 14, "×3"), ("page view", 12, "×4")]
    assert engagement.capped_from == 26 and shown.total == 30

"""The demo workspace: every part of the pipeline filled, the learned model included."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from leads.models import Event, LeadEngagement, Outcome, Score, TrainedModel, Workspace
from leads.services.demo import DEMO_WORKSPACE, demo_load


@pytest.mark.django_db
@pytest.mark.slow
def test_the_demo_fills_every_part_of_the_pipeline(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as `make demo` runs: no worker to fold the events
    owner = get_user_model().objects.create_user("demo-owner")
    summary = demo_load(owner=owner)
    workspace = Workspace.objects.get(name=DEMO_WORKSPACE)
    assert workspace.events_folded_through == Event.objects.filter(workspace=workspace).latest("pk").pk
    assert LeadEngagement.objects.filter(workspace=workspace).count() > 250
    assert (summary.offers, summary.leads, summary.outcomes) == (2, 300, 200)
    assert summary.events == Event.objects.filter(workspace=workspace).count() > 1000
    assert Outcome.objects.filter(workspace=workspace, outcome="won").count() >= 50
    assert Outcome.objects.filter(workspace=workspace, outcome="lost").count() >= 50
    model = TrainedModel.objects.get(workspace=workspace)
    assert model.cv_auc is not None and model.cv_auc > 0.6
    current = Score.objects.filter(workspace=workspace, is_current=True)
    assert current.count() == summary.scores == 600
    learned = current.filter(offer__name="Outreach Pilot")
    assert learned.filter(conversion_probability__isnull=True).count() == 0
    assert set(learned.values_list("cause", flat=True)) == {"outcome"}
    assert current.filter(offer__name="ColdChain Guard", conversion_probability__isnull=False).count() == 0
    assert summary.executions > 0

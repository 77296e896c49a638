"""Demo data: a workspace a newcomer can look around in, every screen and endpoint filled.

    demo_load(owner=user) -> DemoSummary        # `make demo`, or DEMO_MODE=true with `make run`

Two offers (one scored by a model with an engagement part), a few hundred leads with uploaded
columns, a few thousand events over the last 90 days (a hot minority active this week, others
cooling down), won and lost outcomes for two thirds of the leads and a model learned from them
(the engagement offer's scoring model has a learned part), three workflows, everything scored and
the workflows fired. Fixed seed: the same
data on every machine. Goes through the same services as the API, so it is also a smoke test of
the pipeline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from leads.exceptions import ConflictError
from leads.models import Lead, Membership, Offer, Score, Workflow, WorkflowExecution, Workspace
from leads.services.automations import transitions_dispatch, workflow_create
from leads.services.engagement import engagement_fold, events_ingest
from leads.services.leads import lead_dedupe_key, lead_name_key
from leads.services.outcomes import outcomes_record
from leads.services.scoring import score_job_start
from leads.services.scoring_models import scoring_model_create, scoring_model_default
from leads.services.training_jobs import training_start

DEMO_WORKSPACE = "demo"
SEED = 20261201
ALREADY_LOADED = "The demo workspace exists already; `manage.py load_demo --reset` deletes it and loads it again."

FIRST = ["Maya", "Jonas", "Aisha", "Luca", "Sofia", "Ravi", "Emma", "Kenji", "Ines", "Tomás", "Chloe", "Omar",
         "Hannah", "Mateo", "Priya", "Noah", "Lena", "Kwame", "Zoe", "Arjun", "Elif", "Sam", "Nora", "Felix"]
LAST = ["Chen", "Müller", "Khan", "Rossi", "García", "Patel", "Dubois", "Sato", "Silva", "Novak", "Okafor",
        "Larsen", "Haddad", "Kowalski", "Nguyen", "Schmidt", "Costa", "Ahmed", "Moreau", "Berg"]
TITLES = ["VP Sales", "Head of Growth", "CEO", "Co-Founder", "Director of Revenue Operations", "Sales Manager",
          "SDR Team Lead", "Marketing Manager", "Account Executive", "Chief Revenue Officer", "Operations Manager",
          "Senior Sales Engineer", "Intern", "Executive Assistant to the CEO", "Head of Logistics",
          "Quality Manager", "Supply Chain Director", "Student"]
INDUSTRIES = ["B2B SaaS", "SaaS", "IT Services", "Marketing agency", "Fintech", "E-commerce", "Manufacturing",
              "Pharmaceutical distribution", "Logistics", "Healthcare", "Education", "Retail"]
CITIES = ["Berlin", "Austin, TX", "London", "Paris", "Madrid", "Toronto", "Amsterdam", "Singapore", "São Paulo"]
HOT_BIOS = ["Scaling outbound this quarter and evaluating sequencing tools to book more meetings.",
            "We are replacing our manual prospecting spreadsheets; looking for a tool before Q1.",
            "Lost two shipments to temperature excursions last quarter; auditing cold-chain monitoring now."]
COLD_BIOS = ["Passionate about people and culture.", "Ten years in retail operations.",
             "Retired, enjoying gardening.", "Building communities around open source.", ""]
SIZES = ["11-50", "51-200", "201-500", "1,000+", "about 250", ""]
BUDGETS = ["10k €", "50k €", "120.000 €", "$25k", "TBD", ""]


@dataclass(frozen=True)
class DemoSummary:
    workspace: Workspace
    offers: int
    leads: int
    events: int
    scores: int
    workflows: int
    executions: int
    outcomes: int


def _leads(rng: random.Random, workspace: Workspace, count: int) -> list[Lead]:
    leads = []
    for i in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        company = f"{rng.choice(['Acme', 'Nimbus', 'Polar', 'Vertex', 'Helix', 'Orbit', 'Cobalt'])} " \
                  f"{rng.choice(['Cloud', 'Labs', 'Logistics', 'Health', 'Systems', 'Works'])} {i // 3}"
        hot = i % 5 == 0
        email = f"{name.split()[0].lower()}.{i}@{company.split()[0].lower()}{i // 3}.example.com"
        leads.append(Lead(
            workspace=workspace, name=name, role=rng.choice(TITLES[:8] if hot else TITLES),
            company=company, industry=rng.choice(INDUSTRIES[:4] if hot else INDUSTRIES),
            location=rng.choice(CITIES), linkedin_bio=rng.choice(HOT_BIOS if hot else COLD_BIOS),
            email=email, dedupe_key=lead_dedupe_key(name=name, company=company, email=email),
            name_key=lead_name_key(name=name, company=company),
            attributes={"Phone": f"+1 415 555 {1000 + i:04d}",
                        "Lead Source": rng.choice(["Webinar", "Ads", "Referral"]),
                        "company_size": rng.choice(SIZES), "budget": rng.choice(BUDGETS)}))
    Lead.objects.bulk_create(leads, batch_size=500)
    return list(Lead.objects.filter(workspace=workspace).order_by("pk"))


def _outcomes(rng: random.Random, leads: list[Lead]) -> list[dict[str, object]]:
    """Won and lost deals for the older two thirds of the leads: hot leads and the engagement offer's
    industries win more often, as a sales team's history would show."""
    now = timezone.now()
    outcomes: list[dict[str, object]] = []
    for position, lead in enumerate(leads[:len(leads) * 2 // 3]):
        odds = 0.15 + 0.45 * (position % 5 == 0) + 0.2 * (lead.industry in INDUSTRIES[:4])
        won = rng.random() < odds
        outcomes.append({"lead": lead.pk, "outcome": "won" if won else "lost",
                         "occurred_at": (now - timedelta(days=rng.randint(1, 80))).isoformat(),
                         "value": rng.choice([4800, 9600, 24000]) if won else None})
    return outcomes


def _events(rng: random.Random, leads: list[Lead]) -> list[dict[str, object]]:
    now = timezone.now()
    events: list[dict[str, object]] = []
    for position, lead in enumerate(leads):
        hot = position % 5 == 0
        for n in range(rng.randint(12, 25) if hot else rng.randint(0, 8)):
            age = timedelta(days=rng.uniform(0, 7) if hot else rng.uniform(0, 90), minutes=rng.randint(0, 600))
            kind = rng.choices(["email_open", "email_click", "page_view", "form_submit", "demo_request", "meeting",
                                "call", "email_reply"], weights=[40, 15, 30, 4, 2 if hot else 0, 3, 4, 2])[0]
            events.append({"lead": lead.pk, "type": kind, "occurred_at": (now - age).isoformat(), "source": "demo",
                           "external_id": f"demo-{lead.pk}-{n}", "properties": {"campaign": "Q4 outreach"}})
    return events


@transaction.atomic
def _setup(owner: AbstractBaseUser | None, reset: bool) -> tuple[Workspace, list[Offer], list[Lead]]:
    existing = Workspace.objects.filter(name=DEMO_WORKSPACE).first()
    if existing is not None:
        if not reset:
            raise ConflictError(ALREADY_LOADED, code="demo_exists")
        existing.delete()
    workspace = Workspace.objects.create(name=DEMO_WORKSPACE)
    if owner is not None:
        Membership.objects.create(workspace=workspace, user=owner)
    scoring_model_default(workspace=workspace)
    fit_and_engagement = scoring_model_create(workspace=workspace, user=owner, data={
        "name": "Fit + engagement", "template": "default", "rule_max": 40,
        "ai_points": {"High": 30, "Medium": 18, "Low": 6},
        "learned_weight": 20,
        "engagement": {"email_open": {"points": 3, "half_life_days": 14, "max_points": 9},
                       "email_click": {"points": 6, "half_life_days": 14, "max_points": 9},
                       "page_view": {"points": 2, "half_life_days": 7, "max_points": 6},
                       "demo_request": {"points": 10, "half_life_days": 30, "max_points": 10},
                       "meeting": {"points": 6, "half_life_days": 30, "max_points": 6},
                       "horizon_days": 120, "max_points": 30}})
    offers = [
        Offer.objects.create(workspace=workspace, name="Outreach Pilot", scoring_model=fit_and_engagement,
                             value_props=["Automate outbound prospecting", "Book more meetings without more SDRs"],
                             ideal_use_cases=["B2B SaaS mid-market", "IT Services"],
                             adjacent_industries=["Marketing agencies"]),
        Offer.objects.create(workspace=workspace, name="ColdChain Guard",
                             value_props=["Temperature monitoring for every shipment", "Audit-ready GDP reports"],
                             ideal_use_cases=["Pharmaceutical distribution", "Logistics"],
                             adjacent_industries=["Healthcare"]),
    ]
    return workspace, offers, _leads(random.Random(SEED), workspace, 300)


def demo_load(*, owner: AbstractBaseUser | None, reset: bool = False) -> DemoSummary:
    workspace, offers, leads = _setup(owner, reset)
    for name, trigger, config, action, action_config in (
        ("Hot lead: call within a day", "score_threshold", {"score": 70}, "create_task",
         {"title": "Call {name} at {company} (score {score})", "due_in_days": 1, "priority": "high"}),
        ("Tag leads that reach SQL", "stage_change", {"stage": "sql"}, "add_tag", {"tag": "sql"}),
        ("Hand qualified leads to the team", "field_update", {"field": "status", "value": "qualified"},
         "change_status", {"status": "working"}),
    ):
        workflow_create(workspace=workspace, user=owner, data={"name": name, "trigger_type": trigger,
                                                              "trigger_config": config, "action_type": action,
                                                              "action_config": action_config})
    result = events_ingest(workspace=workspace, items=_events(random.Random(SEED + 1), leads))
    # Here, not in a worker: the scores below read the aggregates (and are the rescore itself).
    engagement_fold(workspace_id=workspace.pk, queue_rescore=False)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):  # scored here, whether or not a worker runs
        for offer in offers:
            score_job_start(workspace=workspace, user=owner, offer=offer, rescore=True)
        # Then the deals: the model learned from them rescores the learned part's scores (cause outcome).
        outcomes = outcomes_record(workspace=workspace, items=_outcomes(random.Random(SEED + 2), leads))
        training_start(workspace=workspace, user=owner)
        while transitions_dispatch():
            pass
    return DemoSummary(
        workspace=workspace, offers=len(offers), leads=len(leads), events=result.accepted,
        scores=Score.objects.filter(workspace=workspace, is_current=True).count(),
        workflows=Workflow.objects.filter(workspace=workspace).count(),
        executions=WorkflowExecution.objects.filter(workspace=workspace).count(), outcomes=outcomes.accepted)

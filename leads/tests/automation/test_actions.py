"""Actions that change the lead: assign an owner, set the status, create a task, add a tag, move the
stage, update a field; their validation on save; and field_update workflows that can't loop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.models import (
    Lead,
    Offer,
    QualificationStage,
    Score,
    ScoreTransition,
    Task,
    Workflow,
    WorkflowExecution,
    Workspace,
)
from leads.services.automations import (
    BAD_STATUS,
    NOT_A_MEMBER,
    NOT_EDITABLE_FIELD,
    UNKNOWN_STAGE,
    transitions_dispatch,
    workflow_run_manual,
)
from leads.services.leads import lead_dedupe_key, lead_update
from leads.tests.automation.support import between, dispatch, executions, make_workflow, outbox, score_lead
from leads.tests.factories import LeadFactory

ASSIGN_NEEDS = 'assign_owner needs {"user": <username or id>} or {"users": [...]} (round robin).'


@pytest.fixture
def lead(workspace: Workspace) -> Lead:
    return LeadFactory(workspace=workspace, name="Maya Chen", role="VP Sales", company="Northwind",
                       attributes={"tier": "a"}, tags=["vip"])


def manual(workspace: Workspace, action: str, **config: Any) -> Workflow:
    return make_workflow(workspace, trigger="manual", action=action, action_config=config, name=f"Do {action}")


def run(workflow: Workflow, *leads: Lead, offer: Offer | None = None) -> None:
    workflow_run_manual(workflow=workflow, lead_ids=[lead.pk for lead in leads], offer=offer)


def results(workflow: Workflow) -> list[tuple[str, int, str, str]]:
    return [(e.status, e.attempts, e.response, e.error) for e in executions(workflow)]


def invalid(workspace: Workspace, action: str, config: dict[str, Any]) -> LeadsError:
    with pytest.raises(LeadsError) as caught:
        make_workflow(workspace, trigger="manual", action=action, action_config=config)
    assert caught.value.status_code == 400
    assert caught.value.details == {"action_config": [caught.value.message]}
    return caught.value


# --- assign_owner ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_assign_one_owner(workspace: Workspace, lead: Lead, carol: AbstractBaseUser) -> None:
    workflow = manual(workspace, "assign_owner", user="carol")
    assert workflow.action_config == {"users": [carol.pk]}
    run(workflow, lead)
    lead.refresh_from_db()
    assert lead.owner_id == carol.pk
    assert results(workflow) == [("succeeded", 1, "owner set to carol", "")]
    # The change is in the outbox as an automation's, with the owner by username.
    assert outbox() == [("field", lead.pk, None, None, "", "owner", "carol", "workflow")]


@pytest.mark.django_db
def test_assign_round_robin(workspace: Workspace, alice: AbstractBaseUser, carol: AbstractBaseUser) -> None:
    """Members by username or id, taken in turn."""
    workflow = manual(workspace, "assign_owner", users=["alice", carol.pk])
    assert workflow.action_config == {"users": [alice.pk, carol.pk]}
    leads = LeadFactory.create_batch(5, workspace=workspace)
    run(workflow, *leads)
    owners = [Lead.objects.get(pk=e.lead_id).owner.username for e in executions(workflow)]
    assert owners == ["alice", "carol", "alice", "carol", "alice"]
    assert [e.status for e in executions(workflow)] == ["succeeded"] * 5


@pytest.mark.django_db
def test_assign_owner_config(workspace: Workspace, alice: AbstractBaseUser, outsider: AbstractBaseUser) -> None:
    assert invalid(workspace, "assign_owner", {"user": "bob"}).message == NOT_A_MEMBER.format(user="bob")
    assert NOT_A_MEMBER.format(user="bob") == "'bob' is not a member of this workspace."
    assert invalid(workspace, "assign_owner", {"user": outsider.pk}).message == NOT_A_MEMBER.format(user=outsider.pk)
    assert invalid(workspace, "assign_owner", {"users": ["alice", "nobody"]}).message == NOT_A_MEMBER.format(
        user="nobody")
    for config in ({}, {"user": None}, {"users": []}, {"users": "alice"}, {"users": ["alice"] * 51}):
        assert invalid(workspace, "assign_owner", config).message == ASSIGN_NEEDS, config
    assert not Workflow.objects.exists()


# --- change_status, add_tag, update_field ---------------------------------------------------------------


@pytest.mark.django_db
def test_change_status(workspace: Workspace, lead: Lead) -> None:
    workflow = manual(workspace, "change_status", status="qualified")
    run(workflow, lead)
    lead.refresh_from_db()
    assert lead.status == "qualified"
    assert results(workflow) == [("succeeded", 1, "status set to qualified", "")]
    assert invalid(workspace, "change_status", {"status": "hot"}).message == BAD_STATUS
    assert invalid(workspace, "change_status", {}).message == BAD_STATUS
    assert BAD_STATUS == "status must be one of new, working, nurturing, qualified, disqualified, customer."


@pytest.mark.django_db
def test_add_tag_is_idempotent(workspace: Workspace, lead: Lead) -> None:
    workflow = manual(workspace, "add_tag", tag="  hot ")
    assert workflow.action_config == {"tag": "hot"}
    run(workflow, lead)
    run(workflow, lead)
    lead.refresh_from_db()
    assert lead.tags == ["vip", "hot"]
    assert results(workflow) == [("succeeded", 1, "tag hot added", ""), ("succeeded", 1, "tag already there", "")]
    assert outbox() == [("field", lead.pk, None, None, "", "tags", ["vip", "hot"], "workflow")]
    needs = 'add_tag needs {"tag": a text of up to 50 characters}.'
    for config in ({}, {"tag": ""}, {"tag": " "}, {"tag": "x" * 51}, {"tag": 5}):
        assert invalid(workspace, "add_tag", config).message == needs, config


@pytest.mark.django_db
def test_update_a_lead_field(workspace: Workspace, lead: Lead) -> None:
    workflow = manual(workspace, "update_field", field="company", value="Globex")
    run(workflow, lead)
    lead.refresh_from_db()
    assert lead.company == "Globex"
    assert lead.dedupe_key == lead_dedupe_key(name="Maya Chen", company="Globex", email=lead.email)
    assert results(workflow) == [("succeeded", 1, "company set", "")]


@pytest.mark.django_db
def test_update_an_attribute(workspace: Workspace, lead: Lead) -> None:
    workflow = manual(workspace, "update_field", field="attributes.region", value="EMEA")
    run(workflow, lead)
    lead.refresh_from_db()
    assert lead.attributes == {"tier": "a", "region": "EMEA"}
    assert results(workflow) == [("succeeded", 1, "attributes.region set", "")]
    # Only the changed column goes to the outbox.
    assert outbox() == [("field", lead.pk, None, None, "", "attributes", {"region": "EMEA"}, "workflow")]


@pytest.mark.django_db
def test_update_field_config(workspace: Workspace) -> None:
    not_editable = NOT_EDITABLE_FIELD.format(fields="role, company, industry, location, status")
    assert not_editable == "update_field can set role, company, industry, location, status or attributes.<column>."
    for field in ("name", "email", "owner", "attributes.", "attributes", None, 3):
        assert invalid(workspace, "update_field", {"field": field, "value": "x"}).message == not_editable, field
    assert invalid(workspace, "update_field", {"field": "status", "value": "hot"}).message == BAD_STATUS
    for value in (None, 5, "x" * 1001):
        assert invalid(workspace, "update_field", {"field": "company", "value": value}).message == (
            "value must be a text of up to 1,000 characters.")


# --- create_task ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_task_for_the_owner(workspace: Workspace, offer: Offer, lead: Lead, alice: AbstractBaseUser) -> None:
    Lead.objects.filter(pk=lead.pk).update(owner=alice)
    workflow = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="create_task",
                             action_config={"title": "Call {name} ({company})", "description": "Scored {score}",
                                            "due_in_days": 2, "priority": "high", "assignee": "owner"})
    score_lead(lead, offer, 91)
    start = timezone.now()
    dispatch()
    end = timezone.now()
    [execution] = executions(workflow)
    task = Task.objects.get()
    assert (execution.status, execution.response) == ("succeeded", f"task {task.pk} created")
    assert (task.title, task.description, task.priority, task.assignee_id, task.done) == (
        "Call Maya Chen (Northwind)", "Scored 91", "high", alice.pk, False)
    assert (task.lead_id, task.workspace_id, task.workflow_id) == (lead.pk, workspace.pk, workflow.pk)
    assert between(task.due, start + timedelta(days=2), end + timedelta(days=2))


@pytest.mark.django_db
def test_create_task_defaults_and_a_named_assignee(workspace: Workspace, lead: Lead, carol: AbstractBaseUser) -> None:
    workflow = manual(workspace, "create_task", title="Follow up", assignee="carol")
    assert workflow.action_config == {"title": "Follow up", "assignee": carol.pk}
    start = timezone.now()
    run(workflow, lead)
    task = Task.objects.get()
    assert (task.title, task.description, task.priority, task.assignee_id) == ("Follow up", "", "normal", carol.pk)
    assert between(task.due, start + timedelta(days=1), timezone.now() + timedelta(days=1))
    # "owner" on a lead without one: the task is made, unassigned.
    unowned = manual(workspace, "create_task", title="Triage", assignee="owner", due_in_days=0)
    run(unowned, lead)
    assert Task.objects.get(title="Triage").assignee_id is None


@pytest.mark.django_db
def test_create_task_config(workspace: Workspace, outsider: AbstractBaseUser) -> None:
    assert invalid(workspace, "create_task", {}).message == "title is required."
    assert invalid(workspace, "create_task", {"title": ""}).message == "title must be a text of 1 to 200 characters."
    assert invalid(workspace, "create_task", {"title": "t", "due_in_days": 366}).message == (
        "due_in_days must be a whole number from 0 to 365.")
    assert invalid(workspace, "create_task", {"title": "t", "due_in_days": True}).message == (
        "due_in_days must be a whole number from 0 to 365.")
    assert invalid(workspace, "create_task", {"title": "t", "priority": "asap"}).message == (
        "priority must be one of low, normal, high, urgent.")
    assert invalid(workspace, "create_task", {"title": "t", "assignee": "bob"}).message == (
        NOT_A_MEMBER.format(user="bob"))


# --- move_to_stage --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_move_to_stage_pins_the_stage(workspace: Workspace, offer: Offer, lead: Lead, stages: None) -> None:
    workflow = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 40}, action="move_to_stage",
                             action_config={"stage": "sql"})
    score_lead(lead, offer, 55)
    assert transitions_dispatch() == 1  # the stage move's own transition waits for the next round
    assert results(workflow) == [("succeeded", 1, "stage set to sql", "")]
    score = Score.objects.get(lead=lead, offer=offer, is_current=True)
    assert (score.score, score.stage, score.cause) == (55, "sql", "manual")
    assert score.stage_set_at is not None
    assert Score.objects.filter(lead=lead, offer=offer).count() == 2
    assert list(ScoreTransition.objects.values_list("previous_stage", "stage", "cause")) == [("mql", "sql", "workflow")]
    dispatch()
    # Pinned: a knockout (which would disqualify) keeps the stage a workflow chose.
    score_lead(lead, offer, 90, knockout=True)
    score = Score.objects.get(lead=lead, offer=offer, is_current=True)
    assert (score.score, score.stage) == (0, "sql")


@pytest.mark.django_db
def test_stage_moves_by_workflows_cannot_feed_each_other(workspace: Workspace, offer: Offer, lead: Lead,
                                                         stages: None) -> None:
    """"mql -> move to sql" and "sql -> move to mql": the chain a score starts must end (bounded
    rounds here; in production each round queues the next dispatch after its commit)."""
    to_sql = make_workflow(workspace, trigger="stage_change", trigger_config={"stage": "mql"}, action="move_to_stage",
                           action_config={"stage": "sql"}, name="MQL to SQL")
    make_workflow(workspace, trigger="stage_change", trigger_config={"stage": "sql"}, action="move_to_stage",
                  action_config={"stage": "mql"}, name="SQL back to MQL")
    score_lead(lead, offer, 50)
    for _ in range(10):
        if transitions_dispatch() == 0:
            break
    assert not ScoreTransition.objects.exists(), f"{WorkflowExecution.objects.count()} executions and counting"
    assert len(executions(to_sql)) == 1


@pytest.mark.django_db
def test_move_to_stage_without_a_score_fails(workspace: Workspace, lead: Lead, stages: None) -> None:
    workflow = manual(workspace, "move_to_stage", stage="mql")
    run(workflow, lead)
    assert results(workflow) == [
        ("failed", 1, "", "The lead has no score for this offer, so it has no stage to move.")]


@pytest.mark.django_db
def test_move_to_stage_config(workspace: Workspace, stages: None) -> None:
    assert invalid(workspace, "move_to_stage", {"stage": "vip"}).message == UNKNOWN_STAGE.format(
        stage="vip", stages="mql, sql")
    assert UNKNOWN_STAGE.format(stage="vip", stages="mql, sql") == "Unknown stage 'vip': use one of mql, sql."


@pytest.mark.django_db
def test_move_to_stage_in_a_new_workspace(workspace: Workspace) -> None:
    """A workspace that never looked at its stages gets the default ones (mql, sql) first."""
    assert not QualificationStage.objects.filter(workspace=workspace).exists()
    workflow = manual(workspace, "move_to_stage", stage="sql")
    assert workflow.action_config == {"stage": "sql"}
    assert invalid(workspace, "move_to_stage", {"stage": "vip"}).message == "Unknown stage 'vip': use one of mql, sql."


# --- field_update workflows -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_field_update_fires_on_a_person_s_change_not_on_a_workflow_s(workspace: Workspace, offer: Offer,
                                                                     lead: Lead) -> None:
    """A threshold workflow sets the status (cause "workflow"): the field workflow stays quiet. A person
    setting the same status fires it; its own tag change fires nothing more (no loop)."""
    on_qualified = make_workflow(workspace, trigger="field_update", trigger_config={"field": "status",
                                                                                    "value": "qualified"},
                                 action="add_tag", action_config={"tag": "qualified"}, name="Tag qualified")
    on_tags = make_workflow(workspace, trigger="field_update", trigger_config={"field": "tags"},
                            action="change_status", action_config={"status": "qualified"}, name="Tags -> status")
    on_score = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70},
                             action="change_status", action_config={"status": "qualified"})
    score_lead(lead, offer, 80)
    dispatch()
    lead.refresh_from_db()
    assert (lead.status, lead.tags) == ("qualified", ["vip"])
    assert (len(executions(on_score)), executions(on_qualified), executions(on_tags)) == (1, [], [])

    lead_update(lead=lead, data={"status": "working"})
    dispatch()
    assert executions(on_qualified) == []
    lead_update(lead=lead, data={"status": "qualified"})
    assert transitions_dispatch() == 1
    lead.refresh_from_db()
    assert lead.tags == ["vip", "qualified"]
    [execution] = executions(on_qualified)
    assert execution.status == "succeeded"
    assert execution.payload["type"] == "field_update"
    assert execution.payload["change"] == {"field": "status", "from": "working", "to": "qualified"}
    assert execution.payload["lead"]["status"] == "qualified"
    assert execution.offer_id is None
    # The tag the workflow added is a workflow's change: "Tags -> status" does not fire.
    dispatch()
    assert executions(on_tags) == []
    assert not ScoreTransition.objects.exists()
    # A person's tag change does.
    lead_update(lead=lead, data={"tags": ["vip"]})
    dispatch()
    assert [e.status for e in executions(on_tags)] == ["succeeded"]


@pytest.mark.django_db
def test_field_update_on_attributes_and_owner(workspace: Workspace, lead: Lead, alice: AbstractBaseUser) -> None:
    on_owner = make_workflow(workspace, trigger="field_update", trigger_config={"field": "owner", "value": "alice"},
                             action="add_tag", action_config={"tag": "owned"})
    on_attributes = make_workflow(workspace, trigger="field_update", trigger_config={"field": "attributes"},
                                  action="add_tag", action_config={"tag": "enriched"})
    lead_update(lead=lead, data={"owner": alice, "attributes": {"tier": "a", "size": "500"}})
    dispatch()
    assert [e.payload["change"] for e in executions(on_owner)] == [{"field": "owner", "from": None, "to": "alice"}]
    assert [e.payload["change"] for e in executions(on_attributes)] == [
        {"field": "attributes", "from": {"size": None}, "to": {"size": "500"}}]
    lead.refresh_from_db()
    assert sorted(lead.tags) == ["enriched", "owned", "vip"]

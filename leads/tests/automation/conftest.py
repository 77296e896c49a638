"""Fixtures of the automation tests: receivers on 127.0.0.1, members, stages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from leads.models import QualificationStage, Workspace
from leads.services.workspaces import workspace_member_ensure
from leads.tests.conftest import Tenant
from leads.tests.receivers import Receiver, SlackReceiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    with SlackReceiver() as server:
        yield server


@pytest.fixture
def alice(tenant: Tenant) -> AbstractBaseUser:
    user = get_user_model().objects.get(username="alice")
    user.email = "alice@example.com"
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def carol(tenant: Tenant) -> AbstractBaseUser:
    user = workspace_member_ensure(workspace_name=tenant.workspace.name, username="carol").user
    user.email = "carol@example.com"
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def outsider(other_tenant: Tenant) -> AbstractBaseUser:
    """A user of another workspace: not a member of the tenant's."""
    return get_user_model().objects.get(username="bob")


@pytest.fixture
def stages(workspace: Workspace) -> None:
    QualificationStage.objects.create(workspace=workspace, name="MQL", stage="mql", order=10, minimum_score=40)
    QualificationStage.objects.create(workspace=workspace, name="SQL", stage="sql", order=20, minimum_score=70)

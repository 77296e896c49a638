"""create_workspace and ensure_local_admin: the commands a newcomer meets first."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Membership, Workspace


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_create_workspace_prints_a_working_token_on_its_last_line() -> None:
    out, err = _run("create_workspace", "acme", "alice")
    token = out.strip().splitlines()[-1]
    assert token == Token.objects.get(user__username="alice").key
    assert "Created workspace 'acme'; created user 'alice'" in err
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/leads/").status_code == 200


@pytest.mark.django_db
def test_create_workspace_reuses_both_and_adds_memberships() -> None:
    first, _ = _run("create_workspace", "acme", "alice")
    again, err = _run("create_workspace", "acme", "alice")
    assert again == first
    assert "Reused workspace 'acme'; reused user 'alice'" in err
    _run("create_workspace", "globex", "alice")
    assert Workspace.objects.count() == 2
    assert Membership.objects.filter(user__username="alice").count() == 2


@pytest.mark.django_db
def test_ensure_local_admin_prints_the_token_and_a_curl_line_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    out, _ = _run("ensure_local_admin")
    token = Token.objects.get(user__username="admin").key
    assert f"curl -H 'Authorization: Token {token}' http://127.0.0.1:8123/api/offer/" in out
    again, _ = _run("ensure_local_admin")
    assert token not in again
    assert "make token" in again

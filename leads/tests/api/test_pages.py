"""What a browser or a mistyped address gets: HTML pages off the API, the envelope on it, the right forms."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/nope/", "/api/offer/abc/def/", "/api/leads/upload/extra/"])
def test_unknown_api_path_is_the_envelope(api_client: APIClient, path: str, debug: bool) -> None:
    with override_settings(DEBUG=debug):
        response = api_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found.", "code": "not_found", "details": {"path": path}}


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/offer/1/", "/nope", "/static/missing.css", "/swagger/nope/"])
def test_unknown_page_is_a_plain_html_404(client, path: str, debug: bool) -> None:
    with override_settings(DEBUG=debug):
        response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "<h1>Page not found</h1>" in text
    assert "Traceback" not in text and "URLconf" not in text  # not Django's debug page


@pytest.mark.django_db
def test_missing_slash_still_redirects(api_client: APIClient) -> None:
    response = api_client.get("/api/offer")
    assert response.status_code == 301
    assert response["Location"] == "/api/offer/"


@pytest.mark.django_db
def test_options_on_upload_describes_the_upload(api_client: APIClient) -> None:
    response = api_client.options("/api/leads/upload/")
    assert response.status_code == 200
    fields = response.json()["actions"]["POST"]
    assert set(fields) == {"file", "strict"}
    assert fields["file"]["type"] == "file upload"


@pytest.mark.django_db
def test_browsable_upload_page_has_a_file_field(api_client: APIClient) -> None:
    response = api_client.get("/api/leads/upload/", HTTP_ACCEPT="text/html")
    assert response.status_code == 405  # POST only; the page still offers the form
    page = response.content.decode()
    assert 'type="file"' in page and 'name="file"' in page
    assert 'name="linkedin_bio"' not in page


@pytest.mark.django_db
def test_options_on_score_describes_the_score_input(api_client: APIClient) -> None:
    fields = api_client.options("/api/leads/score/").json()["actions"]["POST"]
    assert set(fields) == {"offer", "leads", "rescore"}


@pytest.mark.django_db
def test_short_api_paths_keep_the_envelope_for_django_level_errors(api_client: APIClient) -> None:
    response = api_client.get("/results/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_host"

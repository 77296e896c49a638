"""What a new user meets in the first hour: which offer an answer used, results that carry and
filter what callers need, unknown parameters refused, the XLSX export, Swagger examples that work."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from leads.models import Lead, Offer
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


def _offer(tenant: Tenant, name: str) -> Offer:
    return Offer.objects.create(workspace=tenant.workspace, name=name, value_props=["6x more meetings"],
                                ideal_use_cases=["B2B SaaS"])


def _score(tenant: Tenant, offer: Offer | None = None) -> dict:
    response = tenant.client.post("/api/leads/score/", {"offer": offer.pk} if offer else {}, format="json")
    assert response.status_code == 200, response.content
    return response


def _streamed(response) -> bytes:
    return b"".join(response.streaming_content)


# --- 1. every answer names its offer ---------------------------------------------------------------
@pytest.mark.django_db
def test_score_results_and_export_name_the_offer_they_used(tenant: Tenant) -> None:
    first = _offer(tenant, "First")
    latest = _offer(tenant, "Latest")
    LeadFactory(workspace=tenant.workspace, role="CEO", industry="B2B SaaS")

    scored = _score(tenant)
    assert scored["X-Offer"] == str(latest.pk)
    assert scored.json()["offer"] == {"id": latest.pk, "name": "Latest", "default": True}
    named = _score(tenant, first)
    assert named["X-Offer"] == str(first.pk)
    assert named.json()["offer"] == {"id": first.pk, "name": "First", "default": False}

    results = tenant.client.get("/api/leads/results/")
    assert results["X-Offer"] == str(latest.pk)
    assert results.json()["offer"] == {"id": latest.pk, "name": "Latest", "default": True}
    assert tenant.client.get(f"/api/leads/results/?offer={first.pk}").json()["offer"] == {
        "id": first.pk, "name": "First", "default": False}

    export = tenant.client.get(f"/api/leads/export_csv/?offer={first.pk}")
    assert export["X-Offer"] == str(first.pk)
    assert f"offer{first.pk}" in export["Content-Disposition"]
    header, row = list(csv.reader(io.StringIO(_streamed(export).decode("utf-8-sig"))))[:2]
    assert row[header.index("offer")] == "First"


@pytest.mark.django_db
def test_swagger_examples_are_bodies_that_work_as_sent(tenant: Tenant, anon_client) -> None:
    schema = anon_client.get("/swagger.json").json()
    definitions = schema["definitions"]
    offer_ref = schema["paths"]["/offer/"]["post"]["parameters"][0]["schema"]["$ref"].split("/")[-1]
    offer_example = definitions[offer_ref]["example"]
    created = tenant.client.post("/api/offer/", offer_example, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["name"] != "string"

    lead_ref = schema["paths"]["/leads/"]["post"]["parameters"][0]["schema"]["$ref"].split("/")[-1]
    lead = tenant.client.post("/api/leads/", definitions[lead_ref]["example"], format="json")
    assert lead.status_code == 201, lead.content

    score_ref = schema["paths"]["/leads/score/"]["post"]["parameters"][0]["schema"]["$ref"].split("/")[-1]
    scored = tenant.client.post("/api/leads/score/", definitions[score_ref]["example"], format="json")
    assert scored.status_code == 200, scored.content
    assert scored.json()["total_scored"] == 1


@pytest.mark.django_db
def test_id_maximum_in_the_schema_survives_a_browser(anon_client) -> None:
    """Swagger UI is JavaScript: a maximum above 2**53 came back rounded up, over the maximum itself."""
    schema = anon_client.get("/swagger.json").json()
    score_ref = schema["paths"]["/leads/score/"]["post"]["parameters"][0]["schema"]["$ref"].split("/")[-1]
    maximum = schema["definitions"][score_ref]["properties"]["offer"]["maximum"]
    assert float(maximum) == maximum  # exact as a double
    assert maximum == 2**53 - 1


@pytest.mark.django_db
def test_score_accepts_the_largest_id_as_a_number_that_does_not_exist(tenant: Tenant) -> None:
    _offer(tenant, "Only")
    response = tenant.client.post("/api/leads/score/", {"offer": 2**53 - 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_offer"


# --- 3. results carry email and attributes, and filter like the lead list -------------------------
@pytest.mark.django_db
def test_results_carry_email_and_attributes_and_filter_by_industry_role_location(tenant: Tenant) -> None:
    _offer(tenant, "Offer")
    ada = LeadFactory(workspace=tenant.workspace, name="Ada", role="VP Sales", industry="FinTech",
                      location="London, UK", email="ada@engines.io", attributes={"phone": "+44 20 7946 0000"})
    LeadFactory(workspace=tenant.workspace, name="Alan", role="Engineer", industry="B2B SaaS",
                location="Manchester")
    _score(tenant)
    body = tenant.client.get("/api/leads/results/?industry=fintech").json()
    assert [r["name"] for r in body["results"]] == ["Ada"]
    assert body["count"] == 1
    assert body["results"][0]["email"] == "ada@engines.io"
    assert body["results"][0]["attributes"] == {"phone": "+44 20 7946 0000"}
    assert [r["id"] for r in tenant.client.get("/api/leads/results/?role=vp").json()["results"]] == [ada.pk]
    assert tenant.client.get("/api/leads/results/?location=london").json()["count"] == 1
    assert tenant.client.get("/api/leads/results/?location=london&role=engineer").json()["count"] == 0
    # the same filters reach the export
    export = _streamed(tenant.client.get("/api/leads/export_csv/?industry=FINTECH")).decode("utf-8-sig")
    assert len(export.splitlines()) == 2 and "Ada" in export


# --- 4. unknown or bad parameters: 400 with the allowed values, everywhere --------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(("path", "unknown"), [
    ("/api/leads/?intent=High", ["intent"]),
    ("/api/leads/?industry=x&colour=red", ["colour"]),
    ("/api/leads/results/?min_scor=10", ["min_scor"]),
    ("/api/leads/export_csv/?page=2", ["page"]),
    ("/api/jobs/?state=running", ["state"]),
    ("/api/offer/?kind=x", ["kind"]),
    ("/api/workflows/?trigger=x", ["trigger"]),
    ("/api/lead-scores/distribution/?intent=High", ["intent"]),
])
def test_unknown_parameters_are_refused_with_the_allowed_ones(tenant: Tenant, path: str, unknown: list) -> None:
    _offer(tenant, "Offer")
    response = tenant.client.get(path)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "unknown_parameter"
    assert body["details"]["unknown"] == unknown
    assert "format" in body["details"]["allowed"]
    assert all(name in body["error"] for name in unknown)


@pytest.mark.django_db
def test_lead_list_names_its_parameters(tenant: Tenant) -> None:
    allowed = tenant.client.get("/api/leads/?intent=High").json()["details"]["allowed"]
    assert allowed == ["name", "role", "company", "industry", "location", "email", "created_after",
                       "created_before", "search", "ordering", "page", "page_size", "count", "format"]


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", ["-score", "bogus", "name,-bogus"])
def test_lead_list_refuses_an_ordering_it_does_not_have(tenant: Tenant, ordering: str) -> None:
    response = tenant.client.get(f"/api/leads/?ordering={ordering}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["details"]["allowed"] == ["created_at", "-created_at", "name", "-name", "company", "-company",
                                          "id", "-id"]


@pytest.mark.django_db
def test_results_bad_ordering_lists_the_allowed_ones(tenant: Tenant) -> None:
    _offer(tenant, "Offer")
    body = tenant.client.get("/api/leads/results/?ordering=bogus").json()
    assert body["details"]["allowed"][:2] == ["score", "-score"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["page_size=abc", "page_size=0", "page_size=5000", "page=abc", "page=-1"])
def test_paging_values_that_cannot_be_used_are_a_400(tenant: Tenant, query: str) -> None:
    response = tenant.client.get(f"/api/leads/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


@pytest.mark.django_db
def test_framework_parameters_still_work(tenant: Tenant) -> None:
    LeadFactory.create_batch(3, workspace=tenant.workspace)
    assert tenant.client.get("/api/leads/?format=json&page=1&page_size=2&ordering=-name,id&search=a"
                             ).status_code == 200
    assert tenant.client.get("/api/leads/?page=last&page_size=2").status_code == 200
    assert tenant.client.get("/api/jobs/?kind=import&status=running").status_code == 200


# --- 2. the XLSX export --------------------------------------------------------------------------
@pytest.mark.django_db
def test_xlsx_export_keeps_text_as_typed_and_never_has_a_formula(tenant: Tenant) -> None:
    offer = _offer(tenant, "Offer")
    LeadFactory(workspace=tenant.workspace, name="=HYPERLINK(\"http://evil\",\"x\")", company="-Minus Corp",
                attributes={"phone": "+1 415 555 0101", "zip": "02134", "note": "\x1b[31mred\x07",
                            "next": "=1+1", "after": "=SUM(A1:A2)", "plain": "text"})
    _score(tenant)
    response = tenant.client.get("/api/leads/export_csv/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["X-Offer"] == str(offer.pk)
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(_streamed(response)))
    sheet = workbook["Results"]
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    cells = dict(zip(header, rows[1], strict=True))
    assert cells["phone"].value == "+1 415 555 0101" and cells["phone"].data_type == "s"
    assert cells["zip"].value == "02134" and cells["zip"].data_type == "s"
    assert cells["name"].value == "=HYPERLINK(\"http://evil\",\"x\")" and cells["name"].data_type == "s"
    assert cells["company"].value == "-Minus Corp"
    assert cells["note"].value == "[31mred"  # control characters dropped
    assert (cells["next"].value, cells["after"].value, cells["plain"].value) == ("=1+1", "=SUM(A1:A2)", "text")
    assert cells["score"].data_type == "n"
    assert cells["offer"].value == "Offer"
    assert not any(cell.data_type == "f" for row in rows for cell in row)


@pytest.mark.django_db
def test_export_refuses_an_unknown_format(tenant: Tenant) -> None:
    _offer(tenant, "Offer")
    response = tenant.client.get("/api/leads/export_csv/?format=pdf")
    assert response.status_code == 400
    assert response.json()["details"] == {"format": ["pdf"], "allowed": ["csv", "xlsx"]}


@pytest.mark.django_db
def test_xlsx_export_refuses_more_rows_than_a_worksheet_holds(tenant: Tenant, monkeypatch) -> None:
    from leads.services import xlsx_export

    _offer(tenant, "Offer")
    LeadFactory.create_batch(3, workspace=tenant.workspace)
    _score(tenant)
    monkeypatch.setattr(xlsx_export, "XLSX_MAX_ROWS", 2)
    response = tenant.client.get("/api/leads/export_csv/?format=xlsx")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_rows"
    assert "format=csv" in response.json()["error"]


# --- 5. one lead at a time -------------------------------------------------------------------------
@pytest.mark.django_db
def test_post_creates_one_lead_with_a_location(tenant: Tenant) -> None:
    response = tenant.client.post("/api/leads/", {"name": " Maya Chen ", "company": "Acme", "role": "VP Sales",
                                                  "email": "maya@acme.io", "attributes": {"phone": "+1 415"},
                                                  "tags": ["vip"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"http://testserver/api/leads/{body['id']}/"
    assert (body["name"], body["company"], body["email"], body["attributes"], body["tags"]) == (
        "Maya Chen", "Acme", "maya@acme.io", {"phone": "+1 415"}, ["vip"])
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.dedupe_key, lead.name_key) == ("e:maya@acme.io", "n:maya chen|acme")


@pytest.mark.django_db
@pytest.mark.parametrize("twin", [
    {"name": "Someone Else", "email": "MAYA@acme.io"},          # the same email, any case
    {"name": "maya  chen", "company": "ACME"},                  # no email: the same name + company
])
def test_post_a_twin_is_a_409_with_the_existing_id(tenant: Tenant, twin: dict) -> None:
    first = tenant.client.post("/api/leads/", {"name": "Maya Chen", "company": "Acme", "email": "maya@acme.io"},
                               format="json").json()
    response = tenant.client.post("/api/leads/", twin, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "duplicate_lead"
    assert response.json()["details"] == {"id": first["id"]}
    assert Lead.objects.filter(workspace=tenant.workspace).count() == 1


@pytest.mark.django_db
def test_post_finds_an_uploaded_twin(tenant: Tenant) -> None:
    upload = io.BytesIO(b"name,company\nAda,Engines\n")
    upload.name = "leads.csv"
    assert tenant.client.post("/api/leads/upload/", {"file": upload}, format="multipart").status_code == 201
    existing = Lead.objects.get(workspace=tenant.workspace)
    response = tenant.client.post("/api/leads/", {"name": "ADA", "company": "engines"}, format="json")
    assert (response.status_code, response.json()["details"]) == (409, {"id": existing.pk})
    # with an email that no lead has, the import would claim the lead stored without one: so does create
    response = tenant.client.post("/api/leads/", {"name": "Ada", "company": "Engines", "email": "ada@e.io"},
                                  format="json")
    assert (response.status_code, response.json()["details"]) == (409, {"id": existing.pk})


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    ({"company": "Acme", "role": "CEO"}, "non_field_errors"),      # neither name nor email
    ({"name": "x" * 256}, "name"),
    ({"name": "Eve\u202e", "company": "Acme"}, "name"),
    ({"name": "Eve", "email": "eve\u202e@evil.io"}, "email"),
    ({"name": "Eve", "email": "not-an-email"}, "email"),
])
def test_post_validates_like_the_import(tenant: Tenant, body: dict, field: str) -> None:
    response = tenant.client.post("/api/leads/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["details"]
    assert not Lead.objects.filter(workspace=tenant.workspace).exists()


@pytest.mark.django_db
def test_patch_refuses_bidi_characters_in_a_name(tenant: Tenant) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    response = tenant.client.patch(f"/api/leads/{lead.pk}/", {"name": "gnp.exe\u202ecod"}, format="json")
    assert response.status_code == 400
    assert "U+202E" in response.json()["error"]


# --- 6. the upload answer shows warnings apart from errors ----------------------------------------
@pytest.mark.django_db
def test_upload_answer_lists_warnings_apart_from_errors(tenant: Tenant) -> None:
    upload = io.BytesIO(b"name,company,email\nAnn,Acme,ann(at)acme\n,Acme,\n")
    upload.name = "leads.csv"
    body = tenant.client.post("/api/leads/upload/", {"file": upload}, format="multipart").json()
    job = body["job"]
    assert (body["created"], body["failed"], body["warned"], job["warned"]) == (1, 1, 1, 1)
    assert [w["line"] for w in body["warnings"]] == [w["line"] for w in job["warnings"]] == [2]
    assert [e["line"] for e in body["errors"]] == [3]
    assert "1 stored with a warning" in job["message"]


def _example(schema: dict, path: str, method: str = "post") -> object:
    body = next(p for p in schema["paths"][path][method]["parameters"] if p["in"] == "body")["schema"]
    if body.get("type") == "array":
        return [schema["definitions"][body["items"]["$ref"].split("/")[-1]]["example"]]
    return schema["definitions"][body["$ref"].split("/")[-1]]["example"]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method", "expected"), [
    ("/scoring-models/", "post", 201), ("/scoring-rules/", "post", 201), ("/qualification-criteria/", "post", 201),
    ("/lead-scores/bulk_calculate/", "post", 200), ("/workflows/", "post", 201), ("/alerts/config/", "post", 200),
    ("/events/", "post", 201),
])
def test_more_swagger_examples_work_as_sent(tenant: Tenant, anon_client, path: str, method: str,
                                            expected: int) -> None:
    _offer(tenant, "Offer")
    LeadFactory(workspace=tenant.workspace, email="maya.chen@acme-cloud.example")
    schema = anon_client.get("/swagger.json").json()
    response = getattr(tenant.client, method)(f"/api{path}", _example(schema, path, method), format="json")
    assert response.status_code == expected, response.content

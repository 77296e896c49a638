"""Text search through the index (FTS5 trigram on SQLite) answers exactly what the plain scan answers.

The reference is the scan every search was before the index: one `icontains` per searched field,
written out here again so the selectors' own helpers are not what they are checked against.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.filters import search_smart_split

from leads import search_index, selectors
from leads.models import Lead, Offer, Score, Workspace
from leads.services.imports import import_job_create, import_job_run
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

pytestmark = pytest.mark.django_db

FIELDS = ("name", "company", "role", "industry", "location", "email")

TRICKY = [
    {"name": "Émilie Durand", "company": "Acme Corp", "role": "CEO", "email": "emilie@acme.io", "location": "Paris"},
    {"name": "José Pérez", "company": "Nimbus, Inc.", "role": "VP Sales", "location": "São Paulo"},
    {"name": "jose perez", "company": "Nimbus Labs", "role": "Head of Data", "email": "jp@nimbus.example.com"},
    {"name": "Dagmar Müller", "company": "Müller & Söhne", "role": "Geschäftsführerin", "location": "München"},
    {"name": "Sean O'Brien", "company": "100% Tech", "role": "CTO", "email": "x_y@z.org"},
    {"name": 'Zoë "Z" Kravitz', "company": "Straße AG", "role": "Sr. Director", "industry": "FinTech"},
    {"name": "ACME FAN", "company": "Globex", "role": "Student", "industry": "Education"},
    {"name": "Li Wei", "company": "Sakura Labs", "role": "Engineer", "location": "Lima, Peru"},
    {"name": "Ana", "company": "", "role": "", "industry": "", "location": "", "email": ""},
]

QUERIES = [
    "acme", "ACME", "Acme Corp", "acme corp", "me c", "émilie", "ÉMILIE", "emilie", "josé", "JOSÉ", "jose",
    "pérez", "müller", "MÜLLER", "mueller", "straße", "STRASSE", "o'brien", "100%", "x_y", "%", "_", "li",
    "a", "Li", "LI", '"z"', '"', "@acme.io", ".io", "nimbus, inc", "nimbus,", "ceo", "head of", "sr.",
    "são", "lima, peru", "zz", "no such thing", "ana", "example.com",
]


def scan(workspace: Workspace, term: str) -> set[int]:
    match = reduce(operator.or_, (Q(**{f"{field}__icontains": term}) for field in FIELDS))
    return set(Lead.objects.filter(workspace=workspace).filter(match).values_list("pk", flat=True))


def searched(workspace: Workspace, *terms: str) -> set[int]:
    return set(selectors.lead_list(workspace=workspace, search_terms=terms).values_list("pk", flat=True))


@pytest.fixture
def tricky(workspace: Workspace, other_tenant: Tenant) -> list[Lead]:
    # Every field fixed (no generated text), and another workspace holds the same people: its
    # leads must never come back.
    rows = [{"industry": "B2B SaaS", "location": "Berlin", "email": "", "linkedin_bio": "Builds acme things.",
             **fields} for fields in TRICKY]
    for fields in rows:
        LeadFactory(workspace=other_tenant.workspace, **fields)
    return [LeadFactory(workspace=workspace, **fields) for fields in rows]


# Each way a search page is read, forced: every plan must answer the same rows.
PLANS = (selectors.DRIVE, selectors.PROBE, selectors.SCAN)


def force_plan(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # A term under 3 characters has no trigram: only the scan can answer it.
    monkeypatch.setattr(selectors, "_search_plan", lambda term, **_: (
        name if len(term) >= search_index.TRIGRAM else selectors.SCAN))


@pytest.fixture(params=list(PLANS))
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every way a search page is read: from the index's matches and sorted (drive); walking the
    rows in order and probing the matches' ids (probe); walking and testing each row's text (scan)."""
    force_plan(monkeypatch, request.param)
    return request.param


def test_sqlite_has_the_trigram_tokenizer() -> None:
    """The unit suite runs on SQLite with FTS5 and the trigram tokenizer (3.34+): the index exists."""
    assert connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [search_index.SQLITE_TABLE])
        (sql,) = cursor.fetchone()
    assert "tokenize='trigram'" in sql


@pytest.mark.parametrize("term", QUERIES)
def test_lead_search_is_the_scan(term: str, tricky: list[Lead], workspace: Workspace, plan: str) -> None:
    expected = scan(workspace, term)
    assert searched(workspace, term) == expected
    assert selectors.lead_list(workspace=workspace, search_terms=[term]).count() == len(expected)


def test_the_tricky_set_means_what_it_says(tricky: list[Lead], workspace: Workspace) -> None:
    """What the scan itself answers on SQLite: case folds for ASCII letters only, accents count."""
    by_name = {lead.name: lead.pk for lead in tricky}
    assert searched(workspace, "ACME") == {by_name["Émilie Durand"], by_name["ACME FAN"]}
    assert searched(workspace, "jose") == {by_name["jose perez"]}
    assert searched(workspace, "josé") == {by_name["José Pérez"]}
    assert searched(workspace, "Émilie") == {by_name["Émilie Durand"]}
    assert searched(workspace, "émilie") == set()  # LIKE doesn't fold É; the email has "emilie", no accent
    assert searched(workspace, "EMILIE") == {by_name["Émilie Durand"]}  # the email
    assert searched(workspace, "x_y") == {by_name["Sean O'Brien"]}  # _ and % are text, not wildcards
    assert searched(workspace, "%") == {by_name["Sean O'Brien"]}


@pytest.mark.parametrize("query", [
    "acme paris", "paris acme", '"acme corp"', "nimbus,labs", "nimbus labs", "li lima", "jose nimbus", "a b",
    "ceo émilie", "müller münchen", '"head of" nimbus', "acme nothing",
])
def test_lead_list_search_keeps_drf_terms(query: str, tricky: list[Lead], tenant: Tenant, plan: str) -> None:
    """/api/leads/?search= splits terms as DRF's SearchFilter always did; every term must match."""
    terms = search_smart_split(query)
    expected = set.intersection(*(scan(tenant.workspace, term) for term in terms))
    body = tenant.client.get("/api/leads/", {"search": query, "page_size": 100}).json()
    assert {row["id"] for row in body["results"]} == expected
    assert body["count"] == len(expected)


def test_lead_list_search_pages_in_order(workspace: Workspace, plan: str) -> None:
    leads = [LeadFactory(workspace=workspace, company=f"Nimbus {n}") for n in range(7)]
    LeadFactory.create_batch(3, workspace=workspace, company="Other")
    newest_first = [lead.pk for lead in sorted(leads, key=lambda lead: (lead.created_at, lead.pk), reverse=True)]
    ids = selectors.lead_list(workspace=workspace, search_terms=["nimbus"]).values_list("pk", flat=True)
    assert [*ids[:3], *ids[3:6], *ids[6:9]] == newest_first
    by_name = selectors.leads_search(selectors.lead_list(workspace=workspace).order_by("-company"), terms=["nimbus"])
    assert [lead.company for lead in by_name] == [f"Nimbus {n}" for n in range(6, -1, -1)]


@pytest.mark.parametrize("terms", [*([term] for term in QUERIES), ["nimbus", "labs"], ["acme", "paris"]])
def test_lead_search_count_is_the_scans(terms: list[str], tricky: list[Lead], workspace: Workspace) -> None:
    """The index's count (every workspace's, less the others' matches) is the workspace's, or None
    where it could differ from the scan (a term under 3 characters, a non-ASCII letter)."""
    count = selectors.lead_search_count(workspace=workspace, terms=terms)
    if any(len(term) < 3 or not term.isascii() for term in terms):
        assert count is None
    else:
        assert count == len(set.intersection(*(scan(workspace, term) for term in terms)))


def test_lead_search_count_stands_aside_when_other_workspaces_are_big(
        tricky: list[Lead], tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "SEARCH_COUNT_OTHERS_MAX", len(tricky) - 1)
    assert selectors.lead_search_count(workspace=tenant.workspace, terms=["acme"]) is None
    body = tenant.client.get("/api/leads/", {"search": "acme"}).json()
    assert body["count"] == len(scan(tenant.workspace, "acme")) == 2
    monkeypatch.setattr(selectors, "SEARCH_COUNT_OTHERS_MAX", len(tricky))
    assert selectors.lead_search_count(workspace=tenant.workspace, terms=["acme"]) == 2


def test_lead_list_count_with_another_filter_is_the_lists(tricky: list[Lead], tenant: Tenant) -> None:
    """Only a search alone is counted by the index: another filter narrows the count too."""
    body = tenant.client.get("/api/leads/", {"search": "acme", "location": "berlin", "page_size": 1}).json()
    expected = {lead.pk for lead in tricky if lead.pk in scan(tenant.workspace, "acme")
                and "berlin" in lead.location.lower()}
    assert body["count"] == len(expected) and len(body["results"]) == 1


# --- results ---------------------------------------------------------------------------------------


@pytest.fixture
def scored(tricky: list[Lead], tenant: Tenant, other_tenant: Tenant) -> Offer:
    offer = OfferFactory(workspace=tenant.workspace, ideal_use_cases=["B2B SaaS"])
    OfferFactory(workspace=other_tenant.workspace, ideal_use_cases=["B2B SaaS"])
    for client in (tenant.client, other_tenant.client):
        assert client.post("/api/leads/score/", {}, format="json").status_code == 200
    return offer


@pytest.mark.parametrize("term", QUERIES)
def test_results_search_is_the_scan(term: str, scored: Offer, workspace: Workspace, plan: str) -> None:
    filters = selectors.ResultFilters(search=term)
    expected = list(Score.objects.filter(offer=scored, is_current=True, lead_id__in=scan(workspace, term))
                    .order_by("-score", "lead_id").values_list("pk", flat=True))
    results = selectors.score_results(workspace=workspace, offer=scored, filters=filters)
    assert list(results.values_list("pk", flat=True)) == expected
    assert selectors.score_results_count(workspace=workspace, offer=scored, filters=filters) == len(expected)


@pytest.mark.parametrize("ordering", list(selectors.RESULT_ORDERINGS))
def test_results_search_keeps_every_ordering(ordering: str, scored: Offer, workspace: Workspace, plan: str) -> None:
    plain = selectors.score_results(workspace=workspace, offer=scored, filters=selectors.ResultFilters(
        ordering=ordering)).filter(lead_id__in=scan(workspace, "nimbus"))
    found = selectors.score_results(workspace=workspace, offer=scored, filters=selectors.ResultFilters(
        search="nimbus", ordering=ordering))
    assert list(found.values_list("pk", flat=True)) == list(plain.values_list("pk", flat=True))
    assert found.count() == 2


def test_results_search_through_the_api_stays_in_the_workspace(scored: Offer, tenant: Tenant,
                                                              other_tenant: Tenant) -> None:
    mine = scan(tenant.workspace, "nimbus")
    for page_size in (1, 50):
        pages, url = [], f"/api/leads/results/?search=nimbus&page_size={page_size}"
        while url:
            body = tenant.client.get(url).json()
            assert body["count"] == len(mine)
            pages.extend(row["id"] for row in body["results"])
            url = body["next"]
        assert sorted(pages) == sorted(mine)
    theirs = other_tenant.client.get("/api/leads/results/?search=nimbus").json()
    assert {row["id"] for row in theirs["results"]}.isdisjoint(mine) and theirs["count"] == len(mine)
    listed = tenant.client.get("/api/leads/?search=nimbus").json()
    assert {row["id"] for row in listed["results"]} == mine


# --- counts a search stops early -------------------------------------------------------------------


@pytest.fixture
def many_nimbus(tenant: Tenant, other_tenant: Tenant) -> Offer:
    """Seven leads of the workspace hold `nimbus` (and `li`), three do not; another workspace holds
    the same text. Scored, through the API."""
    for workspace in (tenant.workspace, other_tenant.workspace):
        for n in range(7):
            LeadFactory(workspace=workspace, company=f"Nimbus {n}", name=f"Li {n}")
        for n in range(3):
            LeadFactory(workspace=workspace, company="Other", name=f"Bob {n}", email="", role="", location="",
                        industry="")
    offer = OfferFactory(workspace=tenant.workspace)
    OfferFactory(workspace=other_tenant.workspace)
    for client in (tenant.client, other_tenant.client):
        assert client.post("/api/leads/score/", {}, format="json").status_code == 200
    return offer


def walk(client: Any, url: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every page of `url` by its `next` links: (the pages' bodies, the rows' ids)."""
    bodies, ids = [], []
    while url:
        body = client.get(url).json()
        bodies.append(body)
        ids.extend(row["id"] for row in body["results"])
        url = body["next"]
    return bodies, ids


@pytest.mark.parametrize("path", ["/api/leads/results/", "/api/leads/"])
@pytest.mark.parametrize("term", ["nimbus", "li"])
def test_a_costly_search_count_stops_at_its_bound(path: str, term: str, many_nimbus: Offer, tenant: Tenant,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A term in more leads than the index counts cheaply (here: more than 5; `li` has no trigram)
    is counted only up to SEARCH_COUNT_BOUND (3): `count` is then a lower bound, `count_exact`
    false, and `next` still leads to every row. The last page knows the whole count."""
    monkeypatch.setattr(selectors, "SEARCH_PROBE_MAX", 5)
    monkeypatch.setattr(selectors, "SEARCH_COUNT_BOUND", 3)
    mine = scan(tenant.workspace, term)
    assert len(mine) == 7
    bodies, ids = walk(tenant.client, f"{path}?search={term}&page_size=2")
    assert sorted(ids) == sorted(mine) and len(bodies) == 4
    assert [(body["count"], body["count_exact"]) for body in bodies] == [(3, False), (5, False), (7, False), (7, True)]
    exact = tenant.client.get(path, {"search": term, "page_size": 2, "count": "exact"}).json()
    assert (exact["count"], exact["count_exact"]) == (7, True)
    assert exact["next"] and "count=exact" in exact["next"]
    past = tenant.client.get(path, {"search": term, "page_size": 2, "page": 5})
    assert past.status_code == 404, past.content
    assert tenant.client.get(path, {"search": term, "page_size": 2, "page": "last"}).json()["count"] == 7


@pytest.mark.parametrize("path", ["/api/leads/results/", "/api/leads/"])
def test_a_cheap_search_count_is_exact(path: str, many_nimbus: Offer, tenant: Tenant,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "SEARCH_COUNT_BOUND", 3)  # the index counts 14 matches: at most 100,000
    body = tenant.client.get(path, {"search": "nimbus", "page_size": 2}).json()
    assert (body["count"], body["count_exact"]) == (7, True)
    plain = tenant.client.get(path, {"page_size": 2}).json()
    assert (plain["count"], plain["count_exact"]) == (10, True)


def test_a_search_count_is_cheap_when_one_term_is_rare(many_nimbus: Offer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "SEARCH_PROBE_MAX", 5)
    assert selectors.search_count_costly(["li"]) and selectors.search_count_costly(["nimbus"])
    assert selectors.search_count_costly(["nimbus", "li"])
    assert not selectors.search_count_costly(["li", "nimbus 0"])  # in 2 leads: the count starts there
    assert not selectors.search_count_costly(["zzz"]) and not selectors.search_count_costly([])


@pytest.mark.parametrize("value", ["", "all", "EXACT", "1"])
def test_count_accepts_exact_only(value: str, tenant: Tenant) -> None:
    for path in ("/api/leads/results/", "/api/leads/", "/api/offer/"):
        response = tenant.client.get(path, {"count": value})
        assert response.status_code == 400, (path, response.content)
        assert response.json()["details"] == {"count": [value]}


# --- random text -------------------------------------------------------------------------------------

# Letters in both cases with and without accents, ß, the characters LIKE and FTS5 give a meaning
# to, spaces and punctuation. Not U+212A KELVIN SIGN or U+017F LONG S: FTS5 folds them to k and s,
# LIKE doesn't (the one documented difference, see selectors.lead_search).
ALPHABET = "aAbBkKsSéÉèÈüÜßøØ %_'\".,@-*()^:"
field_text = st.text(alphabet=ALPHABET, max_size=12)
term_text = st.text(alphabet=ALPHABET, min_size=1, max_size=5)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(field_text, field_text, field_text), min_size=1, max_size=8),
       terms=st.lists(term_text, min_size=1, max_size=4))
def test_random_text_search_is_the_scan(rows: list[tuple[str, str, str]], terms: list[str], workspace: Workspace,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the text and the term, the index (and its fallbacks) answer what the scan answers."""
    Lead.objects.filter(workspace=workspace).delete()
    for n, (name, company, email) in enumerate(rows):
        LeadFactory(workspace=workspace, name=name, company=company, email=email, role="", industry="", location="",
                    dedupe_key=f"test:{n}")
    for name in PLANS:
        force_plan(monkeypatch, name)
        for term in terms:
            assert searched(workspace, term) == scan(workspace, term), term
        assert searched(workspace, *terms) == set.intersection(*(scan(workspace, term) for term in terms))


# --- the index follows every write ---------------------------------------------------------------------


def index_matches_content() -> None:
    """FTS5's own check that the index holds exactly the content table's text (raises otherwise)."""
    with connection.cursor() as cursor:
        table = search_index.SQLITE_TABLE
        cursor.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")


def run_import(workspace: Workspace, text: str, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    job = import_job_create(workspace=workspace, user=None, upload=ContentFile(text.encode(), name="leads.csv"),
                            filename="leads.csv", inline=True)
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.message


def test_import_update_edit_and_delete_keep_the_index(tenant: Tenant, settings: Any, tmp_path: Any) -> None:
    workspace = tenant.workspace
    run_import(workspace, "name,company,email,role\nAda Lovelace,Engines Ltd,ada@engines.io,CTO\n"
                          "Alan Turing,Bletchley,,Head of Codes\n", settings, tmp_path)
    index_matches_content()
    ada, alan = Lead.objects.get(name="Ada Lovelace"), Lead.objects.get(name="Alan Turing")
    assert searched(workspace, "engines") == {ada.pk}
    # The import's update path (executemany UPDATE): a new company, and an unchanged row.
    run_import(workspace, "name,company,email,role\nAda Lovelace,Analytical Co,ada@engines.io,CTO\n"
                          "Alan Turing,Bletchley,,Head of Codes\n", settings, tmp_path)
    assert searched(workspace, "analytical") == {ada.pk}
    assert searched(workspace, "engines ltd") == set()
    assert searched(workspace, "engines") == {ada.pk}  # still in the email
    # The API's edit, then a change of a field the search doesn't read (no index work, same answer).
    assert tenant.client.patch(f"/api/leads/{alan.pk}/", {"company": "Bombe Works"}, format="json").status_code == 200
    assert searched(workspace, "bombe") == {alan.pk} and searched(workspace, "bletchley") == set()
    assert tenant.client.patch(f"/api/leads/{alan.pk}/", {"linkedin_bio": "Bletchley"},
                               format="json").status_code == 200
    assert searched(workspace, "bletchley") == set()
    index_matches_content()
    assert tenant.client.delete(f"/api/leads/{ada.pk}/").status_code == 204
    assert searched(workspace, "analytical") == set()
    index_matches_content()
    workspace.delete()  # the cascade deletes the leads through SQL too
    index_matches_content()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {search_index.SQLITE_TABLE} WHERE {search_index.SQLITE_TABLE} "
                       "MATCH %s", [search_index.fts_phrase("bombe")])
        assert cursor.fetchone()[0] == 0


def bulk_marker_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {search_index.SQLITE_BULK_TABLE}")
        return int(cursor.fetchone()[0])


def test_import_indexes_each_batch_in_one_statement(workspace: Workspace, settings: Any, tmp_path: Any) -> None:
    """Batches of new leads are indexed by `search_index_bulk`; afterwards the trigger is back."""
    settings.IMPORT_BATCH_SIZE = 3
    rows = "".join(f"Person {n},Quuxco {n % 4},p{n}@quux.example.com\n" for n in range(10))
    run_import(workspace, "name,company,email\n" + rows, settings, tmp_path)
    index_matches_content()
    assert bulk_marker_rows() == 0
    assert searched(workspace, "quuxco 3") == scan(workspace, "quuxco 3") and len(scan(workspace, "quuxco 3")) == 2
    later = LeadFactory(workspace=workspace, company="Quuxco Later")
    assert searched(workspace, "quuxco later") == {later.pk}


def test_bulk_block_that_fails_leaves_no_trace(workspace: Workspace) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic(), search_index.search_index_bulk(connection):
        LeadFactory(workspace=workspace, company="Vanished")
        raise ZeroDivisionError
    assert bulk_marker_rows() == 0
    index_matches_content()
    kept = LeadFactory(workspace=workspace, company="Vanished Not")
    assert searched(workspace, "vanished") == {kept.pk}


@pytest.mark.django_db(transaction=True)
def test_install_rebuilds_an_index_that_stopped_following(workspace: Workspace) -> None:
    """What a migration that rebuilds the leads table must do (see leads.search_index). Not in a test
    transaction: the schema editor runs as a migration does; the install leaves the schema whole."""
    lead = LeadFactory(workspace=workspace, company="Before")
    with connection.cursor() as cursor:
        for name in search_index.SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    Lead.objects.filter(pk=lead.pk).update(company="Afterwards")
    LeadFactory(workspace=workspace, company="Afterwards Too")
    with connection.schema_editor() as editor:
        search_index.search_index_install(editor)
    index_matches_content()
    assert len(scan(workspace, "afterwards")) == 2
    assert searched(workspace, "afterwards") == scan(workspace, "afterwards")
    assert searched(workspace, "before") == set()
    LeadFactory(workspace=workspace, company="Afterwards Three")  # the triggers are back
    assert len(searched(workspace, "afterwards")) == 3


def test_fts_phrase_quotes_everything() -> None:
    assert search_index.fts_phrase('say "hi" OR NOT x*') == '"say ""hi"" OR NOT x*"'

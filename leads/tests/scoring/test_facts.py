"""What a rule can read: lead fields, uploaded columns, computed engagement fields (leads/scoring/facts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leads.scoring.facts import EMPTY_FIELD, EngagementFacts, LeadFacts, attribute_key, field_reader, reads_attributes
from leads.scoring.types import LeadData

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = (NOW - datetime(1970, 1, 1, tzinfo=UTC)).days  # the UTC day number `daily` buckets are keyed by
CREATED = NOW - timedelta(days=10, hours=5)
LEAD = LeadData(name="Maya Chen", role="VP Sales", company="Acme Cloud", industry="B2B SaaS",
                location="Austin, TX", linkedin_bio="Scaling outbound.")
FACTS = LeadFacts(
    lead=LEAD, now=NOW, email="maya@acme.example", status="contacted", owner="alice", tags=("VIP", "newsletter"),
    created_at=CREATED,
    attributes={"Company Size": "600", "budget": "50k €", "Urgency Level": "Sofort", "industry": "from the CSV",
                "lead-source": "Messe"},
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("name", "Maya Chen", id="name"),
        pytest.param("role", "VP Sales", id="role"),
        pytest.param("title", "VP Sales", id="title is role"),
        pytest.param("Title", "VP Sales", id="Title, any case"),
        pytest.param("company", "Acme Cloud", id="company"),
        pytest.param("industry", "B2B SaaS", id="industry: the lead field wins over a column of that name"),
        pytest.param("location", "Austin, TX", id="location"),
        pytest.param("linkedin_bio", "Scaling outbound.", id="linkedin_bio"),
        pytest.param("email", "maya@acme.example", id="email"),
        pytest.param("status", "contacted", id="status"),
        pytest.param("owner", "alice", id="owner"),
        pytest.param("tags", ("VIP", "newsletter"), id="tags"),
        pytest.param("created_at", CREATED, id="created_at"),
        pytest.param("  Company ", "Acme Cloud", id="trimmed and case-insensitive"),
        pytest.param("EMAIL", "maya@acme.example", id="EMAIL"),
    ],
)
def test_lead_fields(name: str, expected: object) -> None:
    assert field_reader(name)(FACTS) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("attributes.budget", "50k €", id="attributes.budget"),
        pytest.param("attributes.industry", "from the CSV", id="attributes.industry: the column, not the field"),
        pytest.param("attributes.Company Size", "600", id="attributes.<header as stored>"),
        pytest.param("attributes.company_size", "600", id="attributes.<header, another spelling>"),
        pytest.param("attributes.missing", None, id="attributes.<missing column> is None"),
        pytest.param("company_size", "600", id="bare name: underscore for space"),
        pytest.param("Company Size", "600", id="bare name: as stored"),
        pytest.param("COMPANY-SIZE", "600", id="bare name: case and dash"),
        pytest.param("company.size", "600", id="bare name: dot"),
        pytest.param("company  size", "600", id="bare name: double space"),
        pytest.param("urgency_level", "Sofort", id="bare name: two words"),
        pytest.param("Budget", "50k €", id="bare name: case"),
        pytest.param("lead_source", "Messe", id="bare name: stored with a dash"),
        pytest.param("companysize", None, id="bare name: words run together are another column"),
        pytest.param("revenue", None, id="bare name: no such column"),
    ],
)
def test_uploaded_columns(name: str, expected: object) -> None:
    assert field_reader(name)(FACTS) == expected


def test_columns_of_a_lead_without_attributes_read_none() -> None:
    facts = LeadFacts(lead=LEAD, now=NOW)
    assert field_reader("attributes.budget")(facts) is None
    assert field_reader("company_size")(facts) is None


def test_attributes_prefix_is_case_insensitive_like_every_other_field_name() -> None:
    """ "Attributes.budget" reads the budget column, as "Role" reads role; it must not silently read nothing."""
    assert field_reader("Attributes.budget")(FACTS) == "50k €"


@pytest.mark.parametrize(
    ("stored", "key"),
    [("Company Size", "company size"), ("company_size", "company size"), (" Company--Size. ", "company size"),
     ("BUDGET", "budget")],
    ids=["space", "underscore", "dashes, dot and padding", "case"],
)
def test_attribute_key(stored: str, key: str) -> None:
    assert attribute_key(stored) == key


ENGAGEMENT = EngagementFacts(
    counts={"email_open": 7, "email_click": 3, "page_view": 12, "call": 2, "meeting": 1, "note": 3,
            "email_reply": 1, "demo_request": 1, "deal_stage_change": 2, "form_submit": 4},
    last_at={"email_open": NOW - timedelta(days=2), "form_submit": NOW - timedelta(days=45),
             "demo_request": NOW - timedelta(days=30)},
    daily={"email_open": {TODAY: 2, TODAY - 29: 3, TODAY - 30: 2}},
    first_activity=NOW - timedelta(days=90),
    last_activity=NOW - timedelta(days=3, hours=23),
)
ENGAGED = LeadFacts(lead=LEAD, now=NOW, created_at=CREATED, engagement=ENGAGEMENT)
QUIET = LeadFacts(lead=LEAD, now=NOW)


@pytest.mark.parametrize(
    ("name", "engaged", "quiet"),
    [
        pytest.param("days_since_creation", 10, None, id="days_since_creation: whole days"),
        pytest.param("last_activity_days_ago", 3, None, id="last_activity_days_ago: whole days"),
        pytest.param("email_opens_count", 7, 0, id="email_opens_count"),
        pytest.param("email_clicks_count", 3, 0, id="email_clicks_count"),
        pytest.param("website_visits", 12, 0, id="website_visits: page views"),
        pytest.param("activities_count", 10, 0, id="activities_count: CRM types only (2+1+3+1+1+2)"),
        pytest.param("events.form_submit.count", 4, 0, id="events.<type>.count"),
        pytest.param("events.Form_Submit.count", 4, 0, id="events.<type>.count, any case"),
        pytest.param("events.webinar.count", 0, 0, id="events.<type>.count of a type never seen"),
        pytest.param("events.email_open.count_30d", 5, 0, id="count_30d from buckets: today and 29 days ago"),
        pytest.param("events.email_open.count_1d", 2, 0, id="count_1d from buckets: today only"),
        pytest.param("events.email_open.count_31d", 7, 0, id="count_31d from buckets: 30 days ago too"),
        pytest.param("events.form_submit.count_30d", 0, 0, id="no buckets, last one older than 30 days: 0"),
        pytest.param("events.form_submit.count_60d", 4, 0, id="no buckets, last one within 60 days: the count"),
        pytest.param("events.demo_request.count_30d", 1, 0, id="no buckets, last one exactly 30 days ago: counted"),
        pytest.param("events.call.count_30d", 0, 0, id="no buckets and no last time: 0"),
    ],
)
def test_computed_fields(name: str, engaged: object, quiet: object) -> None:
    read = field_reader(name)
    assert read(ENGAGED) == engaged
    assert read(QUIET) == quiet


def test_days_since_a_moment_in_the_future_is_zero() -> None:
    facts = LeadFacts(lead=LEAD, now=NOW, created_at=NOW + timedelta(hours=3),
                      engagement=EngagementFacts(last_activity=NOW + timedelta(days=2)))
    assert field_reader("days_since_creation")(facts) == 0
    assert field_reader("last_activity_days_ago")(facts) == 0


def test_computed_fields_follow_now() -> None:
    """The same facts read 29 days later: buckets and ages move with `now`."""
    later = LeadFacts(lead=LEAD, now=NOW + timedelta(days=29), created_at=CREATED, engagement=ENGAGEMENT)
    assert field_reader("days_since_creation")(later) == 39
    assert field_reader("events.email_open.count_30d")(later) == 2  # only TODAY's bucket is within 30 days of then
    assert field_reader("events.email_open.count_29d")(later) == 0
    assert field_reader("events.email_open.count_7d")(later) == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("", EMPTY_FIELD, id="empty"),
        pytest.param("   ", EMPTY_FIELD, id="blank"),
        pytest.param("events.email_open", None, id="events.<type> alone"),
        pytest.param("events.email_open.total", None, id="events.<type>.total"),
        pytest.param("events.email_open.count_0d", None, id="count_0d"),
        pytest.param("events.email_open.count_10000d", None, id="count_10000d"),
        pytest.param("events.email_open.count_30", None, id="count_30 without d"),
        pytest.param("events.email open.count", None, id="space in the type"),
        pytest.param("events..count", None, id="no type"),
        pytest.param("attributes.", None, id="attributes. without a column"),
    ],
)
def test_invalid_names(name: str, message: str | None) -> None:
    with pytest.raises(ValueError) as error:
        field_reader(name)
    if message is not None:
        assert str(error.value) == message
    else:
        assert str(error.value).startswith(f"Unknown field {name!r}: use a lead field, attributes.<column>"), error


@pytest.mark.parametrize("name", ["events.email_open.count_9999d", "events.a1_b2.count_1d"], ids=str)
def test_event_window_limits_are_valid(name: str) -> None:
    assert field_reader(name)(QUIET) == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("attributes.budget", True, id="attributes.budget"),
        pytest.param("budget", True, id="bare column"),
        pytest.param("Company Size", True, id="bare column with a space"),
        pytest.param("role", False, id="role"),
        pytest.param("Title", False, id="Title"),
        pytest.param("industry", False, id="industry"),
        pytest.param("email", False, id="email"),
        pytest.param("tags", False, id="tags"),
        pytest.param("created_at", False, id="created_at"),
        pytest.param("days_since_creation", False, id="days_since_creation"),
        pytest.param("website_visits", False, id="website_visits"),
        pytest.param("events.page_view.count_7d", False, id="events"),
        pytest.param("", False, id="empty"),
    ],
)
def test_reads_attributes(name: str, expected: bool) -> None:
    assert reads_attributes(name) is expected

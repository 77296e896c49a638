"""Data completeness: all six fields present; blanks and placeholders are missing (DESIGN "Scoring")."""

from __future__ import annotations

import dataclasses

import pytest

from leads.scoring.normalize import is_placeholder
from leads.scoring.rules import COMPLETENESS_FIELDS, HIT_COMPLETE_PROFILE, completeness_rule, is_complete
from leads.scoring.types import LeadData, OfferData

FULL = LeadData(
    name="Maya Chen",
    role="VP Sales",
    company="Acme Cloud",
    industry="B2B SaaS",
    location="Austin, TX",
    linkedin_bio="Scaling outbound at a Series B SaaS.",
)
OFFER = OfferData(name="Any offer")

PLACEHOLDERS = [
    "", " ", "\t\n", "N/A", "n/a", "NA", "na", "n.a.", "N.A", "-", "--", "—", "–", "?", "???", "...",
    "none", "None", "NONE", "null", "NULL", "nil", "unknown", "Unknown", "UNKNOWN", "tbd", "TBD",
    "  n/a  ", "(none)", "[unknown]", '"N/A"', "nan", "#N/A", "not available", "not applicable",
]
PRESENT = [
    "Unknown Pleasures", "None Such Records", "NA Logistics", "Nil Desperandum Ltd", "TBD Studios",
    "X", "Q", "3M", "Ō", "王伟", "-Acme-", "N/A Consulting", "?Why Not", "Null Island Tours",
]


@pytest.mark.parametrize("value", [pytest.param(v, id=repr(v)) for v in PLACEHOLDERS])
def test_placeholders_are_missing(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", [pytest.param(v, id=repr(v)) for v in PRESENT])
def test_real_values_are_present(value: str) -> None:
    assert not is_placeholder(value)


def test_none_is_missing() -> None:
    assert is_placeholder(None)


def test_full_profile_is_complete() -> None:
    assert is_complete(FULL)
    assert completeness_rule(FULL, OFFER) == HIT_COMPLETE_PROFILE
    assert (HIT_COMPLETE_PROFILE.label, HIT_COMPLETE_PROFILE.points) == ("Complete profile", 10)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param(field, value, id=f"{field}={value!r}")
        for field in COMPLETENESS_FIELDS
        for value in ("", "   ", "N/A", "unknown", "—")
    ],
)
def test_any_missing_field_makes_it_incomplete(field: str, value: str) -> None:
    lead = dataclasses.replace(FULL, **{field: value})
    assert not is_complete(lead)
    assert completeness_rule(lead, OFFER) is None


def test_company_called_unknown_pleasures_is_complete() -> None:
    assert is_complete(dataclasses.replace(FULL, company="Unknown Pleasures"))


def test_the_six_fields() -> None:
    assert COMPLETENESS_FIELDS == ("name", "role", "company", "industry", "location", "linkedin_bio")

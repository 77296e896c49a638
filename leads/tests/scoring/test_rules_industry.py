"""Industry match against the offer's ICP: exact, adjacent, none (DESIGN "Scoring")."""

from __future__ import annotations

import pytest

from leads.scoring.rules import (
    HIT_ADJACENT_INDUSTRY,
    HIT_EXACT_ICP,
    IndustryFit,
    industry_fit,
    industry_forms,
    industry_rule,
    offer_profile,
)
from leads.scoring.taxonomy import INDUSTRY_ALIASES, SECTORS, canonical_industry, industry_core
from leads.scoring.types import LeadData, OfferData

SALES = OfferData(
    name="Outreach Pilot",
    ideal_use_cases=("B2B SaaS mid-market", "IT Services", "Lead generation agencies"),
    adjacent_industries=("Marketing", "Recruiting"),
)
SECURITY = OfferData(
    name="ComplyGuard",
    ideal_use_cases=("Fintech startups", "Healthcare", "Digital health"),
    adjacent_industries=("Insurance", "Banking"),
)
LOGISTICS = OfferData(
    name="PickBot",
    ideal_use_cases=("Third-party logistics (3PL)", "E-commerce fulfilment", "Warehousing and distribution"),
    adjacent_industries=("Retail", "Manufacturing"),
)
OFFERS = {"sales": SALES, "security": SECURITY, "logistics": LOGISTICS}

EXACT, ADJACENT, NONE = IndustryFit.EXACT, IndustryFit.ADJACENT, IndustryFit.NONE

PAIRS: list[tuple[str, str, IndustryFit]] = [
    # exact: same industry after normalising case, spacing, "&", abbreviations
    ("sales", "B2B SaaS", EXACT),
    ("sales", "b2b  saas", EXACT),
    ("sales", "B2B SaaS mid-market", EXACT),
    ("sales", "IT Services", EXACT),
    ("sales", "Information Technology & Services", EXACT),
    ("sales", "IT and services", EXACT),
    ("sales", "Lead Generation", EXACT),
    ("sales", "Lead Gen", EXACT),
    ("security", "FinTech", EXACT),
    ("security", "Fin Tech", EXACT),
    ("security", "Financial Technology", EXACT),
    ("security", "Fintech startups", EXACT),
    ("security", "Healthcare", EXACT),
    ("security", "Health care", EXACT),
    ("security", "Hospital & Health Care", EXACT),
    ("security", "HealthTech", EXACT),
    ("logistics", "3PL", EXACT),
    ("logistics", "Third Party Logistics", EXACT),
    ("logistics", "Warehousing", EXACT),
    ("logistics", "Warehousing & Distribution", EXACT),
    ("logistics", "Distribution", EXACT),
    ("logistics", "E-commerce Fulfillment", EXACT),
    # adjacent: broader/narrower form of the same term
    ("sales", "SaaS", ADJACENT),
    ("sales", "SaaS companies", ADJACENT),
    ("sales", "Enterprise SaaS", ADJACENT),
    ("sales", "B2B Software", ADJACENT),
    ("logistics", "E-commerce", ADJACENT),
    ("logistics", "ecommerce", ADJACENT),
    ("logistics", "Pharmaceutical Distribution", ADJACENT),
    ("security", "Commercial Insurance", ADJACENT),
    # adjacent: listed by the offer
    ("sales", "Marketing & Advertising", ADJACENT),
    ("sales", "Staffing & Recruiting", ADJACENT),
    ("security", "Banking", ADJACENT),
    ("security", "Insurance", ADJACENT),
    ("logistics", "Retail", ADJACENT),
    ("logistics", "Manufacturing", ADJACENT),
    # adjacent: same sector of the built-in taxonomy
    ("sales", "Software", ADJACENT),
    ("sales", "Artificial Intelligence", ADJACENT),
    ("sales", "Logistics Software", ADJACENT),
    ("security", "Financial Services", ADJACENT),
    ("security", "Wealth Management", ADJACENT),
    ("security", "Payments", ADJACENT),
    ("security", "Dental", ADJACENT),
    ("security", "Medical Devices", ADJACENT),
    ("logistics", "Logistics", ADJACENT),
    ("logistics", "Logistics & Supply Chain", ADJACENT),
    ("logistics", "Freight", ADJACENT),
    ("logistics", "Online Grocery", ADJACENT),
    ("logistics", "Fashion E-commerce", ADJACENT),
    # none
    ("sales", "Accounting", NONE),
    ("sales", "Fintech", NONE),
    ("sales", "Music", NONE),
    ("sales", "Services", NONE),
    ("security", "Cybersecurity", NONE),
    ("security", "E-commerce", NONE),
    ("security", "Logistics", NONE),
    ("logistics", "Construction", NONE),
    ("logistics", "Food & Beverage", NONE),
    ("logistics", "Music", NONE),
    # empty and placeholders
    ("sales", "", NONE),
    ("sales", "   ", NONE),
    ("sales", "N/A", NONE),
    ("security", "unknown", NONE),
    ("logistics", "-", NONE),
]


@pytest.mark.parametrize(
    ("offer", "industry", "expected"),
    [pytest.param(o, i, e, id=f"{o}:{i!r}") for o, i, e in PAIRS],
)
def test_industry_fit(offer: str, industry: str, expected: IndustryFit) -> None:
    assert industry_fit(industry, OFFERS[offer]) is expected


def test_table_is_large_enough() -> None:
    assert len(PAIRS) >= 40


@pytest.mark.parametrize(
    ("industry", "hit"),
    [
        pytest.param("B2B SaaS", HIT_EXACT_ICP, id="exact"),
        pytest.param("SaaS", HIT_ADJACENT_INDUSTRY, id="adjacent"),
        pytest.param("Music", None, id="none"),
    ],
)
def test_industry_rule_labels_and_points(industry: str, hit: object) -> None:
    assert industry_rule(LeadData(industry=industry), SALES) == hit


def test_hit_labels_are_the_design_labels() -> None:
    assert (HIT_EXACT_ICP.label, HIT_EXACT_ICP.points) == ("Exact ICP match", 20)
    assert (HIT_ADJACENT_INDUSTRY.label, HIT_ADJACENT_INDUSTRY.points) == ("Adjacent industry", 10)


def test_offer_without_icp_matches_nothing() -> None:
    assert industry_fit("B2B SaaS", OfferData(name="No ICP")) is IndustryFit.NONE


def test_equal_offers_share_a_profile_and_give_equal_answers() -> None:
    """The per-offer cache is keyed by value too, not only by the object scored last."""
    twin = OfferData(name=SALES.name, ideal_use_cases=SALES.ideal_use_cases,
                     adjacent_industries=SALES.adjacent_industries)
    assert industry_fit("SaaS", twin) is industry_fit("SaaS", SALES) is IndustryFit.ADJACENT
    assert industry_fit("B2B SaaS", SECURITY) is IndustryFit.NONE


@pytest.mark.parametrize(
    ("industry", "forms"),
    [
        pytest.param("Fintech / Payments", ("fintech", "payments"), id="alternatives"),
        pytest.param("SaaS companies", ("saas companies", "saas"), id="segment suffix"),
        pytest.param("Third-party logistics (3PL)", ("3pl",), id="parenthetical alias"),
        pytest.param("N/A", (), id="placeholder"),
    ],
)
def test_industry_forms(industry: str, forms: tuple[str, ...]) -> None:
    assert industry_forms(industry) == forms


@pytest.mark.parametrize(
    ("entry", "core"),
    [
        pytest.param("b2b saas mid market", "b2b saas", id="trailing segment"),
        pytest.param("enterprise software", "software", id="leading segment"),
        pytest.param("fintech startups in europe", "fintech", id="geography"),
        pytest.param("enterprise", "enterprise", id="never empty"),
    ],
)
def test_industry_core(entry: str, core: str) -> None:
    assert industry_core(entry) == core


def test_aliases_are_idempotent() -> None:
    """Canonical forms survive a second pass ("financial services" must not grow a suffix)."""
    canonical = set(INDUSTRY_ALIASES.values()) | {term for terms in SECTORS.values() for term in terms}
    assert {term: canonical_industry(term) for term in canonical if canonical_industry(term) != term} == {}


# --- word forms are one term -------------------------------------------------------------------

WORD_FORMS: list[tuple[str, str, IndustryFit]] = [
    # (the offer's ICP entry, the lead's industry, expected): stems make inflections one term
    ("Pharmaceutical distributors", "Pharmaceutical Distribution", EXACT),
    ("Pharmaceutical distribution", "Pharmaceutical Distributors", EXACT),
    ("Distributors", "Distribution", EXACT),
    ("Food distributors", "Food Distribution", EXACT),
    ("Logistics", "Logistic", EXACT),
    ("Logistic providers", "Logistics", EXACT),
    ("Insurance", "Insurer", EXACT),
    ("Insurers", "Insurance", EXACT),
    ("Manufacturers", "Manufacturing", EXACT),
    ("Retailers", "Retail", EXACT),
    ("Hospitals", "Hospital", EXACT),
    ("Restaurant groups", "Restaurant Group", EXACT),
    ("Contract caterers", "Contract Catering", EXACT),
    # a form of a broader or narrower term stays adjacent
    ("Pharmaceutical distributors", "Distribution", ADJACENT),
    ("Insurers", "Commercial Insurance", ADJACENT),
    # shared stems of different words don't make a match
    ("Insurance", "Insurtech", ADJACENT),  # same finance sector, not the same term
    ("Distributors", "Disturbance Monitoring", NONE),
    ("Logistics", "Logic Design", NONE),
]


@pytest.mark.parametrize(
    ("icp", "industry", "expected"),
    [pytest.param(icp, industry, expected, id=f"{icp!r} vs {industry!r}") for icp, industry, expected in WORD_FORMS],
)
def test_word_forms_are_one_term(icp: str, industry: str, expected: IndustryFit) -> None:
    assert industry_fit(industry, OfferData(name="Offer", ideal_use_cases=(icp,))) is expected


@pytest.mark.parametrize(
    ("offer", "industry", "reason"),
    [
        pytest.param(SALES, "B2B SaaS", "a target industry (B2B SaaS mid-market)", id="exact"),
        pytest.param(SALES, "Marketing & Advertising", "listed as related (Marketing)", id="listed"),
        pytest.param(SALES, "SaaS", "a broader or narrower form of B2B SaaS mid-market", id="broader"),
        pytest.param(SALES, "Software", "same software sector as B2B SaaS mid-market", id="sector"),
        pytest.param(SALES, "Music", "", id="none"),
    ],
)
def test_fit_reason_says_why(offer: OfferData, industry: str, reason: str) -> None:
    """The reasoning can say why an industry counts as related, not just that it does."""
    assert offer_profile(offer).fit_reason(industry) == reason

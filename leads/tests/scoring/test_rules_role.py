"""Role relevance: titles read as a person reads them (DESIGN "Scoring", rules.py docstring)."""

from __future__ import annotations

import pytest

from leads.scoring.rules import (
    HIT_DECISION_MAKER,
    HIT_INFLUENCER,
    Authority,
    classify_title,
    role_rule,
)
from leads.scoring.types import LeadData, OfferData

DM = Authority.DECISION_MAKER
INF = Authority.INFLUENCER
NONE = Authority.NONE

TITLES: list[tuple[str, Authority]] = [
    # C-suite, spelled every way
    ("CEO", DM),
    ("ceo", DM),
    ("C.E.O.", DM),
    ("Chief Executive Officer", DM),
    ("Chief Executive", DM),
    ("CTO", DM),
    ("CFO", DM),
    ("COO", DM),
    ("CMO", DM),
    ("CRO", DM),
    ("CIO", DM),
    ("CISO", DM),
    ("Chief Revenue Officer", DM),
    ("Chief Marketing & Growth Officer", DM),
    ("Chief Information Security Officer", DM),
    ("Deputy CEO", DM),
    ("Interim CTO", DM),
    # founders, owners, presidents, partners
    ("Founder", DM),
    ("Co-Founder", DM),
    ("Cofounder & COO", DM),
    ("CEO & Founder", DM),
    ("Founder / CTO", DM),
    ("Owner", DM),
    ("Business Owner", DM),
    ("Co-owner", DM),
    ("Owner/Operator", DM),
    ("President", DM),
    ("President & COO", DM),
    ("Partner", DM),
    ("Managing Partner", DM),
    ("Senior Partner", DM),
    ("Partner & CFO", DM),
    ("Chair of the Board", DM),
    # VPs, heads, directors, GMs
    ("VP Sales", DM),
    ("V.P. Sales", DM),
    ("VP of Sales", DM),
    ("Vice President, Business Development", DM),
    ("Vice-President Marketing", DM),
    ("SVP, Marketing", DM),
    ("EVP Operations", DM),
    ("Senior Vice President", DM),
    ("Head of Sales", DM),
    ("Hd of Growth", DM),
    ("Head - Sales", DM),
    ("Head of Sales at Acme Partners", DM),
    ("Director", DM),
    ("Sr. Director", DM),
    ("Dir. of Engineering", DM),
    ("Director of Student Affairs", DM),
    ("Sales Director", DM),
    ("Managing Director", DM),
    ("MD", DM),
    ("MD, Investment Banking", DM),
    ("Physician, MD", NONE),
    ("Family Physician | M.D.", NONE),
    ("Chief Medical Officer, MD", DM),
    ("Research Scientist, PhD", NONE),
    ("Senior Engineer, PhD", INF),
    ("General Manager", DM),
    ("GM, EMEA", DM),
    # other languages, accents
    ("Directeur Général", DM),
    ("Geschäftsführer", DM),
    ("Gründer & CEO", DM),
    ("Fundadora y CEO", DM),
    # influencers
    ("Manager", INF),
    ("Sales Mgr", INF),
    ("Senior Manager, Distribution", INF),
    ("Partner Manager", INF),
    ("Partnerships Manager", INF),
    ("Partner Marketing Lead", INF),
    ("Lead Developer", INF),
    ("Team Lead", INF),
    ("Team Lead, SDR", INF),
    ("Tech Lead", INF),
    ("Team Leader", INF),
    ("Principal Engineer", INF),
    ("Principal Consultant", INF),
    ("Senior Software Engineer", INF),
    ("Sr. Account Executive", INF),
    ("Solutions Architect", INF),
    ("Security Architect", INF),
    ("Assistant Manager", INF),
    ("Associate Director", INF),
    ("Assistant Vice President", INF),
    ("AVP", INF),
    ("Associate Partner", INF),
    ("Chief of Staff to the CEO", INF),
    ("Chief Architect", INF),
    ("Office Manager", INF),
    ("Supervisor", INF),
    # mentions, support roles, look-alikes: no authority
    ("Executive Assistant to the CEO", NONE),
    ("Senior Executive Assistant to the CEO", NONE),
    ("Assistant to the Head of Sales", NONE),
    ("EA to CEO", NONE),
    ("CEO Assistant", NONE),
    ("CEO's Office", NONE),
    ("Founder's Associate", NONE),
    ("Intern, Office of the CTO", NONE),
    ("Marketing Intern", NONE),
    ("Student", NONE),
    ("MBA Student", NONE),
    ("Student at MIT", NONE),
    ("Headhunter", NONE),
    ("Directory Editor", NONE),
    ("Lead Generation Specialist", NONE),
    ("Lead Gen Specialist", NONE),
    ("Lead Development Representative", NONE),
    ("Product Owner", NONE),
    ("Process Owner", NONE),
    ("HR Business Partner", NONE),
    ("Channel Partner", NONE),
    ("Analyst at Sequoia Partners", NONE),
    ("Account Executive", NONE),
    ("Software Engineer", NONE),
    ("Receptionist", NONE),
    ("Board Member", NONE),
    ("Data Protection Officer", NONE),
    ("President's Club Winner, Account Executive", NONE),
    # past or not-yet authority (decision: not current buyers)
    ("Former CEO", NONE),
    ("Ex-CEO", NONE),
    ("Retired founder", NONE),
    ("Retired Warehouse Director", NONE),
    ("Aspiring Product Manager", NONE),
    ("Open to work | Former VP Sales", NONE),
    ("VP Sales | Open to Work", NONE),
    ("Seeking new opportunities - ex Head of Ops", NONE),
    # a current role next to a past one still counts
    ("Founder at Acme, ex-Google", DM),
    ("Former CEO, now Managing Partner", DM),
    # blanks and placeholders
    ("", NONE),
    ("   ", NONE),
    ("N/A", NONE),
    ("-", NONE),
]


@pytest.mark.parametrize(("title", "expected"), [pytest.param(t, e, id=repr(t)) for t, e in TITLES])
def test_classify_title(title: str, expected: Authority) -> None:
    assert classify_title(title) is expected


def test_table_is_large_enough() -> None:
    assert len(TITLES) >= 60


OFFER = OfferData(name="Any offer")


@pytest.mark.parametrize(
    ("title", "hit"),
    [
        pytest.param("VP Sales", HIT_DECISION_MAKER, id="decision maker"),
        pytest.param("Team Lead", HIT_INFLUENCER, id="influencer"),
        pytest.param("Headhunter", None, id="none"),
    ],
)
def test_role_rule_labels_and_points(title: str, hit: object) -> None:
    assert role_rule(LeadData(role=title), OFFER) == hit


def test_rule_hit_labels_are_the_design_labels() -> None:
    assert (HIT_DECISION_MAKER.label, HIT_DECISION_MAKER.points) == ("Decision maker role", 20)
    assert (HIT_INFLUENCER.label, HIT_INFLUENCER.points) == ("Influencer role", 10)

"""Plain value types the scoring layer works on.

The scoring package never touches the ORM, settings or the network: services turn model rows
into these frozen dataclasses, so rules and providers are tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Intent = Literal["High", "Medium", "Low"]
INTENTS: tuple[Intent, ...] = ("High", "Medium", "Low")


@dataclass(frozen=True, slots=True)
class LeadData:
    name: str = ""
    role: str = ""
    company: str = ""
    industry: str = ""
    location: str = ""
    linkedin_bio: str = ""


@dataclass(frozen=True, slots=True)
class OfferData:
    name: str
    value_props: tuple[str, ...] = ()
    ideal_use_cases: tuple[str, ...] = ()
    adjacent_industries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule that fired: its exact label (DESIGN) and the points it gave."""

    label: str
    points: int


@dataclass(frozen=True, slots=True)
class Usage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.requests + other.requests,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class IntentResult:
    """An AI-layer verdict for one lead against one offer."""

    intent: Intent
    reasoning: str
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)

"""The AI layer's one interface.

A provider classifies a batch of leads against one offer. Batches let the openai provider run
requests concurrently and let the local provider amortise its setup; a per-lead failure comes back
as an `IntentProviderError` in that lead's slot, so one bad lead never sinks the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from leads.exceptions import IntentProviderError
from leads.scoring.types import IntentResult, LeadData, OfferData

# Points the AI layer adds for each verdict (DESIGN: High 50, Medium 30, Low 10).
AI_POINTS = {"High": 50, "Medium": 30, "Low": 10}


class IntentProvider(Protocol):
    name: str
    model: str
    #: Bumped whenever the prompt or the classifier's logic changes, so cached verdicts expire.
    version: str

    def classify_many(
        self, leads: Sequence[LeadData], offer: OfferData
    ) -> list[IntentResult | IntentProviderError]:
        """One result per lead, in order."""
        ...

"""The AI layer as the services see it: the provider chosen by settings, and the verdict cache.

The cache keys on everything that decides a verdict — the lead's six fields, the offer's fields,
provider, model and the provider's prompt version — so an unchanged pair is never paid for twice
and any change (a new prompt, a new model, an edited bio) asks again. The key also holds the
workspace: a verdict is never reused across tenants, so no workspace can learn from a free answer
(no tokens spent) that another one has scored the same lead for the same offer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache

from django.conf import settings

from leads.exceptions import IntentProviderError
from leads.metrics import AI_CACHE_HITS
from leads.models import IntentCacheEntry, ScoringModel
from leads.scoring.intent.base import IntentProvider
from leads.scoring.types import IntentResult, LeadData, OfferData


@lru_cache(maxsize=4)
def _provider(name: str, api_key: str, base_url: str | None, model: str, concurrency: int, timeout: float,
              max_retries: int) -> IntentProvider:
    if name == "openai":
        from leads.scoring.intent.llm import OpenAIIntentProvider

        return OpenAIIntentProvider(api_key=api_key, base_url=base_url, model=model, concurrency=concurrency,
                                    timeout=timeout, max_retries=max_retries)
    from leads.scoring.intent.local import LocalIntentProvider

    return LocalIntentProvider()


def intent_provider_from_settings() -> IntentProvider:
    return _provider(settings.INTENT_PROVIDER, settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL,
                     settings.OPENAI_MODEL, settings.OPENAI_CONCURRENCY, settings.OPENAI_TIMEOUT,
                     settings.OPENAI_MAX_RETRIES)


def scoring_method(provider: IntentProvider, model: ScoringModel | None = None) -> str:
    """How a run scores, in words: the first stage's phrase for the default model."""
    if model is not None and not model.ai_enabled:
        return f"rules only: scoring model {model.name!r} v{model.version} (no AI layer)"
    method = f"hybrid: rules + {provider.name} AI ({provider.model})"
    if model is not None and not model.is_default:
        method += f"; scoring model {model.name!r} v{model.version}"
    return method


def verdict_cache_key(workspace_id: int, lead: LeadData, offer: OfferData, provider: IntentProvider) -> str:
    payload = json.dumps(
        [workspace_id, provider.name, provider.model, provider.version,
         [lead.name, lead.role, lead.company, lead.industry, lead.location, lead.linkedin_bio],
         [offer.name, list(offer.value_props), list(offer.ideal_use_cases), list(offer.adjacent_industries)]],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _is_cacheable(provider: IntentProvider) -> bool:
    # The local provider is cheaper to run than a cache lookup; only paid providers are cached.
    return provider.name != "local"


def classify_with_cache(
    provider: IntentProvider, leads: Sequence[LeadData], offer: OfferData, *, workspace_id: int
) -> list[IntentResult | IntentProviderError]:
    if not _is_cacheable(provider):
        return provider.classify_many(leads, offer)
    keys = [verdict_cache_key(workspace_id, lead, offer, provider) for lead in leads]
    cached = {e.key: e for e in IntentCacheEntry.objects.filter(key__in=set(keys))}
    results: list[IntentResult | IntentProviderError | None] = [None] * len(leads)
    misses: list[int] = []
    for i, key in enumerate(keys):
        entry = cached.get(key)
        if entry is None:
            misses.append(i)
        else:
            results[i] = IntentResult(entry.intent, entry.reasoning, entry.provider, entry.model)  # type: ignore[arg-type]
    if len(misses) < len(leads):
        AI_CACHE_HITS.labels(provider=provider.name).inc(len(leads) - len(misses))
    if misses:
        fresh = provider.classify_many([leads[i] for i in misses], offer)
        new_entries = []
        for i, result in zip(misses, fresh, strict=True):
            results[i] = result
            if isinstance(result, IntentResult):
                new_entries.append(IntentCacheEntry(key=keys[i], intent=result.intent, reasoning=result.reasoning,
                                                    provider=result.provider, model=result.model))
        IntentCacheEntry.objects.bulk_create(new_entries, ignore_conflicts=True)
    return results  # type: ignore[return-value]


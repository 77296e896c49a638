"""The one writer of scores: the new current score, history, the stage, and the outbox, together.

    scores_write(target, drafts, cause=None)      # inside the caller's transaction

For every lead it reads the current score (under the caller's transaction), makes it history and
writes the new one with `previous_score`, `score_change`, its `cause` and the lead's stage, then
records in `ScoreTransition` (the outbox) every write that changed the score, the intent or the
stage. The automations consume the outbox; nothing here knows about them.

Cause: the one given (an explicit rescore, a manual calculation), else `upload` for a lead's first
score, else why the current score went stale, else `rescore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.models import QualificationStage, Score, ScoreCause, ScoreTransition
from leads.queue import DISPATCH, enqueue_after_commit
from leads.score_tally import score_tally_add
from leads.scoring.engine import ScoreResult
from leads.scoring.facts import LeadFacts
from leads.scoring.stages import DISQUALIFIED, CompiledStage, stage_for
from leads.services.bulk_insert import rows_insert

UNKNOWN_STAGE = "Unknown stage {stage!r}: use one of {stages}, or null to let the criteria decide again."
NO_SCORE_YET = "This lead has no score for this offer yet: score it first."


@dataclass(frozen=True, slots=True)
class ScoreTarget:
    """Where a batch of scores goes and what made them."""

    workspace_id: int
    offer_id: int
    scoring_model_id: int | None
    model_version: int | None
    stages: tuple[CompiledStage, ...]
    job_id: int | None = None
    #: Set when the model changed while these were computed: they are stored stale at once.
    stale_cause: str = ""
    #: Whether anything reads the outbox (an active workflow in the workspace). Without a reader
    #: transitions are not written: a million first scores would be written and dropped for nothing.
    record_transitions: bool = True


@dataclass(frozen=True, slots=True)
class ScoreDraft:
    lead_id: int
    facts: LeadFacts
    result: ScoreResult
    provider: str
    ai_model: str


@dataclass(frozen=True, slots=True)
class _Current:
    score: int
    intent: str
    stage: str
    stale_cause: str
    stage_set_by_id: int | None
    stage_set_at: datetime | None


_SCORE_COLUMNS = ("workspace_id", "lead_id", "offer_id", "job_id", "is_current", "rule_score", "ai_score", "score",
                  "intent", "ai_intent", "reasoning", "score_breakdown", "provider", "model", "scoring_model_id",
                  "model_version", "conversion_probability", "stage", "stage_set_by_id", "stage_set_at",
                  "previous_score", "score_change", "cause", "stale_cause", "created_at")
_STAGE, _INTENT, _SCORE = (_SCORE_COLUMNS.index(name) for name in ("stage", "intent", "score"))
_TRANSITION_COLUMNS = ("workspace_id", "lead_id", "offer_id", "previous_score", "score", "previous_intent", "intent",
                       "previous_stage", "stage", "cause", "created_at")


_CURRENT_COLUMNS = ("lead_id", "score", "intent", "stage", "stale_cause", "stage_set_by_id", "stage_set_at")


def _current_scores(offer_id: int, lead_ids: list[int]) -> dict[int, _Current]:
    """The current scores of these leads, read with one statement. Raw SQL: for a chunk's 2,000 ids
    the ORM spent longer preparing the IN list than the database spent answering it."""
    quote = connection.ops.quote_name
    sql = (f"SELECT {', '.join(quote(c) for c in _CURRENT_COLUMNS)} FROM {quote(Score._meta.db_table)} "
           f"WHERE {quote('offer_id')} = %s AND {quote('is_current')} AND {quote('lead_id')} IN "
           f"({', '.join(['%s'] * len(lead_ids))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [offer_id, *lead_ids])
        rows = cursor.fetchall()
    set_at = Score._meta.get_field("stage_set_at").get_col(Score._meta.db_table)
    converters = connection.ops.get_db_converters(set_at)  # SQLite hands datetimes back as text
    current = {}
    for lead_id, score, intent, stage, stale_cause, set_by, stamp in rows:
        if stamp is not None:
            for convert in converters:
                stamp = convert(stamp, set_at, connection)
        current[lead_id] = _Current(score, intent, stage, stale_cause, set_by, stamp)
    return current


def _breakdown_json(breakdown: dict[str, Any]) -> str:
    # orjson, not json.dumps: breakdowns hold only JSON types, and this runs for every score
    # written; the standard encoder took 23 µs of a lead's ~100 (a learned part's factors alone 14).
    return orjson.dumps(breakdown).decode()


def scores_write(target: ScoreTarget, drafts: Sequence[ScoreDraft], *, cause: str | None = None) -> int:
    """Write `drafts` as the current scores of their leads for the target's offer. Must run inside a
    transaction (the caller's, which also holds its own bookkeeping). Returns the transitions written."""
    assert transaction.get_connection().in_atomic_block, "scores_write needs the caller's transaction"
    if not drafts:
        return 0
    lead_ids = [draft.lead_id for draft in drafts]
    current = _current_scores(target.offer_id, lead_ids)
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    scores: list[tuple[Any, ...]] = []
    transitions: list[tuple[Any, ...]] = []
    for draft in drafts:
        result = draft.result
        before = current.get(draft.lead_id)
        if before is not None and before.stage_set_at is not None:
            stage, set_by, set_at = before.stage, before.stage_set_by_id, before.stage_set_at
        else:
            stage = stage_for(target.stages, score=result.score, facts=draft.facts,
                              previous=before.stage if before else "", knocked_out=result.knockout is not None)
            set_by, set_at = None, None
        why = cause or (ScoreCause.UPLOAD if before is None else (before.stale_cause or ScoreCause.RESCORE))
        scores.append((
            target.workspace_id, draft.lead_id, target.offer_id, target.job_id, True, result.rule_score,
            result.ai_score, result.score, result.intent, result.ai_intent, result.reasoning,
            _breakdown_json(result.breakdown), draft.provider, draft.ai_model,
            target.scoring_model_id, target.model_version, result.conversion_probability, stage, set_by,
            connection.ops.adapt_datetimefield_value(set_at) if set_at else None,
            before.score if before else None, result.score - before.score if before else None,
            str(why), target.stale_cause, stamp,
        ))
        if before is None or (before.score, before.intent, before.stage) != (result.score, result.intent, stage):
            transitions.append((
                target.workspace_id, draft.lead_id, target.offer_id, before.score if before else None, result.score,
                before.intent if before else "", result.intent, before.stage if before else "", stage, str(why),
                stamp,
            ))
    if current:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {quote(Score._meta.db_table)} SET {quote('is_current')} = %s "
                           f"WHERE {quote('offer_id')} = %s AND {quote('is_current')} AND {quote('lead_id')} IN "
                           f"({', '.join(['%s'] * len(current))})", [False, target.offer_id, *current])
    rows_insert(Score._meta.db_table, _SCORE_COLUMNS, scores)
    score_tally_add(connection, ((target.offer_id, row[_STAGE], row[_INTENT], row[_SCORE]) for row in scores))
    if transitions and target.record_transitions:
        rows_insert(ScoreTransition._meta.db_table, _TRANSITION_COLUMNS, transitions)
        enqueue_after_commit(DISPATCH)  # the outbox's consumer; sent after the commit (inline in eager mode)
    return len(transitions)


@transaction.atomic
def score_stage_set(*, score: Score, stage: str | None, user: AbstractBaseUser | None,
                    cause: str = ScoreCause.MANUAL) -> Score:
    """A person sets the lead's stage for this offer (or, with None, hands it back to the criteria).

    Written like any score change: the current row becomes history and a copy with the new stage,
    who and when, and cause `manual` becomes current, with its transition in the outbox.
    """
    score = Score.objects.select_for_update().get(pk=score.pk)
    if not score.is_current:
        raise LeadsError(NO_SCORE_YET, code="no_score", status_code=404)
    keys = set(QualificationStage.objects.filter(workspace_id=score.workspace_id).values_list("stage", flat=True))
    keys.add(DISQUALIFIED)
    if stage is not None and stage not in keys:
        raise LeadsError(UNKNOWN_STAGE.format(stage=stage, stages=", ".join(sorted(keys))), code="unknown_stage",
                         details={"stage": [f"Unknown stage {stage!r}."]})
    previous_stage = score.stage
    Score.objects.filter(pk=score.pk).update(is_current=False)
    score.pk = None
    score.previous_score, score.score_change, score.cause = score.score, 0, ScoreCause.MANUAL
    if stage is None:
        # Back to the criteria: the next run decides afresh (the hand-set stage is not a stage the
        # lead reached, so forward-only must not keep it), and the score is stale until then.
        score.stage, score.stage_set_by, score.stage_set_at = "", None, None
        score.stale_cause = ScoreCause.MANUAL
    else:
        # A stage chosen by hand (or by a workflow) is pinned: stage_set_at marks it.
        score.stage, score.stage_set_by, score.stage_set_at = stage, user, timezone.now()
    score.save(force_insert=True)
    score_tally_add(connection, [(score.offer_id, score.stage, score.intent, score.score)])
    if score.stage != previous_stage:
        ScoreTransition.objects.create(
            workspace_id=score.workspace_id, lead_id=score.lead_id, offer_id=score.offer_id,
            previous_score=score.score, score=score.score, previous_intent=score.intent, intent=score.intent,
            previous_stage=previous_stage, stage=score.stage, cause=cause, created_at=score.created_at)
        enqueue_after_commit(DISPATCH)
    return score

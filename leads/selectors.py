"""Reads: every query the API makes, scoped to a workspace, with its joins and order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import OrderBy, RawSQL

from leads.exceptions import LeadsError
from leads.models import (
    Event,
    Job,
    Lead,
    Offer,
    Outcome,
    QualificationStage,
    Score,
    ScoringModel,
    ScoringRule,
    Task,
    Workflow,
    WorkflowExecution,
    Workspace,
)
from leads.models.engagement import lead_event_ids
from leads.score_tally import TABLE as SCORE_TALLY_TABLE
from leads.score_tally import score_tally_available
from leads.search_index import SEARCH_FIELDS, SQLITE_TABLE, TRIGRAM, fts_phrase

NO_OFFER = "This workspace has no offer yet: create one with POST /api/offer/ first."
UNKNOWN_OFFER = "Offer {id} does not exist."

RESULT_ORDERINGS = {
    "score": ("score", "lead_id"),
    "-score": ("-score", "lead_id"),
    "name": ("lead__name", "lead_id"),
    "-name": ("-lead__name", "-lead_id"),
    "created_at": ("lead__created_at", "lead_id"),
    "-created_at": ("-lead__created_at", "-lead_id"),
    "scored_at": ("created_at", "lead_id"),
    "-scored_at": ("-created_at", "-lead_id"),
}


def offer_list(*, workspace: Workspace) -> QuerySet[Offer]:
    return Offer.objects.filter(workspace=workspace)


def offer_for_request(*, workspace: Workspace, offer_id: int | None) -> Offer:
    """The offer a request names, or the workspace's latest; another workspace's offer doesn't exist."""
    offers = offer_list(workspace=workspace)
    if offer_id is not None:
        offer = offers.filter(pk=offer_id).first()
        if offer is None:
            raise LeadsError(UNKNOWN_OFFER.format(id=offer_id), code="unknown_offer", status_code=404,
                             details={"offer": offer_id})
        return offer
    offer = offers.order_by("-created_at", "-id").first()
    if offer is None:
        raise LeadsError(NO_OFFER, code="no_offer", status_code=400)
    return offer


def lead_list(*, workspace: Workspace, search_terms: Sequence[str] = ()) -> QuerySet[Lead]:
    """The workspace's leads, newest first; with `search_terms`, those that contain every term
    (`leads_search`: order them before searching, or the search can't pick its plan)."""
    leads = _lead_rows().filter(workspace=workspace).order_by("-created_at", "-id")
    return leads_search(leads, terms=search_terms)


def _lead_rows() -> QuerySet[Lead]:
    return Lead.objects.select_related("engagement", "owner", "outcome")


def leads_in_order(*, ids: list[int]) -> list[Lead]:
    """The leads of a page, with what the list shows of them, in the order of `ids`.

    Lists paginate ids first (as results do): the sort and OFFSET then handle ids alone, and only
    the page's rows are read whole — a search's page sorts its matches' ids, not their full rows.
    """
    by_id = _lead_rows().in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


# --- text search -----------------------------------------------------------------------------------
#
# What a search means is what it always meant: a lead matches a term when one of SEARCH_FIELDS
# contains it under the database's own case-insensitive `icontains` (SQLite's LIKE folds ASCII
# letters only; PostgreSQL's UPPER follows its locale), accents count ("jose" doesn't find "José").
# The index only finds those leads without reading every lead (leads.search_index).
#
# How a page is read depends on how many leads hold the term, so each search first asks (cheaply,
# counting the index's matches up to a bound; PostgreSQL asks its planner), then takes the cheapest
# of three plans (`search_plan_choice`; costs measured at a million leads on SQLite, see
# bench/results/search-1m.md):
# - DRIVE: start from the index's matches, read what the order needs of each and sort them. Scores
#   by score read only the `score_lead` index (lead, offer, is_current, score, intent, stage): about
#   1.2 µs a match, 30 ms for a term in 24,000 leads at any page depth. Anything that needs the row
#   (the lead list's order, a score's other columns) reads a wide row at a random place: 8-16 µs a
#   match. A non-ASCII term's matches are only candidates (the text test keeps LIKE's answer, maybe
#   none of them): walking for them could read the whole order, so they are sorted as long as they
#   are not too many.
# - SCAN: walk the page's order index (the page's LIMIT stops the walk; a keyset page seeks first)
#   and test each row by its text (`icontains`, about 1.4 µs a row). Near the start a page of a term
#   in 2% of the leads is met within ~2,500 rows; an OFFSET page walks as many rows as it skips.
# - PROBE: the same walk testing each row's id against the matches' ids, `id IN (SELECT rowid FROM
#   fts …)`, which SQLite collects once into a temporary index (about 0.5 µs a match) and probes
#   (about 0.3 µs a row).
# - a term under 3 characters has no trigram: always the walk testing the text.
# Counts go through the same filters (`id IN (matches)` with the workspace seeks the workspace
# index per match, about 1.5 µs each); the lead list's count of a search alone comes from the
# index itself (`lead_search_count`).

_FTS_MATCH_SQL = f"SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s"
_FTS_COUNT_SQL = f"SELECT count(*) FROM (SELECT 1 FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s LIMIT %s)"
#: PostgreSQL: a term its planner expects in at most this many leads starts from the pg_trgm matches.
SEARCH_INDEX_PAGE_MAX = 50_000
#: SQLite: the most matches a page sorts (DRIVE), and the most the plan choice counts: a term in more
#: leads (of every workspace) is walked, testing the text (SCAN).
SEARCH_DRIVE_MAX = 100_000
SEARCH_PROBE_MAX = 100_000
#: What each plan costs, in µs (see above): a match sorted from the covering index or from its row; a
#: row walked testing its text; a match collected, and a row walked probing the collected ids.
DRIVE_INDEX_US = 1.2
DRIVE_ROW_US = 10.0
SCAN_ROW_US = 1.4
PROBE_MATCH_US = 0.5
PROBE_ROW_US = 0.3
#: The rows a page shows, for the plan choice (the API's pages are 50 or fewer, mostly).
SEARCH_PAGE_ROWS = 50
_LEADS_SPAN_SQL = "SELECT coalesce((SELECT max(id) FROM leads_lead) - (SELECT min(id) FROM leads_lead) + 1, 0)"
DRIVE, PROBE, SCAN = "drive", "probe", "scan"


def search_plan_choice(*, matches: int, leads: int, skip: int, drive_us: float) -> str:
    """The cheapest plan for a page that skips `skip` rows (its OFFSET) of a term in `matches` of
    `leads` leads, when sorting a match costs `drive_us`: a pure estimate, assuming the matches are
    spread evenly through the order (the walk meets one every leads/matches rows)."""
    if matches <= 0:
        return DRIVE  # nothing to sort: the index answers at once
    walked = (skip + SEARCH_PAGE_ROWS) * max(leads, matches) / matches
    costs = {SCAN: SCAN_ROW_US * walked, PROBE: PROBE_MATCH_US * matches + PROBE_ROW_US * walked}
    if matches <= SEARCH_DRIVE_MAX:
        costs[DRIVE] = drive_us * matches
    return min(costs, key=lambda plan: costs[plan])


def _lead_matches(term: str, *, prefix: str = "") -> Q:
    """The plain scan: one `icontains` per searched field."""
    match = Q()
    for field in SEARCH_FIELDS:
        match |= Q(**{f"{prefix}{field}__icontains": term})
    return match


def _fts_answers(term: str) -> bool:
    return connection.vendor == "sqlite" and len(term) >= TRIGRAM


#: SQLite: the index's match counts a request has asked for, by term and database state (a page
#: asks up to three times: its plan, whether to bound its count, the count's own plan). Emptied at
#: each request's start (`index_matches_forget`), so every request pays for its own.
_index_matches_seen: dict[tuple[str, str, int, int], int] = {}
_INDEX_MATCHES_SEEN_MAX = 64


def index_matches_forget(**_: Any) -> None:
    _index_matches_seen.clear()


def _index_matches(term: str) -> int:
    """About how many leads (of every workspace) contain `term`, cheaply: SQLite counts the index's
    matches up to SEARCH_PROBE_MAX + 1 (the count stops there, so a term in every lead costs a
    bounded read: about 25 ms at a million); PostgreSQL asks its planner, whose estimate for a LIKE
    pattern comes from the column statistics (planning only, no rows read). A term of 3 characters
    or more."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # The same count while no connection has written since: data_version moves when another
            # connection commits, total_changes when this one writes.
            cursor.execute("PRAGMA data_version")
            key = (connection.alias, term, int(cursor.fetchone()[0]), connection.connection.total_changes)
            if key not in _index_matches_seen:
                cursor.execute(_FTS_COUNT_SQL, [fts_phrase(term), SEARCH_PROBE_MAX + 1])
                if len(_index_matches_seen) >= _INDEX_MATCHES_SEEN_MAX:
                    _index_matches_seen.clear()
                _index_matches_seen[key] = int(cursor.fetchone()[0])
            return _index_matches_seen[key]
        sql, params = Lead.objects.filter(_lead_matches(term)).values("pk").query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])


def _search_plan(term: str, *, skip: int = 0, drive_us: float = DRIVE_ROW_US) -> str:
    """How a page that skips `skip` rows (its OFFSET) finds the leads that contain `term`: DRIVE,
    PROBE or SCAN (see above). Only picks a plan: every plan answers the same rows.

    A term in more than SEARCH_PROBE_MAX leads (SQLite) is walked (SCAN); below that,
    `search_plan_choice` weighs the three. PostgreSQL starts from the pg_trgm matches when its
    planner expects at most SEARCH_INDEX_PAGE_MAX of them.
    """
    if len(term) < TRIGRAM or connection.vendor not in ("sqlite", "postgresql"):
        return SCAN
    matches = _index_matches(term)
    if connection.vendor == "postgresql":
        return DRIVE if matches <= SEARCH_INDEX_PAGE_MAX else SCAN
    if not term.isascii() and matches <= SEARCH_INDEX_PAGE_MAX:
        return DRIVE
    if matches > SEARCH_PROBE_MAX:
        return SCAN
    with connection.cursor() as cursor:
        # About N, from the table's two ends (one min() or max() per SELECT: each is then a single seek).
        cursor.execute(_LEADS_SPAN_SQL)
        leads = int(cursor.fetchone()[0])
    return search_plan_choice(matches=matches, leads=leads, skip=skip, drive_us=drive_us)


#: A list searched for a term in very many leads counts its rows only this far (the API's
#: `count_exact: false`; `count=exact` counts them all, the dashboard in a second request).
SEARCH_COUNT_BOUND = 1_000


def search_count_costly(terms: Sequence[str]) -> bool:
    """Whether counting every lead that contains all of `terms` costs more than a page: when each
    term is under 3 characters (no trigram: every lead's text is read) or in more than
    SEARCH_PROBE_MAX leads by the index (SQLite; PostgreSQL: the planner expects more than
    SEARCH_INDEX_PAGE_MAX). One term in fewer leads is enough: the count starts from its matches.
    At a million leads on SQLite such a count took 0.6-1.1 s."""
    if not terms or connection.vendor not in ("sqlite", "postgresql"):
        return False
    limit = SEARCH_PROBE_MAX if connection.vendor == "sqlite" else SEARCH_INDEX_PAGE_MAX
    return all(len(term) < TRIGRAM or _index_matches(term) > limit for term in terms)


def lead_search(term: str, *, through: str = "") -> Q:
    """Leads one of whose SEARCH_FIELDS contains `term` (`icontains`), as a filter.

    `through` is the path from the filtered model to its lead ("lead" for scores).
    - SQLite, a term of 3 characters or more: the lead ids the FTS5 trigram index gives for it. The
      index folds case with Unicode rules where LIKE folds ASCII only, so a term with a non-ASCII
      character also keeps the `icontains` test on those few rows, and the answer stays LIKE's.
      (Two characters fold to ASCII letters in FTS5 and not in LIKE, U+212A KELVIN SIGN and U+017F
      LONG S: a stored value holding one may match an ASCII term here where the scan said no.)
    - PostgreSQL: the `icontains` itself, which the pg_trgm index answers.
    - A term under 3 characters has no trigram: the plain scan.

    The FTS5 ids are every workspace's: the caller's own filter (the workspace, or the offer for
    scores) keeps another workspace's leads out.
    """
    prefix = f"{through}__" if through else ""
    if not _fts_answers(term):
        return _lead_matches(term, prefix=prefix)
    indexed = Q(**{f"{prefix}pk__in": RawSQL(_FTS_MATCH_SQL, [fts_phrase(term)])})
    return indexed if term.isascii() else indexed & _lead_matches(term, prefix=prefix)


_FTS_TOTAL_SQL = f"SELECT count(*) FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH %s"
#: The index's count stands for a workspace's while the other workspaces hold at most this many leads.
SEARCH_COUNT_OTHERS_MAX = 20_000


def lead_search_count(*, workspace: Workspace, terms: Sequence[str]) -> int | None:
    """How many of the workspace's leads contain every term (`lead_list(search_terms=terms)`), from
    the index's own count; None when that would not be exact or cheap: then count the list itself.

    SQLite's FTS5 counts a term's matches much faster than they can be probed one by one against
    the workspace (at a million leads, a term in 190,000 of them: 86 ms against 0.3 s; in every
    lead: 0.6 s against the text scan's 1.4 s), but over every workspace. The other workspaces'
    matches are taken away again, tested by their text: cheap only while they hold few leads.
    Exact for ASCII terms of 3 characters or more (FTS5 folds non-ASCII letters, LIKE doesn't).
    """
    if connection.vendor != "sqlite" or not terms or any(len(t) < TRIGRAM or not t.isascii() for t in terms):
        return None
    # Two ranges, not `!=`: each is a seek into the workspace index.
    others = Lead.objects.filter(Q(workspace_id__lt=workspace.pk) | Q(workspace_id__gt=workspace.pk)).order_by()
    if others[:SEARCH_COUNT_OTHERS_MAX + 1].count() > SEARCH_COUNT_OTHERS_MAX:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_FTS_TOTAL_SQL, [" AND ".join(fts_phrase(term) for term in terms)])
        everywhere = int(cursor.fetchone()[0])
    match = Q()
    for term in terms:
        match &= _lead_matches(term)
    return everywhere - others.filter(match).count()


def _lead_id_among(model: type[models.Model], field: str, leads: QuerySet[Lead]) -> Q:
    """`model.field` (a lead id) is one of `leads`, for PostgreSQL: `= ANY(ARRAY(subquery))` runs
    the subquery once, first, and probes an index per id. With `IN (subquery)` and the few matches
    the pg_trgm index finds, the planner still preferred walking (or sorting) every score of the
    offer: 240-670 ms for a page at 100k leads where this takes a few."""
    sql, params = leads.order_by().values("pk").query.sql_with_params()
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"
    return Q(RawSQL(f"{column} = ANY(ARRAY({sql}))", params, output_field=models.BooleanField()))


def _search_filter(terms: Sequence[str], *, model: type[models.Model], field: str,
                   through: str = "", skip: int = 0, drive_us: float = DRIVE_ROW_US) -> tuple[Q, bool]:
    """Rows of `model` whose lead (`field`, reached as `through`) contains every term, and whether
    the filter starts from the index's matches (the first term in few leads: DRIVE; the other terms
    are then tested on its matches only). Otherwise the caller's order is walked, and each term is
    tested by its ids in the index (PROBE) or by its text (SCAN)."""
    prefix = f"{through}__" if through else ""
    plans = {term: _search_plan(term, skip=skip, drive_us=drive_us) for term in terms}
    driver = next((term for term in terms if plans[term] == DRIVE), None)
    match = Q()
    for term in terms:
        if term == driver and connection.vendor == "postgresql":
            match &= _lead_id_among(model, field, Lead.objects.filter(lead_search(term)))
        elif term == driver or (driver is None and plans[term] == PROBE):
            match &= lead_search(term, through=through)
        else:
            match &= _lead_matches(term, prefix=prefix)
    return match, driver is not None


def _by_score_not_walked(ordering: Sequence[str]) -> list[str | OrderBy]:
    """The same order with the score written `score + 0`, which no index holds: the database then
    probes the matches' scores and sorts them, instead of walking the score index best first and
    testing every score against the matches."""
    out: list[str | OrderBy] = []
    for item in ordering:
        if item.removeprefix("-") == "score":
            out.append((F("score") + 0).desc() if item.startswith("-") else (F("score") + 0).asc())
        else:
            out.append(item)
    return out


def leads_search(leads: QuerySet[Lead], *, terms: Sequence[str], skip: int = 0) -> QuerySet[Lead]:
    """The `leads` (a `lead_list`, maybe filtered further) that contain every one of `terms`, each
    in any searched field (`lead_search`), in the order `leads` already has."""
    if not terms:
        return leads
    match, from_index = _search_filter(terms, model=Lead, field="id", skip=skip)
    if not from_index or connection.vendor != "sqlite":
        return leads.filter(match)
    # Given `workspace_id = ?` and an order, SQLite walks the workspace's (workspace, created_at)
    # index in that order and tests every lead against the matches. So the filters go into a
    # subquery (no order: it starts from the matches), and the page reads those rows by id and sorts.
    ordering = leads.query.order_by or Lead._meta.ordering
    return _lead_rows().filter(pk__in=leads.filter(match).order_by().values("pk")).order_by(*ordering)


_ATTRIBUTE_KEYS_SQL = {
    "sqlite": ("SELECT DISTINCT je.key FROM {table} l, json_each(l.attributes) je "
               "WHERE l.workspace_id = %s AND l.attributes != '{{}}'"),
    "postgresql": ("SELECT DISTINCT k FROM {table} l, jsonb_object_keys(l.attributes) k "
                   "WHERE l.workspace_id = %s AND l.attributes <> '{{}}'::jsonb"),
}


def lead_attribute_keys(*, workspace: Workspace, limit: int) -> list[str]:
    """The names of the workspace's extra columns (`attributes` keys), at most `limit`: in the order
    of the oldest lead that has any (its upload's columns), then the others by name.

    One DISTINCT over the keys (json_each / jsonb_object_keys): grouping them to find where each
    first appears made SQLite sort every key of a million leads (2.4 s and 64 MB against 0.6 s).
    """
    leads = lead_list(workspace=workspace).exclude(attributes={})
    sql = _ATTRIBUTE_KEYS_SQL.get(connection.vendor)
    if sql:
        with connection.cursor() as cursor:
            cursor.execute(sql.format(table=connection.ops.quote_name(Lead._meta.db_table)), [workspace.pk])
            keys = {key for (key,) in cursor.fetchall()}
    else:  # any other database: the same answer, read through the ORM
        keys = {key for attributes in leads.values_list("attributes", flat=True).iterator() for key in attributes}
    oldest = leads.order_by("created_at", "id").values_list("attributes", flat=True).first() or {}
    ordered = [key for key in oldest if key in keys] + sorted(keys.difference(oldest))
    return ordered[:limit]


def job_list(*, workspace: Workspace) -> QuerySet[Job]:
    return Job.objects.filter(workspace=workspace)


@dataclass(frozen=True)
class ResultFilters:
    intent: str | None = None
    stage: str | None = None
    min_score: int | None = None
    max_score: int | None = None
    search: str | None = None
    ordering: str = "-score"
    #: Filters on the lead (a join, like the search): a member's id; the industry exact (any case),
    #: role and location contain (the lead list's semantics).
    owner: int | None = None
    industry: str | None = None
    role: str | None = None
    location: str | None = None

    def lead_filter(self, *, prefix: str = "") -> Q | None:
        """The filters on the lead's own fields (the search aside) as one Q, or None without any."""
        match = Q()
        if self.owner is not None:
            match &= Q(**{f"{prefix}owner_id": self.owner})
        for field, lookup in (("industry", "iexact"), ("role", "icontains"), ("location", "icontains")):
            value = getattr(self, field)
            if value:
                match &= Q(**{f"{prefix}{field}__{lookup}": value})
        return match or None


def _offer_check(*, workspace: Workspace, offer: Offer) -> None:
    """404 for an offer of another workspace: the readers below filter by offer alone."""
    if offer.workspace_id != workspace.pk:
        raise LeadsError(UNKNOWN_OFFER.format(id=offer.pk), code="unknown_offer", status_code=404)


def _current_scores(*, workspace: Workspace, offer: Offer, filters: ResultFilters,
                    by_lead: bool = False) -> QuerySet[Score]:
    """Current scores for one offer with every filter but the text search.

    The offer has already been checked to belong to the workspace, and a score's workspace is its
    offer's, so filtering by offer alone is the tenant filter — and lets the results index answer
    COUNT and the first page without touching the table.

    `by_lead`: the rows will be found by their leads (a search's matches, DRIVE). SQLite would
    then look each one up through the unique (lead, offer) index and read the row for its score;
    written `offer_id + 0`, the offer is tested instead, and the `score_lead` index answers the
    lookup, every filter and the sort without touching the table (30 ms against 115 ms for a term
    in 24,000 leads at a million).
    """
    _offer_check(workspace=workspace, offer=offer)
    if by_lead and connection.vendor == "sqlite":
        scores = Score.objects.alias(offer_tested=F("offer_id") + 0).filter(offer_tested=offer.pk, is_current=True)
    else:
        scores = Score.objects.filter(offer=offer, is_current=True)
    if filters.intent:
        scores = scores.filter(intent=filters.intent)
    if filters.stage is not None:
        scores = scores.filter(stage=filters.stage)
    if filters.min_score is not None:
        scores = scores.filter(score__gte=filters.min_score)
    if filters.max_score is not None:
        scores = scores.filter(score__lte=filters.max_score)
    return scores


def score_results(*, workspace: Workspace, offer: Offer, filters: ResultFilters, skip: int = 0) -> QuerySet[Score]:
    """Current scores for one offer, best first, with their leads joined in (no N+1). `skip`: the
    OFFSET the page will have, which helps a text search pick its plan (only its speed)."""
    ordering = RESULT_ORDERINGS[filters.ordering]
    lead_filter = filters.lead_filter(prefix="lead__")
    match, from_index = Q(), False
    if filters.search:
        # Sorting a match by its score alone reads one index entry; any other order or a filter on
        # the lead reads rows.
        covered = filters.ordering in ("score", "-score") and lead_filter is None
        match, from_index = _search_filter([filters.search], model=Score, field="lead", through="lead", skip=skip,
                                           drive_us=DRIVE_INDEX_US if covered else DRIVE_ROW_US)
    scores = _current_scores(workspace=workspace, offer=offer, filters=filters, by_lead=from_index)
    scores = scores.select_related("lead").filter(match)
    if lead_filter is not None:
        scores = scores.filter(lead_filter)
    return scores.order_by(*(_by_score_not_walked(ordering) if from_index else ordering))


def lead_outcome(*, lead: Lead) -> Outcome | None:
    return Outcome.objects.filter(lead=lead).first()


def conversion_by_bucket(*, workspace: Workspace, offer: Offer) -> list[dict[str, Any]]:
    """Per score range of the offer's current scores, the leads with an outcome and the share won:
    whether higher scores really win more often (empty rates until outcomes exist)."""
    _offer_check(workspace=workspace, offer=offer)
    rows = Score.objects.filter(offer=offer, is_current=True, lead__outcome__isnull=False).values_list(
        "score", "lead__outcome__outcome")
    counts = [[0, 0] for _ in DISTRIBUTION_BUCKETS]
    for score, outcome in rows.iterator(chunk_size=5000):
        bucket = counts[min(max(score, 0) // 20, len(DISTRIBUTION_BUCKETS) - 1)]
        bucket[0] += 1
        bucket[1] += outcome == "won"
    return [{"range": f"{low}-{high}", "leads": n, "won": won, "conversion_rate": round(won / n, 4) if n else None}
            for (low, high), (n, won) in zip(DISTRIBUTION_BUCKETS, counts, strict=True)]


def score_results_after(scores: QuerySet[Score], *, score: int, lead_id: int) -> QuerySet[Score]:
    """The rows of best-first `scores` after (score, lead_id): a keyset page, which the results
    index answers as a range at any depth (OFFSET walks every skipped row). The plain `score <=`
    bound is what lets the planner seek into the index instead of testing the OR on every entry."""
    return scores.filter(Q(score__lte=score) & (Q(score__lt=score) | Q(score=score, lead_id__gt=lead_id)))


def score_results_count_cheap(filters: ResultFilters) -> bool:
    """Whether `score_results_count` sums the score tally (a few hundred rows) for these filters."""
    return not filters.search and filters.lead_filter() is None and score_tally_available(connection)


def score_results_count(*, workspace: Workspace, offer: Offer, filters: ResultFilters) -> int:
    """How many rows `score_results` has, counted the cheap way for each filter.

    Filters on the score alone (intent, stage, score range) are summed from the score tally on
    SQLite (leads/score_tally.py): a few hundred rows, however many leads.

    With a text search the FTS5 index (SQLite) gives the matching lead ids directly, and so does
    the pg_trgm index for a term in few leads (PostgreSQL). Otherwise, counting through the join
    visits every lead in score order, at random places in the table; reading the workspace's
    matching leads once (in table order, or from the pg_trgm index) and probing the scores' (lead,
    offer) index counts the same rows 2–3x faster at a million leads.
    """
    term = filters.search
    if score_results_count_cheap(filters):
        return _tally_count(workspace=workspace, offer=offer, filters=filters)
    indexed = bool(term) and _fts_answers(term)
    scores = _current_scores(workspace=workspace, offer=offer, filters=filters, by_lead=indexed)
    if indexed:
        scores = scores.filter(lead_search(term, through="lead"))
    elif term:
        matching_leads = Lead.objects.filter(workspace=workspace).filter(lead_search(term))
        if connection.vendor == "postgresql" and _search_plan(term) == DRIVE:
            scores = scores.filter(_lead_id_among(Score, "lead", matching_leads))
        else:
            scores = scores.filter(lead_id__in=matching_leads.values("pk"))
    if (lead_filter := filters.lead_filter()) is not None:
        scores = scores.filter(lead_id__in=Lead.objects.filter(workspace=workspace).filter(lead_filter)
                               .values("pk"))
    return scores.count()


def score_results_count_bounded(*, workspace: Workspace, offer: Offer, filters: ResultFilters) -> tuple[int, bool]:
    """(rows of `score_results`, whether that is all of them): `score_results_count`, except for a
    text search whose count is costly (`search_count_costly`), which counts the page's own walk up
    to SEARCH_COUNT_BOUND rows: a few ms at a million leads for a term in every third lead
    or more, where counting to 10,000 took 45-90 ms for `li`."""
    if filters.search and search_count_costly([filters.search]):
        return count_bounded(score_results(workspace=workspace, offer=offer, filters=filters).values("pk"),
                             bound=SEARCH_COUNT_BOUND)
    return score_results_count(workspace=workspace, offer=offer, filters=filters), True


def count_bounded(rows: QuerySet, *, bound: int) -> tuple[int, bool]:
    """(rows counted up to `bound`, whether that is all of them): one more row tells."""
    counted = rows[:bound + 1].count()
    return (counted, True) if counted <= bound else (bound, False)


def _tally_groups(*, offer: Offer, filters: ResultFilters | None = None) -> list[tuple[str, str, int, int]]:
    """(stage, intent, score, current scores) of the offer from the score tally, filters applied."""
    where, params = ["offer_id = %s", "n > 0"], [offer.pk]
    if filters is not None:
        for condition, value in (("intent = %s", filters.intent or None), ("stage = %s", filters.stage),
                                 ("score >= %s", filters.min_score), ("score <= %s", filters.max_score)):
            if value is not None:
                where.append(condition)
                params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stage, intent, score, n FROM {SCORE_TALLY_TABLE} WHERE {' AND '.join(where)}", params)
        return cursor.fetchall()


def _tally_count(*, workspace: Workspace, offer: Offer, filters: ResultFilters) -> int:
    _offer_check(workspace=workspace, offer=offer)
    return sum(row[3] for row in _tally_groups(offer=offer, filters=filters))


def job_scores(*, job: Job, limit: int) -> QuerySet[Score]:
    return (Score.objects.filter(job=job, is_current=True).select_related("lead", "lead__engagement")
            .order_by("-score", "lead_id")[:limit])


def scores_in_order(*, ids: list[int]) -> list[Score]:
    """The scores of a results page, with their leads, in the order of `ids`.

    Results paginate ids first: OFFSET then walks the index alone, and only the page's rows are
    joined to their leads — a deep page costs an index scan, not a join per skipped row.
    """
    by_id = Score.objects.select_related("lead", "lead__engagement").in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


LISTED_SCORE_FIELDS = ("id", "lead_id", "offer_id", "score", "intent", "stage", "lead__id", "lead__name",
                       "lead__company", "lead__role", "lead__industry", "lead__status", "lead__owner_id")


def scores_listed(*, ids: list[int]) -> list[Score]:
    """`scores_in_order` for a list of leads (the dashboard's): only the columns a row shows, so no
    breakdown, bio or attributes is read and decoded for the page."""
    by_id = Score.objects.select_related("lead").only(*LISTED_SCORE_FIELDS).in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


# --- scoring models, rules, stages, score history and distribution -------------------------------


def scoring_model_list(*, workspace: Workspace) -> QuerySet[ScoringModel]:
    return ScoringModel.objects.filter(workspace=workspace).prefetch_related("rules")


def scoring_rule_list(*, workspace: Workspace) -> QuerySet[ScoringRule]:
    return ScoringRule.objects.filter(workspace=workspace).order_by("model_id", "priority", "id")


def stage_list(*, workspace: Workspace) -> QuerySet[QualificationStage]:
    return QualificationStage.objects.filter(workspace=workspace).order_by("order", "id")


def score_history(*, workspace: Workspace, lead: Lead, offer: Offer | None) -> QuerySet[Score]:
    """Every score the lead has had (current first, then newest first), for one offer or all.

    Filtered by the lead alone once it is known to be the workspace's: with the workspace in the
    WHERE too, SQLite walked every score of the workspace by its index and sorted them (0.5 s a
    lead page at a million leads) instead of probing the lead's few."""
    if lead.workspace_id != workspace.pk:
        return Score.objects.none()
    scores = Score.objects.filter(lead=lead).select_related("lead", "stage_set_by")
    if offer is not None:
        scores = scores.filter(offer=offer)
    return scores.order_by("-created_at", "-id")


def current_score(*, lead: Lead, offer: Offer) -> Score | None:
    return Score.objects.filter(lead=lead, offer=offer, is_current=True).select_related("lead").first()


DISTRIBUTION_BUCKETS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 100))


def score_distribution(*, workspace: Workspace, offer: Offer) -> dict[str, object]:
    """Buckets 0–20 … 80–100 (the last one holds 100), the average, and counts per intent and stage
    of the offer's current scores.

    On SQLite the score tally holds those groups (leads/score_tally.py). Elsewhere one GROUP BY
    (stage, intent, score) answers all of it from the `score_distribution` index alone, which holds
    exactly those columns for current scores: no row of the table is read.
    """
    _offer_check(workspace=workspace, offer=offer)
    if score_tally_available(connection):
        groups: Any = _tally_groups(offer=offer)
    else:
        # Grouped by the index's own columns, in its order, so the database streams the groups out of
        # the index without sorting (at most stages x 3 x 101 rows); buckets are made here.
        groups = (Score.objects.filter(offer=offer, is_current=True).order_by()
                  .values_list("stage", "intent", "score").annotate(count=Count("*")))
    buckets = [0] * len(DISTRIBUTION_BUCKETS)
    intents = {"High": 0, "Medium": 0, "Low": 0}
    stages: dict[str, int] = {}
    count = points = 0
    for stage, intent, score, n in groups:
        total = score * n
        buckets[min(max(score, 0) // 20, len(DISTRIBUTION_BUCKETS) - 1)] += n
        intents[intent] = intents.get(intent, 0) + n
        stages[stage or "none"] = stages.get(stage or "none", 0) + n
        count += n
        points += total
    return {
        "offer": offer.pk,
        "total": count,
        "average": round(points / count, 2) if count else None,
        "buckets": [{"range": f"{low}-{high}", "min": low, "max": high, "count": buckets[i]}
                    for i, (low, high) in enumerate(DISTRIBUTION_BUCKETS)],
        "intents": intents,
        "stages": stages,
    }


# --- automations -------------------------------------------------------------------------------------


def workflow_list(*, workspace: Workspace) -> QuerySet[Workflow]:
    return Workflow.objects.filter(workspace=workspace).order_by("priority", "id")


def execution_list(*, workspace: Workspace) -> QuerySet[WorkflowExecution]:
    return (WorkflowExecution.objects.filter(workspace=workspace).select_related("workflow", "lead")
            .order_by("-created_at", "-id"))


def task_list(*, workspace: Workspace) -> QuerySet[Task]:
    return Task.objects.filter(workspace=workspace).select_related("lead", "assignee").order_by("done", "due", "id")


def lead_tasks(*, lead: Lead) -> QuerySet[Task]:
    """A lead's tasks, by the lead's own index (not the workspace's: a busy workspace has many)."""
    return Task.objects.filter(lead=lead).select_related("lead", "assignee").order_by("done", "due", "id")


def lead_events(*, workspace: Workspace, lead: Lead) -> QuerySet[Event]:
    """The lead's timeline: what the fold placed on it and what came since (see TimelineEntry), from
    the workspace's mark as this request read it."""
    sql, params = lead_event_ids(workspace.pk, [lead.pk], mark=workspace.events_folded_through)
    return Event.objects.filter(id__in=RawSQL(sql, params)).order_by("-occurred_at", "-id")


def outbox_has_readers(*, workspace_id: int) -> bool:
    """Whether an active workflow could fire on score transitions in this workspace."""
    return Workflow.objects.filter(workspace_id=workspace_id, is_active=True, trigger_type__in=[
        Workflow.Trigger.SCORE_THRESHOLD, Workflow.Trigger.STAGE_CHANGE, Workflow.Trigger.INTENT_CHANGE]).exists()

"""Top leads (filters, keyset pages, bulk actions, export), a lead's page, and adding a lead by hand."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from leads import selectors
from leads.api.serializers import LeadSerializer, TaskSerializer, members_of
from leads.exceptions import LeadsError
from leads.models import Lead, LeadStatus, Offer, Task, Workspace
from leads.scoring.stages import DISQUALIFIED
from leads.services import automations, csv_export, lead_upsert, leads, score_store, scoring
from leads.services.engagement import engagement_summary
from leads.services.learned_factors import learned_factors
from leads.web.base import error_page, form_errors, int_or_none, json_object, page, validated, web_page, workspace_of
from leads.web.breakdown import breakdown_of

PAGE_SIZE = 50
#: Rows the top-leads page counts itself when the score tally can't (a filter on the lead's fields);
#: a larger total comes from a second request the page makes once it is shown (counting a million
#: scores takes about 0.1 s, the page's first rows 0.02).
COUNTED_AT_ONCE = 10_000
HISTORY_POINTS = 50
TIMELINE_EVENTS = 50
LEAD_TASKS = 50
BULK_MAX = 1000
INTENTS = ("High", "Medium", "Low")
LEAD_FORM_FIELDS = ("name", "role", "company", "industry", "location", "email", "linkedin_bio", "status", "owner")
NOTHING_SELECTED = "Select at least one lead first."
UNKNOWN_BULK_ACTION = "Pick an action: rescore, set owner, set status or export."


def _offers(workspace: Workspace) -> list[Offer]:
    return list(selectors.offer_list(workspace=workspace).order_by("-created_at", "-id"))


def _chosen_offer(offers: list[Offer], raw: str | None) -> Offer | None:
    """The offer the page names, or the latest; an id not among the workspace's offers is a 404."""
    wanted = int_or_none(raw)
    if wanted is None:
        return offers[0] if offers else None
    for offer in offers:
        if offer.pk == wanted:
            return offer
    raise LeadsError(selectors.UNKNOWN_OFFER.format(id=wanted), code="unknown_offer", status_code=404)


def _score_param(raw: str | None) -> int | None:
    value = int_or_none(raw)
    return value if value is not None and 0 <= value <= 100 else None


def result_filters(query: QueryDict) -> selectors.ResultFilters:
    """The page's filters; a value out of range is dropped rather than refused (the form shows it blank)."""
    intent = (query.get("intent") or "").capitalize() or None
    stage = query.get("stage")
    return selectors.ResultFilters(
        intent=intent if intent in INTENTS else None,
        stage=None if stage in (None, "") else ("" if stage == "none" else stage),
        min_score=_score_param(query.get("min_score")), max_score=_score_param(query.get("max_score")),
        search=(query.get("search") or "").strip()[:200] or None,
        owner=int_or_none(query.get("owner")), industry=(query.get("industry") or "").strip()[:200] or None,
    )


def _cursor(raw: str | None) -> tuple[int, int] | None:
    try:
        score, lead_id = (int(part) for part in (raw or "").split(":"))
    except ValueError:
        return None
    return score, lead_id


@require_GET
@web_page
def top_leads_count(request: HttpRequest) -> HttpResponse:
    """The exact number of leads a top-leads view lists (the page asks when it has more than it counts)."""
    workspace = workspace_of(request)
    offer = _chosen_offer(_offers(workspace), request.GET.get("offer"))
    total = 0 if offer is None else selectors.score_results_count(workspace=workspace, offer=offer,
                                                                    filters=result_filters(request.GET))
    return render(request, "web/_result_count.html", {"total": total})


@require_GET
@web_page
def top_leads(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    offers = _offers(workspace)
    offer = _chosen_offer(offers, request.GET.get("offer"))
    members = list(members_of(workspace).only("id", "username"))
    context: dict[str, Any] = {"offers": offers, "offer": offer, "members": members, "intents": INTENTS,
                               "statuses": LeadStatus.choices, "q": request.GET}
    if offer is None:
        return page(request, "web/top_leads.html", context)
    filters = result_filters(request.GET)
    scores = selectors.score_results(workspace=workspace, offer=offer, filters=filters)
    cursor = _cursor(request.GET.get("after"))
    if cursor is not None:
        scores = selectors.score_results_after(scores, score=cursor[0], lead_id=cursor[1])
    ids = list(scores.values_list("pk", flat=True)[:PAGE_SIZE + 1])
    rows = selectors.scores_listed(ids=ids[:PAGE_SIZE])
    names = {member.pk: member.username for member in members}
    query = request.GET.copy()
    query.pop("after", None)
    next_query = None
    if len(ids) > PAGE_SIZE and rows:
        query["after"] = f"{rows[-1].score}:{rows[-1].lead_id}"
        next_query = query.urlencode()
        query.pop("after")
    if selectors.score_results_count_cheap(filters):  # the score tally: exact at any size
        total: int | None = selectors.score_results_count(workspace=workspace, offer=offer, filters=filters)
        exact = True
    elif filters.search:
        # Counted by the second request: how a search's rows are found depends on how many leads
        # hold the term, and counting the first 10,000 of a common one would walk the order as far
        # as a deep page.
        total, exact = None, False
    else:
        total, exact = selectors.count_bounded(
            selectors.score_results(workspace=workspace, offer=offer, filters=filters).values("pk"),
            bound=COUNTED_AT_ONCE)
    context.update({
        "rows": [(row, names.get(row.lead.owner_id, "")) for row in rows], "filters": filters,
        "total": total if exact else None,
        "count_placeholder": "Counting…" if total is None else f"More than {COUNTED_AT_ONCE:,}",
        "stages": list(selectors.stage_list(workspace=workspace).values_list("stage", "name")),
        "next_query": next_query, "lead_url": reverse("web:lead", args=[0]).replace("/0/", "/"),
        "first_query": query.urlencode() if cursor is not None else None,
        "view_query": query.urlencode(),  # the view's filters: its export and its count
    })
    return page(request, "web/top_leads.html", context)


@require_GET
@web_page
def export_csv(request: HttpRequest) -> HttpResponse:
    """This view of top leads (same offer and filters) through the API's CSV export."""
    workspace = workspace_of(request)
    offer = _chosen_offer(_offers(workspace), request.GET.get("offer"))
    if offer is None:
        raise LeadsError(selectors.NO_OFFER, code="no_offer", status_code=400)
    scores = selectors.score_results(workspace=workspace, offer=offer, filters=result_filters(request.GET))
    keys = selectors.lead_attribute_keys(workspace=workspace, limit=csv_export.EXPORT_MAX_ATTRIBUTE_COLUMNS)
    response = StreamingHttpResponse(csv_export.leads_export_csv(scores, attribute_keys=keys),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="leadscore-results-{stamp}.csv"'
    return response


@require_POST
@web_page
def bulk_action(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    back = request.POST.get("back") or reverse("web:top-leads")
    if not back.startswith("/app/"):
        back = reverse("web:top-leads")
    ids = [i for i in (int_or_none(raw) for raw in request.POST.getlist("lead")) if i is not None][:BULK_MAX]
    action = request.POST.get("action", "")
    if action == "score_new":
        # Every lead without a current score for the offer, or whose score went stale.
        offer = _chosen_offer(_offers(workspace), request.POST.get("offer"))
        if offer is None:
            raise LeadsError(selectors.NO_OFFER, code="no_offer", status_code=400)
        start = scoring.score_job_start(workspace=workspace, user=request.user, offer=offer)
        return redirect("web:job", job_id=start.job.pk)
    if not ids:
        return error_page(request, 400, NOTHING_SELECTED)
    chosen = list(selectors.lead_list(workspace=workspace).filter(pk__in=ids))
    if len(chosen) != len(set(ids)):
        raise LeadsError("Lead not found.", code="unknown_leads", status_code=404)
    if action == "rescore":
        offer = _chosen_offer(_offers(workspace), request.POST.get("offer"))
        if offer is None:
            raise LeadsError(selectors.NO_OFFER, code="no_offer", status_code=400)
        start = scoring.score_job_start(workspace=workspace, user=request.user, offer=offer,
                                        lead_ids=[lead.pk for lead in chosen], rescore=True)
        return redirect("web:job", job_id=start.job.pk)
    if action in ("owner", "status"):
        raw = request.POST.get(action) or None
        # Checked against one of the leads: only the one field changes, so the others stay valid.
        form = LeadSerializer(chosen[0], data={action: raw}, partial=True, context={"workspace": workspace})
        try:
            data = validated(form)
        except serializers.ValidationError as exc:
            return error_page(request, 400, "; ".join(m for ms in form_errors(exc).values() for m in ms))
        leads.leads_bulk_update(leads=chosen, data=data)
        return redirect(back)
    return error_page(request, 400, UNKNOWN_BULK_ACTION)


def _lead_or_404(workspace: Workspace, lead_id: int) -> Lead:
    lead = selectors.lead_list(workspace=workspace).filter(pk=lead_id).first()
    if lead is None:
        raise LeadsError("Lead not found.", code="not_found", status_code=404)
    return lead


def _lead_context(request: HttpRequest, workspace: Workspace, lead: Lead) -> dict[str, Any]:
    offers = _offers(workspace)
    offer = _chosen_offer(offers, request.GET.get("offer") or request.POST.get("offer"))
    current = selectors.current_score(lead=lead, offer=offer) if offer is not None else None
    # The chart and its table need three columns of each past score, not their breakdowns.
    history = list(selectors.score_history(workspace=workspace, lead=lead, offer=offer).select_related(None)
                   .only("id", "created_at", "score", "cause")[:HISTORY_POINTS]) if offer is not None else []
    chart = {"labels": [s.created_at.strftime("%Y-%m-%d %H:%M") for s in reversed(history)],
             "values": [s.score for s in reversed(history)]}
    return {
        "lead": lead, "offers": offers, "offer": offer, "current": current,
        "breakdown": breakdown_of(current.score_breakdown, current.score) if current is not None else None,
        "history": history, "history_chart": chart,
        "events": list(selectors.lead_events(workspace=workspace, lead=lead)[:TIMELINE_EVENTS]),
        "tasks": list(selectors.lead_tasks(lead=lead)[:LEAD_TASKS]),
        "engagement": engagement_summary(getattr(lead, "engagement", None)),
        "members": list(members_of(workspace).only("id", "username")), "statuses": LeadStatus.choices,
        "priorities": Task.Priority.choices,
        "attributes": sorted(lead.attributes.items()) if isinstance(lead.attributes, dict) else [],
        "outcome": selectors.lead_outcome(lead=lead),
        "factors": learned_factors([current])[current.pk] if current is not None else None,
        "stages": [*selectors.stage_list(workspace=workspace).values_list("stage", "name"),
                   (DISQUALIFIED, "Disqualified")],
    }


@require_GET
@web_page
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    lead = _lead_or_404(workspace, lead_id)
    return page(request, "web/lead.html", _lead_context(request, workspace, lead))


def _lead_form_data(post: QueryDict) -> dict[str, Any]:
    data: dict[str, Any] = {field: post.get(field, "") for field in LEAD_FORM_FIELDS if field in post}
    if "owner" in data:
        data["owner"] = data["owner"] or None
    if "attributes" in post:
        data["attributes"] = json_object(post.get("attributes", ""))
    return data


@require_POST
@web_page
def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    lead = _lead_or_404(workspace, lead_id)
    form = LeadSerializer(lead, data=_lead_form_data(request.POST), partial=True, context={"workspace": workspace})
    try:
        leads.lead_update(lead=lead, data=validated(form))
    except (serializers.ValidationError, LeadsError) as exc:
        lead.refresh_from_db()
        context = {**_lead_context(request, workspace, lead), "errors": form_errors(exc), "form": request.POST}
        return page(request, "web/lead.html", context, status=400)
    return redirect(_lead_url(lead, request.POST.get("offer")))


def _lead_url(lead: Lead, offer: str | None) -> str:
    url = reverse("web:lead", args=[lead.pk])
    return f"{url}?offer={int(offer)}" if offer and offer.isdigit() else url


@require_POST
@web_page
def lead_rescore(request: HttpRequest, lead_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    lead = _lead_or_404(workspace, lead_id)
    offer = _chosen_offer(_offers(workspace), request.POST.get("offer"))
    if offer is None:
        raise LeadsError(selectors.NO_OFFER, code="no_offer", status_code=400)
    scoring.lead_score_now(lead=lead, offer=offer)
    return redirect(_lead_url(lead, str(offer.pk)))


@require_POST
@web_page
def lead_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Set the lead's stage for the offer by hand ("" hands it back to the stage criteria)."""
    workspace = workspace_of(request)
    lead = _lead_or_404(workspace, lead_id)
    offer = _chosen_offer(_offers(workspace), request.POST.get("offer"))
    current = selectors.current_score(lead=lead, offer=offer) if offer is not None else None
    if current is None:
        raise LeadsError(score_store.NO_SCORE_YET, code="no_score", status_code=404)
    score_store.score_stage_set(score=current, stage=request.POST.get("stage") or None, user=request.user)
    return redirect(_lead_url(lead, str(current.offer_id)))


@require_POST
@web_page
def lead_task_add(request: HttpRequest, lead_id: int) -> HttpResponse:
    """A follow-up task on this lead, validated as the API's POST /api/tasks/ is."""
    workspace = workspace_of(request)
    lead = _lead_or_404(workspace, lead_id)
    data = {"lead": lead.pk, "title": request.POST.get("title", ""),
            "priority": request.POST.get("priority") or "normal", "assignee": request.POST.get("assignee") or None}
    if request.POST.get("due"):
        data["due"] = request.POST["due"]
    form = TaskSerializer(data=data, context={"workspace": workspace})
    try:
        values = validated(form)
        values.pop("lead", None)
        automations.task_create(workspace=workspace, user=request.user, lead=lead, data=values)
    except (serializers.ValidationError, LeadsError) as exc:
        context = {**_lead_context(request, workspace, lead), "errors": form_errors(exc)}
        return page(request, "web/lead.html", context, status=400)
    return redirect(_lead_url(lead, request.POST.get("offer")))


@web_page
def lead_new(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    context: dict[str, Any] = {"members": list(members_of(workspace).only("id", "username")),
                               "statuses": LeadStatus.choices, "form": {}}
    if request.method == "POST":
        form = LeadSerializer(data=_lead_form_data(request.POST), context={"workspace": workspace})
        try:
            lead = lead_upsert.lead_create(workspace=workspace, data=validated(form))
        except (serializers.ValidationError, LeadsError) as exc:
            context.update(errors=form_errors(exc), form=request.POST)
            return page(request, "web/lead_new.html", context, status=400)
        return redirect("web:lead", lead_id=lead.pk)
    return page(request, "web/lead_new.html", context)

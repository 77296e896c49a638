"""Sign-in, sign-out, the workspace switch, upload with live progress, offers, tasks and charts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from leads import selectors
from leads.api.serializers import OfferSerializer, TaskSerializer
from leads.exceptions import ImportFileError, LeadsError
from leads.models import Job
from leads.queue import IMPORT
from leads.services import automations, jobs, offers
from leads.services.imports import import_job_create
from leads.tenancy import workspace_choose
from leads.web.base import form_errors, int_or_none, lines, page, validated, web_page, workspace_of
from leads.web.lead_pages import _chosen_offer, _offers

NO_FILE = "Choose a CSV file to upload."
TASKS_SHOWN = 200
RECENT_JOBS = 10


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


logout_view = auth_views.LogoutView.as_view(next_page="web:login")


@require_POST
@web_page
def workspace_switch(request: HttpRequest) -> HttpResponse:
    workspace_choose(request, int_or_none(request.POST.get("workspace")) or 0)
    return redirect("web:top-leads")


# --- upload and jobs ---------------------------------------------------------------------------------


@web_page
def upload(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    recent = list(selectors.job_list(workspace=workspace).filter(kind=Job.Kind.IMPORT)
                  .order_by("-created_at", "-id")[:RECENT_JOBS])
    if request.method == "POST":
        upload_file = request.FILES.get("file")
        if upload_file is None:
            return page(request, "web/upload.html", {"recent": recent, "error": NO_FILE}, status=400)
        if upload_file.size > settings.IMPORT_MAX_BYTES:
            return page(request, "web/upload.html", {"recent": recent, "error": "The file is too large."}, status=413)
        try:
            job = import_job_create(workspace=workspace, user=request.user, upload=upload_file,
                                    filename=upload_file.name or "upload.csv", strict=bool(request.POST.get("strict")))
        except ImportFileError as exc:
            return page(request, "web/upload.html", {"recent": recent, "error": exc.message},
                        status=exc.status_code)
        jobs.job_tasks_queue(job_id=job.pk, task_name=IMPORT, task_ids=[job.pk])
        return redirect("web:job", job_id=job.pk)
    return page(request, "web/upload.html", {"recent": recent})


def _job_or_404(request: HttpRequest, job_id: int) -> Job:
    job = selectors.job_list(workspace=workspace_of(request)).filter(pk=job_id).first()
    if job is None:
        raise LeadsError("Job not found.", code="not_found", status_code=404)
    return job


def _job_context(job: Job) -> dict[str, Any]:
    percent = min(100, round(100 * job.processed / job.total)) if job.total else (100 if job.is_finished else 0)
    return {"job": job, "percent": percent}


@require_GET
@web_page
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    return page(request, "web/job.html", _job_context(_job_or_404(request, job_id)))


@require_GET
@web_page
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress panel alone, which the job page polls (htmx) until the job finishes."""
    return render(request, "web/_job_progress.html", _job_context(_job_or_404(request, job_id)))


# --- offers --------------------------------------------------------------------------------------------


def _offer_data(post: Any) -> dict[str, Any]:
    return {"name": post.get("name", ""), "value_props": lines(post.get("value_props", "")),
            "ideal_use_cases": lines(post.get("ideal_use_cases", "")),
            "adjacent_industries": lines(post.get("adjacent_industries", "")),
            "scoring_model": post.get("scoring_model") or None}


@web_page
def offer_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    context: dict[str, Any] = {"models": list(selectors.scoring_model_list(workspace=workspace)
                                              .prefetch_related(None).order_by("-is_default", "name"))}
    status = 200
    if request.method == "POST":
        form = OfferSerializer(data=_offer_data(request.POST), context={"workspace": workspace})
        try:
            offers.offer_create(workspace=workspace, data=validated(form))
            return redirect("web:offers")
        except (serializers.ValidationError, LeadsError) as exc:
            context.update(errors=form_errors(exc), form=request.POST)
            status = 400
    context["offers"] = list(selectors.offer_list(workspace=workspace).select_related("scoring_model")
                             .order_by("-created_at", "-id"))
    return page(request, "web/offers.html", context, status=status)


# --- tasks ---------------------------------------------------------------------------------------------


@require_GET
@web_page
def task_list(request: HttpRequest) -> HttpResponse:
    """Open tasks, soonest due first (undated ones last); overdue ones are marked."""
    workspace = workspace_of(request)
    tasks = list(selectors.task_list(workspace=workspace).filter(done=False)[:TASKS_SHOWN])
    tasks.sort(key=lambda t: (t.due is None, t.due or timezone.now(), t.pk))
    return page(request, "web/tasks.html", {"tasks": tasks, "now": timezone.now()})


@require_POST
@web_page
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    task = selectors.task_list(workspace=workspace).filter(pk=task_id).first()
    if task is None:
        raise LeadsError("Task not found.", code="not_found", status_code=404)
    form = TaskSerializer(task, data={"done": True}, partial=True, context={"workspace": workspace})
    automations.task_update(task=task, data=validated(form))
    return redirect("web:tasks")


# --- charts --------------------------------------------------------------------------------------------


@require_GET
@web_page
def charts(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    offer_rows = _offers(workspace)
    offer = _chosen_offer(offer_rows, request.GET.get("offer"))
    context: dict[str, Any] = {"offers": offer_rows, "offer": offer}
    if offer is not None:
        distribution = selectors.score_distribution(workspace=workspace, offer=offer)
        stages = list(selectors.stage_list(workspace=workspace).filter(is_active=True).values_list("stage", "name"))
        counts = distribution["stages"]
        assert isinstance(counts, dict)
        # A funnel: the leads at a stage or past it, from the first stage to the last.
        funnel = []
        for index, (_key, name) in enumerate(stages):
            funnel.append({"name": name, "count": sum(counts.get(k, 0) for k, _ in stages[index:])})
        conversion = selectors.conversion_by_bucket(workspace=workspace, offer=offer)
        context.update(conversion=conversion if any(b["leads"] for b in conversion) else None)
        context.update(distribution=distribution, funnel=funnel, chart={
            "conversion": {"labels": [b["range"] for b in conversion],
                           "values": [round(100 * (b["conversion_rate"] or 0), 1) for b in conversion]},
            "buckets": {"labels": [b["range"] for b in distribution["buckets"]],  # type: ignore[attr-defined]
                        "values": [b["count"] for b in distribution["buckets"]]},  # type: ignore[attr-defined]
            "funnel": {"labels": [f["name"] for f in funnel], "values": [f["count"] for f in funnel]},
        })
    return page(request, "web/charts.html", context)

"""The dashboard's pages under /app/ (namespace `web`)."""

from django.urls import path, re_path

from leads.web import engine_pages as engine
from leads.web import lead_pages as lead
from leads.web import workspace_pages as ws
from leads.web.base import not_found

app_name = "web"

urlpatterns = [
    path("", lead.top_leads, name="top-leads"),
    path("login/", ws.LoginView.as_view(), name="login"),
    path("logout/", ws.logout_view, name="logout"),
    path("workspace/", ws.workspace_switch, name="workspace"),
    path("leads/count/", lead.top_leads_count, name="top-leads-count"),
    path("leads/export.csv", lead.export_csv, name="export"),
    path("leads/bulk/", lead.bulk_action, name="bulk"),
    path("leads/new/", lead.lead_new, name="lead-new"),
    path("leads/<int:lead_id>/", lead.lead_detail, name="lead"),
    path("leads/<int:lead_id>/edit/", lead.lead_edit, name="lead-edit"),
    path("leads/<int:lead_id>/rescore/", lead.lead_rescore, name="lead-rescore"),
    path("leads/<int:lead_id>/stage/", lead.lead_stage, name="lead-stage"),
    path("leads/<int:lead_id>/tasks/", lead.lead_task_add, name="lead-task-add"),
    path("upload/", ws.upload, name="upload"),
    path("jobs/<int:job_id>/", ws.job_detail, name="job"),
    path("jobs/<int:job_id>/progress/", ws.job_progress, name="job-progress"),
    path("offers/", ws.offer_list, name="offers"),
    path("models/", engine.model_list, name="models"),
    path("models/<int:model_id>/", engine.model_detail, name="model"),
    path("models/<int:model_id>/preview/", engine.model_preview, name="model-preview"),
    path("rules/<int:rule_id>/", engine.rule_edit, name="rule"),
    path("rules/<int:rule_id>/test/", engine.rule_test, name="rule-test"),
    path("workflows/", engine.workflow_list, name="workflows"),
    path("tasks/", ws.task_list, name="tasks"),
    path("tasks/<int:task_id>/done/", ws.task_done, name="task-done"),
    path("charts/", ws.charts, name="charts"),
    re_path(r"^.*$", not_found, name="not-found"),
]

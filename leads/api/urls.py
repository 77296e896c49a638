"""API routes, plus the short paths of the original one-page spec as aliases."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from leads.api import automations, engagement, learning, qualification, views

router = DefaultRouter(trailing_slash=True)
router.register("offer", views.OfferViewSet, basename="offer")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("jobs", views.JobViewSet, basename="job")
router.register("scoring-models", qualification.ScoringModelViewSet, basename="scoring-model")
router.register("scoring-rules", qualification.ScoringRuleViewSet, basename="scoring-rule")
router.register("qualification-criteria", qualification.QualificationCriteriaViewSet, basename="stage")
router.register("lead-scores", qualification.LeadScoreViewSet, basename="lead-score")
router.register("workflows", automations.WorkflowViewSet, basename="workflow")
router.register("workflow-executions", automations.WorkflowExecutionViewSet, basename="workflow-execution")
router.register("tasks", automations.TaskViewSet, basename="task")
router.register("events", engagement.EventViewSet, basename="event")
router.register("outcomes", learning.OutcomeViewSet, basename="outcome")
router.register("models", learning.TrainedModelViewSet, basename="trained-model")


def _undocumented(viewset: type) -> type:
    # The canonical path documents it; a twin in the schema would only confuse.
    return type(f"Alias{viewset.__name__}", (viewset,), {"swagger_schema": None})


# The original qualification clients' paths, reaching the same views.
qualification_aliases = DefaultRouter(trailing_slash=True)
qualification_aliases.include_root_view = False
qualification_aliases.register("scoring-rules", _undocumented(qualification.ScoringRuleViewSet),
                               basename="lq-scoring-rule")
qualification_aliases.register("qualification-criteria", _undocumented(qualification.QualificationCriteriaViewSet),
                               basename="lq-stage")
qualification_aliases.register("lead-scores", _undocumented(qualification.LeadScoreViewSet),
                               basename="lq-lead-score")
qualification_aliases.register("workflows", _undocumented(automations.WorkflowViewSet), basename="lq-workflow")
qualification_aliases.register("workflow-executions", _undocumented(automations.WorkflowExecutionViewSet),
                               basename="lq-workflow-execution")

urlpatterns = [
    *router.urls,
    path("alerts/config/", automations.AlertConfigView.as_view(), name="alert-config"),
    path("lead-qualification/", include(qualification_aliases.urls)),
]



class _AliasOfferViewSet(views.OfferViewSet):
    swagger_schema = None  # the canonical path documents it; a twin in the schema would only confuse


class _AliasLeadViewSet(views.LeadViewSet):
    swagger_schema = None


def _lead_action(method: str, name: str):
    # With the @action's own settings (serializer, parsers…), as the router would pass them.
    return _AliasLeadViewSet.as_view({method: name}, detail=False, **getattr(views.LeadViewSet, name).kwargs)


# Original clients call these; they reach the same views.
alias_urlpatterns = [
    path("offer/", _AliasOfferViewSet.as_view({"get": "list", "post": "create"}), name="alias-offer"),
    path("leads/upload/", _lead_action("post", "upload"), name="alias-upload"),
    path("score/", _lead_action("post", "score"), name="alias-score"),
    path("results/", _lead_action("get", "results"), name="alias-results"),
    path("results/export/", _lead_action("get", "export_csv"), name="alias-export"),
]


# --- Connectors -----------------------------------------------------------------------------------
from leads.api import connectors  # noqa: E402

urlpatterns += [
    path("connectors/hubspot/", connectors.HubSpotConnectorView.as_view(), name="hubspot-connector"),
    path("connectors/hubspot/sync/", connectors.HubSpotSyncView.as_view(), name="hubspot-sync"),
]

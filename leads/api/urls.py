"""API routes, plus the short paths of the original one-page spec as aliases."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from leads.api import views

router = DefaultRouter(trailing_slash=True)
router.register("offer", views.OfferViewSet, basename="offer")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = router.urls



class _AliasOfferViewSet(views.OfferViewSet):
    swagger_schema = None  # the canonical path documents it; a twin in the schema would only confuse


class _AliasLeadViewSet(views.LeadViewSet):
    swagger_schema = None


# Original clients call these; they reach the same views.
alias_urlpatterns = [
    path("offer/", _AliasOfferViewSet.as_view({"get": "list", "post": "create"}), name="alias-offer"),
    path("leads/upload/", _AliasLeadViewSet.as_view({"post": "upload"}), name="alias-upload"),
    path("score/", _AliasLeadViewSet.as_view({"post": "score"}), name="alias-score"),
    path("results/", _AliasLeadViewSet.as_view({"get": "results"}), name="alias-results"),
    path("results/export/", _AliasLeadViewSet.as_view({"get": "export_csv"}), name="alias-export"),
]

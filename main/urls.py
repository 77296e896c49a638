"""URL map: the API under /api/, the short aliases of the original spec, docs, admin and ops."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from leads.api import ops
from leads.api.docs import schema_view
from leads.api.metrics import MetricsView
from leads.api.urls import alias_urlpatterns

handler400 = "leads.api.errors.handler400"
handler403 = "leads.api.errors.handler403"
handler404 = "leads.api.errors.handler404"
handler500 = "leads.api.errors.handler500"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("leads.api.urls")),
    re_path(r"^swagger\.(?P<format>json|yaml)$", schema_view.without_ui(cache_timeout=0), name="schema-json"),
    path("swagger/", schema_view.with_ui("swagger", cache_timeout=0), name="schema-swagger-ui"),
    path("redoc/", schema_view.with_ui("redoc", cache_timeout=0), name="schema-redoc"),
    path("health/", ops.health, name="health"),
    path("ready/", ops.ready, name="ready"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("api-auth/", include("rest_framework.urls")),  # browser log-in for members (the admin's is staff-only)
    *alias_urlpatterns,
    path("app/", include("leads.web.urls")),
    path("", RedirectView.as_view(url="/app/", permanent=False), name="home"),
]

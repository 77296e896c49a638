"""drf-yasg schema view (Swagger UI at /swagger/, ReDoc at /redoc/), open to everyone."""

from drf_yasg import openapi
from drf_yasg.views import get_schema_view
from rest_framework import permissions

schema_view = get_schema_view(
    openapi.Info(
        title="Leadscore API",
        default_version="v1",
        description=(
            "Score leads 0–100 against an offer with a rule layer and an AI layer.\n\n"
            "Authenticate with `Authorization: Token <key>` (use **Authorize**) or log in with **Django Login** "
            "(/api-auth/login/). The examples are real bodies: *Try it out* sends them as they are. Scoring, "
            "results and export use the offer you name, else your latest offer, and say which in `X-Offer`."
        ),
        license=openapi.License(name="MIT"),
    ),
    public=True,
    permission_classes=[permissions.AllowAny],
    authentication_classes=[],
)


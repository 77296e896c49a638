"""drf-yasg schema view (Swagger UI at /swagger/, ReDoc at /redoc/), open to everyone."""

from drf_yasg import openapi
from drf_yasg.inspectors import SwaggerAutoSchema
from drf_yasg.views import get_schema_view
from rest_framework import permissions

from leads.api.serializers import ErrorSerializer

schema_view = get_schema_view(
    openapi.Info(
        title="Leadscore API",
        default_version="v1",
        description=(
            "Score leads 0–100 against an offer with a rule layer and an AI layer.\n\n"
            "Authenticate with `Authorization: Token <key>` (use **Authorize**) or log in through /admin/."
        ),
        license=openapi.License(name="MIT"),
    ),
    public=True,
    permission_classes=[permissions.AllowAny],
    authentication_classes=[],
)


# Every status the API answers with the error envelope, per operation, so the schema matches what a
# client actually gets (schemathesis in .ci/run checks it).
ERROR_DESCRIPTIONS = {
    400: "Invalid input, parameter or body (the envelope's details say which)",
    401: "No or bad credentials",
    403: "Not a member of the workspace (X-Workspace) or not allowed",
    404: "Not found (or belongs to another workspace)",
    409: "Conflicts with the current state (a twin lead, a finished job…)",
    413: "Body or file over its size limit",
    415: "Unsupported media type or file kind",
    429: "Rate limit reached: retry after details.retry_after_seconds",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class EnvelopeAutoSchema(SwaggerAutoSchema):
    def error_statuses(self) -> list[int]:
        statuses = [400, 404]
        if not all(isinstance(permission, permissions.AllowAny) for permission in self.view.get_permissions()):
            statuses += [401, 403]
        if self.method != "GET":
            statuses.append(409)
        if self.method in BODY_METHODS:
            statuses += [413, 415]
        if self.view.get_throttles():
            statuses.append(429)
        return sorted(statuses)

    def get_response_serializers(self) -> dict:
        responses = super().get_response_serializers()
        for code in self.error_statuses():
            responses.setdefault(str(code), openapi.Response(ERROR_DESCRIPTIONS[code], ErrorSerializer))
        return responses

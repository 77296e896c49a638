"""How drf-yasg describes the API, so the schema matches what the API answers (schemathesis checks it)."""

from __future__ import annotations

from drf_yasg import openapi
from drf_yasg.inspectors import FieldInspector, NotHandled, SwaggerAutoSchema
from rest_framework import permissions, serializers
from rest_framework.fields import _UnvalidatedField

from leads.api.serializers import ErrorSerializer

# Every status the API answers with the error envelope, per operation.
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
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ApiFieldInspector(FieldInspector):
    """A DictField without a child holds any JSON values, and a JSONField any JSON at all: drf-yasg
    documented the first as an object of strings and the second as an object. A read-only text field
    may be blank (`minLength` constrains input only), and so may an email field that allows blank."""

    def process_result(self, result: object, method_name: str, obj: object, **kwargs: object) -> object:
        if isinstance(result, openapi.Schema) and getattr(obj, "read_only", False):
            result.pop("minLength", None)
        if isinstance(result, openapi.Schema) and isinstance(obj, serializers.EmailField) and obj.allow_blank:
            result.pop("format", None)  # "" is an allowed value, and no email address
        return result

    def field_to_swagger_object(self, field: serializers.Field, swagger_object_type: type, use_references: bool,
                                **kwargs: object) -> object:
        if swagger_object_type != openapi.Schema:
            return NotHandled
        SwaggerType, _ = self._get_partial_types(field, swagger_object_type, use_references, **kwargs)
        if isinstance(field, serializers.DictField) and isinstance(field.child, _UnvalidatedField):
            return SwaggerType(type=openapi.TYPE_OBJECT, additional_properties=True)
        if isinstance(field, serializers.JSONField):
            schema = SwaggerType(type=openapi.TYPE_OBJECT)
            del schema["type"]  # drf-yasg insists on a type; without one, a schema allows any JSON value
            return schema
        return NotHandled


class EnvelopeAutoSchema(SwaggerAutoSchema):
    # Here rather than in SWAGGER_SETTINGS, which drf-yasg imports while this module is half loaded.
    field_inspectors = [ApiFieldInspector, *SwaggerAutoSchema.field_inspectors]

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


class CsvAutoSchema(EnvelopeAutoSchema):
    """An operation that answers CSV (or XLSX) when it succeeds and the JSON envelope when it does not."""

    def get_produces(self) -> list[str]:
        return ["text/csv", XLSX_CONTENT_TYPE, *super().get_produces()]


_paginated: dict[type, type] = {}


def paginated(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The `{count, count_exact, next, previous, results}` page of `serializer_class`, for actions
    that paginate by hand (drf-yasg wraps only list views)."""
    if serializer_class not in _paginated:
        name = serializer_class.__name__.removesuffix("Serializer")
        _paginated[serializer_class] = type(f"{name}PageSerializer", (serializers.Serializer,), {
            "count": serializers.IntegerField(),
            "count_exact": serializers.BooleanField(
                help_text="false: `count` is a lower bound (a text search in very many leads); `count=exact` counts "
                          "every row"),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        })
    return _paginated[serializer_class]

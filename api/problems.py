"""Every error of the API as `application/problem+json` (RFC 9457).

A problem has `type` (a URN naming the code), `title`, `status`, `detail` (a sentence for
people, in the request's language), `instance` (the path), and two members of ours: `code`,
stable across versions, for software to branch on, and the figures of a refusal of credits
(`needed`, `available`, `shortfall`, `limit`). Validation errors add `errors`: field → list
of messages. Domain refusals come from `config.errors.DomainError`, so each app's exceptions
say their own status and code.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response

from config.errors import DomainError

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:credit-portal:problem:"

# DRF's own errors, by class, to a stable code.
DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "unauthenticated"),
    (exceptions.AuthenticationFailed, "unauthenticated"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
]
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
}


def problem(
    request, *, status_code: int, code: str, detail: str, extra: dict | None = None
) -> Response:
    body = {
        "type": TYPE_PREFIX + code,
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "instance": request.path if request is not None else "",
        "code": code,
        **(extra or {}),
    }
    return Response(body, status=status_code, content_type=CONTENT_TYPE)


def _flatten(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{name}: {_flatten(value)}" for name, value in detail.items())
    return str(detail)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {
            name: [str(m) for m in value] if isinstance(value, list) else _field_errors(value)
            for name, value in detail.items()
        }
    return {"non_field_errors": [str(m) for m in detail]}


def handle(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Anything not recognised is left to Django (a 500, logged)."""
    request = context.get("request")
    if isinstance(exc, DomainError):
        return problem(
            request,
            status_code=exc.http_status,
            code=exc.code,
            detail=str(exc),
            extra=exc.figures(),
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if not isinstance(exc, exceptions.APIException):
        return None
    code = next((c for cls, c in DRF_CODES if isinstance(exc, cls)), "invalid_request")
    extra: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = _field_errors(exc.detail)
        detail = _("The request is not valid: %(errors)s") % {"errors": _flatten(exc.detail)}
    else:
        detail = _flatten(exc.detail)
    response = problem(request, status_code=exc.status_code, code=code, detail=detail, extra=extra)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait))
        response.data["retry_after"] = int(exc.wait)
    return response


def _rendered(request, status_code: int, code: str, detail: str) -> HttpResponse:
    from rest_framework.renderers import JSONRenderer

    body = {
        "type": TYPE_PREFIX + code,
        "title": TITLES.get(status_code, "Internal Server Error"),
        "status": status_code,
        "detail": detail,
        "instance": request.path,
        "code": code,
    }
    return HttpResponse(JSONRenderer().render(body), status=status_code, content_type=CONTENT_TYPE)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    """The project's 404: a problem under /api/, the portal's styled page elsewhere."""
    if _is_api(request):
        return _rendered(request, 404, "not_found", _("Not found."))
    return defaults.page_not_found(request, exception)


def server_error(request):
    """The project's 500: a problem under /api/ (the error is logged by Django), the portal's
    styled page elsewhere."""
    if _is_api(request):
        return _rendered(
            request,
            500,
            "server_error",
            _("Something went wrong on our side; retry with the same Idempotency-Key."),
        )
    return defaults.server_error(request)

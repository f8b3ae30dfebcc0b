"""Refusals of the API layer itself (the domain's live in each app's `exceptions.py`)."""

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class ApiError(DomainError):
    code = "invalid_request"
    default_message = _("The request is not valid.")

    def __init__(self, message: str | None = None) -> None:
        super().__init__(str(message or self.default_message))


class RequestConflict(ApiError):
    http_status = 409
    code = "idempotency_conflict"
    default_message = _(
        "This Idempotency-Key was used with another request body; use a new key for a new request."
    )


class IdempotencyInProgress(ApiError):
    http_status = 409
    code = "request_in_progress"
    default_message = _(
        "A request with this Idempotency-Key is still running; retry in a moment to get its answer."
    )


class ReadOnlyKey(ApiError):
    http_status = 403
    code = "read_only_key"
    default_message = _("This API key may only read; create a read-and-write key to write.")


class ClientNotAllowed(ApiError):
    http_status = 403
    code = "client_not_allowed"
    default_message = _("This API key acts for one client only.")

"""Refusals of billing. Each carries a message fit to show a person (X6); pages and the API
turn `http_status` into their answer. Nothing was charged, granted or issued when one is
raised, except where the class says otherwise."""

from django.utils.translation import gettext as _


class BillingError(Exception):
    """Base of every refusal raised by `billing.services`."""

    http_status = 400


class PaymentDeclined(BillingError):
    """The card was refused (by the gateway or before reaching it)."""

    http_status = 402


class IdempotencyConflict(BillingError):
    http_status = 409


class InvoiceLocked(BillingError):
    http_status = 409


class OutOfBounds(BillingError):
    """A quantity or amount beyond what one purchase may hold (documented in
    `billing.pricing`): refused before anything is recorded."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("This purchase is too large."))


class PaymentPending(BillingError):
    """Not a refusal: the payment was recorded and the gateway or the database did not
    answer in time; the settle job finishes it within minutes. Nothing is charged twice."""

    http_status = 202

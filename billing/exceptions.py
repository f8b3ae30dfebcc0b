"""Refusals of billing. Each carries a message fit to show a person (X6); pages and the API
turn `http_status` into their answer. Nothing was charged, granted or issued when one is
raised, except where the class says otherwise."""

from django.utils.translation import gettext as _

from config.errors import DomainError


class BillingError(DomainError):
    """Base of every refusal raised by `billing.services`."""

    code = "billing_refused"


class PaymentDeclined(BillingError):
    """The card was refused (by the gateway or before reaching it)."""

    http_status = 402
    code = "payment_declined"


class IdempotencyConflict(BillingError):
    """The key was used for another purchase: nothing was charged again."""

    http_status = 409
    code = "idempotency_conflict"


class InvoiceLocked(BillingError):
    http_status = 409
    code = "invoice_locked"


class OutOfBounds(BillingError):
    """A quantity or amount beyond what one purchase may hold (documented in
    `billing.pricing`): refused before anything is recorded."""

    code = "out_of_bounds"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("This purchase is too large."))


class PaymentPending(BillingError):
    """Not a refusal: the payment was recorded and the gateway or the database did not
    answer in time; the settle job finishes it within minutes. Nothing is charged twice."""

    http_status = 202
    code = "payment_pending"

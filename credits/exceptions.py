"""Refusals of the ledger. Each carries a message fit to show a person (X6); the API maps
them to HTTP statuses (402 for missing credits, 409 for conflicts, 400 for bad input)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from config.errors import DomainError


class CreditsError(DomainError):
    """Base of every refusal raised by `credits.services`; nothing moved when it is raised."""

    code = "credits_refused"


class InvalidAmount(CreditsError):
    code = "validation_error"


class InvalidFields(InvalidAmount, ValidationError):
    """Values a row cannot hold, by field: a domain refusal (a message, a status, a code) for
    the API and the admin, and a ValidationError on each field for forms. Nothing changed."""

    def __init__(self, errors: dict[str, list[str]] | ValidationError) -> None:
        ValidationError.__init__(self, errors)

    def __str__(self) -> str:
        return " ".join(self.messages)


class InvalidPolicy(InvalidFields):
    """A policy number past its bound (months, days, threshold), or a policy the pool's rules
    refuse."""


class InvalidRateCard(InvalidFields):
    """A rate-card line, price or SMS rate its rules refuse (a cost past the bound...)."""


class InactiveClient(CreditsError):
    """An inactive client keeps its history but spends, holds and receives nothing."""

    http_status = 409
    code = "client_inactive"


class InsufficientCredits(CreditsError):
    http_status = 402
    code = "insufficient_credits"

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        self.shortfall = needed - available
        super().__init__(
            _("Not enough credits: %(needed)d needed, %(available)d available (%(short)d short).")
            % {"needed": needed, "available": available, "short": self.shortfall}
        )

    def figures(self) -> dict[str, int]:
        return {"needed": self.needed, "available": self.available, "shortfall": self.shortfall}


class AssignmentExhausted(CreditsError):
    """The client may spend only what was assigned to it, and that is not enough."""

    http_status = 402
    code = "assignment_exhausted"

    def __init__(self, *, needed: int, assigned: int) -> None:
        self.needed = needed
        self.available = assigned
        self.shortfall = needed - assigned
        super().__init__(
            _(
                "Not enough credits assigned to this client: %(needed)d needed, "
                "%(assigned)d assigned (%(short)d short)."
            )
            % {"needed": needed, "assigned": assigned, "short": self.shortfall}
        )

    def figures(self) -> dict[str, int]:
        return {"needed": self.needed, "available": self.available, "shortfall": self.shortfall}


class LimitExceeded(CreditsError):
    http_status = 402
    code = "limit_reached"

    def __init__(self, *, needed: int, left: int, limit: int) -> None:
        self.needed = needed
        self.left = left
        self.limit = limit
        super().__init__(
            _(
                "Spending limit reached: %(needed)d credits needed from the pool, %(left)d left "
                "of the limit of %(limit)d."
            )
            % {"needed": needed, "left": left, "limit": limit}
        )

    def figures(self) -> dict[str, int]:
        return {
            "needed": self.needed,
            "available": self.left,
            "shortfall": self.needed - self.left,
            "limit": self.limit,
        }


class NotReassignable(CreditsError):
    http_status = 409
    code = "not_reassignable"


class ForeignClient(CreditsError):
    """Credits never move between organisations (S7)."""

    code = "foreign_client"


class HoldNotActive(CreditsError):
    http_status = 409
    code = "hold_not_active"


class HoldExpired(HoldNotActive):
    code = "hold_expired"


class IdempotencyConflict(CreditsError):
    """The key was used for another request: nothing was done again."""

    http_status = 409
    code = "idempotency_conflict"


class CreditsAlreadySpent(CreditsError):
    """Credits are not refundable (S7): a purchase whose credits were used stays paid."""

    http_status = 409
    code = "credits_already_spent"


class PricingError(CreditsError):
    """The action or its parameters cannot be priced; the message says which and why."""

    code = "pricing_error"


class QuoteExpired(CreditsError):
    http_status = 409
    code = "quote_expired"


class QuoteMismatch(CreditsError):
    http_status = 409
    code = "quote_mismatch"


class QuoteUsed(CreditsError):
    http_status = 409
    code = "quote_used"

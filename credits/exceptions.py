"""Refusals of the ledger. Each carries a message fit to show a person (X6); the API maps
them to HTTP statuses (402 for missing credits, 409 for conflicts, 400 for bad input)."""

from django.utils.translation import gettext as _


class CreditsError(Exception):
    """Base of every refusal raised by `credits.services`; nothing moved when it is raised."""

    http_status = 400


class InvalidAmount(CreditsError):
    pass


class InsufficientCredits(CreditsError):
    http_status = 402

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        self.shortfall = needed - available
        super().__init__(
            _("Not enough credits: %(needed)d needed, %(available)d available (%(short)d short).")
            % {"needed": needed, "available": available, "short": self.shortfall}
        )


class AssignmentExhausted(CreditsError):
    """The client may spend only what was assigned to it, and that is not enough."""

    http_status = 402

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


class LimitExceeded(CreditsError):
    http_status = 402

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


class NotReassignable(CreditsError):
    http_status = 409


class ForeignClient(CreditsError):
    """Credits never move between organisations (S7)."""


class HoldNotActive(CreditsError):
    http_status = 409


class HoldExpired(HoldNotActive):
    pass


class IdempotencyConflict(CreditsError):
    http_status = 409


class CreditsAlreadySpent(CreditsError):
    """Credits are not refundable (S7): a purchase whose credits were used stays paid."""

    http_status = 409

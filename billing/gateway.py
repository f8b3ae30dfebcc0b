"""The payment gateway interface, and the sandbox that ships with the portal.

A real provider plugs in behind the same two calls (set PAYMENT_GATEWAY to its class).
The portal never stores a card number: only the gateway's token, brand, last four digits and
expiry.

Sandbox test cards (any future expiry, any CVC):
  4242 4242 4242 4242   Visa, charges succeed
  5555 5555 5555 4444   Mastercard, charges succeed
  4000 0000 0000 0002   charges are declined ("Your card was declined.")
  4000 0000 0000 9995   charges are declined ("Insufficient funds.")
  4000 0000 0000 0119   charges fail with a processing error
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _


class CardRefused(Exception):
    """The card details cannot be saved (bad number, past expiry); the message says why."""


@dataclass(frozen=True)
class SavedCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    ok: bool
    reference: str = ""
    error: str = ""  # shown to the buyer when not ok
    declined: bool = False  # the bank said no (as opposed to an error on the way)


class PaymentGateway(Protocol):
    def save_card(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str, today: date
    ) -> SavedCard: ...

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str, description: str
    ) -> ChargeResult:
        """Take the money. The same idempotency key is the same charge: a gateway answers a
        repeated call with the first outcome and never charges twice."""

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        """Give back a charge (all of it); the same key refunds once."""


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return checksum % 10 == 0


SANDBOX_OUTCOMES = {
    "4242424242424242": "ok",
    "5555555555554444": "ok",
    "4000000000000002": "declined",
    "4000000000009995": "funds",
    "4000000000000119": "error",
}


class SandboxGateway:
    """Deterministic stand-in for a card processor: the outcome travels inside the token, so
    nothing about the card is stored but what a real gateway would return."""

    def save_card(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str, today: date
    ) -> SavedCard:
        number = number.replace(" ", "").replace("-", "")
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_valid(number):
            raise CardRefused(_("This card number is not valid."))
        if not (1 <= exp_month <= 12) or (exp_year, exp_month) < (today.year, today.month):
            raise CardRefused(_("This card has expired."))
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise CardRefused(_("The security code has 3 or 4 digits."))
        outcome = SANDBOX_OUTCOMES.get(number, "ok")
        brand = {"4": "Visa", "5": "Mastercard", "3": "American Express"}.get(number[0], "Card")
        return SavedCard(
            token=f"tok_sandbox_{outcome}_{secrets.token_hex(8)}",
            brand=brand,
            last4=number[-4:],
            exp_month=exp_month,
            exp_year=exp_year,
        )

    def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str, description: str
    ) -> ChargeResult:
        outcome = token.split("_")[2] if token.startswith("tok_sandbox_") else "missing"
        if outcome == "ok":
            return ChargeResult(ok=True, reference=f"ch_sandbox_{_digest(idempotency_key)}")
        if outcome == "declined":
            return ChargeResult(ok=False, error=_("Your card was declined."), declined=True)
        if outcome == "funds":
            return ChargeResult(ok=False, error=_("Insufficient funds."), declined=True)
        if outcome == "missing":
            return ChargeResult(ok=False, error=_("No card on file."), declined=True)
        return ChargeResult(ok=False, error=_("The payment could not be processed; try again."))

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ChargeResult:
        return ChargeResult(ok=True, reference=f"re_sandbox_{_digest(idempotency_key)}")


def _digest(idempotency_key: str) -> str:
    """The sandbox's stand-in for a gateway's memory of keys: the same key, the same
    reference."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()

"""The events other apps emit, one function each, so that their services add one line.

Each is called inside the transaction of the operation that causes it and returns at once
(one query when no endpoint listens). The `data` of each is what a receiver needs to act
without calling back: figures as integers, money as exact strings, times in ISO 8601 with
their offset. docs/webhooks.md shows every payload.
"""

from collections.abc import Iterable
from datetime import datetime

from webhooks.models import EventType
from webhooks.services.emission import emit, listening


def low_balance(
    *, organisation_id: int, balance: int, held: int, threshold: int, now: datetime
) -> None:
    """Available credits (balance − held) fell under the owner's threshold: once per
    crossing, with the e-mail (credits.services.alerts)."""
    emit(
        organisation_id=organisation_id,
        type=EventType.LOW_BALANCE,
        data={
            "balance": balance,
            "held": held,
            "available": balance - held,
            "threshold": threshold,
        },
        now=now,
    )


def credits_expiring(*, organisation_id: int, reminders: Iterable, now: datetime) -> None:
    """The reminder of credits that expire soon, with the e-mail: each lot (or the
    inactivity deadline, `lot` null) with its credits, expiry and the lead time reached."""
    lots = [
        {
            "lot": reminder.lot_id,
            "credits": reminder.credits,
            "expires_at": reminder.expires_at,
            "lead_days": reminder.lead_days,
        }
        for reminder in sorted(reminders, key=lambda r: (r.expires_at, r.lot_id or 0))
    ]
    emit(
        organisation_id=organisation_id,
        type=EventType.EXPIRING,
        data={"credits": sum(lot["credits"] for lot in lots), "lots": lots},
        now=now,
    )


def listening_to_expiry(organisation_ids: list[int]) -> set[int]:
    """The organisations of a batch of the expiry job that receive `credits.expired`."""
    return listening(organisation_ids, EventType.EXPIRED)


def credits_expired(
    *,
    organisation_id: int,
    lots: Iterable[tuple[int, int, datetime | None]],
    balance: int,
    now: datetime,
) -> None:
    """Credits expired: one event per organisation and expiry run, listing each lot
    (id, credits expired, its expiry; none for an inactivity expiry) and the balance after.
    The lots come as plain figures: the expiry job's batches in the database return no
    model instances."""
    expired = [
        {"lot": lot_id, "credits": credits, "expires_at": expires_at}
        for lot_id, credits, expires_at in lots
    ]
    emit(
        organisation_id=organisation_id,
        type=EventType.EXPIRED,
        data={
            "credits": sum(lot["credits"] for lot in expired),
            "balance": balance,
            "lots": expired,
        },
        now=now,
    )


def invoice_data(invoice) -> dict:
    note_for = invoice.credit_note_for
    return {
        "invoice": {
            "id": invoice.pk,
            "number": invoice.number,
            "kind": invoice.kind,
            "status": invoice.status,
            "currency": invoice.currency,
            "subtotal": invoice.subtotal,
            "tax_rate": invoice.tax_rate,
            "tax": invoice.tax,
            "total": invoice.total,
            "issued_on": invoice.issued_on,
            "due_on": invoice.due_on,
            "credit_note_for": note_for.number if note_for is not None else None,
        }
    }


def invoice_issued(invoice, *, now: datetime) -> None:
    emit(
        organisation_id=invoice.organisation_id,
        type=EventType.INVOICE_ISSUED,
        data=invoice_data(invoice),
        now=now,
    )


def invoice_paid(invoice, *, now: datetime) -> None:
    emit(
        organisation_id=invoice.organisation_id,
        type=EventType.INVOICE_PAID,
        data=invoice_data(invoice),
        now=now,
    )


def purchase_data(purchase) -> dict:
    return {
        "purchase": {
            "id": purchase.pk,
            "kind": purchase.kind,
            "origin": purchase.origin,
            "status": purchase.status,
            "method": purchase.method,
            "credits": purchase.credits,
            "amount": purchase.amount,
            "tax": purchase.tax,
            "total": purchase.total,
            "currency": purchase.currency,
            "invoice": purchase.invoice.number if purchase.invoice_id else None,
            "lot": purchase.lot_id,
        }
    }


def purchase_completed(purchase, *, now: datetime) -> None:
    """Paid by card, or invoiced on enterprise terms: credits (or the plan) granted."""
    emit(
        organisation_id=purchase.organisation_id,
        type=EventType.PURCHASE_COMPLETED,
        data=purchase_data(purchase),
        now=now,
    )

"""`locked_operation`, the one shape of every ledger operation (X1, X3): what it writes on
success, on a retry and on a refusal raised by the operation's body."""

from datetime import timedelta

import pytest

from credits import services
from credits.audit import ledger_drift
from credits.models import EntryKind, IdempotencyKey, LedgerEntry, Lot
from credits.services.core import locked_operation
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db


class Refused(Exception):
    pass


def test_x1_a_refusal_in_the_body_undoes_the_expiry_the_operation_brought_up_to_date(
    organisation, now
):
    """The expiry that runs before the body is part of the operation: a refusal undoes it too,
    so a refused request leaves the ledger exactly as it was (X1)."""
    # Given 100 credits of which 40 are past their expiry but not yet expired
    services.grant(organisation=organisation, credits=60, source="purchase", now=now)
    services.grant(
        organisation=organisation,
        credits=40,
        source="purchase",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    entries = LedgerEntry.objects.count()
    later = now + timedelta(days=2)
    # When an operation's body refuses after seeing the pool brought up to date
    seen = []

    def refuse_after_looking() -> None:
        with locked_operation(organisation.pk, now=later) as operation:
            seen.append(operation.work.pool.balance)
            raise Refused

    with pytest.raises(Refused):
        refuse_after_looking()
    # Then the body saw 60 credits, but nothing was written: still 100, no expiry entry
    assert seen == [60]
    assert pool_of(organisation) == (100, 0, 0)
    assert LedgerEntry.objects.count() == entries
    assert sorted(Lot.objects.values_list("remaining", flat=True)) == [40, 60]


def test_x3_a_keyed_operation_is_remembered_with_its_result_and_a_retry_writes_nothing(
    organisation, now
):
    """X3: the key is remembered with the id of what the body made; the same key and inputs
    again replay that id without running the body's writes."""

    # Given a keyed operation that grants through its own unit of work
    def run() -> int | None:
        with locked_operation(
            organisation.pk,
            now=now,
            key="order-7",
            operation="test",
            inputs={"credits": 5},
        ) as operation:
            if operation.replayed is not None:
                return operation.replayed
            lot = operation.result = Lot.objects.create(
                organisation_id=organisation.pk,
                source="promotion",
                quantity=5,
                remaining=5,
                created_at=now,
            )
            operation.work.entry(EntryKind.GRANT, credits=5, lot_id=lot.pk)
        return None

    # When it runs twice
    first, second = run(), run()
    # Then the first made a lot and remembered it; the second answered with that lot's id
    lot = Lot.objects.get(organisation=organisation)
    assert (first, second) == (None, lot.pk)
    assert list(IdempotencyKey.objects.values_list("key", "operation", "result_id")) == [
        ("order-7", "test", lot.pk)
    ]
    assert pool_of(organisation) == (5, 0, 0)
    assert ledger_drift() == []

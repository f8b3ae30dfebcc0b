"""Idempotency (X3) and the ledger's own defences (X1, X2)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from credits import services
from credits.audit import ledger_drift
from credits.exceptions import IdempotencyConflict, InsufficientCredits
from credits.models import ClientAccount, Consumption, CreditPool, LedgerEntry, Lot
from tests.credits.conftest import figures, pool_of

pytestmark = pytest.mark.django_db


def test_the_same_key_and_input_returns_the_first_debit_without_a_second_effect_x3(
    organisation, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    first = services.debit(
        client=own, credits=30, action_code="export", params={"rows": 30}, now=now,
        idempotency_key="req-1",
    )  # fmt: skip
    again = services.debit(
        client=own, credits=30, action_code="export", params={"rows": 30},
        now=now + timedelta(seconds=5), idempotency_key="req-1",
    )  # fmt: skip
    assert again.pk == first.pk
    assert Consumption.objects.count() == 1
    assert pool_of(organisation) == (70, 0, 0)


def test_the_same_key_with_a_different_input_is_a_conflict_and_moves_nothing_x3(organisation, now):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=30, action_code="export", now=now, idempotency_key="req-1")
    before = figures(organisation)
    with pytest.raises(IdempotencyConflict, match="“req-1” was already used"):
        services.debit(
            client=own, credits=31, action_code="export", now=now, idempotency_key="req-1"
        )
    assert figures(organisation) == before


@pytest.mark.parametrize("operation", ["grant", "assign", "hold"])
def test_retried_grants_assignments_and_holds_take_effect_once_x3(
    organisation, make_client, now, operation
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    client = make_client("List")
    calls = {
        "grant": lambda: services.grant(
            organisation=organisation, credits=50, source="purchase", now=now,
            idempotency_key="k",
        ),
        "assign": lambda: services.assign(
            organisation=organisation, client=client, credits=50, now=now, idempotency_key="k"
        ),
        "hold": lambda: services.hold(
            client=client, credits=50, expires_at=now + timedelta(days=1), now=now,
            idempotency_key="k",
        ),
    }  # fmt: skip
    first = calls[operation]()
    after_first = figures(organisation)
    assert calls[operation]().pk == first.pk
    assert figures(organisation) == after_first


def test_a_refused_request_does_not_burn_its_key_x3(organisation, now):
    own = organisation.clients.get(kind="own")
    with pytest.raises(InsufficientCredits):
        services.debit(client=own, credits=30, action_code="x", now=now, idempotency_key="k")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    consumption = services.debit(
        client=own, credits=30, action_code="x", now=now, idempotency_key="k"
    )
    assert consumption.credits == 30
    assert pool_of(organisation) == (70, 0, 0)


def test_the_database_refuses_to_change_or_delete_a_ledger_entry_x1(organisation, now):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    entry = LedgerEntry.objects.get()
    with pytest.raises(Exception, match="ledger entries are immutable"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(credits=1_000_000)
    with pytest.raises(Exception, match="ledger entries are immutable"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).credits == 100


def test_the_database_refuses_to_delete_a_lot_or_a_consumption_the_ledger_points_at_x1(
    organisation, now
):
    """Their foreign keys from ledger rows carry no constraint (debit speed): triggers keep
    the rows those links point at."""
    lot = services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    consumption = services.debit(client=own, credits=5, action_code="x", now=now)
    for table, pk in (("credits_lot", lot.pk), ("credits_consumption", consumption.pk)):
        with (
            pytest.raises(Exception, match="never deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])
    assert (Lot.objects.count(), Consumption.objects.count()) == (1, 1)


def test_ledger_check_names_a_ledger_row_pointing_into_another_organisation_s7(
    organisation, make_organisation, now, capsys
):
    """S7: credits never move between organisations; the check proves every link of every
    entry and consumption stays inside its organisation."""
    other = make_organisation("other", name="Other")
    foreign_lot = services.grant(organisation=other, credits=10, source="purchase", now=now)
    foreign_client = other.clients.get(kind="own")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    call_command("ledger_check")
    assert "ledger clean" in capsys.readouterr().out
    # Given rows written behind the services' back, linking Acme's ledger to Other's rows
    entry = LedgerEntry.objects.create(
        organisation=organisation, kind="debit", lot=foreign_lot, balance_after=100, created_at=now
    )
    consumption = Consumption.objects.create(
        organisation=organisation, client=foreign_client, action_code="x", credits=0, created_at=now
    )
    # Then the check fails and names each row and what it points at
    with pytest.raises(CommandError, match="ledger drift: 2 figure"):
        call_command("ledger_check")
    errors = capsys.readouterr().err
    assert (
        f"Acme (acme): ledger entry #{entry.pk} points at lot #{foreign_lot.pk}, which is not"
        " a row of this organisation"
    ) in errors
    assert (
        f"Acme (acme): consumption #{consumption.pk} points at client #{foreign_client.pk},"
        " which is not a row of this organisation"
    ) in errors


def test_the_database_refuses_a_negative_balance_x2(organisation, now):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditPool.objects.filter(pk=organisation.pk).update(balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditPool.objects.filter(pk=organisation.pk).update(held=5)  # more held than balance
    lot = services.grant(organisation=organisation, credits=10, source="purchase", now=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(remaining=11)


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        ("CreditPool", "balance", -1),
        ("CreditPool", "held", -1),
        ("CreditPool", "assigned", -1),
        ("CreditPool", "low_balance_threshold", -1),
        ("ClientAccount", "assigned_remaining", -1),
        ("ClientAccount", "used", -1),
        ("Lot", "remaining", -1),
        ("Lot", "quantity", 0),
        ("Consumption", "from_pool", -1),
        ("Hold", "credits", 0),
        ("Assignment", "credits", 0),
    ],
)
def test_the_database_refuses_every_negative_count_and_changes_nothing_x2(
    organisation, make_client, now, model, field, value
):
    """X2: on PostgreSQL each count's type (a domain) refuses it, on SQLite a column CHECK;
    either way the database says no on its own, whatever code wrote the value."""
    from credits import models

    client = make_client("Lists")
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    services.assign(organisation=organisation, client=client, credits=20, now=now)
    services.debit(client=client, credits=25, action_code="send", now=now)
    services.hold(client=client, credits=10, now=now, expires_at=now + timedelta(hours=1))
    rows = getattr(models, model).objects.filter(organisation=organisation)
    before = (figures(organisation), list(rows.values_list(field, flat=True)))
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(**{field: value})
    assert (figures(organisation), list(rows.values_list(field, flat=True))) == before


def test_ledger_check_is_clean_after_normal_work_and_names_a_drift_x1(
    organisation, make_client, now, capsys
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    services.assign(organisation=organisation, client=make_client("A"), credits=40, now=now)
    call_command("ledger_check")
    assert "ledger clean" in capsys.readouterr().out
    # Given a figure changed behind the services' back
    CreditPool.objects.filter(pk=organisation.pk).update(balance=90)
    # Then the check fails and names the organisation and the figure
    with pytest.raises(CommandError, match="ledger drift: 2 figure"):
        call_command("ledger_check")
    errors = capsys.readouterr().err
    assert "Acme (acme): balance is 90, entries add up to 100" in errors
    assert "Acme (acme): balance (lots) is 90, entries add up to 100" in errors


def test_ledger_check_names_a_counter_that_moved_without_a_limit_x1(
    organisation, make_client, now, capsys
):
    """X1, D4: a client without a limit counts nothing, so a counter that moved is a drift."""
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    news = make_client("Newsletter")
    services.debit(client=news, credits=10, action_code="send", now=now)
    # Given a counter changed behind the services' back
    ClientAccount.objects.filter(pk=news.pk).update(used=5)
    # Then the check fails and says both what the entries add up to and that nothing counts
    with pytest.raises(CommandError, match="ledger drift: 2 figure"):
        call_command("ledger_check")
    errors = capsys.readouterr().err
    assert "Acme (acme): client “Newsletter” used is 5, entries add up to 0" in errors
    assert "Acme (acme): client “Newsletter” used without a limit is 5, entries add up to 0" in (
        errors
    )


def test_a_retry_after_a_lot_expired_returns_the_first_result_and_leaves_the_ledger_exact_x3(
    organisation, now
):
    """X1, X3: answering a retry writes nothing, not even the expiry that is due (the expiry
    job or the next real operation writes it with its entries)."""
    services.grant(
        organisation=organisation,
        credits=100,
        source="purchase",
        now=now,
        expires_at=now + timedelta(days=1),
    )
    own = organisation.clients.get(kind="own")
    first = services.debit(client=own, credits=10, action_code="x", now=now, idempotency_key="k")
    again = services.debit(
        client=own, credits=10, action_code="x", now=now + timedelta(days=2), idempotency_key="k"
    )
    assert again.pk == first.pk
    assert ledger_drift() == []
    assert services.expire_due(now=now + timedelta(days=2)).credits_expired == 90
    assert pool_of(organisation) == (0, 0, 0)
    assert ledger_drift() == []

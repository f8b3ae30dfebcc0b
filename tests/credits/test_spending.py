"""Spending order and debits: assigned first, then the pool; lots soonest-expiry first."""

from datetime import timedelta

import pytest

from credits import services
from credits.audit import ledger_drift
from credits.exceptions import (
    AssignmentExhausted,
    ForeignClient,
    InsufficientCredits,
    InvalidAmount,
)
from credits.models import Consumption, EntryKind, LedgerEntry, Lot
from tests.credits.conftest import assigned_of, figures, pool_of

pytestmark = pytest.mark.django_db


def test_a_debit_takes_the_soonest_expiring_lot_first_and_never_expiring_last(organisation, now):
    # Given a never-expiring lot, a lot expiring in 60 days and one expiring in 30 days
    never = services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    later = services.grant(
        organisation=organisation,
        credits=100,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=60),
    )
    sooner = services.grant(
        organisation=organisation,
        credits=50,
        source="promotion",
        now=now,
        expires_at=now + timedelta(days=30),
    )
    own = organisation.clients.get(kind="own")
    # When 170 credits are spent
    consumption = services.debit(client=own, credits=170, action_code="export", now=now)
    # Then the 30-day lot is emptied, then the 60-day lot, and the never-expiring one is untouched
    paid = list(
        LedgerEntry.objects.filter(consumption=consumption)
        .order_by("pk")
        .values_list("lot_id", "credits")
    )
    assert paid == [(sooner.pk, -50), (later.pk, -100), (never.pk, -20)]
    assert pool_of(organisation) == (80, 0, 0)
    assert ledger_drift() == []


def test_lots_with_the_same_expiry_are_spent_oldest_first(organisation, now):
    expiry = now + timedelta(days=30)
    first = services.grant(
        organisation=organisation, credits=10, source="purchase", now=now, expires_at=expiry
    )
    second = services.grant(
        organisation=organisation,
        credits=10,
        source="purchase",
        now=now + timedelta(minutes=1),
        expires_at=expiry,
    )
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=15, action_code="x", now=now + timedelta(minutes=2))
    assert list(Lot.objects.order_by("pk").values_list("pk", "remaining")) == [
        (first.pk, 0),
        (second.pk, 5),
    ]


def test_a_debit_one_lot_can_pay_comes_from_the_oldest_of_lots_expiring_together_m2(
    organisation, now
):
    """The common case, where the first lot in spending order pays for the whole debit."""
    first = services.grant(organisation=organisation, credits=10, source="purchase", now=now)
    second = services.grant(
        organisation=organisation, credits=10, source="purchase", now=now + timedelta(minutes=1)
    )
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=4, action_code="x", now=now + timedelta(minutes=2))
    assert list(Lot.objects.order_by("pk").values_list("pk", "remaining")) == [
        (first.pk, 6),
        (second.pk, 10),
    ]


def test_a_client_spends_its_assigned_credits_before_the_pool(organisation, make_client, now):
    """S5, G3: assigned credits first, then the unassigned pool."""
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    marketing = make_client("Marketing")
    services.assign(organisation=organisation, client=marketing, credits=30, now=now)
    consumption = services.debit(client=marketing, credits=50, action_code="sms", now=now)
    assert (consumption.from_assigned, consumption.from_pool) == (30, 20)
    assert assigned_of(marketing) == 0
    assert pool_of(organisation) == (950, 0, 0)
    assert ledger_drift() == []


def test_a_client_that_may_not_draw_from_the_pool_is_refused_beyond_its_assignment_g3(
    organisation, make_client, now
):
    """G3: in the serious-game preset a client spends only what was assigned to it."""
    services.apply_preset(organisation=organisation, preset="serious_game")
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    acme = make_client("Acme Training", kind="customer")
    services.assign(organisation=organisation, client=acme, credits=12, now=now)
    before = figures(organisation)
    with pytest.raises(AssignmentExhausted, match="18 needed, 12 assigned"):
        services.debit(client=acme, credits=18, action_code="enrol", now=now)
    assert figures(organisation) == before
    assert Consumption.objects.count() == 0


def test_a_debit_beyond_the_balance_is_refused_whole_and_moves_nothing_x6(organisation, now):
    services.grant(organisation=organisation, credits=40, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    before = figures(organisation)
    with pytest.raises(InsufficientCredits) as refusal:
        services.debit(client=own, credits=41, action_code="export", now=now)
    assert (refusal.value.needed, refusal.value.available, refusal.value.shortfall) == (41, 40, 1)
    assert figures(organisation) == before


def test_assigned_credits_of_other_clients_are_not_available_to_the_pool(
    organisation, make_client, now
):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    services.assign(organisation=organisation, client=make_client("A"), credits=80, now=now)
    own = organisation.clients.get(kind="own")
    before = figures(organisation)
    with pytest.raises(InsufficientCredits, match="30 needed, 20 available"):
        services.debit(client=own, credits=30, action_code="x", now=now)
    assert figures(organisation) == before


@pytest.mark.parametrize("bad", [0.5, -3, True, "10"])
def test_credits_must_be_positive_whole_numbers_x6(organisation, now, bad):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    before = figures(organisation)
    with pytest.raises(InvalidAmount):
        services.debit(client=own, credits=bad, action_code="x", now=now)
    assert figures(organisation) == before


def test_a_free_action_is_recorded_without_touching_any_figure_c1(organisation, now):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    before = figures(organisation)
    consumption = services.debit(client=own, credits=0, action_code="search", now=now)
    assert (consumption.action_code, consumption.credits) == ("search", 0)
    assert figures(organisation) == before


def test_a_client_of_another_organisation_cannot_spend_this_pool_s7(
    organisation, make_organisation, now
):
    other = make_organisation("other")
    services.grant(organisation=other, credits=100, source="purchase", now=now)
    stranger = organisation.clients.get(kind="own")
    before = figures(other)
    with pytest.raises(ForeignClient):
        services.assign(organisation=other, client=stranger, credits=10, now=now)
    assert figures(other) == before


def test_each_debit_entry_records_the_balance_after_it(organisation, now):
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    services.debit(client=own, credits=30, action_code="x", now=now)
    services.debit(client=own, credits=5, action_code="x", now=now)
    kinds = list(LedgerEntry.objects.order_by("pk").values_list("kind", "credits", "balance_after"))
    assert kinds == [
        (EntryKind.GRANT, 100, 100),
        (EntryKind.DEBIT, -30, 70),
        (EntryKind.DEBIT, -5, 65),
    ]

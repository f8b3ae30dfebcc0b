"""Every number and text that enters a credits service is bounded (X6, issue 13).

The probe calls each public service of `credits.services` that takes a number (credits,
units, months, days, thresholds, unit costs) or a text kept in a column of fixed length, with
out-of-range values, on SQLite and on PostgreSQL: each must be refused with a `DomainError`
that says why, before anything is written (figures, lots, entries, rows, the pool's policy).
Before issue 13 these calls raised `DataError`, `OverflowError`, `InvalidOperation` or
`ValueError`, or (SQLite keeps any length and any integer a column is given) were accepted.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clients import services as client_services
from config.errors import DomainError
from credits import bounds, services
from credits.models import (
    ActionPrice,
    Assignment,
    BillableAction,
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    IdempotencyKey,
    LedgerEntry,
    Lot,
    Quote,
    SmsRate,
)

pytestmark = pytest.mark.django_db

HUGE = 10**5000  # 5,000 digits: past Python's own int-to-text limit (4,300 digits)
OVER = 2**63  # one past a bigint
TOP = 2**63 - 1  # a bigint, but any sum with it overflows


@dataclass
class World:
    organisation: object
    client: object
    hold: object
    action: BillableAction
    now: object


@pytest.fixture
def world(make_organisation, now):
    """An organisation of the data provider's preset (per-unit actions) with 1000 credits, a
    client with 100 of them assigned, and an active hold of 10."""
    organisation = make_organisation("acme", name="Acme", preset="data_provider")
    client = client_services.create_client(organisation=organisation, name="Sales")
    services.grant(organisation=organisation, credits=1000, source="purchase", now=now)
    services.assign(organisation=organisation, client=client, credits=100, now=now)
    hold = services.hold(client=client, credits=10, expires_at=now + timedelta(hours=1), now=now)
    action = BillableAction.objects.get(organisation=organisation, code="crm_enrichment")
    BillableAction.objects.create(
        organisation=organisation,
        code="legal_check",
        name="Legal check",
        rule="table",
        table_params=["service"],
    )
    return World(organisation, client, hold, action, now)


def everything(world: World) -> dict[str, object]:
    """Every row and figure a refused call must leave as it was."""
    return {
        "pool": CreditPool.objects.filter(pk=world.organisation.pk).values().get(),
        "accounts": list(ClientAccount.objects.order_by("pk").values()),
        "lots": list(Lot.objects.order_by("pk").values_list("pk", "quantity", "remaining")),
        "entries": LedgerEntry.objects.count(),
        "holds": list(Hold.objects.order_by("pk").values_list("pk", "status", "credits")),
        "rows": [
            model.objects.count()
            for model in (
                Assignment,
                Consumption,
                Quote,
                IdempotencyKey,
                BillableAction,
                ActionPrice,
                SmsRate,
            )
        ],
        "actions": list(BillableAction.objects.order_by("pk").values_list("pk", "credits")),
    }


def _grant(**values: object) -> Callable[[World], object]:
    def call(w: World) -> object:
        arguments = {"credits": 10, "source": "purchase", **values}
        return services.grant(organisation=w.organisation, now=w.now, **arguments)

    return call


def _adjust(credits: object, reason: str = "correction") -> Callable[[World], object]:
    return lambda w: services.adjust(
        organisation=w.organisation, credits=credits, reason=reason, now=w.now
    )


def _assign(credits: object, reference: str = "") -> Callable[[World], object]:
    return lambda w: services.assign(
        organisation=w.organisation,
        client=w.client,
        credits=credits,
        reference=reference,
        now=w.now,
    )


def _unassign(credits: object) -> Callable[[World], object]:
    return lambda w: services.unassign(
        organisation=w.organisation, client=w.client, credits=credits, now=w.now
    )


def _limit(limit: object) -> Callable[[World], object]:
    return lambda w: services.set_spending_limit(
        client=w.client, kind="monthly", limit=limit, now=w.now
    )


def _debit(credits: object = 1, **values: object) -> Callable[[World], object]:
    return lambda w: services.debit(
        client=w.client,
        credits=credits,
        action_code=values.get("action_code", "manual"),
        description=values.get("description", ""),
        now=w.now,
    )


def _hold(credits: object = 1, description: str = "") -> Callable[[World], object]:
    return lambda w: services.hold(
        client=w.client,
        credits=credits,
        description=description,
        expires_at=w.now + timedelta(hours=1),
        now=w.now,
    )


def _capture(credits: object) -> Callable[[World], object]:
    return lambda w: services.capture(hold=w.hold, credits=credits, now=w.now)


def _consume(records: object) -> Callable[[World], object]:
    return lambda w: services.consume(
        client=w.client, action="crm_enrichment", params={"records": records}, now=w.now
    )


def _quote(records: object) -> Callable[[World], object]:
    return lambda w: services.quote(
        client=w.client, action="crm_enrichment", params={"records": records}, now=w.now
    )


def _hold_action(records: object) -> Callable[[World], object]:
    return lambda w: services.hold_action(
        client=w.client,
        action="crm_enrichment",
        params={"records": records},
        expires_at=w.now + timedelta(hours=1),
        now=w.now,
    )


def _policy(**policy: object) -> Callable[[World], object]:
    return lambda w: services.update_policy(organisation=w.organisation, **policy)


def _alerts(**values: object) -> Callable[[World], object]:
    def call(w: World) -> object:
        arguments = {"reminder_days": 30, "second_reminder_days": 7, "low_balance_threshold": 0}
        return services.set_alert_policy(organisation=w.organisation, **{**arguments, **values})

    return call


def _save_action(credits: object) -> Callable[[World], object]:
    def call(w: World) -> object:
        w.action.credits = credits
        return services.save_action(action=w.action)

    return call


def _save_price(credits: object) -> Callable[[World], object]:
    def call(w: World) -> object:
        table = BillableAction.objects.get(organisation=w.organisation, code="legal_check")
        return services.save_action_price(
            row=ActionPrice(
                action=table, match=dict.fromkeys(table.table_params, "x"), credits=credits
            )
        )

    return call


def _save_sms_rate(credits: object) -> Callable[[World], object]:
    return lambda w: services.save_sms_rate(
        rate=SmsRate(
            organisation=w.organisation,
            country="FR",
            name="France",
            calling_code="33",
            credits_per_segment=credits,
        )
    )


def _import_sms_rates(credits: str) -> Callable[[World], object]:
    return lambda w: services.import_sms_rates(
        organisation=w.organisation,
        csv_text=f"country,name,calling_code,credits_per_segment\nFR,France,33,{credits}\n",
    )


REASON_201 = "r" * 201  # a lot's reference holds 200 characters
REASON_301 = "r" * 301  # an entry's reference holds 300

CASES: dict[str, Callable[[World], object]] = {
    # credits in
    "grant 2**63": _grant(credits=OVER),
    "grant 2**63-1 (the balance overflows)": _grant(credits=TOP),
    "grant 5,000 digits": _grant(credits=HUGE),
    "grant unit cost 1e100000": _grant(unit_cost=Decimal("1e100000")),
    "grant unit cost NaN": _grant(unit_cost=Decimal("NaN")),
    "grant unit cost Infinity": _grant(unit_cost=Decimal("Infinity")),
    "grant unit cost float inf": _grant(unit_cost=float("inf")),
    "grant unit cost 10**9": _grant(unit_cost=Decimal("1000000000")),
    "grant reference of 201 characters": _grant(reference=REASON_201),
    "adjust +2**63-1": _adjust(TOP),
    "adjust +2**63": _adjust(OVER),
    "adjust -2**63-1": _adjust(-(2**63) - 1),
    "adjust 5,000 digits": _adjust(HUGE),
    "adjust reason of 201 characters": _adjust(5, REASON_201),
    "adjust -5 reason of 301 characters": _adjust(-5, REASON_301),
    # assignments and limits
    "assign 2**63": _assign(OVER),
    "assign 2**63-1": _assign(TOP),
    "assign 5,000 digits": _assign(HUGE),
    "assign reference of 201 characters": _assign(5, REASON_201),
    "unassign 2**63": _unassign(OVER),
    "spending limit 2**63": _limit(OVER),
    "spending limit 2**63-1": _limit(TOP),
    "spending limit 5,000 digits": _limit(HUGE),
    # credits out
    "debit 2**63": _debit(OVER),
    "debit 2**63-1": _debit(TOP),
    "debit 5,000 digits": _debit(HUGE),
    "debit action code of 65 characters": _debit(1, action_code="a" * 65),
    "debit description of 301 characters": _debit(1, description="d" * 301),
    "hold 2**63": _hold(OVER),
    "hold 2**63-1": _hold(TOP),
    "hold description of 301 characters": _hold(1, description="d" * 301),
    "capture 2**63": _capture(OVER),
    # priced actions
    "consume 2**62 units (2 credits each)": _consume(2**62),
    "consume 2**63 units": _consume(OVER),
    "consume 5,000 digits of units": _consume(HUGE),
    "quote 2**62 units": _quote(2**62),
    "quote 5,000 digits of units": _quote(HUGE),
    "hold an action of 2**62 units": _hold_action(2**62),
    "hold an action of 5,000 digits of units": _hold_action(HUGE),
    # policies
    "policy 120000 months": _policy(expiry_kind="after_purchase", expiry_months=120_000),
    "policy 1201 months": _policy(expiry_kind="after_purchase", expiry_months=1201),
    "policy 2**63 months": _policy(expiry_months=OVER),
    "policy 40000 reminder days": _policy(reminder_days=40_000),
    "policy 366 second reminder days": _policy(second_reminder_days=366),
    "policy threshold 2**63": _policy(low_balance_threshold=OVER),
    "policy threshold 5,000 digits": _policy(low_balance_threshold=HUGE),
    "alert threshold 2**63": _alerts(low_balance_threshold=OVER),
    "alert reminder 5,000 digits": _alerts(reminder_days=HUGE),
    # the rate card
    "action costing 2**63": _save_action(OVER),
    "action costing 10**13": _save_action(10**13),
    "table price 2**63": _save_price(OVER),
    "SMS rate 2**63": _save_sms_rate(OVER),
    "SMS rate of 5,000 digits imported": _import_sms_rates("9" * 5000),
    "SMS rate 2**63 imported": _import_sms_rates(str(OVER)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_out_of_range_input_is_a_domain_error_and_moves_nothing_x6(database, world, case):
    """X6 (issue 13): each out-of-range call is refused with a DomainError that says why,
    and no figure, lot, entry, row or policy moved."""
    # given an organisation with credits, an assignment and a hold
    before = everything(world)
    # when a service is called with an out-of-range number or an over-long text
    try:
        outcome = CASES[case](world)
    except DomainError as refusal:
        outcome = refusal
    except Exception as error:
        outcome = error
    # then it is refused as a domain error with a message, and nothing moved
    assert isinstance(outcome, DomainError), f"{case}: {type(outcome).__name__}: {outcome!r:.200}"
    assert str(outcome).strip()
    assert everything(world) == before


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"expiry_months": bounds.MAX_MONTHS + 1}, "expiry_months"),
        ({"reminder_days": bounds.MAX_DAYS + 1}, "reminder_days"),
        ({"low_balance_threshold": bounds.MAX_CREDITS + 1}, "low_balance_threshold"),
    ],
)
def test_a_policy_past_its_bound_names_its_field_x6(world, policy, field):
    """X6 (issue 13): the refusal is also a ValidationError on the field, so a form shows it
    next to the field; the policy stays as it was."""
    # given the pool's policy as it is
    before = everything(world)
    # when one of its numbers is past its bound
    with pytest.raises(ValidationError) as refusal:
        services.update_policy(organisation=world.organisation, **policy)
    # then the field is named and nothing changed
    assert list(refusal.value.message_dict) == [field]
    assert isinstance(refusal.value, DomainError)
    assert everything(world) == before


def test_the_largest_operation_still_goes_through_x6(world):
    """Issue 13: the bound refuses only what is past it: MAX_CREDITS itself is granted."""
    # given the organisation's 1000 credits
    # when the largest single grant is made
    services.grant(
        organisation=world.organisation,
        credits=bounds.MAX_CREDITS,
        source="promotion",
        now=world.now,
    )
    # then the balance holds both
    assert CreditPool.objects.get(pk=world.organisation.pk).balance == 1000 + bounds.MAX_CREDITS


def test_an_adjustment_refused_for_its_size_says_the_bound_x6(world):
    """Issue 13: the message names the largest number of credits one operation moves."""
    # when an adjustment of 2**63-1 credits is asked
    with pytest.raises(DomainError) as refusal:
        services.adjust(organisation=world.organisation, credits=TOP, reason="typo", now=world.now)
    # then the message says the bound
    assert str(refusal.value) == "One operation moves at most 1,000,000,000,000 credits."


def test_a_policy_of_120000_months_is_refused_and_the_next_purchase_works_x6(world):
    """Issue 13: on SQLite a policy of 120000 months was accepted, after which every grant of
    the organisation failed (the expiry date is past the year 9999)."""
    # when the policy is set to 120000 months
    with pytest.raises(DomainError):
        services.update_policy(
            organisation=world.organisation, expiry_kind="after_purchase", expiry_months=120_000
        )
    # then the next purchase is granted with the policy as it was (never expires)
    lot = services.grant(
        organisation=world.organisation, credits=5, source="purchase", now=world.now
    )
    assert (lot.quantity, lot.expires_at) == (5, None)

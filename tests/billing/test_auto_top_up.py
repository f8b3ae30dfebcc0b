"""Automatic top-up (B2): when available credits fall under the owner's threshold, one
purchase of the configured credits with the card on file per crossing, within a monthly cap;
failures e-mailed, three in a row turn it off.

Prices (tests/billing/conftest.py): 100 credits cost 180.00 + 20 % VAT = 216.00 EUR.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing import services
from billing.exceptions import BillingError, OutOfBounds
from billing.models import AutoTopUp, Invoice, Purchase
from billing.services import top_up
from clients.models import Client, ClientKind
from credits import services as credit_services
from credits.models import CreditPool, LotSource, Notice
from tests.billing.conftest import T0, switch_on_top_up

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


def spend(organisation, credits: int, now=T0) -> None:
    credit_services.debit(
        client=own_client(organisation), credits=credits, action_code="x", now=now
    )


def available(organisation) -> int:
    pool = CreditPool.objects.get(pk=organisation.pk)
    return pool.balance - pool.held


def notices(mailoutbox) -> list[str]:
    """The subjects of the top-up's e-mails (invoice e-mails left aside)."""
    return [message.subject for message in mailoutbox if "top-up" in message.subject]


@pytest.fixture
def acme(make_organisation, default_prices, card, recording_gateway):
    """1,000 credits, a card on file; top up 100 credits under 500, at most 500.00 a month."""
    organisation = make_organisation("acme", name="Acme", preset="data_provider")
    card(organisation)
    credit_services.grant(
        organisation=organisation, credits=1000, source=LotSource.PURCHASE, now=T0
    )
    switch_on_top_up(organisation)
    return organisation


def test_crossing_the_threshold_buys_the_configured_credits_once_with_an_invoice_b2(
    acme, recording_gateway
):
    # Given 1,000 credits and a top-up of 100 under 500
    # When 800 are spent (200 available) and the top-up runs, twice
    spend(acme, 800)
    bought = services.run_auto_top_up(organisation=acme, now=T0)
    again = services.run_auto_top_up(organisation=acme, now=T0 + timedelta(minutes=1))
    # Then one paid purchase of 100 credits, by the top-up, with its invoice and the credits
    assert again is None
    purchase = Purchase.objects.get()
    assert (purchase.pk, purchase.origin, purchase.status, purchase.credits) == (
        bought.pk,
        "auto_top_up",
        "paid",
        100,
    )
    assert purchase.idempotency_key == f"auto-top-up-{acme.pk}-1"
    assert Invoice.objects.get().purchase == purchase
    assert recording_gateway.taken == [Decimal("216.00")]
    assert available(acme) == 300
    # And it stays disarmed while still under the threshold (one purchase per crossing)
    assert AutoTopUp.objects.get(pk=acme.pk).armed is False


def test_back_above_the_threshold_rearms_and_the_next_crossing_buys_again_b2(
    acme, recording_gateway
):
    # Given a top-up that brought 400 available back to 500
    spend(acme, 600)
    services.run_auto_top_up(organisation=acme, now=T0)
    assert available(acme) == 500
    # When the job sees it at the threshold (re-arm), then 100 more are spent
    services.run_auto_top_ups(now=T0 + timedelta(minutes=1))
    assert AutoTopUp.objects.get(pk=acme.pk).armed is True
    spend(acme, 100, T0 + timedelta(minutes=2))
    services.run_auto_top_ups(now=T0 + timedelta(minutes=2))
    # Then a second purchase, with the next key
    assert list(Purchase.objects.order_by("pk").values_list("idempotency_key", "status")) == [
        (f"auto-top-up-{acme.pk}-1", "paid"),
        (f"auto-top-up-{acme.pk}-2", "paid"),
    ]
    assert recording_gateway.taken == [Decimal("216.00")] * 2


def test_the_monthly_cap_stops_the_next_top_up_until_next_month_b2(
    acme, recording_gateway, mailoutbox
):
    # Given a cap of 300.00 a month and one top-up of 216.00 already this month
    switch_on_top_up(acme, cap="300.00")
    spend(acme, 600)
    services.run_auto_top_up(organisation=acme, now=T0)
    services.run_auto_top_ups(now=T0 + timedelta(minutes=1))  # back at 500: re-armed
    # When the next crossing comes (a second one would make 432.00)
    spend(acme, 100, T0 + HOUR)
    assert services.run_auto_top_up(organisation=acme, now=T0 + HOUR) is None
    services.run_auto_top_ups(now=T0 + 2 * HOUR)
    # Then nothing is bought, and the owners are told once
    assert Purchase.objects.count() == 1
    assert notices(mailoutbox) == ["Automatic top-up paused at Acme: monthly cap reached"]
    assert "Automatic top-ups resume on 1 April 2026" in mailoutbox[-1].body
    # When April comes (in Paris), then the top-up buys again
    april = T0.replace(month=4, day=1, hour=0, minute=0)
    services.run_auto_top_ups(now=april)
    assert Purchase.objects.count() == 2
    assert recording_gateway.taken == [Decimal("216.00")] * 2


def test_a_declined_card_three_times_in_a_row_turns_it_off_with_a_notice_b2(
    acme, recording_gateway, mailoutbox
):
    # Given a card the bank declines three times
    recording_gateway.script = ["declined"] * 3
    spend(acme, 600)
    # When the top-up runs at the crossing, then every hour (the retry delay)
    services.run_auto_top_up(organisation=acme, now=T0)
    services.run_auto_top_ups(now=T0 + HOUR / 2)  # too early: nothing
    services.run_auto_top_ups(now=T0 + HOUR)
    services.run_auto_top_ups(now=T0 + 2 * HOUR)
    services.run_auto_top_ups(now=T0 + 3 * HOUR)  # off: nothing
    # Then three declined purchases, no money taken, and the top-up is off with its reason
    assert list(Purchase.objects.values_list("status", flat=True)) == ["declined"] * 3
    assert recording_gateway.taken == []
    settings = AutoTopUp.objects.get(pk=acme.pk)
    assert (settings.enabled, settings.consecutive_failures, settings.disabled_reason) == (
        False,
        3,
        "Your card was declined.",
    )
    # And the owners heard of each failure, the third as the notice that it is off
    assert notices(mailoutbox) == [
        "Automatic top-up failed at Acme",
        "Automatic top-up failed at Acme",
        "Automatic top-up turned off at Acme",
    ]
    assert "failed 3 times in a row, so it is now turned off" in mailoutbox[-1].body
    assert list(Notice.objects.order_by("pk").values_list("kind", flat=True)) == [
        "top_up_failure",
        "top_up_failure",
        "top_up_disabled",
    ]


def test_a_success_after_a_failure_resets_the_count_b2(acme, recording_gateway):
    # Given one declined attempt
    recording_gateway.script = ["declined"]
    spend(acme, 600)
    services.run_auto_top_up(organisation=acme, now=T0)
    assert AutoTopUp.objects.get(pk=acme.pk).consecutive_failures == 1
    # When the retry an hour later is paid
    services.run_auto_top_ups(now=T0 + HOUR)
    # Then the count is back to 0
    assert AutoTopUp.objects.get(pk=acme.pk).consecutive_failures == 0
    assert recording_gateway.taken == [Decimal("216.00")]


def test_the_job_tops_up_only_organisations_under_their_threshold_b2(
    acme, make_organisation, card, recording_gateway
):
    # Given Acme under its threshold and Beta above its own
    beta = make_organisation("beta", name="Beta", preset="data_provider")
    card(beta)
    credit_services.grant(organisation=beta, credits=1000, source=LotSource.PURCHASE, now=T0)
    switch_on_top_up(beta, threshold=100)
    spend(acme, 600)
    # When the job runs twice
    first = services.run_auto_top_ups(now=T0)
    second = services.run_auto_top_ups(now=T0 + timedelta(minutes=1))
    # Then Acme alone bought once
    assert (first.bought, second.bought) == (1, 0)
    assert list(Purchase.objects.values_list("organisation__slug", flat=True)) == ["acme"]


def test_a_claim_whose_worker_died_is_carried_out_by_the_job_once_b2_x4(acme, recording_gateway):
    # Given a crossing claimed by a worker that died before it bought anything
    spend(acme, 600)
    AutoTopUp.objects.filter(pk=acme.pk).update(
        armed=False, next_attempt_at=T0 + top_up.CLAIM_LEASE
    )
    # When the job runs before the claim's lease ends, then nothing happens
    services.run_auto_top_ups(now=T0 + timedelta(minutes=5))
    assert Purchase.objects.count() == 0
    # When it runs after, twice
    services.run_auto_top_ups(now=T0 + timedelta(minutes=11))
    services.run_auto_top_ups(now=T0 + timedelta(minutes=12))
    # Then the crossing got its one purchase
    assert list(Purchase.objects.values_list("status", flat=True)) == ["paid"]
    assert recording_gateway.taken == [Decimal("216.00")]


def test_a_top_up_whose_charge_answer_was_lost_is_finished_without_a_second_charge_b2_x4(
    acme, recording_gateway
):
    # Given the gateway's answer lost after it charged (the purchase stays "charging")
    recording_gateway.script = ["timeout_after"]
    spend(acme, 800)
    assert services.run_auto_top_up(organisation=acme, now=T0).status == "charging"
    # When the top-up job and the settle job run after the leases
    later = T0 + timedelta(minutes=11)
    services.run_auto_top_ups(now=later)
    services.settle_purchases(now=later)
    services.run_auto_top_ups(now=later + timedelta(minutes=1))
    # Then one purchase, paid, charged once; the crossing is done (still under, not re-armed)
    assert list(Purchase.objects.values_list("status", flat=True)) == ["paid"]
    assert recording_gateway.taken == [Decimal("216.00")]
    settings = AutoTopUp.objects.get(pk=acme.pk)
    assert (settings.armed, settings.next_attempt_at) == (False, None)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"credits": 0}, BillingError, "Buy at least 1 credit per top-up."),
        ({"credits": 10**10}, OutOfBounds, "One purchase is limited to 1,000,000,000 credits"),
        (
            {"monthly_cap": Decimal("200.00")},
            BillingError,
            "The monthly cap must cover at least one top-up: €216.00.",
        ),
        ({"monthly_cap": Decimal("300.001")}, BillingError, "at most two decimals"),
        ({"monthly_cap": 300.0}, BillingError, "at most two decimals"),
        ({"threshold": 0}, BillingError, "The threshold is a whole number of credits, at least 1."),
        ({"threshold": -5}, BillingError, "The threshold is a whole number of credits"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes_b2_x6(acme, changes, error, message):
    # Given saved settings (under 500, buy 100, at most 500.00)
    before = list(AutoTopUp.objects.values())
    settings = {
        "enabled": True,
        "threshold": 500,
        "credits": 100,
        "monthly_cap": Decimal("500.00"),
        **changes,
    }
    # When the owner saves a bad change, then it is refused with a clear message
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        services.configure_auto_top_up(organisation=acme, now=T0 + HOUR, **settings)
    # And nothing changed
    assert list(AutoTopUp.objects.values()) == before


def test_turning_it_on_without_a_card_is_refused_and_nothing_is_saved_b2_x6(
    make_organisation, default_prices
):
    # Given an organisation without a card on file
    organisation = make_organisation("nocard", preset="data_provider")
    # When the owner turns automatic top-up on, then it is refused
    with pytest.raises(BillingError, match="Add a card on the billing page"):
        switch_on_top_up(organisation)
    # And nothing was saved
    assert AutoTopUp.objects.count() == 0


def test_turning_it_on_again_starts_afresh_b2(acme, recording_gateway):
    # Given a top-up turned off by three declines
    recording_gateway.script = ["declined"] * 3
    spend(acme, 600)
    for hours in range(3):
        services.run_auto_top_ups(now=T0 + hours * HOUR)
    assert AutoTopUp.objects.get(pk=acme.pk).enabled is False
    # When the owner turns it on again
    services.configure_auto_top_up(
        organisation=acme,
        enabled=True,
        threshold=500,
        credits=100,
        monthly_cap=Decimal("500.00"),
        now=T0 + 4 * HOUR,
    )
    # Then it is armed, with no failures, and buys at the next run
    settings = AutoTopUp.objects.get(pk=acme.pk)
    assert (settings.armed, settings.consecutive_failures, settings.disabled_reason) == (
        True,
        0,
        "",
    )
    services.run_auto_top_ups(now=T0 + 4 * HOUR)
    assert recording_gateway.taken == [Decimal("216.00")]


def test_the_beat_task_runs_the_top_up_job_k2(acme, recording_gateway):
    """billing.run_auto_top_ups, every minute: the job with the current time."""
    from billing import tasks

    # Given the organisation under its threshold
    spend(acme, 600)
    # When the beat runs the task, then it bought once
    assert tasks.run_auto_top_ups() == {"rearmed": 0, "checked": 1, "bought": 1}
    assert recording_gateway.taken == [Decimal("216.00")]

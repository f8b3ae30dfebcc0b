"""The alerts page (D3, B1, B2, X5, X6): everyone sees it; only the owner changes the lead
times, the low-balance threshold and the automatic top-up; bad input is refused and changes
nothing; the notices sent are listed, newest first.

Prices: the demo catalogue's default EUR list, 100 credits at 1.80 + 20 % VAT = 216.00.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services as billing_services
from billing.models import AutoTopUp
from credits import services
from credits.models import CreditPool, Notice, NoticeKind
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db

TOP_UP = {"enabled": "on", "threshold": "500", "credits": "100", "monthly_cap": "500.00"}
POLICY = {"reminder_days": "45", "second_reminder_days": "10", "low_balance_threshold": "300"}


@pytest.fixture
def alpha(make_portal, catalogue):
    portal = make_portal("alpha", preset="data_provider")
    set_up_billing(portal.organisation, None, enterprise=False, now=timezone.now())
    return portal


def policy_of(portal) -> tuple[int, int, int]:
    pool = CreditPool.objects.get(pk=portal.organisation.pk)
    return pool.reminder_days, pool.second_reminder_days, pool.low_balance_threshold


def test_the_owner_saves_lead_times_and_the_threshold_d3_b1(client, login, alpha):
    # Given the owner on the alerts page
    login(alpha.owner)
    page = client.get("/o/alpha/alerts/")
    assert page.status_code == 200
    assert b'data-testid="policy-form"' in page.content
    # When she asks for reminders 45 and 10 days before, and an alert under 300
    response = client.post("/o/alpha/alerts/reminders/", POLICY)
    # Then they are saved and the page says so
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha/alerts/"
    assert policy_of(alpha) == (45, 10, 300)
    page = client.get("/o/alpha/alerts/")
    assert "Reminders and the low-balance alert are saved." in page.content.decode()
    assert "45 days before, 10 days before" in page.content.decode()


def test_the_owner_turns_on_automatic_top_up_and_sees_its_price_b2(client, login, alpha):
    # Given the owner, with a card on file
    login(alpha.owner)
    # When she turns on a top-up of 100 credits under 500, at most 500.00 a month
    response = client.post("/o/alpha/alerts/top-up/", TOP_UP)
    # Then it is saved, armed, and the page shows its rule and its current price
    assert response.status_code == 302
    settings = AutoTopUp.objects.get(pk=alpha.organisation.pk)
    assert (settings.enabled, settings.threshold, settings.credits, settings.monthly_cap) == (
        True,
        500,
        100,
        Decimal("500.00"),
    )
    page = client.get("/o/alpha/alerts/").content.decode()
    assert "Buy 100 credits when available credits fall under 500" in page
    assert "100 credits at €1.80: €180.00 + VAT €36.00 = <strong>€216.00</strong>" in page
    assert "€0.00 of at most €500.00" in page


def test_the_live_price_follows_the_quantity_typed_b2(client, login, alpha):
    login(alpha.owner)
    # When the owner types 1,000 credits, then the fragment prices that tier
    response = client.get("/o/alpha/alerts/top-up/price/", {"credits": "1000"})
    assert response.status_code == 200
    assert "1,000 credits at €1.50: €1,500.00 + VAT €300.00" in response.content.decode()
    # And a quantity that cannot be bought says why, plainly
    response = client.get("/o/alpha/alerts/top-up/price/", {"credits": "0"})
    assert "Enter at least 1." in response.content.decode()


def test_an_admin_sees_the_page_but_cannot_change_it_x5(client, login, alpha):
    # Given an admin of the organisation
    login(alpha.admin)
    before = (policy_of(alpha), AutoTopUp.objects.count())
    # When she opens the page, then she sees it without the forms
    page = client.get("/o/alpha/alerts/")
    assert page.status_code == 200
    assert b'data-testid="policy-form"' not in page.content
    assert b'data-testid="top-up-form"' not in page.content
    # When she posts either form, then 403, and nothing changed
    assert client.post("/o/alpha/alerts/reminders/", POLICY).status_code == 403
    assert client.post("/o/alpha/alerts/top-up/", TOP_UP).status_code == 403
    assert (policy_of(alpha), AutoTopUp.objects.count()) == before


def test_a_member_sees_the_page_and_what_was_sent_without_addresses_x5(client, login, alpha):
    # Given a low-balance notice sent to the owner
    Notice.objects.create(
        organisation=alpha.organisation,
        kind=NoticeKind.LOW_BALANCE,
        subject="Low balance at Alpha: 400 credits available",
        body="…",
        recipients=["alpha-owner@test.example"],
        status="sent",
        created_at=timezone.now(),
        sent_at=timezone.now(),
    )
    # When a member opens the page
    login(alpha.member)
    page = client.get("/o/alpha/alerts/")
    # Then she sees the notice, but not the owner's address, and no form
    content = page.content.decode()
    assert page.status_code == 200
    assert "Low balance at Alpha: 400 credits available" in content
    assert "alpha-owner@test.example" not in content
    assert 'data-testid="top-up-form"' not in content


def test_the_notices_are_listed_newest_first_fifty_at_most_b1(client, login, alpha):
    # Given 55 notices, one a minute
    start = timezone.now() - timedelta(hours=2)
    Notice.objects.bulk_create(
        Notice(
            organisation=alpha.organisation,
            kind=NoticeKind.EXPIRY_REMINDER,
            subject=f"Notice {number:02d}",
            body="…",
            recipients=["alpha-owner@test.example"],
            status="sent",
            created_at=start + timedelta(minutes=number),
        )
        for number in range(55)
    )
    # When the owner opens the page
    login(alpha.owner)
    content = client.get("/o/alpha/alerts/").content.decode()
    # Then the 50 newest are shown, newest first
    assert content.count('data-testid="notice"') == 50
    assert content.index("Notice 54") < content.index("Notice 53")
    assert "Notice 04" not in content
    assert "alpha-owner@test.example" in content  # the owner sees the recipients


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"second_reminder_days": "60"}, "fewer days before the expiry than the first"),
        ({"reminder_days": "-1"}, "Enter at least 0."),
        ({"reminder_days": "1000"}, "Enter at most 365 days."),
        ({"low_balance_threshold": "abc"}, "Enter a whole number of credits."),
        ({"low_balance_threshold": "1" + "0" * 20}, "Enter at most"),
    ],
)
def test_bad_reminder_settings_are_refused_and_change_nothing_x6(
    client, login, alpha, posted, message
):
    login(alpha.owner)
    before = policy_of(alpha)
    response = client.post("/o/alpha/alerts/reminders/", {**POLICY, **posted})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert policy_of(alpha) == before


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"monthly_cap": "100.00"}, "The monthly cap must cover at least one top-up: €216.00."),
        ({"credits": "0"}, "Enter at least 1."),
        ({"credits": "2000000000"}, "Enter at most 1000000000 credits."),
        ({"monthly_cap": "12.345"}, "Enter an amount with at most two decimals."),
        ({"monthly_cap": "lots"}, "Enter an amount, such as 500 or 500.00."),
        ({"threshold": "0"}, "The threshold is a whole number of credits, at least 1."),
    ],
)
def test_bad_top_up_settings_are_refused_and_change_nothing_b2_x6(
    client, login, alpha, posted, message
):
    # Given a saved top-up
    login(alpha.owner)
    client.post("/o/alpha/alerts/top-up/", TOP_UP)
    before = list(AutoTopUp.objects.values())
    # When the owner posts a bad change, then 400 with the reason, and nothing changed
    response = client.post("/o/alpha/alerts/top-up/", {**TOP_UP, **posted})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(AutoTopUp.objects.values()) == before


def test_turning_on_top_up_without_a_card_says_so_and_saves_nothing_b2_x6(
    client, login, make_portal, catalogue
):
    # Given an organisation with no card on file
    portal = make_portal("bravo", preset="data_provider")
    login(portal.owner)
    # When its owner turns automatic top-up on
    response = client.post("/o/bravo/alerts/top-up/", TOP_UP)
    # Then the page says to add a card first, and nothing is saved
    assert response.status_code == 400
    assert "Add a card on the billing page before turning on automatic top-up." in (
        response.content.decode()
    )
    assert AutoTopUp.objects.count() == 0


def test_a_top_up_turned_off_by_failures_says_why_b2(client, login, alpha):
    # Given a top-up turned off after three declined charges
    billing_services.configure_auto_top_up(
        organisation=alpha.organisation,
        enabled=True,
        threshold=500,
        credits=100,
        monthly_cap=Decimal("500.00"),
        now=timezone.now(),
    )
    AutoTopUp.objects.filter(pk=alpha.organisation.pk).update(
        enabled=False, consecutive_failures=3, disabled_reason="Your card was declined."
    )
    # When the owner opens the page, then it says it is off, and why
    login(alpha.owner)
    content = client.get("/o/alpha/alerts/").content.decode()
    assert "Turned off after 3 failures in a row. Last: Your card was declined." in content


def test_the_page_reads_the_lead_times_of_the_pool_d3(client, login, alpha):
    # Given a second reminder turned off
    services.set_alert_policy(
        organisation=alpha.organisation,
        reminder_days=30,
        second_reminder_days=0,
        low_balance_threshold=0,
    )
    # When a member opens the page, then one lead time, and no alert
    login(alpha.member)
    content = client.get("/o/alpha/alerts/").content.decode()
    assert "30 days before" in content
    assert "10 days before" not in content

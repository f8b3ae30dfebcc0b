"""The billing page (M2, M3): the plan and what was used of it this cycle, changing it (an
upgrade charged at once and prorated, a downgrade at renewal), cancelling and undoing it, the
card on file and the billing profile; who may see and who may change (X5); refusals that
change nothing (X6).

The organisation is a ClientManager-like CRM billed in pounds, on the demo catalogue's plans
(Starter £29, 200 credits; Growth £49, 500; Pro £99, 1,500), with the sandbox Visa on file
and 20 % VAT. June 2027 has 30 days and no change of summer time in Paris, so halfway through
the cycle is exactly half of it.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing import services as billing_services
from billing.models import BillingProfile, Plan, Purchase, Subscription
from clients.models import Organisation
from credits import services as credit_services
from demo.catalogue import set_up_billing
from tests.credits.conftest import figures
from tests.portal.conftest import Portal

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T = datetime(2027, 6, 1, 10, 0, tzinfo=PARIS)
HALFWAY = datetime(2027, 6, 16, 10, 0, tzinfo=PARIS)


@pytest.fixture
def clock(monkeypatch):
    """Fix the time every part of the request reads (pages pass `timezone.now()`)."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture
def crm(clock, make_portal, catalogue, recording_gateway) -> Portal:
    clock(T)
    portal = make_portal("acme", preset="crm")
    Organisation.objects.filter(pk=portal.organisation.pk).update(currency="GBP")
    portal.organisation.refresh_from_db()
    set_up_billing(portal.organisation, None, enterprise=False, now=T)
    return portal


def subscribe(portal: Portal, code: str, now: datetime = T) -> Subscription:
    return billing_services.subscribe(
        organisation=portal.organisation, plan=Plan.objects.get(code=code), now=now
    )


def shown(page: str, testid: str) -> str:
    """The text of the element with this data-testid, or '' when the page has none."""
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    return match.group(1).strip() if match else ""


def billing_page(client, slug: str = "acme") -> str:
    response = client.get(f"/o/{slug}/billing/")
    assert response.status_code == 200
    return response.content.decode()


def card_on_file(portal: Portal) -> tuple[str, str, str, int, int]:
    profile = BillingProfile.objects.get(organisation=portal.organisation)
    return (
        profile.card_token,
        profile.card_brand,
        profile.card_last4,
        profile.card_exp_month,
        profile.card_exp_year,
    )


# --- what the page shows -------------------------------------------------------------------


def test_the_page_shows_the_plan_its_price_included_credits_use_this_cycle_and_renewal_m3(
    client, login, clock, crm
):
    """M3: the current plan (name, price, credits used this cycle) and its renewal date; only
    what the plan's allowance paid for counts as used (M2)."""
    # Given the Starter plan since 1 June, and three AI summaries of 10 credits since (the
    # portal's two earlier summaries were paid from purchased credits, before the plan)
    subscribe(crm, "starter")
    for hour in (1, 2, 3):
        credit_services.consume(client=crm.own, action="ai_summary", now=T + timedelta(hours=hour))
    clock(T + timedelta(days=2))
    # When the owner opens the billing page
    login(crm.owner)
    page = billing_page(client)
    # Then she reads the plan, its price, what it includes, what was used and when it renews
    assert shown(page, "plan-name") == "Starter"
    assert shown(page, "plan-price") == "£29.00"
    assert shown(page, "plan-included") == "200"
    assert shown(page, "plan-used") == "30"
    assert shown(page, "plan-cycle-credits") == "200"
    assert shown(page, "plan-status") == "Active"
    assert shown(page, "plan-cycle") == "1 June 2027 to 1 July 2027"
    assert shown(page, "plan-renews") == "1 July 2027"


def test_without_a_plan_each_plan_says_what_it_costs_today_and_choosing_one_subscribes_m3(
    client, login, crm, recording_gateway
):
    # Given an organisation without a plan
    login(crm.owner)
    page = billing_page(client)
    assert shown(page, "plan-name") == "No plan: you buy credits as you need them."
    # Then each plan on sale in pounds says what it costs today, tax included
    assert shown(page, "terms-starter") == (
        "You pay £34.80 today (tax included), then the same each month."
    )
    assert 'data-confirm="Choose the Starter plan? £34.80 is charged to your card now."' in page
    # When she chooses the Starter plan
    response = client.post("/o/acme/billing/plan/", {"plan": "starter"}, follow=True)
    # Then the month is charged once and the page shows the plan
    assert recording_gateway.taken == [Decimal("34.80")]
    page = response.content.decode()
    assert "You are on the Starter plan: 200 credits included each month." in page
    assert shown(page, "plan-name") == "Starter"


def test_an_upgrade_charges_the_prorated_difference_at_once_and_shows_the_new_plan_m3(
    client, login, clock, crm, recording_gateway
):
    """M3: upgrade at once, prorated: half the cycle left, half the price difference."""
    # Given the Starter plan since 1 June, halfway through its cycle
    subscribe(crm, "starter")
    clock(HALFWAY)
    login(crm.owner)
    # When the owner reads the Pro plan's offer
    page = billing_page(client)
    # Then it announces (99 − 29) × 15/30 = 35.00 + 20 % VAT = 42.00, with a confirmation
    assert shown(page, "terms-pro") == (
        "Upgrade now: you pay £42.00 today (tax included), prorated for the rest of this cycle."
    )
    assert 'data-confirm="Upgrade to the Pro plan now? £42.00 is charged to your card now."' in page
    details = client.get("/o/acme/billing/plan/?plan=pro").content.decode()
    assert shown(details, "due-today") == "£42.00"
    # When she upgrades
    response = client.post("/o/acme/billing/plan/", {"plan": "pro"}, follow=True)
    # Then exactly that was charged, after the first month, and the page shows the Pro plan
    # with this cycle's allowance grown by the difference in included credits
    assert recording_gateway.taken == [Decimal("34.80"), Decimal("42.00")]
    page = response.content.decode()
    assert "You are on the Pro plan: 1,500 credits included each month." in page
    assert shown(page, "plan-name") == "Pro"
    assert shown(page, "plan-price") == "£99.00"
    assert shown(page, "plan-cycle-credits") == "1,500"
    assert Subscription.objects.get(organisation=crm.organisation).plan.code == "pro"


def test_a_downgrade_waits_for_the_renewal_and_charges_nothing_today_m3(
    client, login, clock, crm, recording_gateway
):
    # Given the Pro plan since 1 June
    subscribe(crm, "pro")
    clock(HALFWAY)
    login(crm.owner)
    assert shown(billing_page(client), "terms-starter") == (
        "Switch at renewal on 1 July 2027: nothing to pay today."
    )
    # When the owner switches to Starter
    response = client.post("/o/acme/billing/plan/", {"plan": "starter"}, follow=True)
    # Then Pro runs to the renewal, Starter follows it, and nothing more was charged
    page = response.content.decode()
    assert "The Starter plan starts at the renewal on 1 July 2027." in page
    assert shown(page, "plan-name") == "Pro"
    assert shown(page, "next-plan") == "Starter plan, £29.00 a month"
    assert shown(page, "terms-starter") == "Starts at renewal on 1 July 2027."
    assert recording_gateway.taken == [Decimal("118.80")]
    subscription = Subscription.objects.get(organisation=crm.organisation)
    assert (subscription.plan.code, subscription.next_plan.code) == ("pro", "starter")


def test_cancelling_at_the_period_end_then_undoing_it_m3(client, login, clock, crm):
    # Given the Growth plan
    subscribe(crm, "growth")
    clock(HALFWAY)
    login(crm.owner)
    # When the owner cancels it
    response = client.post("/o/acme/billing/cancel/", follow=True)
    # Then it runs to the end of the cycle and says so, renewing no more
    page = response.content.decode()
    assert "Your plan stops on 1 July 2027; until then nothing changes." in page
    assert shown(page, "plan-ends") == "1 July 2027"
    assert shown(page, "plan-renews") == ""
    assert Subscription.objects.get(organisation=crm.organisation).cancel_at_period_end is True
    # When she changes her mind
    response = client.post("/o/acme/billing/resume/", follow=True)
    # Then it renews as before
    page = response.content.decode()
    assert "Your plan renews on 1 July 2027 as before." in page
    assert shown(page, "plan-renews") == "1 July 2027"
    assert Subscription.objects.get(organisation=crm.organisation).cancel_at_period_end is False


def test_a_plan_whose_renewal_failed_says_so_and_when_it_is_tried_again_m3(
    client, login, clock, crm
):
    # Given the Growth plan, whose renewal on 1 July was declined and is retried on 2 July
    subscribe(crm, "growth")
    Subscription.objects.filter(organisation=crm.organisation).update(
        status="past_due", failed_attempts=1, next_retry_at=datetime(2027, 7, 2, 10, tzinfo=PARIS)
    )
    clock(datetime(2027, 7, 1, 12, tzinfo=PARIS))
    login(crm.owner)
    # When the owner opens the billing page
    page = billing_page(client)
    # Then a banner says the payment failed and when it is tried again, and no plan can be
    # chosen until it is paid
    assert shown(page, "past-due") == (
        "The payment of your plan's renewal failed. We try again on 2 July 2027; replace the "
        "card if it changed."
    )
    assert shown(page, "plan-status") == "Past due"
    assert shown(page, "terms-pro") == "The plan can change once the renewal is paid."
    assert 'data-testid="choose-pro"' not in page


def test_a_suspended_plan_says_so_and_offers_to_start_again_m3(client, login, crm):
    # Given a plan suspended after its renewal could not be paid
    subscribe(crm, "growth")
    Subscription.objects.filter(organisation=crm.organisation).update(status="suspended")
    login(crm.owner)
    # When the owner opens the billing page
    page = billing_page(client)
    # Then a banner says so, and every plan may be chosen again, paid today
    assert shown(page, "suspended") == (
        "Your plan is suspended: its renewal could not be paid. Choose a plan again to resume."
    )
    assert shown(page, "terms-growth") == (
        "You pay £58.80 today (tax included), then the same each month."
    )


# --- card and profile ----------------------------------------------------------------------


def test_replacing_the_card_with_a_good_one_changes_the_last_four_digits_m3(client, login, crm):
    # Given the sandbox Visa on file
    login(crm.owner)
    assert shown(billing_page(client), "card-on-file") == "Visa ending in 4242"
    # When the owner saves a Mastercard instead
    response = client.post(
        "/o/acme/billing/card/",
        {"number": "5555 5555 5555 4444", "exp_month": "3", "exp_year": "2031", "cvc": "321"},
        follow=True,
    )
    # Then it is the card on file
    page = response.content.decode()
    assert "Card saved: Mastercard ending in 4444, expires 03/2031." in page
    assert shown(page, "card-on-file") == "Mastercard ending in 4444"
    assert card_on_file(crm)[1:] == ("Mastercard", "4444", 3, 2031)


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("4242 4242 4242 4241", "This card number is not valid."),
        ("4242-abcd-4242-4242", "A card number has digits only (spaces are fine)."),
    ],
)
def test_a_card_number_refused_is_said_on_the_form_and_the_card_stays_x6(
    client, login, crm, number, error
):
    """X6: a number the gateway (or the form) refuses changes nothing on file."""
    # Given the sandbox Visa on file
    before = card_on_file(crm)
    login(crm.owner)
    # When the owner types a wrong number
    response = client.post(
        "/o/acme/billing/card/",
        {"number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"},
    )
    # Then the form says why, and the card on file is the same
    assert response.status_code == 400
    assert error in response.content.decode()
    assert card_on_file(crm) == before


def test_the_billing_profile_is_saved_for_the_next_invoices_m3(client, login, crm):
    login(crm.owner)
    # When the owner saves the organisation's billing details
    response = client.post(
        "/o/acme/billing/profile/",
        {
            "legal_name": "Acme Trading Ltd",
            "address": "1 High Street\nLondon EC1A 1AA",
            "vat_number": "gb123456789",
            "email": "Accounts@Acme.example",
        },
        follow=True,
    )
    # Then they are the billing profile, as the services write them
    assert "Billing details saved: they appear on the next invoices." in response.content.decode()
    profile = BillingProfile.objects.get(organisation=crm.organisation)
    assert (profile.legal_name, profile.address, profile.vat_number, profile.email) == (
        "Acme Trading Ltd",
        "1 High Street\nLondon EC1A 1AA",
        "GB123456789",
        "accounts@acme.example",
    )


def test_bad_billing_details_are_refused_on_the_form_and_change_nothing_x6(client, login, crm):
    # Given the demo's billing details
    before = BillingProfile.objects.filter(organisation=crm.organisation).values().get()
    login(crm.owner)
    # When the owner sends an address of 5,000 characters, no e-mail and no legal name
    response = client.post(
        "/o/acme/billing/profile/",
        {"legal_name": "", "address": "x" * 5000, "vat_number": "12", "email": "not-an-email"},
    )
    # Then each field says what is wrong, and nothing changed
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value has at most 500 characters (it has 5000)." in page
    assert "Enter a valid email address." in page
    assert "A VAT number starts with its two-letter country code." in page
    assert BillingProfile.objects.filter(organisation=crm.organisation).values().get() == before


# --- who may see, who may change -------------------------------------------------------------


def test_an_admin_sees_the_plan_and_card_but_every_change_answers_403_x5(
    client, login, crm, recording_gateway
):
    # Given the Starter plan, and an admin of the organisation
    subscribe(crm, "starter")
    before = (
        list(Subscription.objects.values()),
        card_on_file(crm),
        BillingProfile.objects.filter(organisation=crm.organisation).values().get(),
    )
    login(crm.admin)
    # When the admin opens the billing page
    page = billing_page(client)
    # Then she sees the plan and the card, but no button that would change them
    assert shown(page, "plan-name") == "Starter"
    assert shown(page, "card-on-file") == "Visa ending in 4242"
    assert shown(page, "owner-only") == (
        "Only the organisation's owner can change the plan, the card and the billing details."
    )
    assert 'data-testid="choose-pro"' not in page
    assert 'data-testid="cancel"' not in page
    # And every change she sends anyway answers 403 and changes nothing
    for route, data in (
        ("plan", {"plan": "pro"}),
        ("cancel", {}),
        ("resume", {}),
        ("card", {"number": "5555555555554444", "exp_month": 1, "exp_year": 2031, "cvc": "1"}),
        ("profile", {"legal_name": "Hijack", "email": "x@y.example"}),
    ):
        assert client.post(f"/o/acme/billing/{route}/", data).status_code == 403, route
        assert client.get(f"/o/acme/billing/{route}/").status_code == 403, route
    assert recording_gateway.taken == [Decimal("34.80")]
    assert before == (
        list(Subscription.objects.values()),
        card_on_file(crm),
        BillingProfile.objects.filter(organisation=crm.organisation).values().get(),
    )


def test_a_member_may_not_open_the_billing_page_x5(client, login, crm):
    login(crm.member)
    assert client.get("/o/acme/billing/").status_code == 403


# --- refusals of the payment ---------------------------------------------------------------


def test_a_declined_card_on_upgrade_says_so_and_changes_neither_plan_nor_balance_x6(
    client, login, clock, crm, recording_gateway
):
    # Given the Starter plan, and a card the bank will decline next time
    subscribe(crm, "starter")
    clock(HALFWAY)
    before = figures(crm.organisation)
    recording_gateway.script = ["declined"]
    login(crm.owner)
    # When the owner upgrades to Pro
    response = client.post("/o/acme/billing/plan/", {"plan": "pro"})
    # Then she reads why, the plan and the credits are as they were, and only the first
    # month was ever taken
    assert response.status_code == 402
    assert shown(response.content.decode(), "refusal") == (
        "Your card was declined. Nothing was charged and your plan is unchanged."
    )
    subscription = Subscription.objects.get(organisation=crm.organisation)
    assert (subscription.plan.code, subscription.next_plan_id) == ("starter", None)
    assert figures(crm.organisation) == before
    assert recording_gateway.taken == [Decimal("34.80")]
    assert Purchase.objects.filter(kind="plan_upgrade").get().status == "declined"


def test_a_payment_being_processed_is_information_not_an_error_m3(
    client, login, clock, crm, recording_gateway
):
    """The gateway took the money but its answer was lost: the settle job finishes the
    upgrade; the page says so plainly rather than showing an error."""
    # Given the Starter plan, and a gateway whose answer will be lost after charging
    subscribe(crm, "starter")
    clock(HALFWAY)
    recording_gateway.script = ["timeout_after"]
    login(crm.owner)
    # When the owner upgrades to Pro
    response = client.post("/o/acme/billing/plan/", {"plan": "pro"}, follow=True)
    # Then the billing page says the payment is being processed, as information
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        '<li class="info">Your payment is being processed; the plan changes as soon as it is '
        "confirmed.</li>" in page
    )
    assert shown(page, "payment-pending") == (
        "A plan payment is being processed; the plan changes as soon as it is confirmed."
    )
    assert shown(page, "plan-name") == "Starter"


def test_a_plan_of_another_currency_or_made_up_is_refused_and_nothing_is_charged_x6(
    client, login, crm, recording_gateway
):
    # Given a plan on sale in euros only
    Plan.objects.create(
        code="euro", name="Euro", currency="EUR", monthly_price=Decimal("10.00"), included_credits=1
    )
    login(crm.owner)
    # When the owner posts its code, or one that does not exist
    for code in ("euro", "no-such-plan", ""):
        response = client.post("/o/acme/billing/plan/", {"plan": code})
        # Then it is refused on the page, and nothing is charged or started
        assert response.status_code == 400, code
    assert recording_gateway.taken == []
    assert not Subscription.objects.filter(organisation=crm.organisation).exists()

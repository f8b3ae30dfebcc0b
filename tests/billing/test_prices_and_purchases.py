"""Tier prices (G2), purchases by card (S3, S4) and on enterprise terms (D1), idempotency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail

from billing import services
from billing.models import (
    BillingProfile,
    Invoice,
    InvoiceStatus,
    PriceList,
    PriceTier,
    Purchase,
)
from credits import services as credit_services
from credits.models import Lot
from tests.billing.conftest import DECLINED_CARD, ERROR_CARD
from tests.credits.conftest import figures, pool_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("credits", "tier_start", "amount", "tax", "total"),
    [
        (1, 1, "2.00", "0.40", "2.40"),
        (99, 1, "198.00", "39.60", "237.60"),
        (100, 100, "180.00", "36.00", "216.00"),
        (333, 100, "599.40", "119.88", "719.28"),
        (750, 500, "1200.00", "240.00", "1440.00"),
        (1000, 1000, "1500.00", "300.00", "1800.00"),
    ],
)
def test_the_price_per_credit_falls_with_the_quantity_exact_to_the_cent_g2(
    make_organisation, default_prices, credits, tier_start, amount, tax, total
):
    organisation = make_organisation("studio", preset="serious_game")
    quote = services.price_credits(organisation, credits)
    assert quote.tier.min_credits == tier_start
    assert (quote.amount, quote.tax, quote.total, quote.currency) == (
        Decimal(amount),
        Decimal(tax),
        Decimal(total),
        "EUR",
    )


def test_a_partners_own_price_list_beats_the_default_g2(make_organisation, default_prices):
    distributor = make_organisation("distributor", preset="serious_game")
    partner_list = PriceList.objects.create(name="Distributors", currency="EUR")
    PriceTier.objects.create(price_list=partner_list, min_credits=1, unit_price="1.2000")
    BillingProfile.objects.filter(pk=services.profile_of(distributor).pk).update(
        price_list=partner_list
    )
    assert services.price_credits(distributor, 100).amount == Decimal("120.00")
    assert services.price_credits(make_organisation("other"), 100).amount == Decimal("180.00")


def test_a_card_purchase_grants_a_24_month_lot_and_extends_the_credits_held_s4(
    make_organisation, sms_package, card, now
):
    texto = make_organisation("texto", preset="sms")
    card(texto)
    first = services.purchase(organisation=texto, package=sms_package, method="card", now=now)
    later = now + relativedelta(months=6)
    second = services.purchase(organisation=texto, package=sms_package, method="card", now=later)
    assert (second.status, second.amount, second.credits) == ("paid", Decimal("450.00"), 10_000)
    assert second.lot.expires_at == later + relativedelta(months=24)
    assert Lot.objects.get(pk=first.lot_id).expires_at == later + relativedelta(months=24)
    assert pool_of(texto) == (20_000, 0, 0)
    invoice = Invoice.objects.get(pk=second.invoice_id)
    assert (invoice.status, invoice.total, invoice.due_on) == (
        InvoiceStatus.PAID,
        Decimal("540.00"),
        later.date(),
    )
    assert invoice.payments.get().amount == Decimal("540.00")


def test_a_declined_card_grants_nothing_and_says_why(make_organisation, sms_package, card, now):
    texto = make_organisation("texto", preset="sms")
    card(texto, DECLINED_CARD)
    before = figures(texto)
    attempt = services.purchase(organisation=texto, package=sms_package, method="card", now=now)
    assert (attempt.status, attempt.decline_reason, attempt.lot, attempt.invoice) == (
        "declined",
        "Your card was declined.",
        None,
        None,
    )
    assert figures(texto) == before
    assert Invoice.objects.count() == 0


def test_a_processing_error_is_recorded_as_failed_and_grants_nothing(
    make_organisation, sms_package, card, now
):
    texto = make_organisation("texto", preset="sms")
    card(texto, ERROR_CARD)
    attempt = services.purchase(organisation=texto, package=sms_package, method="card", now=now)
    assert (attempt.status, attempt.decline_reason) == (
        "failed",
        "The payment could not be processed; try again.",
    )
    assert pool_of(texto) == (0, 0, 0)


def test_the_same_idempotency_key_twice_buys_once_x3(make_organisation, sms_package, card, now):
    texto = make_organisation("texto", preset="sms")
    card(texto)
    first = services.purchase(
        organisation=texto, package=sms_package, method="card", now=now, idempotency_key="buy-1"
    )
    again = services.purchase(
        organisation=texto, package=sms_package, method="card", now=now, idempotency_key="buy-1"
    )
    assert again.pk == first.pk
    assert Purchase.objects.count() == 1
    assert pool_of(texto) == (10_000, 0, 0)
    with pytest.raises(services.IdempotencyConflict):
        services.purchase(
            organisation=texto, credits=5, method="card", now=now, idempotency_key="buy-1"
        )


def test_bad_card_details_are_refused_and_nothing_is_stored_x6(make_organisation, now):
    texto = make_organisation("texto", preset="sms")
    for number, message in (
        ("4242 4242 4242 4241", "This card number is not valid."),
        ("4242", "This card number is not valid."),
    ):
        with pytest.raises(services.PaymentDeclined, match=message):
            services.save_card(
                organisation=texto, number=number, exp_month=1, exp_year=2030, cvc="123", now=now
            )
    with pytest.raises(services.PaymentDeclined, match=r"This card has expired\."):
        services.save_card(
            organisation=texto,
            number="4242424242424242",
            exp_month=2,
            exp_year=2026,
            cvc="1",
            now=now,
        )
    profile = services.profile_of(texto)
    assert (profile.card_token, profile.card_last4) == ("", "")


def test_the_card_on_file_keeps_brand_last_four_and_expiry_never_the_number_m3(
    make_organisation, card
):
    texto = make_organisation("texto", preset="sms")
    profile = card(texto, "5555 5555 5555 4444")
    assert (profile.card_brand, profile.card_last4, profile.card_exp_month) == (
        "Mastercard",
        "4444",
        12,
    )
    stored = BillingProfile.objects.filter(pk=profile.pk).values()[0]
    assert not any("5555555555554444" in str(value) for value in stored.values())


def test_enterprise_terms_invoice_at_once_due_in_30_days_emailed_credits_usable_d1(
    enterprise, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bought = services.purchase(
            organisation=enterprise, credits=1000, method="enterprise_terms", now=now
        )
    invoice = bought.invoice
    assert (bought.status, invoice.status, invoice.total) == (
        "invoiced",
        InvoiceStatus.OPEN,
        Decimal("1800.00"),
    )
    assert (invoice.issued_on, invoice.due_on) == (now.date(), now.date() + timedelta(days=30))
    # e-mailed with its PDF
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.to, message.subject) == (
        ["accounts@deepetch.example"],
        f"Invoice {invoice.number}",
    )
    assert message.attachments[0][0] == f"{invoice.number}.pdf"
    assert message.attachments[0][1][:5] == b"%PDF-"
    # the credits are usable at once
    own = enterprise.clients.get(kind="own")
    credit_services.consume(client=own, action="proofreading", params={"pages": 3}, now=now)
    assert pool_of(enterprise) == (970, 0, 0)
    # overdue after the due date, not before
    assert services.mark_overdue(now=now + timedelta(days=30)) == 0
    assert services.mark_overdue(now=now + timedelta(days=31)) == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OVERDUE


def test_enterprise_terms_are_refused_to_an_organisation_without_them_x6(
    make_organisation, default_prices, now
):
    other = make_organisation("other")
    before = figures(other)
    with pytest.raises(services.BillingError, match=r"Enterprise terms are not open"):
        services.purchase(organisation=other, credits=100, method="enterprise_terms", now=now)
    assert figures(other) == before
    assert Purchase.objects.count() == 0


def test_voiding_an_unused_purchase_issues_a_credit_note_and_takes_the_credits_back_s7(
    enterprise, now
):
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    note = services.void_invoice(invoice=bought.invoice, reason="Ordered twice", now=now)
    bought.invoice.refresh_from_db()
    assert bought.invoice.status == InvoiceStatus.VOID
    assert (note.kind, note.total, note.credit_note_for) == (
        "credit_note",
        Decimal("-216.00"),
        bought.invoice,
    )
    assert note.number == "CN-2026-000001"
    assert pool_of(enterprise) == (0, 0, 0)


def test_voiding_an_invoice_whose_credits_were_spent_is_refused_s7(enterprise, now):
    """S7: credits are not refunded."""
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    own = enterprise.clients.get(kind="own")
    credit_services.consume(client=own, action="proofreading", params={"pages": 1}, now=now)
    before = figures(enterprise)
    with pytest.raises(Exception, match="10 of these 100 credits were already used"):
        services.void_invoice(invoice=bought.invoice, reason="Refund please", now=now)
    bought.invoice.refresh_from_db()
    assert bought.invoice.status == InvoiceStatus.OPEN
    assert figures(enterprise) == before
    assert Invoice.objects.count() == 1


def test_the_billing_profile_is_updated_and_a_bad_e_mail_changes_nothing_m3(make_organisation):
    organisation = make_organisation("profiled")
    services.update_billing_profile(
        organisation=organisation,
        legal_name=" Profiled SAS ",
        address="3 rue Haute\n69001 Lyon",
        vat_number="fr12345678901",
        email="Compta@Profiled.example",
    )
    profile = BillingProfile.objects.get(organisation=organisation)
    assert (profile.legal_name, profile.vat_number, profile.email) == (
        "Profiled SAS",
        "FR12345678901",
        "compta@profiled.example",
    )
    with pytest.raises(services.BillingError, match="Enter a valid email address"):
        services.update_billing_profile(
            organisation=organisation,
            legal_name="Other",
            address="",
            vat_number="",
            email="not-an-address",
        )
    profile.refresh_from_db()
    assert (profile.legal_name, profile.email) == ("Profiled SAS", "compta@profiled.example")


def test_an_invoice_is_overdue_from_the_day_after_its_due_date_in_the_buyers_time_zone_d1(
    make_organisation, default_prices, now, django_assert_max_num_queries
):
    # Given two organisations on enterprise terms, in Tokyo and in New York, each with an
    # invoice issued at the same instant, due 30 days later
    from datetime import datetime
    from zoneinfo import ZoneInfo

    invoices = {}
    for slug, zone in (("tokyo", "Asia/Tokyo"), ("newyork", "America/New_York")):
        buyer = make_organisation(slug, preset="translation", time_zone=zone)
        BillingProfile.objects.filter(pk=services.profile_of(buyer).pk).update(
            enterprise_terms=True
        )
        issued = datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("UTC"))
        invoices[slug] = services.purchase(
            organisation=buyer, credits=100, method="enterprise_terms", now=issued
        ).invoice
    assert {slug: i.due_on.isoformat() for slug, i in invoices.items()} == {
        "tokyo": "2026-04-09",
        "newyork": "2026-04-09",
    }
    # When the job runs at 2026-04-10 01:00 UTC: already the 10th in Tokyo, the 9th in New York
    moment = datetime(2026, 4, 10, 1, 0, tzinfo=ZoneInfo("UTC"))
    with django_assert_max_num_queries(3):  # the zones in use, then one UPDATE for each
        assert services.mark_overdue(now=moment) == 1
    # Then only Tokyo's invoice is overdue, and a second run changes nothing
    statuses = {slug: Invoice.objects.get(pk=i.pk).status for slug, i in invoices.items()}
    assert statuses == {"tokyo": "overdue", "newyork": "open"}
    assert services.mark_overdue(now=moment) == 0

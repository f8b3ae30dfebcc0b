"""K1: invoices are marked paid, voided and re-rendered from admin, through the services."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import Invoice, InvoiceStatus, PriceList
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(make_user("backoffice", is_staff=True, is_superuser=True))


def test_marking_an_enterprise_invoice_paid_records_the_transfer_k1(client, staff, enterprise, now):
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    response = client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "mark_paid", "_selected_action": [bought.invoice_id]},
    )
    assert response.status_code == 302
    invoice = Invoice.objects.get(pk=bought.invoice_id)
    assert invoice.status == InvoiceStatus.PAID
    assert list(invoice.payments.values_list("amount", "method")) == [
        (Decimal("216.00"), "transfer")
    ]


def test_voiding_from_admin_issues_the_credit_note_k1(client, staff, enterprise, now):
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    client.post(
        reverse("admin:billing_invoice_changelist"),
        {
            "action": "void_with_credit_note",
            "_selected_action": [bought.invoice_id],
            "apply": "Void",
            "reason": "Wrong quantity",
        },
    )
    assert list(Invoice.objects.order_by("pk").values_list("number", "status")) == [
        ("INV-2026-000001", "void"),
        ("CN-2026-000001", "paid"),
    ]
    assert pool_of(enterprise) == (0, 0, 0)


def test_regenerating_the_pdf_from_admin_stores_a_new_file_k1(client, staff, enterprise, now):
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    assert Invoice.objects.get(pk=bought.invoice_id).pdf.name == ""
    client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "regenerate_pdf", "_selected_action": [bought.invoice_id]},
    )
    assert Invoice.objects.get(pk=bought.invoice_id).pdf.name.endswith(".pdf")


def test_every_billing_admin_page_opens_k1(client, staff, enterprise, now):
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    for model in (
        "pricelist",
        "package",
        "plan",
        "billingprofile",
        "subscription",
        "purchase",
        "invoice",
    ):
        assert client.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200, model
    invoice_url = reverse("admin:billing_invoice_change", args=[bought.invoice_id])
    assert client.get(invoice_url).status_code == 200


def test_the_invoice_page_shows_seller_and_buyer_as_readable_blocks_issue_13(
    client, staff, enterprise, now
):
    """Issue 13 (K1): name, address lines, VAT number and e-mail, not raw JSON."""
    # given an invoice issued to Deepetch SAS
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    # when staff open it
    page = client.get(reverse("admin:billing_invoice_change", args=[bought.invoice_id]))
    html = page.content.decode()
    # then both parties read as on the PDF
    assert (
        '<div class="invoice-party"><strong>Deepetch SAS</strong><br>1 avenue des Champs<br>'
        "75008 Paris<br>VAT number: FR11222333444<br>E-mail: accounts@deepetch.example</div>"
    ) in html
    assert (
        '<div class="invoice-party"><strong>Credit Portal SAS</strong><br>10 rue de la Paix<br>'
        "75002 Paris<br>France<br>VAT number: FR00123456789<br>"
        "E-mail: billing@portal.example</div>"
    ) in html
    assert "&quot;vat_number&quot;" not in html
    assert "&quot;address&quot;" not in html


def test_a_second_default_price_list_is_refused_in_staffs_words_issue_13(client, staff, db):
    """Issue 13 (X6): the constraint's message, not `Constraint "…" is violated.`"""
    # given the default EUR price list
    PriceList.objects.create(name="Standard", currency="EUR", is_default=True)
    # when staff add another default EUR list
    response = client.post(
        reverse("admin:billing_pricelist_add"),
        {
            "name": "Other",
            "currency": "EUR",
            "is_default": "on",
            "tiers-TOTAL_FORMS": "0",
            "tiers-INITIAL_FORMS": "0",
            "packages-TOTAL_FORMS": "0",
            "packages-INITIAL_FORMS": "0",
        },
    )
    # then the form says why in staff's words, and nothing was added
    html = response.content.decode()
    assert response.status_code == 200
    assert "This currency already has a default price list." in html
    assert "Constraint" not in html
    assert PriceList.objects.count() == 1


def test_the_billing_admin_reads_in_french_issue_13(client, staff, enterprise, now):
    """Issue 13: the index, the invoice list's columns and actions, in French."""
    # given an invoice, and staff reading in French
    services.purchase(organisation=enterprise, credits=100, method="enterprise_terms", now=now)
    client.cookies["django_language"] = "fr"
    # when they open the index and the invoices' list
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    invoices = client.get(
        reverse("admin:billing_invoice_changelist"), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    # then the labels are French
    assert "Facturation" in index
    assert "Factures" in index
    assert "Marquer payée (virement reçu)" in invoices
    assert "Annuler par un avoir" in invoices
    assert "Régénérer le PDF" in invoices
    assert "Mark paid" not in invoices

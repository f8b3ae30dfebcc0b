"""K1: invoices are marked paid, voided and re-rendered from admin, through the services."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing import services
from billing.models import Invoice, InvoiceStatus
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

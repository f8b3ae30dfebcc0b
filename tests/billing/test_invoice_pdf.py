"""K3: the invoice PDF is rendered by WeasyPrint, stored, and reads right."""

import shutil
import subprocess

import pytest

from billing import services, tasks
from billing.models import Invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def pdf_text(invoice: Invoice) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is installed by `make test`"
    with invoice.pdf.open("rb") as pdf:
        result = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf.read(), capture_output=True, check=True
        )
    return result.stdout.decode()


def test_the_pdf_shows_the_number_buyer_lines_and_total_k3(enterprise, now):
    bought = services.purchase(
        organisation=enterprise, credits=1000, method="enterprise_terms", now=now
    )
    tasks.deliver_invoice(bought.invoice_id)
    invoice = Invoice.objects.get(pk=bought.invoice_id)
    assert invoice.pdf.name == f"invoices/2026/{invoice.number}.pdf"
    text = pdf_text(invoice)
    assert invoice.number == "INV-2026-000001"
    for expected in (
        "Invoice INV-2026-000001",
        "Deepetch SAS",
        "FR11222333444",
        "1,000 credits",
        "1.5",
        "1500.00 EUR",
        "300.00 EUR",
        "1800.00 EUR",
        "Due on 2026-04-09",
    ):
        assert expected in text, expected


def test_rendering_twice_keeps_the_first_pdf_unless_forced(enterprise, now):
    bought = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    invoice = services.render_invoice_pdf(invoice=bought.invoice)
    first = invoice.pdf.name
    assert services.render_invoice_pdf(invoice=invoice).pdf.name == first
    regenerated = services.render_invoice_pdf(invoice=invoice, force=True)
    assert regenerated.pdf.name.startswith("invoices/2026/INV-2026-000001")
    assert pdf_text(Invoice.objects.get(pk=invoice.pk)).count("INV-2026-000001") >= 1


def test_the_sweep_delivers_invoices_whose_job_was_lost_x4(enterprise, now, mailoutbox):
    services.purchase(organisation=enterprise, credits=100, method="enterprise_terms", now=now)
    # the on-commit job never ran (no capture of on-commit callbacks here)
    assert Invoice.objects.filter(pdf="").count() == 1
    assert tasks.sweep_invoices() == 1
    assert Invoice.objects.filter(pdf="").count() == 0
    assert len(mailoutbox) == 1
    assert tasks.sweep_invoices() == 0
    assert len(mailoutbox) == 1

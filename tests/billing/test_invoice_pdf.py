"""K3, M5, S7, D1: the invoice PDF, drawn by WeasyPrint, reads right in the buyer's language,
shows the invoice's current status, and is stored once per invoice.

The PDFs are read back with pdftotext; its spacing is normalised (columns, no-break and
narrow no-break spaces, typographic apostrophes) so that the assertions read like the page.
"""

import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from billing import services, tasks
from billing.models import BillingProfile, Invoice, PriceList, PriceTier
from billing.services import delivery
from tests.billing.conftest import stable_name

pytestmark = pytest.mark.django_db


def pdf_text(document: bytes) -> str:
    """The PDF's text on one line, single-spaced, with plain spaces and apostrophes."""
    assert shutil.which("pdftotext"), "poppler-utils is installed by `make test`"
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=document, capture_output=True, check=True
    )
    text = result.stdout.decode().replace("\u2019", "'")
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def stored_text(invoice: Invoice) -> str:
    invoice.refresh_from_db()
    with invoice.pdf.open("rb") as pdf:
        return pdf_text(pdf.read())


@pytest.fixture
def french(make_organisation, default_prices):
    """A French buyer on enterprise terms, with a partner list at 0.10 EUR a credit."""
    organisation = make_organisation("bureau", name="Bureau", preset="translation", language="fr")
    partner = PriceList.objects.create(name="Partenaires", currency="EUR")
    PriceTier.objects.create(price_list=partner, min_credits=1, unit_price="0.1000")
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True,
        legal_name="Bureau Dupont SARL",
        address="5 rue des Lilas\n69001 Lyon",
        vat_number="FR99887766554",
        email="compta@bureau.example",
        price_list=partner,
    )
    return organisation


def buy(organisation, now, credits=1000):
    return services.purchase(
        organisation=organisation, credits=credits, method="enterprise_terms", now=now
    ).invoice


def test_an_english_invoice_shows_number_buyer_lines_and_exact_totals_k3(enterprise, now):
    """K3, D1: 1,000 credits at €1.50 on enterprise terms, read back from the stored PDF."""
    # Given an English organisation's invoice for 1,000 credits on enterprise terms
    invoice = buy(enterprise, now)
    # When its delivery job draws the PDF
    tasks.deliver_invoice(invoice.pk)
    # Then the PDF is stored under the invoice's number and says it all, in English
    invoice.refresh_from_db()
    assert stable_name(invoice.pdf.name) == "invoices/2026/INV-2026-000001.pdf"
    assert invoice.pdf_status == "open"
    text = stored_text(invoice)
    for expected in (
        "Invoice INV-2026-000001",
        "Issue date 10 Mar 2026",
        "Due date 9 Apr 2026",
        "Seller Customer",
        "Credit Portal SAS",
        "VAT number: FR00123456789",
        "Deepetch SAS",
        "1 avenue des Champs",
        "VAT number: FR11222333444",
        "Description Quantity Unit price excl. VAT Amount excl. VAT",
        "1,000 credits 1,000 €1.50 €1,500.00",
        "Total excl. VAT €1,500.00",
        "VAT (20%) €300.00",
        "Total incl. VAT €1,800.00",
        "Payment terms: 30 days from the issue date, due by 9 Apr 2026.",
        "Late payment penalties: three times the legal interest rate.",
        "Fixed compensation for recovery costs: €40.",
        "No discount for early payment.",
    ):
        assert expected in text, expected


def test_an_open_invoice_carries_no_status_stamp_k3(enterprise, now):
    # Given an open invoice
    invoice = buy(enterprise, now)
    # When its PDF is drawn
    text = pdf_text(services.invoice_pdf(invoice=invoice))
    # Then no status word is printed on it
    for stamp in ("PAID", "VOID", "OVERDUE"):
        assert stamp not in text


def test_a_french_invoice_is_in_french_with_french_numbers_and_dates_k3(french, now):
    """K3: labels, dates (dd/mm/yyyy), amounts (`1 800,00 €`, `0,10 €`), VAT numbers."""
    # Given a French organisation buying 18,000 credits at 0.10 EUR on enterprise terms
    invoice = buy(french, now, credits=18_000)
    assert invoice.language == "fr"
    # When the PDF is drawn
    text = pdf_text(services.invoice_pdf(invoice=invoice))
    # Then it is written in French, with French figures
    for expected in (
        "Facture INV-2026-000001",
        "Date d'émission 10/03/2026",
        "Échéance 09/04/2026",
        "Vendeur Client",
        "N° TVA intracommunautaire : FR00123456789",
        "Bureau Dupont SARL",
        "N° TVA intracommunautaire : FR99887766554",
        "Désignation Quantité Prix unitaire HT Montant HT",
        " 18 000 0,10 € 1 800,00 €",
        "Total HT 1 800,00 €",
        "TVA (20 %) 360,00 €",
        "Total TTC 2 160,00 €",
    ):
        assert expected in text, expected
    assert "€1" not in text
    assert "0.10" not in text


def test_a_french_invoice_carries_the_legal_mentions_of_a_b2b_invoice_k3(french, now):
    # Given a French invoice on 30-day terms
    invoice = buy(french, now)
    # When the PDF is drawn
    text = pdf_text(services.invoice_pdf(invoice=invoice))
    # Then the terms, penalties, recovery fee and discount mentions are there, in French
    for expected in (
        "Conditions de paiement : 30 jours à compter de la date d'émission, "
        "échéance le 09/04/2026.",
        "Pénalités de retard : trois fois le taux d'intérêt légal.",
        "Indemnité forfaitaire pour frais de recouvrement : 40 €.",
        "Pas d'escompte pour paiement anticipé.",
    ):
        assert expected in text, expected


def test_a_voided_french_invoice_says_annulee_and_its_credit_note_is_an_avoir_s7(french, now):
    """S7, K3: after "void" the invoice's PDF is redrawn with the stamp; the credit note is
    in French, names the invoice it cancels, and its amounts carry a minus sign (U+2212)."""
    # Given a French invoice whose PDF was drawn while open
    invoice = buy(french, now, credits=18_000)
    services.render_invoice_pdf(invoice=invoice)
    # When it is voided
    note = services.void_invoice(invoice=invoice, reason="Erreur", now=now + timedelta(days=2))
    # Then its PDF, asked for again, says « ANNULÉE » and is stored as such
    assert "ANNULÉE" in pdf_text(services.invoice_pdf(invoice=invoice))
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "void"
    # And the credit note is an « Avoir » on that invoice, with negative amounts
    text = pdf_text(services.invoice_pdf(invoice=note))
    for expected in (
        "Avoir CN-2026-000001",
        "Date d'émission 12/03/2026",
        "Avoir sur la facture INV-2026-000001 du 10/03/2026",
        "Total HT −1 800,00 €",
        "TVA (20 %) −360,00 €",
        "Total TTC −2 160,00 €",
    ):
        assert expected in text, expected
    assert "PAYÉE" not in text
    assert "Pénalités" not in text


def test_after_a_payment_the_pdf_says_paid_m5(enterprise, now):
    # Given an open invoice whose PDF was drawn without a stamp
    invoice = buy(enterprise, now)
    services.render_invoice_pdf(invoice=invoice)
    assert "PAID" not in stored_text(invoice)
    # When the payment is recorded (admin: mark paid) and the delivery job runs
    services.record_payment(invoice=invoice, now=now + timedelta(days=3), method="transfer")
    tasks.deliver_invoice(invoice.pk)
    # Then the stored PDF says PAID, and on which day
    text = stored_text(invoice)
    assert "PAID" in text
    assert "Paid on 13 Mar 2026." in text
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "paid"


def test_an_overdue_french_invoice_says_en_retard_d1(french, now):
    # Given a French invoice left unpaid past its due date
    invoice = buy(french, now)
    assert services.mark_overdue(now=now + timedelta(days=31)) == 1
    # When its PDF is asked for
    text = pdf_text(services.invoice_pdf(invoice=invoice))
    # Then it says so
    assert "EN RETARD" in text


def files_of(invoice: Invoice, settings) -> list[str]:
    """The files in the invoice's folder, named as storage names them."""
    folder = settings.MEDIA_ROOT / "invoices" / str(invoice.year)
    names = sorted(f"invoices/{invoice.year}/{path.name}" for path in folder.iterdir())
    assert all(
        re.fullmatch(rf"invoices/\d{{4}}/{invoice.number}-[0-9a-f]{{8}}\.pdf", n) for n in names
    )
    return names


def test_rendering_twice_leaves_one_file_in_the_folder_k3(enterprise, now, settings):
    """Issue 11 point 5: drawing again replaces the file; no orphan files."""
    # Given an invoice drawn once
    invoice = buy(enterprise, now)
    services.render_invoice_pdf(invoice=invoice)
    # When it is drawn again, for a new status and then forced
    services.record_payment(invoice=invoice, now=now, method="transfer")
    services.render_invoice_pdf(invoice=invoice)
    services.render_invoice_pdf(invoice=invoice, force=True)
    # Then the folder holds one file, the one the invoice names, showing the last status
    assert files_of(invoice, settings) == [Invoice.objects.get(pk=invoice.pk).pdf.name]
    assert "PAID" in stored_text(invoice)


def test_a_drawing_that_another_drawing_overtook_removes_its_own_file_k3(
    enterprise, now, settings, monkeypatch
):
    """Two jobs may draw the same invoice at once: each writes a file of its own, and only the
    one whose swap finds the row unchanged keeps its file; the other deletes its own."""
    # Given a storage where, the first time our file is written, another drawing completes
    invoice = buy(enterprise, now)
    storage = Invoice._meta.get_field("pdf").storage
    real_save = storage.save
    overtaken = []

    def save_then_be_overtaken(name, content, **kwargs):
        saved = real_save(name, content, **kwargs)
        if not overtaken:
            overtaken.append(saved)
            services.render_invoice_pdf(invoice=invoice, force=True)
        return saved

    monkeypatch.setattr(storage, "save", save_then_be_overtaken)
    # When the PDF is drawn
    services.render_invoice_pdf(invoice=invoice, force=True)
    # Then one file remains, the other drawing's, and ours is gone
    stored = Invoice.objects.get(pk=invoice.pk).pdf.name
    assert files_of(invoice, settings) == [stored]
    assert stored != overtaken[0]
    assert "Invoice INV-2026-000001" in stored_text(invoice)


def test_a_pdf_is_not_drawn_again_while_it_shows_the_current_status_k3(enterprise, now):
    # Given an invoice whose PDF is up to date
    invoice = buy(enterprise, now)
    services.render_invoice_pdf(invoice=invoice)
    path = Path(Invoice.objects.get(pk=invoice.pk).pdf.path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    # When the delivery job runs again
    services.render_invoice_pdf(invoice=invoice)
    # Then the file is untouched
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_pdf_lost_from_storage_is_drawn_again_on_download_k3(enterprise, now):
    # Given an invoice whose stored file disappeared
    invoice = buy(enterprise, now)
    services.render_invoice_pdf(invoice=invoice)
    stored = Invoice.objects.get(pk=invoice.pk)
    stored.pdf.storage.delete(stored.pdf.name)
    # When it is downloaded
    document = services.invoice_pdf(invoice=invoice)
    # Then it is drawn again, served and stored
    assert "Invoice INV-2026-000001" in pdf_text(document)
    again = Invoice.objects.get(pk=invoice.pk).pdf.name
    assert stable_name(again) == "invoices/2026/INV-2026-000001.pdf"
    assert stored.pdf.storage.exists(again)


def test_the_sweep_finds_invoices_with_no_pdf_or_a_stale_one_x4(enterprise, now, mailoutbox):
    """X4: the sweep is set-based and finds what a lost job left: no PDF, an old status."""
    # Given an invoice whose delivery job never ran (the on-commit job is not run here)
    invoice = buy(enterprise, now)
    # When the sweep runs: it finds it and its job delivers it
    assert services.sweep_invoices(now=now) == 1
    invoice.refresh_from_db()
    assert (stable_name(invoice.pdf.name), invoice.email_status, len(mailoutbox)) == (
        "invoices/2026/INV-2026-000001.pdf",
        "sent",
        1,
    )
    # Then a second sweep finds nothing
    assert services.sweep_invoices(now=now) == 0
    # And a status change whose job was lost makes the invoice due again, PDF only
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    assert services.sweep_invoices(now=now) == 1
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "paid"
    assert len(mailoutbox) == 1


def test_a_purchase_priced_at_a_fraction_of_a_cent_prints_four_decimals_k3(french, now):
    # Given a partner price of 0.0125 EUR a credit
    tier = PriceTier.objects.get(price_list__name="Partenaires")
    PriceTier.objects.filter(pk=tier.pk).update(unit_price=Decimal("0.0125"))
    invoice = buy(french, now, credits=8_000)
    # When the PDF is drawn
    text = pdf_text(services.invoice_pdf(invoice=invoice))
    # Then the unit price keeps its digits and the amount is in cents
    assert " 8 000 0,0125 € 100,00 €" in text


def test_a_payment_recorded_while_the_pdf_is_drawn_gets_the_pdf_drawn_again_m5(
    enterprise, now, monkeypatch
):
    """The stored file never keeps a status the invoice left while `pdf_status` says
    otherwise: the drawing looks again after storing, and draws again if it changed."""
    # Given an open invoice, and a payment recorded while its PDF is being drawn
    invoice = buy(enterprise, now)
    real_render = delivery._render
    drawn = []

    def render_while_paid(invoice):
        drawn.append(invoice.status)
        document = real_render(invoice)
        if len(drawn) == 1:
            Invoice.objects.filter(pk=invoice.pk).update(status="paid")
        return document

    monkeypatch.setattr(delivery, "_render", render_while_paid)
    # When the delivery job draws it
    services.render_invoice_pdf(invoice=invoice)
    # Then it was drawn twice, and the stored PDF shows the status the invoice has
    assert drawn == ["open", "paid"]
    assert Invoice.objects.get(pk=invoice.pk).pdf_status == "paid"
    assert "PAID" in stored_text(invoice)

"""The billing history and invoice downloads (M5, K3, S7, X5).

Every invoice and credit note, newest first, with its PDF through a view that checks the
organisation and the role; purchases still being processed shown beside them; nothing under
/media/ answers. The PDF shows the invoice's status as it stands (after "void", after a
payment).

Prices are the demo catalogue's default euro list (1.80 € a credit from 100, 1.60 € from 500,
1.50 € from 1,000) with 20 % VAT.
"""

import html
import re
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from billing import services as billing_services
from billing.models import Invoice, PaymentMethod
from billing.selectors.account import Money
from demo.catalogue import set_up_billing
from tests.portal.conftest import Portal

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T = datetime(2027, 3, 10, 9, 0, tzinfo=PARIS)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture
def billed(clock, make_portal, catalogue, recording_gateway):
    """An organisation (or two) with a billing profile, the sandbox Visa on file, and
    enterprise terms."""

    def make(slug: str) -> Portal:
        clock(T)
        portal = make_portal(slug, preset="sms")
        set_up_billing(portal.organisation, None, enterprise=True, now=T)
        return portal

    return make


def buy(portal: Portal, credits: int, now: datetime, method: str = "card"):
    return billing_services.purchase(
        organisation=portal.organisation, credits=credits, method=method, now=now
    )


def history_rows(page: str) -> list[list[str]]:
    """The history table's rows, each a list of its cells' text."""
    rows = []
    for row in re.findall(r'<tr class="kind-[^"]*"[^>]*>(.*?)</tr>', page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def pdf_text(document: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=document, capture_output=True, check=True
    ).stdout.decode()


def download(client, portal: Portal, number: str):
    return client.get(f"/o/{portal.organisation.slug}/invoices/{number}.pdf")


def test_the_history_lists_invoices_credit_notes_and_payments_in_progress_newest_first_m5(
    client, login, billed, recording_gateway
):
    """M5: every payment with its invoice; S7: a voided invoice has its credit note."""
    # Given a card purchase of 100 credits (voided since), one of 500 on enterprise terms,
    # and one of 120 whose payment is still being confirmed by the gateway
    alpha = billed("alpha")
    card = buy(alpha, 100, T)
    terms = buy(alpha, 500, T + timedelta(hours=1), method="enterprise_terms")
    note = billing_services.void_invoice(
        invoice=card.invoice, reason="ordered twice", now=T + timedelta(hours=2)
    )
    recording_gateway.script = ["timeout_after"]
    pending = buy(alpha, 120, T + timedelta(hours=3))
    assert pending.status == "charging"
    # When the owner opens the billing history
    login(alpha.owner)
    response = client.get("/o/alpha/invoices/")
    # Then it lists them newest first, with number, kind, what for, status and exact total,
    # and a PDF for each invoice and credit note
    assert response.status_code == 200
    assert history_rows(response.content.decode()) == [
        ["10 Mar 2027", "—", "Credits", "120 credits", "Payment in progress", "€259.20", ""],
        [
            "10 Mar 2027",
            note.number,
            "Credit note",
            f"100 credits ({card.invoice.number})",
            "Paid",
            "−€216.00",
            f"PDF {note.number}",
        ],
        [
            "10 Mar 2027",
            terms.invoice.number,
            "Invoice",
            "500 credits",
            "Open",
            "€960.00",
            f"PDF {terms.invoice.number}",
        ],
        [
            "10 Mar 2027",
            card.invoice.number,
            "Invoice",
            "100 credits",
            "Void",
            "€216.00",
            f"PDF {card.invoice.number}",
        ],
    ]
    assert f'href="/o/alpha/invoices/{terms.invoice.number}.pdf"' in response.content.decode()


def test_the_history_is_shown_fifty_a_page_m5(client, login, billed):
    # Given 51 invoices
    alpha = billed("alpha")
    for n in range(51):
        billing_services.issue_invoice(
            organisation=alpha.organisation,
            lines=[billing_services.Line(f"Line {n}", 1, Decimal("1.00"), Decimal("1.00"))],
            now=T + timedelta(minutes=n),
        )
    login(alpha.owner)
    # When the owner reads the first page, then the second
    first = client.get("/o/alpha/invoices/").content.decode()
    second = client.get("/o/alpha/invoices/?page=2").content.decode()
    # Then the first holds the 50 newest, the second the oldest
    assert len(history_rows(first)) == 50
    assert history_rows(first)[0][3] == "Line 50"
    assert "Page 1 of 2" in first
    assert [row[3] for row in history_rows(second)] == ["Line 0"]
    # And a page that is not one gives the nearest, not an error
    assert client.get("/o/alpha/invoices/?page=abc").status_code == 200
    assert history_rows(client.get("/o/alpha/invoices/?page=99").content.decode())[0][3] == (
        "Line 0"
    )


def test_amounts_are_written_the_french_way_on_a_french_page_m5(client, login, billed):
    # Given an invoice of 1,000 credits on enterprise terms: 1,500.00 + 20 % = 1,800.00
    alpha = billed("alpha")
    buy(alpha, 1000, T, method="enterprise_terms")
    login(alpha.owner)
    # When the owner reads the history in French
    page = client.get("/o/alpha/invoices/", headers={"accept-language": "fr"}).content.decode()
    # Then the total reads 1 800,00 €, with no-break spaces that keep it on one line
    assert re.search(r'data-testid="total">([^<]*)<', page).group(1) == "1\u202f800,00\u00a0€"


@pytest.mark.parametrize(
    ("language", "amount", "written"),
    [
        ("en", "1800", "€1,800.00"),
        ("en", "-216.005", "−€216.01"),
        ("fr", "1800", "1\u202f800,00\u00a0€"),
        ("fr", "-216.00", "−216,00\u00a0€"),
    ],
)
def test_amounts_on_the_pages_are_written_as_the_invoices_write_them_m5(language, amount, written):
    """Half a cent rounds up, once, from the Decimal (never a float); French groups digits
    with a narrow no-break space and puts the currency after the amount."""
    with translation.override(language):
        assert str(Money(Decimal(amount), "EUR")) == written


def test_downloading_an_invoice_gives_its_pdf_with_its_number_and_total_k3(client, login, billed):
    # Given a card purchase of 100 credits: 180.00 + 20 % = 216.00
    alpha = billed("alpha")
    invoice = buy(alpha, 100, T).invoice
    login(alpha.owner)
    # When the owner downloads its PDF
    response = download(client, alpha, invoice.number)
    # Then it is a PDF to save, kept by no cache, showing the number and the total
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    text = pdf_text(response.content)
    assert invoice.number in text
    assert "216.00" in text


def test_an_admin_downloads_too_but_a_member_gets_403_x5(client, login, billed):
    # Given an invoice
    alpha = billed("alpha")
    invoice = buy(alpha, 100, T).invoice
    # When its admin asks for the PDF, it comes
    login(alpha.admin)
    assert download(client, alpha, invoice.number).status_code == 200
    # When a member (or a member tied to one client) asks, it is refused, as the history is
    for member in (alpha.member, alpha.tied):
        login(member)
        assert download(client, alpha, invoice.number).status_code == 403
        assert client.get("/o/alpha/invoices/").status_code == 403


def test_another_organisations_invoice_answers_404_x5(client, login, billed):
    # Given an invoice of Bravo, and the owner of Alpha
    alpha, bravo = billed("alpha"), billed("bravo")
    theirs = buy(bravo, 100, T).invoice
    login(alpha.owner)
    # When she asks for it under her own organisation, or under Bravo's
    # Then it does not exist for her
    assert download(client, alpha, theirs.number).status_code == 404
    assert download(client, bravo, theirs.number).status_code == 404
    assert client.get("/o/bravo/invoices/").status_code == 404
    # And neither does a number no invoice has
    assert download(client, alpha, "INV-2027-999999").status_code == 404


def test_no_invoice_file_is_served_under_media_k3(client, login, billed, settings):
    # Given an invoice whose PDF was drawn and stored
    alpha = billed("alpha")
    invoice = buy(alpha, 100, T).invoice
    login(alpha.owner)
    assert download(client, alpha, invoice.number).status_code == 200
    invoice.refresh_from_db()
    assert invoice.pdf.name.startswith("invoices/")
    assert (settings.MEDIA_ROOT / invoice.pdf.name).exists()
    # When anyone, even its owner, asks for the stored file's address
    # Then nothing answers there
    assert client.get(f"/media/{invoice.pdf.name}").status_code == 404
    assert client.get(f"/{settings.MEDIA_URL}{invoice.pdf.name}").status_code == 404


def test_after_void_the_downloaded_pdf_says_void_k3(client, login, billed):
    # Given a paid card invoice, downloaded once
    alpha = billed("alpha")
    invoice = buy(alpha, 100, T).invoice
    login(alpha.owner)
    before = pdf_text(download(client, alpha, invoice.number).content)
    # When back office voids it
    billing_services.void_invoice(invoice=invoice, reason="mistake", now=T + timedelta(hours=1))
    invoice.refresh_from_db()
    # Then the PDF downloaded now shows its status
    after = pdf_text(download(client, alpha, invoice.number).content)
    status_word = invoice.get_status_display().upper()
    assert status_word == "VOID"
    assert status_word not in before
    assert status_word in after


def test_after_a_payment_is_recorded_the_downloaded_pdf_says_paid_k3(client, login, billed):
    # Given an open invoice on enterprise terms, downloaded once
    alpha = billed("alpha")
    invoice = buy(alpha, 500, T, method="enterprise_terms").invoice
    login(alpha.owner)
    before = pdf_text(download(client, alpha, invoice.number).content)
    # When the bank transfer is recorded
    billing_services.record_payment(
        invoice=invoice, now=T + timedelta(days=3), method=PaymentMethod.TRANSFER
    )
    invoice.refresh_from_db()
    # Then the PDF downloaded now says paid
    after = pdf_text(download(client, alpha, invoice.number).content)
    status_word = invoice.get_status_display().upper()
    assert status_word == "PAID"
    assert status_word not in before
    assert status_word in after
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"

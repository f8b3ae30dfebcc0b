"""The API's invoices (K4, M5, K3): the list with its filters, one invoice, its PDF; invoices
belong to the whole organisation (a key tied to one client is refused) and another
organisation's invoice is not found."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing import services
from billing.models import Invoice
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def alpha(make_portal, catalogue, recording_gateway):
    """An organisation on the default EUR list (2.00, 1.80 from 100 credits; 20 % VAT), the
    sandbox Visa on file, which bought 120 credits by card: invoice paid, 259.20 EUR."""
    portal = make_portal("alpha", preset="crm")
    now = timezone.now()
    set_up_billing(portal.organisation, None, enterprise=True, now=now)
    services.purchase(organisation=portal.organisation, now=now, method="card", credits=120)
    return portal


def _invoice(portal) -> Invoice:
    return Invoice.objects.filter(organisation=portal.organisation).latest("pk")


def test_k4_m5_the_list_shows_each_invoice_with_exact_amounts_and_lines(alpha, make_api):
    # given the organisation's one invoice, for 120 credits at 1.80
    invoice = _invoice(alpha)
    api = make_api(alpha, scope="read")
    # when its invoices are listed
    response = api.get("/api/v1/invoices/")
    # then the invoice is there, money as exact decimal strings, with its line
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    [row] = body["results"]
    assert row == {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": "invoice",
        "status": "paid",
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": invoice.due_on.isoformat(),
        "issued_at": row["issued_at"],
        "currency": "EUR",
        "subtotal": "216.00",
        "tax_rate": "20.00",
        "tax": "43.20",
        "total": "259.20",
        "credit_note_for": None,
        "lines": [
            {
                "description": invoice.lines.get().description,
                "quantity": 120,
                "unit_price": "1.8000",
                "amount": "216.00",
            }
        ],
        "pdf": f"/api/v1/invoices/{invoice.pk}/pdf/",
    }
    assert datetime.fromisoformat(row["issued_at"]) == invoice.issued_at


def test_k4_m5_invoices_filter_by_status_and_issue_date(alpha, make_api):
    # given, beside the paid invoice of today, an open one issued on 15 January 2026
    paid = _invoice(alpha)
    january = services.issue_invoice(
        organisation=alpha.organisation,
        lines=[services.Line("Credits", 10, Decimal("2.0000"), Decimal("20.00"))],
        now=datetime(2026, 1, 15, 12, tzinfo=PARIS),
        due_days=30,
    )
    api = make_api(alpha, scope="read")

    def numbers(**params) -> list[str]:
        response = api.get("/api/v1/invoices/", params)
        assert response.status_code == 200
        return [row["number"] for row in response.json()["results"]]

    # when filtered, then each filter keeps what it names (both date ends included)
    assert numbers(status="open") == [january.number]
    assert numbers(status="paid") == [paid.number]
    assert numbers(issued_before="2026-01-15") == [january.number]
    assert numbers(issued_after="2026-01-16") == [paid.number]
    assert numbers(issued_after="2026-01-15", issued_before="2026-01-15") == [january.number]
    assert numbers() == [january.number, paid.number]  # newest row first
    assert january.issued_on == date(2026, 1, 15)


def test_k4_x6_an_unknown_filter_value_is_a_400_validation_error(alpha, make_api):
    api = make_api(alpha, scope="read")
    for params in ({"status": "lost"}, {"issued_after": "yesterday"}):
        response = api.get("/api/v1/invoices/", params)
        assert response.status_code == 400, params
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"


def test_k4_m5_one_invoice_reads_like_its_row_in_the_list(alpha, make_api):
    invoice = _invoice(alpha)
    api = make_api(alpha, scope="read")
    listed = api.get("/api/v1/invoices/").json()["results"][0]
    response = api.get(f"/api/v1/invoices/{invoice.pk}/")
    assert response.status_code == 200
    assert response.json() == listed


def test_k4_k3_the_pdf_is_the_invoice_as_a_pdf_attachment(alpha, make_api):
    # given the paid invoice
    invoice = _invoice(alpha)
    api = make_api(alpha, scope="read")
    # when its PDF is asked for (by a client that says it wants a PDF, or says nothing)
    for accept in ("application/pdf", "*/*"):
        response = api.http.get(
            f"/api/v1/invoices/{invoice.pk}/pdf/",
            HTTP_AUTHORIZATION=f"Bearer {api.secret}",
            HTTP_ACCEPT=accept,
        )
        # then it is a PDF document named after the invoice's number, kept by no cache
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
        assert response["Cache-Control"] == "private, no-store"


def test_k4_x5_another_organisations_invoice_is_not_found(alpha, make_portal, make_api):
    # given an invoice of Alpha and a key of Bravo
    invoice = _invoice(alpha)
    bravo = make_api(make_portal("bravo", preset="crm"))
    # when Bravo's key asks for it, its lines or its PDF
    for path in (f"/api/v1/invoices/{invoice.pk}/", f"/api/v1/invoices/{invoice.pk}/pdf/"):
        response = bravo.get(path)
        # then it does not exist for Bravo
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert bravo.get("/api/v1/invoices/").json()["results"] == []


def test_k4_b7_a_key_tied_to_one_client_may_not_read_invoices(alpha, make_api):
    invoice = _invoice(alpha)
    tied = make_api(alpha, client=alpha.clients[0])
    for path in (
        "/api/v1/invoices/",
        f"/api/v1/invoices/{invoice.pk}/",
        f"/api/v1/invoices/{invoice.pk}/pdf/",
    ):
        response = tied.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "client_not_allowed"

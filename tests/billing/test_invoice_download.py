"""K1, K3: staff download an invoice's PDF from admin through the same service as the portal,
never from the stored file's address; staff who may not see invoices are refused."""

import subprocess

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing import services
from billing.models import Invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(enterprise, now) -> Invoice:
    """An open invoice of 100 credits on enterprise terms: 180.00 + 20 % = 216.00."""
    return services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    ).invoice


@pytest.fixture
def clerk(make_user):
    """Back-office staff allowed to see invoices, and nothing else."""
    user = make_user("clerk", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="billing", codename="view_invoice")
    )
    return user


def pdf_url(invoice: Invoice) -> str:
    return reverse("admin:billing_invoice_pdf", args=[invoice.pk])


def pdf_text(document: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=document, capture_output=True, check=True
    ).stdout.decode()


def test_staff_allowed_to_see_invoices_download_the_pdf_from_admin_k1(client, clerk, invoice):
    # Given staff with billing.view_invoice
    client.force_login(clerk)
    # When they open the invoice's PDF link in admin
    response = client.get(pdf_url(invoice))
    # Then the PDF comes, to save, cached nowhere, with the invoice's number and total
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    # (admin's own never_cache adds its directives to the view's "private, no-store")
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    text = pdf_text(response.content)
    assert invoice.number in text
    assert "216.00" in text


def test_admin_serves_the_same_bytes_as_the_service_k3(client, clerk, invoice):
    # Given the PDF the service draws for the invoice
    document = services.invoice_pdf(invoice=Invoice.objects.get(pk=invoice.pk))
    client.force_login(clerk)
    # When staff download it from admin
    # Then they get exactly those bytes
    assert client.get(pdf_url(invoice)).content == document


def test_staff_without_the_permission_to_see_invoices_get_403_k1(client, make_user, invoice):
    # Given staff who may not see invoices
    client.force_login(make_user("intern", is_staff=True))
    # When they open the PDF's address
    # Then it is refused, and no PDF was drawn for them
    assert client.get(pdf_url(invoice)).status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).pdf.name == ""


def test_someone_outside_the_back_office_is_sent_to_log_in_k1(client, make_user, invoice):
    client.force_login(make_user("customer"))
    response = client.get(pdf_url(invoice))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_invoice_that_does_not_exist_answers_404_k1(client, clerk, invoice):
    client.force_login(clerk)
    missing = reverse("admin:billing_invoice_pdf", args=[invoice.pk + 1000])
    assert client.get(missing).status_code == 404


def test_the_invoice_list_and_page_link_to_the_admin_view_not_to_the_stored_file_k1(
    client, clerk, invoice
):
    # Given an invoice whose PDF is stored
    services.invoice_pdf(invoice=invoice)
    stored = Invoice.objects.get(pk=invoice.pk).pdf.name
    assert stored
    client.force_login(clerk)
    # When staff read the invoice list and the invoice's page
    for url in (
        reverse("admin:billing_invoice_changelist"),
        reverse("admin:billing_invoice_change", args=[invoice.pk]),
    ):
        page = client.get(url).content.decode()
        # Then the PDF link is the admin's view, and the stored file is linked nowhere
        assert f'<a href="{pdf_url(invoice)}">Download the PDF</a>' in page, url
        assert stored not in page, url
        assert "/media/" not in page, url

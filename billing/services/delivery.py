"""An invoice's PDF and its e-mail (K2, K3, D1). Both run in jobs, after the invoice
committed; both are safe to run twice."""

from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from billing.models import Invoice
from clients.models import Organisation


def render_invoice_pdf(*, invoice: Invoice, force: bool = False) -> Invoice:
    """Render the PDF with WeasyPrint and store it; already rendered is left alone unless
    forced (admin's "regenerate"), so the job is safe to run twice."""
    from weasyprint import HTML

    if invoice.pdf and not force:
        return invoice
    html = render_to_string(
        "billing/invoice.html", {"invoice": invoice, "lines": list(invoice.lines.all())}
    )
    document = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    if invoice.pdf:
        invoice.pdf.delete(save=False)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(document), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    return invoice


def email_invoice(*, invoice: Invoice, now: datetime) -> bool:
    """Send the invoice with its PDF to the buyer, once (D1). Returns whether it was sent."""
    recipient = invoice.buyer.get("email") or _owner_email(invoice.organisation)
    if invoice.emailed_at is not None or not recipient:
        return False
    render_invoice_pdf(invoice=invoice)
    invoice.refresh_from_db()
    kind = invoice.get_kind_display()
    message = EmailMessage(
        subject=f"{kind} {invoice.number}",
        body=render_to_string("billing/invoice_email.txt", {"invoice": invoice}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    with invoice.pdf.open("rb") as pdf:
        message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    claimed = Invoice.objects.filter(pk=invoice.pk, emailed_at__isnull=True).update(emailed_at=now)
    if claimed:
        message.send()
    return bool(claimed)


def deliver_invoice(*, invoice: Invoice, now: datetime) -> bool:
    render_invoice_pdf(invoice=invoice)
    return email_invoice(invoice=invoice, now=now)


def _owner_email(organisation: Organisation) -> str:
    owner = organisation.memberships.filter(role="owner").select_related("user").first()
    return owner.user.email if owner else ""


def sweep_invoices(*, now: datetime) -> int:
    """Invoices whose delivery job was lost (no PDF yet, or not e-mailed) are enqueued again."""
    from django.db.models import Q

    from billing import tasks
    from config.jobs import enqueue

    pending = list(
        Invoice.objects.filter(Q(pdf="") | Q(emailed_at__isnull=True)).values_list("pk", flat=True)
    )
    for invoice_id in pending:
        enqueue(tasks.deliver_invoice, invoice_id)
    return len(pending)


def invoice_pdf(*, invoice: Invoice) -> bytes:
    """The invoice's PDF as it stands now, for a download: drawn again first when it is
    missing or shows a status the invoice no longer has."""
    if not invoice.pdf or invoice.pdf_status != invoice.status:
        render_invoice_pdf(invoice=invoice, force=True)
        invoice.refresh_from_db()
    with invoice.pdf.open("rb") as stored:
        return stored.read()

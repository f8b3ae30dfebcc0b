"""An invoice's PDF and its e-mail (K2, K3, D1, X4). Both run in jobs after the invoice
committed, both are safe to run twice, and the sweep finds whatever a lost job left undone.

The PDF is written in the invoice's language and shows the status the invoice has now; it is
stored under a fresh name at each drawing (`invoices/<year>/<number>-<random>.pdf`), and the
row is swapped over to it by a conditional UPDATE that deletes the file it replaced, so
drawing it again, even by several jobs at once, leaves one file and never deletes one a
download is reading under its feet. `Invoice.pdf_status` says which status the stored file
shows: when it differs from the invoice's, the file is drawn again.

The e-mail goes through states (`EmailStatus`) so that it is never lost and sent once:
a job claims it with a conditional UPDATE (pending, or failed and due, or stuck in sending
→ sending), hands it to the mail server outside any transaction, and marks it sent only
once the server accepted it; a refusal marks it failed with the next attempt after a
backoff. Delivery is at least once: a worker that dies after the server accepted the
message but before marking it sent leaves it in "sending", and the sweep sends it again
once that claim is older than `EMAIL_CLAIM_TIMEOUT`; a duplicate e-mail beats a lost one.
"""

import logging
import secrets
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db.models import F, Max, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import pgettext

from billing.models import EmailStatus, Invoice, InvoiceKind, InvoiceStatus
from billing.templatetags.invoice_format import format_money
from clients.models import Organisation, Role

logger = logging.getLogger("portal.billing.delivery")
_fonts = threading.local()

# After the n-th refused attempt the next one waits EMAIL_RETRY_DELAYS[n-1], then an hour
# each time; after EMAIL_MAX_ATTEMPTS the invoice stays "failed" (shown in admin) with no
# next attempt: about 20 hours of a mail server refusing is a fault for a person to fix.
EMAIL_RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=60),
)
EMAIL_RETRY_LATER = timedelta(hours=1)
EMAIL_MAX_ATTEMPTS = 24
# A claim ("sending") not resolved after this long means the worker died: sent again.
EMAIL_CLAIM_TIMEOUT = timedelta(minutes=15)
# French B2B invoices state the fixed recovery compensation (Code de commerce, L441-10).
RECOVERY_FEE = Decimal("40")


def pdf_name(invoice: Invoice) -> str:
    """A fresh name for each drawing, so that no drawing ever writes over a file another
    job is writing or a download is reading; the row names the current one."""
    return f"invoices/{invoice.year}/{invoice.number}-{secrets.token_hex(4)}.pdf"


def render_invoice_pdf(*, invoice: Invoice, force: bool = False) -> Invoice:
    """Draw the PDF and store it, unless the stored one already shows the invoice's current
    status (so the job is safe to run twice); `force` draws it anyway (admin's
    "regenerate"). Returns the invoice as stored, with `pdf` and `pdf_status` set."""
    invoice = _fresh(invoice)
    if invoice.pdf and invoice.pdf_status == invoice.status and not force:
        return invoice
    _draw_and_store(invoice)
    return invoice


def invoice_pdf(*, invoice: Invoice) -> bytes:
    """The invoice's PDF as it stands now, for a download: drawn again first when it is
    missing or shows a status the invoice no longer has."""
    for _ in range(2):  # a drawing may swap the file away between our read of the row and of it
        invoice = _fresh(invoice)
        if not (invoice.pdf and invoice.pdf_status == invoice.status):
            break
        try:
            with invoice.pdf.open("rb") as stored:
                return stored.read()
        except FileNotFoundError:
            logger.info("PDF of %s replaced or missing; reading the row again", invoice.number)
    return _draw_and_store(invoice)


def _fresh(invoice: Invoice) -> Invoice:
    """The row as it is now: a caller's copy may predate "mark paid" or "void"."""
    return Invoice.objects.select_related("organisation", "credit_note_for").get(pk=invoice.pk)


def _draw_and_store(invoice: Invoice, *, rounds: int = 3) -> bytes:
    """Draw, store under a fresh name, and swap the row over to it only if the row still
    names the file it named before drawing (a conditional UPDATE): the winner deletes the
    file it replaced, a drawing that lost deletes its own, so one file remains per invoice
    however many jobs draw at once, with no lock held while drawing or writing. Then look
    again: if the status changed while drawing (a payment recorded meanwhile), draw again,
    so the stored file never keeps a status the invoice left while `pdf_status` says
    otherwise."""
    storage = invoice.pdf.storage
    for _ in range(rounds):
        drawn_status = invoice.status
        before = Invoice.objects.values_list("pdf", flat=True).get(pk=invoice.pk)
        document = _render(invoice)
        name = storage.save(pdf_name(invoice), ContentFile(document))
        swapped = Invoice.objects.filter(pk=invoice.pk, pdf=before).update(
            pdf=name, pdf_status=drawn_status
        )
        if not swapped:  # another drawing swapped in first: its file stands, ours goes
            storage.delete(name)
        elif before:
            storage.delete(before)
        current = Invoice.objects.values_list("pdf", "pdf_status", "status").get(pk=invoice.pk)
        invoice.pdf.name, invoice.pdf_status, status_now = current
        if status_now == invoice.pdf_status:
            break
        invoice.status = status_now
    return document


def _render(invoice: Invoice) -> bytes:
    from weasyprint import HTML

    with translation.override(invoice.language), timezone.override(_zone(invoice)):
        html = render_to_string("billing/invoice.html", _pdf_context(invoice))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_config())


def _font_config():
    """One font configuration per thread, kept: building it on every render costs ~13 ms of
    the ~60 a warm render takes (bench/invoice_pdf.py). Per thread because WeasyPrint does
    not promise it may be shared between threads."""
    config = getattr(_fonts, "config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _fonts.config = FontConfiguration()
    return config


def _zone(invoice: Invoice) -> ZoneInfo:
    return ZoneInfo(invoice.organisation.time_zone)


def _pdf_context(invoice: Invoice) -> dict[str, object]:
    """What the template needs beyond the invoice; called with the invoice's language on."""
    is_credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "title": _title(invoice),
        "is_credit_note": is_credit_note,
        # A credit note is issued settled ("paid") by construction: stamping it would say
        # nothing, so only invoices carry a stamp.
        "stamp": None if is_credit_note else _stamp(invoice.status),
        "terms_days": (invoice.due_on - invoice.issued_on).days,
        "paid_on": _paid_on(invoice),
        "recovery_fee": format_money(RECOVERY_FEE, "EUR", min_decimals=0, max_decimals=0),
    }


def _title(invoice: Invoice) -> str:
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return pgettext("invoice", "Credit note %(number)s") % {"number": invoice.number}
    return pgettext("invoice", "Invoice %(number)s") % {"number": invoice.number}


def _stamp(status: str) -> str | None:
    """The word across the top right: an open invoice has none."""
    return {
        InvoiceStatus.PAID: pgettext("invoice stamp", "PAID"),
        InvoiceStatus.VOID: pgettext("invoice stamp", "VOID"),
        InvoiceStatus.OVERDUE: pgettext("invoice stamp", "OVERDUE"),
    }.get(status)


def _paid_on(invoice: Invoice) -> date | None:
    if invoice.status != InvoiceStatus.PAID:
        return None
    paid_at = invoice.payments.aggregate(last=Max("paid_at"))["last"]
    return timezone.localtime(paid_at, _zone(invoice)).date() if paid_at else None


def _claimable(now: datetime) -> Q:
    """Pending; or failed and due; or "sending" for longer than the claim lasts (a dead
    worker's): one condition, since a claim sets `email_next_attempt_at` to its expiry."""
    return Q(email_status=EmailStatus.PENDING) | Q(
        email_status__in=[EmailStatus.FAILED, EmailStatus.SENDING],
        email_next_attempt_at__lte=now,
    )


def email_invoice(*, invoice: Invoice, now: datetime) -> bool:
    """Send the invoice with its PDF to the buyer, once (D1); returns whether this call
    sent it. Only one job holds the claim at a time; it is marked sent only after the mail
    server accepted the message, and a refusal is retried later with backoff."""
    recipient = invoice.buyer.get("email") or _owner_email(invoice.organisation)
    if not recipient:
        Invoice.objects.filter(pk=invoice.pk).filter(_claimable(now)).update(
            email_status=EmailStatus.NONE, email_next_attempt_at=None
        )
        return False
    if not Invoice.objects.filter(pk=invoice.pk).filter(_claimable(now)).exists():
        return False  # sent, being sent, or not due: nothing to draw for it
    pdf = invoice_pdf(invoice=invoice)
    claimed = (
        Invoice.objects.filter(pk=invoice.pk)
        .filter(_claimable(now))
        .update(
            email_status=EmailStatus.SENDING,
            email_attempts=F("email_attempts") + 1,
            email_next_attempt_at=now + EMAIL_CLAIM_TIMEOUT,
        )
    )
    if not claimed:
        return False
    invoice = _fresh(invoice)
    attempt = invoice.email_attempts
    try:
        accepted = _message(invoice, recipient, pdf).send()
        if not accepted:
            raise RuntimeError("the mail backend accepted no message")
    except Exception as error:  # any refusal: SMTP, network, TLS, the backend itself
        _failed(invoice, attempt, now, error)
        return False
    Invoice.objects.filter(pk=invoice.pk).exclude(email_status=EmailStatus.SENT).update(
        email_status=EmailStatus.SENT, emailed_at=now, email_next_attempt_at=None, email_error=""
    )
    return True


def _failed(invoice: Invoice, attempt: int, now: datetime, error: Exception) -> None:
    """Record the refusal and when to try again, unless another job took over the claim
    meanwhile (then its outcome stands)."""
    logger.warning("invoice %s: e-mail attempt %s refused: %r", invoice.number, attempt, error)
    Invoice.objects.filter(
        pk=invoice.pk, email_status=EmailStatus.SENDING, email_attempts=attempt
    ).update(
        email_status=EmailStatus.FAILED,
        email_error=f"{type(error).__name__}: {error}"[:2000],
        email_next_attempt_at=next_email_attempt(attempt=attempt, now=now),
    )


def next_email_attempt(*, attempt: int, now: datetime) -> datetime | None:
    """When to try again after the `attempt`-th refusal (1, 5, 15, 60 minutes, then hourly);
    None once `EMAIL_MAX_ATTEMPTS` were refused."""
    if attempt >= EMAIL_MAX_ATTEMPTS:
        return None
    if attempt <= len(EMAIL_RETRY_DELAYS):
        return now + EMAIL_RETRY_DELAYS[attempt - 1]
    return now + EMAIL_RETRY_LATER


def _message(invoice: Invoice, recipient: str, pdf: bytes) -> EmailMessage:
    """The e-mail in the invoice's language, its PDF attached."""
    with translation.override(invoice.language), timezone.override(_zone(invoice)):
        subject = _title(invoice)
        body = render_to_string(
            "billing/invoice_email.txt",
            {
                "invoice": invoice,
                "title": subject,
                "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
                "to_pay": invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE),
            },
        )
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient]
    )
    message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return message


def _owner_email(organisation: Organisation) -> str:
    owner = (
        organisation.memberships.filter(role=Role.OWNER).select_related("user").order_by("pk")
    ).first()
    return owner.user.email if owner else ""


def deliver_invoice(*, invoice: Invoice, now: datetime) -> bool:
    """The delivery job's body: the PDF up to date with the status, then the e-mail if it
    is due. Returns whether an e-mail was sent."""
    invoice = render_invoice_pdf(invoice=invoice)
    return email_invoice(invoice=invoice, now=now)


def undelivered(*, now: datetime):
    """Invoices a delivery job still has work for: no PDF, a PDF showing another status, or
    an e-mail pending, failed and due, or stuck in "sending". One query, whatever the
    number of invoices."""
    return Invoice.objects.filter(Q(pdf="") | ~Q(pdf_status=F("status")) | _claimable(now))


def sweep_invoices(*, now: datetime) -> int:
    """Enqueue a delivery job for every invoice whose job was lost (broker down), died, or
    whose e-mail is due again (X4). Enqueueing never raises; returns how many were found."""
    from billing import tasks
    from config.jobs import enqueue

    found = 0
    for invoice_id in undelivered(now=now).order_by("pk").values_list("pk", flat=True):
        enqueue(tasks.deliver_invoice, invoice_id)
        found += 1
    return found

"""D1, K2, X4: the invoice e-mail is sent once, in the buyer's language, with its PDF, only
marked sent once the mail server accepted it, and retried with backoff when refused."""

import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend

from billing import services, tasks
from billing.models import BillingProfile, Invoice
from billing.services import delivery
from tests.billing.conftest import stable_name

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def buy(organisation, now, credits=1000):
    return services.purchase(
        organisation=organisation, credits=credits, method="enterprise_terms", now=now
    ).invoice


def state(invoice):
    invoice.refresh_from_db()
    return (
        invoice.email_status,
        invoice.email_attempts,
        invoice.email_next_attempt_at,
        invoice.emailed_at,
    )


@pytest.fixture
def smtp_refuses(monkeypatch):
    """The mail server drops the connection for the first `refusals["left"]` messages."""
    refusals = {"left": 2, "calls": 0}
    real_send = EmailBackend.send_messages

    def send_messages(self, messages):
        refusals["calls"] += 1
        if refusals["left"] > 0:
            refusals["left"] -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    return refusals


@pytest.fixture
def enqueued(monkeypatch):
    """The delivery jobs the sweep enqueues, recorded instead of run, so that the test runs
    them itself at the time it chooses."""
    jobs = []
    monkeypatch.setattr(tasks.deliver_invoice, "delay", jobs.append)
    return jobs


def test_enterprise_terms_invoice_is_due_in_30_days_and_emailed_once_with_its_pdf_d1(
    enterprise, now, mailoutbox, django_capture_on_commit_callbacks
):
    """D1: through the real path (the job enqueued on commit)."""
    # Given an organisation on enterprise terms
    # When it buys credits and the jobs enqueued on commit run
    with django_capture_on_commit_callbacks(execute=True):
        bought = services.purchase(
            organisation=enterprise, credits=1000, method="enterprise_terms", now=now
        )
    invoice = Invoice.objects.get(pk=bought.invoice_id)
    # Then the invoice is due 30 days after its issue
    assert (str(invoice.issued_on), str(invoice.due_on)) == ("2026-03-10", "2026-04-09")
    # And exactly one e-mail went to the invoice address, with the PDF attached
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.subject == "Invoice INV-2026-000001"
    assert message.to == ["accounts@deepetch.example"]
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == ("INV-2026-000001.pdf", "application/pdf")
    with invoice.pdf.open("rb") as stored:
        assert content == stored.read()
    assert content.startswith(b"%PDF-")
    assert "Total incl. VAT: €1,800.00" in message.body
    assert "To be paid by 9 Apr 2026." in message.body
    assert state(invoice)[:3] == ("sent", 1, None)
    assert invoice.emailed_at is not None


def test_a_second_delivery_sends_nothing_k2(enterprise, now, mailoutbox):
    # Given an invoice already e-mailed
    invoice = buy(enterprise, now)
    assert services.deliver_invoice(invoice=invoice, now=now) is True
    # When its job runs again (redelivered, or the sweep)
    again = services.deliver_invoice(invoice=invoice, now=now + MINUTE)
    # Then nothing more is sent and the first sending stands
    assert again is False
    assert len(mailoutbox) == 1
    assert state(invoice) == ("sent", 1, None, now)


def test_a_card_purchase_sends_one_email_showing_paid_k2(
    make_organisation, default_prices, card, now, mailoutbox, recording_gateway,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """Issuing and paying enqueue two delivery jobs for one invoice: one e-mail still."""
    # Given an organisation with a card on file
    organisation = make_organisation("cardco", name="Card Co")
    card(organisation)
    # When it buys credits by card and the jobs enqueued on commit run
    with django_capture_on_commit_callbacks(execute=True):
        bought = services.purchase(organisation=organisation, credits=100, method="card", now=now)
    # Then one e-mail went to the owner (no invoice address), saying it is paid
    assert bought.status == "paid"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["cardco-owner@test.example"]
    assert "This invoice is paid: nothing is left to pay." in mailoutbox[0].body
    assert Invoice.objects.get(pk=bought.invoice_id).pdf_status == "paid"


def test_a_french_invoice_email_is_in_french_k3(make_organisation, default_prices, now, mailoutbox):
    # Given a French organisation on enterprise terms
    organisation = make_organisation("bureau", name="Bureau", language="fr")
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True, email="compta@bureau.example"
    )
    invoice = buy(organisation, now)
    # When its invoice is delivered
    services.deliver_invoice(invoice=invoice, now=now)
    # Then the subject and the body are in French, with French figures
    [message] = mailoutbox
    assert message.subject == "Facture INV-2026-000001"
    body = message.body.replace("\u202f", " ").replace("\u00a0", " ")
    assert body.startswith("Bonjour,\n\nVeuillez trouver ci-joint la facture INV-2026-000001.")
    assert "Total TTC : 1 800,00 €" in body
    assert "À régler au plus tard le 09/04/2026." in body


def test_a_credit_note_is_emailed_as_such_s7(enterprise, now, mailoutbox):
    # Given an invoice voided by a credit note
    invoice = buy(enterprise, now)
    services.deliver_invoice(invoice=invoice, now=now)
    note = services.void_invoice(invoice=invoice, reason="Wrong quantity", now=now)
    # When the credit note is delivered
    services.deliver_invoice(invoice=note, now=now)
    # Then it goes out as a credit note naming the invoice it cancels
    assert [message.subject for message in mailoutbox] == [
        "Invoice INV-2026-000001",
        "Credit note CN-2026-000001",
    ]
    assert (
        "Please find attached credit note CN-2026-000001, which cancels invoice INV-2026-000001."
        in mailoutbox[1].body
    )


def test_a_refusing_mail_server_is_retried_at_the_backoff_times_and_sent_once_k2(
    enterprise, now, mailoutbox, smtp_refuses, enqueued
):
    """Issue 11 point 5: SMTP refuses twice; the invoice is failed, retried after 1 then
    5 minutes, sent at the third attempt, once; `emailed_at` is set only then."""
    # Given an invoice and a mail server that refuses the next two messages
    invoice = buy(enterprise, now)
    # When the delivery job runs: refused, failed, next attempt in 1 minute
    assert services.deliver_invoice(invoice=invoice, now=now) is False
    assert state(invoice) == ("failed", 1, now + MINUTE, None)
    assert invoice.email_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    # And before that minute, neither the job nor the sweep tries again
    assert services.email_invoice(invoice=invoice, now=now + 59 * timedelta(seconds=1)) is False
    assert services.sweep_invoices(now=now + 59 * timedelta(seconds=1)) == 0
    assert smtp_refuses["calls"] == 1
    # When the minute is up the sweep finds it; refused again: next attempt 5 minutes later
    assert services.sweep_invoices(now=now + MINUTE) == 1
    assert enqueued == [invoice.pk]
    services.deliver_invoice(invoice=invoice, now=now + MINUTE)
    assert state(invoice) == ("failed", 2, now + 6 * MINUTE, None)
    assert services.email_invoice(invoice=invoice, now=now + 5 * MINUTE) is False
    # When the server accepts, at the third attempt
    assert services.deliver_invoice(invoice=invoice, now=now + 6 * MINUTE) is True
    # Then it is sent, once, and only now marked so
    assert state(invoice) == ("sent", 3, None, now + 6 * MINUTE)
    assert invoice.email_error == ""
    assert len(mailoutbox) == 1
    assert mailoutbox[0].attachments[0][0] == "INV-2026-000001.pdf"
    assert services.deliver_invoice(invoice=invoice, now=now + 7 * MINUTE) is False
    assert services.sweep_invoices(now=now + 7 * MINUTE) == 0
    assert (smtp_refuses["calls"], len(mailoutbox)) == (3, 1)


def test_the_backoff_is_1_5_15_60_minutes_then_hourly_up_to_24_attempts_k2(now):
    # Given the n-th refused attempt
    # When the next attempt is computed
    waits = [delivery.next_email_attempt(attempt=attempt, now=now) for attempt in range(1, 26)]
    # Then it waits 1, 5, 15, 60 minutes, then an hour, and stops after the 24th
    minutes = [None if when is None else (when - now) / MINUTE for when in waits]
    assert minutes == [1, 5, 15, 60] + [60] * 19 + [None, None]


def test_after_24_refusals_the_email_stays_failed_and_is_no_longer_retried_k2(
    enterprise, now, mailoutbox, smtp_refuses
):
    # Given an invoice whose e-mail was refused 23 times and is due again
    invoice = buy(enterprise, now)
    services.render_invoice_pdf(invoice=invoice)
    Invoice.objects.filter(pk=invoice.pk).update(
        email_status="failed", email_attempts=23, email_next_attempt_at=now
    )
    # When the 24th attempt is refused too
    assert services.email_invoice(invoice=invoice, now=now) is False
    # Then it stays failed with no next attempt, and the sweep leaves it for a person
    assert state(invoice) == ("failed", 24, None, None)
    assert services.sweep_invoices(now=now + timedelta(days=30)) == 0
    assert mailoutbox == []


def test_an_invoice_with_no_recipient_is_marked_none_and_not_retried_k2(
    make_organisation, default_prices, now, mailoutbox, django_user_model
):
    # Given an organisation with no invoice e-mail and an owner without an e-mail address
    organisation = make_organisation("quiet", name="Quiet")
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True
    )
    django_user_model.objects.filter(username="quiet-owner").update(email="")
    invoice = buy(organisation, now)
    # When the invoice is delivered
    assert services.deliver_invoice(invoice=invoice, now=now) is False
    # Then its PDF is drawn, no e-mail is sent, and the sweep does not come back for it
    assert state(invoice) == ("none", 0, None, None)
    assert stable_name(invoice.pdf.name) == "invoices/2026/INV-2026-000001.pdf"
    assert mailoutbox == []
    assert services.sweep_invoices(now=now + timedelta(days=1)) == 0


def test_a_sending_left_by_a_dead_worker_is_sent_again_after_15_minutes_x4(
    enterprise, now, mailoutbox, monkeypatch, enqueued
):
    """X4: at least once. A worker killed while handing the message over leaves the claim
    in "sending"; after the claim's 15 minutes the sweep finds it and it is sent."""
    # Given a worker killed while the mail server had the message
    invoice = buy(enterprise, now)

    def killed(self, messages):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", killed)
        with pytest.raises(SystemExit):
            services.deliver_invoice(invoice=invoice, now=now)
    assert state(invoice) == ("sending", 1, now + 15 * MINUTE, None)
    # When another job looks before the claim expired: nothing is sent twice at once
    assert services.email_invoice(invoice=invoice, now=now + 14 * MINUTE) is False
    assert services.sweep_invoices(now=now + 14 * MINUTE) == 0
    # When the sweep runs 15 minutes after the claim
    assert services.sweep_invoices(now=now + 15 * MINUTE) == 1
    assert enqueued == [invoice.pk]
    services.deliver_invoice(invoice=invoice, now=now + 15 * MINUTE)
    # Then the e-mail is sent and marked so
    assert state(invoice) == ("sent", 2, None, now + 15 * MINUTE)
    assert len(mailoutbox) == 1


def test_the_delivery_job_schedules_the_retry_at_its_backoff_time_k2(
    enterprise, now, monkeypatch, smtp_refuses
):
    """With a real broker the refused e-mail is tried again at its time, not only at the next
    sweep; inline (eager) runs leave it to the sweep."""
    # Given a broker (not eager) and a mail server refusing the next message
    invoice = buy(enterprise, now)
    scheduled = []
    monkeypatch.setattr(
        tasks.deliver_invoice, "apply_async", lambda args, eta: scheduled.append((args, eta))
    )
    tasks.deliver_invoice.app.conf.task_always_eager = False  # reset by _celery_runs_inline
    # When the delivery job runs
    tasks.deliver_invoice(invoice.pk)
    # Then a copy of it is scheduled one second after the next attempt's time
    retry_at = Invoice.objects.get(pk=invoice.pk).email_next_attempt_at
    assert scheduled == [((invoice.pk,), retry_at + timedelta(seconds=1))]


def test_a_delivery_job_run_inline_does_not_schedule_a_retry_k2(
    enterprise, now, monkeypatch, smtp_refuses
):
    # Given tasks that run inline (no broker) and a mail server refusing the next message
    invoice = buy(enterprise, now)
    scheduled = []
    monkeypatch.setattr(
        tasks.deliver_invoice, "apply_async", lambda *args, **kwargs: scheduled.append(args)
    )
    # When the delivery job runs
    tasks.deliver_invoice(invoice.pk)
    # Then nothing is scheduled: the sweep retries it when due
    assert Invoice.objects.get(pk=invoice.pk).email_status == "failed"
    assert scheduled == []


def test_a_broker_down_when_scheduling_the_retry_does_not_fail_the_job_x4(
    enterprise, now, monkeypatch, smtp_refuses, caplog
):
    # Given a broker that refuses the delayed retry
    invoice = buy(enterprise, now)

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(tasks.deliver_invoice, "apply_async", broker_down)
    tasks.deliver_invoice.app.conf.task_always_eager = False  # reset by _celery_runs_inline
    # When the delivery job runs and the e-mail is refused
    sent = tasks.deliver_invoice(invoice.pk)
    # Then the job returns normally, the failure is recorded for the sweep, and logged
    assert sent is False
    assert Invoice.objects.get(pk=invoice.pk).email_status == "failed"
    assert f"could not schedule the e-mail retry of invoice {invoice.pk}" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_delivery_jobs_at_once_send_one_email_and_leave_one_pdf_x4(
    enterprise, now, mailoutbox, settings, enqueued
):
    """X4, K2: the claim is a conditional UPDATE, so of 8 jobs delivering the same invoice at
    the same moment exactly one sends; their PDFs, swapped in by a conditional UPDATE, leave
    one file."""
    import threading

    from django.db import connection

    # Given an invoice (its own job, enqueued on commit, only recorded) and eight delivery
    # jobs started together
    invoice = buy(enterprise, now)
    assert enqueued == [invoice.pk]
    barrier = threading.Barrier(8)
    outcomes: list[object] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.deliver_invoice(invoice=invoice, now=now))
        except BaseException as error:  # reported by the assertion below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then one of them sent it, once; the others found it claimed or sent
    assert sorted(outcomes, key=str) == [False] * 7 + [True], outcomes
    assert len(mailoutbox) == 1
    assert state(invoice) == ("sent", 1, None, now)
    # And one PDF file remains
    folder = settings.MEDIA_ROOT / "invoices" / "2026"
    stored = Invoice.objects.get(pk=invoice.pk).pdf.name
    assert sorted(f"invoices/2026/{path.name}" for path in folder.iterdir()) == [stored]

"""X4, K2, D1: Redis stopped while a purchase commits. The purchase returns normally (its
delivery job could not be enqueued: logged, not raised); once the broker is back, the sweep
finds the invoice by its state and the PDF and the one e-mail arrive.

Runs on the PostgreSQL and Redis that `make test` starts, with Celery really publishing (not
eager) to a Redis address where nothing listens, as when Redis is stopped, and otherwise the
production configuration, so that the time measured is the time a buyer would wait.

Measured on the 2-core VM (bench notes in the lead's report): with the production settings a
failed enqueue takes about 0.6 s (kombu's publish retries: 3 at 0.2 s). Two settings one
might reach for make it worse: `task_publish_retry=False` sends the publish through the
connection's own retry loop, bounded only by `broker_connection_timeout` (4 s): about 6 s;
and a task that keeps its result subscribes to the Redis result store first, which retries
for about 19 s in a process that never reached Redis (billing's delivery tasks ignore their
result for that reason).
"""

import socket
import time

import pytest
from django.db import connection

from billing import services
from billing.models import BillingProfile, Invoice
from config.celery import app
from tests.billing.conftest import stable_name

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

# A web request waits for its enqueues: a purchase (two for a card: issued, then paid) must
# not hang on a stopped Redis.
PURCHASE_BUDGET_SECONDS = 3.0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


def forget_connections() -> None:
    """Celery keeps its broker connection pool, producer pool and result backend once made;
    drop the app's references so that the next publish uses the configuration in force now
    (private attributes: what Celery itself resets after a fork). The pools themselves are
    left open: kombu keeps them in a registry by broker URL and hands the same one back when
    the URL is restored (even eager tasks acquire a producer from it)."""
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


@pytest.fixture
def redis_stopped(settings):
    """Celery publishes for real (not eager) to a Redis that is not there: broker and result
    store, as when the one Redis of a deployment is stopped."""
    down = f"redis://127.0.0.1:{closed_port()}/0"
    changed = {"task_always_eager": False, "broker_url": down, "result_backend": down}
    saved = {key: app.conf[key] for key in changed}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(changed)
    forget_connections()

    def back_up() -> None:
        """Redis is back: the tasks run in the test's process again."""
        app.conf.update(saved)
        forget_connections()
        app.conf.task_always_eager = True

    yield back_up
    back_up()


@pytest.fixture
def deepetch(make_organisation, catalogue, now):
    organisation = make_organisation("deepetch", name="Deepetch", preset="translation")
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True, legal_name="Deepetch SAS", email="accounts@deepetch.example"
    )
    return organisation


def timed_purchase(**options):
    started = time.monotonic()
    bought = services.purchase(**options)
    return bought, time.monotonic() - started


def test_redis_stopped_while_purchases_commit_they_return_and_the_sweep_delivers_x4(
    deepetch, card, now, recording_gateway, redis_stopped, mailoutbox, caplog
):
    """X4, D1: an enterprise-terms and a card purchase with Redis stopped."""
    assert connection.vendor == "postgresql"
    card(deepetch)
    # Given Redis stopped
    # When an enterprise-terms purchase and a card purchase commit
    invoiced, invoiced_seconds = timed_purchase(
        organisation=deepetch, credits=1000, method="enterprise_terms", now=now
    )
    paid, paid_seconds = timed_purchase(organisation=deepetch, credits=100, method="card", now=now)
    print(f"purchase with Redis stopped: enterprise terms {invoiced_seconds * 1000:.0f} ms, "
          f"card {paid_seconds * 1000:.0f} ms")  # fmt: skip
    # Then both returned normally, done, and quickly
    assert (invoiced.status, paid.status) == ("invoiced", "paid")
    assert len(recording_gateway.taken) == 1
    assert invoiced_seconds < PURCHASE_BUDGET_SECONDS
    assert paid_seconds < PURCHASE_BUDGET_SECONDS
    # And their invoices wait for the sweep: no PDF, e-mail pending, the failure logged
    invoices = Invoice.objects.filter(pk__in=[invoiced.invoice_id, paid.invoice_id])
    assert sorted(invoices.values_list("pdf", "email_status")) == [("", "pending")] * 2
    assert "could not enqueue billing.deliver_invoice" in caplog.text
    assert mailoutbox == []
    # When Redis is back and the sweep runs
    redis_stopped()
    assert services.sweep_invoices(now=now) == 2
    # Then each invoice has its PDF, for its status, and exactly one e-mail was sent for each
    stored = invoices.values_list("number", "pdf", "pdf_status", "email_status")
    assert sorted((n, stable_name(p), s, e) for n, p, s, e in stored) == [
        ("INV-2026-000001", "invoices/2026/INV-2026-000001.pdf", "open", "sent"),
        ("INV-2026-000002", "invoices/2026/INV-2026-000002.pdf", "paid", "sent"),
    ]
    assert sorted(message.subject for message in mailoutbox) == [
        "Invoice INV-2026-000001",
        "Invoice INV-2026-000002",
    ]
    assert all(len(message.attachments) == 1 for message in mailoutbox)
    assert services.sweep_invoices(now=now) == 0
    assert len(mailoutbox) == 2

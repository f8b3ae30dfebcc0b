"""Whole-worker death (issue 13, X4, K2): a Celery worker killed with its pool mid-task.

Tasks acknowledge late, so when a worker's pool child dies its main process gives the message
back at once (`task_reject_on_worker_lost`). When the WHOLE worker dies (main process and pool
children, SIGKILL: the machine, the OOM killer, `kill -9`), nobody gives it back: the message
sits in Redis's "unacked" set until the broker's visibility timeout passes and a worker still
polling (or a new one) restores it. Redis's default is one hour, and kombu's restore sweep
scans only every ~100 s by default; the settings set both (`CELERY_VISIBILITY_TIMEOUT`,
default 600 s; a sweep every VT/5 s, at most 10 s).

Here a real worker (prefork pool, a child process) takes a real task of the portal, the
invoice delivery that a purchase on enterprise terms enqueues, and is killed whole while the
PDF is being drawn (the drawing is slowed down in that worker only, by a wrapper the worker's
launcher installs: production code is unchanged). A second worker is started; within the
visibility timeout (6 s here, through the environment) plus a margin, the task is delivered
to it and done once: the drawing started twice (once per worker) and finished once, one PDF
is stored and one e-mail was sent.

Runs on the PostgreSQL and Redis that `make test` starts (scripts/with-test-services); the
workers use the test database and the test's media and mail folders.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 6  # seconds: CELERY_VISIBILITY_TIMEOUT for both workers
# Starting the second worker (Django, Celery, the first PDF drawing) and the restore sweep's
# period; before, with the default sweep, the message came back ~100 s after the kill.
MARGIN = 15
DELAY_ENV = "PORTAL_TEST_PDF_DELAY"
TRACE_ENV = "PORTAL_TEST_PDF_TRACE"

# The launcher of a worker: Django set up with the test settings, then the slowed-down drawing.
LAUNCHER = (
    "import django; django.setup(); "
    "from tests.config.test_worker_death import run_worker; run_worker()"
)


def run_worker() -> None:
    """The worker's main (a separate process): the invoice PDF drawing waits DELAY_ENV seconds
    before it draws and notes its start and its end in TRACE_ENV, then a prefork worker with
    one pool child runs (the child is forked after the wrapper is in place)."""
    from billing.services import delivery
    from config.celery import app

    draw = delivery._render
    delay = float(os.environ[DELAY_ENV])
    trace = Path(os.environ[TRACE_ENV])

    def note(event: str) -> None:
        with trace.open("a") as lines:
            lines.write(f"{event} {os.getpid()}\n")

    def slowed(invoice):
        note("start")
        time.sleep(delay)
        document = draw(invoice)
        note("drawn")
        return document

    delivery._render = slowed
    app.worker_main(
        [
            "worker", "--pool=prefork", "--concurrency=1", "--without-mingle",
            "--without-gossip", "--without-heartbeat", "--loglevel=INFO",
            f"--hostname=death-{os.getpid()}@%h",
        ]
    )  # fmt: skip


def children(pid: int) -> list[int]:
    """The pool children of a worker's main process (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if outcome := condition():
            return outcome
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


@pytest.fixture
def workers(settings, tmp_path) -> Iterator[Callable[[float], subprocess.Popen]]:
    """Start workers on the test's Redis and database (each in its own process group, so the
    test kills exactly the processes it started); stop what is left at the end."""
    from config.celery import app

    database = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}"
        ),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        TRACE_ENV: str(tmp_path / "trace"),
        "PYTHONPATH": str(ROOT),
    }
    started: list[subprocess.Popen] = []

    def start(delay: float) -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            cwd=ROOT,
            env={**environment, DELAY_ENV: str(delay)},
            stdout=open(tmp_path / f"worker-{len(started)}.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(worker)
        return worker

    app.conf.task_always_eager = False
    app.control.purge()  # nothing another test left in the queue
    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    app.control.purge()


def trace_lines(tmp_path: Path) -> list[tuple[str, int]]:
    path = tmp_path / "trace"
    if not path.exists():
        return []
    pairs = (line.split() for line in path.read_text().splitlines() if line)
    return [(event, int(pid)) for event, pid in pairs]


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_whole_worker_killed_mid_task_its_task_is_redelivered_and_done_once_x4(
    workers, make_organisation, catalogue, tmp_path, settings
):
    """Issue 13, X4: kill the main process and the pool child mid-task; a new worker gets the
    task within the visibility timeout (plus a margin) and does it exactly once."""
    from billing import services
    from billing.models import BillingProfile, Invoice

    # given an organisation on enterprise terms, and a worker whose PDF drawing is slow
    organisation = make_organisation("deepetch", name="Deepetch", preset="translation")
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True, legal_name="Deepetch SAS", email="accounts@deepetch.example"
    )
    first = workers(delay=120)
    # when a purchase commits (its invoice's delivery is enqueued to Redis) and the worker's
    # pool child starts drawing the PDF
    bought = services.purchase(
        organisation=organisation, credits=1000, method="enterprise_terms", now=timezone.now()
    )
    invoice = Invoice.objects.get(pk=bought.invoice_id)
    wait_for(lambda: trace_lines(tmp_path), 60, "the first worker starts drawing")
    pool = children(first.pid)
    assert trace_lines(tmp_path) == [("start", pool[0])]
    # and the whole worker is killed: its main process and its pool child, at once
    os.killpg(first.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    first.wait()
    wait_for(lambda: not any(alive(pid) for pid in pool), 10, "the pool child dies")
    invoice.refresh_from_db()
    assert (invoice.pdf.name, invoice.email_status) == ("", "pending")
    # and a new worker starts
    second = workers(delay=0)

    # then the task comes back to the new worker within the visibility timeout and a margin
    def delivered():
        invoice.refresh_from_db()
        return invoice.email_status == "sent"

    wait_for(delivered, VISIBILITY_TIMEOUT + MARGIN + 30, "the task is done again")
    elapsed = time.monotonic() - killed_at
    print(f"whole worker killed: its task done again {elapsed:.1f} s later")
    assert elapsed < VISIBILITY_TIMEOUT + MARGIN
    # and it was done once: drawn by the new worker's child only, one PDF, one e-mail
    second_pool = children(second.pid)
    assert trace_lines(tmp_path) == [
        ("start", pool[0]),
        ("start", second_pool[0]),
        ("drawn", second_pool[0]),
    ]
    assert invoice.pdf.name.startswith(f"invoices/{invoice.year}/{invoice.number}-")
    assert [path.name for path in (Path(settings.MEDIA_ROOT) / "invoices").rglob("*.pdf")] == [
        Path(invoice.pdf.name).name
    ]
    mails = [path.read_text() for path in (tmp_path / "mail").glob("*.log")]
    assert [f"Subject: Invoice {invoice.number}" in mail for mail in mails] == [True]

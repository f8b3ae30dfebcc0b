"""Time to render invoice PDFs with WeasyPrint: one (cold and warm) and 100 in a row.

Run: .venv/bin/python bench/invoice_pdf.py   (SQLite in a temporary folder; no server)
Figures go in bench/RESULTS.md.
"""

import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
os.environ["DATABASE_URL"] = f"sqlite:///{WORK / 'bench.sqlite3'}"
os.environ["MEDIA_ROOT"] = str(WORK / "media")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from billing import services  # noqa: E402
from billing.models import BillingProfile, PriceList, PriceTier  # noqa: E402
from clients import services as client_services  # noqa: E402
from config.celery import app  # noqa: E402

COUNT = 100
# The purchases below enqueue their delivery job; leave it in the in-memory broker so that the
# first render measured here is the process's first (cold) one.
app.conf.task_always_eager = False


def main() -> None:
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench-owner")
    organisation = client_services.create_organisation(
        name="Bench Translation", slug="bench", owner=owner, preset="translation"
    )
    price_list = PriceList.objects.create(name="Standard", currency="EUR", is_default=True)
    PriceTier.objects.create(price_list=price_list, min_credits=1, unit_price="0.1000")
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True, legal_name="Bench Translation SAS", address="1 rue du Test\nParis"
    )
    now = datetime(2026, 11, 22, 10, tzinfo=ZoneInfo("Europe/Paris"))
    invoices = [
        services.purchase(
            organisation=organisation, credits=1000 + i, method="enterprise_terms", now=now
        ).invoice
        for i in range(COUNT + 1)
    ]
    started = time.perf_counter()
    services.render_invoice_pdf(invoice=invoices[0])
    cold = time.perf_counter() - started
    timings = []
    for invoice in invoices[1:]:
        started = time.perf_counter()
        services.render_invoice_pdf(invoice=invoice)
        timings.append(time.perf_counter() - started)
    size = (WORK / "media" / invoices[1].pdf.name).stat().st_size
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"first PDF (cold: fonts and styles loaded): {cold * 1000:.0f} ms")
    print(f"one PDF (warm, median of {COUNT}): {statistics.median(timings) * 1000:.0f} ms")
    print(f"{COUNT} PDFs in a row: {sum(timings):.2f} s ({COUNT / sum(timings):.1f} per second)")
    print(f"PDF size: {size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()

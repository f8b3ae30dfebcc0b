"""Time to draw one invoice PDF with WeasyPrint, cold and warm, in English and in French.

Warm: the same invoice drawn again and again (`render_invoice_pdf(force=True)`: fresh row,
lines, template, WeasyPrint, overwrite in storage, status recorded), after 3 warm-ups; the
median and the 95th percentile of 50 renders. The target is under 100 ms warm.

Run: .venv/bin/python bench/invoice_pdf.py [--keep]   (SQLite in a temporary folder; no
server). `--keep` leaves the two sample PDFs and prints where. Figures go in bench/RESULTS.md.
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
os.environ.setdefault("SECRET_KEY", "bench-only-key-in-a-temporary-folder")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from billing import services  # noqa: E402
from billing.models import BillingProfile, Invoice, PriceList, PriceTier  # noqa: E402
from clients import services as client_services  # noqa: E402
from config.celery import app  # noqa: E402

WARM_UPS = 3
RUNS = 50
# The purchases below enqueue their delivery job; leave it in the in-memory broker so that the
# first render measured here is the process's first (cold) one.
app.conf.task_always_eager = False


def make_invoice(slug: str, language: str, price_list: PriceList, now: datetime) -> Invoice:
    owner = get_user_model().objects.create_user(f"{slug}-owner")
    organisation = client_services.create_organisation(
        name=f"Bench {slug}", slug=slug, owner=owner, preset="translation", language=language
    )
    BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
        enterprise_terms=True,
        legal_name=f"Bench {slug} SAS",
        address="1 rue du Test\n75001 Paris",
        vat_number="FR11222333444",
    )
    return services.purchase(
        organisation=organisation, credits=18_000, method="enterprise_terms", now=now
    ).invoice


def timed(invoice: Invoice) -> float:
    started = time.perf_counter()
    services.render_invoice_pdf(invoice=invoice, force=True)
    return time.perf_counter() - started


def warm(invoice: Invoice) -> list[float]:
    for _ in range(WARM_UPS):
        timed(invoice)
    return sorted(timed(invoice) for _ in range(RUNS))


def p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20, method="inclusive")[-1]


def main() -> None:
    call_command("migrate", verbosity=0)
    price_list = PriceList.objects.create(name="Standard", currency="EUR", is_default=True)
    PriceTier.objects.create(price_list=price_list, min_credits=1, unit_price="0.1000")
    now = datetime(2026, 11, 22, 10, tzinfo=ZoneInfo("Europe/Paris"))
    english = make_invoice("en", "en", price_list, now)
    french = make_invoice("fr", "fr", price_list, now)
    cold = timed(english)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"first PDF in the process (cold: fonts and styles loaded): {cold * 1000:.0f} ms")
    for label, invoice in (("English", english), ("French", french)):
        timings = warm(invoice)
        print(
            f"{label} invoice, warm, {RUNS} renders after {WARM_UPS} warm-ups: "
            f"median {statistics.median(timings) * 1000:.1f} ms, "
            f"p95 {p95(timings) * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms"
        )
    invoice = Invoice.objects.get(pk=english.pk)
    print(f"PDF size: {invoice.pdf.size / 1024:.1f} KiB")
    if "--keep" in sys.argv:
        print(f"samples: {WORK / 'media' / 'invoices' / '2026'}")


if __name__ == "__main__":
    main()

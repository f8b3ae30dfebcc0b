from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from django.db.models import Count, Min
from django.http import HttpRequest

from billing.models import Invoice, Purchase, Subscription
from clients.models import Invitation, Membership, Organisation
from credits.audit import ledger_drift
from credits.models import ClientAccount, Consumption, CreditPool, LedgerEntry, Lot
from credits.models.alerts import Notice
from demo import services as demo

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_the_demo_loads_five_seed_organisations_with_months_of_exact_history_x1(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        organisations = demo.load_demo(now=NOW)
    assert sorted(o.slug for o in organisations) == [
        "clientmanager",
        "corporama",
        "deepetch",
        "seriousgames",
        "smsplatform",
    ]
    presets = dict(CreditPool.objects.values_list("organisation__slug", "preset"))
    assert presets == {
        "corporama": "data_provider",
        "deepetch": "translation",
        "smsplatform": "sms",
        "clientmanager": "crm",
        "seriousgames": "serious_game",
    }
    first_entries = dict(
        LedgerEntry.objects.values_list("organisation__slug").annotate(first=Min("created_at"))
    )
    for slug, first in first_entries.items():
        assert first.date() == (NOW - relativedelta(months=6)).date(), slug
    assert set(Consumption.objects.values_list("organisation__slug", flat=True)) == set(presets)
    assert ledger_drift() == []


def test_the_demo_holds_purchases_renewals_and_invoices_with_their_pdfs(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        demo.load_demo(now=NOW)
    invoices = dict(Invoice.objects.values_list("organisation__slug").annotate(count=Count("pk")))
    assert invoices == {
        # 3000 credits on the 22nd of each month, May to November, by card; and an order
        # placed twice, voided by a credit note (S7)
        "corporama": 9,
        "deepetch": 4,  # enterprise orders every other month (D1)
        "smsplatform": 3,  # two 20 000 packages, and one automatic top-up (B2)
        "clientmanager": 10,  # the plan, six renewals, three top-ups (M2)
        "seriousgames": 7,
    }
    assert Invoice.objects.filter(pdf="").count() == 0
    assert list(
        Invoice.objects.filter(organisation__slug="deepetch")
        .order_by("issued_on")
        .values_list("status", flat=True)
    ) == ["paid", "paid", "overdue", "open"]
    assert Subscription.objects.get().status == "active"
    assert list(
        Purchase.objects.filter(origin="auto_top_up").values_list(
            "organisation__slug", "credits", "total", "status"
        )
    ) == [("smsplatform", 10000, Decimal("600.00"), "paid")]
    assert sorted(Notice.objects.values_list("organisation__slug", "kind", "status")) == [
        ("corporama", "expiry_reminder", "sent"),  # the welcome offer lapses in 25 days (D3)
        ("seriousgames", "low_balance", "sent"),  # under its 4,000 threshold (B1)
    ]


def test_loading_the_demo_twice_changes_nothing(capsys):
    demo.load_demo(now=NOW)
    entries = LedgerEntry.objects.count()
    call_command("load_demo")
    assert "Demo already loaded: 5 organisations." in capsys.readouterr().out
    assert LedgerEntry.objects.count() == entries
    assert Organisation.objects.count() == 5


def test_the_demo_gives_every_home_page_something_to_say(client, settings):
    """B4, D4, G4: a promotion that lapses within the reminder time (Corporama), a plan
    allowance ending its cycle (ClientManager), a low balance (serious games), a list with
    assigned credits (S5), a member who sees only one sub-account, and invitations waiting."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    demo.load_demo(now=NOW)
    lots = Lot.objects.filter(live=True, expires_at__lt=NOW + relativedelta(days=30))
    assert sorted(lots.values_list("organisation__slug", "source")) == [
        ("clientmanager", "plan_allowance"),
        ("corporama", "promotion"),
    ]
    pool = CreditPool.objects.get(organisation__slug="seriousgames")
    assert pool.balance < pool.low_balance_threshold == 4000
    assert ClientAccount.objects.get(client__name="Appointment reminders").assigned_remaining > 0
    tied = Membership.objects.get(user__username="deepetch-member")
    assert tied.client.name == "Legal department"
    assert sorted(Invitation.objects.values_list("organisation__slug", "role")) == [
        ("seriousgames", "member"),
        ("smsplatform", "admin"),
    ]
    assert Invitation.objects.filter(sent_at__isnull=True).count() == 0
    client.login(request=HttpRequest(), username="deepetch-member", password=demo.DEMO_PASSWORD)
    page = client.get("/o/deepetch/").content.decode()
    assert "Legal department" in page

"""B6: the deferred-revenue report for staff (billing.selectors.revenue, admin report page).

The story the figures come from: 1,000 credits bought at 0.10 € in January, 300 used in
January, 200 in February, 100 expired in March. The credits are spent soonest-expiry first,
so the 100 that expire must sit on a lot that expires while the other 400 do not: they are
bought as a package of 600 credits valid 2 months (60.00 €, so 0.1000 € a credit) and 400
credits that never expire (0.10 € a credit from the translation price list).
"""

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from openpyxl import load_workbook

from billing import services
from billing.models import Package, Purchase
from billing.selectors.revenue import Figures, deferred_revenue
from clients.models import ClientKind
from credits import services as credit_services
from credits.models import LedgerEntry, Lot, LotSource
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
JAN, FEB, MAR, APR = (date(2026, month, 1) for month in (1, 2, 3, 4))
REPORT_URL = "admin:billing_deferred_revenue"


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def money(opening, sold, recognised, expired, cancelled, closing) -> Figures:
    return Figures(
        *(Decimal(value) for value in (opening, sold, recognised, expired, cancelled, closing))
    )


def own_client(organisation):
    return organisation.clients.get(kind=ClientKind.OWN)


def use(organisation, credits: int, when: datetime) -> None:
    credit_services.debit(
        client=own_client(organisation), credits=credits, action_code="work", now=when
    )


def figures_by_month(report, organisation) -> dict[date, Figures]:
    return {row.month: row.figures for row in report.rows if row.organisation_id == organisation.pk}


@pytest.fixture
def paying(make_organisation, catalogue):
    """An EUR organisation in Paris buying at 0.10 € a credit, with the sandbox Visa on file
    and enterprise terms open."""

    def make(slug: str, **extra):
        organisation = make_organisation(slug, **extra)
        set_up_billing(organisation, catalogue["translation"], enterprise=True, now=at(1, 2))
        return organisation

    return make


@pytest.fixture
def story(paying, catalogue):
    """The brief's story, through the services: two card purchases in January, 300 credits
    used in January, 200 in February, the package's last 100 expired in March."""
    organisation = paying("deepetch", name="Deepetch")
    package = Package.objects.create(
        price_list=catalogue["translation"],
        name="600 credits, 2 months",
        credits=600,
        price=Decimal("60.00"),
        validity_months=2,
    )
    bought = [
        services.purchase(organisation=organisation, package=package, method="card", now=at(1, 10)),
        services.purchase(organisation=organisation, credits=400, method="card", now=at(1, 12)),
    ]
    assert [purchase.status for purchase in bought] == ["paid", "paid"]
    use(organisation, 300, at(1, 20))
    use(organisation, 200, at(2, 15))
    credit_services.expire_due(now=at(3, 11))
    assert Lot.objects.get(pk=bought[0].lot_id).remaining == 0
    return organisation


def test_deferred_revenue_month_by_month_of_the_small_story_b6(story):
    """B6: deferred at the end of January 70.00 €, February 50.00 €, March 40.00 €, with what
    was sold, recognised (used) and expired (breakage) each month, exactly."""
    # given the story (1,000 credits at 0.10 €; 300 used, 200 used, 100 expired)
    # when staff read January to March
    report = deferred_revenue(first_month=JAN, last_month=MAR)
    # then each month rolls forward exactly, in EUR
    assert [(row.organisation, row.currency, row.month) for row in report.rows] == [
        ("Deepetch", "EUR", JAN),
        ("Deepetch", "EUR", FEB),
        ("Deepetch", "EUR", MAR),
    ]
    assert figures_by_month(report, story) == {
        JAN: money("0.00", "100.00", "30.00", "0.00", "0.00", "70.00"),
        FEB: money("70.00", "0.00", "20.00", "0.00", "0.00", "50.00"),
        MAR: money("50.00", "0.00", "0.00", "10.00", "0.00", "40.00"),
    }


def test_a_later_first_month_opens_with_the_deferred_balance_carried_in_b6(story):
    """B6: a report starting in March opens with February's closing balance (50.00 €), and a
    month with no movement still shows the balance carried (April: 40.00 €)."""
    # given the story
    # when staff read March to April only
    report = deferred_revenue(first_month=MAR, last_month=APR)
    # then March opens with what was left at the end of February
    assert figures_by_month(report, story) == {
        MAR: money("50.00", "0.00", "0.00", "10.00", "0.00", "40.00"),
        APR: money("40.00", "0.00", "0.00", "0.00", "0.00", "40.00"),
    }
    assert report.totals[0].period == money("50.00", "0.00", "0.00", "10.00", "0.00", "40.00")


def test_months_end_at_midnight_in_the_organisations_time_zone_b6(paying):
    """B6: a use at 23:30 on 31 January in Paris is January's; one at 00:30 on 1 February in
    Paris (still 31 January in UTC) is February's."""
    # given 100 credits bought at 0.10 € in January, by an organisation in Paris
    organisation = paying("paris")
    services.purchase(organisation=organisation, credits=100, method="card", now=at(1, 5))
    # when 10 credits are used just before its midnight and 20 just after
    use(organisation, 10, at(1, 31, 23, 30))
    use(organisation, 20, at(2, 1, 0, 30))
    report = deferred_revenue(first_month=JAN, last_month=FEB)
    # then each lands in the organisation's own month
    assert figures_by_month(report, organisation) == {
        JAN: money("0.00", "10.00", "1.00", "0.00", "0.00", "9.00"),
        FEB: money("9.00", "0.00", "2.00", "0.00", "0.00", "7.00"),
    }


def test_promotions_adjustments_allowances_and_unbilled_grants_are_left_out_b6(paying):
    """B6: only credits bought through an invoiced purchase are paid credits: a promotion, a
    positive adjustment, a plan allowance and a purchase lot granted without a purchase are
    left out, also when they pay for the uses (they expire sooner, so are spent first)."""
    # given 100 paid credits and four lots that were not paid for
    organisation = paying("mixed")
    services.purchase(organisation=organisation, credits=100, method="card", now=at(1, 5))
    credit_services.grant(
        organisation=organisation,
        credits=50,
        source=LotSource.PROMOTION,
        expires_at=at(1, 31),
        now=at(1, 6),
    )
    credit_services.grant(
        organisation=organisation,
        credits=40,
        source=LotSource.PLAN_ALLOWANCE,
        expires_at=at(2, 1),
        now=at(1, 6),
    )
    credit_services.grant(
        organisation=organisation,
        credits=30,
        source=LotSource.PURCHASE,
        expires_at=at(2, 2),
        unit_cost=Decimal("0.5000"),
        now=at(1, 6),
    )
    credit_services.adjust(organisation=organisation, credits=20, reason="Goodwill", now=at(1, 6))
    # when 130 credits are used (promotion 50, allowance 40, the unbilled 30, then 10 paid)
    use(organisation, 130, at(1, 20))
    report = deferred_revenue(first_month=JAN, last_month=JAN)
    # then only the paid lot's 10 credits used count, at 0.10 €
    assert figures_by_month(report, organisation) == {
        JAN: money("0.00", "10.00", "1.00", "0.00", "0.00", "9.00"),
    }


def test_enterprise_terms_count_from_the_invoice_and_a_void_cancels_in_its_month_b6(paying):
    """B6: credits bought on enterprise terms are deferred from the invoice's issue, paid or
    not; voiding the invoice in February takes them back in February ("cancelled"), and
    January's figures do not change."""
    # given 200 credits on enterprise terms in January (invoice open, due in 30 days)
    organisation = paying("terms")
    bought = services.purchase(
        organisation=organisation, credits=200, method="enterprise_terms", now=at(1, 5)
    )
    assert bought.status == "invoiced"
    assert bought.invoice.status == "open"
    january = deferred_revenue(first_month=JAN, last_month=JAN)
    # when the invoice is voided in February
    services.void_invoice(invoice=bought.invoice, reason="Wrong order", now=at(2, 3))
    report = deferred_revenue(first_month=JAN, last_month=FEB)
    # then January still shows them deferred, and February cancels them
    assert figures_by_month(january, organisation) == {
        JAN: money("0.00", "20.00", "0.00", "0.00", "0.00", "20.00"),
    }
    assert figures_by_month(report, organisation) == {
        JAN: money("0.00", "20.00", "0.00", "0.00", "0.00", "20.00"),
        FEB: money("20.00", "0.00", "0.00", "0.00", "20.00", "0.00"),
    }


def test_two_currencies_are_totalled_apart_never_summed_b6(paying, make_organisation, catalogue):
    """B6: an EUR and a GBP organisation: each currency has its own totals; EUR and GBP are
    never added."""
    # given 100 credits at 0.10 € in Paris, and 1,000 at 0.05 £ in London
    euros = paying("euros", name="Euros")
    services.purchase(organisation=euros, credits=100, method="card", now=at(1, 5))
    use(euros, 30, at(1, 6))
    pounds = make_organisation("pounds", name="Pounds", currency="GBP", time_zone="Europe/London")
    set_up_billing(pounds, catalogue["gbp"], enterprise=False, now=at(1, 2))
    services.purchase(organisation=pounds, credits=1000, method="card", now=at(1, 5))
    use(pounds, 400, at(1, 6))
    # when staff read January
    report = deferred_revenue(first_month=JAN, last_month=JAN)
    # then there is one total per currency, each with its own figures
    assert [(total.currency, total.period) for total in report.totals] == [
        ("EUR", money("0.00", "10.00", "3.00", "0.00", "0.00", "7.00")),
        ("GBP", money("0.00", "50.00", "20.00", "0.00", "0.00", "30.00")),
    ]
    assert [(row.organisation, row.currency) for row in report.rows] == [
        ("Euros", "EUR"),
        ("Pounds", "GBP"),
    ]


def test_the_organisation_and_currency_filters_narrow_the_report_b6(
    paying, make_organisation, catalogue
):
    """B6: filtered on one organisation, or on one currency, the report holds only its rows."""
    # given an EUR and a GBP organisation that both bought credits in January
    euros = paying("euros", name="Euros")
    services.purchase(organisation=euros, credits=100, method="card", now=at(1, 5))
    pounds = make_organisation("pounds", name="Pounds", currency="GBP")
    set_up_billing(pounds, catalogue["gbp"], enterprise=False, now=at(1, 2))
    services.purchase(organisation=pounds, credits=1000, method="card", now=at(1, 5))
    # when staff filter on each
    by_organisation = deferred_revenue(first_month=JAN, last_month=JAN, organisation=euros)
    by_currency = deferred_revenue(first_month=JAN, last_month=JAN, currency="GBP")
    # then only the chosen rows are there
    assert [row.organisation for row in by_organisation.rows] == ["Euros"]
    assert [row.organisation for row in by_currency.rows] == ["Pounds"]
    assert [total.currency for total in by_currency.totals] == ["GBP"]


def test_the_number_of_queries_does_not_grow_with_lots_or_organisations_b6(
    paying, django_assert_max_num_queries
):
    """B6: the report is set-based: three queries (the time zones in use, one aggregate of the
    entries, the paid lots), for 1 lot as for 24 lots in 4 organisations with 48 uses."""
    # given one organisation with one purchase
    first = paying("first")
    services.purchase(organisation=first, credits=100, method="card", now=at(1, 5))
    with django_assert_max_num_queries(3):
        small = deferred_revenue(first_month=JAN, last_month=MAR)
    # when three more organisations in other time zones buy 23 more lots and use them
    organisations = [first]
    for slug, zone in (("second", "America/New_York"), ("third", "Asia/Tokyo"), ("fourth", None)):
        organisations.append(paying(slug, **({"time_zone": zone} if zone else {})))
    for index in range(23):
        organisation = organisations[index % 4]
        services.purchase(
            organisation=organisation, credits=100, method="card", now=at(1 + index % 3, 6)
        )
    for index in range(48):
        use(organisations[index % 4], 1, at(1 + index % 3, 20))
    # then the report still takes three queries
    with django_assert_max_num_queries(3):
        large = deferred_revenue(first_month=JAN, last_month=MAR)
    assert len(small.rows) == 3
    assert len(large.rows) == 12
    assert Lot.objects.filter(source=LotSource.PURCHASE).count() == 24
    assert sum(total.period.sold for total in large.totals) == Decimal("240.00")


# --- the admin page ----------------------------------------------------------------------


@pytest.fixture
def staff_with_permission(client, make_user):
    user = make_user("accountant", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(user)
    return user


def test_staff_without_the_invoice_permission_get_403_b6(client, make_user, story):
    """B6: the report needs billing.view_invoice: a staff member without it gets 403, for the
    page and for its export."""
    # given a staff member with no billing permission
    client.force_login(make_user("support", is_staff=True))
    # when they open the report and its export
    page = client.get(reverse(REPORT_URL))
    export = client.get(reverse(REPORT_URL), {"first_month": "2026-01", "export": "xlsx"})
    # then both are refused
    assert page.status_code == 403
    assert export.status_code == 403


def test_someone_not_staff_is_sent_to_the_admin_login_b6(client, make_user, story):
    """B6: the report is a back-office page: a logged-in customer is sent to the admin's
    login, not shown any figure."""
    # given a customer (not staff) logged in
    client.force_login(make_user("customer"))
    # when they open the report
    response = client.get(reverse(REPORT_URL))
    # then the admin sends them to its login
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_with_the_permission_read_the_figures_and_find_the_report_b6(
    client, staff_with_permission, story
):
    """B6: with billing.view_invoice the page shows the story's figures and EUR totals, and
    the purchases' list in admin links to it."""
    # given the story and an accountant with the permission (and the purchases' list)
    staff_with_permission.user_permissions.add(Permission.objects.get(codename="view_purchase"))
    # when they open the purchases' list, then the report for January to March
    listing = client.get(reverse("admin:billing_purchase_changelist"))
    page = client.get(
        reverse(REPORT_URL), {"first_month": "2026-01", "last_month": "2026-03", "currency": ""}
    )
    # then the list links to the report, which shows each month's figures
    assert reverse(REPORT_URL) in listing.content.decode()
    assert page.status_code == 200
    rows = [(row.month, row.figures.closing) for row in page.context["report"].rows]
    assert rows == [(JAN, Decimal("70.00")), (FEB, Decimal("50.00")), (MAR, Decimal("40.00"))]
    html = page.content.decode()
    assert 'id="totals-EUR"' in html
    assert "70.00" in html
    assert "Export to Excel" in html


def test_the_report_opens_on_the_last_twelve_months_by_default_b6(
    client, staff_with_permission, story
):
    """B6: without filters the page shows the twelve months up to the current one."""
    # given the accountant
    # when they open the report with no filter
    page = client.get(reverse(REPORT_URL))
    # then it covers twelve months ending with this month
    report = page.context["report"]
    assert page.status_code == 200
    assert len(report.totals[0].months) == 12
    assert report.last_month.day == 1


def test_a_last_month_before_the_first_is_a_clear_error_b6(client, staff_with_permission, story):
    """B6, X6: a reversed month range, a malformed month or a span over ten years is a form
    error, and no report is drawn."""
    # given the accountant
    # when the range is reversed, malformed, or too long
    reversed_range = client.get(
        reverse(REPORT_URL), {"first_month": "2026-03", "last_month": "2026-01"}
    )
    malformed = client.get(reverse(REPORT_URL), {"first_month": "March", "last_month": "2026-01"})
    too_long = client.get(reverse(REPORT_URL), {"first_month": "2000-01", "last_month": "2026-01"})
    # then each is refused with its reason and no figures
    assert reversed_range.status_code == 400
    assert "The last month comes before the first." in reversed_range.content.decode()
    assert malformed.status_code == 400
    assert malformed.context["form"].errors["first_month"]
    assert too_long.status_code == 400
    assert "A report covers at most 120 months." in too_long.content.decode()
    assert all(r.context["report"] is None for r in (reversed_range, malformed, too_long))


def test_the_excel_export_has_the_same_figures_as_the_page_b6(
    client, staff_with_permission, story, make_organisation, catalogue
):
    """B6: the export, read back with openpyxl, holds the page's rows and each currency's
    totals (EUR and GBP apart)."""
    # given the story and a GBP organisation's purchase
    pounds = make_organisation("pounds", name="Pounds", currency="GBP")
    set_up_billing(pounds, catalogue["gbp"], enterprise=False, now=at(1, 2))
    services.purchase(organisation=pounds, credits=1000, method="card", now=at(2, 5))
    filters = {"first_month": "2026-01", "last_month": "2026-03"}
    # when the accountant exports January to March
    response = client.get(reverse(REPORT_URL), {**filters, "export": "xlsx"})
    # then the workbook has the same figures
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('"deferred-revenue-2026-01-2026-03.xlsx"')
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    detail = [
        [cell if not isinstance(cell, float | int) else Decimal(str(cell)) for cell in row]
        for row in workbook["Deferred revenue"].iter_rows(values_only=True)
    ]
    assert detail[0] == [
        "Organisation",
        "Currency",
        "Month",
        "Opening deferred",
        "Sold",
        "Recognised (used)",
        "Expired (breakage)",
        "Cancelled",
        "Closing deferred",
    ]
    eur = [Decimal(v) for v in ("0", "100", "30", "0", "0", "70")]
    assert detail[1:] == [
        ["Deepetch", "EUR", "2026-01", *eur],
        ["Deepetch", "EUR", "2026-02", *[Decimal(v) for v in ("70", "0", "20", "0", "0", "50")]],
        ["Deepetch", "EUR", "2026-03", *[Decimal(v) for v in ("50", "0", "0", "10", "0", "40")]],
        ["Pounds", "GBP", "2026-02", *[Decimal(v) for v in ("0", "50", "0", "0", "0", "50")]],
        ["Pounds", "GBP", "2026-03", *[Decimal(v) for v in ("50", "0", "0", "0", "0", "50")]],
    ]
    totals = [
        [cell if not isinstance(cell, float | int) else Decimal(str(cell)) for cell in row]
        for row in workbook["Totals by currency"].iter_rows(values_only=True)
    ]
    assert [row[:2] + row[-1:] for row in totals[1:]] == [
        ["EUR", "2026-01", Decimal("70")],
        ["EUR", "2026-02", Decimal("50")],
        ["EUR", "2026-03", Decimal("40")],
        ["EUR", "2026-01 to 2026-03", Decimal("40")],
        ["GBP", "2026-01", Decimal("0")],
        ["GBP", "2026-02", Decimal("50")],
        ["GBP", "2026-03", Decimal("50")],
        ["GBP", "2026-01 to 2026-03", Decimal("50")],
    ]
    page = client.get(reverse(REPORT_URL), filters).context["report"]
    assert [row[3:] for row in detail[1:]] == [
        [Decimal(str(value)) for value in vars(row.figures).values()] for row in page.rows
    ]


def test_reading_the_report_writes_nothing_b6(client, staff_with_permission, story):
    """B6: the report and its export only read: no ledger entry, lot or purchase moves."""
    # given the story's rows
    before = (
        LedgerEntry.objects.count(),
        list(Lot.objects.order_by("pk").values_list("remaining", flat=True)),
        list(Purchase.objects.order_by("pk").values_list("status", flat=True)),
    )
    # when the page and the export are read
    client.get(reverse(REPORT_URL), {"first_month": "2026-01", "last_month": "2026-03"})
    client.get(
        reverse(REPORT_URL), {"first_month": "2026-01", "last_month": "2026-03", "export": "xlsx"}
    )
    # then nothing changed
    after = (
        LedgerEntry.objects.count(),
        list(Lot.objects.order_by("pk").values_list("remaining", flat=True)),
        list(Purchase.objects.order_by("pk").values_list("status", flat=True)),
    )
    assert after == before


def test_the_page_takes_a_bounded_number_of_queries_b6(
    client, staff_with_permission, paying, django_assert_max_num_queries
):
    """B6: the page's queries do not grow with the organisations and lots it reports on."""
    # given ten organisations, each with two purchases and some use
    for index in range(10):
        organisation = paying(f"org-{index}")
        for month in (1, 2):
            services.purchase(
                organisation=organisation, credits=100, method="card", now=at(month, 5)
            )
        use(organisation, 50, at(2, 20))
    # when the accountant opens the report (session, user, permissions, report, filter list)
    with django_assert_max_num_queries(8):
        page = client.get(reverse(REPORT_URL), {"first_month": "2026-01", "last_month": "2026-02"})
    # then every organisation is there
    assert page.status_code == 200
    assert len(page.context["report"].rows) == 20

"""The owner portal in a real browser (issue 10): assigning credits and setting a limit on a
list, the activity's Excel file against the page, the usage chart, a member tied to one
sub-account, the pages on a phone, and the home page's figures refreshing by themselves.

Each test loads the demo once (about 5 s) and walks several pages of it, as a person would.
"""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from dateutil.relativedelta import relativedelta
from django.db.models import Sum
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Client, Organisation
from credits import services
from credits.models import ClientAccount, Consumption, LimitKind, Quote
from credits.selectors import pool_figures
from demo import services as demo
from tests.browser.conftest import PHONE, log_in
from tests.credits.conftest import figures

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SMS = "smsplatform"
ROME = ZoneInfo("Europe/Rome")  # the SMS platform's time zone: its months and its dates


def number(text: str) -> int:
    """A figure as a page prints it: "1,234", "+250", "−1,234" (a minus sign, U+2212)."""
    return int(text.strip().replace(",", "").replace("+", "").replace("\u2212", "-"))


def figure(page, testid: str) -> int:
    return number(page.get_by_test_id(testid).inner_text())


def last_full_months(count: int) -> tuple[date, date]:
    """The first and the last day of the `count` whole months before this one, in the
    organisation's time zone: inside the demo's six months of history, every working day of
    which sends appointment reminders."""
    this_month = timezone.localdate(timezone=ROME).replace(day=1)
    return this_month - relativedelta(months=count), this_month - relativedelta(days=1)


def test_the_owner_assigns_credits_to_a_list_and_sets_its_monthly_limit_g3_g4_g5_d4_s5(
    live_server, page
):
    """G3, G4, G5: credits assigned with a reference on a list's page leave "waiting to be
    assigned" and reach the list, exactly, on the pages and in the database; the assignment
    and its reference show in the list's credits tab. D4, S5: a monthly limit set on a list
    shows with its used counter, which counts what the list then spends from the pool."""
    # Given the demo's SMS platform, its owner logged in, and what waits to be assigned
    demo.load_demo()
    organisation = Organisation.objects.get(slug=SMS)
    vip = Client.objects.get(organisation=organisation, name="VIP customers")
    log_in(page, live_server, f"{SMS}-owner", demo.DEMO_PASSWORD)
    unassigned = figure(page, "unassigned")
    assert unassigned == pool_figures(organisation).unassigned
    # And the VIP list's page, reached from the lists, with its credits
    page.get_by_role("navigation", name="Organisation").get_by_role("link", name="Lists").click()
    page.get_by_role("link", name="VIP customers", exact=True).click()
    page.wait_for_url(f"{live_server.url}/o/{SMS}/clients/{vip.pk}/")
    assigned, left = figure(page, "assigned"), figure(page, "left")
    assert left == ClientAccount.objects.get(pk=vip.pk).assigned_remaining

    # When she assigns 250 credits to it with a reference and a comment
    page.get_by_role("link", name="Assign credits").click()
    assert figure(page, "unassigned") == unassigned
    page.get_by_label("Credits").fill("250")
    page.get_by_label("Reference").fill("PO-2026-0042")
    page.get_by_label("Comment").fill("Spring campaign to VIPs")
    page.get_by_role("button", name="Assign").click()
    page.wait_for_url(f"{live_server.url}/o/{SMS}/clients/{vip.pk}/#credits")

    # Then the list's page says so, and its assigned credits grew by exactly 250
    expect(page.get_by_role("status")).to_have_text("250 credits assigned to “VIP customers”.")
    assert figure(page, "assigned") == assigned + 250
    assert figure(page, "left") == left + 250
    assert ClientAccount.objects.get(pk=vip.pk).assigned_remaining == left + 250
    # And its credits tab lists the assignment with its reference, comment and author
    row = page.get_by_test_id("assignments").locator("tbody tr").filter(has_text="PO-2026-0042")
    expect(row).to_have_count(1)
    assert row.locator("td").all_inner_texts()[1:] == [
        "Assigned",
        "+250",
        "PO-2026-0042",
        "Spring campaign to VIPs",
        "Owner SMS Platform",
    ]
    # And the organisation's credits waiting to be assigned dropped by exactly 250
    page.get_by_role("link", name="Home").click()
    assert figure(page, "unassigned") == unassigned - 250
    assert pool_figures(organisation).unassigned == unassigned - 250

    # Given the newsletter list, whose monthly limit of 6,000 has counted its spending
    newsletter = Client.objects.get(organisation=organisation, name="Newsletter subscribers")
    used = ClientAccount.objects.get(pk=newsletter.pk).used
    page.goto(f"{live_server.url}/o/{SMS}/clients/{newsletter.pk}/")
    expect(page.get_by_test_id("limit")).to_have_text(
        f"Monthly: {used:,} of 6,000 used · {6000 - used:,} left"
    )
    # When she raises it to 8,000 a month on its limit page
    page.get_by_role("link", name="Spending limit").click()
    assert figure(page, "limit-used") == used
    page.get_by_label("Monthly").check()
    page.get_by_label("Limit (credits)").fill("8000")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/o/{SMS}/clients/{newsletter.pk}/#credits")
    # Then the list's page shows the new limit, the counter kept within the month, what is left
    expect(page.get_by_test_id("limit")).to_have_text(
        f"Monthly: {used:,} of 8,000 used · {8000 - used:,} left"
    )
    assert figure(page, "limit-left") == 8000 - used
    account = ClientAccount.objects.get(pk=newsletter.pk)
    assert (account.limit_kind, account.limit, account.used) == (LimitKind.MONTHLY, 8000, used)
    # When the list then sends an SMS to 3 Italian numbers (through the API's service)
    sent = services.consume(
        client=newsletter,
        action="sms",
        params={"text": "Flash sale today", "recipients": ["IT", "IT", "IT"]},
        now=timezone.now(),
    )
    assert sent.credits == 3
    # Then its used counter counts them
    page.reload()
    expect(page.get_by_test_id("limit")).to_have_text(
        f"Monthly: {used + 3:,} of 8,000 used · {8000 - used - 3:,} left"
    )


def test_the_activity_excel_file_equals_the_page_and_the_usage_chart_is_drawn_b5_c4_s6(
    live_server, page, tmp_path
):
    """B5, C4, X1: the activity filtered by list, kind and dates, downloaded as Excel, has the
    page's rows (credits, balance after) and the page's totals. S6, M4: the usage report
    draws its chart of credits by month, one bar a month, as high as the table's figures."""
    # Given the demo's SMS platform and its owner logged in
    demo.load_demo()
    organisation = Organisation.objects.get(slug=SMS)
    reminders = Client.objects.get(organisation=organisation, name="Appointment reminders")
    log_in(page, live_server, f"{SMS}-owner", demo.DEMO_PASSWORD)
    first, last = last_full_months(1)
    # When she filters the activity to the reminders list's consumptions of last month
    page.get_by_role("link", name="Activity", exact=True).click()
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("List", exact=True).select_option(label="Appointment reminders")
    filters.get_by_label("Kind", exact=True).select_option(label="Consumptions")
    filters.get_by_label("From", exact=True).fill(first.isoformat())
    filters.get_by_label("To", exact=True).fill(last.isoformat())
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"/activity/\?.*client={reminders.pk}"))
    # Then the whole list fits on one page, its totals loaded beside it (htmx)
    expect(page.get_by_test_id("total-operations")).to_be_visible()
    expect(page.get_by_role("link", name="Older →")).to_have_count(0)
    rows = page.get_by_test_id("activity-rows").locator("tbody tr")
    shown = [
        (
            datetime.fromisoformat(row.locator("time").get_attribute("datetime")),
            number(row.get_by_test_id("op-credits").inner_text().split()[0]),
            number(row.get_by_test_id("op-balance-after").inner_text()),
        )
        for row in rows.all()
    ]
    totals = {name: figure(page, f"total-{name}") for name in ("operations", "in", "out", "net")}
    # And they are the database's: one row per reminder sent that month, and its credits
    sent = Consumption.objects.filter(
        client=reminders,
        created_at__gte=datetime.combine(first, datetime.min.time(), ROME),
        created_at__lt=datetime.combine(last + relativedelta(days=1), datetime.min.time(), ROME),
    )
    spent = sent.aggregate(total=Sum("credits"))["total"]
    assert len(shown) == totals["operations"] == sent.count() > 15
    assert totals == {"operations": len(shown), "in": 0, "out": -spent, "net": -spent}

    # When she downloads the Excel file of this list
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Excel").click()
    filename = download.value.suggested_filename
    assert filename == f"activity-{SMS}-{timezone.localdate(timezone=ROME).isoformat()}.xlsx"
    download.value.save_as(tmp_path / filename)
    workbook = openpyxl.load_workbook(tmp_path / filename, read_only=True)
    header, *lines, total = workbook["Activity"].values
    # Then it has the page's rows, in its order: when, list, credits and balance after
    assert header == (
        "When", "Kind", "Who", "List", "Action", "Parameters", "Credits", "Balance after", "Lots"
    )  # fmt: skip
    assert [(line[0], line[6], line[7]) for line in lines] == [
        (when.astimezone(ROME).replace(tzinfo=None, microsecond=0), credits, balance)
        for when, credits, balance in shown
    ]
    assert {line[3] for line in lines} == {"Appointment reminders"}
    # And the page's totals as its last line
    assert total[:2] == ("Total", f"{totals['operations']} operations")
    assert total[5:7] == (
        f"Credits in: {totals['in']}, credits out: {totals['out']}",
        totals["net"],
    )

    # When she opens the usage report of the last three whole months
    first, last = last_full_months(3)
    page.get_by_role("link", name="Usage", exact=True).click()
    period = page.get_by_role("form", name="Period")
    period.get_by_label("From").fill(first.isoformat())
    period.get_by_label("To").fill(last.isoformat())
    period.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"date_from={first.isoformat()}"))
    # Then the chart of credits by month is drawn: one bar a month, as in the table beside it
    chart = page.locator("svg#chart-months")
    expect(chart).to_be_visible()
    months = page.get_by_test_id("by-month").locator("tbody tr")
    table = [
        (row.get_attribute("data-month"), number(row.locator("td").nth(2).inner_text()))
        for row in months.all()
    ]
    assert [month for month, _credits in table] == [
        f"{first + relativedelta(months=n):%Y-%m}" for n in range(3)
    ]
    bars = chart.locator("rect.bar[data-value]")
    expect(bars).to_have_count(3)
    assert [int(bar.get_attribute("data-value")) for bar in bars.all()] == [
        credits for _month, credits in table
    ]
    heights = [bar.bounding_box()["height"] for bar in bars.all()]
    assert all(height > 0 for height in heights), heights
    # And taller for a month that cost more (the bars are drawn to scale)
    by_credits = sorted(zip([credits for _m, credits in table], heights, strict=True))
    assert [height for _credits, height in by_credits] == sorted(heights)
    assert sum(credits for _month, credits in table) == figure(page, "usage-credits")


def test_a_member_tied_to_one_sub_account_sees_and_spends_only_for_it_d4_x5(live_server, page):
    """D4, X5: Deepetch's member tied to "Legal department" gets the styled 404 page for
    another sub-account, whose name she never sees; the spend form offers only her
    sub-account, and a form forged to spend for another is refused and moves nothing."""
    # Given the demo's translation service and its member tied to the legal department
    demo.load_demo()
    organisation = Organisation.objects.get(slug="deepetch")
    marketing = Client.objects.get(organisation=organisation, name="Marketing EMEA")
    log_in(page, live_server, "deepetch-member", demo.DEMO_PASSWORD)
    # When she opens another sub-account's page, its usage and its consumptions
    other = Consumption.objects.filter(client=marketing).latest("pk")
    for path in (f"clients/{marketing.pk}/", f"usage/{marketing.pk}/", f"activity/{other.pk}/"):
        response = page.goto(f"{live_server.url}/o/deepetch/{path}")
        # Then each answers the styled 404 page, which names nothing of it
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
        expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()
        assert "Marketing EMEA" not in page.content()
    # When she lists the sub-accounts
    page.goto(f"{live_server.url}/o/deepetch/clients/")
    # Then she sees only hers
    names = page.get_by_role("table").locator("tbody tr td:first-child")
    expect(names).to_have_text(["Legal department"])
    # When she opens the form to spend on a translation
    page.goto(f"{live_server.url}/o/deepetch/spend/translation/")
    # Then the only sub-account it offers is hers
    client = page.get_by_label("Sub-account")
    assert client.locator("option").all_inner_texts() == ["Legal department"]

    # Given the form forged to name the other sub-account, and every figure before
    before = figures(organisation)
    quotes = Quote.objects.filter(client=marketing).count()
    forge = "(select, id) => { select.add(new Option('Forged', id)); select.value = id; }"
    client.evaluate(forge, str(marketing.pk))
    page.get_by_label("Pages").fill("2")
    # When she sends it
    page.get_by_test_id("see-recap").click()
    # Then the form refuses the choice, on the same page, and nothing was quoted or spent
    expect(page.locator(".errorlist")).to_contain_text("Select a valid choice.")
    assert page.url == f"{live_server.url}/o/deepetch/spend/translation/"
    assert Quote.objects.filter(client=marketing).count() == quotes
    assert figures(organisation) == before


PHONE_PAGES = ("", "activity/", "usage/", "clients/", "spend/", "spend/sms/", "rates/", "members/")


def test_the_pages_read_on_a_390_px_phone_without_scrolling_sideways_issue_10(
    live_server, phone_page
):
    """Issue 10, 9: on a 390 px wide phone the home, activity, usage, lists, spend pages (and
    a list's page, its usage, a consumption, the rate card, the members) fit the screen's
    width: the page itself never scrolls sideways (a wide table scrolls inside its frame)."""
    # Given the demo's SMS platform, its owner logged in on a phone
    demo.load_demo()
    organisation = Organisation.objects.get(slug=SMS)
    vip = Client.objects.get(organisation=organisation, name="VIP customers")
    sent = Consumption.objects.filter(client=vip).latest("pk")
    page = phone_page
    log_in(page, live_server, f"{SMS}-owner", demo.DEMO_PASSWORD)
    widths = {}
    for path in (*PHONE_PAGES, f"clients/{vip.pk}/", f"usage/{vip.pk}/", f"activity/{sent.pk}/"):
        # When she opens each page
        page.goto(f"{live_server.url}/o/{SMS}/{path}")
        page.wait_for_load_state("networkidle")  # the activity's totals, loaded by htmx
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    # Then none is wider than the screen
    assert {path: width for path, width in widths.items() if width > PHONE["width"]} == {}
    assert len(widths) == len(PHONE_PAGES) + 3


def test_the_home_page_figures_refresh_by_themselves_c3(live_server, page):
    """C3: credits spent through the API while the home page is open show on it within 20 s,
    without a reload (htmx fetches the figures every 15 s). The page's clock is Playwright's,
    run forward instead of waited for."""
    # Given the demo's SMS platform and its owner's home page, open
    demo.load_demo()
    organisation = Organisation.objects.get(slug=SMS)
    own = Client.objects.get(organisation=organisation, kind="own")
    page.clock.install()
    log_in(page, live_server, f"{SMS}-owner", demo.DEMO_PASSWORD)
    balance = figure(page, "balance")
    assert balance == pool_figures(organisation).balance
    page.evaluate("window.stillTheSamePage = true")
    # When 2 SMS to Italy are sent through the consumption service, as the API sends them
    params = {"text": "Hello", "recipients": ["IT", "IT"]}
    sent = services.consume(client=own, action="sms", params=params, now=timezone.now())
    assert sent.credits == 2
    # Then the balance on the page drops by 2 once 16 s have passed on the page's clock
    page.clock.fast_forward(16_000)
    expect(page.get_by_test_id("balance")).to_have_text(f"{balance - 2:,}", timeout=5_000)
    # And the page was not reloaded
    assert page.evaluate("window.stillTheSamePage") is True

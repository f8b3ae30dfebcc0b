"""The usage pages: the report, the drill-down to a client's months, the Excel file and the
charts (S6, M4, C1, X5, X6)."""

import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from credits import services
from credits.charts import Bar, bar_chart, column_chart, nice_ticks, top_bars
from credits.forms.usage import default_period
from credits.selectors.usage import MonthLine, Period
from tests.credits.conftest import figures

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
WINTER = "date_from=2025-01-01&date_to=2025-03-31"


@pytest.fixture
def crm(make_portal):
    """A CRM portal (clients are departments) with, besides the fixture's two summaries made
    now, five uses in early 2025 in Paris."""
    portal = make_portal("alpha", preset="crm")
    one, two = portal.clients
    for client, action, when, params in (
        (one, "ai_summary", datetime(2025, 1, 10, 9, tzinfo=PARIS), {}),
        (one, "login", datetime(2025, 1, 10, 9, 5, tzinfo=PARIS), {}),
        # 23:30 UTC on 31 January is 00:30 on 1 February in Paris: February's
        (two, "form_submission", datetime(2025, 1, 31, 23, 30, tzinfo=UTC), {}),
        (two, "sms", datetime(2025, 2, 3, 10, tzinfo=PARIS), {"messages": 3}),
        (one, "login", datetime(2025, 2, 3, 11, tzinfo=PARIS), {}),
    ):
        services.consume(client=client, action=action, params=params, now=when)
    return portal


def url(portal, name: str = "usage", *args) -> str:
    slug = portal.organisation.slug
    suffix = {"usage": "usage/", "usage_xlsx": "usage.xlsx", "usage_client": "usage/{}/"}[name]
    return f"/o/{slug}/" + suffix.format(*args)


def months_of(report) -> list[tuple[str, int, int]]:
    return [(f"{line.month:%Y-%m}", line.uses, line.credits) for line in report.by_month]


def test_the_report_shows_credits_and_uses_by_action_client_and_month_s6_m4_c1(client, login, crm):
    # Given the owner
    login(crm.owner)
    # When she opens the usage of January to March 2025
    response = client.get(url(crm) + "?" + WINTER)
    # Then every figure is there: actions by name (free ones at 0), departments, months
    assert response.status_code == 200
    report = response.context["report"]
    assert [(a.name, a.free, a.uses, a.credits) for a in report.by_action] == [
        ("SMS message", False, 1, 15),
        ("AI summary", False, 1, 10),
        ("Form filled in", False, 1, 1),
        ("Log in", True, 2, 0),
    ]
    assert [(c.name, c.uses, c.credits) for c in report.by_client] == [
        ("Alpha two", 2, 16),
        ("Alpha one", 3, 10),
    ]
    assert months_of(report) == [("2025-01", 2, 10), ("2025-02", 3, 16), ("2025-03", 0, 0)]
    assert (report.uses, report.credits) == (5, 26)
    page = response.content.decode()
    assert '<h2 id="usage-clients">Departments</h2>' in page
    assert 'data-testid="usage-credits">26<' in page
    assert f'href="/o/alpha/usage/{crm.clients[1].pk}/?{WINTER.replace("&", "&amp;")}"' in page


def test_the_default_period_is_the_last_twelve_months_with_the_current_one_s6(client, login, crm):
    login(crm.owner)
    response = client.get(url(crm))
    report = response.context["report"]
    today = timezone.localdate(timezone=PARIS)
    assert report.period == default_period(today)
    assert len(report.by_month) == 12
    assert report.period.last.month == today.month
    # the fixture's two summaries made now: 10 credits each
    assert (report.uses, report.credits) == (2, 20)


def test_a_month_shortcut_shows_that_month_only_s6(client, login, crm):
    login(crm.owner)
    response = client.get(url(crm) + "?month=2025-02")
    report = response.context["report"]
    assert report.period == Period(date(2025, 2, 1), date(2025, 2, 28))
    assert months_of(report) == [("2025-02", 3, 16)]


@pytest.mark.parametrize(
    "query",
    [
        "date_from=0",
        "date_from=-1",
        "date_to=100000000000000000000",
        "date_from=yesterday",
        "date_from=" + "9" * 5000,
        "date_from=2025-13-01",
        "date_from=1999-12-31",
        "date_to=2100-01-01",
        "date_from=2025-03-01&date_to=2025-01-31",
        "date_from=2010-01-01&date_to=2025-01-31",
        "month=2025-1x",
    ],
)
def test_a_bad_period_is_a_form_error_and_moves_nothing_x6(client, login, crm, query):
    # Given the owner, and the figures as they are
    login(crm.owner)
    before = figures(crm.organisation)
    # When she asks for a period that is not one
    response = client.get(url(crm) + "?" + query)
    # Then the page says so, shows no report, and nothing moved
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "report" not in response.context
    assert "errorlist" in response.content.decode()
    assert figures(crm.organisation) == before


def test_a_bad_period_for_the_excel_file_is_a_400_with_the_form_x6(client, login, crm):
    login(crm.owner)
    for query in ("date_from=2025-03-01&date_to=2025-01-31", "client=100000000000000000000"):
        response = client.get(url(crm, "usage_xlsx") + "?" + query)
        assert response.status_code == 400
        assert response.context["form"].errors


def test_a_member_tied_to_one_client_sees_only_its_usage_x5(client, login, crm):
    # Given a member tied to the first department
    login(crm.tied)
    # When she opens the usage report
    response = client.get(url(crm) + "?" + WINTER)
    # Then it is that department's only
    report = response.context["report"]
    assert [(c.name, c.uses, c.credits) for c in report.by_client] == [("Alpha one", 3, 10)]
    assert [(a.code, a.uses) for a in report.by_action] == [("ai_summary", 1), ("login", 2)]
    assert "Alpha two" not in response.content.decode()
    # And the other department's drill-down and Excel file do not exist for her
    other = crm.clients[1].pk
    assert client.get(url(crm, "usage_client", other)).status_code == 404
    assert client.get(url(crm, "usage_xlsx") + f"?client={other}").status_code == 404


def test_her_excel_file_covers_only_her_client_x5(client, login, crm):
    login(crm.tied)
    workbook = load_workbook(
        io.BytesIO(b"".join(client.get(url(crm, "usage_xlsx") + "?" + WINTER).streaming_content))
    )
    assert list(workbook["Departments"].iter_rows(values_only=True)) == [
        ("Department", "Uses", "Credits"),
        ("Alpha one", 3, 10),
        ("Total", 3, 10),
    ]


def test_another_organisations_client_is_404_x5(client, login, crm, make_portal):
    bravo = make_portal("bravo", preset="crm")
    login(crm.owner)
    foreign = bravo.clients[0].pk
    assert client.get(url(crm, "usage_client", foreign)).status_code == 404
    assert client.get(url(crm, "usage_xlsx") + f"?client={foreign}").status_code == 404


def test_the_drill_down_shows_a_clients_months_and_links_each_to_its_uses_s6(client, login, crm):
    # Given the owner
    login(crm.owner)
    two = crm.clients[1]
    # When she opens the second department's usage over January to March 2025
    response = client.get(url(crm, "usage_client", two.pk) + "?" + WINTER)
    # Then its months and actions are there
    assert response.status_code == 200
    report = response.context["report"]
    assert report.by_month == [
        MonthLine(date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 31), 0, 0),
        MonthLine(date(2025, 2, 1), date(2025, 2, 1), date(2025, 2, 28), 2, 16),
        MonthLine(date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 31), 0, 0),
    ]
    assert [(a.code, a.uses, a.credits) for a in report.by_action] == [
        ("sms", 1, 15),
        ("form_submission", 1, 1),
    ]
    # And February links to its consumptions on the activity page (empty months do not)
    page = response.content.decode()
    activity = f"/o/alpha/activity/?client={two.pk}&amp;kind=consumption"
    assert f'href="{activity}&amp;date_from=2025-02-01&amp;date_to=2025-02-28"' in page
    assert "date_from=2025-01-01&amp;date_to=2025-01-31" not in page
    # And the Excel link exports this client
    assert f'href="/o/alpha/usage.xlsx?client={two.pk}&amp;date_from=2025-01-01' in page


def test_the_excel_file_has_the_reports_three_sheets_with_totals_s6(client, login, crm):
    # Given the owner
    login(crm.owner)
    # When she downloads the report of January to March 2025
    response = client.get(url(crm, "usage_xlsx") + "?" + WINTER)
    # Then it is a workbook with one sheet by action, by department and by month
    assert response.status_code == 200
    assert 'filename="usage-alpha-20250101-20250331.xlsx"' in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["By action", "Departments", "By month"]
    rows = {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}
    assert rows["By action"] == [
        ("Action", "Code", "Uses", "Credits"),
        ("SMS message", "sms", 1, 15),
        ("AI summary", "ai_summary", 1, 10),
        ("Form filled in", "form_submission", 1, 1),
        ("Log in", "login", 2, 0),
        ("Total", None, 5, 26),
    ]
    assert rows["Departments"] == [
        ("Department", "Uses", "Credits"),
        ("Alpha two", 2, 16),
        ("Alpha one", 3, 10),
        ("Total", 5, 26),
    ]
    assert rows["By month"] == [
        ("Month", "Uses", "Credits"),
        ("2025-01", 2, 10),
        ("2025-02", 3, 16),
        ("2025-03", 0, 0),
        ("Total", 5, 26),
    ]


def test_a_clients_excel_file_is_its_drill_down_s6(client, login, crm):
    login(crm.owner)
    response = client.get(url(crm, "usage_xlsx") + f"?client={crm.clients[1].pk}&{WINTER}")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert list(workbook["By month"].iter_rows(values_only=True))[1:] == [
        ("2025-01", 0, 0),
        ("2025-02", 2, 16),
        ("2025-03", 0, 0),
        ("Total", 2, 16),
    ]


def test_the_month_chart_draws_one_bar_per_month_with_its_value_s6(client, login, crm):
    login(crm.owner)
    page = client.get(url(crm) + "?" + WINTER).content.decode()
    chart = re.search(r'<svg class="chart columns" id="chart-months".*?</svg>', page, re.S)
    assert chart is not None
    values = re.findall(
        r'<rect class="bar"[^>]* data-value="(\d+)"><title>([^<]*)</title>', chart[0]
    )
    assert values == [
        ("10", "January 2025: 10 credits"),
        ("16", "February 2025: 16 credits"),
        ("0", "March 2025: 0 credits"),
    ]
    assert '<title id="chart-months-title">Credits by month</title>' in chart[0]


def test_the_page_reads_a_bounded_number_of_queries_s6(
    client, login, crm, django_assert_max_num_queries
):
    services.roll_up_usage(now=timezone.now())
    login(crm.owner)
    # session, user, membership, then the report's five reads
    with django_assert_max_num_queries(10):
        assert client.get(url(crm) + "?" + WINTER).status_code == 200


def test_nice_ticks_are_round_steps_reaching_the_maximum():
    assert nice_ticks(0) == [0]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(100) == [0, 50, 100]
    assert nice_ticks(1234) == [0, 500, 1000, 1500]
    assert nice_ticks(10**12) == [0, 500_000_000_000, 1_000_000_000_000]


def test_a_column_chart_scales_its_bars_to_the_top_tick_and_labels_the_axis():
    with translation.override("en"):
        svg = column_chart(
            [Bar("Jan", 50, "January: 50"), Bar("Feb", 100, "February: 100", note="2026")],
            title="Credits",
            chart_id="c",
        )
    assert 'viewBox="0 0 480 240" width="100%" role="img"' in svg
    assert (
        '<title id="c-title">Credits</title><desc id="c-desc">January: 50; February: 100</desc>'
        in svg
    )
    # the plot is 180 high and its top tick is 100
    assert re.findall(r'height="([\d.]+)" data-value="(\d+)"', svg) == [
        ("90", "50"),
        ("180", "100"),
    ]
    assert list(re.findall(r'text-anchor="end">([^<]+)<', svg)) == ["0", "50", "100"]
    assert '<text class="note" x="' in svg


def test_a_bar_chart_escapes_names_and_sums_the_rest_of_a_long_list():
    bars = [Bar(f"<b>{n}</b>", value) for n, value in enumerate([40, 30, 20, 10])]
    shown = top_bars(bars, limit=3, rest="Others")
    assert [(bar.label, bar.value) for bar in shown] == [
        ("<b>0</b>", 40),
        ("<b>1</b>", 30),
        ("Others", 30),
    ]
    svg = bar_chart(shown, title="Lists", chart_id="l")
    assert "<b>" not in svg
    assert "&lt;b&gt;0&lt;/b&gt;" in svg
    assert re.findall(r'class="bar" x="0" y="[\d.]+" width="([\d.]+)"', svg) == [
        "400",
        "300",
        "300",
    ]

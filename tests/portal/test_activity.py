"""The activity page, its filters, keyset pages, totals and exports (C4, X1, B5, X5, X6).

One organisation (the CRM preset: free and paid actions, clients drawing from the pool) gets an
exact history through the services, at injected times in Paris, its time zone: a purchase P,
a promotion Q, an SMS paid by Q and P, an assignment, a free log-in, a consumption from assigned
credits, a hold and its capture, a negative adjustment, a consumption at 00:30 (the day before
in UTC), a promotion R and its expiry. ROWS lists every row it shows, newest first.
"""

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.http import HttpRequest
from django.urls import reverse

from clients import services as client_services
from clients.models import Membership, Role
from credits import services as credit_services
from credits.models import Consumption, CreditPool, Hold, LotSource, Quote
from credits.selectors import activity as selectors
from tests.credits.conftest import figures

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=PARIS)
PASSWORD = "a-long-test-password"


@dataclass
class History:
    organisation: object
    owner: object
    admin: object
    member: object
    tied: object
    a: object  # the tied member's client
    b: object
    lots: dict[str, int] = field(default_factory=dict)
    consumptions: dict[str, Consumption] = field(default_factory=dict)
    quote: Quote | None = None
    hold: Hold | None = None


def _history(make_user, slug: str = "crm") -> History:
    owner = make_user(f"{slug}-owner", first_name="Olivia", last_name="Owner")
    organisation = client_services.create_organisation(
        name=slug.title(), slug=slug, owner=owner, preset="crm"
    )
    admin = make_user(f"{slug}-admin", first_name="Adam", last_name="Admin")
    member = make_user(f"{slug}-member")
    tied = make_user(f"{slug}-tied")
    client_services.add_member(organisation=organisation, user=admin, role=Role.ADMIN)
    client_services.add_member(organisation=organisation, user=member, role=Role.MEMBER)
    a = client_services.create_client(organisation=organisation, name="Sales")
    b = client_services.create_client(organisation=organisation, name="Support")
    tied_membership = client_services.add_member(
        organisation=organisation, user=tied, role=Role.MEMBER
    )
    Membership.objects.filter(pk=tied_membership.pk).update(client=a)
    history = History(organisation, owner, admin, member, tied, a, b)
    hour = timedelta(hours=1)
    s = credit_services
    history.lots["P"] = s.grant(
        organisation=organisation,
        credits=1000,
        source=LotSource.PURCHASE,
        now=T0,
        reference="PO-1",
        actor=owner,
    ).pk
    history.lots["Q"] = s.grant(
        organisation=organisation,
        credits=50,
        source=LotSource.PROMOTION,
        expires_at=T0 + timedelta(days=10),
        now=T0 + hour,
        actor=owner,
    ).pk
    history.quote = s.quote(
        client=a, action="sms", params={"messages": 20}, now=T0 + 2 * hour, actor=member
    )
    history.consumptions["sms"] = s.consume(
        client=a, action="sms", quote=history.quote, actor=member, now=T0 + 2 * hour
    )
    s.assign(
        organisation=organisation,
        client=b,
        credits=200,
        reference="Q1 budget",
        actor=admin,
        now=T0 + 3 * hour,
    )
    history.consumptions["login"] = s.consume(
        client=a, action="login", actor=tied, now=T0 + 4 * hour
    )
    history.consumptions["summary"] = s.consume(
        client=b, action="ai_summary", actor=admin, now=T0 + 5 * hour
    )
    history.hold = s.hold_action(
        client=a,
        action="ai_summary",
        params={},
        expires_at=T0 + timedelta(days=1),
        actor=owner,
        now=T0 + 6 * hour,
    )
    history.consumptions["captured"] = s.capture(hold=history.hold, actor=owner, now=T0 + 7 * hour)
    s.adjust(
        organisation=organisation, credits=-30, reason="correction", actor=owner, now=T0 + 8 * hour
    )
    history.consumptions["form"] = s.consume(
        client=a,
        action="form_submission",
        actor=member,
        now=datetime(2026, 1, 16, 0, 30, tzinfo=PARIS),  # 15/01 23:30 in UTC
    )
    history.lots["R"] = s.grant(
        organisation=organisation,
        credits=20,
        source=LotSource.PROMOTION,
        expires_at=datetime(2026, 1, 20, 10, 0, tzinfo=PARIS),
        now=datetime(2026, 1, 16, 9, 0, tzinfo=PARIS),
        actor=owner,
    ).pk
    s.expire_due(now=datetime(2026, 1, 21, 8, 0, tzinfo=PARIS))
    return history


@pytest.fixture
def history(make_user) -> History:
    return _history(make_user)


def login(client, user) -> None:
    assert client.login(request=HttpRequest(), username=user.get_username(), password=PASSWORD)


def url(history: History, name: str = "activity", **params) -> str:
    path = reverse(f"org:{name}", args=[history.organisation.slug])
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{path}?{query}" if query else path


def row(operation: selectors.Operation, lots: dict[str, int]) -> tuple:
    names = {pk: name for name, pk in lots.items()}
    return (
        operation.created_at.astimezone(PARIS).strftime("%d/%m %H:%M"),
        operation.label,
        operation.who,
        operation.client_names,
        operation.action_name,
        operation.credits,
        operation.balance_after,
        [(names[part.lot_id], part.source, part.credits) for part in operation.lot_parts],
    )


# Every row of the history, newest first (C4): when, kind, who, client, action, credits,
# balance after, and the lots with what each gave or took.
ROWS = [
    ("21/01 08:00", "Expired", "System", "", "", -20, 899, [("R", "promotion", -20)]),
    ("16/01 09:00", "Promotion", "Olivia Owner", "", "", 20, 919, [("R", "promotion", 20)]),
    ("16/01 00:30", "Consumption", "crm-member", "Sales", "Form filled in", -1, 899,
     [("P", "purchase", -1)]),
    ("15/01 18:00", "Adjustment", "Olivia Owner", "", "", -30, 900, [("P", "purchase", -30)]),
    ("15/01 17:00", "Consumption", "Olivia Owner", "Sales", "AI summary", -10, 930,
     [("P", "purchase", -10)]),
    ("15/01 16:00", "Hold placed", "Olivia Owner", "Sales", "AI summary", 0, 940, []),
    ("15/01 15:00", "Consumption", "Adam Admin", "Support", "AI summary", -10, 940,
     [("P", "purchase", -10)]),
    ("15/01 14:00", "Consumption", "crm-tied", "Sales", "Log in", 0, 950, []),
    ("15/01 13:00", "Assigned", "Adam Admin", "Support", "", 0, 950, []),
    ("15/01 12:00", "Consumption", "crm-member", "Sales", "SMS message", -100, 950,
     [("Q", "promotion", -50), ("P", "purchase", -50)]),
    ("15/01 11:00", "Promotion", "Olivia Owner", "", "", 50, 1050, [("Q", "promotion", 50)]),
    ("15/01 10:00", "Purchase", "Olivia Owner", "", "", 1000, 1000, [("P", "purchase", 1000)]),
]  # fmt: skip


def page_rows(response, history: History) -> list[tuple]:
    assert response.status_code == 200
    return [row(operation, history.lots) for operation in response.context["page"].operations]


def rows_at(*numbers: int) -> list[tuple]:
    """ROWS by their number (1 is the newest)."""
    return [ROWS[number - 1] for number in numbers]


# --- the list (C4, X1) ----------------------------------------------------------------------


def test_every_members_operation_is_listed_with_who_client_action_credits_balance_and_lots_c4(
    client, history
):
    # Given the history of every member of the organisation
    login(client, history.owner)
    # When the owner opens the activity
    response = client.get(url(history))
    # Then every operation is one row, newest first, with its details
    assert page_rows(response, history) == ROWS
    html = response.content.decode()
    assert "messages: 20" in html
    assert "Q1 budget" in html


def test_the_balance_after_each_row_is_the_ledgers_x1(client, history):
    # Given the history; when the owner opens the activity
    login(client, history.owner)
    operations = client.get(url(history)).context["page"].operations
    # Then the newest row's balance after is the pool's stored balance, and each row's is the
    # previous row's plus its credits
    assert operations[0].balance_after == CreditPool.objects.get(pk=history.organisation.pk).balance
    for newer, older in itertools.pairwise(operations):
        assert newer.balance_after == older.balance_after + newer.credits


def test_a_debit_paid_by_two_lots_is_one_row_listing_both_lots_c4(client, history):
    login(client, history.owner)
    response = client.get(url(history, action="sms"))
    [operation] = response.context["page"].operations
    # The SMS consumption took 50 from the promotion (soonest expiry) and 50 from the purchase
    assert operation.consumption_id == history.consumptions["sms"].pk
    assert [(part.lot_id, part.credits) for part in operation.lot_parts] == [
        (history.lots["Q"], -50),
        (history.lots["P"], -50),
    ]
    html = response.content.decode()
    assert f"Lot #{history.lots['Q']} (Promotion)" in html
    assert f"Lot #{history.lots['P']} (Purchase)" in html


def test_a_consumption_row_links_to_its_page_c4(client, history):
    login(client, history.owner)
    html = client.get(url(history)).content.decode()
    for consumption in history.consumptions.values():
        assert reverse("org:consumption", args=["crm", consumption.pk]) in html


def test_an_sms_row_shows_parts_times_recipients_by_country_not_its_text_c4(
    client, make_user, make_portal
):
    # Given an SMS sent to two French numbers and a Belgian one
    portal = make_portal("texto", preset="sms")
    sms = credit_services.consume(
        client=portal.clients[1],
        action="sms",
        params={"text": "Bonjour la liste", "recipients": ["FR", "+33612345678", "BE"]},
        actor=portal.owner,
        now=datetime.now(tz=PARIS),
    )
    login(client, portal.owner)
    # When the owner reads the activity
    response = client.get(reverse("org:activity", args=["texto"]))
    # Then its row shows the parts times the recipients by country, not the text
    newest = response.context["page"].operations[0]
    assert newest.consumption_id == sms.pk
    assert newest.params_text == "1 part × BE 1, FR 2"
    assert "Bonjour la liste" not in response.content.decode()
    # And its own page shows the text in full
    detail = client.get(reverse("org:consumption", args=["texto", sms.pk]))
    assert "Bonjour la liste" in detail.content.decode()


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "numbers"),
    [
        ({"kind": "consumption"}, (3, 5, 7, 8, 10)),
        ({"kind": "purchase"}, (12,)),
        ({"kind": "promotion"}, (2, 11)),
        ({"kind": "allowance"}, ()),
        ({"kind": "assignment"}, (9,)),
        ({"kind": "expiry"}, (1,)),
        ({"kind": "adjustment"}, (4,)),
        ({"kind": "hold"}, (6,)),
        ({"action": "ai_summary"}, (5, 6, 7)),
        ({"action": "login"}, (8,)),
        ({"action": "ai_summary", "kind": "consumption"}, (5, 7)),
    ],
)
def test_the_kind_and_action_filters_narrow_to_the_exact_rows_c4(client, history, params, numbers):
    login(client, history.owner)
    assert page_rows(client.get(url(history, **params)), history) == rows_at(*numbers)


def test_the_member_filter_narrows_to_that_persons_operations_c4(client, history):
    login(client, history.owner)
    response = client.get(url(history, member=history.admin.pk))
    assert page_rows(response, history) == rows_at(7, 9)


def test_the_client_filter_narrows_to_that_clients_operations_c4(client, history):
    login(client, history.owner)
    response = client.get(url(history, client=history.a.pk))
    assert page_rows(response, history) == rows_at(3, 5, 6, 8, 10)


def test_dates_filter_whole_days_in_the_organisations_time_zone_c4(client, history):
    # Given a consumption at 00:30 on 16/01 in Paris (23:30 on 15/01 in UTC)
    login(client, history.owner)
    # When the owner asks for 16/01
    response = client.get(url(history, date_from="2026-01-16", date_to="2026-01-16"))
    # Then it is there, with the promotion of that morning, and nothing of 15/01
    assert page_rows(response, history) == rows_at(2, 3)
    # And 15/01 alone has the rest of that day, not the 00:30 one
    response = client.get(url(history, date_from="2026-01-15", date_to="2026-01-15"))
    assert page_rows(response, history) == rows_at(4, 5, 6, 7, 8, 9, 10, 11, 12)


def test_only_mine_shows_a_member_their_own_usage_c4(client, history):
    # Given a plain member
    login(client, history.member)
    # When she opens the activity, the page offers her "Only mine"
    page = client.get(url(history)).content.decode()
    only_mine = f"{url(history)}?member={history.member.pk}"
    assert f'href="{only_mine}"' in page
    # And following it shows her two consumptions alone
    assert page_rows(client.get(only_mine), history) == rows_at(3, 10)


BAD_FILTERS = [
    {"member": "abc"},
    {"member": str(10**20)},
    {"member": "-1"},
    {"client": "text"},
    {"client": str(10**20)},
    {"client": "0"},
    {"action": "x" * 5000},
    {"kind": "gift"},
    {"kind": "k" * 5000},
    {"date_from": "2026-13-45"},
    {"date_from": "16/01/2026"},
    {"date_to": "9999-12-31"},
    {"date_from": "2026-02-01", "date_to": "2026-01-01"},
    {"cursor": "not-a-cursor"},
    {"cursor": "9" * 5000},
    {"cursor": "-99999999999999999.0.1"},
    {"cursor": "1768467600000000.2.1"},
]


@pytest.mark.parametrize("params", BAD_FILTERS)
def test_a_bad_filter_value_is_a_form_error_above_the_list_and_moves_nothing_x6(
    client, history, params
):
    # Given the owner, and the figures before
    login(client, history.owner)
    before = figures(history.organisation)
    # When she sends a filter value that is not one
    response = client.get(url(history, **params))
    # Then the page says so, with status 200, shows no rows, and nothing moved
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["page"] is None
    assert "Some filters are not valid" in response.content.decode()
    assert figures(history.organisation) == before


@pytest.mark.parametrize("name", ["activity_csv", "activity_xlsx"])
def test_an_export_with_a_bad_filter_is_refused_with_400_x6(client, history, name):
    login(client, history.owner)
    response = client.get(url(history, name, kind="gift"))
    assert response.status_code == 400
    assert "Some filters are not valid" in response.content.decode()


def test_another_organisations_member_and_client_are_form_errors_x5(client, history, make_user):
    # Given a second organisation with its own member and client
    other = _history(make_user, slug="other")
    login(client, history.owner)
    # When the owner filters on them, then each is refused, not shown
    for params in ({"member": other.member.pk}, {"client": other.a.pk}):
        response = client.get(url(history, **params))
        assert response.status_code == 200
        assert set(response.context["form"].errors) == set(params)
        assert response.context["page"] is None


# --- a member tied to one client (X5) -------------------------------------------------------


def test_a_tied_member_sees_only_her_clients_rows_c4_x5(client, history):
    # Given a member tied to Sales
    login(client, history.tied)
    # When she opens the activity, then she sees Sales's rows only (no grant, no expiry)
    assert page_rows(client.get(url(history)), history) == rows_at(3, 5, 6, 8, 10)
    # And asking for Support is a form error, not Support's rows
    response = client.get(url(history, client=history.b.pk))
    assert response.context["form"].errors
    assert response.context["page"] is None


def test_a_tied_member_gets_404_on_another_clients_consumption_x5(client, history):
    login(client, history.tied)
    other = history.consumptions["summary"]  # Support's
    own = history.consumptions["sms"]  # Sales's
    assert client.get(reverse("org:consumption", args=["crm", other.pk])).status_code == 404
    assert client.get(reverse("org:consumption", args=["crm", own.pk])).status_code == 200


def test_a_tied_members_totals_and_exports_hold_only_her_client_x5(client, history):
    login(client, history.tied)
    response = client.get(url(history, totals=1), HTTP_HX_REQUEST="true")
    assert response.context["totals"] == selectors.ActivityTotals(5, 0, -111)
    lines = list(csv.reader(io.StringIO(_download(client.get(url(history, "activity_csv"))))))
    assert {line[3] for line in lines[1:-1]} == {"Sales"}


# --- keyset pages ---------------------------------------------------------------------------


def test_pages_follow_each_other_without_gaps_or_repeats_c4(client, history, monkeypatch):
    # Given pages of 5 operations
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    login(client, history.owner)
    # When the owner follows "Older" from the first page
    first = client.get(url(history))
    second = client.get(url(history, cursor=first.context["page"].next_cursor))
    third = client.get(url(history, cursor=second.context["page"].next_cursor))
    # Then the three pages are the whole list, in order, and the last has no "Older"
    assert page_rows(first, history) == ROWS[0:5]
    assert page_rows(second, history) == ROWS[5:10]
    assert page_rows(third, history) == ROWS[10:12]
    assert third.context["page"].next_cursor is None
    assert "Older" not in third.content.decode()
    assert "Newest" in third.content.decode()


def test_an_older_page_stays_the_same_when_new_operations_arrive_c4(client, history, monkeypatch):
    # Given the second page of 5 operations
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    login(client, history.owner)
    cursor = client.get(url(history)).context["page"].next_cursor
    second = page_rows(client.get(url(history, cursor=cursor)), history)
    # When three consumptions (one free) happen meanwhile
    later = datetime(2026, 2, 1, 9, 0, tzinfo=PARIS)
    for minutes, action in enumerate(["ai_summary", "login", "form_submission"]):
        credit_services.consume(
            client=history.b,
            action=action,
            actor=history.admin,
            now=later + timedelta(minutes=minutes),
        )
    # Then the same link shows the same rows, and the first page starts with the new ones
    assert page_rows(client.get(url(history, cursor=cursor)), history) == second
    newest = client.get(url(history)).context["page"].operations
    assert [operation.action_name for operation in newest[:3]] == [
        "Form filled in",
        "Log in",
        "AI summary",
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_no_page_cuts_an_operation_in_two_whatever_the_sizes_c4(history, monkeypatch, size, chunk):
    # Given pages of `size` operations read `chunk` entries at a time
    monkeypatch.setattr(selectors, "PAGE_CHUNK", chunk)
    scope = selectors.activity_filter(Membership.objects.get(user=history.owner))
    # When every page is read in turn
    seen, after = [], None
    while True:
        page = selectors.activity_page(scope, after=after, size=size)
        assert len(page.operations) <= size
        seen += [row(operation, history.lots) for operation in page.operations]
        if page.next_cursor is None:
            break
        after = selectors.Position.parse(page.next_cursor)
    # Then together they are the list, each operation whole (the two-lot debit too)
    assert seen == ROWS


# --- totals ---------------------------------------------------------------------------------


def test_the_totals_fragment_counts_operations_and_credits_in_and_out_c4(client, history):
    login(client, history.owner)
    # When htmx fetches the totals of the list
    response = client.get(url(history, totals=1), HTTP_HX_REQUEST="true")
    # Then they are exact: 12 operations, 1,070 in, 171 out, 899 net (the balance)
    assert response.templates[0].name == "credits/activity/_totals.html"
    assert response.context["totals"] == selectors.ActivityTotals(12, 1070, -171)
    html = response.content.decode()
    assert "+1,070" in html
    assert "−171" in html
    assert "+899" in html


def test_the_page_loads_its_totals_after_it_and_shows_them_without_js_c4(client, history):
    login(client, history.owner)
    page = client.get(url(history, kind="consumption")).content.decode()
    totals = f"{url(history)}?kind=consumption&amp;totals=1"
    assert f'hx-get="{totals}"' in page
    assert 'hx-trigger="load"' in page
    # Without JS the link opens the whole page with its totals
    response = client.get(url(history, kind="consumption", totals=1))
    assert response.context["totals"] == selectors.ActivityTotals(5, 0, -121)
    assert response.context["page"] is not None


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"kind": "consumption"},
        {"kind": "expiry"},
        {"client": "a"},
        {"member": "member"},
        {"action": "ai_summary"},
        {"date_from": date(2026, 1, 16)},
    ],
)
@pytest.mark.parametrize("rolled_up", [False, True], ids=["live", "rolled-up"])
def test_the_totals_count_the_rows_the_list_shows_c4(history, params, rolled_up):
    """The totals read consumptions from the usage roll-up where it has run (S6), the rest
    from the ledger: either way they count what the list shows."""
    # Given any filter, with or without the days rolled up,
    # then the totals count the rows listed and add up their credits
    if rolled_up:
        credit_services.roll_up_usage(now=datetime(2026, 3, 1, 9, 0, tzinfo=PARIS))
    if params.get("client"):
        params = {"client": history.a.pk}
    if params.get("member"):
        params = {"member": history.member.pk}
    scope = selectors.activity_filter(Membership.objects.get(user=history.owner), **params)
    operations = list(selectors.activity_operations(scope))
    totals = selectors.activity_totals(scope)
    assert totals.operations == len(operations)
    assert totals.credits_in == sum(max(operation.credits, 0) for operation in operations)
    assert totals.credits_out == sum(min(operation.credits, 0) for operation in operations)


# --- exports (B5) ---------------------------------------------------------------------------


def _download(response) -> str:
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8-sig")


HEADER = ["When", "Kind", "Who", "Department", "Action", "Parameters", "Credits",
          "Balance after", "Lots"]  # fmt: skip


def _expected_lines(history: History) -> list[list[str]]:
    lots = history.lots
    lines = []
    for when, kind, who, clients, action, credits, after, parts in ROWS:
        day, hour = when.split(" ")
        moment = f"2026-{day[3:5]}-{day[0:2]} {hour}:00"
        label = {"promotion": "Promotion", "purchase": "Purchase"}
        lots_text = "; ".join(
            f"#{lots[lot]} {label[source]} {taken:+d}" for lot, source, taken in parts
        )
        lines.append([moment, kind, who, clients, action, "", str(credits), str(after), lots_text])
    lines[9][5] = "messages: 20"  # the SMS consumption's parameters
    return lines


def test_the_csv_has_the_pages_rows_and_totals_b5(client, history):
    login(client, history.owner)
    response = client.get(url(history, "activity_csv"))
    assert response["Content-Disposition"].startswith('attachment; filename="activity-crm-')
    lines = list(csv.reader(io.StringIO(_download(response))))
    assert lines[0] == HEADER
    assert lines[1:-1] == _expected_lines(history)
    assert lines[-1] == [
        "Total", "12 operations", "", "", "", "Credits in: 1070, credits out: -171", "899", "", ""
    ]  # fmt: skip


def test_the_excel_file_has_the_filtered_rows_and_their_totals_b5(client, history):
    # Given the owner; when she downloads the consumptions of Sales as Excel
    login(client, history.owner)
    response = client.get(url(history, "activity_xlsx", kind="consumption", client=history.a.pk))
    assert response["Content-Disposition"].endswith('.xlsx"')
    today = datetime.now(tz=PARIS).date().isoformat()
    assert f"activity-crm-{today}.xlsx" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [list(line) for line in workbook.active.iter_rows(values_only=True)]
    # Then it has the header, the page's rows (3, 5, 8, 10), and the totals line
    assert cells[0] == HEADER
    assert [line[:3] + line[6:8] for line in cells[1:-1]] == [
        [datetime(2026, 1, 16, 0, 30), "Consumption", "crm-member", -1, 899],
        [datetime(2026, 1, 15, 17, 0), "Consumption", "Olivia Owner", -10, 930],
        [datetime(2026, 1, 15, 14, 0), "Consumption", "crm-tied", 0, 950],
        [datetime(2026, 1, 15, 12, 0), "Consumption", "crm-member", -100, 950],
    ]
    assert cells[-1][:2] == ["Total", "4 operations"]
    assert cells[-1][5:7] == ["Credits in: 0, credits out: -111", -111]
    page = client.get(url(history, kind="consumption", client=history.a.pk, totals=1))
    assert page.context["totals"] == selectors.ActivityTotals(4, 0, -111)


def _more_history(history: History, count: int) -> None:
    later = datetime(2026, 3, 1, 9, 0, tzinfo=PARIS)
    for n in range(count):
        credit_services.consume(
            client=history.b if n % 2 else history.a,
            action="login" if n % 3 == 0 else "form_submission",
            actor=history.member,
            now=later + timedelta(minutes=n),
        )


@pytest.mark.parametrize("name", ["activity_csv", "activity_xlsx"])
def test_an_exports_number_of_queries_does_not_grow_with_its_rows_b5(
    client, history, name, django_assert_max_num_queries
):
    # Given the owner, and the number of queries of the export of 12 rows
    login(client, history.owner)
    with django_assert_max_num_queries(11) as small:
        b"".join(client.get(url(history, name)).streaming_content)
    # When 60 more consumptions (some free) are made
    _more_history(history, 60)
    # Then the export of 72 rows needs no more queries
    with django_assert_max_num_queries(len(small.captured_queries)):
        content = b"".join(client.get(url(history, name)).streaming_content)
    assert content


def test_the_first_page_needs_the_same_queries_whatever_the_history_c4(
    client, history, django_assert_max_num_queries
):
    login(client, history.owner)
    with django_assert_max_num_queries(12) as small:
        client.get(url(history))
    _more_history(history, 60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(url(history)).context["page"].operations) == 50


# --- a consumption's page -------------------------------------------------------------------


def test_a_consumptions_page_shows_its_action_client_who_parameters_lots_and_quote_c4(
    client, history
):
    login(client, history.owner)
    sms = history.consumptions["sms"]
    response = client.get(reverse("org:consumption", args=["crm", sms.pk]))
    assert response.status_code == 200
    detail = response.context["detail"]
    assert (detail.consumption.action_code, detail.consumption.client, detail.who) == (
        "sms",
        history.a,
        "crm-member",
    )
    assert detail.parameters == [("messages", "20")]
    assert detail.pricing == [("Units", "20"), ("Credits per unit", "5")]
    assert [(lot.lot_id, lot.source, lot.credits) for lot in detail.lots] == [
        (history.lots["Q"], "Promotion", 50),
        (history.lots["P"], "Purchase", 50),
    ]
    assert detail.quote == history.quote
    html = response.content.decode()
    assert "SMS message" in html
    assert "Sales" in html
    assert f"#{history.quote.pk}" in html
    assert "PO-1" in html  # the purchase lot's reference


def test_a_captured_consumptions_page_shows_its_hold_c4(client, history):
    login(client, history.owner)
    captured = history.consumptions["captured"]
    response = client.get(reverse("org:consumption", args=["crm", captured.pk]))
    assert response.context["detail"].consumption.hold == history.hold
    assert f"#{history.hold.pk}" in response.content.decode()


def test_another_organisations_consumption_is_404_x5(client, history, make_user):
    other = _history(make_user, slug="other")
    login(client, history.owner)
    foreign = other.consumptions["sms"].pk
    assert client.get(reverse("org:consumption", args=["crm", foreign])).status_code == 404


def test_every_kind_of_row_is_named_in_words_and_found_by_its_kind_filter_c4_b5(make_user):
    # Given an SMS organisation (a purchase extends the credits held) with every other kind
    owner = make_user("words-owner")
    organisation = client_services.create_organisation(
        name="Words", slug="words", owner=owner, preset="sms"
    )
    sales = client_services.create_client(organisation=organisation, name="Sales")
    s, hour = credit_services, timedelta(hours=1)
    s.grant(organisation=organisation, credits=100, source=LotSource.PURCHASE, now=T0)
    s.grant(
        organisation=organisation,
        credits=30,
        source=LotSource.PLAN_ALLOWANCE,
        expires_at=T0 + timedelta(days=30),
        now=T0 + hour,
    )
    second = s.grant(
        organisation=organisation, credits=200, source=LotSource.PURCHASE, now=T0 + 2 * hour
    )
    s.revoke_lot(lot=second, reason="card refused", now=T0 + 3 * hour)
    s.adjust(organisation=organisation, credits=5, reason="goodwill", now=T0 + 4 * hour)
    released = s.hold(client=sales, credits=10, expires_at=T0 + 6 * hour, now=T0 + 5 * hour)
    s.release(hold=released, now=T0 + 5 * hour + timedelta(minutes=1))
    s.hold(client=sales, credits=10, expires_at=T0 + 7 * hour, now=T0 + 6 * hour)
    s.expire_holds(now=T0 + 8 * hour)
    membership = Membership.objects.get(user=owner)

    def labels(**params) -> list[str]:
        scope = selectors.activity_filter(membership, **params)
        operations = selectors.activity_page(scope).operations
        assert selectors.activity_totals(scope).operations == len(operations)
        return [operation.label for operation in operations]

    # Then each row says what it was, newest first (the extension was written after its grant)
    assert labels() == [
        "Hold expired",
        "Hold placed",
        "Hold released",
        "Hold placed",
        "Adjustment lot",
        "Purchase cancelled",
        "Expiry extended",
        "Purchase",
        "Plan allowance",
        "Purchase",
    ]
    # And each kind finds its own rows
    assert labels(kind="allowance") == ["Plan allowance"]
    assert labels(kind="purchase") == ["Purchase cancelled", "Purchase", "Purchase"]
    assert labels(kind="adjustment") == ["Adjustment lot"]
    assert labels(kind="expiry") == ["Expiry extended"]
    assert labels(kind="hold") == ["Hold expired", "Hold placed", "Hold released", "Hold placed"]
    assert labels(kind="promotion") == []

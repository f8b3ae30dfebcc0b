"""The home page: figures, expiring soon, reminders, low balance, forecast, plan allowance, a
tied member's own figures, and its refreshing fragment (C3, S2, G4, M2, B4, D3)."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import services as billing_services
from billing.models import Plan
from clients.models import Client, ClientKind
from credits import services as credit_services
from credits.models import LimitKind, LotSource
from credits.selectors import dashboard, spending_check, usage
from tests.credits.conftest import figures

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)


@pytest.fixture
def clock(monkeypatch):
    """Fix the time every part of the request reads (pages pass `timezone.now()`)."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def shown(page: str, testid: str) -> str:
    """The text of the element with this data-testid, or '' when the page has none."""
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    return match.group(1).strip() if match else ""


def home_page(client, slug: str, **headers) -> str:
    response = client.get(f"/o/{slug}/", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def grant(organisation, credits: int, now: datetime, **extra):
    return credit_services.grant(
        organisation=organisation,
        credits=credits,
        source=extra.pop("source", LotSource.PURCHASE),
        now=now,
        **extra,
    )


def save_card(organisation, now: datetime) -> None:
    """A sandbox card that the gateway accepts (as tests/billing/conftest.py's `card`)."""
    billing_services.save_card(
        organisation=organisation,
        number="4242 4242 4242 4242",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        now=now,
    )


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


# --- figures and their refresh ------------------------------------------------------------


def test_home_shows_balance_available_held_assigned_and_waiting_c3_s2_g4(
    make_portal, login, client
):
    # Given 1,000 credits less the fixture's two 1-credit SMS, 500 more, a 48-credit spend,
    # 100 assigned to a list and 50 held for scheduled work
    portal = make_portal("alpha")
    now = timezone.now()
    grant(portal.organisation, 500, now)
    credit_services.debit(client=portal.clients[0], credits=48, action_code="sms", now=now)
    credit_services.assign(
        organisation=portal.organisation, client=portal.clients[1], credits=100, now=now
    )
    credit_services.hold(
        client=portal.clients[0], credits=50, expires_at=now + timedelta(hours=1), now=now
    )
    login(portal.owner)
    # When the owner opens the home page
    page = home_page(client, "alpha")
    # Then it shows every figure of the pool
    assert shown(page, "balance") == "1,450"
    assert shown(page, "available") == "1,400"
    assert shown(page, "held") == "50"
    assert shown(page, "assigned") == "100"
    assert shown(page, "unassigned") == "1,300"
    assert "You are owner of this organisation." in page


def test_the_fragment_shows_a_consumption_made_after_the_page_was_rendered_c3(
    make_portal, login, client
):
    # Given the owner has the home page open with 998 credits
    portal = make_portal("alpha")
    login(portal.owner)
    assert shown(home_page(client, "alpha"), "balance") == "998"
    # When 25 credits are consumed (as through the API) and the page refreshes its figures
    credit_services.debit(
        client=portal.clients[1], credits=25, action_code="sms", now=timezone.now()
    )
    response = client.get("/o/alpha/figures/", headers={"hx-request": "true"})
    # Then the fragment reads the new balance, and nothing of the page around it
    assert response.status_code == 200
    fragment = response.content.decode()
    assert shown(fragment, "balance") == "973"
    assert "<html" not in fragment


def test_the_page_fetches_its_figures_again_every_15_seconds_c3(make_portal, login, client):
    # Given an owner
    portal = make_portal("alpha")
    login(portal.owner)
    # When the home page is rendered
    page = home_page(client, "alpha")
    # Then its figures block replaces itself from the fragment route every 15 s
    block = re.search(r'<div id="home-figures"[^>]*>', page).group(0)
    assert 'hx-get="/o/alpha/figures/"' in block
    assert 'hx-trigger="every 15s"' in block
    assert 'hx-swap="outerHTML"' in block


# --- expiring soon and reminders ----------------------------------------------------------


def test_expiry_days_are_the_organisations_calendar_days_b4(
    make_organisation, login, client, clock
):
    """B4: a lot lapsing at 23:30 UTC on 31 January lapses on 1 February in Paris."""
    # Given credits lapsing at noon UTC on 31 Jan, at 23:30 UTC on 31 Jan, on 1 Feb in Paris,
    # and credits that never lapse
    clock(T)
    organisation = make_organisation("alpha")
    grant(organisation, 100, T, expires_at=datetime(2027, 1, 31, 12, 0, tzinfo=UTC))
    grant(organisation, 300, T, expires_at=datetime(2027, 1, 31, 23, 30, tzinfo=UTC))
    grant(organisation, 200, T, expires_at=datetime(2027, 2, 1, 10, 0, tzinfo=PARIS))
    grant(organisation, 50, T, expires_at=None)
    # When the expiring credits are read, and the home page shown
    expiring = dashboard.expiring_soon(organisation, now=T, remind_until=T)
    login(organisation.memberships.get().user)
    page = home_page(client, "alpha")
    # Then two days lapse, the 23:30 UTC lot on Paris's 1 February
    assert [(day.day, day.credits) for day in expiring] == [
        (date(2027, 1, 31), 100),
        (date(2027, 2, 1), 500),
    ]
    rows = re.findall(r"<tr[^>]*><td>([^<]+)</td><td class=\"num\">([^<]+)</td></tr>", page)
    assert rows == [("31 January 2027", "100"), ("1 February 2027", "500")]


def test_expiring_soon_lists_the_five_soonest_days_b4(make_organisation):
    # Given credits lapsing on seven different days
    organisation = make_organisation("alpha")
    for n in range(7, 0, -1):
        grant(organisation, n * 10, T, expires_at=T + timedelta(days=n))
    # When the expiring credits are read
    expiring = dashboard.expiring_soon(organisation, now=T, remind_until=T)
    # Then the five soonest days are shown, soonest first
    assert [(day.day, day.credits) for day in expiring] == [
        (date(2026, 12, 2), 10),
        (date(2026, 12, 3), 20),
        (date(2026, 12, 4), 30),
        (date(2026, 12, 5), 40),
        (date(2026, 12, 6), 50),
    ]


def test_a_lot_lapsing_inside_the_reminder_lead_time_shows_a_banner_b4(
    make_organisation, login, client, clock
):
    # Given 1,200 credits lapsing in 29 days, under the default 30-day reminder
    clock(T)
    organisation = make_organisation("alpha")
    grant(organisation, 1200, T, expires_at=T + timedelta(days=29))
    login(organisation.memberships.get().user)
    # When the home page is shown
    page = home_page(client, "alpha")
    # Then a banner says how many credits lapse, and when
    assert shown(page, "expiry-reminder") == "1,200 credits expire on 30 December 2026."


def test_a_lot_lapsing_after_the_reminder_lead_time_is_listed_without_a_banner_b4(
    make_organisation, login, client, clock
):
    # Given 1,200 credits lapsing in 31 days, under the default 30-day reminder
    clock(T)
    organisation = make_organisation("alpha")
    grant(organisation, 1200, T, expires_at=T + timedelta(days=31))
    login(organisation.memberships.get().user)
    # When the home page is shown
    page = home_page(client, "alpha")
    # Then the lot is in the list, but no banner warns of it
    assert 'data-testid="expiry-reminder"' not in page
    assert "<td>1 January 2027</td>" in page


def test_without_expiring_credits_the_page_says_none_expire_b4(make_portal, login, client):
    # Given an organisation whose credits never expire (custom policy)
    portal = make_portal("alpha", preset="data_provider")
    login(portal.owner)
    # When the home page is shown
    page = home_page(client, "alpha")
    # Then it says so
    assert "No credits expire." in page


def test_inside_the_lead_time_the_inactivity_banner_names_the_last_use_d3(
    make_organisation, login, client, clock
):
    # Given a Deepetch-like organisation (expiry after 12 months without use) that bought
    # 5,000 credits on 3 January 2026 and used nothing since
    organisation = make_organisation("deepetch", preset="translation")
    bought = datetime(2026, 1, 3, 11, 0, tzinfo=PARIS)
    clock(bought)
    grant(organisation, 5000, bought)
    # When the home page is shown on 20 December 2026, inside the 30-day reminder
    clock(datetime(2026, 12, 20, 9, 0, tzinfo=PARIS))
    login(organisation.memberships.get().user)
    page = home_page(client, "deepetch")
    # Then the banner says since when nothing was used and when everything lapses
    assert shown(page, "inactivity-reminder") == (
        "You have used nothing since 3 January 2026: 5,000 credits expire on 3 January 2027."
    )


def test_outside_the_lead_time_the_inactivity_expiry_is_listed_without_a_banner_d3(
    make_organisation, login, client, clock
):
    # Given the same organisation, seen on 1 November 2026 (two months before)
    organisation = make_organisation("deepetch", preset="translation")
    bought = datetime(2026, 1, 3, 11, 0, tzinfo=PARIS)
    clock(bought)
    grant(organisation, 5000, bought)
    clock(datetime(2026, 11, 1, 9, 0, tzinfo=PARIS))
    login(organisation.memberships.get().user)
    # When the home page is shown
    page = home_page(client, "deepetch")
    # Then the expiry is listed, without a banner
    assert 'data-testid="inactivity-reminder"' not in page
    assert shown(page, "inactivity") == (
        "Unless credits are used before then, 5,000 credits expire on 3 January 2027"
        " (last use: 3 January 2026)."
    )


# --- low balance and forecast -------------------------------------------------------------


def test_a_balance_below_the_threshold_shows_the_low_balance_banner_b1(make_portal, login, client):
    # Given 998 credits and an alert below 1,000
    portal = make_portal("alpha")
    credit_services.update_policy(organisation=portal.organisation, low_balance_threshold=1000)
    login(portal.owner)
    # When the home page is shown
    page = home_page(client, "alpha")
    # Then the banner says so with both figures
    assert shown(page, "low-balance") == (
        "Low balance: 998 credits left, below your alert threshold of 1,000."
    )


def test_a_balance_at_the_threshold_shows_no_low_balance_banner_b1(make_portal, login, client):
    # Given 998 credits and an alert below 998
    portal = make_portal("alpha")
    credit_services.update_policy(organisation=portal.organisation, low_balance_threshold=998)
    login(portal.owner)
    # When the home page is shown
    page = home_page(client, "alpha")
    # Then no banner
    assert 'data-testid="low-balance"' not in page


def test_the_forecast_reads_the_last_30_days_pace_b4(make_organisation, login, client, clock):
    # Given 1,000 credits, 60 spent 35 days ago (outside the window) and 90 spent 10 days ago
    organisation = make_organisation("alpha")
    own = own_client(organisation)
    clock(T - timedelta(days=40))
    grant(organisation, 1000, T - timedelta(days=40))
    credit_services.debit(client=own, credits=60, action_code="x", now=T - timedelta(days=35))
    credit_services.debit(client=own, credits=90, action_code="x", now=T - timedelta(days=10))
    # When the home page is shown on 1 December 2026
    clock(T)
    login(organisation.memberships.get().user)
    page = home_page(client, "alpha")
    # Then the pace is 3 credits a day, and the 850 left last 283 whole days
    forecast = dashboard.run_out_forecast(organisation, balance=850, held=0, lapses=[], now=T)
    assert (forecast.spent, forecast.per_day, forecast.last_until) == (
        90,
        Fraction(3),
        date(2027, 9, 10),
    )
    assert (
        "At the last 30 days' pace (3 credits a day), your credits last until"
        " 10 September 2027." in page
    )


def test_the_forecast_counts_whole_days_from_the_exact_pace_b4(make_organisation):
    # Given 1,000 credits and 7 spent in the last 30 days (7/30 a day)
    organisation = make_organisation("alpha")
    grant(organisation, 1000, T - timedelta(days=40))
    credit_services.debit(
        client=own_client(organisation), credits=7, action_code="x", now=T - timedelta(days=1)
    )
    # When the forecast is read
    forecast = dashboard.run_out_forecast(organisation, balance=993, held=0, lapses=[], now=T)
    # Then 993 credits last 993 × 30 / 7 = 4,255.7 days: 4,255 whole days, at 0.2 a day shown
    assert forecast.per_day == Fraction(7, 30)
    assert forecast.last_until == date(2026, 12, 1) + timedelta(days=4255)
    assert forecast.per_day_shown == Decimal("0.2")


def test_the_forecast_counts_the_credits_that_lapse_before_they_are_spent_b4(
    make_organisation, login, client, clock
):
    # Given 300 credits spent 10 days ago (10 a day), then 400 credits lapsing in 10 days and
    # 600 that never lapse
    organisation = make_organisation("alpha")
    clock(T - timedelta(days=20))
    grant(organisation, 300, T - timedelta(days=20), expires_at=None)
    credit_services.debit(
        client=own_client(organisation), credits=300, action_code="x", now=T - timedelta(days=10)
    )
    grant(organisation, 400, T - timedelta(days=1), expires_at=T + timedelta(days=10))
    grant(organisation, 600, T - timedelta(days=1), expires_at=None)
    # When the home page is shown on 1 December 2026
    clock(T)
    login(organisation.memberships.get().user)
    page = home_page(client, "alpha")
    # Then 100 of the 400 are spent before they lapse and 300 lapse: the 700 left last 70 days
    # (not the 100 days that 1,000 credits would)
    assert "your credits last until 9 February 2027." in page


@pytest.mark.parametrize(
    ("balance", "held", "lapses", "days"),
    [
        (1000, 0, [], 100),  # no lapse: 1,000 / 10
        (1000, 100, [], 90),  # the held credits are as good as spent
        (1000, 0, [(date(2027, 6, 19), 900)], 100),  # run out before the lapse (day 200)
        (1000, 0, [(date(2026, 12, 11), 400)], 70),  # 100 spent, 300 lapse on day 10
        # two lapses: by day 10, 100 spent of the first 200 (100 lapse); by day 20, 200 spent,
        # so 100 of the second 200 are spent and 100 lapse: 800 usable, 80 days
        (1000, 0, [(date(2026, 12, 11), 200), (date(2026, 12, 21), 200)], 80),
    ],
)
def test_the_run_out_day_spends_the_soonest_expiring_credits_first_b4(balance, held, lapses, days):
    # Given a pace of 10 credits a day from 1 December 2026
    today = date(2026, 12, 1)
    # When the run-out day is computed
    last = dashboard.run_out_day(
        balance=balance, held=held, per_day=Fraction(10), today=today, lapses=lapses
    )
    # Then the credits last that many whole days
    assert last == today + timedelta(days=days)


def test_without_spending_in_the_last_30_days_there_is_no_forecast_b4(
    make_organisation, login, client, clock
):
    # Given credits, and a spend 31 days ago only
    organisation = make_organisation("alpha")
    clock(T - timedelta(days=40))
    grant(organisation, 1000, T - timedelta(days=40))
    credit_services.debit(
        client=own_client(organisation), credits=90, action_code="x", now=T - timedelta(days=31)
    )
    # When the home page is shown
    clock(T)
    login(organisation.memberships.get().user)
    page = home_page(client, "alpha")
    # Then there is no forecast
    assert dashboard.run_out_forecast(organisation, balance=910, held=0, lapses=[], now=T) is None
    assert "your credits last until" not in page
    assert "No forecast" in page


def test_spent_between_sums_one_organisations_consumptions_in_the_period_b4(make_organisation):
    # Given spends at the start, inside and at the end of a period, and another organisation's
    alpha, bravo = make_organisation("alpha"), make_organisation("bravo")
    start, end = T - timedelta(days=30), T
    for organisation in (alpha, bravo):
        grant(organisation, 1000, start - timedelta(days=1))
    for credits, moment in (
        (5, start - timedelta(seconds=1)),
        (7, start),
        (11, end - timedelta(seconds=1)),
        (13, end),
    ):
        credit_services.debit(
            client=own_client(alpha), credits=credits, action_code="x", now=moment
        )
    credit_services.debit(client=own_client(bravo), credits=17, action_code="x", now=start)
    # When the period's spending is summed
    # Then only alpha's credits from its start (included) to its end (excluded) count
    assert usage.spent_between(alpha, start, end) == 7 + 11


# --- a plan's allowance (M2) --------------------------------------------------------------


def test_a_plans_included_credits_left_show_beside_the_purchased_ones_m2(
    make_organisation, login, client, clock
):
    # Given a CRM organisation on the Starter plan (200 included) since 10 March 2026, with
    # 1,000 purchased credits, that spent 50 (included credits go first)
    now = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)
    clock(now)
    organisation = make_organisation("crm", preset="crm")
    starter = Plan.objects.create(
        code="starter", name="Starter", monthly_price=Decimal("29.00"), included_credits=200
    )
    save_card(organisation, now)
    billing_services.subscribe(organisation=organisation, plan=starter, now=now)
    grant(organisation, 1000, now)
    credit_services.debit(client=own_client(organisation), credits=50, action_code="x", now=now)
    login(organisation.memberships.get().user)
    # When the home page is shown
    page = home_page(client, "crm")
    # Then 150 included credits are left until the cycle ends, beside 1,000 purchased
    assert shown(page, "balance") == "1,150"
    assert shown(page, "included-left") == "150"
    assert shown(page, "purchased") == "1,000"
    assert "Starter plan; this cycle ends on 10 April 2026." in page


def test_without_a_plan_no_included_credits_are_shown_m2(make_portal, login, client):
    # Given an organisation without a plan
    portal = make_portal("alpha")
    login(portal.owner)
    # When the home page is shown
    page = home_page(client, "alpha")
    # Then there is no allowance figure
    assert 'data-testid="included-left"' not in page


# --- a member tied to one client (D4, S5, X5) ---------------------------------------------


def test_a_tied_member_sees_their_clients_figures_and_not_the_organisations_d4(
    make_portal, login, client
):
    # Given a list with a monthly limit of 100, 40 assigned credits, a 70-credit spend (40 from
    # its assignment, 30 drawn from the pool) and then 25 more assigned
    portal = make_portal("alpha")
    one = portal.clients[0]
    now = timezone.now()
    credit_services.set_spending_limit(client=one, kind=LimitKind.MONTHLY, limit=100, now=now)
    credit_services.assign(organisation=portal.organisation, client=one, credits=40, now=now)
    credit_services.debit(client=one, credits=70, action_code="sms", now=now)
    credit_services.assign(organisation=portal.organisation, client=one, credits=25, now=now)
    login(portal.tied)
    # When the member tied to that list opens the home page
    page = home_page(client, "alpha")
    # Then they see the list's figures: 25 assigned + 70 left under the limit
    assert shown(page, "spendable") == "95"
    assert shown(page, "client-assigned") == "25"
    assert shown(page, "limit") == "100"
    assert shown(page, "limit-used") == "30"
    assert shown(page, "limit-left") == "70"
    assert "<h2>Alpha one</h2>" in page
    # And nothing of the organisation's: no balance, expiry, forecast or pool-wide banner
    for testid in ("balance", "available", "expiring", "forecast", "low-balance"):
        assert f'data-testid="{testid}"' not in page
    assert 'href="/o/alpha/clients/"' not in page.split('class="home-links"')[1]
    assert f'href="/o/alpha/clients/{one.pk}/"' in page


@pytest.mark.parametrize(
    ("draws_from_pool", "limit_kind", "limit", "assigned", "spendable"),
    [
        (True, LimitKind.NONE, None, 0, 998),  # the whole unassigned pool
        (True, LimitKind.MONTHLY, 30, 20, 50),  # 20 assigned + 30 under the limit
        (True, LimitKind.FIXED, 500, 0, 500),  # the limit
        (False, LimitKind.NONE, None, 20, 20),  # its assigned credits only (G3)
        (False, LimitKind.MONTHLY, 30, 0, 0),  # nothing assigned, no pool
    ],
)
def test_what_a_tied_member_can_spend_now_is_what_the_debit_allows_d4_s5(
    make_portal, draws_from_pool, limit_kind, limit, assigned, spendable
):
    # Given a list with this funding, in a pool of 998 unassigned credits
    portal = make_portal("alpha")
    one = portal.clients[0]
    now = timezone.now()
    credit_services.set_spending_limit(
        client=one, kind=limit_kind, limit=limit, draws_from_pool=draws_from_pool, now=now
    )
    if assigned:
        credit_services.assign(
            organisation=portal.organisation, client=one, credits=assigned, now=now
        )
    # When its home figures are read
    home = dashboard.home_of(portal.membership(portal.tied), now=now)
    # Then it can spend exactly that much, by the debit's own rule: one credit more is refused
    assert home.spendable == spendable
    assert spending_check(client=one, credits=spendable, now=now).allowed
    assert not spending_check(client=one, credits=spendable + 1, now=now).allowed


def test_a_tied_member_of_an_inactive_client_can_spend_nothing_d4(make_portal, login, client):
    # Given the tied member's list was deactivated
    portal = make_portal("alpha")
    Client.objects.filter(pk=portal.clients[0].pk).update(is_active=False)
    login(portal.tied)
    # When they open the home page
    page = home_page(client, "alpha")
    # Then it says the list is inactive and that nothing can be spent
    assert shown(page, "spendable") == "0"
    assert shown(page, "client-inactive") == "Alpha one is inactive: nothing can be spent for it."


# --- links, language, queries -------------------------------------------------------------


def test_the_links_follow_the_roles_permissions_and_the_organisations_words(
    make_portal, login, client
):
    # Given an SMS organisation (its clients are lists)
    portal = make_portal("alpha")
    # When its owner and a plain member open the home page
    login(portal.owner)
    owner_links = home_page(client, "alpha").split('class="home-links"')[1]
    login(portal.member)
    member_links = home_page(client, "alpha").split('class="home-links"')[1]
    # Then both reach spend, rates, activity, usage and the lists; only the owner the members
    for links in (owner_links, member_links):
        for url in ("spend/", "rates/", "activity/", "usage/"):
            assert f'href="/o/alpha/{url}"' in links
        assert '<a href="/o/alpha/clients/">Lists</a>' in links
    assert 'href="/o/alpha/members/"' in owner_links
    assert 'href="/o/alpha/members/"' not in member_links


def test_the_home_page_renders_in_french_with_french_numbers_and_dates(make_portal, login, client):
    # Given 4,998 credits, 1,000 of them lapsing on 1 February 2027
    portal = make_portal("alpha", credits=4000)
    grant(
        portal.organisation,
        1000,
        timezone.now(),
        expires_at=datetime(2027, 2, 1, 12, 0, tzinfo=PARIS),
    )
    login(portal.owner)
    # When the page is asked for in French
    page = home_page(client, "alpha", **{"accept-language": "fr"})
    # Then it renders with French number grouping and month names
    assert '<html lang="fr">' in page
    assert shown(page, "balance") == "4\xa0998"
    assert "1 février 2027" in page


def test_the_home_page_makes_a_bounded_number_of_queries(
    make_organisation, login, client, clock, django_assert_max_num_queries
):
    # Given an organisation with a plan, expiring lots and spending (every part of the page)
    now = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)
    clock(now)
    organisation = make_organisation("crm", preset="crm")
    plan = Plan.objects.create(
        code="starter", name="Starter", monthly_price=Decimal("29.00"), included_credits=200
    )
    save_card(organisation, now)
    billing_services.subscribe(organisation=organisation, plan=plan, now=now)
    for n in range(1, 8):
        grant(organisation, 100, now, expires_at=now + timedelta(days=n))
    for _ in range(20):
        credit_services.debit(client=own_client(organisation), credits=3, action_code="x", now=now)
    login(organisation.memberships.get().user)
    clock(now + timedelta(hours=1))
    # When the page and its fragment are read
    # Then each takes at most 9 queries (session, user, membership, pool, lots, plan, the
    # plan's allowance, the usage roll-up's mark, the 30 days' spending), however many lots
    # and consumptions there are
    with django_assert_max_num_queries(9):
        home_page(client, "crm")
    with django_assert_max_num_queries(9):
        assert client.get("/o/crm/figures/").status_code == 200


def test_a_tied_members_home_makes_a_bounded_number_of_queries(
    make_portal, login, client, django_assert_max_num_queries
):
    # Given a member tied to one list
    portal = make_portal("alpha")
    login(portal.tied)
    # When they open the home page
    # Then it takes at most 5 queries (session, user, membership, pool, the list's account)
    with django_assert_max_num_queries(5):
        home_page(client, "alpha")


def test_reading_the_home_page_moves_nothing(make_portal, login, client):
    # Given an organisation's stored figures
    portal = make_portal("alpha")
    before = figures(portal.organisation)
    login(portal.owner)
    # When the page and its fragment are read, with stray query parameters
    home_page(client, "alpha")
    client.get("/o/alpha/figures/?balance=10000000000000000000&x=" + "a" * 5000)
    # Then no figure moved
    assert figures(portal.organisation) == before


def plan_of(read) -> str:
    """PostgreSQL's plan for the last query `read()` makes (the one over lots or
    consumptions; a read of the usage roll-up's mark may come first), on fresh statistics and
    with sequential scans off (worth nothing on a big table), so the test shows which index
    serves it."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE credits_lot, credits_consumption")
        cursor.execute("SET LOCAL enable_seqscan = off")
    with CaptureQueriesContext(connection) as captured:
        read()
    assert 1 <= len(captured.captured_queries) <= 2
    last = captured.captured_queries[-1]["sql"]
    assert "credits_lot" in last or "credits_consumption" in last, last
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + last)
        return "\n".join(row[0] for row in cursor.fetchall())


def a_year_of_history(*portals) -> None:
    """40,000 consumptions and 400 spent lots over a year, for the planner to weigh indexes
    as on a real table (on a handful of rows any index will do). Written in SQL: this is
    planner statistics, not ledger history, and it is rolled back with the test."""
    with connection.cursor() as cursor:
        for portal in portals:
            for one in portal.clients:
                cursor.execute(
                    "INSERT INTO credits_consumption (organisation_id, client_id, action_code,"
                    " description, params, credits, from_assigned, from_pool, created_at)"
                    " SELECT %s, %s, 'x', '', '{}', 1, 0, 1, now() - n * interval '53 minutes'"
                    " FROM generate_series(1, 10000) AS n",
                    [portal.organisation.pk, one.pk],
                )
            cursor.execute(
                "INSERT INTO credits_lot (organisation_id, source, quantity, remaining,"
                " expires_at, reference, created_at)"
                " SELECT %s, 'purchase', 10, 0, now() - n * interval '1 day', '', now()"
                " FROM generate_series(1, 200) AS n",
                [portal.organisation.pk],
            )


@pytest.mark.postgres
def test_the_expiry_days_are_read_through_the_live_lots_index(make_portal):
    """B4: the grouped read of expiring credits uses the live lots' partial index."""
    # Given two organisations with a year of history
    alpha, bravo = make_portal("alpha"), make_portal("bravo")
    a_year_of_history(alpha, bravo)
    now = timezone.now()
    # When PostgreSQL plans the read of one's expiry days
    plan = plan_of(lambda: dashboard.expiring_soon(alpha.organisation, now=now, remind_until=now))
    # Then it reads the partial index of live lots
    assert "lot_live_spending_order" in plan, plan


@pytest.mark.postgres
def test_the_30_days_spending_is_read_through_the_recent_consumptions_index(make_portal):
    """B4 at 1M consumptions: the sum reads one period of one organisation, by its index."""
    # Given two organisations with a year of history
    alpha, bravo = make_portal("alpha"), make_portal("bravo")
    a_year_of_history(alpha, bravo)
    now = timezone.now()
    # When PostgreSQL plans the sum of one's last 30 days
    plan = plan_of(lambda: usage.spent_between(alpha.organisation, now - timedelta(days=30), now))
    # Then it reads the (organisation, -created_at) index
    assert "consumption_org_recent" in plan, plan

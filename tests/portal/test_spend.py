"""Spending with a recap first (C5, G6, S1, X3, X5, X6): the form asks for a quote, the recap
shows how it was computed, confirm consumes that quote once, cancel and refusals move nothing."""

import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from clients import services as client_services
from clients.models import ClientKind
from credits import services
from credits.models import BillableAction, Consumption, LotSource, Quote
from tests.credits.conftest import assigned_of, figures, pool_of
from tests.portal.test_ratecard import S1_TEXT, by_testid, computation

pytestmark = pytest.mark.django_db


def recap_url(slug: str, quote: Quote) -> str:
    return f"/o/{slug}/spend/quotes/{quote.pk}/"


def confirm(client, slug: str, quote: Quote):
    return client.post(recap_url(slug, quote), {"idempotency_key": f"portal-quote-{quote.pk}"})


def latest_quote(organisation) -> Quote:
    return Quote.objects.filter(organisation=organisation).latest("pk")


@pytest.fixture
def games(make_user, make_organisation):
    """A serious-game studio with 1,000 credits, 200 of them assigned to its client Acme."""
    owner = make_user("games-owner")
    organisation = make_organisation("games", owner=owner, preset="serious_game")
    acme = client_services.create_client(
        organisation=organisation, name="Acme Training", kind=ClientKind.CUSTOMER
    )
    now = timezone.now()
    services.grant(organisation=organisation, credits=1000, source=LotSource.PURCHASE, now=now)
    services.assign(organisation=organisation, client=acme, credits=200, now=now)
    return organisation, owner, acme


# --- the list and the form -----------------------------------------------------------------


def test_the_spend_page_lists_the_paid_actions_only_c1(client, login, make_portal):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.member)
    html = client.get("/o/corpo/spend/").content.decode()
    assert set(re.findall(r'data-testid="spend-([\w-]+)"', html)) == {
        "data_export",
        "crm_enrichment",
        "email_campaign",
    }


@pytest.mark.parametrize("code", ["search", "no_such_action", "ai_email_draft"])
def test_a_free_unknown_or_inactive_action_cannot_be_spent_404(client, login, make_portal, code):
    portal = make_portal("corpo", preset="data_provider")
    BillableAction.objects.filter(organisation=portal.organisation, code="data_export").update(
        is_active=False
    )
    login(portal.owner)
    assert client.get(f"/o/corpo/spend/{code}/").status_code == 404
    assert client.get("/o/corpo/spend/data_export/").status_code == 404
    assert client.post(f"/o/corpo/spend/{code}/", {"client": portal.own.pk}).status_code == 404


def test_the_form_offers_the_visible_active_clients_own_first_in_the_organisations_words(
    client, login, make_portal
):
    portal = make_portal("texto")
    client_services.create_client(organisation=portal.organisation, name="Aardvark list")
    portal.clients[1].is_active = False
    portal.clients[1].save()
    login(portal.owner)
    html = client.get("/o/texto/spend/sms/").content.decode()
    assert '<label for="id_client">List</label>' in html
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]*)</option>', html)
    assert [(name, bool(selected)) for _pk, selected, name in options] == [
        ("Texto", True),
        ("Aardvark list", False),
        ("Texto one", False),
    ]


def test_a_tied_member_is_offered_only_her_client_x5(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.tied)
    html = client.get("/o/texto/spend/sms/").content.decode()
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', html)
    assert options == [(str(portal.clients[0].pk), "Texto one")]


def test_an_enrolment_asks_for_the_learners_and_the_game_g6(client, login, games):
    _organisation, owner, _acme = games
    login(owner)
    html = client.get("/o/games/spend/enrolment/").content.decode()
    assert '<label for="id_p_learners">Learners</label>' in html
    assert '<label for="id_p_game">Game</label>' in html
    assert 'maxlength="200"' in html


# --- quote, recap, confirm -----------------------------------------------------------------


def test_a_valid_form_asks_for_a_quote_and_redirects_to_its_recap_c5(client, login, make_portal):
    # Given the SMS platform's owner
    portal = make_portal("texto")
    login(portal.owner)
    before = figures(portal.organisation)
    # When she sends a 161-character text to a French and an Italian number
    response = client.post(
        "/o/texto/spend/sms/",
        {"client": portal.own.pk, "p_text": S1_TEXT, "p_recipients": "+33612345678\n0039312345678"},
    )
    # Then a quote is made, she is sent to its recap, and nothing is spent yet
    quote = latest_quote(portal.organisation)
    assert (response.status_code, response["Location"]) == (302, recap_url("texto", quote))
    assert quote.params == {"text": S1_TEXT, "recipients": ["+33612345678", "0039312345678"]}
    assert (quote.credits, quote.actor) == (4, portal.owner)
    assert quote.details["rates"] == {"FR": 1, "IT": 1}
    assert figures(portal.organisation) == before


def test_the_sms_recap_shows_each_countrys_computation_and_the_figures_s1(
    client, login, make_portal
):
    portal = make_portal("texto")
    login(portal.owner)
    client.post(
        "/o/texto/spend/sms/",
        {"client": portal.own.pk, "p_text": S1_TEXT, "p_recipients": "+33612345678 +39312345678"},
    )
    quote = latest_quote(portal.organisation)
    html = client.get(recap_url("texto", quote)).content.decode()
    assert computation(html) == [
        "GSM-7, 161 characters: 2 parts.",
        "France (FR): 1 recipient × 2 parts × 1 credit per part = 2 credits",
        "Italy (IT): 1 recipient × 2 parts × 1 credit per part = 2 credits",
    ]
    assert by_testid(html, "cost") == "4"
    assert (by_testid(html, "balance-before"), by_testid(html, "balance-after")) == ("998", "994")
    assert by_testid(html, "recap-client") == "Texto"
    # The time the price holds until is the organisation's; the countdown counts down to it
    local = quote.expires_at.astimezone(ZoneInfo(portal.organisation.time_zone))
    assert by_testid(html, "valid-until").startswith(f"This price holds until {local:%H:%M}.")
    utc = quote.expires_at.astimezone(UTC)
    assert f'<time data-countdown datetime="{utc:%Y-%m-%dT%H:%M:%SZ}">' in html
    assert 'name="idempotency_key" value="portal-quote-' in html


def test_the_sms_recap_keeps_the_rates_it_was_priced_at_when_rates_change_s1(
    client, login, make_portal
):
    portal = make_portal("texto")
    login(portal.owner)
    client.post(
        "/o/texto/spend/sms/",
        {"client": portal.own.pk, "p_text": "Hello", "p_recipients": "FR FR IT"},
    )
    portal.organisation.sms_rates.filter(country="FR").update(credits_per_segment=5)
    html = client.get(recap_url("texto", latest_quote(portal.organisation))).content.decode()
    assert computation(html)[1] == (
        "France (FR): 2 recipients × 1 part × 1 credit per part = 2 credits"
    )


def test_enrolling_20_learners_reads_20_times_6_equals_120_credits_g6(client, login, games):
    organisation, owner, acme = games
    login(owner)
    response = client.post(
        "/o/games/spend/enrolment/",
        {"client": acme.pk, "p_learners": "20", "p_game": "Cyber-security basics"},
    )
    quote = latest_quote(organisation)
    html = client.get(response["Location"]).content.decode()
    assert computation(html) == ["20 learners × 6 credits = 120 credits"]
    assert (by_testid(html, "balance-before"), by_testid(html, "balance-after")) == ("1,000", "880")
    assert quote.params == {"game": "Cyber-security basics", "learners": 20}


def test_confirming_twice_consumes_the_quote_once_g6_x3(client, login, games):
    # Given the recap of 20 learners for Acme, which has 200 credits assigned
    organisation, owner, acme = games
    login(owner)
    client.post(
        "/o/games/spend/enrolment/",
        {"client": acme.pk, "p_learners": "20", "p_game": "Cyber-security basics"},
    )
    quote = latest_quote(organisation)
    # When the owner confirms, and her browser sends the form a second time
    first = confirm(client, "games", quote)
    second = confirm(client, "games", quote)
    # Then one consumption of exactly 120 credits, taken from Acme's assigned credits
    consumption = Consumption.objects.get(organisation=organisation)
    assert (consumption.credits, consumption.client, consumption.actor) == (120, acme, owner)
    assert consumption.params["game"] == "Cyber-security basics"
    assert pool_of(organisation) == (880, 0, 80)
    assert assigned_of(acme) == 80
    # And both answers lead to that consumption's page, the second saying nothing more moved
    url = f"/o/games/activity/{consumption.pk}/"
    assert (first.status_code, first["Location"]) == (302, url)
    assert (second.status_code, second["Location"]) == (302, url)
    assert [str(m) for m in first.wsgi_request._messages] == [
        "120 credits spent. New balance: 880 credits."
    ]
    assert str(list(second.wsgi_request._messages)[-1]) == (
        "This quote was already confirmed: nothing more was spent."
    )


def test_cancel_goes_back_to_the_form_filled_from_the_quote_and_moves_nothing_c5(
    client, login, make_portal
):
    portal = make_portal("texto")
    login(portal.owner)
    client.post(
        "/o/texto/spend/sms/",
        {"client": portal.clients[1].pk, "p_text": "Hi there", "p_recipients": "+33612345678, DE"},
    )
    quote = latest_quote(portal.organisation)
    before = figures(portal.organisation)
    recap = client.get(recap_url("texto", quote)).content.decode()
    cancel = re.search(r'data-testid="cancel" href="([^"]+)"', recap).group(1)
    assert cancel == f"/o/texto/spend/sms/?quote={quote.pk}"
    form = client.get(cancel).content.decode()
    assert f'<option value="{portal.clients[1].pk}" selected>' in form
    assert "Hi there</textarea>" in form
    assert "+33612345678\nDE</textarea>" in form
    assert figures(portal.organisation) == before
    assert Quote.objects.get(pk=quote.pk).consumption is None


def test_an_expired_quote_is_refused_at_confirm_and_moves_nothing_c5(client, login, make_portal):
    # Given a quote made 20 minutes ago (they hold 15)
    portal = make_portal("texto")
    quote = services.quote(
        client=portal.own,
        action="sms",
        params={"text": "Hi", "recipients": ["FR"]},
        now=timezone.now() - timedelta(minutes=20),
    )
    login(portal.owner)
    before = figures(portal.organisation)
    # When the recap is opened, then confirmed
    page = client.get(recap_url("texto", quote)).content.decode()
    response = confirm(client, "texto", quote)
    # Then both say it expired, offer a new quote, and nothing moved
    assert "This quote has expired; nothing was spent." in by_testid(page, "refusal")
    assert 'data-testid="confirm"' not in page
    assert 'data-testid="requote"' in page
    assert response.status_code == 409
    assert "This quote has expired; nothing was spent." in response.content.decode()
    assert figures(portal.organisation) == before
    assert not Consumption.objects.filter(client=portal.own).exists()


def test_asking_for_a_new_quote_repeats_the_parameters_at_todays_price(client, login, make_portal):
    portal = make_portal("texto")
    old = services.quote(
        client=portal.own,
        action="sms",
        params={"text": "Hi", "recipients": ["FR"]},
        now=timezone.now() - timedelta(minutes=20),
    )
    login(portal.owner)
    response = client.post(recap_url("texto", old), {"intent": "requote"})
    fresh = latest_quote(portal.organisation)
    assert response["Location"] == recap_url("texto", fresh)
    assert (fresh.params, fresh.client, fresh.credits) == (old.params, old.client, 1)
    assert fresh.expires_at > timezone.now()


def test_a_shortfall_is_said_with_its_figure_and_moves_nothing_c5(client, login, make_portal):
    # Given 980 credits and a quote for 1,010 rows
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    client.post("/o/corpo/spend/data_export/", {"client": portal.own.pk, "p_rows": "1010"})
    quote = latest_quote(portal.organisation)
    before = figures(portal.organisation)
    # When the recap is read and (by a crafted form) confirmed
    page = client.get(recap_url("corpo", quote)).content.decode()
    response = confirm(client, "corpo", quote)
    # Then "30 short" both times, and nothing moved
    assert by_testid(page, "refusal").startswith("Not enough credits: 30 short.")
    assert 'data-testid="confirm"' not in page
    assert response.status_code == 402
    assert "Not enough credits: 30 short." in response.content.decode()
    assert figures(portal.organisation) == before


def test_an_exhausted_assignment_is_said_with_its_shortfall_g3(client, login, games):
    organisation, owner, acme = games
    login(owner)
    client.post(
        "/o/games/spend/enrolment/", {"client": acme.pk, "p_learners": "40", "p_game": "Safety"}
    )
    before = figures(organisation)
    quote = latest_quote(organisation)
    page = client.get(recap_url("games", quote)).content.decode()
    assert by_testid(page, "refusal").startswith("Not enough credits assigned: 40 short.")
    assert confirm(client, "games", quote).status_code == 402
    assert figures(organisation) == before


def test_a_limit_reached_at_confirm_time_is_said_and_moves_nothing_d4(client, login, make_portal):
    # Given a quote of 10 credits for a list, then a monthly limit of 4 set on it
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    client.post("/o/corpo/spend/data_export/", {"client": portal.clients[1].pk, "p_rows": "10"})
    quote = latest_quote(portal.organisation)
    services.set_spending_limit(
        client=portal.clients[1], kind="monthly", limit=4, now=timezone.now()
    )
    before = figures(portal.organisation)
    # When it is confirmed
    response = confirm(client, "corpo", quote)
    # Then the limit is named with what it leaves, and nothing moved
    html = response.content.decode()
    assert response.status_code == 402
    assert "Over the spending limit: 6 short." in html
    assert (
        "Spending limit reached: 10 credits needed from the pool, 4 left of the limit of 4." in html
    )
    assert figures(portal.organisation) == before


def test_a_quote_used_elsewhere_is_said_so(client, login, make_portal):
    portal = make_portal("texto")
    quote = portal.quotes[0]
    services.consume(
        client=quote.client,
        action=quote.action,
        quote=quote,
        idempotency_key="api-1",
        now=timezone.now(),
    )
    login(portal.owner)
    before = figures(portal.organisation)
    response = confirm(client, "texto", quote)
    assert response.status_code == 409
    assert "This quote was already used." in response.content.decode()
    assert figures(portal.organisation) == before


def test_a_confirmation_without_the_quotes_key_is_refused(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.owner)
    before = figures(portal.organisation)
    quote = portal.quotes[0]
    response = client.post(recap_url("texto", quote), {"idempotency_key": "portal-quote-1x"})
    assert response.status_code == 400
    assert "This form belongs to another quote; open it again." in response.content.decode()
    assert figures(portal.organisation) == before


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ("0", "Enter at least 1."),
        ("-5", "Enter at least 1."),
        (str(10**20), "Enter at most 1000000000."),
        ("ten", "Enter a whole number."),
        ("9" * 5000, "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_a_bad_number_of_units_is_a_form_error_and_moves_nothing_x6(
    client, login, make_portal, rows, error
):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    before, quotes = figures(portal.organisation), Quote.objects.count()
    response = client.post("/o/corpo/spend/data_export/", {"client": portal.own.pk, "p_rows": rows})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert (figures(portal.organisation), Quote.objects.count()) == (before, quotes)


@pytest.mark.parametrize(
    ("text", "recipients", "error"),
    [
        ("x" * 5000, "FR", "Ensure this value has at most 1600 characters (it has 5000)."),
        ("Hi", "", "This field is required."),
        ("Hi", "JP", "No SMS rate for: JP."),
        ("Hi", "+81312345678", "No SMS rate for the number “+81312345678”."),
        ("Hi", "FR, hello, 0612345678", "Neither international numbers nor country codes: hello"),
        ("Hi", "FR " * 10_001, "At most 10,000 recipients at once (10,001 given)."),
        ("", "FR", "This field is required."),
    ],
)
def test_a_bad_sms_is_a_form_error_and_moves_nothing_s1_x6(
    client, login, make_portal, text, recipients, error
):
    portal = make_portal("texto")
    login(portal.owner)
    before, quotes = figures(portal.organisation), Quote.objects.count()
    response = client.post(
        "/o/texto/spend/sms/", {"client": portal.own.pk, "p_text": text, "p_recipients": recipients}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert (figures(portal.organisation), Quote.objects.count()) == (before, quotes)


def test_a_table_value_not_in_the_table_is_a_form_error_d2(client, login, make_portal):
    portal = make_portal("deep", preset="translation")
    login(portal.owner)
    quotes = Quote.objects.count()
    response = client.post(
        "/o/deep/spend/translation/",
        {"client": portal.own.pk, "p_service": "poetry", "p_complexity": "simple", "p_pages": "1"},
    )
    assert "Select a valid choice. poetry is not one of the available choices." in (
        response.content.decode()
    )
    assert Quote.objects.count() == quotes


def test_a_game_name_of_5000_characters_is_a_form_error_x6(client, login, games):
    organisation, owner, acme = games
    login(owner)
    response = client.post(
        "/o/games/spend/enrolment/", {"client": acme.pk, "p_learners": "1", "p_game": "g" * 5000}
    )
    assert (
        "Ensure this value has at most 200 characters (it has 5000)." in response.content.decode()
    )
    assert not Quote.objects.filter(organisation=organisation).exists()


@pytest.mark.parametrize("client_id", ["foreign", "abc", str(10**20), "-1"])
def test_a_client_of_another_organisation_or_no_client_is_a_form_error_x5(
    client, login, make_portal, client_id
):
    portal, other = make_portal("texto"), make_portal("other")
    login(portal.owner)
    before, quotes = figures(other.organisation), Quote.objects.count()
    value = other.own.pk if client_id == "foreign" else client_id
    response = client.post(
        "/o/texto/spend/sms/", {"client": value, "p_text": "Hi", "p_recipients": "FR"}
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert (figures(other.organisation), Quote.objects.count()) == (before, quotes)


# --- a member tied to one client -----------------------------------------------------------


def test_a_tied_member_cannot_quote_for_another_client_x5(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.tied)
    quotes = Quote.objects.count()
    response = client.post(
        "/o/texto/spend/sms/",
        {"client": portal.clients[1].pk, "p_text": "Hi", "p_recipients": "FR"},
    )
    assert "Select a valid choice." in response.content.decode()
    assert Quote.objects.count() == quotes


def test_a_tied_member_cannot_open_or_confirm_another_clients_recap_x5(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.tied)
    before = figures(portal.organisation)
    other = portal.quotes[1]  # the second client's
    assert client.get(recap_url("texto", other)).status_code == 404
    assert confirm(client, "texto", other).status_code == 404
    assert client.post(recap_url("texto", other), {"intent": "requote"}).status_code == 404
    assert client.get(recap_url("texto", portal.quotes[0])).status_code == 200
    assert figures(portal.organisation) == before


def test_a_tied_member_cannot_refill_the_form_from_another_clients_quote_x5(
    client, login, make_portal
):
    portal = make_portal("texto")
    login(portal.tied)
    html = client.get(f"/o/texto/spend/sms/?quote={portal.quotes[1].pk}").content.decode()
    assert "Hello</textarea>" not in html
    html = client.get(f"/o/texto/spend/sms/?quote={portal.quotes[0].pk}").content.decode()
    assert "Hello</textarea>" in html
    assert client.get(f"/o/texto/spend/sms/?quote={10**20}").status_code == 200
    assert client.get("/o/texto/spend/sms/?quote=²").status_code == 200


def test_a_quote_id_far_out_of_range_is_404(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.owner)
    assert client.get(f"/o/texto/spend/quotes/{10**20}/").status_code == 404


def test_ten_thousand_recipients_are_accepted_and_quoted_s1(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.owner)
    response = client.post(
        "/o/texto/spend/sms/",
        {"client": portal.own.pk, "p_text": "Hi", "p_recipients": "FR\n" * 10_000},
    )
    quote = latest_quote(portal.organisation)
    assert response["Location"] == recap_url("texto", quote)
    assert (quote.credits, quote.details["countries"], quote.allowed) == (
        10_000,
        {"FR": 10_000},
        False,
    )


def test_the_recap_is_read_in_a_few_queries(
    client, login, make_portal, django_assert_max_num_queries
):
    portal = make_portal("texto")
    login(portal.owner)
    with django_assert_max_num_queries(8):
        assert client.get(recap_url("texto", portal.quotes[0])).status_code == 200

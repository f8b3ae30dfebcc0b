"""The rate card and its calculator (C1, C2, D2, M1, S1): every action with its rule in
words, searchable, its table or SMS rates, and a calculator that quotes without spending."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credits.models import BillableAction, Quote
from credits.selectors import ratecard
from tests.credits.conftest import figures

pytestmark = pytest.mark.django_db

S1_TEXT = "a" * 161  # GSM-7, one character over a single part: 2 parts of 153


def by_testid(html: str, testid: str) -> str:
    match = re.search(
        rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</(?:p|dd|span|ul|li|strong|div)>',
        html,
        re.S,
    )
    assert match, f"no element with data-testid={testid}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def computation(html: str) -> list[str]:
    block = re.search(r'data-testid="computation">(.*?)</ul>', html, re.S).group(1)
    return [
        re.sub(r"\s+", " ", line).strip() for line in re.findall(r"<li>(.*?)</li>", block, re.S)
    ]


def rows_of(html: str, table_testid: str) -> list[list[str]]:
    table = re.search(rf'data-testid="{table_testid}">(.*?)</table>', html, re.S).group(1)
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_rate_card_lists_every_active_action_with_its_rule_in_words_m1(
    client, login, make_portal
):
    # Given the CRM's card, with one action switched off
    portal = make_portal("crm", preset="crm")
    BillableAction.objects.filter(organisation=portal.organisation, code="ai_email_draft").update(
        is_active=False
    )
    login(portal.member)
    # When a member opens the rate card
    html = client.get("/o/crm/rates/").content.decode()
    # Then every active action is there with its price in words, free ones marked free (M1)
    rules = dict(re.findall(r'data-testid="rule-([\w-]+)">(.*?)</p>', html))
    assert rules == {
        "login": "Free",
        "dashboard": "Free",
        "settings": "Free",
        "form_submission": "1 credit",
        "sms": "5 credits per message",
        "ai_summary": "10 credits",
    }
    assert html.count('<span class="badge ok">Free</span>') == 3


def test_free_actions_are_marked_free_and_unlimited_and_paid_ones_by_unit_c1(
    client, login, make_portal
):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    html = client.get("/o/corpo/rates/").content.decode()
    rules = dict(re.findall(r'data-testid="rule-([\w-]+)">(.*?)</p>', html))
    free = {
        "search",
        "company_view",
        "key_events",
        "favourite",
        "saved_list",
        "alert",
        "share_list",
    }
    assert {code for code, words in rules.items() if words == "Free"} == free
    assert rules["data_export"] == "1 credit per row"
    assert rules["crm_enrichment"] == "2 credits per record"
    assert rules["email_campaign"] == "1 credit per recipient"
    assert html.count("Unlimited: it never uses credits.") == len(free)


def test_a_table_rule_shows_its_rows_per_page_d2(client, login, make_portal):
    portal = make_portal("deep", preset="translation")
    login(portal.owner)
    html = client.get("/o/deep/rates/").content.decode()
    assert by_testid(html, "rule-translation") == "By service × complexity, per page"
    assert '<th>Service</th><th>Complexity</th><th class="num">Credits per page</th>' in html
    assert '<tr><td>legal</td><td>complex</td><td class="num">120</td></tr>' in html
    assert html.count("<tr><td>") == 9


def test_the_sms_rule_shows_each_countrys_rate_and_the_segment_rule_s1(client, login, make_portal):
    portal = make_portal("texto")
    login(portal.owner)
    html = client.get("/o/texto/rates/").content.decode()
    assert by_testid(html, "rule-sms") == "Credits per SMS part, by destination country"
    assert rows_of(html, "sms-rates-sms") == [
        ["Belgium", "BE", "+32", "2"],
        ["France", "FR", "+33", "1"],
        ["Germany", "DE", "+49", "2"],
        ["Italy", "IT", "+39", "1"],
        ["Spain", "ES", "+34", "1"],
        ["Switzerland", "CH", "+41", "3"],
        ["United Kingdom", "GB", "+44", "2"],
        ["United States", "US", "+1", "1"],
    ]
    assert "sent in one part up to 160 characters, and in parts of 153" in " ".join(html.split())
    assert "one part up to 70 characters, parts of 67" in " ".join(html.split())


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("export", {"data_export"}),  # name and code
        ("CRM", {"crm_enrichment"}),  # category, any case
        ("favourites", {"favourite"}),  # name
        ("nothing like this", set()),
    ],
)
def test_searching_narrows_the_card_on_the_server_c1(client, login, make_portal, query, codes):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    html = client.get("/o/corpo/rates/", {"q": query}).content.decode()
    assert set(re.findall(r'data-testid="action-([\w-]+)"', html)) == codes
    if not codes:
        assert f"No action matches “{query}”." in html


def test_searching_a_description_finds_its_action(client, login, make_portal):
    portal = make_portal("corpo", preset="data_provider")
    BillableAction.objects.filter(organisation=portal.organisation, code="alert").update(
        description="Be told when a company moves"
    )
    login(portal.owner)
    html = client.get("/o/corpo/rates/", {"q": "company moves"}).content.decode()
    assert set(re.findall(r'data-testid="action-([\w-]+)"', html)) == {"alert"}


@pytest.mark.parametrize("query", ["Italy", "ital", "it", "+39", "0039"])
def test_searching_a_country_shows_the_sms_action_with_that_countrys_rate_only_s1(
    client, login, make_portal, query
):
    portal = make_portal("texto")
    login(portal.owner)
    html = client.get("/o/texto/rates/", {"q": query}).content.decode()
    assert rows_of(html, "sms-rates-sms") == [["Italy", "IT", "+39", "1"]]


def test_with_htmx_the_search_answers_the_list_alone(client, login, make_portal):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    response = client.get("/o/corpo/rates/", {"q": "export"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.startswith('<div id="rate-list"')
    assert "<html" not in html
    assert set(re.findall(r'data-testid="action-([\w-]+)"', html)) == {"data_export"}


def test_a_search_of_5000_characters_is_refused_and_the_whole_card_shown_x6(
    client, login, make_portal
):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    response = client.get("/o/corpo/rates/", {"q": "x" * 5000})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ensure this value has at most 100 characters (it has 5000)." in html
    assert len(re.findall(r'data-testid="action-([\w-]+)"', html)) == 10


def test_the_rate_card_is_read_in_three_queries_whatever_its_size(make_portal):
    portal = make_portal("deep", preset="translation")
    with CaptureQueriesContext(connection) as queries:
        cards = ratecard.rate_card(portal.organisation)
    assert len(queries) <= 3
    assert [card.action.code for category in cards for card in category.actions] == [
        "login",
        "proofreading",
        "translation",
    ]


# --- the calculator ------------------------------------------------------------------------


def test_the_calculator_prices_a_per_unit_action_with_the_balance_after_c2(
    client, login, make_portal
):
    # Given 1,000 credits less the fixture's two 10-row exports
    portal = make_portal("corpo", preset="data_provider")
    login(portal.member)
    before = figures(portal.organisation)
    # When a member asks what enriching 20 records would cost
    response = client.post(
        "/o/corpo/rates/crm_enrichment/", {"client": portal.own.pk, "p_records": "20"}
    )
    html = response.content.decode()
    # Then she reads the cost, how it was computed and the balance after; nothing is spent
    assert response.status_code == 200
    assert by_testid(html, "cost") == "40"
    assert computation(html) == ["20 records × 2 credits = 40 credits"]
    assert (by_testid(html, "balance-before"), by_testid(html, "balance-after")) == ("980", "940")
    assert by_testid(html, "allowed") == "It may happen: nothing is spent until you confirm."
    quote = Quote.objects.get(organisation=portal.organisation, action__code="crm_enrichment")
    assert f'href="/o/corpo/spend/quotes/{quote.pk}/"' in html
    assert figures(portal.organisation) == before


def test_the_calculator_prices_a_table_action_by_its_row_d2(client, login, make_portal):
    portal = make_portal("deep", preset="translation")
    login(portal.owner)
    html = client.post(
        "/o/deep/rates/translation/",
        {"client": portal.own.pk, "p_service": "legal", "p_complexity": "complex", "p_pages": "3"},
    ).content.decode()
    assert by_testid(html, "cost") == "360"
    assert computation(html) == ["legal, complex: 120 credits × 3 pages = 360 credits"]
    assert (by_testid(html, "balance-before"), by_testid(html, "balance-after")) == ("960", "600")


def test_the_calculator_prices_a_161_character_sms_to_france_and_italy_as_2_parts_each_s1(
    client, login, make_portal
):
    portal = make_portal("texto")
    login(portal.owner)
    html = client.post(
        "/o/texto/rates/sms/",
        {"client": portal.own.pk, "p_text": S1_TEXT, "p_recipients": "+33612345678, +39312345678"},
    ).content.decode()
    assert by_testid(html, "cost") == "4"
    assert computation(html) == [
        "GSM-7, 161 characters: 2 parts.",
        "France (FR): 1 recipient × 2 parts × 1 credit per part = 2 credits",
        "Italy (IT): 1 recipient × 2 parts × 1 credit per part = 2 credits",
    ]
    assert (by_testid(html, "balance-before"), by_testid(html, "balance-after")) == ("998", "994")


def test_the_calculator_says_why_a_quote_may_not_happen_with_the_figure_c5(
    client, login, make_portal
):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    html = client.post(
        "/o/corpo/rates/data_export/", {"client": portal.own.pk, "p_rows": "1010"}
    ).content.decode()
    assert by_testid(html, "refusal").startswith("Not enough credits: 30 short.")
    assert by_testid(html, "balance-after") == "980"


def test_a_free_actions_calculator_says_it_is_free_and_unlimited_and_quotes_nothing_c1(
    client, login, make_portal
):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.member)
    quotes = Quote.objects.count()
    for response in (client.get("/o/corpo/rates/search/"), client.post("/o/corpo/rates/search/")):
        html = response.content.decode()
        assert response.status_code == 200
        assert (
            by_testid(html, "free") == "This action is free and unlimited: it never uses credits."
        )
        assert '<form method="post" class="card calculator"' not in html
    assert Quote.objects.count() == quotes


@pytest.mark.parametrize("code", ["no_such_action", "ai_email_draft"])
def test_an_unknown_or_inactive_action_has_no_calculator(client, login, make_portal, code):
    portal = make_portal("crm", preset="crm")
    BillableAction.objects.filter(organisation=portal.organisation, code="ai_email_draft").update(
        is_active=False
    )
    login(portal.owner)
    assert client.get(f"/o/crm/rates/{code}/").status_code == 404


def test_the_calculator_refuses_bad_input_with_a_form_error_and_quotes_nothing_x6(
    client, login, make_portal
):
    portal = make_portal("corpo", preset="data_provider")
    login(portal.owner)
    quotes = Quote.objects.count()
    response = client.post("/o/corpo/rates/data_export/", {"client": portal.own.pk, "p_rows": "0"})
    assert response.status_code == 200
    assert "Enter at least 1." in response.content.decode()
    assert Quote.objects.count() == quotes

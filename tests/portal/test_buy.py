"""The Buy credits page (issue 11, point 1): offers and a live price by tier (G2), SMS counts
by country (S3), what a purchase does to expiry (S4), checkout by card or on enterprise
terms (D1), refusals that buy nothing (X6), a retried form that buys once (X3), and the
role and tenancy rules (X5)."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from billing.models import BillingProfile, Invoice, Package, Purchase, PurchaseStatus
from billing.selectors.buy import expiry_effect, slider_position
from billing.services import purchase
from credits import services as credit_services
from credits.models import CreditPool, LotSource
from credits.selectors import pool_figures
from demo.catalogue import set_up_billing

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
VISA = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
NO_FUNDS = "4000 0000 0000 9995"
PROCESSING_ERROR = "4000 0000 0000 0119"
NOW = datetime(2027, 3, 12, 10, 0, tzinfo=UTC)  # for the S4 sentences: dates are exact


class RealGateway:
    """Any gateway that is not the sandbox (its test cards do not work there)."""


@pytest.fixture
def games(make_portal, catalogue, recording_gateway):
    """A serious-game studio on the default EUR list (2.00, 1.80 from 100, 1.50 from 1,000...),
    20 % VAT, the sandbox Visa on file, no enterprise terms."""
    portal = make_portal("games", preset="serious_game")
    set_up_billing(portal.organisation, None, enterprise=False, now=timezone.now())
    return portal


@pytest.fixture
def texto(make_portal, catalogue, recording_gateway):
    """An SMS platform on the SMS list (packages SMS 5 000 and SMS 20 000, valid 24 months)."""
    portal = make_portal("texto", preset="sms")
    set_up_billing(portal.organisation, catalogue["sms"], enterprise=True, now=timezone.now())
    return portal


def text_of(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert found, f"no {testid}"
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def balance_of(portal) -> int:
    return pool_figures(portal.organisation).balance


def pay(client, slug: str, *, key: str = "key-00000001", **fields):
    data = {"pay_with": "saved", "idempotency_key": key, **fields}
    return client.post(f"/o/{slug}/buy/checkout/", data)


def new_card(number: str) -> dict:
    return {
        "pay_with": "new",
        "card_number": number,
        "exp_month": 12,
        "exp_year": 2099,
        "cvc": "123",
    }


# --- the live price (G2) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credits", "unit", "amount", "tax", "total", "tier"),
    [
        (120, "€1.80", "€216.00", "€43.20", "€259.20", "100 credits"),
        (1000, "€1.50", "€1,500.00", "€300.00", "€1,800.00", "1,000 credits"),
    ],
)
def test_the_price_fragment_shows_the_tiers_unit_price_vat_and_total_g2(
    client, login, games, credits, unit, amount, tax, total, tier
):
    # Given the owner of a studio on the default list with 20 % VAT
    login(games.owner)
    # When the slider asks the price of a quantity
    response = client.get(f"/o/games/buy/price/?credits={credits}", headers=HTMX)
    # Then the fragment shows the tier's price per credit, the amount, the VAT and the total
    html = response.content.decode()
    assert response.status_code == 200
    assert [text_of(html, name) for name in ("unit-price", "amount", "tax", "total")] == [
        unit,
        amount,
        tax,
        total,
    ]
    assert "VAT (20%)" in html
    # And the tier table marks the quantity's tier
    assert text_of(html, "current-tier").startswith(tier)


def test_the_buy_page_shows_the_tier_table_and_prices_its_first_quantity_g2(client, login, games):
    login(games.admin)
    html = client.get("/o/games/buy/").content.decode()
    rows = re.findall(
        r"<tr[^>]*><td>([^<]+?)(?: <span[^<]*</span>)?</td><td class=\"num\">([^<]+)</td>", html
    )
    assert rows == [
        ("1 credit", "€2.00"),
        ("100 credits", "€1.80"),
        ("500 credits", "€1.60"),
        ("1,000 credits", "€1.50"),
        ("5,000 credits", "€1.35"),
    ]
    # The slider gives each tier the same width, to twice the last one's start, and starts at
    # the second tier (position 100 of 500), priced already
    assert re.search(
        r'type="range"[^>]*data-stops="1,100,500,1000,5000,10000"\s+min="0" max="500" step="1"'
        r' value="100"',
        html,
    )
    assert text_of(html, "total") == "€216.00"
    assert "price list" not in html  # the default list goes without saying


@pytest.mark.parametrize(
    ("credits", "position"),
    [
        (1, 0),
        (50, 49),
        (100, 100),
        (120, 105),
        (499, 100 + 100),
        (5000, 400),
        (7500, 450),
        (10**6, 500),
    ],
)
def test_the_slider_gives_each_tier_the_same_width_g2(credits, position):
    """The twin of static/js/buy.js: within a tier, positions map to credits linearly."""
    assert slider_position([1, 100, 500, 1000, 5000, 10000], credits) == position


def test_a_partner_is_priced_from_its_own_list_and_told_so_g2(client, login, games, catalogue):
    # Given a distributor on its own list (1.20 a credit, 1.00 from 1,000)
    set_up_billing(games.organisation, catalogue["distributors"], enterprise=False, now=NOW)
    login(games.owner)
    # When it prices 120 credits
    html = client.get("/o/games/buy/price/?credits=120", headers=HTMX).content.decode()
    # Then its own prices apply
    assert [text_of(html, name) for name in ("unit-price", "amount", "tax", "total")] == [
        "€1.20",
        "€144.00",
        "€28.80",
        "€172.80",
    ]
    # And the page says which list applies
    page = client.get("/o/games/buy/").content.decode()
    assert text_of(page, "price-list") == "Your own prices apply: the “Distributors” price list."


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("0", "Enter at least 1."),
        ("twelve", "Enter a whole number of credits."),
        ("", "Choose a whole number of credits."),
        (
            str(10**20),
            "One purchase is limited to 1,000,000,000 credits; contact us for larger orders.",
        ),
    ],
)
def test_a_bad_quantity_is_said_in_the_fragment_and_records_nothing_x6(
    client, login, games, typed, error
):
    login(games.owner)
    response = client.get("/o/games/buy/price/", {"credits": typed}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only successful answers
    assert text_of(html, "price-error") == error
    assert 'data-testid="total"' not in html
    assert Purchase.objects.count() == 0


# --- SMS a package buys (S3) ---------------------------------------------------------------


def sms_counts(html: str, credits: int) -> dict[str, str]:
    block = html.split(f'data-testid="sms-{credits}"', 1)[1].split("</details>", 1)[0]
    folded = block.split("<details>", 1)[1]
    return dict(
        re.findall(
            r'data-country="(\w\w)"><td>[^<]+</td><td[^>]*>\d+</td><td class="num">([^<]+)</td>',
            folded,
        )
    )


def test_each_sms_package_says_how_many_sms_it_buys_in_each_country_s3(client, login, texto):
    # Given an SMS platform whose rate card has 8 countries at 1 to 3 credits a part
    login(texto.owner)
    # When its owner opens the Buy credits page
    html = client.get("/o/texto/buy/").content.decode()
    # Then the 5,000-credit package buys 5,000 one-part SMS to France, 1,666 to Switzerland...
    assert sms_counts(html, 5000) == {
        "BE": "2,500",
        "CH": "1,666",
        "DE": "2,500",
        "ES": "5,000",
        "FR": "5,000",
        "GB": "2,500",
        "IT": "5,000",
        "US": "5,000",
    }
    assert sms_counts(html, 20000)["CH"] == "6,666"
    # And the first three countries show, the rest folded under "All 8 countries"
    first = html.split('data-testid="sms-5000"', 1)[1].split("<details>", 1)[0]
    assert re.findall(r'data-country="(\w\w)"', first) == ["BE", "FR", "DE"]
    assert "<summary>All 8 countries</summary>" in html


def test_the_custom_quantity_of_an_sms_platform_says_its_sms_by_country_s3(client, login, texto):
    login(texto.owner)
    html = client.get("/o/texto/buy/price/?credits=300", headers=HTMX).content.decode()
    assert text_of(html, "total") == "€18.00"  # 300 × 0.05 + 20 %
    assert sms_counts(html, 300)["CH"] == "100"


# --- what a purchase does to expiry (S4) ----------------------------------------------------


def policy(organisation, **fields) -> None:
    CreditPool.objects.filter(organisation=organisation).update(**fields)


def test_s4_a_package_valid_24_months_extends_the_credits_held(make_organisation, catalogue):
    # Given an SMS platform (valid 24 months, a purchase extends what is held) holding 3,200
    # credits bought a year ago, which expire in a year
    organisation = make_organisation("sms4", preset="sms")
    credit_services.grant(
        organisation=organisation,
        credits=3200,
        source=LotSource.PURCHASE,
        now=NOW - relativedelta(years=1),
    )
    package = Package.objects.get(name="SMS 5 000")
    # When it reads what buying a package does
    effect = expiry_effect(organisation, now=NOW, package=package)
    # Then the new credits last 24 months and pull the 3,200 held to the same day
    assert effect.sentences == [
        "These credits are valid 24 months, until 12 March 2029.",
        "This purchase also extends the 3,200 credits you hold to 12 March 2029.",
    ]
    assert (effect.valid_until, effect.extended_credits) == (NOW + relativedelta(years=2), 3200)


def test_s4_the_sentence_says_what_the_purchase_then_does(
    make_portal, catalogue, recording_gateway
):
    """The page's prediction and the purchase agree: the lot held expires on the day said."""
    portal = make_portal("sms5", preset="sms")  # 1,000 credits held, bought now
    set_up_billing(portal.organisation, catalogue["sms"], enterprise=False, now=NOW)
    later = timezone.now() + relativedelta(months=6)
    package = Package.objects.get(name="SMS 5 000")
    effect = expiry_effect(portal.organisation, now=later, package=package)
    assert effect.extended_credits == 1000 - 2  # the fixture's two SMS spent
    purchase(organisation=portal.organisation, now=later, method="card", package=package)
    held = portal.organisation.lots.order_by("created_at").first()
    assert held.expires_at == effect.valid_until


def test_s4_credits_that_never_expire_say_so(make_organisation):
    organisation = make_organisation("forever", preset="serious_game")
    assert expiry_effect(organisation, now=NOW).sentences == ["Credits never expire."]


def test_s4_a_packages_validity_overrides_a_policy_without_expiry(make_organisation, catalogue):
    organisation = make_organisation("forever", preset="serious_game")
    package = Package(credits=100, price=Decimal("10.00"), validity_months=12)
    assert expiry_effect(organisation, now=NOW, package=package).sentences == [
        "These credits are valid 12 months, until 12 March 2028."
    ]


def test_s4_without_extension_the_credits_held_keep_their_dates(make_organisation):
    organisation = make_organisation("dated", preset="sms")
    policy(organisation, purchase_extends_expiry=False, expiry_months=6)
    credit_services.grant(organisation=organisation, credits=50, source=LotSource.PURCHASE, now=NOW)
    assert expiry_effect(organisation, now=NOW).sentences == [
        "These credits are valid 6 months, until 12 September 2027.",
        "The credits you already hold keep their own expiry dates.",
    ]


def test_s4_credits_expire_after_months_without_use_d3(make_organisation):
    organisation = make_organisation("words", preset="translation")
    assert expiry_effect(organisation, now=NOW).sentences == [
        "Credits expire after 12 months without use; any use restarts the clock.",
        "This purchase counts as use and restarts the clock: without any other use, your "
        "credits would expire on 12 March 2028.",
    ]


def test_the_page_shows_the_expiry_effect_of_each_package_and_of_a_quantity_s4(
    client, login, texto
):
    login(texto.owner)
    html = client.get("/o/texto/buy/").content.decode()
    assert html.count('data-testid="expiry"') == 3  # two packages and the custom quantity
    assert "These credits are valid 24 months, until" in html


# --- checkout -------------------------------------------------------------------------------


def test_the_checkout_names_the_order_its_total_and_the_card_on_file_d1(client, login, games):
    login(games.owner)
    html = client.get("/o/games/buy/checkout/?credits=120").content.decode()
    assert text_of(html, "what") == "120 credits"
    assert text_of(html, "total") == "€259.20"
    year = timezone.now().year + 3
    assert text_of(html, "saved-card") == f"Visa •••• 4242, expires 12/{year}"
    assert text_of(html, "pay") == "Buy for €259.20"
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', html)
    assert 'data-testid="pay-enterprise"' not in html  # not open to this studio


def test_the_sandbox_test_cards_are_listed_only_with_the_sandbox_d1(client, login, games, settings):
    login(games.owner)
    assert (
        'data-testid="test-cards"'
        in client.get("/o/games/buy/checkout/?credits=5").content.decode()
    )
    settings.PAYMENT_GATEWAY = "tests.portal.test_buy.RealGateway"
    assert (
        'data-testid="test-cards"'
        not in client.get("/o/games/buy/checkout/?credits=5").content.decode()
    )


def test_an_empty_checkout_says_where_to_choose_x6(client, login, games):
    login(games.owner)
    response = client.get("/o/games/buy/checkout/")
    assert response.status_code == 200
    assert "Choose a package or a quantity first." in response.content.decode()


def test_paying_by_card_adds_the_credits_and_shows_the_result_d1_g2(
    client, login, games, recording_gateway
):
    # Given the studio's owner and its balance
    login(games.owner)
    before = balance_of(games)
    # When she buys 120 credits with the card on file
    response = pay(client, "games", credits=120)
    # Then she lands on the purchase's page, the card was charged 259.20 once
    bought = Purchase.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/o/games/buy/purchases/{bought.pk}/"
    assert (bought.status, bought.credits, bought.total) == ("paid", 120, Decimal("259.20"))
    assert recording_gateway.taken == [Decimal("259.20")]
    # And the balance rose by 120, said plainly with a link to the invoice's PDF
    assert balance_of(games) == before + 120
    html = client.get(response["Location"]).content.decode()
    assert text_of(html, "added") == f"120 credits added; balance now {before + 120:,} credits."
    number = bought.invoice.number
    assert f'href="/o/games/invoices/{number}.pdf"' in html


def test_a_package_bought_with_a_new_card_replaces_the_card_on_file_s3(client, login, texto):
    login(texto.owner)
    package = Package.objects.get(name="SMS 5 000")
    response = pay(client, "texto", package=package.pk, **new_card("5555 5555 5555 4444"))
    bought = Purchase.objects.get()
    assert (bought.status, bought.package, bought.total) == ("paid", package, Decimal("300.00"))
    assert response["Location"] == f"/o/texto/buy/purchases/{bought.pk}/"
    assert BillingProfile.objects.get(organisation=texto.organisation).card_last4 == "4444"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (DECLINED, "Your card was declined."),
        (NO_FUNDS, "Insufficient funds."),
        (PROCESSING_ERROR, "The payment could not be processed; try again."),
    ],
)
def test_a_refused_card_is_said_plainly_and_buys_nothing_x6(
    client, login, games, recording_gateway, number, message
):
    # Given the owner and the studio's figures
    login(games.owner)
    before = balance_of(games)
    # When she pays with a test card the bank refuses
    response = pay(client, "games", credits=120, **new_card(number))
    # Then the purchase's page gives the gateway's reason and says nothing was bought
    html = client.get(response["Location"]).content.decode()
    assert "Nothing was charged and no credits were added." in html
    assert message in html
    # And nothing moved: no money, no credits, no invoice
    assert recording_gateway.taken == []
    assert balance_of(games) == before
    assert Invoice.objects.count() == 0
    assert Purchase.objects.get().status in (PurchaseStatus.DECLINED, PurchaseStatus.FAILED)


def test_a_payment_being_confirmed_is_no_error_x4(client, login, games, recording_gateway):
    # Given a gateway whose answer is lost after it took the money
    recording_gateway.script = ["timeout_after"]
    login(games.owner)
    response = pay(client, "games", credits=120)
    # Then the purchase's page says the credits are on their way
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "your credits arrive within minutes" in text_of(page.content.decode(), "pending")
    # And its status part asks again by itself (htmx), answered with that part alone
    again = client.get(response["Location"], headers=HTMX).content.decode()
    assert 'hx-trigger="every 5s"' in again
    assert "<html" not in again


def test_enterprise_terms_invoice_now_due_in_30_days_credits_at_once_d1(
    client, login, texto, recording_gateway
):
    # Given an SMS platform open to enterprise terms
    login(texto.owner)
    before = balance_of(texto)
    # When its owner buys 20,000 credits on terms
    response = pay(client, "texto", credits=20000, pay_with="enterprise_terms")
    # Then the invoice is issued now and due 30 days later, and the credits are usable at once
    bought = Purchase.objects.get()
    invoice = bought.invoice
    assert bought.status == "invoiced"
    assert invoice.due_on == invoice.issued_on + timedelta(days=30)
    assert balance_of(texto) == before + 20000
    assert recording_gateway.calls == 0
    html = client.get(response["Location"]).content.decode()
    assert text_of(html, "due") == (
        f"Invoice {invoice.number} issued on {invoice.issued_on:%-d %B %Y}, "
        f"due on {invoice.due_on:%-d %B %Y}."
    )


def test_enterprise_terms_are_refused_to_an_organisation_without_them_x6(client, login, games):
    login(games.owner)
    before = balance_of(games)
    response = pay(client, "games", credits=120, pay_with="enterprise_terms")
    assert response.status_code == 400
    html = response.content.decode()
    assert text_of(html, "refusal") == "Enterprise terms are not open to this organisation."
    assert (Purchase.objects.count(), balance_of(games)) == (0, before)


def test_paying_by_card_without_one_on_file_is_refused_x6(client, login, games):
    BillingProfile.objects.filter(organisation=games.organisation).update(card_token="")
    login(games.owner)
    response = pay(client, "games", credits=120)
    assert response.status_code == 402
    assert text_of(response.content.decode(), "refusal") == "Add a card before paying by card."
    assert Purchase.objects.count() == 0


def test_an_expired_card_is_refused_and_its_number_not_written_back_x6(client, login, games):
    login(games.owner)
    card = {**new_card("5555 5555 5555 4444"), "exp_year": 2001}
    response = pay(client, "games", credits=120, **card)
    html = response.content.decode()
    assert response.status_code == 402
    assert text_of(html, "refusal") == "This card has expired."
    assert "5555" not in html
    assert 'value="123"' not in html
    assert Purchase.objects.count() == 0


def test_a_tampered_form_key_is_refused_and_a_fresh_one_drawn_x6(client, login, games):
    login(games.owner)
    response = pay(client, "games", key="x", credits=120)
    html = response.content.decode()
    assert response.status_code == 400
    assert text_of(html, "refusal") == "This form is not valid any more; open it again."
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', html)
    assert Purchase.objects.count() == 0


def test_a_new_card_needs_every_field_x6(client, login, games):
    login(games.owner)
    response = pay(client, "games", credits=120, pay_with="new", card_number=VISA)
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 3
    assert Purchase.objects.count() == 0


@pytest.mark.parametrize("credits", [10**20, 10**9 + 1])
def test_an_absurd_quantity_is_refused_with_its_bound_and_records_nothing_x6(
    client, login, games, recording_gateway, credits
):
    login(games.owner)
    before = balance_of(games)
    bound = "One purchase is limited to 1,000,000,000 credits; contact us for larger orders."
    shown = client.get(f"/o/games/buy/checkout/?credits={credits}")
    assert shown.status_code == 400
    assert text_of(shown.content.decode(), "checkout-error") == bound
    posted = pay(client, "games", credits=credits)
    assert posted.status_code == 400
    assert text_of(posted.content.decode(), "checkout-error") == bound
    assert (Purchase.objects.count(), recording_gateway.calls, balance_of(games)) == (0, 0, before)


def test_a_package_of_another_price_list_is_not_on_sale_g2_x6(client, login, games):
    login(games.owner)
    sms_package = Package.objects.get(name="SMS 5 000")
    response = client.get(f"/o/games/buy/checkout/?package={sms_package.pk}")
    assert response.status_code == 400
    assert text_of(response.content.decode(), "choice-error") == (
        "This package is not on sale for this organisation."
    )


def test_the_same_form_sent_twice_buys_once_x3(client, login, games, recording_gateway):
    # Given the checkout form, drawn once with its key
    login(games.owner)
    html = client.get("/o/games/buy/checkout/?credits=120").content.decode()
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', html).group(1)
    before = balance_of(games)
    # When it is sent twice (a double click, a refresh)
    first = pay(client, "games", key=key, credits=120)
    second = pay(client, "games", key=key, credits=120)
    # Then both land on the same purchase, charged once
    assert first["Location"] == second["Location"]
    assert Purchase.objects.count() == 1
    assert recording_gateway.taken == [Decimal("259.20")]
    assert balance_of(games) == before + 120


def test_a_key_reused_for_another_order_is_refused_409_x3(client, login, games, recording_gateway):
    login(games.owner)
    pay(client, "games", key="key-00000042", credits=120)
    response = pay(client, "games", key="key-00000042", credits=5)
    assert response.status_code == 409
    assert text_of(response.content.decode(), "refusal") == (
        "The idempotency key “key-00000042” was already used for another purchase."
    )
    assert Purchase.objects.count() == 1
    assert recording_gateway.taken == [Decimal("259.20")]


# --- roles, tenancy, pages without offers ---------------------------------------------------


def test_a_member_may_not_buy_403_x5(client, login, games):
    bought = purchase(organisation=games.organisation, now=timezone.now(), method="card", credits=5)
    login(games.member)
    before = balance_of(games)
    for url in (
        "buy/",
        "buy/price/?credits=5",
        "buy/checkout/?credits=5",
        f"buy/purchases/{bought.pk}/",
    ):
        assert client.get(f"/o/games/{url}").status_code == 403, url
    assert pay(client, "games", credits=5).status_code == 403
    assert (Purchase.objects.count(), balance_of(games)) == (1, before)


def test_another_organisations_purchase_is_404_x5(client, login, games, make_portal, catalogue):
    other = make_portal("other", preset="serious_game")
    set_up_billing(other.organisation, None, enterprise=False, now=timezone.now())
    theirs = purchase(organisation=other.organisation, now=timezone.now(), method="card", credits=5)
    login(games.owner)
    assert client.get(f"/o/games/buy/purchases/{theirs.pk}/").status_code == 404
    assert client.get(f"/o/games/buy/purchases/{2**70}/").status_code == 404


def test_an_organisation_without_offers_is_told_so_g2(client, login, make_portal):
    portal = make_portal("bare", preset="sms")  # no price list at all
    login(portal.owner)
    response = client.get("/o/bare/buy/")
    assert response.status_code == 200
    assert "Contact us to open your offers." in text_of(response.content.decode(), "not-on-sale")


# --- French ---------------------------------------------------------------------------------


def test_the_buy_page_reads_in_french_s3(client, login, games):
    """Issue 11, point 1.5: the page and its checkout in French, amounts as French writes
    them (the French of this page is /work/briefs/fr/buy.po until it is merged)."""
    # Given the owner, reading in French
    login(games.owner)
    # When she opens the page, then the checkout of 1,000 credits
    html = client.get("/o/games/buy/", headers={"Accept-Language": "fr"}).content.decode()
    # Then both read in French, with French figures
    assert "<h1>Acheter des crédits</h1>" in html
    assert "Choisissez votre quantité" in html
    assert text_of(html, "total") == "216,00\xa0€"
    assert "TVA (20\u202f%)" in html
    checkout = client.get(
        "/o/games/buy/checkout/?credits=1000", headers={"Accept-Language": "fr"}
    ).content.decode()
    assert text_of(checkout, "total") == "1\u202f800,00\xa0€"
    assert text_of(checkout, "pay") == "Acheter pour 1\u202f800,00\xa0€"

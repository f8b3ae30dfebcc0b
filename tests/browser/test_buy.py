"""Buying credits in a real browser (issue 11, G2, D1, K3, M5, X6): the slider prices a
quantity live, the test Visa pays for it, the balance rises, the invoice's PDF downloads and
reads right; a declined test card buys nothing. And the pages fit a 390 px phone."""

import re
import subprocess

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Invoice, Purchase, PurchaseStatus
from credits import services as credit_services
from credits.models import LotSource
from demo.catalogue import set_up_billing
from tests.browser.conftest import PHONE, log_in

# Transactional (the browser talks to a live server): PostgreSQL empties tables with TRUNCATE,
# which the ledger's no-delete trigger allows; SQLite's row deletes it refuses.
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # make_user's
SLUG = "studio"


@pytest.fixture
def studio(make_organisation, make_user, catalogue):
    """A serious-game studio on the default EUR list, with the sandbox Visa on file and 500
    credits already bought."""
    owner = make_user(f"{SLUG}-owner", password=PASSWORD)
    organisation = make_organisation(SLUG, owner=owner, preset="serious_game")
    now = timezone.now()
    set_up_billing(organisation, None, enterprise=False, now=now)
    credit_services.grant(
        organisation=organisation, credits=500, source=LotSource.PURCHASE, now=now
    )
    return organisation


def home_balance(page, live_server) -> int:
    page.goto(f"{live_server.url}/o/{SLUG}/")
    return int(page.get_by_test_id("balance").inner_text().replace(",", ""))


def pay_with_new_card(page, number: str) -> None:
    page.get_by_test_id("pay-new").check()
    page.fill("#id_card_number", number)
    page.fill("#id_exp_month", "12")
    page.fill("#id_exp_year", str(timezone.now().year + 2))
    page.fill("#id_cvc", "123")
    page.get_by_test_id("pay").click()
    page.wait_for_url(re.compile(rf"/o/{SLUG}/buy/purchases/\d+/$"))


def test_the_owner_slides_to_120_credits_pays_by_visa_and_downloads_the_invoice_g2_d1_k3(
    live_server, page, studio, tmp_path
):
    # Given the studio's owner, logged in, and her balance
    log_in(page, live_server, f"{SLUG}-owner", PASSWORD)
    before = home_balance(page, live_server)
    assert before == 500
    # When she moves the slider to 120 credits
    page.goto(f"{live_server.url}/o/{SLUG}/buy/")
    # (each tier is 100 steps wide: 120 credits is 20/400 of the way from 100 to 500)
    page.get_by_test_id("slider").fill("105")
    # Then the number follows, and the server's price for the 100-credit tier shows
    expect(page.get_by_test_id("credits")).to_have_value("120")
    expect(page.get_by_test_id("total")).to_have_text("€259.20")
    assert page.get_by_test_id("unit-price").inner_text() == "€1.80"
    assert page.get_by_test_id("amount").inner_text() == "€216.00"
    assert page.get_by_test_id("tax").inner_text() == "€43.20"
    assert page.get_by_test_id("current-tier").inner_text().startswith("100 credits")
    # When she goes to the checkout and pays with the test Visa, typed as a new card
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url(re.compile(rf"/o/{SLUG}/buy/checkout/\?credits=120$"))
    assert page.get_by_test_id("pay").inner_text() == "Buy for €259.20"
    pay_with_new_card(page, "4242 4242 4242 4242")
    # Then the purchase's page says the credits arrived, and the home page's balance rose by 120
    expect(page.get_by_test_id("added")).to_have_text(
        f"120 credits added; balance now {before + 120:,} credits."
    )
    invoice = Invoice.objects.get(organisation=studio)
    assert Purchase.objects.get(organisation=studio).status == PurchaseStatus.PAID
    result_url = page.url
    assert home_balance(page, live_server) == before + 120
    # And the purchase's page and the billing history both list the invoice, with its PDF
    page.goto(result_url)
    from_result = page.get_by_test_id("invoice-pdf").get_attribute("href")
    page.goto(f"{live_server.url}/o/{SLUG}/invoices/")
    expect(page.locator("main")).to_contain_text(invoice.number)
    link = page.locator(f'a[href$="/invoices/{invoice.number}.pdf"]')
    assert link.get_attribute("href") == from_result == f"/o/{SLUG}/invoices/{invoice.number}.pdf"
    # When she downloads it
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "invoice.pdf"
    download.value.save_as(saved)
    # Then the PDF carries the invoice's number and its total
    text = subprocess.run(
        ["pdftotext", "-layout", str(saved), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert invoice.number in text
    assert "€259.20" in text


def test_a_declined_test_card_says_so_and_buys_nothing_x6(live_server, page, studio):
    # Given the owner on the checkout of 120 credits
    log_in(page, live_server, f"{SLUG}-owner", PASSWORD)
    before = home_balance(page, live_server)
    page.goto(f"{live_server.url}/o/{SLUG}/buy/checkout/?credits=120")
    # When she pays with the test card the bank declines
    pay_with_new_card(page, "4000 0000 0000 0002")
    # Then the page says so plainly, and that nothing was bought
    refusal = page.get_by_test_id("declined")
    expect(refusal).to_contain_text("Your card was declined.")
    expect(refusal).to_contain_text("Nothing was charged and no credits were added.")
    # And the balance did not move, and no purchase was paid
    assert home_balance(page, live_server) == before
    assert not Purchase.objects.filter(organisation=studio, status=PurchaseStatus.PAID).exists()
    assert not Invoice.objects.filter(organisation=studio).exists()


def test_buying_reads_on_a_390_px_phone_without_scrolling_sideways_s3(
    live_server, phone_page, studio
):
    page = phone_page
    log_in(page, live_server, f"{SLUG}-owner", PASSWORD)
    widths = {}
    for path in ("buy/", "buy/checkout/?credits=120"):
        page.goto(f"{live_server.url}/o/{SLUG}/{path}")
        page.wait_for_load_state("networkidle")
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    assert {path: width for path, width in widths.items() if width > PHONE["width"]} == {}

"""Registering a webhook endpoint on a 390 px phone, in Chromium (B3): the owner types her
receiver's URL, picks an event, reads the signing secret, sends a test event and sees it
delivered; the receiver verifies it with the standardwebhooks library. No page scrolls
sideways."""

import re

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from tests.browser.conftest import PHONE, log_in
from tests.webhooks.conftest import Receiver
from webhooks.models import Endpoint

# Transactional (the browser talks to a live server); PostgreSQL empties the ledger's tables
# with TRUNCATE, which its no-delete trigger allows (see tests/browser/test_buy.py).
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # make_user's


@pytest.fixture
def receiver(settings):
    """A real HTTP receiver on 127.0.0.1 (tests/webhooks/conftest.py), which production
    refuses as a private address."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    with Receiver.running() as made:
        yield made


SLUG = "hooks"


def test_the_owner_registers_an_endpoint_on_a_phone_and_its_test_event_arrives_b3(
    live_server, phone_page, make_organisation, make_user, receiver
):
    page = phone_page
    owner = make_user(f"{SLUG}-owner", password=PASSWORD)
    make_organisation(SLUG, owner=owner, preset="crm")
    widths = {}

    def width_of(name: str) -> None:
        page.wait_for_load_state("networkidle")
        widths[name] = page.evaluate("document.documentElement.scrollWidth")

    # Given the owner, logged in on her phone, on the webhooks page
    log_in(page, live_server, f"{SLUG}-owner", PASSWORD)
    page.goto(f"{live_server.url}/o/{SLUG}/developers/webhooks/")
    expect(page.get_by_test_id("tab-webhooks")).to_have_attribute("aria-current", "page")
    width_of("list")
    # When she registers her receiver for paid invoices
    page.fill("#id_url", receiver.url)
    page.locator('input[name="events"][value="invoice.paid"]').check()
    page.fill("#id_description", "Accounting system")
    page.get_by_test_id("register").click()
    page.wait_for_url(re.compile(rf"/o/{SLUG}/developers/webhooks/\d+/(#[\w-]+)?$"))
    # Then its page shows the URL and the event, and reveals the secret on demand
    endpoint = Endpoint.objects.get()
    expect(page.get_by_test_id("endpoint-url")).to_have_text(receiver.url)
    expect(page.get_by_test_id("endpoint-events")).to_contain_text("invoice.paid")
    secret = page.get_by_test_id("secret")
    expect(secret).to_be_hidden()
    page.get_by_text("Show the signing secret").click()
    expect(secret).to_be_visible()
    expect(secret).to_have_value(endpoint.secret)
    width_of("endpoint")
    # When she sends a test event
    page.get_by_test_id("send-test").click()
    page.wait_for_load_state("networkidle")
    # Then it was delivered, and her receiver verifies it with her secret
    expect(page.get_by_test_id("deliveries")).to_contain_text("Delivered")
    (request,) = receiver.requests
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["type"] == "ping"
    # And the delivery's page shows its attempt
    page.get_by_test_id("deliveries").locator("a").first.click()
    expect(page.get_by_test_id("attempt")).to_contain_text("HTTP 200")
    width_of("delivery")
    # And no page scrolled sideways on the phone
    assert {name: width for name, width in widths.items() if width > PHONE["width"]} == {}

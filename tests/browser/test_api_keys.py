"""Developers → API keys in a real browser on a 390 px phone (K4): the owner creates a key,
copies its secret with the Copy button (the clipboard holds the key, which works against the
API), and the list, shown again, no longer carries it."""

import re

import pytest
from django.test import Client as HttpClient
from playwright.sync_api import expect

from api.models import ApiKey
from clients import services as client_services
from tests.browser.conftest import PHONE, log_in

# Transactional (the browser talks to a live server): PostgreSQL empties tables with TRUNCATE,
# which the ledger's no-delete trigger allows; SQLite's row deletes it refuses.
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"  # make_user's
SECRET = re.compile(r"^cpk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


def test_k4_the_owner_creates_a_key_and_copies_it_on_a_phone(
    live_server, phone_page, make_user, make_organisation
):
    # given the owner of an SMS organisation with a list, on a phone that lets the page use
    # the clipboard
    owner = make_user("texto-owner", password=PASSWORD)
    organisation = make_organisation("texto", owner=owner, preset="sms")
    newsletter = client_services.create_client(organisation=organisation, name="Newsletter")
    page = phone_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server, "texto-owner", PASSWORD)
    # when she opens Developers from the navigation
    page.get_by_role("link", name="Developers").click()
    page.wait_for_url(re.compile(r"/o/texto/developers/keys/$"))
    expect(page.get_by_test_id("tab-api-keys")).to_have_attribute("aria-current", "page")
    # and creates a read-and-write key tied to the first list
    page.fill("#id_name", "Newsletter sender")
    page.get_by_label("Read and write").check()
    page.select_option("#id_client", label="Newsletter")
    page.fill("#id_requests_per_minute", "300")
    page.get_by_test_id("create-key").click()
    # then the next page shows the secret, the page fits the phone's width
    secret_field = page.get_by_test_id("secret")
    expect(secret_field).to_be_visible()
    secret = secret_field.input_value()
    assert SECRET.match(secret)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    copy = page.get_by_test_id("copy")
    box = copy.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    # when she taps Copy
    copy.tap()
    # then the page says so, and the clipboard holds the key
    expect(page.get_by_test_id("copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    # and the copied key is the stored one, and the API answers it for that list only
    key = ApiKey.objects.get(organisation=organisation)
    assert (key.name, key.scope, key.client, key.prefix) == (
        "Newsletter sender",
        "write",
        newsletter,
        secret[:12],
    )
    answer = HttpClient().get("/api/v1/balance/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code == 200
    # when she goes back to the keys, the key is listed by its prefix and its secret is gone
    page.get_by_test_id("done").click()
    page.wait_for_url(re.compile(r"/o/texto/developers/keys/$"))
    expect(page.get_by_test_id(f"key-{key.prefix}")).to_contain_text("Newsletter sender")
    assert secret not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

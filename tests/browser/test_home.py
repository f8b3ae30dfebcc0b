"""C3: the owner sees the balance on the home page, in a real browser."""

import pytest

from clients.models import Organisation
from credits.selectors import pool_figures
from demo import services as demo

# Transactional (the browser talks to a live server): PostgreSQL empties tables with TRUNCATE,
# which the ledger's no-delete trigger allows; SQLite's row deletes it refuses.
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_demo_owner_logs_in_and_sees_the_home_page_with_the_balance(live_server, page):
    # Given the demo, loaded as `make demo` loads it
    demo.load_demo()
    organisation = Organisation.objects.get(slug="smsplatform")
    expected_balance = f"{pool_figures(organisation).balance:,}"
    # When its owner logs in through the login page
    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}/login/?next=/"
    page.fill("#id_username", "smsplatform-owner")
    page.fill("#id_password", demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    # Then the home page of the organisation shows its name, her role and the balance
    page.wait_for_url(f"{live_server.url}/o/smsplatform/")
    assert page.locator("h1").inner_text() == "SMS Platform"
    assert "You are owner of this organisation." in page.content()
    assert page.get_by_test_id("balance").inner_text() == expected_balance


def test_a_wrong_password_keeps_the_visitor_on_the_login_page(live_server, page):
    demo.load_demo()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "smsplatform-owner")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == (
        "Your username and password didn't match. Please try again."
    )
    assert page.url == f"{live_server.url}/login/"
